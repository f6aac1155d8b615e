//! The UI's state and the one place it changes: `update(action)`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bpf::Filter;
use crate::collect::{Command, Playback, ReplayStatus, SeekTo, SignalTarget, Snapshot};

use super::layout;
use super::selection::{RowKey, Selection, Sort};
use super::views::{
    connections, containers, detail, errors, files, kill, processes, syscalls, users,
};

pub use super::action::{Action, PlaybackKey, View};

/// How many rows a key moves by (back: negative): a page is `page` rows;
/// Home and End go as far as there is. None for a key that does not move.
fn movement(action: &Action, page: isize) -> Option<isize> {
    match action {
        Action::Up | Action::ScrollUp => Some(-1),
        Action::Down | Action::ScrollDown => Some(1),
        Action::PageUp => Some(-page),
        Action::PageDown => Some(page),
        Action::Home => Some(isize::MIN / 2),
        Action::End => Some(isize::MAX / 2),
        _ => None,
    }
}

/// A filter of digits only is a PID ("+5" or " 5" is text).
fn parse_pid(filter: &str) -> Option<u32> {
    if filter.is_empty() || !filter.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    filter.parse().ok()
}

pub struct App {
    /// What is on screen: not replaced while paused.
    pub snapshot: Arc<Snapshot>,
    /// The newest snapshot, shown when the pause ends.
    pub latest: Arc<Snapshot>,
    pub view: View,
    /// Each view's own selection, sort and options.
    pub processes: processes::State,
    pub files: files::State,
    pub syscalls: syscalls::State,
    pub errors: errors::State,
    pub connections: connections::State,
    /// Failed syscalls are counted from start to end (--errors), not only
    /// while the errors view is open; and whether they are counted now.
    pub errors_always: bool,
    errors_counted: bool,
    /// The process drilled into, over the view it was entered from.
    pub detail: Option<detail::State>,
    pub kill_menu: Option<kill::Menu>,
    pub user_menu: Option<users::Menu>,
    /// Only this user's processes, in the process and syscall views.
    pub user_filter: Option<u32>,
    pub container_menu: Option<containers::Menu>,
    /// Only this cgroup's processes (and those of the cgroups below it),
    /// by its id: in every view, and in the kernel.
    pub container_filter: Option<u64>,
    /// Tagged processes (Space), by PID, with their start: k signals them.
    pub tagged: BTreeMap<u32, u64>,
    pub paused: bool,
    pub help: bool,
    /// Lines of the help scrolled past, where it does not fit.
    pub help_scroll: usize,
    /// The filter being typed, or the stream search in the drill-down,
    /// while the prompt is open.
    pub prompt: Option<String>,
    /// The filter in effect: a PID, or a substring of the command line.
    pub filter: String,
    /// The filter given on the command line, kept under the one typed.
    pub base_filter: Filter,
    pub width: u16,
    pub height: u16,
    /// Where the kernel side takes open and exec results ("fexit",
    /// "sys_exit"), for the header.
    pub exit_hook: &'static str,
    /// What the last action did, said in the footer until the next key.
    pub notice: Option<Notice>,
    pub quit: bool,
    /// Where a replay is; None live.
    pub replay: Option<ReplayStatus>,
    /// The time being typed to go to, in a replay.
    pub time_prompt: Option<String>,
    /// The file being recorded to, live.
    pub recording: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

impl App {
    pub fn new(snapshot: Arc<Snapshot>, base_filter: Filter, width: u16, height: u16) -> Self {
        Self {
            snapshot: snapshot.clone(),
            latest: snapshot,
            view: View::Processes,
            processes: processes::State::default(),
            files: files::State::default(),
            syscalls: syscalls::initial_state(),
            errors: errors::initial_state(),
            connections: connections::initial_state(),
            errors_always: false,
            errors_counted: false,
            detail: None,
            kill_menu: None,
            user_menu: None,
            user_filter: None,
            container_menu: None,
            container_filter: None,
            tagged: BTreeMap::new(),
            paused: false,
            help: false,
            help_scroll: 0,
            prompt: None,
            filter: String::new(),
            base_filter,
            width,
            height,
            exit_hook: "",
            notice: None,
            quit: false,
            replay: None,
            time_prompt: None,
            recording: None,
        }
    }

    /// Rows a table shows between the header lines and the footer.
    pub fn body_rows(&self) -> usize {
        (self.height as usize).saturating_sub(layout::CHROME_ROWS)
    }

    /// The filter as typed so far, or the one in effect.
    pub fn active_filter(&self) -> &str {
        match (&self.prompt, &self.detail) {
            (Some(typed), None) => typed,
            _ => &self.filter,
        }
    }

    /// What the drilled-into process's syscall stream is searched for.
    pub fn stream_search(&self) -> &str {
        match (&self.prompt, &self.detail) {
            (Some(typed), Some(_)) => typed,
            (_, Some(detail)) => &detail.search,
            _ => "",
        }
    }

    /// A PID filter: all digits.
    pub fn filter_pid(&self) -> Option<u32> {
        parse_pid(self.active_filter())
    }

    pub fn detail_pid(&self) -> Option<u32> {
        self.detail.as_ref().map(|d| d.pid)
    }

    /// The user's name, from the snapshot (the collector looks names up).
    pub fn user_name(&self, uid: u32) -> String {
        if uid == crate::collect::process_tree::UNKNOWN_UID {
            return "?".into();
        }
        self.snapshot
            .users
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| uid.to_string())
    }

    pub fn selected(&self, view: View) -> &Selection {
        match view {
            View::Processes => &self.processes.selection,
            View::Files => &self.files.selection,
            View::Syscalls => &self.syscalls.selection,
            View::Errors => &self.errors.selection,
            View::Connections => &self.connections.selection,
        }
    }

    fn selection_mut(&mut self, view: View) -> &mut Selection {
        match view {
            View::Processes => &mut self.processes.selection,
            View::Files => &mut self.files.selection,
            View::Syscalls => &mut self.syscalls.selection,
            View::Errors => &mut self.errors.selection,
            View::Connections => &mut self.connections.selection,
        }
    }

    pub fn sort(&self, view: View) -> Sort {
        match view {
            View::Processes => self.processes.sort,
            View::Files => self.files.sort,
            View::Syscalls => self.syscalls.sort,
            View::Errors => self.errors.sort,
            View::Connections => self.connections.sort,
        }
    }

    fn sort_mut(&mut self, view: View) -> &mut Sort {
        match view {
            View::Processes => &mut self.processes.sort,
            View::Files => &mut self.files.sort,
            View::Syscalls => &mut self.syscalls.sort,
            View::Errors => &mut self.errors.sort,
            View::Connections => &mut self.connections.sort,
        }
    }

    pub fn sort_name(&self, view: View) -> &'static str {
        let columns = view.sort_columns();
        columns[self.sort(view).column % columns.len()]
    }

    fn row_keys(&self, view: View) -> Vec<RowKey> {
        match view {
            View::Processes => processes::rows(self).iter().map(|r| r.key()).collect(),
            View::Files => files::rows(self)
                .iter()
                .map(|f| RowKey::Path(f.path.clone()))
                .collect(),
            View::Syscalls => syscalls::rows(self)
                .iter()
                .map(|r| RowKey::Pid(r.pid))
                .collect(),
            View::Errors => errors::rows(self).into_iter().map(errors::key).collect(),
            View::Connections => connections::rows(self)
                .into_iter()
                .map(connections::key)
                .collect(),
        }
    }

    fn move_selection(&mut self, delta: isize) {
        if let Some(detail) = &self.detail {
            // The stream: newest at the bottom, Up goes back in time, as far
            // as the lines the search keeps.
            let lines = detail::stream_lines(self, detail.pid).len();
            let rows = detail::stream_rows(self);
            if let Some(detail) = &mut self.detail {
                detail.scroll_by(delta, lines, rows);
            }
            return;
        }
        let (view, height) = (self.view, self.body_rows());
        let keys = self.row_keys(view);
        self.selection_mut(view).step(delta, &keys, height);
    }

    /// Keeps the shown view's selection on its row after the rows changed.
    /// Only the view on screen: the others follow when they are shown.
    fn follow_selection(&mut self) {
        if self.detail.is_some() {
            return;
        }
        let (view, height) = (self.view, self.body_rows());
        let keys = self.row_keys(view);
        self.selection_mut(view).follow(&keys, height);
    }

    /// Takes a snapshot from the collector.
    pub fn receive(&mut self, snapshot: Arc<Snapshot>) {
        self.latest = snapshot;
        if !self.paused {
            self.snapshot = self.latest.clone();
            self.follow_selection();
        }
    }

    /// Says something in the footer until the next key.
    pub fn notify(&mut self, text: String, error: bool) {
        self.notice = Some(Notice { text, error });
    }

    /// What the kernel filters on: a PID once kept with Enter (not while
    /// typed: "1234" would narrow to 1, 12 and 123 on the way and lose
    /// other processes' events), over the command line's filter.
    fn kernel_filter(&self) -> Filter {
        Filter {
            pid: parse_pid(&self.filter).or(self.base_filter.pid),
            comm: self.base_filter.comm.clone(),
            cgroup: self
                .container_filter
                .and_then(|id| {
                    let cgroup = self.snapshot.cgroups.get(&id)?;
                    let level = cgroup.path.split('/').filter(|p| !p.is_empty()).count();
                    Some(crate::bpf::CgroupFilter {
                        id,
                        level: level as u32,
                        path: cgroup.path.clone(),
                    })
                })
                .or_else(|| self.base_filter.cgroup.clone()),
        }
    }

    /// Applies one action; returns the commands for the collector.
    pub fn update(&mut self, action: Action) -> Vec<Command> {
        let mut commands = Vec::new();
        let page = match self.detail {
            Some(_) => detail::stream_rows(self),
            None => self.body_rows(),
        }
        .max(1) as isize;
        let filter_before = self.kernel_filter();
        self.notice = None;
        if let Some(menu) = &mut self.kill_menu {
            match action {
                Action::Quit => self.quit = true,
                Action::Resize(w, h) => (self.width, self.height) = (w, h),
                _ => match menu.update(&action) {
                    kill::Outcome::Open => {}
                    kill::Outcome::Closed => self.kill_menu = None,
                    kill::Outcome::Send(command) => {
                        if menu.targets.len() > 1 {
                            self.tagged.clear();
                        }
                        self.kill_menu = None;
                        commands.push(command);
                    }
                },
            }
            return commands;
        }
        if let Some(menu) = &mut self.container_menu {
            match action {
                Action::Quit => self.quit = true,
                Action::Resize(w, h) => (self.width, self.height) = (w, h),
                _ => match menu.update(&action) {
                    containers::Outcome::Open => {}
                    containers::Outcome::Closed => self.container_menu = None,
                    containers::Outcome::Chosen(id) => {
                        self.container_menu = None;
                        self.container_filter = id;
                        self.follow_selection();
                    }
                },
            }
            if self.kernel_filter() != filter_before {
                commands.push(Command::SetFilter(self.kernel_filter()));
            }
            return commands;
        }
        if let Some(menu) = &mut self.user_menu {
            match action {
                Action::Quit => self.quit = true,
                Action::Resize(w, h) => (self.width, self.height) = (w, h),
                _ => match menu.update(&action) {
                    users::Outcome::Open => {}
                    users::Outcome::Closed => self.user_menu = None,
                    users::Outcome::Chosen(uid) => {
                        self.user_menu = None;
                        self.user_filter = uid;
                        self.follow_selection();
                    }
                },
            }
            return commands;
        }
        if let Some(typed) = &mut self.time_prompt {
            match action {
                Action::Quit => self.quit = true,
                Action::Resize(w, h) => (self.width, self.height) = (w, h),
                Action::PromptChar(c) => typed.push(c),
                Action::PromptBackspace => {
                    typed.pop();
                }
                Action::PromptClear | Action::PromptDeleteWord => typed.clear(),
                Action::PromptCancel => self.time_prompt = None,
                Action::PromptAccept => {
                    let typed = self.time_prompt.take().unwrap_or_default();
                    let status = self.replay.unwrap_or_default();
                    match super::playback::parse_time(&typed, &status) {
                        Ok(to) => commands.push(Command::Playback(Playback::Seek(to))),
                        Err(text) => self.notify(text, true),
                    }
                }
                _ => {}
            }
            return commands;
        }
        if self.help
            && let Some(delta) = movement(&action, page)
        {
            // As far as the last line at the bottom of the box.
            let lines = super::views::help::lines(self, &super::theme::Theme::plain()).len();
            let last = lines.saturating_sub(self.body_rows().saturating_sub(2));
            self.help_scroll = (self.help_scroll as isize)
                .saturating_add(delta)
                .clamp(0, last as isize) as usize;
            return commands;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::Suspend => {}
            Action::Kill => self.open_kill_menu(),
            Action::Up
            | Action::ScrollUp
            | Action::Down
            | Action::ScrollDown
            | Action::PageUp
            | Action::PageDown
            | Action::Home
            | Action::End => {
                if let Some(delta) = movement(&action, page) {
                    self.move_selection(delta);
                }
            }
            Action::NextView | Action::PrevView => {
                let step = if action == Action::NextView {
                    1
                } else {
                    View::ALL.len() - 1
                };
                let index = View::ALL.iter().position(|v| *v == self.view).unwrap_or(0);
                self.show(View::ALL[(index + step) % View::ALL.len()], &mut commands);
            }
            Action::Show(view) => self.show(view, &mut commands),
            Action::OpenPrompt => {
                self.prompt = Some(match &self.detail {
                    Some(detail) => detail.search.clone(),
                    None => self.filter.clone(),
                });
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
            Action::PromptClear => {
                if let Some(p) = &mut self.prompt {
                    p.clear();
                }
            }
            Action::PromptDeleteWord => {
                if let Some(p) = &mut self.prompt {
                    let kept = p.trim_end().rfind(' ').map_or(0, |i| i + 1);
                    p.truncate(kept);
                }
            }
            Action::PromptAccept => {
                if let Some(p) = self.prompt.take() {
                    match &mut self.detail {
                        Some(detail) => detail.search = p,
                        None => self.filter = p,
                    }
                }
            }
            Action::PromptCancel => {
                self.prompt = None;
                match &mut self.detail {
                    Some(detail) => detail.search.clear(),
                    None => self.filter.clear(),
                }
            }
            Action::CycleSort => {
                let columns = self.view.sort_columns().len();
                self.sort_mut(self.view).next(columns);
            }
            Action::PrevSort => {
                let columns = self.view.sort_columns().len();
                self.sort_mut(self.view).previous(columns);
            }
            Action::ReverseSort => {
                let sort = self.sort_mut(self.view);
                sort.reverse = !sort.reverse;
            }
            Action::SortByTime | Action::SortByMemory | Action::SortByCpu => {
                let name = match action {
                    Action::SortByTime => "LIFETIME",
                    Action::SortByMemory => "RSS",
                    _ => "CPU%",
                };
                self.show(View::Processes, &mut commands);
                self.processes.sort_by(name);
            }
            Action::Unsupported(what) => self.notify(what.to_string(), true),
            Action::UserMenu => {
                if self.detail.is_none() {
                    self.user_menu = Some(users::Menu::new(self));
                }
            }
            Action::ContainerMenu => {
                if self.detail.is_none() {
                    self.container_menu = Some(containers::Menu::new(self));
                }
            }
            Action::Tag => self.tag_selected(),
            Action::UntagAll => self.tagged.clear(),
            Action::Enter => {
                if self.detail.is_none()
                    && let Some(pid) = self.selected_pid()
                {
                    self.detail = Some(detail::State::new(pid));
                    commands.push(Command::Watch {
                        pid: Some(pid),
                        follow: false,
                    });
                }
            }
            Action::Back => {
                if self.help {
                    self.help = false;
                } else if let Some(detail) = &mut self.detail {
                    // A search first, as htop's Esc does; the next leaves.
                    if !detail.search.is_empty() {
                        detail.search.clear();
                    } else {
                        self.leave_detail(&mut commands);
                    }
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                } else {
                    self.user_filter = None;
                    self.container_filter = None;
                }
            }
            Action::TogglePause if self.replay.is_some() => {
                commands.push(Command::Playback(Playback::TogglePause));
            }
            Action::Playback(key) => self.playback(key, &mut commands),
            // The event loop's.
            Action::Record => {}
            Action::TogglePause => {
                self.paused = !self.paused;
                if !self.paused {
                    self.receive(self.latest.clone());
                }
            }
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            // The processes view's own keys: from another view, they show it.
            Action::ToggleTree | Action::ToggleExited => {
                self.show(View::Processes, &mut commands);
                self.processes.toggle(&action);
            }
            Action::Collapse | Action::Expand => {
                if self.view == View::Processes && self.detail.is_none() {
                    self.processes.toggle(&action);
                }
            }
            Action::ToggleWindow => {
                self.show(View::Files, &mut commands);
                self.files.recent = !self.files.recent;
            }
            Action::Click(y) => {
                let first = layout::FIRST_TABLE_ROW;
                if self.detail.is_none() && y >= first {
                    let target = self.selected(self.view).offset + (y - first) as usize;
                    let current = self.selected(self.view).index;
                    self.move_selection(target as isize - current as isize);
                }
            }
            Action::Resize(w, h) => (self.width, self.height) = (w, h),
        }
        if matches!(
            action,
            Action::PromptChar(_)
                | Action::PromptBackspace
                | Action::PromptClear
                | Action::PromptDeleteWord
                | Action::PromptAccept
        ) && self.detail.is_none()
        {
            self.select_first_match();
        }
        if self.kernel_filter() != filter_before {
            // A PID filter goes into the kernel: other processes stop costing
            // anything and their rows stop updating.
            commands.push(Command::SetFilter(self.kernel_filter()));
        }
        if matches!(
            action,
            Action::CycleSort
                | Action::PrevSort
                | Action::ReverseSort
                | Action::SortByTime
                | Action::SortByMemory
                | Action::SortByCpu
        ) {
            // A new order starts at its top: what comes first now is seen.
            let view = self.view;
            *self.selection_mut(view) = Selection::default();
        }
        self.follow_selection();
        // The counting program runs at every syscall's exit: only while
        // its view is open, unless asked for from start to end.
        let count_errors = self.errors_always || self.view == View::Errors;
        if count_errors != self.errors_counted {
            self.errors_counted = count_errors;
            commands.push(Command::CountErrors(count_errors));
        }
        commands
    }

    /// Failed syscalls are counted from start to end (--errors): the
    /// collector starts counting them itself.
    pub fn count_errors_always(&mut self) {
        self.errors_always = true;
        self.errors_counted = true;
    }

    /// Shows a view, leaving the drill-down.
    fn show(&mut self, view: View, commands: &mut Vec<Command>) {
        self.view = view;
        self.leave_detail(commands);
    }

    /// The kill menu, for the tagged processes that still run if any (and
    /// not drilled in), else for the selected one.
    fn open_kill_menu(&mut self) {
        let target = |p: &crate::collect::process_tree::ProcessInfo| SignalTarget {
            pid: p.pid,
            start_ns: p.start_ns,
            comm: p.comm.clone(),
        };
        let tagged: Vec<SignalTarget> = self
            .tagged
            .iter()
            .filter_map(|(pid, start)| self.snapshot.process(*pid).filter(|p| p.start_ns == *start))
            .filter(|p| p.exit.is_none())
            .map(target)
            .collect();
        if self.detail.is_none() && !tagged.is_empty() {
            self.kill_menu = Some(kill::Menu::new(tagged));
            return;
        }
        let pid = self.detail_pid().or_else(|| self.selected_pid());
        match pid.and_then(|pid| self.snapshot.process(pid)) {
            Some(p) if p.exit.is_none() && p.pid > 0 => {
                self.kill_menu = Some(kill::Menu::new(vec![target(p)]));
            }
            _ => self.notify("no running process selected".into(), true),
        }
    }

    /// Space: tags or untags the selected running process, then moves down.
    fn tag_selected(&mut self) {
        if self.detail.is_some() {
            return;
        }
        let process = self
            .selected_pid()
            .and_then(|pid| self.snapshot.process(pid));
        match process {
            Some(p) if p.exit.is_none() && p.pid > 0 => {
                if self.tagged.remove(&p.pid).is_none() {
                    self.tagged.insert(p.pid, p.start_ns);
                }
                self.move_selection(1);
            }
            _ => self.notify("no running process selected".into(), true),
        }
    }

    /// Whether cgroup `id` is `want` or below it, by their paths.
    fn in_cgroup(&self, id: u64, want: u64) -> bool {
        if id == want {
            return true;
        }
        let cgroups = &self.snapshot.cgroups;
        match (cgroups.get(&id), cgroups.get(&want)) {
            (Some(c), Some(w)) if w.path == "/" => !c.path.is_empty(),
            (Some(c), Some(w)) => c
                .path
                .strip_prefix(w.path.as_str())
                .is_some_and(|below| below.starts_with('/')),
            _ => false,
        }
    }

    /// Whether a process is tagged (a later one with its PID is not).
    pub fn is_tagged(&self, pid: u32, start_ns: u64) -> bool {
        self.tagged.get(&pid) == Some(&start_ns)
    }

    /// With a filter typed, the first process that matches it (not one of
    /// the ancestors shown around it) is selected, ready for Enter.
    fn select_first_match(&mut self) {
        let first = processes::rows(self)
            .iter()
            .find(|row| row.matches_filter())
            .map(|row| row.key());
        if let Some(key) = first {
            self.processes.selection.key = Some(key);
        }
    }

    fn leave_detail(&mut self, commands: &mut Vec<Command>) {
        if self.detail.take().is_some() {
            commands.push(Command::Watch {
                pid: None,
                follow: false,
            });
        }
    }

    /// The process the selected row is about.
    fn playback(&mut self, key: PlaybackKey, commands: &mut Vec<Command>) {
        if self.replay.is_none() {
            let text = "only in a replay: systrace-top --replay FILE";
            self.notify(text.into(), true);
            return;
        }
        let pid = self.detail_pid().or_else(|| self.selected_pid());
        let playback = match (key, pid) {
            (PlaybackKey::Faster, _) => Playback::Faster,
            (PlaybackKey::Slower, _) => Playback::Slower,
            (PlaybackKey::Step, _) => Playback::Step,
            (PlaybackKey::GoTo, _) => {
                self.time_prompt = Some(String::new());
                return;
            }
            (PlaybackKey::NextExec, Some(pid)) => Playback::Seek(SeekTo::NextExec(pid)),
            (PlaybackKey::NextError, Some(pid)) => Playback::Seek(SeekTo::NextError(pid)),
            (PlaybackKey::NextExec | PlaybackKey::NextError, None) => {
                self.notify("select a process first".into(), true);
                return;
            }
        };
        commands.push(Command::Playback(playback));
    }

    fn selected_pid(&self) -> Option<u32> {
        match (self.view, &self.selected(self.view).key) {
            (_, Some(RowKey::Pid(pid)))
            | (_, Some(RowKey::FailedExec(pid, _)))
            | (_, Some(RowKey::Error(pid, _, _)))
            | (_, Some(RowKey::Connection(pid, ..))) => Some(*pid),
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

    /// Whether a process matches the user filter and the substring filter
    /// (PID filters are matched on the PID alone).
    pub fn matches(&self, pid: u32, uid: u32, comm: &str, argv: &[String]) -> bool {
        if self.user_filter.is_some_and(|want| want != uid) {
            return false;
        }
        if let Some(want) = self.container_filter {
            let cgroup = self.snapshot.process(pid).map_or(0, |p| p.cgroup_id);
            if !self.in_cgroup(cgroup, want) {
                return false;
            }
        }
        let filter = self.active_filter();
        if filter.is_empty() {
            return true;
        }
        if let Some(want) = self.filter_pid() {
            return pid == want;
        }
        // The command line as shown, so that "dd if" matches across words.
        let needle = filter.to_lowercase();
        comm.to_lowercase().contains(&needle) || argv.join(" ").to_lowercase().contains(&needle)
    }
}
