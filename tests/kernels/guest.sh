#!/usr/bin/env bash
# Runs inside a virtme-ng guest (started by tests/kernels/run.sh): the test
# executables listed in OUT/plan, one after the other, each with its log in
# OUT/NAME.log and one line in OUT/results:
#   NAME PASSED FAILED SECONDS STATUS
# For a kernel older than the tool's minimum (OUT/expect is "refusal"), it
# first checks that systrace-top refuses it in one line (OUT/refusal).
set -uo pipefail
out=$1
# virtme-ng hands its console descriptors on as 3, 4 and 5: a traced
# command would inherit them.
exec 3>&- 4>&- 5>&-
cd "$(dirname "$0")/../.."
: >"$out/results"
uname -r >"$out/uname"
read -r bin <"$out/binary"
if [ "$(cat "$out/expect")" = refusal ]; then
    "$bin" --json --duration 1 >/dev/null 2>"$out/refusal"
    echo "$?" >"$out/refusal.status"
else
    # The hook this kernel gets, from the start record; the tests check it
    # is the expected one.
    "$bin" --json --duration 1 2>"$out/hook.err" | head -1 |
        sed -n 's/.*"exit_hook":"\([a-z_]*\)".*/\1/p' >"$out/exit_hook"
    SYSTRACE_EXPECT_EXIT_HOOK=$(cat "$out/expect_exit_hook")
    export SYSTRACE_EXPECT_EXIT_HOOK
fi
# The guest is slower than the host: the tests' deadlines keep their
# bounds and give their slack this factor (software emulation is about 5x
# slower); a whole binary gets a bound.
export SYSTRACE_TEST_SLOWDOWN=${SYSTRACE_TEST_SLOWDOWN:-4}
while read -r name exe; do
    start=$(date +%s.%N)
    # --show-output: the SKIPPED lines of tests that passed are counted.
    timeout -k 10 "${GUEST_TEST_TIMEOUT:-900}" "$exe" --show-output >"$out/$name.log" 2>&1 </dev/null
    status=$?
    end=$(date +%s.%N)
    result=$(grep -a '^test result:' "$out/$name.log" | tail -1)
    passed=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$result")
    failed=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$result")
    echo "$name ${passed:-0} ${failed:-0} $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", e - s }') $status" >>"$out/results"
done <"$out/plan"
dmesg >"$out/dmesg" 2>&1
echo done >"$out/done"
