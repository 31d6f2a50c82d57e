//! The on-disk [`ClickGuard`]: the node's state directory decides whether
//! a verified click may still be carried out. Its problem must be the one
//! `notify` last recorded for the host or service (not recovered, not
//! followed by a newer one), and the button must not have been used.
//!
//! A host or service with no record (state directory new or pruned, or
//! `notify` running on another node) is not refused: the signature and
//! the single-use mark still hold. A damaged record is logged and treated
//! the same way. A mark that cannot be written refuses the click: a button
//! that cannot be marked could be used twice.

use super::handler::{ClickGuard, Refusal, VerifiedClick};
use crate::state::clicks::{Claim, MAX_CLICKS};
use crate::state::{ProblemKey, StateDir};
use mattermost_notify_core::ack::AckKind;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often expired used-button marks are swept (and the marks counted
/// again): a sweep reads the whole directory, so not on every click.
pub const MARK_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// A guard over the node's state directory.
#[derive(Debug)]
pub struct StateGuard {
    state: StateDir,
    marks: Mutex<MarkCount>,
}

/// Unexpired marks as of the last sweep, plus the ones made since.
#[derive(Debug, Default)]
struct MarkCount {
    live: usize,
    swept: Option<Instant>,
}

impl StateGuard {
    /// A guard keeping its marks in `state`.
    pub fn new(state: StateDir) -> StateGuard {
        StateGuard {
            state,
            marks: Mutex::new(MarkCount::default()),
        }
    }

    /// Whether another mark may be made: sweeps expired marks once a
    /// [`MARK_SWEEP_INTERVAL`], or at once when the bound is reached.
    fn room_for_a_mark(&self) -> bool {
        let mut m = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        let due = m.swept.is_none_or(|t| t.elapsed() >= MARK_SWEEP_INTERVAL);
        if due || m.live >= MAX_CLICKS {
            m.live = self.state.prune_clicks(unix_now());
            m.swept = Some(Instant::now());
        }
        if m.live >= MAX_CLICKS {
            return false;
        }
        // Counted before the claim: a refused or failed claim over-counts
        // until the next sweep, never under-counts.
        m.live += 1;
        true
    }
}

fn key(click: &VerifiedClick<'_>) -> ProblemKey {
    match click.ack.kind {
        AckKind::Host => ProblemKey::host(click.ack.host),
        AckKind::Service => ProblemKey::service(click.ack.host, click.ack.service),
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ClickGuard for StateGuard {
    fn check(&self, click: &VerifiedClick<'_>) -> Result<(), Refusal> {
        match self.state.record(&key(click)) {
            Ok(Some(r)) if r.problem != click.ack.problem => Err(Refusal::NotCurrent),
            Ok(Some(r)) if !r.open => Err(Refusal::Recovered),
            // API mode: the thread is the root's; a copy or an older post
            // of the same problem does not act.
            Ok(Some(r)) if click.root_only && !r.post.is_empty() && r.post != click.post_id => {
                Err(Refusal::NotRoot)
            }
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                log::info!(
                    "serve: no problem record for this button's target in {}; \
                     not tied to a problem",
                    self.state.path().display()
                );
                Ok(())
            }
            Err(why) => {
                log::warn!("serve: problem record {why}; not tied to a problem");
                Ok(())
            }
        }
    }

    fn claim(&self, click: &VerifiedClick<'_>) -> Result<(), Refusal> {
        if !self.room_for_a_mark() {
            log::error!(
                "serve: {MAX_CLICKS} unexpired used-button marks in {}; refusing the click \
                 (a button that cannot be marked could be used twice)",
                self.state.path().display()
            );
            return Err(Refusal::NotRecorded);
        }
        match self.state.claim_click(&click.tag, click.ack.exp) {
            Ok(Claim::First) => Ok(()),
            Ok(Claim::AlreadyUsed) => Err(Refusal::AlreadyUsed),
            Err(e) => {
                log::error!(
                    "serve: cannot mark a used button in {}: {e}; refusing the click",
                    self.state.path().display()
                );
                Err(Refusal::NotRecorded)
            }
        }
    }

    fn release(&self, click: &VerifiedClick<'_>) {
        self.state.release_click(&click.tag, click.ack.exp);
    }

    fn describe(&self) -> String {
        format!("state directory {}", self.state.path().display())
    }

    fn digest_list(&self, id: &str) -> Result<Vec<u8>, String> {
        self.state.digest_list(id)
    }
}
