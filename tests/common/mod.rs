//! Shared by the tests that run the real binary against the real kernel.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_systrace-top");

/// True when the kernel tests can run. Outside root they are skipped with a
/// reason; under CI (CI=true) skipping is a failure. On a kernel older than
/// systrace-top supports, they are skipped with its refusal, once that has
/// been checked to be the one line it must be.
pub fn can_trace(test: &str) -> bool {
    if !nix::unistd::geteuid().is_root() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: CI=true but not running as root: kernel tests must run in CI");
        }
        eprintln!("SKIPPED {test}: loading BPF programs needs root (run the tests with sudo)");
        return false;
    }
    if let Some(refusal) = refusal_of_an_old_kernel() {
        eprintln!("SKIPPED {test}: this kernel is refused: {refusal}");
        return false;
    }
    true
}

/// The oldest kernel systrace-top runs on. Keep in sync with MIN_KERNEL in
/// src/bpf/env.rs.
const MIN_KERNEL: (u32, u32) = (5, 13);

/// On a kernel older than MIN_KERNEL, systrace-top's refusal: exit 1 and
/// one line that says so. None on a kernel it runs on.
fn refusal_of_an_old_kernel() -> Option<&'static str> {
    static REFUSAL: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    REFUSAL
        .get_or_init(|| {
            let release = nix::sys::utsname::uname().ok()?;
            let release = release.release().to_string_lossy().into_owned();
            let mut parts = release.split(|c: char| !c.is_ascii_digit());
            let major: u32 = parts.next()?.parse().ok()?;
            let minor: u32 = parts.next()?.parse().ok()?;
            if (major, minor) >= MIN_KERNEL {
                return None;
            }
            let out = Command::new(BIN)
                .args(["--json", "--duration", "1"])
                .output()
                .expect("running systrace-top");
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(1), "kernel {release}: {stderr}");
            assert!(out.stdout.is_empty(), "kernel {release}: records on stdout");
            assert_eq!(stderr.lines().count(), 1, "kernel {release}: {stderr}");
            assert!(stderr.contains("is too old"), "kernel {release}: {stderr}");
            Some(stderr.trim_end().to_string())
        })
        .as_deref()
}

/// The probe example, built by `cargo test` next to the test binaries.
pub fn probe_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let probe = dir.join("examples").join("probe");
    assert!(
        probe.exists(),
        "{} is missing: run the tests with `cargo test`, which builds examples",
        probe.display()
    );
    probe
}

/// A name no other test or run uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// Tracers of tests running in parallel see each other's events: a test
/// that floods the machine takes this for writing, so that no other tracer
/// loses its own test's records in the flood. So does a test whose program
/// has traced calls in flight (a server asleep in accept, execs in a loop)
/// and wants none lost: where exits are taken by fexit, another tracer
/// starting or stopping meanwhile rebuilds the functions' trampolines, and
/// the kernel then skips those calls' exit programs (their records are
/// counted lost).
static FLOOD: RwLock<()> = RwLock::new(());

pub enum FloodGuard {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
    /// Beside a tracer of the same test, which holds the lock alone.
    Beside,
}

/// The lock a tracer holds, shared or (ALONE) alone, until dropped: taken
/// by `Tracer`, and by a test that runs the tool itself.
pub fn hold_tracers(alone: bool) -> FloodGuard {
    match alone {
        true => FloodGuard::Alone(FLOOD.write().unwrap_or_else(|e| e.into_inner())),
        false => FloodGuard::Shared(FLOOD.read().unwrap_or_else(|e| e.into_inner())),
    }
}

/// A deadline's slack, scaled by SYSTRACE_TEST_SLOWDOWN (1 unless set):
/// the kernel matrix runs the tests under software emulation, several
/// times slower than the host, where only the slack grows, never the
/// bound a test checks (a --duration is still its duration).
#[allow(dead_code)]
pub fn slack(seconds: f64) -> Duration {
    let factor = std::env::var("SYSTRACE_TEST_SLOWDOWN")
        .ok()
        .and_then(|f| f.parse::<f64>().ok())
        .filter(|f| *f >= 1.0)
        .unwrap_or(1.0);
    Duration::from_secs_f64(seconds * factor)
}

/// systrace-top --json running in the background.
pub struct Tracer {
    /// Where it takes open and exec results, as its start record says.
    pub exit_hook: String,
    /// Its start record.
    pub start_record: Value,
    child: Child,
    lines: crossbeam_channel::Receiver<String>,
    _flood: FloodGuard,
}

impl Tracer {
    /// Starts the tracer and waits for its start record.
    pub fn start(args: &[&str]) -> Tracer {
        Self::start_with(args, hold_tracers(false))
    }

    /// Like `start`, with no other tracer running: for a test that floods.
    pub fn start_alone(args: &[&str]) -> Tracer {
        Self::start_with(args, hold_tracers(true))
    }

    /// A second tracer, beside this one, which must have started alone.
    #[allow(dead_code)]
    pub fn start_beside(&self, args: &[&str]) -> Tracer {
        assert!(
            matches!(self._flood, FloodGuard::Alone(_)),
            "start_alone first"
        );
        Self::start_with(args, FloodGuard::Beside)
    }

    /// Like `start`, with these environment variables.
    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Tracer {
        Self::start_full(args, env, hold_tracers(false))
    }

    fn start_with(args: &[&str], flood: FloodGuard) -> Tracer {
        Self::start_full(args, &[], flood)
    }

    fn start_full(args: &[&str], env: &[(&str, &str)], flood: FloodGuard) -> Tracer {
        let mut child = Command::new(BIN)
            .arg("--json")
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting systrace-top");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("systrace-top printed nothing within 60 s");
        let start: Value = serde_json::from_str(&first).expect("first line is JSON");
        assert_eq!(start["type"], "start", "first record: {first}");
        Tracer {
            exit_hook: start["exit_hook"].as_str().unwrap_or_default().to_string(),
            start_record: start.clone(),
            child,
            lines,
            _flood: flood,
        }
    }

    /// Records as they come, up to and with the first for which `wanted`
    /// holds (None if none came WITHIN); `stop` returns those after it.
    #[allow(dead_code)]
    pub fn records_until(
        &self,
        within: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> (Vec<Value>, Option<Value>) {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            let record: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSON {line}: {e}"));
            if wanted(&record) {
                return (seen, Some(record));
            }
            seen.push(record);
        }
        (seen, None)
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), signal)
            .expect("signalling systrace-top");
    }

    /// Stops it with SIGINT and returns every record after the start one.
    pub fn stop(mut self) -> Vec<Value> {
        // Let the ring buffer and the last tick carry what just happened.
        std::thread::sleep(Duration::from_millis(300));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .expect("signalling systrace-top");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "systrace-top did not stop on SIGINT"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.records(status)
    }
}

impl Tracer {
    /// Every record after the start one, of a tracer that ended with
    /// `status`: it must have exited 0, with the summary last.
    fn records(&self, status: std::process::ExitStatus) -> Vec<Value> {
        assert!(status.success(), "systrace-top exited with {status}");
        records_to_summary(self.lines.iter())
    }
}

/// JSON lines as records; the last must be the summary.
pub fn records_to_summary(lines: impl IntoIterator<Item = String>) -> Vec<Value> {
    let records: Vec<Value> = lines
        .into_iter()
        .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("bad JSON {l}: {e}")))
        .collect();
    let last = records.last().expect("records after start");
    assert_eq!(last["type"], "summary", "the last record is the summary");
    records
}

pub fn of_type<'a>(records: &'a [Value], kind: &str) -> impl Iterator<Item = &'a Value> {
    let kind = kind.to_string();
    records.iter().filter(move |r| r["type"] == kind.as_str())
}

/// Compiles tests/progs/NAME.c with the machine's `cc -O1 -Wall -pthread`
/// and EXTRA_FLAGS, once per test process, into a directory of this process
/// under the target dir. Panics with the compiler's messages if it fails.
pub fn compile_c(name: &str, extra_flags: &[&str]) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex, OnceLock};

    static DIR: OnceLock<PathBuf> = OnceLock::new();
    static BUILT: LazyLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> =
        LazyLock::new(Default::default);

    let mut out_name = name.to_string();
    for flag in extra_flags {
        out_name.push('_');
        out_name.extend(flag.chars().filter(char::is_ascii_alphanumeric));
    }
    // One slot per program: tests wanting the same one wait for one build.
    let slot = BUILT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(out_name.clone())
        .or_default()
        .clone();
    slot.get_or_init(|| {
        let dir = DIR.get_or_init(|| {
            let exe = std::env::current_exe().expect("test binary path");
            let target = exe.parent().and_then(|d| d.parent()).expect("target dir");
            let root = target.join("c-progs");
            std::fs::create_dir_all(&root).expect("creating target/c-progs");
            // Programs of test processes that have ended are not kept.
            for entry in std::fs::read_dir(&root)
                .expect("reading target/c-progs")
                .flatten()
            {
                let pid = entry.file_name().to_string_lossy().parse::<u32>();
                if pid.is_ok_and(|p| !PathBuf::from(format!("/proc/{p}")).exists()) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
            let dir = root.join(std::process::id().to_string());
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("creating the programs' directory");
            dir
        });
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/progs")
            .join(format!("{name}.c"));
        let out = dir.join(&out_name);
        let result = Command::new("cc")
            .args(["-O1", "-Wall", "-pthread"])
            .args(extra_flags)
            .arg("-o")
            .arg(&out)
            .arg(&source)
            .output()
            .expect("running cc");
        assert!(
            result.status.success(),
            "cc {} failed:\n{}",
            source.display(),
            String::from_utf8_lossy(&result.stderr)
        );
        out
    })
    .clone()
}

/// ROOT and the processes descended from it, as the fork records and the
/// parent of each exec record tell.
pub fn family(records: &[Value], root: u32) -> std::collections::HashSet<u64> {
    let mut family = std::collections::HashSet::from([u64::from(root)]);
    // Records of different CPUs can come out of order: until nothing is added.
    loop {
        let before = family.len();
        for r in records {
            let joins = match r["type"].as_str() {
                Some("fork") => r["thread"] != true,
                Some("exec") => true,
                _ => false,
            };
            let parent = r["ppid"].as_u64().is_some_and(|p| family.contains(&p));
            if let (true, true, Some(pid)) = (joins, parent, r["pid"].as_u64()) {
                family.insert(pid);
            }
        }
        if family.len() == before {
            return family;
        }
    }
}

/// Lowercase hex of BYTES, as the records give bytes that are not UTF-8.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs COMMAND with stdout and stderr captured; returns its pid and output.
pub fn run_captured(command: &mut Command) -> (u32, std::process::Output) {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let pid = child.id();
    let output = child.wait_with_output().expect("waiting for the child");
    (pid, output)
}

impl Tracer {
    /// The process id of systrace-top.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits, without signalling it, for systrace-top to end by itself (as
    /// with `--pid P` once P has exited), for at most WITHIN; returns every
    /// record after the start one. It must exit 0 with the summary last.
    pub fn wait_exit(mut self, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("systrace-top did not end by itself within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        self.records(status)
    }
}
