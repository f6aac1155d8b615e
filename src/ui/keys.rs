//! Every key binding, in one table: what it does, and the help text for it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::app::{Action, PlaybackKey, View};

/// (key, modifiers, action, help). The help screen lists these in order.
pub const BINDINGS: &[(KeyCode, KeyModifiers, Action, &str)] = &[
    (KeyCode::Char('q'), KeyModifiers::NONE, Action::Quit, "quit"),
    (KeyCode::F(10), KeyModifiers::NONE, Action::Quit, "quit"),
    (
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
        Action::Quit,
        "quit",
    ),
    (
        KeyCode::Char('z'),
        KeyModifiers::CONTROL,
        Action::Suspend,
        "suspend; fg resumes",
    ),
    (
        KeyCode::Char('1'),
        KeyModifiers::NONE,
        Action::Show(View::Processes),
        "processes view",
    ),
    (
        KeyCode::Char('2'),
        KeyModifiers::NONE,
        Action::Show(View::Files),
        "files view",
    ),
    (
        KeyCode::Char('3'),
        KeyModifiers::NONE,
        Action::Show(View::Syscalls),
        "syscalls view",
    ),
    (
        KeyCode::Char('4'),
        KeyModifiers::NONE,
        Action::Show(View::Errors),
        "errors view",
    ),
    (
        KeyCode::Char('5'),
        KeyModifiers::NONE,
        Action::Show(View::Connections),
        "connections view",
    ),
    (
        KeyCode::Tab,
        KeyModifiers::NONE,
        Action::NextView,
        "next view",
    ),
    (
        KeyCode::BackTab,
        KeyModifiers::SHIFT,
        Action::PrevView,
        "previous view",
    ),
    (KeyCode::Up, KeyModifiers::NONE, Action::Up, "move up"),
    (
        KeyCode::Char('k'),
        KeyModifiers::NONE,
        Action::Kill,
        "send a signal (kill)",
    ),
    (
        KeyCode::F(9),
        KeyModifiers::NONE,
        Action::Kill,
        "send a signal (kill)",
    ),
    // htop's other keys, where they mean what they do there.
    (
        KeyCode::F(3),
        KeyModifiers::NONE,
        Action::OpenPrompt,
        "filter: PID or command",
    ),
    (
        KeyCode::F(4),
        KeyModifiers::NONE,
        Action::OpenPrompt,
        "filter: PID or command",
    ),
    (
        KeyCode::F(5),
        KeyModifiers::NONE,
        Action::ToggleTree,
        "tree / flat list",
    ),
    (
        KeyCode::F(6),
        KeyModifiers::NONE,
        Action::CycleSort,
        "next sort column",
    ),
    (
        KeyCode::Char('>'),
        KeyModifiers::NONE,
        Action::CycleSort,
        "next sort column",
    ),
    (
        KeyCode::Char('<'),
        KeyModifiers::NONE,
        Action::PrevSort,
        "previous sort column",
    ),
    (
        KeyCode::Char('T'),
        KeyModifiers::NONE,
        Action::SortByTime,
        "processes by lifetime",
    ),
    (
        KeyCode::Char('M'),
        KeyModifiers::NONE,
        Action::SortByMemory,
        "processes by memory",
    ),
    (
        KeyCode::Char('P'),
        KeyModifiers::NONE,
        Action::SortByCpu,
        "processes by CPU",
    ),
    (
        KeyCode::Char('u'),
        KeyModifiers::NONE,
        Action::UserMenu,
        "show one user's processes",
    ),
    (
        KeyCode::Char('c'),
        KeyModifiers::NONE,
        Action::ContainerMenu,
        "show one container's processes",
    ),
    (
        KeyCode::Char('U'),
        KeyModifiers::NONE,
        Action::UntagAll,
        "untag all",
    ),
    (
        KeyCode::F(2),
        KeyModifiers::NONE,
        Action::Unsupported("F2: no setup screen; the columns follow the width"),
        "htop's setup: none",
    ),
    (
        KeyCode::F(7),
        KeyModifiers::NONE,
        Action::Unsupported("F7/F8: priorities are not changed from here"),
        "htop's nice: not here",
    ),
    (
        KeyCode::F(8),
        KeyModifiers::NONE,
        Action::Unsupported("F7/F8: priorities are not changed from here"),
        "htop's nice: not here",
    ),
    (
        KeyCode::Char('l'),
        KeyModifiers::NONE,
        Action::Unsupported("l: Enter drills in: the files it has open now and those it opened"),
        "htop's lsof: see the drill-down",
    ),
    (
        KeyCode::Char('e'),
        KeyModifiers::NONE,
        Action::Unsupported("e: the environment is not shown"),
        "htop's environment: not here",
    ),
    (
        KeyCode::Char('a'),
        KeyModifiers::NONE,
        Action::Unsupported("a: CPU affinity is not set from here"),
        "htop's affinity: not here",
    ),
    (
        KeyCode::Char('I'),
        KeyModifiers::NONE,
        Action::ReverseSort,
        "reverse the sort",
    ),
    (
        KeyCode::Char('H'),
        KeyModifiers::NONE,
        Action::Unsupported("H: threads are not listed apart; their calls count in their process"),
        "htop's H: not yet",
    ),
    (KeyCode::Down, KeyModifiers::NONE, Action::Down, "move down"),
    (
        KeyCode::Char('j'),
        KeyModifiers::NONE,
        Action::Down,
        "move down",
    ),
    (
        KeyCode::PageUp,
        KeyModifiers::NONE,
        Action::PageUp,
        "page up",
    ),
    (
        KeyCode::PageDown,
        KeyModifiers::NONE,
        Action::PageDown,
        "page down",
    ),
    (KeyCode::Home, KeyModifiers::NONE, Action::Home, "first row"),
    (KeyCode::End, KeyModifiers::NONE, Action::End, "last row"),
    (
        KeyCode::Char('/'),
        KeyModifiers::NONE,
        Action::OpenPrompt,
        "filter: PID or command",
    ),
    (
        KeyCode::Char('s'),
        KeyModifiers::NONE,
        Action::CycleSort,
        "next sort column",
    ),
    (
        KeyCode::Char('r'),
        KeyModifiers::NONE,
        Action::ReverseSort,
        "reverse the sort",
    ),
    (
        KeyCode::Enter,
        KeyModifiers::NONE,
        Action::Enter,
        "drill into a process",
    ),
    (
        KeyCode::Esc,
        KeyModifiers::NONE,
        Action::Back,
        "back / clear filter",
    ),
    (
        KeyCode::Backspace,
        KeyModifiers::NONE,
        Action::Back,
        "back / clear filter",
    ),
    (
        KeyCode::Char(' '),
        KeyModifiers::NONE,
        Action::Tag,
        "tag / untag",
    ),
    (
        KeyCode::Char('Z'),
        KeyModifiers::NONE,
        Action::TogglePause,
        "pause the display",
    ),
    (
        KeyCode::Char('p'),
        KeyModifiers::NONE,
        Action::TogglePause,
        "pause the display",
    ),
    (
        KeyCode::Char('t'),
        KeyModifiers::NONE,
        Action::ToggleTree,
        "tree / flat list",
    ),
    (
        KeyCode::Char('x'),
        KeyModifiers::NONE,
        Action::ToggleExited,
        "flat list: exited and failed too",
    ),
    (
        KeyCode::Char('-'),
        KeyModifiers::NONE,
        Action::Collapse,
        "collapse subtree",
    ),
    (
        KeyCode::Left,
        KeyModifiers::NONE,
        Action::Collapse,
        "collapse subtree",
    ),
    (
        KeyCode::Char('+'),
        KeyModifiers::NONE,
        Action::Expand,
        "expand subtree",
    ),
    (
        KeyCode::Right,
        KeyModifiers::NONE,
        Action::Expand,
        "expand subtree",
    ),
    (
        KeyCode::Char('w'),
        KeyModifiers::NONE,
        Action::ToggleWindow,
        "files: last 10 s / all",
    ),
    (
        KeyCode::Char('R'),
        KeyModifiers::NONE,
        Action::Record,
        "record to a file / stop",
    ),
    (
        KeyCode::Char(']'),
        KeyModifiers::NONE,
        Action::Playback(PlaybackKey::Faster),
        "replay: faster",
    ),
    (
        KeyCode::Char('['),
        KeyModifiers::NONE,
        Action::Playback(PlaybackKey::Slower),
        "replay: slower",
    ),
    (
        KeyCode::Char('.'),
        KeyModifiers::NONE,
        Action::Playback(PlaybackKey::Step),
        "replay: one tick on, paused",
    ),
    (
        KeyCode::Char('g'),
        KeyModifiers::NONE,
        Action::Playback(PlaybackKey::GoTo),
        "replay: go to a time",
    ),
    (
        KeyCode::Char('n'),
        KeyModifiers::NONE,
        Action::Playback(PlaybackKey::NextExec),
        "replay: the process's next exec",
    ),
    (
        KeyCode::Char('N'),
        KeyModifiers::NONE,
        Action::Playback(PlaybackKey::NextError),
        "replay: the process's next failed call",
    ),
    (
        KeyCode::Char('?'),
        KeyModifiers::NONE,
        Action::ToggleHelp,
        "this help",
    ),
    (
        KeyCode::F(1),
        KeyModifiers::NONE,
        Action::ToggleHelp,
        "this help",
    ),
];

/// The actions for a key. A terminal sends Esc and a key typed right after
/// it as one Alt-key: it is read as the two keys the user typed.
pub fn actions_for_key(key: KeyEvent, prompt: bool) -> Vec<Action> {
    // No binding uses Alt. Esc then a typed key arrives as Alt-key; Alt with
    // an arrow or a function key is its own sequence: the Alt is dropped.
    if key.modifiers.contains(KeyModifiers::ALT)
        && !matches!(
            key.code,
            KeyCode::Char(_) | KeyCode::Enter | KeyCode::Backspace | KeyCode::Tab
        )
    {
        let plain = KeyEvent::new(key.code, key.modifiers - KeyModifiers::ALT);
        return action_for_key(plain, prompt).into_iter().collect();
    }
    if key.modifiers.contains(KeyModifiers::ALT) {
        let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
        let plain = KeyEvent::new(key.code, key.modifiers - KeyModifiers::ALT);
        let first = action_for_key(esc, prompt);
        // After Esc closes a prompt, the key is an ordinary one.
        let prompt_after = prompt && first != Some(Action::PromptCancel);
        return first
            .into_iter()
            .chain(action_for_key(plain, prompt_after))
            .collect();
    }
    action_for_key(key, prompt).into_iter().collect()
}

/// The action for a key; `prompt` when the filter prompt is open.
pub fn action_for_key(key: KeyEvent, prompt: bool) -> Option<Action> {
    if prompt {
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        return match key.code {
            KeyCode::Enter => Some(Action::PromptAccept),
            KeyCode::Esc => Some(Action::PromptCancel),
            KeyCode::Backspace => Some(Action::PromptBackspace),
            // A shell's line editing keys, never typed as letters.
            KeyCode::Char('c') if control => Some(Action::Quit),
            KeyCode::Char('z') if control => Some(Action::Suspend),
            KeyCode::Char('h') if control => Some(Action::PromptBackspace),
            KeyCode::Char('u') if control => Some(Action::PromptClear),
            KeyCode::Char('w') if control => Some(Action::PromptDeleteWord),
            KeyCode::Char(_) if control => None,
            KeyCode::Char(c) => Some(Action::PromptChar(c)),
            _ => None,
        };
    }
    // Shift arrives with '+', '?' and Shift-Tab on most terminals: ignore it
    // except where it is the binding's point.
    let modifiers = if matches!(key.code, KeyCode::Char(_)) {
        key.modifiers - KeyModifiers::SHIFT
    } else {
        key.modifiers
    };
    let bound = BINDINGS
        .iter()
        .find(|(code, mods, _, _)| *code == key.code && *mods == modifiers)
        .map(|(_, _, action, _)| action.clone());
    // A key that does nothing says so, rather than nothing at all.
    match (bound, key.code) {
        (Some(action), _) => Some(action),
        (None, KeyCode::Char(_) | KeyCode::F(_)) => Some(Action::Unsupported(
            "that key does nothing here: ? lists every key",
        )),
        (None, _) => None,
    }
}

pub fn action_for_mouse(mouse: MouseEvent) -> Option<Action> {
    match mouse.kind {
        MouseEventKind::Down(_) => Some(Action::Click(mouse.row)),
        MouseEventKind::ScrollUp => Some(Action::ScrollUp),
        MouseEventKind::ScrollDown => Some(Action::ScrollDown),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn htop_keys_map_to_actions() {
        assert_eq!(
            action_for_key(key(KeyCode::Char('q')), false),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for_key(key(KeyCode::F(10)), false),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for_key(
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                false
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for_key(key(KeyCode::Char('j')), false),
            Some(Action::Down)
        );
        assert_eq!(
            action_for_key(key(KeyCode::F(1)), false),
            Some(Action::ToggleHelp)
        );
        assert_eq!(
            action_for_key(
                KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT),
                false
            ),
            Some(Action::ToggleHelp)
        );
        assert_eq!(
            action_for_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT), false),
            Some(Action::PrevView)
        );
        assert!(matches!(
            action_for_key(key(KeyCode::Char('y')), false),
            Some(Action::Unsupported(_))
        ));
    }

    #[test]
    fn the_prompt_takes_typed_characters() {
        assert_eq!(
            action_for_key(key(KeyCode::Char('q')), true),
            Some(Action::PromptChar('q'))
        );
        assert_eq!(
            action_for_key(key(KeyCode::Enter), true),
            Some(Action::PromptAccept)
        );
        assert_eq!(
            action_for_key(key(KeyCode::Esc), true),
            Some(Action::PromptCancel)
        );
    }

    #[test]
    fn more_of_htops_keys() {
        let shifted = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT);
        for (event, action) in [
            (key(KeyCode::Char('k')), Action::Kill),
            (key(KeyCode::F(9)), Action::Kill),
            (key(KeyCode::F(3)), Action::OpenPrompt),
            (key(KeyCode::F(4)), Action::OpenPrompt),
            (key(KeyCode::F(5)), Action::ToggleTree),
            (key(KeyCode::F(6)), Action::CycleSort),
            (shifted('>'), Action::CycleSort),
            (shifted('<'), Action::PrevSort),
            (shifted('T'), Action::SortByTime),
            (
                KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL),
                Action::Suspend,
            ),
        ] {
            assert_eq!(action_for_key(event, false), Some(action), "{event:?}");
        }
        assert_eq!(
            action_for_key(shifted('M'), false),
            Some(Action::SortByMemory)
        );
        assert_eq!(action_for_key(shifted('P'), false), Some(Action::SortByCpu));
        assert_eq!(
            action_for_key(key(KeyCode::Char('u')), false),
            Some(Action::UserMenu)
        );
        assert_eq!(
            action_for_key(key(KeyCode::Char(' ')), false),
            Some(Action::Tag)
        );
        assert_eq!(action_for_key(shifted('U'), false), Some(Action::UntagAll));
        assert_eq!(
            action_for_key(shifted('Z'), false),
            Some(Action::TogglePause)
        );
        // What it cannot do yet, it says.
        assert!(matches!(
            action_for_key(shifted('H'), false),
            Some(Action::Unsupported(_))
        ));
    }

    #[test]
    fn esc_then_a_key_is_two_keys_not_alt() {
        let alt = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT);
        assert_eq!(
            actions_for_key(alt('1'), false),
            [Action::Back, Action::Show(View::Processes)]
        );
        // In the prompt, Esc cancels it and the key is an ordinary one.
        assert_eq!(
            actions_for_key(alt('q'), true),
            [Action::PromptCancel, Action::Quit]
        );
        // Alt with an arrow is its own sequence: the arrow.
        let alt_up = KeyEvent::new(KeyCode::Up, KeyModifiers::ALT);
        assert_eq!(actions_for_key(alt_up, false), [Action::Up]);
    }
}
