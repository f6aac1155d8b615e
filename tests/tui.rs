//! End to end: the real terminal UI, driven through tmux as a user would.
//! A known process tree (the probe example, copied under a unique name) is
//! filtered, drilled into, and then `q` must hand the terminal back as the
//! shell had it. Others put text before it that a process chose (escape
//! sequences, newlines, bytes that are not UTF-8, from an unprivileged
//! user), search a drilled-into stream, and send a signal with the kill
//! menu. Every wait polls with a deadline: snapshots come once a second,
//! so fixed sleeps would be both slow and flaky.

mod common;

use std::cell::Cell;
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
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

    /// `/TEXT` Enter: the UI's filter (in the details, the search of the
    /// stream), typed as hex bytes, so that no process (a `send-keys -l
    /// TEXT`) has TEXT in its command line. Returns once TEXT is kept and
    /// the prompt closed: while it is open, what is typed filters already.
    fn filter(&self, text: &str) {
        let mut hex = vec!["-H".to_string()];
        hex.extend(text.bytes().map(|b| format!("{b:02x}")));
        self.send(&["-l", "/"]);
        self.send(&hex.iter().map(String::as_str).collect::<Vec<_>>());
        self.send(&["Enter"]);
        self.wait_for(&format!("{text:?} kept, the prompt closed"), 10, |s| {
            // The filter leads the status line.
            let status = s.lines().nth(1).unwrap_or_default();
            let kept = status.starts_with(&format!(" filter: {text} "))
                || status.starts_with(&format!(" pid: {text} "))
                || s.contains(&format!("with \"{text}\""));
            kept && !s.contains("Enter keep  Esc clear")
        });
    }

    /// COMMAND alone in a 200x50 session, started in CWD if given.
    fn new_session(&self, cwd: Option<&str>, command: &str) {
        let size = ["-x", "200", "-y", "50"];
        let cwd = cwd.map(|dir| ["-c", dir]);
        let cwd = cwd.as_ref().map_or(&[][..], |c| &c[..]);
        self.run(
            &[
                &["new-session", "-d", "-s", "t"][..],
                &size,
                cwd,
                &[command],
            ]
            .concat(),
        );
    }

    /// The UI alone in a 200x50 session, once it shows processes.
    fn start_ui(&self) {
        self.new_session(None, common::BIN);
        self.wait_for("the UI", 20, |s| {
            s.contains("1 Processes") && !table_rows(s).is_empty()
        });
    }

    /// Ends the server and removes its socket, which kill-server leaves.
    fn kill_server(&self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
        let tmp = std::env::var_os("TMUX_TMPDIR").unwrap_or("/tmp".into());
        let uid = nix::unistd::geteuid();
        let _ = std::fs::remove_file(
            PathBuf::from(tmp)
                .join(format!("tmux-{uid}"))
                .join(&self.socket),
        );
    }

    /// A tmux format (`#{pane_title}`) of the session's pane.
    fn format(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "t", format]);
        out.trim_end_matches('\n').to_string()
    }

    /// Selects PID's row of the table on SCREEN.
    fn select(&self, screen: &str, pid: u32) {
        let rows = table_rows(screen);
        let at = rows.iter().position(|r| is_pid(r, None, pid));
        let at = at.unwrap_or_else(|| panic!("no row for PID {pid}:\n{screen}"));
        self.send(&["Home"]);
        for _ in 0..at {
            self.send(&["-l", "j"]);
        }
    }

    /// Selects PID's row of the table on SCREEN, drills in, and returns
    /// the screen once the details show that process.
    fn drill_into(&self, screen: &str, pid: u32) -> String {
        self.select(screen, pid);
        self.send(&["Enter"]);
        self.wait_for(&format!("the details of {pid}"), 10, |s| {
            s.lines().any(|l| is_pid(l, Some("PID"), pid))
        })
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
        self.tmux.kill_server();
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

/// Whether LINE is about PID: its first word, or the one after LABEL (the
/// details' `PID` line).
fn is_pid(line: &str, label: Option<&str>, pid: u32) -> bool {
    let mut words = line.split_whitespace();
    label.is_none_or(|l| words.next() == Some(l)) && words.next() == Some(&pid.to_string())
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
    let pane: u32 = tmux.format("#{pane_pid}").parse().expect("the pane's PID");
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
    tmux.drill_into(&screen, parent);
    let child_row = format!("{child} {} spin 60000", copy.display());
    let screen = tmux.wait_for("the parent's details, with its child", 10, |s| {
        s.contains(" children ") && s.contains(&child_row)
    });
    for label in ["parents", "user", "cwd", "traced", "command"] {
        assert!(
            screen.lines().any(|l| l.starts_with(label)),
            "no `{label}` line:\n{screen}"
        );
    }
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("user") && l.contains(" started ")),
        "no start on the `user` line:\n{screen}"
    );

    // 6. Ctrl-Z, then `kill -TSTP`: each time the shell has the terminal
    // back as it was (main screen, no mouse reporting, its tty mode) and
    // the job stopped; `fg` brings the UI back whole.
    let modes = || tmux.format("#{alternate_on} #{mouse_any_flag}");
    for suspend in ["ctrl-z", "SIGTSTP"] {
        if suspend == "ctrl-z" {
            tmux.send(&["C-z"]);
        } else {
            kill(Pid::from_raw(ui as i32), Signal::SIGTSTP).expect("sending SIGTSTP");
        }
        tmux.wait_for(&format!("the prompt after {suspend}"), 10, |s| {
            s.contains("Stopped") && at_prompt(s)
        });
        assert_eq!(modes(), "0 0", "after {suspend}:\n{}", tmux.screen());
        assert_eq!(
            stty(&format!("stopped-{suspend}")),
            before,
            "the tty mode after {suspend}"
        );
        tmux.shell("clear; fg");
        tmux.wait_for(&format!("the UI back after {suspend}"), 10, |s| {
            s.lines().any(|l| is_pid(l, Some("PID"), parent))
        });
        assert_eq!(modes(), "1 1", "after fg:\n{}", tmux.screen());
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

/// The tmux server, the processes and the directories a test made, gone
/// even when an assertion fails.
struct Cleanup {
    tmux: Tmux,
    children: Vec<Child>,
    dirs: Vec<PathBuf>,
}

impl Cleanup {
    /// A tmux server on a socket named after PREFIX, nothing else yet.
    fn new(prefix: &str) -> Cleanup {
        Cleanup {
            tmux: Tmux {
                socket: common::unique(prefix),
            },
            children: Vec::new(),
            dirs: Vec::new(),
        }
    }

    /// A new directory /tmp/NAME (short: command lines must fit the
    /// screen), readable by everyone.
    fn dir(&mut self, name: &str) -> PathBuf {
        let dir = PathBuf::from("/tmp").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("creating the temp dir");
        self.dirs.push(dir.clone());
        dir
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.tmux.kill_server();
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
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
    let mut cleanup = Cleanup::new("systrace-tui-text");
    cleanup.children.push(sleeper(1));
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
    let mut cleanup = Cleanup::new("systrace-tui-filter");
    cleanup.children.push(sleeper("first"));
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

/// python3 running SCRIPT with ARGS, given as bytes (an argument need not
/// be UTF-8); its stdin is a pipe the test can write to.
fn python(script: &str, args: &[&[u8]]) -> Child {
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args.iter().map(|a| OsStr::from_bytes(a)))
        .stdin(Stdio::piped())
        .spawn()
        .expect("starting python3")
}

/// A Python script's opening: a syscall every 0.2 s (so the drill-down's
/// stream shows when the process is watched) until a byte comes on stdin.
const WAIT_FOR_GO: &str = "\
import os, select, sys
while not select.select([0], [], [], 0.2)[0]:
    pass
os.read(0, 1)
";

/// The stream's text while the watched process has made no call.
const NOTHING_YET: &str = "its syscalls appear here as they happen";

/// The lines of the drill-down's syscall stream on SCREEN: those that
/// start with the seconds since drilling in ("   1.234s").
fn stream_lines(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .and_then(|w| w.strip_suffix('s'))
                .is_some_and(|at| at.contains('.') && at.parse::<f64>().is_ok())
        })
        .collect()
}

/// The frame the UI draws around every view, whole: the tabs on the first
/// line, the status on the second, the keys on the last. Text that moved
/// the cursor or cleared the screen would have broken one of them.
fn assert_chrome(screen: &str) {
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines.len(), 50, "not 50 lines:\n{screen}");
    assert!(
        lines[0].starts_with(" systrace-top ") && lines[0].contains(" 1 Processes "),
        "the tabs line:\n{screen}"
    );
    assert!(
        [" procs ", " filter: ", " pid: "]
            .iter()
            .any(|lead| lines[1].starts_with(lead))
            && lines[1].contains(" events/s "),
        "the status line:\n{screen}"
    );
    assert!(lines[49].contains(" q quit"), "the keys line:\n{screen}");
}

/// The drill-down's search goes through every line kept, not only those
/// on screen: an open scrolled far off is found. A word in no line says
/// so, in words apart from those of a stream that has shown nothing yet.
#[test]
fn tui_searches_the_whole_stream_of_a_process() {
    if !common::can_trace("tui_searches_the_whole_stream_of_a_process") {
        return;
    }
    let marker = format!("s{}q", std::process::id());
    // One open of MARKER-early, then 300 calls that push it off the pane.
    let script = format!(
        "{WAIT_FOR_GO}\
m = '/tmp/' + sys.argv[1]
try:
    os.open(m + '-early', os.O_RDONLY)
except OSError:
    pass
for i in range(300):
    try:
        os.stat('%s-late%d' % (m, i))
    except OSError:
        pass
os.read(0, 1)
"
    );
    let mut cleanup = Cleanup::new("systrace-tui-search");
    cleanup.children.push(python(&script, &[marker.as_bytes()]));
    let pid = cleanup.children[0].id();
    let mut stdin = cleanup.children[0].stdin.take().expect("a piped stdin");
    let tmux = &cleanup.tmux;
    tmux.start_ui();
    tmux.filter(&marker);
    let screen = tmux.wait_for("the process's row", 10, |s| {
        table_rows(s).iter().any(|r| is_pid(r, None, pid))
    });
    tmux.drill_into(&screen, pid);
    tmux.wait_for("its calls in the stream", 10, |s| !s.contains(NOTHING_YET));
    stdin.write_all(b"g").expect("writing to the process");

    let early = format!("{marker}-early");
    let last = format!("{marker}-late299\"");
    let in_stream = |s: &str, what: &str| stream_lines(s).iter().any(|l| l.contains(what));
    let screen = tmux.wait_for("its last call", 10, |s| in_stream(s, &last));
    assert!(
        !in_stream(&screen, &early),
        "the early open is still on screen: the search would not have to look back:\n{screen}"
    );

    tmux.filter("early");
    let screen = tmux.wait_for("the early open, found", 10, |s| {
        in_stream(s, &early) && s.contains(r#" with "early" "#)
    });
    let stream = stream_lines(&screen);
    assert!(
        stream.iter().all(|l| l.contains("early")),
        "lines without the word:\n{screen}"
    );

    // Esc clears the search; a word in no line is said to match none.
    tmux.send(&["Escape"]);
    tmux.wait_for("the search cleared", 10, |s| {
        s.contains(" syscalls, live ") && in_stream(s, &last)
    });
    tmux.filter("nowhere");
    let screen = tmux.wait_for("no line matching", 10, |s| {
        s.contains(r#"lines kept has "nowhere" (Esc clears the search)"#)
    });
    assert!(
        stream_lines(&screen).is_empty() && !screen.contains(NOTHING_YET),
        "no match, shown as something else:\n{screen}"
    );
    assert_chrome(&screen);
    tmux.send(&["-l", "q"]);
}

/// Arguments that are not UTF-8, of a process seeded from /proc at start
/// and of one seen exec'ing: each byte shown, escaped, on the process's
/// row (not its name in brackets, as for a process without arguments).
#[test]
fn tui_shows_arguments_that_are_not_utf8() {
    if !common::can_trace("tui_shows_arguments_that_are_not_utf8") {
        return;
    }
    let marker = format!("b{}x", std::process::id());
    let sleeper = |n: u32| {
        let arg = [format!("{marker}{n}-").as_bytes(), b"\xff\x1b[7m-end"].concat();
        python("import time; time.sleep(60)", &[&arg])
    };
    let mut cleanup = Cleanup::new("systrace-tui-bytes");
    cleanup.children.push(sleeper(1));
    cleanup.tmux.start_ui();
    cleanup.children.push(sleeper(2));
    let tmux = &cleanup.tmux;
    tmux.filter(&marker);
    for (n, child) in (1..).zip(&cleanup.children) {
        let pid = child.id();
        let shown = format!(r"-c import time; time.sleep(60) {marker}{n}-\xff\x1b[7m-end");
        let screen = tmux.wait_for(&format!("process {n}'s arguments, escaped"), 10, |s| {
            table_rows(s)
                .iter()
                .any(|r| is_pid(r, None, pid) && r.contains(&shown))
        });
        assert_chrome(&screen);
    }
    tmux.send(&["-l", "q"]);
}

/// A name of escape sequences, that would set the window's title and clear
/// the screen, and a newline (14 bytes: the kernel keeps 15). A process
/// takes the name of the file it executes: a link to sh so named.
const HOSTILE_NAME: &[u8] = b"\x1b]0;pwned\x07\x1b[2J\n";

/// HOSTILE_NAME as the screen must show it.
const HOSTILE_SHOWN: &str = r"\x1b]0;pwned\x07\x1b[2J\n";

/// As `nobody` (65534), sh run through DIR/HOSTILE_NAME, with arguments
/// as hostile as its name (a colour, a newline and a forged row); every
/// second it opens DIR/fN, its `$0`.
fn hostile(dir: &Path, n: u32) -> Child {
    let file = dir.join(format!("f{n}"));
    std::fs::write(&file, "").expect("writing the file it opens");
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(dir.join(OsStr::from_bytes(HOSTILE_NAME)))
        .args(["-c", "while :;do true<$0;sleep 0.05;done"])
        .arg(&file)
        .args(["\x1b[31mred", "a\nFAKE"])
        .current_dir("/")
        .stdin(Stdio::null())
        .spawn()
        .expect("starting setpriv")
}

/// The command line of `hostile(dir, n)` as the screen must show it.
fn hostile_shown(dir: &Path, n: u32) -> String {
    let dir = dir.display();
    format!(
        r"{dir}/{HOSTILE_SHOWN} -c while :;do true<$0;sleep 0.05;done {dir}/f{n} \x1b[31mred a\nFAKE"
    )
}

/// Starts the UI and two `hostile` processes of `nobody`, one seen from
/// /proc at start, one seen exec'ing; returns their directory and PIDs.
fn start_hostile(cleanup: &mut Cleanup, marker: &str) -> (PathBuf, [u32; 2]) {
    let dir = cleanup.dir(marker);
    std::os::unix::fs::symlink("/bin/sh", dir.join(OsStr::from_bytes(HOSTILE_NAME)))
        .expect("linking to sh");
    cleanup.children.push(hostile(&dir, 1));
    cleanup.tmux.start_ui();
    cleanup.children.push(hostile(&dir, 2));
    (dir, [cleanup.children[0].id(), cleanup.children[1].id()])
}

/// Nothing a process wrote got through: the frame is whole, no row was
/// forged by a newline, the window's title is as it was.
fn assert_untouched(tmux: &Tmux, screen: &str, title: &str) {
    assert_chrome(screen);
    assert!(
        !screen.lines().any(|l| l.trim_start().starts_with("FAKE")),
        "a forged row:\n{screen}"
    );
    assert_eq!(tmux.format("#{pane_title}"), title, "the window's title");
}

/// An unprivileged user's process named and run with escape sequences and
/// newlines: its row (user `nobody`), the syscalls view, the details and
/// the kill menu show them escaped, and none reaches the terminal.
#[test]
fn tui_shows_a_hostile_name_and_arguments_escaped() {
    if !common::can_trace("tui_shows_a_hostile_name_and_arguments_escaped") {
        return;
    }
    let marker = format!("h{}z", std::process::id());
    let mut cleanup = Cleanup::new("systrace-tui-hostile");
    let (dir, pids) = start_hostile(&mut cleanup, &marker);
    let tmux = &cleanup.tmux;
    let title = tmux.format("#{pane_title}");
    tmux.filter(&marker);
    let row_of = |s: &str, pid: u32| -> Option<String> {
        let rows = table_rows(s);
        rows.iter()
            .find(|r| is_pid(r, None, pid))
            .map(|r| r.to_string())
    };

    // The processes, each on one row, user `nobody`.
    let screen = tmux.wait_for("both processes, escaped", 10, |s| {
        (1..)
            .zip(pids)
            .all(|(n, pid)| row_of(s, pid).is_some_and(|r| r.contains(&hostile_shown(&dir, n))))
    });
    for pid in pids {
        let row = row_of(&screen, pid).unwrap_or_default();
        assert!(row.contains(" nobody "), "the user column: {row}");
    }
    assert_untouched(tmux, &screen, &title);

    // The syscalls view names them.
    tmux.send(&["-l", "3"]);
    let screen = tmux.wait_for("their names in the syscalls view", 10, |s| {
        pids.iter()
            .all(|&pid| row_of(s, pid).is_some_and(|r| r.contains(r"\x1b]0;pwned")))
    });
    assert_untouched(tmux, &screen, &title);

    // The details of the one seen exec'ing, and its kill menu.
    tmux.send(&["-l", "1"]);
    tmux.send(&["Escape"]);
    tmux.wait_for("the filter cleared", 10, |s| !s.contains(" filter: "));
    tmux.filter(&format!("{marker}/f2"));
    let screen = tmux.wait_for("the second process alone", 10, |s| {
        let rows = table_rows(s);
        rows.len() == 1 && is_pid(rows[0], None, pids[1])
    });
    tmux.drill_into(&screen, pids[1]);
    let screen = tmux.wait_for("its details", 10, |s| {
        s.lines()
            .any(|l| l.starts_with("command") && l.contains(&hostile_shown(&dir, 2)))
    });
    let line = |label: &str| {
        let line = screen.lines().find(|l| l.starts_with(label));
        line.unwrap_or_else(|| panic!("no {label} line:\n{screen}"))
    };
    assert!(
        line("PID").contains(&format!("  {HOSTILE_SHOWN}  running")),
        "{screen}"
    );
    assert!(line("user").contains("nobody (65534)"), "{screen}");
    assert_untouched(tmux, &screen, &title);
    tmux.send(&["-l", "k"]);
    let screen = tmux.wait_for("the kill menu", 10, |s| {
        s.contains(&format!(" send {} {HOSTILE_SHOWN} a signal ", pids[1]))
    });
    assert_untouched(tmux, &screen, &title);
    tmux.send(&["Escape"]);
    tmux.send(&["-l", "q"]);
}

/// The files view names each file's last opener: a hostile name shows
/// escaped there too.
#[test]
fn tui_shows_a_hostile_name_escaped_in_the_files_view() {
    if !common::can_trace("tui_shows_a_hostile_name_escaped_in_the_files_view") {
        return;
    }
    let marker = format!("n{}z", std::process::id());
    let mut cleanup = Cleanup::new("systrace-tui-hostile-files");
    let (dir, pids) = start_hostile(&mut cleanup, &marker);
    let tmux = &cleanup.tmux;
    let title = tmux.format("#{pane_title}");
    tmux.send(&["-l", "2"]);
    tmux.filter(&marker);
    // The test wrote the file: the process opens it 20 times a second, so
    // that it ranks among the 500 most opened the screen is sent.
    let file = format!("{}/f2", dir.display());
    let opener = format!(" {} ", pids[1]);
    let screen = tmux.wait_for("the second process's file", 10, |s| {
        s.lines().any(|l| l.contains(&file) && l.contains(&opener))
    });
    let row = screen
        .lines()
        .find(|l| l.contains(&file))
        .unwrap_or_default();
    assert!(
        row.contains(&format!("{opener}\\x1b]0;pw")),
        "its last opener's name, not escaped:\n{screen}"
    );
    assert_untouched(tmux, &screen, &title);
    tmux.send(&["-l", "q"]);
}

/// The kill key's notice names the process signalled: a hostile name
/// shows escaped there too.
#[test]
fn tui_shows_a_hostile_name_escaped_in_the_kill_notice() {
    if !common::can_trace("tui_shows_a_hostile_name_escaped_in_the_kill_notice") {
        return;
    }
    let marker = format!("o{}z", std::process::id());
    let mut cleanup = Cleanup::new("systrace-tui-hostile-kill");
    let (_, pids) = start_hostile(&mut cleanup, &marker);
    let tmux = &cleanup.tmux;
    let title = tmux.format("#{pane_title}");
    tmux.filter(&format!("{marker}/f2"));
    let screen = tmux.wait_for("the second process alone", 10, |s| {
        let rows = table_rows(s);
        rows.len() == 1 && is_pid(rows[0], None, pids[1])
    });
    tmux.select(&screen, pids[1]);
    tmux.send(&["-l", "k"]);
    tmux.wait_for("the kill menu", 10, |s| s.contains("SIGTERM  ask to end"));
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("the notice", 10, |s| s.contains(" sent SIGTERM to "));
    let sent = format!(" sent SIGTERM to {} ({HOSTILE_SHOWN}) ", pids[1]);
    assert!(screen.contains(&sent), "the notice, not escaped:\n{screen}");
    assert_untouched(tmux, &screen, &title);
    tmux.send(&["-l", "q"]);
}

/// A process that exits while drilled into: its details say how it ended,
/// its stream ends with it, and Esc goes back to the list.
#[test]
fn tui_shows_a_process_exit_while_drilled_in() {
    if !common::can_trace("tui_shows_a_process_exit_while_drilled_in") {
        return;
    }
    let marker = format!("e{}x", std::process::id());
    let mut cleanup = Cleanup::new("systrace-tui-exit");
    let script = format!("{WAIT_FOR_GO}os._exit(3)\n");
    cleanup.children.push(python(&script, &[marker.as_bytes()]));
    let pid = cleanup.children[0].id();
    let mut stdin = cleanup.children[0].stdin.take().expect("a piped stdin");
    let tmux = &cleanup.tmux;
    tmux.start_ui();
    tmux.filter(&marker);
    let screen = tmux.wait_for("the process's row", 10, |s| {
        table_rows(s).iter().any(|r| is_pid(r, None, pid))
    });
    tmux.drill_into(&screen, pid);
    tmux.wait_for("its calls in the stream", 10, |s| !s.contains(NOTHING_YET));
    stdin.write_all(b"g").expect("writing to the process");
    let screen = tmux.wait_for("its exit", 10, |s| {
        s.lines()
            .any(|l| is_pid(l, Some("PID"), pid) && l.contains("exited: exit 3"))
            && stream_lines(s)
                .last()
                .is_some_and(|l| l.contains("+++ exited with 3 +++"))
    });
    assert_chrome(&screen);
    tmux.send(&["Escape"]);
    let screen = tmux.wait_for("the list again", 10, |s| {
        !s.contains(&format!(" process {pid} ")) && s.lines().any(|l| l.starts_with("PID"))
    });
    assert_chrome(&screen);
    tmux.send(&["-l", "q"]);
}

/// htop's k: the menu on the selected process, Down to SIGKILL, Enter; the
/// process is killed by it and the footer says so.
#[test]
fn tui_kill_menu_sends_the_chosen_signal() {
    if !common::can_trace("tui_kill_menu_sends_the_chosen_signal") {
        return;
    }
    let marker = format!("k{}x", std::process::id());
    let mut cleanup = Cleanup::new("systrace-tui-kill");
    cleanup
        .children
        .push(python("import time; time.sleep(60)", &[marker.as_bytes()]));
    let pid = cleanup.children[0].id();
    let Cleanup { tmux, children, .. } = &mut cleanup;
    let tmux = &*tmux;
    tmux.start_ui();
    tmux.filter(&marker);
    let screen = tmux.wait_for("the process's row", 10, |s| {
        table_rows(s).iter().any(|r| is_pid(r, None, pid))
    });
    tmux.select(&screen, pid);
    tmux.send(&["-l", "k"]);
    tmux.wait_for("the kill menu", 10, |s| {
        s.contains(&format!(" send {pid} ")) && s.contains("SIGKILL  end now")
    });
    tmux.send(&["Down"]);
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("the notice", 10, |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains(&format!(" sent SIGKILL to {pid} ")))
    });
    assert_chrome(&screen);
    let status = poll(
        "the process to end",
        10,
        || tmux.screen(),
        || children[0].try_wait().expect("waiting for it"),
    );
    assert_eq!(
        status.signal(),
        Some(Signal::SIGKILL as i32),
        "it ended by {status}"
    );
    tmux.send(&["-l", "q"]);
}

/// View 4: a process failing an open over and over is listed with its
/// syscall, errno and rate once the view is open (counting starts then),
/// found by the filter as in the other views.
#[test]
fn tui_errors_view_lists_a_failing_process() {
    if !common::can_trace("tui_errors_view_lists_a_failing_process") {
        return;
    }
    let marker = format!("f{}x", std::process::id());
    let script = "import os, sys, time\n\
                  while True:\n    \
                  try: os.open('/nonexistent-' + sys.argv[1], os.O_RDONLY)\n    \
                  except OSError: pass\n    \
                  time.sleep(0.02)\n";
    let mut cleanup = Cleanup::new("systrace-tui-errors");
    cleanup.children.push(python(script, &[marker.as_bytes()]));
    let pid = cleanup.children[0].id();
    let tmux = &cleanup.tmux;
    tmux.start_ui();
    tmux.send(&["-l", "4"]);
    tmux.wait_for("the errors view, counting", 10, |s| {
        s.contains("failures counted for") || s.contains("counting failures")
    });
    tmux.filter(&marker);
    let screen = tmux.wait_for("its failed openat", 15, |s| {
        table_rows(s)
            .iter()
            .any(|r| is_pid(r, None, pid) && r.contains("openat") && r.contains("ENOENT"))
    });
    assert!(
        screen.contains("No such file or directory"),
        "what the errno means:\n{screen}"
    );
    assert_chrome(&screen);
    tmux.send(&["-l", "q"]);
}

/// View 5: a client refused by a closed port, live, with its address and
/// errno; Enter drills into it and lists its socket there too.
#[test]
fn tui_connections_view_shows_a_refused_client() {
    if !common::can_trace("tui_connections_view_shows_a_refused_client") {
        return;
    }
    let marker = format!("c{}x", std::process::id());
    // A port nothing listens on: bound, then closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let script = "import socket, sys, time\n\
                  while True:\n    \
                  s = socket.socket()\n    \
                  try: s.connect(('127.0.0.1', int(sys.argv[2])))\n    \
                  except OSError: pass\n    \
                  s.close()\n    \
                  time.sleep(0.05)\n";
    let mut cleanup = Cleanup::new("systrace-tui-net");
    cleanup.children.push(python(
        script,
        &[marker.as_bytes(), port.to_string().as_bytes()],
    ));
    let pid = cleanup.children[0].id();
    let tmux = &cleanup.tmux;
    tmux.start_ui();
    tmux.send(&["-l", "5"]);
    tmux.filter(&marker);
    let address = format!("127.0.0.1:{port}");
    let screen = tmux.wait_for("its refused connects", 15, |s| {
        table_rows(s).iter().any(|r| {
            is_pid(r, None, pid)
                && r.contains("connect")
                && r.contains(&address)
                && r.contains("ECONNREFUSED")
        })
    });
    assert_chrome(&screen);
    tmux.send(&["Enter"]);
    tmux.wait_for("its socket in the drill-down", 10, |s| {
        s.contains("sockets (") && s.contains(&address)
    });
    tmux.send(&["-l", "q"]);
}

/// The checked-in recording on screen, as a user who is not root and with
/// no BPF: it plays to its end; g goes back to a time; n on the shell finds
/// its child's next exec; the drill-down into the child shows the file its
/// recorded events opened; q ends it with status 0.
#[test]
fn tui_replays_a_recording_without_root() {
    let mut cleanup = Cleanup::new("systrace-tui-replay");
    let dir = cleanup.dir(&common::unique("rp"));
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("v1.rec");
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/recording-v1.rec");
    std::fs::copy(data, &file).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let tmux = &cleanup.tmux;
    let command = format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups {} --replay {}; echo EXIT=$?; sleep 60",
        common::BIN,
        file.display()
    );
    tmux.new_session(None, &command);
    // 2 s of recording at 1x.
    let screen = tmux.wait_for("the end of the recording", 20, |s| {
        s.contains("the end of the recording") && s.contains("(100%)")
    });
    assert!(
        screen.lines().next().unwrap().contains("REPLAY"),
        "{screen}"
    );
    assert!(
        table_rows(&screen)
            .iter()
            .any(|r| r.contains("sh -c true x"))
    );

    // 3 s - 1.5 s: the last tick before is the first, at 1 s.
    tmux.send(&["-l", "g"]);
    tmux.wait_for("the prompt", 10, |s| s.contains("go to (HH:MM"));
    tmux.send(&["-l", "--", "-1.5"]);
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("the first tick", 10, |s| s.contains("⏸ 1x (0%)"));

    tmux.select(&screen, 100);
    tmux.send(&["-l", "n"]);
    tmux.wait_for("the shell's child's next exec", 10, |s| {
        s.contains("exec at ") && s.contains(r"/bin/tr\xffue")
    });

    let screen = tmux.screen();
    tmux.drill_into(&screen, 200);
    tmux.send(&["-l", "p"]);
    tmux.wait_for("the file it opened, from the recording", 20, |s| {
        s.contains(r"/etc/\xfe") && s.contains("(100%)")
    });
    tmux.send(&["-l", "q"]);
    tmux.wait_for("status 0, the shell's echo", 10, |s| s.contains("EXIT=0"));
}

/// R on the live screen records what it shows, from then until R again:
/// a C program's forks and execs with literals while it records are in the
/// file, which replays them as JSON lines.
#[test]
fn tui_records_between_two_presses_of_r() {
    if !common::can_trace("tui_records_between_two_presses_of_r") {
        return;
    }
    let mut cleanup = Cleanup::new("systrace-tui-rec");
    let dir = cleanup.dir(&common::unique("rec"));
    let tmux = &cleanup.tmux;
    let cwd = dir.to_str().unwrap();
    tmux.new_session(Some(cwd), common::BIN);
    tmux.wait_for("the UI", 20, |s| {
        s.contains("1 Processes") && !table_rows(s).is_empty()
    });
    tmux.send(&["-l", "R"]);
    tmux.wait_for("recording", 10, |s| {
        s.contains("recording to systrace-top-") && s.lines().next().unwrap_or("").contains(" REC ")
    });
    let tag = common::unique("tuirec");
    let prog = common::compile_c("fork_execl", &[]);
    let status = Command::new(&prog)
        .args(["loop", &tag, "3"])
        .status()
        .unwrap();
    assert!(status.success());
    // A tick, so that the execs are in a snapshot's block too.
    std::thread::sleep(Duration::from_millis(1500));
    tmux.send(&["-l", "R"]);
    tmux.wait_for("recorded", 10, |s| s.contains("recorded to systrace-top-"));
    tmux.send(&["-l", "q"]);

    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let out = Command::new(common::BIN)
        .arg("--replay")
        .arg(&files[0])
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let execs = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["type"] == "exec" && r["argv"][1] == tag.as_str())
        .count();
    assert_eq!(execs, 3);
}
