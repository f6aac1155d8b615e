//! The top opened files: opens, errors and openers per path, bounded.

use std::collections::HashMap;

use super::event::{OpenEvent, visible};
use super::roots::marked;

/// Distinct opener PIDs remembered per file, for the PID filter.
pub const MAX_OPENERS: usize = 32;

/// Opener PIDs tracked per file to count them exactly, and in the whole
/// table: any user can fork thousands of processes that each open
/// thousands of files. Beyond them a count is approximate, marked cut.
const MAX_TRACKED_OPENERS: usize = 1024;
const MAX_TRACKED_IN_TABLE: usize = 200_000;
/// A file keeps this many tracked openers whatever the table holds.
const MIN_TRACKED_OPENERS: usize = 32;

/// The recent window, in one-second buckets.
pub const WINDOW_SECS: u64 = 10;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileStats {
    pub path: String,
    pub opens: u64,
    pub errors: u64,
    /// (positive errno, count), most frequent first after `top`.
    pub errnos: Vec<(i32, u64)>,
    /// The first MAX_OPENERS distinct PIDs that opened it (with the PID
    /// filter kept, the kernel reports only that PID: it is `last_pid`).
    pub openers: Vec<u32>,
    /// Distinct PIDs that opened it since start, and in the last
    /// WINDOW_SECS at the snapshot. Where `_cut`, PIDs were forgotten to
    /// stay bounded: one forgotten that opens it again counts again in
    /// `procs`, and `recent_procs` misses those forgotten in the window.
    pub procs: u64,
    pub procs_cut: bool,
    pub recent_procs: u64,
    pub recent_procs_cut: bool,
    pub last_pid: u32,
    pub last_comm: String,
    pub last_ns: u64,
    /// (second, opens, errors) for the last WINDOW_SECS seconds.
    window: [(u64, u32, u32); WINDOW_SECS as usize],
}

impl FileStats {
    fn new(path: &str) -> Self {
        Self {
            path: path.to_string(),
            opens: 0,
            errors: 0,
            errnos: Vec::new(),
            openers: Vec::new(),
            procs: 0,
            procs_cut: false,
            recent_procs: 0,
            recent_procs_cut: false,
            last_pid: 0,
            last_comm: String::new(),
            last_ns: 0,
            window: [(0, 0, 0); WINDOW_SECS as usize],
        }
    }

    /// (opens, errors) in the WINDOW_SECS seconds before `now_ns`.
    pub fn recent(&self, now_ns: u64) -> (u64, u64) {
        let now = now_ns / 1_000_000_000;
        self.window
            .iter()
            .filter(|(sec, _, _)| now.saturating_sub(*sec) < WINDOW_SECS && *sec <= now)
            .fold((0, 0), |(o, e), (_, opens, errors)| {
                (o + *opens as u64, e + *errors as u64)
            })
    }

    fn count_recent(&mut self, ts_ns: u64, failed: bool) {
        let sec = ts_ns / 1_000_000_000;
        let slot = &mut self.window[(sec % WINDOW_SECS) as usize];
        if slot.0 != sec {
            *slot = (sec, 0, 0);
        }
        slot.1 += 1;
        slot.2 += failed as u32;
    }

    /// Whether `pid` opened it, as far as the snapshot can tell.
    pub fn opened_by(&self, pid: u32) -> bool {
        self.last_pid == pid || self.openers.contains(&pid)
    }

    pub fn top_errno(&self) -> Option<i32> {
        self.errnos.iter().max_by_key(|(_, n)| *n).map(|(e, _)| *e)
    }
}

/// Bytes of paths the table keeps at most: paths are up to 4 KiB long, and
/// any user can open as many distinct ones as it likes.
const MAX_PATH_BYTES: usize = 4 << 20;

/// The distinct PIDs that opened one file, each with the second it last did.
#[derive(Default)]
struct OpenerSet {
    last_open: HashMap<u32, u64>,
    /// PIDs were forgotten to stay bounded: the counts are approximate from
    /// then, the recent one while the newest forgotten is in the window.
    cut: bool,
    newest_forgotten_sec: u64,
    /// The last add: the same process opening the file again within the
    /// second (a burst) changes nothing.
    last: Option<(u32, u64)>,
}

impl OpenerSet {
    /// Returns how many entries it grew by (0 or 1).
    fn add(&mut self, pid: u32, sec: u64, room: usize, stats: &mut FileStats) -> usize {
        if self.last.replace((pid, sec)) == Some((pid, sec)) {
            return 0;
        }
        if let Some(last) = self.last_open.get_mut(&pid) {
            *last = sec;
            return 0;
        }
        stats.procs += 1;
        if self.last_open.len() >= room {
            self.forget_oldest();
        }
        self.last_open.insert(pid, sec);
        1
    }

    /// Forgets the quarter that opened longest ago (at least one), so that
    /// the cost is amortised over the inserts that fill it again.
    fn forget_oldest(&mut self) {
        let mut secs: Vec<u64> = self.last_open.values().copied().collect();
        let n = (secs.len() / 4).max(1);
        let (_, cutoff, _) = secs.select_nth_unstable(n - 1);
        let cutoff = *cutoff;
        let mut forgotten = 0;
        self.last_open.retain(|_, sec| {
            let forget = *sec <= cutoff && forgotten < n;
            forgotten += forget as usize;
            !forget
        });
        self.last = None;
        self.cut = true;
        self.newest_forgotten_sec = self.newest_forgotten_sec.max(cutoff);
    }

    /// (distinct PIDs in the WINDOW_SECS before `now_sec`, cut).
    fn recent(&self, now_sec: u64) -> (u64, bool) {
        let within = |sec: u64| now_sec.saturating_sub(sec) < WINDOW_SECS;
        let n = self.last_open.values().filter(|s| within(**s)).count();
        (n as u64, self.cut && within(self.newest_forgotten_sec))
    }
}

pub struct FileTable {
    /// By path (escaped, and marked with its root): one lookup an open.
    files: HashMap<String, (FileStats, OpenerSet)>,
    /// Entries in all the opener sets.
    tracked_openers: usize,
    capacity: usize,
    /// Bytes of the paths held.
    path_bytes: usize,
    /// Paths dropped to stay within capacity.
    pub evicted: u64,
}

impl FileTable {
    pub fn new(capacity: usize) -> Self {
        Self {
            files: HashMap::new(),
            tracked_openers: 0,
            capacity,
            path_bytes: 0,
            evicted: 0,
        }
    }

    pub fn apply(&mut self, e: &OpenEvent) {
        let path = marked(e.root.as_deref(), visible(&e.path));
        if !self.files.contains_key(&path) {
            if self.files.len() >= self.capacity + self.capacity / 4
                || self.path_bytes + path.len() > MAX_PATH_BYTES
            {
                self.evict();
            }
            self.path_bytes += path.len();
        }
        let (stats, set) = self
            .files
            .entry(path)
            .or_insert_with_key(|path| (FileStats::new(path), OpenerSet::default()));
        let room = if self.tracked_openers < MAX_TRACKED_IN_TABLE {
            MAX_TRACKED_OPENERS
        } else {
            MIN_TRACKED_OPENERS
        };
        let before = set.last_open.len();
        set.add(e.pid, e.ts_ns / 1_000_000_000, room, stats);
        self.tracked_openers = self.tracked_openers + set.last_open.len() - before;
        stats.procs_cut = set.cut;
        stats.opens += 1;
        stats.count_recent(e.ts_ns, e.ret < 0);
        if e.ret < 0 {
            stats.errors += 1;
            match stats.errnos.iter_mut().find(|(errno, _)| *errno == -e.ret) {
                Some((_, n)) => *n += 1,
                None => stats.errnos.push((-e.ret, 1)),
            }
        }
        if stats.openers.len() < MAX_OPENERS && !stats.openers.contains(&e.pid) {
            stats.openers.push(e.pid);
        }
        stats.last_pid = e.pid;
        stats.last_comm.clone_from(&e.comm);
        stats.last_ns = e.ts_ns;
    }

    /// Keeps the `capacity` files most opened (most recent first on ties),
    /// in three quarters of MAX_PATH_BYTES at most: amortised, since it runs
    /// once per capacity/4 new paths or MAX_PATH_BYTES/4 new bytes.
    fn evict(&mut self) {
        let mut ranked: Vec<(u64, u64, String)> = self
            .files
            .values()
            .map(|(f, _)| (f.opens, f.last_ns, f.path.clone()))
            .collect();
        ranked.sort_unstable_by_key(|f| std::cmp::Reverse((f.0, f.1)));
        let mut kept_bytes = 0;
        for (i, (_, _, path)) in ranked.into_iter().enumerate() {
            if i < self.capacity && kept_bytes + path.len() <= MAX_PATH_BYTES / 4 * 3 {
                kept_bytes += path.len();
            } else {
                if let Some((_, set)) = self.files.remove(&path) {
                    self.tracked_openers -= set.last_open.len();
                }
                self.evicted += 1;
            }
        }
        self.path_bytes = kept_bytes;
    }

    /// The `n` most opened files since start, their openers counted up to
    /// `now_ns`.
    pub fn top(&self, n: usize, now_ns: u64) -> Vec<FileStats> {
        let mut all: Vec<&(FileStats, OpenerSet)> = self.files.values().collect();
        all.sort_unstable_by_key(|(f, _)| std::cmp::Reverse((f.opens, f.last_ns)));
        all.into_iter()
            .take(n)
            .map(|entry| with_recent_openers(entry, now_ns))
            .collect()
    }

    /// The `n` most opened files in the last WINDOW_SECS before `now_ns`.
    pub fn top_recent(&self, n: usize, now_ns: u64) -> Vec<FileStats> {
        let mut all: Vec<(u64, &(FileStats, OpenerSet))> = self
            .files
            .values()
            .map(|entry| (entry.0.recent(now_ns).0, entry))
            .filter(|(recent, _)| *recent > 0)
            .collect();
        all.sort_unstable_by_key(|(recent, (f, _))| std::cmp::Reverse((*recent, f.last_ns)));
        all.into_iter()
            .take(n)
            .map(|(_, entry)| with_recent_openers(entry, now_ns))
            .collect()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.files.len()
    }
}

/// A file's row as a snapshot shows it: with its openers in the window.
fn with_recent_openers((f, set): &(FileStats, OpenerSet), now_ns: u64) -> FileStats {
    let mut f = f.clone();
    (f.recent_procs, f.recent_procs_cut) = set.recent(now_ns / 1_000_000_000);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::decode::tests::open_event;

    fn open(path: &str, pid: u32, ret: i32, ts: u64) -> OpenEvent {
        open_event(pid, &format!("p{pid}"), path, ret, ts)
    }

    #[test]
    fn a_path_in_another_root_is_another_file() {
        let mut t = FileTable::new(100);
        t.apply(&open("/etc/passwd", 1, 3, 1));
        let mut jailed = open("/etc/passwd", 2, 3, 2);
        jailed.other_root = true;
        jailed.root = Some("/srv/jail".into());
        t.apply(&jailed);
        let mut paths: Vec<String> = t.top(10, 2).into_iter().map(|f| f.path).collect();
        paths.sort();
        assert_eq!(paths, ["/etc/passwd", "[/srv/jail] /etc/passwd"]);
    }

    #[test]
    fn counts_opens_errors_and_openers() {
        let mut t = FileTable::new(100);
        t.apply(&open("/etc/hosts", 1, 3, 1));
        t.apply(&open("/etc/hosts", 2, -13, 2));
        t.apply(&open("/etc/hosts", 2, -2, 3));
        t.apply(&open("/etc/hosts", 2, -2, 4));
        t.apply(&open("/etc/passwd", 1, 3, 5));
        let top = t.top(10, 5);
        assert_eq!(top[0].path, "/etc/hosts");
        assert_eq!((top[0].procs, top[0].procs_cut), (2, false));
        assert_eq!((top[0].opens, top[0].errors), (4, 3));
        assert_eq!(top[0].top_errno(), Some(2));
        assert_eq!(top[0].openers, [1, 2]);
        assert_eq!((top[0].last_pid, top[0].last_comm.as_str()), (2, "p2"));
        assert_eq!(top[1].path, "/etc/passwd");
    }

    #[test]
    fn recent_window_forgets_old_opens() {
        let sec = 1_000_000_000;
        let mut t = FileTable::new(100);
        t.apply(&open("/old", 1, 3, 100 * sec));
        t.apply(&open("/new", 1, -2, 115 * sec));
        t.apply(&open("/new", 1, 3, 116 * sec));
        let recent = t.top_recent(10, 116 * sec);
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].path, "/new");
        assert_eq!(recent[0].recent(116 * sec), (2, 1));
        assert_eq!(t.top(10, 0).len(), 2);
        assert_eq!(t.top(10, 0)[0].recent(200 * sec), (0, 0));
    }

    #[test]
    fn openers_are_counted_exactly_since_start_and_in_the_window() {
        let sec = 1_000_000_000;
        let mut t = FileTable::new(100);
        // 100 processes long ago, 40 of them again and 60 new ones lately.
        for pid in 0..100 {
            t.apply(&open("/etc/hosts", pid, 3, 10 * sec));
        }
        for pid in 60..160 {
            t.apply(&open("/etc/hosts", pid, 3, 100 * sec));
        }
        let top = t.top(1, 101 * sec);
        assert_eq!((top[0].procs, top[0].procs_cut), (160, false));
        assert_eq!((top[0].recent_procs, top[0].recent_procs_cut), (100, false));
        assert_eq!(t.top_recent(1, 101 * sec)[0].recent_procs, 100);
    }

    #[test]
    fn opener_counts_stay_bounded_and_say_when_cut() {
        let sec = 1_000_000_000;
        let mut t = FileTable::new(100);
        for pid in 0..5_000 {
            t.apply(&open(
                "/lib/libc.so.6",
                pid,
                3,
                50 * sec + pid as u64 * 1000,
            ));
        }
        let top = t.top(1, 50 * sec);
        assert_eq!(top[0].procs, 5_000, "every new PID counted once");
        assert!(top[0].procs_cut, "forgotten PIDs make it approximate");
        assert!(top[0].recent_procs <= MAX_TRACKED_OPENERS as u64);
        assert!(top[0].recent_procs_cut);
        assert!(t.tracked_openers <= MAX_TRACKED_OPENERS);
        // Long after, the window holds nobody, and nothing forgotten is in it.
        let later = t.top(1, 500 * sec);
        assert_eq!(
            (later[0].recent_procs, later[0].recent_procs_cut),
            (0, false)
        );
    }

    #[test]
    fn stays_bounded_and_keeps_the_most_opened() {
        let mut t = FileTable::new(100);
        for _ in 0..50 {
            t.apply(&open("/hot", 1, 3, 0));
        }
        for i in 0..100_000u64 {
            t.apply(&open(&format!("/cold/{i}"), 1, -2, i));
        }
        assert!(t.len() <= 125, "{} files kept", t.len());
        assert_eq!(t.top(1, 0)[0].path, "/hot");
        assert!(t.evicted >= 100_000 - 125);
    }

    #[test]
    fn long_paths_are_bounded_by_bytes() {
        let mut t = FileTable::new(10_000);
        let long = "x".repeat(4000);
        for i in 0..5000 {
            t.apply(&open(&format!("/{i}/{long}"), 1, -2, i));
        }
        assert!(t.path_bytes <= MAX_PATH_BYTES, "{}", t.path_bytes);
        let held: usize = t.files.keys().map(String::len).sum();
        assert_eq!(held, t.path_bytes);
        assert!(t.evicted > 0);
    }
}
