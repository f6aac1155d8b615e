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

    /// Stop after SECS seconds and print a summary
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    duration: Option<Duration>,

    /// Seconds between rate snapshots
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_seconds)]
    interval: Duration,

    /// Only this process (its threads included)
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,

    /// Only processes whose command name (comm, 15 bytes at most) is NAME
    #[arg(long, value_name = "NAME")]
    comm: Option<String>,

    /// Print every syscall of --pid PID, or of the command after --, as
    /// strace does (on stderr; JSON lines on stdout with --json)
    #[arg(long)]
    trace: bool,

    /// With --trace: the processes it forks too
    #[arg(long, requires = "trace")]
    follow: bool,

    /// With --trace: the command to start and trace (after --); systrace-top
    /// exits with its status
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(0.01..=86_400.0 * 365.0).contains(&secs) {
        return Err(format!("`{s}` seconds is out of range (0.01 or more)"));
    }
    Ok(Duration::from_secs_f64(secs))
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
    match run(cli) {
        Ok(status) => ExitCode::from(status.clamp(0, 255) as u8),
        Err(err) => {
            eprintln!("systrace-top: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The exit status: 0, or the traced command's.
fn run(cli: Cli) -> Result<i32> {
    if let Some(pid) = cli.pid {
        check_pid(pid)?;
    }
    if cli.comm.as_deref().is_some_and(str::is_empty) {
        bail!("--comm needs a non-empty command name");
    }
    if !cli.command.is_empty() && !cli.trace {
        bail!("a command after -- is traced with --trace");
    }
    if cli.trace && cli.pid.is_none() && cli.command.is_empty() {
        bail!("--trace needs --pid PID or a command after --");
    }
    if cli.trace && cli.pid.is_some() && !cli.command.is_empty() {
        bail!("--trace takes --pid PID or a command, not both");
    }
    bpf::env::prepare()?;
    let trace = match (cli.trace, cli.pid) {
        (false, _) => None,
        (true, Some(pid)) => Some(TraceTarget::Pid(pid)),
        (true, None) => Some(TraceTarget::Command(headless::launch(&cli.command)?)),
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
