//! User names by uid, looked up once each (an NSS lookup can be slow: it
//! may ask LDAP) on the collector thread, never the screen's.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
pub struct UserNames {
    /// Shared with every snapshot; replaced only when a new uid appears.
    names: Arc<HashMap<u32, String>>,
}

impl UserNames {
    /// The names of `uids`, with any not known yet looked up.
    pub fn learn(&mut self, uids: impl Iterator<Item = u32>) -> Arc<HashMap<u32, String>> {
        let mut new: Vec<u32> = uids.filter(|uid| !self.names.contains_key(uid)).collect();
        if !new.is_empty() {
            new.sort_unstable();
            new.dedup();
            let names = Arc::make_mut(&mut self.names);
            for uid in new {
                names.insert(uid, lookup(uid));
            }
        }
        self.names.clone()
    }
}

/// The user's name, or the uid as a number for a uid with no entry.
fn lookup(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_looked_up_once_and_shared() {
        let mut users = UserNames::default();
        let first = users.learn([0, 0].into_iter());
        assert_eq!(first.get(&0).map(String::as_str), Some("root"));
        let again = users.learn([0].into_iter());
        assert!(Arc::ptr_eq(&first, &again), "no new uid, no new map");
        let more = users.learn([4_000_000_000].into_iter());
        assert_eq!(
            more.get(&4_000_000_000).map(String::as_str),
            Some("4000000000")
        );
    }
}
