//! What a table's selection points at, and how a table is sorted: each view
//! keeps its own.

/// What a selection points at, so that it stays on the same row when new
/// snapshots move rows around.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RowKey {
    Pid(u32),
    FailedExec(u32, usize),
    Path(String),
    /// A failed syscall's row: PID, syscall, errno.
    Error(u32, u32, u32),
    /// A connections row: PID, what, protocol, address.
    Connection(u32, &'static str, &'static str, String),
}

#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub index: usize,
    pub offset: usize,
    pub key: Option<RowKey>,
}

impl Selection {
    /// Moves by `delta` rows within `keys`, keeping it visible in `height`.
    pub fn step(&mut self, delta: isize, keys: &[RowKey], height: usize) {
        if keys.is_empty() {
            *self = Selection::default();
            return;
        }
        let last = keys.len() - 1;
        self.index = (self.index as isize + delta).clamp(0, last as isize) as usize;
        self.key = Some(keys[self.index].clone());
        self.scroll_into_view(height);
    }

    /// Finds the selected row again after the rows changed. A row that is
    /// gone leaves the selection where it was on screen, on the row that
    /// took its place.
    pub fn follow(&mut self, keys: &[RowKey], height: usize) {
        if let Some(i) = self
            .key
            .as_ref()
            .and_then(|k| keys.iter().position(|x| x == k))
        {
            self.index = i;
        } else {
            self.index = self.index.min(keys.len().saturating_sub(1));
            self.key = keys.get(self.index).cloned();
        }
        self.offset = self.offset.min(keys.len().saturating_sub(height.max(1)));
        self.scroll_into_view(height);
    }

    fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.index < self.offset {
            self.offset = self.index;
        } else if self.index >= self.offset + height {
            self.offset = self.index + 1 - height;
        }
    }
}

/// Sort columns: each view lists its own; `s` cycles, `r` reverses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sort {
    pub column: usize,
    pub reverse: bool,
}

impl Sort {
    pub fn next(&mut self, columns: usize) {
        self.column = (self.column + 1) % columns;
    }

    pub fn previous(&mut self, columns: usize) {
        self.column = (self.column + columns - 1) % columns;
    }
}
