//! The node's state directory: the small records `notify` and `serve`
//! share (`MATTERMOST_STATE_DIR`, by default the spool directory).
//!
//! ```text
//! problems/<key>.rec    the current problem of a host or service (problems.rs)
//! clicks/<exp>-<tag>    buttons that were used, until they expire (clicks.rs)
//! locks/<key>.lock      one lock per host or service: its alerts go out in order
//! digests/<id>.list     the signed list of a digest's problems (digests.rs)
//! ratelimit             what the server last said of its rate limit (ratelimit.rs)
//! window/<n>            one byte per alert of digest window n; digest.lock: the leader's
//! ```
//!
//! Every file is written atomically (temporary name, fsync, rename) or
//! created exclusively, so hundreds of concurrent `notify` processes and
//! `serve` never see half a record. The directory is trusted only as
//! [`crate::private_dir`] allows. Nothing here may cost an alert: a record
//! that is missing or damaged is logged and treated as absent.

pub mod clicks;
pub mod digests;
pub mod problems;
pub mod ratelimit;

use crate::outbox::spool::LOCK_POLL;
use crate::private_dir::{flock, open_lock_file, DirError, PrivateDir};
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Records of problems closed longer ago than this are pruned, unless
/// `MATTERMOST_CLOSED_RETENTION` says otherwise.
pub const CLOSED_RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// Records (and locks) not touched for this long are pruned even when the
/// problem never recovered as far as this node saw.
pub const STALE_RETENTION: Duration = Duration::from_secs(90 * 86_400);

/// Most problem records kept; beyond it the least recently touched go.
pub const MAX_RECORDS: usize = 100_000;

/// Pruning runs at most this often (the first `notify` after it takes it on).
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Largest record file read (a record is a few hundred bytes).
pub const RECORD_MAX_BYTES: u64 = 16 * 1024;

const PROBLEMS: &str = "problems";
const CLICKS: &str = "clicks";
const LOCKS: &str = "locks";
const PRUNED_MARK: &str = ".pruned";

/// Which host or service a record is about: the first 16 bytes of
/// SHA-256 over the kind, host and service, so any name makes a safe,
/// fixed-length file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProblemKey([u8; 16]);

impl ProblemKey {
    /// The key of host `host`.
    pub fn host(host: &str) -> ProblemKey {
        Self::digest(&[b"host", host.as_bytes()])
    }

    /// The key of service `service` on `host`.
    pub fn service(host: &str, service: &str) -> ProblemKey {
        Self::digest(&[b"service", host.as_bytes(), service.as_bytes()])
    }

    fn digest(parts: &[&[u8]]) -> ProblemKey {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for p in parts {
            // Length-prefixed, so ("ab","c") and ("a","bc") differ.
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p);
        }
        let mut key = [0u8; 16];
        for (k, d) in key.iter_mut().zip(ctx.finish().as_ref()) {
            *k = *d;
        }
        ProblemKey(key)
    }

    /// The key whose [`ProblemKey::hex`] is `hex`.
    pub fn from_hex(hex: &str) -> Option<ProblemKey> {
        let mut key = [0u8; 16];
        mattermost_notify_core::hex::decode_exact(hex, &mut key).then_some(ProblemKey(key))
    }

    /// 32 lowercase hex digits.
    pub fn hex(&self) -> String {
        let mut buf = [0u8; 32];
        mattermost_notify_core::hex::encode_lower(&self.0, &mut buf)
            .unwrap_or_default()
            .to_string()
    }
}

/// An opened, trusted state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PrivateDir,
    closed_retention: Duration,
}

/// Held while one problem's alert is being sent or kept; dropping it lets
/// the next alert of the same problem go.
#[derive(Debug)]
pub struct ProblemLock {
    _file: File,
}

impl StateDir {
    /// Opens (creating when missing) and checks the directory.
    pub fn open(path: &Path) -> Result<StateDir, DirError> {
        Ok(StateDir {
            root: PrivateDir::create(path)?,
            closed_retention: CLOSED_RETENTION,
        })
    }

    /// Keeps records of closed problems this long (`MATTERMOST_CLOSED_RETENTION`).
    pub fn with_closed_retention(mut self, keep: Duration) -> StateDir {
        self.closed_retention = keep;
        self
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.root.path()
    }

    fn area(&self, name: &str) -> Result<PrivateDir, DirError> {
        self.root.subdir(name)
    }

    fn lock_path(&self, key: &ProblemKey) -> Result<PathBuf, DirError> {
        Ok(self.area(LOCKS)?.join(&format!("{}.lock", key.hex())))
    }

    /// Takes the lock of `key`, trying until `deadline`; `None` when another
    /// process still holds it then.
    pub fn lock_problem(
        &self,
        key: &ProblemKey,
        deadline: Instant,
    ) -> io::Result<Option<ProblemLock>> {
        let path = self.lock_path(key).map_err(dir_io)?;
        loop {
            let file = open_lock_file(&path)?;
            if flock(&file, false)? {
                // A pruner may have removed the file between our open and
                // our lock; then our lock is on an orphan: start over.
                let held = file.metadata()?.ino();
                match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.ino() == held => {
                        let _ = file.set_modified(SystemTime::now());
                        return Ok(Some(ProblemLock { _file: file }));
                    }
                    _ => continue,
                }
            }
            drop(file);
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(LOCK_POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// Whether another process holds the lock of the problem whose key is
    /// `key_hex` (an alert of it is being sent right now).
    pub fn problem_busy(&self, key_hex: &str) -> bool {
        let Ok(locks) = self.area(LOCKS) else {
            return false;
        };
        let Ok(file) = open_lock_file(&locks.join(&format!("{key_hex}.lock"))) else {
            return false;
        };
        // Taken and released at once when free: only a holder makes it busy.
        !matches!(flock(&file, false), Ok(true))
    }

    /// Prunes records, locks and used-button marks when the last pruning
    /// is older than [`PRUNE_INTERVAL`]; cheap when it is not.
    pub fn prune_if_due(&self, now: SystemTime) {
        let mark = self.root.join(PRUNED_MARK);
        let due = std::fs::symlink_metadata(&mark)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_none_or(|age| age >= PRUNE_INTERVAL);
        if !due {
            return;
        }
        // Mark first: concurrent processes then skip it.
        if self.root.write_atomically(PRUNED_MARK, b"").is_err() {
            return;
        }
        let (records, locks) = self.prune(now);
        let clicks = self.clicks_prune(now) + self.prune_digests(now);
        if records + locks + clicks > 0 {
            log::info!(
                "state {}: pruned {records} record(s), {locks} lock(s), {clicks} used-button mark(s) and digest list(s)",
                self.path().display()
            );
        }
    }

    fn prune(&self, now: SystemTime) -> (usize, usize) {
        // What writers killed mid-write left (they block nobody).
        let stale = crate::outbox::spool::STALE_TEMP_AGE;
        for area in [PROBLEMS, digests::DIGESTS] {
            if let Ok(d) = self.area(area) {
                crate::private_dir::remove_stale_temps(d.path(), stale);
            }
        }
        crate::private_dir::remove_stale_temps(self.root.path(), stale);
        let records = self
            .area(PROBLEMS)
            .map(|d| problems::prune(&d, now, self.closed_retention))
            .unwrap_or(0);
        let locks = self
            .area(LOCKS)
            .map(|d| prune_older(d.path(), now, STALE_RETENTION))
            .unwrap_or(0);
        (records, locks)
    }
}

/// The state directory the configuration names: `MATTERMOST_STATE_DIR`,
/// else the spool directory. The error names the setting to fix.
pub fn open_from_config(cfg: &crate::config::Config) -> Result<StateDir, crate::error::Error> {
    use crate::config::key;
    let (name, path) = match cfg.get(key::STATE_DIR) {
        Some(p) => (key::STATE_DIR, p),
        None => (
            key::SPOOL_DIR,
            cfg.get(key::SPOOL_DIR)
                .unwrap_or(crate::outbox::spool::DEFAULT_DIR),
        ),
    };
    let keep = match cfg.get(key::CLOSED_RETENTION) {
        None => CLOSED_RETENTION,
        Some(v) => crate::ack_button::parse_ttl(v).ok_or_else(|| {
            cfg.invalid(
                key::CLOSED_RETENTION,
                format!("{v:?} is not a duration such as 3600, 30m, 12h or 7d"),
            )
        })?,
    };
    StateDir::open(Path::new(path))
        .map(|s| s.with_closed_retention(keep))
        .map_err(|e| {
            cfg.invalid(
                name,
                format!("the state directory {path} cannot be used: {e}"),
            )
        })
}

/// Removes plain files in `dir` not modified for `age`; returns how many.
fn prune_older(dir: &Path, now: SystemTime, age: Duration) -> usize {
    let Ok(read) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for item in read.flatten() {
        let old = item
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|a| a > age);
        if old && std::fs::remove_file(item.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn dir_io(e: DirError) -> io::Error {
    match e {
        DirError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
pub(crate) fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mn-state-{tag}-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_kinds_and_fields() {
        assert_ne!(ProblemKey::host("a"), ProblemKey::service("a", ""));
        assert_ne!(
            ProblemKey::service("ab", "c"),
            ProblemKey::service("a", "bc")
        );
        assert_eq!(ProblemKey::host("web1"), ProblemKey::host("web1"));
        let hex = ProblemKey::host("web1").hex();
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn leftovers_of_killed_writers_are_pruned_and_fresh_ones_kept() {
        let d = scratch("temps");
        let state = StateDir::open(&d).unwrap();
        let ev = problems::AlertEvent {
            kind: mattermost_notify_core::Kind::Service,
            host: "web1",
            service: "http",
            notification_type: mattermost_notify_core::NotificationType::Problem,
            state_ok: false,
            problem_id: "7",
            last_problem_id: "",
            time: 100,
        };
        state.track_event(&ev, true);
        let dir = d.join(PROBLEMS);
        let old = dir.join(format!("{}x.rec-1-0", crate::private_dir::TEMP_PREFIX));
        let fresh = dir.join(format!("{}y.rec-1-0", crate::private_dir::TEMP_PREFIX));
        let root_old = d.join(format!("{}.pruned-1-0", crate::private_dir::TEMP_PREFIX));
        for p in [&old, &fresh, &root_old] {
            std::fs::write(p, b"half").unwrap();
        }
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        for p in [&old, &root_old] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .and_then(|f| f.set_modified(long_ago))
                .unwrap();
        }
        state.prune(SystemTime::now());
        assert!(!old.exists() && !root_old.exists(), "stale ones removed");
        assert!(fresh.exists(), "a writer may still be at it");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            2,
            "the record stays"
        );
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_problem_lock_is_exclusive_and_seen_as_busy() {
        let d = scratch("lock");
        let state = StateDir::open(&d).unwrap();
        let key = ProblemKey::service("web1", "http");
        let soon = Instant::now() + Duration::from_millis(60);
        let held = state.lock_problem(&key, soon).unwrap().expect("free");
        assert!(state.problem_busy(&key.hex()));
        assert!(state.lock_problem(&key, soon).unwrap().is_none());
        drop(held);
        assert!(!state.problem_busy(&key.hex()));
        assert!(state.lock_problem(&key, soon).unwrap().is_some());
        let _ = std::fs::remove_dir_all(&d);
    }
}
