/*
 * agx_fix.c - the Objective-C side of the AGX fix: finds the driver's
 * command-buffer classes, swizzles the methods listed in selectors.def and
 * routes every call through the portable core (core.c).
 *
 * Plain C against the runtime's C API (objc_runtime_abi.h), so it cross-builds
 * on Linux. Each hooked selector gets the replacement function of its
 * argument shape (one per signature in selectors.def); the replacement looks
 * up the original IMP by (defining class, selector) in g_orig and calls it
 * with exactly that C type, so arguments pass through untouched (MTLSize, 24
 * bytes, goes in memory on x86_64 and by reference on arm64: the compiler does
 * it right because the prototype is right).
 *
 * What it cannot fix: code that fetched an IMP before the swizzle (IMP caching,
 * methodForSelector:) keeps calling the driver directly; and encoders made by
 * methods not in the table are not tracked (their calls pass through).
 */
#if defined(AGX_FIX_NO_SDK)
#include "darwin_libc_abi.h"
#else
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#endif

#include "agx_fix.h"
#include "agx_fix_meta.h" /* generated: AGX_FIX_VERSION_STRING, AGX_FIX_META_JSON */
#include "core.h"
#include "objc_runtime_abi.h"

/* ---- metadata: read by `agx-triage fix inspect` (section __DATA,__agx_fix_meta) ---- */

__attribute__((used, section("__DATA,__agx_fix_meta"))) static const char g_meta[] = AGX_FIX_META_JSON;

/* ---- the selector table (selectors.def) ---- */

enum target { T_CB, T_ENC };
enum role { R_CREATE, R_END_OPEN, R_USE, R_END, R_DEALLOC };
enum sig { S_V, S_V_P, S_V_U, S_V_PU, S_V_UU, S_V_PUU, S_V_UUU, S_V_SS, S_V_PUS, S_V_PUPUU, S_V_PRB, S_ID, S_ID_U, S_ID_P, S_COUNT };

struct sel_spec {
    const char *name;
    unsigned char target, role, sig;
};

static const struct sel_spec k_sels[] = {
#define AGX_SEL(t, r, s, n) {n, T_##t, R_##r, S_##s},
#include "selectors.def"
#undef AGX_SEL
};
#define NSELS (sizeof k_sels / sizeof k_sels[0])

/* Argument types passed by value (layouts of MTLSize and NSRange). */
struct agx_size { uint64_t width, height, depth; };
struct agx_range { uint64_t location, length; };

/* ---- state ---- */

static int g_active, g_verbose;
static pthread_mutex_t g_swz_mu = PTHREAD_MUTEX_INITIALIZER; /* serialises hooking */
static pthread_key_t g_tls_key;
static int g_tls_ok;
static SEL g_sel_end;

static void log_line(const char *msg)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "agx_fix %s: %s\n", AGX_FIX_VERSION_STRING, msg);
    if (n > 0) write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* ---- original IMPs: open addressing on (defining class, selector), insert-only ---- */

#define ORIG_CAP 2048u
struct orig {
    Class cls; /* published last (release), 0 = free slot */
    SEL sel;
    IMP imp;
    unsigned char role, sig;
};
static struct orig g_orig[ORIG_CAP];

static unsigned orig_hash(Class c, SEL s)
{
    uintptr_t x = (uintptr_t)c * 31u + (uintptr_t)s;
    x ^= x >> 15;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (unsigned)(x >> 32) & (ORIG_CAP - 1);
}

static const struct orig *orig_find(Class c, SEL s)
{
    unsigned h = orig_hash(c, s);
    for (unsigned i = 0; i < ORIG_CAP; i++) {
        const struct orig *o = &g_orig[(h + i) & (ORIG_CAP - 1)];
        Class oc = __atomic_load_n(&o->cls, __ATOMIC_ACQUIRE);
        if (!oc) return NULL;
        if (oc == c && o->sel == s) return o;
    }
    return NULL;
}

/* g_swz_mu held */
static struct orig *orig_insert(Class c, SEL s, IMP imp, unsigned char role, unsigned char sig)
{
    unsigned h = orig_hash(c, s);
    for (unsigned i = 0; i < ORIG_CAP / 2; i++) { /* keep the table at most half full */
        struct orig *o = &g_orig[(h + i) & (ORIG_CAP - 1)];
        if (o->cls) continue;
        o->sel = s;
        o->imp = imp;
        o->role = role;
        o->sig = sig;
        __atomic_store_n(&o->cls, c, __ATOMIC_RELEASE);
        return o;
    }
    return NULL;
}

static IMP orig_imp(const struct orig *o) { return __atomic_load_n(&o->imp, __ATOMIC_ACQUIRE); }

/* ---- per-thread hook frames ----
 * A hooked method whose original calls [super sameSelector] on a hooked
 * superclass re-enters a replacement with the same self and _cmd; looking up
 * from the object's class again would recurse forever. The frame stack makes
 * the nested lookup start above the class found by the outer one. */

struct frame { id self; SEL sel; Class found; };
struct tls { unsigned depth; struct frame f[16]; };
struct hook { const struct orig *o; struct tls *t; int pushed; };

static struct tls *tls_get(void)
{
    if (!g_tls_ok) return NULL;
    struct tls *t = pthread_getspecific(g_tls_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (t && pthread_setspecific(g_tls_key, t) != 0) {
            free(t);
            t = NULL;
        }
    }
    return t;
}

static int hook_enter(struct hook *h, id self, SEL cmd)
{
    h->o = NULL;
    h->pushed = 0;
    h->t = tls_get();
    Class start = object_getClass(self);
    if (h->t) {
        for (unsigned i = h->t->depth; i-- > 0;) {
            if (h->t->f[i].self == self && h->t->f[i].sel == cmd) {
                start = class_getSuperclass(h->t->f[i].found);
                break;
            }
        }
    }
    Class found = 0;
    for (Class c = start; c; c = class_getSuperclass(c)) {
        if ((h->o = orig_find(c, cmd)) != NULL) {
            found = c;
            break;
        }
    }
    if (!h->o) {
        static int logged;
        if (!__atomic_exchange_n(&logged, 1, __ATOMIC_RELAXED)) log_line("BUG: hooked method without an original IMP; call dropped");
        return 0;
    }
    if (h->t && h->t->depth < sizeof h->t->f / sizeof h->t->f[0]) {
        struct frame *f = &h->t->f[h->t->depth++];
        f->self = self;
        f->sel = cmd;
        f->found = found;
        h->pushed = 1;
    }
    return 1;
}

static void hook_leave(struct hook *h)
{
    if (h->pushed) h->t->depth--;
}

/* ---- what each role does around the original ---- */

static void hook_class(Class cls, int target);

static enum agx_decision pre_call(const struct hook *h, id self, struct agx_call *call)
{
    call->entry = NULL;
    switch (h->o->role) {
    case R_USE: return agx_core_call_begin(self, AGX_CALL_USE, call);
    case R_END: return agx_core_call_begin(self, AGX_CALL_END, call);
    case R_DEALLOC: agx_core_forget(self); return AGX_UNTRACKED;
    case R_END_OPEN: {
        unsigned n = agx_core_end_open(self);
        if (n && g_verbose) {
            char msg[128];
            snprintf(msg, sizeof msg, "ended %u open encoder(s) before %s", n, sel_getName(h->o->sel));
            log_line(msg);
        }
        return AGX_UNTRACKED;
    }
    default: return AGX_UNTRACKED;
    }
}

static void encoder_created(id enc, id cmdbuf)
{
    hook_class(object_getClass(enc), T_ENC);
    agx_core_encoder_created(enc, cmdbuf);
}

/* One replacement per signature. PARAMS is the full parameter list, ARGS the
 * matching argument list; the original is called through a pointer of exactly
 * the type void/id (*)PARAMS. */
#define VOID_HOOK(NAME, PARAMS, ARGS)                                          \
    static void NAME PARAMS                                                    \
    {                                                                          \
        struct hook hk_;                                                       \
        struct agx_call call_;                                                 \
        if (!hook_enter(&hk_, self, cmd)) return;                              \
        enum agx_decision dec_ = pre_call(&hk_, self, &call_);                 \
        if (dec_ != AGX_SKIP) ((void(*) PARAMS)orig_imp(hk_.o)) ARGS;          \
        if (dec_ == AGX_PROCEED) agx_core_call_end(&call_);                    \
        hook_leave(&hk_);                                                      \
    }

#define ID_HOOK(NAME, PARAMS, ARGS)                                            \
    static id NAME PARAMS                                                      \
    {                                                                          \
        struct hook hk_;                                                       \
        if (!hook_enter(&hk_, self, cmd)) return (id)0;                        \
        id enc_ = ((id(*) PARAMS)orig_imp(hk_.o)) ARGS;                        \
        if (enc_ && hk_.o->role == R_CREATE) encoder_created(enc_, self);      \
        hook_leave(&hk_);                                                      \
        return enc_;                                                           \
    }

VOID_HOOK(rep_v, (id self, SEL cmd), (self, cmd))
VOID_HOOK(rep_v_p, (id self, SEL cmd, void *a), (self, cmd, a))
VOID_HOOK(rep_v_u, (id self, SEL cmd, uint64_t a), (self, cmd, a))
VOID_HOOK(rep_v_pu, (id self, SEL cmd, void *a, uint64_t b), (self, cmd, a, b))
VOID_HOOK(rep_v_uu, (id self, SEL cmd, uint64_t a, uint64_t b), (self, cmd, a, b))
VOID_HOOK(rep_v_puu, (id self, SEL cmd, void *a, uint64_t b, uint64_t c), (self, cmd, a, b, c))
VOID_HOOK(rep_v_uuu, (id self, SEL cmd, uint64_t a, uint64_t b, uint64_t c), (self, cmd, a, b, c))
VOID_HOOK(rep_v_ss, (id self, SEL cmd, struct agx_size a, struct agx_size b), (self, cmd, a, b))
VOID_HOOK(rep_v_pus, (id self, SEL cmd, void *a, uint64_t b, struct agx_size c), (self, cmd, a, b, c))
VOID_HOOK(rep_v_pupuu, (id self, SEL cmd, void *a, uint64_t b, void *c, uint64_t d, uint64_t e),
          (self, cmd, a, b, c, d, e))
VOID_HOOK(rep_v_prb, (id self, SEL cmd, void *a, struct agx_range b, uint8_t c), (self, cmd, a, b, c))
ID_HOOK(rep_id, (id self, SEL cmd), (self, cmd))
ID_HOOK(rep_id_u, (id self, SEL cmd, uint64_t a), (self, cmd, a))
ID_HOOK(rep_id_p, (id self, SEL cmd, void *a), (self, cmd, a))

static IMP replacement_for(unsigned sig)
{
    switch (sig) {
    case S_V: return (IMP)rep_v;
    case S_V_P: return (IMP)rep_v_p;
    case S_V_U: return (IMP)rep_v_u;
    case S_V_PU: return (IMP)rep_v_pu;
    case S_V_UU: return (IMP)rep_v_uu;
    case S_V_PUU: return (IMP)rep_v_puu;
    case S_V_UUU: return (IMP)rep_v_uuu;
    case S_V_SS: return (IMP)rep_v_ss;
    case S_V_PUS: return (IMP)rep_v_pus;
    case S_V_PUPUU: return (IMP)rep_v_pupuu;
    case S_V_PRB: return (IMP)rep_v_prb;
    case S_ID: return (IMP)rep_id;
    case S_ID_U: return (IMP)rep_id_u;
    case S_ID_P: return (IMP)rep_id_p;
    default: return 0;
    }
}

/* ---- hooking ---- */

#define HOOKED_CAP 256u
static struct { Class cls; int target; } g_hooked[HOOKED_CAP];
static unsigned g_nhooked; /* published with release */

static int is_hooked(Class cls, int target)
{
    unsigned n = __atomic_load_n(&g_nhooked, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++)
        if (g_hooked[i].cls == cls && g_hooked[i].target == target) return 1;
    return 0;
}

/* The highest class whose lookup of sel still yields m: where m is defined. */
static Class defining_class(Class cls, SEL sel, Method m)
{
    Class d = cls;
    for (;;) {
        Class s = class_getSuperclass(d);
        if (!s || class_getInstanceMethod(s, sel) != m) return d;
        d = s;
    }
}

static void hook_class(Class cls, int target)
{
    if (!cls || is_hooked(cls, target)) return;
    pthread_mutex_lock(&g_swz_mu);
    if (is_hooked(cls, target) || g_nhooked >= HOOKED_CAP) {
        pthread_mutex_unlock(&g_swz_mu);
        return;
    }
    unsigned hooked = 0;
    for (unsigned i = 0; i < NSELS; i++) {
        const struct sel_spec *sp = &k_sels[i];
        if (sp->target != target) continue;
        SEL sel = sel_registerName(sp->name);
        Method m = class_getInstanceMethod(cls, sel);
        if (!m) continue;
        Class def = defining_class(cls, sel, m);
        /* Never hook a root class (NSObject's dealloc would route every object in the process through us). */
        if (!class_getSuperclass(def)) continue;
        if (orig_find(def, sel)) { /* a shared superclass, already hooked */
            hooked++;
            continue;
        }
        IMP rep = replacement_for(sp->sig);
        IMP imp = method_getImplementation(m);
        if (!rep || imp == rep) continue;
        /* Publish the original before the swap: a concurrent call into the
         * replacement must find it. */
        struct orig *o = orig_insert(def, sel, imp, sp->role, sp->sig);
        if (!o) {
            log_line("original-IMP table full; not hooking further methods");
            break;
        }
        IMP old = method_setImplementation(m, rep);
        if (old && old != imp && old != rep) __atomic_store_n(&o->imp, old, __ATOMIC_RELEASE);
        hooked++;
    }
    g_hooked[g_nhooked].cls = cls;
    g_hooked[g_nhooked].target = target;
    __atomic_store_n(&g_nhooked, g_nhooked + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&g_swz_mu);
    if (g_verbose) {
        char msg[256];
        snprintf(msg, sizeof msg, "hooked %s %s: %u selector(s)", target == T_CB ? "command buffer" : "encoder",
                 class_getName(cls), hooked);
        log_line(msg);
    }
}

static void hook_cmdbuf_by_name(const char *name)
{
    if (agx_is_cmdbuf_class_name(name)) hook_class(objc_getClass(name), T_CB);
}

/* The driver bundle (AGXMetalG13X...) and MetalPerformanceShaders are loaded
 * after us (DYLD_INSERT_LIBRARIES runs first), so classes are looked for in
 * every image as it is added: through objc_addLoadImageFunc where it exists
 * (macOS 13+: called once the runtime has registered the image's classes),
 * through dyld's add-image callback as well (macOS 12), and once over all
 * classes at load. Hooking a class twice is a no-op. */
static void on_image(const struct mach_header *mh)
{
    Dl_info info;
    if (!dladdr(mh, &info) || !info.dli_fname) return;
    unsigned n = 0;
    const char **names = objc_copyClassNamesForImage(info.dli_fname, &n);
    if (!names) return;
    for (unsigned i = 0; i < n; i++) hook_cmdbuf_by_name(names[i]);
    free((void *)names);
}

static void on_add_image(const struct mach_header *mh, intptr_t slide)
{
    (void)slide;
    on_image(mh);
}

static void scan_all_classes(void)
{
    unsigned n = 0;
    Class *all = objc_copyClassList(&n);
    if (!all) return;
    for (unsigned i = 0; i < n; i++) hook_cmdbuf_by_name(class_getName(all[i]));
    free(all);
}

/* ---- core callbacks ---- */

static void op_retain(void *enc) { objc_retain((id)enc); }
static void op_release(void *enc) { objc_release((id)enc); }

static void op_end_encoder(void *enc)
{
    for (Class c = object_getClass((id)enc); c; c = class_getSuperclass(c)) {
        const struct orig *o = orig_find(c, g_sel_end);
        if (o) {
            ((void (*)(id, SEL))orig_imp(o))((id)enc, g_sel_end);
            return;
        }
    }
    /* Not hooked (cannot happen for tracked encoders): message it normally. */
    IMP send = (IMP)objc_msgSend;
    ((void (*)(id, SEL))send)((id)enc, g_sel_end);
}

static void print_stats(void)
{
    struct agx_fix_stats s;
    char msg[320];
    unsigned cb_classes = 0, n = __atomic_load_n(&g_nhooked, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++) cb_classes += g_hooked[i].target == T_CB;
    if (!cb_classes) log_line("WARNING: no command-buffer class was hooked; the fix did nothing");
    agx_core_stats(&s);
    snprintf(msg, sizeof msg,
             "stats: tracked=%llu released=%llu forced_ends=%llu double_ends=%llu calls_skipped=%llu "
             "lock_waits=%llu longest_wait_ns=%llu live=%llu",
             (unsigned long long)s.encoders_tracked, (unsigned long long)s.encoders_released,
             (unsigned long long)s.forced_ends, (unsigned long long)s.double_ends,
             (unsigned long long)s.calls_skipped, (unsigned long long)s.lock_waits,
             (unsigned long long)s.longest_wait_ns, (unsigned long long)s.encoders_live);
    log_line(msg);
}

__attribute__((constructor)) static void agx_fix_load(void)
{
    g_verbose = agx_env_truthy(getenv("AGX_FIX_VERBOSE"));
    if (agx_env_truthy(getenv("AGX_FIX_DISABLE"))) {
        if (g_verbose) log_line("disabled by AGX_FIX_DISABLE");
        return;
    }
    unsigned warn_ms = agx_env_uint(getenv("AGX_FIX_LOCK_WARN_MS"), g_verbose ? 100u : 0u);
    struct agx_core_ops ops = {op_retain, op_release, op_end_encoder, log_line};
    agx_core_init(&ops, warn_ms);
    g_sel_end = sel_registerName("endEncoding");
    g_tls_ok = pthread_key_create(&g_tls_key, free) == 0;
    g_active = 1;
    scan_all_classes();
    if (objc_addLoadImageFunc) objc_addLoadImageFunc(on_image);
    _dyld_register_func_for_add_image(on_add_image);
    if (g_verbose) {
        log_line("loaded");
        atexit(print_stats);
    }
}

/* ---- public API (agx_fix.h) ---- */

const char *agx_fix_version(void) { return AGX_FIX_VERSION_STRING; }
const char *agx_fix_metadata(void) { return g_meta; }
int agx_fix_active(void) { return g_active; }

int agx_fix_stats(struct agx_fix_stats *out)
{
    if (!out) return -1;
    agx_core_stats(out);
    return 0;
}
