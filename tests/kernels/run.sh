#!/usr/bin/env bash
# The kernel tests on Debian's kernels: each release's kernel package is
# downloaded with apt (not installed), unpacked into the cache, and booted
# under qemu with virtme-ng, the machine's filesystem shared read-only (the
# checkout behind a throwaway overlay), to run the test executables built
# here once. Prints a table: kernel, tests passed and failed, time.
#
#   tests/kernels/run.sh [RELEASE...]     default: $KERNELS, or all four below
#
# RELEASE is a Debian suite: bullseye (5.10: older than systrace-top's
# minimum, which must be refused in one line), bookworm (6.1), trixie (6.12),
# sid (the newest), experimental (release candidates).
# Environment:
#   KERNELS        releases when none is given
#   KERNEL_TESTS   test targets run in each guest (tests/NAME.rs)
#   KERNEL_JOBS    guests at once (1; each takes one host CPU)
#   KERNEL_CACHE   downloads, unpacked kernels, logs (target/kernels)
#   KERNEL_EXIT_HOOK  the exit hook each guest must choose (fexit)
#   KERNEL_ADVISORY   releases whose failures are shown, marked ADVISORY,
#                  without failing the matrix (a kernel with known failures
#                  being worked on)
#   CI=true        a matrix that cannot run fails instead of being skipped
#
# Needs root, qemu-system-x86_64 and virtme-ng: `make kernel-deps`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# Absolute: apt reads its relative paths from /etc/apt.
cache=$(realpath -m "${KERNEL_CACHE:-$root/target/kernels}")
releases=${*:-${KERNELS:-bullseye bookworm trixie sid}}
# The kernel-facing tests: they load the programs and check exact exec,
# open, fork and exit records and --trace's lines. Left out: cli (no
# kernel), tui (the UI, through tmux) and parity (strace against --trace
# over Debian's programs: minutes under emulation for what the host run
# already measures).
tests=${KERNEL_TESTS:-kernel exact trace trace_run trace_options headless namespace privilege containers connections}
jobs=${KERNEL_JOBS:-1}
# Keep in sync with MIN_KERNEL in src/bpf/env.rs.
min_kernel=5.13

skip() {
    if [ "${CI:-}" = true ]; then
        echo "kernel matrix: FAILED, it cannot run here: $1" >&2
        exit 1
    fi
    echo "SKIPPED kernel matrix: $1"
    exit 0
}

[ "$(id -u)" = 0 ] || skip "it needs root (the tests in each guest load BPF programs as root)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is missing (make kernel-deps)"
PATH=$cache/venv/bin:$PATH
command -v vng >/dev/null || skip "virtme-ng is missing (make kernel-deps)"
for tool in udevadm depmod python3; do
    command -v "$tool" >/dev/null || skip "$tool is missing (make kernel-deps)"
done

# The test executables, built once here; each guest runs them as they are.
echo "building the test executables (cargo test --release --no-run)"
targets=()
for t in $tests; do targets+=(--test "$t"); done
plan=$(mktemp)
trap 'rm -f "$plan"' EXIT
(cd "$root" && nice cargo test --release --no-run --message-format=json "${targets[@]}") |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["profile"]["test"] and m.get("executable"):
        print(m["target"]["name"], m["executable"])
' >"$plan"
# The binary and the probe the tests run (a test build makes neither on its
# own, the probe being an example).
(cd "$root" && nice cargo build --release --bins --examples --quiet)
binary=$root/target/release/systrace-top
[ -x "$binary" ] && [ -x "$root/target/release/examples/probe" ] ||
    { echo "kernel matrix: the release build has no systrace-top or probe" >&2; exit 1; }

# A private apt: Debian's suites, from the same mirror as the machine's own
# sources where that is Debian's, without touching the machine's lists.
apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/parts" "$cache/debs"
mirror=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
{
    for suite in bullseye bookworm trixie sid experimental; do
        echo "deb [signed-by=$keyring] $mirror $suite main"
    done
    echo "deb [signed-by=$keyring] ${mirror}-security bullseye-security main"
    echo "deb [signed-by=$keyring] ${mirror}-security bookworm-security main"
    echo "deb [signed-by=$keyring] ${mirror}-security trixie-security main"
} >"$apt_dir/sources.list"
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/parts"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir"
    -o "Dir::Cache::Archives=$apt_dir/archives"
    -o "Acquire::Languages=none"
    -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
    -o "APT::Sandbox::User=root"
)
# Once a day at most: the lists say which kernel each suite has now.
if [ -z "$(find "$apt_dir/lists" -maxdepth 1 -name '*_InRelease' -mmin -1440 -print -quit)" ]; then
    echo "apt-get update (Debian's suites, in $apt_dir)"
    apt-get "${apt_opts[@]}" -q update >"$cache/apt-update.log" 2>&1 ||
        { cat "$cache/apt-update.log" >&2; echo "kernel matrix: apt-get update failed" >&2; exit 1; }
fi

# Packages named in the Depends of PACKAGE=VERSION that match PATTERN (an
# extended regular expression), as name=version, one a line.
depends_matching() {
    apt-cache "${apt_opts[@]}" show "$1=$2" |
        sed -n 's/^Depends: //p' | head -1 | tr ',' '\n' |
        awk -v p="^$3" '$1 ~ p && $2 == "(=" { sub(/\)$/, "", $3); print $1 "=" $3 }'
}

# The packages holding RELEASE's kernel (linux-image-amd64's image: one
# package up to trixie, since then a linux-binary and a linux-modules
# package beside an empty image), as name=version.
kernel_packages() {
    local release=$1 version image
    version=$(apt-cache "${apt_opts[@]}" madison linux-image-amd64 |
        awk -F'|' -v s="$release" '$3 ~ " "s"(-security|-updates)?/" { gsub(/ /, "", $2); print $2 }' |
        sort -V | tail -1)
    [ -n "$version" ] || return 1
    image=$(depends_matching linux-image-amd64 "$version" 'linux-image-' | head -1)
    [ -n "$image" ] || return 1
    echo "$image"
    depends_matching "${image%%=*}" "${image#*=}" 'linux-(binary|modules)-'
}

# Downloads and unpacks the PACKAGES (name=version) into one tree, once;
# prints its vmlinuz.
unpack_kernel() {
    local dir=$cache/images/${1%%=*} package
    if [ ! -e "$dir/.unpacked" ]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        # Called where `set -e` does not apply: each step checked.
        for package in "$@"; do
            (cd "$cache/debs" && apt-get "${apt_opts[@]}" -q download "$package" >/dev/null) ||
                { echo "apt-get download $package failed" >&2; return 1; }
            dpkg -x "$cache/debs/${package%%=*}_"*.deb "$dir" ||
                { echo "dpkg -x $package failed" >&2; return 1; }
            rm -f "$cache/debs/${package%%=*}_"*.deb
        done
        touch "$dir/.unpacked"
    fi
    # /boot/vmlinuz-VERSION, or since forky /usr/lib/modules/VERSION/vmlinuz.
    local image
    for image in "$dir"/boot/vmlinuz-* "$dir"/usr/lib/modules/*/vmlinuz; do
        if [ -e "$image" ]; then
            echo "$image"
            return 0
        fi
    done
    echo "no vmlinuz in ${1%%=*} and its packages" >&2
    return 1
}

older_than_min() {
    [ "$(printf '%s\n%s\n' "$1" "$min_kernel" | sort -V | head -1)" != "$min_kernel" ]
}

# Boots RELEASE's kernel and runs the plan in it; the results are left in
# $cache/results/RELEASE.
run_release() {
    local release=$1 packages vmlinuz version out start status
    out=$cache/results/$release
    rm -rf "$out"
    mkdir -p "$out"
    if ! packages=$(kernel_packages "$release"); then
        echo "no linux-image-amd64 in $release" >"$out/error"
        return
    fi
    # shellcheck disable=SC2086 # one package a word
    if ! vmlinuz=$(unpack_kernel $packages 2>"$out/error"); then
        return
    fi
    case $vmlinuz in
        */boot/vmlinuz-*) version=${vmlinuz##*/vmlinuz-} ;;
        *) version=$(basename "$(dirname "$vmlinuz")") ;;
    esac
    echo "$version" >"$out/version"
    cp "$plan" "$out/plan"
    echo "$binary" >"$out/binary"
    if older_than_min "$version"; then echo refusal; else echo pass; fi >"$out/expect"
    # Debian's kernels allow fexit (no lockdown without secure boot): the
    # fast path must be the one taken, and the tests run on it.
    echo "${KERNEL_EXIT_HOOK:-fexit}" >"$out/expect_exit_hook"
    start=$(date +%s)
    # Software emulation (TCG) in one thread: a nested /dev/kvm cannot run
    # a stock kernel at speed, and multi-threaded TCG breaks the guest when
    # a tracer patches kernel text. The console goes to a log; the results
    # come back through a shared directory.
    status=0
    timeout -k 30 "${KERNEL_VM_TIMEOUT:-2400}" vng -r "$vmlinuz" \
        --disable-kvm --qemu-opts="-accel tcg,thread=single" \
        --cpus 2 --memory 2G \
        --overlay-rwdir="$root" --rwdir="$out" \
        -e "$root/tests/kernels/guest.sh $out" \
        </dev/null 2>&1 | cat >"$out/console.log" || status=$?
    echo "$(($(date +%s) - start))" >"$out/seconds"
    echo "$status" >"$out/vm.status"
}

matrix_start=$(date +%s)
echo "kernels: $releases; tests: $tests"
running=0
for release in $releases; do
    echo "booting $release's kernel"
    run_release "$release" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait
matrix_seconds=$(($(date +%s) - matrix_start))

# The table, and what went wrong under it.
printf '\n%-12s %-24s %-9s %6s %6s %7s %6s  %s\n' release kernel hook passed failed skipped time verdict
good=0
bad=0
advisory=0
details=""
for release in $releases; do
    out=$cache/results/$release
    version=$(cat "$out/version" 2>/dev/null || echo '?')
    seconds=$(cat "$out/seconds" 2>/dev/null || echo 0)
    hook=$(cat "$out/exit_hook" 2>/dev/null || true)
    passed=0
    failed=0
    skipped=0
    verdict=ok
    if [ -s "$out/error" ]; then
        verdict="could not get the kernel: $(head -1 "$out/error")"
    elif [ ! -e "$out/done" ]; then
        verdict="the guest did not finish (vng status $(cat "$out/vm.status" 2>/dev/null)): $out/console.log"
    fi
    if [ -e "$out/results" ]; then
        while read -r name p f secs status; do
            # A skipped test passes, saying why on a line of its own.
            s=$(grep -a -c '^SKIPPED ' "$out/$name.log" || true)
            passed=$((passed + p - s))
            failed=$((failed + f))
            skipped=$((skipped + s))
            if [ "$status" != 0 ]; then
                [ "$verdict" = ok ] && verdict=failed
                [ "$status" = 124 ] && status="timeout after ${secs}s"
                details+="$release, $name: exit $status, $out/$name.log"$'\n'
                details+=$(grep -a -A1 -E '^test .* FAILED$|panicked at' "$out/$name.log" |
                    grep -a -v '^--$' | head -24 | sed 's/^/    /')$'\n'
            fi
        done <"$out/results"
    fi
    if [ "$verdict" = ok ] && [ "$(cat "$out/expect")" = refusal ]; then
        # Too old: systrace-top must refuse in one line, and each test say
        # so (and pass).
        message=$(cat "$out/refusal")
        if [ "$(cat "$out/refusal.status")" = 1 ] && [ "$(wc -l <"$out/refusal")" = 1 ] &&
            grep -q "is too old" "$out/refusal" && [ "$failed" = 0 ] && [ "$passed" = 0 ]; then
            verdict="refused, as it must be: $message"
        else
            verdict="not refused as it must be (exit $(cat "$out/refusal.status"), $passed passed): $message"
        fi
    elif [ "$verdict" = ok ] && { [ "$passed" = 0 ] || [ "$skipped" != 0 ]; }; then
        verdict="$passed ran, $skipped skipped"
    fi
    case $verdict in
        ok | refused,*) good=$((good + 1)) ;;
        *)
            if [[ " ${KERNEL_ADVISORY:-} " == *" $release "* ]]; then
                verdict="ADVISORY, not counted: $verdict"
                advisory=$((advisory + 1))
            else
                bad=$((bad + 1))
            fi
            ;;
    esac
    printf '%-12s %-24s %-9s %6s %6s %7s %5ss  %s\n' "$release" "$version" "${hook:--}" "$passed" "$failed" "$skipped" "$seconds" "$verdict"
done
# Each test target's time on each kernel.
printf '\n%-14s' "seconds"
for release in $releases; do printf ' %10s' "$release"; done
echo
while read -r name _; do
    printf '%-14s' "$name"
    for release in $releases; do
        cell=$(awk -v n="$name" '$1 == n { print $4 "s" ($3 > 0 ? " " $3 "F" : "") }' \
            "$cache/results/$release/results" 2>/dev/null || true)
        printf ' %10s' "${cell:--}"
    done
    echo
done <"$plan"
[ -z "$details" ] || printf '\n%s' "$details"
echo "matrix wall time: ${matrix_seconds}s; logs in $cache/results"
echo "kernels: $good passed, $bad failed, $advisory failed but advisory"
[ "$bad" = 0 ]
