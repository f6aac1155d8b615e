#!/usr/bin/env bash
# Overhead of systrace-top on a syscall-heavy workload, against the untraced
# run and against bpftrace measured in the same run; then an open storm:
# 1,000,000 failed opens, captured versus reported lost.
#
#   sudo bench/overhead.sh [RUNS]      (default 5 runs of each, median kept)
#
# Needs: a release build (cargo build --release --examples), bpftrace.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BIN=target/release/systrace-top
PROBE=target/release/examples/probe
[ -x "$BIN" ] && [ -x "$PROBE" ] || { echo "build first: cargo build --release --examples" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

workload() { dd if=/dev/zero of=/dev/null bs=1 count=2000000 2>/dev/null; }

# Median wall time of the workload, in seconds.
median_time() {
    local times=()
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(date +%s.%N); workload; t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc -l)")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# Starts a tracer in the background and waits until it is attached.
start_tracer() { # name, ready-pattern, command...
    local name=$1 ready=$2; shift 2
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    TRACER=$!
    for _ in $(seq 300); do
        grep -q "$ready" "$WORK/$name.out" "$WORK/$name.err" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$name did not start: $(cat "$WORK/$name.err")" >&2; exit 1
}
stop_tracer() { kill -INT "$TRACER"; wait "$TRACER" || true; }

echo "dd if=/dev/zero of=/dev/null bs=1 count=2000000 (4M syscalls), median of $RUNS runs"
base=$(median_time)
printf '%-28s %8.3f s  %5.2fx\n' "untraced" "$base" 1

start_tracer systrace '"type":"start"' "$BIN" --json
t=$(median_time); stop_tracer
printf '%-28s %8.3f s  %5.2fx\n' "systrace-top --json" "$t" "$(echo "$t / $base" | bc -l)"

if command -v bpftrace >/dev/null; then
    start_tracer bpftrace 'Attaching' bpftrace -e 'tracepoint:raw_syscalls:sys_enter { @[pid] = count(); }'
    t=$(median_time); stop_tracer
    printf '%-28s %8.3f s  %5.2fx\n' "bpftrace per-PID count" "$t" "$(echo "$t / $base" | bc -l)"
fi

echo
echo "open storm: 1,000,000 failed opens of one missing path"
missing="/tmp/systrace-storm-$$-missing"
t0=$(date +%s.%N); "$PROBE" open-missing 1000000 "$missing"; t1=$(date +%s.%N)
storm_base=$(echo "$t1 - $t0" | bc -l)
start_tracer storm '"type":"start"' "$BIN" --json
t0=$(date +%s.%N); "$PROBE" open-missing 1000000 "$missing"; t1=$(date +%s.%N)
sleep 1; stop_tracer
storm=$(echo "$t1 - $t0" | bc -l)
captured=$(grep -c "\"path\":\"$missing\"" "$WORK/storm.out" || true)
lost=$(tail -n 1 "$WORK/storm.out" | sed -n 's/.*"lost":{[^}]*"open":\([0-9]*\).*/\1/p')
printf 'untraced %.3f s, traced %.3f s (%.2fx)\n' "$storm_base" "$storm" "$(echo "$storm / $storm_base" | bc -l)"
echo "captured $captured, reported lost ${lost:-?}, sum $((captured + ${lost:-0})) of 1000000"
