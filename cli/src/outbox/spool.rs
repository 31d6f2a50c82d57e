//! The spool: a directory where alerts wait until Mattermost takes them.
//!
//! One alert is one file, its payload JSON exactly as it would have been
//! posted. A file appears whole or not at all: it is written under a hidden
//! temporary name in the same directory, fsynced, renamed to its final name,
//! and the directory is fsynced, so a crash or a SIGKILL at any moment leaves
//! either nothing or a complete entry (plus, at worst, a temporary file that
//! readers ignore and `flush` removes once it is old). Final names are
//! `<nanoseconds since 1970, 20 digits>-<pid>-<counter>.json`, so sorting by
//! name is sorting oldest first.
//!
//! Alerts the server refused for good go to `failed/` beside a `.answer`
//! file with the server's status, error id and body, for an admin to read
//! and resend. Both areas are bounded in file count and bytes; beyond that a
//! new alert is not kept and the caller says so loudly.
//!
//! Concurrent `flush` runs are serialised by an exclusive `flock` on
//! `.lock` in the spool directory.

use crate::private_dir::{
    flock, open_lock_file, read_private_file, DirError, FileError, PrivateDir,
};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Default spool directory (`MATTERMOST_SPOOL_DIR`, `--spool-dir`).
pub const DEFAULT_DIR: &str = "/var/spool/mattermost-notify";

/// Default bound on spooled alerts (`MATTERMOST_SPOOL_MAX_FILES`); the same
/// bound applies to `failed/` separately.
pub const DEFAULT_MAX_FILES: u64 = 10_000;

/// Default bound on spooled bytes (`MATTERMOST_SPOOL_MAX_BYTES`): 64 MiB;
/// the same bound applies to `failed/` separately.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Largest entry `flush` reads. A payload is at most
/// [`mattermost_notify_core::limits::PAYLOAD_BUF_LEN`] bytes; anything much
/// larger was not written by us and is moved to `failed/` unread.
pub const ENTRY_MAX_BYTES: u64 = 256 * 1024;

/// A temporary file older than this belongs to a writer that died.
/// Writers finish in milliseconds and the core kills them after 30 s.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(10 * 60);

/// How often a process waiting for the flush lock tries again.
pub const LOCK_POLL: Duration = Duration::from_millis(20);

/// The refused-alerts area inside the spool directory.
pub const FAILED_DIR: &str = "failed";

/// Suffix of a spooled alert.
const ENTRY_SUFFIX: &str = ".json";

/// Suffix of the server's answer stored beside a refused alert.
const ANSWER_SUFFIX: &str = ".answer";

/// The lock file `flush` holds.
const LOCK_FILE: &str = ".lock";

/// Why the spool could not do what was asked.
#[derive(Debug)]
pub enum SpoolError {
    /// The area already holds its maximum number of files or bytes.
    Full {
        /// Files already there.
        files: u64,
        /// Bytes already there.
        bytes: u64,
    },
    /// The directory is not one only this user can change (owner, mode,
    /// symlink): it is neither read nor written.
    Untrusted(DirError),
    /// The directory could not be created or written (permissions, a full
    /// file system, ...).
    Io(io::Error),
}

impl std::fmt::Display for SpoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpoolError::Full { files, bytes } => {
                write!(f, "spool is full ({files} files, {bytes} bytes)")
            }
            SpoolError::Untrusted(e) => write!(f, "not used, because {e}"),
            SpoolError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for SpoolError {
    fn from(e: io::Error) -> Self {
        SpoolError::Io(e)
    }
}

impl From<DirError> for SpoolError {
    fn from(e: DirError) -> Self {
        match e {
            DirError::Io(e) => SpoolError::Io(e),
            DirError::NotADirectory => SpoolError::Io(io::Error::other(e.to_string())),
            other => SpoolError::Untrusted(other),
        }
    }
}

/// One spooled alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Full path of the file.
    pub path: PathBuf,
    /// File name; sorts oldest first.
    pub name: String,
    /// Size in bytes (as listed; the read checks again).
    pub len: u64,
    /// The problem key the alert belongs to ([`crate::state::ProblemKey`]
    /// in hex), when its name carries one.
    pub key: Option<String>,
}

/// A spool directory with its bounds.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    max_files: u64,
    max_bytes: u64,
    suffix: &'static str,
}

/// The digest queue inside the spool directory (outbox/digest.rs).
pub const DIGEST_DIR: &str = "digest";

/// Suffix of an alert waiting for a digest.
const ITEM_SUFFIX: &str = ".item";

impl Spool {
    /// A spool in `dir` holding at most `max_files` alerts and `max_bytes` bytes.
    pub fn new(dir: impl Into<PathBuf>, max_files: u64, max_bytes: u64) -> Self {
        Spool {
            dir: dir.into(),
            max_files,
            max_bytes,
            suffix: ENTRY_SUFFIX,
        }
    }

    /// The digest queue: alerts waiting to go out in a digest, with the
    /// same atomic files, names, bounds and trust as the spool.
    pub fn digest_queue(&self) -> Spool {
        Spool {
            dir: self.dir.join(DIGEST_DIR),
            suffix: ITEM_SUFFIX,
            ..self.clone()
        }
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The refused-alerts directory.
    pub fn failed_dir(&self) -> PathBuf {
        self.dir.join(FAILED_DIR)
    }

    /// The directory, created when missing, checked always.
    fn open(&self) -> Result<PrivateDir, SpoolError> {
        Ok(PrivateDir::create(&self.dir)?)
    }

    /// The directory when it exists (checked), `None` when it does not.
    fn existing(&self) -> Result<Option<PrivateDir>, SpoolError> {
        match PrivateDir::existing(&self.dir) {
            Ok(d) => Ok(Some(d)),
            Err(DirError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Keeps `payload` as a new entry, after every entry already there;
    /// `key` (hex) ties it to its problem for ordering.
    pub fn store(&self, payload: &[u8], key: Option<&str>) -> Result<PathBuf, SpoolError> {
        let dir = self.open()?;
        self.check_room(dir.path(), payload.len() as u64)?;
        Ok(dir.write_atomically(&entry_name(key, self.suffix), payload)?)
    }

    /// Keeps a refused `payload` in `failed/` with the server's `answer`.
    /// The answer is written first, so an alert in `failed/` always has one.
    pub fn store_failed(&self, payload: &[u8], answer: &str) -> Result<PathBuf, SpoolError> {
        let failed = self.open()?.subdir(FAILED_DIR)?;
        self.check_room(failed.path(), payload.len() as u64)?;
        let name = entry_name(None, self.suffix);
        failed.write_atomically(&answer_name(&name), answer.as_bytes())?;
        Ok(failed.write_atomically(&name, payload)?)
    }

    /// Moves a spooled entry the server refused (or one that is not ours to
    /// send) into `failed/` with `answer`. A rename: no new bytes, so the
    /// bounds do not apply, and a symlink is moved, never followed.
    pub fn move_to_failed(&self, entry: &Entry, answer: &str) -> Result<PathBuf, SpoolError> {
        let dir = self.open()?;
        let failed = dir.subdir(FAILED_DIR)?;
        failed.write_atomically(&answer_name(&entry.name), answer.as_bytes())?;
        let to = failed.join(&entry.name);
        fs::rename(&entry.path, &to)?;
        failed.sync()?;
        dir.sync()?;
        Ok(to)
    }

    /// The spooled alerts, oldest first. A missing directory is an empty spool.
    pub fn entries(&self) -> Result<Vec<Entry>, SpoolError> {
        match self.existing()? {
            Some(dir) => Ok(list_entries(dir.path(), self.suffix)?),
            None => Ok(Vec::new()),
        }
    }

    /// Reads an entry: a regular file of this user, at most
    /// [`ENTRY_MAX_BYTES`], opened without following links or blocking.
    pub fn read(&self, entry: &Entry) -> Result<Vec<u8>, FileError> {
        read_private_file(&entry.path, ENTRY_MAX_BYTES)
    }

    /// Removes a delivered entry. Already gone is fine.
    pub fn remove(&self, entry: &Entry) -> io::Result<()> {
        match fs::remove_file(&entry.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Makes removals durable (one directory fsync after a batch).
    pub fn sync(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    /// Removes temporary files older than [`STALE_TEMP_AGE`], left by writers
    /// that were killed, here and in `failed/`; returns how many. Call under
    /// the flush lock.
    pub fn remove_stale_temps(&self) -> usize {
        remove_stale_temps_in(&self.dir) + remove_stale_temps_in(&self.failed_dir())
    }

    /// Takes the exclusive flush lock. With `wait == false`, returns
    /// `Ok(None)` at once when another process holds it. Creates the
    /// spool directory when missing.
    pub fn lock(&self, wait: bool) -> Result<Option<SpoolLock>, SpoolError> {
        let dir = self.open()?;
        let file = open_lock_file(&dir.join(LOCK_FILE))?;
        Ok(flock(&file, wait)?.then_some(SpoolLock { _file: file }))
    }

    /// Takes the flush lock, trying every [`LOCK_POLL`] until `deadline`,
    /// or until `give_up()` says waiting is no longer needed.
    pub fn lock_until(
        &self,
        deadline: Instant,
        give_up: &dyn Fn() -> bool,
    ) -> Result<Option<SpoolLock>, SpoolError> {
        loop {
            if let Some(lock) = self.lock(false)? {
                return Ok(Some(lock));
            }
            if give_up() || Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(LOCK_POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// Refuses a new file when the area at `dir` is at its bounds. Under
    /// concurrency the bound can be overshot by the number of processes
    /// checking at the same instant; it is a guard against filling the disk,
    /// not an exact quota.
    fn check_room(&self, dir: &Path, new_len: u64) -> Result<(), SpoolError> {
        let entries = list_entries(dir, self.suffix)?;
        let files = entries.len() as u64;
        let bytes = entries
            .iter()
            .fold(0u64, |sum, e| sum.saturating_add(e.len));
        if files.saturating_add(1) > self.max_files
            || bytes.saturating_add(new_len) > self.max_bytes
        {
            return Err(SpoolError::Full { files, bytes });
        }
        Ok(())
    }
}

/// Held while flushing; dropping it closes the file and releases the lock.
#[derive(Debug)]
pub struct SpoolLock {
    _file: File,
}

/// The `.answer` file beside a refused entry named `name`.
pub fn answer_name(name: &str) -> String {
    let stem = name.strip_suffix(ENTRY_SUFFIX).unwrap_or(name);
    let stem = stem.strip_suffix(ITEM_SUFFIX).unwrap_or(stem);
    format!("{stem}{ANSWER_SUFFIX}")
}

/// A fresh entry name: sorts by creation time, unique across processes
/// (pid) and within one (counter), with the problem key when there is one:
/// `<nanoseconds, 20 digits>-<pid>-<counter>[-<key>].json`.
fn entry_name(key: Option<&str>, suffix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    match key.filter(|k| is_key(k)) {
        Some(k) => format!("{nanos:020}-{pid:010}-{n:06}-{k}{suffix}"),
        None => format!("{nanos:020}-{pid:010}-{n:06}{suffix}"),
    }
}

/// The problem key in an entry name, when it has one.
fn key_of(name: &str, suffix: &str) -> Option<String> {
    let stem = name.strip_suffix(suffix)?;
    let key = stem.rsplit('-').next()?;
    (stem.split('-').count() == 4 && is_key(key)).then(|| key.to_string())
}

fn is_key(k: &str) -> bool {
    k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit())
}

fn remove_stale_temps_in(dir: &Path) -> usize {
    crate::private_dir::remove_stale_temps(dir, STALE_TEMP_AGE)
}

/// Every `*.json` name (hidden ones excepted), whatever kind of file it
/// is: the read decides whether it is sent, so a planted symlink or FIFO
/// is reported and moved away instead of silently skipped.
fn list_entries(dir: &Path, suffix: &str) -> io::Result<Vec<Entry>> {
    let read = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for item in read {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(suffix) {
            continue;
        }
        // lstat; a file removed by a concurrent flush between listing and
        // stat is simply gone.
        let Ok(meta) = item.metadata() else { continue };
        if meta.is_dir() {
            continue;
        }
        out.push(Entry {
            path: item.path(),
            key: key_of(&name, suffix),
            name,
            len: meta.len(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "mn-spool-{tag}-{}-{}",
            std::process::id(),
            entry_name(None, ENTRY_SUFFIX)
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn store_creates_private_dir_and_entries_sort_oldest_first() {
        let dir = scratch("order");
        let spool = Spool::new(dir.join("sub"), 100, 1 << 20);
        let paths: Vec<PathBuf> = (0..5)
            .map(|i| {
                spool
                    .store(format!("{{\"n\":{i}}}").as_bytes(), None)
                    .expect("store")
            })
            .collect();
        let mode = fs::metadata(spool.dir()).expect("dir").permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o700
        );
        let entries = spool.entries().expect("list");
        let listed: Vec<PathBuf> = entries.iter().map(|e| e.path.clone()).collect();
        assert_eq!(listed, paths);
        assert_eq!(fs::read(&entries[0].path).expect("read"), b"{\"n\":0}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn bounds_refuse_new_entries() {
        let dir = scratch("bounds");
        let by_count = Spool::new(&dir, 2, 1 << 20);
        by_count.store(b"{}", None).expect("1");
        by_count.store(b"{}", None).expect("2");
        assert!(matches!(
            by_count.store(b"{}", None),
            Err(SpoolError::Full { files: 2, .. })
        ));
        let by_bytes = Spool::new(&dir, 100, 10);
        assert!(matches!(
            by_bytes.store(b"{\"long\":1}", None),
            Err(SpoolError::Full { bytes: 4, .. })
        ));
        assert_eq!(by_count.entries().expect("list").len(), 2);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn temp_files_are_not_entries_and_old_ones_are_removed() {
        let dir = scratch("temps");
        let spool = Spool::new(&dir, 100, 1 << 20);
        spool.store(b"{}", None).expect("store");
        let fresh = dir.join(".tmp-fresh.json");
        let old = dir.join(".tmp-old.json");
        fs::write(&fresh, b"{\"par").expect("fresh");
        fs::write(&old, b"{\"par").expect("old");
        let long_ago = SystemTime::now() - STALE_TEMP_AGE - Duration::from_secs(60);
        let failed = spool.failed_dir();
        PrivateDir::create(&failed).expect("failed/");
        let old_failed = failed.join(".tmp-old.answer");
        fs::write(&old_failed, b"status: 4").expect("old in failed/");
        for path in [&old, &old_failed] {
            File::options()
                .write(true)
                .open(path)
                .and_then(|f| f.set_modified(long_ago))
                .expect("age");
        }
        assert_eq!(spool.entries().expect("list").len(), 1);
        assert_eq!(spool.remove_stale_temps(), 2);
        assert!(fresh.exists() && !old.exists() && !old_failed.exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn refused_alerts_keep_the_answer_beside_them() {
        let dir = scratch("failed");
        let spool = Spool::new(&dir, 100, 1 << 20);
        let p = spool
            .store_failed(b"{}", "status: 400\n")
            .expect("store failed");
        assert_eq!(p.parent(), Some(spool.failed_dir().as_path()));
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        let answer = fs::read_to_string(spool.failed_dir().join(answer_name(&name)));
        assert_eq!(answer.expect("answer"), "status: 400\n");
        assert!(spool.entries().expect("list").is_empty());

        spool.store(b"{\"x\":1}", None).expect("store");
        let e = spool.entries().expect("list").remove(0);
        let moved = spool.move_to_failed(&e, "status: 403\n").expect("move");
        assert_eq!(fs::read(moved).expect("read"), b"{\"x\":1}");
        assert!(spool.entries().expect("list").is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn lock_is_exclusive() {
        let dir = scratch("lock");
        let spool = Spool::new(&dir, 100, 1 << 20);
        PrivateDir::create(&dir).expect("dir");
        let held = spool.lock(false).expect("lock").expect("free");
        // flock locks belong to the open file description: a second open
        // in the same process conflicts just as another process would.
        assert!(spool.lock(false).expect("try").is_none());
        drop(held);
        assert!(spool.lock(false).expect("try").is_some());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_in_place_of_the_directory_is_an_error() {
        let dir = scratch("notadir");
        fs::write(&dir, b"").expect("file");
        let spool = Spool::new(&dir, 100, 1 << 20);
        assert!(matches!(spool.store(b"{}", None), Err(SpoolError::Io(_))));
        let _ = fs::remove_file(&dir);
    }

    #[test]
    fn entry_names_carry_the_problem_key_and_sort_by_time() {
        let dir = scratch("keys");
        let spool = Spool::new(&dir, 100, 1 << 20);
        let key = "0123456789abcdef0123456789abcdef";
        spool.store(b"{}", Some(key)).expect("keyed");
        spool.store(b"{}", None).expect("plain");
        spool
            .store(b"{}", Some("not-a-key"))
            .expect("bad key dropped");
        let keys: Vec<Option<String>> = spool
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, [Some(key.to_string()), None, None]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_spool_others_can_write_to_is_neither_read_nor_written() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("trust");
        let spool = Spool::new(&dir, 100, 1 << 20);
        spool.store(b"{}", None).expect("store");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            spool.store(b"{}", None),
            Err(SpoolError::Untrusted(DirError::Writable { mode: 0o777 }))
        ));
        assert!(matches!(spool.entries(), Err(SpoolError::Untrusted(_))));
        assert!(matches!(spool.lock(false), Err(SpoolError::Untrusted(_))));
        let _ = fs::remove_dir_all(&dir);
    }
}
