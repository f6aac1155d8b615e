//! Exact capture under the conditions that break naive tracers: argv in
//! pages the exec'ing process never touched, racing threads, 32-bit
//! syscalls, buffers rewritten under the kernel's feet, reused pids, a full
//! counter table, bytes that are not UTF-8, paths and argv past the limits,
//! and execs that name no path. Each case runs a small C program from
//! tests/progs whose behaviour is known exactly.

#[path = "../common/mod.rs"]
mod common;
mod errors;
mod exec;
mod processes;
mod values;

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io::BufRead;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    Tracer, can_trace, compile_c, family, hex, of_type, probe_path, run_captured, unique,
};
use nix::sys::signal::Signal;
use serde_json::{Value, json};

/// What readlink of /proc/PID/exe gives for a process running PATH.
fn canonical(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::canonicalize(path)
        .unwrap_or_else(|e| panic!("canonicalize {}: {e}", path.display()))
        .to_str()
        .expect("a UTF-8 path")
        .to_string()
}

fn to_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The program exited 0 and printed exactly STDOUT.
fn assert_ran(output: &Output, stdout: &str) {
    assert!(
        output.status.success(),
        "{}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), stdout);
}

fn summary(records: &[Value]) -> &Value {
    let last = records.last().expect("records");
    assert_eq!(last["type"], "summary");
    last
}

/// The single exit record of PID.
fn exit_of(records: &[Value], pid: u32) -> &Value {
    let exits: Vec<&Value> = of_type(records, "exit")
        .filter(|r| r["pid"] == pid)
        .collect();
    assert_eq!(exits.len(), 1, "one exit of {pid}: {exits:?}");
    exits[0]
}

/// Every syscall an exit record accounts for: the named ones and those
/// left out of the breakdown.
fn total_syscalls(exit: &Value) -> u64 {
    let named: u64 = exit["syscalls"]
        .as_object()
        .unwrap_or_else(|| panic!("no syscalls in {exit}"))
        .values()
        .map(|n| n.as_u64().expect("a count"))
        .sum();
    named
        + exit
            .get("syscalls_unattributed")
            .map_or(0, |n| n.as_u64().unwrap())
}

/// A successful 64-bit execve of FILENAME, running EXE, with exactly ARGV,
/// all of it read and valid UTF-8.
fn assert_exec(exec: &Value, call: &str, filename: &str, exe: &str, argv: Value) {
    assert_eq!(exec["call"], call, "{exec}");
    assert_eq!(exec["compat"], false, "{exec}");
    assert_eq!(exec["filename"], filename, "{exec}");
    assert_eq!(exec["exe"], exe, "{exec}");
    assert_eq!(exec["argv"], argv, "{exec}");
    assert_eq!(exec["argv_truncated"], false, "{exec}");
    assert_eq!(exec["ret"], 0, "{exec}");
    for absent in [
        "error",
        "argv_unreadable",
        "argv_hex",
        "filename_unreadable",
        "filename_truncated",
        "filename_hex",
        "exe_hex",
    ] {
        assert!(exec.get(absent).is_none(), "{absent} in {exec}");
    }
}

/// A fresh directory under the temporary one, its canonical path.
fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(&dir).unwrap()
}

/// Sends SIGCONT to the tracer when dropped, so that a failing test does
/// not leave it stopped.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0 as i32), Signal::SIGCONT);
    }
}
