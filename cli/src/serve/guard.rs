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
use crate::state::clicks::{Claim, ClickError};
use crate::state::{ProblemKey, StateDir};
use mattermost_notify_core::ack::AckKind;

/// A guard over the node's state directory.
#[derive(Debug)]
pub struct StateGuard {
    state: StateDir,
}

impl StateGuard {
    /// A guard keeping its marks in `state`.
    pub fn new(state: StateDir) -> StateGuard {
        StateGuard { state }
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
        match self
            .state
            .claim_click(&click.tag, click.ack.exp, unix_now())
        {
            Ok(Claim::First) => Ok(()),
            Ok(Claim::AlreadyUsed) => Err(Refusal::AlreadyUsed),
            Err(e @ (ClickError::Full | ClickError::Io(_))) => {
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
