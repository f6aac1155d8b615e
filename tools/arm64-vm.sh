#!/usr/bin/env bash
# Builds systrace-top for aarch64 on an x86_64 Debian machine and runs it on
# Debian's arm64 kernel under qemu-system-aarch64 (TCG: no arm64 hardware),
# from an initramfs: its programs go through that kernel's verifier with the
# values Rust gives them, and it must then see known processes' execs,
# forks, exits and opens, and --trace a command to its end.
#
#   tools/arm64-vm.sh          # ~10 min the first time, ~2 min after
#
# Everything it fetches comes from Debian's archive through apt-get, into
# target/arm64-vm/ (kept between runs), never into this machine's apt setup:
# Debian unstable's rustc and its arm64 standard library (rustup's own
# aarch64 target is not needed), an arm64 sysroot (C library, libelf, zlib,
# zstd, busybox) and trixie's arm64 kernel. Host tools it needs:
# apt-get install clang lld llvm qemu-system-arm cpio debian-archive-keyring
# Not part of `make test`: the build alone takes minutes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${ARM64_VM_DIR:-$root/target/arm64-vm}
mirror=${MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$work"

for tool in clang ld.lld llvm-ar qemu-system-aarch64 cpio apt-get dpkg-deb python3; do
	command -v "$tool" >/dev/null || [ -x "/usr/lib/llvm-14/bin/$tool" ] || {
		echo "$tool is missing: apt-get install clang lld llvm qemu-system-arm cpio" >&2
		exit 1
	}
done
[ -r "$keyring" ] || { echo "$keyring is missing: apt-get install debian-archive-keyring" >&2; exit 1; }

# apt-get and apt-cache on a private list of SUITE's packages ($1), for
# amd64 and arm64.
apt_in() {
	local suite=$1 dir=$work/apt-$1
	shift
	if [ ! -e "$dir/sources.list" ]; then
		mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
		touch "$dir/status"
		echo "deb [arch=amd64,arm64 signed-by=$keyring] $mirror $suite main" >"$dir/sources.list"
		[ "$suite" = unstable ] ||
			echo "deb [arch=arm64 signed-by=$keyring] ${mirror%/debian}/debian-security $suite-security main" \
				>>"$dir/sources.list"
	fi
	local opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "Dir::State::status=$dir/status"
		-o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64
		-o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
		-o APT::Sandbox::User="$(id -un)")
	local tool=$1
	shift
	"$tool" "${opts[@]}" "$@"
}

# Downloads packages ($2...) of SUITE ($1) and unpacks them into $work/$3.
unpack() {
	local suite=$1 into=$2
	shift 2
	mkdir -p "$work/debs" "$work/$into"
	(cd "$work/debs" && apt_in "$suite" apt-get -qq download "$@")
	for package in "$@"; do
		local name=${package%%:*} arch=amd64
		[ "$name" = "$package" ] || arch=${package#*:}
		for deb in "$work/debs/${name}_"*"_$arch.deb" "$work/debs/${name}_"*"_all.deb"; do
			if [ -e "$deb" ]; then dpkg-deb -x "$deb" "$work/$into"; fi
		done
	done
}

if [ ! -e "$work/ready" ]; then
	echo "== fetching Debian unstable's rustc, an arm64 sysroot, trixie's arm64 kernel"
	rm -rf "$work/debs" "$work/rust" "$work/sysroot" "$work/kernel"
	apt_in unstable apt-get -qq update
	apt_in trixie apt-get -qq update
	std=$(apt_in unstable apt-cache depends libstd-rust-dev | sed -n 's/^ *Depends: \(libstd-rust-1\.[0-9]*\)$/\1/p')
	# rustc and the libraries it runs with (a newer C library than the
	# machine's, loaded by its own ld.so below).
	mapfile -t runtime < <(apt_in unstable apt-cache depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances "$std" | grep '^[a-z]' | sort -u)
	unpack unstable rust rustc libstd-rust-dev libstd-rust-dev:arm64 "${runtime[@]}"
	gcc=$(apt_in unstable apt-cache depends gcc:arm64 | sed -n 's/^ *Depends: gcc-\([0-9]*\):arm64$/\1/p' | head -n1)
	unpack unstable sysroot libc6:arm64 libc6-dev:arm64 linux-libc-dev libgcc-s1:arm64 \
		"libgcc-$gcc-dev:arm64" libelf-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64 busybox-static:arm64
	ln -sfn usr/lib "$work/sysroot/lib" # merged /usr: libc.so names /lib/ld-linux-aarch64.so.1
	kernel=$(apt_in trixie apt-cache depends linux-image-arm64:arm64 |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*-arm64\):arm64$/\1/p' | head -n1)
	unpack trixie kernel "$kernel:arm64"
	touch "$work/ready"
fi

rust=$work/rust
cat >"$work/rustc" <<EOF
#!/usr/bin/python3
# Debian unstable's rustc with its own C library and ld.so.
import os, sys
lib = "$rust/usr/lib/x86_64-linux-gnu"
os.execv(lib + "/ld-linux-x86-64.so.2", [lib + "/ld-linux-x86-64.so.2", "--library-path", lib,
         "$rust/usr/bin/rustc", "--sysroot", "$rust/usr"] + sys.argv[1:])
EOF
# libelf and zlib both define crc32; libelf also needs zstd.
cat >"$work/cc" <<EOF
#!/bin/sh
exec clang --target=aarch64-linux-gnu --sysroot=$work/sysroot -fuse-ld=lld \
	-Wl,--allow-multiple-definition "\$@" $work/sysroot/usr/lib/aarch64-linux-gnu/libzstd.a
EOF
chmod +x "$work/rustc" "$work/cc"

echo "== building for aarch64 with $("$work/rustc" --version)"
(cd "$root" && env "LIBBPF_SYS_LIBRARY_PATH_aarch64-unknown-linux-gnu=$work/sysroot/usr/lib/aarch64-linux-gnu" \
	RUSTC="$work/rustc" CARGO_TARGET_DIR="$work/target" CC_aarch64_unknown_linux_gnu="$work/cc" \
	AR_aarch64_unknown_linux_gnu=llvm-ar CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER="$work/cc" \
	nice cargo build --release --target aarch64-unknown-linux-gnu)

echo "== initramfs"
initrd=$work/initrd
rm -rf "$initrd"
mkdir -p "$initrd"/{bin,proc,sys,dev,tmp,lib,usr/lib/aarch64-linux-gnu}
cp "$work/sysroot/usr/bin/busybox" "$initrd/bin/"
cp "$work/target/aarch64-unknown-linux-gnu/release/systrace-top" "$initrd/"
for lib in libc.so.6 ld-linux-aarch64.so.1 libgcc_s.so.1; do
	cp -L "$work/sysroot/usr/lib/aarch64-linux-gnu/$lib" "$initrd/usr/lib/aarch64-linux-gnu/"
done
cp -L "$work/sysroot/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1" "$initrd/lib/"
cat >"$initrd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "== kernel $(uname -r) $(uname -m)"
/systrace-top --json --duration 20 >/tmp/out.json 2>/tmp/err &
tracer=$!
until grep -q . /tmp/out.json || ! kill -0 $tracer 2>/dev/null; do sleep 0.1; done
cat /proc/version >/dev/null
sh -c 'exit 3'
/nonexistent-arm64-vm 2>/dev/null
sleep 2
kill -INT $tracer
wait $tracer
echo "== json exit $?"
cat /tmp/err
grep -v '"rates"' /tmp/out.json | grep -e '/proc/version' -e 'exit 3' -e nonexistent-arm64-vm -e '"exit_code":3' -e summary
echo "== trace"
/systrace-top --trace -- /bin/ls /nonexistent-arm64-trace 2>&1 | tail -n 4
poweroff -f
EOF
chmod +x "$initrd/init"
(cd "$initrd" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initrd.gz")

echo "== booting (TCG: about a minute)"
log=$work/vm.log
timeout 600 qemu-system-aarch64 -M virt -cpu max -smp 2 -m 2048 -nographic -no-reboot \
	-kernel "$(ls "$work"/kernel/boot/vmlinuz-*)" -initrd "$work/initrd.gz" \
	-append "console=ttyAMA0 rdinit=/init quiet panic=-1" </dev/null >"$log" 2>&1 || true
grep -v '^\[' "$log" | cut -c1-300

# What must be there: a clean run, the cat's open, sh's exit code, the
# failed exec, and the traced command's end.
failed=0
expect() {
	grep -q -e "$1" "$log" || { echo "MISSING: $2" >&2; failed=1; }
}
expect '== json exit 0' 'systrace-top --json ran and stopped cleanly'
expect '"path":"/proc/version"' "cat's open of /proc/version"
expect '"exit_code":3' "sh's exit code 3"
expect '"filename":"/nonexistent-arm64-vm".*"error":"ENOENT"' 'the failed exec'
expect 'newfstatat(AT_FDCWD, "/nonexistent-arm64-trace"' '--trace of ls'
expect '+++ exited with 1 +++' "--trace's end of ls"
[ "$failed" = 0 ] && echo "arm64: all seen (log: $log)"
exit "$failed"
