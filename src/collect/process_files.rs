//! The files each process opened, for drilling into one process.

use std::collections::HashMap;

use super::event::{OpenEvent, visible};
use super::roots::marked;

/// Distinct paths remembered per process; later ones are counted, not kept.
const MAX_PER_PROCESS: usize = 64;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProcessFile {
    pub path: String,
    pub opens: u64,
    pub errors: u64,
    /// Positive errno of the last failed open.
    pub last_errno: Option<i32>,
    pub last_ns: u64,
}

#[derive(Default)]
pub struct ProcessFiles {
    by_pid: HashMap<u32, Vec<ProcessFile>>,
}

impl ProcessFiles {
    pub fn apply(&mut self, e: &OpenEvent) {
        let files = self.by_pid.entry(e.pid).or_default();
        let path = marked(e.root.as_deref(), visible(&e.path));
        let file = match files.iter().position(|f| f.path == path) {
            Some(i) => &mut files[i],
            None if files.len() < MAX_PER_PROCESS => {
                files.push(ProcessFile {
                    path,
                    opens: 0,
                    errors: 0,
                    last_errno: None,
                    last_ns: 0,
                });
                files.last_mut().expect("just pushed")
            }
            None => return,
        };
        file.opens += 1;
        file.last_ns = e.ts_ns;
        if e.ret < 0 {
            file.errors += 1;
            file.last_errno = Some(-e.ret);
        }
    }

    /// Most opened first.
    pub fn of(&self, pid: u32) -> Vec<ProcessFile> {
        let mut files = self.by_pid.get(&pid).cloned().unwrap_or_default();
        files.sort_by(|a, b| b.opens.cmp(&a.opens).then(b.last_ns.cmp(&a.last_ns)));
        files
    }

    pub fn forget(&mut self, pid: u32) {
        self.by_pid.remove(&pid);
    }

    /// Forgets every process but those for which `kept` holds.
    pub fn keep_only(&mut self, kept: impl Fn(u32) -> bool) {
        self.by_pid.retain(|&pid, _| kept(pid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::decode::tests::open_event;

    fn open(pid: u32, path: &str, ret: i32) -> OpenEvent {
        open_event(pid, "x", path, ret, 1)
    }

    #[test]
    fn keeps_each_process_files_apart_and_bounded() {
        let mut files = ProcessFiles::default();
        files.apply(&open(1, "/a", 3));
        files.apply(&open(1, "/a", -13));
        files.apply(&open(2, "/b", 3));
        for i in 0..100 {
            files.apply(&open(3, &format!("/many/{i}"), 3));
        }
        let one = files.of(1);
        assert_eq!((one.len(), one[0].opens, one[0].errors), (1, 2, 1));
        assert_eq!(one[0].last_errno, Some(13));
        assert_eq!(files.of(2)[0].path, "/b");
        assert_eq!(files.of(3).len(), MAX_PER_PROCESS);
        files.forget(1);
        assert!(files.of(1).is_empty());
        files.keep_only(|pid| pid == 3);
        assert!(files.of(2).is_empty());
        assert_eq!(files.of(3).len(), MAX_PER_PROCESS);
    }
}
