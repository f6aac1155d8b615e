//! Capabilities: a thread's sets, and giving back in every thread the ones
//! no longer needed once the programs are loaded.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_SETPCAP: u32 = 8;
const CAP_SYS_PTRACE: u32 = 19;
const CAP_KILL: u32 = 5;
pub(super) const CAP_SYS_ADMIN: u32 = 21;
pub(super) const CAP_PERFMON: u32 = 38;
pub(super) const CAP_BPF: u32 = 39;

pub(super) const fn bit(cap: u32) -> u64 {
    1 << cap
}

/// Gives back every capability the loaded and attached programs no longer
/// need, in every thread (capabilities are per thread), so that the rest of
/// the run, and anything it executes, holds only what is still used:
/// - CAP_PERFMON: not kept; the kernel checks it when loading tracing
///   programs only, not when attaching them (`watch`) or using their maps.
/// - CAP_BPF (or CAP_SYS_ADMIN standing in for it): only where calls on
///   maps and links already made still need it: kernels before 5.19 check
///   it for every bpf() call while kernel.unprivileged_bpf_disabled is set.
///   `bpf_call_works` tries one without it to tell.
/// - CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, when held: /proc names other
///   users' processes' open files (both) and cwd (CAP_SYS_PTRACE) only for
///   them, for `--trace` of a running process and the drill-down.
/// - CAP_KILL, when held: the monitor's kill key signals other users'
///   processes only with it.
///
/// The inheritable and ambient sets are emptied, and with CAP_SETPCAP (root)
/// the bounding set keeps only what is kept: an exec gets no more back.
pub fn drop_capabilities(bpf_call_works: impl FnOnce() -> bool) -> Result<()> {
    let before = thread_caps()?;
    let bpf_caps = bit(CAP_BPF) | bit(CAP_PERFMON) | bit(CAP_SYS_ADMIN);
    let without_bpf = CapSets {
        effective: before.effective & !bpf_caps,
        ..before
    };
    set_thread_caps(&without_bpf).context("dropping capabilities")?;
    let works = bpf_call_works();
    set_thread_caps(&before).context("dropping capabilities")?;

    let held = before.permitted;
    let mut keep = held & (bit(CAP_SYS_PTRACE) | bit(CAP_DAC_READ_SEARCH) | bit(CAP_KILL));
    if !works {
        keep |= held
            & if held & bit(CAP_BPF) != 0 {
                bit(CAP_BPF)
            } else {
                bit(CAP_SYS_ADMIN)
            };
    }
    every_thread::apply(keep)?;
    check_every_thread(keep)
}

/// The three capability sets of a thread, as capget/capset take them: two
/// 32-bit words each.
#[derive(Clone, Copy, Default)]
pub(super) struct CapSets {
    pub(super) effective: u64,
    permitted: u64,
    inheritable: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// 64-bit capability sets.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// The calling thread's sets. Async-signal-safe.
pub(super) fn thread_caps() -> std::io::Result<CapSets> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 writes two CapData.
    let ret = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if ret != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | u64::from(hi) << 32;
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Sets the calling thread's sets. Async-signal-safe.
fn set_thread_caps(sets: &CapSets) -> std::io::Result<()> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let word = |set: u64, i: usize| (set >> (32 * i)) as u32;
    let data: [CapData; 2] = std::array::from_fn(|i| CapData {
        effective: word(sets.effective, i),
        permitted: word(sets.permitted, i),
        inheritable: word(sets.inheritable, i),
    });
    // SAFETY: version 3 reads two CapData.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if ret != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Leaves the calling thread with `keep` (of what it holds) as its effective
/// and permitted sets, nothing inheritable or ambient, and, where it may
/// change it, `keep` as its bounding set. Async-signal-safe: it runs in a
/// signal handler on the other threads.
fn drop_in_this_thread(keep: u64, last_cap: u32) -> std::io::Result<()> {
    let now = thread_caps()?;
    // SAFETY: prctl with integer arguments only.
    unsafe {
        if libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        if now.effective & bit(CAP_SETPCAP) != 0 {
            for cap in (0..=last_cap).filter(|&cap| keep & bit(cap) == 0) {
                if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
    }
    let kept = keep & now.permitted;
    set_thread_caps(&CapSets {
        effective: kept,
        permitted: kept,
        inheritable: 0,
    })
}

/// Capabilities are per thread, and capset changes the caller's only: the
/// other threads are each sent a signal whose handler drops theirs, as
/// glibc does for setuid.
mod every_thread {
    use super::*;

    static KEEP: AtomicU64 = AtomicU64::new(0);
    static LAST_CAP: AtomicU64 = AtomicU64::new(0);
    static DONE: AtomicUsize = AtomicUsize::new(0);
    static FAILED: AtomicUsize = AtomicUsize::new(0);

    /// How long a thread may take to run the handler.
    const TIMEOUT: Duration = Duration::from_secs(2);

    extern "C" fn on_signal(_: libc::c_int) {
        // SAFETY: errno is this thread's; restored for the code interrupted.
        let errno = unsafe { *libc::__errno_location() };
        let keep = KEEP.load(Ordering::SeqCst);
        let last_cap = LAST_CAP.load(Ordering::SeqCst) as u32;
        if drop_in_this_thread(keep, last_cap).is_err() {
            FAILED.fetch_add(1, Ordering::SeqCst);
        }
        DONE.fetch_add(1, Ordering::SeqCst);
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = errno };
    }

    pub(super) fn apply(keep: u64) -> Result<()> {
        let last_cap: u32 = fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(63);
        KEEP.store(keep, Ordering::SeqCst);
        LAST_CAP.store(u64::from(last_cap), Ordering::SeqCst);
        FAILED.store(0, Ordering::SeqCst);
        // No other part of the program uses real-time signals.
        let signal = libc::SIGRTMIN();
        // SAFETY: sigaction with a handler that makes async-signal-safe
        // calls only; SA_RESTART spares the other threads' blocking calls.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signal, &action, &mut old) != 0 {
                return Err(std::io::Error::last_os_error())
                    .context("dropping capabilities: installing a signal handler");
            }
        }
        drop_in_this_thread(keep, last_cap).context("dropping capabilities failed")?;
        // SAFETY: no arguments.
        let me = unsafe { libc::gettid() };
        let pid = std::process::id() as libc::pid_t;
        let mut done = HashSet::from([me]);
        // Until a pass finds no thread left: one not yet dropped may have
        // started another meanwhile.
        loop {
            let pending: Vec<libc::pid_t> = threads()?
                .into_iter()
                .filter(|t| !done.contains(t))
                .collect();
            if pending.is_empty() {
                break;
            }
            for tid in pending {
                done.insert(tid);
                let before = DONE.load(Ordering::SeqCst);
                // SAFETY: signals one thread of this process.
                if unsafe { libc::tgkill(pid, tid, signal) } != 0 {
                    continue; // it has ended
                }
                let deadline = Instant::now() + TIMEOUT;
                while DONE.load(Ordering::SeqCst) == before {
                    if !Path::new(&format!("/proc/self/task/{tid}")).exists() {
                        break;
                    }
                    if Instant::now() > deadline {
                        // The handler stays: the signal may still arrive.
                        bail!("dropping capabilities: thread {tid} did not answer");
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
        if FAILED.load(Ordering::SeqCst) > 0 {
            bail!("dropping capabilities failed in another thread");
        }
        // SAFETY: puts back the action replaced above.
        unsafe { libc::sigaction(signal, &old, std::ptr::null_mut()) };
        Ok(())
    }
}

/// This process's threads.
fn threads() -> Result<Vec<libc::pid_t>> {
    Ok(fs::read_dir("/proc/self/task")
        .context("listing this process's threads")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect())
}

/// Checks, in /proc as anyone would, that no thread holds more than `keep`.
fn check_every_thread(keep: u64) -> Result<()> {
    for tid in threads()? {
        let Ok(status) = fs::read_to_string(format!("/proc/self/task/{tid}/status")) else {
            continue; // it has ended
        };
        for line in status.lines() {
            let Some((name, hex)) = line.split_once(':') else {
                continue;
            };
            if !matches!(name, "CapInh" | "CapPrm" | "CapEff" | "CapAmb") {
                continue;
            }
            let set = u64::from_str_radix(hex.trim(), 16).unwrap_or(u64::MAX);
            if set & !keep != 0 {
                bail!("dropping capabilities failed: thread {tid} still has {name} {set:x}");
            }
        }
    }
    Ok(())
}
