//! View 1: the live exec tree (or a flat list) of processes: its state
//! and rows here, its table in `table`.

mod table;

pub use table::render;

use std::collections::{HashMap, HashSet};

use crate::collect::event::visible;
use crate::collect::names::signal_name;
use crate::collect::process_tree::{FailedExec, ProcessInfo};
use crate::ui::app::{Action, App};
use crate::ui::selection::{RowKey, Selection, Sort};

/// In the order the columns are shown (htop's F6 and `<` `>` go through
/// them in that order).
pub const SORT_COLUMNS: &[&str] = &[
    "PID", "USER", "CPU%", "RSS", "CALLS/s", "LIFETIME", "COMMAND",
];
/// The first screen's sort: the busiest first, by CPU (a process busy in
/// its own code makes no syscalls), then by syscalls/s.
pub const BUSIEST_COLUMN: usize = 2;

/// The view's own state.
#[derive(Clone, Debug)]
pub struct State {
    pub selection: Selection,
    pub sort: Sort,
    /// The exec tree, exited processes and failed execs included; else the
    /// flat list, of the running processes unless `show_exited`.
    pub tree: bool,
    pub show_exited: bool,
    pub collapsed: HashSet<u32>,
    /// The sort of the other of tree and list, back when it is shown.
    pub other_sort: Sort,
}

impl Default for State {
    /// The first screen answers "what is busy now": the running processes,
    /// busiest first. The tree and the exited are a key away.
    fn default() -> Self {
        Self {
            selection: Selection::default(),
            sort: Sort {
                column: BUSIEST_COLUMN,
                reverse: false,
            },
            tree: false,
            show_exited: false,
            collapsed: HashSet::new(),
            other_sort: Sort::default(),
        }
    }
}

impl State {
    /// The keys that change how this view shows its rows.
    pub fn toggle(&mut self, action: &Action) {
        let selected = match &self.selection.key {
            Some(RowKey::Pid(pid)) => Some(*pid),
            _ => None,
        };
        match action {
            // The tree in PID order, which does not reshuffle at every
            // tick; the list's own order back when leaving it.
            Action::ToggleTree => {
                self.tree = !self.tree;
                let other = std::mem::take(&mut self.other_sort);
                self.other_sort = self.sort;
                self.sort = other;
            }
            Action::ToggleExited => self.show_exited = !self.show_exited,
            Action::Collapse => self.collapsed.extend(selected),
            Action::Expand => {
                if let Some(pid) = selected {
                    self.collapsed.remove(&pid);
                }
            }
            _ => {}
        }
    }

    /// htop's M, P and T: a column by name, highest first.
    pub fn sort_by(&mut self, name: &str) {
        if let Some(column) = SORT_COLUMNS.iter().position(|c| *c == name) {
            self.sort = Sort {
                column,
                reverse: false,
            };
        }
    }
}

/// A new process stays highlighted this long.
pub(super) const NEW_NS: u64 = 2_000_000_000;

pub enum ProcRow<'a> {
    Process {
        info: &'a ProcessInfo,
        depth: usize,
        has_children: bool,
        collapsed: bool,
        /// Kept only because a descendant matches the filter.
        context: bool,
    },
    FailedExec {
        parent: u32,
        index: usize,
        exec: &'a FailedExec,
        depth: usize,
    },
}

impl ProcRow<'_> {
    /// A process row that matches the filter itself.
    pub fn matches_filter(&self) -> bool {
        matches!(self, ProcRow::Process { context: false, .. })
    }

    pub fn key(&self) -> RowKey {
        match self {
            ProcRow::Process { info, .. } => RowKey::Pid(info.pid),
            ProcRow::FailedExec { parent, index, .. } => RowKey::FailedExec(*parent, *index),
        }
    }
}

pub fn rate_of(app: &App) -> HashMap<u32, f64> {
    app.snapshot
        .rates
        .iter()
        .map(|r| (r.pid, r.per_sec))
        .collect()
}

fn cpu(info: &ProcessInfo) -> f32 {
    info.usage.map_or(0.0, |u| u.cpu_percent)
}

fn rss(info: &ProcessInfo) -> u64 {
    info.usage.map_or(0, |u| u.rss_bytes)
}

pub(super) fn lifetime(info: &ProcessInfo, now: u64) -> u64 {
    let end = info.exit.as_ref().map_or(now, |x| x.ts_ns);
    end.saturating_sub(info.start_ns)
}

/// The rows in display order: the tree (depth-first, siblings sorted) or
/// the flat list (sorted), after the filter.
pub fn rows(app: &App) -> Vec<ProcRow<'_>> {
    let snapshot = &app.snapshot;
    let rates = rate_of(app);
    let now = snapshot.ts_ns;
    let by_pid: HashMap<u32, &ProcessInfo> =
        snapshot.processes.iter().map(|p| (p.pid, p)).collect();
    let state = &app.processes;
    let sort = state.sort;
    let order = |a: &&ProcessInfo, b: &&ProcessInfo| {
        let ord = match SORT_COLUMNS[sort.column % SORT_COLUMNS.len()] {
            "CALLS/s" => rates
                .get(&b.pid)
                .unwrap_or(&0.0)
                .total_cmp(rates.get(&a.pid).unwrap_or(&0.0)),
            "LIFETIME" => lifetime(b, now).cmp(&lifetime(a, now)),
            "USER" => app.user_name(a.uid).cmp(&app.user_name(b.uid)),
            "COMMAND" => command_line(a).cmp(&command_line(b)),
            "CPU%" => cpu(b).total_cmp(&cpu(a)).then(
                rates
                    .get(&b.pid)
                    .unwrap_or(&0.0)
                    .total_cmp(rates.get(&a.pid).unwrap_or(&0.0)),
            ),
            "RSS" => rss(b).cmp(&rss(a)),
            _ => a.pid.cmp(&b.pid),
        };
        let ord = ord.then(a.pid.cmp(&b.pid));
        if sort.reverse { ord.reverse() } else { ord }
    };
    let matches = |p: &ProcessInfo| app.matches(p.pid, p.uid, &p.comm, &p.argv);
    let filtering = !app.active_filter().is_empty() || app.user_filter.is_some();

    if !state.tree {
        let mut flat: Vec<&ProcessInfo> = snapshot
            .processes
            .iter()
            .filter(|p| matches(p) && (state.show_exited || p.exit.is_none()))
            .collect();
        flat.sort_by(order);
        let mut rows = Vec::with_capacity(flat.len());
        for info in flat {
            rows.push(ProcRow::Process {
                info,
                depth: 0,
                has_children: false,
                collapsed: false,
                context: false,
            });
            if state.show_exited {
                push_failed_execs(&mut rows, info, 1);
            }
        }
        return rows;
    }

    // The exited only with `x`, as in the flat list; a parent that exited
    // stays, dimmed, over its running children.
    let matches = |p: &ProcessInfo| matches(p) && (state.show_exited || p.exit.is_none());
    let mut children = children_of(&snapshot.processes);
    for list in children.values_mut() {
        list.sort_by(order);
    }
    let mut roots: Vec<&ProcessInfo> = snapshot
        .processes
        .iter()
        .filter(|p| p.ppid == p.pid || !by_pid.contains_key(&p.ppid))
        .collect();
    // Processes in a parent cycle (a reused PID can make one) reach no
    // root: they become roots themselves.
    let mut reached = HashSet::new();
    let mut stack: Vec<u32> = roots.iter().map(|p| p.pid).collect();
    while let Some(pid) = stack.pop() {
        if reached.insert(pid) {
            stack.extend(children.get(&pid).into_iter().flatten().map(|c| c.pid));
        }
    }
    roots.extend(
        snapshot
            .processes
            .iter()
            .filter(|p| !reached.contains(&p.pid)),
    );
    roots.sort_by(order);

    // Which subtrees hold a match (with a filter, non-matching ancestors are
    // kept, dimmed, to show where a match sits).
    let mut keep: HashMap<u32, bool> = HashMap::new();
    fn mark<'a>(
        p: &'a ProcessInfo,
        children: &HashMap<u32, Vec<&'a ProcessInfo>>,
        matches: &dyn Fn(&ProcessInfo) -> bool,
        keep: &mut HashMap<u32, bool>,
    ) -> bool {
        if let Some(&seen) = keep.get(&p.pid) {
            return seen; // a cycle, or a root met again
        }
        keep.insert(p.pid, false);
        let mut any = matches(p);
        for c in children.get(&p.pid).into_iter().flatten() {
            any |= mark(c, children, matches, keep);
        }
        keep.insert(p.pid, any);
        any
    }
    for root in &roots {
        mark(root, &children, &matches, &mut keep);
    }

    let mut rows = Vec::new();
    let mut shown = HashSet::new();
    let mut stack: Vec<(&ProcessInfo, usize)> = roots.iter().rev().map(|p| (*p, 0)).collect();
    while let Some((info, depth)) = stack.pop() {
        if !keep.get(&info.pid).copied().unwrap_or(false) || !shown.insert(info.pid) {
            continue;
        }
        let kids = children.get(&info.pid);
        // A match inside a collapsed subtree is not hidden by it.
        let holds_match = filtering
            && kids
                .into_iter()
                .flatten()
                .any(|kid| keep.get(&kid.pid).copied().unwrap_or(false));
        let collapsed = state.collapsed.contains(&info.pid) && !holds_match;
        rows.push(ProcRow::Process {
            info,
            depth,
            has_children: kids.is_some_and(|k| !k.is_empty()) || !info.failed_execs.is_empty(),
            collapsed,
            context: !matches(info),
        });
        if collapsed {
            continue;
        }
        if matches(info) && state.show_exited {
            push_failed_execs(&mut rows, info, depth + 1);
        }
        for kid in kids.into_iter().flatten().rev() {
            stack.push((kid, depth + 1));
        }
    }
    rows
}

/// Each process's children by PID (ppid links; a process is not its own child).
pub fn children_of(processes: &[ProcessInfo]) -> HashMap<u32, Vec<&ProcessInfo>> {
    let mut children: HashMap<u32, Vec<&ProcessInfo>> = HashMap::new();
    for p in processes {
        if p.ppid != p.pid {
            children.entry(p.ppid).or_default().push(p);
        }
    }
    children
}

fn push_failed_execs<'a>(rows: &mut Vec<ProcRow<'a>>, info: &'a ProcessInfo, depth: usize) {
    for (index, exec) in info.failed_execs.iter().enumerate() {
        rows.push(ProcRow::FailedExec {
            parent: info.pid,
            index,
            exec,
            depth,
        });
    }
}

/// Kernel threads: kthreadd (PID 2) and its children.
fn is_kernel_thread(info: &ProcessInfo) -> bool {
    info.pid == 2 || info.ppid == 2
}

/// A process's command line by PID, as this view shows it; `?` when it is
/// not in the table.
pub fn command_of(app: &App, pid: u32) -> String {
    app.snapshot
        .process(pid)
        .map_or_else(|| "?".into(), command_line)
}

/// Its command line; a kernel thread's name in brackets, as ps shows it.
/// A process whose command line was never seen (started under a filter, or
/// met only at its exit) shows its name and says so, so that it does not
/// pass for a kernel thread.
pub fn command_line(info: &ProcessInfo) -> String {
    if info.argv.is_empty() {
        let comm = visible(info.comm.as_bytes());
        if is_kernel_thread(info) {
            format!("[{comm}]")
        } else {
            format!("{comm} (command line not seen)")
        }
    } else {
        let mut line = info.argv.join(" ");
        if info.argv_truncated {
            line.push_str(" …");
        }
        line
    }
}

pub fn status(info: &ProcessInfo) -> String {
    match &info.exit {
        None => String::new(),
        Some(x) => match x.signal {
            Some(sig) => signal_name(sig),
            None if x.code < 0 => "gone".to_string(),
            None => format!("exit {}", x.code),
        },
    }
}
