//! Figures: how many of strace's calls we show in order, and of those, how
//! many with the same result and the same arguments; and what kinds of
//! difference there are, most frequent first, with an example each.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use crate::align::matched;
use crate::normalise::{Call, Process, split_args};

#[derive(Clone, Copy, Default)]
pub struct Figures {
    pub strace_calls: usize,
    pub our_calls: usize,
    /// strace's calls that the alignment found among ours.
    pub matched: usize,
    pub same_result: usize,
    pub same_args: usize,
}

impl Figures {
    /// (a) percent of strace's calls present, in order, in ours.
    pub fn calls(&self) -> f64 {
        percent(self.matched, self.strace_calls)
    }
    /// (b) percent of matched calls whose result text is strace's.
    pub fn results(&self) -> f64 {
        percent(self.same_result, self.matched)
    }
    /// (c) percent of matched calls whose argument text is strace's.
    pub fn args(&self) -> f64 {
        percent(self.same_args, self.matched)
    }

    fn add(&mut self, other: &Figures) {
        self.strace_calls += other.strace_calls;
        self.our_calls += other.our_calls;
        self.matched += other.matched;
        self.same_result += other.same_result;
        self.same_args += other.same_args;
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// The figures of ROWS together.
pub fn total<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Figures {
    let mut total = Figures::default();
    for row in rows {
        total.add(&row.figures);
    }
    total
}

/// One program's comparison.
pub struct Row {
    pub program: String,
    pub figures: Figures,
    /// The same processes, each with the same calls in the same order.
    pub same_sequence: bool,
    /// Why its sequence may change from run to run, if it may.
    pub varies: Option<&'static str>,
}

/// Compares the processes of the same label, call by aligned call;
/// records each difference in KINDS.
pub fn compare(
    program: &str,
    varies: Option<&'static str>,
    strace: &[Process],
    ours: &[Process],
    kinds: &mut Kinds,
) -> Row {
    let mut figures = Figures::default();
    let mut same_sequence = strace.len() == ours.len();
    for theirs in strace {
        figures.strace_calls += theirs.calls.len();
        let Some(mine) = ours.iter().find(|p| p.label == theirs.label) else {
            same_sequence = false;
            continue;
        };
        figures.our_calls += mine.calls.len();
        let names = |p: &Process| p.calls.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        let pairs = matched(&names(theirs), &names(mine));
        same_sequence &= pairs.len() == theirs.calls.len() && pairs.len() == mine.calls.len();
        for (i, j) in pairs {
            let (s, o) = (&theirs.calls[i], &mine.calls[j]);
            figures.matched += 1;
            if s.result == o.result {
                figures.same_result += 1;
            } else {
                kinds.note(result_kind(s, o), program, s, o);
            }
            if s.args == o.args {
                figures.same_args += 1;
            } else {
                for kind in arg_kinds(s, o) {
                    kinds.note(kind, program, s, o);
                }
            }
        }
    }
    Row {
        program: program.to_string(),
        figures,
        same_sequence,
        varies,
    }
}

/// Kinds of difference: how many calls, in which programs, one example.
#[derive(Default)]
pub struct Kinds(HashMap<String, Kind>);

struct Kind {
    calls: usize,
    programs: BTreeSet<String>,
    ours: String,
    strace: String,
}

impl Kinds {
    fn note(&mut self, kind: String, program: &str, strace: &Call, ours: &Call) {
        let k = self.0.entry(kind).or_insert_with(|| Kind {
            calls: 0,
            programs: BTreeSet::new(),
            ours: ours.line(),
            strace: strace.line(),
        });
        k.calls += 1;
        k.programs.insert(program.to_string());
    }
}

/// What differs in a result: the fd's path, the error's text, or else
/// the result of that syscall.
fn result_kind(strace: &Call, ours: &Call) -> String {
    let fd_path = |r: &str| r.split_once('<').map(|(fd, _)| fd.to_string());
    if fd_path(&strace.result).as_deref() == Some(ours.result.as_str()) {
        return "result: fd without its path".into();
    }
    let errno = |r: &str| {
        r.strip_prefix("-1 ")
            .and_then(|e| e.split(' ').next().map(String::from))
    };
    if let (Some(a), Some(b)) = (errno(&strace.result), errno(&ours.result))
        && a == b
    {
        return format!("result: text of {a}");
    }
    format!("result: {}", strace.name)
}

/// What differs in the arguments: the number of them; or the fd paths, as
/// kinds across syscalls; and the other arguments that differ, as one kind
/// of that syscall (`fcntl args 2, 3`).
fn arg_kinds(strace: &Call, ours: &Call) -> Vec<String> {
    let (s, o) = (split_args(&strace.args), split_args(&ours.args));
    if s.len() != o.len() {
        return vec![format!(
            "{}: {} args, strace {}",
            strace.name,
            o.len(),
            s.len()
        )];
    }
    // `3</etc/hosts>` or `AT_FDCWD</tmp>` as (3, /etc/hosts).
    let fd = |a: &str| {
        let (n, rest) = a.split_once('<')?;
        let is_fd = n == "AT_FDCWD" || n.parse::<i64>().is_ok();
        (is_fd && rest.ends_with('>')).then(|| n.to_string())
    };
    let mut kinds = Vec::new();
    let mut others = Vec::new();
    for (i, (a, b)) in s.iter().zip(&o).enumerate().filter(|(_, (a, b))| a != b) {
        match (fd(a), fd(b)) {
            (Some(n), None) if n == "AT_FDCWD" && b == "AT_FDCWD" => {
                kinds.push("AT_FDCWD without the cwd".to_string())
            }
            (Some(n), None) if &n == b => kinds.push("fd without its path".into()),
            (Some(n), Some(m)) if n == m => kinds.push("fd with another path".into()),
            _ => others.push((i + 1).to_string()),
        }
    }
    match others.len() {
        0 => {}
        1 => kinds.push(format!("{} arg {}", strace.name, others[0])),
        _ => kinds.push(format!("{} args {}", strace.name, others.join(", "))),
    }
    kinds.dedup();
    kinds
}

/// The figures of every program and their total, the programs whose
/// sequences differ, and the kinds of difference, most frequent first.
pub fn table(rows: &[Row], kinds: &Kinds, top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>7} {:>7} {:>7} {:>8} {:>6}  same sequence",
        "program", "strace", "ours", "calls%", "results%", "args%"
    );
    for row in rows {
        let f = &row.figures;
        let same = match (row.same_sequence, row.varies) {
            (true, _) => "yes".to_string(),
            (false, Some(why)) => format!("no ({why})"),
            (false, None) => "no".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<14} {:>7} {:>7} {:>7.1} {:>8.1} {:>6.1}  {same}",
            row.program,
            f.strace_calls,
            f.our_calls,
            f.calls(),
            f.results(),
            f.args()
        );
    }
    let total = total(rows);
    let _ = writeln!(
        out,
        "{:<14} {:>7} {:>7} {:>7.1} {:>8.1} {:>6.1}",
        "TOTAL",
        total.strace_calls,
        total.our_calls,
        total.calls(),
        total.results(),
        total.args()
    );
    let steady: Vec<&Row> = rows.iter().filter(|r| r.varies.is_none()).collect();
    let differ: Vec<&str> = steady
        .iter()
        .filter(|r| !r.same_sequence)
        .map(|r| r.program.as_str())
        .collect();
    let _ = writeln!(
        out,
        "\nidentical sequences: {} of {} programs that run the same each time; not: {}",
        steady.len() - differ.len(),
        steady.len(),
        if differ.is_empty() {
            "none".to_string()
        } else {
            differ.join(", ")
        }
    );

    let mut sorted: Vec<(&String, &Kind)> = kinds.0.iter().collect();
    sorted.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then(a.0.cmp(b.0)));
    let _ = writeln!(out, "\nkinds of difference (calls, programs):");
    for (name, k) in sorted.into_iter().take(top) {
        let _ = writeln!(
            out,
            "{:>6} {:>3}  {name}\n            ours:   {}\n            strace: {}",
            k.calls,
            k.programs.len(),
            clip(&k.ours),
            clip(&k.strace)
        );
    }
    out
}

fn clip(line: &str) -> String {
    const MAX: usize = 150;
    match line.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line.to_string(),
    }
}
