//! A delivered signal as strace shows it:
//! `--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=42, ...} ---`.
//! The fields are read from the kernel's siginfo (x86_64 layout) by code,
//! as strace chooses them.

use std::fmt::Write;

use super::event::{SIGINFO_LEN, SignalEvent};
use super::names::{errno_name, signal_name};

/// The line strace writes for a delivered signal.
pub fn line(e: &SignalEvent) -> String {
    format!("--- {} {} ---", signal_name(e.signo), describe(e))
}

/// The siginfo in braces.
pub fn describe(e: &SignalEvent) -> String {
    let info = Info(&e.info);
    let signo = info.i32(0);
    if signo == 0 {
        return "{}".to_string();
    }
    let code = info.i32(8);
    let mut out = format!(
        "{{si_signo={}, si_code={}",
        signal_name(signo),
        code_name(signo, code)
    );
    let errno = info.i32(4);
    if errno != 0 {
        let _ = write!(out, ", si_errno={}", errno_name(errno));
    }
    if code <= 0 {
        // Sent by a process (kill, tgkill, sigqueue, a timer, SIGIO).
        match code {
            SI_TIMER => {
                let _ = write!(
                    out,
                    ", si_timerid={:#x}, si_overrun={}",
                    info.i32(16),
                    info.i32(20)
                );
                value(&mut out, &info);
            }
            SI_SIGIO => {
                let _ = write!(out, ", si_band={}, si_fd={}", info.i64(16), info.i32(24));
            }
            SI_USER | SI_TKILL => source(&mut out, &info),
            _ => {
                source(&mut out, &info);
                if info.u64(24) != 0 {
                    value(&mut out, &info);
                }
            }
        }
    } else {
        match signo {
            libc::SIGCHLD => {
                source(&mut out, &info);
                let status = info.i32(24);
                if code == CLD_EXITED {
                    let _ = write!(out, ", si_status={status}");
                } else {
                    let _ = write!(out, ", si_status={}", signal_name(status));
                }
                let _ = write!(
                    out,
                    ", si_utime={}, si_stime={}",
                    info.i64(32),
                    info.i64(40)
                );
            }
            libc::SIGILL | libc::SIGFPE | libc::SIGBUS | libc::SIGSEGV | libc::SIGTRAP => {
                let _ = write!(out, ", si_addr={}", pointer(info.u64(16)));
            }
            libc::SIGIO if (1..=6).contains(&code) => {
                let _ = write!(out, ", si_band={}, si_fd={}", info.i64(16), info.i32(24));
            }
            libc::SIGSYS => {
                let _ = write!(
                    out,
                    ", si_call_addr={}, si_syscall={}, si_arch={:#x}",
                    pointer(info.u64(16)),
                    info.i32(24),
                    info.i32(28) as u32
                );
            }
            _ => {
                if info.i32(16) != 0 || info.i32(20) != 0 {
                    source(&mut out, &info);
                }
                if info.u64(24) != 0 {
                    value(&mut out, &info);
                }
            }
        }
    }
    out.push('}');
    out
}

struct Info<'a>(&'a [u8; SIGINFO_LEN]);

impl Info<'_> {
    fn i32(&self, at: usize) -> i32 {
        i32::from_ne_bytes(std::array::from_fn(|i| self.0[at + i]))
    }

    fn i64(&self, at: usize) -> i64 {
        i64::from_ne_bytes(std::array::from_fn(|i| self.0[at + i]))
    }

    fn u64(&self, at: usize) -> u64 {
        self.i64(at) as u64
    }
}

/// Who sent it: `si_pid=42, si_uid=1000`.
fn source(out: &mut String, info: &Info) {
    let _ = write!(
        out,
        ", si_pid={}, si_uid={}",
        info.i32(16),
        info.i32(20) as u32
    );
}

/// sigqueue's value: `si_int=7, si_ptr=0x7`.
fn value(out: &mut String, info: &Info) {
    let _ = write!(
        out,
        ", si_int={}, si_ptr={}",
        info.i32(24),
        pointer(info.u64(24))
    );
}

fn pointer(raw: u64) -> String {
    if raw == 0 {
        "NULL".to_string()
    } else {
        format!("{raw:#x}")
    }
}

const SI_USER: i32 = 0;
const SI_TIMER: i32 = -2;
const SI_SIGIO: i32 = -5;
const SI_TKILL: i32 = -6;
const CLD_EXITED: i32 = 1;

/// si_code's name: the generic ones, else the signal's own.
fn code_name(signo: i32, code: i32) -> String {
    let generic = match code {
        0 => Some("SI_USER"),
        0x80 => Some("SI_KERNEL"),
        -1 => Some("SI_QUEUE"),
        -2 => Some("SI_TIMER"),
        -3 => Some("SI_MESGQ"),
        -4 => Some("SI_ASYNCIO"),
        -5 => Some("SI_SIGIO"),
        -6 => Some("SI_TKILL"),
        -7 => Some("SI_DETHREAD"),
        -60 => Some("SI_ASYNCNL"),
        _ => None,
    };
    let own: &[&str] = match signo {
        libc::SIGILL => &[
            "ILL_ILLOPC",
            "ILL_ILLOPN",
            "ILL_ILLADR",
            "ILL_ILLTRP",
            "ILL_PRVOPC",
            "ILL_PRVREG",
            "ILL_COPROC",
            "ILL_BADSTK",
        ],
        libc::SIGFPE => &[
            "FPE_INTDIV",
            "FPE_INTOVF",
            "FPE_FLTDIV",
            "FPE_FLTOVF",
            "FPE_FLTUND",
            "FPE_FLTRES",
            "FPE_FLTINV",
            "FPE_FLTSUB",
        ],
        libc::SIGSEGV => &["SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR"],
        libc::SIGBUS => &[
            "BUS_ADRALN",
            "BUS_ADRERR",
            "BUS_OBJERR",
            "BUS_MCEERR_AR",
            "BUS_MCEERR_AO",
        ],
        libc::SIGTRAP => &["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT"],
        libc::SIGCHLD => &[
            "CLD_EXITED",
            "CLD_KILLED",
            "CLD_DUMPED",
            "CLD_TRAPPED",
            "CLD_STOPPED",
            "CLD_CONTINUED",
        ],
        libc::SIGIO => &[
            "POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP",
        ],
        libc::SIGSYS => &["SYS_SECCOMP"],
        _ => &[],
    };
    generic
        .or_else(|| {
            usize::try_from(code - 1)
                .ok()
                .and_then(|i| own.get(i).copied())
        })
        .map_or_else(|| code.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(signo: i32, code: i32, fields: &[(usize, i64)]) -> SignalEvent {
        let mut info = [0u8; SIGINFO_LEN];
        info[0..4].copy_from_slice(&signo.to_ne_bytes());
        info[8..12].copy_from_slice(&code.to_ne_bytes());
        for &(at, value) in fields {
            let bytes = value.to_ne_bytes();
            let width = if at == 32 || at == 40 || (at == 16 && signo == libc::SIGSEGV) {
                8
            } else {
                4
            };
            info[at..at + width].copy_from_slice(&bytes[..width]);
        }
        SignalEvent {
            ts_ns: 0,
            pid: 1,
            tid: 1,
            signo,
            info,
        }
    }

    #[test]
    fn like_strace() {
        assert_eq!(
            line(&signal(
                libc::SIGCHLD,
                1,
                &[(16, 4242), (20, 0), (24, 0), (32, 1), (40, 2)]
            )),
            "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=4242, si_uid=0, \
             si_status=0, si_utime=1, si_stime=2} ---"
        );
        assert_eq!(
            line(&signal(
                libc::SIGCHLD,
                2,
                &[(16, 7), (24, libc::SIGTERM as i64)]
            )),
            "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=7, si_uid=0, \
             si_status=SIGTERM, si_utime=0, si_stime=0} ---"
        );
        assert_eq!(
            line(&signal(libc::SIGTERM, 0, &[(16, 99), (20, 1000)])),
            "--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=99, si_uid=1000} ---"
        );
        assert_eq!(
            line(&signal(libc::SIGSEGV, 1, &[])),
            "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---"
        );
        assert_eq!(
            line(&signal(libc::SIGINT, 0x80, &[])),
            "--- SIGINT {si_signo=SIGINT, si_code=SI_KERNEL} ---"
        );
        assert_eq!(
            line(&signal(libc::SIGABRT, -6, &[(16, 5), (20, 0)])),
            "--- SIGABRT {si_signo=SIGABRT, si_code=SI_TKILL, si_pid=5, si_uid=0} ---"
        );
    }
}
