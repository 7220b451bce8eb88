#!/bin/sh
# check_dylib.sh OBJDUMP DYLIB INSTALL_NAME VERSION COMPAT_VERSION
# Checks the universal fix dylib with `llvm-objdump --macho --private-headers`:
# both slices, install name, current/compatibility version, a UUID per slice,
# the metadata section with the right version, libobjc linked, arm64 signed.
set -eu
objdump=$1 dylib=$2 name=$3 version=$4 compat=$5
abc() { # 2.4 -> 2.4.0
    echo "$1" | awk -F. '{ printf "%d.%d.%d", $1, ($2 == "" ? 0 : $2), ($3 == "" ? 0 : $3) }'
}
fail() { echo "check-dylib: FAIL: $*" >&2; exit 1; }
hdr=$("$objdump" --macho --private-headers --arch=all "$dylib") || fail "llvm-objdump failed"
for arch in arm64 x86_64; do
    slice=$(printf '%s\n' "$hdr" | awk -v a="$arch" '
        /\(architecture / { on = index($0, "(architecture " a ")") > 0; next }
        on { print }')
    [ -n "$slice" ] || fail "no $arch slice"
    printf '%s\n' "$slice" | grep -A3 'cmd LC_ID_DYLIB' | grep -q "name $name (offset" ||
        fail "$arch: install name is not $name"
    printf '%s\n' "$slice" | grep -A5 'cmd LC_ID_DYLIB' | grep -Eq "^ *current version $(abc "$version")\$" ||
        fail "$arch: current version is not $(abc "$version")"
    printf '%s\n' "$slice" | grep -A6 'cmd LC_ID_DYLIB' | grep -Eq "^ *compatibility version $(abc "$compat")\$" ||
        fail "$arch: compatibility version is not $(abc "$compat")"
    printf '%s\n' "$slice" | grep -Eq '^ *uuid [0-9A-F-]{36}$' || fail "$arch: no LC_UUID"
    printf '%s\n' "$slice" | grep -q 'sectname __agx_fix_meta' || fail "$arch: no __agx_fix_meta section"
    printf '%s\n' "$slice" | grep -A3 'cmd LC_LOAD_DYLIB' | grep -q 'name /usr/lib/libobjc.A.dylib ' ||
        fail "$arch: does not link libobjc"
    # Apple silicon refuses unsigned code: the arm64 slice needs (at least) an ad-hoc signature.
    if [ "$arch" = arm64 ]; then
        printf '%s\n' "$slice" | grep -q 'cmd LC_CODE_SIGNATURE' || fail "arm64: no code signature"
    fi
    echo "check-dylib: $arch ok: $name, current $(abc "$version"), compatibility $(abc "$compat"), $(printf '%s\n' "$slice" | grep -Em1 '^ *uuid ' | tr -s ' ')"
done
exports=$("$objdump" --macho --exports-trie --arch=all "$dylib")
for sym in _agx_fix_version _agx_fix_metadata _agx_fix_stats _agx_fix_active; do
    [ "$(printf '%s\n' "$exports" | grep -c " $sym\$")" -eq 2 ] || fail "$sym not exported by both slices"
done
echo "check-dylib: C API exported by both slices"
n=$(grep -c -a "\"version\":\"$version\"" "$dylib" || true)
[ "$n" -ge 1 ] || fail "metadata JSON with \"version\":\"$version\" not found"
echo "check-dylib: metadata found"
