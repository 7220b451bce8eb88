/*
 * core.c - encoder table and lock discipline of the AGX fix (see core.h).
 *
 * Two kinds of lock, always taken in this order and never the other way:
 *   1. an encoder's own recursive mutex (entry->mu), held while the original
 *      driver method runs, so one encoder is used by one thread at a time and
 *      endEncoding cannot free driver state under another thread's call;
 *   2. the table mutex (g_mu), held only for lookups and reference counts,
 *      never while calling the driver or the runtime's release.
 * Recursive, because a driver method may call other hooked methods on the same
 * encoder from inside (e.g. endEncoding flushing state through setters).
 *
 * Built with -DAGX_FIX_TEST_NO_LOCK the per-encoder lock and the "already
 * ended" gate are compiled out: that is the unfixed behaviour, and
 * fix/tests/stress.c requires the sanitizers to catch it.
 */
#if !defined(AGX_FIX_NO_SDK) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* PTHREAD_MUTEX_RECURSIVE, strcasecmp on glibc */
#endif

#include "core.h"

#if defined(AGX_FIX_NO_SDK)
#include "darwin_libc_abi.h"
#else
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#endif

enum { ST_OPEN = 0, ST_ENDED = 1 };

struct agx_entry {
    void *enc;
    void *cmdbuf;
    struct agx_entry *next; /* hash chain; g_mu */
    pthread_mutex_t mu;     /* the encoder's lock (recursive) */
    int state;              /* ST_*; atomic; OPEN -> ENDED only, under mu */
    int refs;               /* g_mu: 1 while in the table + 1 per holder */
    int in_table;           /* g_mu */
    int released;           /* g_mu: the fix's retain was given back (or lost to dealloc) */
};

#define NBUCKETS 1024u

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct agx_entry *g_buckets[NBUCKETS];
static struct agx_core_ops g_ops;
static uint64_t g_warn_ns;

/* Counters: __atomic builtins (gcc and clang, no <stdatomic.h> needed). */
static uint64_t s_tracked, s_released, s_forced, s_waits, s_longest, s_double, s_skipped;
static uint64_t s_live; /* g_mu */
static uint64_t s_open; /* atomic: entries in state OPEN, lets commit skip the scan */
static uint64_t s_reopened; /* atomic: ENDED entries handed out again by the driver */

#define ADD(v, n) __atomic_fetch_add(&(v), (n), __ATOMIC_RELAXED)
#define LOAD(v) __atomic_load_n(&(v), __ATOMIC_RELAXED)

static void noop_ptr(void *p) { (void)p; }

void agx_core_init(const struct agx_core_ops *ops, unsigned lock_warn_ms)
{
    g_ops = *ops;
    if (!g_ops.retain) g_ops.retain = noop_ptr;
    if (!g_ops.release) g_ops.release = noop_ptr;
    if (!g_ops.end_encoder) g_ops.end_encoder = noop_ptr;
    g_warn_ns = (uint64_t)lock_warn_ms * 1000000u;
}

static unsigned bucket_of(const void *p)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (unsigned)(x >> 40) & (NBUCKETS - 1);
}

/* g_mu held */
static struct agx_entry *find_locked(const void *enc)
{
    struct agx_entry *e = g_buckets[bucket_of(enc)];
    while (e && e->enc != enc) e = e->next;
    return e;
}

/* g_mu held */
static void unlink_locked(struct agx_entry *e)
{
    struct agx_entry **pp = &g_buckets[bucket_of(e->enc)];
    while (*pp && *pp != e) pp = &(*pp)->next;
    if (*pp) *pp = e->next;
    e->in_table = 0;
    e->refs--;
    s_live--;
}

static void entry_free(struct agx_entry *e)
{
    pthread_mutex_destroy(&e->mu);
    free(e);
}

#if !defined(AGX_FIX_TEST_NO_LOCK)
static uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

static void lock_entry(struct agx_entry *e)
{
#if defined(AGX_FIX_TEST_NO_LOCK)
    (void)e;
#else
    if (pthread_mutex_trylock(&e->mu) == 0) return;
    uint64_t t0 = now_ns();
    pthread_mutex_lock(&e->mu);
    uint64_t dt = now_ns() - t0;
    ADD(s_waits, 1);
    uint64_t prev = LOAD(s_longest);
    while (dt > prev &&
           !__atomic_compare_exchange_n(&s_longest, &prev, dt, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    if (g_warn_ns && dt >= g_warn_ns && g_ops.log) {
        char msg[160];
        snprintf(msg, sizeof msg, "waited %llu ms for the lock of encoder %p",
                 (unsigned long long)(dt / 1000000u), e->enc);
        g_ops.log(msg);
    }
#endif
}

static void unlock_entry(struct agx_entry *e)
{
#if defined(AGX_FIX_TEST_NO_LOCK)
    (void)e;
#else
    pthread_mutex_unlock(&e->mu);
#endif
}

static int get_state(struct agx_entry *e) { return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE); }

/* Under e->mu: OPEN -> ENDED. */
static void mark_ended(struct agx_entry *e)
{
    if (__atomic_exchange_n(&e->state, ST_ENDED, __ATOMIC_ACQ_REL) == ST_OPEN) ADD(s_open, (uint64_t)-1);
}

/* Drop one holder reference. The last holder of an ENDED entry gives the fix's
 * retain back ("release after endEncoding once no call is in flight"); waiters
 * count as in flight, so they never touch a freed entry. */
static void entry_put(struct agx_entry *e)
{
    void *enc = e->enc;
    int do_release = 0, do_free = 0;
    pthread_mutex_lock(&g_mu);
    e->refs--;
    if (!e->released && get_state(e) == ST_ENDED && e->refs == e->in_table) {
        e->released = 1;
        do_release = 1;
    }
    do_free = e->refs == 0;
    pthread_mutex_unlock(&g_mu);
    if (do_free) entry_free(e);
    if (do_release) {
        ADD(s_released, 1);
        g_ops.release(enc); /* may dealloc -> agx_core_forget: no lock held here */
    }
}

int agx_core_encoder_created(void *enc, void *cmdbuf)
{
    struct agx_entry *n = calloc(1, sizeof *n);
    struct agx_entry *stale = NULL;
    if (!n) return -1;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&n->mu, &attr);
    pthread_mutexattr_destroy(&attr);
    n->enc = enc;
    n->cmdbuf = cmdbuf;
    n->state = ST_OPEN;
    n->refs = 1;
    n->in_table = 1;

    pthread_mutex_lock(&g_mu);
    struct agx_entry *e = find_locked(enc);
    if (e && !e->released) {
        if (get_state(e) == ST_OPEN) {
            /* Already ours and open: an outer hook (MPSCommandBuffer) sees the
             * encoder its inner call (the driver's command buffer) has just
             * registered. */
            pthread_mutex_unlock(&g_mu);
            entry_free(n);
            return 0;
        }
        /* Regression (issue 18, defect 3): the driver handed out the same
         * encoder object again while a skipped call on another thread still
         * held the ENDED entry (so the fix had not released it yet). Decide by
         * state: an encoder handed out is open, whatever the entry said. The
         * fix's retain is still held (released is 0), so nothing to retain. */
        e->cmdbuf = cmdbuf;
        __atomic_store_n(&e->state, ST_OPEN, __ATOMIC_RELEASE);
        ADD(s_open, 1);
        ADD(s_reopened, 1);
        pthread_mutex_unlock(&g_mu);
        entry_free(n);
        return 1;
    }
    if (e) {
        /* Address reuse: the old encoder was released by us and has died
         * without a dealloc hook seeing it. Retire the stale entry. */
        unlink_locked(e);
        if (e->refs == 0) stale = e;
    }
    g_ops.retain(enc);
    unsigned b = bucket_of(enc);
    n->next = g_buckets[b];
    g_buckets[b] = n;
    s_live++;
    ADD(s_tracked, 1);
    ADD(s_open, 1);
    pthread_mutex_unlock(&g_mu);
    if (stale) entry_free(stale);
    return 1;
}

enum agx_decision agx_core_call_begin(void *enc, enum agx_call_kind kind, struct agx_call *call)
{
    call->entry = NULL;
    call->kind = kind;
    pthread_mutex_lock(&g_mu);
    struct agx_entry *e = find_locked(enc);
    if (e) e->refs++;
    pthread_mutex_unlock(&g_mu);
    if (!e) return AGX_UNTRACKED;

    lock_entry(e);
#if !defined(AGX_FIX_TEST_NO_LOCK)
    if (kind != AGX_CALL_DESTROY && get_state(e) == ST_ENDED) {
        if (kind == AGX_CALL_END)
            ADD(s_double, 1);
        else
            ADD(s_skipped, 1);
        unlock_entry(e);
        entry_put(e);
        return AGX_SKIP;
    }
#endif
    call->entry = e;
    return AGX_PROCEED;
}

void agx_core_call_end(struct agx_call *call)
{
    struct agx_entry *e = call->entry;
    if (!e) return;
    call->entry = NULL;
    if (call->kind == AGX_CALL_END || call->kind == AGX_CALL_DESTROY) mark_ended(e);
    unlock_entry(e);
    entry_put(e);
}

unsigned agx_core_end_open(void *cmdbuf)
{
    enum { BATCH = 32 };
    unsigned ended = 0;
    /* Bounded: each pass ends what it collected; a pass only comes back for
     * more when the batch was full (or encoders are being created on this
     * command buffer concurrently with its commit, which is the caller's bug). */
    for (int pass = 0; pass < 64; pass++) {
        if (__atomic_load_n(&s_open, __ATOMIC_ACQUIRE) == 0) break;
        struct agx_entry *batch[BATCH];
        unsigned n = 0;
        pthread_mutex_lock(&g_mu);
        for (unsigned b = 0; b < NBUCKETS && n < BATCH; b++) {
            for (struct agx_entry *e = g_buckets[b]; e && n < BATCH; e = e->next) {
                if (e->cmdbuf == cmdbuf && !e->released && get_state(e) == ST_OPEN) {
                    e->refs++;
                    batch[n++] = e;
                }
            }
        }
        pthread_mutex_unlock(&g_mu);
        if (n == 0) break;
        for (unsigned i = 0; i < n; i++) {
            struct agx_entry *e = batch[i];
            lock_entry(e); /* waits for a call in flight on another thread */
            if (get_state(e) == ST_OPEN) {
                g_ops.end_encoder(e->enc);
                mark_ended(e);
                ADD(s_forced, 1);
                ended++;
            }
            unlock_entry(e);
            entry_put(e);
        }
        if (n < BATCH) break;
    }
    return ended;
}

void agx_core_forget(void *enc)
{
    struct agx_entry *free_me = NULL;
    pthread_mutex_lock(&g_mu);
    struct agx_entry *e = find_locked(enc);
    if (e) {
        if (get_state(e) == ST_OPEN) {
            /* Deallocated while open: only when someone over-released it.
             * The retain we held died with it. */
            __atomic_store_n(&e->state, ST_ENDED, __ATOMIC_RELEASE);
            ADD(s_open, (uint64_t)-1);
        }
        e->released = 1;
        unlink_locked(e);
        if (e->refs == 0) free_me = e;
    }
    pthread_mutex_unlock(&g_mu);
    if (free_me) entry_free(free_me);
}

void agx_core_stats(struct agx_fix_stats *out)
{
    memset(out, 0, sizeof *out);
    out->encoders_tracked = LOAD(s_tracked);
    out->encoders_released = LOAD(s_released);
    out->forced_ends = LOAD(s_forced);
    out->lock_waits = LOAD(s_waits);
    out->longest_wait_ns = LOAD(s_longest);
    out->double_ends = LOAD(s_double);
    out->calls_skipped = LOAD(s_skipped);
    pthread_mutex_lock(&g_mu);
    out->encoders_live = s_live;
    pthread_mutex_unlock(&g_mu);
}

uint64_t agx_core_reopened(void) { return LOAD(s_reopened); }

int agx_env_truthy(const char *v)
{
    if (!v) return 0;
    return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
           strcasecmp(v, "on") == 0;
}

unsigned agx_env_uint(const char *v, unsigned dflt)
{
    if (!v || !*v) return dflt;
    unsigned long long x = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9') return dflt;
        x = x * 10u + (unsigned)(*p - '0');
        if (x > 0xFFFFFFFFull) return 0xFFFFFFFFu;
    }
    return (unsigned)x;
}

int agx_is_cmdbuf_class_name(const char *name)
{
    static const char suffix[] = "FamilyCommandBuffer";
    if (!name) return 0;
    if (strcmp(name, "MPSCommandBuffer") == 0) return 1;
    size_t n = strlen(name), s = sizeof suffix - 1;
    /* "AGX" + a GPU family (at least one character, e.g. G13X) + suffix */
    return n > 3 + s && strncmp(name, "AGX", 3) == 0 && strcmp(name + n - s, suffix) == 0;
}

/* Mach-O: mach_header_64 is 32 bytes (magic, cputype, cpusubtype, filetype,
 * ncmds, sizeofcmds, flags, reserved); each load command starts with
 * (cmd, cmdsize); LC_UUID (0x1b) is cmd, cmdsize, then 16 bytes. */
int agx_macho_uuid(const void *mh, unsigned long size, char out[37])
{
    const unsigned char *p = mh;
    uint32_t hdr[8];
    if (!p || (size && size < sizeof hdr)) return -1;
    memcpy(hdr, p, sizeof hdr);
    if (hdr[0] != 0xFEEDFACFu) return -1; /* MH_MAGIC_64, host (little) endian */
    uint32_t ncmds = hdr[4], sizeofcmds = hdr[5];
    unsigned long end = 32ul + sizeofcmds;
    if (size && end > size) end = size;
    unsigned long off = 32;
    for (uint32_t i = 0; i < ncmds && off + 8 <= end; i++) {
        uint32_t lc[2];
        memcpy(lc, p + off, sizeof lc);
        if (lc[1] < 8 || off + lc[1] > end) return -1;
        if (lc[0] == 0x1bu && lc[1] >= 24) {
            static const char hex[] = "0123456789ABCDEF";
            const unsigned char *u = p + off + 8;
            unsigned o = 0;
            for (unsigned k = 0; k < 16; k++) {
                if (k == 4 || k == 6 || k == 8 || k == 10) out[o++] = '-';
                out[o++] = hex[u[k] >> 4];
                out[o++] = hex[u[k] & 15];
            }
            out[o] = 0;
            return 0;
        }
        off += lc[1];
    }
    return -1;
}

unsigned long agx_json_escape(char *buf, unsigned long len, unsigned long cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[6];
        unsigned k = 0;
        if (c == '"' || c == '\\') {
            tmp[k++] = '\\';
            tmp[k++] = (char)c;
        } else if (c < 0x20) {
            tmp[k++] = '\\';
            tmp[k++] = 'u';
            tmp[k++] = '0';
            tmp[k++] = '0';
            tmp[k++] = hex[c >> 4];
            tmp[k++] = hex[c & 15];
        } else {
            tmp[k++] = (char)c;
        }
        if (len + k >= cap) return (unsigned long)-1;
        memcpy(buf + len, tmp, k);
        len += k;
    }
    if (len < cap) buf[len] = 0;
    return len;
}
