//! Containers: a process's cgroup (the kernel's cgroup v2 id, carried by
//! its fork and exec records) named by its path in the v2 hierarchy, and
//! the container a runtime's path says it is (docker, containerd and
//! Kubernetes pods, podman, systemd services and user sessions).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup, or on a
/// hybrid system (v1 controllers beside it) /sys/fs/cgroup/unified; found
/// once, from the mount table.
pub fn cgroup_root() -> &'static str {
    static ROOT: OnceLock<String> = OnceLock::new();
    ROOT.get_or_init(|| {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        mounts
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.get(2) == Some(&"cgroup2"))
            .and_then(|f| f.get(1).map(|p| p.to_string()))
            .unwrap_or_else(|| "/sys/fs/cgroup".into())
    })
}

/// A cgroup, by its id.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cgroup {
    /// In the v2 hierarchy: "/system.slice/docker-4f1c….scope";
    /// "/" for the root.
    pub path: String,
    /// What a runtime's path says: "docker:4f1c…", "k8s:…", "ssh.service",
    /// "user-1000"; None for the root and paths no runtime made.
    pub container: Option<String>,
}

impl Cgroup {
    pub fn new(path: String) -> Self {
        let container = container_of(&path);
        Self { path, container }
    }

    /// What a CONTAINER column shows: the container, else the path.
    pub fn label(&self) -> &str {
        self.container.as_deref().unwrap_or(&self.path)
    }
}

/// The container a cgroup path names, if a runtime's naming is recognised.
/// The innermost part that names one wins (a pod's container over its pod).
pub fn container_of(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate().rev() {
        let scope = part.strip_suffix(".scope").unwrap_or(part);
        for (prefix, kind) in [
            ("docker-", "docker"),
            ("cri-containerd-", "containerd"),
            ("crio-", "cri-o"),
            ("libpod-", "podman"),
        ] {
            if let Some(id) = scope.strip_prefix(prefix) {
                return Some(format!("{kind}:{}", short_id(id)));
            }
        }
        // cgroupfs drivers: /docker/ID, /kubepods/…/podUID/ID.
        let parent = i.checked_sub(1).map(|p| parts[p]);
        if parent == Some("docker") && is_hex_id(part) {
            return Some(format!("docker:{}", short_id(part)));
        }
        // A pod: "kubepods-burstable-podUID.slice", or cgroupfs's "podUID".
        if parts[..i].iter().any(|p| p.starts_with("kubepods")) {
            let name = part.trim_end_matches(".slice");
            let uid = name
                .rsplit_once("-pod")
                .map(|(_, uid)| uid)
                .or_else(|| name.strip_prefix("pod"));
            if let Some(uid) = uid.filter(|u| !u.is_empty()) {
                return Some(format!("k8s-pod:{}", uid.replace('_', "-")));
            }
        }
        if part.ends_with(".service") {
            return Some(part.to_string());
        }
        if let Some(user) = part.strip_suffix(".slice").filter(|p| {
            p.strip_prefix("user-")
                .is_some_and(|uid| uid.bytes().all(|b| b.is_ascii_digit()))
        }) {
            return Some(user.to_string());
        }
    }
    None
}

fn is_hex_id(s: &str) -> bool {
    s.len() >= 12 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A container id as `docker ps` shows it: its first 12 characters (a
/// directory's name may hold any, so never cut inside one).
fn short_id(id: &str) -> &str {
    id.char_indices().nth(12).map_or(id, |(at, _)| &id[..at])
}

/// The hierarchy is walked again for an id not known (a cgroup made
/// since) at most this often: a storm of processes in cgroups removed since
/// would otherwise walk it for each.
const WALK_EVERY: Duration = Duration::from_millis(100);

/// Cgroup ids named, walking /sys/fs/cgroup again when one is not known.
#[derive(Default)]
pub struct CgroupNames {
    /// Shared with every snapshot; replaced only when a new id is learnt.
    names: Arc<HashMap<u64, Cgroup>>,
    walked_at: Option<Instant>,
}

impl CgroupNames {
    /// The cgroups of `ids`, the hierarchy walked again if any is not known.
    pub fn learn(&mut self, ids: impl Iterator<Item = u64>) -> Arc<HashMap<u64, Cgroup>> {
        let mut ids = ids;
        if ids.any(|id| id != 0 && !self.names.contains_key(&id)) {
            self.walk();
        }
        self.names.clone()
    }

    /// One cgroup, the hierarchy walked again if it is not known.
    pub fn get(&mut self, id: u64) -> Option<Cgroup> {
        if id != 0 && !self.names.contains_key(&id) {
            self.walk();
        }
        self.names.get(&id).cloned()
    }

    fn walk(&mut self) {
        if self.walked_at.is_some_and(|at| at.elapsed() < WALK_EVERY) {
            return;
        }
        self.walked_at = Some(Instant::now());
        walk(
            Path::new(cgroup_root()),
            "",
            0,
            Arc::make_mut(&mut self.names),
        );
    }
}

/// Each directory under DIR: its inode is its cgroup's id.
fn walk(dir: &Path, path: &str, depth: usize, names: &mut HashMap<u64, Cgroup>) {
    if let Ok(meta) = std::fs::metadata(dir) {
        let shown = if path.is_empty() { "/" } else { path };
        // A removed cgroup's id is not reused (kernfs ids only grow).
        names
            .entry(meta.ino())
            .or_insert_with(|| Cgroup::new(shown.to_string()));
    }
    // Systemd nests a few levels, Kubernetes about five.
    if depth >= 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let name = entry.file_name();
            let sub = format!("{path}/{}", name.to_string_lossy());
            walk(&entry.path(), &sub, depth + 1, names);
        }
    }
}

/// A running process's cgroup v2 id and path, from /proc/PID/cgroup.
pub fn cgroup_of_process(pid: u32) -> Option<(u64, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))?
        .to_string();
    let ino = std::fs::metadata(format!("{}{path}", cgroup_root()))
        .ok()?
        .ino();
    Some((ino, path))
}

/// A cgroup to filter on, from --cgroup: a path in the cgroup v2
/// hierarchy, as /proc/PID/cgroup gives it (or with the mount point before
/// it). Its id, its level (the root's is 0) and its path.
pub fn resolve(arg: &str) -> anyhow::Result<(u64, u32, String)> {
    let root = cgroup_root();
    let relative = arg.strip_prefix(root).unwrap_or(arg);
    let relative = relative.trim_end_matches('/');
    let path = if relative.starts_with('/') {
        relative.to_string()
    } else {
        format!("/{relative}")
    };
    let meta = std::fs::metadata(format!("{root}{path}")).map_err(|e| {
        anyhow::anyhow!("no cgroup {path} in the cgroup v2 hierarchy at {root} ({e})")
    })?;
    anyhow::ensure!(meta.is_dir(), "{root}{path} is not a cgroup directory");
    let level = path.split('/').filter(|p| !p.is_empty()).count() as u32;
    Ok((meta.ino(), level, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_paths_name_their_containers() {
        let c = |p: &str| container_of(p);
        let id = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c";
        assert_eq!(
            c(&format!("/system.slice/docker-{id}.scope")).as_deref(),
            Some("docker:4f1c2d3e4f5a")
        );
        assert_eq!(
            c(&format!("/docker/{id}")).as_deref(),
            Some("docker:4f1c2d3e4f5a")
        );
        assert_eq!(
            c(&format!("/machine.slice/libpod-{id}.scope/container")).as_deref(),
            Some("podman:4f1c2d3e4f5a")
        );
        assert_eq!(
            c(&format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_abcd.slice/cri-containerd-{id}.scope"
            ))
            .as_deref(),
            Some("containerd:4f1c2d3e4f5a")
        );
        assert_eq!(
            c("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_abcd.slice")
                .as_deref(),
            Some("k8s-pod:1234-abcd")
        );
        assert_eq!(
            c("/system.slice/ssh.service").as_deref(),
            Some("ssh.service")
        );
        assert_eq!(
            c("/user.slice/user-1000.slice/session-3.scope").as_deref(),
            Some("user-1000")
        );
        // Anyone may name a directory: no cut inside a character.
        assert_eq!(
            c("/user.slice/docker-aéééééééééééé.scope").as_deref(),
            Some("docker:aééééééééééé")
        );
        assert_eq!(c("/"), None);
        assert_eq!(c("/init.scope"), None);
        assert_eq!(c("/my/own/group"), None);
    }

    #[test]
    fn this_process_has_a_cgroup_the_walk_names() {
        let Some((id, path)) = cgroup_of_process(std::process::id()) else {
            return; // no cgroup v2 here
        };
        let mut names = CgroupNames::default();
        let known = names.learn([id].into_iter());
        assert_eq!(known.get(&id).map(|c| c.path.as_str()), Some(path.as_str()));
    }
}
