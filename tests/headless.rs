//! Headless output against readers that are not on its side: one that never
//! reads, a full disk, a closed stdout, a hang-up. Real kernel, as root.

mod common;

use std::io::{PipeReader, PipeWriter, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, can_trace, probe_path, slack, unique};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A pipe, closed on exec: no other test's child may hold its read end.
fn pipe() -> (PipeReader, PipeWriter) {
    std::io::pipe().expect("a pipe")
}

/// The probe, copied where an unprivileged user can run it.
fn probe_for_anyone() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("systrace-probe"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let probe = dir.join("probe");
    std::fs::copy(probe_path(), &probe).unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    probe
}

/// systrace-top --json with ARGS writing into `stdout`: its start record,
/// read with `read_start`, says when it has started.
fn start(args: &[&str], stdout: Stdio) -> Child {
    Command::new(BIN)
        .arg("--json")
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting systrace-top")
}

/// Reads the start record, and nothing after it: from then on the
/// programs are attached and the signals handled, however long loading
/// took (seconds under emulation).
fn read_start(stdout: &mut impl Read) {
    let mut byte = [0u8];
    while byte[0] != b'\n' {
        stdout.read_exact(&mut byte).expect("the start record");
    }
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Waits for the child to end by itself within `within`; its status.
fn ended_within(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("waiting") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// How long SIGTERM takes to stop systrace-top when its reader reads
/// everything. Unloading the programs takes longer on a slow machine (0.3 s
/// under emulation, 0.1 s on the machine it emulates): what a reader that
/// reads nothing may add to that is the grace of one write, half a second.
fn stop_with_a_reader() -> Duration {
    let mut tracer = start(&[], Stdio::piped());
    let mut stdout = tracer.stdout.take().unwrap();
    read_start(&mut stdout);
    let reader = std::thread::spawn(move || stdout.read_to_end(&mut Vec::new()));
    let asked = Instant::now();
    kill(Pid::from_raw(tracer.id() as i32), Signal::SIGTERM).unwrap();
    let status = ended_within(&mut tracer, slack(5.0));
    let took = asked.elapsed();
    reader.join().unwrap().unwrap();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    took
}

/// An unprivileged user opens 100,000 distinct 3.5 KB paths while nobody
/// reads systrace-top's output: its memory stays bounded (records wait in
/// the kernel's ring buffer, and what does not fit is counted lost there),
/// and SIGTERM still ends it within a second more than with a reader that
/// reads, whatever the pipe.
#[test]
fn a_reader_that_never_reads_bounds_memory_and_does_not_stop_sigterm() {
    if !can_trace("a_reader_that_never_reads_bounds_memory_and_does_not_stop_sigterm") {
        return;
    }
    let (mut read, write) = pipe();
    let mut tracer = start(&[], Stdio::from(write));
    read_start(&mut read);
    // 100,000 distinct paths of 3.5 KB: a missing directory of 14
    // 250-byte components, then a number.
    let mut dir = std::env::temp_dir().join(unique("systrace-long"));
    for _ in 0..14 {
        dir.push("x".repeat(250));
    }
    let probe = probe_for_anyone();
    let mut storm = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&probe)
        .args(["open-distinct", "100000", dir.to_str().unwrap()])
        .spawn()
        .expect("setpriv");
    let mut peak = 0;
    while storm.try_wait().expect("waiting").is_none() {
        peak = peak.max(rss_kb(tracer.id()));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(storm.wait().unwrap().success(), "the storm ran");
    peak = peak.max(rss_kb(tracer.id()));
    eprintln!("never-read pipe: peak RSS {} MB", peak / 1024);
    assert!(
        peak < 64 * 1024,
        "RSS {peak} kB behind a reader that never reads"
    );

    let asked = Instant::now();
    kill(Pid::from_raw(tracer.id() as i32), Signal::SIGTERM).unwrap();
    let status = ended_within(&mut tracer, slack(5.0));
    let took = asked.elapsed();
    assert!(status.is_some(), "still running 5 s after SIGTERM");
    let unhindered = stop_with_a_reader();
    assert!(
        took < unhindered + slack(1.0),
        "SIGTERM took {took:?} with a full pipe, {unhindered:?} with a reader that reads"
    );
}

/// --duration ends it on time even when its pipe is full: within a second
/// more than SIGTERM takes with a reader that reads.
#[test]
fn duration_ends_it_with_a_full_pipe() {
    if !can_trace("duration_ends_it_with_a_full_pipe") {
        return;
    }
    let (mut read, write) = pipe();
    let mut tracer = start(&["--duration", "2"], Stdio::from(write));
    // The duration counts from the start record: read it, then nothing more.
    read_start(&mut read);
    let started = Instant::now();
    // Records enough to fill the pipe many times over, and soon done: a
    // storm still running at the end would slow the stop it measures.
    let missing = std::env::temp_dir().join(unique("systrace-fill"));
    let mut storm = Command::new(probe_path())
        .args(["open-missing", "20000", missing.to_str().unwrap()])
        .spawn()
        .unwrap();
    let status = ended_within(&mut tracer, Duration::from_secs(2) + slack(8.0));
    let took = started.elapsed();
    storm.wait().unwrap();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let unhindered = stop_with_a_reader();
    assert!(
        took < Duration::from_secs(2) + slack(1.0) + unhindered,
        "--duration 2 ended {took:?} after its start record; \
         SIGTERM takes {unhindered:?} with a reader that reads"
    );
}

/// No space left: one line on stderr and a non-zero exit, not a quiet 0.
#[test]
fn a_full_disk_is_an_error() {
    if !can_trace("a_full_disk_is_an_error") {
        return;
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(BIN)
        .args(["--json", "--duration", "1"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

/// A closed stdout (which the Rust runtime turns into /dev/null) is
/// refused before anything is lost.
#[test]
fn a_closed_stdout_is_an_error() {
    if !can_trace("a_closed_stdout_is_an_error") {
        return;
    }
    let out = Command::new("sh")
        .args(["-c", &format!("exec {BIN} --json --duration 1 >&-")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stdout is closed"), "{stderr}");
}

/// A reader that goes away is a normal end: exit 0, nothing on stderr.
#[test]
fn a_reader_that_goes_away_is_a_normal_end() {
    if !can_trace("a_reader_that_goes_away_is_a_normal_end") {
        return;
    }
    let (read, write) = pipe();
    let mut tracer = start(&[], Stdio::from(write));
    let mut reader = read;
    let mut first = [0u8; 64];
    reader.read_exact(&mut first).unwrap();
    drop(reader);
    // Anything it writes now meets a closed pipe.
    Command::new("/bin/true").status().unwrap();
    let status = ended_within(&mut tracer, slack(10.0)).expect("it ends");
    let mut stderr = String::new();
    tracer
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// SIGHUP, as when the terminal goes: the summary, then exit 0.
#[test]
fn sighup_ends_it_with_the_summary() {
    if !can_trace("sighup_ends_it_with_the_summary") {
        return;
    }
    // Only this test's (absent) command: other tests' floods would fill its
    // grace with their records.
    let mut tracer = start(&["--comm", "no-such-comm"], Stdio::piped());
    let mut stdout = tracer.stdout.take().unwrap();
    read_start(&mut stdout);
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).unwrap();
        out
    });
    kill(Pid::from_raw(tracer.id() as i32), Signal::SIGHUP).unwrap();
    let status = ended_within(&mut tracer, slack(5.0)).expect("it ends");
    assert!(status.success(), "{status:?}");
    let out = reader.join().unwrap();
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "summary");
}
