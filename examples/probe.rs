//! A process with known behaviour for the kernel tests and the benchmark:
//! whatever it is asked to do, it does exactly, so what was traced can be
//! checked against it.
//!
//! probe getppid N   make exactly N getppid syscalls, then exit 0
//! probe chain N     spawn `probe chain N-1` (down to 1) and wait for it
//! probe spin MS [wait]
//!                   for MS milliseconds: getppid, open /dev/null, sleep 5 ms;
//!                   with `wait`, only after reading a line from stdin
//! probe open-missing N PATH [wait]
//!                   try to open PATH (which must not exist) N times; with
//!                   `wait`, only after reading a line from stdin
//! probe parent MS   spawn `probe spin MS`, spin MS itself, then wait for it
//! probe open-distinct N DIR
//!                   try to open DIR/0 .. DIR/N-1 (DIR must not exist)
//! probe exec-storm N
//!                   N times in a row: run `/bin/true systrace-storm I
//!                   <STORM_ARG> end` and wait for it
//! probe storm-arg  print STORM_ARG, for the benchmark to look for
//! probe churn SECONDS
//!                   run /bin/true over and over for SECONDS; print how many
//! probe exit CODE   exit with CODE
//! probe sequence    the fixed sequence the --trace test expects: an open of
//!                   a missing file, "hi\n" to stdout, 4 bytes from
//!                   /dev/zero, getppid, then exit 3
//! anything else     exit 0

use std::process::{Command, exit};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| -> u64 { args.get(i).and_then(|s| s.parse().ok()).unwrap_or(0) };
    match args.get(1).map(String::as_str) {
        Some("getppid") => {
            for _ in 0..arg(2) {
                // SAFETY: getppid has no arguments and cannot fail.
                unsafe { libc::syscall(libc::SYS_getppid) };
            }
        }
        Some("chain") => {
            let depth = arg(2);
            if depth > 1 {
                let me = std::env::current_exe().expect("own path");
                let status = Command::new(me)
                    .args(["chain", &(depth - 1).to_string()])
                    .status()
                    .expect("spawning the next link");
                exit(status.code().unwrap_or(1));
            }
        }
        Some("parent") => {
            let me = std::env::current_exe().expect("own path");
            let mut child = Command::new(me)
                .args(["spin", &arg(2).to_string()])
                .spawn()
                .expect("spawning the child");
            spin(arg(2));
            let _ = child.wait();
        }
        Some("spin") => {
            if args.get(3).is_some_and(|a| a == "wait") {
                wait_for_a_line();
            }
            spin(arg(2));
        }
        Some("open-missing") => {
            let path = std::ffi::CString::new(args.get(3).cloned().unwrap_or_default())
                .expect("a path without NUL");
            if args.get(4).is_some_and(|a| a == "wait") {
                wait_for_a_line();
            }
            for _ in 0..arg(2) {
                // SAFETY: a valid C string; the result is only checked.
                let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
                assert!(fd < 0, "the path exists");
            }
        }
        Some("open-distinct") => {
            let dir = args.get(3).cloned().unwrap_or_default();
            for i in 0..arg(2) {
                let path =
                    std::ffi::CString::new(format!("{dir}/{i}")).expect("a path without NUL");
                // SAFETY: a valid C string; the result is only checked.
                let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
                assert!(fd < 0, "the path exists");
            }
        }
        Some("exec-storm") => {
            for i in 0..arg(2) {
                let status = Command::new("/bin/true")
                    .args(["systrace-storm", &i.to_string(), STORM_ARG, "end"])
                    .status()
                    .expect("running /bin/true");
                assert!(status.success());
            }
        }
        Some("storm-arg") => println!("{STORM_ARG}"),
        Some("churn") => {
            let until = Instant::now() + Duration::from_secs(arg(2));
            let mut runs = 0u64;
            while Instant::now() < until {
                Command::new("/bin/true")
                    .status()
                    .expect("running /bin/true");
                runs += 1;
            }
            println!("{runs}");
        }
        Some("exit") => exit(arg(2) as i32),
        Some("sequence") => sequence(),
        _ => {}
    }
}

/// The long argument of every exec in an exec storm: 300 bytes, past what
/// tracers that keep 64 or 128 bytes per argument show.
const STORM_ARG: &str = concat!(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz",
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz",
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz",
    "012345",
);

/// Blocks until a line comes on stdin: the test is ready for what follows.
fn wait_for_a_line() {
    std::io::stdin()
        .read_line(&mut String::new())
        .expect("a line on stdin");
}

fn spin(ms: u64) {
    let until = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < until {
        // SAFETY: getppid has no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
        drop(std::fs::File::open("/dev/null"));
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Raw syscalls, so that nothing the runtime adds comes between them.
fn sequence() {
    // SAFETY: plain syscalls on valid buffers.
    unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            c"/nonexistent/systrace-probe".as_ptr(),
            libc::O_RDONLY,
        );
        libc::syscall(libc::SYS_write, 1, b"hi\n".as_ptr(), 3);
        let fd = libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            c"/dev/zero".as_ptr(),
            libc::O_RDONLY,
        );
        let mut buf = [1u8; 4];
        libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), 4);
        libc::syscall(libc::SYS_getppid);
        libc::syscall(libc::SYS_exit_group, 3);
    }
}
