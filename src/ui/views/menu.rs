//! A popup list to choose one item from (the kill menu's signals, the
//! user filter's users): Up/Down choose, Enter takes, Esc closes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::ui::app::Action;
use crate::ui::render::popup;
use crate::ui::theme::Theme;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub selected: usize,
    pub len: usize,
    /// The first item shown, when they do not all fit.
    pub offset: usize,
}

/// What a key did to an open menu.
pub enum Key {
    Open,
    Closed,
    Chosen(usize),
}

impl Choice {
    pub fn new(len: usize) -> Self {
        Self {
            selected: 0,
            len,
            offset: 0,
        }
    }

    pub fn update(&mut self, action: &Action) -> Key {
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(self.len.saturating_sub(1)),
            Action::Home => self.selected = 0,
            Action::End => self.selected = self.len.saturating_sub(1),
            Action::Back => return Key::Closed,
            Action::Enter if self.len > 0 => return Key::Chosen(self.selected),
            _ => {}
        }
        Key::Open
    }
}

/// The menu in a box in the middle of `area`, the chosen item highlighted
/// and kept in view, `hint` on its last line.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    title: String,
    items: &[String],
    choice: &Choice,
    hint: &str,
    theme: &Theme,
) {
    let longest = items.iter().map(|i| i.chars().count()).max().unwrap_or(0);
    let width = (title.chars().count().max(longest + 2).max(hint.len() + 2) + 4) as u16;
    let height = items.len() as u16 + 3;
    let inner = popup(frame, area, width, height, title, theme);
    let rows = inner.height.saturating_sub(1) as usize;
    let offset = choice
        .selected
        .saturating_sub(rows.saturating_sub(1))
        .max(choice.offset.min(choice.selected));
    let mut lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows)
        .map(|(i, text)| {
            let style = if i == choice.selected {
                theme.selected()
            } else {
                theme.normal()
            };
            Line::styled(format!(" {text}"), style)
        })
        .collect();
    lines.push(Line::styled(format!(" {hint}"), theme.dim()));
    frame.render_widget(Paragraph::new(lines), inner);
}
