#!/usr/bin/env bash
# The terminal UI with many live processes: its memory, its idle CPU and how
# fast it answers a key, for each N given; prints a Markdown table.
#
#   sudo bench/tui_scale.sh                  N = 1000 5000 20000
#   sudo bench/tui_scale.sh 5000             one N
#
# For each N: `probe idle N` forks N sleeping processes (no exec: cheap, and
# all gone with it), the TUI starts in a detached tmux session of 200x60 and
# settles (it shows at least N processes, then SETTLE_SECONDS more), then:
#   - idle CPU: its utime+stime over IDLE_SECONDS, in % of one core
#   - settled RSS (VmRSS, after the idle time) and peak RSS (VmHWM, at the end)
#   - key latency: KEYS presses of `s` (next sort column), each timed from
#     `tmux send-keys` to the first screen line naming the new sort column
#     (polled every POLL_SECONDS); median and max. The same, timed on a pane
#     running cat, says what tmux and the polling alone take.
#
# It runs in a PID namespace of its own (unshare --pid --mount-proc): the TUI
# then sees only the processes started here, not what else the machine does
# meanwhile (other builds and tests make their own exits, execs and opens),
# and everything started here ends with it. HOST=1 runs it beside the rest.
#
# WAKE_MS makes each process wake that often (one nanosleep call a time):
# it then has syscall counters, and a row in the Syscalls view. Without it,
# the processes make no syscall once the TUI runs.
#
# SETTLE_SECONDS (10), IDLE_SECONDS (30), KEYS (20), POLL_SECONDS (0.002) and
# BIN (target/release/systrace-top) change it.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
if [ "${HOST:-0}" != 1 ] && [ -z "${TUI_SCALE_INSIDE:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "tui_scale: run as root (sudo bench/tui_scale.sh)" >&2; exit 1; }
    exec unshare --pid --fork --mount-proc env TUI_SCALE_INSIDE=1 "$0" "$@"
fi
SETTLE_SECONDS=${SETTLE_SECONDS:-10}
IDLE_SECONDS=${IDLE_SECONDS:-30}
KEYS=${KEYS:-20}
POLL_SECONDS=${POLL_SECONDS:-0.002}
BIN=${BIN:-target/release/systrace-top}
PROBE=target/release/examples/probe
TMUX_SESSION=systrace-scale
# A server of its own: one already running elsewhere would start the TUI
# outside this namespace.
tmux() { command tmux -S "$WORK/tmux" "$@"; }
HZ=$(getconf CLK_TCK)
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1000 5000 20000)

die() { echo "tui_scale: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (sudo bench/tui_scale.sh)"
[ -x "$BIN" ] && [ -x "$PROBE" ] ||
    die "build first: cargo build --release --examples"
for tool in tmux bc; do
    type -P "$tool" >/dev/null || die "$tool is missing"
done
WORK=$(mktemp -d)
IDLERS=
cleanup() {
    tmux kill-server 2>/dev/null || true
    # The idlers die with their parent (PR_SET_PDEATHSIG).
    [ -n "$IDLERS" ] && kill "$IDLERS" 2>/dev/null || true
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk -v k="$2" '$1 == k":" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
row() { printf '| %s ' "$@"; echo '|'; }
# The processes running now, all users.
process_count() { { find /proc -maxdepth 1 -name '[0-9]*' 2>/dev/null || true; } | wc -l; }
screen() { tmux capture-pane -p -t "$TMUX_SESSION" 2>/dev/null; }

# Room for N more processes, with a margin for everyone else.
check_room() { # n
    local pid_max threads_max nproc running
    pid_max=$(cat /proc/sys/kernel/pid_max)
    threads_max=$(cat /proc/sys/kernel/threads-max)
    nproc=$(ulimit -u)
    running=$(process_count)
    [ $(( running + $1 + 1000 )) -le "$pid_max" ] ||
        die "N=$1: pid_max is $pid_max and $running processes run (raise /proc/sys/kernel/pid_max)"
    [ $(( $1 + 1000 )) -le "$threads_max" ] ||
        die "N=$1: threads-max is $threads_max (raise /proc/sys/kernel/threads-max)"
    [ "$nproc" = unlimited ] || [ $(( running + $1 )) -le "$nproc" ] ||
        die "N=$1: ulimit -u is $nproc (raise it: ulimit -u unlimited)"
}

start_idlers() { # n
    "$PROBE" idle "$1" ${WAKE_MS:+"$WAKE_MS"} >"$WORK/idle.out" 2>"$WORK/idle.err" &
    IDLERS=$!
    until grep -q ready "$WORK/idle.out" 2>/dev/null; do
        kill -0 "$IDLERS" 2>/dev/null || die "probe idle $1 failed: $(cat "$WORK/idle.err")"
        sleep 0.05
    done
}
stop_idlers() {
    kill "$IDLERS" 2>/dev/null || true
    wait "$IDLERS" 2>/dev/null || true
    IDLERS=
    # Let the kernel reap the children before the next N counts processes.
    local t0
    t0=$(date +%s%N)
    while pgrep -f "^$PROBE idle" >/dev/null && [ "$(ms_since "$t0")" -lt 30000 ]; do
        sleep 0.2
    done
}

# The TUI in a detached tmux session; sets TUI (its PID) and READY_MS (time
# to the first frame), then waits until it shows at least N processes.
start_tui() { # n
    local t0 procs
    t0=$(date +%s%N)
    tmux new-session -d -s "$TMUX_SESSION" -x 200 -y 60 "exec $BIN"
    until screen | grep -q ' systrace-top '; do
        [ "$(ms_since "$t0")" -lt 60000 ] || die "the TUI drew nothing in 60 s"
        sleep 0.005
    done
    READY_MS=$(ms_since "$t0")
    TUI=$(tmux list-panes -t "$TMUX_SESSION" -F '#{pane_pid}')
    until procs=$(screen | sed -n 's/.* procs \([0-9]*\) .*/\1/p' | head -n 1) &&
        [ "${procs:-0}" -ge "$1" ]; do
        [ "$(ms_since "$t0")" -lt 120000 ] || die "the TUI showed ${procs:-no} processes of $1 after 120 s"
        sleep 0.1
    done
}
stop_tui() {
    tmux send-keys -t "$TMUX_SESSION" q
    local t0
    t0=$(date +%s%N)
    while kill -0 "$TUI" 2>/dev/null && [ "$(ms_since "$t0")" -lt 10000 ]; do sleep 0.05; done
    tmux kill-session -t "$TMUX_SESSION" 2>/dev/null || true
}

# The first screen line: the TUI names its sort column there.
first_line() { tmux capture-pane -p -t "$TMUX_SESSION" -S 0 -E 0 2>/dev/null; }

# Microseconds from sending KEY to the first screen line changing.
key_latency() { # key
    local before t0
    before=$(first_line)
    t0=$(date +%s%N)
    tmux send-keys -t "$TMUX_SESSION" "$1"
    while [ "$(first_line)" = "$before" ]; do
        [ "$(ms_since "$t0")" -lt 10000 ] || die "the screen did not change 10 s after a key"
        sleep "$POLL_SECONDS"
    done
    echo $(( ($(date +%s%N) - t0) / 1000 ))
}

# KEYS presses of KEY, apart; sets KEY_MEDIAN and KEY_MAX (ms).
time_keys() { # key
    : >"$WORK/keys"
    for i in $(seq "$KEYS"); do
        key_latency "$1" >>"$WORK/keys"
        # Keys land at every phase of the frame and the collector's tick.
        sleep "0.$(( 200 + i * 137 % 600 ))"
    done
    KEY_MEDIAN=$(printf '%.1f' "$(echo "$(median <"$WORK/keys") / 1000" | bc -l)")
    KEY_MAX=$(printf '%.1f' "$(echo "$(sort -n "$WORK/keys" | tail -n 1) / 1000" | bc -l)")
}

echo "## systrace-top's terminal UI with N idle processes${WAKE_MS:+, each waking every $WAKE_MS ms}"
echo
echo "$(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); $([ "${HOST:-0}" = 1 ] && echo "beside everything else the machine runs" || echo "in a PID namespace of its own"); a 200x60 tmux pane; idle CPU over $IDLE_SECONDS s; $KEYS presses of \`s\`"
echo
# What tmux and the polling add: a pane running cat, whose terminal echoes
# each key on the first line.
tmux new-session -d -s "$TMUX_SESSION" -x 200 -y 60 "exec cat"
time_keys x
tmux kill-session -t "$TMUX_SESSION"
echo "Key latency is from \`tmux send-keys\` to the new screen, read with \`tmux capture-pane\` every $POLL_SECONDS s; tmux and that polling alone (a pane running cat, its echo timed the same way) take $KEY_MEDIAN ms (median), $KEY_MAX ms (max)."
echo
row "N" "first frame" "RSS settled" "RSS peak" "idle CPU (% of a core)" "key median" "key max"
row "---:" "---:" "---:" "---:" "---:" "---:" "---:"
for n in "${COUNTS[@]}"; do
    check_room "$n"
    start_idlers "$n"
    start_tui "$n"
    sleep "$SETTLE_SECONDS"
    a=$(cpu_ticks "$TUI"); sleep "$IDLE_SECONDS"; b=$(cpu_ticks "$TUI")
    cpu=$(printf '%.2f' "$(echo "($b - $a) * 100 / $HZ / $IDLE_SECONDS" | bc -l)")
    settled=$(rss_mb "$TUI" VmRSS)
    time_keys s
    peak=$(rss_mb "$TUI" VmHWM)
    row "$n" "$READY_MS ms" "$settled MB" "$peak MB" "$cpu%" "$KEY_MEDIAN ms" "$KEY_MAX ms"
    stop_tui
    stop_idlers
done
