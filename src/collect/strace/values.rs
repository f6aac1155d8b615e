//! Integers as strace names them: flag sets, enumerations, modes, signals.
//! Each table is in strace's order (the order its output lists flags in);
//! values are the x86_64 ABI's, from `libc` where it has them.

/// A table of named values or bits.
pub type Names = &'static [(u64, &'static str)];

/// `A|B|0x40` for the bits of `raw`, composite entries first as listed;
/// the table's 0 entry (or "0") when none is set.
pub fn flags(raw: u64, table: Names) -> String {
    if raw == 0 {
        let zero = table.iter().find(|(v, _)| *v == 0);
        return zero.map_or("0", |(_, n)| n).to_string();
    }
    let mut rest = raw;
    let mut names: Vec<String> = Vec::new();
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits {
            names.push(name.to_string());
            rest &= !bits;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    names.join("|")
}

/// The name of `raw`, or its number in hex as strace prints an unknown
/// constant (`0x42 /* F_??? */` is shortened to the number).
pub fn enum_name(raw: u64, table: Names) -> String {
    match table.iter().find(|(v, _)| *v == raw) {
        Some((_, name)) => name.to_string(),
        None => format!("{raw:#x}"),
    }
}

/// The name of an integer enumeration value; unknown ones in decimal.
pub fn enum_or_decimal(raw: u64, table: Names) -> String {
    match table.iter().find(|(v, _)| *v == raw) {
        Some((_, name)) => name.to_string(),
        None => (raw as i32).to_string(),
    }
}

/// A signal's name without "SIG", as in strace's sets: `CHLD`, `RTMIN`,
/// `RT_3`; None outside 1..=64.
pub fn signal_abbrev(sig: u32) -> Option<String> {
    const NAMES: [&str; 31] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    match sig {
        1..=31 => Some(NAMES[sig as usize - 1].to_string()),
        32 => Some("RTMIN".to_string()),
        33..=64 => Some(format!("RT_{}", sig - 32)),
        _ => None,
    }
}

/// `SIGTERM`, `SIGRT_1`; a number outside the signals.
pub fn signal(sig: u64) -> String {
    match signal_abbrev(sig as u32).filter(|_| sig <= 64) {
        Some(name) => format!("SIG{name}"),
        None => (sig as i32).to_string(),
    }
}

/// A signal set of `bytes` (little-endian bits, signal n at bit n-1):
/// `[INT CHLD]`, or `~[...]` with the signals not in it when most are.
pub fn sigset(bytes: &[u8]) -> String {
    let mut bits = 0u64;
    for (i, b) in bytes.iter().take(8).enumerate() {
        bits |= (*b as u64) << (8 * i);
    }
    let nsig = (bytes.len().min(8) * 8) as u32;
    let inverted = bits.count_ones() > nsig / 2;
    let shown = if inverted { !bits } else { bits };
    let names: Vec<String> = (1..=nsig)
        .filter(|s| shown & (1 << (s - 1)) != 0)
        .filter_map(signal_abbrev)
        .collect();
    format!("{}[{}]", if inverted { "~" } else { "" }, names.join(" "))
}

/// A file mode as strace writes st_mode: `S_IFREG|0644`, `S_IFDIR|S_ISVTX|0777`.
pub fn file_mode(mode: u32) -> String {
    const TYPES: Names = &[
        (0o140000, "S_IFSOCK"),
        (0o120000, "S_IFLNK"),
        (0o100000, "S_IFREG"),
        (0o060000, "S_IFBLK"),
        (0o040000, "S_IFDIR"),
        (0o020000, "S_IFCHR"),
        (0o010000, "S_IFIFO"),
    ];
    let mut parts = Vec::new();
    let kind = (mode & 0o170000) as u64;
    if kind != 0 {
        parts.push(enum_name(kind, TYPES));
    }
    parts.extend(permission_bits(mode));
    parts.push(format!("{:04o}", mode & 0o777));
    parts.join("|")
}

/// A mode argument (open, mkdir, chmod): `0644`, `S_ISUID|0755`.
pub fn mode(mode: u64) -> String {
    let mode = mode as u32;
    let mut parts = permission_bits(mode);
    let rest = mode & !0o7777;
    if rest != 0 {
        parts.push(format!("{rest:#o}"));
    }
    parts.push(format!("0{:02o}", mode & 0o777));
    parts.join("|")
}

fn permission_bits(mode: u32) -> Vec<String> {
    [
        (0o4000, "S_ISUID"),
        (0o2000, "S_ISGID"),
        (0o1000, "S_ISVTX"),
    ]
    .iter()
    .filter(|(bit, _)| mode & bit != 0)
    .map(|(_, name)| name.to_string())
    .collect()
}

/// A resource limit value: `RLIM64_INFINITY`, `8192*1024`, `0`.
pub fn rlim(value: u64) -> String {
    if value == u64::MAX {
        "RLIM64_INFINITY".into()
    } else if value > 0 && value.is_multiple_of(1024) {
        format!("{}*1024", value / 1024)
    } else {
        value.to_string()
    }
}

pub const AT_FLAGS: Names = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
];
/// faccessat2's: 0x200 is AT_EACCESS there.
pub const ACCESS_AT_FLAGS: Names = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_EACCESS"),
    (0x1000, "AT_EMPTY_PATH"),
];
pub const ACCESS_MODES: Names = &[(0, "F_OK"), (4, "R_OK"), (2, "W_OK"), (1, "X_OK")];
pub const PROT: Names = &[
    (0, "PROT_NONE"),
    (1, "PROT_READ"),
    (2, "PROT_WRITE"),
    (4, "PROT_EXEC"),
    (0x10, "PROT_BTI"),
    (0x01000000, "PROT_GROWSDOWN"),
    (0x02000000, "PROT_GROWSUP"),
];
pub const MAP_FLAGS: Names = &[
    (0x03, "MAP_SHARED_VALIDATE"),
    (0x01, "MAP_SHARED"),
    (0x02, "MAP_PRIVATE"),
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
];
pub const MREMAP_FLAGS: Names = &[
    (1, "MREMAP_MAYMOVE"),
    (2, "MREMAP_FIXED"),
    (4, "MREMAP_DONTUNMAP"),
];
pub const CLONE_FLAGS: Names = &[
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (0x80000, "CLONE_SETTLS"),
    (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"),
    (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"),
    (0x1000000, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
];
pub const WHENCE: Names = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];
pub const FCNTL_CMDS: Names = &[
    (0, "F_DUPFD"),
    (1, "F_GETFD"),
    (2, "F_SETFD"),
    (3, "F_GETFL"),
    (4, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (10, "F_SETSIG"),
    (11, "F_GETSIG"),
    (15, "F_SETOWN_EX"),
    (16, "F_GETOWN_EX"),
    (36, "F_OFD_GETLK"),
    (37, "F_OFD_SETLK"),
    (38, "F_OFD_SETLKW"),
    (1024, "F_SETLEASE"),
    (1025, "F_GETLEASE"),
    (1026, "F_NOTIFY"),
    (1030, "F_DUPFD_CLOEXEC"),
    (1031, "F_SETPIPE_SZ"),
    (1032, "F_GETPIPE_SZ"),
    (1033, "F_ADD_SEALS"),
    (1034, "F_GET_SEALS"),
];
/// pipe2's and dup3's flags: 0 is `0`, not O_RDONLY.
pub const PIPE_FLAGS: Names = &[
    (0x80000, "O_CLOEXEC"),
    (0x4000, "O_DIRECT"),
    (0x800, "O_NONBLOCK"),
    (0x80, "O_NOTIFICATION_PIPE"),
];
pub const FD_FLAGS: Names = &[(1, "FD_CLOEXEC")];
pub const IOCTL_REQUESTS: Names = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x5404, "TCSETSF"),
    (0x540b, "TCFLSH"),
    (0x540e, "TIOCSCTTY"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x541b, "FIONREAD"),
    (0x5421, "FIONBIO"),
    (0x5422, "TIOCNOTTY"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
    (0x80045430, "TIOCGPTN"),
    (0x40045431, "TIOCSPTLCK"),
];
pub const SIGPROCMASK_HOW: Names = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];
pub const CLOCKS: Names = &[
    (0, "CLOCK_REALTIME"),
    (1, "CLOCK_MONOTONIC"),
    (2, "CLOCK_PROCESS_CPUTIME_ID"),
    (3, "CLOCK_THREAD_CPUTIME_ID"),
    (4, "CLOCK_MONOTONIC_RAW"),
    (5, "CLOCK_REALTIME_COARSE"),
    (6, "CLOCK_MONOTONIC_COARSE"),
    (7, "CLOCK_BOOTTIME"),
    (8, "CLOCK_REALTIME_ALARM"),
    (9, "CLOCK_BOOTTIME_ALARM"),
    (11, "CLOCK_TAI"),
];
pub const TIMER_FLAGS: Names = &[(1, "TIMER_ABSTIME")];
pub const RLIMITS: Names = &[
    (0, "RLIMIT_CPU"),
    (1, "RLIMIT_FSIZE"),
    (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"),
    (4, "RLIMIT_CORE"),
    (5, "RLIMIT_RSS"),
    (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"),
    (8, "RLIMIT_MEMLOCK"),
    (9, "RLIMIT_AS"),
    (10, "RLIMIT_LOCKS"),
    (11, "RLIMIT_SIGPENDING"),
    (12, "RLIMIT_MSGQUEUE"),
    (13, "RLIMIT_NICE"),
    (14, "RLIMIT_RTPRIO"),
    (15, "RLIMIT_RTTIME"),
];
pub const DOMAINS: Names = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (10, "AF_INET6"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (40, "AF_VSOCK"),
];
pub const SOCK_TYPES: Names = &[
    (1, "SOCK_STREAM"),
    (2, "SOCK_DGRAM"),
    (3, "SOCK_RAW"),
    (4, "SOCK_RDM"),
    (5, "SOCK_SEQPACKET"),
    (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];
pub const SOCK_FLAGS: Names = &[(0x80000, "SOCK_CLOEXEC"), (0x800, "SOCK_NONBLOCK")];
pub const WAIT_OPTIONS: Names = &[
    (1, "WNOHANG"),
    (2, "WUNTRACED"),
    (4, "WEXITED"),
    (8, "WCONTINUED"),
    (0x1000000, "WNOWAIT"),
    (0x20000000, "__WNOTHREAD"),
    (0x40000000, "__WALL"),
    (0x80000000, "__WCLONE"),
];
pub const GRND_FLAGS: Names = &[
    (1, "GRND_NONBLOCK"),
    (2, "GRND_RANDOM"),
    (4, "GRND_INSECURE"),
];
pub const MADVICE: Names = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (18, "MADV_WIPEONFORK"),
    (19, "MADV_KEEPONFORK"),
    (20, "MADV_COLD"),
    (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
];
pub const FADVICE: Names = &[
    (0, "POSIX_FADV_NORMAL"),
    (1, "POSIX_FADV_RANDOM"),
    (2, "POSIX_FADV_SEQUENTIAL"),
    (3, "POSIX_FADV_WILLNEED"),
    (4, "POSIX_FADV_DONTNEED"),
    (5, "POSIX_FADV_NOREUSE"),
];
pub const ARCH_PRCTL: Names = &[
    (0x1001, "ARCH_SET_GS"),
    (0x1002, "ARCH_SET_FS"),
    (0x1003, "ARCH_GET_FS"),
    (0x1004, "ARCH_GET_GS"),
    (0x1011, "ARCH_GET_CPUID"),
    (0x1012, "ARCH_SET_CPUID"),
    (0x1021, "ARCH_GET_XCOMP_SUPP"),
    (0x1022, "ARCH_GET_XCOMP_PERM"),
    (0x1023, "ARCH_REQ_XCOMP_PERM"),
    (0x3001, "ARCH_CET_STATUS"),
];
pub const SA_FLAGS: Names = &[
    (0x04000000, "SA_RESTORER"),
    (0x08000000, "SA_ONSTACK"),
    (0x10000000, "SA_RESTART"),
    (0x40000000, "SA_NODEFER"),
    (0x80000000, "SA_RESETHAND"),
    (4, "SA_SIGINFO"),
    (1, "SA_NOCLDSTOP"),
    (2, "SA_NOCLDWAIT"),
];
pub const STATX_MASK: Names = &[
    (0xfff, "STATX_ALL"),
    (0x7ff, "STATX_BASIC_STATS"),
    (0x1, "STATX_TYPE"),
    (0x2, "STATX_MODE"),
    (0x4, "STATX_NLINK"),
    (0x8, "STATX_UID"),
    (0x10, "STATX_GID"),
    (0x20, "STATX_ATIME"),
    (0x40, "STATX_MTIME"),
    (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"),
    (0x200, "STATX_SIZE"),
    (0x400, "STATX_BLOCKS"),
    (0x800, "STATX_BTIME"),
    (0x1000, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"),
    (0x4000, "STATX_MNT_ID_UNIQUE"),
    (0x8000, "STATX_SUBVOL"),
    (0x10000, "STATX_WRITE_ATOMIC"),
    (0x20000, "STATX_DIO_READ_ALIGN"),
];
pub const PRCTL_OPTIONS: Names = &[
    (1, "PR_SET_PDEATHSIG"),
    (2, "PR_GET_PDEATHSIG"),
    (3, "PR_GET_DUMPABLE"),
    (4, "PR_SET_DUMPABLE"),
    (15, "PR_SET_NAME"),
    (16, "PR_GET_NAME"),
    (22, "PR_SET_SECCOMP"),
    (23, "PR_CAPBSET_READ"),
    (36, "PR_SET_CHILD_SUBREAPER"),
    (38, "PR_SET_NO_NEW_PRIVS"),
    (39, "PR_GET_NO_NEW_PRIVS"),
    (0x53564d41, "PR_SET_VMA"),
];
pub const EPOLL_CTL: Names = &[
    (1, "EPOLL_CTL_ADD"),
    (2, "EPOLL_CTL_DEL"),
    (3, "EPOLL_CTL_MOD"),
];
pub const SHUTDOWN_HOW: Names = &[(0, "SHUT_RD"), (1, "SHUT_WR"), (2, "SHUT_RDWR")];
pub const MSG_FLAGS: Names = &[
    (0x1, "MSG_OOB"),
    (0x2, "MSG_PEEK"),
    (0x4, "MSG_DONTROUTE"),
    (0x8, "MSG_CTRUNC"),
    (0x20, "MSG_TRUNC"),
    (0x40, "MSG_DONTWAIT"),
    (0x80, "MSG_EOR"),
    (0x100, "MSG_WAITALL"),
    (0x4000, "MSG_NOSIGNAL"),
    (0x8000, "MSG_MORE"),
    (0x40000000, "MSG_CMSG_CLOEXEC"),
];
pub const LOCK_OPS: Names = &[
    (1, "LOCK_SH"),
    (2, "LOCK_EX"),
    (4, "LOCK_NB"),
    (8, "LOCK_UN"),
];
pub const RENAME_FLAGS: Names = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];
pub const EFD_FLAGS: Names = &[
    (0x80000, "EFD_CLOEXEC"),
    (0x800, "EFD_NONBLOCK"),
    (1, "EFD_SEMAPHORE"),
];
pub const MEMFD_FLAGS: Names = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
];
pub const WHICH_PRIO: Names = &[(0, "PRIO_PROCESS"), (1, "PRIO_PGRP"), (2, "PRIO_USER")];
pub const RUSAGE_WHO: Names = &[
    (0, "RUSAGE_SELF"),
    (u32::MAX as u64, "RUSAGE_CHILDREN"),
    (1, "RUSAGE_THREAD"),
];
pub const ITIMERS: Names = &[
    (0, "ITIMER_REAL"),
    (1, "ITIMER_VIRTUAL"),
    (2, "ITIMER_PROF"),
];
pub const MSYNC_FLAGS: Names = &[(1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC")];
pub const SCHED_POLICIES: Names = &[
    (0, "SCHED_OTHER"),
    (1, "SCHED_FIFO"),
    (2, "SCHED_RR"),
    (3, "SCHED_BATCH"),
    (5, "SCHED_IDLE"),
];

/// futex's operation: `FUTEX_WAIT_PRIVATE`, `FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`.
pub fn futex_op(op: u64) -> String {
    const OPS: Names = &[
        (0, "FUTEX_WAIT"),
        (1, "FUTEX_WAKE"),
        (2, "FUTEX_FD"),
        (3, "FUTEX_REQUEUE"),
        (4, "FUTEX_CMP_REQUEUE"),
        (5, "FUTEX_WAKE_OP"),
        (6, "FUTEX_LOCK_PI"),
        (7, "FUTEX_UNLOCK_PI"),
        (8, "FUTEX_TRYLOCK_PI"),
        (9, "FUTEX_WAIT_BITSET"),
        (10, "FUTEX_WAKE_BITSET"),
        (11, "FUTEX_WAIT_REQUEUE_PI"),
        (12, "FUTEX_CMP_REQUEUE_PI"),
        (13, "FUTEX_LOCK_PI2"),
    ];
    let mut name = enum_name(op & 0x7f, OPS);
    if op & 0x80 != 0 {
        name.push_str("_PRIVATE");
    }
    if op & 0x100 != 0 {
        name.push_str("|FUTEX_CLOCK_REALTIME");
    }
    let rest = op & !0x1ff;
    if rest != 0 {
        name.push_str(&format!("|{rest:#x}"));
    }
    name
}

/// socket's type argument: `SOCK_STREAM|SOCK_CLOEXEC`.
pub fn socket_type(raw: u64) -> String {
    let kind = enum_name(raw & 0xf, SOCK_TYPES);
    match raw & !0xf {
        0 => kind,
        rest => format!("{kind}|{}", flags(rest, SOCK_FLAGS)),
    }
}

/// statx's flags: the sync type first (AT_STATX_SYNC_AS_STAT is 0), then
/// the AT_ flags.
pub fn statx_flags(raw: u64) -> String {
    let sync = match raw & 0x6000 {
        0 => "AT_STATX_SYNC_AS_STAT",
        0x2000 => "AT_STATX_FORCE_SYNC",
        0x4000 => "AT_STATX_DONT_SYNC",
        _ => "AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC",
    };
    match raw & !0x6000 {
        0 => sync.to_string(),
        rest => format!("{sync}|{}", flags(rest, AT_FLAGS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_modes_like_strace() {
        assert_eq!(sigset(&0u64.to_le_bytes()), "[]");
        assert_eq!(sigset(&(1u64 << 16).to_le_bytes()), "[CHLD]");
        let all_but_rt = !((1u64 << 31) | (1u64 << 32));
        assert_eq!(sigset(&all_but_rt.to_le_bytes()), "~[RTMIN RT_1]");
        assert_eq!(file_mode(0o100644), "S_IFREG|0644");
        assert_eq!(file_mode(0o41777), "S_IFDIR|S_ISVTX|0777");
        assert_eq!(mode(0o644), "0644");
        assert_eq!(mode(0), "000");
        assert_eq!(rlim(8192 * 1024), "8192*1024");
        assert_eq!(rlim(u64::MAX), "RLIM64_INFINITY");
        assert_eq!(futex_op(0x81), "FUTEX_WAKE_PRIVATE");
        assert_eq!(
            socket_type(0x80801),
            "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK"
        );
        assert_eq!(
            statx_flags(0x900),
            "AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT"
        );
        assert_eq!(
            flags(0x25e, STATX_MASK),
            "STATX_MODE|STATX_NLINK|STATX_UID|STATX_GID|STATX_MTIME|STATX_SIZE"
        );
        assert_eq!(flags(0x1fff, STATX_MASK), "STATX_ALL|STATX_MNT_ID");
        assert_eq!(signal(33), "SIGRT_1");
        assert_eq!(flags(0, ACCESS_MODES), "F_OK");
    }
}
