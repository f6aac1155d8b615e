//! Bad input: one line on stderr, a non-zero exit, never a panic.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use common::BIN;

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("running systrace-top")
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("systrace-top: "), "{stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr:?}");
    stderr
}

#[test]
fn unknown_flag_is_one_line() {
    let out = run(&["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("--frobnicate"));
}

#[test]
fn bad_numbers_are_one_line() {
    for args in [
        &["--json", "--duration", "abc"][..],
        &["--json", "--interval", "0"],
        &["--json", "--pid", "-5"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        one_line_error(&out);
    }
}

#[test]
fn follow_without_trace_names_trace() {
    for args in [&["--follow"][..], &["--json", "--follow"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = one_line_error(&out);
        assert!(err.contains("add --trace"), "{err}");
    }
}

#[test]
fn negative_numbers_are_refused_by_their_range() {
    for flag in ["--duration", "--interval"] {
        let out = run(&["--json", flag, "-1"]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let err = one_line_error(&out);
        assert!(
            err.contains(flag) && err.contains("from 0.01 to"),
            "{flag}: {err}"
        );
    }
    let err = one_line_error(&run(&["--json", "--pid", "-5"]));
    assert!(err.contains("--pid") && err.contains("process ID"), "{err}");
}

#[test]
fn a_comm_longer_than_the_kernel_keeps_is_refused() {
    // The kernel would keep "verylongcommand", which is another name.
    let out = run(&["--json", "--comm", "verylongcommandname", "--duration", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = one_line_error(&out);
    assert!(
        err.contains("the kernel keeps 15 bytes of a command name")
            && err.contains("'verylongcommand'"),
        "{err}"
    );
    let out = run(&["--json", "--comm", ""]);
    assert_eq!(out.status.code(), Some(2));
    one_line_error(&out);
}

/// A traced command that cannot be started: one line naming the errno,
/// and the status a shell gives (126 cannot run, 127 missing).
#[test]
fn a_command_that_cannot_run_exits_like_a_shell() {
    // The command is checked once tracing is possible.
    if !common::can_trace("a_command_that_cannot_run_exits_like_a_shell") {
        return;
    }
    let dir = std::env::temp_dir().join(common::unique("systrace-path"));
    std::fs::create_dir_all(&dir).unwrap();
    let not_executable = dir.join("not-executable");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        &not_executable,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let cases = [
        (
            "/etc/passwd",
            126,
            "/etc/passwd: Permission denied (EACCES)".to_string(),
        ),
        (
            "/nonexistent/systrace-cmd",
            127,
            "/nonexistent/systrace-cmd: No such file or directory (ENOENT)".into(),
        ),
        // Found in PATH, but not executable: named by its path.
        (
            "not-executable",
            126,
            format!("{}: Permission denied (EACCES)", not_executable.display()),
        ),
        ("systrace-no-such-cmd", 127, "(ENOENT)".into()),
    ];
    for (command, status, message) in cases {
        let out = Command::new(BIN)
            .args(["--trace", "--", command])
            .env("PATH", &dir)
            .output()
            .expect("running systrace-top");
        let err = one_line_error(&out);
        assert_eq!(out.status.code(), Some(status), "{command}: {err}");
        assert!(err.contains(&message), "{command}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_pid_is_one_line() {
    // PIDs above pid_max never exist.
    let out = run(&["--json", "--pid", "99999999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line_error(&out).contains("no process with PID 99999999"));
}

#[test]
fn help_lists_every_flag() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--json", "--duration", "--interval", "--pid", "--comm"] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn unprivileged_run_says_how_to_fix_it() {
    // A copy in a world-readable place: the build tree may be under a
    // directory that nobody cannot enter.
    let dir = std::env::temp_dir().join(common::unique("systrace-unprivileged"));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("systrace-top");
    std::fs::copy(BIN, &copy).unwrap();
    for path in [&dir, &copy] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let mut command = Command::new(&copy);
    command.args(["--json", "--duration", "1"]);
    if nix::unistd::geteuid().is_root() {
        // Drop to nobody, as an ordinary user would run it.
        command.uid(65534).gid(65534);
    }
    let out = command.output().expect("running systrace-top");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = one_line_error(&out);
    assert!(err.contains("root") && err.contains("CAP_BPF"), "{err}");
}
