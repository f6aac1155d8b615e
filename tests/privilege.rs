//! Least privilege: the real binary run by an ordinary user (nobody) with
//! exactly the capabilities README.md names, as ambient capabilities through
//! setpriv or as file capabilities, and without one of them. Real kernel;
//! root sets the capabilities up.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, can_trace, of_type, unique};
use serde_json::{Value, json};

/// What README.md's Requirements ask for, as setpriv names them.
const NEEDED: &str = "+bpf,+perfmon";
const NOBODY: u32 = 65534;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// The binary copied where nobody can run it (the build tree may be under a
/// directory nobody cannot enter); removed on drop.
struct ForNobody {
    dir: PathBuf,
    binary: PathBuf,
}

impl ForNobody {
    fn new() -> ForNobody {
        let dir = std::env::temp_dir().join(unique("systrace-privilege"));
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("systrace-top");
        std::fs::copy(BIN, &binary).unwrap();
        for path in [&dir, &binary] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        ForNobody { dir, binary }
    }

    /// It, run as nobody through setpriv, with CAPS (setpriv's
    /// `+bpf,+perfmon` form) as inheritable and ambient capabilities.
    fn as_nobody(&self, caps: &str) -> Command {
        let mut options = Vec::new();
        if !caps.is_empty() {
            options = vec![
                format!("--inh-caps={caps}"),
                format!("--ambient-caps={caps}"),
            ];
        }
        self.setpriv(&options)
    }

    /// It, run as nobody through setpriv with OPTIONS.
    fn setpriv(&self, options: &[String]) -> Command {
        let mut command = Command::new("setpriv");
        command
            .args([
                format!("--reuid={NOBODY}"),
                format!("--regid={NOBODY}"),
                "--clear-groups".into(),
            ])
            .args(options)
            .arg(&self.binary)
            .current_dir(&self.dir);
        command
    }
}

impl Drop for ForNobody {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A child killed when dropped, so that a failed test leaves nothing
/// running.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// systrace-top --json running as nobody, its stdout read line by line.
struct Running {
    child: Killed,
    lines: crossbeam_channel::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    /// Starts it and waits for the start record.
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting setpriv");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let (tx, lines) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let running = Running {
            child: Killed(child),
            lines,
            stderr,
        };
        let Ok(first) = running.lines.recv_timeout(Duration::from_secs(60)) else {
            let out = running.stop_output();
            panic!("no start record within 60 s; stderr: {}", out.1);
        };
        let start: Value = serde_json::from_str(&first).expect("first line is JSON");
        assert_eq!(start["type"], "start", "first record: {first}");
        // setpriv execs it: the same process.
        assert_eq!(start["pid"], running.pid(), "{start}");
        running
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// SIGINT; its exit status and stderr.
    fn stop_output(mut self) -> (std::process::ExitStatus, String) {
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.0.try_wait().expect("waiting") {
                break status;
            }
            if Instant::now() > deadline {
                panic!("systrace-top did not stop on SIGINT");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (status, self.stderr.join().unwrap_or_default())
    }

    /// Stops it with SIGINT: it must exit 0, say nothing on stderr and end
    /// with the summary. Every record after the start one.
    fn stop(self) -> Vec<Value> {
        // Let the ring buffer and the last tick carry what just happened.
        std::thread::sleep(Duration::from_millis(300));
        let lines = self.lines.clone();
        let (status, stderr) = self.stop_output();
        assert!(status.success(), "exited with {status}; stderr: {stderr}");
        assert_eq!(stderr, "", "nothing on stderr");
        common::records_to_summary(lines.iter())
    }
}

/// A capability set of every thread of PID, from /proc/PID/task/*/status.
fn thread_sets(pid: u32, name: &str) -> Vec<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("its threads");
    let sets: Vec<u64> = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .map(|status| status_field(&status, name))
        .collect();
    assert!(!sets.is_empty(), "no thread of {pid}");
    sets
}

fn status_field(status: &str, name: &str) -> u64 {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in {status}"));
    u64::from_str_radix(hex.trim(), 16).unwrap()
}

/// (major, minor) of the running kernel.
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (next(), next())
}

/// Once loaded, systrace-top holds no capability: all given back, in every
/// thread, since none is used after load. Only kernels before 5.19 still
/// check CAP_BPF for calls on maps and links already made.
fn assert_capabilities_dropped(pid: u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status.lines().any(|l| l
            .split_whitespace()
            .eq(["Uid:", "65534", "65534", "65534", "65534"])),
        "runs as nobody: {status}"
    );
    let kept = if kernel_version() >= (5, 19) {
        0
    } else {
        1 << CAP_BPF
    };
    for name in ["CapEff", "CapPrm"] {
        // The main thread, as anyone looks at it, and then every thread.
        let main = status_field(&status, name);
        assert_eq!(main & !kept, 0, "{name} {main:x} of {pid}");
        for set in thread_sets(pid, name) {
            assert_eq!(set & !kept, 0, "{name} {set:x} of a thread of {pid}");
        }
    }
    for name in ["CapInh", "CapAmb"] {
        for set in thread_sets(pid, name) {
            assert_eq!(set, 0, "{name} {set:x} of a thread of {pid}");
        }
    }
}

#[test]
fn runs_as_nobody_with_cap_bpf_and_cap_perfmon_only() {
    if !can_trace("runs_as_nobody_with_cap_bpf_and_cap_perfmon_only") {
        return;
    }
    let copy = ForNobody::new();
    // A process of another user (root), running before systrace-top and
    // making syscalls: its command name comes from /proc.
    let seed_name = "systrace-seed";
    let seed_path = copy.dir.join(seed_name);
    std::os::unix::fs::symlink("/bin/sh", &seed_path).unwrap();
    let seed = Killed(
        Command::new(&seed_path)
            .args(["-c", "while :; do sleep 0.05; done"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let mut command = copy.as_nobody(NEEDED);
    command.args(["--json", "--interval", "0.2"]);
    let running = Running::start(command);
    assert_capabilities_dropped(running.pid());

    let tag = unique("privilege");
    let status = Command::new("/bin/true").arg(&tag).status().unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(500));
    let records = running.stop();

    let exec = of_type(&records, "exec")
        .find(|r| r["argv"][1] == tag.as_str())
        .unwrap_or_else(|| panic!("the exec of /bin/true {tag}"));
    assert_eq!(exec["argv"], json!(["/bin/true", tag]));
    assert_eq!(exec["filename"], "/bin/true");
    assert_eq!(exec["uid"], 0, "another user's exec: {exec}");
    assert_eq!(exec["ppid"], std::process::id());
    assert_eq!(exec["ret"], 0);
    let exit = of_type(&records, "exit")
        .find(|r| r["pid"] == exec["pid"])
        .expect("its exit");
    assert_eq!(exit["exit_code"], 0);
    assert!(exit["syscalls"]["execve"].as_u64() >= Some(1), "{exit}");
    assert!(exit["syscalls"]["exit_group"].as_u64() >= Some(1), "{exit}");

    let seed_pid = u64::from(seed.0.id());
    let seen = of_type(&records, "rates")
        .flat_map(|r| r["processes"].as_array().cloned().unwrap_or_default())
        .find(|p| p["pid"] == seed_pid)
        .expect("rates of the running root process");
    assert_eq!(seen["comm"], seed_name, "{seen}");
}

#[test]
fn trace_attaches_its_program_after_the_drop() {
    if !can_trace("trace_attaches_its_program_after_the_drop") {
        return;
    }
    // --trace attaches the syscall-exit program and fills the watched map
    // once the capabilities are gone.
    let copy = ForNobody::new();
    let out = copy
        .as_nobody(NEEDED)
        .args([
            "--trace",
            "--",
            "/bin/sh",
            "-c",
            "read x < /dev/null; exit 3",
        ])
        .output()
        .expect("running setpriv");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "the command's status: {trace}");
    assert!(trace.starts_with("execve(\"/bin/sh\""), "{trace}");
    assert!(
        trace.contains(r#"openat(AT_FDCWD, "/dev/null", O_RDONLY"#),
        "{trace}"
    );
    assert!(trace.ends_with("+++ exited with 3 +++\n"), "{trace}");
}

/// Runs the copy as nobody with CAPS: it must fail with one line.
fn refused(copy: &ForNobody, caps: &str) -> String {
    let out: Output = copy
        .as_nobody(caps)
        .args(["--json", "--duration", "1"])
        .output()
        .expect("running setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "with [{caps}]: {stderr}");
    assert!(out.stdout.is_empty(), "with [{caps}]: no records");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("systrace-top: "), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "sudo setcap cap_bpf,cap_perfmon+ep {}",
            copy.binary.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.to_lowercase().contains("sys_admin"), "{stderr}");
    stderr
}

#[test]
fn a_missing_capability_is_named() {
    if !can_trace("a_missing_capability_is_named") {
        return;
    }
    let copy = ForNobody::new();
    for (caps, missing) in [
        ("+bpf", "CAP_PERFMON is missing"),
        ("+perfmon", "CAP_BPF is missing"),
        ("", "CAP_BPF and CAP_PERFMON are missing"),
    ] {
        let err = refused(&copy, caps);
        assert!(err.contains(missing), "with [{caps}]: {err}");
    }
}

#[test]
fn root_without_a_capability_is_told_so() {
    if !can_trace("root_without_a_capability_is_told_so") {
        return;
    }
    // Root in a container that withholds CAP_PERFMON (and CAP_SYS_ADMIN,
    // which would stand in for it): sudo would not help.
    let out = Command::new("setpriv")
        .arg("--bounding-set=-perfmon,-sys_admin")
        .arg(BIN)
        .args(["--json", "--duration", "1"])
        .output()
        .expect("running setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.contains("CAP_PERFMON is missing even as root")
            && stderr.contains("container or service"),
        "{stderr}"
    );
}

/// Sets the file capabilities `setcap cap_bpf,cap_perfmon+ep` sets, without
/// needing setcap: a version 2 `security.capability`, permitted and
/// effective.
fn set_file_caps(path: &Path) {
    const VFS_CAP_REVISION_2: u32 = 0x0200_0000;
    const VFS_CAP_FLAGS_EFFECTIVE: u32 = 1;
    let words = [
        VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
        0,                                                 // permitted, caps 0-31
        0,                                                 // inheritable
        (1 << (CAP_BPF - 32)) | (1 << (CAP_PERFMON - 32)), // permitted, caps 32-63
        0,
    ];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: both strings are NUL-terminated, the value is bytes.len() long.
    let ret = unsafe {
        libc::setxattr(
            c_path.as_ptr(),
            c"security.capability".as_ptr(),
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
        )
    };
    assert_eq!(ret, 0, "setxattr: {}", std::io::Error::last_os_error());
}

#[test]
fn file_capabilities_as_the_readme_sets_them() {
    if !can_trace("file_capabilities_as_the_readme_sets_them") {
        return;
    }
    let copy = ForNobody::new();
    set_file_caps(&copy.binary);
    // Capabilities from the file alone: none from setpriv.
    let mut command = copy.as_nobody("");
    command.arg("--json");
    let running = Running::start(command);
    assert_capabilities_dropped(running.pid());
    running.stop();

    // A nosuid mount makes the kernel ignore them: the error says so. The
    // mount is in a mount namespace of its own.
    let nosuid = copy.dir.join("nosuid");
    std::fs::create_dir(&nosuid).unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o nosuid,mode=755 tmpfs \"$1\" && \
             cp --preserve=xattr \"$2\" \"$1/systrace-top\" && \
             exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups \
             \"$1/systrace-top\" --json --duration 1"
        ))
        .arg("sh")
        .args([&nosuid, &copy.binary])
        .current_dir(&copy.dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("CAP_BPF and CAP_PERFMON are missing (its file capabilities are ignored: its filesystem is mounted nosuid)"),
        "{stderr}"
    );
}
