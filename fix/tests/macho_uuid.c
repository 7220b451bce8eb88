/*
 * macho_uuid.c - prints the LC_UUID of a thin 64-bit Mach-O file as the fix's
 * handshake reads it from its own image (agx_macho_uuid in core.c), so
 * tests/fix_dylib.rs can check it against `agx-triage`'s reading of the
 * cross-built dylib. Usage: macho_uuid FILE. Exit 1 when there is none.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 2;
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char out[37];
    if (agx_macho_uuid(buf, n, out) != 0) return 1;
    printf("%s\n", out);
    return 0;
}
