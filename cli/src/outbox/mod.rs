//! Every alert either reaches Mattermost or is kept.
//!
//! [`deliver_or_spool`] is notify's path for a fresh alert; [`flush`] sends
//! what waits in the [`spool`] (`mattermost-notify flush`, and a bounded
//! share after each direct delivery).
//!
//! The rule is "deliver it or keep it": an alert leaves the process only as
//! a 2xx from the server, a complete spool entry, an entry in `failed/`
//! beside the server's refusal, or — when even the spool cannot take it — a
//! loud error line and an exit code of its own.
//!
//! | outcome | exit |
//! |---|---|
//! | delivered | 0 |
//! | refused for good (4xx), kept in `failed/` | 69 |
//! | not kept: the spool is at its bounds | 73 |
//! | not kept: the spool directory cannot be written | 74 |
//! | not confirmed in time, kept in the spool | 75 |

pub mod flush;
pub mod spool;

use crate::config::{key, Config};
use crate::error::Error;
use crate::outbox::flush::flush_spool;
use crate::outbox::spool::{Spool, StoreError, DEFAULT_DIR, DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES};
use crate::transport::retry::{
    send_with_retries, Clock, Jitter, OnRateLimit, Outcome, Post, RetryPolicy, SystemClock,
    DEFAULT_BUDGET_SECS,
};
use crate::transport::webhook::{SendError, DEFAULT_TIMEOUT};
use std::time::{Duration, Instant};

/// How many spooled alerts `notify` sends after a successful direct
/// delivery, if no flush is running. Small, so a notification command
/// stays short; the timer-driven `flush` does the rest.
pub const NOTIFY_FLUSH_LIMIT: usize = 10;

/// A budget above this leaves too little of the core's 30 s for the spool.
const BUDGET_WARN_ABOVE: Duration = Duration::from_secs(25);

/// The settings this module needs, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct Reliability {
    /// Total time for one alert's attempts (`MATTERMOST_RETRY_BUDGET`).
    pub budget: Duration,
    /// Upper bound for one attempt (`MATTERMOST_TIMEOUT`).
    pub attempt_timeout: Duration,
    /// Where alerts wait (`MATTERMOST_SPOOL_DIR` and its bounds).
    pub spool: Spool,
}

impl Reliability {
    /// Reads `MATTERMOST_RETRY_BUDGET`, `MATTERMOST_TIMEOUT`,
    /// `MATTERMOST_SPOOL_DIR`, `MATTERMOST_SPOOL_MAX_FILES` and
    /// `MATTERMOST_SPOOL_MAX_BYTES`.
    pub fn from_config(cfg: &Config) -> Result<Self, Error> {
        let budget = cfg.seconds(key::RETRY_BUDGET, Duration::from_secs(DEFAULT_BUDGET_SECS))?;
        if budget > BUDGET_WARN_ABOVE {
            log::warn!(
                "MATTERMOST_RETRY_BUDGET is {} s: monitoring cores kill notification commands \
                 after 30 s, which could lose an alert before it is spooled",
                budget.as_secs()
            );
        }
        Ok(Reliability {
            budget,
            attempt_timeout: cfg.seconds(key::TIMEOUT, DEFAULT_TIMEOUT)?,
            spool: Spool::new(
                cfg.get(key::SPOOL_DIR).unwrap_or(DEFAULT_DIR),
                cfg.u64(key::SPOOL_MAX_FILES, DEFAULT_MAX_FILES)?,
                cfg.u64(key::SPOOL_MAX_BYTES, DEFAULT_MAX_BYTES)?,
            ),
        })
    }

    fn policy(&self, budget: Duration, on_rate_limit: OnRateLimit) -> RetryPolicy {
        RetryPolicy {
            budget,
            max_attempt_timeout: self.attempt_timeout,
            on_rate_limit,
        }
    }
}

/// Sends a fresh alert (`what` names it in log lines) with retries; keeps
/// it in the spool if it is not confirmed within the budget, in `failed/`
/// if it is refused. After a direct delivery, sends up to
/// [`NOTIFY_FLUSH_LIMIT`] spooled alerts.
pub fn deliver_or_spool(
    poster: &dyn Post,
    rel: &Reliability,
    what: &str,
    payload: &[u8],
) -> Result<(), Error> {
    let clock = SystemClock;
    let jitter = Jitter::from_time_and_pid();
    let deadline = clock.now() + rel.budget;
    let policy = rel.policy(rel.budget, OnRateLimit::Wait);
    match send_with_retries(poster, &clock, &jitter, &policy, payload) {
        Outcome::Delivered { attempts } => {
            log::info!("delivered {what} after {attempts} attempt(s)");
            flush_after_delivery(poster, &clock, &jitter, rel, deadline);
            Ok(())
        }
        Outcome::NotConfirmed { attempts, last } => {
            keep_for_later(rel, what, payload, attempts, &last)
        }
        Outcome::Refused { answer } => {
            let why = format!("{} refused {what}: {answer}", poster.target());
            keep_refused(rel, &why, payload, &answer)
        }
    }
}

fn keep_for_later(
    rel: &Reliability,
    what: &str,
    payload: &[u8],
    attempts: u32,
    last: &SendError,
) -> Result<(), Error> {
    let why = format!(
        "{what} not confirmed within the {:.1} s retry budget after {attempts} attempt(s), \
         last: {last}",
        rel.budget.as_secs_f64()
    );
    match rel.spool.store(payload) {
        // `main` logs this error once: the one log line of a spooled alert.
        Ok(path) => Err(Error::Temporary(format!(
            "{why}; kept in the spool as {}; `mattermost-notify flush` will send it",
            path.display()
        ))),
        Err(e) => Err(not_kept(rel, &why, &e, payload)),
    }
}

fn keep_refused(
    rel: &Reliability,
    why: &str,
    payload: &[u8],
    answer: &SendError,
) -> Result<(), Error> {
    match rel.spool.store_failed(payload, &answer_text(answer)) {
        Ok(path) => Err(Error::Unavailable(format!(
            "{why}; kept with the answer as {} for an admin to fix and resend",
            path.display()
        ))),
        Err(e) => Err(not_kept(rel, why, &e, payload)),
    }
}

/// The last resort: the alert is neither delivered nor kept. The error
/// line carries the payload, so the core's log still holds the alert, and
/// the exit code says which bound or fault stopped us.
fn not_kept(rel: &Reliability, why: &str, e: &StoreError, payload: &[u8]) -> Error {
    let dir = rel.spool.dir().display();
    let payload = String::from_utf8_lossy(payload);
    match e {
        StoreError::Full { .. } => Error::SpoolFull(format!(
            "ALERT NOT KEPT: {why}, and the spool MATTERMOST_SPOOL_DIR={dir} is at its bounds \
             ({e}; raise MATTERMOST_SPOOL_MAX_FILES / MATTERMOST_SPOOL_MAX_BYTES or run \
             `mattermost-notify flush`); payload: {payload}"
        )),
        StoreError::Io(io) => Error::Io(format!(
            "ALERT NOT KEPT: {why}, and the spool MATTERMOST_SPOOL_DIR={dir} cannot be \
             written ({io}; --spool-dir); payload: {payload}"
        )),
    }
}

/// What an admin reads beside a refused alert in `failed/`. Never the URL.
pub fn answer_text(answer: &SendError) -> String {
    match answer {
        SendError::Permanent {
            status,
            id,
            message,
            body,
        } => format!("status: {status}\nid: {id}\nmessage: {message}\nbody:\n{body}\n"),
        other => format!("{}\n", other),
    }
}

/// The bounded flush after a direct delivery: only if a spool exists, has
/// entries, and nobody else is flushing; never changes the exit code.
fn flush_after_delivery(
    poster: &dyn Post,
    clock: &dyn Clock,
    jitter: &Jitter,
    rel: &Reliability,
    deadline: Instant,
) {
    if !rel.spool.dir().is_dir() || rel.spool.entries().map_or(true, |e| e.is_empty()) {
        return;
    }
    let lock = match rel.spool.lock(false) {
        Ok(Some(lock)) => lock,
        Ok(None) => return,
        Err(e) => {
            log::warn!("not flushing the spool: {e}");
            return;
        }
    };
    match flush_spool(
        poster,
        clock,
        jitter,
        rel,
        Some(NOTIFY_FLUSH_LIMIT),
        Some(deadline),
    ) {
        Ok(report) => log::info!("flushed after delivery: {report}"),
        Err(e) => log::warn!("flushing after delivery: {e}"),
    }
    drop(lock);
}
