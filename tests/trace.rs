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
        .arg("--trace")
        .arg("--")
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
        r#"openat(AT_FDCWD, "/nonexistent/systrace-probe", O_RDONLY) = -1 ENOENT (No such file or directory) <"#,
        r#"write(1, "hi\n", 3) = 3 <"#,
        r#"openat(AT_FDCWD, "/dev/zero", O_RDONLY) = 3 <"#,
        r#"read(3</dev/zero>, "\0\0\0\0", 4) = 4 <"#,
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
    // getppid returns systrace-top's own pid: the probe is its child.
    let getppid = tail[4];
    let ret: u32 = getppid["getppid() = ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ret > 1, "{getppid}");
    // Durations are there and plausible.
    for line in &tail[..5] {
        let secs = line.rsplit('<').next().unwrap().trim_end_matches('>');
        let secs: f64 = secs
            .parse()
            .unwrap_or_else(|_| panic!("duration in {line}"));
        assert!((0.0..1.0).contains(&secs), "{line}");
    }
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
    // Every line carries its [pid N]; the child's exec and exit are there.
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
        pids.len() >= 2,
        "the parent and its child: {pids:?}\n{trace}"
    );
    assert_eq!(trace.matches("+++ exited with 0 +++").count(), 2, "{trace}");
}
