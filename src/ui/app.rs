//! The UI's state and the one place it changes: `update(action)`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::bpf::Filter;
use crate::collect::event::visible;
use crate::collect::{Command, Snapshot};

use super::views::{files, processes, syscalls};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Processes,
    Files,
    Syscalls,
}

impl View {
    pub const ALL: [View; 3] = [View::Processes, View::Files, View::Syscalls];

    pub fn title(self) -> &'static str {
        match self {
            View::Processes => "Processes",
            View::Files => "Files",
            View::Syscalls => "Syscalls",
        }
    }

    pub fn sort_columns(self) -> &'static [&'static str] {
        match self {
            View::Processes => processes::SORT_COLUMNS,
            View::Files => files::SORT_COLUMNS,
            View::Syscalls => syscalls::SORT_COLUMNS,
        }
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    NextView,
    PrevView,
    Show(View),
    OpenPrompt,
    PromptChar(char),
    PromptBackspace,
    PromptAccept,
    PromptCancel,
    CycleSort,
    ReverseSort,
    Enter,
    Back,
    TogglePause,
    ToggleHelp,
    ToggleTree,
    Collapse,
    Expand,
    ToggleWindow,
    /// A click on screen row `y`.
    Click(u16),
    ScrollUp,
    ScrollDown,
    Resize(u16, u16),
    /// Ctrl-Z: the terminal given back, the tool stopped until `fg`. Done
    /// by the event loop, which owns the terminal.
    Suspend,
    /// htop's k and F9: a menu of signals for the selected process.
    Kill,
    /// htop's `<`: the previous sort column.
    PrevSort,
    /// The flat list: exited processes and failed execs shown or not.
    ToggleExited,
    /// htop's T: the processes by how long they have run.
    SortByTime,
    /// htop's M.
    SortByMemory,
    /// htop's P.
    SortByCpu,
    /// An htop key this cannot honour: the footer says what it would do.
    Unsupported(&'static str),
}

/// The signals the kill menu offers, the first chosen when it opens.
pub const KILL_SIGNALS: &[(i32, &str)] = &[
    (libc::SIGTERM, "SIGTERM  ask it to end"),
    (libc::SIGKILL, "SIGKILL  end it now"),
    (libc::SIGINT, "SIGINT   as Ctrl-C"),
    (libc::SIGHUP, "SIGHUP   hang up / reload"),
    (libc::SIGQUIT, "SIGQUIT  end with a core"),
    (libc::SIGSTOP, "SIGSTOP  stop it"),
    (libc::SIGCONT, "SIGCONT  let it go on"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
];

/// The kill menu, open on one process: Up/Down choose, Enter sends, Esc
/// closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KillMenu {
    pub pid: u32,
    pub comm: String,
    /// Its start (CLOCK_MONOTONIC ns), to tell it from a later process
    /// that took its PID while the menu was open.
    pub start_ns: u64,
    pub selected: usize,
}

/// What a selection points at, so that it stays on the same row when new
/// snapshots move rows around.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RowKey {
    Pid(u32),
    FailedExec(u32, usize),
    Path(String),
}

#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub index: usize,
    pub offset: usize,
    pub key: Option<RowKey>,
}

impl Selection {
    /// Moves by `delta` rows within `keys`, keeping it visible in `height`.
    fn step(&mut self, delta: isize, keys: &[RowKey], height: usize) {
        if keys.is_empty() {
            *self = Selection::default();
            return;
        }
        let last = keys.len() - 1;
        self.index = (self.index as isize + delta).clamp(0, last as isize) as usize;
        self.key = Some(keys[self.index].clone());
        self.scroll_into_view(height);
    }

    /// Finds the selected row again after the rows changed.
    fn follow(&mut self, keys: &[RowKey], height: usize) {
        if let Some(i) = self
            .key
            .as_ref()
            .and_then(|k| keys.iter().position(|x| x == k))
        {
            self.index = i;
        } else {
            self.index = self.index.min(keys.len().saturating_sub(1));
            self.key = keys.get(self.index).cloned();
        }
        self.scroll_into_view(height);
    }

    fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.index < self.offset {
            self.offset = self.index;
        } else if self.index >= self.offset + height {
            self.offset = self.index + 1 - height;
        }
    }
}

/// A filter of digits only is a PID ("+5" or " 5" is text).
fn parse_pid(filter: &str) -> Option<u32> {
    if filter.is_empty() || !filter.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    filter.parse().ok()
}

/// Sort columns: each view lists its own; `s` cycles, `r` reverses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sort {
    pub column: usize,
    pub reverse: bool,
}

pub struct App {
    /// What is on screen: not replaced while paused.
    pub snapshot: Arc<Snapshot>,
    /// The newest snapshot, shown when the pause ends.
    latest: Arc<Snapshot>,
    pub view: View,
    /// The process drilled into.
    pub detail: Option<u32>,
    pub paused: bool,
    pub help: bool,
    /// The filter being typed, while the prompt is open.
    pub prompt: Option<String>,
    /// The filter in effect: a PID, or a substring of the command line.
    pub filter: String,
    /// The filter given on the command line, kept under the one typed.
    pub base_filter: Filter,
    pub selections: [Selection; 3],
    pub sorts: [Sort; 3],
    pub detail_scroll: usize,
    /// Processes view: the exec tree, exited processes and failed execs included; else the
    /// flat list, of the running processes unless `show_exited`.
    pub tree: bool,
    pub show_exited: bool,
    pub collapsed: HashSet<u32>,
    /// Files view: the last 10 s instead of since start.
    pub recent_files: bool,
    pub width: u16,
    pub height: u16,
    pub users: HashMap<u32, String>,
    /// The drilled-into process's working directory, read when drilling in.
    pub detail_cwd: Option<String>,
    /// Its syscall stream shows only lines with this (kept with Enter).
    pub detail_search: String,
    pub kill_menu: Option<KillMenu>,
    /// What the last action did, said in the footer until the next key.
    pub notice: Option<Notice>,
    pub quit: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

impl App {
    pub fn new(snapshot: Arc<Snapshot>, base_filter: Filter, width: u16, height: u16) -> Self {
        let mut app = Self {
            snapshot: snapshot.clone(),
            latest: snapshot,
            view: View::Processes,
            detail: None,
            paused: false,
            help: false,
            prompt: None,
            filter: String::new(),
            base_filter,
            selections: Default::default(),
            sorts: [
                Sort {
                    column: processes::BUSIEST_COLUMN,
                    reverse: false,
                },
                Sort::default(),
                Sort::default(),
            ],
            detail_scroll: 0,
            // The first screen answers "what is busy now": the running
            // processes, busiest first. The tree and the exited are a key away.
            tree: false,
            show_exited: false,
            collapsed: HashSet::new(),
            recent_files: false,
            width,
            height,
            users: HashMap::new(),
            detail_cwd: None,
            detail_search: String::new(),
            kill_menu: None,
            notice: None,
            quit: false,
        };
        app.learn_users();
        app
    }

    /// Rows a table shows between the header lines and the footer.
    pub fn body_rows(&self) -> usize {
        (self.height as usize).saturating_sub(super::render::CHROME_ROWS)
    }

    /// The filter as typed so far, or the one in effect.
    pub fn active_filter(&self) -> &str {
        match (&self.prompt, self.detail) {
            (Some(typed), None) => typed,
            _ => &self.filter,
        }
    }

    /// What the drilled-into process's syscall stream is searched for.
    pub fn stream_search(&self) -> &str {
        match (&self.prompt, self.detail) {
            (Some(typed), Some(_)) => typed,
            _ => &self.detail_search,
        }
    }

    /// A PID filter: all digits.
    pub fn filter_pid(&self) -> Option<u32> {
        parse_pid(self.active_filter())
    }

    pub fn user_name(&self, uid: u32) -> String {
        if uid == crate::collect::process_tree::UNKNOWN_UID {
            return "?".into();
        }
        self.users
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| uid.to_string())
    }

    fn row_keys(&self) -> Vec<RowKey> {
        match self.view {
            View::Processes => processes::rows(self).iter().map(|r| r.key()).collect(),
            View::Files => files::rows(self)
                .iter()
                .map(|f| RowKey::Path(f.path.clone()))
                .collect(),
            View::Syscalls => syscalls::rows(self)
                .iter()
                .map(|r| RowKey::Pid(r.pid))
                .collect(),
        }
    }

    fn selection(&mut self) -> &mut Selection {
        &mut self.selections[self.view.index()]
    }

    pub fn sort(&self, view: View) -> Sort {
        self.sorts[view.index()]
    }

    pub fn selected(&self, view: View) -> &Selection {
        &self.selections[view.index()]
    }

    fn move_selection(&mut self, delta: isize) {
        if self.detail.is_some() {
            // The activity pane: newest at the bottom, Up goes back in time.
            let events = self
                .snapshot
                .watched
                .as_ref()
                .map_or(0, |w| w.activity.len());
            let back =
                self.detail_scroll as isize - delta.clamp(-(events as isize), events as isize);
            self.detail_scroll = back.clamp(0, events as isize) as usize;
            return;
        }
        let keys = self.row_keys();
        let height = self.body_rows();
        self.selection().step(delta, &keys, height);
    }

    fn follow_selections(&mut self) {
        let view = self.view;
        let height = self.body_rows();
        for v in View::ALL {
            self.view = v;
            let keys = self.row_keys();
            self.selections[v.index()].follow(&keys, height);
        }
        self.view = view;
    }

    /// Takes a snapshot from the collector.
    pub fn receive(&mut self, snapshot: Arc<Snapshot>) {
        self.latest = snapshot;
        if !self.paused {
            self.snapshot = self.latest.clone();
            self.learn_users();
            self.follow_selections();
        }
    }

    fn learn_users(&mut self) {
        for p in &self.snapshot.processes {
            self.users.entry(p.uid).or_insert_with(|| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(p.uid))
                    .ok()
                    .flatten()
                    .map_or_else(|| p.uid.to_string(), |u| u.name)
            });
        }
    }

    /// What the kernel filters on: a PID once kept with Enter (not while
    /// typed: "1234" would narrow to 1, 12 and 123 on the way and lose
    /// other processes' events), over the command line's filter.
    fn kernel_filter(&self) -> Filter {
        Filter {
            pid: parse_pid(&self.filter).or(self.base_filter.pid),
            comm: self.base_filter.comm.clone(),
        }
    }

    /// Applies one action; returns the commands for the collector.
    pub fn update(&mut self, action: Action) -> Vec<Command> {
        let mut commands = Vec::new();
        let page = self.body_rows().max(1) as isize;
        let filter_before = self.kernel_filter();
        self.notice = None;
        if self.kill_menu.is_some() {
            self.update_kill_menu(action);
            return commands;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::Suspend => {}
            Action::Kill => {
                let pid = self.detail.or_else(|| self.selected_pid());
                let process = pid.and_then(|pid| self.snapshot.process(pid));
                match process {
                    Some(p) if p.exit.is_none() && p.pid > 0 => {
                        self.kill_menu = Some(KillMenu {
                            pid: p.pid,
                            comm: p.comm.clone(),
                            start_ns: p.start_ns,
                            selected: 0,
                        });
                    }
                    _ => {
                        self.notice = Some(Notice {
                            text: "no running process selected".into(),
                            error: true,
                        });
                    }
                }
            }
            Action::Up | Action::ScrollUp => self.move_selection(-1),
            Action::Down | Action::ScrollDown => self.move_selection(1),
            Action::PageUp => self.move_selection(-page),
            Action::PageDown => self.move_selection(page),
            Action::Home => self.move_selection(isize::MIN / 2),
            Action::End => self.move_selection(isize::MAX / 2),
            Action::NextView | Action::PrevView => {
                let step = if action == Action::NextView {
                    1
                } else {
                    View::ALL.len() - 1
                };
                self.view = View::ALL[(self.view.index() + step) % View::ALL.len()];
                self.leave_detail(&mut commands);
            }
            Action::Show(view) => {
                self.view = view;
                self.leave_detail(&mut commands);
            }
            Action::OpenPrompt => {
                let current = if self.detail.is_some() {
                    &self.detail_search
                } else {
                    &self.filter
                };
                self.prompt = Some(current.clone());
            }
            Action::PromptChar(c) => {
                if let Some(p) = &mut self.prompt {
                    p.push(c);
                }
            }
            Action::PromptBackspace => {
                if let Some(p) = &mut self.prompt {
                    p.pop();
                }
            }
            Action::PromptAccept => {
                if let Some(p) = self.prompt.take() {
                    if self.detail.is_some() {
                        self.detail_search = p;
                    } else {
                        self.filter = p;
                    }
                }
            }
            Action::PromptCancel => {
                self.prompt = None;
                if self.detail.is_some() {
                    self.detail_search.clear();
                } else {
                    self.filter.clear();
                }
            }
            Action::CycleSort => {
                let columns = self.view.sort_columns().len();
                let sort = &mut self.sorts[self.view.index()];
                sort.column = (sort.column + 1) % columns;
            }
            Action::PrevSort => {
                let columns = self.view.sort_columns().len();
                let sort = &mut self.sorts[self.view.index()];
                sort.column = (sort.column + columns - 1) % columns;
            }
            Action::SortByTime | Action::SortByMemory | Action::SortByCpu => {
                let name = match action {
                    Action::SortByTime => "LIFETIME",
                    Action::SortByMemory => "RSS",
                    _ => "CPU%",
                };
                let column = View::Processes
                    .sort_columns()
                    .iter()
                    .position(|c| *c == name);
                if let Some(column) = column {
                    self.view = View::Processes;
                    self.sorts[View::Processes.index()] = Sort {
                        column,
                        reverse: false,
                    };
                }
            }
            Action::Unsupported(what) => {
                self.notice = Some(Notice {
                    text: what.to_string(),
                    error: true,
                });
            }
            Action::ReverseSort => {
                let sort = &mut self.sorts[self.view.index()];
                sort.reverse = !sort.reverse;
            }
            Action::Enter => {
                if self.detail.is_none()
                    && let Some(pid) = self.selected_pid()
                {
                    self.detail = Some(pid);
                    self.detail_scroll = 0;
                    self.detail_cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
                        .ok()
                        .map(|p| visible(p.as_os_str().as_encoded_bytes()));
                    commands.push(Command::Watch {
                        pid: Some(pid),
                        follow: false,
                    });
                }
            }
            Action::Back => {
                if self.help {
                    self.help = false;
                } else if self.detail.is_some() && !self.detail_search.is_empty() {
                    // A search first, as htop's Esc does; the next leaves.
                    self.detail_search.clear();
                } else if self.detail.is_some() {
                    self.leave_detail(&mut commands);
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                }
            }
            Action::TogglePause => {
                self.paused = !self.paused;
                if !self.paused {
                    self.receive(self.latest.clone());
                }
            }
            Action::ToggleHelp => self.help = !self.help,
            Action::ToggleTree => self.tree = !self.tree,
            Action::ToggleExited => self.show_exited = !self.show_exited,
            Action::Collapse | Action::Expand => {
                if let Some(RowKey::Pid(pid)) = self.selected(View::Processes).key.clone() {
                    if action == Action::Collapse {
                        self.collapsed.insert(pid);
                    } else {
                        self.collapsed.remove(&pid);
                    }
                }
            }
            Action::ToggleWindow => self.recent_files = !self.recent_files,
            Action::Click(y) => {
                let first = super::render::FIRST_TABLE_ROW;
                if self.detail.is_none() && y >= first {
                    let target = self.selected(self.view).offset + (y - first) as usize;
                    let current = self.selected(self.view).index;
                    self.move_selection(target as isize - current as isize);
                }
            }
            Action::Resize(w, h) => {
                self.width = w;
                self.height = h;
                self.follow_selections();
            }
        }
        if matches!(
            action,
            Action::PromptChar(_) | Action::PromptBackspace | Action::PromptAccept
        ) && self.detail.is_none()
        {
            self.select_first_match();
        }
        if self.kernel_filter() != filter_before {
            // A PID filter goes into the kernel: other processes stop costing
            // anything and their rows stop updating.
            commands.push(Command::SetFilter(self.kernel_filter()));
        }
        if self.detail.is_none() {
            self.follow_selections();
        }
        commands
    }

    /// With a filter typed, the first process that matches it (not one of
    /// the ancestors shown around it) is selected, ready for Enter.
    fn select_first_match(&mut self) {
        let first = processes::rows(self)
            .iter()
            .find(|row| row.matches_filter())
            .map(|row| row.key());
        if let Some(key) = first {
            let selection = &mut self.selections[View::Processes.index()];
            selection.key = Some(key);
        }
    }

    /// Keys while the kill menu is open: nothing else happens meanwhile.
    fn update_kill_menu(&mut self, action: Action) {
        let Some(menu) = &mut self.kill_menu else {
            return;
        };
        match action {
            Action::Up => menu.selected = menu.selected.saturating_sub(1),
            Action::Down => menu.selected = (menu.selected + 1).min(KILL_SIGNALS.len() - 1),
            Action::Back | Action::Kill => self.kill_menu = None,
            Action::Quit => self.quit = true,
            Action::Enter => {
                let (signal, _) = KILL_SIGNALS[menu.selected];
                let (pid, comm, start_ns) = (menu.pid, menu.comm.clone(), menu.start_ns);
                self.kill_menu = None;
                let name = crate::collect::names::signal_name(signal);
                if !crate::collect::seed::started_at(pid, start_ns) {
                    self.notice = Some(Notice {
                        text: format!("{pid} {comm} has ended: nothing sent"),
                        error: true,
                    });
                    return;
                }
                // SAFETY: kill only sends a signal.
                let sent = unsafe { libc::kill(pid as i32, signal) } == 0;
                self.notice = Some(if sent {
                    Notice {
                        text: format!("sent {name} to {pid} {comm}"),
                        error: false,
                    }
                } else {
                    let err = std::io::Error::last_os_error();
                    Notice {
                        text: format!("could not send {name} to {pid} {comm}: {err}"),
                        error: true,
                    }
                });
            }
            Action::Resize(w, h) => {
                self.width = w;
                self.height = h;
            }
            _ => {}
        }
    }

    fn leave_detail(&mut self, commands: &mut Vec<Command>) {
        if self.detail.take().is_some() {
            self.detail_cwd = None;
            self.detail_search.clear();
            commands.push(Command::Watch {
                pid: None,
                follow: false,
            });
        }
    }

    pub fn sort_name(&self, view: View) -> &'static str {
        let columns = view.sort_columns();
        columns[self.sort(view).column % columns.len()]
    }

    /// The process the selected row is about.
    fn selected_pid(&self) -> Option<u32> {
        match (self.view, &self.selected(self.view).key) {
            (_, Some(RowKey::Pid(pid))) | (_, Some(RowKey::FailedExec(pid, _))) => Some(*pid),
            (View::Files, Some(RowKey::Path(path))) => self
                .snapshot
                .files
                .iter()
                .chain(&self.snapshot.recent_files)
                .find(|f| &f.path == path)
                .map(|f| f.last_pid),
            _ => None,
        }
    }

    /// Whether a process matches the substring filter (PID filters are
    /// matched on the PID alone).
    pub fn matches(&self, pid: u32, comm: &str, argv: &[String]) -> bool {
        let filter = self.active_filter();
        if filter.is_empty() {
            return true;
        }
        if let Some(want) = self.filter_pid() {
            return pid == want;
        }
        let needle = filter.to_lowercase();
        comm.to_lowercase().contains(&needle)
            || argv.iter().any(|a| a.to_lowercase().contains(&needle))
    }
}
