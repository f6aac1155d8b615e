//! systrace-top: what every process is doing at the system-call level.

mod bpf;
mod collect;
mod headless;
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
    >= 5.12 with BTF. JSON records are described in README.md."
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

    /// Only this process (its threads included)
    #[arg(
        long,
        value_name = "PID",
        value_parser = parse_pid,
        allow_negative_numbers = true
    )]
    pid: Option<u32>,

    /// Only processes whose command name (comm, 15 bytes at most) is NAME
    #[arg(long, value_name = "NAME", value_parser = parse_comm)]
    comm: Option<String>,

    /// Print every syscall of --pid PID, or of the command after --, as
    /// strace does (on stderr; JSON lines on stdout with --json)
    #[arg(long)]
    trace: bool,

    /// With --trace: the processes it forks too
    #[arg(long)]
    follow: bool,

    /// With --trace: the command to start and trace (after --); systrace-top
    /// exits with its status
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
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
    if cli.follow && !cli.trace {
        return Err("--follow only works with --trace: add --trace".into());
    }
    if !cli.command.is_empty() && !cli.trace {
        return Err("a command after -- is traced with --trace: add --trace".into());
    }
    if cli.trace && cli.pid.is_none() && cli.command.is_empty() {
        return Err("--trace needs --pid PID or a command after --".into());
    }
    if cli.trace && cli.pid.is_some() && !cli.command.is_empty() {
        return Err("--trace takes --pid PID or a command, not both".into());
    }
    Ok(())
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
    if let Err(usage) = check_usage(&cli) {
        eprintln!("systrace-top: {usage}");
        return ExitCode::from(2);
    }
    match run(cli) {
        Ok(status) => ExitCode::from(status.clamp(0, 255) as u8),
        Err(err) => {
            eprintln!("systrace-top: {err:#}");
            let status = err
                .downcast_ref::<CommandNotStarted>()
                .map_or(1, |e| e.status);
            ExitCode::from(status)
        }
    }
}

/// The exit status: 0, or the traced command's.
fn run(cli: Cli) -> Result<i32> {
    if let Some(pid) = cli.pid {
        check_pid(pid)?;
    }
    bpf::env::prepare()?;
    let trace = match (cli.trace, cli.pid) {
        (false, _) => None,
        (true, Some(pid)) => Some(TraceTarget::Pid(pid)),
        (true, None) => Some(TraceTarget::Command(
            headless::launch(&cli.command).map_err(command_not_started)?,
        )),
    };
    let config = Config {
        interval: cli.interval,
        filter: Filter {
            // --trace --pid watches the process; the rest is still counted.
            pid: if cli.trace { None } else { cli.pid },
            comm: cli.comm,
        },
        stream_events: cli.json || cli.trace,
    };
    if cli.json || trace.is_some() {
        let options = headless::Options {
            duration: cli.duration,
            json: cli.json,
            trace,
            follow: cli.follow,
        };
        headless::run(config, options)
    } else {
        ui::run(config, cli.duration).map(|()| 0)
    }
}
