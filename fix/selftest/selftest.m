/*
 * selftest.m - checks, on a real Mac, that the AGX fix dylib loads, hooks the
 * driver's classes and does not change results. Built and run by run.sh (each
 * case in its own child process, with a timeout); see fix/README.md.
 *
 *   selftest load           prints active=<0|1> version=<v> (the fix's C API, or "none")
 *   selftest imps           where the hooked methods' IMPs live (dladdr); "ok" when
 *                           every one resolves into libagx_fix*
 *   selftest compute T N    N compute dispatches on each of T threads (each its own
 *                           command buffer); prints the FNV-1a hash of all results
 *                           and the fix's calls_skipped
 *   selftest reencode       end an encoder, make another on the same command buffer,
 *                           dispatch with it: the result must be there
 *   selftest shared SEED    two threads share one encoder; one ends it and commits at
 *                           a moment chosen by SEED while the other still encodes
 *   selftest throughput T N like compute, prints elapsed_ms
 *
 * Exit 0 = the case held. Needs no Xcode project: xcrun clang -fobjc-arc
 * -framework Foundation -framework Metal selftest.m (run.sh does it).
 */
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>
#import <objc/runtime.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct fix_stats {
    uint64_t encoders_tracked, encoders_released, forced_ends, lock_waits, longest_wait_ns, double_ends,
        calls_skipped, encoders_live;
};

static const char *k_source =
    "#include <metal_stdlib>\n"
    "using namespace metal;\n"
    "kernel void affine(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],\n"
    "                   uint i [[thread_position_in_grid]]) { out[i] = in[i] * 2.0f + 1.0f; }\n";

enum { N_ELEMS = 4096 };

static id<MTLDevice> g_device;
static id<MTLCommandQueue> g_queue;
static id<MTLComputePipelineState> g_pipeline;

static int fail(const char *what)
{
    fprintf(stderr, "selftest: %s\n", what);
    return 1;
}

static int setup(void)
{
    g_device = MTLCreateSystemDefaultDevice();
    if (!g_device) return fail("no Metal device");
    g_queue = [g_device newCommandQueue];
    NSError *err = nil;
    id<MTLLibrary> lib = [g_device newLibraryWithSource:[NSString stringWithUTF8String:k_source] options:nil error:&err];
    if (!lib) return fail(err ? [[err localizedDescription] UTF8String] : "kernel did not compile");
    id<MTLFunction> fn = [lib newFunctionWithName:@"affine"];
    g_pipeline = [g_device newComputePipelineStateWithFunction:fn error:&err];
    return g_pipeline ? 0 : fail("no pipeline");
}

static uint64_t fix_skipped(void)
{
    int (*stats)(struct fix_stats *) = (int (*)(struct fix_stats *))dlsym(RTLD_DEFAULT, "agx_fix_stats");
    struct fix_stats s;
    memset(&s, 0, sizeof s);
    if (stats) stats(&s);
    return s.calls_skipped;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* One dispatch on its own command buffer; returns the hash of the output. */
static uint64_t one_dispatch(unsigned seed)
{
    @autoreleasepool {
        id<MTLBuffer> in = [g_device newBufferWithLength:N_ELEMS * sizeof(float) options:MTLResourceStorageModeShared];
        id<MTLBuffer> out = [g_device newBufferWithLength:N_ELEMS * sizeof(float) options:MTLResourceStorageModeShared];
        float *x = (float *)[in contents];
        for (unsigned i = 0; i < N_ELEMS; i++) x[i] = (float)((i * 2654435761u + seed) % 1000u);
        id<MTLCommandBuffer> cb = [g_queue commandBuffer];
        id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
        [enc setComputePipelineState:g_pipeline];
        [enc setBuffer:in offset:0 atIndex:0];
        [enc setBuffer:out offset:0 atIndex:1];
        [enc dispatchThreads:MTLSizeMake(N_ELEMS, 1, 1) threadsPerThreadgroup:MTLSizeMake(64, 1, 1)];
        [enc endEncoding];
        [cb commit];
        [cb waitUntilCompleted];
        return fnv(1469598103934665603ull, [out contents], N_ELEMS * sizeof(float));
    }
}

struct work {
    unsigned id, n;
    uint64_t hash;
};

static void *worker(void *p)
{
    struct work *w = p;
    /* Order-independent combination: the same inputs give the same total. */
    for (unsigned i = 0; i < w->n; i++) w->hash += one_dispatch(w->id * 100000u + i);
    return NULL;
}

static int run_threads(unsigned threads, unsigned n, uint64_t *hash)
{
    pthread_t t[64];
    struct work w[64];
    if (threads == 0 || threads > 64) return fail("1..64 threads");
    for (unsigned i = 0; i < threads; i++) {
        w[i] = (struct work){i, n, 0};
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    *hash = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        *hash += w[i].hash;
    }
    return 0;
}

static int case_load(void)
{
    int (*active)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "agx_fix_active");
    const char *(*version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "agx_fix_version");
    if (!active || !version) {
        printf("active=none\n");
        return 0;
    }
    printf("active=%d version=%s\n", active(), version());
    return 0;
}

static int check_imp(Class cls, SEL sel, int *bad)
{
    Method m = class_getInstanceMethod(cls, sel);
    if (!m) return 0;
    IMP imp = method_getImplementation(m);
    Dl_info info;
    const char *where = dladdr((const void *)imp, &info) && info.dli_fname ? info.dli_fname : "?";
    int ours = strstr(where, "libagx_fix") != NULL;
    printf("%s -[%s %s] -> %s\n", ours ? "hooked" : "NOT HOOKED", class_getName(cls), sel_getName(sel), where);
    if (!ours) (*bad)++;
    return 1;
}

static int case_imps(void)
{
    if (setup()) return 1;
    int bad = 0, seen = 0;
    @autoreleasepool {
        id<MTLCommandBuffer> cb = [g_queue commandBuffer];
        id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
        Class cbc = object_getClass(cb), ec = object_getClass(enc);
        seen += check_imp(cbc, @selector(computeCommandEncoder), &bad);
        seen += check_imp(cbc, @selector(commit), &bad);
        seen += check_imp(ec, @selector(setComputePipelineState:), &bad);
        seen += check_imp(ec, @selector(setBuffer:offset:atIndex:), &bad);
        seen += check_imp(ec, @selector(dispatchThreads:threadsPerThreadgroup:), &bad);
        seen += check_imp(ec, @selector(endEncoding), &bad);
        [enc endEncoding];
    }
    printf("%s (%d methods, %d not hooked)\n", bad || !seen ? "FAIL" : "ok", seen, bad);
    return bad || !seen;
}

static int case_compute(unsigned threads, unsigned n, int timed)
{
    if (setup()) return 1;
    uint64_t hash;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (run_threads(threads, n, &hash)) return 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    if (timed)
        printf("threads=%u dispatches=%u elapsed_ms=%.1f\n", threads, threads * n, ms);
    else
        printf("threads=%u dispatches=%u hash=%016llx calls_skipped=%llu\n", threads, threads * n,
               (unsigned long long)hash, (unsigned long long)fix_skipped());
    return 0;
}

static int case_reencode(void)
{
    if (setup()) return 1;
    @autoreleasepool {
        id<MTLBuffer> out = [g_device newBufferWithLength:N_ELEMS * sizeof(float) options:MTLResourceStorageModeShared];
        id<MTLBuffer> in = [g_device newBufferWithLength:N_ELEMS * sizeof(float) options:MTLResourceStorageModeShared];
        float *x = (float *)[in contents];
        for (unsigned i = 0; i < N_ELEMS; i++) x[i] = (float)i;
        id<MTLCommandBuffer> cb = [g_queue commandBuffer];
        id<MTLComputeCommandEncoder> first = [cb computeCommandEncoder];
        [first endEncoding];
        id<MTLComputeCommandEncoder> second = [cb computeCommandEncoder];
        [second setComputePipelineState:g_pipeline];
        [second setBuffer:in offset:0 atIndex:0];
        [second setBuffer:out offset:0 atIndex:1];
        [second dispatchThreads:MTLSizeMake(N_ELEMS, 1, 1) threadsPerThreadgroup:MTLSizeMake(64, 1, 1)];
        [second endEncoding];
        [cb commit];
        [cb waitUntilCompleted];
        const float *y = (const float *)[out contents];
        for (unsigned i = 0; i < N_ELEMS; i++)
            if (y[i] != (float)i * 2.0f + 1.0f) return fail("the second encoder's dispatch is missing (dropped)");
        printf("ok same_object=%d calls_skipped=%llu\n", first == second, (unsigned long long)fix_skipped());
        return fix_skipped() != 0;
    }
}

struct shared {
    id<MTLComputeCommandEncoder> enc;
    id<MTLCommandBuffer> cb;
    id<MTLBuffer> buf;
    unsigned end_at;
    volatile int go;
};

static void *encode_loop(void *p)
{
    struct shared *s = p;
    while (!s->go) {
    }
    for (unsigned i = 0; i < 2000; i++) {
        [s->enc setBuffer:s->buf offset:0 atIndex:(i & 1)];
        [s->enc dispatchThreads:MTLSizeMake(64, 1, 1) threadsPerThreadgroup:MTLSizeMake(64, 1, 1)];
    }
    return NULL;
}

static void *end_and_commit(void *p)
{
    struct shared *s = p;
    while (!s->go) {
    }
    for (volatile unsigned i = 0; i < s->end_at; i++) {
    }
    [s->enc endEncoding];
    [s->cb commit];
    return NULL;
}

/* What the driver race looks like from the outside: one thread still encodes
 * while another ends and commits. Without the fix this may crash (the run.sh
 * summary counts crashes); with it, late calls are dropped and counted. */
static int case_shared(unsigned seed)
{
    if (setup()) return 1;
    @autoreleasepool {
        struct shared s;
        s.cb = [g_queue commandBuffer];
        s.enc = [s.cb computeCommandEncoder];
        s.buf = [g_device newBufferWithLength:64 * sizeof(float) options:MTLResourceStorageModeShared];
        [s.enc setComputePipelineState:g_pipeline];
        [s.enc setBuffer:s.buf offset:0 atIndex:0];
        [s.enc setBuffer:s.buf offset:0 atIndex:1];
        srand(seed);
        s.end_at = (unsigned)rand() % 200000u;
        s.go = 0;
        pthread_t a, b;
        pthread_create(&a, NULL, encode_loop, &s);
        pthread_create(&b, NULL, end_and_commit, &s);
        s.go = 1;
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        [s.cb waitUntilCompleted];
        printf("ok end_at=%u calls_skipped=%llu\n", s.end_at, (unsigned long long)fix_skipped());
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    unsigned a = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1;
    unsigned b = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 100;
    if (!strcmp(c, "load")) return case_load();
    if (!strcmp(c, "imps")) return case_imps();
    if (!strcmp(c, "compute")) return case_compute(a, b, 0);
    if (!strcmp(c, "throughput")) return case_compute(a, b, 1);
    if (!strcmp(c, "reencode")) return case_reencode();
    if (!strcmp(c, "shared")) return case_shared(a);
    fprintf(stderr, "usage: selftest load|imps|compute T N|reencode|shared SEED|throughput T N\n");
    return 2;
}
