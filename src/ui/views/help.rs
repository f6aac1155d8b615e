//! The help (? or F1): every key of every view, the drill-down's, the kill
//! menu's and the prompt's, under the view they work in. The keys are read
//! from the binding table, so the help cannot go stale.

use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::app::{Action, App, View};
use crate::ui::keys::BINDINGS;
use crate::ui::render::popup;
use crate::ui::theme::Theme;

/// The keys of an entry: those bound to these actions, or named as such
/// (keys handled outside the binding table).
enum Keys {
    Of(&'static [Action]),
    Named(&'static str),
}

/// (section, entries): each entry its keys and what they do there.
const SECTIONS: &[(&str, &[(Keys, &str)])] = &[
    (
        "everywhere",
        &[
            (Keys::Of(&[Action::Quit]), "quit"),
            (Keys::Of(&[Action::ToggleHelp]), "this help"),
            (
                Keys::Of(&[
                    Action::Show(View::Processes),
                    Action::Show(View::Files),
                    Action::Show(View::Syscalls),
                    Action::Show(View::Errors),
                    Action::Show(View::Connections),
                ]),
                "processes, files, syscalls, errors, connections view",
            ),
            (
                Keys::Of(&[Action::NextView, Action::PrevView]),
                "next / previous view",
            ),
            (Keys::Of(&[Action::TogglePause]), "pause the display"),
            (
                Keys::Of(&[Action::Kill]),
                "signal the process, or the tagged",
            ),
            (Keys::Of(&[Action::Suspend]), "suspend; fg resumes"),
        ],
    ),
    (
        "tables (1 2 3 4 5)",
        &[
            (Keys::Of(&[Action::Up, Action::Down]), "move"),
            (
                Keys::Of(&[Action::PageUp, Action::PageDown, Action::Home, Action::End]),
                "page, first, last",
            ),
            (Keys::Named("mouse"), "click selects, wheel scrolls"),
            (Keys::Of(&[Action::OpenPrompt]), "filter: PID or command"),
            (Keys::Of(&[Action::CycleSort]), "next sort column"),
            (Keys::Of(&[Action::PrevSort]), "previous sort column"),
            (Keys::Of(&[Action::ReverseSort]), "reverse the sort"),
            (Keys::Of(&[Action::Enter]), "drill into the process"),
            (Keys::Of(&[Action::Back]), "clear the filter, then the user"),
            (Keys::Of(&[Action::Tag]), "tag / untag a process"),
            (Keys::Of(&[Action::UntagAll]), "untag all"),
            (Keys::Of(&[Action::UserMenu]), "one user's processes"),
            (
                Keys::Of(&[Action::ContainerMenu]),
                "one container's processes (in the kernel too)",
            ),
        ],
    ),
    (
        "1 processes",
        &[
            (Keys::Of(&[Action::ToggleTree]), "exec tree / busiest first"),
            (
                Keys::Of(&[Action::ToggleExited]),
                "exited and failed execs too",
            ),
            (Keys::Of(&[Action::Collapse]), "collapse a subtree"),
            (Keys::Of(&[Action::Expand]), "expand a subtree"),
            (
                Keys::Of(&[Action::SortByCpu, Action::SortByMemory, Action::SortByTime]),
                "sort by lifetime, memory, CPU",
            ),
            (Keys::Named("H"), "htop's threads: not yet"),
        ],
    ),
    (
        "2 files",
        &[
            (Keys::Of(&[Action::ToggleWindow]), "last 10 s / since start"),
            (Keys::Named("PROCS ~N"), "approximate: too many to track"),
        ],
    ),
    (
        "drill-down (Enter)",
        &[
            (
                Keys::Named("↑↓ PgUp PgDn"),
                "scroll the stream back in time",
            ),
            (Keys::Of(&[Action::OpenPrompt]), "search every line kept"),
            (Keys::Named("Esc"), "clear the search, then back"),
            (Keys::Of(&[Action::Kill]), "send it a signal"),
        ],
    ),
    (
        "kill and user menus",
        &[(Keys::Named("↑↓ Enter Esc"), "choose, take, cancel")],
    ),
    (
        "filter / search prompt",
        &[(Keys::Named("Enter Esc"), "keep, clear")],
    ),
];

fn key_name(code: &KeyCode, mods: &KeyModifiers) -> String {
    let name = match code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::BackTab => "Shift-Tab".to_string(),
        KeyCode::PageUp => "PgUp".to_string(),
        KeyCode::PageDown => "PgDn".to_string(),
        other => format!("{other:?}"),
    };
    if mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{name}")
    } else {
        name
    }
}

/// Every key bound to one of `actions`, in the table's order.
fn keys_of(actions: &[Action]) -> String {
    let names: Vec<String> = BINDINGS
        .iter()
        .filter(|(_, _, action, _)| actions.contains(action))
        .map(|(code, mods, _, _)| key_name(code, mods))
        .collect();
    names.join(" ")
}

/// The help's lines: the section of the view on screen first.
pub fn lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let current = if app.detail.is_some() {
        "drill-down (Enter)"
    } else {
        match app.view {
            View::Processes => "1 processes",
            View::Files => "2 files",
            View::Syscalls | View::Errors | View::Connections => "tables (1 2 3 4 5)",
        }
    };
    let mut order: Vec<&(&str, &[(Keys, &str)])> = SECTIONS.iter().collect();
    order.sort_by_key(|(name, _)| *name != current);
    let mut lines = Vec::new();
    for (name, entries) in order {
        lines.push(Line::styled(format!(" {name}"), theme.title()));
        for (keys, what) in *entries {
            let keys = match keys {
                Keys::Of(actions) => keys_of(actions),
                Keys::Named(name) => name.to_string(),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<19}"), theme.key()),
                Span::raw(what.to_string()),
            ]));
        }
    }
    lines
}

/// Two columns where they fit; else one, scrolled with the arrows.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let lines = lines(app, theme);
    let rows = area.height.saturating_sub(2) as usize;
    let columns = if lines.len() > rows && area.width >= TWO_COLUMNS {
        2
    } else {
        1
    };
    let per_column = lines.len().div_ceil(columns);
    let (width, title) = if columns == 2 {
        (TWO_COLUMNS, " keys (? or Esc closes) ")
    } else if lines.len() > rows {
        (ONE_COLUMN, " keys (↑↓ scroll, ? or Esc closes) ")
    } else {
        (ONE_COLUMN, " keys (? or Esc closes) ")
    };
    let inner = popup(
        frame,
        area,
        width,
        per_column.min(rows) as u16 + 2,
        title.into(),
        theme,
    );
    if columns == 1 {
        let scroll = app.help_scroll.min(lines.len().saturating_sub(rows));
        frame.render_widget(Paragraph::new(lines[scroll..].to_vec()), inner);
        return;
    }
    let halves = Layout::horizontal(vec![Constraint::Fill(1); columns]).split(inner);
    for (column, chunk) in lines.chunks(per_column).enumerate() {
        frame.render_widget(Paragraph::new(chunk.to_vec()), halves[column]);
    }
}

/// The help's widths: a column of keys and their text, or two.
const ONE_COLUMN: u16 = 64;
const TWO_COLUMNS: u16 = 128;
