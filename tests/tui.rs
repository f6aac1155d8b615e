//! End to end: the real terminal UI, driven through tmux as a user would.
//! A known process tree (the probe example, copied under a unique name) is
//! filtered, drilled into, and then `q` must hand the terminal back as the
//! shell had it. Every wait polls with a deadline: snapshots come once a
//! second, so fixed sleeps would be both slow and flaky.

mod common;

use std::cell::Cell;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Polls `f` every 50 ms until it gives a value; after `secs`, panics with
/// `what` and `context()` (the screen, so a failure shows what was seen).
fn poll<T>(
    what: &str,
    secs: u64,
    context: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "waited {secs} s for {what}; the screen:\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A tmux server on a private socket, so nothing of the user's (or of a
/// parallel run) is touched. Its one session is named `t`.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env("TERM", "xterm-256color")
            .output()
            .expect("running tmux (is it installed?)");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "tmux {args:?}: {err}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `send-keys`: key names (`Enter`, `Home`), or text with `-l`.
    fn send(&self, keys: &[&str]) {
        self.run(&[&["send-keys", "-t", "t"], keys].concat());
    }

    /// A shell command line, then Enter.
    fn shell(&self, line: &str) {
        self.send(&["-l", line]);
        self.send(&["Enter"]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    /// `/TEXT` Enter: the UI's filter, typed as hex bytes, so that no
    /// process (a `send-keys -l TEXT`) has TEXT in its command line.
    fn filter(&self, text: &str) {
        let mut hex = vec!["-H".to_string()];
        hex.extend(text.bytes().map(|b| format!("{b:02x}")));
        self.send(&["-l", "/"]);
        self.send(&hex.iter().map(String::as_str).collect::<Vec<_>>());
        self.send(&["Enter"]);
    }

    /// The UI alone in a 200x50 session, once it shows processes.
    fn start_ui(&self) {
        let size = ["-x", "200", "-y", "50"];
        self.run(&[&["new-session", "-d", "-s", "t"][..], &size, &[common::BIN]].concat());
        self.wait_for("the UI", 20, |s| {
            s.contains("1 Processes") && !table_rows(s).is_empty()
        });
    }

    /// Polls the screen until `ok`, and returns it.
    fn wait_for(&self, what: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
        poll(
            what,
            secs,
            || self.screen(),
            || Some(self.screen()).filter(|s| ok(s)),
        )
    }
}

/// Cleans up even when an assertion fails: the tmux server, the UI, the
/// probe and its child, the temporary directory.
struct Guard {
    tmux: Tmux,
    probe: Option<Child>,
    ui: Cell<Option<u32>>, // Set while `tmux` borrows the guard.
    dir: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.tmux.socket, "kill-server"])
            .status();
        // kill-server leaves the socket file behind.
        let tmp = std::env::var_os("TMUX_TMPDIR").unwrap_or("/tmp".into());
        let uid = nix::unistd::geteuid();
        let _ = std::fs::remove_file(
            PathBuf::from(tmp)
                .join(format!("tmux-{uid}"))
                .join(&self.tmux.socket),
        );
        if let Some(ui) = self.ui.get().filter(|&pid| is_ui(pid)) {
            let _ = kill(Pid::from_raw(ui as i32), Signal::SIGKILL);
        }
        if let Some(mut probe) = self.probe.take() {
            // The child first: once its parent is gone, it is reparented.
            for pid in children_of(probe.id()) {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
            let _ = probe.kill();
            let _ = probe.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PIDs whose parent is `ppid`, from /proc/*/stat (which, unlike
/// /proc/PID/task/TID/children, needs no kernel option).
fn children_of(ppid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // After the comm (which may hold spaces and parentheses): " state ppid ...".
            let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
            rest.split_whitespace().nth(1) == Some(&ppid.to_string())
        })
        .collect()
}

/// Whether `pid` runs our systrace-top: checked by executable, so that a
/// reused PID, or someone else's run of the tool, is not taken for it.
fn is_ui(pid: u32) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .is_ok_and(|exe| exe.to_string_lossy().starts_with(common::BIN))
}

/// The table rows: from under the header to the first blank line.
fn table_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !(l.starts_with("PID") && l.contains("COMMAND")))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn tui_filters_drills_in_and_gives_the_terminal_back() {
    if !common::can_trace("tui_filters_drills_in_and_gives_the_terminal_back") {
        return;
    }
    let started = Instant::now();
    // At most 12 chars (the kernel's comm keeps 15); the filter must match
    // nothing but the probe and its child.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("tui{}{:04}", std::process::id() % 100_000, nanos % 10_000);
    // A short path, so the whole command line fits in the 160-column pane.
    let dir = PathBuf::from("/tmp").join(&name);
    std::fs::create_dir_all(&dir).expect("creating the temp dir");
    let tmux = Tmux {
        socket: common::unique("systrace-tui"),
    };
    let mut guard = Guard {
        tmux,
        probe: None,
        ui: Cell::new(None),
        dir: dir.clone(),
    };

    // 1. The probe parent and its `spin` child, both alive for a minute.
    let copy = dir.join(&name);
    std::fs::copy(common::probe_path(), &copy).expect("copying the probe");
    // A test running beside this one may fork while the copy's write fd
    // is open: its child holds it a moment, and exec says ETXTBSY.
    let probe = poll(
        "the probe's copy to be executable",
        10,
        String::new,
        || match Command::new(&copy)
            .args(["parent", "60000"])
            .stdin(Stdio::null())
            .spawn()
        {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => None,
            other => Some(other),
        },
    );
    let parent = probe.as_ref().expect("starting the probe").id();
    guard.probe = probe.ok();
    let child = poll("the probe's child", 10, String::new, || {
        children_of(parent).first().copied()
    });
    let parent_cmd = format!("{} parent 60000", copy.display());

    // 2. A plain shell in a 160x48 pane; its tty mode is the reference.
    let tmux = &guard.tmux;
    let session = ["new-session", "-d", "-s", "t", "-x", "160", "-y", "48"];
    tmux.run(&[&session[..], &["bash", "--norc", "--noprofile"]].concat());
    let prompt = tmux
        .wait_for("the shell prompt", 10, |s| !s.trim().is_empty())
        .trim()
        .to_string();
    // The prompt on the last line means readline has the tty again: what is
    // typed from then on is not lost.
    let at_prompt = |s: &str| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim() == prompt)
    };
    let stty = |file: &str| {
        let path = dir.join(file);
        tmux.shell(&format!("stty -g > {}", path.display()));
        let read = || {
            std::fs::read_to_string(&path)
                .ok()
                .filter(|t| t.ends_with('\n'))
        };
        poll(&format!("`stty -g` in {file}"), 10, || tmux.screen(), read)
    };
    let before = stty("before");

    // 3. The UI: the header line, then the process table.
    tmux.shell(common::BIN);
    tmux.wait_for("the UI", 20, |s| {
        s.contains("1 Processes") && !table_rows(s).is_empty()
    });
    let pane = tmux.run(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
    let pane: u32 = pane.trim().parse().expect("the pane's PID");
    let ui = children_of(pane).into_iter().find(|&pid| is_ui(pid));
    let ui = ui.unwrap_or_else(|| panic!("no systrace-top under the pane's shell {pane}"));
    guard.ui.set(Some(ui));

    // 4. Filter on the unique name in the flat list (the first screen): only
    // matches remain (the tree would list their ancestors too), so waiting
    // for the parent's row and for nothing else is the assertion.
    tmux.filter(&name);
    let screen = tmux.wait_for("the filtered flat list", 10, |s| {
        let rows = table_rows(s);
        rows.iter().any(|r| r.contains(&parent_cmd)) && rows.iter().all(|r| r.contains(&name))
    });

    // 5. Select the parent's row (its place depends on the sort: found by
    // PID) and drill in; the children pane lists the spinning child.
    let is_pid = |line: &str, label: Option<&str>, pid: u32| {
        let mut words = line.split_whitespace();
        label.is_none_or(|l| words.next() == Some(l)) && words.next() == Some(&pid.to_string())
    };
    let rows = table_rows(&screen);
    let at = rows.iter().position(|r| is_pid(r, None, parent));
    let at = at.unwrap_or_else(|| panic!("no row for PID {parent}:\n{screen}"));
    tmux.send(&["Home"]);
    for _ in 0..at {
        tmux.send(&["-l", "j"]);
    }
    tmux.send(&["Enter"]);
    let child_row = format!("{child} {} spin 60000", copy.display());
    let screen = tmux.wait_for("the parent's details, with its child", 10, |s| {
        s.lines().any(|l| is_pid(l, Some("PID"), parent))
            && s.contains(" children ")
            && s.contains(&child_row)
    });
    for label in ["parents", "user", "started", "cwd", "command"] {
        assert!(
            screen.lines().any(|l| l.starts_with(label)),
            "no `{label}` line:\n{screen}"
        );
    }

    // 6. Ctrl-Z, then `kill -TSTP`: each time the shell has the terminal
    // back as it was (main screen, no mouse reporting, its tty mode) and
    // the job stopped; `fg` brings the UI back whole.
    let modes = || {
        tmux.run(&[
            "display-message",
            "-p",
            "-t",
            "t",
            "#{alternate_on} #{mouse_any_flag}",
        ])
    };
    for suspend in ["ctrl-z", "SIGTSTP"] {
        if suspend == "ctrl-z" {
            tmux.send(&["C-z"]);
        } else {
            kill(Pid::from_raw(ui as i32), Signal::SIGTSTP).expect("sending SIGTSTP");
        }
        tmux.wait_for(&format!("the prompt after {suspend}"), 10, |s| {
            s.contains("Stopped") && at_prompt(s)
        });
        assert_eq!(modes().trim(), "0 0", "after {suspend}:\n{}", tmux.screen());
        assert_eq!(
            stty(&format!("stopped-{suspend}")),
            before,
            "the tty mode after {suspend}"
        );
        tmux.shell("clear; fg");
        tmux.wait_for(&format!("the UI back after {suspend}"), 10, |s| {
            s.lines().any(|l| is_pid(l, Some("PID"), parent))
        });
        assert_eq!(modes().trim(), "1 1", "after fg:\n{}", tmux.screen());
    }

    // 7. Quit. Typing before the UI has exited would be lost (it, or the
    // tty mode switch, eats typeahead, as it would a user's): wait for it.
    tmux.send(&["-l", "q"]);
    poll(
        "systrace-top to exit after q",
        5,
        || tmux.screen(),
        || (!is_ui(ui)).then_some(()),
    );
    tmux.wait_for("the prompt after quitting", 10, |s| {
        !s.contains("1 Processes") && at_prompt(s)
    });
    // The shell is back on the main screen, and in the mode it had.
    tmux.shell("echo back-$((6*7))");
    tmux.wait_for("the shell's output", 10, |s| {
        s.lines().any(|l| l.trim() == "back-42")
    });
    let after = stty("after");
    assert_eq!(
        before,
        after,
        "the tty mode was not restored; the screen:\n{}",
        tmux.screen()
    );
    eprintln!("tui test took {:.1} s", started.elapsed().as_secs_f64());
}

/// The tmux server and the processes a test started, ended even when an
/// assertion fails.
struct Cleanup {
    tmux: Tmux,
    children: Vec<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.tmux.socket, "kill-server"])
            .output();
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A command line with a newline (that would hide the rest of it) and a
/// bidi override (that would show what follows backwards), from a process
/// seeded from /proc at start and from one seen exec'ing: both shown
/// escaped, whole, on one row.
#[test]
fn tui_shows_what_a_command_line_holds() {
    if !common::can_trace("tui_shows_what_a_command_line_holds") {
        return;
    }
    let marker = format!("m{}x", std::process::id());
    let hostile = |n: u32| format!("{marker}{n}\nFAKE\u{202e}gpj.exe");
    let sleeper = |n: u32| {
        Command::new("python3")
            .args(["-c", "import time; time.sleep(60)", &hostile(n)])
            .stdin(Stdio::null())
            .spawn()
            .expect("starting python3")
    };
    let mut cleanup = Cleanup {
        tmux: Tmux {
            socket: common::unique("systrace-tui-text"),
        },
        children: vec![sleeper(1)],
    };
    let tmux = &cleanup.tmux;
    tmux.start_ui();
    cleanup.children.push(sleeper(2));
    let tmux = &cleanup.tmux;
    tmux.filter(&marker);
    for n in [1, 2] {
        let shown = format!(r"{marker}{n}\nFAKE\u{{202e}}gpj.exe");
        let screen = tmux.wait_for(&format!("process {n}'s command line, escaped"), 10, |s| {
            table_rows(s).iter().any(|r| r.contains(&shown))
        });
        assert!(
            !screen.lines().any(|l| l.trim_start().starts_with("FAKE")),
            "a forged row:\n{screen}"
        );
        assert!(
            !screen.contains('\u{202e}'),
            "a raw bidi override:\n{screen}"
        );
    }
    tmux.send(&["-l", "q"]);
}

/// A PID filter goes into the kernel, which then keeps other processes'
/// starts out: one started meanwhile, idle since, must still be on screen
/// once the filter is cleared.
#[test]
fn tui_shows_processes_started_under_a_pid_filter() {
    if !common::can_trace("tui_shows_processes_started_under_a_pid_filter") {
        return;
    }
    let marker = format!("p{}y", std::process::id());
    let sleeper = |word: &str| {
        Command::new("python3")
            .args(["-c", "import time; time.sleep(60)", word])
            .stdin(Stdio::null())
            .spawn()
            .expect("starting python3")
    };
    let mut cleanup = Cleanup {
        tmux: Tmux {
            socket: common::unique("systrace-tui-filter"),
        },
        children: vec![sleeper("first")],
    };
    let first = cleanup.children[0].id();
    let tmux = &cleanup.tmux;
    tmux.start_ui();
    tmux.send(&["-l", &format!("/{first}")]);
    tmux.send(&["Enter"]);
    tmux.wait_for("only the first process", 10, |s| {
        let rows = table_rows(s);
        !rows.is_empty() && rows.iter().all(|r| r.contains(&first.to_string()))
    });
    // Started under the filter, then idle: the kernel saw nothing of it.
    cleanup.children.push(sleeper(&marker));
    std::thread::sleep(Duration::from_millis(500));
    let tmux = &cleanup.tmux;
    tmux.send(&["Escape"]);
    tmux.filter(&marker);
    tmux.wait_for("the process started under the filter", 10, |s| {
        table_rows(s).iter().any(|r| r.contains(&marker))
    });
    tmux.send(&["-l", "q"]);
}
