#!/usr/bin/env bash
# What recording and replaying cost (sudo bench/record.sh; the README's
# "Recording" figures are this output):
#
# 1. A storm of OPENS failed opens under `--json > /dev/null`, `--record
#    FILE` and `--json` into a file, in turn, ROUNDS times: the tracer's
#    CPU (utime + stime) from just before the storm until 2 s after it,
#    what each captured and what each reported lost; and each recording's
#    CPU against the `--json > /dev/null` run just before it.
# 2. A recording of about RECORDING_MB MB (storms recorded back to back),
#    replayed in the UI in tmux: the time from start to the first frame on
#    screen, and from `g` + a time + Enter to the new time on screen
#    (tmux's polling included: upper bounds).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
OPENS=${OPENS:-1000000}
ROUNDS=${ROUNDS:-3}
RECORDING_MB=${RECORDING_MB:-100}
BIN=target/release/systrace-top
PROBE=target/release/examples/probe
HZ=$(getconf CLK_TCK)
SESSION=systrace-record-bench-$$

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (sudo bench/record.sh)"
[ -x "$BIN" ] && [ -x "$PROBE" ] || die "build first: cargo build --release --examples"
command -v tmux >/dev/null || die "tmux is missing"
WORK=$(mktemp -d)
cleanup() {
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
row() { printf '| %s ' "$@"; echo '|'; }
missing="/tmp/systrace-record-bench-$$-missing"

# Runs MODE's tracer through one storm; prints "CPU-seconds captured lost".
storm_under() { # mode
    local out=$WORK/$1.out err=$WORK/$1.err rec=$WORK/storm.rec pid
    rm -f "$rec"
    case $1 in
        json-null) "$BIN" --json >/dev/null 2>"$err" & ;;
        json-file) "$BIN" --json >"$out" 2>"$err" & ;;
        record) "$BIN" --record "$rec" >/dev/null 2>"$err" & ;;
    esac
    pid=$!
    # Loaded and attached well within this (about half a second here).
    sleep 2
    kill -0 "$pid" 2>/dev/null || die "$1 did not start: $(cat "$err")"
    local before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    "$PROBE" open-missing "$OPENS" "$missing"
    sleep 2
    local after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill -INT "$pid"; wait "$pid" || true
    local cpu=$(echo "($after - $before) / $HZ" | bc -l)
    local captured=- lost=-
    case $1 in
        json-file)
            captured=$(grep -c "\"path\":\"$missing\"" "$out" || true)
            lost=$(tail -n 1 "$out" | sed -n 's/.*"lost":{[^}]*"open":\([0-9]*\).*/\1/p') ;;
        record)
            "$BIN" --replay "$rec" --json >"$out"
            captured=$(grep -c "\"path\":\"$missing\"" "$out" || true)
            lost=$(tail -n 1 "$out" | sed -n 's/.*"lost":{[^}]*"open":\([0-9]*\).*/\1/p')
            echo "$(stat -c %s "$rec")" >"$WORK/record.size" ;;
    esac
    printf '%.2f %s %s\n' "$cpu" "$captured" "$lost"
}

echo "## Recording and replay"
echo
echo "$(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
echo
echo "### A storm of $OPENS failed opens, recorded; $ROUNDS rounds, the modes in turn"
echo
row "mode" "tracer CPU (s, median)" "captured" "reported lost"
row "---" "---:" "---:" "---:"
for mode in json-null json-file record; do : >"$WORK/$mode.rows"; done
: >"$WORK/ratios"
for _ in $(seq "$ROUNDS"); do
    for mode in json-null record json-file; do
        storm_under "$mode" >>"$WORK/$mode.rows"
    done
    # Each recording against the --json > /dev/null run just before it.
    paste -d' ' <(tail -n 1 "$WORK/json-null.rows") <(tail -n 1 "$WORK/record.rows") |
        awk '{printf "%.3f\n", $4 / $1}' >>"$WORK/ratios"
done
for mode in json-null json-file record; do
    cpu=$(awk '{print $1}' "$WORK/$mode.rows" | median)
    captured=$(awk '{print $2}' "$WORK/$mode.rows" | tr '\n' ' ')
    lost=$(awk '{print $3}' "$WORK/$mode.rows" | tr '\n' ' ')
    case $mode in
        json-null) label="--json > /dev/null" ;;
        json-file) label="--json > FILE" ;;
        record) label="--record FILE ($(( $(cat "$WORK/record.size") / 1048576 )) MB)" ;;
    esac
    row "$label" "$cpu" "$captured" "$lost"
done
echo
echo "Recording's CPU against \`--json > /dev/null\`'s in the run just before it:" \
    "$(tr '\n' ' ' <"$WORK/ratios")(median $(median <"$WORK/ratios")x)."
echo

echo "### Replaying a recording of about $RECORDING_MB MB in the UI"
echo
rec=$WORK/big.rec
"$BIN" --record "$rec" >/dev/null 2>"$WORK/big.err" &
pid=$!
sleep 1.5
while [ "$(stat -c %s "$rec" 2>/dev/null || echo 0)" -lt $((RECORDING_MB * 1048576)) ]; do
    "$PROBE" open-missing "$OPENS" "$missing-$RANDOM"
done
sleep 2
kill -INT "$pid"; wait "$pid" || true
size=$(( $(stat -c %s "$rec") / 1048576 ))
first=() seek=()
for _ in $(seq "$ROUNDS"); do
    t0=$(date +%s%N)
    tmux new-session -d -s "$SESSION" -x 160 -y 48 "$BIN --replay $rec"
    until tmux capture-pane -p -t "$SESSION" | grep -q 'REPLAY'; do
        [ "$(ms_since "$t0")" -lt 30000 ] || die "no first frame in 30 s"
        sleep 0.002
    done
    until tmux capture-pane -p -t "$SESSION" | grep -q '^PID'; do sleep 0.002; done
    first+=("$(ms_since "$t0")")
    tmux send-keys -t "$SESSION" p
    # To the middle and back to the start, each timed.
    for target in +30 -30; do
        before=$(tmux capture-pane -p -t "$SESSION" | head -1 | grep -o 'REPLAY [0-9:]*')
        t0=$(date +%s%N)
        tmux send-keys -t "$SESSION" g
        tmux send-keys -t "$SESSION" -l -- "$target"
        tmux send-keys -t "$SESSION" Enter
        until now=$(tmux capture-pane -p -t "$SESSION" | head -1 | grep -o 'REPLAY [0-9:]*') &&
            [ "$now" != "$before" ]; do
            [ "$(ms_since "$t0")" -lt 10000 ] || die "the seek to $target showed nothing in 10 s"
            sleep 0.002
        done
        seek+=("$(ms_since "$t0")")
    done
    tmux send-keys -t "$SESSION" q
    sleep 0.5
    tmux kill-session -t "$SESSION" 2>/dev/null || true
done
row "recording" "first frame (ms, each round)" "seek (ms, each)"
row "---" "---:" "---:"
row "$size MB, $(stat -c %s "$rec" | awk '{print $1}') bytes" "${first[*]}" "${seek[*]}"
