//! Starting a command so that it is traced from its first syscall: the child
//! is forked, waits on a pipe until the kernel watches it, then execs, with
//! the signal dispositions and mask systrace-top itself was started with:
//! the command behaves as it would run directly.

use std::cell::Cell;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork, pipe2};

/// The signal state systrace-top was started with, before it changed any.
struct Inherited {
    /// Signals that were ignored. SIGPIPE is never among them: the Rust
    /// runtime ignores it before main, whatever it was, and a command is
    /// started with it at its default, as a shell starts one.
    ignored: Vec<libc::c_int>,
    mask: libc::sigset_t,
}

static INHERITED: OnceLock<Inherited> = OnceLock::new();

/// The last signal number (SIGRTMAX on Linux).
const LAST_SIGNAL: libc::c_int = 64;

/// Notes the signal state the process was started with: called first thing
/// in main, before any handler or mask is set.
pub fn note_inherited_signals() {
    INHERITED.get_or_init(|| {
        let ignored = (1..=LAST_SIGNAL)
            .filter(|&sig| sig != libc::SIGPIPE)
            .filter(|&sig| {
                // SAFETY: a query: a null new action changes nothing.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                        && old.sa_sigaction == libc::SIG_IGN
                }
            })
            .collect();
        // SAFETY: a query of this thread's mask into a zeroed set.
        let mask = unsafe {
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut mask);
            mask
        };
        Inherited { ignored, mask }
    });
}

/// In the forked child: every disposition and the mask as inherited. Only
/// async-signal-safe calls.
///
/// # Safety
/// To be called in a forked child only, before exec.
unsafe fn restore_signals(inherited: &Inherited) {
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        for sig in 1..=LAST_SIGNAL {
            // Handlers are reset by exec itself; ignored signals are not.
            action.sa_sigaction = if inherited.ignored.contains(&sig) {
                libc::SIG_IGN
            } else {
                libc::SIG_DFL
            };
            // SIGKILL, SIGSTOP and the C library's own signals refuse: fine.
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &inherited.mask, std::ptr::null_mut());
    }
}

/// A forked child held before its exec.
pub struct Launched {
    pub pid: u32,
    /// Closing it lets the child exec.
    go: Cell<Option<OwnedFd>>,
}

/// Forks `command`, held until `release`.
pub fn launch(command: &[String]) -> Result<Launched> {
    let program = command.first().context("--trace -- needs a command")?;
    let path = resolve(program)?;
    // Everything the child needs is made before fork: after it, only
    // async-signal-safe calls are allowed in a threaded process.
    let path_c = CString::new(path.as_os_str().as_bytes()).context("a NUL in the command")?;
    let argv: Vec<CString> = command
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .context("a NUL in the command's arguments")?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    // Close-on-exec: the exec closes the child's end, so the first syscall
    // traced is the execve itself.
    let (hold, go) = pipe2(OFlag::O_CLOEXEC).context("creating a pipe")?;
    note_inherited_signals(); // a no-op once main has
    let inherited = INHERITED.get().context("the inherited signal state")?;

    // SAFETY: the child only calls close, read, sigaction, pthread_sigmask,
    // execv, write and _exit.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Child => unsafe {
            restore_signals(inherited);
            libc::close(go.as_raw_fd());
            // A byte is the go; an end of file is systrace-top gone before
            // tracing began: the command must not run untraced.
            let mut byte = 0u8;
            if libc::read(hold.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) != 1 {
                libc::_exit(127);
            }
            libc::execv(path_c.as_ptr(), argv_ptrs.as_ptr());
            let msg = b"systrace-top: exec of the traced command failed\n";
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(127);
        },
        ForkResult::Parent { child } => {
            drop(hold);
            Ok(Launched {
                pid: child.as_raw() as u32,
                go: Cell::new(Some(go)),
            })
        }
    }
}

impl Launched {
    /// Lets the child exec.
    pub fn release(&self) -> Result<()> {
        if let Some(go) = self.go.take() {
            nix::unistd::write(&go, b"g").context("starting the command")?;
        }
        Ok(())
    }

    /// Whether it has ended, from the kernel's wait status and not from a
    /// record, which may be lost; it is left to be reaped by `wait`.
    pub fn has_ended(&self) -> bool {
        // SAFETY: waitid writes only the siginfo_t it is given; WNOWAIT
        // leaves the child waitable.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let ret = libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            ret == 0 && info.si_pid() != 0
        }
    }

    /// How it ended. Tracing stopped before it did (--duration, a signal
    /// to systrace-top alone): it is sent SIGTERM, as strace's stop ends
    /// the command it started, and SIGKILL if it still runs 2 s later.
    pub fn wait(self) -> Result<Ended> {
        self.release()?;
        // Released: Drop has nothing left to do.
        let pid = Pid::from_raw(self.pid as i32);
        if !self.has_ended() {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while !self.has_ended() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            if !self.has_ended() {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
        // The raw status: nix has no name for a real-time signal.
        let mut status = 0;
        loop {
            // SAFETY: waitpid writes only the status it is given.
            let ret = unsafe { libc::waitpid(self.pid as i32, &mut status, 0) };
            if ret >= 0 {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err).context("waiting for the command");
            }
        }
        if libc::WIFSIGNALED(status) {
            Ok(Ended::Killed(libc::WTERMSIG(status)))
        } else {
            Ok(Ended::Exited(libc::WEXITSTATUS(status)))
        }
    }
}

/// How a traced command ended, for systrace-top to end the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Killed(i32),
}

impl Ended {
    /// Ends systrace-top as the command ended, as strace does: with its
    /// exit status, or killed by its signal (without a core dump of our
    /// own), so that a shell or a supervisor sees what the command did.
    pub fn mimic(self) -> ! {
        let signal = match self {
            Ended::Exited(code) => std::process::exit(code),
            Ended::Killed(signal) => signal,
        };
        // SAFETY: plain syscalls on this process's own state.
        unsafe {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            libc::signal(signal, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signal);
        }
        // Not fatal by default (SIGCHLD, SIGWINCH…): as a shell gives it.
        std::process::exit(128 + signal)
    }
}

impl Drop for Launched {
    /// A command never released (tracing failed to start) must not run
    /// untraced once our end of the pipe closes: it is killed instead.
    fn drop(&mut self) {
        if self.go.get_mut().is_some() {
            let pid = Pid::from_raw(self.pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

/// The command's path: as given if it has a slash, else the first file in
/// PATH that can be run, as a shell finds it. A command that is missing or
/// cannot be run is an `io::Error` (NotFound, or the errno its exec would
/// give) saying which: the caller exits 127 or 126 for it, as a shell does.
fn resolve(program: &str) -> Result<PathBuf> {
    use crate::collect::names::{errno_description, errno_name};
    let refused = |what: &str, errno: nix::errno::Errno| {
        let errno = errno as i32;
        let kind = std::io::Error::from_raw_os_error(errno).kind();
        let text = format!(
            "{what}: {} ({})",
            errno_description(errno),
            errno_name(errno)
        );
        anyhow::Error::new(std::io::Error::new(kind, text))
    };
    if program.contains('/') {
        let path = Path::new(program);
        return match is_executable(path) {
            Ok(()) => Ok(path.to_path_buf()),
            Err(errno) => Err(refused(program, errno)),
        };
    }
    // Like execvp: a file found but not executable is the error only when
    // no later directory has one that is; directories are not commands.
    let mut denied = None;
    let paths = std::env::var_os("PATH").unwrap_or_default();
    for candidate in std::env::split_paths(&paths).map(|dir| dir.join(OsStr::new(program))) {
        if !candidate.is_file() {
            continue;
        }
        match is_executable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(errno) => {
                denied.get_or_insert((candidate, errno));
            }
        }
    }
    Err(match denied {
        Some((path, errno)) => refused(&path.display().to_string(), errno),
        None => refused(
            &format!("{program}: not found in PATH"),
            nix::errno::Errno::ENOENT,
        ),
    })
}

/// Ok when exec could run it: a regular file that access(2) lets us
/// execute (it knows root's rules, ACLs and noexec mounts); else the errno
/// exec would give.
fn is_executable(path: &Path) -> Result<(), nix::errno::Errno> {
    use nix::errno::Errno;
    let meta = path
        .metadata()
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)))?;
    if !meta.is_file() {
        return Err(Errno::EACCES);
    }
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK)
}
