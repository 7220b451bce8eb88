/*
 * darwin_libc_abi.h - the few libSystem declarations the fix uses, for builds
 * without Apple's SDK (cross-building on Linux with clang -target
 * *-apple-macos12 -ffreestanding -nostdlibinc, so no glibc header can leak in).
 *
 * Only used when AGX_FIX_NO_SDK is defined; a native macOS build includes the
 * real SDK headers instead. Layouts are those of Darwin arm64 and x86_64 (LP64):
 * pthread_mutex_t is { long __sig; char __opaque[56]; } and the static
 * initialiser's signature is 0x32AAABA7 (<sys/_pthread/_pthread_types.h>).
 */
#ifndef AGX_DARWIN_LIBC_ABI_H
#define AGX_DARWIN_LIBC_ABI_H

#if !defined(__APPLE__) || !defined(__LP64__)
#error "darwin_libc_abi.h is for -target arm64-apple-macos / x86_64-apple-macos only"
#endif

#include <stddef.h> /* clang's own freestanding header */
#include <stdint.h>

typedef long ssize_t;

typedef struct { long __sig; char __opaque[56]; } pthread_mutex_t;
typedef struct { long __sig; char __opaque[8]; } pthread_mutexattr_t;
typedef struct { long __sig; char __opaque[56]; } pthread_attr_t;
typedef struct _opaque_pthread_t *pthread_t;
typedef int pid_t;
typedef unsigned long pthread_key_t;

#define PTHREAD_MUTEX_RECURSIVE 2
#define PTHREAD_MUTEX_INITIALIZER {0x32AAABA7, {0}}
#define PTHREAD_CREATE_DETACHED 2

int pthread_mutex_init(pthread_mutex_t *, const pthread_mutexattr_t *);
int pthread_mutex_destroy(pthread_mutex_t *);
int pthread_mutex_lock(pthread_mutex_t *);
int pthread_mutex_trylock(pthread_mutex_t *);
int pthread_mutex_unlock(pthread_mutex_t *);
int pthread_mutexattr_init(pthread_mutexattr_t *);
int pthread_mutexattr_settype(pthread_mutexattr_t *, int);
int pthread_mutexattr_destroy(pthread_mutexattr_t *);
int pthread_attr_init(pthread_attr_t *);
int pthread_attr_destroy(pthread_attr_t *);
int pthread_attr_setdetachstate(pthread_attr_t *, int);
int pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
pthread_t pthread_self(void);
int pthread_equal(pthread_t, pthread_t);
int pthread_key_create(pthread_key_t *, void (*)(void *));
void *pthread_getspecific(pthread_key_t);
int pthread_setspecific(pthread_key_t, const void *);

struct timespec { long tv_sec; long tv_nsec; };
typedef int clockid_t; /* an enum in <time.h>; int-sized */
#define CLOCK_MONOTONIC 6
int clock_gettime(clockid_t, struct timespec *);

void *malloc(size_t);
void *calloc(size_t, size_t);
void *realloc(void *, size_t);
void free(void *);
char *getenv(const char *);
int atexit(void (*)(void));
ssize_t write(int, const void *, size_t);
int open(const char *, int, ...);
int close(int);
pid_t getpid(void);
#define O_WRONLY 0x0001
#define O_APPEND 0x0008
#define O_CREAT 0x0200
#define O_CLOEXEC 0x01000000
#define O_NOFOLLOW 0x0100
char *strstr(const char *, const char *);
size_t strlen(const char *);
int strcmp(const char *, const char *);
int strncmp(const char *, const char *, size_t);
int strcasecmp(const char *, const char *);
void *memset(void *, int, size_t);
void *memcpy(void *, const void *, size_t);
int snprintf(char *, size_t, const char *, ...);
unsigned long strtoul(const char *, char **, int);

#endif /* AGX_DARWIN_LIBC_ABI_H */
