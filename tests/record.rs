//! Recording and replaying, end to end: what a live run wrote as JSON, its
//! recording replays as the same lines, as any user, without BPF; a
//! recording cut by SIGKILL or short of its end replays up to its last
//! complete block and says so; files that are not recordings get one line
//! and a non-zero exit; the checked-in recording of format 1 replays as it
//! did when it was made.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Tracer, can_trace, compile_c, unique};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_systrace-top");

/// A directory of the test's own that anyone may read, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `systrace-top --replay PATH --json`, as user UID if given.
fn replay_json(path: &Path, uid: Option<u32>) -> Output {
    let mut command = Command::new(BIN);
    command.arg("--replay").arg(path).arg("--json");
    if let Some(uid) = uid {
        command.uid(uid).gid(uid);
    }
    command
        .stdin(Stdio::null())
        .output()
        .expect("running the replay")
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .expect("UTF-8 records")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l}: {e}")))
        .collect()
}

/// The summary's duration is the run's, measured at its end: a replay
/// gives the recording's span instead.
fn without_duration(mut records: Vec<Value>) -> Vec<Value> {
    for r in &mut records {
        if r["type"] == "summary" {
            r.as_object_mut().unwrap().remove("duration_s");
        }
    }
    records
}

/// stderr is one line, from us, not a panic.
#[track_caller]
fn one_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("systrace-top: "), "{stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr:?}");
    stderr
}

/// Runs the C program NAME with ARGS; it must exit 0.
fn run(name: &str, args: &[&str]) {
    let prog = compile_c(name, &[]);
    let status = Command::new(&prog)
        .args(args)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{name} {args:?}: {status}");
}

/// Opens DIR/\xff\xfe.txt (DIR ends with a slash), then execs /bin/true
/// with \xff and TAG as its argument.
const ODD_BYTES: &str = r#"
import os, sys
d = os.fsencode(sys.argv[1])
open(d + b"\xff\xfe.txt", "w").close()
os.execv(b"/bin/true", [b"true", b"\xff" + os.fsencode(sys.argv[2])])
"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// While --json writes its records, --record keeps them: C programs
/// forking and execing with literals, system() and posix_spawn, threads
/// and i386 calls failing, a path and an argument that are not UTF-8. The
/// replay's lines are the live ones, record for record (the summary's
/// duration aside), and a user who is not root, with no BPF, gets the same.
#[test]
fn a_replay_writes_the_lines_the_live_run_wrote() {
    if !can_trace("a_replay_writes_the_lines_the_live_run_wrote") {
        return;
    }
    let dir = TempDir::new("systrace-record");
    let path = dir.join("live.rec");
    let tag = unique("recorded");
    let tracer = Tracer::start(&["--errors", "--record", path.to_str().unwrap()]);
    run("fork_execl", &["loop", &tag, "5"]);
    run("spawn", &[]);
    run("system", &[]);
    let failing = compile_c("failing", &["-static"]);
    let status = Command::new(&failing)
        .arg("20")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // Bytes that are not UTF-8: a path opened, an argument exec'd with.
    let status = Command::new("python3")
        .args(["-I", "-S", "-B", "-c", ODD_BYTES])
        .arg(dir.join("").as_os_str())
        .arg(&tag)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let start = tracer.start_record.clone();
    let live = tracer.stop();
    let execs = live
        .iter()
        .filter(|r| r["type"] == "exec" && r["argv"][1] == tag.as_str())
        .count();
    assert_eq!(execs, 5, "the live run saw the execs");
    let odd_hex = format!("{}fffe2e747874", hex(dir.join("").as_os_str().as_bytes()));
    assert!(
        live.iter()
            .any(|r| r["type"] == "open" && r["path_hex"] == odd_hex.as_str()),
        "the live run saw the open of {odd_hex}"
    );
    let odd_arg = format!("ff{}", hex(tag.as_bytes()));
    assert!(
        live.iter()
            .any(|r| r["type"] == "exec" && r["argv_hex"][1] == odd_arg.as_str()),
        "the live run saw the exec with {odd_arg}"
    );

    let replayed = replay_json(&path, None);
    assert!(replayed.status.success(), "{replayed:?}");
    let replayed = lines(&replayed);
    let mut expected = vec![start];
    expected.extend(live);
    assert_eq!(replayed.len(), expected.len(), "as many records");
    for (i, (r, e)) in without_duration(replayed.clone())
        .iter()
        .zip(without_duration(expected))
        .enumerate()
    {
        assert_eq!(*r, e, "record {i}");
    }

    // No root, no BPF: a copy anyone may read, replayed as nobody.
    let copy = dir.join("copy.rec");
    std::fs::copy(&path, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    let as_nobody = replay_json(&copy, Some(65534));
    assert!(as_nobody.status.success(), "{as_nobody:?}");
    assert_eq!(lines(&as_nobody), replayed);
}

/// A recorder killed with SIGKILL leaves a file that replays up to its
/// last complete block: what happened seconds before is there, and the
/// replay says the file ends short, with a non-zero exit. Cut again in the
/// middle of a block, it still replays what comes before.
#[test]
fn a_recording_cut_by_sigkill_replays_up_to_its_last_block() {
    if !can_trace("a_recording_cut_by_sigkill_replays_up_to_its_last_block") {
        return;
    }
    let dir = TempDir::new("systrace-killed");
    let path = dir.join("killed.rec");
    let tag = unique("killed");
    let mut recorder = start_recorder(&path);
    run("fork_execl", &["loop", &tag, "3"]);
    // Two ticks: the execs' block and the next are written.
    std::thread::sleep(Duration::from_millis(2500));
    recorder.kill().unwrap();
    recorder.wait().unwrap();

    let tagged = |records: &[Value]| {
        records
            .iter()
            .filter(|r| r["type"] == "exec" && r["argv"][1] == tag.as_str())
            .count()
    };
    let replayed = replay_json(&path, None);
    assert_eq!(replayed.status.code(), Some(1));
    assert!(one_line(&replayed).contains("ends without its last block"));
    let records = lines(&replayed);
    assert_eq!(tagged(&records), 3, "the execs before the kill");
    assert_eq!(records.last().unwrap()["type"], "summary");

    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 10).unwrap();
    let cut = replay_json(&path, None);
    assert_eq!(cut.status.code(), Some(1));
    assert!(one_line(&cut).contains("cut short at byte"));
    assert_eq!(tagged(&lines(&cut)), 3);
}

/// Files that are not recordings, or not whole ones, get one line and a
/// non-zero exit, never a panic.
#[test]
fn what_is_not_a_recording_gets_one_line_and_a_non_zero_exit() {
    let dir = TempDir::new("systrace-bad");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "is not a systrace-top recording"),
        (
            "json",
            b"{\"type\":\"start\"}\n".to_vec(),
            "is not a systrace-top recording",
        ),
        (
            "elf",
            std::fs::read("/bin/true").unwrap(),
            "is not a systrace-top recording",
        ),
        (
            "header",
            checked_in()[..30].to_vec(),
            "is cut short in its header",
        ),
        ("flipped", flipped(checked_in(), 600), "corrupted"),
    ];
    for (name, bytes, wanted) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = replay_json(&path, None);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let said = one_line(&out);
        assert!(said.contains(wanted), "{name}: {said}");
    }
    // A FIFO would block the open: refused before it.
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let out = replay_json(&fifo, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out).contains("not a regular file"));
    let missing = replay_json(&dir.join("missing"), None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(one_line(&missing).contains("No such file"));
    // Usage: one line, exit 2, before anything starts.
    for args in [
        &["--replay", "x.rec", "--pid", "1"][..],
        &["--replay", "x.rec", "--record", "y.rec"],
        &["--record-size", "10M"],
        &["--record", "y.rec", "--record-size", "1"],
        &["--record", "y.rec", "--record-size", "ten"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        one_line(&out);
    }
}

fn checked_in() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/recording-v1.rec"))
        .unwrap()
}

fn flipped(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    bytes[at] ^= 0x10;
    bytes
}

/// The recording of format 1 checked in when the format was made replays
/// as it did then, line for line: later versions read earlier recordings.
#[test]
fn the_checked_in_recording_replays_as_it_did() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let out = replay_json(&dir.join("recording-v1.rec"), None);
    assert!(out.status.success(), "{out:?}");
    let expected = std::fs::read_to_string(dir.join("recording-v1.jsonl")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

/// A recorder stopped by SIGTERM ends its file cleanly: the replay is
/// whole (exit 0). One whose disk fills says so in one line, exits
/// non-zero, and leaves a file that replays up to its last complete block.
#[test]
fn a_recorder_ends_its_file_on_sigterm_and_says_when_the_disk_is_full() {
    if !can_trace("a_recorder_ends_its_file_on_sigterm_and_says_when_the_disk_is_full") {
        return;
    }
    let dir = TempDir::new("systrace-ends");
    let path = dir.join("term.rec");
    let mut recorder = start_recorder(&path);
    let tag = unique("termed");
    run("fork_execl", &["loop", &tag, "2"]);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(recorder.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(recorder.wait().unwrap().success());
    let replayed = replay_json(&path, None);
    assert!(replayed.status.success(), "{replayed:?}");
    let execs = lines(&replayed)
        .iter()
        .filter(|r| r["type"] == "exec" && r["argv"][1] == tag.as_str())
        .count();
    assert_eq!(execs, 2);

    // A disk of 256 KiB: a storm of opens fills it within a second.
    let small = dir.join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&small)
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        println!("SKIPPED the full disk: cannot mount a tmpfs");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&small);
    let full = small.join("full.rec");
    let mut recorder = start_recorder(&full);
    let storm = Command::new("python3")
        .args(["-I", "-S", "-c"])
        .arg(
            "import os, sys, time\n\
             end = time.time() + 20\n\
             while time.time() < end:\n    \
             for i in range(1000):\n        \
             try: os.open('/nonexistent/' + os.urandom(8).hex(), 0)\n        \
             except OSError: pass\n",
        )
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _storm = Kill(storm);
    let deadline = std::time::Instant::now() + common::slack(20.0);
    let status = loop {
        if let Some(status) = recorder.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the recorder went on with a full disk"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    use std::io::Read;
    recorder
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let replayed = replay_json(&full, None);
    assert_eq!(replayed.status.code(), Some(1), "{replayed:?}");
    let said = one_line(&replayed);
    assert!(
        said.contains("cut short") || said.contains("without its last block"),
        "{said}"
    );
    assert!(
        lines(&replayed).iter().any(|r| r["type"] == "open"),
        "opens before it filled"
    );
}

/// `systrace-top --record PATH` alone, once it says it records; its first
/// line of stderr read.
fn start_recorder(path: &Path) -> std::process::Child {
    let mut recorder = Command::new(BIN)
        .arg("--record")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = [0u8; 1];
    let mut line = Vec::new();
    use std::io::Read;
    let stderr = recorder.stderr.as_mut().unwrap();
    while stderr.read(&mut said).unwrap() == 1 && said[0] != b'\n' {
        line.push(said[0]);
    }
    let line = String::from_utf8_lossy(&line);
    assert!(line.contains("recording to"), "{line:?}");
    recorder
}

/// A recording is a new file of its own: a regular file there before is
/// replaced (not written into, keeping another user's owner and mode); a
/// symbolic link or a device is refused, and what it points to untouched.
#[test]
fn a_recording_replaces_only_a_regular_file() {
    if !can_trace("a_recording_replaces_only_a_regular_file") {
        return;
    }
    let dir = TempDir::new("systrace-create");
    let target = dir.join("target.txt");
    std::fs::write(&target, "keep").unwrap();
    let link = dir.join("link.rec");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let null = dir.join("null");
    let device = nix::sys::stat::makedev(1, 3);
    let mode = nix::sys::stat::Mode::from_bits_truncate(0o666);
    nix::sys::stat::mknod(&null, nix::sys::stat::SFlag::S_IFCHR, mode, device).unwrap();
    for (path, said) in [(&link, "symbolic link"), (&null, "not a regular file")] {
        let out = record_a_second(path);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(one_line(&out).contains(said));
    }
    // Said before anything loads: beside --json, not even the start
    // record came out.
    let missing = dir.join("no-such-dir").join("x.rec");
    for (path, said) in [(&link, "symbolic link"), (&missing, "creating")] {
        let out = record_a_second_with(path, &["--json"]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(one_line(&out).contains(said), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    assert!(
        std::fs::symlink_metadata(&null)
            .unwrap()
            .file_type()
            .is_char_device()
    );

    // Another user's file, anyone's to read: replaced by ours, ours only.
    let theirs = dir.join("theirs.rec");
    std::fs::write(&theirs, "old").unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let out = record_a_second(&theirs);
    assert!(out.status.success(), "{out:?}");
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&theirs).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o600));
    assert!(replay_json(&theirs, None).status.success());
}

/// `systrace-top --record PATH --duration 1`, to its end.
fn record_a_second(path: &Path) -> Output {
    record_a_second_with(path, &[])
}

/// The same, with ARGS too.
fn record_a_second_with(path: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--record")
        .arg(path)
        .args(["--duration", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}
