/*
 * glue_test.c - runs the Objective-C glue (src/agx_fix.c, built unchanged)
 * against the fake runtime, dyld and driver of fake_runtime.c, on Linux,
 * under TSan or ASan. One scenario per process (the fix's constructor runs
 * once per process, before main, like DYLD_INSERT_LIBRARIES):
 *
 *   glue_test launch   the constructor found and hooked the classes through
 *                      real (fake) Metal objects, not root classes; MPS loaded
 *                      later is hooked; AGX_FIX_DISABLE=1 hooks nothing
 *   glue_test encode [PART]  one thread (PART: args, forced_end,
 *                      new_while_open, dropped, mps or reuse; default all): arguments pass through every replacement
 *                      shape used; forced end runs endEncoding once; a new
 *                      encoder ends the open one; double end and calls after
 *                      the end are dropped; destroyImpl; blit; MPS; a reused
 *                      encoder is reopened
 *   glue_test threads  workers share one encoder, one ends and commits at a
 *                      random moment (ROUNDS rounds); AGX_FIX_GLOBAL_LOCK=1
 *                      runs the same in the global-lock mode
 *   glue_test amd      FAKE_GPU=amd: a driver without AGX classes is hooked through
 *                      discovery, MPSCommandBuffer too
 *   glue_test late     Metal cannot load at launch (FAKE_METAL_LATE=1): the
 *                      warning is logged; the driver loaded later is hooked
 *
 * Exit 0 = passed. tests/fix_glue.rs runs each and checks stderr and the
 * handshake file (AGX_FIX_HANDSHAKE).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agx_fix.h"
#include "fake_runtime.h"

static int failures;
#define EXPECT(cond)                                                                      \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "glue_test: %s:%d: expected %s\n", __func__, __LINE__, #cond); \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

struct sz { uint64_t w, h, d; };
struct rg { uint64_t loc, len; };
struct region { struct sz o, s; };

static SEL S(const char *n) { return sel_registerName(n); }
static IMP I(id obj, const char *sel) { return fake_lookup(object_getClass(obj), S(sel)); }
#define ENC(e) ((struct fake_enc *)(e))

static id new_encoder(id cb) { return fake_send(cb, "computeCommandEncoder"); }
static void end(id e) { fake_send_v(e, "endEncoding"); }
static void commit(id cb) { fake_send_v(cb, "commit"); }
static void set_buffer(id e, void *buf, uint64_t off, uint64_t idx)
{
    ((void (*)(id, SEL, void *, uint64_t, uint64_t))I(e, "setBuffer:offset:atIndex:"))(e, S("setBuffer:offset:atIndex:"),
                                                                                       buf, off, idx);
}
static void set_bytes(id e, uint64_t len, uint64_t idx)
{
    static char bytes[16];
    ((void (*)(id, SEL, void *, uint64_t, uint64_t))I(e, "setBytes:length:atIndex:"))(e, S("setBytes:length:atIndex:"),
                                                                                       bytes, len, idx);
}
static void dispatch(id e, struct sz a, struct sz b)
{
    ((void (*)(id, SEL, struct sz, struct sz))I(e, "dispatchThreads:threadsPerThreadgroup:"))(
        e, S("dispatchThreads:threadsPerThreadgroup:"), a, b);
}

static struct agx_fix_stats stats(void)
{
    struct agx_fix_stats s;
    agx_fix_stats(&s);
    return s;
}

static int truthy(const char *name)
{
    const char *v = getenv(name);
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

/* A bounded wait for the fix's helper thread (a hang guard, not a timing
 * assertion: it normally takes microseconds). */
static int wait_hooked(const char *cls, const char *sel)
{
    for (int i = 0; i < 30000; i++) {
        if (fake_is_hooked(cls, sel)) return 1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* ---- launch ---- */

static void scenario_launch(void)
{
    int disabled = truthy("AGX_FIX_DISABLE");
    static const char *const hooks[][2] = {
        {"AGXG16XFamilyCommandBuffer", "computeCommandEncoder"},
        {"AGXG16XFamilyCommandBuffer", "computeCommandEncoderWithDispatchType:"},
        {"AGXG16XFamilyCommandBuffer", "blitCommandEncoder"},
        {"IOGPUMetalCommandBuffer", "commit"},
        {"AGXG16XFamilyComputeContext", "endEncoding"},
        {"AGXG16XFamilyComputeContext", "setComputePipelineState:"},
        {"AGXG16XFamilyComputeContext", "setBuffers:offsets:withRange:"},
        {"AGXG16XFamilyComputeContext", "useResources:count:usage:"},
        {"AGXG16XFamilyComputeContext", "dispatchThreads:threadsPerThreadgroup:"},
        {"IOGPUMetalComputeCommandEncoder", "endEncoding"},
        {"IOGPUMetalComputeCommandEncoder", "setBuffer:offset:atIndex:"},
        {"IOGPUMetalComputeCommandEncoder", "destroyImpl"},
        {"IOGPUMetalComputeCommandEncoder", "dealloc"},
        {"AGXG16XFamilyBlitContext", "fillBuffer:range:value:"},
        {"AGXG16XFamilyBlitContext", "endEncoding"},
    };
    for (unsigned i = 0; i < sizeof hooks / sizeof hooks[0]; i++) {
        int h = fake_is_hooked(hooks[i][0], hooks[i][1]);
        if (h == disabled) {
            fprintf(stderr, "glue_test: -[%s %s] is %shooked after load\n", hooks[i][0], hooks[i][1], h ? "" : "not ");
            failures++;
        }
    }
    EXPECT(agx_fix_active() == !disabled);
    EXPECT(!fake_is_hooked("NSObject", "dealloc"));             /* never a root class */
    EXPECT(!fake_is_hooked("AGXG16XFamilyComputeContext", "dispatchWaitFlush")); /* not in the table */
    /* MetalPerformanceShaders loaded later: hooked outside the runtime lock. */
    fake_load_mps();
    id cb = fake_new_command_buffer();
    id mps = fake_mps_command_buffer(cb);
    id e = fake_send(mps, "computeCommandEncoder");
    end(e);
    if (!disabled) {
        EXPECT(wait_hooked("MPSCommandBuffer", "commit"));
        EXPECT(fake_is_hooked("MPSCommandBuffer", "computeCommandEncoder"));
    } else {
        EXPECT(!fake_is_hooked("MPSCommandBuffer", "commit"));
    }
    fake_send_v(mps, "commit");
    objc_release(mps);
    objc_release(cb);
}

/* ---- encode ---- */

static id g_reuse_cb;
static int g_reuse_same;
static uint64_t g_reuse_sum_before, g_reuse_sum_after;

/* Inside setBuffer: on this encoder (the fix holds its entry): end it and
 * get the same object back from the driver, then use it. */
static void reuse_in_call(id enc)
{
    fake_in_call_callback = NULL;
    end(enc);
    id again = new_encoder(g_reuse_cb);
    g_reuse_same = again == enc;
    g_reuse_sum_before = ENC(again)->sum;
    set_bytes(again, 40, 2); /* must reach the driver: the encoder is open again */
    g_reuse_sum_after = ENC(again)->sum;
}

static const char *g_part; /* glue_test encode PART: only that part */
static int part(const char *name) { return !g_part || !strcmp(g_part, name); }

static void scenario_encode(void)
{
    /* Arguments pass through the replacements of each shape. */
    if (part("args")) {
        id cb = fake_new_command_buffer();
        id e = new_encoder(cb);
        static void *bufs[2];
        static uint64_t offs[2] = {7, 0};
        uint64_t want = 0;
        ((void (*)(id, SEL, void *))I(e, "setComputePipelineState:"))(e, S("setComputePipelineState:"), (void *)16);
        want += 16;
        set_buffer(e, NULL, 3, 4);
        want += 7;
        set_bytes(e, 8, 1);
        want += 9;
        ((void (*)(id, SEL, void *, void *, struct rg))I(e, "setBuffers:offsets:withRange:"))(
            e, S("setBuffers:offsets:withRange:"), bufs, offs, (struct rg){2, 3});
        want += 7 + 20 + 3;
        ((void (*)(id, SEL, void *, uint64_t, uint64_t))I(e, "useResources:count:usage:"))(
            e, S("useResources:count:usage:"), bufs, 2, 5);
        want += 25;
        ((void (*)(id, SEL, void *, float, float, uint64_t))I(e, "setSamplerState:lodMinClamp:lodMaxClamp:atIndex:"))(
            e, S("setSamplerState:lodMinClamp:lodMaxClamp:atIndex:"), NULL, 1.5f, 2.5f, 3);
        want += 43;
        ((void (*)(id, SEL, struct region))I(e, "setStageInRegion:"))(e, S("setStageInRegion:"),
                                                                      (struct region){{1, 2, 3}, {4, 5, 6}});
        want += 21;
        dispatch(e, (struct sz){1, 2, 3}, (struct sz){4, 5, 6});
        want += 21;
        EXPECT(ENC(e)->sum == want);
        end(e);
        commit(cb);
        EXPECT(ENC(e)->leaf_end_calls == 1 && ENC(e)->base_end_calls == 1);
        objc_release(cb);
    }
    struct agx_fix_stats s0 = stats();
    /* Commit with the encoder still open: the fix ends it first, running the
     * driver's endEncoding chain once (defect 6: it ran the leaf twice). */
    if (part("forced_end")) {
        /* An encoder class that inherits endEncoding: its first use hooks the
         * superclass's endEncoding too. */
        id cb0 = fake_new_command_buffer();
        end(fake_send(cb0, "resourceStateCommandEncoder"));
        commit(cb0);
        objc_release(cb0);
        EXPECT(fake_is_hooked("IOGPUMetalComputeCommandEncoder", "endEncoding"));
        id cb = fake_new_command_buffer();
        id e = new_encoder(cb);
        dispatch(e, (struct sz){1, 1, 1}, (struct sz){1, 1, 1});
        commit(cb); /* the fake driver aborts on an open encoder */
        EXPECT(ENC(e)->leaf_end_calls == 1);
        EXPECT(ENC(e)->base_end_calls == 1);
        EXPECT(stats().forced_ends == s0.forced_ends + 1);
        objc_release(cb);
    }
    /* A new encoder while one is open on the same command buffer: the open
     * one is ended first (defect 4; the fake Metal asserts otherwise). */
    if (part("new_while_open")) {
        id cb = fake_new_command_buffer();
        id a = new_encoder(cb);
        set_bytes(a, 1, 1);
        id b = fake_send(cb, "blitCommandEncoder");
        EXPECT(ENC(a)->leaf_end_calls == 1);
        ((void (*)(id, SEL, void *, struct rg, uint8_t))I(b, "fillBuffer:range:value:"))(
            b, S("fillBuffer:range:value:"), NULL, (struct rg){1, 2}, 3);
        ((void (*)(id, SEL, void *, uint64_t, void *, uint64_t, uint64_t))I(
            b, "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:"))(
            b, S("copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:"), NULL, 1, NULL, 2, 3);
        EXPECT(ENC(b)->sum == 12);
        ((void (*)(id, SEL, void *, struct region, uint64_t, uint64_t, uint8_t, void *, uint64_t))I(
            b, "getTextureAccessCounters:region:mipLevel:slice:resetCounters:countersBuffer:countersBufferOffset:"))(
            b, S("getTextureAccessCounters:region:mipLevel:slice:resetCounters:countersBuffer:countersBufferOffset:"),
            NULL, (struct region){{1, 1, 1}, {1, 1, 1}}, 1, 1, 1, NULL, 1); /* 1+2+...+10 = 55 */
        ((void (*)(id, SEL, void *, uint64_t, uint64_t, struct sz, struct sz, void *, uint64_t, uint64_t, struct sz))I(
            b, "copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:"
               "destinationLevel:destinationOrigin:"))(
            b,
            S("copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:"
              "destinationLevel:destinationOrigin:"),
            NULL, 1, 1, (struct sz){1, 0, 1}, (struct sz){0, 1, 0}, NULL, 1, 1, (struct sz){1, 0, 1}); /* 45 */
        ((void (*)(id, SEL, void *, struct rg, void *, uint64_t))I(
            b, "copyIndirectCommandBuffer:sourceRange:destination:destinationIndex:"))(
            b, S("copyIndirectCommandBuffer:sourceRange:destination:destinationIndex:"), NULL, (struct rg){1, 1}, NULL,
            1); /* 6 */
        EXPECT(ENC(b)->sum == 12 + 55 + 45 + 6);
        EXPECT(fake_is_hooked("AGXG16XFamilyBlitContext", "copyIndirectCommandBuffer:sourceRange:destination:"
                                                          "destinationIndex:"));
        end(b);
        commit(cb);
        objc_release(cb);
    }
    /* Double end, and calls after the end: dropped (a use after free in the
     * fake driver otherwise). */
    if (part("dropped")) {
        struct agx_fix_stats s1 = stats();
        id cb = fake_new_command_buffer();
        id e = new_encoder(cb);
        end(e);
        end(e);
        set_buffer(e, NULL, 1, 1);
        dispatch(e, (struct sz){1, 1, 1}, (struct sz){1, 1, 1});
        EXPECT(ENC(e)->leaf_end_calls == 1);
        EXPECT(stats().double_ends == s1.double_ends + 1);
        EXPECT(stats().calls_skipped == s1.calls_skipped + 2);
        /* destroyImpl is never dropped (it is teardown), even after the end. */
        fake_send_v(e, "destroyImpl");
        EXPECT(ENC(e)->impl == NULL);
        commit(cb);
        objc_release(cb);
    }
    /* MPSCommandBuffer over the driver's command buffer: one entry, and its
     * commit ends the open encoder. */
    if (part("mps")) {
        fake_load_mps();
        struct agx_fix_stats s1 = stats();
        id cb = fake_new_command_buffer();
        id mps = fake_mps_command_buffer(cb);
        id e = fake_send(mps, "computeCommandEncoder");
        EXPECT(e->refs == 2); /* the command buffer's and the fix's */
        EXPECT(stats().encoders_tracked == s1.encoders_tracked + 1);
        set_bytes(e, 1, 1);
        fake_send_v(mps, "commit");
        EXPECT(ENC(e)->leaf_end_calls == 1);
        objc_release(mps);
        objc_release(cb);
    }
    /* Reuse (defect 3): the driver hands the same encoder out again while the
     * fix still holds its ended entry (here: a call on it in flight on this
     * thread). The reused encoder must work and end normally. */
    if (part("reuse")) {
        fake_set_reuse(1);
        id cb = fake_new_command_buffer();
        g_reuse_cb = cb;
        id e = new_encoder(cb);
        fake_in_call_callback = reuse_in_call;
        set_buffer(e, FAKE_CALLBACK_BUFFER, 0, 0);
        EXPECT(g_reuse_same);
        EXPECT(g_reuse_sum_after == g_reuse_sum_before + 42);
        set_bytes(e, 1, 1);
        end(e); /* dropped as a double end before the fix: then the commit aborts */
        commit(cb);
        EXPECT(ENC(e)->leaf_end_calls == 2); /* two lives, one end each */
        objc_release(cb);
        fake_set_reuse(0);
    }
    struct agx_fix_stats s = stats();
    EXPECT(s.encoders_live == 0);
    EXPECT(s.encoders_tracked == s.encoders_released);
}

/* ---- threads ---- */

#define WORKERS 4
static int g_rounds = 200;
static id g_cb, g_enc;
static int g_ender, g_end_at, g_kind;
static pthread_barrier_t g_start, g_done;

static void *worker(void *arg)
{
    int id_ = (int)(intptr_t)arg;
    for (int r = 0; r < g_rounds; r++) {
        pthread_barrier_wait(&g_start);
        id e = g_enc;
        for (int i = 0; i < 40; i++) {
            if (id_ == g_ender && i == g_end_at) {
                if (g_kind == 0) end(e); /* kind 1: commit alone (the fix ends it) */
                commit(g_cb);
            }
            if (i & 1)
                dispatch(e, (struct sz){1, 1, 1}, (struct sz){1, 1, 1});
            else
                set_buffer(e, NULL, (uint64_t)i, (uint64_t)id_);
            if ((i & 7) == 0) sched_yield();
        }
        pthread_barrier_wait(&g_done);
    }
    return NULL;
}

static void scenario_threads(void)
{
    const char *r = getenv("ROUNDS");
    if (r) g_rounds = atoi(r);
    pthread_barrier_init(&g_start, NULL, WORKERS + 1);
    pthread_barrier_init(&g_done, NULL, WORKERS + 1);
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    unsigned seed = 18;
    for (int round = 0; round < g_rounds; round++) {
        id cb = fake_new_command_buffer();
        id mps = round % 3 == 2 ? fake_mps_command_buffer(cb) : NULL;
        g_cb = mps ? mps : cb;
        g_enc = fake_send(g_cb, "computeCommandEncoder");
        objc_retain(g_enc); /* keep it to check the end count after the round */
        g_ender = (int)(rand_r(&seed) % WORKERS);
        g_end_at = (int)(rand_r(&seed) % 40);
        g_kind = round & 1;
        pthread_barrier_wait(&g_start);
        pthread_barrier_wait(&g_done);
        if (ENC(g_enc)->leaf_end_calls != 1 || ENC(g_enc)->base_end_calls != 1) {
            fprintf(stderr, "glue_test: round %d: endEncoding ran %d/%d times\n", round, ENC(g_enc)->leaf_end_calls,
                    ENC(g_enc)->base_end_calls);
            failures++;
        }
        objc_release(g_enc);
        if (mps) objc_release(mps);
        objc_release(cb);
    }
    for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
    struct agx_fix_stats s = stats();
    EXPECT(s.encoders_live == 0);
    EXPECT(s.encoders_tracked == s.encoders_released);
    EXPECT(s.encoders_tracked >= (uint64_t)g_rounds);
    EXPECT(s.calls_skipped > 0);
    printf("glue_test threads: rounds=%d tracked=%llu forced_ends=%llu skipped=%llu\n", g_rounds,
           (unsigned long long)s.encoders_tracked, (unsigned long long)s.forced_ends,
           (unsigned long long)s.calls_skipped);
}

/* ---- a Mac without AGX classes (FAKE_GPU=amd) ---- */

/* Regression (issue 18, defect 6): on Intel and AMD Macs nothing was hooked,
 * MPSCommandBuffer included. Discovery hooks whatever classes the real
 * objects have. */
static void scenario_amd(void)
{
    EXPECT(fake_is_hooked("AMDMTLBronzeCommandBuffer", "computeCommandEncoder"));
    EXPECT(fake_is_hooked("IOGPUMetalCommandBuffer", "commit"));
    EXPECT(fake_is_hooked("AMDMTLBronzeComputeContext", "endEncoding"));
    EXPECT(fake_is_hooked("AMDMTLBronzeBlitContext", "fillBuffer:range:value:"));
    EXPECT(fake_class("AGXG16XFamilyCommandBuffer") == NULL);
    fake_load_mps();
    id cb = fake_new_command_buffer();
    id mps = fake_mps_command_buffer(cb);
    id e = fake_send(mps, "computeCommandEncoder"); /* hooked AMD command buffer: drains, hooks MPS */
    EXPECT(fake_is_hooked("MPSCommandBuffer", "commit"));
    set_bytes(e, 1, 1);
    fake_send_v(mps, "commit"); /* forced end through MPS and the driver's command buffer */
    EXPECT(ENC(e)->leaf_end_calls == 1);
    objc_release(mps);
    objc_release(cb);
}

/* ---- late ---- */

static void scenario_late(void)
{
    EXPECT(!fake_is_hooked("AGXG16XFamilyCommandBuffer", "computeCommandEncoder"));
    EXPECT(__atomic_load_n(&fake_os_log_count, __ATOMIC_RELAXED) >= 1); /* the warning */
    fake_load_metal(); /* the load-image callback runs under the runtime lock */
    EXPECT(wait_hooked("AGXG16XFamilyCommandBuffer", "computeCommandEncoder"));
    struct agx_fix_stats s0 = stats();
    id cb = fake_new_command_buffer();
    id e = new_encoder(cb);
    EXPECT(stats().encoders_tracked == s0.encoders_tracked + 1);
    EXPECT(fake_is_hooked("AGXG16XFamilyComputeContext", "endEncoding")); /* hooked at creation */
    set_bytes(e, 1, 1);
    commit(cb);
    EXPECT(ENC(e)->leaf_end_calls == 1);
    objc_release(cb);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "launch"))
        scenario_launch();
    else if (!strcmp(what, "encode")) {
        g_part = argc > 2 ? argv[2] : NULL;
        scenario_encode();
    }
    else if (!strcmp(what, "threads"))
        scenario_threads();
    else if (!strcmp(what, "late"))
        scenario_late();
    else if (!strcmp(what, "amd"))
        scenario_amd();
    else {
        fprintf(stderr, "usage: glue_test launch|encode|threads|late|amd\n");
        return 2;
    }
    if (failures) {
        fprintf(stderr, "glue_test %s: %d failure(s)\n", what, failures);
        return 1;
    }
    printf("glue_test %s: passed\n", what);
    return 0;
}
