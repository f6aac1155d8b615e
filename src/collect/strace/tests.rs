use super::*;
use crate::collect::event::Slot;

/// strace -y -T: fds annotated, durations shown.
fn annotated() -> Strace {
    Strace::new(StraceOptions {
        fd_paths: true,
        durations: true,
        ..StraceOptions::default()
    })
}

fn call(nr: i64, args: [u64; 6], ret: Option<i64>, slots: Vec<Slot>) -> SyscallEvent {
    SyscallEvent {
        ts_ns: 0,
        duration_ns: 12_000,
        pid: u32::MAX, // no /proc entry: fds are annotated from opens only
        tid: 1,
        nr: nr as u32,
        args,
        ret,
        slots,
    }
}

fn string(arg: usize, s: &[u8]) -> Slot {
    Slot {
        kind: SlotKind::String,
        arg,
        bytes: s.to_vec(),
    }
}

fn buffer(arg: usize, s: &[u8]) -> Slot {
    Slot {
        kind: SlotKind::Buffer,
        arg,
        bytes: s.to_vec(),
    }
}

#[test]
fn openat_like_strace() {
    let mut strace = annotated();
    let flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
    let ok = call(
        libc::SYS_openat,
        [-100i64 as u64, 1, flags, 0, 0, 0],
        Some(3),
        vec![string(1, b"/etc/hosts")],
    );
    assert_eq!(
        strace.line(&ok),
        r#"openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3 <0.000012>"#
    );
    let failed = call(
        libc::SYS_openat,
        [-100i64 as u64, 1, 0, 0, 0, 0],
        Some(-2),
        vec![string(1, b"/nope")],
    );
    assert_eq!(
        strace.line(&failed),
        r#"openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000012>"#
    );
}

#[test]
fn the_mode_shows_when_a_file_may_be_created() {
    let mut strace = annotated();
    let flags = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u64;
    let open = call(
        libc::SYS_openat,
        [-100i64 as u64, 1, flags, 0o644, 0, 0],
        Some(4),
        vec![string(1, b"out")],
    );
    assert_eq!(
        strace.line(&open),
        r#"openat(AT_FDCWD, "out", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4 <0.000012>"#
    );
}

#[test]
fn fds_are_annotated_with_the_path_they_were_opened_from() {
    let mut strace = annotated();
    let open = call(
        libc::SYS_openat,
        [-100i64 as u64, 1, 0, 0, 0, 0],
        Some(3),
        vec![string(1, b"/dev/zero")],
    );
    strace.line(&open);
    let read = call(
        libc::SYS_read,
        [3, 0x1000, 4, 0, 0, 0],
        Some(4),
        vec![buffer(1, &[0, 0, 0, 0])],
    );
    assert_eq!(
        strace.line(&read),
        r#"read(3</dev/zero>, "\0\0\0\0", 4) = 4 <0.000012>"#
    );
    #[cfg(target_arch = "x86_64")]
    {
        let dup = call(libc::SYS_dup2, [3, 0, 0, 0, 0, 0], Some(0), vec![]);
        assert_eq!(strace.line(&dup), "dup2(3</dev/zero>, 0) = 0 <0.000012>");
    }
    // arm64 has dup3 only.
    #[cfg(target_arch = "aarch64")]
    {
        let dup = call(libc::SYS_dup3, [3, 0, 0, 0, 0, 0], Some(0), vec![]);
        let line = strace.line(&dup);
        assert!(line.starts_with("dup3(3</dev/zero>, 0, "), "{line}");
        assert!(line.ends_with(") = 0 <0.000012>"), "{line}");
    }
    let read = call(
        libc::SYS_read,
        [0, 0x1000, 1, 0, 0, 0],
        Some(1),
        vec![buffer(1, &[0])],
    );
    assert!(strace.line(&read).starts_with("read(0</dev/zero>,"));
    strace.line(&call(libc::SYS_close, [3, 0, 0, 0, 0, 0], Some(0), vec![]));
    let read = call(libc::SYS_read, [3, 0x1000, 4, 0, 0, 0], Some(-9), vec![]);
    assert!(
        strace
            .line(&read)
            .starts_with("read(3, 0x1000, 4) = -1 EBADF")
    );
}

#[test]
fn write_previews_and_marks_a_longer_buffer() {
    let mut strace = annotated();
    let short = call(
        libc::SYS_write,
        [1, 0x10, 6, 0, 0, 0],
        Some(6),
        vec![buffer(1, b"hello\n")],
    );
    assert_eq!(
        strace.line(&short),
        r#"write(1, "hello\n", 6) = 6 <0.000012>"#
    );
    let long = call(
        libc::SYS_write,
        [1, 0x10, 100, 0, 0, 0],
        Some(100),
        vec![buffer(1, &[b'a'; 32])],
    );
    assert!(
        strace
            .line(&long)
            .contains(&format!("\"{}\"..., 100)", "a".repeat(32)))
    );
}

#[test]
fn exit_group_never_returns() {
    let mut strace = annotated();
    assert_eq!(
        strace.line(&call(
            libc::SYS_exit_group,
            [3, 0, 0, 0, 0, 0],
            None,
            vec![]
        )),
        "exit_group(3) = ?"
    );
}

#[test]
fn flags_and_signals_are_symbolic() {
    let mut strace = annotated();
    let mmap = call(
        libc::SYS_mmap,
        [0, 4096, 3, 0x22, -1i64 as u64, 0],
        Some(0x7f00_0000_0000),
        vec![],
    );
    assert_eq!(
        strace.line(&mmap),
        "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000 <0.000012>"
    );
    let kill = call(libc::SYS_kill, [42, 9, 0, 0, 0, 0], Some(0), vec![]);
    assert_eq!(strace.line(&kill), "kill(42, SIGKILL) = 0 <0.000012>");
    let clone = call(
        libc::SYS_clone,
        [0x1200011, 0, 0, 0, 0, 0],
        Some(77),
        vec![],
    );
    assert!(
        strace
            .line(&clone)
            .starts_with("clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=NULL) = 77")
    );
    assert_eq!(
        values::flags(0x1100, values::AT_FLAGS),
        "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"
    );
}

#[test]
fn quotes_like_strace() {
    assert_eq!(quote(b"a\"b\\c\td", false), r#""a\"b\\c\td""#);
    assert_eq!(quote(&[0, b'1', 0xff], true), r#""\0001\377"..."#);
    assert_eq!(quote("日".as_bytes(), false), r#""\346\227\245""#);
    // strace 6's own output for these bytes.
    assert_eq!(
        quote(b"x\x1b]0;TITLE\x07\nFAKE LINE", false),
        r#""x\33]0;TITLE\7\nFAKE LINE""#
    );
    assert_eq!(quote(b"\x1b1\x1b8\x087", false), r#""\0331\338\0107""#);
    assert_eq!(quote(b"<>\x7f\x01\x0b\x0c\r", false), r#""<>\177\1\v\f\r""#);
}

#[test]
fn no_byte_of_a_traced_process_reaches_the_text_raw() {
    let every_byte: Vec<u8> = (0..=255).collect();
    let mut strace = annotated();
    let open = call(
        libc::SYS_openat,
        [-100i64 as u64, 1, 0, 0, 0, 0],
        Some(3),
        vec![string(1, &every_byte)],
    );
    let read = call(
        libc::SYS_read,
        [3, 0x1000, 256, 0, 0, 0],
        Some(256),
        vec![buffer(1, &every_byte)],
    );
    let mut unix = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    unix.extend(1..=255u8);
    let connect = call(
        libc::SYS_connect,
        [3, 0x1000, unix.len() as u64, 0, 0, 0],
        Some(0),
        vec![Slot {
            kind: SlotKind::Sockaddr,
            arg: 1,
            bytes: unix,
        }],
    );
    for e in [&open, &read, &connect] {
        let line = strace.line(e);
        assert!(
            line.bytes().all(|b| (0x20..=0x7e).contains(&b)),
            "only printable ASCII: {line:?}"
        );
    }
}

#[test]
fn fd_paths_are_escaped_like_strace_y() {
    let mut strace = annotated();
    let hostile = b"/tmp/x\x1b]0;TITLE\x07\nFAKE LINE\xff<a>\"";
    let open = call(
        libc::SYS_openat,
        [-100i64 as u64, 1, 0, 0, 0, 0],
        Some(3),
        vec![string(1, hostile)],
    );
    assert_eq!(
        strace.line(&open),
        r#"openat(AT_FDCWD, "/tmp/x\33]0;TITLE\7\nFAKE LINE\377<a>\"", O_RDONLY) = 3 <0.000012>"#
    );
    // strace -y: `<` and `>` in octal, so the name cannot close the
    // annotation.
    let read = call(
        libc::SYS_read,
        [3, 0x1000, 2, 0, 0, 0],
        Some(2),
        vec![buffer(1, b"\x1b[")],
    );
    assert_eq!(
        strace.line(&read),
        r#"read(3</tmp/x\33]0;TITLE\7\nFAKE LINE\377\74a\76\">, "\33[", 2) = 2 <0.000012>"#
    );
    assert_eq!(fd_with_path(4, b"pipe:[7]"), "4<pipe:[7]>");
}

#[test]
fn sockaddrs_are_decoded() {
    let mut inet = vec![0u8; 16];
    inet[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    inet[2..4].copy_from_slice(&80u16.to_be_bytes());
    inet[4..8].copy_from_slice(&[10, 0, 0, 1]);
    let slot = Slot {
        kind: SlotKind::Sockaddr,
        arg: 1,
        bytes: inet,
    };
    assert_eq!(
        sockaddr(&slot),
        r#"{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("10.0.0.1")}"#
    );
    let mut abstract_name = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    abstract_name.extend(b"\0bus\0\n");
    let slot = Slot {
        kind: SlotKind::Sockaddr,
        arg: 1,
        bytes: abstract_name,
    };
    assert_eq!(
        sockaddr(&slot),
        r#"{sa_family=AF_UNIX, sun_path=@"bus\0\n"}"#
    );
}

#[test]
fn unknown_syscalls_show_raw_arguments() {
    let mut strace = Strace::default();
    let line = strace.line(&call(
        libc::SYS_lookup_dcookie,
        [0x10, 16, 0, 0, 0, 0],
        Some(16),
        vec![],
    ));
    assert_eq!(line, "lookup_dcookie(0x10, 0x10, 0, 0, 0, 0) = 16");
}

#[test]
fn by_default_fds_are_bare_and_durations_absent() {
    let mut strace = Strace::default();
    let open = call(
        libc::SYS_openat,
        [-100i64 as u64, 1, 0, 0, 0, 0],
        Some(3),
        vec![string(1, b"/dev/zero")],
    );
    strace.line(&open);
    let read = call(
        libc::SYS_read,
        [3, 0x1000, 4, 0, 0, 0],
        Some(4),
        vec![buffer(1, &[0, 0, 0, 0])],
    );
    assert_eq!(strace.line(&read), r#"read(3, "\0\0\0\0", 4) = 4"#);
}

#[test]
fn structs_enums_and_results_by_type() {
    let mut strace = Strace::default();
    let mut st = vec![0u8; 56];
    st[24..28].copy_from_slice(&0o100644u32.to_le_bytes());
    st[48..56].copy_from_slice(&526u64.to_le_bytes());
    let stat = call(
        libc::SYS_newfstatat,
        [-100i64 as u64, 1, 0x7ff0, 0, 0, 0],
        Some(0),
        vec![
            string(1, b"/etc/nsswitch.conf"),
            Slot {
                kind: SlotKind::Struct,
                arg: 2,
                bytes: st.clone(),
            },
        ],
    );
    assert_eq!(
        strace.line(&stat),
        r#"newfstatat(AT_FDCWD, "/etc/nsswitch.conf", {st_mode=S_IFREG|0644, st_size=526, ...}, 0) = 0"#
    );
    // Failed: what it would have filled is an address.
    let failed = SyscallEvent {
        ret: Some(-2),
        ..stat
    };
    assert!(strace.line(&failed).contains(", 0x7ff0, 0) = -1 ENOENT"));
    let getfd = call(libc::SYS_fcntl, [255, 1, 0, 0, 0, 0], Some(-9), vec![]);
    assert_eq!(
        strace.line(&getfd),
        "fcntl(255, F_GETFD) = -1 EBADF (Bad file descriptor)"
    );
    let setfd = call(libc::SYS_fcntl, [255, 2, 1, 0, 0, 0], Some(0), vec![]);
    assert_eq!(strace.line(&setfd), "fcntl(255, F_SETFD, FD_CLOEXEC) = 0");
    let getfl = call(libc::SYS_fcntl, [3, 3, 0, 0, 0, 0], Some(0x8002), vec![]);
    assert_eq!(
        strace.line(&getfl),
        "fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)"
    );
    let lseek = call(
        libc::SYS_lseek,
        [3, -60i64 as u64, 1, 0, 0, 0],
        Some(54),
        vec![],
    );
    assert_eq!(strace.line(&lseek), "lseek(3, -60, SEEK_CUR) = 54");
    let ioctl = call(
        libc::SYS_ioctl,
        [1, 0x5401, 0x7ffd, 0, 0, 0],
        Some(-25),
        vec![],
    );
    assert_eq!(
        strace.line(&ioctl),
        "ioctl(1, TCGETS, 0x7ffd) = -1 ENOTTY (Inappropriate ioctl for device)"
    );
    let futex = call(
        libc::SYS_futex,
        [0x7f00, 0x81, 0x7fffffff, 0, 0, 0],
        Some(0),
        vec![],
    );
    assert_eq!(
        strace.line(&futex),
        "futex(0x7f00, FUTEX_WAKE_PRIVATE, 2147483647) = 0"
    );
    let mask = call(
        libc::SYS_rt_sigprocmask,
        [0, 0, 0x7f00, 8, 0, 0],
        Some(0),
        vec![Slot {
            kind: SlotKind::Struct,
            arg: 2,
            bytes: vec![0; 8],
        }],
    );
    assert_eq!(
        strace.line(&mask),
        "rt_sigprocmask(SIG_BLOCK, NULL, [], 8) = 0"
    );
    let dents = call(
        libc::SYS_getdents64,
        [3, 0x5600, 32768, 0, 0, 0],
        Some(4416),
        vec![Slot {
            kind: SlotKind::Struct,
            arg: 1,
            bytes: 139u32.to_le_bytes().to_vec(),
        }],
    );
    assert_eq!(
        strace.line(&dents),
        "getdents64(3, 0x5600 /* 139 entries */, 32768) = 4416"
    );
}

#[test]
fn execve_shows_argv_and_counts_the_environment() {
    let mut strace = Strace::default();
    let mut args = 35u32.to_le_bytes().to_vec();
    args.extend(0u32.to_le_bytes());
    args.extend(b"ls\0-l\0/etc\0");
    let exec = call(
        libc::SYS_execve,
        [0x10, 0x20, 0x7ffd, 0, 0, 0],
        Some(0),
        vec![
            string(0, b"/usr/bin/ls"),
            Slot {
                kind: SlotKind::Struct,
                arg: 1,
                bytes: args,
            },
        ],
    );
    assert_eq!(
        strace.line(&exec),
        r#"execve("/usr/bin/ls", ["ls", "-l", "/etc"], 0x7ffd /* 35 vars */) = 0"#
    );
}
