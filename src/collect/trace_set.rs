//! The syscalls `-e trace=SET` names, read as strace reads SET: syscall
//! names, classes (`%file`, `%process`, `%network`…), `all`, `none`, a
//! leading `!` for all but SET, and `?` before a name that may not exist.
//! A 32-bit syscall is in SET when its name is.

use crate::bpf::CallSet;

use super::names::{COMPAT_BASE, UNKNOWN_SYSCALL, syscall_name};

/// Parses SET (what follows `trace=`) into counter slots.
pub fn parse(spec: &str) -> Result<CallSet, String> {
    let (negated, spec) = match spec.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let mut set = CallSet::none();
    for item in spec.split(',') {
        let (optional, item) = match item.strip_prefix('?') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let matched = match item {
            "all" => {
                set = CallSet::all();
                true
            }
            "none" => true,
            _ => match class(item) {
                Some(class) => insert_where(&mut set, |name| classes_of(name) & class != 0),
                None => insert_where(&mut set, |name| name == item),
            },
        };
        if !matched && !optional {
            return Err(if item.is_empty() {
                "an empty syscall name in -e trace=".to_string()
            } else {
                format!("invalid system call '{item}'")
            });
        }
    }
    if negated {
        let mut all = CallSet::all();
        for slot in CallSet::slots().filter(|&s| set.contains(s)) {
            all.remove(slot);
        }
        set = all;
    }
    Ok(set)
}

/// The signals `-e signal=SET` names (bit n for signal n): names with or
/// without SIG in any case, numbers, `all`, `none`, a leading `!`.
pub fn parse_signals(spec: &str) -> Result<u64, String> {
    let (negated, spec) = match spec.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let mut set = 0u64;
    for item in spec.split(',') {
        match item {
            "all" => set = u64::MAX,
            "none" => {}
            _ => set |= 1 << (signal_number(item)? - 1),
        }
    }
    Ok(if negated { !set } else { set })
}

fn signal_number(item: &str) -> Result<u32, String> {
    let invalid = || format!("invalid signal '{item}'");
    if let Ok(n) = item.parse::<u32>() {
        return if (1..=64).contains(&n) {
            Ok(n)
        } else {
            Err(invalid())
        };
    }
    let upper = item.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .map(|s| s as u32)
        .map_err(|_| invalid())
}

/// Adds every slot whose syscall's name (without its 32-bit prefix)
/// `wanted`; whether any was.
fn insert_where(set: &mut CallSet, wanted: impl Fn(&str) -> bool) -> bool {
    let mut any = false;
    for slot in CallSet::slots().filter(|&s| s != UNKNOWN_SYSCALL) {
        let name = syscall_name(slot);
        let bare = if slot >= COMPAT_BASE {
            name.split_once(':').map_or(name.as_str(), |(_, n)| n)
        } else {
            name.as_str()
        };
        if !bare.starts_with("syscall_") && wanted(bare) {
            set.insert(slot);
            any = true;
        }
    }
    any
}

const DESC: u32 = 1 << 0;
const FILE: u32 = 1 << 1;
const IPC: u32 = 1 << 2;
const NETWORK: u32 = 1 << 3;
const PROCESS: u32 = 1 << 4;
const SIGNAL: u32 = 1 << 5;
const MEMORY: u32 = 1 << 6;
const STAT: u32 = 1 << 7;
const LSTAT: u32 = 1 << 8;
const FSTAT: u32 = 1 << 9;
const STAT_LIKE: u32 = 1 << 10;
const STATFS: u32 = 1 << 11;
const FSTATFS: u32 = 1 << 12;
const STATFS_LIKE: u32 = 1 << 13;
const PURE: u32 = 1 << 14;
const CREDS: u32 = 1 << 15;
const CLOCK: u32 = 1 << 16;

/// A class's bit, by the names strace takes for it (with or without `%`
/// for the old ones).
fn class(name: &str) -> Option<u32> {
    Some(match name {
        "%desc" | "desc" => DESC,
        "%file" | "file" => FILE,
        "%ipc" | "ipc" => IPC,
        "%network" | "%net" | "network" => NETWORK,
        "%process" | "process" => PROCESS,
        "%signal" | "signal" => SIGNAL,
        "%memory" | "memory" => MEMORY,
        "%stat" => STAT,
        "%lstat" => LSTAT,
        "%fstat" => FSTAT,
        "%%stat" => STAT_LIKE,
        "%statfs" => STATFS,
        "%fstatfs" => FSTATFS,
        "%%statfs" => STATFS_LIKE,
        "%pure" => PURE,
        "%creds" => CREDS,
        "%clock" => CLOCK,
        _ => return None,
    })
}

fn classes_of(name: &str) -> u32 {
    CLASSES
        .binary_search_by(|(n, _)| n.cmp(&name))
        .map_or(0, |i| CLASSES[i].1)
}

/// The classes of each syscall, by name, as strace's syscall tables give
/// them (x86_64 and the calls common to every architecture); sorted.
const CLASSES: &[(&str, u32)] = &[
    ("accept", NETWORK),
    ("accept4", NETWORK),
    ("access", FILE),
    ("acct", FILE),
    ("adjtimex", CLOCK),
    ("bind", NETWORK),
    ("bpf", DESC),
    ("brk", MEMORY),
    ("cachestat", DESC),
    ("capget", CREDS),
    ("capset", CREDS),
    ("chdir", FILE),
    ("chmod", FILE),
    ("chown", FILE),
    ("chroot", FILE),
    ("clock_adjtime", CLOCK),
    ("clock_getres", CLOCK),
    ("clock_gettime", CLOCK),
    ("clock_settime", CLOCK),
    ("clone", PROCESS),
    ("clone3", PROCESS),
    ("close", DESC),
    ("connect", NETWORK),
    ("copy_file_range", DESC),
    ("creat", DESC | FILE),
    ("dup", DESC),
    ("dup2", DESC),
    ("dup3", DESC),
    ("epoll_create", DESC),
    ("epoll_create1", DESC),
    ("epoll_ctl", DESC),
    ("epoll_pwait", DESC),
    ("epoll_pwait2", DESC),
    ("epoll_wait", DESC),
    ("eventfd", DESC),
    ("eventfd2", DESC),
    ("execve", FILE | PROCESS),
    ("execveat", DESC | FILE | PROCESS),
    ("exit", PROCESS),
    ("exit_group", PROCESS),
    ("faccessat", DESC | FILE),
    ("faccessat2", DESC | FILE),
    ("fadvise64", DESC),
    ("fallocate", DESC),
    ("fanotify_init", DESC),
    ("fanotify_mark", DESC | FILE),
    ("fchdir", DESC),
    ("fchmod", DESC),
    ("fchmodat", DESC | FILE),
    ("fchmodat2", DESC | FILE),
    ("fchown", DESC),
    ("fchownat", DESC | FILE),
    ("fcntl", DESC),
    ("fdatasync", DESC),
    ("fgetxattr", DESC),
    ("file_getattr", DESC | FILE),
    ("file_setattr", DESC | FILE),
    ("finit_module", DESC),
    ("flistxattr", DESC),
    ("flock", DESC),
    ("fork", PROCESS),
    ("fremovexattr", DESC),
    ("fsconfig", DESC | FILE),
    ("fsetxattr", DESC),
    ("fsmount", DESC),
    ("fsopen", DESC),
    ("fspick", DESC | FILE),
    ("fstat", DESC | FSTAT | STAT_LIKE),
    ("fstatfs", DESC | FSTATFS | STATFS_LIKE),
    ("fsync", DESC),
    ("ftruncate", DESC),
    ("futimesat", DESC | FILE),
    ("get_mempolicy", MEMORY),
    ("getcwd", FILE),
    ("getdents", DESC),
    ("getdents64", DESC),
    ("getegid", PURE | CREDS),
    ("geteuid", PURE | CREDS),
    ("getgid", PURE | CREDS),
    ("getgroups", CREDS),
    ("getpeername", NETWORK),
    ("getpgrp", PURE),
    ("getpid", PURE),
    ("getpmsg", NETWORK),
    ("getppid", PURE),
    ("getresgid", CREDS),
    ("getresuid", CREDS),
    ("getsockname", NETWORK),
    ("getsockopt", NETWORK),
    ("gettid", PURE),
    ("gettimeofday", CLOCK),
    ("getuid", PURE | CREDS),
    ("getxattr", FILE),
    ("getxattrat", DESC | FILE),
    ("inotify_add_watch", DESC | FILE),
    ("inotify_init", DESC),
    ("inotify_init1", DESC),
    ("inotify_rm_watch", DESC),
    ("io_destroy", MEMORY),
    ("io_setup", MEMORY),
    ("io_uring_enter", DESC | SIGNAL),
    ("io_uring_register", DESC | MEMORY),
    ("io_uring_setup", DESC),
    ("ioctl", DESC),
    ("kexec_file_load", DESC),
    ("kill", PROCESS | SIGNAL),
    ("landlock_add_rule", DESC),
    ("landlock_create_ruleset", DESC),
    ("landlock_restrict_self", DESC),
    ("lchown", FILE),
    ("lgetxattr", FILE),
    ("link", FILE),
    ("linkat", DESC | FILE),
    ("listen", NETWORK),
    ("listxattr", FILE),
    ("listxattrat", DESC | FILE),
    ("llistxattr", FILE),
    ("lremovexattr", FILE),
    ("lseek", DESC),
    ("lsetxattr", FILE),
    ("lstat", FILE | LSTAT | STAT_LIKE),
    ("madvise", MEMORY),
    ("map_shadow_stack", MEMORY),
    ("mbind", MEMORY),
    ("memfd_create", DESC),
    ("memfd_secret", DESC),
    ("migrate_pages", MEMORY),
    ("mincore", MEMORY),
    ("mkdir", FILE),
    ("mkdirat", DESC | FILE),
    ("mknod", FILE),
    ("mknodat", DESC | FILE),
    ("mlock", MEMORY),
    ("mlock2", MEMORY),
    ("mlockall", MEMORY),
    ("mmap", DESC | MEMORY),
    ("mount", FILE),
    ("mount_setattr", DESC | FILE),
    ("move_mount", DESC | FILE),
    ("move_pages", MEMORY),
    ("mprotect", MEMORY),
    ("mq_getsetattr", DESC),
    ("mq_notify", DESC),
    ("mq_open", DESC),
    ("mq_timedreceive", DESC),
    ("mq_timedsend", DESC),
    ("mremap", MEMORY),
    ("mseal", MEMORY),
    ("msgctl", IPC),
    ("msgget", IPC),
    ("msgrcv", IPC),
    ("msgsnd", IPC),
    ("msync", MEMORY),
    ("munlock", MEMORY),
    ("munlockall", MEMORY),
    ("munmap", MEMORY),
    ("name_to_handle_at", DESC | FILE),
    ("newfstatat", DESC | FILE | FSTAT | STAT_LIKE),
    ("open", DESC | FILE),
    ("open_by_handle_at", DESC),
    ("open_tree", DESC | FILE),
    ("open_tree_attr", DESC | FILE),
    ("openat", DESC | FILE),
    ("openat2", DESC | FILE),
    ("pause", SIGNAL),
    ("perf_event_open", DESC),
    ("pidfd_getfd", DESC),
    ("pidfd_open", DESC),
    ("pidfd_send_signal", DESC | PROCESS | SIGNAL),
    ("pipe", DESC),
    ("pipe2", DESC),
    ("pivot_root", FILE),
    ("pkey_mprotect", MEMORY),
    ("poll", DESC),
    ("ppoll", DESC),
    ("prctl", CREDS),
    ("pread64", DESC),
    ("preadv", DESC),
    ("preadv2", DESC),
    ("process_madvise", DESC),
    ("process_mrelease", DESC),
    ("pselect6", DESC),
    ("putpmsg", NETWORK),
    ("pwrite64", DESC),
    ("pwritev", DESC),
    ("pwritev2", DESC),
    ("quotactl", FILE),
    ("quotactl_fd", DESC),
    ("read", DESC),
    ("readahead", DESC),
    ("readlink", FILE),
    ("readlinkat", DESC | FILE),
    ("readv", DESC),
    ("recvfrom", NETWORK),
    ("recvmmsg", NETWORK),
    ("recvmsg", NETWORK),
    ("remap_file_pages", MEMORY),
    ("removexattr", FILE),
    ("removexattrat", DESC | FILE),
    ("rename", FILE),
    ("renameat", DESC | FILE),
    ("renameat2", DESC | FILE),
    ("rmdir", FILE),
    ("rt_sigaction", SIGNAL),
    ("rt_sigpending", SIGNAL),
    ("rt_sigprocmask", SIGNAL),
    ("rt_sigqueueinfo", PROCESS | SIGNAL),
    ("rt_sigreturn", SIGNAL),
    ("rt_sigsuspend", SIGNAL),
    ("rt_sigtimedwait", SIGNAL),
    ("rt_tgsigqueueinfo", PROCESS | SIGNAL),
    ("select", DESC),
    ("semctl", IPC),
    ("semget", IPC),
    ("semop", IPC),
    ("semtimedop", IPC),
    ("sendfile", DESC | NETWORK),
    ("sendmmsg", NETWORK),
    ("sendmsg", NETWORK),
    ("sendto", NETWORK),
    ("set_mempolicy", MEMORY),
    ("set_mempolicy_home_node", MEMORY),
    ("setfsgid", CREDS),
    ("setfsuid", CREDS),
    ("setgid", CREDS),
    ("setgroups", CREDS),
    ("setns", DESC),
    ("setregid", CREDS),
    ("setresgid", CREDS),
    ("setresuid", CREDS),
    ("setreuid", CREDS),
    ("setsockopt", NETWORK),
    ("settimeofday", CLOCK),
    ("setuid", CREDS),
    ("setxattr", FILE),
    ("setxattrat", DESC | FILE),
    ("shmat", IPC | MEMORY),
    ("shmctl", IPC),
    ("shmdt", IPC | MEMORY),
    ("shmget", IPC),
    ("shutdown", NETWORK),
    ("sigaltstack", SIGNAL),
    ("signalfd", DESC | SIGNAL),
    ("signalfd4", DESC | SIGNAL),
    ("socket", NETWORK),
    ("socketpair", NETWORK),
    ("splice", DESC),
    ("stat", FILE | STAT | STAT_LIKE),
    ("statfs", FILE | STATFS | STATFS_LIKE),
    ("statx", DESC | FILE | FSTAT | STAT_LIKE),
    ("swapoff", FILE),
    ("swapon", FILE),
    ("symlink", FILE),
    ("symlinkat", DESC | FILE),
    ("sync_file_range", DESC),
    ("syncfs", DESC),
    ("tee", DESC),
    ("tgkill", PROCESS | SIGNAL),
    ("time", CLOCK),
    ("timerfd_create", DESC),
    ("timerfd_gettime", DESC),
    ("timerfd_settime", DESC),
    ("tkill", PROCESS | SIGNAL),
    ("truncate", FILE),
    ("umount2", FILE),
    ("unlink", FILE),
    ("unlinkat", DESC | FILE),
    ("uselib", FILE),
    ("userfaultfd", DESC),
    ("ustat", STATFS_LIKE),
    ("utime", FILE),
    ("utimensat", DESC | FILE),
    ("utimes", FILE),
    ("vfork", PROCESS),
    ("vmsplice", DESC),
    ("wait4", PROCESS),
    ("waitid", PROCESS),
    ("write", DESC),
    ("writev", DESC),
];

#[cfg(test)]
mod tests {
    use super::*;
    use syscalls::Sysno;

    fn has(set: &CallSet, sysno: Sysno) -> bool {
        set.contains(sysno.id() as u32)
    }

    #[test]
    fn the_table_is_sorted() {
        assert!(CLASSES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn names_and_classes() {
        let set = parse("openat,close").unwrap();
        assert!(has(&set, Sysno::openat) && has(&set, Sysno::close));
        assert!(!has(&set, Sysno::read));
        // The 32-bit openat too.
        #[cfg(target_arch = "aarch64")]
        use syscalls::arm::Sysno as Sysno32;
        #[cfg(target_arch = "x86_64")]
        use syscalls::x86::Sysno as Sysno32;
        let compat_openat = COMPAT_BASE + Sysno32::openat.id() as u32;
        assert!(set.contains(compat_openat));

        let file = parse("%file").unwrap();
        #[cfg(target_arch = "x86_64")]
        let file_calls = [
            Sysno::open,
            Sysno::openat,
            Sysno::execve,
            Sysno::newfstatat,
            Sysno::unlink,
        ];
        // arm64 has only the *at calls; its fstatat is the kernel's newfstatat.
        #[cfg(target_arch = "aarch64")]
        let file_calls = [
            Sysno::openat,
            Sysno::execve,
            Sysno::fstatat,
            Sysno::unlinkat,
        ];
        for sysno in file_calls {
            assert!(has(&file, sysno), "{sysno}");
        }
        assert!(!has(&file, Sysno::read) && !has(&file, Sysno::close));
        assert_eq!(parse("file").unwrap(), file);

        let process = parse("%process").unwrap();
        for sysno in [Sysno::clone, Sysno::execve, Sysno::exit_group, Sysno::wait4] {
            assert!(has(&process, sysno), "{sysno}");
        }
        let network = parse("%network").unwrap();
        assert!(has(&network, Sysno::connect) && has(&network, Sysno::socket));
        assert!(has(&parse("%signal").unwrap(), Sysno::rt_sigaction));
    }

    #[test]
    fn negation_all_and_none() {
        let not_read = parse("!read").unwrap();
        assert!(!has(&not_read, Sysno::read) && has(&not_read, Sysno::write));
        assert_eq!(parse("all").unwrap(), CallSet::all());
        assert_eq!(parse("none").unwrap(), CallSet::none());
        assert_eq!(parse("!all").unwrap(), CallSet::none());
    }

    #[test]
    fn signal_sets() {
        let bit = |s: i32| 1u64 << (s - 1);
        assert_eq!(
            parse_signals("SIGTERM,int,9").unwrap(),
            bit(15) | bit(2) | bit(9)
        );
        assert_eq!(parse_signals("!SIGCHLD").unwrap(), !bit(17));
        assert_eq!(parse_signals("all").unwrap(), u64::MAX);
        assert_eq!(parse_signals("none").unwrap(), 0);
        assert_eq!(
            parse_signals("SIGFOO").unwrap_err(),
            "invalid signal 'SIGFOO'"
        );
        assert!(parse_signals("65").is_err());
    }

    #[test]
    fn unknown_names_are_refused_unless_optional() {
        assert_eq!(parse("opne").unwrap_err(), "invalid system call 'opne'");
        assert!(parse("read,").is_err());
        let set = parse("?no_such_call,read").unwrap();
        assert!(has(&set, Sysno::read));
    }
}
