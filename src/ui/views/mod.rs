//! One module a view: its rows, sort columns and rendering.

pub mod connections;
pub mod containers;
pub mod detail;
pub mod errors;
pub mod files;
pub mod help;
pub mod kill;
pub mod menu;
pub mod processes;
pub mod syscalls;
pub mod users;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row};

use super::selection::{Selection, Sort};
use super::theme::Theme;

/// A table view's state when it has no other: its selection and its sort.
#[derive(Clone, Debug)]
pub struct TableState {
    pub selection: Selection,
    pub sort: Sort,
}

impl TableState {
    /// Sorted by column COLUMN, first to last.
    pub fn sorted_by(column: usize) -> Self {
        Self {
            selection: Selection::default(),
            sort: Sort {
                column,
                reverse: false,
            },
        }
    }
}

/// A table's column widths: `fixed` ones, then the last column filling
/// what is left.
pub fn fill_last(fixed: &[u16]) -> Vec<ratatui::layout::Constraint> {
    use ratatui::layout::Constraint;
    fixed
        .iter()
        .map(|&w| Constraint::Length(w))
        .chain([Constraint::Fill(1)])
        .collect()
}

/// A process's row style: `style`, marked when the process is tagged.
pub fn tagged_style(
    app: &crate::ui::app::App,
    pid: u32,
    style: ratatui::style::Style,
    theme: &crate::ui::theme::Theme,
) -> ratatui::style::Style {
    match app.snapshot.process(pid) {
        Some(p) if app.is_tagged(p.pid, p.start_ns) => theme.tagged().patch(style),
        _ => style,
    }
}

/// A table's cells, names or widths with its CONTAINER column (the third,
/// after PID and COMMAND) only where the screen is WIDE enough for it.
pub fn with_container<T>(mut items: Vec<T>, wide: bool) -> Vec<T> {
    if !wide {
        items.remove(2);
    }
    items
}

/// A table's column names, the one it is sorted by highlighted (as htop
/// does), with an arrow when the order is reversed.
pub fn header_row<'a>(names: Vec<String>, sorted: &str, reverse: bool, theme: &Theme) -> Row<'a> {
    let cells = names.into_iter().map(|name| {
        if name == sorted {
            let arrow = if reverse { "↑" } else { "" };
            Cell::from(format!("{name}{arrow}")).style(theme.selected())
        } else {
            Cell::from(name)
        }
    });
    Row::new(cells.collect::<Vec<_>>()).style(theme.header())
}

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
