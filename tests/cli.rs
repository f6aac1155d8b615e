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
