//! `--trace`: one process's syscalls, decoded like strace, from the real
//! kernel. The probe's `sequence` makes a known series of raw syscalls.

mod common;

use std::process::Command;

use common::{BIN, can_trace, probe_path};

#[test]
fn trace_prints_a_command_like_strace_and_exits_with_its_status() {
    if !can_trace("trace_prints_a_command_like_strace_and_exits_with_its_status") {
        return;
    }
    let out = Command::new(BIN)
        .args(["--trace", "--"])
        .arg(probe_path())
        .arg("sequence")
        .output()
        .expect("running systrace-top --trace");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the command's exit status; trace:\n{trace}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hi\n",
        "its stdout is its own"
    );

    let lines: Vec<&str> = trace.lines().collect();
    assert!(
        lines[0].starts_with("execve("),
        "traced from its exec: {}",
        lines[0]
    );
    let expected = [
        r#"openat(AT_FDCWD, "/nonexistent/systrace-probe", O_RDONLY) = -1 ENOENT (No such file or directory)"#,
        r#"write(1, "hi\n", 3) = 3"#,
        r#"openat(AT_FDCWD, "/dev/zero", O_RDONLY) = 3"#,
        r#"read(3, "\0\0\0\0", 4) = 4"#,
        "getppid() = ",
        "exit_group(3) = ?",
        "+++ exited with 3 +++",
    ];
    // The last seven lines, in this order: nothing between them.
    let tail = &lines[lines.len() - expected.len()..];
    for (line, want) in tail.iter().zip(expected) {
        assert!(
            line.starts_with(want),
            "expected {want:?}, got {line:?}; trace:\n{trace}"
        );
    }
    // As strace without -T: no durations.
    for line in &tail[..4] {
        assert!(!line.ends_with('>'), "no duration by default: {line}");
    }
    // getppid returns systrace-top's own pid: the probe is its child.
    let getppid = tail[4];
    let ret: u32 = getppid["getppid() = ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ret > 1, "{getppid}");
}

#[test]
fn trace_json_gives_the_same_calls_as_records() {
    if !can_trace("trace_json_gives_the_same_calls_as_records") {
        return;
    }
    let out = Command::new(BIN)
        .args(["--trace", "--json", "--"])
        .arg(probe_path())
        .arg("sequence")
        .output()
        .expect("running systrace-top --trace --json");
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let calls: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["type"] == "syscall").collect();
    let failed = calls
        .iter()
        .find(|r| {
            r["text"]
                .as_str()
                .is_some_and(|t| t.contains("/nonexistent/systrace-probe"))
        })
        .expect("the failed openat");
    assert_eq!(failed["syscall"], "openat");
    assert_eq!(failed["ret"], -2);
    assert_eq!(failed["error"], "ENOENT");
    let exit = calls
        .iter()
        .find(|r| r["syscall"] == "exit_group")
        .expect("exit_group");
    assert_eq!(exit["ret"], serde_json::Value::Null);
    assert_eq!(exit["args"][0], 3);
    assert_eq!(records.last().unwrap()["type"], "summary");
}

#[test]
fn trace_follow_includes_the_children() {
    if !can_trace("trace_follow_includes_the_children") {
        return;
    }
    let out = Command::new(BIN)
        .args(["--trace", "--follow", "--"])
        .arg(probe_path())
        .args(["chain", "2"])
        .output()
        .expect("running systrace-top --trace --follow");
    assert_eq!(out.status.code(), Some(0));
    let trace = String::from_utf8_lossy(&out.stderr);
    // While there are two, lines carry their [pid N], as strace -f writes
    // them; the child's exec and exit are there.
    assert!(
        trace.matches("execve(").count() >= 2,
        "the parent's and the child's execs:\n{trace}"
    );
    let pids: std::collections::BTreeSet<&str> = trace
        .lines()
        .filter_map(|l| l.strip_prefix("[pid ").and_then(|r| r.split(']').next()))
        .map(str::trim)
        .collect();
    assert!(
        !pids.is_empty() && trace.starts_with("execve("),
        "the child's lines led by its pid, the parent's alone: {pids:?}\n{trace}"
    );
    assert_eq!(trace.matches("+++ exited with 0 +++").count(), 2, "{trace}");
}

#[test]
fn trace_escapes_what_the_process_names_and_reads() {
    if !can_trace("trace_escapes_what_the_process_names_and_reads") {
        return;
    }
    use std::os::unix::ffi::OsStrExt;
    // A name that would set the terminal's title, ring its bell and forge
    // a line if written raw, with a byte that is not UTF-8.
    let dir = std::env::temp_dir().join(common::unique("systrace-hostile"));
    std::fs::create_dir_all(&dir).unwrap();
    let name = b"x\x1b]0;TITLE\x07\nFAKE LINE\xff";
    std::fs::write(
        dir.join(std::ffi::OsStr::from_bytes(name)),
        b"hi\x1b[31m\x07\n",
    )
    .unwrap();
    // The shell's glob passes the name: a command line must be UTF-8.
    let out = Command::new(BIN)
        .args([
            "--trace",
            "-y",
            "--",
            "sh",
            "-c",
            r#"exec cat -- "$1"/*"#,
            "sh",
        ])
        .arg(&dir)
        .output()
        .expect("running systrace-top --trace");
    std::fs::remove_dir_all(&dir).unwrap();
    let trace = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "cat's status; trace:\n{trace}");
    assert_eq!(
        out.stdout, b"hi\x1b[31m\x07\n",
        "cat's own output is untouched"
    );

    let raw: Vec<u8> = out
        .stderr
        .iter()
        .copied()
        .filter(|&b| b != b'\n' && !(0x20..=0x7e).contains(&b))
        .collect();
    assert!(raw.is_empty(), "raw bytes {raw:x?} in:\n{trace}");
    // Every line is a call or an end: none was forged by the name.
    for line in trace.lines() {
        assert!(is_trace_line(line), "not a trace line: {line:?}\n{trace}");
    }
    let escaped = format!(r"{}/x\33]0;TITLE\7\nFAKE LINE\377", dir.display());
    assert!(
        trace.contains(&format!(r#"openat(AT_FDCWD, "{escaped}", O_RDONLY) = 3"#)),
        "the name, escaped, in the open:\n{trace}"
    );
    // With -y, the fd's path escaped as strace -y escapes it; the buffer too.
    assert!(
        trace.contains(&format!(r#"read(3<{escaped}>, "hi\33[31m\7\n", "#)),
        "the name, escaped, on the fd; the buffer escaped:\n{trace}"
    );
}

/// `name(...` or `+++ ...`.
fn is_trace_line(line: &str) -> bool {
    let name = line.split('(').next().unwrap_or_default();
    let is_name = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    line.starts_with("+++ ") || (!name.is_empty() && name.bytes().all(is_name))
}
