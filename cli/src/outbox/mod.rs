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

pub mod digest;
pub mod flush;
pub mod ops;
pub mod spool;

use crate::config::{key, Config};
use crate::error::Error;
use crate::outbox::flush::{flush_spool, FlushScope};
use crate::outbox::spool::{Spool, SpoolError, DEFAULT_DIR, DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES};
use crate::state::problems::{made_up_problem_id, valid_problem_id, AlertEvent, Tracked};
use crate::state::{ProblemKey, ProblemLock, StateDir};
use crate::transport::retry::{
    send_with_retries, Clock, Jitter, OnRateLimit, Outcome, Post, RetryPolicy, SystemClock,
    DEFAULT_BUDGET_SECS,
};
use crate::transport::webhook::{SendError, DEFAULT_TIMEOUT};
use mattermost_notify_core::NotificationType;
use std::path::Path;
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
    /// The node's state (`MATTERMOST_STATE_DIR`), when it can be used.
    pub state: Option<StateDir>,
}

impl Reliability {
    /// Reads `MATTERMOST_RETRY_BUDGET`, `MATTERMOST_TIMEOUT`,
    /// `MATTERMOST_SPOOL_DIR`, `MATTERMOST_SPOOL_MAX_FILES` and
    /// `MATTERMOST_SPOOL_MAX_BYTES`; the state directory comes with
    /// [`Reliability::with_state`].
    pub fn from_config(cfg: &Config) -> Result<Self, Error> {
        let budget = cfg.seconds(key::RETRY_BUDGET, Duration::from_secs(DEFAULT_BUDGET_SECS))?;
        if budget > BUDGET_WARN_ABOVE {
            log::warn!(
                "MATTERMOST_RETRY_BUDGET is {} s: monitoring cores kill notification commands \
                 after 30 s, which could lose an alert before it is spooled",
                budget.as_secs()
            );
        }
        let spool_dir = cfg.get(key::SPOOL_DIR).unwrap_or(DEFAULT_DIR);
        Ok(Reliability {
            budget,
            attempt_timeout: cfg.seconds(key::TIMEOUT, DEFAULT_TIMEOUT)?,
            spool: Spool::new(
                spool_dir,
                cfg.u64(key::SPOOL_MAX_FILES, DEFAULT_MAX_FILES)?,
                cfg.u64(key::SPOOL_MAX_BYTES, DEFAULT_MAX_BYTES)?,
            ),
            state: None,
        })
    }

    /// Opens the node's state directory (`MATTERMOST_STATE_DIR`, else the
    /// spool directory). One that cannot be used is logged as an error
    /// naming its setting and left out: alerts still go, only untied to
    /// their problem.
    pub fn with_state(mut self, cfg: &Config) -> Self {
        match crate::state::open_from_config(cfg) {
            Ok(s) => self.state = Some(s),
            Err(e) => log::error!("{e}"),
        }
        self
    }

    fn policy(&self, budget: Duration, on_rate_limit: OnRateLimit) -> RetryPolicy {
        RetryPolicy {
            budget,
            max_attempt_timeout: self.attempt_timeout,
            on_rate_limit,
        }
    }
}

/// One fresh alert on its way.
#[derive(Debug, Clone, Copy)]
pub struct Alert<'a> {
    /// The payload JSON.
    pub payload: &'a [u8],
    /// Names it in log lines: `PROBLEM for web1/http (to https://host/hooks/***)`.
    pub what: &'a str,
    /// What a person must learn when it can be neither sent nor kept
    /// (state and output; never the payload, which holds the signed button).
    pub summary: &'a str,
    /// Its host or service.
    pub key: Option<ProblemKey>,
    /// The lock of its problem, when taken: alerts of one problem go out
    /// one at a time, in order.
    pub lock: Option<&'a ProblemLock>,
    /// When its retry budget ends (counted from the start of the process).
    pub deadline: Instant,
}

/// An alert's place in its problem's order, taken before it is rendered.
#[derive(Debug)]
pub struct AlertSlot {
    /// Its host or service.
    pub key: ProblemKey,
    /// Its problem's lock; `None` when another alert of the same problem
    /// held it for the whole budget, or there is no usable state directory.
    pub lock: Option<ProblemLock>,
    /// The id a button of this alert carries (PROBLEM posts only).
    pub problem_id: Option<String>,
    /// The problem's record before and after this alert (empty without
    /// the lock or a state directory).
    pub tracked: Tracked,
    /// When the alert's retry budget ends.
    pub deadline: Instant,
}

/// Takes the alert's problem lock (waiting, within the budget, for an
/// earlier alert of the same problem to be sent or kept), then updates the
/// problem's record — or, with `caller_writes` (API mode, which adds the
/// conversation to it), leaves writing it to the caller. Without a state
/// directory, a button still gets an id.
pub fn begin_alert(rel: &Reliability, ev: &AlertEvent<'_>, caller_writes: bool) -> AlertSlot {
    // An `Instant` that cannot hold the budget (never with a budget of at
    // most a day) means no time to try: the alert is kept at once.
    let now = Instant::now();
    let deadline = now.checked_add(rel.budget).unwrap_or(now);
    let key = ev.key();
    let fallback_id = || match ev.notification_type {
        NotificationType::Problem if !ev.state_ok => Some(
            valid_problem_id(ev.problem_id)
                .map(str::to_string)
                .unwrap_or_else(|| made_up_problem_id(ev.time)),
        ),
        _ => None,
    };
    let Some(state) = rel.state.as_ref() else {
        return AlertSlot {
            key,
            lock: None,
            problem_id: fallback_id(),
            tracked: Tracked::default(),
            deadline,
        };
    };
    let lock = match state.lock_problem(&key, deadline) {
        Ok(Some(lock)) => Some(lock),
        Ok(None) => {
            log::warn!(
                "an earlier alert of the same problem is still being sent after {} s; this \
                 one is queued behind it",
                rel.budget.as_secs()
            );
            None
        }
        Err(e) => {
            log::warn!("cannot lock the problem in {}: {e}", state.path().display());
            None
        }
    };
    let tracked = if lock.is_some() {
        state.track_event(ev, !caller_writes)
    } else {
        Tracked {
            problem_id: fallback_id(),
            ..Tracked::default()
        }
    };
    state.prune_if_due(std::time::SystemTime::now());
    AlertSlot {
        key,
        lock,
        problem_id: tracked.problem_id.clone(),
        tracked,
        deadline,
    }
}

/// Sends a fresh alert with retries, or keeps it; never lets it overtake
/// alerts already waiting.
///
/// * When the spool is empty and the alert holds its problem's lock, it
///   is sent at once; not confirmed within the budget, it is kept; refused,
///   it goes to `failed/`. After a direct delivery up to
///   [`NOTIFY_FLUSH_LIMIT`] spooled alerts are sent.
/// * When alerts are waiting (or the lock could not be had), it is stored
///   behind them and the process sends the spool in order, its own alert
///   included, as far as its budget allows.
pub fn deliver_or_spool(
    poster: &dyn Post,
    rel: &Reliability,
    alert: &Alert<'_>,
) -> Result<(), Error> {
    let clock = SystemClock;
    let jitter = Jitter::from_time_and_pid();
    let deadline = alert.deadline;
    let waiting = match rel.spool.entries() {
        Ok(e) => e.len(),
        Err(e @ SpoolError::Untrusted(_)) => {
            // Never read or write a spool others could have planted alerts
            // in; the alert can still go directly.
            log::error!(
                "the spool MATTERMOST_SPOOL_DIR={} is {e} (--spool-dir)",
                rel.spool.dir().display()
            );
            return send_directly(poster, rel, alert, deadline, Some(&e));
        }
        Err(e) => {
            log::warn!("cannot list the spool {}: {e}", rel.spool.dir().display());
            0
        }
    };
    // Without a usable state directory there is no lock to wait for.
    if waiting == 0 && (alert.lock.is_some() || rel.state.is_none()) {
        return send_directly(poster, rel, alert, deadline, None);
    }
    let key_hex = alert.key.map(|k| k.hex());
    let path = match rel.spool.store(alert.payload, key_hex.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            // A full or broken spool must not stop the attempt itself.
            log::warn!(
                "cannot queue {} behind the spool ({e}); sending it directly",
                alert.what
            );
            return send_directly(poster, rel, alert, deadline, None);
        }
    };
    let behind = if waiting == 0 {
        "another alert of the same problem that is still being sent".to_string()
    } else {
        format!("{waiting} waiting alert(s)")
    };
    log::info!(
        "{} queued behind {behind} as {}",
        alert.what,
        path.display()
    );
    drain_behind(poster, &clock, &jitter, rel, alert, &path, deadline)
}

/// Sends the spool in order until the alert at `path` is gone or the
/// deadline passes, taking the flush lock as soon as nobody else holds it.
fn drain_behind(
    poster: &dyn Post,
    clock: &dyn Clock,
    jitter: &Jitter,
    rel: &Reliability,
    alert: &Alert<'_>,
    path: &Path,
    deadline: Instant,
) -> Result<(), Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let refused_at = rel.spool.failed_dir().join(&name);
    let lock = match rel.spool.lock_until(deadline, &|| !path.exists()) {
        Ok(l) => l,
        Err(e) => {
            log::warn!("cannot lock the spool: {e}");
            None
        }
    };
    if let Some(lock) = lock {
        let scope = FlushScope {
            limit: None,
            deadline: Some(deadline),
            on_rate_limit: OnRateLimit::Wait,
            own_key: alert.key.map(|k| k.hex()),
        };
        match flush_spool(poster, clock, jitter, rel, &scope) {
            Ok(report) => log::info!("sent the spool in order: {report}"),
            Err(e) => log::warn!("sending the spool: {e}"),
        }
        drop(lock);
    }
    if path.exists() {
        return Err(Error::Temporary(format!(
            "{} not confirmed within the {:?} retry budget; kept in the spool as {} behind \
             the alerts before it; `mattermost-notify flush` will send it",
            alert.what,
            rel.budget,
            path.display()
        )));
    }
    if refused_at.exists() {
        return Err(Error::Unavailable(format!(
            "{} refused {}; kept with the answer as {} for an admin to fix and resend",
            poster.target(),
            alert.what,
            refused_at.display()
        )));
    }
    log::info!("delivered {} in order behind the spool", alert.what);
    Ok(())
}

/// Sends one alert's operations (API mode) in order, each as
/// [`deliver_or_spool`] sends a payload: once one is kept, the rest queue
/// behind it (and, the budget spent, stay there). The first error is
/// returned.
pub fn send_ops(
    poster: &dyn Post,
    rel: &Reliability,
    ops: &[Vec<u8>],
    alert: &Alert<'_>,
) -> Result<(), Error> {
    let mut first_error = None;
    for op in ops {
        let one = Alert {
            payload: op,
            ..*alert
        };
        if let Err(e) = deliver_or_spool(poster, rel, &one) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Sends `alert` now; keeps it when not confirmed, in `failed/` when
/// refused — unless `unusable_spool` says why the spool cannot be used.
fn send_directly(
    poster: &dyn Post,
    rel: &Reliability,
    alert: &Alert<'_>,
    deadline: Instant,
    unusable_spool: Option<&SpoolError>,
) -> Result<(), Error> {
    let clock = SystemClock;
    let jitter = Jitter::from_time_and_pid();
    let budget = deadline.saturating_duration_since(clock.now());
    let policy = rel.policy(budget, OnRateLimit::Wait);
    // Another process learned the bucket is empty: a request now would be
    // answered 429. Keep the alert at once; `flush` (and the next alert's
    // bounded flush) sends it as the server allows.
    let empty = rel.state.as_ref().and_then(|s| s.rate_wait());
    if let (None, Some(wait)) = (unusable_spool, empty) {
        let key_hex = alert.key.map(|k| k.hex());
        if let Ok(path) = rel.spool.store(alert.payload, key_hex.as_deref()) {
            return Err(Error::Temporary(format!(
                "{} kept in the spool as {} without sending: the server's rate limit is exhausted for {} ms more; `mattermost-notify flush` will send it",
                alert.what,
                path.display(),
                wait.as_millis()
            )));
        }
    }
    match send_with_retries(poster, &clock, &jitter, &policy, alert.payload) {
        Outcome::Delivered { attempts } => {
            log::info!("delivered {} after {attempts} attempt(s)", alert.what);
            if unusable_spool.is_none() {
                flush_after_delivery(poster, &clock, &jitter, rel, deadline);
            }
            Ok(())
        }
        Outcome::NotConfirmed { attempts, last } => {
            let why = match last {
                // Not a timeout: something other than Mattermost answered.
                SendError::NotMattermost { .. } => {
                    format!("{} not delivered: {last}", alert.what)
                }
                _ => format!(
                    "{} not confirmed within the {:?} retry budget after {attempts} \
                     attempt(s), last: {last}",
                    alert.what, rel.budget
                ),
            };
            if let Some(e) = unusable_spool {
                return Err(not_kept(rel, &why, e, alert));
            }
            let key_hex = alert.key.map(|k| k.hex());
            match rel.spool.store(alert.payload, key_hex.as_deref()) {
                // `main` logs this error once: the one log line of a spooled alert.
                Ok(path) => Err(Error::Temporary(format!(
                    "{why}; kept in the spool as {}; `mattermost-notify flush` will send it",
                    path.display()
                ))),
                Err(e) => Err(not_kept(rel, &why, &e, alert)),
            }
        }
        Outcome::Refused { answer } => {
            let why = format!("{} refused {}: {answer}", poster.target(), alert.what);
            if let Some(e) = unusable_spool {
                return Err(not_kept(rel, &why, e, alert));
            }
            match rel.spool.store_failed(alert.payload, &answer_text(&answer)) {
                Ok(path) => Err(Error::Unavailable(format!(
                    "{why}; kept with the answer as {} for an admin to fix and resend",
                    path.display()
                ))),
                Err(e) => Err(not_kept(rel, &why, &e, alert)),
            }
        }
    }
}

/// The last resort: the alert is neither delivered nor kept. The error
/// line says what the alert was (never the payload: it carries the signed
/// button), and the exit code which bound or fault stopped us.
fn not_kept(rel: &Reliability, why: &str, e: &SpoolError, alert: &Alert<'_>) -> Error {
    let dir = rel.spool.dir().display();
    let summary = alert.summary;
    match e {
        SpoolError::Full { .. } => Error::SpoolFull(format!(
            "ALERT NOT KEPT: {why}, and the spool MATTERMOST_SPOOL_DIR={dir} is at its bounds \
             ({e}; raise MATTERMOST_SPOOL_MAX_FILES / MATTERMOST_SPOOL_MAX_BYTES or run \
             `mattermost-notify flush`); the alert: {summary}"
        )),
        SpoolError::Untrusted(_) => Error::config(
            key::SPOOL_DIR,
            format!(
                "ALERT NOT KEPT: {why}, and the spool {dir} is {e} (--spool-dir); the alert: \
                 {summary}"
            ),
        ),
        SpoolError::Io(io) => Error::Io(format!(
            "ALERT NOT KEPT: {why}, and the spool MATTERMOST_SPOOL_DIR={dir} cannot be \
             written ({io}; --spool-dir); the alert: {summary}"
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

/// The bounded flush after a direct delivery: only if the spool has
/// entries and nobody else is flushing; never changes the exit code.
fn flush_after_delivery(
    poster: &dyn Post,
    clock: &dyn Clock,
    jitter: &Jitter,
    rel: &Reliability,
    deadline: Instant,
) {
    if rel.spool.entries().map_or(true, |e| e.is_empty()) {
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
    let scope = FlushScope {
        limit: Some(NOTIFY_FLUSH_LIMIT),
        deadline: Some(deadline),
        on_rate_limit: OnRateLimit::GiveUp,
        own_key: None,
    };
    match flush_spool(poster, clock, jitter, rel, &scope) {
        Ok(report) => log::info!("flushed after delivery: {report}"),
        Err(e) => log::warn!("flushing after delivery: {e}"),
    }
    drop(lock);
}
