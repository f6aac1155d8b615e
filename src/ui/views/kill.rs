//! htop's kill menu (k, F9): the signals, one chosen, sent on Enter to the
//! selected process, or to every tagged one.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::collect::event::visible;
use crate::collect::{Command, SignalTarget};
use crate::ui::app::Action;
use crate::ui::theme::Theme;

use super::menu::{self, Choice};

/// The signals the menu offers, the first chosen when it opens.
pub const SIGNALS: &[(i32, &str)] = &[
    (libc::SIGTERM, "SIGTERM  ask to end"),
    (libc::SIGKILL, "SIGKILL  end now"),
    (libc::SIGINT, "SIGINT   as Ctrl-C"),
    (libc::SIGHUP, "SIGHUP   hang up / reload"),
    (libc::SIGQUIT, "SIGQUIT  end with a core"),
    (libc::SIGSTOP, "SIGSTOP  stop"),
    (libc::SIGCONT, "SIGCONT  go on"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
];

/// The menu, open on one process or on the tagged ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Menu {
    /// Each with its start, to tell it from a later process that took its
    /// PID while the menu was open.
    pub targets: Vec<SignalTarget>,
    pub choice: Choice,
}

/// What a key did to the open menu.
pub enum Outcome {
    Open,
    Closed,
    /// Enter: the collector sends it, after checking each PID is still the
    /// same process.
    Send(Command),
}

impl Menu {
    pub fn new(targets: Vec<SignalTarget>) -> Self {
        Self {
            targets,
            choice: Choice::new(SIGNALS.len()),
        }
    }

    pub fn update(&mut self, action: &Action) -> Outcome {
        if *action == Action::Kill {
            return Outcome::Closed;
        }
        match self.choice.update(action) {
            menu::Key::Open => Outcome::Open,
            menu::Key::Closed => Outcome::Closed,
            menu::Key::Chosen(i) => Outcome::Send(Command::Signal {
                signal: SIGNALS[i].0,
                targets: self.targets.clone(),
            }),
        }
    }

    fn title(&self) -> String {
        match &self.targets[..] {
            [one] => format!(
                " send {} {} a signal ",
                one.pid,
                visible(one.comm.as_bytes())
            ),
            many => format!(" send the {} tagged processes a signal ", many.len()),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, menu: &Menu, theme: &Theme) {
    let items: Vec<String> = SIGNALS.iter().map(|(_, text)| text.to_string()).collect();
    menu::render(
        frame,
        area,
        menu.title(),
        &items,
        &menu.choice,
        "Enter sends, Esc cancels",
        theme,
    );
}
