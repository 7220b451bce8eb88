/*
 * agx_fix.h - public C API of the AGX fix dylib (libagx_fix_vX_Y.dylib).
 *
 * A process that loaded the fix (DYLD_INSERT_LIBRARIES) can look these up with
 * dlsym(RTLD_DEFAULT, "agx_fix_stats") to learn whether the fix is active and
 * what it did. The same functions exist in the host build of the portable core
 * (fix/src/core.c) used by the Linux tests.
 */
#ifndef AGX_FIX_H
#define AGX_FIX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AGX_FIX_API __attribute__((visibility("default")))

/*
 * Counters since load. All fields only grow except encoders_live.
 * New fields are only ever appended, so older callers stay compatible.
 */
struct agx_fix_stats {
    uint64_t encoders_tracked;  /* encoders retained at creation and put in the table */
    uint64_t encoders_released; /* encoders the fix released again after endEncoding */
    uint64_t forced_ends;       /* encoders the fix ended itself (commit / event with encoders open) */
    uint64_t lock_waits;        /* encoder-lock acquisitions that had to wait for another thread */
    uint64_t longest_wait_ns;   /* longest such wait, nanoseconds */
    uint64_t double_ends;       /* endEncoding on an encoder already ended (skipped) */
    uint64_t calls_skipped;     /* encoder calls dropped because the encoder was already ended */
    uint64_t encoders_live;     /* table entries right now (not yet deallocated) */
};

/* The fix version, e.g. "2.4". Never NULL. */
AGX_FIX_API const char *agx_fix_version(void);

/* The build metadata JSON (the same bytes as section __DATA,__agx_fix_meta). */
AGX_FIX_API const char *agx_fix_metadata(void);

/* Copies the counters into *out. Returns 0 on success, -1 when out is NULL. */
AGX_FIX_API int agx_fix_stats(struct agx_fix_stats *out);

/* 1 when the fix installed its hooks, 0 when disabled (AGX_FIX_DISABLE) or not yet loaded. */
AGX_FIX_API int agx_fix_active(void);

#ifdef __cplusplus
}
#endif

#endif /* AGX_FIX_H */
