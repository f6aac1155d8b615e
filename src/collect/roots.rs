//! Which root a process sees, when it is not the tool's: a chroot's
//! directory, or its container. Its paths are relative to that root, and
//! are marked with it wherever they are shown.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;

use super::event::visible;

/// Processes remembered at most: past this the cache starts again.
const MAX_PROCESSES: usize = 65_536;

#[derive(Default)]
pub struct Roots {
    by_pid: HashMap<u32, String>,
}

impl Roots {
    /// The root of `pid`, whose record says it is not the tool's: where
    /// /proc/PID/root leads (a chroot's directory), else (a root in another
    /// mount namespace, which this one cannot name) its container, else
    /// "another root". Read once a process, as the process is seen.
    pub fn of(&mut self, pid: u32, container: Option<&str>) -> String {
        if self.by_pid.len() >= MAX_PROCESSES {
            self.by_pid.clear();
        }
        self.by_pid
            .entry(pid)
            .or_insert_with(|| name(pid, container))
            .clone()
    }

    /// A process that exec'd (a chroot is usually followed by one) or
    /// ended: read again when next seen.
    pub fn forget(&mut self, pid: u32) {
        self.by_pid.remove(&pid);
    }
}

fn name(pid: u32, container: Option<&str>) -> String {
    match std::fs::read_link(format!("/proc/{pid}/root")) {
        Ok(root) if root.as_os_str() != "/" => visible(root.as_os_str().as_bytes()),
        _ => container.unwrap_or("another root").to_string(),
    }
}

/// A path as shown when its process's root is not the tool's:
/// `[/srv/jail] /etc/passwd`. A `]` in the root is shown `\x5d`, so that
/// the first `]` always ends it: a jail named `x] /etc/passwd [` cannot
/// pass for the host's file.
pub fn marked(root: Option<&str>, path: String) -> String {
    match root {
        Some(root) => format!("[{}] {path}", root.replace(']', "\\x5d")),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::marked;

    #[test]
    fn a_root_cannot_pass_for_a_path() {
        assert_eq!(
            marked(Some("/srv/jail"), "/etc/passwd".into()),
            "[/srv/jail] /etc/passwd"
        );
        let forged = marked(Some("/tmp/x] /etc/passwd ["), "/etc/shadow".into());
        assert_eq!(forged, r"[/tmp/x\x5d /etc/passwd [] /etc/shadow");
        assert_eq!(marked(None, "/etc/passwd".into()), "/etc/passwd");
    }
}
