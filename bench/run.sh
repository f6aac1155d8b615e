#!/usr/bin/env bash
# systrace-top against its peers, side by side, in one run; prints Markdown
# tables (the README's Performance section is this output).
#
#   make bench                    installs the peers, builds, runs this as root
#   sudo bench/run.sh             the same, once built
#
# 1. overhead on dd bs=1 (4M syscalls): untraced, the empty-program floors,
#    systrace-top --json, the TUI (in tmux), --trace, bpftrace, strace, perf
# 2. open storm: 1,000,000 failed opens; beside bpftrace's opensnoop.bt
# 3. exec storm: 5,000 fork+execs with a 300-byte argument; beside execsnoop.bt
# 4. systrace-top's own cost: idle CPU, CPU in the storms, peak RSS, start
# 5. bounded memory: RSS after 1,000,000 distinct paths, and under a churn
#    of short-lived processes
#
# RUNS (5), STORMS (3), IDLE_SECONDS (30) and CHURN_SECONDS (600) shorten or
# lengthen it; LAST_SECTION=N stops after section N.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
RUNS=${RUNS:-5}
STORMS=${STORMS:-3}
IDLE_SECONDS=${IDLE_SECONDS:-30}
CHURN_SECONDS=${CHURN_SECONDS:-600}
LAST_SECTION=${LAST_SECTION:-5}
COUNT=2000000       # dd bytes: 2 syscalls each
SMALL_COUNT=20000   # for strace and perf trace, scaled up
OPENS=1000000
EXECS=5000
BIN=target/release/systrace-top
PROBE=target/release/examples/probe
ATTACH=target/release/examples/attach
TMUX_SESSION=systrace-bench-$$
HZ=$(getconf CLK_TCK)
# The peer for the overhead, the start time and the RSS: a per-PID syscall
# count, saying "ready" once attached.
BPFTRACE_COUNT='BEGIN { printf("ready\n"); } tracepoint:raw_syscalls:sys_enter { @[pid] = count(); }'

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (sudo bench/run.sh)"
# The peers (bpftrace, perf trace) find tracepoints through tracefs, which
# a fresh machine may not have mounted; systrace-top needs none.
if ! mount | grep -q tracefs; then
    mount -t tracefs nodev /sys/kernel/tracing || die "cannot mount tracefs for the peers"
fi
[ -x "$BIN" ] && [ -x "$PROBE" ] && [ -x "$ATTACH" ] ||
    die "build first: cargo build --release --examples (or make bench)"
for tool in bpftrace strace perf tmux clang bc; do
    command -v "$tool" >/dev/null || die "$tool is missing (make bench installs it)"
done
WORK=$(mktemp -d)
cleanup() {
    tmux kill-session -t "$TMUX_SESSION" 2>/dev/null || true
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---- helpers ----

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk -v k="$2" '$1 == k":" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# Percent of one core: two tick readings, SECONDS apart.
cpu_percent() { printf '%.2f' "$(echo "($2 - $1) * 100 / $HZ / $3" | bc -l)"; }

# dd's own time for COUNT bytes, from its statistics line.
dd_time() {
    dd if=/dev/zero of=/dev/null bs=1 count="$1" 2>&1 >/dev/null |
        awk '/copied/ {print $(NF - 3)}'
}
dd_median() { for _ in $(seq "$RUNS"); do dd_time "$COUNT"; done | median; }

# Runs a tracer in the background until it prints READY-PATTERN (on stdout
# or stderr); sets TRACER and READY_MS (time from start to that line).
start_tracer() { # name ready-pattern command...
    local name=$1 ready=$2 t0
    shift 2
    t0=$(date +%s%N)
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    TRACER=$!
    until grep -q -- "$ready" "$WORK/$name.out" "$WORK/$name.err" 2>/dev/null; do
        kill -0 "$TRACER" 2>/dev/null || die "$name did not start: $(cat "$WORK/$name.err")"
        [ "$(ms_since "$t0")" -lt 30000 ] || die "$name was not ready after 30 s"
        sleep 0.005
    done
    READY_MS=$(ms_since "$t0")
}
stop_tracer() { kill -INT "$TRACER"; wait "$TRACER" || true; }

# The TUI in a detached tmux session; sets TUI (its PID) and READY_MS (time
# to the first frame).
start_tui() {
    local t0
    t0=$(date +%s%N)
    tmux new-session -d -s "$TMUX_SESSION" -x 160 -y 48 "$BIN"
    until tmux capture-pane -p -t "$TMUX_SESSION" 2>/dev/null | grep -q ' systrace-top '; do
        [ "$(ms_since "$t0")" -lt 30000 ] || die "the TUI drew nothing in 30 s"
        sleep 0.005
    done
    READY_MS=$(ms_since "$t0")
    TUI=$(tmux list-panes -t "$TMUX_SESSION" -F '#{pane_pid}')
}
stop_tui() {
    tmux send-keys -t "$TMUX_SESSION" q
    while kill -0 "$TUI" 2>/dev/null; do sleep 0.05; done
    tmux kill-session -t "$TMUX_SESSION" 2>/dev/null || true
}

lost_of() { # file kind: KIND's lost count in FILE's final summary record
    tail -n 1 "$1" | sed -n "s/.*\"lost\":{[^}]*\"$2\":\([0-9]*\).*/\1/p"
}

row() { printf '| %s ' "$@"; echo '|'; }

clang -O2 -g -target bpf -c bench/floor.bpf.c -o "$WORK/floor.bpf.o"
clang -O2 -g -target bpf -DWITH_EXIT -c bench/floor.bpf.c -o "$WORK/floor-exit.bpf.o"

echo "## systrace-top benchmark"
echo
echo "$(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); median of $RUNS runs"
echo

# ---- 1. overhead ----

echo "### 1. Overhead: \`dd if=/dev/zero of=/dev/null bs=1 count=$COUNT\` (4M syscalls), dd's own time"
echo
echo "Each tracer's runs follow untraced runs of their own: the machine's drift"
echo "over the benchmark is not counted as overhead."
echo
row "tracer" "untraced" "traced" "slowdown"; row "---" "---:" "---:" "---:"
# The untraced time for the next row.
untraced() { base=$(dd_median); }
overhead() { # label, traced time
    row "$1" "$(printf '%.3f' "$base") s" "$(printf '%.3f' "$2") s" "$(ratio "$2" "$base")x"
}

untraced
start_tracer floor attached "$ATTACH" "$WORK/floor.bpf.o"
t=$(dd_median); stop_tracer
overhead "empty program on tp_btf/sys_enter (the floor)" "$t"

untraced
start_tracer floor-exit attached "$ATTACH" "$WORK/floor-exit.bpf.o"
t=$(dd_median); stop_tracer
overhead "empty programs on tp_btf/sys_enter and sys_exit" "$t"

untraced
start_tracer json '"type":"start"' "$BIN" --json
t=$(dd_median); stop_tracer
overhead "systrace-top --json" "$t"

# Failed calls counted: a second program at every syscall's exit (dd's
# calls succeed: this is what every call pays, not the count itself).
untraced
start_tracer errors '"type":"start"' "$BIN" --json --errors
t=$(dd_median); stop_tracer
overhead "systrace-top --json --errors (the errors view open)" "$t"

untraced
start_tui
t=$(dd_median); stop_tui
overhead "systrace-top (TUI in tmux)" "$t"

untraced
trace_times=()
for _ in $(seq "$RUNS"); do
    "$BIN" --trace -- sh -c "exec dd if=/dev/zero of=/dev/null bs=1 count=$COUNT 2>$WORK/dd.stats" \
        2>"$WORK/trace.txt"
    trace_times+=("$(awk '/copied/ {print $(NF - 3)}' "$WORK/dd.stats")")
    trace_lost=$(sed -n 's/.*systrace-top: \([0-9]*\) syscall records lost.*/\1/p' "$WORK/trace.txt" | tail -n 1)
    trace_lines=$(grep -c '^[a-z_0-9]*(' "$WORK/trace.txt" || true)
done
t=$(printf '%s\n' "${trace_times[@]}" | median)
overhead "systrace-top --trace (every call streamed; last run: $trace_lines lines, ${trace_lost:-0} lost)" "$t"

untraced
start_tracer bpftrace ready bpftrace -e "$BPFTRACE_COUNT"
t=$(dd_median); stop_tracer
bpftrace_ready_ms=$READY_MS
overhead "bpftrace per-PID count (raw_syscalls:sys_enter)" "$t"

# strace and perf trace, on a hundredth of the work, scaled back up.
scale=$(( COUNT / SMALL_COUNT ))
untraced
t=$(strace -c -f -o /dev/null dd if=/dev/zero of=/dev/null bs=1 count=$SMALL_COUNT 2>&1 >/dev/null |
    awk '/copied/ {print $(NF - 3)}')
overhead "strace -c -f (count=$SMALL_COUNT, x$scale)" "$(echo "$t * $scale" | bc -l)"
untraced
t=$(perf trace -s -o /dev/null -- dd if=/dev/zero of=/dev/null bs=1 count=$SMALL_COUNT 2>&1 >/dev/null |
    awk '/copied/ {print $(NF - 3)}')
overhead "perf trace -s (count=$SMALL_COUNT, x$scale)" "$(echo "$t * $scale" | bc -l)"
echo

[ "$LAST_SECTION" -ge 2 ] || exit 0
# ---- 2. open storm ----

storm_time() { # command..., wall time of it
    local t0=$(date +%s%N)
    "$@"
    printf '%.3f\n' "$(echo "($(date +%s%N) - $t0) / 1000000000" | bc -l)"
}
# Runs a storm STORMS times; sets T (the median time) and, when a tracer
# runs, CPU (its share of one core over the runs).
storm() { # command...
    local a b t0
    [ -n "${TRACER:-}" ] && a=$(cpu_ticks "$TRACER")
    t0=$(date +%s%N)
    T=$(for _ in $(seq "$STORMS"); do storm_time "$@"; done | median)
    [ -n "${TRACER:-}" ] && b=$(cpu_ticks "$TRACER") &&
        CPU=$(cpu_percent "$a" "$b" "$(echo "($(date +%s%N) - $t0) / 1000000000" | bc -l)")
    return 0
}
bpftrace_lost() { # name: the sum of its "Lost N events" lines
    cat "$WORK/$1.out" "$WORK/$1.err" | sed -n 's/.*Lost \([0-9]*\) events.*/\1/p' |
        awk '{s += $1} END {print s + 0}'
}

missing="/tmp/systrace-bench-$$-missing"
echo "### 2. Open storm: $OPENS failed opens of one missing path, one process; median of $STORMS storms"
echo
row "tracer" "time" "slowdown" "captured" "reported lost" "tracer CPU (% of a core)"
row "---" "---:" "---:" "---:" "---:" "---:"
TRACER=; storm "$PROBE" open-missing $OPENS "$missing"; open_base=$T
row "untraced" "$T s" "1.00x" "" "" ""

start_tracer storm '"type":"start"' "$BIN" --json
storm "$PROBE" open-missing $OPENS "$missing"
sleep 1; storm_rss=$(rss_mb "$TRACER" VmHWM); stop_tracer
captured=$(grep -c "\"path\":\"$missing\"" "$WORK/storm.out" || true)
row "systrace-top --json" "$T s" "$(ratio "$T" "$open_base")x" "$captured of $((STORMS * OPENS))" \
    "$(lost_of "$WORK/storm.out" open)" "$CPU%"

# Every call fails: each is counted in the error map too.
start_tracer storm-errors '"type":"start"' "$BIN" --json --errors
storm "$PROBE" open-missing $OPENS "$missing"
sleep 1; stop_tracer
captured=$(grep -c "\"path\":\"$missing\"" "$WORK/storm-errors.out" || true)
# The probe's final counts, in the rates records' `ended`.
counted=$(python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    for e in r.get("ended", []):
        if e["comm"] == "probe":
            n += e["errors"].get("openat", {}).get("ENOENT", 0)
print(n)' "$WORK/storm-errors.out")
row "systrace-top --json --errors (failures counted: $counted)" "$T s" "$(ratio "$T" "$open_base")x" "$captured of $((STORMS * OPENS))" \
    "$(lost_of "$WORK/storm-errors.out" open)" "$CPU%"

start_tracer opensnoop 'Tracing open' bpftrace /usr/sbin/opensnoop.bt
storm "$PROBE" open-missing $OPENS "$missing"
sleep 1; stop_tracer
captured=$(grep -c -- "$missing" "$WORK/opensnoop.out" || true)
row "bpftrace opensnoop.bt" "$T s" "$(ratio "$T" "$open_base")x" "$captured of $((STORMS * OPENS))" \
    "$(bpftrace_lost opensnoop)" "$CPU%"
echo

# Datagrams to an address: each a socket record (the connections view).
echo "Datagram storm: $OPENS one-byte sendto calls to 127.0.0.1:9 from one socket; median of $STORMS storms"
echo
row "tracer" "time" "slowdown" "captured" "reported lost" "tracer CPU (% of a core)"
row "---" "---:" "---:" "---:" "---:" "---:"
TRACER=; storm "$PROBE" send-storm $OPENS; send_base=$T
row "untraced" "$T s" "1.00x" "" "" ""
start_tracer sends '"type":"start"' "$BIN" --json
storm "$PROBE" send-storm $OPENS
sleep 1; stop_tracer
captured=$(grep -c '"remote":"127.0.0.1:9"' "$WORK/sends.out" || true)
row "systrace-top --json" "$T s" "$(ratio "$T" "$send_base")x" "$captured of $((STORMS * OPENS))" \
    "$(lost_of "$WORK/sends.out" net)" "$CPU%"
echo

[ "$LAST_SECTION" -ge 3 ] || exit 0
# ---- 3. exec storm ----

storm_arg=$("$PROBE" storm-arg)
echo "### 3. Exec storm: $EXECS fork+execs of \`/bin/true systrace-storm N <300-byte argument> end\`; median of $STORMS storms"
echo
row "tracer" "time" "slowdown" "captured" "with their full argv" "reported lost" "tracer CPU (% of a core)"
row "---" "---:" "---:" "---:" "---:" "---:" "---:"
TRACER=; storm "$PROBE" exec-storm $EXECS; exec_base=$T
row "untraced" "$T s" "1.00x" "" "" "" ""

start_tracer execs '"type":"start"' "$BIN" --json
storm "$PROBE" exec-storm $EXECS
sleep 1; exec_rss=$(rss_mb "$TRACER" VmHWM); stop_tracer
captured=$(grep '"type":"exec"' "$WORK/execs.out" | grep -c '"systrace-storm"' || true)
full=$(grep -F "\"$storm_arg\",\"end\"],\"argv_truncated\":false" "$WORK/execs.out" |
    grep -c '"argv":\["/bin/true","systrace-storm","[0-9]*",' || true)
row "systrace-top --json" "$T s" "$(ratio "$T" "$exec_base")x" "$captured of $((STORMS * EXECS))" "$full" \
    "$(lost_of "$WORK/execs.out" exec)" "$CPU%"

start_tracer execsnoop 'ARGS' bpftrace /usr/sbin/execsnoop.bt
storm "$PROBE" exec-storm $EXECS
sleep 1; stop_tracer
captured=$(grep -c 'systrace-storm' "$WORK/execsnoop.out" || true)
full=$(grep -cF -- "$storm_arg end" "$WORK/execsnoop.out" || true)
row "bpftrace execsnoop.bt" "$T s" "$(ratio "$T" "$exec_base")x" "$captured of $((STORMS * EXECS))" "$full" \
    "$(bpftrace_lost execsnoop)" "$CPU%"
echo

[ "$LAST_SECTION" -ge 4 ] || exit 0
# ---- 4. own cost ----

echo "### 4. systrace-top's own cost"
echo
row "what" "systrace-top --json" "systrace-top (TUI)" "bpftrace"
row "---" "---:" "---:" "---:"
starts=()
for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    "$BIN" --json --duration 0.3 | { read -r _; ms_since "$t0"; cat >/dev/null; } >"$WORK/start.ms"
    starts+=("$(cat "$WORK/start.ms")")
done
json_start=$(printf '%s\n' "${starts[@]}" | median)
frames=()
for _ in $(seq "$RUNS"); do
    start_tui; frames+=("$READY_MS"); stop_tui
done
tui_start=$(printf '%s\n' "${frames[@]}" | median)
row "start to first JSON line / first frame / BEGIN" "$json_start ms" "$tui_start ms" "$bpftrace_ready_ms ms"

start_tracer idle '"type":"start"' "$BIN" --json
a=$(cpu_ticks "$TRACER"); sleep "$IDLE_SECONDS"; b=$(cpu_ticks "$TRACER")
json_idle=$(cpu_percent "$a" "$b" "$IDLE_SECONDS"); json_rss=$(rss_mb "$TRACER" VmHWM); stop_tracer
start_tui
a=$(cpu_ticks "$TUI"); sleep "$IDLE_SECONDS"; b=$(cpu_ticks "$TUI")
tui_idle=$(cpu_percent "$a" "$b" "$IDLE_SECONDS"); tui_rss=$(rss_mb "$TUI" VmHWM); stop_tui
start_tracer bpftrace-idle ready bpftrace -e "$BPFTRACE_COUNT"
bpftrace_rss=$(rss_mb "$TRACER" VmHWM); stop_tracer
row "CPU idle, over ${IDLE_SECONDS} s (% of one core)" "$json_idle%" "$tui_idle%" ""
row "peak RSS: idle / open storm / exec storm" "$json_rss / $storm_rss / $exec_rss MB" "$tui_rss MB" \
    "$bpftrace_rss MB (count script)"
echo

[ "$LAST_SECTION" -ge 5 ] || exit 0
# ---- 5. bounded memory ----

echo "### 5. Bounded memory: the TUI's RSS"
echo
start_tui
rss_start=$(rss_mb "$TUI" VmRSS)
"$PROBE" open-distinct $OPENS "/tmp/systrace-bench-$$-distinct"
sleep 2
rss_paths=$(rss_mb "$TUI" VmRSS)
samples=()
step=$(( CHURN_SECONDS / 10 ))
"$PROBE" churn "$CHURN_SECONDS" >"$WORK/churn.out" &
churn=$!
for _ in $(seq 10); do
    sleep "$step"
    samples+=("$(rss_mb "$TUI" VmRSS)")
done
wait "$churn"
rss_peak=$(rss_mb "$TUI" VmHWM)
stop_tui
row "when" "RSS" ; row "---" "---:"
row "started" "$rss_start MB"
row "after $OPENS distinct missing paths opened" "$rss_paths MB"
row "churn of $(cat "$WORK/churn.out") short-lived processes over $CHURN_SECONDS s, every $step s" "${samples[*]} MB"
row "peak (VmHWM)" "$rss_peak MB"
