//! strace's options to `--trace`, each against what strace does with it.
//! Real kernel, real binary.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};

use common::{BIN, can_trace, unique};

fn run_trace(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--trace")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running systrace-top --trace")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lines of calls, without the ends.
fn calls(trace: &str) -> Vec<&str> {
    trace.lines().filter(|l| !l.starts_with("+++")).collect()
}

#[test]
fn e_trace_selects_calls_in_the_kernel() {
    if !can_trace("e_trace_selects_calls_in_the_kernel") {
        return;
    }
    let out = run_trace(&["-e", "trace=openat,close", "--", "cat", "/etc/hostname"]);
    let trace = text(&out.stderr);
    assert!(out.status.success(), "{trace}");
    let lines = calls(&trace);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(r#"openat(AT_FDCWD, "/etc/hostname""#)),
        "{trace}"
    );
    for line in &lines {
        assert!(
            line.starts_with("openat(") || line.starts_with("close("),
            "{line}"
        );
    }
    assert!(trace.ends_with("+++ exited with 0 +++\n"), "{trace}");

    // A class, and all but it; strace's bare form is trace=.
    let file = text(&run_trace(&["-e", "%file", "--", "cat", "/etc/hostname"]).stderr);
    assert!(
        calls(&file)
            .iter()
            .all(|l| !l.starts_with("read(") && !l.starts_with("close(")),
        "{file}"
    );
    assert!(file.contains("execve("), "{file}");
    let not_file = text(&run_trace(&["-e", "trace=!%file", "--", "cat", "/etc/hostname"]).stderr);
    assert!(
        !not_file.contains("openat(") && not_file.contains("read("),
        "{not_file}"
    );

    let comm = run_trace(&["--comm", "cat", "--", "true"]);
    assert_eq!(
        comm.status.code(),
        Some(2),
        "--comm does not go with --trace"
    );

    let bad = run_trace(&["-e", "trace=opne", "--", "true"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        text(&bad.stderr),
        "systrace-top: invalid system call 'opne'\n"
    );
}

#[test]
fn o_t_and_q() {
    if !can_trace("o_t_and_q") {
        return;
    }
    let file = std::env::temp_dir().join(unique("systrace-trace-o"));
    let out = run_trace(&[
        "-o",
        file.to_str().unwrap(),
        "-tt",
        "--",
        "cat",
        "/etc/hostname",
    ]);
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "", "the trace went to the file");
    let written = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    for line in written.lines() {
        // 14:02:07.123456 openat(...
        let (time, rest) = line.split_once(' ').unwrap();
        let bytes = time.as_bytes();
        assert_eq!(time.len(), 15, "{line}");
        assert_eq!((bytes[2], bytes[5], bytes[8]), (b':', b':', b'.'), "{line}");
        assert!(rest.contains('(') || rest.starts_with("+++"), "{line}");
    }

    let epoch = text(&run_trace(&["-ttt", "--", "true"]).stderr);
    let first: f64 = epoch.split(' ').next().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - first).abs() < 60.0, "{epoch}");

    let quiet = text(&run_trace(&["-qq", "--", "true"]).stderr);
    assert!(!quiet.contains("+++"), "-qq: no exit line:\n{quiet}");
}

#[test]
fn c_counts_what_the_trace_shows() {
    if !can_trace("c_counts_what_the_trace_shows") {
        return;
    }
    let command = ["--", "cat", "/etc/hostname", "/nonexistent"];
    let lines = text(&run_trace(&command).stderr);
    let opens = lines.lines().filter(|l| l.starts_with("openat(")).count();
    let failed = lines
        .lines()
        .filter(|l| l.starts_with("openat(") && l.contains(" = -1 "))
        .count();

    let out = run_trace(&[&["-c"][..], &command[..]].concat());
    assert_eq!(out.status.code(), Some(1), "cat's status");
    let table = text(&out.stderr);
    // After cat's own complaint.
    let rows: Vec<&str> = table
        .lines()
        .skip_while(|l| l.starts_with("cat:"))
        .collect();
    assert_eq!(
        rows[0], "% time     seconds  usecs/call     calls    errors syscall",
        "{table}"
    );
    let openat: Vec<&str> = rows
        .iter()
        .find(|r| r.ends_with(" openat"))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .collect();
    assert_eq!(openat[3], opens.to_string(), "calls: {table}");
    assert_eq!(openat[4], failed.to_string(), "errors: {table}");
    assert!(rows.last().unwrap().ends_with(" total"), "{table}");
    assert!(!table.contains("openat(AT_FDCWD"), "no trace with -c");

    let both = text(&run_trace(&[&["-C"][..], &command[..]].concat()).stderr);
    assert!(
        both.contains("openat(AT_FDCWD") && both.contains("% time"),
        "{both}"
    );
}

/// Several -p, as strace takes them: each attached, each followed to its
/// end, lines led by their pid while there are two.
#[test]
fn p_attaches_to_running_processes() {
    if !can_trace("p_attaches_to_running_processes") {
        return;
    }
    // Each writes its word once a line comes, after both are attached:
    // loading the programs may take seconds (under emulation).
    let spawn = |word: &str| {
        Command::new("sh")
            .args(["-c", &format!("read -r line; echo {word}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn("one"), spawn("two"));
    let (pa, pb) = (a.id().to_string(), b.id().to_string());
    let mut tracer = Command::new("timeout")
        .args(["60", BIN, "--trace", "-p", &pa, "-p", &pb])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running systrace-top --trace");
    let mut stderr = BufReader::new(tracer.stderr.take().unwrap());
    let mut trace = String::new();
    for _ in 0..2 {
        stderr.read_line(&mut trace).unwrap();
    }
    for sh in [&mut a, &mut b] {
        writeln!(sh.stdin.take().unwrap()).unwrap();
        sh.wait().unwrap();
    }
    stderr.read_to_string(&mut trace).unwrap();
    let status = tracer.wait().unwrap();
    assert!(status.success(), "{status}: {trace}");
    assert!(
        trace.starts_with(&format!(
            "systrace-top: Process {pa} attached\nsystrace-top: Process {pb} attached\n"
        )),
        "{trace}"
    );
    for (pid, word) in [(&pa, "one"), (&pb, "two")] {
        let write = format!(r#"write(1, "{word}\n", 4) = 4"#);
        assert!(trace.contains(&write), "{write} in:\n{trace}");
        assert!(
            trace.contains(&format!("[pid {pid:>5}] +++ exited with 0 +++"))
                || trace.ends_with("\n+++ exited with 0 +++\n"),
            "{pid}'s end:\n{trace}"
        );
    }
    assert_eq!(trace.matches("+++ exited with 0 +++").count(), 2, "{trace}");
    assert!(!trace.contains("detached"), "both ended: nothing to detach");
}

/// Signals as strace shows them, the one that kills included; -e signal=
/// chooses which.
#[test]
fn signals_are_shown_and_chosen() {
    if !can_trace("signals_are_shown_and_chosen") {
        return;
    }
    let script = ["--", "sh", "-c", "sleep 0.1 & wait; kill -TERM $$"];
    let out = run_trace(&[&["-f"][..], &script[..]].concat());
    let trace = text(&out.stderr);
    let signals: Vec<&str> = trace.lines().filter(|l| l.starts_with("---")).collect();
    assert_eq!(signals.len(), 2, "{trace}");
    // The child's times are in clock ticks: 0 on a fast machine, a few
    // under emulation.
    let times = signals[0]
        .split_once(", si_uid=0, si_status=0, si_utime=")
        .and_then(|(_, times)| times.strip_suffix("} ---"))
        .and_then(|times| times.split_once(", si_stime="));
    assert!(
        signals[0].starts_with("--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=")
            && times.is_some_and(|(user, system)| {
                user.parse::<u64>().is_ok() && system.parse::<u64>().is_ok()
            }),
        "{trace}"
    );
    assert!(
        signals[1].starts_with("--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid="),
        "{trace}"
    );
    assert!(
        trace.ends_with(" ---\n+++ killed by SIGTERM +++\n"),
        "{trace}"
    );

    let chosen =
        text(&run_trace(&[&["-f", "-e", "signal=!SIGCHLD"][..], &script[..]].concat()).stderr);
    assert!(
        !chosen.contains("--- SIGCHLD") && chosen.contains("--- SIGTERM"),
        "{chosen}"
    );
    let bad = run_trace(&["-e", "signal=SIGFOO", "--", "true"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(text(&bad.stderr), "systrace-top: invalid signal 'SIGFOO'\n");
}

/// -T: each call's time, as strace -T writes it; -y: fds with their files.
#[test]
fn t_and_y() {
    if !can_trace("t_and_y") {
        return;
    }
    let plain = text(&run_trace(&["--", "cat", "/etc/hostname"]).stderr);
    assert!(plain.contains("read(3, "), "bare fds by default:\n{plain}");
    assert!(
        !plain.contains("> <0.") && !plain.contains(") <0."),
        "{plain}"
    );
    let out = text(&run_trace(&["-T", "-y", "--", "cat", "/etc/hostname"]).stderr);
    let read = out
        .lines()
        .find(|l| l.starts_with("read(3</etc/hostname>, "))
        .unwrap_or_else(|| panic!("{out}"));
    let secs = read.rsplit_once(" <").unwrap().1.trim_end_matches('>');
    assert!(
        secs.parse::<f64>().is_ok_and(|s| (0.0..1.0).contains(&s)),
        "{read}"
    );
}

/// -s: as many bytes of a buffer as asked, as strace shows them.
#[test]
fn s_sets_the_bytes_shown() {
    if !can_trace("s_sets_the_bytes_shown") {
        return;
    }
    let file = std::env::temp_dir().join(unique("systrace-trace-s"));
    std::fs::write(&file, "x".repeat(100)).unwrap();
    let path = file.to_str().unwrap();
    let out = text(&run_trace(&["-s", "64", "--", "cat", path]).stderr);
    std::fs::remove_file(&file).unwrap();
    let want = format!(r#"write(1, "{}"..., 100) = 100"#, "x".repeat(64));
    assert!(out.lines().any(|l| l == want), "{want} in:\n{out}");
}
