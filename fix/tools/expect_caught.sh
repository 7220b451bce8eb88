#!/bin/sh
# expect_caught.sh BINARY PATTERN - run a deliberately unfixed build
# (-DAGX_FIX_TEST_NO_LOCK) and succeed only if it fails AND the sanitizer
# report matches PATTERN. If the sanitizer stays silent, the locked build's
# clean run would prove nothing, so that is a test failure.
set -u
bin=$1 pattern=$2
out=$("$bin" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -Eq "$pattern"; then
    echo "ok: $(basename "$bin") caught as expected (exit $rc): $(printf '%s\n' "$out" | grep -Em1 "$pattern")"
    exit 0
fi
printf '%s\n' "$out" | tail -n 20
echo "FAIL: $(basename "$bin") exited $rc without a report matching /$pattern/: the unlocked variant was not caught" >&2
exit 1
