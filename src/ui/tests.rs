//! The UI without a terminal: rendering into ratatui's TestBackend from a
//! synthetic snapshot (insta snapshots), and key handling on the state.

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{Action, App, View};
use super::render::render;
use super::selection::RowKey;
use super::theme::Theme;
use super::views::{detail, processes};
use crate::collect::connections::{Connection, Direction};
use crate::collect::containers::Cgroup;
use crate::collect::decode::tests::open_event as open;
use crate::collect::errors::{ErrorRate, Lifetime};
use crate::collect::file_table::FileTable;
use crate::collect::process_files::ProcessFile;
use crate::collect::process_tree::{ExitStatus, FailedExec, ProcessInfo};
use crate::collect::sockaddr::SockAddr;
use crate::collect::syscall_rates::{ProcessRate, SyscallRate};
use crate::collect::{
    ActivityLine, CallSummary, Command, Errors, EventCounts, OwnUsage, Snapshot, Watched,
};

const SEC: u64 = 1_000_000_000;
/// Cgroup ids of the fixture's container and service.
const DOCKER: u64 = 5_000;
const SSH: u64 = 6_000;
const NOW: u64 = 100_000 * SEC;

fn process(pid: u32, ppid: u32, uid: u32, argv: &[&str], age_secs: u64) -> ProcessInfo {
    let comm = argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_else(|| "kthreadd".into());
    let mut info = ProcessInfo::new(pid, ppid, uid, comm, NOW - age_secs * SEC);
    info.argv = argv.iter().map(|s| s.to_string()).collect();
    info.cgroup_id = 1; // the root cgroup
    info
}

fn rate(pid: u32, per_sec: f64, total: u64, syscalls: &[(u32, f64, u64)]) -> ProcessRate {
    ProcessRate {
        pid,
        start_ns: 0,
        per_sec,
        total,
        unattributed: 0,
        syscalls: syscalls
            .iter()
            .map(|&(nr, per_sec, total)| SyscallRate { nr, total, per_sec })
            .collect(),
    }
}

/// A small machine: init, an ssh session running a build, kernel threads.
fn fixture() -> Snapshot {
    let read = libc::SYS_read as u32;
    let write = libc::SYS_write as u32;
    let openat = libc::SYS_openat as u32;
    let futex = libc::SYS_futex as u32;

    let mut bash = process(300, 200, 0, &["-bash"], 600);
    bash.failed_execs.push(FailedExec {
        ts_ns: NOW - 5 * SEC,
        filename: "/usr/local/bin/nope".into(),
        argv: vec!["nope".into(), "--now".into()],
        errno: libc::ENOENT,
    });
    let mut cc1 = process(401, 400, 0, &["cc1", "-O2", "main.c"], 3);
    cc1.exit = Some(ExitStatus {
        ts_ns: NOW - SEC,
        code: 1,
        signal: None,
    });
    let mut killed = process(402, 400, 0, &["sleep", "100"], 4);
    killed.exit = Some(ExitStatus {
        ts_ns: NOW - 2 * SEC,
        code: 0,
        signal: Some(9),
    });
    let usage = |cpu_percent, rss_bytes| {
        Some(crate::collect::usage::Usage {
            cpu_percent,
            rss_bytes,
        })
    };
    bash.usage = usage(0.3, 5 << 20);
    let mut make = process(400, 300, 65534, &["make", "-j4", "all"], 1);
    make.usage = usage(12.5, 48 << 20);
    // The build runs in a container, its compiler too.
    make.cgroup_id = DOCKER;
    make.ns_pid = Some(1);
    cc1.cgroup_id = DOCKER;
    let mut init = process(1, 0, 0, &["/sbin/init"], 86_400);
    init.usage = usage(0.0, 12 << 20);
    // What a process shows of itself, as the collector keeps it: escaped.
    let mut hostile = process(
        700,
        300,
        65534,
        &[
            "python3",
            &crate::collect::event::visible(b"evil\nFAKE \xe2\x80\xae gpj.exe \x1b[2J"),
        ],
        20,
    );
    hostile.comm = "evil\x1b[31m".into();
    let mut long = process(
        701,
        300,
        0,
        &[
            "/opt/toolchains/llvm-18.1.8/libexec/x86_64-linux-gnu/bin/clang-tidy",
            "-quiet",
            "-I/home/admin/src/very/deep/directory/structure/include",
            "-o",
            "/tmp/ccXyZ123.s",
        ],
        7,
    );
    long.usage = usage(97.5, 30 << 20);
    let mut sshd = process(200, 1, 0, &["sshd: admin [priv]"], 3_600);
    sshd.cgroup_id = SSH;
    let processes = vec![
        init,
        process(2, 0, 0, &[], 86_400),
        process(3, 2, 0, &[], 86_400),
        sshd,
        bash,
        make,
        cc1,
        killed,
        hostile,
        long,
    ];

    let mut files = FileTable::new(100);
    for i in 0..40 {
        files.apply(&open(400, "make", "/etc/ld.so.cache", 3, NOW - i * SEC / 2));
    }
    for _ in 0..7 {
        files.apply(&open(
            401,
            "cc1",
            "/usr/include/nope.h",
            -libc::ENOENT,
            NOW - 20 * SEC,
        ));
    }
    files.apply(&open(
        701,
        "clang-tidy",
        "/home/admin/src/very/deep/directory/structure/that/goes/on/include/generated/autoconf.h",
        -libc::ENOENT,
        NOW - 3 * SEC,
    ));
    files.apply(&open(
        700,
        "evil\x1b[31m",
        "/tmp/\n\x1b[2Jforged",
        3,
        NOW - 3 * SEC,
    ));
    files.apply(&open(
        300,
        "bash",
        "/home/admin/.bashrc",
        3,
        NOW - 500 * SEC,
    ));
    files.apply(&open(
        402,
        "sleep",
        "/etc/shadow",
        -libc::EACCES,
        NOW - 2 * SEC,
    ));

    let rates = vec![
        rate(
            400,
            1234.0,
            56_789,
            &[
                (read, 800.0, 30_000),
                (write, 300.0, 20_000),
                (openat, 134.0, 6_789),
            ],
        ),
        rate(
            300,
            12.0,
            4_000,
            &[(read, 10.0, 3_000), (futex, 2.0, 1_000)],
        ),
        rate(1, 0.0, 250, &[(futex, 0.0, 250)]),
    ];
    let mut snapshot = Snapshot {
        ts_ns: NOW,
        interval_secs: 1.0,
        processes,
        system_mix: Vec::new(),
        files: files.top(100, NOW),
        recent_files: files.top_recent(100, NOW),
        captured: EventCounts {
            exec: 10,
            fork: 12,
            exit: 3,
            open: 49,
            syscall: 3,
            signal: 0,
            net: 9,
        },
        events_per_sec: 42.0,
        watched: None,
        own_usage: OwnUsage {
            cpu_percent: 0.4,
            rss_bytes: 9_500_000,
        },
        lost: [0, 0, 0, 5, 0, 0, 0, 0, 0],
        errors: Some(errors_fixture()),
        connections: connections_fixture(),
        connections_forgotten: 0,
        cgroups: Arc::new(
            [
                (1, "/"),
                (
                    DOCKER,
                    "/system.slice/docker-4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e.scope",
                ),
                (SSH, "/system.slice/ssh.service"),
            ]
            .into_iter()
            .map(|(id, path)| (id, Cgroup::new(path.to_string())))
            .collect(),
        ),
        malformed: 0,
        processes_seen: 1234,
        users: Arc::new(
            [(0, "root".to_string()), (65534, "nobody".to_string())]
                .into_iter()
                .collect(),
        ),
        rates,
    };
    snapshot.system_mix = snapshot.rates.iter().flat_map(|r| r.syscalls.clone()).fold(
        Vec::<SyscallRate>::new(),
        |mut acc, s| {
            match acc.iter_mut().find(|a| a.nr == s.nr) {
                Some(a) => {
                    a.per_sec += s.per_sec;
                    a.total += s.total;
                }
                None => acc.push(s),
            }
            acc
        },
    );
    snapshot
        .system_mix
        .sort_by(|a, b| b.per_sec.total_cmp(&a.per_sec));
    snapshot
}

/// Failed calls: a build probing for headers, a shell's failed exec, and a
/// process that has ended.
fn errors_fixture() -> Errors {
    let row = |pid, nr: i64, errno, total, per_sec, process| ErrorRate {
        pid,
        start_ns: 0,
        nr: nr as u32,
        errno,
        total,
        per_sec,
        process,
    };
    Errors {
        since_ns: NOW - 65 * SEC,
        rows: vec![
            row(401, libc::SYS_openat, 2, 5_400, 310.0, Lifetime::Running),
            row(400, libc::SYS_wait4, 10, 12, 2.0, Lifetime::Running),
            row(300, libc::SYS_execve, 2, 1, 0.0, Lifetime::Running),
            row(402, libc::SYS_nanosleep, 4, 1, 0.0, Lifetime::Ended),
            row(400, libc::SYS_ioctl, 25, 3, 0.0, Lifetime::Running),
        ],
    }
}

/// Who talks to whom: a server listening and accepting, a build that was
/// refused once, DNS over UDP, a connect that never settles, a Unix socket.
fn connections_fixture() -> Vec<Connection> {
    let inet = |s: &str| Some(SockAddr::Inet(s.parse().unwrap()));
    let row = |pid, comm: &str, direction, proto, address, calls, ok, per_sec| Connection {
        calls,
        ok,
        per_sec,
        last_ns: NOW,
        ..Connection::new(pid, 0, comm, direction, proto, address)
    };
    let mut refused = row(
        400,
        "make",
        Direction::Connect,
        "tcp",
        inet("10.0.0.5:443"),
        3,
        2,
        0.0,
    );
    refused.errors.push((libc::ECONNREFUSED, 1));
    let mut listen = row(
        200,
        "sshd",
        Direction::Serve,
        "tcp",
        inet("0.0.0.0:22"),
        2,
        2,
        0.0,
    );
    listen.backlog = Some(128);
    let accepted = SockAddr::Inet("192.168.1.20:0".parse().unwrap()).host();
    let mut hanging = row(
        402,
        "sleep",
        Direction::Connect,
        "tcp",
        inet("10.255.255.1:9"),
        3,
        0,
        1.0,
    );
    hanging.in_progress = 1;
    hanging.errors.push((libc::ETIMEDOUT, 2));
    let journal = Some(SockAddr::Unix(b"/run/systemd/journal/stdout".to_vec()));
    vec![
        row(
            401,
            "cc1",
            Direction::Send,
            "udp",
            inet("[::1]:53"),
            400,
            400,
            40.0,
        ),
        row(
            200,
            "sshd",
            Direction::Accept,
            "tcp",
            Some(accepted),
            12,
            12,
            2.0,
        ),
        hanging,
        refused,
        listen,
        row(300, "bash", Direction::Connect, "u_str", journal, 1, 1, 0.0),
    ]
}

fn watched_fixture() -> Snapshot {
    let mut snapshot = fixture();
    snapshot.watched = Some(Watched {
        pid: 400,
        since_ns: NOW - 10 * SEC,
        cwd: Some("/home/admin/src".into()),
        parent_now: Some(300),
        open_fds: vec![
            (0, "/dev/pts/0".into()),
            (1, "pipe:[40961]".into()),
            (
                3,
                "/home/admin/src/very/deep/directory/structure/build/output.log".into(),
            ),
        ],
        connections: connections_fixture()
            .into_iter()
            .filter(|c| c.pid == 400)
            .collect(),
        files: vec![ProcessFile {
            path: "/etc/ld.so.cache".into(),
            opens: 40,
            errors: 0,
            last_errno: None,
            last_ns: NOW,
        }],
        activity: vec![
            activity(
                3 * SEC,
                400,
                r#"openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3 <0.000012>"#,
                false,
            ),
            activity(
                SEC,
                401,
                r#"read(3</etc/ld.so.cache>, "\177ELF\2\1\1", 832) = 832 <0.000004>"#,
                false,
            ),
            activity(
                SEC / 2,
                400,
                r#"openat(AT_FDCWD, "Makefile.local", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000009>"#,
                true,
            ),
        ],
        summary: vec![
            CallSummary {
                nr: libc::SYS_openat as u32,
                calls: 2,
                errors: 1,
                errnos: vec![(2, 1)],
                total_ns: 21_000,
            },
            CallSummary {
                nr: libc::SYS_read as u32,
                calls: 1,
                errors: 0,
                errnos: Vec::new(),
                total_ns: 4_000,
            },
        ],
    });
    snapshot
}

fn activity(ago_ns: u64, tid: u32, text: &str, failed: bool) -> ActivityLine {
    ActivityLine {
        ts_ns: NOW - ago_ns,
        tid,
        text: text.into(),
        failed,
    }
}

/// The exec tree by PID, exited processes and failed execs included: what
/// these tests were written for, before the first screen became the busiest.
fn as_tree(app: &mut App) {
    app.processes.tree = true;
    app.processes.show_exited = true;
    app.processes.sort = Default::default();
}

fn app_with(mut snapshot: Snapshot, width: u16, height: u16) -> App {
    // As the collector sends them: by PID.
    snapshot.processes.sort_by_key(|p| p.pid);
    App::new(Arc::new(snapshot), Default::default(), width, height)
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| render(frame, app, &Theme::colored()))
        .unwrap();
    terminal.backend().to_string()
}

fn press(app: &mut App, actions: &[Action]) -> Vec<Command> {
    actions.iter().flat_map(|a| app.update(a.clone())).collect()
}

/// Every view at the sizes people use: 80x24, 120x40 and 200x60.
#[test]
fn views_render() {
    for (width, height) in [(80, 24), (120, 40), (200, 60)] {
        let name = |view: &str| format!("{view}_{width}x{height}");
        let mut app = app_with(fixture(), width, height);
        // The first screen: the running processes, busiest first.
        insta::assert_snapshot!(name("first_screen"), screen(&app, width, height));
        press(&mut app, &[Action::ToggleExited]);
        insta::assert_snapshot!(name("processes_flat"), screen(&app, width, height));
        press(&mut app, &[Action::ToggleTree]);
        insta::assert_snapshot!(name("processes_tree"), screen(&app, width, height));
        press(&mut app, &[Action::Show(View::Files)]);
        insta::assert_snapshot!(name("files"), screen(&app, width, height));
        press(&mut app, &[Action::ToggleWindow]);
        insta::assert_snapshot!(name("files_recent"), screen(&app, width, height));
        press(&mut app, &[Action::Show(View::Syscalls)]);
        insta::assert_snapshot!(name("syscalls"), screen(&app, width, height));
        press(&mut app, &[Action::Show(View::Errors)]);
        insta::assert_snapshot!(name("errors"), screen(&app, width, height));
        press(&mut app, &[Action::Show(View::Connections)]);
        insta::assert_snapshot!(name("connections"), screen(&app, width, height));
        press(&mut app, &[Action::Show(View::Syscalls)]);
        press(&mut app, &[Action::ToggleHelp]);
        insta::assert_snapshot!(name("help"), screen(&app, width, height));

        let mut app = app_with(watched_fixture(), width, height);
        press(&mut app, &[Action::Show(View::Syscalls)]); // make 400 is the busiest
        press(&mut app, &[Action::Enter]);
        insta::assert_snapshot!(name("detail"), screen(&app, width, height));
        press(&mut app, &[Action::Kill]);
        insta::assert_snapshot!(name("kill_menu"), screen(&app, width, height));
    }
}

/// The screen with its styles: each cell's colours and modifiers, so that
/// what must stand out does (the selection, errors in red, exited rows
/// dimmed), not only its text.
fn styled_screen(app: &App, width: u16, height: u16) -> String {
    use ratatui::style::{Color, Modifier};
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| render(frame, app, &Theme::colored()))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        let mut line = String::new();
        let mut last = String::new();
        for x in 0..width {
            let cell = &buffer[(x, y)];
            let mut style = String::new();
            if cell.fg != Color::Reset {
                style.push_str(&format!("fg={:?} ", cell.fg));
            }
            if cell.bg != Color::Reset {
                style.push_str(&format!("bg={:?} ", cell.bg));
            }
            if cell.modifier != Modifier::empty() {
                style.push_str(&format!("{:?} ", cell.modifier));
            }
            if style != last {
                line.push_str(&format!("[{}]", style.trim_end()));
                last = style;
            }
            line.push_str(cell.symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn styles_mark_the_selection_errors_and_the_exited() {
    let mut app = app_with(fixture(), 120, 24);
    as_tree(&mut app);
    press(&mut app, &[Action::Down, Action::Down]);
    let styled = styled_screen(&app, 120, 24);
    insta::assert_snapshot!("styles_tree_120x24", styled);
    let row = |needle: &str| {
        styled
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in\n{styled}"))
            .to_string()
    };
    let theme = Theme::colored();
    let color = |style: ratatui::style::Style| format!("{:?}", style.fg.unwrap());
    assert!(
        row("ENOENT").contains(&color(theme.error())),
        "failed exec red"
    );
    assert!(
        row("cc1 -O2").contains(&color(theme.exited())),
        "exited dimmed"
    );
    assert!(row("-bash").contains("bg="), "the selected row");
}

#[test]
fn filter_prompt_renders_as_typed() {
    let mut app = app_with(fixture(), 80, 24);
    press(
        &mut app,
        &[
            Action::OpenPrompt,
            Action::PromptChar('m'),
            Action::PromptChar('a'),
        ],
    );
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn a_tiny_terminal_gets_a_message() {
    let app = app_with(fixture(), 60, 15);
    let text = screen(&app, 60, 15);
    assert!(
        text.contains("needs a terminal of at least 80x24"),
        "{text}"
    );
}

#[test]
fn substring_filter_keeps_matches_and_their_ancestors() {
    let mut app = app_with(fixture(), 80, 24);
    as_tree(&mut app);
    let commands = press(
        &mut app,
        &[
            Action::OpenPrompt,
            Action::PromptChar('c'),
            Action::PromptChar('c'),
            Action::PromptChar('1'),
        ],
    );
    assert!(commands.is_empty(), "a substring filter stays in the UI");
    let keys: Vec<RowKey> = super::views::processes::rows(&app)
        .iter()
        .map(|r| r.key())
        .collect();
    let pids: Vec<RowKey> = [1, 200, 300, 400, 401].map(RowKey::Pid).to_vec();
    assert_eq!(keys, pids, "cc1 with its ancestors");
    press(&mut app, &[Action::PromptAccept]);
    assert_eq!(app.filter, "cc1");
    assert_eq!(
        app.selected(View::Processes).key,
        Some(RowKey::Pid(401)),
        "the match is selected"
    );
    press(&mut app, &[Action::Back]);
    assert_eq!(app.filter, "", "Esc clears a kept filter");
}

#[test]
fn pid_filter_goes_to_the_kernel_once_kept_and_esc_clears_it() {
    let mut app = app_with(fixture(), 80, 24);
    let typed = [
        Action::OpenPrompt,
        Action::PromptChar('4'),
        Action::PromptChar('0'),
        Action::PromptChar('0'),
    ];
    let commands = press(&mut app, &typed);
    assert!(
        commands.is_empty(),
        "not pushed while typed: 4 and 40 would hide the rest"
    );
    let rows = super::views::processes::rows(&app);
    assert!(
        rows.iter().any(|r| r.key() == RowKey::Pid(400)),
        "but applied on screen"
    );
    assert!(
        !rows.iter().any(|r| r.key() == RowKey::Pid(401)),
        "children do not match"
    );
    let commands = press(&mut app, &[Action::PromptAccept]);
    assert!(matches!(&commands[..], [Command::SetFilter(f)] if f.pid == Some(400)));
    let commands = press(&mut app, &[Action::OpenPrompt, Action::PromptCancel]);
    assert!(matches!(&commands[..], [Command::SetFilter(f)] if f.pid.is_none()));
    assert!(app.prompt.is_none() && app.filter.is_empty());
}

#[test]
fn the_command_line_filter_stays_under_a_typed_one() {
    let base = crate::bpf::Filter {
        pid: None,
        comm: Some("make".into()),
        cgroup: None,
    };
    let mut app = App::new(Arc::new(fixture()), base, 80, 24);
    let commands = press(
        &mut app,
        &[
            Action::OpenPrompt,
            Action::PromptChar('7'),
            Action::PromptAccept,
        ],
    );
    assert!(matches!(
        &commands[..],
        [Command::SetFilter(f)] if f.pid == Some(7) && f.comm.as_deref() == Some("make")
    ));
    assert!(screen(&app, 80, 24).contains("--comm make"));
}

#[test]
fn enter_drills_into_the_selected_process_and_esc_comes_back() {
    let mut app = app_with(fixture(), 80, 24);
    as_tree(&mut app);
    press(&mut app, &[Action::ToggleTree]); // flat, by PID: 1 2 3 200 300 …
    press(&mut app, &[Action::Down, Action::Down, Action::Down]);
    let commands = press(&mut app, &[Action::Enter]);
    assert_eq!(app.detail_pid(), Some(200));
    assert!(matches!(
        &commands[..],
        [Command::Watch { pid: Some(200), .. }]
    ));
    let commands = press(&mut app, &[Action::Back]);
    assert_eq!(app.detail_pid(), None);
    assert!(matches!(&commands[..], [Command::Watch { pid: None, .. }]));
}

#[test]
fn selection_follows_its_process_when_rows_move() {
    let mut app = app_with(fixture(), 80, 24);
    as_tree(&mut app);
    press(
        &mut app,
        &[Action::ToggleTree, Action::End, Action::Up, Action::Up],
    );
    assert_eq!(app.selected(View::Processes).key, Some(RowKey::Pid(402)));
    let mut next = fixture();
    next.processes.retain(|p| p.pid != 2 && p.pid != 3);
    app.receive(Arc::new(next));
    let selection = app.selected(View::Processes);
    assert_eq!(selection.key, Some(RowKey::Pid(402)));
    // 1, 200, 300, its failed exec, 400, 401, 402.
    assert_eq!(selection.index, 6);
}

#[test]
fn pause_holds_the_screen_and_resume_catches_up() {
    let mut app = app_with(fixture(), 80, 24);
    press(&mut app, &[Action::TogglePause]);
    let mut next = fixture();
    next.events_per_sec = 999.0;
    app.receive(Arc::new(next));
    assert_eq!(app.snapshot.events_per_sec, 42.0);
    assert!(screen(&app, 80, 24).contains("PAUSED"));
    press(&mut app, &[Action::TogglePause]);
    assert_eq!(app.snapshot.events_per_sec, 999.0);
}

#[test]
fn sort_cycles_and_reverses() {
    let mut app = app_with(fixture(), 80, 24);
    press(&mut app, &[Action::Show(View::Syscalls)]);
    let first = |app: &App| super::views::syscalls::rows(app)[0].pid;
    assert_eq!(first(&app), 400, "busiest first");
    press(&mut app, &[Action::ReverseSort]);
    assert_eq!(first(&app), 1);
    press(
        &mut app,
        &[Action::ReverseSort, Action::CycleSort, Action::CycleSort],
    );
    assert_eq!(app.sort_name(View::Syscalls), "PID");
    assert_eq!(first(&app), 1);
}

#[test]
fn views_cycle_with_tab_and_back_tab() {
    let mut app = app_with(fixture(), 80, 24);
    press(&mut app, &[Action::NextView]);
    assert_eq!(app.view, View::Files);
    press(&mut app, &[Action::PrevView, Action::PrevView]);
    assert_eq!(app.view, View::Connections);
}

/// Failed calls are counted (a program at every syscall's exit) only while
/// their view is on screen, drilled in from it included; with --errors
/// from start to end, and no command then.
#[test]
fn errors_are_counted_only_while_their_view_is_open() {
    let counting = |commands: Vec<Command>| -> Vec<bool> {
        commands
            .into_iter()
            .filter_map(|c| match c {
                Command::CountErrors(on) => Some(on),
                _ => None,
            })
            .collect()
    };
    let mut app = app_with(fixture(), 120, 40);
    let none: [bool; 0] = [];
    assert_eq!(
        counting(press(&mut app, &[Action::Show(View::Files)])),
        none
    );
    assert_eq!(
        counting(press(&mut app, &[Action::Show(View::Errors)])),
        [true]
    );
    assert_eq!(
        app.selected(View::Errors).key,
        Some(RowKey::Error(401, libc::SYS_openat as u32, 2))
    );
    assert_eq!(
        counting(press(&mut app, &[Action::Enter, Action::Back])),
        none
    );
    assert_eq!(counting(press(&mut app, &[Action::NextView])), [false]);

    let mut app = app_with(fixture(), 120, 40);
    app.count_errors_always();
    let both = [Action::Show(View::Errors), Action::Show(View::Files)];
    assert_eq!(counting(press(&mut app, &both)), none);
}

/// c: a menu of the containers running processes; the one chosen filters
/// every view and goes into the kernel as a cgroup filter; Esc clears it.
#[test]
fn c_shows_one_containers_processes_and_filters_in_the_kernel() {
    let mut app = app_with(fixture(), 120, 40);
    press(&mut app, &[Action::ContainerMenu]);
    let menu = app.container_menu.clone().expect("the menu");
    let at = menu
        .items
        .iter()
        .position(|i| i.cgroup_id == Some(DOCKER))
        .expect("the container in the menu");
    assert_eq!(menu.items[at].label, "docker:4f1c2d3e4f5a");
    let mut keys = vec![Action::Down; at];
    keys.push(Action::Enter);
    let commands = press(&mut app, &keys);
    assert!(
        matches!(
            &commands[..],
            [Command::SetFilter(f)] if f.cgroup.as_ref().is_some_and(|c| c.id == DOCKER && c.level == 2)
        ),
        "{commands:?}"
    );
    let pids: Vec<u32> = processes::rows(&app)
        .iter()
        .filter_map(|r| match r.key() {
            RowKey::Pid(pid) => Some(pid),
            _ => None,
        })
        .collect();
    assert_eq!(pids, [400], "the running processes of the container");
    let screen = screen(&app, 120, 40);
    assert!(
        screen.contains("container: docker:4f1c2d3e4f5a"),
        "{screen}"
    );
    let commands = press(&mut app, &[Action::Back]);
    assert!(app.container_filter.is_none());
    assert!(
        matches!(&commands[..], [Command::SetFilter(f)] if f.cgroup.is_none()),
        "{commands:?}"
    );
}

/// The errors view sorts by each of its columns and filters like the
/// others: by PID or command.
#[test]
fn the_errors_view_sorts_and_filters() {
    let mut app = app_with(fixture(), 120, 40);
    press(&mut app, &[Action::Show(View::Errors)]);
    let pids = |app: &App| -> Vec<u32> {
        super::views::errors::rows(app)
            .iter()
            .map(|r| r.pid)
            .collect()
    };
    assert_eq!(
        pids(&app),
        [401, 400, 400, 300, 402],
        "most failing, then by total"
    );
    press(&mut app, &[Action::CycleSort]);
    assert_eq!(app.sort_name(View::Errors), "TOTAL");
    assert_eq!(pids(&app), [401, 400, 400, 300, 402]);
    press(&mut app, &[Action::CycleSort]);
    assert_eq!(app.sort_name(View::Errors), "PID");
    assert_eq!(pids(&app), [300, 400, 400, 401, 402]);
    press(&mut app, &[Action::OpenPrompt]);
    for c in "make".chars() {
        press(&mut app, &[Action::PromptChar(c)]);
    }
    press(&mut app, &[Action::PromptAccept]);
    assert_eq!(pids(&app), [400, 400]);
}

#[test]
fn collapse_hides_a_subtree_and_expand_shows_it() {
    let mut app = app_with(fixture(), 80, 24);
    as_tree(&mut app);
    let count = |app: &App| super::views::processes::rows(app).len();
    let all = count(&app);
    // Rows in the tree: 1, 200, 300, ✗nope, 701, 400, 401, 402, 700, 2, 3.
    press(&mut app, &[Action::Down, Action::Down]);
    assert_eq!(app.selected(View::Processes).key, Some(RowKey::Pid(300)));
    press(&mut app, &[Action::Collapse]);
    assert_eq!(count(&app), all - 6);
    press(&mut app, &[Action::Expand]);
    assert_eq!(count(&app), all);
}

/// A filter match inside a collapsed subtree is shown, its ancestors
/// opened around it; without the filter the subtree is collapsed again.
#[test]
fn a_match_inside_a_collapsed_subtree_is_shown() {
    let mut app = app_with(fixture(), 80, 24);
    as_tree(&mut app);
    app.processes.collapsed.insert(300);
    let pids = |app: &App| -> Vec<RowKey> {
        super::views::processes::rows(app)
            .iter()
            .map(|r| r.key())
            .collect()
    };
    assert!(!pids(&app).contains(&RowKey::Pid(401)), "collapsed");
    let typed: Vec<Action> = "cc1".chars().map(Action::PromptChar).collect();
    press(
        &mut app,
        &[&[Action::OpenPrompt][..], &typed, &[Action::PromptAccept]].concat(),
    );
    assert!(pids(&app).contains(&RowKey::Pid(401)), "{:?}", pids(&app));
    assert_eq!(app.selected(View::Processes).key, Some(RowKey::Pid(401)));
    press(&mut app, &[Action::Back]);
    assert!(!pids(&app).contains(&RowKey::Pid(401)), "collapsed again");
}

/// The help does not fit at 80x24: the arrows scroll it, to its last line.
#[test]
fn the_help_scrolls_where_it_does_not_fit() {
    let mut app = app_with(fixture(), 80, 24);
    press(&mut app, &[Action::ToggleHelp]);
    assert!(!screen(&app, 80, 24).contains("keep, clear"));
    press(&mut app, &[Action::End]);
    let text = screen(&app, 80, 24);
    assert!(text.contains("keep, clear"), "{text}");
    assert!(app.help, "scrolling keeps it open");
    press(&mut app, &[Action::Back]);
    assert!(!app.help);
}

#[test]
fn clicks_select_and_the_wheel_scrolls() {
    let mut app = app_with(fixture(), 80, 24);
    press(
        &mut app,
        &[Action::Click(super::layout::FIRST_TABLE_ROW + 2)],
    );
    assert_eq!(app.selected(View::Processes).index, 2);
    press(&mut app, &[Action::ScrollDown]);
    assert_eq!(app.selected(View::Processes).index, 3);
}

#[test]
fn quit_and_help() {
    let mut app = app_with(fixture(), 80, 24);
    press(&mut app, &[Action::ToggleHelp]);
    assert!(app.help);
    press(&mut app, &[Action::Back]);
    assert!(!app.help);
    press(&mut app, &[Action::Quit]);
    assert!(app.quit);
}

#[test]
fn a_parent_cycle_shows_each_process_once_and_drills_in() {
    // A reused PID can make two processes each other's parent.
    let mut snapshot = fixture();
    snapshot.processes.push(process(500, 501, 0, &["a"], 5));
    snapshot.processes.push(process(501, 500, 0, &["b"], 5));
    let mut app = app_with(snapshot, 80, 24);
    let keys: Vec<RowKey> = super::views::processes::rows(&app)
        .iter()
        .map(|r| r.key())
        .collect();
    for pid in [500, 501] {
        assert_eq!(
            keys.iter().filter(|k| **k == RowKey::Pid(pid)).count(),
            1,
            "{keys:?}"
        );
    }
    app.detail = Some(detail::State::new(500));
    let text = screen(&app, 80, 24);
    assert!(text.contains("501 b"), "{text}");
}

#[test]
fn slash_in_the_drill_down_searches_the_stream_not_the_processes() {
    let mut app = app_with(watched_fixture(), 160, 48);
    press(&mut app, &[Action::Show(View::Syscalls), Action::Enter]);
    let typed: Vec<Action> = "enoent".chars().map(Action::PromptChar).collect();
    let commands = press(
        &mut app,
        &[&[Action::OpenPrompt][..], &typed, &[Action::PromptAccept]].concat(),
    );
    assert!(commands.is_empty(), "no kernel filter");
    assert_eq!((app.filter.as_str(), app.stream_search()), ("", "enoent"));
    let text = screen(&app, 160, 48);
    assert!(text.contains("Makefile.local"), "{text}");
    assert!(!text.contains("ld.so.cache\", O_RDONLY"), "{text}");
    press(&mut app, &[Action::Back]);
    assert!(
        app.stream_search().is_empty() && app.detail.is_some(),
        "Esc clears the search first, as htop's does"
    );
    press(&mut app, &[Action::Back]);
    assert!(app.detail.is_none(), "then leaves");
}

/// The search goes through every line kept, not only those on screen, and
/// says when none matches rather than looking like an empty stream.
#[test]
fn the_stream_search_reaches_every_line_kept() {
    let mut snapshot = watched_fixture();
    let watched = snapshot.watched.as_mut().unwrap();
    let mut lines = vec![activity(5 * SEC, 400, "chdir(\"/srv/needle\") = 0", false)];
    lines.extend((0..200).map(|i| activity(4 * SEC - i * 1000, 400, "getpid() = 400", false)));
    watched.activity = lines;
    let mut app = app_with(snapshot, 120, 30);
    app.detail = Some(detail::State::new(400));
    assert!(!screen(&app, 120, 30).contains("needle"), "scrolled away");
    app.detail.as_mut().unwrap().search = "needle".into();
    let text = screen(&app, 120, 30);
    assert!(text.contains("chdir(\"/srv/needle\")"), "{text}");
    app.detail.as_mut().unwrap().search = "haystack".into();
    let text = screen(&app, 120, 30);
    assert!(
        text.contains("no match: none of the 201 lines kept has \"haystack\""),
        "{text}"
    );
    // Scrolling back goes as far as the lines the search keeps, the
    // oldest then at the top of the pane.
    app.detail.as_mut().unwrap().search = "getpid".into();
    press(&mut app, &[Action::Home]);
    let rows = super::views::detail::stream_rows(&app);
    assert_eq!(app.detail.as_ref().unwrap().scroll, 200 - rows);
    let text = screen(&app, 120, 30);
    let shown = text
        .lines()
        .filter(|l| l.contains("getpid() = 400"))
        .count();
    assert_eq!(shown, rows, "a full pane at the top:\n{text}");
}

/// A process known only from its counters, whose /proc entry was gone: its
/// user and age are unknown, not root and the machine's uptime.
#[test]
fn what_is_not_known_shows_as_unknown() {
    let mut snapshot = fixture();
    let mut unseen = process(
        777,
        1,
        crate::collect::process_tree::UNKNOWN_UID,
        &["ghost"],
        0,
    );
    unseen.start_ns = 0;
    unseen.cgroup_id = 0;
    snapshot.processes.push(unseen);
    let mut app = app_with(snapshot, 120, 40);
    press(&mut app, &[Action::ToggleTree]);
    let text = screen(&app, 120, 40);
    let row = text
        .lines()
        .find(|l| l.contains("ghost"))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = row.trim_matches('"').split_whitespace().collect();
    assert_eq!(&cells[..4], ["777", "?", "?", "?"], "{row}");
}

/// htop's k: a menu of signals for the selected process; Esc sends
/// nothing, Enter asks the collector to send the one chosen to that process
/// (its start with it, so that a reused PID is not signalled).
#[test]
fn k_asks_for_the_chosen_signal_to_the_selected_process() {
    let mut snapshot = fixture();
    let mut sleep = process(4321, 1, 0, &["sleep", "60"], 1);
    sleep.start_ns = 77;
    snapshot.processes.push(sleep);
    let mut app = app_with(snapshot, 120, 40);
    app.detail = Some(detail::State::new(4321));
    press(&mut app, &[Action::Kill]);
    let menu = app.kill_menu.clone().expect("the menu");
    assert_eq!(
        (menu.targets[0].pid, menu.choice.selected),
        (4321, 0),
        "SIGTERM first"
    );
    assert!(screen(&app, 120, 40).contains("SIGKILL  end now"));
    assert!(
        press(&mut app, &[Action::Back]).is_empty(),
        "Esc sends nothing"
    );
    assert!(app.kill_menu.is_none());
    let commands = press(&mut app, &[Action::Kill, Action::Down, Action::Enter]);
    match &commands[..] {
        [Command::Signal { signal, targets }] => {
            assert_eq!(*signal, libc::SIGKILL);
            assert_eq!(
                targets[..],
                [crate::collect::SignalTarget {
                    pid: 4321,
                    start_ns: 77,
                    comm: "sleep".into()
                }]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(app.kill_menu.is_none());
    // What the collector answers is said in the footer.
    app.notify("sent SIGKILL to 4321".into(), false);
    assert!(screen(&app, 120, 40).contains("sent SIGKILL to 4321"));
    // Nothing running selected: said, not silently ignored.
    app.detail = Some(detail::State::new(999_999));
    press(&mut app, &[Action::Kill]);
    assert!(app.kill_menu.is_none() && app.notice.as_ref().is_some_and(|n| n.error));
}

/// htop's Space tags, and k then signals every tagged process that still
/// runs as it was; U untags all.
#[test]
fn space_tags_and_k_signals_the_tagged() {
    let mut app = app_with(fixture(), 120, 40);
    as_tree(&mut app);
    // Rows: 1, 200, 300, ...: tag 200 and 300 (Space moves down).
    press(&mut app, &[Action::Down, Action::Tag, Action::Tag]);
    assert_eq!(app.tagged.keys().copied().collect::<Vec<_>>(), [200, 300]);
    assert!(screen(&app, 120, 40).contains(" 2 tagged "));
    press(&mut app, &[Action::Kill]);
    let menu = app.kill_menu.clone().expect("the menu");
    let pids: Vec<u32> = menu.targets.iter().map(|t| t.pid).collect();
    assert_eq!(pids, [200, 300]);
    assert!(screen(&app, 120, 40).contains("send the 2 tagged processes a signal"));
    let commands = press(&mut app, &[Action::Enter]);
    assert!(
        matches!(&commands[..], [Command::Signal { targets, .. }] if targets.len() == 2),
        "{commands:?}"
    );
    assert!(app.tagged.is_empty(), "sent: the tags are done with");
    press(&mut app, &[Action::Up, Action::Tag]);
    assert_eq!(app.tagged.len(), 1);
    press(&mut app, &[Action::UntagAll]);
    assert!(app.tagged.is_empty());
}

/// htop's u: a menu of the users with processes; the one chosen filters
/// the process and syscall views; Esc clears it once no text filter is left.
#[test]
fn u_shows_one_users_processes() {
    let mut app = app_with(fixture(), 120, 40);
    press(&mut app, &[Action::UserMenu]);
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("nobody (65534)") && text.contains("all users"),
        "{text}"
    );
    // all users, nobody, root: by name.
    press(&mut app, &[Action::Down, Action::Enter]);
    assert_eq!(app.user_filter, Some(65534));
    let pids: Vec<RowKey> = super::views::processes::rows(&app)
        .iter()
        .map(|r| r.key())
        .collect();
    assert_eq!(pids, [RowKey::Pid(400), RowKey::Pid(700)]);
    assert!(screen(&app, 120, 40).contains(" user: nobody "));
    press(&mut app, &[Action::Show(View::Syscalls)]);
    let rates: Vec<u32> = super::views::syscalls::rows(&app)
        .iter()
        .map(|r| r.pid)
        .collect();
    assert_eq!(rates, [400]);
    press(&mut app, &[Action::Back]);
    assert_eq!(app.user_filter, None);
}

/// The first screen puts the busiest first: a process busy in its own
/// code (no syscalls) by its CPU, as htop would.
#[test]
fn a_cpu_hog_comes_first() {
    let mut snapshot = fixture();
    let mut spinner = process(600, 1, 0, &["spin"], 30);
    spinner.usage = Some(crate::collect::usage::Usage {
        cpu_percent: 99.0,
        rss_bytes: 1 << 20,
    });
    snapshot.processes.push(spinner);
    let mut app = app_with(snapshot, 80, 24);
    let first = |app: &App| super::views::processes::rows(app)[0].key();
    assert_eq!(first(&app), RowKey::Pid(600));
    press(&mut app, &[Action::SortByMemory]);
    assert_eq!(first(&app), RowKey::Pid(400), "make: the most memory");
    press(&mut app, &[Action::SortByCpu]);
    assert_eq!(first(&app), RowKey::Pid(600));
    let text = screen(&app, 80, 24);
    assert!(text.contains("99.0  1.0M"), "{text}");
}
