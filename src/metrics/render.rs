//! A snapshot as metric families, written in either exposition format.

use std::collections::HashMap;
use std::fmt::Write;

use crate::collect::Snapshot;
use crate::collect::event::{LostKind, visible};
use crate::collect::names::{errno_name, syscall_name};

/// Processes with labels of their own, busiest first.
pub const TOP_PROCESSES: usize = 50;
/// Containers with labels of their own, busiest first.
pub const TOP_CONTAINERS: usize = 50;
/// (syscall, errno) pairs with labels of their own, commonest first.
pub const TOP_ERRORS: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// application/openmetrics-text 1.0.0: what Prometheus asks for.
    OpenMetrics,
    /// text/plain 0.0.4: Prometheus's older format, for anything else.
    Text,
}

impl Format {
    pub fn from_accept(accept: &str) -> Format {
        if accept.contains("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

type Labels = Vec<(&'static str, String)>;

struct Family {
    /// Without the counter's `_total`.
    name: &'static str,
    help: &'static str,
    kind: Kind,
    samples: Vec<(Labels, f64)>,
}

/// A label value as both formats escape it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn render(snapshot: &Snapshot, format: Format) -> String {
    let mut out = String::with_capacity(16 << 10);
    for family in families(snapshot) {
        let sample_name = match family.kind {
            Kind::Counter => format!("{}_total", family.name),
            Kind::Gauge => family.name.to_string(),
        };
        // OpenMetrics names the family; 0.0.4 names the sample.
        let (described, kind) = match (format, family.kind) {
            (Format::OpenMetrics, Kind::Counter) => (family.name.to_string(), "counter"),
            (Format::Text, Kind::Counter) => (sample_name.clone(), "counter"),
            (_, Kind::Gauge) => (sample_name.clone(), "gauge"),
        };
        let _ = writeln!(out, "# TYPE {described} {kind}");
        let _ = writeln!(out, "# HELP {described} {}", family.help);
        for (labels, value) in &family.samples {
            out.push_str(&sample_name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (name, value)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{name}=\"{}\"", escape(value));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", number(*value));
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// Integers without a fraction; others as Rust writes them (both formats
/// read either).
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// The container a process runs in, as the views name it: a runtime's
/// name, else its cgroup's path; empty when unknown.
fn container_of(snapshot: &Snapshot, pid: u32) -> String {
    snapshot
        .process(pid)
        .and_then(|p| snapshot.cgroups.get(&p.cgroup_id))
        .map(|c| visible(c.label().as_bytes()))
        .unwrap_or_default()
}

fn families(snapshot: &Snapshot) -> Vec<Family> {
    let mut families = Vec::new();
    // One series a PID: a PID reused within an interval has two rates,
    // and the busier one stands for it (labels must be unique).
    let mut pids = std::collections::HashSet::new();
    let busiest: Vec<_> = snapshot
        .rates
        .iter()
        .filter(|r| pids.insert(r.pid))
        .take(TOP_PROCESSES)
        .collect();
    let busiest = busiest.into_iter();
    let process_labels = |pid: u32| -> Labels {
        let comm = snapshot.process(pid).map_or("?", |p| p.comm.as_str());
        vec![
            ("pid", pid.to_string()),
            ("comm", visible(comm.as_bytes())),
            ("container", container_of(snapshot, pid)),
        ]
    };
    families.push(Family {
        name: "systrace_process_syscalls",
        help: "Syscalls the process made since it started or systrace-top did (the busiest processes only).",
        kind: Kind::Counter,
        samples: busiest
            .clone()
            .map(|r| (process_labels(r.pid), r.total as f64))
            .collect(),
    });
    families.push(Family {
        name: "systrace_process_syscalls_per_second",
        help: "Syscalls a second over the last interval (the busiest processes only).",
        kind: Kind::Gauge,
        samples: busiest
            .map(|r| (process_labels(r.pid), r.per_sec))
            .collect(),
    });

    let mut containers: HashMap<String, f64> = HashMap::new();
    for r in &snapshot.rates {
        *containers.entry(container_of(snapshot, r.pid)).or_default() += r.per_sec;
    }
    let mut containers: Vec<(String, f64)> = containers.into_iter().collect();
    containers.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    containers.truncate(TOP_CONTAINERS);
    families.push(Family {
        name: "systrace_container_syscalls_per_second",
        help: "Syscalls a second over the last interval, per container (cgroup), every process of it.",
        kind: Kind::Gauge,
        samples: containers
            .into_iter()
            .map(|(container, rate)| (vec![("container", container)], rate))
            .collect(),
    });

    if let Some(errors) = &snapshot.errors {
        let mut by_call: HashMap<(u32, u32), f64> = HashMap::new();
        for row in &errors.rows {
            *by_call.entry((row.nr, row.errno)).or_default() += row.per_sec;
        }
        let mut by_call: Vec<((u32, u32), f64)> = by_call.into_iter().collect();
        by_call.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        by_call.truncate(TOP_ERRORS);
        families.push(Family {
            name: "systrace_failed_syscalls_per_second",
            help: "Failed syscalls a second over the last interval, by syscall and errno (with --errors).",
            kind: Kind::Gauge,
            samples: by_call
                .into_iter()
                .map(|((nr, errno), rate)| {
                    let labels = vec![
                        ("syscall", syscall_name(nr)),
                        ("errno", errno_name(errno as i32)),
                    ];
                    (labels, rate)
                })
                .collect(),
        });
    }

    let c = &snapshot.captured;
    families.push(Family {
        name: "systrace_events",
        help: "Records delivered by the kernel since start, by kind (exec, fork, exit, open, net: socket calls).",
        kind: Kind::Counter,
        samples: [
            ("exec", c.exec),
            ("fork", c.fork),
            ("exit", c.exit),
            ("open", c.open),
            ("net", c.net),
            ("syscall", c.syscall),
            ("signal", c.signal),
        ]
        .into_iter()
        .map(|(kind, n)| (vec![("kind", kind.to_string())], n as f64))
        .collect(),
    });
    families.push(Family {
        name: "systrace_lost_records",
        help: "Records the kernel could not deliver, or runs it skipped, since start, by kind.",
        kind: Kind::Counter,
        samples: LostKind::ALL
            .iter()
            .map(|&kind| {
                let labels = vec![("kind", kind.name().to_string())];
                (labels, snapshot.lost[kind as usize] as f64)
            })
            .collect(),
    });
    families.push(Family {
        name: "systrace_malformed_records",
        help: "Records that arrived but could not be decoded, since start.",
        kind: Kind::Counter,
        samples: vec![(Vec::new(), snapshot.malformed as f64)],
    });
    let running = snapshot
        .processes
        .iter()
        .filter(|p| p.exit.is_none())
        .count();
    families.push(Family {
        name: "systrace_processes",
        help: "Processes running.",
        kind: Kind::Gauge,
        samples: vec![(Vec::new(), running as f64)],
    });
    families.push(Family {
        name: "systrace_self_cpu_ratio",
        help: "systrace-top's own CPU over the last interval, in cores.",
        kind: Kind::Gauge,
        samples: vec![(Vec::new(), snapshot.own_usage.cpu_percent / 100.0)],
    });
    families.push(Family {
        name: "systrace_self_resident_memory_bytes",
        help: "systrace-top's own resident memory.",
        kind: Kind::Gauge,
        samples: vec![(Vec::new(), snapshot.own_usage.rss_bytes as f64)],
    });
    families
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::process_tree::ProcessInfo;
    use crate::collect::syscall_rates::ProcessRate;

    /// A name a process chose cannot break a line or a label: quotes and
    /// backslashes are escaped, control characters shown as text.
    #[test]
    fn a_hostile_name_stays_inside_its_label() {
        let mut snapshot = Snapshot::default();
        let comm = "a\"b\\c\nd}".to_string();
        snapshot.processes.push(ProcessInfo::new(7, 1, 0, comm, 0));
        snapshot.rates.push(ProcessRate {
            pid: 7,
            start_ns: 0,
            total: 3,
            unattributed: 0,
            per_sec: 1.5,
            syscalls: Vec::new(),
        });
        let text = render(&snapshot, Format::OpenMetrics);
        assert!(
            text.contains(
                r#"systrace_process_syscalls_total{pid="7",comm="a\"b\\\\c\\nd}",container=""} 3"#
            ),
            "{text}"
        );
        assert!(text.contains("systrace_process_syscalls_per_second{pid=\"7\""));
        assert_eq!(text.lines().filter(|l| l.contains("pid=\"7\"")).count(), 2);
        assert!(text.ends_with("# EOF\n"));
        let old = render(&snapshot, Format::Text);
        assert!(old.contains("# TYPE systrace_process_syscalls_total counter"));
        assert!(!old.contains("# EOF"));
    }
}
