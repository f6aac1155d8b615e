//! One module a view: its rows, sort columns and rendering.

pub mod detail;
pub mod files;
pub mod help;
pub mod kill;
pub mod menu;
pub mod processes;
pub mod syscalls;
pub mod users;

use ratatui::layout::Rect;
use ratatui::style::Style;

use super::selection::Selection;
use super::theme::Theme;

/// The rows a table in `area` has room for (its first line holds the column
/// names), each with the style that marks the selected one.
pub fn visible_rows<'a, T>(
    rows: &'a [T],
    selection: &Selection,
    area: Rect,
    theme: &Theme,
) -> impl Iterator<Item = (&'a T, Style)> {
    let selected = selection.index;
    let style = theme.selected();
    rows.iter()
        .enumerate()
        .skip(selection.offset)
        .take(area.height.saturating_sub(1) as usize)
        .map(move |(i, row)| {
            (
                row,
                if i == selected {
                    style
                } else {
                    Style::default()
                },
            )
        })
}
