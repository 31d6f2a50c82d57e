//! Digests in the node's state: the signed list of each digest's
//! problems, the window count that decides when a storm begins, and the
//! lock the digest leader holds.
//!
//! `digests/<id>.list` holds a digest's list exactly as core encodes it
//! ([`mattermost_notify_core::digest_list`]); the id is the list's hash,
//! so `serve` acts only on a list that is the one the buttons were signed
//! for. A problem first announced in a digest gets `digest=<id>` in its
//! record: it is still followed, and its later events know where it was
//! announced.

use super::{ProblemKey, StateDir};
use crate::private_dir::{flock, open_lock_file, read_private_file, FileError};
use mattermost_notify_core::digest_list::DIGEST_ID_PREFIX;
use mattermost_notify_core::hex;
use mattermost_notify_core::limits::DIGEST_LIST_BUF_LEN;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

pub(super) const DIGESTS: &str = "digests";
const WINDOW_DIR: &str = "window";
const LEADER_LOCK: &str = "digest.lock";

/// Held by the digest leader; dropping it lets the next process lead.
#[derive(Debug)]
pub struct DigestLock {
    _file: File,
}

/// The id of the digest whose list is `list`: [`DIGEST_ID_PREFIX`] and
/// the first 16 bytes of its SHA-256 in hex.
pub fn digest_id(list: &[u8]) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, list);
    let mut out = [0u8; 32];
    let hex = hex::encode_lower(hash.as_ref().get(..16).unwrap_or_default(), &mut out)
        .unwrap_or_default();
    format!("{DIGEST_ID_PREFIX}{hex}")
}

impl StateDir {
    /// Keeps a digest's list (before the digest is posted, so a click that
    /// comes at once finds it); returns its id.
    pub fn keep_digest_list(&self, list: &[u8]) -> io::Result<String> {
        let id = digest_id(list);
        let dir = self.area(DIGESTS).map_err(super::dir_io)?;
        dir.write_atomically(&format!("{id}.list"), list)?;
        Ok(id)
    }

    /// The list of digest `id`, only when its bytes hash to `id`.
    pub fn digest_list(&self, id: &str) -> Result<Vec<u8>, String> {
        let dir = self
            .area(DIGESTS)
            .map_err(|e| format!("{}: {e}", self.path().display()))?;
        let path = dir.join(&format!("{id}.list"));
        let bytes = read_private_file(&path, DIGEST_LIST_BUF_LEN as u64).map_err(|e| match e {
            FileError::Io(e) if e.kind() == io::ErrorKind::NotFound => {
                format!(
                    "no list {} (pruned, or another node's digest)",
                    path.display()
                )
            }
            e => format!("{}: {e}", path.display()),
        })?;
        if digest_id(&bytes) != id {
            return Err(format!("{} does not hash to its name", path.display()));
        }
        Ok(bytes)
    }

    /// Notes in the record of `key` that its problem `problem` was first
    /// announced in digest `id`; in API mode also the digest's post and
    /// channel (`root`): the problem's later events reply in the digest's
    /// thread. Under the problem's lock, waited for until `until`: a record
    /// another process is changing is never overwritten from an older read
    /// (a RECOVERY could be lost); the pointer is then left out, and logged.
    pub fn point_to_digest(
        &self,
        key: &ProblemKey,
        problem: &str,
        id: &str,
        root: Option<&(String, String)>,
        until: Instant,
    ) {
        let Ok(Some(_lock)) = self.lock_problem(key, until) else {
            match root {
                Some((post, _)) => log::warn!(
                    "problem {problem} is busy; its record does not point at the digest post \
                     {post}, so its later events are posted on their own"
                ),
                None => log::info!("problem {problem} is busy; its record does not point at {id}"),
            }
            return;
        };
        match self.record(key) {
            Ok(Some(mut r)) if r.problem == problem && r.open && r.digest.is_empty() => {
                r.digest = id.to_string();
                if let (Some((post, channel)), true) = (root, r.post.is_empty()) {
                    r.post = post.clone();
                    r.channel = channel.clone();
                }
                if let Err(e) = self.write_record(key, &r) {
                    log::warn!("cannot point problem {problem} at {id}: {e}");
                }
            }
            _ => {}
        }
    }

    /// Counts one fresh alert into the node's current window; whether it
    /// is beyond the first `threshold` of its window of `window` (then it
    /// belongs in a digest). Windows are fixed slices of time, one file
    /// each (`window/<window number>`) to which every alert appends a byte:
    /// appends are atomic, so the size after ours counts the alerts so far
    /// without a lock to queue on (concurrent appends can only make the
    /// count a little high). A count that cannot be kept says no: the alert
    /// goes out as usual.
    pub fn count_into_window(&self, window: Duration, threshold: u64) -> bool {
        let counted = (|| -> io::Result<u64> {
            let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
            let epoch = super::ratelimit::unix_ms() / ms;
            let open = |dir: &std::path::Path| {
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(dir.join(epoch.to_string()))
            };
            // The directory is made (and checked) only the first time: on
            // every alert of a quiet node this is one open, write and stat.
            let dir = self.root.join(WINDOW_DIR);
            let mut file = match open(&dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    open(self.area(WINDOW_DIR).map_err(super::dir_io)?.path())?
                }
                other => other?,
            };
            file.write_all(b".")?;
            let count = file.metadata()?.len();
            if count == 1 {
                // The window's first alert sweeps the files of older ones.
                for old in std::fs::read_dir(&dir)?.flatten() {
                    let of = old.file_name().to_string_lossy().parse::<u64>().ok();
                    if of.is_some_and(|e| e < epoch) {
                        let _ = std::fs::remove_file(old.path());
                    }
                }
            }
            Ok(count)
        })();
        counted.is_ok_and(|count| count > threshold)
    }

    /// Takes the digest leader's lock without waiting; `None` when another
    /// process leads.
    pub fn try_lead_digest(&self) -> io::Result<Option<DigestLock>> {
        let file = open_lock_file(&self.root.join(LEADER_LOCK))?;
        Ok(flock(&file, false)?.then_some(DigestLock { _file: file }))
    }

    pub(super) fn prune_digests(&self, now: std::time::SystemTime) -> usize {
        self.area(DIGESTS)
            .map(|d| super::prune_older(d.path(), now, super::STALE_RETENTION))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_found_only_under_its_own_hash() {
        let d = super::super::scratch("digests");
        let s = StateDir::open(&d).unwrap();
        let id = s.keep_digest_list(b"list one").unwrap();
        assert!(mattermost_notify_core::digest_list::is_digest_id(&id));
        assert_eq!(s.digest_list(&id).unwrap(), b"list one");
        // A list replaced under the same name is refused.
        std::fs::write(d.join("digests").join(format!("{id}.list")), b"list two").unwrap();
        assert!(s.digest_list(&id).is_err());
        assert!(s.digest_list(&digest_id(b"never kept")).is_err());
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn the_window_counts_the_first_alerts_as_usual_and_then_digests() {
        let d = super::super::scratch("window");
        let s = StateDir::open(&d).unwrap();
        let w = Duration::from_millis(400);
        // Start right after a window begins, so five alerts share it.
        while super::super::ratelimit::unix_ms() % 400 > 50 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let over: Vec<bool> = (0..5).map(|_| s.count_into_window(w, 3)).collect();
        assert_eq!(over, [false, false, false, true, true]);
        std::thread::sleep(Duration::from_millis(420));
        assert!(!s.count_into_window(w, 3), "a new window starts over");
        let slots = std::fs::read_dir(d.join("window")).unwrap().count();
        assert_eq!(slots, 1, "the new window swept the old one's slots");
        let lead = s.try_lead_digest().unwrap().expect("free");
        assert!(s.try_lead_digest().unwrap().is_none(), "one leader");
        drop(lead);
        assert!(s.try_lead_digest().unwrap().is_some());
        let _ = std::fs::remove_dir_all(d);
    }
}
