//! htop's kill menu (k, F9): the signals, one chosen, sent on Enter.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::collect::Command;
use crate::collect::event::visible;
use crate::ui::app::Action;
use crate::ui::render::popup;
use crate::ui::theme::Theme;

/// The signals the menu offers, the first chosen when it opens.
pub const SIGNALS: &[(i32, &str)] = &[
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

/// The menu, open on one process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Menu {
    pub pid: u32,
    pub comm: String,
    /// Its start (CLOCK_MONOTONIC ns), to tell it from a later process
    /// that took its PID while the menu was open.
    pub start_ns: u64,
    pub selected: usize,
}

/// What a key did to the open menu.
pub enum Outcome {
    Open,
    Closed,
    /// Enter: the collector sends it, after checking the PID is still the
    /// same process.
    Send(Command),
}

impl Menu {
    pub fn update(&mut self, action: &Action) -> Outcome {
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(SIGNALS.len() - 1),
            Action::Back | Action::Kill => return Outcome::Closed,
            Action::Enter => {
                return Outcome::Send(Command::Signal {
                    pid: self.pid,
                    start_ns: self.start_ns,
                    signal: SIGNALS[self.selected].0,
                    comm: self.comm.clone(),
                });
            }
            _ => {}
        }
        Outcome::Open
    }
}

pub fn render(frame: &mut Frame, area: Rect, menu: &Menu, theme: &Theme) {
    let title = format!(
        " send {} {} a signal ",
        menu.pid,
        visible(menu.comm.as_bytes())
    );
    let width = title.chars().count() as u16 + 4;
    let height = SIGNALS.len() as u16 + 3;
    let inner = popup(frame, area, width.max(34), height, title, theme);
    let mut lines: Vec<Line> = SIGNALS
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            let style = if i == menu.selected {
                theme.selected()
            } else {
                theme.normal()
            };
            Line::styled(format!(" {text}"), style)
        })
        .collect();
    lines.push(Line::styled(" Enter sends, Esc cancels", theme.dim()));
    frame.render_widget(Paragraph::new(lines), inner);
}
