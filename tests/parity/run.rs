//! Running: one program under strace and under systrace-top, in the same
//! environment, so that what differs between the two traces is the tracer.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::BIN;

/// A program of the corpus.
pub struct Program {
    pub name: &'static str,
    pub argv: Vec<String>,
    /// A file for its stdin; /dev/null when none.
    pub stdin: Option<&'static str>,
    /// Why its sequence of calls may change from run to run (threads
    /// contend, a retry on chance), if it may: such a program is left out
    /// of the identical-sequence check.
    pub varies: Option<&'static str>,
}

/// The two traces of one program, as each tracer wrote them.
pub struct Traces {
    pub strace: String,
    pub ours: String,
    /// The run's directory, to be written as a fixed name.
    pub dir: PathBuf,
}

/// Longest any one run may take: the corpus's programs take milliseconds.
const DEADLINE: Duration = Duration::from_secs(30);

/// Who makes the second trace.
#[derive(Clone, Copy, PartialEq)]
pub enum Second {
    Ours,
    /// strace again: to see what differs from run to run that normalising
    /// misses.
    Strace,
}

/// Runs PROGRAM bare (so that whatever it creates or warms, such as atimes
/// and caches, is there for both traced runs), under `strace -f`, then
/// under `systrace-top --trace --follow` (or SECOND). Every run gets the
/// same environment, stdin, stdout (/dev/null), an empty working directory
/// of the same path (also its HOME), and for stderr a file of the same
/// path: our trace goes to stderr, which the command shares, so strace's
/// command writes there too.
pub fn trace_both(program: &Program, second: Second) -> Traces {
    let dir = std::env::temp_dir().join(crate::common::unique("systrace-parity"));
    let work = dir.join("work");
    let stderr = dir.join("stderr");
    let strace_out = dir.join("strace");
    let again_out = dir.join("strace-again");

    fresh_dir(&work);
    let bare = run(program, &work, &stderr, &[]);
    let said = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(
        said.is_empty(),
        "{}: the program writes to stderr, where our trace goes: give it \
         arguments that keep it quiet; it wrote: {said}",
        program.name
    );

    let strace = |out: &Path| {
        let mut words = vec!["strace".to_string()];
        words.extend(STRACE_OPTIONS.iter().map(|s| s.to_string()));
        words.push(out.display().to_string());
        words.push("--".into());
        words
    };
    fresh_dir(&work);
    let under_strace = run(program, &work, &stderr, &strace(&strace_out));

    fresh_dir(&work);
    let ours: Vec<String> = match second {
        Second::Ours => [BIN, "--trace", "--follow", "--"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Second::Strace => strace(&again_out),
    };
    let under_ours = run(program, &work, &stderr, &ours);

    for (tracer, status) in [("strace", under_strace), ("systrace-top", under_ours)] {
        assert_eq!(
            status.code(),
            bare.code(),
            "{}: its exit status under {tracer}",
            program.name
        );
    }
    let read = |path: &Path| {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Traces {
        strace: read(&strace_out),
        ours: read(match second {
            Second::Ours => &stderr,
            Second::Strace => &again_out,
        }),
        dir,
    }
}

/// The format of strace closest to ours: every process followed, no
/// attach messages but the `+++ exited with 0 +++` we print too (-q, not
/// -qq), each fd shown with its path (`3</etc/hosts>`, -y), the line
/// prefixed by its pid (-f with -o), to a file.
const STRACE_OPTIONS: &[&str] = &["-f", "-q", "-o"];

/// The environment of every run: nothing of the test's own.
const ENV: &[(&str, &str)] = &[
    ("PATH", "/usr/bin:/bin:/usr/sbin:/sbin"),
    ("LANG", "C"),
    ("TZ", "UTC"),
];

/// PROGRAM, after the tracer's words in PREFIX; waits for it at most
/// DEADLINE.
fn run(program: &Program, work: &Path, stderr: &Path, prefix: &[String]) -> ExitStatus {
    let mut words = prefix.iter().chain(&program.argv);
    let first = words.next().expect("a program has a name");
    let stdin = program.stdin.unwrap_or("/dev/null");
    let mut child = Command::new(first)
        .args(words)
        .env_clear()
        .envs(ENV.iter().copied())
        .env("HOME", work)
        .current_dir(work)
        .stdin(File::open(stdin).unwrap_or_else(|e| panic!("{stdin}: {e}")))
        .stdout(Stdio::null())
        .stderr(File::create(stderr).expect("creating the stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("starting {first} for {}: {e}", program.name));
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{}: {first} did not end within {DEADLINE:?}", program.name);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn fresh_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
}
