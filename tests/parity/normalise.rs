//! Normalising: both traces as processes of calls, with what legitimately
//! differs between two runs written the same way: addresses, pids, pipe
//! inodes, the run's directory, random bytes, times, durations.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::pids::{labels, with_pids};

/// One syscall line (or a process's end, as the call `+++`).
#[derive(Clone, Debug)]
pub struct Call {
    pub name: String,
    /// The text between the parentheses.
    pub args: String,
    /// The text after ` = `.
    pub result: String,
}

impl Call {
    pub fn line(&self) -> String {
        match self.name.as_str() {
            "+++" => format!("+++ {} +++", self.result),
            _ => format!("{}({}) = {}", self.name, self.args, self.result),
        }
    }
}

/// One process's (or thread's) calls, named by its place in the process
/// tree of the run: P1 the command, then the children in the order their
/// parents' forks returned them.
pub struct Process {
    pub label: String,
    pub calls: Vec<Call>,
}

/// Whose trace a text is.
#[derive(Clone, Copy)]
pub enum Tracer {
    /// `strace -f -q -y -o FILE`: `1234  read(...) = 3`, a call two
    /// processes interleave split into `<unfinished ...>` and `resumed>`.
    Strace,
    /// `systrace-top --trace --follow`: `[pid  1234] read(...) = 3 <0.000004>`.
    Ours,
}

/// The processes of TEXT, in the order first seen, each with its calls
/// normalised; RUN_DIR (the run's own directory) is written `RUN`.
pub fn processes(text: &str, tracer: Tracer, run_dir: &Path) -> Vec<Process> {
    let run_dir = run_dir.display().to_string();
    let mut by_pid: Vec<(u32, Vec<Call>)> = Vec::new();
    for (pid, body) in lines_by_pid(text, tracer) {
        let Some(call) = parse(&rewrite(&body, &run_dir)) else {
            continue;
        };
        match by_pid.iter_mut().find(|(p, _)| *p == pid) {
            Some((_, calls)) => calls.push(call),
            None => by_pid.push((pid, vec![call])),
        }
    }
    let labels = labels(&by_pid);
    by_pid
        .into_iter()
        .map(|(pid, calls)| Process {
            label: labels[&pid].clone(),
            calls: calls.into_iter().map(|c| with_pids(c, &labels)).collect(),
        })
        .collect()
}

/// Each line's pid and text, in the order written; strace's split calls
/// joined again. Signal lines (`--- SIGCHLD ... ---`) are not calls.
fn lines_by_pid(text: &str, tracer: Tracer) -> Vec<(u32, String)> {
    static STRACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d+) +(.*)$").unwrap());
    // The pid is optional: strace itself leaves it out for the command
    // when it is alone, which our format may come to do.
    static OURS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(?:\[pid +(\d+)\] )?(.*)$").unwrap());
    static RESUMED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^<\.\.\. [a-z0-9_]+ resumed>(.*)$").unwrap());
    let prefix = match tracer {
        Tracer::Strace => &*STRACE,
        Tracer::Ours => &*OURS,
    };
    let mut unfinished: HashMap<u32, String> = HashMap::new();
    let mut lines = Vec::new();
    for line in text.lines() {
        let Some(c) = prefix.captures(line) else {
            continue;
        };
        let pid = c.get(1).map_or(Ok(UNNAMED), |p| p.as_str().parse::<u32>());
        let (Ok(pid), body) = (pid, &c[2]) else {
            continue;
        };
        if body.starts_with("--- ") {
            continue;
        }
        if let Some(start) = body.strip_suffix(" <unfinished ...>") {
            unfinished.insert(pid, start.to_string());
            continue;
        }
        let body = match RESUMED.captures(body) {
            Some(r) => unfinished.remove(&pid).unwrap_or_default() + &r[1],
            None => body.to_string(),
        };
        lines.push((pid, body));
    }
    // The lines without a pid are the command's: its pid is what its
    // set_tid_address (or getpid) returned.
    let own = lines.iter().find_map(|(pid, body)| {
        let returns_it = body.starts_with("set_tid_address(") || body.starts_with("getpid(");
        let ret = body
            .rsplit_once(" = ")?
            .1
            .split(' ')
            .next()?
            .parse::<u32>()
            .ok();
        (*pid == UNNAMED && returns_it).then_some(ret).flatten()
    });
    if let Some(own) = own {
        for (pid, _) in lines.iter_mut().filter(|(p, _)| *p == UNNAMED) {
            *pid = own;
        }
    }
    lines
}

/// The pid of lines that give none.
const UNNAMED: u32 = 0;

/// What differs between two runs of the same program, in any text of a
/// line: each pattern and what it becomes.
static RUN_TO_RUN: LazyLock<Vec<(Regex, &str)>> = LazyLock::new(|| {
    [
        // Our duration suffix (strace -T's format).
        (r"\s*<\d+\.\d+>$", ""),
        // Addresses: heap, stack, mappings, all moved by ASLR. Small hex
        // values (flags, lengths) are kept.
        (r"0x[0-9a-f]{5,}", "0xADDR"),
        // The size of the environment an execve passes.
        (r"/\* \d+ vars \*/", "/* N vars */"),
        // Inodes of pipes and sockets.
        (r"(pipe|socket):\[\d+\]", "$1:[N]"),
        // Clocks.
        (r"(tv_sec|tv_nsec)=\d+", "$1=N"),
        // Mappings as /proc/PID/maps lists them, in what a read returns.
        (r"[0-9a-f]{8,}-[0-9a-f]{8,}", "ADDR-ADDR"),
        // Netlink sequence numbers: ip takes the time.
        (r"nlmsg_seq=\d+", "nlmsg_seq=N"),
        // mkstemp's names: git's probe for symlinks.
        (r"/\.git/t[0-9A-Za-z]{6}\b", "/.git/tXXXXXX"),
    ]
    .into_iter()
    .map(|(re, to)| (Regex::new(re).unwrap(), to))
    .collect()
});

fn rewrite(body: &str, run_dir: &str) -> String {
    let mut text = body.replace(run_dir, "RUN");
    for (re, to) in RUN_TO_RUN.iter() {
        text = re.replace_all(&text, *to).into_owned();
    }
    text
}

/// `name(args) = result`, or the process's end; None for anything else.
fn parse(body: &str) -> Option<Call> {
    if let Some(end) = body
        .strip_prefix("+++ ")
        .and_then(|b| b.strip_suffix(" +++"))
    {
        return Some(Call {
            name: "+++".into(),
            args: String::new(),
            result: end.into(),
        });
    }
    let open = body.find('(')?;
    let name = &body[..open];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let close = open + closing_paren(&body[open..])?;
    let result = body[close + 1..].trim_start().strip_prefix('=')?.trim();
    let mut call = Call {
        name: name.into(),
        args: body[open + 1..close].into(),
        result: result.into(),
    };
    // Random bytes: only whether they were shown counts.
    static STRING: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""(\\.|[^"\\])*"(\.\.\.)?"#).unwrap());
    if call.name == "getrandom" || call.args.contains("</dev/urandom>") {
        call.args = STRING.replace_all(&call.args, "\"RANDOM\"").into_owned();
    }
    // What they fill in changes from run to run (free memory and blocks,
    // uptime, clock ticks): only whether it was shown as a struct counts.
    if VOLATILE.contains(&call.name.as_str()) {
        call.args = blank_structs(&call.args);
        if call.name == "times" {
            call.result = "N".into();
        }
    }
    Some(call)
}

const VOLATILE: &[&str] = &["sysinfo", "times", "getrusage", "statfs", "fstatfs"];

/// ARGS with the contents of each `{...}` left out.
fn blank_structs(args: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let mut quoted = false;
    let mut escaped = false;
    for c in args.chars() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
        } else if c == '"' {
            quoted = true;
        } else if c == '{' {
            depth += 1;
            if depth == 1 {
                out.push_str("{...");
            }
            continue;
        } else if c == '}' {
            depth -= 1;
        }
        if depth == 0 {
            out.push(c);
        }
    }
    out
}

/// Calls `visit` with each character of TEXT outside quoted strings and the
/// bracket depth once it is counted, until `visit` says to stop.
fn unquoted(text: &str, mut visit: impl FnMut(usize, char, i32) -> bool) {
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        if c != '"' && visit(i, c, depth) {
            return;
        }
    }
}

/// The offset of the `)` that closes the `(` TEXT starts with: quotes,
/// brackets and braces between are skipped.
fn closing_paren(text: &str) -> Option<usize> {
    let mut found = None;
    unquoted(text, |i, c, depth| {
        let closes = depth == 0 && matches!(c, ')' | ']' | '}');
        if closes {
            found = (c == ')').then_some(i);
        }
        closes
    });
    found
}

/// ARGS split at its top-level commas.
pub fn split_args(args: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut start = 0;
    unquoted(args, |i, c, depth| {
        if c == ',' && depth == 0 {
            parts.push(args[start..i].trim().to_string());
            start = i + 1;
        }
        false
    });
    if !args.trim().is_empty() {
        parts.push(args[start..].trim().to_string());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_split_calls_are_joined_and_pids_labelled() {
        let text = "\
10  clone(child_stack=NULL, flags=SIGCHLD) = 11
10  wait4(-1,  <unfinished ...>
11  getpid()                          = 11
11  +++ exited with 0 +++
10  <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 11
10  --- SIGCHLD {si_signo=SIGCHLD, si_pid=11} ---
10  getppid()                         = 9
";
        let p = processes(text, Tracer::Strace, Path::new("/nowhere"));
        assert_eq!(p[0].label, "P1");
        let lines: Vec<String> = p[0].calls.iter().map(Call::line).collect();
        assert_eq!(
            lines,
            [
                "clone(child_stack=NULL, flags=SIGCHLD) = P2",
                "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = P2",
                "getppid() = PPID",
            ]
        );
        assert_eq!(p[1].calls[0].line(), "getpid() = P2");
        assert_eq!(p[1].calls[1].line(), "+++ exited with 0 +++");
    }

    #[test]
    fn our_durations_and_addresses_go() {
        let text = "[pid  7] mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, -1, NULL) = 0x7f2ef35a2000 <0.000007>\n\
                    [pid  7] read(3</run/x/a>, \"a, b)\", 5) = 5 <0.000001>\n";
        let p = processes(text, Tracer::Ours, Path::new("/run/x"));
        assert_eq!(p[0].calls[0].result, "0xADDR");
        assert_eq!(p[0].calls[1].args, "3<RUN/a>, \"a, b)\", 5");
        assert_eq!(
            split_args(&p[0].calls[1].args),
            ["3<RUN/a>", "\"a, b)\"", "5"]
        );
    }

    #[test]
    fn lines_without_a_pid_are_the_commands() {
        let text = "set_tid_address(0x7f0000000a10) = 42 <0.000001>\n\
                    clone(SIGCHLD, NULL, NULL, NULL, NULL) = 43 <0.000001>\n\
                    [pid    43] getppid() = 42 <0.000001>\n\
                    [pid    42] exit_group(0) = ?\n";
        let p = processes(text, Tracer::Ours, Path::new("/nowhere"));
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].calls.len(), 3);
        assert_eq!(p[1].calls[0].line(), "getppid() = P1");
    }

    #[test]
    fn what_changes_between_runs_is_blanked() {
        let text = "5  sysinfo({uptime=10314, loads=[86752, 5, 5], procs=3}) = 0\n\
                    5  read(3</proc/5/maps>, \"55fa6b269000-55fa6b26d000 r\"..., 8) = 8\n";
        let p = processes(text, Tracer::Strace, Path::new("/nowhere"));
        assert_eq!(p[0].calls[0].args, "{...}");
        assert_eq!(
            p[0].calls[1].args,
            "3</proc/P1/maps>, \"ADDR-ADDR r\"..., 8"
        );
    }
}
