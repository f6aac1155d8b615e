//! Where things go on screen: the sizes every view lays itself out by.

/// The smallest terminal the views are laid out for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
/// Two header lines, the table's column header and the footer.
pub const CHROME_ROWS: usize = 4;
/// Screen row of the first table row (after the header and column names).
pub const FIRST_TABLE_ROW: u16 = 3;
/// From this width on, the drill-down puts its syscall stream and summary
/// side by side, and tables show their wide-only columns.
pub const WIDE: u16 = 120;
/// From this width on, tables add what only a very wide screen has room for.
pub const VERY_WIDE: u16 = 180;
/// The CONTAINER column, from WIDE on: "docker:4f1c2d3e4f5a" and a gap.
pub const CONTAINER_WIDTH: u16 = 20;
/// ratatui's default gap between table columns.
pub const COLUMN_GAP: u16 = 1;

/// The width left to a table's one `Fill` column once the fixed ones and
/// the gaps between all of them are taken.
pub fn fill_width(total: u16, fixed: &[u16]) -> usize {
    let gaps = COLUMN_GAP * fixed.len() as u16;
    total.saturating_sub(fixed.iter().sum::<u16>() + gaps) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fill_column_gets_what_is_left() {
        assert_eq!(fill_width(80, &[7, 8]), 80 - 15 - 2);
        assert_eq!(fill_width(10, &[7, 8]), 0);
    }
}
