//! When headless output must stop: SIGINT, SIGTERM, SIGHUP, or a deadline.
//!
//! The handlers are installed without SA_RESTART, so that a write blocked
//! on a full pipe returns EINTR instead of going on: a signal then stops the
//! tool whatever its reader does. Deadlines are SIGALRM timers, for the same
//! reason: a blocked write sees no clock.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// Once stopping, how long one write may stay blocked before the rest of
/// the output is given up: a reader that reads not must not hold the tool,
/// one that reads slowly still gets every record.
const GRACE: Duration = Duration::from_millis(500);

static REQUESTED: AtomicBool = AtomicBool::new(false);
static ALARM: AtomicBool = AtomicBool::new(false);
static STOPPING: AtomicBool = AtomicBool::new(false);
static GAVE_UP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    REQUESTED.store(true, Ordering::Relaxed);
}

extern "C" fn on_alarm(_: libc::c_int) {
    ALARM.store(true, Ordering::Relaxed);
}

const SIGNALS: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGALRM,
];

/// Installs the handlers, and runs `spawn` (which starts threads) with the
/// signals blocked, so that they go to this thread only: the one that
/// writes, whose blocked write they must interrupt.
pub fn install<T>(spawn: impl FnOnce() -> T) -> Result<T> {
    let mut signals = SigSet::empty();
    for signal in SIGNALS {
        signals.add(signal);
    }
    signals.thread_block().context("blocking signals")?;
    let spawned = spawn();
    for (signal, handler) in [
        (Signal::SIGINT, on_stop as extern "C" fn(libc::c_int)),
        (Signal::SIGTERM, on_stop),
        (Signal::SIGHUP, on_stop),
        (Signal::SIGALRM, on_alarm),
    ] {
        let action = SigAction::new(
            SigHandler::Handler(handler),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handlers only store to atomics.
        unsafe { sigaction(signal, &action) }.context("installing signal handlers")?;
    }
    signals.thread_unblock().context("unblocking signals")?;
    Ok(spawned)
}

/// Whether stdout is what the Rust runtime puts in place of a closed one
/// (/dev/null, opened read-write): records written there would be lost
/// without a word.
pub fn stdout_was_closed() -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(meta) = std::fs::metadata("/proc/self/fd/1") else {
        return true;
    };
    // SAFETY: F_GETFL only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFL) };
    let dev_null = meta.file_type().is_char_device() && meta.rdev() == libc::makedev(1, 3);
    dev_null && flags >= 0 && flags & libc::O_ACCMODE == libc::O_RDWR
}

/// A stop was asked for by a signal.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Stopping from now on: each write gets GRACE to make progress.
pub fn start_grace() {
    if !STOPPING.swap(true, Ordering::Relaxed) {
        ALARM.store(false, Ordering::Relaxed);
    }
}

/// A write stayed blocked for GRACE while stopping: nothing more is tried.
pub fn gave_up() -> bool {
    GAVE_UP.load(Ordering::Relaxed)
}

/// Rings (SIGALRM, interrupting a blocked write) once `after` has passed,
/// replacing any alarm set before.
pub fn set_alarm(after: Duration) {
    ALARM.store(false, Ordering::Relaxed);
    let value = libc::timeval {
        tv_sec: after.as_secs() as libc::time_t,
        tv_usec: after.subsec_micros().max(1) as libc::suseconds_t,
    };
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: value,
    };
    // SAFETY: setitimer reads the itimerval given; no old value is asked.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
}

/// Writes all of `bytes` to `fd`. Once stopping (a signal, the deadline's
/// alarm), a write that stays blocked for GRACE gives up with
/// `Interrupted`, where std's write_all would wait for good.
pub fn write_all(fd: i32, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        if gave_up() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        // A signal interrupts a blocked write with EINTR, or with a short
        // count if some bytes went through: look at the flags either way.
        if requested() || ALARM.load(Ordering::Relaxed) {
            start_grace();
        }
        let stopping = STOPPING.load(Ordering::Relaxed);
        if stopping {
            set_alarm(GRACE); // for this write only
        }
        // SAFETY: writes at most bytes.len() bytes from bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
            // Its alarm rang: blocked for a whole grace.
            if stopping && ALARM.load(Ordering::Relaxed) {
                GAVE_UP.store(true, Ordering::Relaxed);
            }
            continue;
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}
