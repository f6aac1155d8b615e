//! htop's u: a menu of the users that run processes; the one chosen
//! filters the process and syscall views.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::ui::app::{Action, App};
use crate::ui::theme::Theme;

use super::menu::{self, Choice};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Menu {
    /// None: all users. Then each user, by name.
    pub users: Vec<(Option<u32>, String)>,
    pub choice: Choice,
}

pub enum Outcome {
    Open,
    Closed,
    Chosen(Option<u32>),
}

impl Menu {
    /// Every user with a process in the snapshot; the current filter chosen.
    pub fn new(app: &App) -> Self {
        let mut uids: Vec<u32> = app.snapshot.processes.iter().map(|p| p.uid).collect();
        uids.sort_unstable();
        uids.dedup();
        let mut users: Vec<(Option<u32>, String)> = uids
            .into_iter()
            .map(|uid| (Some(uid), app.user_name(uid)))
            .collect();
        users.sort_by(|a, b| a.1.cmp(&b.1));
        users.insert(0, (None, "all users".into()));
        let mut choice = Choice::new(users.len());
        choice.selected = users
            .iter()
            .position(|(uid, _)| *uid == app.user_filter)
            .unwrap_or(0);
        Self { users, choice }
    }

    pub fn update(&mut self, action: &Action) -> Outcome {
        match self.choice.update(action) {
            menu::Key::Open => Outcome::Open,
            menu::Key::Closed => Outcome::Closed,
            menu::Key::Chosen(i) => Outcome::Chosen(self.users[i].0),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, menu: &Menu, theme: &Theme) {
    let items: Vec<String> = menu
        .users
        .iter()
        .map(|(uid, name)| match uid {
            Some(uid) => format!("{name} ({uid})"),
            None => name.clone(),
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
