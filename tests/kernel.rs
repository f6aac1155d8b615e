//! Loads the real programs into the running kernel and checks what they
//! report about child processes whose behaviour is known exactly.

mod common;

use std::ffi::CString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;

use common::{Tracer, can_trace, of_type, probe_path, unique};
use serde_json::{Value, json};

#[test]
fn exec_reports_exact_argv_parent_and_result() {
    if !can_trace("exec_reports_exact_argv_parent_and_result") {
        return;
    }
    let dir = std::env::temp_dir().join(unique("systrace-exec"));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join(unique("probe-copy"));
    std::fs::copy(probe_path(), &copy).unwrap();

    let tracer = Tracer::start(&[]);
    let status = Command::new(&copy)
        .arg0("probe")
        .args(["alpha", "b c", "日本"])
        .status()
        .unwrap();
    assert!(status.success());
    let records = tracer.stop();
    std::fs::remove_dir_all(&dir).unwrap();

    let path = copy.to_str().unwrap();
    let execs: Vec<&Value> = of_type(&records, "exec")
        .filter(|r| r["filename"] == path)
        .collect();
    assert_eq!(execs.len(), 1, "one exec of {path}: {execs:?}");
    let exec = execs[0];
    assert_eq!(exec["argv"], json!(["probe", "alpha", "b c", "日本"]));
    assert_eq!(exec["argv_truncated"], false);
    assert_eq!(exec["ppid"], std::process::id());
    assert_eq!(exec["ret"], 0);
    assert!(exec.get("error").is_none());
    assert_eq!(exec["pid"], exec["tid"]);

    // Its exit follows, with its totals.
    let pid = exec["pid"].clone();
    let exit = of_type(&records, "exit")
        .find(|r| r["pid"] == pid)
        .expect("the probe's exit");
    assert_eq!(exit["exit_code"], 0);
    assert_eq!(exit["signal"], Value::Null);
    assert!(exit["syscalls"]["execve"].as_u64() >= Some(1), "{exit}");
}

#[test]
fn long_argv_is_complete_or_marked_truncated() {
    if !can_trace("long_argv_is_complete_or_marked_truncated") {
        return;
    }
    let tag = unique("argv");
    let many: Vec<String> = (0..100).map(|i| format!("{tag}-{i}")).collect();
    let long = "x".repeat(5000);
    let huge = "y".repeat(20_000);

    let tracer = Tracer::start(&[]);
    for args in [
        &many[..],
        &[tag.clone(), long.clone()],
        &[tag.clone(), huge.clone()],
    ] {
        Command::new("/bin/true").args(args).status().unwrap();
    }
    let records = tracer.stop();

    let execs: Vec<&Value> = of_type(&records, "exec")
        .filter(|r| r["argv"][1].as_str().is_some_and(|a| a.starts_with(&tag)))
        .collect();
    assert_eq!(execs.len(), 3, "{execs:?}");
    let full = execs
        .iter()
        .find(|e| e["argv"].as_array().unwrap().len() == 101)
        .unwrap();
    assert_eq!(full["argv"][100], many[99]);
    assert_eq!(full["argv_truncated"], false);
    let whole = execs.iter().find(|e| e["argv"][2] == long.as_str());
    let whole = whole.expect("a 5000-byte argument is kept whole");
    assert_eq!(whole["argv_truncated"], false);
    let cut = execs
        .iter()
        .find(|e| e["argv"][2].as_str().is_some_and(|a| a.starts_with('y')))
        .unwrap();
    assert_eq!(cut["argv_truncated"], true, "a 20000-byte argument is cut");
    let kept = cut["argv"][2].as_str().unwrap();
    assert!(
        kept.len() < huge.len() && huge.starts_with(kept),
        "{}",
        kept.len()
    );
}

#[test]
fn failed_exec_reports_enoent() {
    if !can_trace("failed_exec_reports_enoent") {
        return;
    }
    let missing = format!("/{}/nothing", unique("systrace-no-such-dir"));
    let tracer = Tracer::start(&[]);
    assert!(Command::new(&missing).status().is_err());
    let records = tracer.stop();

    let exec = of_type(&records, "exec")
        .find(|r| r["filename"] == missing.as_str())
        .unwrap_or_else(|| panic!("no exec of {missing}"));
    assert_eq!(exec["ret"], -2);
    assert_eq!(exec["error"], "ENOENT");
}

#[test]
fn opens_report_absolute_paths_and_errors() {
    if !can_trace("opens_report_absolute_paths_and_errors") {
        return;
    }
    let absolute = std::env::temp_dir().join(unique("systrace-missing"));
    let relative = unique("systrace-relative-missing");
    let cwd = std::env::current_dir().unwrap();

    let tracer = Tracer::start(&[]);
    assert!(std::fs::File::open(&absolute).is_err());
    assert!(std::fs::File::open(&relative).is_err());
    let records = tracer.stop();

    let absolute = absolute.to_str().unwrap();
    let open = of_type(&records, "open")
        .find(|r| r["path"] == absolute)
        .unwrap_or_else(|| panic!("no open of {absolute}"));
    assert_eq!(open["ret"], -2);
    assert_eq!(open["error"], "ENOENT");
    assert_eq!(open["pid"], std::process::id());
    assert_eq!(open["flags"], "O_RDONLY|O_CLOEXEC");

    let expected = cwd.join(&relative);
    let expected = expected.to_str().unwrap();
    let open = of_type(&records, "open")
        .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(&relative)))
        .unwrap_or_else(|| panic!("no open of {relative}"));
    assert_eq!(
        open["path"], expected,
        "a relative open is reported absolute"
    );
    assert_eq!(open["error"], "ENOENT");
}

/// open, creat, openat and openat2, execve and execveat: a few shared
/// programs serve them all, telling them apart by syscall number.
/// Each open and exec call, reported as itself with its result, from the
/// exit hook the kernel allows (fexit where it loads) and from sys_exit.
#[test]
fn each_open_and_exec_syscall_is_reported_as_itself() {
    if !can_trace("each_open_and_exec_syscall_is_reported_as_itself") {
        return;
    }
    let chosen = Tracer::start(&[]);
    let hook = chosen.exit_hook.clone();
    drop(chosen.stop());
    check_each_open_and_exec(&[]);
    if hook != "sys_exit" {
        check_each_open_and_exec(&[("SYSTRACE_EXIT_HOOK", "sys_exit")]);
    }
}

/// Where the kernel has no bpf_loop (before 5.17), paths and a failed
/// exec's argv are walked by unrolled loops: forced here, the same records
/// come. A relative path's directory, a symlink's target, the executable
/// of an exec, and a failed exec's argv cut after 64 strings.
#[test]
fn walks_without_bpf_loop_give_the_same_paths_and_argv() {
    if !can_trace("walks_without_bpf_loop_give_the_same_paths_and_argv") {
        return;
    }
    let dir = std::env::temp_dir().join(unique("systrace-unrolled"));
    let deep = dir.join("a/b/c/d/e/f/g/h");
    std::fs::create_dir_all(&deep).unwrap();
    let target = deep.join("target");
    std::fs::write(&target, "x").unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let missing = dir.join("nothing");
    let args: Vec<String> = (0..70).map(|i| format!("arg{i}")).collect();

    let tracer = Tracer::start_env(&[], &[("SYSTRACE_UNROLLED_LOOPS", "1")]);
    let status = Command::new("sh")
        .arg("-c")
        .arg("cd \"$1\" && cat nothing-here 2>/dev/null; cat \"$2\" >/dev/null")
        .args(["sh", deep.to_str().unwrap(), link.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(Command::new(&missing).args(&args).status().is_err());
    let records = tracer.stop();

    let relative = deep.join("nothing-here");
    let relative = relative.to_str().unwrap();
    assert!(
        of_type(&records, "open").any(|r| r["path"] == relative && r["error"] == "ENOENT"),
        "the relative open, made absolute"
    );
    let open = of_type(&records, "open")
        .find(|r| r["path"] == link.to_str().unwrap())
        .expect("the open through the link");
    assert_eq!(open["opened"], target.to_str().unwrap());
    let cat = of_type(&records, "exec")
        .find(|r| r["argv"][0] == "cat" && r["argv"][1] == "nothing-here")
        .expect("cat's exec");
    let exe = std::fs::canonicalize(cat["filename"].as_str().unwrap()).unwrap();
    assert_eq!(cat["exe"], exe.to_str().unwrap());
    let failed = of_type(&records, "exec")
        .find(|r| r["filename"] == missing.to_str().unwrap())
        .expect("the failed exec");
    let argv = failed["argv"].as_array().unwrap();
    assert_eq!(argv.len(), 64, "{failed}");
    assert_eq!(argv[63], "arg62");
    assert_eq!(failed["argv_truncated"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Where open and exec results are taken: the kernel matrix says which
/// hook each kernel must get (`SYSTRACE_EXPECT_EXIT_HOOK`); and
/// `SYSTRACE_EXIT_HOOK=sys_exit` keeps the tracepoint anywhere.
#[test]
fn the_cheapest_exit_hook_the_kernel_allows_is_used() {
    if !can_trace("the_cheapest_exit_hook_the_kernel_allows_is_used") {
        return;
    }
    let tracer = Tracer::start(&[]);
    let hook = tracer.exit_hook.clone();
    drop(tracer.stop());
    match std::env::var("SYSTRACE_EXPECT_EXIT_HOOK") {
        Ok(expected) => assert_eq!(hook, expected),
        Err(_) => assert!(["fexit", "sys_exit"].contains(&hook.as_str()), "{hook}"),
    }
    let forced = Tracer::start_env(&[], &[("SYSTRACE_EXIT_HOOK", "sys_exit")]);
    assert_eq!(forced.exit_hook, "sys_exit");
    drop(forced.stop());
}

fn check_each_open_and_exec(env: &[(&str, &str)]) {
    let dir = std::env::temp_dir().join(unique("systrace-no-such-dir"));
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let c_path = |name: &str| CString::new(path(name)).unwrap();
    let (openat, openat2, execveat) = (c_path("openat"), c_path("openat2"), c_path("execveat"));
    // struct open_how: flags, mode, resolve.
    let how: [u64; 3] = [libc::O_RDWR as u64, 0, 0];
    let no_args: [*const libc::c_char; 1] = [std::ptr::null()];
    let opens = vec![("openat", "O_WRONLY"), ("openat2", "O_RDWR")];

    let tracer = Tracer::start_env(&[], env);
    // SAFETY: valid C strings, a valid open_how and empty argv and envp;
    // each call fails (the directory does not exist) and is only counted.
    let results = unsafe {
        vec![
            libc::syscall(
                libc::SYS_openat,
                libc::AT_FDCWD,
                openat.as_ptr(),
                libc::O_WRONLY,
            ),
            libc::syscall(
                libc::SYS_openat2,
                libc::AT_FDCWD,
                openat2.as_ptr(),
                how.as_ptr(),
                size_of_val(&how),
            ),
            libc::syscall(
                libc::SYS_execveat,
                libc::AT_FDCWD,
                execveat.as_ptr(),
                no_args.as_ptr(),
                no_args.as_ptr(),
                0,
            ),
        ]
    };
    // arm64 has neither: its C library opens with openat.
    #[cfg(target_arch = "x86_64")]
    let (results, opens) = {
        let (open, creat) = (c_path("open"), c_path("creat"));
        let (mut results, mut opens) = (results, opens);
        // SAFETY: valid C strings; both calls fail as above.
        results.extend(unsafe {
            [
                libc::syscall(libc::SYS_open, open.as_ptr(), libc::O_RDONLY),
                libc::syscall(libc::SYS_creat, creat.as_ptr(), 0o644),
            ]
        });
        opens.extend([("open", "O_RDONLY"), ("creat", "O_WRONLY|O_CREAT|O_TRUNC")]);
        (results, opens)
    };
    let records = tracer.stop();
    assert!(results.iter().all(|&r| r == -1), "{results:?}");

    for (call, flags) in opens {
        let record = of_type(&records, "open")
            .find(|r| r["path"] == path(call))
            .unwrap_or_else(|| panic!("no {call} of {}", path(call)));
        assert_eq!(record["call"], call);
        assert_eq!(record["flags"], flags, "{call}");
        assert_eq!(record["error"], "ENOENT", "{call}");
    }
    let exec = of_type(&records, "exec")
        .find(|r| r["filename"] == path("execveat"))
        .expect("no execveat");
    assert_eq!(exec["error"], "ENOENT");
}

#[test]
fn syscall_counts_are_exact_for_a_short_lived_process() {
    if !can_trace("syscall_counts_are_exact_for_a_short_lived_process") {
        return;
    }
    let tracer = Tracer::start(&[]);
    let child = Command::new(probe_path())
        .args(["getppid", "100000"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let status = child.wait_with_output().unwrap().status;
    assert!(status.success());
    let records = tracer.stop();

    let exit = of_type(&records, "exit")
        .find(|r| r["pid"] == pid)
        .unwrap_or_else(|| panic!("no exit of {pid}"));
    assert_eq!(exit["syscalls"]["getppid"], 100_000, "{exit}");
    assert_eq!(exit["exit_code"], 0);
    let summary = records.last().unwrap();
    assert_eq!(summary["lost"]["count"], 0);
}

#[test]
fn spawn_chain_has_correct_parent_links() {
    if !can_trace("spawn_chain_has_correct_parent_links") {
        return;
    }
    let probe = probe_path();
    let tracer = Tracer::start(&[]);
    let status = Command::new(&probe).args(["chain", "3"]).status().unwrap();
    assert!(status.success());
    let records = tracer.stop();

    let probe = probe.to_str().unwrap();
    let link = |depth: &str| -> &Value {
        of_type(&records, "exec")
            .find(|r| r["filename"] == probe && r["argv"] == json!([probe, "chain", depth]))
            .unwrap_or_else(|| panic!("no exec of chain {depth}"))
    };
    let (top, middle, bottom) = (link("3"), link("2"), link("1"));
    assert_eq!(top["ppid"], std::process::id());
    assert_eq!(middle["ppid"], top["pid"]);
    assert_eq!(bottom["ppid"], middle["pid"]);
    for (parent, child) in [(top, middle), (middle, bottom)] {
        assert!(
            of_type(&records, "fork")
                .any(|f| f["pid"] == child["pid"] && f["ppid"] == parent["pid"]),
            "fork of {} by {}",
            child["pid"],
            parent["pid"]
        );
    }
    for link in [top, middle, bottom] {
        assert!(of_type(&records, "exit").any(|x| x["pid"] == link["pid"]));
    }
}

#[test]
fn pid_filter_shows_only_that_process() {
    if !can_trace("pid_filter_shows_only_that_process") {
        return;
    }
    // It spins once the tracer has started, however long that takes.
    let mut target = Command::new(probe_path())
        .args(["spin", "2000", "wait"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = target.id();
    let tracer = Tracer::start(&["--pid", &pid.to_string(), "--interval", "0.3"]);
    writeln!(target.stdin.take().unwrap()).unwrap();
    for _ in 0..3 {
        Command::new("/bin/true").status().unwrap();
        let _ = std::fs::File::open("/nonexistent-for-the-filter-test");
    }
    target.wait().unwrap();
    let records = tracer.stop();

    for record in &records {
        if let Some(p) = record.get("pid") {
            assert_eq!(p, pid, "a record of another process: {record}");
        }
        if record["type"] == "rates" {
            for process in record["processes"].as_array().unwrap() {
                assert_eq!(process["pid"], pid, "rates of another process: {record}");
            }
        }
    }
    assert!(of_type(&records, "open").any(|r| r["path"] == "/dev/null"));
    assert!(of_type(&records, "rates").any(|r| r["processes"][0]["pid"] == pid));
    let exit = of_type(&records, "exit")
        .find(|r| r["pid"] == pid)
        .expect("its exit");
    assert!(exit["syscalls"]["getppid"].as_u64() > Some(10), "{exit}");
}

#[test]
fn every_open_is_captured_or_counted_lost() {
    if !can_trace("every_open_is_captured_or_counted_lost") {
        return;
    }
    const OPENS: u64 = 1_000_000;
    let missing = std::env::temp_dir().join(unique("systrace-storm"));
    let missing = missing.to_str().unwrap();
    let mut storm = Command::new(probe_path())
        .args(["open-missing", &OPENS.to_string(), missing, "wait"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = storm.id();
    // The tracer is stopped while the storm runs: the ring buffer fills and
    // the kernel must count every record it could not deliver.
    let tracer = Tracer::start_alone(&["--pid", &pid.to_string()]);
    tracer.signal(nix::sys::signal::Signal::SIGSTOP);
    std::io::Write::write_all(storm.stdin.as_mut().unwrap(), b"go\n").unwrap();
    assert!(storm.wait().unwrap().success());
    tracer.signal(nix::sys::signal::Signal::SIGCONT);
    let records = tracer.stop();

    let captured = of_type(&records, "open")
        .filter(|r| r["path"] == missing)
        .count() as u64;
    let summary = records.last().unwrap();
    let lost = summary["lost"]["open"].as_u64().unwrap();
    eprintln!("open storm: captured {captured}, lost {lost}");
    assert_eq!(captured + lost, OPENS, "captured {captured} + lost {lost}");
    assert!(
        lost > 0,
        "the ring buffer cannot hold a million records: loss was not counted"
    );
    let reported: u64 = of_type(&records, "lost")
        .filter(|r| r["kind"] == "open")
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(reported, lost, "lost records add up to the summary");
}

#[test]
fn comm_filter_shows_only_processes_of_that_name() {
    if !can_trace("comm_filter_shows_only_processes_of_that_name") {
        return;
    }
    let dir = std::env::temp_dir().join(unique("systrace-comm"));
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("stc{}", std::process::id() % 100_000);
    let copy = dir.join(&name);
    std::fs::copy(probe_path(), &copy).unwrap();

    let tracer = Tracer::start(&["--comm", &name]);
    Command::new("/bin/true").status().unwrap();
    let status = Command::new(&copy)
        .args(["getppid", "500"])
        .status()
        .unwrap();
    assert!(status.success());
    let records = tracer.stop();
    std::fs::remove_dir_all(&dir).unwrap();

    for record in &records {
        if let Some(comm) = record.get("comm") {
            assert_eq!(comm, name.as_str(), "a record of another command: {record}");
        }
    }
    let exit = of_type(&records, "exit").next().expect("the probe's exit");
    assert_eq!(exit["syscalls"]["getppid"], 500);
}
