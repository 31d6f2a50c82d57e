//! Getting every alert to Mattermost: [`deliver_or_spool`] for a fresh
//! alert (notify's path) and [`flush_spool`] for the ones waiting in the
//! spool (`mattermost-notify flush`, and a bounded share after each direct
//! delivery).
//!
//! The rule is "deliver it or keep it": an alert leaves the process only as
//! a 2xx from the server, a complete spool entry, an entry in `failed/`
//! beside the server's refusal, or — when even the spool cannot take it — a
//! loud error line carrying the payload and an exit code of its own.
//!
//! | outcome | exit |
//! |---|---|
//! | delivered | 0 |
//! | refused for good (4xx), kept in `failed/` | 69 |
//! | not kept: the spool is at its bounds | 73 |
//! | not kept: the spool directory cannot be written | 74 |
//! | not confirmed in time, kept in the spool | 75 |

use crate::config::{key, Config};
use crate::deliver::{Deliverer, SendError, DEFAULT_TIMEOUT};
use crate::error::Error;
use crate::retry::{
    send_with_retries, Clock, Jitter, OnRateLimit, Outcome, Post, RetryPolicy, SystemClock,
    DEFAULT_BUDGET_SECS, MIN_ATTEMPT_TIMEOUT,
};
use crate::spool::{Spool, StoreError, DEFAULT_DIR, DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES};
use argh::FromArgs;
use std::io;
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

/// What a flush did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FlushReport {
    /// Entries delivered and removed.
    pub sent: usize,
    /// Entries refused for good and moved to `failed/`.
    pub refused: usize,
    /// Entries still in the spool afterwards.
    pub left: usize,
    /// Why the flush stopped early, if it did.
    pub stopped: Option<String>,
}

impl std::fmt::Display for FlushReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sent, {} refused (moved to failed/), {} left",
            self.sent, self.refused, self.left
        )?;
        if let Some(why) = &self.stopped {
            write!(f, "; stopped: {why}")?;
        }
        Ok(())
    }
}

/// Sends spooled alerts oldest first, removing each only after a 2xx.
/// The caller holds the spool lock. Stops at the first 429, at the first
/// alert not confirmed within `budget`, after `limit` alerts, or at
/// `deadline`.
pub fn flush_spool(
    poster: &dyn Post,
    clock: &dyn Clock,
    jitter: &Jitter,
    rel: &Reliability,
    limit: Option<usize>,
    deadline: Option<Instant>,
) -> io::Result<FlushReport> {
    let spool = &rel.spool;
    let budget = rel.budget;
    let removed = spool.remove_stale_temps();
    if removed > 0 {
        log::warn!("removed {removed} stale temporary file(s) left by killed writers");
    }
    let entries = spool.entries()?;
    let mut report = FlushReport::default();
    let mut done = 0;
    for entry in &entries {
        if limit.is_some_and(|l| done >= l) {
            break;
        }
        let entry_budget = match deadline {
            Some(d) => budget.min(d.saturating_duration_since(clock.now())),
            None => budget,
        };
        if entry_budget < MIN_ATTEMPT_TIMEOUT {
            report.stopped = Some("out of time".into());
            break;
        }
        let payload = match std::fs::read(&entry.path) {
            Ok(p) => p,
            // Sent and removed by a flusher that did not hold the lock
            // before this listing; nothing to do.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let policy = rel.policy(entry_budget, OnRateLimit::GiveUp);
        done += 1;
        match send_with_retries(poster, clock, jitter, &policy, &payload) {
            Outcome::Delivered { .. } => {
                spool.remove(entry)?;
                report.sent += 1;
            }
            Outcome::Refused { answer } => {
                let to = spool.move_to_failed(entry, &answer_text(&answer))?;
                log::error!(
                    "spooled alert refused ({}); moved to {}",
                    answer,
                    to.display()
                );
                report.refused += 1;
            }
            Outcome::NotConfirmed { last, .. } => {
                report.stopped = Some(last.to_string());
                break;
            }
        }
    }
    if report.sent > 0 {
        spool.sync()?;
    }
    report.left = spool.entries()?.len();
    Ok(report)
}

/// Send spooled alerts to Mattermost, oldest first; run it from a timer.
/// Exit 0 when the spool is empty afterwards, 75 when alerts are left.
#[derive(FromArgs, Debug, Default)]
#[argh(subcommand, name = "flush")]
pub struct FlushArgs {
    /// spool directory (MATTERMOST_SPOOL_DIR; default /var/spool/mattermost-notify)
    #[argh(option)]
    pub spool_dir: Option<String>,
    /// seconds each alert may spend retrying (MATTERMOST_RETRY_BUDGET; default 20)
    #[argh(option)]
    pub retry_budget: Option<String>,
    /// incoming webhook URL (MATTERMOST_WEBHOOK_URL)
    #[argh(option)]
    pub webhook_url: Option<String>,
    /// send at most this many alerts (default: all)
    #[argh(option)]
    pub limit: Option<usize>,
}

/// Runs `flush`.
pub fn run(args: FlushArgs, mut cfg: Config) -> Result<(), Error> {
    cfg.set_flag(key::SPOOL_DIR, args.spool_dir);
    cfg.set_flag(key::RETRY_BUDGET, args.retry_budget);
    cfg.set_flag(key::WEBHOOK_URL, args.webhook_url);
    let rel = Reliability::from_config(&cfg)?;
    let dir = rel.spool.dir().display().to_string();
    let spool_error = |what: &str, e: io::Error| {
        Error::Io(format!(
            "{what} the spool MATTERMOST_SPOOL_DIR={dir}: {e} (--spool-dir)"
        ))
    };
    let waiting = rel.spool.entries().map_err(|e| spool_error("reading", e))?;
    if waiting.is_empty() {
        log::info!("flush: the spool {dir} is empty");
        return Ok(());
    }
    let deliverer = Deliverer::from_config(&cfg)?;
    let lock = rel
        .spool
        .lock(true)
        .map_err(|e| spool_error("locking", e))?;
    let report = flush_spool(
        &deliverer,
        &SystemClock,
        &Jitter::from_time_and_pid(),
        &rel,
        args.limit,
        None,
    )
    .map_err(|e| spool_error("flushing", e))?;
    drop(lock);
    if report.left == 0 {
        log::info!("flush: {report}");
        Ok(())
    } else {
        Err(Error::Temporary(format!(
            "flush: {report}; the rest waits for the next flush"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::path::PathBuf;

    /// A fake server: answers from a script, records bodies it accepted.
    struct Server {
        answers: RefCell<Vec<Result<(), SendError>>>,
        accepted: RefCell<Vec<Vec<u8>>>,
    }

    impl Server {
        fn new(mut answers: Vec<Result<(), SendError>>) -> Self {
            answers.reverse();
            Server {
                answers: RefCell::new(answers),
                accepted: RefCell::new(Vec::new()),
            }
        }
    }

    impl Post for Server {
        fn post(&self, body: &[u8], _timeout: Duration) -> Result<(), SendError> {
            let answer = self.answers.borrow_mut().pop().unwrap_or(Ok(()));
            if answer.is_ok() {
                self.accepted.borrow_mut().push(body.to_vec());
            }
            answer
        }
        fn target(&self) -> &str {
            "fake server"
        }
    }

    struct NoSleep(RefCell<Instant>);
    impl Clock for NoSleep {
        fn now(&self) -> Instant {
            *self.0.borrow()
        }
        fn sleep(&self, d: Duration) {
            *self.0.borrow_mut() += d;
        }
    }

    fn spool_with(tag: &str, n: usize) -> (PathBuf, Spool) {
        let dir = std::env::temp_dir().join(format!(
            "mn-flush-{tag}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::new(&dir, 1000, 1 << 20);
        for i in 0..n {
            spool
                .store(format!("{{\"n\":{i}}}").as_bytes())
                .expect("store");
        }
        (dir, spool)
    }

    fn flush(server: &Server, spool: &Spool, limit: Option<usize>) -> FlushReport {
        let clock = NoSleep(RefCell::new(Instant::now()));
        let rel = Reliability {
            budget: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(2),
            spool: spool.clone(),
        };
        flush_spool(server, &clock, &Jitter::with_seed(3), &rel, limit, None).expect("flush")
    }

    #[test]
    fn sends_oldest_first_and_removes_each() {
        let (dir, spool) = spool_with("order", 3);
        let server = Server::new(vec![]);
        let report = flush(&server, &spool, None);
        assert_eq!((report.sent, report.left), (3, 0));
        let bodies: Vec<String> = server
            .accepted
            .borrow()
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert_eq!(bodies, ["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn stops_at_rate_limit_and_keeps_the_rest() {
        let (dir, spool) = spool_with("429", 3);
        let server = Server::new(vec![
            Ok(()),
            Err(SendError::RateLimited {
                retry_after: Some(Duration::from_secs(1)),
                message: "limit exceeded".into(),
            }),
        ]);
        let report = flush(&server, &spool, None);
        assert_eq!((report.sent, report.left), (1, 2));
        assert!(report.stopped.is_some());
        let first_left = std::fs::read(&spool.entries().expect("list")[0].path).expect("read");
        assert_eq!(first_left, b"{\"n\":1}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn refused_entries_move_to_failed_and_the_rest_go_on() {
        let (dir, spool) = spool_with("refused", 2);
        let server = Server::new(vec![Err(SendError::Permanent {
            status: 400,
            id: "api.webhook.incoming.parse".into(),
            message: "Unable to parse incoming data".into(),
            body: "{\"id\":\"api.webhook.incoming.parse\"}".into(),
        })]);
        let report = flush(&server, &spool, None);
        assert_eq!((report.sent, report.refused, report.left), (1, 1, 0));
        let failed: Vec<String> = std::fs::read_dir(spool.failed_dir())
            .expect("failed/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(failed.len(), 2, "the alert and its answer: {failed:?}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn limit_bounds_the_work() {
        let (dir, spool) = spool_with("limit", 5);
        let report = flush(&Server::new(vec![]), &spool, Some(2));
        assert_eq!((report.sent, report.left), (2, 3));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn answer_text_has_status_id_and_body() {
        let t = answer_text(&SendError::Permanent {
            status: 403,
            id: "web.incoming_webhook.channel_locked.app_error".into(),
            message: "locked".into(),
            body: "{\"status_code\":403}".into(),
        });
        assert!(t.contains("status: 403"));
        assert!(t.contains("web.incoming_webhook.channel_locked.app_error"));
        assert!(t.contains("{\"status_code\":403}"));
    }
}
