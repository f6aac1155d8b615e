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
//! probe send-storm N
//!                   send N one-byte UDP datagrams to 127.0.0.1:9 with
//!                   sendto, from one unconnected socket
//! probe storm-arg  print STORM_ARG, for the benchmark to look for
//! probe churn SECONDS
//!                   run /bin/true over and over for SECONDS; print how many
//! probe idle N [MS] fork N children that sleep until killed (each dies with
//!                   its parent), each with a command line of its own (N
//!                   replaced by its index), print "ready" once all run, then
//!                   sleep too; with MS, each child wakes every MS ms (one
//!                   nanosleep call each time)
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
        Some("send-storm") => {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
            for _ in 0..arg(2) {
                // Discarded: nothing listens on port 9.
                let _ = socket.send_to(b"x", "127.0.0.1:9");
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
        Some("idle") => idle(arg(2), args.get(3).map(|_| arg(3))),
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

/// Many live processes for the price of a fork each: no exec, the pages
/// shared with the parent. They end with it (PR_SET_PDEATHSIG), so killing
/// the parent ends them all. Each writes its index over the last argument,
/// in the memory /proc/PID/cmdline reads, so that no two command lines are
/// the same, as with processes started apart.
fn idle(n: u64, wake_ms: Option<u64>) {
    use std::io::Write;
    let parent = std::process::id() as i32;
    let width = n.to_string().len();
    // The command line ends at arg_end (field 49 of /proc/self/stat), after
    // the last argument's NUL; N comes before MS, or last.
    let after_n = 1 + wake_ms.map_or(0, |ms| ms.to_string().len() + 1);
    let last_arg = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let fields = &stat[stat.rfind(')')? + 2..];
            fields.split(' ').nth(49 - 3)?.parse::<usize>().ok()
        })
        .map(|arg_end| (arg_end - after_n - width) as *mut u8);
    let wake = wake_ms.map(|ms| libc::timespec {
        tv_sec: (ms / 1000) as libc::time_t,
        tv_nsec: (ms % 1000 * 1_000_000) as libc::c_long,
    });
    for i in 0..n {
        // SAFETY: the child calls only async-signal-safe functions and
        // writes within its own command line (N's digits) before it dies;
        // the parent just goes on forking.
        match unsafe { libc::fork() } {
            0 => unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The parent may have died before the line above.
                if libc::getppid() != parent {
                    libc::_exit(0);
                }
                if let Some(digits) = last_arg {
                    let mut rest = i;
                    for d in (0..width).rev() {
                        *digits.add(d) = b'0' + (rest % 10) as u8;
                        rest /= 10;
                    }
                }
                loop {
                    match &wake {
                        Some(wake) => libc::nanosleep(wake, std::ptr::null_mut()),
                        None => libc::pause(),
                    };
                }
            },
            -1 => {
                eprintln!("probe idle: fork: {}", std::io::Error::last_os_error());
                exit(1);
            }
            _ => {}
        }
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    loop {
        // SAFETY: pause only waits for a signal.
        unsafe { libc::pause() };
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
