//! --metrics: a real scrape over HTTP of a real run, in both exposition
//! formats, each checked by a parser: the Prometheus text format by the
//! prometheus-parse crate, OpenMetrics by the rules below. Real kernel,
//! real binary.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Tracer, can_trace, probe_path};

/// One GET: the status line, the headers (lowercased names) and the body.
fn get(addr: &str, path: &str, accept: &str) -> (String, HashMap<String, String>, String) {
    let asked = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connecting to the metrics server");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "answered in {:?}",
        asked.elapsed()
    );
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    assert_eq!(
        headers_len(&headers),
        Some(body.len()),
        "Content-Length matches the body"
    );
    (status, headers, body.to_string())
}

fn headers_len(headers: &HashMap<String, String>) -> Option<usize> {
    headers.get("content-length")?.parse().ok()
}

/// The OpenMetrics text rules this exposition must keep: every sample after
/// its family's TYPE, counters' samples named `_total`, each family once,
/// label values quoted and escaped, numbers that parse, `# EOF` last.
/// Returns the samples: (name, labels, value).
fn check_openmetrics(body: &str) -> Vec<(String, HashMap<String, String>, f64)> {
    assert!(body.ends_with("# EOF\n"), "ends with # EOF:\n{body}");
    let mut families: HashMap<String, String> = HashMap::new();
    let mut seen = HashSet::new();
    let mut current: Option<(String, String)> = None;
    let mut samples = Vec::new();
    for line in body.lines() {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE NAME KIND");
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            assert!(seen.insert(name.to_string()), "family {name} twice");
            families.insert(name.to_string(), kind.to_string());
            current = Some((name.to_string(), kind.to_string()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert_eq!(Some(name), current.as_ref().map(|c| c.0.as_str()), "{line}");
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (family, kind) = current.clone().expect("a sample before any TYPE");
        let (name_labels, value) = line.rsplit_once(' ').expect("NAME VALUE");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("number: {line}"));
        let (name, labels) = match name_labels.split_once('{') {
            Some((name, labels)) => (name, labels.strip_suffix('}').expect("closing }")),
            None => (name_labels, ""),
        };
        let expected = if kind == "counter" {
            format!("{family}_total")
        } else {
            family.clone()
        };
        assert_eq!(name, expected, "{line}");
        if kind == "counter" {
            assert!(value >= 0.0, "a counter below 0: {line}");
        }
        samples.push((name.to_string(), parse_labels(labels, line), value));
    }
    samples
}

/// `a="x",b="y\"z"` as a map, refusing what is not quoted and escaped.
fn parse_labels(text: &str, line: &str) -> HashMap<String, String> {
    let mut labels = HashMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "label name {name:?}: {line}"
        );
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?}: {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, '\n')) => panic!("newline in a label: {line}"),
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        };
        labels.insert(name.to_string(), value);
        rest = after[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&after[end + 1..]);
    }
    labels
}

/// A busy process with a known name, scraped while it runs, in both
/// formats: its syscalls are there under its PID, with failures by errno
/// (--errors), the records and lost kinds, and the tool's own cost.
#[test]
fn a_scrape_shows_a_busy_process_in_both_formats() {
    if !can_trace("a_scrape_shows_a_busy_process_in_both_formats") {
        return;
    }
    let tracer = Tracer::start(&["--metrics", "0", "--errors", "--interval", "0.5"]);
    let addr = tracer.start_record["metrics"]
        .as_str()
        .expect("the start record says where metrics are")
        .to_string();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "loopback by default: {addr}"
    );
    // Opens of a missing path, then a spin, for 4 s.
    let mut probe = Command::new(probe_path())
        .args(["spin", "4000"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = probe.id().to_string();
    // Clients that never finish a request hold up no scrape: one silent,
    // one sending a line longer than any request without its end.
    let _silent = TcpStream::connect(&addr).unwrap();
    let mut endless = TcpStream::connect(&addr).unwrap();
    let _ = endless.write_all(&[b'a'; 20_000]);

    let deadline = Instant::now() + Duration::from_secs(3);
    let samples = loop {
        let (status, headers, body) = get(
            &addr,
            "/metrics",
            "application/openmetrics-text; version=1.0.0",
        );
        // Until the first interval ends there is nothing to serve.
        if status == "HTTP/1.1 503 Service Unavailable" && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
        assert!(
            headers["content-type"].starts_with("application/openmetrics-text; version=1.0.0"),
            "{headers:?}"
        );
        let samples = check_openmetrics(&body);
        let busy = samples.iter().any(|(name, labels, value)| {
            name == "systrace_process_syscalls_total"
                && labels.get("pid") == Some(&pid)
                && *value > 0.0
        });
        if busy || Instant::now() > deadline {
            break samples;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let of = |name: &str| -> Vec<&(String, HashMap<String, String>, f64)> {
        samples.iter().filter(|(n, ..)| n == name).collect()
    };
    let own = of("systrace_process_syscalls_total")
        .into_iter()
        .find(|(_, labels, _)| labels.get("pid") == Some(&pid))
        .unwrap_or_else(|| panic!("the probe's syscalls, pid {pid}: {samples:?}"));
    assert_eq!(own.1["comm"], "probe");
    // The spin opens /dev/null and calls getppid: a few hundred calls.
    assert!(own.2 >= 10.0, "{own:?}");
    let kinds: HashSet<&str> = of("systrace_lost_records_total")
        .iter()
        .map(|(_, l, _)| l["kind"].as_str())
        .collect();
    for kind in ["exec", "open", "net", "missed"] {
        assert!(kinds.contains(kind), "lost kind {kind}: {kinds:?}");
    }
    assert!(
        of("systrace_events_total")
            .iter()
            .any(|(_, l, _)| l["kind"] == "exec")
    );
    assert!(
        of("systrace_self_resident_memory_bytes")
            .first()
            .is_some_and(|(_, _, v)| *v > 1e6),
        "its own memory"
    );
    assert!(!of("systrace_container_syscalls_per_second").is_empty());

    // The older text format, read by a Prometheus parser.
    let (status, headers, body) = get(&addr, "/metrics", "text/plain");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers["content-type"].starts_with("text/plain; version=0.0.4"),
        "{headers:?}"
    );
    assert!(!body.contains("# EOF"));
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the 0.0.4 text parses");
    let own = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "systrace_process_syscalls_total" && s.labels.get("pid") == Some(&pid)
        })
        .expect("the probe in the text format too");
    assert!(
        matches!(own.value, prometheus_parse::Value::Counter(n) if n >= 10.0),
        "{own:?}"
    );
    assert_eq!(
        scrape
            .docs
            .get("systrace_process_syscalls_total")
            .map(String::as_str),
        Some(
            "Syscalls the process made since it started or systrace-top did (the busiest processes only)."
        )
    );

    // Anything else: a clear status, never a hang.
    assert_eq!(get(&addr, "/nope", "*/*").0, "HTTP/1.1 404 Not Found");
    let _ = probe.wait();
    tracer.stop();
}

/// A bad address is refused in one line; an address in use too.
#[test]
fn a_bad_or_busy_address_is_one_line_and_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_systrace-top"))
        .args(["--metrics", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[HOST:]PORT"), "{err}");
    if !can_trace("a_bad_or_busy_address_is_one_line_and_an_error") {
        return;
    }
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_systrace-top"))
        .args(["--metrics", &port, "--duration", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
}
