//! Where a process runs: its cgroup (and the container a runtime's path
//! names), its PID inside its own PID namespace, and the kernel's cgroup
//! filter. The cgroups are made by the test in the machine's cgroup v2
//! hierarchy; real kernel, real binary.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Tracer, can_trace, of_type, unique};
use serde_json::Value;

/// The cgroup v2 mount point (/sys/fs/cgroup, or .../unified on a hybrid
/// system), if there is one.
fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
    })
}

/// A cgroup made for the test under the hierarchy's root, removed on drop
/// (once its processes have ended).
struct TestCgroup {
    path: PathBuf,
    /// As /proc/PID/cgroup names it: "/NAME".
    name: String,
}

impl TestCgroup {
    fn new(test: &str) -> Option<TestCgroup> {
        let Some(root) = cgroup2_root() else {
            println!("SKIPPED {test}: no cgroup v2 hierarchy is mounted");
            return None;
        };
        let name = unique("systrace-cg");
        let path = root.join(&name);
        if let Err(e) = std::fs::create_dir(&path) {
            println!(
                "SKIPPED {test}: cannot make a cgroup in {}: {e}",
                root.display()
            );
            return None;
        }
        Some(TestCgroup {
            path,
            name: format!("/{name}"),
        })
    }

    /// sh that moves itself into the cgroup, then runs SCRIPT.
    fn run(&self, script: &str) {
        let procs = self.path.join("cgroup.procs");
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("echo $$ > {}; {script}", procs.display()))
            .status()
            .unwrap();
        assert!(status.success(), "{script}: {status}");
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..100 {
            if std::fs::remove_dir(&self.path).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

fn execs_with<'a>(records: &'a [Value], arg: &'a str) -> Vec<&'a Value> {
    of_type(records, "exec")
        .filter(|r| {
            r["argv"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == arg))
        })
        .collect()
}

/// A process in a cgroup the test made: its exec record names the cgroup;
/// with --cgroup the kernel reports its processes (and those below it)
/// and no other.
#[test]
fn a_cgroup_is_named_and_filtered_in_the_kernel() {
    if !can_trace("a_cgroup_is_named_and_filtered_in_the_kernel") {
        return;
    }
    let Some(cgroup) = TestCgroup::new("a_cgroup_is_named_and_filtered_in_the_kernel") else {
        return;
    };
    let inside = unique("inside");
    let outside = unique("outside");

    let tracer = Tracer::start(&[]);
    cgroup.run(&format!("/bin/true {inside}"));
    let records = tracer.stop();
    let execs = execs_with(&records, &inside);
    assert_eq!(execs.len(), 1, "{execs:?}");
    assert_eq!(execs[0]["cgroup"], cgroup.name.as_str(), "{}", execs[0]);
    assert!(execs[0].get("container").is_none(), "no runtime's name");

    let tracer = Tracer::start(&["--cgroup", &cgroup.name]);
    cgroup.run(&format!("/bin/true {inside}"));
    Command::new("/bin/true").arg(&outside).status().unwrap();
    let records = tracer.stop();
    assert_eq!(execs_with(&records, &inside).len(), 1);
    assert!(
        execs_with(&records, &outside).is_empty(),
        "outside the cgroup"
    );
    for r in of_type(&records, "exec") {
        assert_eq!(r["cgroup"], cgroup.name.as_str(), "{r}");
    }
}

/// A cgroup a bad --cgroup names: one line, exit 1.
#[test]
fn a_cgroup_that_does_not_exist_is_refused() {
    if !can_trace("a_cgroup_that_does_not_exist_is_refused") {
        return;
    }
    let out = Command::new(common::BIN)
        .args([
            "--json",
            "--cgroup",
            "/no/such/cgroup-here",
            "--duration",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no cgroup /no/such/cgroup-here"), "{err}");
}

/// A process in a new PID namespace (`unshare --pid --fork`): its records
/// carry the PID it has there (1, the namespace's first process), beside
/// the host's.
#[test]
fn a_process_in_a_pid_namespace_has_its_pid_there() {
    if !can_trace("a_process_in_a_pid_namespace_has_its_pid_there") {
        return;
    }
    let marker = unique("nspid");
    let tracer = Tracer::start(&[]);
    let status = Command::new("unshare")
        .args(["--pid", "--fork", "/bin/true", &marker])
        .status()
        .unwrap();
    assert!(status.success());
    let records = tracer.stop();
    // unshare's own exec, through PATH, carries the marker too.
    let execs: Vec<&Value> = execs_with(&records, &marker)
        .into_iter()
        .filter(|r| r["argv"][0] == "/bin/true")
        .collect();
    assert_eq!(execs.len(), 1, "{execs:?}");
    assert_eq!(execs[0]["ns_pid"], 1, "{}", execs[0]);
    assert_ne!(execs[0]["pid"], 1);
    // A process in the initial namespace has no ns_pid.
    let own = of_type(&records, "exec").find(|r| r["argv"][0] == "unshare" && r["ret"] == 0);
    assert!(own.is_some_and(|r| r.get("ns_pid").is_none()), "{own:?}");
}

/// A process in a chroot: its paths are the jail's, not the host's, and
/// its records say which root they are relative to; the same program
/// outside the jail has none.
#[test]
fn a_chrooted_process_has_its_paths_marked_with_its_root() {
    if !can_trace("a_chrooted_process_has_its_paths_marked_with_its_root") {
        return;
    }
    let prog = common::compile_c("jail_open", &["-static"]);
    let jail = std::env::temp_dir().join(unique("systrace-jail"));
    let marker = format!("/etc/{}", unique("marker"));
    let missing = format!("{marker}-missing");
    std::fs::create_dir_all(jail.join("bin")).unwrap();
    std::fs::create_dir_all(jail.join("etc")).unwrap();
    std::fs::copy(&prog, jail.join("bin/jail_open")).unwrap();
    std::fs::write(jail.join(&marker[1..]), "in the jail\n").unwrap();
    // The same path on the host, for the run outside.
    std::fs::write(&marker, "on the host\n").unwrap();

    let tracer = Tracer::start(&[]);
    let status = Command::new("chroot")
        .arg(&jail)
        .args(["/bin/jail_open", &marker, &missing])
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let status = Command::new(&prog)
        .args([&marker, &missing])
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let records = tracer.stop();
    let _ = std::fs::remove_file(&marker);
    let _ = std::fs::remove_dir_all(&jail);

    let jail = jail.to_str().unwrap();
    let opens: Vec<&Value> = of_type(&records, "open")
        .filter(|r| r["path"] == marker.as_str() || r["path"] == missing.as_str())
        .collect();
    assert_eq!(opens.len(), 4, "{opens:?}");
    let (inside, outside): (Vec<&Value>, Vec<&Value>) =
        opens.into_iter().partition(|r| r.get("root").is_some());
    assert_eq!(inside.len(), 2, "{inside:?}");
    for r in &inside {
        assert_eq!(r["root"], jail, "{r}");
    }
    assert_eq!(inside[0]["ret"].as_i64().map(|fd| fd >= 0), Some(true));
    assert_eq!(inside[1]["error"], "ENOENT");
    assert_eq!(outside.len(), 2, "{outside:?}");
    // Its exec too: "/bin/jail_open" is the jail's.
    let exec = of_type(&records, "exec")
        .find(|r| r["filename"] == "/bin/jail_open")
        .expect("the jailed exec");
    assert_eq!(exec["root"], jail, "{exec}");
    assert_eq!(exec["exe"], "/bin/jail_open", "{exec}");
}

/// A child born into a cgroup by clone3 (CLONE_INTO_CGROUP), its parent
/// outside it: the kernel's filter follows the child's own cgroup, so
/// --cgroup reports its fork, and its record names that cgroup.
#[test]
fn a_child_cloned_into_a_cgroup_is_filtered_by_its_own() {
    let test = "a_child_cloned_into_a_cgroup_is_filtered_by_its_own";
    if !can_trace(test) {
        return;
    }
    let Some(cgroup) = TestCgroup::new(test) else {
        return;
    };
    let prog = common::compile_c("clone_into", &[]);
    let tracer = Tracer::start(&["--cgroup", &cgroup.name]);
    let out = Command::new(&prog).arg(&cgroup.path).output().unwrap();
    let records = tracer.stop();
    if !out.status.success() {
        println!(
            "SKIPPED {test}: clone3 into a cgroup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let child: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let forks: Vec<&Value> = of_type(&records, "fork")
        .filter(|r| r["pid"] == child)
        .collect();
    assert_eq!(
        forks.len(),
        1,
        "the child's fork, under --cgroup: {forks:?}"
    );
    assert_eq!(forks[0]["cgroup"], cgroup.name.as_str(), "{}", forks[0]);
    // Its parent is outside: nothing of its own is reported.
    assert!(
        of_type(&records, "exec").all(|r| r["pid"] != forks[0]["ppid"]),
        "the parent is outside the cgroup"
    );
}
