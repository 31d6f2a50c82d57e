//! The node's view of Mattermost's rate limit, shared by every process.
//!
//! Mattermost's limiter (DESIGN §3, §12) counts requests per remote
//! address, so the hundreds of `notify` processes of a storm share one
//! bucket. Each answer says how much is left (`X-RateLimit-Remaining`) and
//! when it refills (`X-RateLimit-Reset`); a 429 says how long to wait
//! (`Retry-After`). Whatever one process learns it writes to `ratelimit`
//! in the state directory, replaced whole (temporary name, rename; no
//! fsync: a view lost in a crash is only relearned), so the next process
//! knows before it sends: a known-empty bucket means spool (or wait)
//! instead of sending into a 429.
//!
//! ```text
//! remaining=0
//! until_ms=1764284281500
//! ```

use super::StateDir;
use crate::private_dir::read_private_file;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const FILE: &str = "ratelimit";

/// Longest wait a view may ask for, whatever the server said: a view
/// older or larger than this is stale, not a reason to hold alerts back.
pub const MAX_VIEW_WAIT: Duration = Duration::from_secs(60);

/// What one answer said about the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateNote {
    /// `X-RateLimit-Remaining`, when sent (0 for a 429).
    pub remaining: Option<u64>,
    /// How long until the bucket refills: `Retry-After` of a 429, else
    /// `X-RateLimit-Reset`.
    pub reset: Option<Duration>,
}

/// Milliseconds since 1970.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl StateDir {
    /// Shares `note` with the other processes (best effort: a view that
    /// cannot be written is only not shared).
    pub fn learn_rate(&self, note: RateNote) {
        let (Some(remaining), Some(reset)) = (note.remaining, note.reset) else {
            return;
        };
        let reset = reset.min(MAX_VIEW_WAIT);
        let until = unix_ms().saturating_add(u64::try_from(reset.as_millis()).unwrap_or(0));
        let text = format!("remaining={remaining}\nuntil_ms={until}\n");
        if let Err(e) = self.root.replace_quickly(FILE, text.as_bytes()) {
            log::debug!("cannot share the rate limit view: {e}");
        }
    }

    /// How long to wait before the next request, when the last answer of
    /// any process said the bucket is empty; `None` when it is not known
    /// to be empty.
    pub fn rate_wait(&self) -> Option<Duration> {
        let bytes = read_private_file(&self.root.join(FILE), 256).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let (mut remaining, mut until) = (None, None);
        for line in text.lines() {
            match line.split_once('=') {
                Some(("remaining", v)) => remaining = v.parse::<u64>().ok(),
                Some(("until_ms", v)) => until = v.parse::<u64>().ok(),
                _ => {}
            }
        }
        let wait = Duration::from_millis(until?.saturating_sub(unix_ms()));
        (remaining? == 0 && !wait.is_zero()).then_some(wait.min(MAX_VIEW_WAIT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_bucket_is_seen_by_the_next_process_until_it_refills() {
        let d = super::super::scratch("rate");
        let a = StateDir::open(&d).unwrap();
        let b = StateDir::open(&d).unwrap();
        assert_eq!(b.rate_wait(), None, "nothing learned yet");
        a.learn_rate(RateNote {
            remaining: Some(7),
            reset: Some(Duration::from_secs(1)),
        });
        assert_eq!(b.rate_wait(), None, "tokens left");
        a.learn_rate(RateNote {
            remaining: Some(0),
            reset: Some(Duration::from_millis(300)),
        });
        let wait = b.rate_wait().expect("empty");
        assert!(wait <= Duration::from_millis(300), "{wait:?}");
        std::thread::sleep(Duration::from_millis(320));
        assert_eq!(b.rate_wait(), None, "refilled");
        // A server asking for a day is capped: the view never holds alerts back for long.
        a.learn_rate(RateNote {
            remaining: Some(0),
            reset: Some(Duration::from_secs(86_400)),
        });
        assert!(b.rate_wait().unwrap() <= MAX_VIEW_WAIT);
        let _ = std::fs::remove_dir_all(d);
    }
}
