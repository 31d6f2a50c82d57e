//! Buttons that were used: one empty file per used button,
//! `clicks/<expiry>-<signature>`, created exclusively so that of two
//! clicks at the same instant exactly one wins. The name is the decoded
//! signature written again in lowercase hex, so a signature re-encoded in
//! upper case is the same button. Marks go once their button has expired
//! (an expired button is refused anyway).

use super::{StateDir, CLICKS};
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Most used-button marks kept at once; beyond it clicks are refused (a
/// button that cannot be marked could be used twice).
pub const MAX_CLICKS: usize = 100_000;

/// How claiming a button ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This click is the first: the mark is made. Release it if the
    /// action then fails, so that the person can click again.
    First,
    /// The button was used before.
    AlreadyUsed,
}

impl StateDir {
    /// Marks the button signed `tag` (valid until `exp`) as used, unless
    /// it was. The caller bounds the number of marks ([`MAX_CLICKS`], with
    /// [`StateDir::prune_clicks`]).
    pub fn claim_click(&self, tag: &[u8; 32], exp: u64) -> io::Result<Claim> {
        let dir = self.area(CLICKS).map_err(super::dir_io)?;
        let path = dir.join(&mark_name(tag, exp));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(_) => {
                // The mark is its name: making the directory durable before
                // the action means a crash cannot forget it.
                dir.sync()?;
                Ok(Claim::First)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Claim::AlreadyUsed),
            Err(e) => Err(e),
        }
    }

    /// Removes the marks of buttons expired at `now` (unix seconds);
    /// returns how many are left.
    pub fn prune_clicks(&self, now: u64) -> usize {
        match self.area(CLICKS) {
            Ok(dir) => prune_expired(dir.path(), now),
            Err(_) => 0,
        }
    }

    /// Forgets a mark whose action failed.
    pub fn release_click(&self, tag: &[u8; 32], exp: u64) {
        let Ok(dir) = self.area(CLICKS) else { return };
        let path = dir.join(&mark_name(tag, exp));
        if let Err(e) = std::fs::remove_file(&path) {
            log::warn!("cannot remove used-button mark {}: {e}", path.display());
        }
    }

    pub(super) fn clicks_prune(&self, now: SystemTime) -> usize {
        let Ok(dir) = self.area(CLICKS) else {
            return 0;
        };
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let before = count(dir.path());
        let live = prune_expired(dir.path(), secs);
        before.saturating_sub(live)
    }
}

/// `<expiry, 20 digits>-<signature in lowercase hex>`.
fn mark_name(tag: &[u8; 32], exp: u64) -> String {
    let mut hex = [0u8; 64];
    let sig = mattermost_notify_core::hex::encode_lower(tag, &mut hex).unwrap_or_default();
    format!("{exp:020}-{sig}")
}

fn count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|r| r.count()).unwrap_or(0)
}

/// Removes marks whose expiry has passed; returns how many are left.
fn prune_expired(dir: &std::path::Path, now: u64) -> usize {
    let Ok(read) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut live = 0;
    for item in read.flatten() {
        let name = item.file_name();
        let exp = name
            .to_str()
            .and_then(|n| n.split('-').next())
            .and_then(|e| e.parse::<u64>().ok());
        match exp {
            Some(exp) if exp <= now => {
                let _ = std::fs::remove_file(item.path());
            }
            _ => live += 1,
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_button_is_claimed_once_until_released_and_expired_marks_go() {
        let d = super::super::scratch("clicks");
        let s = StateDir::open(&d).unwrap();
        let tag = [0xabu8; 32];
        assert_eq!(s.claim_click(&tag, 2000).unwrap(), Claim::First);
        assert_eq!(s.claim_click(&tag, 2000).unwrap(), Claim::AlreadyUsed);
        s.release_click(&tag, 2000);
        assert_eq!(s.claim_click(&tag, 2000).unwrap(), Claim::First);
        // Another button is independent; once both expired, their marks go.
        assert_eq!(s.claim_click(&[1u8; 32], 1500).unwrap(), Claim::First);
        assert_eq!(s.prune_clicks(1000), 2);
        let dir = s.area(CLICKS).unwrap();
        assert_eq!(count(dir.path()), 2);
        assert_eq!(prune_expired(dir.path(), 1600), 1);
        assert_eq!(prune_expired(dir.path(), 2000), 0);
        let _ = std::fs::remove_dir_all(d);
    }
}
