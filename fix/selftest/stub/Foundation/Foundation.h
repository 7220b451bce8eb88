/* Stub of the few Foundation declarations selftest.m uses, ONLY for the
 * syntax check on Linux (tests/fix_selftest.rs: clang -fsyntax-only). The Mac
 * build (run.sh) uses the real SDK; keep these signatures identical to it. */
#pragma once
#include <stdint.h>
typedef unsigned long NSUInteger;
typedef signed char BOOL;
#define nil ((id)0)
__attribute__((objc_root_class))
@interface NSObject
@end
@interface NSString : NSObject
+ (instancetype)stringWithUTF8String:(const char *)s;
- (const char *)UTF8String;
@end
@interface NSError : NSObject
- (NSString *)localizedDescription;
@end
@interface NSDictionary : NSObject
@end
