#!/usr/bin/env bash
# The null-syscall overhead of each exit hook (fexit, sys_exit) on another
# kernel, booted under qemu with virtme-ng as the kernel matrix does:
# dd bs=1 (two syscalls a byte), dd's own time, each traced run paired with
# the untraced run just before it, ROUNDS rounds of both hooks.
#
#   sudo bench/exit_hook_vm.sh target/kernels/images/linux-image-6.1.0-56-amd64/boot/vmlinuz-6.1.0-56-amd64
#
# The kernels and virtme-ng come from `make kernel-deps` and a `make kernels`
# run (target/kernels/). N (200000 bytes) and ROUNDS (5) change it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vmlinuz=${1:?the kernel image to boot (vmlinuz)}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat >"$out/guest.sh" <<GUEST
#!/bin/bash
exec 3>&- 4>&- 5>&-
ddtime() { dd if=/dev/zero of=/dev/null bs=1 count=${N:-200000} 2>&1 | sed -n 's/.*copied, \([0-9.]*\) s.*/\1/p'; }
traced() {
    rm -f $out/j
    SYSTRACE_EXIT_HOOK=\$1 $root/target/release/systrace-top --json --duration 600 >$out/j 2>/dev/null &
    pid=\$!
    for i in \$(seq 300); do grep -q '"start"' $out/j 2>/dev/null && break; sleep 0.2; done
    hook=\$(grep -o '"exit_hook":"[a-z_]*"' $out/j | head -1 | cut -d'"' -f4)
    t=\$(ddtime)
    kill -TERM \$pid; wait \$pid 2>/dev/null
    echo "\$hook \$t"
}
uname -r >$out/uname
for round in \$(seq ${ROUNDS:-5}); do
    for hook in fexit sys_exit; do
        echo "untraced \$(ddtime)" >>$out/results
        traced \$hook >>$out/results
    done
done
GUEST
chmod +x "$out/guest.sh"
PATH=$root/target/kernels/venv/bin:$PATH vng -r "$vmlinuz" --disable-kvm \
    --qemu-opts="-accel tcg,thread=single" --cpus 2 --memory 2G --rwdir="$out" \
    -e "$out/guest.sh" </dev/null 2>&1 | cat >/dev/null
echo "kernel $(cat "$out/uname")"
python3 - "$out/results" <<'PY'
import statistics, sys
lines = [l.split() for l in open(sys.argv[1])]
ratios = {}
for untraced, traced in zip(lines[::2], lines[1::2]):
    ratios.setdefault(traced[0], []).append(float(traced[1]) / float(untraced[1]))
for hook, r in ratios.items():
    print(f"{hook}: median {statistics.median(r):.2f}x of {len(r)} pairs ({' '.join(f'{x:.2f}' for x in r)})")
PY
