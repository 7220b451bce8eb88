/*
 * stress.c - many threads create, use, end and free encoders against the
 * simulated driver (sim_driver.h) through the fix core.
 *
 * Each round: the main thread creates a command buffer and an encoder; WORKERS
 * threads hammer it with calls; then, depending on the round,
 *   kind 0: the main thread commits while the workers are busy (forced end),
 *   kind 1: one worker ends it midway (end from another thread than the creator),
 *   kind 2: two workers end it midway (double end).
 * After the end every worker makes one more call: with the fix it is skipped,
 * without it (-DAGX_FIX_TEST_NO_LOCK) it writes freed memory, which the
 * sanitizers must report; `make test` checks both outcomes.
 *
 * Usage: stress [rounds] [calls-per-worker]. Exit 0 = all invariants held.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim_driver.h"

#define WORKERS 4

struct barrier {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned n, waiting, gen;
};
static void barrier_wait(struct barrier *b)
{
    pthread_mutex_lock(&b->mu);
    unsigned gen = b->gen;
    if (++b->waiting == b->n) {
        b->waiting = 0;
        b->gen++;
        pthread_cond_broadcast(&b->cv);
    } else {
        while (gen == b->gen) pthread_cond_wait(&b->cv, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
}

static struct barrier g_start = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, WORKERS + 1, 0, 0};
static struct barrier g_done = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, WORKERS + 1, 0, 0};

static struct sim_encoder *g_enc; /* published between barriers */
static int g_round, g_rounds, g_calls;
/* Relaxed on purpose: it must not order the end before the late call for
 * the sanitizers, only tell the workers that the end has happened. */
static int g_ended;
static uint64_t g_ends_done, g_sink, g_calls_made;

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (;;) {
        barrier_wait(&g_start);
        if (g_round >= g_rounds) return NULL;
        struct sim_encoder *e = g_enc; /* main took a reference for us */
        int kind = g_round % 3;
        int ender = kind == 1 ? id == (unsigned)g_round % WORKERS
                  : kind == 2 ? id < 2
                  : 0;
        unsigned sum = 0;
        for (int i = 0; i < g_calls; i++) {
            sum += shim_use(e, id * 7u + (unsigned)i);
            __atomic_fetch_add(&g_calls_made, 1, __ATOMIC_RELAXED);
            if (ender && i == g_calls / 2) {
                __atomic_fetch_add(&g_ends_done, (uint64_t)shim_end(e), __ATOMIC_RELAXED);
                __atomic_store_n(&g_ended, 1, __ATOMIC_RELAXED);
            }
        }
        while (!__atomic_load_n(&g_ended, __ATOMIC_RELAXED)) sched_yield();
        sum += shim_use(e, id); /* the late call: after the end, always */
        __atomic_fetch_add(&g_sink, sum, __ATOMIC_RELAXED);
        sim_release(e);
        barrier_wait(&g_done);
    }
}

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "stress: FAILED %s: ", #cond);                               \
            fprintf(stderr, __VA_ARGS__);                                                \
            fprintf(stderr, "\n");                                                       \
            return 1;                                                                    \
        }                                                                                \
    } while (0)

int main(int argc, char **argv)
{
    g_rounds = argc > 1 ? atoi(argv[1]) : 600;
    g_calls = argc > 2 ? atoi(argv[2]) : 40;
    sim_init();
    pthread_t th[WORKERS];
    for (unsigned i = 0; i < WORKERS; i++) pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);

    unsigned forced = 0, kind0 = 0, kind2 = 0;
    for (g_round = 0; g_round < g_rounds; g_round++) {
        int cmdbuf_tag;
        void *cb = &cmdbuf_tag; /* any unique address names the command buffer */
        struct sim_encoder *e = sim_create();
        shim_created(e, cb);
        shim_created(e, cb); /* the outer MPSCommandBuffer hook sees it again: no second retain */
        for (unsigned i = 0; i < WORKERS; i++) sim_retain(e);
        g_enc = e;
        __atomic_store_n(&g_ended, 0, __ATOMIC_RELAXED);
        uint64_t calls_before = __atomic_load_n(&g_calls_made, __ATOMIC_RELAXED);
        barrier_wait(&g_start);
        if (g_round % 3 == 0) {
            kind0++;
            /* Commit once the workers are encoding, so the forced end meets calls in flight. */
            while (__atomic_load_n(&g_calls_made, __ATOMIC_RELAXED) < calls_before + WORKERS) sched_yield();
            forced += shim_commit(cb); /* commit with the encoder open and in use */
            __atomic_store_n(&g_ended, 1, __ATOMIC_RELAXED);
        }
        if (g_round % 3 == 2) kind2++;
        barrier_wait(&g_done);
        CHECK(shim_commit(cb) == 0, "round %d: encoder still open after its end", g_round);
    }
    barrier_wait(&g_start); /* g_round == g_rounds: workers exit */
    for (unsigned i = 0; i < WORKERS; i++) pthread_join(th[i], NULL);

    struct agx_fix_stats s;
    agx_core_stats(&s);
    printf("stress: rounds=%d calls/worker=%d workers=%d tracked=%llu released=%llu forced=%llu "
           "double_ends=%llu skipped=%llu lock_waits=%llu longest_wait_ns=%llu live=%llu freed=%llu\n",
           g_rounds, g_calls, WORKERS, (unsigned long long)s.encoders_tracked,
           (unsigned long long)s.encoders_released, (unsigned long long)s.forced_ends,
           (unsigned long long)s.double_ends, (unsigned long long)s.calls_skipped,
           (unsigned long long)s.lock_waits, (unsigned long long)s.longest_wait_ns,
           (unsigned long long)s.encoders_live, (unsigned long long)sim_freed);
    unsigned rounds = (unsigned)g_rounds;
    CHECK(s.encoders_tracked == rounds && sim_created_new == rounds, "one retain per encoder");
    CHECK(s.encoders_released == rounds, "every encoder released once");
    CHECK(sim_freed == rounds, "every encoder freed (no leak, no double free)");
    CHECK(s.encoders_live == 0, "table empty after dealloc");
    CHECK(s.forced_ends == kind0 && forced == kind0, "commit ended exactly the open encoders");
    CHECK(s.double_ends == kind2, "second endEncoding skipped once per double-end round");
    CHECK(g_ends_done == rounds - kind0, "exactly one end reached the driver per round");
    CHECK(s.calls_skipped >= (uint64_t)rounds * WORKERS, "every late call skipped");
    return 0;
}
