//! What each syscall's arguments are, by type: one table for the decoder
//! (how to show each argument) and the kernel side (what memory to read).
//! x86_64 signatures, as strace shows them; argument counts are the ones
//! strace prints.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::values::{self, Names};

/// A C struct an argument points to, read whole by the kernel side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Struct {
    Stat,
    Statx,
    Timespec,
    Sigset,
    /// The kernel's struct sigaction (handler, flags, restorer, mask).
    Sigaction,
    Rlimit,
    Utsname,
    /// int[2] (pipe, socketpair).
    FdPair,
    /// wait4's int status.
    WaitStatus,
}

impl Struct {
    /// Bytes read: up to the last field shown, not the whole struct.
    pub fn size(self) -> u16 {
        match self {
            Struct::Stat => 56,   // st_size ends at 56
            Struct::Statx => 136, // stx_rdev_minor ends at 136
            Struct::Timespec => 16,
            Struct::Sigset => 8,
            Struct::Sigaction => 32,
            Struct::Rlimit => 16,
            Struct::Utsname => 130, // sysname and nodename
            Struct::FdPair => 8,
            Struct::WaitStatus => 4,
        }
    }
}

/// How to show one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A file descriptor, decimal (with -y, annotated with its path).
    Fd,
    /// AT_FDCWD or an Fd.
    DirFd,
    /// A NUL-terminated string the call reads (a path, a name).
    Path,
    /// A string the call writes, `ret` bytes of it (readlink, getcwd).
    PathOut,
    /// A buffer the call reads; its length is argument `.0`.
    BufIn(u8),
    /// A buffer the call fills; its length is the result.
    BufOut,
    /// The same, shown in \x escapes (getrandom).
    BufOutHex,
    /// A struct sockaddr the call reads; its length is argument `.0`.
    Sockaddr(u8),
    /// getdents64's buffer: the address, then `/* N entries */`.
    Dirents,
    /// execve's argv, its strings read with the count of envp (argument
    /// `.0`).
    Argv(u8),
    /// execve's envp: the address, then `/* N vars */` (counted with argv).
    Envp,
    /// A struct the call reads.
    In(Struct),
    /// A struct the call fills, shown when it succeeded.
    Out(Struct),
    /// int, decimal.
    Int,
    /// long or off_t, decimal.
    Long,
    /// unsigned int, decimal.
    Uint,
    /// size_t and unsigned long, decimal.
    Ulong,
    /// An integer in hex (0 is `0`).
    Hex,
    /// An address (0 is `NULL`).
    Ptr,
    /// A mode, octal.
    Mode,
    /// open's mode: shown only when argument `.0`'s flags may create a file.
    CreateMode(u8),
    OpenFlags,
    /// Bits named from a table.
    Flags(Names),
    /// One value named from a table; unknown ones in hex.
    Enum(Names),
    /// One value named from a table; unknown ones in decimal.
    IntEnum(Names),
    Signal,
    CloneFlags,
    SocketType,
    StatxFlags,
    FutexOp,
    /// fcntl's third argument, as its command (argument 1) says; absent
    /// for the commands that take none.
    FcntlThird,
}

use Arg::*;
use Struct::*;
use values::*;

/// The argument kinds of `name`'s signature in the table's notation.
fn arg(token: &str) -> Option<Arg> {
    let digit = |s: &str| s.parse::<u8>().ok();
    if let Some(n) = token.strip_prefix("buf@") {
        return digit(n).map(BufIn);
    }
    if let Some(n) = token.strip_prefix("sa@") {
        return digit(n).map(Sockaddr);
    }
    if let Some(n) = token.strip_prefix("cmode@") {
        return digit(n).map(CreateMode);
    }
    let structs = |s: &str| {
        Some(match s {
            "stat" => Stat,
            "statx" => Statx,
            "ts" => Timespec,
            "sigset" => Sigset,
            "sigaction" => Sigaction,
            "rlimit" => Rlimit,
            "uname" => Utsname,
            "fds" => FdPair,
            "status" => WaitStatus,
            _ => return None,
        })
    };
    if let Some(s) = token.strip_prefix("in:") {
        return structs(s).map(In);
    }
    if let Some(s) = token.strip_prefix("out:") {
        return structs(s).map(Out);
    }
    Some(match token {
        "fd" => Fd,
        "dirfd" => DirFd,
        "path" => Path,
        "pathout" => PathOut,
        "out" => BufOut,
        "hexout" => BufOutHex,
        "dirents" => Dirents,
        "argv" => Argv(2),
        "envp" => Envp,
        "int" => Int,
        "long" => Long,
        "uint" => Uint,
        "ulong" => Ulong,
        "hex" => Hex,
        "ptr" => Ptr,
        "mode" => Mode,
        "oflags" => OpenFlags,
        "sig" => Signal,
        "clone" => CloneFlags,
        "socktype" => SocketType,
        "statxflags" => StatxFlags,
        "futexop" => FutexOp,
        "fcntlarg" => FcntlThird,
        "atflags" => Flags(AT_FLAGS),
        "accessat" => Flags(ACCESS_AT_FLAGS),
        "access" => Flags(ACCESS_MODES),
        "prot" => Flags(PROT),
        "mapflags" => Flags(MAP_FLAGS),
        "mremap" => Flags(MREMAP_FLAGS),
        "fdflags" => Flags(FD_FLAGS),
        "pipeflags" => Flags(PIPE_FLAGS),
        "timerflags" => Flags(TIMER_FLAGS),
        "waitopts" => Flags(WAIT_OPTIONS),
        "grnd" => Flags(GRND_FLAGS),
        "statxmask" => Flags(STATX_MASK),
        "msgflags" => Flags(MSG_FLAGS),
        "flock" => Flags(LOCK_OPS),
        "renameflags" => Flags(RENAME_FLAGS),
        "efdflags" => Flags(EFD_FLAGS),
        "memfdflags" => Flags(MEMFD_FLAGS),
        "msync" => Flags(MSYNC_FLAGS),
        "whence" => Enum(WHENCE),
        "fcntlcmd" => Enum(FCNTL_CMDS),
        "ioctl" => Enum(IOCTL_REQUESTS),
        "how" => Enum(SIGPROCMASK_HOW),
        "clock" => IntEnum(CLOCKS),
        "rlimit" => Enum(RLIMITS),
        "domain" => Enum(DOMAINS),
        "madvise" => Enum(MADVICE),
        "fadvise" => Enum(FADVICE),
        "archprctl" => Enum(ARCH_PRCTL),
        "prctl" => Enum(PRCTL_OPTIONS),
        "epollctl" => Enum(EPOLL_CTL),
        "shut" => Enum(SHUTDOWN_HOW),
        "which" => Enum(WHICH_PRIO),
        "who" => IntEnum(RUSAGE_WHO),
        "itimer" => Enum(ITIMERS),
        "sched" => Enum(SCHED_POLICIES),
        _ => return None,
    })
}

/// name: arguments, in `arg`'s notation.
const TABLE: &[(&str, &str)] = &[
    ("read", "fd out ulong"),
    ("write", "fd buf@2 ulong"),
    ("open", "path oflags cmode@1"),
    ("close", "fd"),
    ("stat", "path out:stat"),
    ("fstat", "fd out:stat"),
    ("lstat", "path out:stat"),
    ("poll", "ptr uint int"),
    ("lseek", "fd long whence"),
    ("mmap", "ptr ulong prot mapflags fd hex"),
    ("mprotect", "ptr ulong prot"),
    ("munmap", "ptr ulong"),
    ("brk", "ptr"),
    ("rt_sigaction", "sig in:sigaction out:sigaction ulong"),
    ("rt_sigprocmask", "how in:sigset out:sigset ulong"),
    ("rt_sigreturn", "hex"),
    ("ioctl", "fd ioctl ptr"),
    ("pread64", "fd out ulong long"),
    ("pwrite64", "fd buf@2 ulong long"),
    ("readv", "fd ptr int"),
    ("writev", "fd ptr int"),
    ("access", "path access"),
    ("pipe", "out:fds"),
    ("select", "int ptr ptr ptr ptr"),
    ("sched_yield", ""),
    ("mremap", "ptr ulong ulong mremap ptr"),
    ("msync", "ptr ulong msync"),
    ("mincore", "ptr ulong ptr"),
    ("madvise", "ptr ulong madvise"),
    ("shmget", "hex ulong hex"),
    ("shmat", "int ptr hex"),
    ("shmctl", "int int ptr"),
    ("dup", "fd"),
    ("dup2", "fd fd"),
    ("pause", ""),
    ("nanosleep", "in:ts ptr"),
    ("getitimer", "itimer ptr"),
    ("alarm", "uint"),
    ("setitimer", "itimer ptr ptr"),
    ("getpid", ""),
    ("sendfile", "fd fd ptr ulong"),
    ("socket", "domain socktype int"),
    ("connect", "fd sa@2 uint"),
    ("accept", "fd ptr ptr"),
    ("sendto", "fd buf@2 ulong msgflags sa@5 uint"),
    ("recvfrom", "fd out ulong msgflags ptr ptr"),
    ("sendmsg", "fd ptr msgflags"),
    ("recvmsg", "fd ptr msgflags"),
    ("shutdown", "fd shut"),
    ("bind", "fd sa@2 uint"),
    ("listen", "fd int"),
    ("getsockname", "fd ptr ptr"),
    ("getpeername", "fd ptr ptr"),
    ("socketpair", "domain socktype int out:fds"),
    ("setsockopt", "fd int int ptr uint"),
    ("getsockopt", "fd int int ptr ptr"),
    ("clone", "clone ptr ptr ptr hex"),
    ("fork", ""),
    ("vfork", ""),
    ("execve", "path argv envp"),
    ("exit", "int"),
    ("wait4", "int out:status waitopts ptr"),
    ("kill", "int sig"),
    ("uname", "out:uname"),
    ("semget", "hex int hex"),
    ("semop", "int ptr uint"),
    ("semctl", "int int int hex"),
    ("shmdt", "ptr"),
    ("msgget", "hex hex"),
    ("msgsnd", "int ptr ulong hex"),
    ("msgrcv", "int ptr ulong long hex"),
    ("msgctl", "int int ptr"),
    ("fcntl", "fd fcntlcmd fcntlarg"),
    ("flock", "fd flock"),
    ("fsync", "fd"),
    ("fdatasync", "fd"),
    ("truncate", "path long"),
    ("ftruncate", "fd long"),
    ("getdents", "fd ptr uint"),
    ("getcwd", "pathout ulong"),
    ("chdir", "path"),
    ("fchdir", "fd"),
    ("rename", "path path"),
    ("mkdir", "path mode"),
    ("rmdir", "path"),
    ("creat", "path mode"),
    ("link", "path path"),
    ("unlink", "path"),
    ("symlink", "path path"),
    ("readlink", "path pathout ulong"),
    ("chmod", "path mode"),
    ("fchmod", "fd mode"),
    ("chown", "path int int"),
    ("fchown", "fd int int"),
    ("lchown", "path int int"),
    ("umask", "mode"),
    ("gettimeofday", "ptr ptr"),
    ("getrlimit", "rlimit out:rlimit"),
    ("getrusage", "who ptr"),
    ("sysinfo", "ptr"),
    ("times", "ptr"),
    ("ptrace", "int int ptr ptr"),
    ("getuid", ""),
    ("syslog", "int ptr int"),
    ("getgid", ""),
    ("setuid", "int"),
    ("setgid", "int"),
    ("geteuid", ""),
    ("getegid", ""),
    ("setpgid", "int int"),
    ("getppid", ""),
    ("getpgrp", ""),
    ("setsid", ""),
    ("setreuid", "int int"),
    ("setregid", "int int"),
    ("getgroups", "int ptr"),
    ("setgroups", "int ptr"),
    ("setresuid", "int int int"),
    ("getresuid", "ptr ptr ptr"),
    ("setresgid", "int int int"),
    ("getresgid", "ptr ptr ptr"),
    ("getpgid", "int"),
    ("setfsuid", "int"),
    ("setfsgid", "int"),
    ("getsid", "int"),
    ("capget", "ptr ptr"),
    ("capset", "ptr ptr"),
    ("rt_sigpending", "ptr ulong"),
    ("rt_sigtimedwait", "in:sigset ptr in:ts ulong"),
    ("rt_sigqueueinfo", "int sig ptr"),
    ("rt_sigsuspend", "in:sigset ulong"),
    ("sigaltstack", "ptr ptr"),
    ("utime", "path ptr"),
    ("mknod", "path mode hex"),
    ("personality", "hex"),
    ("statfs", "path ptr"),
    ("fstatfs", "fd ptr"),
    ("getpriority", "which int"),
    ("setpriority", "which int int"),
    ("sched_setparam", "int ptr"),
    ("sched_getparam", "int ptr"),
    ("sched_setscheduler", "int sched ptr"),
    ("sched_getscheduler", "int"),
    ("sched_get_priority_max", "sched"),
    ("sched_get_priority_min", "sched"),
    ("sched_rr_get_interval", "int ptr"),
    ("mlock", "ptr ulong"),
    ("munlock", "ptr ulong"),
    ("mlockall", "hex"),
    ("munlockall", ""),
    ("vhangup", ""),
    ("pivot_root", "path path"),
    ("prctl", "prctl hex hex hex hex"),
    ("arch_prctl", "archprctl ptr"),
    ("adjtimex", "ptr"),
    ("setrlimit", "rlimit in:rlimit"),
    ("chroot", "path"),
    ("sync", ""),
    ("acct", "path"),
    ("settimeofday", "ptr ptr"),
    ("mount", "path path path hex ptr"),
    ("umount2", "path hex"),
    ("swapon", "path hex"),
    ("swapoff", "path"),
    ("reboot", "hex hex hex ptr"),
    ("sethostname", "buf@1 ulong"),
    ("setdomainname", "buf@1 ulong"),
    ("gettid", ""),
    ("readahead", "fd long ulong"),
    ("setxattr", "path path ptr ulong hex"),
    ("lsetxattr", "path path ptr ulong hex"),
    ("fsetxattr", "fd path ptr ulong hex"),
    ("getxattr", "path path ptr ulong"),
    ("lgetxattr", "path path ptr ulong"),
    ("fgetxattr", "fd path ptr ulong"),
    ("listxattr", "path ptr ulong"),
    ("llistxattr", "path ptr ulong"),
    ("flistxattr", "fd ptr ulong"),
    ("removexattr", "path path"),
    ("lremovexattr", "path path"),
    ("fremovexattr", "fd path"),
    ("tkill", "int sig"),
    ("time", "ptr"),
    ("futex", "ptr futexop uint in:ts ptr uint"),
    ("sched_setaffinity", "int uint ptr"),
    ("sched_getaffinity", "int uint ptr"),
    ("io_setup", "uint ptr"),
    ("io_destroy", "hex"),
    ("io_getevents", "hex long long ptr ptr"),
    ("io_submit", "hex long ptr"),
    ("io_cancel", "hex ptr ptr"),
    ("epoll_create", "int"),
    ("getdents64", "fd dirents uint"),
    ("set_tid_address", "ptr"),
    ("restart_syscall", ""),
    ("semtimedop", "int ptr uint ptr"),
    ("fadvise64", "fd long long fadvise"),
    ("timer_create", "clock ptr ptr"),
    ("timer_settime", "int int ptr ptr"),
    ("timer_gettime", "int ptr"),
    ("timer_getoverrun", "int"),
    ("timer_delete", "int"),
    ("clock_settime", "clock in:ts"),
    ("clock_gettime", "clock out:ts"),
    ("clock_getres", "clock out:ts"),
    ("clock_nanosleep", "clock timerflags in:ts ptr"),
    ("exit_group", "int"),
    ("epoll_wait", "fd ptr int int"),
    ("epoll_ctl", "fd epollctl fd ptr"),
    ("tgkill", "int int sig"),
    ("utimes", "path ptr"),
    ("mbind", "ptr ulong int ptr ulong hex"),
    ("set_mempolicy", "int ptr ulong"),
    ("get_mempolicy", "ptr ptr ulong ptr hex"),
    ("mq_open", "path oflags cmode@1 ptr"),
    ("mq_unlink", "path"),
    ("kexec_load", "ptr ulong ptr hex"),
    ("waitid", "int int ptr waitopts ptr"),
    ("add_key", "path path ptr ulong int"),
    ("request_key", "path path path int"),
    ("keyctl", "int hex hex hex hex"),
    ("ioprio_set", "int int int"),
    ("ioprio_get", "int int"),
    ("inotify_init", ""),
    ("inotify_add_watch", "fd path hex"),
    ("inotify_rm_watch", "fd int"),
    ("migrate_pages", "int ulong ptr ptr"),
    ("openat", "dirfd path oflags cmode@2"),
    ("mkdirat", "dirfd path mode"),
    ("mknodat", "dirfd path mode hex"),
    ("fchownat", "dirfd path int int atflags"),
    ("futimesat", "dirfd path ptr"),
    ("newfstatat", "dirfd path out:stat atflags"),
    ("unlinkat", "dirfd path atflags"),
    ("renameat", "dirfd path dirfd path"),
    ("linkat", "dirfd path dirfd path atflags"),
    ("symlinkat", "path dirfd path"),
    ("readlinkat", "dirfd path pathout ulong"),
    ("fchmodat", "dirfd path mode"),
    ("faccessat", "dirfd path access"),
    ("pselect6", "int ptr ptr ptr ptr ptr"),
    ("ppoll", "ptr uint in:ts in:sigset ulong"),
    ("unshare", "clone"),
    ("set_robust_list", "ptr ulong"),
    ("get_robust_list", "int ptr ptr"),
    ("splice", "fd ptr fd ptr ulong hex"),
    ("tee", "fd fd ulong hex"),
    ("sync_file_range", "fd long long hex"),
    ("vmsplice", "fd ptr ulong hex"),
    ("move_pages", "int ulong ptr ptr ptr hex"),
    ("utimensat", "dirfd path ptr atflags"),
    ("epoll_pwait", "fd ptr int int in:sigset ulong"),
    ("signalfd", "fd in:sigset ulong"),
    ("timerfd_create", "clock hex"),
    ("eventfd", "uint"),
    ("fallocate", "fd hex long long"),
    ("timerfd_settime", "fd timerflags ptr ptr"),
    ("timerfd_gettime", "fd ptr"),
    ("accept4", "fd ptr ptr socktype"),
    ("signalfd4", "fd in:sigset ulong hex"),
    ("eventfd2", "uint efdflags"),
    ("epoll_create1", "hex"),
    ("dup3", "fd fd pipeflags"),
    ("pipe2", "out:fds pipeflags"),
    ("inotify_init1", "hex"),
    ("preadv", "fd ptr int long"),
    ("pwritev", "fd ptr int long"),
    ("rt_tgsigqueueinfo", "int int sig ptr"),
    ("perf_event_open", "ptr int int int hex"),
    ("recvmmsg", "fd ptr uint msgflags ptr"),
    ("fanotify_init", "hex hex"),
    ("fanotify_mark", "fd hex hex dirfd path"),
    ("prlimit64", "int rlimit in:rlimit out:rlimit"),
    ("name_to_handle_at", "dirfd path ptr ptr atflags"),
    ("open_by_handle_at", "fd ptr oflags"),
    ("clock_adjtime", "clock ptr"),
    ("syncfs", "fd"),
    ("sendmmsg", "fd ptr uint msgflags"),
    ("setns", "fd clone"),
    ("getcpu", "ptr ptr ptr"),
    ("process_vm_readv", "int ptr ulong ptr ulong hex"),
    ("process_vm_writev", "int ptr ulong ptr ulong hex"),
    ("kcmp", "int int int hex hex"),
    ("finit_module", "fd path hex"),
    ("sched_setattr", "int ptr hex"),
    ("sched_getattr", "int ptr uint hex"),
    ("renameat2", "dirfd path dirfd path renameflags"),
    ("seccomp", "uint hex ptr"),
    ("getrandom", "hexout ulong grnd"),
    ("memfd_create", "path memfdflags"),
    ("kexec_file_load", "fd fd ulong path hex"),
    ("bpf", "int ptr uint"),
    ("execveat", "dirfd path ptr ptr atflags"),
    ("userfaultfd", "hex"),
    ("membarrier", "int hex int"),
    ("mlock2", "ptr ulong hex"),
    ("copy_file_range", "fd ptr fd ptr ulong hex"),
    ("preadv2", "fd ptr int long hex"),
    ("pwritev2", "fd ptr int long hex"),
    ("pkey_mprotect", "ptr ulong prot int"),
    ("pkey_alloc", "hex hex"),
    ("pkey_free", "int"),
    ("statx", "dirfd path statxflags statxmask out:statx"),
    ("io_pgetevents", "hex long long ptr ptr ptr"),
    ("rseq", "ptr hex hex hex"),
    ("pidfd_send_signal", "fd sig ptr hex"),
    ("io_uring_setup", "uint ptr"),
    ("io_uring_enter", "fd uint uint hex ptr ulong"),
    ("io_uring_register", "fd uint ptr uint"),
    ("open_tree", "dirfd path hex"),
    ("move_mount", "dirfd path dirfd path hex"),
    ("fsopen", "path hex"),
    ("fsconfig", "fd uint path ptr int"),
    ("fsmount", "fd hex hex"),
    ("fspick", "dirfd path hex"),
    ("pidfd_open", "int hex"),
    ("clone3", "ptr ulong"),
    ("close_range", "fd fd hex"),
    ("openat2", "dirfd path ptr ulong"),
    ("pidfd_getfd", "fd fd hex"),
    ("faccessat2", "dirfd path access accessat"),
    ("process_madvise", "fd ptr ulong madvise hex"),
    ("epoll_pwait2", "fd ptr int ptr in:sigset ulong"),
    ("mount_setattr", "dirfd path atflags ptr ulong"),
    ("landlock_create_ruleset", "ptr ulong hex"),
    ("landlock_add_rule", "fd int ptr hex"),
    ("landlock_restrict_self", "fd hex"),
    ("memfd_secret", "hex"),
    ("process_mrelease", "fd hex"),
    ("futex_waitv", "ptr uint hex in:ts clock"),
    ("set_mempolicy_home_node", "ptr ulong ulong hex"),
    ("cachestat", "fd ptr ptr hex"),
    ("fchmodat2", "dirfd path mode atflags"),
];

static SIGNATURES: LazyLock<HashMap<&'static str, Vec<Arg>>> = LazyLock::new(|| {
    TABLE
        .iter()
        .map(|(name, args)| {
            let args = args.split_whitespace().filter_map(arg).collect();
            (*name, args)
        })
        .collect()
});

/// The arguments of `name`; None for a syscall the table does not know
/// (shown as six raw values, as strace shows an unknown one).
pub fn signature(name: &str) -> Option<&'static [Arg]> {
    SIGNATURES.get(name).map(Vec::as_slice)
}

/// What the kernel side must read for a signature: for up to two
/// arguments, which one, what it is, and how much of it.
pub fn slot_specs(args: &[Arg]) -> Vec<SlotSpec> {
    use crate::bpf::types::slot_kind as k;
    let mut slots = Vec::new();
    for (i, a) in args.iter().enumerate() {
        let (kind, len_arg, size) = match *a {
            Path => (k::SLOT_STRING, 0, 0),
            PathOut => (k::SLOT_STRING_OUT, 0, 0),
            BufIn(len) => (k::SLOT_BUFFER, len, 0),
            BufOut | BufOutHex => (k::SLOT_BUFFER_OUT, 0, 0),
            Sockaddr(len) => (k::SLOT_SOCKADDR, len, 0),
            Dirents => (k::SLOT_DIRENTS, 0, 0),
            Argv(envp) => (k::SLOT_EXEC_ARGS, envp, 0),
            In(s) => (k::SLOT_STRUCT_IN, 0, s.size()),
            Out(s) => (k::SLOT_STRUCT_OUT, 0, s.size()),
            _ => continue,
        };
        slots.push(SlotSpec {
            kind: kind.0 as u8,
            arg: i as u8,
            len_arg,
            size,
        });
        if slots.len() == 2 {
            break;
        }
    }
    slots
}

/// One slot the kernel side fills (`struct slot_spec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotSpec {
    pub kind: u8,
    pub arg: u8,
    pub len_arg: u8,
    pub size: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_of_the_table_is_known() {
        for (name, args) in TABLE {
            for token in args.split_whitespace() {
                assert!(arg(token).is_some(), "{name}: {token}");
            }
            assert!(args.split_whitespace().count() <= 6, "{name}");
        }
    }

    // The table is x86_64's: on arm64 some of its names (open, stat, fork…)
    // are no syscall, and are never looked up.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_name_is_a_syscall_of_this_arch() {
        for (name, _) in TABLE {
            assert!(name.parse::<syscalls::Sysno>().is_ok(), "{name}");
        }
    }

    #[test]
    fn slots_follow_the_signature() {
        let stat = slot_specs(signature("newfstatat").unwrap());
        assert_eq!(stat.len(), 2);
        assert_eq!((stat[0].arg, stat[1].arg, stat[1].size), (1, 2, 56));
        let write = slot_specs(signature("write").unwrap());
        assert_eq!((write.len(), write[0].arg, write[0].len_arg), (1, 1, 2));
    }
}
