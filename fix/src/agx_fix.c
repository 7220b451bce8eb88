/*
 * agx_fix.c - the Objective-C side of the AGX fix: finds the driver's command
 * buffer and encoder classes, swizzles the methods listed in selectors.def and
 * routes every call through the portable core (core.c).
 *
 * Plain C against the runtime's C API (objc_runtime_abi.h), so it cross-builds
 * on Linux and runs there against a fake runtime (fix/tests/fake_runtime.c).
 * Each hooked selector gets the replacement function of its argument shape
 * (one per signature in selectors.def); the replacement looks up the original
 * IMP by (defining class, selector) in g_orig and calls it with exactly that C
 * type, so arguments pass through untouched (MTLSize, 24 bytes, goes in memory
 * on x86_64 and by reference on arm64: the compiler does it right because the
 * prototype is right).
 *
 * When classes are found (issue 18, defects 1 and 2):
 *  1. In the constructor, as the origin (dropbox/dML metal_mps_parallel, all
 *     versions) did: it loads Metal, makes a device, a queue, a command buffer
 *     and each kind of encoder, and hooks the classes of those real objects and
 *     their superclasses up to the first Metal class (MTL* / _MTL*). This works
 *     whatever the GPU (AGX, Intel, AMD) and needs no class names.
 *  2. Images loaded later (MetalPerformanceShaders, a driver bundle the
 *     discovery could not load): the runtime's load-image callback runs with
 *     the runtime lock held, and dyld's add-image callback runs before the
 *     runtime has registered the image's classes (macOS 12+). So both callbacks
 *     only RECORD the image; the classes are looked up and hooked later,
 *     outside the lock: by a helper thread started from the callback, and at
 *     the next encoder creation.
 *  3. Every encoder created through a hooked command buffer has its class
 *     chain hooked on first sight.
 *
 * What it cannot fix: code that fetched an IMP before the swizzle (IMP caching,
 * methodForSelector:) keeps calling the driver directly; and encoders made by
 * methods not in the table are not tracked (their calls pass through).
 */
#if !defined(AGX_FIX_NO_SDK) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* PTHREAD_MUTEX_RECURSIVE on glibc (the Linux harness) */
#endif

#if defined(AGX_FIX_NO_SDK)
#include "darwin_libc_abi.h"
#else
#include <fcntl.h>
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

#if defined(__APPLE__)
__attribute__((used, section("__DATA,__agx_fix_meta"))) static const char g_meta[] = AGX_FIX_META_JSON;
#else /* the Linux harness build (ELF section names have no segment) */
__attribute__((used)) static const char g_meta[] = AGX_FIX_META_JSON;
#endif

/* ---- the selector table (selectors.def) ---- */

enum target { T_CB, T_ENC };
enum role { R_CREATE, R_END_OPEN, R_USE, R_END, R_DESTROY, R_DEALLOC };
enum sig { S_ID, S_ID_P, S_ID_U, S_V, S_V_G, S_V_P, S_V_PFFU, S_V_PGUU, S_V_PGUUBPU, S_V_PP, S_V_PPPR, S_V_PPR, S_V_PPU, S_V_PR, S_V_PRB, S_V_PRPU, S_V_PU, S_V_PUB, S_V_PUPUU, S_V_PUS, S_V_PUU, S_V_PUUPUUUU, S_V_PUUSSPUUS, S_V_PUUSSPUUU, S_V_PUUSSPUUUU, S_V_PUUU, S_V_PUUUSPUUS, S_V_PUUUSPUUSU, S_V_SS, S_V_U, S_V_UU, S_V_UUU, S_V_UUUU, S_COUNT };

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

/* Argument types passed by value (layouts of MTLSize/MTLOrigin, MTLRegion, NSRange). */
struct agx_size { uint64_t width, height, depth; };
struct agx_region { struct agx_size origin, size; };
struct agx_range { uint64_t location, length; };

/* ---- state ---- */

static int g_active, g_verbose, g_global;
static pthread_mutex_t g_swz_mu = PTHREAD_MUTEX_INITIALIZER; /* serialises hooking */
static pthread_mutex_t g_global_mu;                           /* AGX_FIX_GLOBAL_LOCK=1: recursive */
static pthread_key_t g_tls_key;
static int g_tls_ok;
static SEL g_sel_end;
static unsigned g_missing; /* g_swz_mu: encoding-looking selectors of hooked classes not in the table */

static void log_line(const char *msg)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "agx_fix %s: %s\n", AGX_FIX_VERSION_STRING, msg);
    if (n > 0) write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* os_log without <os/log.h>: the os_log() macro ends in _os_log_impl with the
 * format in the image's __TEXT (unified logging reads it from the binary, not
 * from memory) and the arguments in a small buffer: summary byte (2 = has a
 * non-scalar item), item count, then per item a descriptor (kind << 4 | flags:
 * string 2, public 2 -> 0x22), a size and the value (the string pointer). */
#if defined(__APPLE__)
__attribute__((section("__TEXT,__oslogstring,cstring_literals"))) static const char k_os_fmt[] = "agx_fix: %{public}s";
#else
static const char k_os_fmt[] = "agx_fix: %{public}s";
#endif
static void os_log_msg(const char *msg)
{
    uint8_t buf[2 + 2 + sizeof(const char *)];
    buf[0] = 2;
    buf[1] = 1;
    buf[2] = 0x22;
    buf[3] = sizeof(const char *);
    memcpy(buf + 4, &msg, sizeof msg);
    _os_log_impl((void *)&__dso_handle, (void *)&_os_log_default, 0x10 /* OS_LOG_TYPE_ERROR */, k_os_fmt, buf,
                 (uint32_t)sizeof buf);
}

/* Things a user must see whatever AGX_FIX_VERBOSE says: stderr and os_log. */
static void log_always(const char *msg)
{
    char buf[480];
    snprintf(buf, sizeof buf, "%s %s", AGX_FIX_VERSION_STRING, msg);
    log_line(msg);
    os_log_msg(buf);
}

/* ---- original IMPs: open addressing on (defining class, selector), insert-only ---- */

#define ORIG_CAP 4096u
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
        __atomic_store_n(&o->imp, imp, __ATOMIC_RELEASE);
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
 * from the object's class again would run the subclass's original twice. The
 * frame stack makes the nested lookup start above the class found by the
 * outer one. */

struct frame { id self; SEL sel; Class found; };
struct tls { unsigned depth; struct frame f[16]; };
struct hook { const struct orig *o; struct tls *t; int pushed, global; };

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
    h->global = 0;
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
        if (!__atomic_exchange_n(&logged, 1, __ATOMIC_RELAXED))
            log_always("BUG: hooked method without an original IMP; call dropped");
        return 0;
    }
    if (h->t && h->t->depth < sizeof h->t->f / sizeof h->t->f[0]) {
        struct frame *f = &h->t->f[h->t->depth++];
        f->self = self;
        f->sel = cmd;
        f->found = found;
        h->pushed = 1;
    }
    /* AGX_FIX_GLOBAL_LOCK=1 (the origin's shipped design): one recursive lock
     * over every hooked call but dealloc, commit and destroyImpl included. */
    if (g_global && h->o->role != R_DEALLOC) {
        pthread_mutex_lock(&g_global_mu);
        h->global = 1;
    }
    return 1;
}

static void hook_leave(struct hook *h)
{
    if (h->global) pthread_mutex_unlock(&g_global_mu);
    if (h->pushed) h->t->depth--;
}

/* ---- images recorded by the dyld / runtime callbacks, hooked later ---- */

#define PENDING_CAP 4096u
static pthread_mutex_t g_pend_mu = PTHREAD_MUTEX_INITIALIZER; /* never held while calling the runtime */
static const struct mach_header *g_pending[PENDING_CAP];
static unsigned g_npending;  /* g_pend_mu */
static int g_pend_overflow;  /* g_pend_mu: some images were not recorded */
/* Images a drain has taken off the list but not hooked yet (g_pend_mu). Without it, a thread
 * that finds the list empty while the drain thread is still hooking the last batch would go on
 * with a class (e.g. MPSCommandBuffer) not yet hooked; counting them as pending makes it wait
 * for that drain instead (drain_mu). */
static unsigned g_inflight;
static int g_drain_owned;        /* g_pend_mu: some thread is inside drain_pending */
static pthread_t g_drain_owner;  /* g_pend_mu: which one */
static int g_ctor_done;      /* atomic: the constructor has finished */
static int g_drainer_busy;   /* atomic: a drain thread runs or is starting */

static void hook_class_chain(Class cls, int target);
static void drain_pending(void);

static void record_image(const struct mach_header *mh)
{
    pthread_mutex_lock(&g_pend_mu);
    if (g_npending < PENDING_CAP)
        g_pending[g_npending++] = mh;
    else
        g_pend_overflow = 1;
    pthread_mutex_unlock(&g_pend_mu);
}

static int have_pending(void)
{
    pthread_mutex_lock(&g_pend_mu);
    int n = g_npending != 0 || g_pend_overflow || g_inflight != 0;
    /* The draining thread itself never waits for its own drain (a hooked call made while it
     * hooks would otherwise take drain_mu twice). */
    if (n && g_drain_owned && pthread_equal(g_drain_owner, pthread_self())) n = 0;
    pthread_mutex_unlock(&g_pend_mu);
    return n;
}

static void *drainer_main(void *arg)
{
    (void)arg;
    for (;;) {
        drain_pending();
        __atomic_store_n(&g_drainer_busy, 0, __ATOMIC_RELEASE);
        /* A record made after our drain but before the store above found the
         * flag set and started no thread: look again. */
        if (!have_pending() || __atomic_exchange_n(&g_drainer_busy, 1, __ATOMIC_ACQ_REL)) break;
    }
    return NULL;
}

/* Called from the callbacks once the constructor is done: a thread that waits
 * for the runtime lock like any other caller and then hooks. */
static void kick_drainer(void)
{
    if (!__atomic_load_n(&g_ctor_done, __ATOMIC_ACQUIRE)) return;
    if (__atomic_exchange_n(&g_drainer_busy, 1, __ATOMIC_ACQ_REL)) return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, drainer_main, NULL) != 0) __atomic_store_n(&g_drainer_busy, 0, __ATOMIC_RELEASE);
    pthread_attr_destroy(&attr);
}

/* objc_addLoadImageFunc callback: runs with the runtime's lock held (objc4's
 * header: "Be VERY careful"). Any runtime call here that takes that lock
 * (objc_copyClassNamesForImage, class_getInstanceMethod...) aborts the process
 * on the recursive lock. Record only.
 * Regression (issue 18, defect 1): the old code called
 * objc_copyClassNamesForImage from here. */
static void on_load_image(const struct mach_header *mh)
{
    record_image(mh);
    kick_drainer();
}

/* dyld add-image callback: before the runtime has registered this image's
 * classes (macOS 12+), and possibly with dyld's own lock held: record only,
 * like the load-image callback (which comes after registration and records
 * the image again). The helper thread looks classes up holding neither lock. */
static void on_add_image(const struct mach_header *mh, intptr_t slide)
{
    (void)slide;
    record_image(mh);
    kick_drainer();
}

/* Images whose classes matter: GPU drivers (bundles in /System/Library/Extensions)
 * and MetalPerformanceShaders. Everything else is skipped without asking the
 * runtime, so a launch with hundreds of images costs a dladdr each. */
static int image_may_matter(const char *path)
{
    return path && (strstr(path, "/Extensions/") || strstr(path, "AGX") || strstr(path, "MetalPerformanceShaders"));
}

static void hook_image_classes(const struct mach_header *mh)
{
    Dl_info info;
    if (!dladdr(mh, &info) || !image_may_matter(info.dli_fname)) return;
    unsigned n = 0;
    const char **names = objc_copyClassNamesForImage(info.dli_fname, &n);
    if (!names) return;
    for (unsigned i = 0; i < n; i++)
        if (agx_is_cmdbuf_class_name(names[i])) hook_class_chain(objc_getClass(names[i]), T_CB);
    free((void *)names);
}

static void drain_pending(void)
{
    static pthread_mutex_t drain_mu = PTHREAD_MUTEX_INITIALIZER; /* one drain at a time */
    pthread_mutex_lock(&g_pend_mu);
    int mine = g_drain_owned && pthread_equal(g_drain_owner, pthread_self());
    pthread_mutex_unlock(&g_pend_mu);
    if (mine) return; /* re-entered from a hooked call made while this thread hooks */
    pthread_mutex_lock(&drain_mu);
    pthread_mutex_lock(&g_pend_mu);
    g_drain_owner = pthread_self();
    g_drain_owned = 1;
    pthread_mutex_unlock(&g_pend_mu);
    for (;;) {
        const struct mach_header *batch[64];
        unsigned n = 0;
        int overflow;
        pthread_mutex_lock(&g_pend_mu);
        while (n < 64 && g_npending) batch[n++] = g_pending[--g_npending];
        overflow = g_pend_overflow;
        g_pend_overflow = 0;
        g_inflight += n + (overflow ? 1u : 0u);
        pthread_mutex_unlock(&g_pend_mu);
        if (overflow) { /* lost records: look at every class once */
            unsigned cn = 0;
            Class *all = objc_copyClassList(&cn);
            for (unsigned i = 0; all && i < cn; i++)
                if (agx_is_cmdbuf_class_name(class_getName(all[i]))) hook_class_chain(all[i], T_CB);
            free(all);
        }
        for (unsigned i = 0; i < n; i++) hook_image_classes(batch[i]);
        pthread_mutex_lock(&g_pend_mu);
        g_inflight -= n + (overflow ? 1u : 0u);
        pthread_mutex_unlock(&g_pend_mu);
        if (!n) break;
    }
    pthread_mutex_lock(&g_pend_mu);
    g_drain_owned = 0;
    pthread_mutex_unlock(&g_pend_mu);
    pthread_mutex_unlock(&drain_mu);
}

/* ---- what each role does around the original ---- */

static void log_first_drop(const struct hook *h, id self)
{
    static int logged;
    if (__atomic_exchange_n(&logged, 1, __ATOMIC_RELAXED)) return;
    char msg[320];
    snprintf(msg, sizeof msg,
             "dropped -[%s %s] on an encoder that had already ended (first dropped call; the rest are counted "
             "in calls_skipped): the result of this GPU work may be wrong",
             class_getName(object_getClass(self)), sel_getName(h->o->sel));
    log_always(msg);
}

static enum agx_decision pre_call(const struct hook *h, id self, struct agx_call *call)
{
    call->entry = NULL;
    switch (h->o->role) {
    case R_USE: return agx_core_call_begin(self, AGX_CALL_USE, call);
    case R_END: return agx_core_call_begin(self, AGX_CALL_END, call);
    case R_DESTROY: return agx_core_call_begin(self, AGX_CALL_DESTROY, call);
    case R_DEALLOC: agx_core_forget(self); return AGX_UNTRACKED;
    case R_CREATE: /* fall through: a new encoder ends the open ones first */
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
    hook_class_chain(object_getClass(enc), T_ENC);
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
        if (dec_ != AGX_SKIP)                                                  \
            ((void(*) PARAMS)orig_imp(hk_.o)) ARGS;                            \
        else if (hk_.o->role == R_USE)                                         \
            log_first_drop(&hk_, self);                                        \
        if (dec_ == AGX_PROCEED) agx_core_call_end(&call_);                    \
        hook_leave(&hk_);                                                      \
    }

#define ID_HOOK(NAME, PARAMS, ARGS)                                            \
    static id NAME PARAMS                                                      \
    {                                                                          \
        struct hook hk_;                                                       \
        struct agx_call call_;                                                 \
        if (have_pending()) drain_pending();                                   \
        if (!hook_enter(&hk_, self, cmd)) return (id)0;                        \
        if (hk_.o->role == R_CREATE) pre_call(&hk_, self, &call_);             \
        id enc_ = ((id(*) PARAMS)orig_imp(hk_.o)) ARGS;                        \
        if (enc_ && hk_.o->role == R_CREATE) encoder_created(enc_, self);      \
        hook_leave(&hk_);                                                      \
        return enc_;                                                           \
    }

ID_HOOK(rep_id, (id self, SEL cmd), (self, cmd))
ID_HOOK(rep_id_p, (id self, SEL cmd, void * a0), (self, cmd, a0))
ID_HOOK(rep_id_u, (id self, SEL cmd, uint64_t a0), (self, cmd, a0))
VOID_HOOK(rep_v, (id self, SEL cmd), (self, cmd))
VOID_HOOK(rep_v_g, (id self, SEL cmd, struct agx_region a0), (self, cmd, a0))
VOID_HOOK(rep_v_p, (id self, SEL cmd, void * a0), (self, cmd, a0))
VOID_HOOK(rep_v_pffu, (id self, SEL cmd, void * a0, float a1, float a2, uint64_t a3), (self, cmd, a0, a1, a2, a3))
VOID_HOOK(rep_v_pguu, (id self, SEL cmd, void * a0, struct agx_region a1, uint64_t a2, uint64_t a3), (self, cmd, a0, a1, a2, a3))
VOID_HOOK(rep_v_pguubpu, (id self, SEL cmd, void * a0, struct agx_region a1, uint64_t a2, uint64_t a3, uint8_t a4, void * a5, uint64_t a6), (self, cmd, a0, a1, a2, a3, a4, a5, a6))
VOID_HOOK(rep_v_pp, (id self, SEL cmd, void * a0, void * a1), (self, cmd, a0, a1))
VOID_HOOK(rep_v_pppr, (id self, SEL cmd, void * a0, void * a1, void * a2, struct agx_range a3), (self, cmd, a0, a1, a2, a3))
VOID_HOOK(rep_v_ppr, (id self, SEL cmd, void * a0, void * a1, struct agx_range a2), (self, cmd, a0, a1, a2))
VOID_HOOK(rep_v_ppu, (id self, SEL cmd, void * a0, void * a1, uint64_t a2), (self, cmd, a0, a1, a2))
VOID_HOOK(rep_v_pr, (id self, SEL cmd, void * a0, struct agx_range a1), (self, cmd, a0, a1))
VOID_HOOK(rep_v_prb, (id self, SEL cmd, void * a0, struct agx_range a1, uint8_t a2), (self, cmd, a0, a1, a2))
VOID_HOOK(rep_v_prpu, (id self, SEL cmd, void * a0, struct agx_range a1, void * a2, uint64_t a3), (self, cmd, a0, a1, a2, a3))
VOID_HOOK(rep_v_pu, (id self, SEL cmd, void * a0, uint64_t a1), (self, cmd, a0, a1))
VOID_HOOK(rep_v_pub, (id self, SEL cmd, void * a0, uint64_t a1, uint8_t a2), (self, cmd, a0, a1, a2))
VOID_HOOK(rep_v_pupuu, (id self, SEL cmd, void * a0, uint64_t a1, void * a2, uint64_t a3, uint64_t a4), (self, cmd, a0, a1, a2, a3, a4))
VOID_HOOK(rep_v_pus, (id self, SEL cmd, void * a0, uint64_t a1, struct agx_size a2), (self, cmd, a0, a1, a2))
VOID_HOOK(rep_v_puu, (id self, SEL cmd, void * a0, uint64_t a1, uint64_t a2), (self, cmd, a0, a1, a2))
VOID_HOOK(rep_v_puupuuuu, (id self, SEL cmd, void * a0, uint64_t a1, uint64_t a2, void * a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7), (self, cmd, a0, a1, a2, a3, a4, a5, a6, a7))
VOID_HOOK(rep_v_puusspuus, (id self, SEL cmd, void * a0, uint64_t a1, uint64_t a2, struct agx_size a3, struct agx_size a4, void * a5, uint64_t a6, uint64_t a7, struct agx_size a8), (self, cmd, a0, a1, a2, a3, a4, a5, a6, a7, a8))
VOID_HOOK(rep_v_puusspuuu, (id self, SEL cmd, void * a0, uint64_t a1, uint64_t a2, struct agx_size a3, struct agx_size a4, void * a5, uint64_t a6, uint64_t a7, uint64_t a8), (self, cmd, a0, a1, a2, a3, a4, a5, a6, a7, a8))
VOID_HOOK(rep_v_puusspuuuu, (id self, SEL cmd, void * a0, uint64_t a1, uint64_t a2, struct agx_size a3, struct agx_size a4, void * a5, uint64_t a6, uint64_t a7, uint64_t a8, uint64_t a9), (self, cmd, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9))
VOID_HOOK(rep_v_puuu, (id self, SEL cmd, void * a0, uint64_t a1, uint64_t a2, uint64_t a3), (self, cmd, a0, a1, a2, a3))
VOID_HOOK(rep_v_puuuspuus, (id self, SEL cmd, void * a0, uint64_t a1, uint64_t a2, uint64_t a3, struct agx_size a4, void * a5, uint64_t a6, uint64_t a7, struct agx_size a8), (self, cmd, a0, a1, a2, a3, a4, a5, a6, a7, a8))
VOID_HOOK(rep_v_puuuspuusu, (id self, SEL cmd, void * a0, uint64_t a1, uint64_t a2, uint64_t a3, struct agx_size a4, void * a5, uint64_t a6, uint64_t a7, struct agx_size a8, uint64_t a9), (self, cmd, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9))
VOID_HOOK(rep_v_ss, (id self, SEL cmd, struct agx_size a0, struct agx_size a1), (self, cmd, a0, a1))
VOID_HOOK(rep_v_u, (id self, SEL cmd, uint64_t a0), (self, cmd, a0))
VOID_HOOK(rep_v_uu, (id self, SEL cmd, uint64_t a0, uint64_t a1), (self, cmd, a0, a1))
VOID_HOOK(rep_v_uuu, (id self, SEL cmd, uint64_t a0, uint64_t a1, uint64_t a2), (self, cmd, a0, a1, a2))
VOID_HOOK(rep_v_uuuu, (id self, SEL cmd, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3), (self, cmd, a0, a1, a2, a3))

static IMP replacement_for(unsigned sig)
{
    switch (sig) {
    case S_ID: return (IMP)rep_id;
    case S_ID_P: return (IMP)rep_id_p;
    case S_ID_U: return (IMP)rep_id_u;
    case S_V: return (IMP)rep_v;
    case S_V_G: return (IMP)rep_v_g;
    case S_V_P: return (IMP)rep_v_p;
    case S_V_PFFU: return (IMP)rep_v_pffu;
    case S_V_PGUU: return (IMP)rep_v_pguu;
    case S_V_PGUUBPU: return (IMP)rep_v_pguubpu;
    case S_V_PP: return (IMP)rep_v_pp;
    case S_V_PPPR: return (IMP)rep_v_pppr;
    case S_V_PPR: return (IMP)rep_v_ppr;
    case S_V_PPU: return (IMP)rep_v_ppu;
    case S_V_PR: return (IMP)rep_v_pr;
    case S_V_PRB: return (IMP)rep_v_prb;
    case S_V_PRPU: return (IMP)rep_v_prpu;
    case S_V_PU: return (IMP)rep_v_pu;
    case S_V_PUB: return (IMP)rep_v_pub;
    case S_V_PUPUU: return (IMP)rep_v_pupuu;
    case S_V_PUS: return (IMP)rep_v_pus;
    case S_V_PUU: return (IMP)rep_v_puu;
    case S_V_PUUPUUUU: return (IMP)rep_v_puupuuuu;
    case S_V_PUUSSPUUS: return (IMP)rep_v_puusspuus;
    case S_V_PUUSSPUUU: return (IMP)rep_v_puusspuuu;
    case S_V_PUUSSPUUUU: return (IMP)rep_v_puusspuuuu;
    case S_V_PUUU: return (IMP)rep_v_puuu;
    case S_V_PUUUSPUUS: return (IMP)rep_v_puuuspuus;
    case S_V_PUUUSPUUSU: return (IMP)rep_v_puuuspuusu;
    case S_V_SS: return (IMP)rep_v_ss;
    case S_V_U: return (IMP)rep_v_u;
    case S_V_UU: return (IMP)rep_v_uu;
    case S_V_UUU: return (IMP)rep_v_uuu;
    case S_V_UUUU: return (IMP)rep_v_uuuu;
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

/* MTLFoo / _MTLFoo: Metal.framework's own classes, where the walk up stops. */
static int is_metal_class(Class c)
{
    const char *n = class_getName(c);
    if (n && n[0] == '_') n++;
    return n && n[0] == 'M' && n[1] == 'T' && n[2] == 'L';
}

static int in_table(const char *name, int target)
{
    for (unsigned i = 0; i < NSELS; i++)
        if (k_sels[i].target == target && strcmp(k_sels[i].name, name) == 0) return 1;
    return 0;
}

/* Encoding-looking selectors (prefixes of the public encoder API). */
static int looks_like_encoder_call(const char *n)
{
    static const char *const prefixes[] = {"set", "dispatch", "use", "memoryBarrier", "copy", "fill", "execute",
                                           "sample", "update", "waitFor", "generate", "optimize", "synchronize",
                                           "reset", "resolve", "draw", "end", "push", "pop", "insert"};
    for (unsigned i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(n, prefixes[i], strlen(prefixes[i])) == 0) return strcmp(n, "setLabel:") != 0;
    return 0;
}

/* g_swz_mu held. Hooks the table's selectors that cls itself defines. */
static unsigned hook_one_class(Class cls, int target)
{
    Class super = class_getSuperclass(cls);
    unsigned hooked = 0;
    for (unsigned i = 0; i < NSELS; i++) {
        const struct sel_spec *sp = &k_sels[i];
        if (sp->target != target) continue;
        SEL sel = sel_registerName(sp->name);
        Method m = class_getInstanceMethod(cls, sel);
        if (!m || (super && class_getInstanceMethod(super, sel) == m)) continue; /* not defined here */
        if (orig_find(cls, sel)) continue;
        IMP rep = replacement_for(sp->sig);
        IMP imp = method_getImplementation(m);
        if (!rep || imp == rep) continue;
        /* Publish the original before the swap: a concurrent call into the
         * replacement must find it. */
        struct orig *o = orig_insert(cls, sel, imp, sp->role, sp->sig);
        if (!o) {
            log_always("original-IMP table full; not hooking further methods");
            break;
        }
        IMP old = method_setImplementation(m, rep);
        if (old && old != imp && old != rep) __atomic_store_n(&o->imp, old, __ATOMIC_RELEASE);
        hooked++;
    }
    if (target == T_ENC) { /* defect 5: say what the table lacks */
        unsigned n = 0;
        Method *ms = class_copyMethodList(cls, &n);
        for (unsigned i = 0; ms && i < n; i++) {
            const char *name = sel_getName(method_getName(ms[i]));
            if (!name || !looks_like_encoder_call(name) || in_table(name, T_ENC)) continue;
            g_missing++;
            if (g_verbose) {
                char msg[320];
                snprintf(msg, sizeof msg, "not hooked (not in selectors.def): -[%s %s]", class_getName(cls), name);
                log_line(msg);
            }
        }
        free(ms);
    }
    return hooked;
}

/* Hooks cls and its superclasses up to and including the first Metal class
 * (never a root class: NSObject's dealloc would route every object in the
 * process through us). */
static void hook_class_chain(Class cls, int target)
{
    if (!cls || is_hooked(cls, target)) return;
    pthread_mutex_lock(&g_swz_mu);
    for (Class c = cls; c && class_getSuperclass(c); c = class_getSuperclass(c)) {
        int metal = is_metal_class(c);
        if (!is_hooked(c, target) && g_nhooked < HOOKED_CAP) {
            unsigned n = hook_one_class(c, target);
            g_hooked[g_nhooked].cls = c;
            g_hooked[g_nhooked].target = target;
            __atomic_store_n(&g_nhooked, g_nhooked + 1, __ATOMIC_RELEASE);
            if (g_verbose) {
                char msg[256];
                snprintf(msg, sizeof msg, "hooked %s %s: %u selector(s)",
                         target == T_CB ? "command buffer" : "encoder", class_getName(c), n);
                log_line(msg);
            }
        }
        if (metal) break;
    }
    pthread_mutex_unlock(&g_swz_mu);
}

/* ---- discovery: real Metal objects, as the origin did ---- */

#define METAL_PATH "/System/Library/Frameworks/Metal.framework/Metal"

static Method method_of(id obj, const char *sel)
{
    Class c = obj ? object_getClass(obj) : 0;
    return c ? class_getInstanceMethod(c, sel_registerName(sel)) : 0;
}

/* [obj sel] for an id-returning method without arguments; nil when obj does
 * not respond (never sent: an unknown selector would raise). */
static id send_id(id obj, const char *sel)
{
    Method m = method_of(obj, sel);
    return m ? ((id(*)(id, SEL))method_getImplementation(m))(obj, sel_registerName(sel)) : (id)0;
}

static void send_void(id obj, const char *sel)
{
    Method m = method_of(obj, sel);
    if (m) ((void (*)(id, SEL))method_getImplementation(m))(obj, sel_registerName(sel));
}

/* Make one encoder with creator (no arguments, or one NSUInteger), hook its
 * class chain, end it. */
static void discover_encoder(id cb, const char *creator, int with_arg, uint64_t arg)
{
    Method m = method_of(cb, creator);
    if (!m) return;
    SEL sel = sel_registerName(creator);
    IMP imp = method_getImplementation(m);
    id enc = with_arg ? ((id(*)(id, SEL, uint64_t))imp)(cb, sel, arg) : ((id(*)(id, SEL))imp)(cb, sel);
    if (!enc) return;
    hook_class_chain(object_getClass(enc), T_ENC);
    send_void(enc, "endEncoding");
}

static int discover(void)
{
    void *metal = dlopen(METAL_PATH, AGX_RTLD_LAZY | AGX_RTLD_GLOBAL);
    if (!metal) return 0;
    id (*create_device)(void) = (id(*)(void))dlsym(metal, "MTLCreateSystemDefaultDevice");
    if (!create_device) return 0;
    void *pool = objc_autoreleasePoolPush();
    id device = create_device(); /* +1 */
    id queue = device ? send_id(device, "newCommandQueue") : (id)0; /* +1 */
    id cb = queue ? send_id(queue, "commandBuffer") : (id)0;        /* autoreleased */
    if (cb) {
        hook_class_chain(object_getClass(cb), T_CB);
        /* One encoder open at a time per command buffer: each is ended before
         * the next is made. Render encoders need a texture and a pass
         * descriptor: left to the creation hook (first one made is hooked). */
        discover_encoder(cb, "computeCommandEncoder", 0, 0);
        discover_encoder(cb, "computeCommandEncoderWithDispatchType:", 1, 1 /* MTLDispatchTypeConcurrent */);
        discover_encoder(cb, "blitCommandEncoder", 0, 0);
        discover_encoder(cb, "resourceStateCommandEncoder", 0, 0);
        discover_encoder(cb, "accelerationStructureCommandEncoder", 0, 0);
    }
    if (queue) objc_release(queue);
    if (device) objc_release(device);
    objc_autoreleasePoolPop(pool);
    return cb != 0;
}

/* ---- core callbacks ---- */

static void op_retain(void *enc) { objc_retain((id)enc); }
static void op_release(void *enc) { objc_release((id)enc); }

/* The ORIGINAL endEncoding, for forced ends. Through a hook frame, so that a
 * subclass's original calling [super endEncoding] on a hooked superclass runs
 * the superclass's original next, not the subclass's again.
 * Regression (issue 18, defect 6): the old code called the original without a
 * frame, and the subclass's endEncoding ran twice. */
static void op_end_encoder(void *enc)
{
    struct hook h;
    if (!hook_enter(&h, (id)enc, g_sel_end)) return; /* logged once by hook_enter */
    ((void (*)(id, SEL))orig_imp(h.o))((id)enc, g_sel_end);
    hook_leave(&h);
}

static unsigned count_hooked(int target)
{
    unsigned n = 0, all = __atomic_load_n(&g_nhooked, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < all; i++) n += g_hooked[i].target == target;
    return n;
}

static void print_stats(void)
{
    struct agx_fix_stats s;
    char msg[320];
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

/* ---- the handshake: proof, for `agx-triage round run`, that this build loaded ---- */

/* The LC_UUID of the image this code is in (the slice that loaded), read from
 * its own mach header in memory, not a build-time constant. */
static int own_uuid(char out[37])
{
    Dl_info info;
    if (!dladdr((const void *)&own_uuid, &info) || !info.dli_fbase) return -1;
    return agx_macho_uuid(info.dli_fbase, 0, out);
}

static char g_handshake_path[1024];

#define APPEND(lit)                                                            \
    do {                                                                       \
        size_t l_ = sizeof(lit) - 1;                                           \
        if (len + l_ >= sizeof line) goto too_long;                            \
        memcpy(line + len, lit, l_);                                           \
        len += l_;                                                             \
    } while (0)

/* One JSON line appended with a single write(2) (O_APPEND: lines from several
 * processes of one attempt never interleave), no stdio. */
static void write_handshake(int disabled)
{
    if (!g_handshake_path[0]) return;
    static char line[8192];
    char num[64];
    size_t len = 0;
    char uuid[37];
    APPEND("{\"version\":\"");
    len = agx_json_escape(line, len, sizeof line, AGX_FIX_VERSION_STRING);
    if (len == (size_t)-1) return;
    if (own_uuid(uuid) == 0) {
        APPEND("\",\"uuid\":\"");
        memcpy(line + len, uuid, 36);
        len += 36;
        APPEND("\"");
    } else {
        APPEND("\",\"uuid\":null");
    }
    snprintf(num, sizeof num, ",\"pid\":%ld,\"hooked_classes\":[", (long)getpid());
    if (len + strlen(num) >= sizeof line) goto too_long;
    memcpy(line + len, num, strlen(num));
    len += strlen(num);
    unsigned n = __atomic_load_n(&g_nhooked, __ATOMIC_ACQUIRE), listed = 0;
    for (unsigned i = 0; !disabled && i < n; i++) {
        size_t keep = len;
        if (listed) APPEND(",");
        APPEND("\"");
        size_t l = agx_json_escape(line, len, sizeof line - 256, class_getName(g_hooked[i].cls));
        if (l == (size_t)-1) { /* keep the line valid: stop listing */
            len = keep;
            break;
        }
        len = l;
        APPEND("\"");
        listed++;
    }
    snprintf(num, sizeof num, "],\"mode\":\"%s\",\"disabled\":%s,\"missing_selectors\":%u}\n",
             g_global ? "global-lock" : "per-encoder", disabled ? "true" : "false", g_missing);
    if (len + strlen(num) >= sizeof line) goto too_long;
    memcpy(line + len, num, strlen(num));
    len += strlen(num);
    /* O_NOFOLLOW: the path comes from the environment; a symbolic link planted at it must not
     * turn this append into a write through the link into some other file. */
    int fd = open(g_handshake_path,
                  AGX_O_WRONLY | AGX_O_APPEND | AGX_O_CREAT | AGX_O_CLOEXEC | AGX_O_NOFOLLOW, 0644);
    if (fd < 0) {
        log_always("cannot open AGX_FIX_HANDSHAKE for writing; the round will not count this fix as loaded");
        return;
    }
    if (write(fd, line, len) != (ssize_t)len) log_always("short write to AGX_FIX_HANDSHAKE");
    close(fd);
    return;
too_long:
    log_always("handshake line too long; not written");
}

__attribute__((constructor)) static void agx_fix_load(void)
{
    const char *hs = getenv("AGX_FIX_HANDSHAKE");
    if (hs && strlen(hs) < sizeof g_handshake_path)
        memcpy(g_handshake_path, hs, strlen(hs) + 1);
    else if (hs)
        log_always("AGX_FIX_HANDSHAKE path too long; no handshake written");
    g_verbose = agx_env_truthy(getenv("AGX_FIX_VERBOSE"));
    g_global = agx_env_truthy(getenv("AGX_FIX_GLOBAL_LOCK"));
    if (agx_env_truthy(getenv("AGX_FIX_DISABLE"))) {
        if (g_verbose) log_line("disabled by AGX_FIX_DISABLE");
        write_handshake(1);
        return;
    }
    unsigned warn_ms = agx_env_uint(getenv("AGX_FIX_LOCK_WARN_MS"), g_verbose ? 100u : 0u);
    struct agx_core_ops ops = {op_retain, op_release, op_end_encoder, log_line};
    agx_core_init(&ops, warn_ms);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&g_global_mu, &attr);
    pthread_mutexattr_destroy(&attr);
    g_sel_end = sel_registerName("endEncoding");
    g_tls_ok = pthread_key_create(&g_tls_key, free) == 0;
    g_active = 1;
    /* Callbacks first (they only record), so nothing loaded during discovery
     * is missed. */
    if (objc_addLoadImageFunc) objc_addLoadImageFunc(on_load_image);
    _dyld_register_func_for_add_image(on_add_image);
    int made = discover();
    /* MPSCommandBuffer is a class of its own (not the driver's), on every Mac
     * (defect 6: also Intel and AMD). Hooked here when MPS is already loaded,
     * else when its image is recorded. */
    hook_class_chain(objc_getClass("MPSCommandBuffer"), T_CB);
    drain_pending();
    __atomic_store_n(&g_ctor_done, 1, __ATOMIC_RELEASE);
    if (have_pending()) kick_drainer();
    if (!count_hooked(T_CB)) {
        /* Regression (issue 18, defect 2): this only showed with AGX_FIX_VERBOSE. */
        log_always(made ? "WARNING: no command-buffer class could be hooked; the fix does nothing yet"
                        : "WARNING: no Metal device (Metal not loadable or no GPU) and no command-buffer class "
                          "hooked; the fix does nothing yet");
    }
    write_handshake(0);
    if (g_verbose) {
        log_line(g_global ? "loaded (mode global-lock)" : "loaded (mode per-encoder)");
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
