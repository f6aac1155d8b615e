# The two Quick start commands (README.md): `make run` and `make test`.
# Both install what the build needs from apt first, if it is missing (the
# kernel tests build C programs, static ones among them: libc6-dev; the
# parity test runs Debian's programs under strace).

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The parity test (tests/parity.rs) runs these packages' programs under
# strace and under systrace-top, and compares the two traces.
PARITY_PACKAGES := strace coreutils findutils grep sed mawk gzip xz-utils tar \
	dash perl-base python3 iproute2 git base-files
APT_PACKAGES := clang llvm libelf-dev zlib1g-dev pkg-config make tmux libc6-dev \
	$(PARITY_PACKAGES)
# The peers bench/run.sh measures against, and what it measures with.
BENCH_PACKAGES := bpftrace linux-perf strace bc
# The kernel matrix (tests/kernels/run.sh) boots Debian's kernels under
# qemu with virtme-ng, which needs udev, depmod, busybox and file, and comes
# from PyPI into a venv beside the kernels it caches.
KERNEL_PACKAGES := qemu-system-x86 udev kmod busybox-static file python3-venv
KERNEL_CACHE ?= target/kernels
VIRTME_NG := virtme-ng==1.42
BIN := target/release/systrace-top
ARGS ?=

.PHONY: deps build run test bench bench-tui assets install kernel-deps kernels

deps:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(APT_PACKAGES); \
	fi

build: deps
	cargo build --release

run: build
	$(SUDO) $(BIN) $(ARGS)

# Kernel tests load BPF programs: the test binaries run as root (through
# sudo when the build is not), the build itself does not. Then the kernel
# tests again on Debian's kernels under qemu (about 20 minutes): the whole
# suite, as CI runs it. `cargo test` alone is the host's part.
test: deps kernel-deps
	$(if $(SUDO),CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="sudo -E") cargo test
	$(MAKE) kernels

# The man page and completions in assets/ are made from the CLI's definition
# (tests/release.rs fails when they are stale).
assets: build
	$(BIN) --generate-assets assets

PREFIX ?= /usr/local
install: build
	$(SUDO) install -D -m 755 $(BIN) $(PREFIX)/bin/systrace-top
	$(SUDO) install -D -m 644 assets/systrace-top.1 $(PREFIX)/share/man/man1/systrace-top.1
	$(SUDO) install -D -m 644 assets/completions/systrace-top.bash \
		$(PREFIX)/share/bash-completion/completions/systrace-top
	$(SUDO) install -D -m 644 assets/completions/_systrace-top \
		$(PREFIX)/share/zsh/site-functions/_systrace-top
	$(SUDO) install -D -m 644 assets/completions/systrace-top.fish \
		$(PREFIX)/share/fish/vendor_completions.d/systrace-top.fish

bench: build
	@if ! dpkg -s $(BENCH_PACKAGES) >/dev/null 2>&1; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(BENCH_PACKAGES); \
	fi
	cargo build --release --examples
	$(SUDO) bench/run.sh

# The TUI with 1,000, 5,000 and 20,000 live processes: memory, idle CPU and
# key latency (bench/tui_scale.sh; a PID namespace of its own).
bench-tui: build
	cargo build --release --examples
	$(SUDO) bench/tui_scale.sh

kernel-deps:
	@if ! dpkg -s $(KERNEL_PACKAGES) >/dev/null 2>&1; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(KERNEL_PACKAGES); \
	fi
	@if [ ! -x $(KERNEL_CACHE)/venv/bin/vng ]; then \
		mkdir -p $(KERNEL_CACHE) && \
		/usr/bin/python3 -m venv $(KERNEL_CACHE)/venv && \
		$(KERNEL_CACHE)/venv/bin/pip install --quiet $(VIRTME_NG); \
	fi

# The kernel tests on Debian's kernels, each booted under qemu: KERNELS
# (releases) and KERNEL_TESTS (test targets) choose; see tests/kernels/run.sh.
# Two guests at once (each takes one CPU). sid's kernel (7.2) has exactness
# failures being worked on: shown, not counted (KERNEL_ADVISORY).
KERNEL_JOBS ?= 2
KERNEL_ADVISORY ?= sid
kernels: deps kernel-deps
	$(SUDO) env PATH="$$PATH" KERNEL_CACHE=$(KERNEL_CACHE) KERNEL_JOBS=$(KERNEL_JOBS) \
		KERNEL_ADVISORY="$(KERNEL_ADVISORY)" CI="$(CI)" tests/kernels/run.sh
