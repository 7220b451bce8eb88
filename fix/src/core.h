/*
 * core.h - the portable heart of the AGX fix: the encoder table and its lock
 * discipline. Plain C, no Objective-C: it builds for macOS (inside the dylib)
 * and for the Linux host, where fix/tests drive it with a simulated driver.
 *
 * Life of an encoder in the table:
 *
 *   created  --agx_core_encoder_created-->  OPEN (the fix holds one retain)
 *   OPEN     --call_begin/call_end------->  OPEN (each call runs under the
 *                                           encoder's own recursive lock)
 *   OPEN     --END call, DESTROY call or agx_core_end_open (commit / event /
 *              a new encoder on the same command buffer)--> ENDED
 *   ENDED    --last holder leaves-------->  released (the fix drops its retain,
 *                                           outside every lock)
 *   ENDED    --handed out again by the driver (agx_core_encoder_created)-->
 *                                           OPEN again (decided by state: a
 *                                           reused encoder is a live encoder)
 *   any      --agx_core_forget (dealloc)->  removed from the table
 *
 * Calls on an ENDED encoder are skipped (the driver has freed its state), a
 * second endEncoding is skipped and counted, and an encoder address that comes
 * back after its entry was released is treated as a new encoder.
 */
#ifndef AGX_FIX_CORE_H
#define AGX_FIX_CORE_H

#include "agx_fix.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the caller of an encoder method intends. */
enum agx_call_kind {
    AGX_CALL_USE = 0, /* any encoding call */
    AGX_CALL_END = 1, /* endEncoding */
    AGX_CALL_DESTROY = 2 /* destroyImpl: never skipped, waits for calls in flight, ends the entry */
};

/* What call_begin decided. */
enum agx_decision {
    AGX_PROCEED = 0,   /* call the original, then agx_core_call_end */
    AGX_SKIP = 1,      /* do not call the original (encoder already ended) */
    AGX_UNTRACKED = 2  /* not ours: call the original, no call_end */
};

/* Callbacks into the platform layer (Objective-C runtime or the test driver). */
struct agx_core_ops {
    void (*retain)(void *enc);      /* called under the table lock; must not call back */
    void (*release)(void *enc);     /* called with no core lock held; may dealloc */
    void (*end_encoder)(void *enc); /* the ORIGINAL endEncoding, for forced ends */
    void (*log)(const char *msg);   /* optional */
};

struct agx_entry;
struct agx_call {
    struct agx_entry *entry;
    int kind;
};

/* Set callbacks and the lock-wait warning threshold (0 = never warn). Call once. */
void agx_core_init(const struct agx_core_ops *ops, unsigned lock_warn_ms);

/* A new encoder from cmdbuf. Returns 1 when newly tracked (and retained) or
 * reopened (an ENDED entry the driver handed out again: the same object reused
 * on a command buffer), 0 when it was already tracked and open (e.g.
 * MPSCommandBuffer forwarding to the driver's command buffer, both hooked), -1
 * on allocation failure (not tracked). */
int agx_core_encoder_created(void *enc, void *cmdbuf);

/* Before calling an encoder method. On AGX_PROCEED the encoder's lock is held
 * until agx_core_call_end(call). */
enum agx_decision agx_core_call_begin(void *enc, enum agx_call_kind kind, struct agx_call *call);
void agx_core_call_end(struct agx_call *call);

/* End every encoder of cmdbuf that is still open (before commit, before
 * encodeSignalEvent:/encodeWaitForEvent:). Returns how many were ended. */
unsigned agx_core_end_open(void *cmdbuf);

/* The encoder is being deallocated: drop its entry. */
void agx_core_forget(void *enc);

void agx_core_stats(struct agx_fix_stats *out);

/* Counters of the core not in the public struct (tests). */
uint64_t agx_core_reopened(void);

/* The LC_UUID of a 64-bit Mach-O image in memory (a loaded image's header, or
 * the start of a thin file), as uppercase 8-4-4-4-12 into out[37]. Returns 0,
 * or -1 when mh is not a 64-bit Mach-O header or has no LC_UUID. `size` bounds
 * the reads (a file's length; for a loaded image pass the header + load
 * commands size, i.e. 0 to trust sizeofcmds). Pure: host-tested. */
int agx_macho_uuid(const void *mh, unsigned long size, char out[37]);

/* Appends s to buf as the body of a JSON string (quotes not included), escaping
 * '"', '\\' and control characters. Returns the new length, or (size_t)-1
 * when it does not fit in cap (buf then holds a prefix; the caller drops it). */
unsigned long agx_json_escape(char *buf, unsigned long len, unsigned long cap, const char *s);

/* Environment helpers (pure functions, host-tested). */
int agx_env_truthy(const char *value);                  /* "1","true","yes","on" */
unsigned agx_env_uint(const char *value, unsigned dflt); /* decimal, else dflt */
/* The driver's command-buffer classes: AGX*FamilyCommandBuffer, and MPSCommandBuffer. */
int agx_is_cmdbuf_class_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* AGX_FIX_CORE_H */
