//! Execs whose strings a naive tracer cannot read or mixes up: literals in
//! a fork child, system(), posix_spawn, vfork, threads exec'ing at once,
//! execs by fd and of deleted files.

use super::*;

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

    // No other test's tracer starts or stops meanwhile: where exits are
    // taken by fexit, the kernel would skip the exits of the execs in
    // flight (counted lost; this test wants none lost).
    let tracer = Tracer::start_alone(&[]);
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
