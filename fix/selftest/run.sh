#!/bin/bash
# run.sh DYLIB - the AGX fix's self-test on a real Mac (see fix/README.md).
#
# Builds selftest.m with `xcrun clang`, then runs every case as a child
# process with a timeout, with and without the fix injected, and prints a
# report to attach to a writeup. Exit 0 when every check passed.
#
#   TIMEOUT=120  seconds per child     RUNS=200  runs of the shared-encoder race
#   BUILD=dir    where the binary goes (default: fix/selftest/build)
#
# Bash 3.2 (the one macOS ships): no associative arrays, no ${x,,}.
set -u
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: $0 path/to/libagx_fix_vX_Y.dylib" >&2
    exit 2
fi
dylib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/build}
TIMEOUT=${TIMEOUT:-120}
RUNS=${RUNS:-200}
mkdir -p "$build" || exit 2
bin=$build/selftest
# No hardened runtime and not in a SIP-protected path: DYLD_INSERT_LIBRARIES is honoured.
xcrun clang -fobjc-arc -O2 -Wall -framework Foundation -framework Metal "$here/selftest.m" -o "$bin" || exit 2

failed=0
pass() { echo "PASS $1: $2"; }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# child WITH ARGS... -> sets out, rc. WITH=1 injects the fix (plus any
# AGX_FIX_* variables exported by the caller of child).
child() {
    local with=$1
    shift
    if [ "$with" = 1 ]; then
        out=$(DYLD_INSERT_LIBRARIES="$dylib" perl -e 'alarm shift @ARGV; exec @ARGV or die "exec: $!"' \
            "$TIMEOUT" "$bin" "$@" 2>"$build/stderr.txt")
    else
        out=$(env -u DYLD_INSERT_LIBRARIES perl -e 'alarm shift @ARGV; exec @ARGV or die "exec: $!"' \
            "$TIMEOUT" "$bin" "$@" 2>"$build/stderr.txt")
    fi
    rc=$?
}

field() { # field NAME TEXT -> value of NAME=value
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

echo "# AGX fix self-test"
echo
echo "- dylib: $dylib ($(shasum -a 256 "$dylib" | cut -c1-16)...)"
echo "- macOS: $(sw_vers -productVersion 2>/dev/null) ($(sw_vers -buildVersion 2>/dev/null)), $(uname -m), $(sysctl -n machdep.cpu.brand_string 2>/dev/null)"
arch=$(uname -m)
want_uuid=$(dwarfdump --uuid "$dylib" 2>/dev/null | awk -v a="($arch)" '$3 == a { print $2 }')
echo "- LC_UUID of the $arch slice: ${want_uuid:-unknown}"
echo

# 1. loads, exits 0, and proves it through the handshake
hs=$build/handshake.jsonl
rm -f "$hs"
AGX_FIX_HANDSHAKE=$hs child 1 load
if [ $rc -eq 0 ] && [ "$(field active "$out")" = 1 ]; then pass load "$out"; else fail load "exit $rc: $out $(cat "$build/stderr.txt")"; fi
if [ -n "$want_uuid" ] && grep -q "\"uuid\":\"$want_uuid\"" "$hs" 2>/dev/null; then
    pass handshake "$(head -n 1 "$hs")"
else
    fail handshake "no line with uuid $want_uuid in $hs: $(cat "$hs" 2>/dev/null)"
fi
child 0 load
[ "$out" = "active=none" ] && pass "load without the fix" "$out" || fail "load without the fix" "$out"

# 2. AGX_FIX_DISABLE
AGX_FIX_DISABLE=1 child 1 load
[ $rc -eq 0 ] && [ "$(field active "$out")" = 0 ] && pass "AGX_FIX_DISABLE=1" "$out" || fail "AGX_FIX_DISABLE=1" "exit $rc: $out"
AGX_FIX_DISABLE=0 child 1 load
[ $rc -eq 0 ] && [ "$(field active "$out")" = 1 ] && pass "AGX_FIX_DISABLE=0" "$out" || fail "AGX_FIX_DISABLE=0" "exit $rc: $out"

# 3. the hooked methods resolve into the dylib
child 1 imps
[ $rc -eq 0 ] && pass imps "$(printf '%s' "$out" | tr '\n' ';')" || fail imps "exit $rc: $(printf '%s' "$out" | tr '\n' ';')"

# 4. identical results with and without the fix, 1 and 8 threads, nothing dropped
for spec in "1 400" "8 50"; do
    set -- $spec
    child 0 compute "$1" "$2"
    without=$(field hash "$out")
    child 1 compute "$1" "$2"
    with=$(field hash "$out")
    skipped=$(field calls_skipped "$out")
    if [ $rc -eq 0 ] && [ -n "$with" ] && [ "$with" = "$without" ] && [ "$skipped" = 0 ]; then
        pass "compute $1 thread(s)" "hash $with both ways, calls_skipped=0"
    else
        fail "compute $1 thread(s)" "without $without, with $with (exit $rc), calls_skipped=$skipped"
    fi
done

# 5. an encoder ended and another made on the same command buffer is not dropped
child 1 reencode
[ $rc -eq 0 ] && pass reencode "$out" || fail reencode "exit $rc: $out $(cat "$build/stderr.txt")"

# 6. two threads share one encoder; one ends and commits at a random moment
for with in 0 1; do
    crashes=0
    i=0
    while [ $i -lt "$RUNS" ]; do
        child $with shared $i
        [ $rc -ne 0 ] && crashes=$((crashes + 1))
        i=$((i + 1))
    done
    if [ $with = 1 ]; then
        [ $crashes -eq 0 ] && pass "shared encoder, with the fix" "0 of $RUNS runs failed" ||
            fail "shared encoder, with the fix" "$crashes of $RUNS runs failed"
    else
        echo "INFO shared encoder, without the fix: $crashes of $RUNS runs failed (crash reports in ~/Library/Logs/DiagnosticReports)"
    fi
done

# 7. throughput (reported, not judged)
child 0 throughput 8 100
t0=$(field elapsed_ms "$out")
child 1 throughput 8 100
t1=$(field elapsed_ms "$out")
echo "INFO throughput, 8 threads x 100 dispatches: without the fix ${t0:-?} ms, with ${t1:-?} ms"

echo
[ $failed -eq 0 ] && echo "all checks passed" || echo "$failed check(s) failed"
[ $failed -eq 0 ]
