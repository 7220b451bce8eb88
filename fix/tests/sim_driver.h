/*
 * sim_driver.h - a simulated GPU driver for the host tests of the fix core.
 *
 * Like the real AGX driver, ending an encoder frees its encoding state
 * (sim_end frees e->state and drops the command buffer's reference); a call
 * that reaches the driver after that touches freed heap memory, which ASan and
 * TSan report. The shims below do what the Objective-C layer (agx_fix.c) does
 * around each hooked method.
 */
#ifndef AGX_SIM_DRIVER_H
#define AGX_SIM_DRIVER_H

#include <stdint.h>
#include <stdlib.h>

#include "core.h"

#define SIM_STATE_SIZE 64

struct sim_encoder {
    int refs;              /* atomic */
    unsigned char *state;  /* freed by sim_end, dangling afterwards on purpose */
};

static uint64_t sim_freed; /* atomic: encoders whose memory was freed */

static struct sim_encoder *sim_create(void)
{
    struct sim_encoder *e = calloc(1, sizeof *e);
    if (!e) abort();
    e->refs = 1; /* the command buffer's reference */
    e->state = calloc(1, SIM_STATE_SIZE);
    if (!e->state) abort();
    return e;
}

static void sim_retain(void *p)
{
    __atomic_fetch_add(&((struct sim_encoder *)p)->refs, 1, __ATOMIC_ACQ_REL);
}

static void sim_release(void *p)
{
    struct sim_encoder *e = p;
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        agx_core_forget(e); /* the dealloc hook */
        free(e);
        __atomic_fetch_add(&sim_freed, 1, __ATOMIC_RELAXED);
    }
}

/* Driver methods. */
static void sim_set_buffer(struct sim_encoder *e, unsigned idx, unsigned char v) { e->state[idx % SIM_STATE_SIZE] = v; }
static unsigned sim_dispatch(struct sim_encoder *e)
{
    /* Long enough (a few microseconds) that threads really meet on one encoder. */
    unsigned sum = 0;
    for (unsigned pass = 0; pass < 64; pass++)
        for (unsigned i = 0; i < SIM_STATE_SIZE; i += 8) sum += e->state[i] + pass;
    return sum;
}
static void sim_end(void *p)
{
    struct sim_encoder *e = p;
    free(e->state);
    sim_release(e);
}

/* Shims: what the swizzled methods do. */
static uint64_t sim_created_new; /* atomic */

static void shim_created(struct sim_encoder *e, void *cmdbuf)
{
    if (agx_core_encoder_created(e, cmdbuf) == 1) __atomic_fetch_add(&sim_created_new, 1, __ATOMIC_RELAXED);
}

static unsigned shim_use(struct sim_encoder *e, unsigned arg)
{
    struct agx_call c;
    unsigned r = 0;
    enum agx_decision d = agx_core_call_begin(e, AGX_CALL_USE, &c);
    if (d == AGX_SKIP) return 0;
    if (arg & 1)
        r = sim_dispatch(e);
    else
        sim_set_buffer(e, arg, (unsigned char)arg);
    if (d == AGX_PROCEED) agx_core_call_end(&c);
    return r;
}

static int shim_end(struct sim_encoder *e)
{
    struct agx_call c;
    enum agx_decision d = agx_core_call_begin(e, AGX_CALL_END, &c);
    if (d == AGX_SKIP) return 0;
    sim_end(e);
    if (d == AGX_PROCEED) agx_core_call_end(&c);
    return 1;
}

static unsigned shim_commit(void *cmdbuf) { return agx_core_end_open(cmdbuf); }

static void sim_init(void)
{
    struct agx_core_ops ops = {sim_retain, sim_release, sim_end, NULL};
    agx_core_init(&ops, 0);
}

#endif
