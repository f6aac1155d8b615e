//! Who talks to whom: socket calls per (process, what, protocol, address),
//! with their results and rates, bounded.
//!
//! One row a process's connects to one address (their outcomes folded in
//! as they come), accepts from one host, sends to one address, or socket
//! it bound or listens on.

use std::collections::HashMap;

use super::event::{NetEvent, ProcessKey};
use super::sockaddr::SockAddr;

/// Rows kept: past this, the least recently active go, a tenth at a time.
const MAX_ROWS: usize = 10_000;
/// A connect in progress this long without its outcome will have none
/// (TCP gives up on a SYN after about two minutes; the outcome was lost).
const PENDING_NS: u64 = 180_000_000_000;

/// What a row counts.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Direction {
    /// connect: to `address`.
    Connect,
    /// accept: from `address` (a host: clients' ports vary).
    Accept,
    /// sendto, sendmsg: datagrams to `address`.
    Send,
    /// bind, listen: `address` is the socket's own.
    Serve,
}

impl Direction {
    /// As the view and JSON name it.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Connect => "connect",
            Direction::Accept => "accept",
            Direction::Send => "send",
            Direction::Serve => "serve",
        }
    }

    fn of(call: &str) -> Direction {
        match call {
            "connect" => Direction::Connect,
            "accept" | "accept4" => Direction::Accept,
            "sendto" | "sendmsg" => Direction::Send,
            _ => Direction::Serve,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RowKey {
    process: ProcessKey,
    direction: Direction,
    proto: &'static str,
    address: Option<SockAddr>,
}

/// One row of the connections view.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Connection {
    pub pid: u32,
    pub start_ns: u64,
    pub comm: String,
    pub direction: Direction,
    #[serde(with = "super::serial::static_str")]
    pub proto: super::serial::Name,
    /// The remote end (connect, send), the clients' host (accept), or the
    /// socket's own address (serve); None where it could not be read.
    pub address: Option<SockAddr>,
    /// Calls folded in (outcomes are not calls).
    pub calls: u64,
    /// Calls that succeeded (a connect: connected, now or at its outcome).
    pub ok: u64,
    /// Non-blocking connects still waiting for their outcome.
    pub in_progress: u64,
    /// Non-blocking connects whose outcome never came in PENDING_NS (its
    /// record was lost: counted).
    pub expired: u64,
    /// Non-blocking connects whose outcome was not followed (too many in
    /// flight): neither succeeded nor failed, as far as is known.
    pub unfollowed: u64,
    /// Non-blocking connects whose socket was closed before it connected.
    pub closed_first: u64,
    /// Failures by positive errno (a connect's outcome's included), most
    /// first.
    pub errors: Vec<(i32, u64)>,
    /// Serve: whether the socket listens, and with which backlog.
    pub backlog: Option<u32>,
    /// Calls per second over the last interval.
    pub per_sec: f64,
    pub last_ns: u64,
}

impl Connection {
    /// A row with nothing counted yet.
    pub fn new(
        pid: u32,
        start_ns: u64,
        comm: &str,
        direction: Direction,
        proto: &'static str,
        address: Option<SockAddr>,
    ) -> Self {
        Self {
            pid,
            start_ns,
            comm: comm.to_string(),
            direction,
            proto,
            address,
            calls: 0,
            ok: 0,
            in_progress: 0,
            expired: 0,
            unfollowed: 0,
            closed_first: 0,
            errors: Vec::new(),
            backlog: None,
            per_sec: 0.0,
            last_ns: 0,
        }
    }

    pub fn failures(&self) -> u64 {
        self.errors.iter().map(|&(_, n)| n).sum()
    }
}

#[derive(Default)]
pub struct ConnectionTable {
    /// Each row, and its calls at the last tick.
    rows: HashMap<RowKey, (Connection, u64)>,
    /// Connects in progress, by (process, entry time): an outcome carries
    /// its connect's, and settles that one.
    pending: HashMap<(ProcessKey, u64), RowKey>,
    /// Rows dropped to stay within MAX_ROWS.
    pub forgotten: u64,
}

impl ConnectionTable {
    pub fn apply(&mut self, e: &NetEvent) {
        let direction = Direction::of(e.call);
        // A non-blocking accept finding no client: polling, not a failure.
        if direction == Direction::Accept && e.ret == -libc::EAGAIN {
            return;
        }
        let address = match direction {
            Direction::Serve => e.local.clone(),
            Direction::Accept => e.remote.as_ref().map(SockAddr::host),
            Direction::Connect | Direction::Send => e.remote.clone(),
        };
        let key = RowKey {
            process: e.process(),
            direction,
            proto: e.proto,
            address,
        };
        if e.outcome && self.pending.remove(&(e.process(), e.ts_ns)).is_none() {
            // Its connect was forgotten, or expired.
            return;
        }
        if !self.rows.contains_key(&key) && self.rows.len() >= MAX_ROWS {
            self.forget_oldest();
        }
        if e.in_progress() {
            self.pending.insert((e.process(), e.ts_ns), key.clone());
        }
        let (row, _) = self.rows.entry(key.clone()).or_insert_with(|| {
            let row = Connection::new(
                e.pid,
                e.start_ns,
                &e.comm,
                direction,
                e.proto,
                key.address.clone(),
            );
            (row, 0)
        });
        row.comm.clone_from(&e.comm);
        row.last_ns = row.last_ns.max(e.ts_ns + e.duration_ns);
        if e.outcome {
            row.in_progress = row.in_progress.saturating_sub(1);
        } else {
            row.calls += 1;
        }
        match e.ret {
            _ if e.in_progress() => row.in_progress += 1,
            _ if e.unfollowed => row.unfollowed += 1,
            0 if e.outcome && !e.connected() => row.closed_first += 1,
            ret if ret < 0 => super::count_most_first(&mut row.errors, -ret),
            _ => {
                row.ok += 1;
                if e.call == "listen" {
                    row.backlog = Some(e.backlog);
                }
            }
        }
    }

    /// Connects in progress for PENDING_NS at `now` will have no outcome.
    fn expire(&mut self, now: u64) {
        let rows = &mut self.rows;
        self.pending.retain(|&(_, ts), key| {
            if now.saturating_sub(ts) < PENDING_NS {
                return true;
            }
            if let Some((row, _)) = rows.get_mut(key) {
                row.in_progress = row.in_progress.saturating_sub(1);
                row.expired += 1;
            }
            false
        });
    }

    fn forget_oldest(&mut self) {
        let mut ages: Vec<u64> = self.rows.values().map(|(r, _)| r.last_ns).collect();
        let cut = MAX_ROWS / 10;
        ages.select_nth_unstable(cut);
        let before = ages[cut];
        let len = self.rows.len();
        self.rows.retain(|_, (r, _)| r.last_ns >= before);
        self.forgotten += (len - self.rows.len()) as u64;
        let rows = &self.rows;
        self.pending.retain(|_, key| rows.contains_key(key));
    }

    /// Every row with its rate over the last `secs` at `now`; busiest
    /// first, then by calls.
    pub fn tick(&mut self, secs: f64, now: u64) -> Vec<Connection> {
        self.expire(now);
        let mut rows: Vec<Connection> = self
            .rows
            .values_mut()
            .map(|(r, calls_at_tick)| {
                r.per_sec = (r.calls - *calls_at_tick) as f64 / secs;
                *calls_at_tick = r.calls;
                r.clone()
            })
            .collect();
        rows.sort_by(|a, b| {
            b.per_sec
                .total_cmp(&a.per_sec)
                .then(b.calls.cmp(&a.calls))
                .then(a.pid.cmp(&b.pid))
                .then(a.address.cmp(&b.address))
        });
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn event(call: &'static str, ret: i32, remote: &str) -> NetEvent {
        NetEvent {
            ts_ns: 1,
            duration_ns: 1,
            pid: 10,
            tid: 10,
            start_ns: 5,
            comm: "client".into(),
            call,
            compat: false,
            outcome: false,
            unfollowed: false,
            ret,
            fd: 3,
            backlog: 0,
            proto: "tcp",
            tcp_state: 0,
            remote: Some(SockAddr::Inet(remote.parse::<SocketAddr>().unwrap())),
            local: None,
            addr_unreadable: false,
            addr_truncated: false,
        }
    }

    #[test]
    fn a_refused_connect_and_a_pending_one_settle_in_one_row() {
        let mut table = ConnectionTable::default();
        table.apply(&event("connect", -libc::ECONNREFUSED, "127.0.0.1:1"));
        table.apply(&event("connect", -libc::EINPROGRESS, "127.0.0.1:1"));
        let rows = table.tick(1.0, 10);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].calls, rows[0].in_progress), (2, 1));
        assert_eq!(rows[0].errors, vec![(libc::ECONNREFUSED, 1)]);
        let mut outcome = event("connect", -libc::ECONNREFUSED, "127.0.0.1:1");
        outcome.outcome = true;
        table.apply(&outcome);
        let rows = table.tick(1.0, 10);
        assert_eq!((rows[0].calls, rows[0].in_progress), (2, 0));
        assert_eq!(rows[0].errors, vec![(libc::ECONNREFUSED, 2)]);
        assert_eq!(rows[0].per_sec, 0.0);
    }

    #[test]
    fn a_connect_whose_outcome_never_comes_expires() {
        let mut table = ConnectionTable::default();
        table.apply(&event("connect", -libc::EINPROGRESS, "10.0.0.1:80"));
        assert_eq!(table.tick(1.0, PENDING_NS)[0].in_progress, 1);
        let row = &table.tick(1.0, PENDING_NS + 2)[0];
        assert_eq!((row.in_progress, row.expired), (0, 1));
        // Its outcome, had it come after all, settles nothing twice.
        let mut outcome = event("connect", 0, "10.0.0.1:80");
        outcome.outcome = true;
        outcome.tcp_state = 1;
        table.apply(&outcome);
        let row = &table.tick(1.0, PENDING_NS + 3)[0];
        assert_eq!((row.ok, row.in_progress, row.expired), (0, 0, 1));
    }

    #[test]
    fn accepts_group_by_the_clients_host() {
        let mut table = ConnectionTable::default();
        table.apply(&event("accept4", 4, "127.0.0.1:50000"));
        table.apply(&event("accept4", 5, "127.0.0.1:50001"));
        let rows = table.tick(2.0, 10);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].address.as_ref().unwrap().text(), "127.0.0.1");
        assert_eq!((rows[0].calls, rows[0].ok, rows[0].per_sec), (2, 2, 1.0));
    }

    #[test]
    fn the_table_stays_bounded_and_counts_what_it_drops() {
        let mut table = ConnectionTable::default();
        for port in 0..(MAX_ROWS as u16 + 5) {
            let mut e = event("sendto", 10, &format!("10.0.0.1:{}", port + 1));
            e.ts_ns = port as u64;
            table.apply(&e);
        }
        assert!(table.rows.len() <= MAX_ROWS);
        assert_eq!(table.forgotten as usize + table.rows.len(), MAX_ROWS + 5);
    }
}
