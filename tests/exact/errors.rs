//! Failed syscalls (--errors), counted per (process, syscall, errno): what
//! strace sees the same program fail with, threads and 32-bit calls
//! included, while it runs and once it has ended.

use super::*;

/// {"openat": {"ENOENT": 3}} as a map.
type ErrorMap = HashMap<String, HashMap<String, u64>>;

fn error_map(value: &Value) -> ErrorMap {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("errors {value}: {e}"))
}

/// MAP without the futex waits that failed with EAGAIN: a thread joining
/// another waits on a word the other may change first, a race of timing
/// (strace's slowing makes it likelier), not a failure of the program.
fn without_join_races(mut map: ErrorMap) -> ErrorMap {
    if let Some(futex) = map.get_mut("futex") {
        futex.remove("EAGAIN");
        if futex.is_empty() {
            map.remove("futex");
        }
    }
    map
}

/// The failed calls in an `strace -f` output, by syscall and errno.
fn strace_failures(text: &str) -> ErrorMap {
    let mut map = ErrorMap::new();
    for line in text.lines() {
        // "1234  openat(AT_FDCWD, ...) = -1 ENOENT (No such file...)", or
        // a call another thread's interrupted, ending on its own line:
        // "1234  <... close resumed>) = -1 EBADF (Bad file descriptor)".
        let Some((_, result)) = line.rsplit_once(" = -1 ") else {
            continue;
        };
        let name = match line.split_once("<... ") {
            Some((_, resumed)) => resumed.split_whitespace().next(),
            None => line
                .split_once('(')
                .and_then(|(call, _)| call.split_whitespace().last()),
        };
        let name = name.unwrap_or_default();
        let errno = result.split_whitespace().next().unwrap_or_default();
        *map.entry(name.to_string())
            .or_default()
            .entry(errno.to_string())
            .or_default() += 1;
    }
    map
}

/// The same program's failures, as strace and as --errors count them, once
/// while it runs (its first round, in a rates record) and once it has ended
/// (both rounds, in the rates record's `ended`): the same, call for call.
/// The second thread's close(-1) counts for the process; the int $0x80
/// opens are the i386 table's.
#[cfg(target_arch = "x86_64")]
#[test]
fn failed_calls_are_counted_per_syscall_and_errno_as_strace_sees_them() {
    if !can_trace("failed_calls_are_counted_per_syscall_and_errno_as_strace_sees_them") {
        return;
    }
    const N: u64 = 7;
    let prog = compile_c("failing", &["-static"]);
    let dir = temp_dir("systrace-failing");
    let trace = dir.join("strace.txt");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .arg(&prog)
        .arg(N.to_string())
        .stdin(Stdio::null())
        .status()
        .expect("running strace");
    assert!(status.success());
    let expected = without_join_races(strace_failures(&std::fs::read_to_string(&trace).unwrap()));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(expected["openat"]["ENOENT"], 2 * N, "strace: {expected:?}");

    let tracer = Tracer::start(&["--errors", "--interval", "0.2"]);
    let mut child = Command::new(&prog)
        .arg(N.to_string())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let round: ErrorMap = serde_json::from_value(json!({
        "openat": {"ENOENT": N}, "close": {"EBADF": N}, "i386:open": {"ENOENT": N}
    }))
    .unwrap();
    let first_round =
        |r: &Value| {
            r["type"] == "rates"
                && r["processes"].as_array().into_iter().flatten().any(|p| {
                    p["pid"] == pid && without_join_races(error_map(&p["errors"])) == round
                })
        };
    let (seen, found) = tracer.records_until(Duration::from_secs(30), first_round);
    let running: Vec<&Value> = seen
        .iter()
        .filter(|r| r["type"] == "rates")
        .flat_map(|r| r["processes"].as_array().into_iter().flatten())
        .filter(|p| p["pid"] == pid)
        .collect();
    assert!(
        found.is_some(),
        "no rates record with the first round: {running:?}"
    );
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let records = tracer.stop();

    let ended: Vec<&Value> = of_type(&records, "rates")
        .flat_map(|r| r["ended"].as_array().into_iter().flatten())
        .filter(|e| e["pid"] == pid)
        .collect();
    assert_eq!(ended.len(), 1, "its final counts, once: {ended:?}");
    let counted = without_join_races(error_map(&ended[0]["errors"]));
    let both_rounds: ErrorMap = round
        .iter()
        .map(|(call, errnos)| {
            let doubled = errnos.iter().map(|(e, n)| (e.clone(), 2 * n)).collect();
            (call.clone(), doubled)
        })
        .collect();
    assert_eq!(counted, both_rounds);
    // strace names the 32-bit open as it names the 64-bit one.
    let mut unprefixed = ErrorMap::new();
    for (call, errnos) in counted {
        let entry = unprefixed
            .entry(call.trim_start_matches("i386:").to_string())
            .or_default();
        for (errno, n) in errnos {
            *entry.entry(errno).or_default() += n;
        }
    }
    assert_eq!(unprefixed, expected, "as strace counted them");
}

/// Without --errors nothing is counted: no `errors` in the rates records.
#[test]
fn errors_are_counted_only_when_asked_for() {
    if !can_trace("errors_are_counted_only_when_asked_for") {
        return;
    }
    let tracer = Tracer::start(&["--interval", "0.2"]);
    let (_, out) = run_captured(Command::new("ls").arg("/nonexistent-errors-off"));
    assert!(!out.status.success());
    let records = tracer.stop();
    for r in of_type(&records, "rates") {
        assert!(r.get("ended").is_none(), "{r}");
        for p in r["processes"].as_array().into_iter().flatten() {
            assert!(p.get("errors").is_none(), "{p}");
        }
    }
}
