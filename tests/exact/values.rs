//! Values kept exactly or marked: a path buffer rewritten by another
//! thread, bytes that are not UTF-8, paths and argv past the limits.

use super::*;

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
