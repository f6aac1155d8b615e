//! `c`: a menu of the containers (cgroups) that run processes, each with
//! its processes and calls/s; the one chosen filters every view, in the
//! kernel too (the cgroup and those below it).

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::ui::app::{Action, App};
use crate::ui::format;
use crate::ui::theme::Theme;

use super::menu::{self, Choice};

/// A choice: None for every container.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub cgroup_id: Option<u64>,
    pub label: String,
    pub processes: usize,
    pub per_sec: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Menu {
    pub items: Vec<Item>,
    pub choice: Choice,
}

pub enum Outcome {
    Open,
    Closed,
    Chosen(Option<u64>),
}

/// What the tables show for a process's cgroup: its container, else its
/// path; "-" for the root; "?" for one not known (read at no fork or exec,
/// or removed before it was named).
pub fn label(app: &App, cgroup_id: u64) -> String {
    match app.snapshot.cgroups.get(&cgroup_id) {
        Some(c) if c.container.is_none() && c.path == "/" => "-".into(),
        Some(c) => crate::collect::event::visible(c.label().as_bytes()),
        None => "?".into(),
    }
}

/// A process's container, by PID, as the tables show it.
pub fn of_pid(app: &App, pid: u32) -> String {
    app.snapshot
        .process(pid)
        .map_or_else(|| "?".into(), |p| label(app, p.cgroup_id))
}

impl Menu {
    /// Every cgroup with a running process, busiest first; the current
    /// filter chosen.
    pub fn new(app: &App) -> Self {
        let rates: HashMap<u32, f64> = app
            .snapshot
            .rates
            .iter()
            .map(|r| (r.pid, r.per_sec))
            .collect();
        let mut by_cgroup: HashMap<u64, (usize, f64)> = HashMap::new();
        for p in app.snapshot.processes.iter().filter(|p| p.exit.is_none()) {
            let entry = by_cgroup.entry(p.cgroup_id).or_default();
            entry.0 += 1;
            entry.1 += rates.get(&p.pid).copied().unwrap_or(0.0);
        }
        let mut items: Vec<Item> = by_cgroup
            .into_iter()
            .map(|(id, (processes, per_sec))| Item {
                cgroup_id: Some(id),
                label: label(app, id),
                processes,
                per_sec,
            })
            .collect();
        items.sort_by(|a, b| {
            b.per_sec
                .total_cmp(&a.per_sec)
                .then(b.processes.cmp(&a.processes))
                .then(a.label.cmp(&b.label))
        });
        items.insert(
            0,
            Item {
                cgroup_id: None,
                label: "all containers".into(),
                processes: app
                    .snapshot
                    .processes
                    .iter()
                    .filter(|p| p.exit.is_none())
                    .count(),
                per_sec: app.snapshot.rates.iter().map(|r| r.per_sec).sum(),
            },
        );
        let mut choice = Choice::new(items.len());
        choice.selected = items
            .iter()
            .position(|i| i.cgroup_id == app.container_filter)
            .unwrap_or(0);
        Self { items, choice }
    }

    pub fn update(&mut self, action: &Action) -> Outcome {
        match self.choice.update(action) {
            menu::Key::Open => Outcome::Open,
            menu::Key::Closed => Outcome::Closed,
            menu::Key::Chosen(i) => Outcome::Chosen(self.items[i].cgroup_id),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, menu: &Menu, theme: &Theme) {
    let items: Vec<String> = menu
        .items
        .iter()
        .map(|i| {
            format!(
                "{:<28} {:>5} procs {:>7}/s",
                format::fit_middle(&i.label, 28),
                i.processes,
                format::count(i.per_sec)
            )
        })
        .collect();
    menu::render(
        frame,
        area,
        " show the processes of ".into(),
        &items,
        &menu.choice,
        "Enter shows, Esc cancels",
        theme,
    );
}
