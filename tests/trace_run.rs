//! How `--trace` runs its command, with strace and the command run alone as
//! the oracles: it starts as it would alone, it is followed to the end of
//! every process it forks, and systrace-top ends as it ended. Real kernel.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, can_trace, slack};

fn sh(script: &str) -> Output {
    Command::new("sh")
        .args(["-c", script])
        .env("BIN", BIN)
        .stdin(Stdio::null())
        .output()
        .expect("running sh")
}

/// The signal lines of /proc/self/status, of `grep` run under `prefix`.
fn signal_state(prefix: &str) -> String {
    let out = sh(&format!(
        r#"trap '' INT QUIT; exec {prefix} grep -E '^Sig(Ign|Blk)' /proc/self/status"#
    ));
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_command_starts_as_it_would_alone() {
    if !can_trace("the_command_starts_as_it_would_alone") {
        return;
    }
    // Ignored INT and QUIT are inherited, as they are without us; SIGPIPE,
    // which the Rust runtime ignores, is at its default again.
    let alone = signal_state("");
    let ignored = alone
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:\t"))
        .unwrap();
    assert_eq!(
        u64::from_str_radix(ignored, 16).unwrap() & 0b1110,
        0b0110,
        "{alone}"
    );
    let traced = signal_state(r#""$BIN" --trace -o /dev/null --"#);
    assert_eq!(traced, alone);

    // A pipeline's writer dies of SIGPIPE, quietly, as it does alone.
    let out = sh(r#""$BIN" --trace -f -o /dev/null -- sh -c 'yes | head -1'"#);
    assert_eq!(out.stdout, b"y\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "no 'Broken pipe'");
    assert!(out.status.success());
}

#[test]
fn follow_lasts_until_every_process_ends() {
    if !can_trace("follow_lasts_until_every_process_ends") {
        return;
    }
    let started = Instant::now();
    let out = sh(r#""$BIN" --trace -f -- sh -c 'sleep 1 & echo started' 2>&1 >/dev/null"#);
    let trace = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{trace}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it waited for sleep"
    );
    assert!(
        trace.contains("clock_nanosleep("),
        "sleep's own call:\n{trace}"
    );
    assert_eq!(trace.matches("+++ exited with 0 +++").count(), 2, "{trace}");
    // strace -f's last line, with one tracee left: no pid.
    assert!(trace.ends_with("\n+++ exited with 0 +++\n"), "{trace}");
}

#[test]
fn ends_as_the_command_ended() {
    if !can_trace("ends_as_the_command_ended") {
        return;
    }
    // In a directory of its own: a core dumped by the command lands there.
    let dir = std::env::temp_dir().join(common::unique("systrace-ends"));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |script: &str| {
        Command::new(BIN)
            .args(["--trace", "-o", "/dev/null", "--", "sh", "-c", script])
            .current_dir(&dir)
            .output()
            .expect("running systrace-top")
            .status
    };
    assert_eq!(run("exit 7").code(), Some(7));
    let killed = run("kill -TERM $$");
    assert_eq!(killed.signal(), Some(libc::SIGTERM), "{killed:?}");
    // Killed as the command was, without a core of its own.
    let crashed = run("ulimit -c unlimited; kill -SEGV $$");
    assert_eq!(crashed.signal(), Some(libc::SIGSEGV), "{crashed:?}");
    assert!(!crashed.core_dumped(), "{crashed:?}");
    // A command killed by a signal strace's table names not (SIGRTMIN+n).
    let rt = run("kill -s 40 $$");
    assert_eq!(rt.signal(), Some(40), "{rt:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A reader that waits before it reads blocks the trace's writes while the
/// command ends: the command's end comes from its wait status, and
/// systrace-top neither hangs nor leaves a zombie.
#[test]
fn a_slow_reader_does_not_hold_the_end() {
    if !can_trace("a_slow_reader_does_not_hold_the_end") {
        return;
    }
    let started = Instant::now();
    let out = Command::new("bash")
        .args([
            "-c",
            r#""$BIN" --trace -- dd if=/dev/zero of=/dev/null bs=1 count=300000 2>&1 \
               | (sleep 3; cat > /dev/null); echo "status ${PIPESTATUS[0]}""#,
        ])
        .env("BIN", BIN)
        .output()
        .expect("running bash");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "status 0\n");
    assert!(
        started.elapsed() < Duration::from_secs(3) + slack(27.0),
        "{:?}",
        started.elapsed()
    );
}

/// Tracing stopped before the command ended (--duration, a signal to
/// systrace-top alone): the command is ended too, not left running
/// untraced, and systrace-top ends as it did.
#[test]
fn a_stop_ends_the_command_too() {
    if !can_trace("a_stop_ends_the_command_too") {
        return;
    }
    let started = Instant::now();
    let status = Command::new(BIN)
        .args([
            "--trace",
            "--duration",
            "1",
            "-o",
            "/dev/null",
            "--",
            "sleep",
            "100",
        ])
        .status()
        .expect("running systrace-top");
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1) + slack(9.0),
        "{:?}",
        started.elapsed()
    );
}

/// 32-bit syscalls (int $0x80) of a C program, then its i386 execve of a
/// 64-bit program: each call named from its own table, with its result,
/// and the new image traced on.
/// x86_64 only: an arm64 process has no 32-bit syscall instruction.
#[cfg(target_arch = "x86_64")]
#[test]
fn i386_calls_are_traced_and_named() {
    if !can_trace("i386_calls_are_traced_and_named") {
        return;
    }
    let prog = common::compile_c("int80", &[]);
    let out = Command::new(BIN)
        .args(["--trace", "--"])
        .arg(&prog)
        .arg("t32")
        .output()
        .expect("running systrace-top");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{trace}");
    for call in ["i386:open(", "i386:openat("] {
        assert!(
            trace
                .lines()
                .any(|l| l.starts_with(call)
                    && l.ends_with("= -1 ENOENT (No such file or directory)")),
            "{call} in:\n{trace}"
        );
    }
    let exec = trace
        .lines()
        .position(|l| l.starts_with("i386:execve(") && l.ends_with(" = 0"));
    let exec = exec.unwrap_or_else(|| panic!("the i386 execve:\n{trace}"));
    assert!(
        trace
            .lines()
            .skip(exec)
            .any(|l| l.starts_with("openat(AT_FDCWD, \"/etc/ld.so.cache\"")),
        "the 64-bit image's own calls after it:\n{trace}"
    );
    assert!(trace.ends_with("+++ exited with 0 +++\n"), "{trace}");
}
