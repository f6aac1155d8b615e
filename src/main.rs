//! systrace-top: what every process is doing at the system-call level.

mod bpf;
mod collect;
mod headless;
mod metrics;
mod record;
mod ui;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Parser;

use bpf::Filter;
use collect::Config;
use headless::TraceTarget;

/// A live, system-wide view of execs, opened files and syscall rates, from
/// eBPF. Without --json it opens the terminal UI.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Needs root (or CAP_BPF, CAP_PERFMON) and a kernel \
    >= 5.13 with BTF. JSON records are described in README.md."
)]
struct Cli {
    /// Write JSON lines to stdout (exec, fork, exit, open, rates, lost, summary)
    #[arg(long)]
    json: bool,

    // Negative numbers are taken as values, to be refused with the range
    // rather than as an unknown flag.
    /// Stop after SECS seconds and print a summary
    #[arg(
        long,
        value_name = "SECS",
        value_parser = parse_seconds,
        allow_negative_numbers = true
    )]
    duration: Option<Duration>,

    /// Seconds between rate snapshots
    #[arg(
        long,
        value_name = "SECS",
        default_value = "1",
        value_parser = parse_seconds,
        allow_negative_numbers = true
    )]
    interval: Duration,

    /// Only this process (its threads included). With --trace: a process to
    /// trace, as strace -p (may be repeated)
    #[arg(
        short = 'p',
        long,
        value_name = "PID",
        value_parser = parse_pid,
        allow_negative_numbers = true,
        action = clap::ArgAction::Append
    )]
    pid: Vec<u32>,

    /// Only processes whose command name (comm, 15 bytes at most) is NAME
    #[arg(long, value_name = "NAME", value_parser = parse_comm)]
    comm: Option<String>,

    /// Only processes in this cgroup v2 or below it (a container): a path
    /// under /sys/fs/cgroup, as /proc/PID/cgroup gives it
    #[arg(long, value_name = "PATH")]
    cgroup: Option<String>,

    /// Count every process's failed syscalls per syscall and errno from the
    /// start (`errors` in --json's rates records; in the UI, view 4 counts
    /// only while open without it). Each syscall's exit then costs a little
    #[arg(long)]
    errors: bool,

    /// Serve metrics for Prometheus at http://ADDR/metrics ([HOST:]PORT:
    /// loopback when only a port is given; port 0 picks one, said on
    /// stderr): runs without the UI, beside --json's records if asked
    #[arg(long, value_name = "ADDR", value_parser = metrics::parse_addr)]
    metrics: Option<std::net::SocketAddr>,

    /// Record what every view shows to FILE, without the UI (stop with
    /// Ctrl-C or --duration): zstd-compressed blocks, readable up to the
    /// last one written if the recording is cut. In the UI, R records too
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,

    /// With --record: when FILE reaches SIZE (bytes, or with K, M, G), it
    /// becomes FILE.1 (replacing the one before) and a new FILE starts; 0:
    /// never. Default 1G
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    record_size: Option<u64>,

    /// Replay a recording in the UI (pause, speed, jump), or with --json as
    /// the JSON lines a live run writes. Needs no root and no BPF
    #[arg(long, value_name = "FILE")]
    replay: Option<std::path::PathBuf>,

    /// Print every syscall of --pid PID, or of the command after --, as
    /// strace does (on stderr; JSON lines on stdout with --json)
    #[arg(long)]
    trace: bool,

    /// With --trace: the processes and threads it forks too, to their end
    /// (strace -f)
    #[arg(short = 'f', long)]
    follow: bool,

    /// With --trace: trace=SET (syscall names, %file, %process, %network,
    /// %signal, %desc, %memory…, !SET for all but SET), signal=SET (the
    /// signals shown: names, numbers, !SET)
    #[arg(short = 'e', value_name = "EXPR", action = clap::ArgAction::Append)]
    expr: Vec<String>,

    /// With --trace: write the trace to FILE instead of stderr
    #[arg(short = 'o', value_name = "FILE")]
    output: Option<std::path::PathBuf>,

    /// With --trace: show at most N bytes of each string or buffer (strace
    /// -s; buffers are read up to 255)
    #[arg(short = 's', value_name = "N", default_value_t = 32)]
    string_limit: usize,

    /// With --trace: name the file behind each fd, when known (strace -y)
    #[arg(short = 'y')]
    fd_paths: bool,

    /// With --trace: the time spent in each call (strace -T)
    #[arg(short = 'T')]
    durations: bool,

    /// With --trace: lead each line with the time; -tt with microseconds,
    /// -ttt as seconds since the epoch
    #[arg(short = 't', action = clap::ArgAction::Count)]
    timestamps: u8,

    /// With --trace: a table of calls, errors and time per syscall instead
    /// of the trace (strace -c)
    #[arg(short = 'c')]
    summary_only: bool,

    /// With --trace: the trace, then the table of -c
    #[arg(short = 'C')]
    summary_too: bool,

    /// With --trace: no attach and detach messages; -qq: no exit lines
    #[arg(short = 'q', action = clap::ArgAction::Count)]
    quiet: u8,

    /// With --trace: the command to start and trace (after --); systrace-top
    /// exits with its status
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,

    /// Write the man page and shell completions, made from these flags,
    /// into DIR (how assets/ is made: `make assets`)
    #[arg(long, value_name = "DIR", hide = true)]
    generate_assets: Option<std::path::PathBuf>,
}

/// The man page (DIR/systrace-top.1) and the bash, zsh and fish completions
/// (DIR/completions/), from the CLI's definition: they cannot go stale.
fn generate_assets(dir: &std::path::Path) -> Result<()> {
    use anyhow::Context;
    use clap::CommandFactory;
    use clap_complete::Shell;
    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions)
        .with_context(|| format!("creating {}", completions.display()))?;
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    let man = dir.join("systrace-top.1");
    std::fs::write(&man, page).with_context(|| format!("writing {}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut Cli::command(), "systrace-top", &completions)
            .with_context(|| format!("writing the {shell} completions"))?;
    }
    Ok(())
}

/// A year: longer is surely a typo.
const MAX_SECONDS: f64 = 86_400.0 * 365.0;

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(0.01..=MAX_SECONDS).contains(&secs) {
        return Err(format!("must be from 0.01 to {MAX_SECONDS} seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A recording rotates at 1 GiB unless told otherwise, and not below 1 MiB
/// (each part starts with a whole snapshot).
const DEFAULT_RECORD_SIZE: u64 = 1 << 30;
const MIN_RECORD_SIZE: u64 = 1 << 20;

/// Bytes, or with a K, M or G suffix (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("`{s}` is not a size (bytes, or a number with K, M or G)"))
}

fn parse_pid(s: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| "must be a process ID (a number, 1 or more)".to_string())
}

/// The kernel keeps 15 bytes of a command name (TASK_COMM_LEN, 16 with the
/// NUL): a longer NAME would never match, or match only once cut.
const COMM_LEN: usize = 15;

fn parse_comm(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("must be a command name, not empty".into());
    }
    if s.len() > COMM_LEN {
        let hint = match s.get(..COMM_LEN) {
            Some(cut) => format!(": use '{cut}'"),
            None => String::new(),
        };
        return Err(format!(
            "{} bytes, but the kernel keeps {COMM_LEN} bytes of a command name{hint}",
            s.len()
        ));
    }
    Ok(s.to_string())
}

/// Flags that only make sense together; refused before anything starts.
fn check_usage(cli: &Cli) -> Result<(), String> {
    if !cli.trace {
        let strace_only = [
            (cli.follow, "--follow (-f)"),
            (!cli.expr.is_empty(), "-e"),
            (cli.output.is_some(), "-o"),
            (cli.string_limit != 32, "-s"),
            (cli.fd_paths, "-y"),
            (cli.durations, "-T"),
            (cli.timestamps > 0, "-t"),
            (cli.summary_only, "-c"),
            (cli.summary_too, "-C"),
            (cli.quiet > 0, "-q"),
        ];
        if let Some((_, flag)) = strace_only.iter().find(|(given, _)| *given) {
            return Err(format!("{flag} only works with --trace: add --trace"));
        }
        if !cli.command.is_empty() {
            return Err("a command after -- is traced with --trace: add --trace".into());
        }
        if cli.pid.len() > 1 {
            return Err("one --pid without --trace; several with --trace".into());
        }
    }
    if cli.trace && cli.pid.is_empty() && cli.command.is_empty() {
        return Err("--trace needs --pid PID or a command after --".into());
    }
    if cli.trace && !cli.pid.is_empty() && !cli.command.is_empty() {
        return Err("--trace takes --pid PID or a command, not both".into());
    }
    if cli.trace && cli.comm.is_some() {
        return Err(
            "--comm filters the monitor; --trace follows processes by PID: drop --comm".into(),
        );
    }
    if cli.summary_only && cli.summary_too {
        return Err(
            "-c and -C together: -c for the table alone, -C for the trace and the table".into(),
        );
    }
    if cli.trace && cli.metrics.is_some() {
        return Err(
            "--metrics is about every process; --trace follows one: drop one of them".into(),
        );
    }
    if cli.replay.is_some() {
        let live_only = [
            (cli.record.is_some(), "--record"),
            (cli.trace, "--trace"),
            (cli.metrics.is_some(), "--metrics"),
            (!cli.pid.is_empty(), "--pid"),
            (cli.comm.is_some(), "--comm"),
            (cli.cgroup.is_some(), "--cgroup"),
            (cli.errors, "--errors"),
            (cli.duration.is_some(), "--duration"),
        ];
        if let Some((_, flag)) = live_only.iter().find(|(given, _)| *given) {
            return Err(format!(
                "{flag} is for a live run: --replay plays what was recorded (with --json or not)"
            ));
        }
    }
    if cli
        .record_size
        .is_some_and(|size| size != 0 && size < MIN_RECORD_SIZE)
    {
        return Err(
            "--record-size must be at least 1M (or 0: never rotate): each part starts with a snapshot".into(),
        );
    }
    if cli.record_size.is_some() && cli.record.is_none() {
        return Err("--record-size is the size of --record's file: add --record FILE".into());
    }
    if cli.json && (cli.output.is_some() || cli.summary_only || cli.summary_too) {
        return Err("--json writes records to stdout: -o, -c and -C are for the text trace".into());
    }
    Ok(())
}

/// What strace's -e qualifiers select.
struct Selection {
    /// trace=SET: the syscalls streamed (all without it).
    calls: bpf::CallSet,
    /// signal=SET: the signals shown (all without it), bit n for signal n.
    signals: u64,
}

/// Reads -e trace=SET and -e signal=SET (a bare SET is trace=, as for
/// strace); refuses the qualifiers not supported.
fn selection(exprs: &[String]) -> Result<Selection, String> {
    let mut selection = Selection {
        calls: bpf::CallSet::all(),
        signals: u64::MAX,
    };
    for expr in exprs {
        let (qualifier, value) = expr.split_once('=').unwrap_or(("trace", expr));
        match qualifier {
            "trace" | "t" => selection.calls = collect::trace_set::parse(value)?,
            "signal" | "signals" | "s" => {
                selection.signals = collect::trace_set::parse_signals(value)?;
            }
            other => {
                return Err(format!(
                    "-e {other}= is not supported: -e trace=SET and -e signal=SET are"
                ));
            }
        }
    }
    Ok(selection)
}

/// A traced command that could not be started.
#[derive(Debug)]
struct CommandNotStarted {
    /// As a shell gives it: 127 when the command does not exist, 126 when
    /// it cannot be run.
    status: u8,
    error: anyhow::Error,
}

impl std::fmt::Display for CommandNotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for CommandNotStarted {}

/// Starting the command fails with an io::Error when it is missing or not
/// executable (see headless::launch's `resolve`); other failures are ours.
fn command_not_started(error: anyhow::Error) -> anyhow::Error {
    let status = match error.downcast_ref::<std::io::Error>() {
        Some(e) if e.kind() == std::io::ErrorKind::NotFound => 127,
        Some(_) => 126,
        None => return error,
    };
    CommandNotStarted { status, error }.into()
}

/// --replay: the UI on a recording, or its JSON lines.
fn replay(cli: &Cli, path: &std::path::Path) -> Result<headless::Ended> {
    let recording = record::Recording::open(path)?;
    if !cli.json {
        return ui::replay(recording).map(|()| headless::Ended::Exited(0));
    }
    let options = headless::Options {
        duration: None,
        json: true,
        metrics: None,
        trace: None,
        follow: false,
        output: None,
        strace: collect::strace::StraceOptions {
            fd_paths: false,
            string_limit: cli.string_limit,
            durations: false,
        },
        layout: headless::Layout {
            timestamps: headless::Timestamps::None,
            summary: headless::Summary::Off,
            quiet: 0,
            signals: u64::MAX,
            to_file: false,
        },
        record: None,
        replay: Some(recording),
    };
    let config = Config {
        interval: cli.interval,
        filter: Filter::default(),
        stream_events: true,
        screen: false,
        drill_down: false,
        streamed: bpf::CallSet::all(),
        preview_bytes: cli.string_limit,
        errors: false,
    };
    headless::run(config, options)
}

/// `--pid` must name a running process, not one of its threads: the kernel
/// side filters on the process id.
fn check_pid(pid: u32) -> Result<()> {
    let tgid = procfs::process::Process::new(pid as i32)
        .and_then(|p| p.status())
        .map(|s| s.tgid as u32);
    match tgid {
        Ok(tgid) if tgid == pid => Ok(()),
        Ok(tgid) => bail!("PID {pid} is a thread of process {tgid}: use --pid {tgid}"),
        Err(_) => bail!("no process with PID {pid}"),
    }
}

fn main() -> ExitCode {
    headless::note_inherited_signals();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => err.exit(), // --help, --version
        Err(err) => {
            let text = err.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            eprintln!(
                "systrace-top: {} (see --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &cli.generate_assets {
        return match generate_assets(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("systrace-top: {err:#}");
                ExitCode::FAILURE
            }
        };
    }
    let selection = match check_usage(&cli).and_then(|()| selection(&cli.expr)) {
        Ok(selection) => selection,
        Err(usage) => {
            eprintln!("systrace-top: {usage}");
            return ExitCode::from(2);
        }
    };
    match run(cli, selection) {
        Ok(ended) => ended.mimic(),
        Err(err) => {
            eprintln!("systrace-top: {err:#}");
            let status = err
                .downcast_ref::<CommandNotStarted>()
                .map_or(1, |e| e.status);
            ExitCode::from(status)
        }
    }
}

/// How to end: with 0, or as the traced command did.
fn run(cli: Cli, selection: Selection) -> Result<headless::Ended> {
    if let Some(path) = &cli.replay {
        return replay(&cli, path);
    }
    for &pid in &cli.pid {
        check_pid(pid)?;
    }
    bpf::env::prepare()?;
    let trace = match (cli.trace, cli.pid.is_empty()) {
        (false, _) => None,
        (true, false) => Some(TraceTarget::Pids(cli.pid.clone())),
        (true, true) => Some(TraceTarget::Command(
            headless::launch(&cli.command).map_err(command_not_started)?,
        )),
    };
    let config = Config {
        interval: cli.interval,
        filter: Filter {
            // --trace --pid watches the process; the rest is still counted.
            pid: if cli.trace {
                None
            } else {
                cli.pid.first().copied()
            },
            comm: cli.comm,
            cgroup: match &cli.cgroup {
                Some(path) => {
                    let (id, level, path) = collect::containers::resolve(path)?;
                    Some(bpf::CgroupFilter { id, level, path })
                }
                None => None,
            },
        },
        stream_events: cli.json || cli.trace || cli.record.is_some(),
        // Without a screen the collector keeps only what records need.
        // A recording keeps what a screen shows, to show it later.
        screen: !(cli.json || cli.trace || cli.metrics.is_some()) || cli.record.is_some(),
        // The UI's drill-down.
        drill_down: !(cli.json || cli.trace || cli.metrics.is_some() || cli.record.is_some()),
        streamed: selection.calls,
        preview_bytes: cli.string_limit,
        errors: cli.errors,
    };
    let record = cli.record.clone().map(|path| headless::RecordTo {
        path,
        max_size: match cli.record_size.unwrap_or(DEFAULT_RECORD_SIZE) {
            0 => None,
            size => Some(size),
        },
    });
    if cli.json || trace.is_some() || cli.metrics.is_some() || record.is_some() {
        let options = headless::Options {
            duration: cli.duration,
            json: cli.json,
            metrics: cli.metrics,
            trace,
            follow: cli.follow,
            output: cli.output,
            strace: collect::strace::StraceOptions {
                fd_paths: cli.fd_paths,
                string_limit: cli.string_limit,
                durations: cli.durations,
            },
            layout: headless::Layout {
                timestamps: headless::Timestamps::from_count(cli.timestamps),
                summary: match (cli.summary_only, cli.summary_too) {
                    (true, _) => headless::Summary::Only,
                    (_, true) => headless::Summary::Also,
                    _ => headless::Summary::Off,
                },
                quiet: cli.quiet,
                signals: selection.signals,
                to_file: false,
            },
            record,
            replay: None,
        };
        headless::run(config, options)
    } else {
        ui::run(config, cli.duration).map(|()| headless::Ended::Exited(0))
    }
}
