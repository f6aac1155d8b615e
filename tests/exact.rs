//! Exact capture under the conditions that break naive tracers: argv in
//! pages the exec'ing process never touched, racing threads, 32-bit
//! syscalls, buffers rewritten under the kernel's feet, reused pids, a full
//! counter table, bytes that are not UTF-8, paths and argv past the limits,
//! and execs that name no path. Each case runs a small C program from
//! tests/progs whose behaviour is known exactly.

mod common;

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io::BufRead;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    Tracer, can_trace, compile_c, family, hex, of_type, probe_path, run_captured, unique,
};
use nix::sys::signal::Signal;
use serde_json::{Value, json};

/// What readlink of /proc/PID/exe gives for a process running PATH.
fn canonical(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::canonicalize(path)
        .unwrap_or_else(|e| panic!("canonicalize {}: {e}", path.display()))
        .to_str()
        .expect("a UTF-8 path")
        .to_string()
}

fn to_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The program exited 0 and printed exactly STDOUT.
fn assert_ran(output: &Output, stdout: &str) {
    assert!(
        output.status.success(),
        "{}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), stdout);
}

fn summary(records: &[Value]) -> &Value {
    let last = records.last().expect("records");
    assert_eq!(last["type"], "summary");
    last
}

/// The single exit record of PID.
fn exit_of(records: &[Value], pid: u32) -> &Value {
    let exits: Vec<&Value> = of_type(records, "exit")
        .filter(|r| r["pid"] == pid)
        .collect();
    assert_eq!(exits.len(), 1, "one exit of {pid}: {exits:?}");
    exits[0]
}

/// Every syscall an exit record accounts for: the named ones and those
/// left out of the breakdown.
fn total_syscalls(exit: &Value) -> u64 {
    let named: u64 = exit["syscalls"]
        .as_object()
        .unwrap_or_else(|| panic!("no syscalls in {exit}"))
        .values()
        .map(|n| n.as_u64().expect("a count"))
        .sum();
    named
        + exit
            .get("syscalls_unattributed")
            .map_or(0, |n| n.as_u64().unwrap())
}

/// A successful 64-bit execve of FILENAME, running EXE, with exactly ARGV,
/// all of it read and valid UTF-8.
fn assert_exec(exec: &Value, call: &str, filename: &str, exe: &str, argv: Value) {
    assert_eq!(exec["call"], call, "{exec}");
    assert_eq!(exec["compat"], false, "{exec}");
    assert_eq!(exec["filename"], filename, "{exec}");
    assert_eq!(exec["exe"], exe, "{exec}");
    assert_eq!(exec["argv"], argv, "{exec}");
    assert_eq!(exec["argv_truncated"], false, "{exec}");
    assert_eq!(exec["ret"], 0, "{exec}");
    for absent in [
        "error",
        "argv_unreadable",
        "argv_hex",
        "filename_unreadable",
        "filename_truncated",
        "filename_hex",
        "exe_hex",
    ] {
        assert!(exec.get(absent).is_none(), "{absent} in {exec}");
    }
}

/// A fresh directory under the temporary one, its canonical path.
fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(&dir).unwrap()
}

/// After fork, pages of the executable's .rodata are not mapped in the
/// child until it touches them: argv strings that are literals must still
/// be read whole, for every one of 100 execs and for cron's `sh -c`.
#[test]
fn fork_execl_of_rodata_literals_reports_full_argv() {
    if !can_trace("fork_execl_of_rodata_literals_reports_full_argv") {
        return;
    }
    let prog = compile_c("fork_execl", &[]);
    let tag = unique("literal");
    let true_exe = canonical("/bin/true");

    let tracer = Tracer::start(&[]);
    let (looper, out) = run_captured(Command::new(&prog).args(["loop", &tag, "100"]));
    let (cron, cron_out) = run_captured(Command::new(&prog).arg("cron"));
    let records = tracer.stop();
    assert_ran(&out, "done 100\n");
    assert_ran(&cron_out, "done 1\n");

    let execs: Vec<&Value> = of_type(&records, "exec")
        .filter(|r| r["ppid"] == looper)
        .collect();
    assert_eq!(execs.len(), 100, "an exec per child: {execs:?}");
    for exec in execs {
        assert_exec(
            exec,
            "execve",
            "/bin/true",
            &true_exe,
            json!(["true", tag, "literal-arg"]),
        );
    }

    let shells: Vec<&Value> = of_type(&records, "exec")
        .filter(|r| r["ppid"] == cron)
        .collect();
    assert_eq!(shells.len(), 1, "cron's one child: {shells:?}");
    assert_exec(
        shells[0],
        "execve",
        "/bin/sh",
        &canonical("/bin/sh"),
        json!(["sh", "-c", "/bin/true systrace-cron-literal-arg"]),
    );
    let cron_family = family(&records, cron);
    let commands: Vec<&Value> = of_type(&records, "exec")
        .filter(|r| r["filename"] == "/bin/true")
        .filter(|r| r["pid"].as_u64().is_some_and(|p| cron_family.contains(&p)))
        .collect();
    assert_eq!(commands.len(), 1, "the shell's command: {commands:?}");
    assert_exec(
        commands[0],
        "execve",
        "/bin/true",
        &true_exe,
        json!(["/bin/true", "systrace-cron-literal-arg"]),
    );
}

/// system() (posix_spawn of /bin/sh -c in glibc), posix_spawn and
/// vfork+execv, all with literal arguments: every exec of the program's
/// process tree is reported with its exact argv, and nothing else.
#[test]
fn system_posix_spawn_and_vfork_report_full_argv() {
    if !can_trace("system_posix_spawn_and_vfork_report_full_argv") {
        return;
    }
    let prog = compile_c("spawn", &[]);
    let true_exe = canonical("/bin/true");
    let sh_exe = canonical("/bin/sh");

    let tracer = Tracer::start(&[]);
    let (pid, out) = run_captured(&mut Command::new(&prog));
    let records = tracer.stop();
    assert_ran(&out, "ok\n");

    let tree = family(&records, pid);
    let mut execs: Vec<&Value> = of_type(&records, "exec")
        .filter(|r| r["pid"] != pid)
        .filter(|r| r["pid"].as_u64().is_some_and(|p| tree.contains(&p)))
        .collect();
    execs.sort_by_key(|r| (r["filename"].to_string(), r["argv"].to_string()));
    let seen: Vec<(&Value, &Value)> = execs.iter().map(|r| (&r["filename"], &r["argv"])).collect();
    let mut expected = [
        (
            json!("/bin/sh"),
            json!(["sh", "-c", "/bin/true systrace-system-literal-arg"]),
        ),
        (
            json!("/bin/true"),
            json!(["/bin/true", "systrace-system-literal-arg"]),
        ),
        (
            json!("/bin/true"),
            json!(["true", "systrace-spawn-literal-arg"]),
        ),
        (
            json!("/bin/true"),
            json!(["true", "systrace-vfork-literal-arg"]),
        ),
    ];
    expected.sort_by_key(|(f, a)| (f.to_string(), a.to_string()));
    let expected: Vec<(&Value, &Value)> = expected.iter().map(|(f, a)| (f, a)).collect();
    assert_eq!(seen, expected, "the execs under {pid}");
    for exec in execs {
        let exe = if exec["filename"] == "/bin/sh" {
            &sh_exe
        } else {
            &true_exe
        };
        assert_exec(
            exec,
            "execve",
            exec["filename"].as_str().unwrap(),
            exe,
            exec["argv"].clone(),
        );
    }
}

/// Two threads of a process in execve at once, 50 times over: no record
/// mixes the filename of one call with the argv of the other, every failed
/// call is reported (bar the loser's last, which the winning exec may kill
/// in flight) and each round's winning exec once.
#[test]
fn threads_exec_at_once_without_mixing_calls() {
    if !can_trace("threads_exec_at_once_without_mixing_calls") {
        return;
    }
    const ROUNDS: usize = 50;
    let prog = compile_c("thread_exec", &[]);
    let tag = unique("race");
    let true_exe = canonical("/bin/true");

    let tracer = Tracer::start(&[]);
    let (pid, out) = run_captured(Command::new(&prog).args([&tag, &ROUNDS.to_string()]));
    let records = tracer.stop();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "ROUND attempts_A attempts_B WINNER"
    let rounds: Vec<([u64; 2], usize)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f[0], i.to_string(), "{line}");
            let winner = if f[3] == "A" { 0 } else { 1 };
            ([f[1].parse().unwrap(), f[2].parse().unwrap()], winner)
        })
        .collect();
    assert_eq!(rounds.len(), ROUNDS);
    assert_eq!(summary(&records)["lost"]["exec"], 0, "exec records lost");

    let failed_prefix = format!("/nonexistent-{tag}-");
    let argv_prefix = format!("arg-{tag}-");
    // Per (round, thread): records, their thread ids, failures other than ENOENT.
    let mut failed: HashMap<(usize, usize), (u64, HashSet<u64>, u64)> = HashMap::new();
    let mut other_errors: HashMap<String, u64> = HashMap::new();
    let mut wins = [0u32; ROUNDS];
    for exec in of_type(&records, "exec").filter(|r| r["ppid"] == pid) {
        let filename = exec["filename"].as_str().expect("a filename");
        if filename == "/bin/true" {
            let win = exec["argv"][1].as_str().unwrap_or("");
            let round: usize = win
                .strip_prefix(&format!("{tag}-"))
                .and_then(|w| w.strip_suffix("-win"))
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| panic!("a record that mixes two calls: {exec}"));
            assert_exec(exec, "execve", "/bin/true", &true_exe, json!(["true", win]));
            wins[round] += 1;
            continue;
        }
        let call = filename
            .strip_prefix(&failed_prefix)
            .unwrap_or_else(|| panic!("a record of no call made: {exec}"));
        let argv = exec["argv"].as_array().expect("an argv");
        assert!(
            argv.len() == 1
                && argv[0].as_str().and_then(|a| a.strip_prefix(&argv_prefix)) == Some(call),
            "a record that mixes two calls: {exec}"
        );
        let (round, thread) = call.split_once('-').expect("ROUND-THREAD");
        let key = (
            round.parse().expect("a round"),
            if thread == "A" { 0 } else { 1 },
        );
        let ret = exec["ret"].as_i64().expect("a ret");
        assert!(ret < 0, "the call cannot succeed: {exec}");
        assert!(exec.get("exe").is_none(), "exe of a failed exec: {exec}");
        let entry = failed.entry(key).or_default();
        entry.0 += 1;
        entry.1.insert(exec["tid"].as_u64().expect("a tid"));
        if exec["error"] != "ENOENT" {
            entry.2 += 1;
            *other_errors.entry(exec["error"].to_string()).or_insert(0) += 1;
        }
    }

    let (mut total, mut in_flight_missing) = (0, 0);
    for (round, (attempts, winner)) in rounds.iter().enumerate() {
        assert_eq!(wins[round], 1, "round {round}: one winning exec");
        let mut tids = Vec::new();
        for (thread, &tried) in attempts.iter().enumerate() {
            let (seen, thread_tids, other_errors) =
                failed.remove(&(round, thread)).unwrap_or_default();
            total += seen;
            if thread == *winner {
                assert_eq!(seen, tried, "round {round}: the winner's failed calls");
                assert_eq!(
                    other_errors, 0,
                    "round {round}: the winner failed only with ENOENT"
                );
            } else {
                assert!(
                    seen <= tried && seen + 1 >= tried,
                    "round {round}: {seen} records of the loser's {tried} calls"
                );
                assert!(
                    other_errors <= 1,
                    "round {round}: only the killed call may fail otherwise"
                );
                in_flight_missing += tried - seen;
            }
            assert!(
                thread_tids.len() <= 1,
                "round {round}: one thread's calls, tids {thread_tids:?}"
            );
            tids.extend(thread_tids);
        }
        assert!(
            tids.len() < 2 || tids[0] != tids[1],
            "round {round}: the two threads have one tid"
        );
    }
    assert!(
        failed.is_empty(),
        "records of rounds that did not run: {failed:?}"
    );
    assert!(total >= 20 * ROUNDS as u64, "only {total} failed execs");
    eprintln!(
        "threads: {total} failed execs reported; the loser's last call missing in \
         {in_flight_missing} of {ROUNDS} rounds; errors other than ENOENT: {other_errors:?}"
    );
}

/// 32-bit syscalls made with int $0x80 by a 64-bit process are decoded with
/// the i386 table: open is 5 (fstat on x86_64), openat 295, execve 11.
#[test]
fn int80_syscalls_are_compat_and_named_i386() {
    if !can_trace("int80_syscalls_are_compat_and_named_i386") {
        return;
    }
    let prog = compile_c("int80", &[]);
    let tag = unique("i386");

    let tracer = Tracer::start(&[]);
    let (pid, out) = run_captured(Command::new(&prog).arg(&tag));
    let records = tracer.stop();
    assert_ran(&out, "");

    for call in ["open", "openat"] {
        let path = format!("/nonexistent-{tag}-{call}");
        let opens: Vec<&Value> = of_type(&records, "open")
            .filter(|r| r["path"] == path.as_str())
            .collect();
        assert_eq!(opens.len(), 1, "the i386 {call}: {opens:?}");
        let open = opens[0];
        assert_eq!(open["pid"], pid);
        assert_eq!(open["call"], call, "{open}");
        assert_eq!(open["compat"], true, "{open}");
        assert_eq!(open["flags"], "O_RDONLY", "{open}");
        assert_eq!(open["ret"], -2, "{open}");
        assert_eq!(open["error"], "ENOENT", "{open}");
    }

    let execs: Vec<&Value> = of_type(&records, "exec")
        .filter(|r| r["pid"] == pid)
        .collect();
    assert_eq!(
        execs.len(),
        2,
        "the program's exec and its i386 one: {execs:?}"
    );
    assert_eq!(execs[0]["filename"], to_str(&prog));
    assert_eq!(execs[0]["compat"], false, "{}", execs[0]);
    let exec = execs[1];
    assert_eq!(exec["compat"], true, "{exec}");
    assert_eq!(exec["call"], "execve", "{exec}");
    assert_eq!(exec["filename"], "/bin/true", "{exec}");
    assert_eq!(exec["exe"], canonical("/bin/true"), "{exec}");
    assert_eq!(exec["argv"], json!(["true", tag]), "{exec}");
    assert_eq!(exec["argv_truncated"], false, "{exec}");
    assert_eq!(exec["ret"], 0, "{exec}");

    let exit = exit_of(&records, pid);
    let syscalls = &exit["syscalls"];
    for name in ["i386:open", "i386:openat", "i386:execve"] {
        assert_eq!(syscalls[name], 1, "{name} in {exit}");
    }
    assert!(
        syscalls.get("open").is_none(),
        "no 64-bit open was made: {exit}"
    );
    assert_eq!(exit["exit_code"], 0);
}

/// A thread flips the path buffer of another thread's opens between an
/// existing file and a missing one: whatever the path read at entry, a
/// successful open reports the file the kernel opened.
#[test]
fn open_of_a_buffer_flipped_by_another_thread_reports_the_file_opened() {
    if !can_trace("open_of_a_buffer_flipped_by_another_thread_reports_the_file_opened") {
        return;
    }
    const OPENS: u64 = 200_000;
    let prog = compile_c("flip", &[]);
    let dir = temp_dir("systrace-flip");
    let a = dir.join("fileA");
    let b = dir.join("fileB");
    std::fs::write(&a, b"").unwrap();
    let (a, b) = (to_str(&a).to_string(), to_str(&b).to_string());

    let tracer = Tracer::start_alone(&[]);
    let (pid, out) = run_captured(Command::new(&prog).args([&a, &b, &OPENS.to_string()]));
    let records = tracer.stop();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let counts: Vec<u64> = stdout
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [ok, failed] = counts[..] else {
        panic!("flip printed {stdout}")
    };
    assert_eq!(ok + failed, OPENS);

    let opens: Vec<&Value> = of_type(&records, "open")
        .filter(|r| r["pid"] == pid)
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(to_str(&dir)))
        })
        .collect();
    let (mut succeeded, mut with_opened, mut failed_naming_a) = (0, 0, 0);
    for open in &opens {
        let path = open["path"].as_str().unwrap();
        assert!(path == a || path == b, "a path never in the buffer: {open}");
        if open["ret"].as_i64().expect("a ret") >= 0 {
            succeeded += 1;
            let opened = match open.get("opened") {
                Some(opened) => {
                    with_opened += 1;
                    assert_ne!(opened, path, "`opened` only when it differs: {open}");
                    opened.as_str().expect("a string")
                }
                None => path,
            };
            assert_eq!(opened, a, "the file behind the fd: {open}");
        } else {
            assert!(
                open.get("opened").is_none(),
                "`opened` of a failed open: {open}"
            );
            assert_eq!(open["error"], "ENOENT", "{open}");
            if path == a {
                failed_naming_a += 1;
            }
        }
    }
    eprintln!(
        "flip: {ok} opens succeeded, {failed} failed; {} records, {succeeded} successful, \
         {with_opened} with `opened`, {failed_naming_a} failed ones naming the existing file",
        opens.len()
    );
    assert!(succeeded > 0, "no successful open was reported");
    let lost = summary(&records)["lost"]["open"].as_u64().unwrap();
    let captured = opens.len() as u64;
    assert!(captured <= OPENS, "{captured} records of {OPENS} opens");
    assert!(
        captured + lost >= OPENS,
        "captured {captured} + lost {lost} < {OPENS}"
    );
    if lost == 0 {
        assert_eq!(captured, OPENS);
        assert_eq!(succeeded, ok, "records of successful opens");
    }
}

/// Sends SIGCONT to the tracer when dropped, so that a failing test does
/// not leave it stopped.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0 as i32), Signal::SIGCONT);
    }
}

/// Two processes with one pid, both exited before the collector looks: each
/// exit reports its own syscalls, not the sum.
#[test]
fn exit_counts_stay_per_process_when_a_pid_is_reused() {
    if !can_trace("exit_counts_stay_per_process_when_a_pid_is_reused") {
        return;
    }
    let probe = probe_path();
    let spawn = |n: &str| {
        let mut child = Command::new(&probe).args(["getppid", n]).spawn().unwrap();
        let pid = child.id();
        assert!(child.wait().unwrap().success());
        pid
    };

    let tracer = Tracer::start_alone(&[]);
    tracer.signal(Signal::SIGSTOP);
    let resume = Resume(tracer.pid());
    let first = spawn("6000");
    // The next pid is the one after ns_last_pid, unless another process
    // takes it first.
    let reused = (0..50).any(|_| {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (first - 1).to_string())
            .expect("writing /proc/sys/kernel/ns_last_pid");
        spawn("1000") == first
    });
    drop(resume);
    let records = tracer.stop();
    assert!(reused, "pid {first} was not given out again in 50 tries");

    let mut exits: Vec<&Value> = of_type(&records, "exit")
        .filter(|r| r["pid"] == first)
        .collect();
    exits.sort_by(|x, y| x["ts"].as_f64().partial_cmp(&y["ts"].as_f64()).unwrap());
    let getppid: Vec<&Value> = exits.iter().map(|x| &x["syscalls"]["getppid"]).collect();
    assert_eq!(
        getppid,
        [6000, 1000],
        "the two exits of pid {first}: {exits:?}"
    );
    for exit in exits {
        assert_eq!(exit["exit_code"], 0, "{exit}");
    }
}

/// With --pid P, systrace-top ends by itself, with its summary, once P has
/// exited.
#[test]
fn pid_filter_ends_when_the_process_exits() {
    if !can_trace("pid_filter_ends_when_the_process_exits") {
        return;
    }
    let missing = std::env::temp_dir().join(unique("systrace-pid-end"));
    let missing = to_str(&missing);
    // It waits for a line on stdin: the tracer may wait for another test's
    // flood to end before it starts.
    let mut target = Command::new(probe_path())
        .args(["open-missing", "100", missing, "wait"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = target.id();
    let tracer = Tracer::start(&["--pid", &pid.to_string()]);
    std::io::Write::write_all(target.stdin.as_mut().unwrap(), b"go\n").unwrap();
    assert!(target.wait().unwrap().success());
    let exited = Instant::now();
    let records = tracer.wait_exit(Duration::from_secs(3));
    eprintln!(
        "--pid: systrace-top ended {:?} after the process",
        exited.elapsed()
    );

    let exit = exit_of(&records, pid);
    assert_eq!(exit["exit_code"], 0);
    let opens = of_type(&records, "open")
        .filter(|r| r["path"] == missing)
        .count();
    assert_eq!(opens, 100, "the process's opens");
    for record in &records {
        if let Some(p) = record.get("pid") {
            assert_eq!(p, pid, "a record of another process: {record}");
        }
    }
}

/// Kills a process group and reaps its leader when dropped, whatever the
/// test's outcome.
struct KillGroup(std::process::Child);

impl Drop for KillGroup {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            Signal::SIGKILL,
        );
        let _ = self.0.wait();
    }
}

/// An unprivileged user's 2100 processes, 34 distinct syscalls each, fill
/// the per-(process, syscall) counter table: a root process's exit still
/// accounts for every syscall it made, and says when some are not broken
/// down; so does every one of the filler's processes.
#[test]
fn counter_table_filled_by_an_unprivileged_user_keeps_totals_exact() {
    if !can_trace("counter_table_filled_by_an_unprivileged_user_keeps_totals_exact") {
        return;
    }
    const CHILDREN: usize = 2100;
    const CHILD_SYSCALLS: u64 = 34;
    let statics = compile_c("static_calls", &["-static"]);
    // The filler runs as nobody: its copy sits where nobody can run it.
    let dir = temp_dir("systrace-fill");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let filler = dir.join("fill_counters");
    std::fs::copy(compile_c("fill_counters", &[]), &filler).unwrap();
    std::fs::set_permissions(&filler, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run_static = || {
        let (pid, out) = run_captured(&mut Command::new(&statics));
        assert_ran(&out, "");
        pid
    };

    let tracer = Tracer::start_alone(&[]);
    let reference = run_static();
    let mut group = KillGroup(
        Command::new(&filler)
            .arg(CHILDREN.to_string())
            .uid(65534)
            .gid(65534)
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the filler"),
    );
    let filler_pid = group.0.id();
    let mut line = String::new();
    let stdout = group.0.stdout.take().expect("piped stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line, "ready\n",
        "the filler's {CHILDREN} children are not ready"
    );
    let filled = run_static();
    drop(group);
    let records = tracer.stop();
    std::fs::remove_dir_all(&dir).unwrap();

    let reference = exit_of(&records, reference);
    assert_eq!(reference["syscalls"]["getppid"], 1000, "{reference}");
    assert_eq!(reference["syscalls"]["getuid"], 3, "{reference}");
    assert_eq!(reference["syscalls"]["getgid"], 2, "{reference}");
    assert!(
        reference.get("syscalls_unattributed").is_none(),
        "{reference}"
    );
    let expected = total_syscalls(reference);

    let filled = exit_of(&records, filled);
    assert_eq!(
        total_syscalls(filled),
        expected,
        "filled: {filled}\nreference: {reference}"
    );
    let named = filled["syscalls"].as_object().unwrap();
    let unattributed = filled
        .get("syscalls_unattributed")
        .map_or(0, |n| n.as_u64().unwrap());
    assert!(
        filled.get("syscalls_unattributed").is_none() || unattributed > 0,
        "syscalls_unattributed is only present when not 0: {filled}"
    );
    for (name, n) in named {
        assert!(
            n.as_u64() <= reference["syscalls"][name].as_u64(),
            "{name}: more than the reference run made: {filled}"
        );
    }
    let getppid = named.get("getppid").map_or(0, |n| n.as_u64().unwrap());
    assert!(
        getppid <= 1000 && getppid + unattributed >= 1000,
        "{filled}"
    );

    let children: HashSet<u64> = of_type(&records, "fork")
        .filter(|r| r["ppid"] == filler_pid && r["thread"] != true)
        .map(|r| r["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(children.len(), CHILDREN, "forks of the filler");
    let mut short = 0;
    for exit in of_type(&records, "exit") {
        if exit["pid"].as_u64().is_some_and(|p| children.contains(&p)) {
            assert_eq!(exit["signal"], "SIGKILL", "{exit}");
            assert_eq!(total_syscalls(exit), CHILD_SYSCALLS, "{exit}");
            if exit.get("syscalls_unattributed").is_some() {
                short += 1;
            }
        }
    }
    let exits = of_type(&records, "exit")
        .filter(|r| r["pid"].as_u64().is_some_and(|p| children.contains(&p)))
        .count();
    assert_eq!(exits, CHILDREN, "exits of the filler's children");
    eprintln!(
        "counter table: {short} of {CHILDREN} filler children and the root run \
         ({unattributed} of {expected}) had syscalls left out of the breakdown"
    );
}

/// Bytes that are not UTF-8 in a filename, the executable's path, argv and
/// an open's path: the strings carry U+FFFD, the *_hex fields the bytes.
#[test]
fn non_utf8_bytes_are_given_in_hex() {
    if !can_trace("non_utf8_bytes_are_given_in_hex") {
        return;
    }
    let dir = temp_dir("systrace-bytes");
    let tag = unique("bytes");
    let bytes = |path: &Path| path.as_os_str().as_bytes().to_vec();
    let copy = dir.join(OsStr::from_bytes(b"true-\xff"));
    std::fs::copy("/bin/true", &copy).unwrap();
    let missing = dir.join(OsStr::from_bytes(b"missing-\xff"));
    let args: [&[u8]; 3] = [tag.as_bytes(), b"\xff\xfeok", b"caf\xe9"];

    let tracer = Tracer::start(&[]);
    let mut child = Command::new(&copy)
        .args(args.iter().map(|a| OsStr::from_bytes(a)))
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    assert!(std::fs::File::open(&missing).is_err());
    let records = tracer.stop();
    std::fs::remove_dir_all(&dir).unwrap();

    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let execs: Vec<&Value> = of_type(&records, "exec")
        .filter(|r| r["pid"] == pid)
        .collect();
    assert_eq!(execs.len(), 1, "{execs:?}");
    let exec = execs[0];
    let path = bytes(&copy);
    assert_eq!(exec["filename"], lossy(&path), "{exec}");
    assert_eq!(exec["filename_hex"], hex(&path), "{exec}");
    assert_eq!(exec["exe"], lossy(&path), "{exec}");
    assert_eq!(exec["exe_hex"], hex(&path), "{exec}");
    let argv: Vec<&[u8]> = std::iter::once(&path[..]).chain(args).collect();
    assert_eq!(
        exec["argv"],
        json!(argv.iter().map(|a| lossy(a)).collect::<Vec<_>>()),
        "{exec}"
    );
    assert_eq!(exec["argv"][2], "\u{fffd}\u{fffd}ok");
    assert_eq!(exec["argv"][3], "caf\u{fffd}");
    assert_eq!(
        exec["argv_hex"],
        json!(argv.iter().map(|a| hex(a)).collect::<Vec<_>>()),
        "{exec}"
    );
    assert_eq!(exec["argv_truncated"], false, "{exec}");
    assert_eq!(exec["ret"], 0, "{exec}");

    let missing = bytes(&missing);
    let opens: Vec<&Value> = of_type(&records, "open")
        .filter(|r| r["path_hex"] == hex(&missing).as_str())
        .collect();
    assert_eq!(opens.len(), 1, "the open of the missing file: {opens:?}");
    assert_eq!(opens[0]["path"], lossy(&missing), "{}", opens[0]);
    assert_eq!(opens[0]["error"], "ENOENT", "{}", opens[0]);
    assert!(opens[0].get("opened").is_none(), "{}", opens[0]);
}

/// A path over the kernel's 4095 bytes is cut and marked; one of exactly
/// 4095 is whole and not marked. A 300 KB argv is cut and marked, and what
/// is kept is exact.
#[test]
fn long_paths_and_a_huge_argv_are_cut_and_marked() {
    if !can_trace("long_paths_and_a_huge_argv_are_cut_and_marked") {
        return;
    }
    let tag = unique("long");
    let tmp = to_str(&std::env::temp_dir())
        .trim_end_matches('/')
        .to_string();
    let too_long = format!("{tmp}/{tag}-{}", "a".repeat(5000));
    // Components of at most 201 bytes under a directory that does not exist.
    let mut longest = format!("{tmp}/{tag}");
    while longest.len() + 1 + 200 + 2 <= 4095 {
        longest.push('/');
        longest.push_str(&"b".repeat(200));
    }
    longest.push('/');
    longest.push_str(&"c".repeat(4095 - longest.len()));
    assert_eq!(longest.len(), 4095);
    let args: Vec<String> = (0..100)
        .map(|i| {
            let mut arg = format!("{tag}-{i:03}-");
            arg.push_str(&"x".repeat(3000 - arg.len()));
            arg
        })
        .collect();

    let tracer = Tracer::start(&[]);
    let err = std::fs::File::open(&too_long).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENAMETOOLONG));
    let err = std::fs::File::open(&longest).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    let mut child = Command::new("/bin/true").args(&args).spawn().unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    let records = tracer.stop();

    let open_under = |prefix: String| -> &Value {
        let opens: Vec<&Value> = of_type(&records, "open")
            .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with(&prefix)))
            .collect();
        assert_eq!(opens.len(), 1, "opens of {prefix}…: {opens:?}");
        opens[0]
    };
    let cut = open_under(format!("{tmp}/{tag}-"));
    assert_eq!(cut["path_truncated"], true, "{cut}");
    assert_eq!(cut["error"], "ENAMETOOLONG", "{cut}");
    let kept = cut["path"].as_str().unwrap();
    assert!(
        kept.len() >= 4095 && too_long.starts_with(kept),
        "{} bytes kept, not the first 4095 or more of the path",
        kept.len()
    );
    let whole = open_under(format!("{tmp}/{tag}/"));
    assert_eq!(whole["path"], longest.as_str());
    assert!(whole.get("path_truncated").is_none(), "{whole}");
    assert_eq!(whole["error"], "ENOENT", "{whole}");

    let execs: Vec<&Value> = of_type(&records, "exec")
        .filter(|r| r["pid"] == pid)
        .collect();
    assert_eq!(execs.len(), 1, "{execs:?}");
    let exec = execs[0];
    assert_eq!(exec["ret"], 0);
    assert_eq!(exec["argv_truncated"], true, "300 KB of argv");
    let argv: Vec<&str> = exec["argv"]
        .as_array()
        .expect("an argv")
        .iter()
        .map(|a| a.as_str().expect("a string"))
        .collect();
    let full: Vec<&str> = std::iter::once("/bin/true")
        .chain(args.iter().map(String::as_str))
        .collect();
    assert!(
        argv.len() >= 3 && argv.len() <= full.len(),
        "{} arguments reported",
        argv.len()
    );
    let last = argv.len() - 1;
    for i in 0..last {
        assert_eq!(argv[i], full[i], "argument {i} is reported whole");
    }
    assert!(
        full[last].starts_with(argv[last]),
        "the last argument reported is a prefix of the real one"
    );
    assert!(
        argv.len() < full.len() || argv[last].len() < full[last].len(),
        "argv_truncated, yet all of it is there"
    );
    eprintln!(
        "300 KB argv: {} of 101 arguments, the last {} of {} bytes",
        argv.len(),
        argv[last].len(),
        full[last].len()
    );
}

/// Execs that name no path the program can be found by: fexecve of an fd,
/// execveat relative to a directory fd, a memfd, and a deleted file. `exe`
/// is what the kernel ran.
#[test]
fn execs_by_fd_memfd_and_of_deleted_files_report_the_executable() {
    if !can_trace("execs_by_fd_memfd_and_of_deleted_files_report_the_executable") {
        return;
    }
    let prog = compile_c("fdexec", &[]);
    let tag = unique("fd");
    let true_exe = canonical("/bin/true");
    let bin_dir = Path::new(&true_exe)
        .parent()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let dir = temp_dir("systrace-deleted");
    let copy = dir.join("fdexec-copy");
    std::fs::copy(&prog, &copy).unwrap();
    let copy = to_str(&copy).to_string();

    let tracer = Tracer::start(&[]);
    let runs: Vec<(&str, u32, String)> = [
        ("fexecve", "/bin/true"),
        ("execveat", bin_dir.as_str()),
        ("memfd", "/bin/true"),
    ]
    .into_iter()
    .map(|(mode, file)| {
        let (pid, out) = run_captured(Command::new(&prog).args([mode, &tag, file]));
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let fd = stdout
            .strip_prefix("fd ")
            .and_then(|s| s.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("{mode} printed {stdout:?}"))
            .to_string();
        (mode, pid, fd)
    })
    .collect();
    let (deleted, out) = run_captured(Command::new(&copy).args(["unlink-self", &tag]));
    let records = tracer.stop();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_ran(&out, "");
    assert!(!Path::new(&copy).exists(), "the copy unlinked itself");

    // The exec of PID after the one that started the program.
    let second_exec = |pid: u32| -> &Value {
        let execs: Vec<&Value> = of_type(&records, "exec")
            .filter(|r| r["pid"] == pid)
            .collect();
        assert_eq!(execs.len(), 2, "the program's exec and its own: {execs:?}");
        execs[1]
    };
    for (mode, pid, fd) in &runs {
        let exec = second_exec(*pid);
        let (filename, exe) = match *mode {
            "fexecve" => (format!("/dev/fd/{fd}"), true_exe.clone()),
            "execveat" => (format!("/dev/fd/{fd}/true"), true_exe.clone()),
            _ => (
                format!("/dev/fd/{fd}"),
                "/memfd:systrace-memfd (deleted)".to_string(),
            ),
        };
        assert_exec(
            exec,
            "execveat",
            &filename,
            &exe,
            json!(["true", format!("{mode}-{tag}")]),
        );
    }
    assert_exec(
        second_exec(deleted),
        "execve",
        "/proc/self/exe",
        &format!("{copy} (deleted)"),
        json!(["deleted-child", "deleted-done", tag]),
    );
}
