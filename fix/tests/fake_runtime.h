/*
 * fake_runtime.h - a small fake of the Objective-C runtime, dyld and Metal
 * (with an AGX-like driver and MetalPerformanceShaders), enough to build
 * fix/src/agx_fix.c on Linux and run it (fix/tests/glue_test.c).
 *
 * What it reproduces of the real thing, because the glue depends on it:
 *  - classes with superclasses and method tables; method_setImplementation;
 *    lookups that see the current IMP (like objc_msgSend) and super sends
 *    that start above the defining class (like objc_msgSendSuper2);
 *  - ONE runtime lock, non-recursive: taking it twice on one thread prints
 *    "recursive runtime lock" and aborts, as objc4's runtimeLock does. The
 *    lookup and copy functions take it (objc_copyClassNamesForImage,
 *    class_getInstanceMethod, class_copyMethodList, objc_getClass, ...);
 *  - the order of a dlopen: dyld's add-image callbacks first (classes not yet
 *    registered), then the runtime registers the classes and calls the
 *    load-image functions WITH THE LOCK HELD; objc_addLoadImageFunc calls the
 *    new function at once, under the lock, for every image already there;
 *  - a driver that frees an encoder's state at endEncoding and its impl at
 *    destroyImpl (so a call that gets through afterwards is a use after free
 *    for ASan/TSan), aborts on commit with an encoder still open and on a new
 *    encoder while another is open on the command buffer (Metal's
 *    assertions), and can hand out the same encoder object again (reuse).
 *
 * Images: libobjc (NSObject), the fix itself (this test binary, with an
 * LC_UUID so the handshake can be checked), Metal + the AGX driver bundle
 * (loaded by dlopen of Metal), MetalPerformanceShaders (fake_load_mps()).
 */
#ifndef AGX_FAKE_RUNTIME_H
#define AGX_FAKE_RUNTIME_H

#include <stdint.h>

#include "objc_runtime_abi.h"

/* The UUID the fake dyld reports for the fix's own image. */
#define FAKE_FIX_UUID "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9"

struct objc_object {
    Class isa;
    int refs; /* atomic */
};

struct fake_enc {
    struct objc_object o;
    unsigned char *state; /* freed by the leaf's endEncoding */
    unsigned char *impl;  /* freed by destroyImpl */
    struct fake_cb *cb;
    int open;              /* atomic: begun and not ended (the driver's view) */
    int leaf_end_calls;    /* atomic: runs of the leaf class's endEncoding */
    int base_end_calls;    /* atomic: runs of the superclass's endEncoding */
    uint64_t sum;          /* what the use calls computed (argument checks) */
};

struct fake_cb {
    struct objc_object o;
    struct fake_enc *encs[64]; /* every encoder made on it (one reference each) */
    int nencs;
    struct fake_enc *open_enc; /* driver: the encoder now open, if any */
    int committed;
};

/* Environment of the fake (read at its init, before the fix's constructor):
 *   FAKE_METAL_LATE=1   dlopen of Metal fails until fake_load_metal()
 *   FAKE_REUSE=1        the driver hands out the last ended encoder again */
void fake_load_metal(void);   /* dlopen Metal now (the driver comes with it) */
void fake_load_mps(void);     /* load MetalPerformanceShaders */
Class fake_class(const char *name);                 /* registered or not, no lock */
int fake_is_hooked(const char *cls, const char *sel); /* its own method's IMP was replaced */
IMP fake_lookup(Class cls, SEL sel);                  /* current IMP, like objc_msgSend */
id fake_send(id obj, const char *sel);                /* [obj sel] returning id */
void fake_send_v(id obj, const char *sel);            /* [obj sel] returning void */
id fake_new_command_buffer(void);                     /* device -> queue -> commandBuffer, retained */
id fake_mps_command_buffer(id inner);                 /* an MPSCommandBuffer over inner, retained */
void fake_set_reuse(int on);
/* Called by the fake driver from inside setBuffer:offset:atIndex: when the
 * buffer argument is FAKE_CALLBACK_BUFFER (a driver calling back into user
 * code while a call on the encoder is in flight on this thread). */
#define FAKE_CALLBACK_BUFFER ((void *)0x5eed)
extern void (*fake_in_call_callback)(id enc);
extern uint64_t fake_os_log_count; /* atomic: messages through _os_log_impl */

#endif
