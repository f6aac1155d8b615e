#!/bin/bash
# The overhead of two builds of systrace-top, in one run: dd bs=1 (4M
# syscalls; the null-syscall path) or, with WORKLOAD=open, 1,000,000 failed
# opens (the open records' path), under each build's --json, each traced
# run against the untraced run just before it (the VM drifts). Prints one
# line a round: its two slowdowns.
#
#   sudo [WORKLOAD=open] bench/compare-builds.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# e.g. an earlier commit built in a worktree:
#   git worktree add /tmp/old REV && (cd /tmp/old && cargo build --release)
#   sudo bench/compare-builds.sh /tmp/old/target/release/systrace-top target/release/systrace-top 6
set -euo pipefail
OLD=$1 NEW=$2 ROUNDS=${3:-5}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

PROBE=$(dirname "$0")/../target/release/examples/probe
MISSING=/nonexistent-systrace-compare
case ${WORKLOAD:=dd} in
    dd) ;;
    open) [ -x "$PROBE" ] || { echo "no $PROBE: cargo build --release --examples" >&2; exit 1; } ;;
    *) echo "WORKLOAD is dd or open, not $WORKLOAD" >&2; exit 2 ;;
esac
work_ns() {
    local t0
    t0=$(date +%s%N)
    if [ "$WORKLOAD" = open ]; then
        "$PROBE" open-missing 1000000 "$MISSING"
    else
        dd if=/dev/zero of=/dev/null bs=1 count=2000000 2>/dev/null
    fi
    echo $(($(date +%s%N) - t0))
}
traced_ns() { # binary
    "$1" --json >"$OUT" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do
        grep -q '"type":"start"' "$OUT" 2>/dev/null && break
        sleep 0.05
    done
    grep -q '"type":"start"' "$OUT" || { echo "$1 did not start: $(cat "$OUT")" >&2; exit 1; }
    work_ns
    kill -INT "$pid"
    wait "$pid" 2>/dev/null || true
}
for i in $(seq "$ROUNDS"); do
    base=$(work_ns)
    old=$(traced_ns "$OLD")
    base2=$(work_ns)
    new=$(traced_ns "$NEW")
    echo "$i old $(echo "scale=2; $old / $base" | bc)x new $(echo "scale=2; $new / $base2" | bc)x"
done
