/*
 * objc_runtime_abi.h - the Objective-C runtime and dyld C API the fix calls.
 *
 * Declared here (instead of <objc/runtime.h>) so the same source builds with
 * Apple's SDK and without it (Linux cross build). These are the stable, public
 * C entry points of libobjc.A.dylib and libdyld (part of libSystem); the types
 * are opaque pointers exactly as in the SDK. No Foundation, no Objective-C
 * syntax: the fix is plain C.
 */
#ifndef AGX_OBJC_RUNTIME_ABI_H
#define AGX_OBJC_RUNTIME_ABI_H

#include <stdint.h>

typedef struct objc_class *Class;
typedef struct objc_object *id;
typedef struct objc_selector *SEL;
typedef struct objc_method *Method;
/* The SDK declares IMP as id (*)(id, SEL, ...) or void (*)(void); callers always cast. */
typedef void (*IMP)(void);

Class objc_getClass(const char *name);
Class *objc_copyClassList(unsigned int *out_count);
const char **objc_copyClassNamesForImage(const char *image, unsigned int *out_count);
const char *class_getName(Class cls);
Class class_getSuperclass(Class cls);
Method class_getInstanceMethod(Class cls, SEL name);
Method *class_copyMethodList(Class cls, unsigned int *out_count);
Class object_getClass(id obj);
SEL method_getName(Method m);
IMP method_getImplementation(Method m);
IMP method_setImplementation(Method m, IMP imp);
const char *sel_getName(SEL sel);
SEL sel_registerName(const char *name);
id objc_retain(id obj);
void objc_release(id obj);
/* Never called through this prototype: always cast to the exact signature first. */
void objc_msgSend(void);

void *objc_autoreleasePoolPush(void);
void objc_autoreleasePoolPop(void *pool);

/* macOS 10.15+ (objc4-781; <objc/runtime.h> marks it API_AVAILABLE(macos(10.15))):
 * calls func at once for every image already loaded and then for every new
 * one, after the runtime has registered the image's classes, WITH THE
 * RUNTIME'S LOCK HELD ("Be VERY careful"): func must not call the runtime
 * (objc_copyClassNamesForImage, class_getInstanceMethod... take the same
 * non-recursive lock and abort). The fix only records the image there. Weak
 * import, so a missing symbol is NULL rather than a launch failure. */
struct mach_header;
typedef void (*objc_func_loadImage)(const struct mach_header *header);
#if defined(__APPLE__)
#define AGX_WEAK_IMPORT __attribute__((weak_import))
#else /* only for the host syntax check in `make test` */
#define AGX_WEAK_IMPORT __attribute__((weak))
#endif
void objc_addLoadImageFunc(objc_func_loadImage func) AGX_WEAK_IMPORT;

/* dyld: called once for every image already loaded, then for each new one;
 * on macOS 12+ BEFORE the runtime has registered the new image's classes. */
void _dyld_register_func_for_add_image(void (*func)(const struct mach_header *mh, intptr_t slide));

typedef struct {
    const char *dli_fname;
    void *dli_fbase;
    const char *dli_sname;
    void *dli_saddr;
} Dl_info;
int dladdr(const void *addr, Dl_info *info);
void *dlopen(const char *path, int mode);
void *dlsym(void *handle, const char *symbol);
#define AGX_RTLD_LAZY 0x1   /* <dlfcn.h> on Darwin */
#define AGX_RTLD_GLOBAL 0x8

/* open(2) flags: the host's when its <fcntl.h> is in (SDK build, Linux
 * harness), else Darwin's (darwin_libc_abi.h). */
#define AGX_O_WRONLY O_WRONLY
#define AGX_O_APPEND O_APPEND
#define AGX_O_CREAT O_CREAT
#define AGX_O_CLOEXEC O_CLOEXEC
#define AGX_O_NOFOLLOW O_NOFOLLOW

/* os_log without <os/log.h> (libsystem_trace, re-exported by libSystem): the
 * entry point the os_log() macro expands to, and OS_LOG_DEFAULT's object.
 * __dso_handle is the image's own mach header (the linker defines it). */
struct agx_os_log_s;
extern struct agx_os_log_s _os_log_default;
void _os_log_impl(void *dso, void *log, uint8_t type, const char *format, uint8_t *buf, uint32_t size);
extern const struct mach_header __dso_handle;

#endif /* AGX_OBJC_RUNTIME_ABI_H */
