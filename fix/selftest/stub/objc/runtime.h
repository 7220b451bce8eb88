/* Stub of <objc/runtime.h> for the syntax check only (see Foundation.h). */
#pragma once
typedef struct objc_method *Method;
typedef void (*IMP)(void);
Class object_getClass(id obj);
Method class_getInstanceMethod(Class cls, SEL sel);
IMP method_getImplementation(Method m);
const char *class_getName(Class cls);
const char *sel_getName(SEL sel);
