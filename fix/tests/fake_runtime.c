/*
 * fake_runtime.c - see fake_runtime.h. Plain C with pthreads; built into the
 * glue test binary together with agx_fix.c and core.c, under TSan and ASan.
 * dlopen/dlsym/dladdr are provided as fake_dlopen/... (the test build renames
 * the glue's calls with -D): the sanitizers' runtimes use the real ones.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fake_runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void (*fake_in_call_callback)(id enc);
uint64_t fake_os_log_count;

/* ---- selectors (own lock, like objc4's selLock) ---- */

struct objc_selector {
    struct objc_selector *next;
    char name[];
};
static pthread_mutex_t sel_mu = PTHREAD_MUTEX_INITIALIZER;
static struct objc_selector *sels;

SEL sel_registerName(const char *name)
{
    pthread_mutex_lock(&sel_mu);
    struct objc_selector *s = sels;
    while (s && strcmp(s->name, name) != 0) s = s->next;
    if (!s) {
        s = malloc(sizeof *s + strlen(name) + 1);
        if (!s) abort();
        strcpy(s->name, name);
        s->next = sels;
        sels = s;
    }
    pthread_mutex_unlock(&sel_mu);
    return s;
}

const char *sel_getName(SEL sel) { return sel ? sel->name : NULL; }

/* ---- the runtime lock: non-recursive, aborts when taken twice by one thread ---- */

static pthread_mutex_t rt_mu = PTHREAD_MUTEX_INITIALIZER;
static __thread int rt_held;

static void rt_lock(const char *fn)
{
    if (rt_held) {
        fprintf(stderr, "fake objc: recursive runtime lock: %s called with the runtime lock held by this thread\n", fn);
        abort();
    }
    pthread_mutex_lock(&rt_mu);
    rt_held = 1;
}

static void rt_unlock(void)
{
    rt_held = 0;
    pthread_mutex_unlock(&rt_mu);
}

/* ---- images ---- */

struct fake_mh {
    uint32_t hdr[8]; /* mach_header_64 */
    uint32_t lc[2];  /* LC_UUID, 24 */
    unsigned char uuid[16];
};

enum { IMG_OBJC, IMG_FIX, IMG_METAL, IMG_DRIVER, IMG_MPS, NIMG };
static struct fake_image {
    struct fake_mh mh;
    const char *path;
    int loaded; /* atomic */
} images[NIMG] = {
    [IMG_OBJC] = {.path = "/usr/lib/libobjc.A.dylib"},
    [IMG_FIX] = {.path = "/fake/libagx_fix_v2_4.dylib"},
    [IMG_METAL] = {.path = "/System/Library/Frameworks/Metal.framework/Versions/A/Metal"},
    [IMG_DRIVER] = {.path = NULL}, /* set at init */
    [IMG_MPS] = {.path = "/System/Library/Frameworks/MetalPerformanceShaders.framework/Versions/A/"
                         "MetalPerformanceShaders"},
};

static void parse_uuid(const char *s, unsigned char out[16])
{
    for (unsigned k = 0; k < 16; k++) {
        while (*s == '-') s++;
        unsigned v;
        sscanf(s, "%2x", &v);
        out[k] = (unsigned char)v;
        s += 2;
    }
}

/* ---- driver class names: AGX, or (FAKE_GPU=amd) an AMD-like driver ---- */

static int gpu_amd;
static char amd_names[16][64];
static const char *agx_names[16];
static int nnames;

/* The driver's class name for the AGX name used in this file. */
static const char *N(const char *agx)
{
    if (!gpu_amd || strncmp(agx, "AGXG16X", 7) != 0) return agx;
    for (int i = 0; i < nnames; i++)
        if (strcmp(agx_names[i], agx) == 0) return amd_names[i];
    const char *rest = agx + 7;
    if (strncmp(rest, "Family", 6) == 0) rest += 6;
    snprintf(amd_names[nnames], sizeof amd_names[0], "AMDMTLBronze%s", rest);
    agx_names[nnames] = agx;
    return amd_names[nnames++];
}

/* ---- classes ---- */

struct objc_method {
    SEL sel;
    IMP imp;  /* atomic */
    IMP orig; /* as defined (fake_is_hooked) */
};
struct objc_class {
    const char *name, *super_name;
    Class super;
    int image;
    int registered; /* atomic */
    int nm;
    struct objc_method m[24];
};

#define NCLS 16
static struct objc_class classes[NCLS];
static int ncls;

static Class def_class(const char *name, const char *super_name, int image)
{
    Class c = &classes[ncls++];
    c->name = name;
    c->super_name = super_name;
    c->image = image;
    return c;
}

static void def_method(Class c, const char *sel, IMP imp)
{
    c->m[c->nm].sel = sel_registerName(sel);
    c->m[c->nm].imp = imp;
    c->m[c->nm].orig = imp;
    c->nm++;
}

Class fake_class(const char *name)
{
    for (int i = 0; i < ncls; i++)
        if (strcmp(classes[i].name, name) == 0) return &classes[i];
    return NULL;
}

static Class registered_class(const char *name)
{
    Class c = fake_class(name);
    return c && __atomic_load_n(&c->registered, __ATOMIC_ACQUIRE) ? c : NULL;
}

/* ---- callbacks ---- */

static pthread_mutex_t dy_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*add_funcs[8])(const struct mach_header *, intptr_t);
static int nadd;
static objc_func_loadImage load_funcs[8];
static int nload; /* rt_mu */

static void notify_add(int img)
{
    void (*fs[8])(const struct mach_header *, intptr_t);
    pthread_mutex_lock(&dy_mu);
    int n = nadd;
    memcpy(fs, add_funcs, sizeof fs);
    pthread_mutex_unlock(&dy_mu);
    for (int i = 0; i < n; i++) fs[i]((const struct mach_header *)&images[img].mh, 0);
}

/* FAKE_REGISTER_FIRST=1: classes registered before dyld's add-image callbacks
 * (the order before macOS 12), only to run the pre-issue-18 glue far enough
 * to show its other defects. */
static int register_first;

/* A dlopen of several images: dyld's add-image callbacks first, then the
 * runtime registers the classes and calls the load-image functions under its
 * lock. */
static void load_images(const int *imgs, int n)
{
    int todo[NIMG], k = 0;
    for (int i = 0; i < n; i++)
        if (!__atomic_exchange_n(&images[imgs[i]].loaded, 1, __ATOMIC_ACQ_REL)) todo[k++] = imgs[i];
    if (!register_first)
        for (int i = 0; i < k; i++) notify_add(todo[i]);
    rt_lock("map_images");
    for (int i = 0; i < k; i++) {
        for (int c = 0; c < ncls; c++) {
            if (classes[c].image != todo[i]) continue;
            classes[c].super = classes[c].super_name ? fake_class(classes[c].super_name) : NULL;
            __atomic_store_n(&classes[c].registered, 1, __ATOMIC_RELEASE);
        }
    }
    for (int i = 0; i < k; i++)
        for (int f = 0; f < nload; f++) load_funcs[f]((const struct mach_header *)&images[todo[i]].mh);
    rt_unlock();
    if (register_first)
        for (int i = 0; i < k; i++) notify_add(todo[i]);
}

void _dyld_register_func_for_add_image(void (*func)(const struct mach_header *, intptr_t))
{
    pthread_mutex_lock(&dy_mu);
    add_funcs[nadd++] = func;
    pthread_mutex_unlock(&dy_mu);
    for (int i = 0; i < NIMG; i++)
        if (__atomic_load_n(&images[i].loaded, __ATOMIC_ACQUIRE)) func((const struct mach_header *)&images[i].mh, 0);
}

void objc_addLoadImageFunc(objc_func_loadImage func)
{
    rt_lock("objc_addLoadImageFunc");
    load_funcs[nload++] = func;
    for (int i = 0; i < NIMG; i++)
        if (__atomic_load_n(&images[i].loaded, __ATOMIC_ACQUIRE)) func((const struct mach_header *)&images[i].mh);
    rt_unlock();
}

int fake_dladdr(const void *addr, Dl_info *info)
{
    memset(info, 0, sizeof *info);
    for (int i = 0; i < NIMG; i++) {
        if (addr == &images[i].mh) {
            info->dli_fname = images[i].path;
            info->dli_fbase = &images[i].mh;
            return 1;
        }
    }
    /* Anything else is code of this binary: the fix's own image. */
    info->dli_fname = images[IMG_FIX].path;
    info->dli_fbase = &images[IMG_FIX].mh;
    return 1;
}

static int metal_late;
static int metal_allowed; /* atomic */
static id MTLCreateSystemDefaultDevice(void);

void *fake_dlopen(const char *path, int mode)
{
    (void)mode;
    if (strcmp(path, "/System/Library/Frameworks/Metal.framework/Metal") != 0) return NULL;
    if (metal_late && !__atomic_load_n(&metal_allowed, __ATOMIC_ACQUIRE)) return NULL;
    static const int imgs[] = {IMG_METAL, IMG_DRIVER};
    load_images(imgs, 2);
    return &images[IMG_METAL];
}

void *fake_dlsym(void *handle, const char *name)
{
    if (handle == &images[IMG_METAL] && strcmp(name, "MTLCreateSystemDefaultDevice") == 0)
        return (void *)MTLCreateSystemDefaultDevice;
    return NULL;
}

void fake_load_metal(void)
{
    if (__atomic_load_n(&images[IMG_DRIVER].loaded, __ATOMIC_ACQUIRE)) return;
    __atomic_store_n(&metal_allowed, 1, __ATOMIC_RELEASE);
    if (!fake_dlopen("/System/Library/Frameworks/Metal.framework/Metal", 1)) abort();
}

void fake_load_mps(void)
{
    static const int imgs[] = {IMG_MPS};
    load_images(imgs, 1);
}

/* ---- runtime API ---- */

Class objc_getClass(const char *name)
{
    rt_lock("objc_getClass");
    Class c = registered_class(name);
    rt_unlock();
    return c;
}

Class *objc_copyClassList(unsigned int *out)
{
    rt_lock("objc_copyClassList");
    Class *list = calloc(NCLS + 1, sizeof *list);
    unsigned n = 0;
    for (int i = 0; list && i < ncls; i++)
        if (classes[i].registered) list[n++] = &classes[i];
    rt_unlock();
    *out = n;
    return list;
}

const char **objc_copyClassNamesForImage(const char *image, unsigned int *out)
{
    rt_lock("objc_copyClassNamesForImage");
    const char **list = calloc(NCLS + 1, sizeof *list);
    unsigned n = 0;
    for (int i = 0; list && i < ncls; i++)
        if (classes[i].registered && strcmp(images[classes[i].image].path, image) == 0) list[n++] = classes[i].name;
    rt_unlock();
    *out = n;
    return list;
}

const char *class_getName(Class c) { return c ? c->name : "nil"; }
Class class_getSuperclass(Class c) { return c ? c->super : NULL; }
Class object_getClass(id obj) { return obj ? obj->isa : NULL; }
SEL method_getName(Method m) { return m->sel; }
IMP method_getImplementation(Method m) { return __atomic_load_n(&m->imp, __ATOMIC_ACQUIRE); }

Method class_getInstanceMethod(Class cls, SEL sel)
{
    rt_lock("class_getInstanceMethod");
    Method found = NULL;
    for (Class c = cls; c && !found; c = c->super)
        for (int i = 0; i < c->nm; i++)
            if (c->m[i].sel == sel) {
                found = &c->m[i];
                break;
            }
    rt_unlock();
    return found;
}

Method *class_copyMethodList(Class cls, unsigned int *out)
{
    rt_lock("class_copyMethodList");
    Method *list = calloc((size_t)cls->nm + 1, sizeof *list);
    for (int i = 0; list && i < cls->nm; i++) list[i] = &cls->m[i];
    *out = list ? (unsigned)cls->nm : 0;
    rt_unlock();
    return list;
}

IMP method_setImplementation(Method m, IMP imp)
{
    rt_lock("method_setImplementation");
    IMP old = __atomic_exchange_n(&m->imp, imp, __ATOMIC_ACQ_REL);
    rt_unlock();
    return old;
}

IMP fake_lookup(Class cls, SEL sel)
{
    for (Class c = cls; c; c = c->super)
        for (int i = 0; i < c->nm; i++)
            if (c->m[i].sel == sel) return __atomic_load_n(&c->m[i].imp, __ATOMIC_ACQUIRE);
    fprintf(stderr, "fake objc: unrecognized selector -[%s %s]\n", class_getName(cls), sel_getName(sel));
    abort();
}

id fake_send(id obj, const char *sel)
{
    SEL s = sel_registerName(sel);
    return ((id(*)(id, SEL))fake_lookup(obj->isa, s))(obj, s);
}

void fake_send_v(id obj, const char *sel)
{
    SEL s = sel_registerName(sel);
    ((void (*)(id, SEL))fake_lookup(obj->isa, s))(obj, s);
}

/* [super sel] from a method defined in class `def`. */
static void super_v(id obj, const char *def, const char *sel)
{
    SEL s = sel_registerName(sel);
    ((void (*)(id, SEL))fake_lookup(fake_class(def)->super, s))(obj, s);
}

int fake_is_hooked(const char *cls, const char *sel)
{
    Class c = fake_class(cls);
    SEL s = sel_registerName(sel);
    for (int i = 0; c && i < c->nm; i++)
        if (c->m[i].sel == s) return __atomic_load_n(&c->m[i].imp, __ATOMIC_ACQUIRE) != c->m[i].orig;
    return 0;
}

id objc_retain(id obj)
{
    if (obj) __atomic_fetch_add(&obj->refs, 1, __ATOMIC_ACQ_REL);
    return obj;
}

void objc_release(id obj)
{
    if (obj && __atomic_sub_fetch(&obj->refs, 1, __ATOMIC_ACQ_REL) == 0) fake_send_v(obj, "dealloc");
}

void objc_msgSend(void) { abort(); /* the glue must not use it */ }

/* Autorelease pools: a per-thread stack of objects. */
static __thread id pool_objs[256];
static __thread unsigned pool_n;

void *objc_autoreleasePoolPush(void) { return (void *)(uintptr_t)(pool_n + 1); }

void objc_autoreleasePoolPop(void *token)
{
    unsigned to = (unsigned)(uintptr_t)token - 1;
    while (pool_n > to) objc_release(pool_objs[--pool_n]);
}

static id autorelease(id obj)
{
    if (pool_n >= 256) abort();
    pool_objs[pool_n++] = obj;
    return obj;
}

/* os_log: decode the buffer the glue built (one public string) and print it. */
struct agx_os_log_s {
    int unused;
};
struct agx_os_log_s _os_log_default;

void _os_log_impl(void *dso, void *log, uint8_t type, const char *format, uint8_t *buf, uint32_t size)
{
    (void)dso;
    const char *msg;
    if (log != &_os_log_default || !strstr(format, "%{public}s") || size != 2 + 2 + sizeof msg || buf[0] != 2 ||
        buf[1] != 1 || buf[2] != 0x22 || buf[3] != sizeof msg) {
        fprintf(stderr, "fake os_log: malformed call (type %u, size %u)\n", type, size);
        abort();
    }
    memcpy(&msg, buf + 4, sizeof msg);
    __atomic_fetch_add(&fake_os_log_count, 1, __ATOMIC_RELAXED);
    fprintf(stderr, "os_log[%u]: %s\n", type, msg);
}

/* ---- the fake Metal and driver ---- */

static int g_reuse; /* atomic */
void fake_set_reuse(int on) { __atomic_store_n(&g_reuse, on, __ATOMIC_RELEASE); }

static id new_object(const char *cls, size_t size)
{
    id o = calloc(1, size);
    if (!o) abort();
    o->isa = fake_class(cls);
    o->refs = 1;
    return o;
}

static void root_dealloc(id self, SEL cmd) { (void)cmd; free(self); }

static id MTLCreateSystemDefaultDevice(void) { return new_object(N("AGXG16XDevice"), sizeof(struct objc_object)); }
static id device_newCommandQueue(id self, SEL cmd)
{
    (void)self, (void)cmd;
    return new_object("IOGPUMetalCommandQueue", sizeof(struct objc_object));
}
static id queue_commandBuffer(id self, SEL cmd)
{
    (void)self, (void)cmd;
    return autorelease(new_object(N("AGXG16XFamilyCommandBuffer"), sizeof(struct fake_cb)));
}

id fake_new_command_buffer(void)
{
    fake_load_metal(); /* what the application's own MTLCreateSystemDefaultDevice does */
    id dev = MTLCreateSystemDefaultDevice();
    id q = fake_send(dev, "newCommandQueue");
    id cb = new_object(N("AGXG16XFamilyCommandBuffer"), sizeof(struct fake_cb));
    objc_release(q);
    objc_release(dev);
    return cb;
}

static id make_encoder(struct fake_cb *cb, const char *cls)
{
    struct fake_enc *open = __atomic_load_n(&cb->open_enc, __ATOMIC_ACQUIRE);
    if (open && __atomic_load_n(&open->open, __ATOMIC_ACQUIRE)) {
        fprintf(stderr, "fake Metal: failed assertion: a command encoder is already encoding to this command buffer\n");
        abort();
    }
    if (open && __atomic_load_n(&g_reuse, __ATOMIC_ACQUIRE) && open->o.isa == fake_class(cls)) {
        /* The driver hands the same encoder object out again. */
        open->state = calloc(1, 64);
        if (!open->impl) open->impl = calloc(1, 64);
        __atomic_store_n(&open->open, 1, __ATOMIC_RELEASE);
        return &open->o;
    }
    if (cb->nencs >= 64) abort();
    struct fake_enc *e = (struct fake_enc *)new_object(cls, sizeof *e);
    e->state = calloc(1, 64);
    e->impl = calloc(1, 64);
    e->cb = cb;
    e->open = 1;
    cb->encs[cb->nencs++] = e;
    __atomic_store_n(&cb->open_enc, e, __ATOMIC_RELEASE);
    return &e->o;
}

static id cb_compute(id self, SEL cmd) { (void)cmd; return make_encoder((struct fake_cb *)self, N("AGXG16XFamilyComputeContext")); }
static id cb_compute_type(id self, SEL cmd, uint64_t type)
{
    (void)cmd, (void)type;
    return make_encoder((struct fake_cb *)self, N("AGXG16XFamilyComputeContext"));
}
static id cb_resource_state(id self, SEL cmd)
{
    (void)cmd;
    return make_encoder((struct fake_cb *)self, N("AGXG16XFamilyResourceStateContext"));
}
static id cb_blit(id self, SEL cmd) { (void)cmd; return make_encoder((struct fake_cb *)self, N("AGXG16XFamilyBlitContext")); }

static void cb_commit(id self, SEL cmd)
{
    (void)cmd;
    struct fake_cb *cb = (struct fake_cb *)self;
    struct fake_enc *open = __atomic_load_n(&cb->open_enc, __ATOMIC_ACQUIRE);
    if (open && __atomic_load_n(&open->open, __ATOMIC_ACQUIRE)) {
        fprintf(stderr, "fake Metal: failed assertion: commit with an encoder still encoding (-[IOGPUMetalCommandBuffer validate])\n");
        abort();
    }
    cb->committed = 1;
}

static void cb_dealloc(id self, SEL cmd)
{
    (void)cmd;
    struct fake_cb *cb = (struct fake_cb *)self;
    for (int i = 0; i < cb->nencs; i++) objc_release(&cb->encs[i]->o);
    super_v(self, "IOGPUMetalCommandBuffer", "dealloc");
}

/* Encoders. The leaf's endEncoding frees the encoding state and calls
 * [super endEncoding]; every use call writes the state (a use after free once
 * ended) and folds its arguments into e->sum (argument passing checks). */
#define ENC ((struct fake_enc *)self)
static void touch(id self, uint64_t v)
{
    ENC->state[v % 64] = (unsigned char)v;
    ENC->sum += v;
}
static void leaf_end(id self, SEL cmd, const char *def)
{
    (void)cmd;
    __atomic_fetch_add(&ENC->leaf_end_calls, 1, __ATOMIC_RELAXED);
    free(ENC->state); /* a second run is a double free */
    super_v(self, def, "endEncoding");
}
static void compute_end(id self, SEL cmd) { leaf_end(self, cmd, N("AGXG16XFamilyComputeContext")); }
static void blit_end(id self, SEL cmd) { leaf_end(self, cmd, N("AGXG16XFamilyBlitContext")); }
static void base_end(id self, SEL cmd)
{
    (void)cmd;
    __atomic_fetch_add(&ENC->base_end_calls, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&ENC->open, 0, __ATOMIC_RELEASE);
}
static void enc_destroy_impl(id self, SEL cmd)
{
    (void)cmd;
    free(ENC->impl); /* a second run is a double free; a call after it a use after free */
    ENC->impl = NULL;
}
static void enc_dealloc(id self, SEL cmd)
{
    (void)cmd;
    if (ENC->impl) fake_send_v(self, "destroyImpl");
    if (!ENC->leaf_end_calls) free(ENC->state); /* a class without a leaf endEncoding */
    super_v(self, "IOGPUMetalComputeCommandEncoder", "dealloc");
}
static void set_pipeline(id self, SEL cmd, void *p) { (void)cmd; touch(self, (uint64_t)(uintptr_t)p); ENC->impl[0]++; }
static void set_buffer(id self, SEL cmd, void *buf, uint64_t off, uint64_t idx)
{
    (void)cmd;
    touch(self, off + idx);
    ENC->impl[1]++;
    if (buf == FAKE_CALLBACK_BUFFER && fake_in_call_callback) fake_in_call_callback(self);
}
static void set_bytes(id self, SEL cmd, void *p, uint64_t len, uint64_t idx) { (void)cmd, (void)p; touch(self, len + idx); }
struct agx_size_ { uint64_t w, h, d; };
struct agx_range_ { uint64_t loc, len; };
struct agx_region_ { struct agx_size_ o, s; };
static void set_buffers(id self, SEL cmd, void *bufs, void *offs, struct agx_range_ r)
{
    (void)cmd, (void)bufs;
    touch(self, ((const uint64_t *)offs)[0] + r.loc * 10 + r.len);
}
static void use_resources(id self, SEL cmd, void *res, uint64_t count, uint64_t usage)
{
    (void)cmd, (void)res;
    touch(self, count * 10 + usage);
}
static void set_sampler_lod(id self, SEL cmd, void *s, float lo, float hi, uint64_t idx)
{
    (void)cmd, (void)s;
    touch(self, (uint64_t)((lo + hi) * 10.0f) + idx);
}
static void set_stage_in(id self, SEL cmd, struct agx_region_ r)
{
    (void)cmd;
    touch(self, r.o.w + r.o.h + r.o.d + r.s.w + r.s.h + r.s.d);
}
static void dispatch_threads(id self, SEL cmd, struct agx_size_ a, struct agx_size_ b)
{
    (void)cmd;
    touch(self, a.w + a.h + a.d + b.w + b.h + b.d);
    ENC->impl[2]++;
}
static void dispatch_wait_flush(id self, SEL cmd) { (void)cmd; touch(self, 1); }
static void fill_buffer(id self, SEL cmd, void *buf, struct agx_range_ r, uint8_t v)
{
    (void)cmd, (void)buf;
    touch(self, r.loc + r.len + v);
}
static void copy_buffer(id self, SEL cmd, void *a, uint64_t ao, void *b, uint64_t bo, uint64_t size)
{
    (void)cmd, (void)a, (void)b;
    touch(self, ao + bo + size);
}

/* Shapes with many arguments, structs in the middle, BOOL and float: every
 * argument folded in with its own weight, so a shifted one changes the sum. */
static void get_counters(id self, SEL cmd, void *tex, struct agx_region_ r, uint64_t mip, uint64_t slice, uint8_t reset,
                         void *buf, uint64_t off)
{
    (void)cmd, (void)tex, (void)buf;
    touch(self, r.o.w + 2 * r.o.h + 3 * r.o.d + 4 * r.s.w + 5 * r.s.h + 6 * r.s.d + 7 * mip + 8 * slice + 9 * reset +
                    10 * off);
}
static void copy_tex_to_tex(id self, SEL cmd, void *src, uint64_t sslice, uint64_t slevel, struct agx_size_ sorigin,
                            struct agx_size_ ssize, void *dst, uint64_t dslice, uint64_t dlevel, struct agx_size_ dorigin)
{
    (void)cmd, (void)src, (void)dst;
    touch(self, sslice + 2 * slevel + 3 * sorigin.w + 4 * sorigin.d + 5 * ssize.h + 6 * dslice + 7 * dlevel +
                    8 * dorigin.w + 9 * dorigin.d);
}
static void copy_icb(id self, SEL cmd, void *src, struct agx_range_ r, void *dst, uint64_t idx)
{
    (void)cmd, (void)src, (void)dst;
    touch(self, r.loc + 2 * r.len + 3 * idx);
}

/* MPSCommandBuffer: forwards to the driver's command buffer. */
struct fake_mps {
    struct objc_object o;
    id inner;
};
static id mps_compute(id self, SEL cmd) { (void)cmd; return fake_send(((struct fake_mps *)self)->inner, "computeCommandEncoder"); }
static void mps_commit(id self, SEL cmd) { (void)cmd; fake_send_v(((struct fake_mps *)self)->inner, "commit"); }
static void mps_dealloc(id self, SEL cmd)
{
    (void)cmd;
    objc_release(((struct fake_mps *)self)->inner);
    super_v(self, "MPSCommandBuffer", "dealloc");
}

id fake_mps_command_buffer(id inner)
{
    fake_load_mps();
    struct fake_mps *m = (struct fake_mps *)new_object("MPSCommandBuffer", sizeof *m);
    m->inner = objc_retain(inner);
    return &m->o;
}

#define M(c, s, f) def_method(c, s, (IMP)(f))

__attribute__((constructor(101))) static void fake_init(void)
{
    const char *late = getenv("FAKE_METAL_LATE");
    metal_late = late && strcmp(late, "1") == 0;
    const char *reuse = getenv("FAKE_REUSE");
    g_reuse = reuse && strcmp(reuse, "1") == 0;
    const char *gpu = getenv("FAKE_GPU");
    gpu_amd = gpu && strcmp(gpu, "amd") == 0;
    images[IMG_DRIVER].path = gpu_amd ? "/System/Library/Extensions/AMDRadeonX6000MTLDriver.bundle/Contents/MacOS/"
                                        "AMDRadeonX6000MTLDriver"
                                      : "/System/Library/Extensions/AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X";
    const char *rf = getenv("FAKE_REGISTER_FIRST");
    register_first = rf && strcmp(rf, "1") == 0;
    static const char *const uuids[NIMG] = {"11111111-1111-1111-1111-111111111111", FAKE_FIX_UUID,
                                            "22222222-2222-2222-2222-222222222222",
                                            "33333333-3333-3333-3333-333333333333",
                                            "44444444-4444-4444-4444-444444444444"};
    for (int i = 0; i < NIMG; i++) {
        struct fake_mh *mh = &images[i].mh;
        mh->hdr[0] = 0xFEEDFACFu;
        mh->hdr[1] = 0x0100000Cu; /* CPU_TYPE_ARM64 */
        mh->hdr[3] = 6;           /* MH_DYLIB */
        mh->hdr[4] = 1;
        mh->hdr[5] = 24;
        mh->lc[0] = 0x1b;
        mh->lc[1] = 24;
        parse_uuid(uuids[i], mh->uuid);
    }
    Class c;
    c = def_class("NSObject", NULL, IMG_OBJC);
    M(c, "dealloc", root_dealloc);
    def_class("_MTLCommandBuffer", "NSObject", IMG_METAL);
    def_class("_MTLCommandEncoder", "NSObject", IMG_METAL);
    c = def_class(N("AGXG16XDevice"), "NSObject", IMG_DRIVER);
    M(c, "newCommandQueue", device_newCommandQueue);
    c = def_class("IOGPUMetalCommandQueue", "NSObject", IMG_DRIVER);
    M(c, "commandBuffer", queue_commandBuffer);
    c = def_class("IOGPUMetalCommandBuffer", "_MTLCommandBuffer", IMG_DRIVER);
    M(c, "commit", cb_commit);
    M(c, "dealloc", cb_dealloc);
    c = def_class(N("AGXG16XFamilyCommandBuffer"), "IOGPUMetalCommandBuffer", IMG_DRIVER);
    M(c, "computeCommandEncoder", cb_compute);
    M(c, "computeCommandEncoderWithDispatchType:", cb_compute_type);
    M(c, "blitCommandEncoder", cb_blit);
    M(c, "resourceStateCommandEncoder", cb_resource_state);
    c = def_class("IOGPUMetalComputeCommandEncoder", "_MTLCommandEncoder", IMG_DRIVER);
    M(c, "endEncoding", base_end);
    M(c, "setBuffer:offset:atIndex:", set_buffer);
    M(c, "destroyImpl", enc_destroy_impl);
    M(c, "dealloc", enc_dealloc);
    c = def_class(N("AGXG16XFamilyComputeContext"), "IOGPUMetalComputeCommandEncoder", IMG_DRIVER);
    M(c, "endEncoding", compute_end);
    M(c, "setComputePipelineState:", set_pipeline);
    M(c, "setBytes:length:atIndex:", set_bytes);
    M(c, "setBuffers:offsets:withRange:", set_buffers);
    M(c, "useResources:count:usage:", use_resources);
    M(c, "setSamplerState:lodMinClamp:lodMaxClamp:atIndex:", set_sampler_lod);
    M(c, "setStageInRegion:", set_stage_in);
    M(c, "dispatchThreads:threadsPerThreadgroup:", dispatch_threads);
    M(c, "dispatchWaitFlush", dispatch_wait_flush); /* private, not in the table: logged */
    c = def_class(N("AGXG16XFamilyBlitContext"), "IOGPUMetalComputeCommandEncoder", IMG_DRIVER);
    M(c, "endEncoding", blit_end);
    M(c, "fillBuffer:range:value:", fill_buffer);
    M(c, "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:", copy_buffer);
    M(c, "getTextureAccessCounters:region:mipLevel:slice:resetCounters:countersBuffer:countersBufferOffset:",
      get_counters);
    M(c, "copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:destinationLevel:"
         "destinationOrigin:",
      copy_tex_to_tex);
    M(c, "copyIndirectCommandBuffer:sourceRange:destination:destinationIndex:", copy_icb);
    /* Inherits endEncoding from IOGPUMetalComputeCommandEncoder: hooking it
     * hooks the superclass's endEncoding, under the compute context's own. */
    def_class(N("AGXG16XFamilyResourceStateContext"), "IOGPUMetalComputeCommandEncoder", IMG_DRIVER);
    c = def_class("MPSCommandBuffer", "NSObject", IMG_MPS);
    M(c, "computeCommandEncoder", mps_compute);
    M(c, "commit", mps_commit);
    M(c, "dealloc", mps_dealloc);
    /* At launch: libobjc and the fix (this binary). */
    static const int boot[] = {IMG_OBJC, IMG_FIX};
    load_images(boot, 2);
}
