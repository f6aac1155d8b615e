//! What the user can ask for: the views, and the actions keys and the mouse
//! map to (the table is in `keys`).

use super::views::{connections, errors, files, processes, syscalls};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Processes,
    Files,
    Syscalls,
    Errors,
    Connections,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Processes,
        View::Files,
        View::Syscalls,
        View::Errors,
        View::Connections,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Processes => "Processes",
            View::Files => "Files",
            View::Syscalls => "Syscalls",
            View::Errors => "Errors",
            View::Connections => "Connections",
        }
    }

    pub fn sort_columns(self) -> &'static [&'static str] {
        match self {
            View::Processes => processes::SORT_COLUMNS,
            View::Files => files::SORT_COLUMNS,
            View::Syscalls => syscalls::SORT_COLUMNS,
            View::Errors => errors::SORT_COLUMNS,
            View::Connections => connections::SORT_COLUMNS,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    NextView,
    PrevView,
    Show(View),
    OpenPrompt,
    PromptChar(char),
    PromptBackspace,
    /// Ctrl-U in the prompt.
    PromptClear,
    /// Ctrl-W in the prompt.
    PromptDeleteWord,
    PromptAccept,
    PromptCancel,
    CycleSort,
    ReverseSort,
    Enter,
    Back,
    TogglePause,
    ToggleHelp,
    ToggleTree,
    Collapse,
    Expand,
    ToggleWindow,
    /// A click on screen row `y`.
    Click(u16),
    ScrollUp,
    ScrollDown,
    Resize(u16, u16),
    /// Ctrl-Z: the terminal given back, the tool stopped until `fg`. Done
    /// by the event loop, which owns the terminal.
    Suspend,
    /// htop's k and F9: a menu of signals for the selected process.
    Kill,
    /// htop's `<`: the previous sort column.
    PrevSort,
    /// The flat list: exited processes and failed execs shown or not.
    ToggleExited,
    /// htop's T: the processes by how long they have run.
    SortByTime,
    /// htop's M.
    SortByMemory,
    /// htop's P.
    SortByCpu,
    /// An htop key this cannot honour: the footer says what it would do.
    Unsupported(&'static str),
    /// htop's Space: tag the selected process (k then signals every tagged
    /// one) or untag it.
    Tag,
    /// htop's U.
    UntagAll,
    /// htop's u: a menu of users to show the processes of.
    UserMenu,
    /// c: a menu of containers (cgroups) to show the processes of.
    ContainerMenu,
    /// Moving through a replay.
    Playback(PlaybackKey),
    /// R: start or stop recording. Done by the event loop, which owns the
    /// recording.
    Record,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaybackKey {
    Faster,
    Slower,
    Step,
    /// A prompt for the time to go to.
    GoTo,
    NextExec,
    NextError,
}
