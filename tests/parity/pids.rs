//! Process ids: each traced process named by its place in the process tree
//! (P1 the command), wherever a call gives or takes one; they differ from
//! run to run.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::normalise::{Call, split_args};

/// Calls that return a process id, and those that take one as their first
/// argument (the second too: tgkill, setpgid).
const RETURNS_A_PID: &[&str] = &[
    "clone",
    "clone3",
    "fork",
    "vfork",
    "wait4",
    "waitpid",
    "getpid",
    "gettid",
    "getppid",
    "set_tid_address",
    "getpgrp",
    "getpgid",
    "getsid",
    "setsid",
    "rt_sigreturn",
];
const TAKES_A_PID: &[&str] = &[
    "wait4",
    "waitpid",
    "kill",
    "tkill",
    "tgkill",
    "setpgid",
    "getpgid",
    "getsid",
    "prlimit64",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_setscheduler",
    "sched_getscheduler",
    "pidfd_open",
    "process_vm_readv",
    "get_robust_list",
];

/// P1, P2, ...: the first process seen, then breadth first the processes
/// each one's forks returned, in the order they returned; any process
/// whose fork was not seen after those, in the order first seen.
pub fn labels(by_pid: &[(u32, Vec<Call>)]) -> HashMap<u32, String> {
    let traced: Vec<u32> = by_pid.iter().map(|(p, _)| *p).collect();
    let mut order: Vec<u32> = traced.iter().take(1).copied().collect();
    let mut next = 0;
    while next < order.len() {
        let calls = &by_pid.iter().find(|(p, _)| *p == order[next]).unwrap().1;
        for call in calls {
            let forks = matches!(call.name.as_str(), "clone" | "clone3" | "fork" | "vfork");
            let child = call.result.parse::<u32>().ok();
            if let (true, Some(child)) = (forks, child)
                && traced.contains(&child)
                && !order.contains(&child)
            {
                order.push(child);
            }
        }
        next += 1;
    }
    for pid in traced {
        if !order.contains(&pid) {
            order.push(pid);
        }
    }
    order
        .into_iter()
        .enumerate()
        .map(|(i, pid)| (pid, format!("P{}", i + 1)))
        .collect()
}

/// CALL with the traced processes' ids as their labels, where a call gives
/// or takes a pid, in fields that hold one and in /proc/PID paths; getppid of the command
/// gives the tracer's pid, which is PPID.
pub fn with_pids(mut call: Call, labels: &HashMap<u32, String>) -> Call {
    static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^-?\d+").unwrap());
    // A SIGCHLD's sender, a netlink socket's port (its pid), a new
    // thread's id.
    static PID_FIELD: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(si_pid|nl_pid|nlmsg_pid|parent_tid)=(\[?)(\d+)").unwrap());
    // strace -y names /proc/self/... by the pid.
    static PROC: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"/proc/(\d+)([/>])").unwrap());
    let label = |n: &str| n.parse::<u32>().ok().and_then(|p| labels.get(&p)).cloned();
    if RETURNS_A_PID.contains(&call.name.as_str())
        && let Some(n) = NUMBER.find(&call.result)
    {
        let named = label(n.as_str()).or_else(|| (call.name == "getppid").then(|| "PPID".into()));
        if let Some(named) = named {
            call.result.replace_range(n.range(), &named);
        }
    }
    if TAKES_A_PID.contains(&call.name.as_str()) {
        let mut args = split_args(&call.args);
        let pid_args = if matches!(call.name.as_str(), "tgkill" | "setpgid") {
            2
        } else {
            1
        };
        for arg in args.iter_mut().take(pid_args) {
            if let Some(named) = label(arg) {
                *arg = named;
            }
        }
        call.args = args.join(", ");
    }
    call.args = PID_FIELD
        .replace_all(&call.args, |c: &regex::Captures| {
            let pid = label(&c[3]).unwrap_or_else(|| c[3].to_string());
            format!("{}={}{pid}", &c[1], &c[2])
        })
        .into_owned();
    for text in [&mut call.args, &mut call.result] {
        *text = PROC
            .replace_all(text, |c: &regex::Captures| {
                format!(
                    "/proc/{}{}",
                    label(&c[1]).unwrap_or_else(|| c[1].to_string()),
                    &c[2]
                )
            })
            .into_owned();
    }
    call
}
