//! Directories that only this process's user can change, and the files in
//! them: the spool and the node's state directory.
//!
//! Both hold what an attacker on the node would like to plant: an alert
//! that `flush` posts to Mattermost, a record that makes `serve` accept a
//! click. So a directory is used only when it (the directory a symlink
//! points to, if the admin made one) is owned by the effective user and not
//! writable by group or others; a missing one is created with mode 0700. Files are opened with
//! `O_NOFOLLOW | O_NONBLOCK` (a symlink or a FIFO planted by someone else
//! can neither redirect nor block a read) and accepted only when they are
//! regular files of the same owner and below a size cap. Writes are atomic:
//! temporary name, fsync, rename, directory fsync.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Prefix of files being written; readers never take them for entries.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Why a directory is not used.
#[derive(Debug)]
#[non_exhaustive]
pub enum DirError {
    /// It could not be created or examined.
    Io(io::Error),
    /// Something other than a directory is in its place.
    NotADirectory,
    /// Another user owns it.
    Owner {
        /// Its owner.
        uid: u32,
        /// This process's effective user.
        euid: u32,
    },
    /// Group or others may write to it.
    Writable {
        /// Its permission bits.
        mode: u32,
    },
}

impl std::fmt::Display for DirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirError::Io(e) => write!(f, "{e}"),
            DirError::NotADirectory => f.write_str("it exists and is not a directory"),
            DirError::Owner { uid, euid } => write!(
                f,
                "it is owned by uid {uid}, not by this process's user (uid {euid}); \
                 chown it to the user the monitoring core runs notifications as"
            ),
            DirError::Writable { mode } => write!(
                f,
                "group or others can write to it (mode {mode:03o}); chmod 700 it"
            ),
        }
    }
}

/// Why a file in a private directory is not read.
#[derive(Debug)]
#[non_exhaustive]
pub enum FileError {
    /// Reading failed (`NotFound` when it is gone).
    Io(io::Error),
    /// A symlink, FIFO, device or directory: never followed, never read.
    NotRegular,
    /// Another user owns it.
    Owner {
        /// Its owner.
        uid: u32,
    },
    /// Larger than the caller's cap.
    TooLarge {
        /// Its size.
        len: u64,
        /// The cap.
        max: u64,
    },
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "{e}"),
            FileError::NotRegular => f.write_str("not a regular file"),
            FileError::Owner { uid } => write!(f, "owned by another user (uid {uid})"),
            FileError::TooLarge { len, max } => {
                write!(f, "{len} bytes, more than the {max} accepted")
            }
        }
    }
}

/// A directory that passed the checks of this module.
#[derive(Debug, Clone)]
pub struct PrivateDir {
    path: PathBuf,
}

/// This process's effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

impl PrivateDir {
    /// Creates `path` (mode 0700, parents too) when missing, then checks it.
    pub fn create(path: &Path) -> Result<PrivateDir, DirError> {
        match fs::metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(path)
                    .map_err(DirError::Io)?;
            }
            Err(e) => return Err(DirError::Io(e)),
            Ok(_) => {}
        }
        Self::existing(path)
    }

    /// Checks an existing `path`; a missing one is `DirError::Io(NotFound)`.
    pub fn existing(path: &Path) -> Result<PrivateDir, DirError> {
        let meta = fs::metadata(path).map_err(DirError::Io)?;
        check(&meta)?;
        Ok(PrivateDir {
            path: path.to_path_buf(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name` inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The subdirectory `name`, created and checked like this one.
    pub fn subdir(&self, name: &str) -> Result<PrivateDir, DirError> {
        PrivateDir::create(&self.path.join(name))
    }

    /// A temporary name for `name` no other writer uses: a writer killed
    /// between its create and its rename (a core kills a notification
    /// command at its timeout) leaves a file that blocks nobody; the
    /// spool's and the state's pruning remove such leftovers.
    fn temp_path(&self, name: &str) -> PathBuf {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.path
            .join(format!("{TEMP_PREFIX}{name}-{}-{n}", std::process::id()))
    }

    /// Writes `bytes` as `name`, whole or not at all: temporary name,
    /// fsync, rename, directory fsync.
    pub fn write_atomically(&self, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        let tmp = self.temp_path(name);
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        if let Err(e) = result {
            // A full disk leaves a partial temporary file: take it away now.
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let to = self.path.join(name);
        if let Err(e) = fs::rename(&tmp, &to) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        self.sync()?;
        Ok(to)
    }

    /// Replaces `name` with `bytes` whole (temporary name, rename) but
    /// without fsync: for views that are only relearned when lost.
    pub fn replace_quickly(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.temp_path(name);
        let result = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .and_then(|mut f| f.write_all(bytes))
            .and_then(|()| fs::rename(&tmp, self.path.join(name)));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Makes renames and removals in it durable.
    pub fn sync(&self) -> io::Result<()> {
        File::open(&self.path)?.sync_all()
    }
}

/// Reads `path`, which must be a regular file of this user of at most
/// `max` bytes. Never follows a symlink, never blocks on a FIFO.
pub fn read_private_file(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW on a symlink.
            Some(libc::ELOOP) => FileError::NotRegular,
            _ => FileError::Io(e),
        })?;
    let meta = file.metadata().map_err(FileError::Io)?;
    if !meta.file_type().is_file() {
        return Err(FileError::NotRegular);
    }
    if meta.uid() != euid() {
        return Err(FileError::Owner { uid: meta.uid() });
    }
    if meta.len() > max {
        return Err(FileError::TooLarge {
            len: meta.len(),
            max,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // `take` also bounds a file that grows while it is read.
    Read::by_ref(&mut file)
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FileError::Io)?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge {
            len: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// Opens (creating, mode 0600) a lock file, never through a symlink.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// `flock(2)` on `file`: `Ok(true)` when taken, `Ok(false)` when another
/// open file holds it and `wait` is off.
pub fn flock(file: &File, wait: bool) -> io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    let op = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        // SAFETY: flock only reads the descriptor number; `file` keeps it
        // open for the duration of the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !wait => return Ok(false),
            _ => return Err(e),
        }
    }
}

fn check(meta: &fs::Metadata) -> Result<(), DirError> {
    if !meta.file_type().is_dir() {
        return Err(DirError::NotADirectory);
    }
    let me = euid();
    if meta.uid() != me {
        return Err(DirError::Owner {
            uid: meta.uid(),
            euid: me,
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(DirError::Writable { mode: mode & 0o777 });
    }
    Ok(())
}

/// Removes the temporary files in `dir` older than `age`: what writers
/// killed between their create and their rename left. Returns how many.
pub fn remove_stale_temps(dir: &Path, age: std::time::Duration) -> usize {
    let Ok(read) = fs::read_dir(dir) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for item in read.flatten() {
        if !item.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let old = item
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|a| a > age);
        if old && fs::remove_file(item.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "mn-private-{tag}-{}-{:?}",
            std::process::id(),
            std::time::Instant::now()
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn creates_0700_and_refuses_what_others_could_change() {
        let d = scratch("modes");
        let dir = PrivateDir::create(&d.join("a/b")).expect("create");
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o770)).unwrap();
        assert!(matches!(
            PrivateDir::existing(dir.path()),
            Err(DirError::Writable { mode: 0o770 })
        ));
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        assert!(PrivateDir::existing(dir.path()).is_ok(), "readable is fine");
        // A symlink an admin made is followed; its target is what is checked.
        std::os::unix::fs::symlink(dir.path(), d.join("link")).unwrap();
        assert!(PrivateDir::create(&d.join("link")).is_ok());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            PrivateDir::create(&d.join("link")),
            Err(DirError::Writable { mode: 0o777 })
        ));
        fs::write(d.join("file"), b"").unwrap();
        assert!(matches!(
            PrivateDir::create(&d.join("file")),
            Err(DirError::NotADirectory)
        ));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_writer_killed_mid_write_blocks_no_later_write() {
        let d = scratch("stale");
        let dir = PrivateDir::create(&d).unwrap();
        // What a writer killed between its create and its rename leaves
        // (a core kills a notification command at its timeout).
        fs::write(dir.join(&format!("{TEMP_PREFIX}k.rec")), b"half").unwrap();
        dir.write_atomically("k.rec", b"whole").unwrap();
        assert_eq!(fs::read(dir.join("k.rec")).unwrap(), b"whole");
        dir.write_atomically("k.rec", b"again").unwrap();
        dir.replace_quickly("k.rec", b"quick").unwrap();
        assert_eq!(fs::read(dir.join("k.rec")).unwrap(), b"quick");
        // No temporary file of ours is left behind.
        let temps: Vec<String> = fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(TEMP_PREFIX))
            .collect();
        assert_eq!(temps, [format!("{TEMP_PREFIX}k.rec")], "only the stale one");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn reads_only_regular_files_within_the_cap() {
        let d = scratch("files");
        let dir = PrivateDir::create(&d).unwrap();
        let ok = dir.write_atomically("ok.json", b"{}").unwrap();
        assert_eq!(read_private_file(&ok, 10).unwrap(), b"{}");
        assert!(matches!(
            read_private_file(&ok, 1),
            Err(FileError::TooLarge { len: 2, max: 1 })
        ));
        std::os::unix::fs::symlink("/etc/hostname", dir.join("link.json")).unwrap();
        assert!(matches!(
            read_private_file(&dir.join("link.json"), 1 << 20),
            Err(FileError::NotRegular)
        ));
        let fifo = dir.join("fifo.json");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Would block forever without O_NONBLOCK (no writer).
        assert!(matches!(
            read_private_file(&fifo, 1 << 20),
            Err(FileError::NotRegular)
        ));
        let _ = fs::remove_dir_all(&d);
    }
}
