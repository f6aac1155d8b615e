//! Socket calls as the kernel saw them: connect (refused, in progress and
//! its outcome, i386's direct call and socketcall), bind, listen, accept,
//! datagrams sent to an address, Unix sockets and their names, a network
//! namespace of its own, and an unprivileged flood of connects that never
//! settle. Each case runs a real program (a small C one from tests/progs, or
//! python3) whose calls and results are known exactly, under the real
//! binary on the real kernel.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{Tracer, can_trace, compile_c, of_type, run_captured, slack, unique};
use serde_json::{Value, json};

/// The record types of socket calls.
const SOCKET_TYPES: [&str; 5] = ["connect", "accept", "bind", "listen", "send"];

/// A TCP port of 127.0.0.1 where nothing listens: one the kernel just gave
/// a listener, closed again.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// The socket records of process PID since its last exec, in the order
/// they came. Before that exec the process may be a wrapper (a pyenv shim is
/// a bash script) whose own socket calls are not the test's: bash without
/// HOME asks nscd for the user's name.
fn socket_records(records: &[Value], pid: u64) -> Vec<&Value> {
    let since = records
        .iter()
        .filter(|r| r["type"] == "exec" && r["pid"] == pid && r.get("error").is_none())
        .filter_map(|r| r["ts"].as_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    records
        .iter()
        .filter(|r| SOCKET_TYPES.iter().any(|t| r["type"] == *t) && r["pid"] == pid)
        .filter(|r| r["ts"].as_f64().is_some_and(|ts| ts >= since))
        .collect()
}

/// Each field of EXPECTED has that value in RECORD (null: absent or null).
#[track_caller]
fn assert_has(record: &Value, expected: Value) {
    for (key, value) in expected.as_object().expect("an object") {
        assert_eq!(&record[key], value, "{key} of {record}");
    }
}

/// None of KEYS is in RECORD.
#[track_caller]
fn assert_absent(record: &Value, keys: &[&str]) {
    for key in keys {
        assert!(record.get(key).is_none(), "{key} in {record}");
    }
}

/// The program exited 0; its stdout.
#[track_caller]
fn ran(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// The numbers a successful command printed, in order.
#[track_caller]
fn numbers(output: &Output) -> Vec<i64> {
    ran(output)
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect()
}

/// The value of `KEY=VALUE` among LINE's words.
#[track_caller]
fn field<T: std::str::FromStr>(line: &str, key: &str) -> T {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// python3 running SCRIPT with ARGS (sys.argv[1:]), isolated (-I) and
/// without the site module (-S): site looks for the user's directory, which
/// without HOME asks nscd for the user's name, socket calls the test did not
/// make.
fn python(script: &str, args: &[&str]) -> Command {
    let mut command = Command::new("python3");
    command.args(["-I", "-S", "-B", "-c", script]).args(args);
    command
}

/// A process the test reads line by line while it runs; killed if the test
/// fails before it ends.
struct Running {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Running {
    fn start(command: &mut Command) -> Running {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Running { child, lines }
    }

    fn line(&mut self) -> String {
        match self.lines.next() {
            Some(Ok(line)) => line,
            other => panic!("no line from {}: {other:?}", self.child.id()),
        }
    }

    /// Writes LINE to its stdin.
    fn say(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("piped stdin");
        writeln!(stdin, "{line}").expect("writing to its stdin");
    }

    /// Closes its stdin and waits for it to exit 0.
    fn finish(mut self) {
        drop(self.child.stdin.take());
        let status = self.child.wait().expect("waiting");
        assert!(status.success(), "{status}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A fresh directory under the temporary one, its canonical path, removed
/// on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(std::fs::canonicalize(&dir).unwrap())
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn str(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A blocking connect to a port of 127.0.0.1 where nothing listens: one
/// record with the refusal, and no outcome record (it settled in the call).
#[test]
fn a_blocking_connect_to_a_closed_port_is_refused() {
    if !can_trace("a_blocking_connect_to_a_closed_port_is_refused") {
        return;
    }
    let prog = compile_c("connect_refused", &[]);
    let port = closed_port();

    let tracer = Tracer::start(&[]);
    let (pid, out) = run_captured(Command::new(&prog).args(["block", &port.to_string()]));
    let records = tracer.stop();
    let line = ran(&out);
    let fd: i64 = field(&line, "fd");

    let own = socket_records(&records, pid.into());
    assert_eq!(own.len(), 1, "one connect, no outcome: {own:?}");
    let connect = own[0];
    assert_has(
        connect,
        json!({
            "type": "connect", "call": "connect", "compat": false,
            "pid": pid, "tid": pid, "comm": "connect_refused",
            "fd": fd, "proto": "tcp", "remote": format!("127.0.0.1:{port}"),
            "ret": -111, "error": "ECONNREFUSED",
        }),
    );
    assert_absent(connect, &["in_progress", "outcome", "state"]);
    assert!(connect["duration_us"].as_f64().unwrap() > 0.0, "{connect}");
}

/// The same refused connect in i386 mode (int $0x80 from a 64-bit
/// process): the direct call (362) and socketcall (102) SYS_CONNECT, which
/// i386's libc makes, both reported as connect with compat.
#[cfg(target_arch = "x86_64")]
#[test]
fn i386_connects_direct_and_through_socketcall_are_reported() {
    if !can_trace("i386_connects_direct_and_through_socketcall_are_reported") {
        return;
    }
    let prog = compile_c("connect_refused", &[]);
    let port = closed_port();

    let tracer = Tracer::start(&[]);
    let (pid, out) = run_captured(Command::new(&prog).args(["i386", &port.to_string()]));
    let records = tracer.stop();
    let line = ran(&out);
    let direct: i64 = field(&line, "connect");
    let socketcall: i64 = field(&line, "socketcall");

    let own = socket_records(&records, pid.into());
    assert_eq!(own.len(), 2, "the direct connect and socketcall's: {own:?}");
    for (record, fd) in own.iter().zip([direct, socketcall]) {
        assert_has(
            record,
            json!({
                "type": "connect", "call": "connect", "compat": true,
                "pid": pid, "tid": pid, "comm": "connect_refused",
                "fd": fd, "proto": "tcp", "remote": format!("127.0.0.1:{port}"),
                "ret": -111, "error": "ECONNREFUSED",
            }),
        );
        assert_absent(record, &["in_progress", "outcome", "state"]);
    }
}

/// The other socket calls in i386 mode, each once direct and once through
/// socketcall (accept only through it): compat, named as the call made,
/// with the same addresses and results as a 64-bit call's; sendmsg's
/// destination read from a 32-bit msghdr.
#[cfg(target_arch = "x86_64")]
#[test]
fn i386_socket_calls_direct_and_through_socketcall_are_reported() {
    if !can_trace("i386_socket_calls_direct_and_through_socketcall_are_reported") {
        return;
    }
    let prog = compile_c("connect_refused", &[]);

    let tracer = Tracer::start(&[]);
    let (pid, out) = run_captured(Command::new(&prog).arg("i386-calls"));
    let records = tracer.stop();
    let line = ran(&out);
    let n = |key: &str| -> i64 { field(&line, key) };
    let addr = |port: i64| format!("127.0.0.1:{port}");
    let (server1, server2) = (addr(n("port1")), addr(n("port2")));
    let (client1, client2) = (addr(n("local1")), addr(n("local2")));
    let udp = addr(n("uport"));
    let sender = format!("0.0.0.0:{}", n("txport"));

    let own = socket_records(&records, pid.into());
    let expected = [
        json!({"type": "bind", "call": "bind", "fd": n("l1"), "local": server1, "ret": 0}),
        json!({"type": "listen", "call": "listen", "fd": n("l1"), "local": server1, "backlog": 5, "ret": 0}),
        json!({"type": "connect", "call": "connect", "fd": n("c1"), "remote": server1, "local": client1, "ret": 0}),
        json!({"type": "accept", "call": "accept", "fd": n("l1"), "remote": client1, "local": server1, "ret": n("accept1")}),
        json!({"type": "bind", "call": "bind", "fd": n("l2"), "local": server2, "ret": 0}),
        json!({"type": "listen", "call": "listen", "fd": n("l2"), "local": server2, "backlog": 3, "ret": 0}),
        json!({"type": "connect", "call": "connect", "fd": n("c2"), "remote": server2, "local": client2, "ret": 0}),
        json!({"type": "accept", "call": "accept4", "fd": n("l2"), "remote": client2, "local": server2, "ret": n("accept2")}),
        // The receiver's bind is the program's own, 64-bit.
        json!({"type": "bind", "call": "bind", "compat": false, "fd": n("rx"), "local": udp, "proto": "udp"}),
        json!({"type": "send", "call": "sendto", "fd": n("tx"), "remote": udp, "local": sender, "ret": 5}),
        json!({"type": "send", "call": "sendto", "fd": n("tx"), "remote": udp, "local": sender, "ret": 3}),
        json!({"type": "send", "call": "sendmsg", "fd": n("tx"), "remote": udp, "local": sender, "ret": 4}),
        json!({"type": "send", "call": "sendmsg", "fd": n("tx"), "remote": udp, "local": sender, "ret": 2}),
    ];
    assert_eq!(own.len(), expected.len(), "{own:#?}");
    for (i, (record, expected)) in own.iter().zip(expected).enumerate() {
        assert_has(record, expected);
        if i != 8 {
            let proto = if i < 8 { "tcp" } else { "udp" };
            assert_has(
                record,
                json!({"compat": true, "proto": proto, "pid": pid, "tid": pid}),
            );
        }
        assert_absent(
            record,
            &["error", "in_progress", "outcome", "outcome_unfollowed"],
        );
    }
}

/// A non-blocking connect to the closed port: EINPROGRESS, then, once TCP
/// has the refusal, an outcome record for the same socket: ECONNREFUSED,
/// the socket closed, timed from the connect's entry.
#[test]
fn a_non_blocking_connect_is_followed_to_its_refusal() {
    if !can_trace("a_non_blocking_connect_is_followed_to_its_refusal") {
        return;
    }
    let prog = compile_c("connect_refused", &[]);
    let port = closed_port();

    let tracer = Tracer::start(&[]);
    let (pid, out) = run_captured(Command::new(&prog).args(["nonblock", &port.to_string()]));
    let records = tracer.stop();
    let fd: i64 = field(&ran(&out), "fd");

    let own = socket_records(&records, pid.into());
    assert_eq!(own.len(), 2, "the connect, then its outcome: {own:?}");
    let (connect, outcome) = (own[0], own[1]);
    let remote = format!("127.0.0.1:{port}");
    assert_has(
        connect,
        json!({
            "type": "connect", "call": "connect", "compat": false,
            "pid": pid, "tid": pid, "comm": "connect_refused",
            "fd": fd, "proto": "tcp", "remote": remote,
            "ret": -115, "error": "EINPROGRESS", "in_progress": true,
        }),
    );
    assert_absent(connect, &["outcome", "state"]);
    assert_has(
        outcome,
        json!({
            "type": "connect", "call": "connect", "compat": false,
            "pid": pid, "tid": pid, "comm": "connect_refused",
            "fd": fd, "proto": "tcp", "remote": remote,
            "ret": -111, "error": "ECONNREFUSED", "outcome": true, "state": "CLOSE",
            "ts": connect["ts"],
        }),
    );
    assert_absent(outcome, &["in_progress"]);
    assert!(
        outcome["duration_us"].as_f64() >= connect["duration_us"].as_f64(),
        "the outcome comes no sooner than the call's return: {connect} {outcome}"
    );
}

const TCP_SERVER: &str = r#"
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(7)
print(os.getpid(), s.getsockname()[1], s.fileno(), flush=True)
c, peer = s.accept()
print(c.fileno(), peer[1], flush=True)
sys.stdin.read()
"#;

const TCP_CLIENT: &str = r#"
import os, select, socket, sys
port = int(sys.argv[1])
c = socket.socket()
c.connect(("127.0.0.1", port))
n = socket.socket()
n.setblocking(False)
e = n.connect_ex(("127.0.0.1", port))
select.select([], [n], [], 5)
err = n.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
print(os.getpid(), c.fileno(), c.getsockname()[1], n.fileno(), n.getsockname()[1], e, err)
"#;

/// A server binds 127.0.0.1 port 0, listens with a backlog of 7 and
/// accepts; a client connects, blocking, then non-blocking. The bind gives
/// the port the kernel chose; the accept's peer is the blocking connect's
/// own address, port for port; the non-blocking one's outcome is
/// ESTABLISHED.
#[test]
fn a_server_and_its_client_see_the_same_addresses() {
    if !can_trace("a_server_and_its_client_see_the_same_addresses") {
        return;
    }
    // Its server sleeps in accept: no other test's tracer may start or
    // stop meanwhile (see the next test).
    let tracer = Tracer::start_alone(&[]);
    let mut server = Running::start(&mut python(TCP_SERVER, &[]));
    let first = server.line();
    let words: Vec<u64> = first.split(' ').map(|w| w.parse().unwrap()).collect();
    let (server_pid, port, listen_fd) = (words[0], words[1], words[2]);
    let (_, out) = run_captured(&mut python(TCP_CLIENT, &[&port.to_string()]));
    let client_line = ran(&out);
    let c: Vec<i64> = client_line
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    let (client_pid, fd, local_port, nb_fd, nb_port) = (c[0] as u64, c[1], c[2], c[3], c[4]);
    assert_eq!((c[5], c[6]), (115, 0), "EINPROGRESS, then connected");
    let accepted = server.line();
    let a: Vec<i64> = accepted.split(' ').map(|w| w.parse().unwrap()).collect();
    assert_eq!(a[1], local_port, "the server accepted the blocking client");
    server.finish();
    let records = tracer.stop();

    let address = format!("127.0.0.1:{port}");
    let served = socket_records(&records, server_pid);
    let lost = &records.last().unwrap()["lost"];
    assert_eq!(
        served.len(),
        3,
        "bind, listen, accept: {served:?}, lost {lost}"
    );
    assert_has(
        served[0],
        json!({
            "type": "bind", "call": "bind", "compat": false, "fd": listen_fd,
            "proto": "tcp", "local": address, "remote": null, "ret": 0,
        }),
    );
    assert_has(
        served[1],
        json!({
            "type": "listen", "call": "listen", "fd": listen_fd, "proto": "tcp",
            "local": address, "backlog": 7, "ret": 0,
        }),
    );
    assert_absent(served[0], &["backlog", "error"]);

    let client = socket_records(&records, client_pid);
    assert_eq!(
        client.len(),
        3,
        "the blocking connect, the non-blocking one and its outcome: {client:?}"
    );
    let connect = client[0];
    assert_has(
        connect,
        json!({
            "type": "connect", "call": "connect", "compat": false, "fd": fd,
            "proto": "tcp", "remote": address, "ret": 0,
            "local": format!("127.0.0.1:{local_port}"),
        }),
    );
    assert_absent(connect, &["error", "in_progress", "outcome", "state"]);

    let accept = served[2];
    assert_has(
        accept,
        json!({
            "type": "accept", "call": "accept4", "compat": false, "fd": listen_fd,
            "proto": "tcp", "ret": a[0], "local": address,
        }),
    );
    assert_eq!(accept["remote"], connect["local"], "{accept} {connect}");

    let nb_address = format!("127.0.0.1:{nb_port}");
    assert_has(
        client[1],
        json!({
            "type": "connect", "fd": nb_fd, "remote": address, "ret": -115,
            "error": "EINPROGRESS", "in_progress": true,
        }),
    );
    assert_has(
        client[2],
        json!({
            "type": "connect", "fd": nb_fd, "remote": address, "ret": 0,
            "outcome": true, "state": "ESTABLISHED", "ts": client[1]["ts"],
        }),
    );
    assert_absent(client[2], &["error", "in_progress"]);
    // The non-blocking socket's own port was chosen at the call.
    assert_eq!(client[1]["local"], nb_address, "{}", client[1]);
}

const SLEEPING_SERVER: &str = r#"
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(os.getpid(), s.getsockname()[1], flush=True)
sys.stdin.readline()
c, peer = s.accept()
# Its next traced call, where a skipped exit is found.
open(os.devnull).close()
print(c.fileno(), flush=True)
sys.stdin.read()
"#;

/// Until process PID sleeps in syscall NR (/proc/PID/syscall).
fn wait_in_syscall(pid: u64, nr: i64) {
    let deadline = std::time::Instant::now() + slack(10.0);
    loop {
        let now = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        if now.split(' ').next() == Some(&nr.to_string()) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pid} not in syscall {nr}: {now}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A server asleep in accept while another instance of the tool starts
/// and stops. Where exits are taken by fexit, each start or stop rebuilds
/// accept4's trampoline, and the kernel then skips the first instance's
/// exit program for the call asleep in it: that accept's record cannot be
/// sent, and is counted lost when the thread makes its next traced call.
/// Either the record or its loss, never neither: with sys_exit, the record.
#[test]
fn an_accept_asleep_while_another_tracer_starts_is_reported_or_counted_lost() {
    if !can_trace("an_accept_asleep_while_another_tracer_starts_is_reported_or_counted_lost") {
        return;
    }
    let mut server = Running::start(&mut python(SLEEPING_SERVER, &[]));
    let first = server.line();
    let words: Vec<u64> = first.split(' ').map(|w| w.parse().unwrap()).collect();
    let (server_pid, port) = (words[0], words[1]);
    // Its losses alone are counted: no other process's call in flight.
    let tracer = Tracer::start_alone(&["--pid", &server_pid.to_string()]);
    server.say("accept");
    wait_in_syscall(server_pid, libc::SYS_accept4);
    let other = tracer.start_beside(&[]);
    other.stop();
    let client = std::net::TcpStream::connect(("127.0.0.1", port as u16)).expect("connecting");
    let accepted = server.line();
    drop(client);
    server.finish();
    let hook = tracer.exit_hook.clone();
    let records = tracer.stop();

    let accepts: Vec<&Value> = of_type(&records, "accept")
        .filter(|r| r["pid"] == server_pid)
        .collect();
    let lost = records.last().unwrap()["lost"]["net"]
        .as_u64()
        .expect("lost.net");
    assert_eq!(
        accepts.len() as u64 + lost,
        1,
        "the accept, or its loss: {accepts:?}, {lost} lost, with {hook}"
    );
    if let Some(accept) = accepts.first() {
        assert_has(
            accept,
            json!({"call": "accept4", "ret": accepted.parse::<i64>().unwrap()}),
        );
    }
    if hook == "sys_exit" {
        assert_eq!(
            accepts.len(),
            1,
            "a tracepoint is not rebuilt: the record came"
        );
    }
    let seen = if lost == 1 {
        "counted lost"
    } else {
        "reported"
    };
    eprintln!("with {hook}, the accept asleep was {seen}");
}

const DATAGRAMS: &str = r#"
import os, socket
r = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
r.bind(("::1", 0))
port = r.getsockname()[1]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
n1 = s.sendto(b"hello", ("::1", port))
n2 = s.sendmsg([b"abc", b"defg"], [], 0, ("::1", port))
# Connected sockets: sends with no destination, which are not reported.
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.connect(("::1", port))
n3 = u.send(b"connected")
n4 = u.sendmsg([b"connected"])
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
t = socket.create_connection(l.getsockname())
a, _ = l.accept()
n5 = t.send(b"stream")
n6 = t.sendmsg([b"stream"])
stream = b""
while len(stream) < 12:
    stream += a.recv(100)
got = [len(r.recv(100)) for _ in range(4)] + [len(stream)]
print(os.getpid(), port, s.fileno(), s.getsockname()[1], n1, n2, n3, n4, n5, n6, *got)
"#;

/// UDP to ::1 with sendto and with sendmsg: a send record each, with the
/// destination and the bytes sent. Sends on connected sockets (UDP and
/// TCP, send and sendmsg with no address) make none.
#[test]
fn datagrams_sent_to_an_address_are_reported_with_it() {
    if !can_trace("datagrams_sent_to_an_address_are_reported_with_it") {
        return;
    }
    let tracer = Tracer::start(&[]);
    let (_, out) = run_captured(&mut python(DATAGRAMS, &[]));
    let records = tracer.stop();
    let v = numbers(&out);
    let (pid, port, fd, local_port) = (v[0] as u64, v[1], v[2], v[3]);
    assert_eq!(&v[4..10], &[5, 7, 9, 9, 6, 6], "bytes sent");
    assert_eq!(&v[10..], &[5, 7, 9, 9, 12], "bytes received");

    let sends: Vec<&Value> = of_type(&records, "send")
        .filter(|r| r["pid"] == pid)
        .collect();
    assert_eq!(
        sends.len(),
        2,
        "sendto and sendmsg to an address, no send on a connected socket: {sends:?}"
    );
    let remote = format!("[::1]:{port}");
    for (send, (call, bytes)) in sends.iter().zip([("sendto", 5), ("sendmsg", 7)]) {
        assert_has(
            send,
            json!({
                "call": call, "compat": false, "fd": fd, "proto": "udp",
                "remote": remote, "local": format!("[::]:{local_port}"), "ret": bytes,
            }),
        );
        assert_absent(
            send,
            &["error", "in_progress", "outcome", "state", "backlog"],
        );
    }
}

const UNIX_SOCKETS: &str = r#"
import os, socket, sys
d = os.fsencode(sys.argv[1])
keep = []
print(os.getpid(), flush=True)
for name in [b"/plain.sock", b"/s\xff.sock", b"\0" + os.fsencode(sys.argv[2])]:
    path = name if name.startswith(b"\0") else d + name
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(3)
    cli = socket.socket(socket.AF_UNIX)
    cli.connect(path)
    conn, peer = srv.accept()
    keep += [srv, cli, conn]
    print(srv.fileno(), cli.fileno(), conn.fileno(), flush=True)
rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
rx.bind(d + b"/dgram.sock")
tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(rx.fileno(), tx.fileno(), tx.sendto(b"ping", d + b"/dgram.sock"), flush=True)
"#;

/// Unix sockets: bind's local and connect's remote are the path, accept's
/// peer is the unbound client ("unnamed"); a byte of the path that is not
/// UTF-8 is escaped (\xff); an abstract name is @name; a datagram sent to a
/// path is a send record of unix-dgram.
#[test]
fn unix_sockets_are_named_by_their_paths() {
    if !can_trace("unix_sockets_are_named_by_their_paths") {
        return;
    }
    let dir = TempDir::new("systrace-unix");
    let name = unique("systrace-abstract");
    let tracer = Tracer::start(&[]);
    let (_, out) = run_captured(&mut python(UNIX_SOCKETS, &[dir.str(), &name]));
    let records = tracer.stop();
    let out = ran(&out);
    let lines: Vec<Vec<i64>> = out
        .lines()
        .map(|l| l.split(' ').map(|w| w.parse().unwrap()).collect())
        .collect();
    assert_eq!(lines.len(), 5, "{out}");
    let pid = lines[0][0] as u64;
    let own = socket_records(&records, pid);
    assert_eq!(own.len(), 4 * 3 + 2, "{own:?}");

    let paths = [
        format!("{}/plain.sock", dir.str()),
        format!("{}/s\\xff.sock", dir.str()),
        format!("@{name}"),
    ];
    for (i, path) in paths.iter().enumerate() {
        let (srv, cli, conn) = (lines[i + 1][0], lines[i + 1][1], lines[i + 1][2]);
        let calls = &own[4 * i..4 * i + 4];
        assert_has(
            calls[0],
            json!({
                "type": "bind", "call": "bind", "fd": srv, "proto": "u_str",
                "local": path, "remote": null, "ret": 0,
            }),
        );
        assert_has(
            calls[1],
            json!({
                "type": "listen", "fd": srv, "proto": "u_str", "local": path,
                "backlog": 3, "ret": 0,
            }),
        );
        assert_has(
            calls[2],
            json!({
                "type": "connect", "call": "connect", "fd": cli, "proto": "u_str",
                "remote": path, "local": "unnamed", "ret": 0,
            }),
        );
        assert_absent(calls[2], &["error", "in_progress", "outcome", "state"]);
        assert_has(
            calls[3],
            json!({
                "type": "accept", "call": "accept4", "fd": srv, "proto": "u_str",
                "remote": "unnamed", "local": path, "ret": conn,
            }),
        );
    }
    let (rx, tx, sent) = (lines[4][0], lines[4][1], lines[4][2]);
    let dgram = format!("{}/dgram.sock", dir.str());
    assert_has(
        own[12],
        json!({
            "type": "bind", "fd": rx, "proto": "u_dgr", "local": dgram, "ret": 0,
        }),
    );
    assert_eq!(sent, 4);
    assert_has(
        own[13],
        json!({
            "type": "send", "call": "sendto", "fd": tx, "proto": "u_dgr",
            "remote": dgram, "local": "unnamed", "ret": 4,
        }),
    );
    assert!(dir.path().join("plain.sock").exists());
}

const NETNS_CONNECTS: &str = r#"
import os, select, socket, sys
port = int(sys.argv[1])
b = socket.socket()
try:
    b.connect(("127.0.0.1", port))
    sys.exit("connected")
except ConnectionRefusedError:
    pass
n = socket.socket()
n.setblocking(False)
e = n.connect_ex(("127.0.0.1", port))
select.select([], [n], [], 5)
print(os.getpid(), b.fileno(), n.fileno(), e, n.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
"#;

/// In a network namespace of its own (unshare --net, lo up), a connect to
/// a port of 127.0.0.1 that a listener holds on the host is refused there:
/// the records say so, blocking and non-blocking.
#[test]
fn connects_in_a_network_namespace_are_its_own() {
    if !can_trace("connects_in_a_network_namespace_are_its_own") {
        return;
    }
    let unshare = Command::new("unshare")
        .args(["--net", "ip", "link", "set", "lo", "up"])
        .output();
    match unshare {
        Ok(out) if out.status.success() => {}
        other => {
            println!(
                "SKIPPED connects_in_a_network_namespace_are_its_own: \
                 unshare --net with ip link: {other:?}"
            );
            return;
        }
    }
    // Open on the host, closed in the namespace.
    let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();

    let tracer = Tracer::start(&[]);
    let (_, out) = run_captured(
        Command::new("unshare")
            .args(["--net", "sh", "-c"])
            .arg(r#"ip link set lo up && exec python3 -I -S -B -c "$1" "$2""#)
            .args(["sh", NETNS_CONNECTS, &port.to_string()]),
    );
    let records = tracer.stop();
    drop(host);
    let v = numbers(&out);
    let (pid, blocking_fd, fd) = (v[0] as u64, v[1], v[2]);
    assert_eq!((v[3], v[4]), (115, 111), "EINPROGRESS, then ECONNREFUSED");

    let own = socket_records(&records, pid);
    assert_eq!(own.len(), 3, "{own:?}");
    let remote = format!("127.0.0.1:{port}");
    assert_has(
        own[0],
        json!({
            "type": "connect", "fd": blocking_fd, "proto": "tcp", "remote": remote,
            "ret": -111, "error": "ECONNREFUSED",
        }),
    );
    assert_absent(own[0], &["in_progress", "outcome", "state"]);
    assert_has(
        own[1],
        json!({
            "type": "connect", "fd": fd, "remote": remote, "ret": -115, "in_progress": true,
        }),
    );
    assert_has(
        own[2],
        json!({
            "type": "connect", "fd": fd, "remote": remote, "ret": -111,
            "error": "ECONNREFUSED", "outcome": true, "state": "CLOSE", "ts": own[1]["ts"],
        }),
    );
}

const ABANDONED: &str = r#"
import os, select, socket, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(0)
port = l.getsockname()[1]
# Fills the accept queue of one (a backlog of 0): later SYNs are dropped.
f = socket.create_connection(("127.0.0.1", port))
time.sleep(0.1)
n = socket.socket()
n.setblocking(False)
e = n.connect_ex(("127.0.0.1", port))
_, w, _ = select.select([], [n], [], 0.5)
fd = n.fileno()
n.close()
print(os.getpid(), port, fd, e, "settled" if w else "pending")
"#;

/// A non-blocking connect closed by its process while its SYN is still
/// unanswered: its outcome is the socket leaving SYN_SENT for CLOSE with no
/// error, `ret` 0 and `state` CLOSE, as README.md documents a socket closed
/// before it connected (`ret` 0 with ESTABLISHED is a connection).
#[test]
fn a_connect_abandoned_before_it_settles_has_a_close_outcome() {
    if !can_trace("a_connect_abandoned_before_it_settles_has_a_close_outcome") {
        return;
    }
    let tracer = Tracer::start(&[]);
    let (_, out) = run_captured(&mut python(ABANDONED, &[]));
    let records = tracer.stop();
    let out = ran(&out);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        words[3..],
        ["115", "pending"],
        "its SYN went unanswered: {out}"
    );
    let (pid, port, fd): (u64, u64, i64) = (
        words[0].parse().unwrap(),
        words[1].parse().unwrap(),
        words[2].parse().unwrap(),
    );
    let remote = format!("127.0.0.1:{port}");
    let own: Vec<&Value> = socket_records(&records, pid)
        .into_iter()
        .filter(|r| r["type"] == "connect" && r["fd"] == fd && r["remote"] == remote.as_str())
        .collect();
    // The blocking connect that filled the queue has another fd.
    assert_eq!(own.len(), 2, "the connect and its outcome: {own:?}");
    assert_has(
        own[0],
        json!({"pid": pid, "proto": "tcp", "ret": -115, "error": "EINPROGRESS", "in_progress": true}),
    );
    assert_has(
        own[1],
        json!({
            "pid": pid, "proto": "tcp", "ret": 0, "outcome": true, "state": "CLOSE",
            "ts": own[0]["ts"],
        }),
    );
    assert_absent(own[1], &["error", "in_progress"]);
    // It stayed in SYN_SENT for the half second the program waited.
    assert!(
        own[1]["duration_us"].as_f64().unwrap() >= 500_000.0,
        "{}",
        own[1]
    );
}

const POLLED_WITH_CONNECT: &str = r#"
import os, select, socket, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(0)
port = l.getsockname()[1]
# Fills the accept queue of one (a backlog of 0): later SYNs are dropped.
f = socket.create_connection(("127.0.0.1", port))
time.sleep(0.1)
n = socket.socket()
n.setblocking(False)
first = n.connect_ex(("127.0.0.1", port))
again = n.connect_ex(("127.0.0.1", port))
# Room in the queue: the SYN retransmitted next (after a second) gets in.
a, _ = l.accept()
_, w, _ = select.select([], [n], [], 5)
print(os.getpid(), port, n.fileno(), first, again, len(w), n.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
"#;

/// A non-blocking connect polled by calling connect again while it is in
/// progress (EALREADY), as some programs do: the first call's outcome
/// (ESTABLISHED, once the listener has room and the SYN is retransmitted)
/// still comes, after the second call's record.
#[test]
fn a_connect_polled_with_connect_again_keeps_its_outcome() {
    if !can_trace("a_connect_polled_with_connect_again_keeps_its_outcome") {
        return;
    }
    let tracer = Tracer::start(&[]);
    let (_, out) = run_captured(&mut python(POLLED_WITH_CONNECT, &[]));
    let records = tracer.stop();
    let v = numbers(&out);
    let (pid, port, fd) = (v[0] as u64, v[1], v[2]);
    assert_eq!(
        &v[3..],
        &[115, 114, 1, 0],
        "EINPROGRESS, EALREADY, then connected"
    );
    let remote = format!("127.0.0.1:{port}");
    let own: Vec<&Value> = socket_records(&records, pid)
        .into_iter()
        .filter(|r| r["type"] == "connect" && r["fd"] == fd)
        .collect();
    assert!(!own.is_empty(), "no connect of fd {fd}");
    assert_has(
        own[0],
        json!({"remote": remote, "ret": -115, "error": "EINPROGRESS", "in_progress": true}),
    );
    assert!(own.len() >= 2, "{own:?}");
    assert_has(
        own[1],
        json!({"remote": remote, "ret": -114, "error": "EALREADY"}),
    );
    assert_absent(own[1], &["in_progress", "outcome", "outcome_unfollowed"]);
    assert_eq!(
        own.len(),
        3,
        "the two calls and the first one's outcome: {own:?}"
    );
    assert_has(
        own[2],
        json!({
            "remote": remote, "ret": 0, "outcome": true, "state": "ESTABLISHED",
            "ts": own[0]["ts"],
        }),
    );
    assert_absent(own[2], &["error"]);
}

/// A process's connect to a closed port of 127.0.0.1: its pid, the
/// socket's fd, the port.
#[derive(Clone, Copy, Debug)]
struct Probe {
    pid: u64,
    fd: i64,
    port: u16,
}

/// Runs connect_refused MODE (block or nonblock) against a closed port.
fn probe(prog: &Path, mode: &str) -> Probe {
    let port = closed_port();
    let (pid, out) = run_captured(Command::new(prog).args([mode, &port.to_string()]));
    let fd = field(&ran(&out), "fd");
    Probe {
        pid: pid.into(),
        fd,
        port,
    }
}

/// The flood's connects, root's made meanwhile, and what the tracer wrote.
struct Flood {
    /// Each flooding child's pid and the port it connected to.
    children: HashMap<u64, u64>,
    /// Connects the children made that returned EINPROGRESS: all of them.
    in_progress: u64,
    /// Root's non-blocking and blocking connects while the flood's are in
    /// flight, and a non-blocking one once the flood has ended.
    during: Probe,
    during_blocking: Probe,
    after: Probe,
    /// Every record after the tracer's start, the summary last.
    records: Vec<Value>,
}

const FLOOD_CONNECTS: u64 = 20_000;
/// 500 sockets a child: within the usual 1,024-descriptor limit (a guest
/// without a raised hard limit has no more).
const FLOOD_PROCS: u64 = 40;

/// Nobody's 20,000 non-blocking connects, held in SYN_SENT (each child's
/// listener has a backlog of 0 and never accepts, so past the first few
/// their SYNs are dropped): more than the 16,384 connects in flight, and than one user's quarter of them, the
/// kernel side follows. Meanwhile root's refused connects, non-blocking and
/// blocking; then the flood ends (its sockets closed), and root's refused
/// non-blocking connect again.
fn flood(test: &str) -> Flood {
    let prog = compile_c("connect_refused", &[]);
    // Nobody runs a copy where nobody can: the build tree may be in a
    // directory nobody cannot enter.
    let dir = TempDir::new("systrace-flood");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.path().join("connect_refused");
    std::fs::copy(&prog, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();

    let tracer = Tracer::start_alone(&[]);
    let started = std::time::Instant::now();
    let mut flood = Running::start(
        Command::new(&copy)
            .args([
                "flood",
                &FLOOD_CONNECTS.to_string(),
                &FLOOD_PROCS.to_string(),
            ])
            .uid(65534)
            .gid(65534),
    );
    let mut children = HashMap::new();
    let mut in_progress = 0;
    for _ in 0..FLOOD_PROCS {
        let line = flood.line();
        children.insert(field(&line, "pid"), field(&line, "port"));
        in_progress += field::<u64>(&line, "in_progress");
    }
    eprintln!(
        "{test}: {in_progress} connects in flight after {:?}",
        started.elapsed()
    );

    // Root's connects while nobody's are in flight: the non-blocking one's
    // record, and its outcome unless it says none will come.
    let during = probe(&prog, "nonblock");
    let settled = |r: &Value| {
        r["type"] == "connect"
            && r["pid"] == during.pid
            && (r["outcome"] == true || r["outcome_unfollowed"] == true)
    };
    let (mut records, found) = tracer.records_until(slack(10.0), settled);
    assert!(
        found.is_some(),
        "neither an outcome nor outcome_unfollowed for a connect during the flood: {:?}",
        socket_records(&records, during.pid)
    );
    records.extend(found);
    let during_blocking = probe(&prog, "block");
    // The tool is still there, its records still coming.
    assert!(
        PathBuf::from(format!("/proc/{}", tracer.pid())).exists(),
        "systrace-top ended"
    );

    flood.finish();
    let after = probe(&prog, "nonblock");
    let (seen, found) = tracer.records_until(slack(10.0), |r| {
        r["type"] == "connect" && r["pid"] == after.pid && r["outcome"] == true
    });
    records.extend(seen);
    assert!(
        found.is_some(),
        "no outcome for a connect after the flood: {:?}",
        socket_records(&records, after.pid)
    );
    records.extend(found);
    records.extend(tracer.stop());
    eprintln!("{test}: took {:?}", started.elapsed());
    Flood {
        children,
        in_progress,
        during,
        during_blocking,
        after,
        records,
    }
}

impl Flood {
    fn summary(&self) -> &Value {
        self.records.last().unwrap()
    }

    fn lost_net(&self) -> u64 {
        self.summary()["lost"]["net"].as_u64().expect("lost.net")
    }

    fn is_flood(&self, r: &Value) -> bool {
        r["pid"]
            .as_u64()
            .is_some_and(|p| self.children.contains_key(&p))
    }

    /// Connect records with outcome_unfollowed, of every process.
    fn unfollowed(&self) -> u64 {
        of_type(&self.records, "connect")
            .filter(|r| r["outcome_unfollowed"] == true)
            .count() as u64
    }
}

/// A non-blocking refused connect's two records, exact.
#[track_caller]
fn assert_refused_with_outcome(records: &[Value], probe: Probe) {
    let own = socket_records(records, probe.pid);
    assert_eq!(own.len(), 2, "the connect and its outcome: {own:?}");
    let (pid, fd) = (probe.pid, probe.fd);
    let remote = format!("127.0.0.1:{}", probe.port);
    assert_has(
        own[0],
        json!({
            "type": "connect", "pid": pid, "tid": pid, "fd": fd, "remote": remote,
            "proto": "tcp", "ret": -115, "error": "EINPROGRESS", "in_progress": true,
        }),
    );
    assert_absent(own[0], &["outcome", "outcome_unfollowed", "state"]);
    assert_has(
        own[1],
        json!({
            "type": "connect", "pid": pid, "tid": pid, "fd": fd, "remote": remote,
            "proto": "tcp", "ret": -111, "error": "ECONNREFUSED", "outcome": true,
            "state": "CLOSE", "ts": own[0]["ts"],
        }),
    );
    assert_absent(own[1], &["in_progress", "outcome_unfollowed"]);
}

/// An unprivileged user floods the connects in flight: the tool keeps
/// running; root's connects made meanwhile are reported, and the
/// non-blocking one's outcome either comes exact or its record says it
/// will not (counted lost); once the flood has ended, a connect is followed
/// to its exact outcome again. Nobody's connects are each reported as
/// made, each followed to its outcome or said not to be, and counted lost
/// when not; the summary reports every kind of loss.
#[test]
fn a_flood_of_connects_by_an_unprivileged_user_is_reported_and_counted() {
    let test = "a_flood_of_connects_by_an_unprivileged_user_is_reported_and_counted";
    if !can_trace(test) {
        return;
    }
    let flood = flood(test);
    assert_eq!(
        flood.in_progress, FLOOD_CONNECTS,
        "every connect in progress"
    );
    let records = &flood.records;

    // Root's during the flood.
    let during = socket_records(records, flood.during.pid);
    let remote = format!("127.0.0.1:{}", flood.during.port);
    if during[0]["outcome_unfollowed"] == true {
        assert_eq!(
            during.len(),
            1,
            "no outcome after outcome_unfollowed: {during:?}"
        );
        assert_has(
            during[0],
            json!({
                "type": "connect", "fd": flood.during.fd, "remote": remote,
                "proto": "tcp", "ret": -115, "error": "EINPROGRESS",
            }),
        );
        assert_absent(during[0], &["in_progress", "outcome", "state"]);
    } else {
        assert_refused_with_outcome(records, flood.during);
    }
    let blocking = socket_records(records, flood.during_blocking.pid);
    assert_eq!(blocking.len(), 1, "{blocking:?}");
    assert_has(
        blocking[0],
        json!({
            "type": "connect", "fd": flood.during_blocking.fd, "proto": "tcp",
            "remote": format!("127.0.0.1:{}", flood.during_blocking.port),
            "ret": -111, "error": "ECONNREFUSED",
        }),
    );
    assert_absent(
        blocking[0],
        &["in_progress", "outcome", "outcome_unfollowed", "state"],
    );
    // Root's after it.
    assert_refused_with_outcome(records, flood.after);

    // Nobody's: each connect as made (to its child's own listener), then
    // its outcome, or said to have none.
    let mut pending: HashSet<(u64, i64)> = HashSet::new();
    let (mut calls, mut outcomes, mut unfollowed) = (0, 0, 0);
    for r in of_type(records, "connect").filter(|r| flood.is_flood(r)) {
        let pid = r["pid"].as_u64().unwrap();
        let key = (pid, r["fd"].as_i64().unwrap());
        assert_eq!(
            r["remote"],
            format!("127.0.0.1:{}", flood.children[&pid]),
            "{r}"
        );
        assert_has(r, json!({"proto": "tcp", "compat": false}));
        if r["outcome"] == true {
            outcomes += 1;
            assert!(
                pending.remove(&key),
                "an outcome with no connect pending: {r}"
            );
            assert!(r["state"] == "ESTABLISHED" || r["state"] == "CLOSE", "{r}");
            assert_absent(r, &["in_progress", "outcome_unfollowed"]);
        } else if r["outcome_unfollowed"] == true {
            calls += 1;
            unfollowed += 1;
            assert_has(r, json!({"ret": -115, "error": "EINPROGRESS"}));
            assert_absent(r, &["in_progress"]);
        } else {
            calls += 1;
            assert_has(
                r,
                json!({"ret": -115, "error": "EINPROGRESS", "in_progress": true}),
            );
            assert!(
                pending.insert(key),
                "two connects of one socket pending: {r}"
            );
        }
    }
    let summary = flood.summary();
    let lost = summary["lost"]
        .as_object()
        .expect("the summary's lost counts");
    for kind in [
        "count", "error", "exec", "exit", "fork", "missed", "net", "open", "syscall",
    ] {
        assert!(
            lost.get(kind).is_some_and(Value::is_u64),
            "lost.{kind}: {summary}"
        );
    }
    eprintln!(
        "{test}: {calls} connect records, {outcomes} outcomes, {unfollowed} unfollowed, \
         {} pending, lost {}",
        pending.len(),
        Value::Object(lost.clone())
    );
    // Each of nobody's connects reported or counted lost; each reported
    // one that was followed has its outcome (its socket closed at the
    // flood's end, if not before) or was counted lost with its outcome.
    let lost_net = flood.lost_net();
    assert!(
        calls + lost_net >= FLOOD_CONNECTS,
        "{calls} connects reported and {lost_net} lost, of {FLOOD_CONNECTS}"
    );
    assert!(
        lost_net >= flood.unfollowed() + pending.len() as u64,
        "{} connects said unfollowed and {} without an outcome, {lost_net} counted lost",
        flood.unfollowed(),
        pending.len()
    );
    // Every socket record written is counted in the summary's events.
    let written = records
        .iter()
        .filter(|r| SOCKET_TYPES.iter().any(|t| r["type"] == *t))
        .count() as u64;
    assert!(
        summary["events"]["net"].as_u64() >= Some(written),
        "{written} socket records: {summary}"
    );
}

/// One user's connects held in SYN_SENT leave others' connects followed:
/// root's non-blocking connect made during nobody's flood has its exact
/// outcome, as it would without the flood.
#[test]
fn a_flood_of_connects_by_one_user_leaves_others_followed() {
    let test = "a_flood_of_connects_by_one_user_leaves_others_followed";
    if !can_trace(test) {
        return;
    }
    let flood = flood(test);
    assert_refused_with_outcome(&flood.records, flood.during);
}

/// `lost.net` counts records not delivered and connects whose outcome is
/// not followed: with every record of the flood delivered, it is the number
/// of connect records that say outcome_unfollowed, and no more: a blocking
/// connect, whose record is whole, is not lost.
#[test]
fn a_flood_of_connects_counts_lost_only_what_was_lost() {
    let test = "a_flood_of_connects_counts_lost_only_what_was_lost";
    if !can_trace(test) {
        return;
    }
    let flood = flood(test);
    let calls = of_type(&flood.records, "connect")
        .filter(|r| flood.is_flood(r) && r["outcome"] != true)
        .count() as u64;
    assert_eq!(calls, FLOOD_CONNECTS, "every record delivered");
    assert_eq!(
        flood.lost_net(),
        flood.unfollowed(),
        "lost.net, and the connect records with outcome_unfollowed"
    );
}
