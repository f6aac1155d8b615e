#!/bin/bash
# How many of strace's lines --trace writes identically, on a small corpus
# of commands. Lines are compared as multisets per command, after taking
# out what differs between any two runs: pids, addresses, numbers of four
# digits or more, strace's column padding, and -T durations. strace -f's
# "<unfinished ...>" / "<... resumed>" halves and signal lines are dropped
# (they have no counterpart). Run as root from the repository.
# Usage: bench/compare-strace.sh [BIN]
set -u
BIN=$(realpath "${1:-target/release/systrace-top}")
OUT=$(mktemp -d)
norm() {
    sed -E -e 's/^[0-9]+ +//' -e 's/\) +=  */) = /' -e 's/^\[pid +[0-9]+\] //' \
        -e 's/ <[0-9]+\.[0-9]+>$//' -e 's/0x[0-9a-f]+/ADDR/g' -e 's/= [0-9]{3,}$/= N/' \
        -e 's/\b[0-9]{4,7}\b/N/g' |
        grep -v -e '^---' -e 'resumed>' -e 'unfinished \.\.\.>'
}
cmds=("ls -l /etc" "cat /etc/hostname" "python3 -c pass"
    "dd if=/dev/zero of=/dev/null count=3" "sh -c 'echo hi | cat'"
    "stat /etc/passwd" "sleep 0.1")
total=0 same=0 i=0
cd /tmp || exit 1
for c in "${cmds[@]}"; do
    i=$((i + 1))
    eval "strace -f -o $OUT/s$i.raw $c" >/dev/null 2>&1
    eval "$BIN --trace --follow -- $c" >/dev/null 2>"$OUT/m$i.raw"
    norm <"$OUT/s$i.raw" | sort >"$OUT/s$i"
    norm <"$OUT/m$i.raw" | sort >"$OUT/m$i"
    n=$(wc -l <"$OUT/s$i")
    k=$(comm -12 "$OUT/s$i" "$OUT/m$i" | wc -l)
    echo "$k/$n  $c"
    total=$((total + n)) same=$((same + k))
done
echo "identical: $same/$total ($(echo "scale=1; 100 * $same / $total" | bc)%); outputs in $OUT"
