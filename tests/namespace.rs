//! The tool inside a PID namespace (`unshare --pid --fork --mount-proc`, as
//! in a container): every id it gives and takes is that namespace's, it sees
//! the processes there (nested namespaces' included) and nothing outside,
//! and never its own work. Real kernel, real binary.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, can_trace, hold_tracers, of_type, records_to_summary, unique};
use serde_json::Value;

/// Runs `script` with sh in a new PID namespace with its own /proc, with
/// BIN and DIR in its environment; returns once it has ended. ALONE: no
/// other test's tool starts or stops meanwhile (where exits are taken by
/// fexit, that makes the kernel skip the exits of calls in flight, which
/// the tool then counts lost).
fn in_namespace(dir: &Path, script: &str, alone: bool) {
    let _tracers = hold_tracers(alone);
    let status = Command::new("timeout")
        .args([
            "60",
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            "sh",
            "-ec",
            script,
        ])
        .env("BIN", BIN)
        .env("DIR", dir)
        .stdin(Stdio::null())
        .status()
        .expect("running unshare");
    assert!(
        status.success(),
        "the script in the namespace failed: {status}"
    );
}

fn read_pid(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}: {text:?}", path.display()))
}

fn records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    records_to_summary(text.lines().map(str::to_string))
}

fn opens_of<'a>(records: &'a [Value], path: &'a str) -> impl Iterator<Item = &'a Value> {
    of_type(records, "open").filter(move |r| r["path"] == path)
}

/// A scratch directory, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(unique("systrace-pidns"));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `--pid` takes the namespace's PID, the records give it, and the tool
/// ends with that process.
#[test]
fn pid_is_the_namespaces_own() {
    if !can_trace("pid_is_the_namespaces_own") {
        return;
    }
    let scratch = Scratch::new();
    let dir = &scratch.0;
    std::fs::write(dir.join("marker"), "x").unwrap();
    in_namespace(
        dir,
        r#"
        sh -c 'while [ ! -s "$DIR/out.json" ]; do sleep 0.05; done; exec cat "$DIR/marker"' >/dev/null &
        echo $! > "$DIR/child.pid"
        "$BIN" --json --pid $! > "$DIR/out.json" &
        echo $! > "$DIR/tool.pid"
        wait $!
        "#,
        false,
    );
    let child = read_pid(&dir.join("child.pid"));
    assert!(child < 10, "a fresh namespace's PIDs are small: {child}");
    let records = records(&dir.join("out.json"));
    let tool = read_pid(&dir.join("tool.pid"));
    assert_eq!(
        records[0]["pid"], tool,
        "the start record names the tool: {}",
        records[0]
    );
    let marker = dir.join("marker").display().to_string();
    let opens: Vec<_> = opens_of(&records, &marker).collect();
    assert_eq!(opens.len(), 1, "the marker's open, from --pid {child}");
    assert_eq!(opens[0]["pid"], child, "{}", opens[0]);
    let exec = of_type(&records, "exec")
        .find(|r| r["comm"] == "cat")
        .expect("cat's exec");
    assert_eq!(exec["pid"], child, "{exec}");
    assert_eq!(exec["tid"], child, "{exec}");
    assert!(
        of_type(&records, "exit").any(|r| r["pid"] == child),
        "the process's exit, which ends --pid"
    );
    for r in records.iter().filter(|r| r["type"] != "start") {
        if let Some(pid) = r.get("pid").and_then(Value::as_u64) {
            assert_eq!(pid, child, "--pid {child} let another process through: {r}");
        }
    }
}

/// Without a filter: the namespace's processes under their PIDs there, a
/// nested namespace's under the outer one's PIDs, nothing from outside, and
/// none of the tool's own opens.
#[test]
fn sees_its_namespace_only_and_not_itself() {
    if !can_trace("sees_its_namespace_only_and_not_itself") {
        return;
    }
    let scratch = Scratch::new();
    let dir = &scratch.0;
    for name in ["inside", "nested", "outside"] {
        std::fs::write(dir.join(name), "x").unwrap();
    }
    // Opened outside the namespace all along, under a host PID that could
    // be a PID inside it too.
    let outside = dir.join("outside");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let host = {
        let (outside, stop) = (outside.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut opened = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                drop(std::fs::File::open(&outside).unwrap());
                opened += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            opened
        })
    };
    in_namespace(
        dir,
        r#"
        "$BIN" --json > "$DIR/out.json" &
        tool=$!
        echo $tool > "$DIR/tool.pid"
        while [ ! -s "$DIR/out.json" ]; do sleep 0.05; done
        sh -c 'echo $$ > "$DIR/inside.pid"; exec cat "$DIR/inside"' >/dev/null
        unshare --pid --fork sh -c 'read -r pid rest < /proc/self/stat; echo $pid > "$DIR/nested.pid"; exec cat "$DIR/nested"' >/dev/null
        kill -TERM $tool
        wait $tool
        "#,
        true,
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(host.join().unwrap() > 0, "the host opened its file");
    let records = records(&dir.join("out.json"));
    for (name, pid_file) in [("inside", "inside.pid"), ("nested", "nested.pid")] {
        let pid = read_pid(&dir.join(pid_file));
        let path = dir.join(name).display().to_string();
        let opens: Vec<_> = opens_of(&records, &path).collect();
        assert_eq!(opens.len(), 1, "{name}'s open");
        assert_eq!(opens[0]["pid"], pid, "{name}: {}", opens[0]);
        assert_eq!(opens[0]["tid"], pid, "{name}: {}", opens[0]);
        let exec = of_type(&records, "exec")
            .find(|r| r["pid"] == pid && r["comm"] == "cat")
            .unwrap_or_else(|| panic!("{name}'s exec"));
        assert_eq!(exec["tid"], pid, "{exec}");
    }
    assert_eq!(
        opens_of(&records, &outside.display().to_string()).count(),
        0,
        "a process outside the namespace was seen"
    );
    let tool = read_pid(&dir.join("tool.pid"));
    for r in of_type(&records, "open").chain(of_type(&records, "exec")) {
        assert_ne!(r["pid"], tool, "the tool's own record: {r}");
    }
    let summary = records.last().unwrap();
    assert_eq!(summary["lost"]["open"], 0, "{summary}");
}

/// A /proc of another namespace would name every process wrongly: refused.
#[test]
fn refuses_a_proc_of_another_namespace() {
    if !can_trace("refuses_a_proc_of_another_namespace") {
        return;
    }
    let out = Command::new("unshare")
        .args(["--pid", "--fork", BIN, "--json", "--duration", "1"])
        .output()
        .expect("running unshare");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "no records: {:?}", out.stdout);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("--mount-proc"), "names the fix: {stderr}");
}

/// --trace launches and follows its command by the namespace's PIDs.
#[test]
fn trace_in_a_namespace() {
    if !can_trace("trace_in_a_namespace") {
        return;
    }
    let scratch = Scratch::new();
    let dir = &scratch.0;
    std::fs::write(dir.join("inside"), "x").unwrap();
    in_namespace(
        dir,
        r#""$BIN" --trace -- cat "$DIR/inside" > /dev/null 2> "$DIR/trace.txt""#,
        false,
    );
    let trace = std::fs::read_to_string(dir.join("trace.txt")).unwrap();
    let open = format!(
        "openat(AT_FDCWD, \"{}/inside\", O_RDONLY) = 3",
        dir.display()
    );
    assert!(trace.contains(&open), "{open} in:\n{trace}");
    assert!(trace.ends_with("+++ exited with 0 +++\n"), "{trace}");
}
