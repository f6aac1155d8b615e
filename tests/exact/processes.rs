//! Per-process truth: 32-bit syscalls, a reused PID, --pid's end, and a
//! counter map filled by an unprivileged user.

use super::*;

/// 32-bit syscalls made with int $0x80 by a 64-bit process are decoded with
/// the i386 table: open is 5 (fstat on x86_64), openat 295, execve 11.
/// x86_64 only: an arm64 process has no 32-bit syscall instruction.
#[cfg(target_arch = "x86_64")]
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
    // It ends within a tick of the exit; a loaded machine gets some slack.
    let records = tracer.wait_exit(Duration::from_secs(10));
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
