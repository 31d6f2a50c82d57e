//! `mattermost-notify flush`: sends spooled alerts oldest first, removing
//! each only after the server confirmed it.

use crate::config::key;
use crate::config::Config;
use crate::error::Error;
use crate::outbox::spool::{Entry, SpoolError};
use crate::outbox::{answer_text, Reliability};
use crate::private_dir::FileError;
use crate::transport::retry::{
    send_with_retries, Clock, Jitter, OnRateLimit, Outcome, Post, SystemClock, MIN_ATTEMPT_TIMEOUT,
};
use crate::transport::Transport;
use argh::FromArgs;
use std::collections::HashSet;
use std::io;
use std::time::Instant;

/// What a flush did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FlushReport {
    /// Entries delivered and removed.
    pub sent: usize,
    /// Entries refused for good (or not ours to send) and moved to `failed/`.
    pub refused: usize,
    /// Entries passed over because an alert of their problem was being
    /// sent by another process (they go after it, next time).
    pub deferred: usize,
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
        if self.deferred > 0 {
            write!(
                f,
                ", {} deferred behind alerts still being sent",
                self.deferred
            )?;
        }
        if let Some(why) = &self.stopped {
            write!(f, "; stopped: {why}")?;
        }
        Ok(())
    }
}

/// How far one flush goes.
#[derive(Debug, Clone)]
pub struct FlushScope {
    /// Send at most this many entries.
    pub limit: Option<usize>,
    /// Stop starting entries after this.
    pub deadline: Option<Instant>,
    /// A 429: stop (`flush`, the timer comes back) or wait as asked (a
    /// fresh alert draining the spool it queued behind).
    pub on_rate_limit: OnRateLimit,
    /// The caller's own problem key: its lock is the caller's, not a sign
    /// that another process is sending that problem.
    pub own_key: Option<String>,
}

impl FlushScope {
    /// Everything, stopping at the first 429 (`mattermost-notify flush`).
    pub fn all(limit: Option<usize>) -> FlushScope {
        FlushScope {
            limit,
            deadline: None,
            on_rate_limit: OnRateLimit::GiveUp,
            own_key: None,
        }
    }
}

/// Sends spooled alerts oldest first, removing each only after a 2xx; the
/// caller holds the spool lock. Entries that arrive while it runs are sent
/// too. An entry whose problem another process is sending right now waits
/// (with the rest of that problem's entries), so one problem's alerts never
/// overtake each other. Stops at the first alert not confirmed within the
/// budget (at the first 429 under [`OnRateLimit::GiveUp`]), after `limit`
/// entries, or at `deadline`.
pub fn flush_spool(
    poster: &dyn Post,
    clock: &dyn Clock,
    jitter: &Jitter,
    rel: &Reliability,
    scope: &FlushScope,
) -> Result<FlushReport, SpoolError> {
    let spool = &rel.spool;
    let budget = rel.budget;
    let removed = spool.remove_stale_temps();
    if removed > 0 {
        log::warn!("removed {removed} stale temporary file(s) left by killed writers");
    }
    let mut report = FlushReport::default();
    let mut done = 0;
    let mut seen_up_to: Option<String> = None;
    let mut deferred_keys: HashSet<String> = HashSet::new();
    'rounds: loop {
        let entries = spool.entries()?;
        let fresh: Vec<&Entry> = entries
            .iter()
            .filter(|e| seen_up_to.as_ref().is_none_or(|seen| e.name > *seen))
            .collect();
        if fresh.is_empty() {
            break;
        }
        for entry in fresh {
            seen_up_to = Some(entry.name.clone());
            if scope.limit.is_some_and(|l| done >= l) {
                break 'rounds;
            }
            let entry_budget = match scope.deadline {
                Some(d) => budget.min(d.saturating_duration_since(clock.now())),
                None => budget,
            };
            if entry_budget < MIN_ATTEMPT_TIMEOUT {
                report.stopped = Some("out of time".into());
                break 'rounds;
            }
            if let Some(k) = &entry.key {
                let busy = deferred_keys.contains(k)
                    || (scope.own_key.as_ref() != Some(k)
                        && rel.state.as_ref().is_some_and(|s| s.problem_busy(k)));
                if busy {
                    deferred_keys.insert(k.clone());
                    report.deferred += 1;
                    continue;
                }
            }
            let payload = match spool.read(entry) {
                Ok(p) => p,
                // Sent and removed by a flusher that did not hold the lock
                // before this listing; nothing to do.
                Err(FileError::Io(e)) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(FileError::Io(e)) => return Err(SpoolError::Io(e)),
                Err(why) => {
                    // Not something we wrote: never sent, moved aside.
                    let to = spool.move_to_failed(entry, &format!("not sent: {why}\n"))?;
                    log::error!(
                        "spool entry {} is {why}; not sent, moved to {}",
                        entry.name,
                        to.display()
                    );
                    report.refused += 1;
                    continue;
                }
            };
            // Drain at the rate the server allows: when any process learned
            // the bucket is empty, wait for it (within the budget) rather
            // than send into a 429. The first request of `flush` (no
            // deadline: the timer's run) goes anyway: it re-checks a view
            // the server may no longer hold (a huge wait asked long ago, a
            // limiter since switched off).
            let probe = scope.deadline.is_none() && done == 0;
            let view = rel.state.as_ref().filter(|_| !probe);
            if let Some(wait) = view.and_then(|s| s.rate_wait()) {
                if wait.saturating_add(MIN_ATTEMPT_TIMEOUT) > entry_budget {
                    report.stopped = Some("the server's rate limit is exhausted".into());
                    break 'rounds;
                }
                clock.sleep(wait);
            }
            let policy = rel.policy(entry_budget, scope.on_rate_limit);
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
                    break 'rounds;
                }
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
    /// the node's state directory (MATTERMOST_STATE_DIR; default: the spool directory)
    #[argh(option)]
    pub state_dir: Option<String>,
}

/// Runs `flush`.
pub fn run(args: FlushArgs, mut cfg: Config) -> Result<(), Error> {
    cfg.set_flag(key::SPOOL_DIR, args.spool_dir);
    cfg.set_flag(key::RETRY_BUDGET, args.retry_budget);
    cfg.set_flag(key::WEBHOOK_URL, args.webhook_url);
    cfg.set_flag(key::STATE_DIR, args.state_dir);
    let rel = Reliability::from_config(&cfg)?.with_state(&cfg);
    let dir = rel.spool.dir().display().to_string();
    let spool_error = |what: &str, e: SpoolError| match e {
        SpoolError::Untrusted(why) => Error::config(
            key::SPOOL_DIR,
            format!("the spool {dir} is not used: {why} (--spool-dir)"),
        ),
        other => Error::Io(format!(
            "{what} the spool MATTERMOST_SPOOL_DIR={dir}: {other} (--spool-dir)"
        )),
    };
    let waiting = rel.spool.entries().map_err(|e| spool_error("reading", e))?;
    let queued = rel.spool.digest_queue().entries().map_or(0, |e| e.len());
    if waiting.is_empty() && queued == 0 {
        log::info!("flush: the spool {dir} is empty");
        return Ok(());
    }
    let mut deliverer = Transport::from_config(&cfg, rel.state.clone())?;
    deliverer.share_rate_limit(rel.state.clone());
    let lock = rel
        .spool
        .lock(true)
        .map_err(|e| spool_error("locking", e))?;
    let report = flush_spool(
        &deliverer,
        &SystemClock,
        &Jitter::from_time_and_pid(),
        &rel,
        &FlushScope::all(args.limit),
    )
    .map_err(|e| spool_error("flushing", e))?;
    drop(lock);
    // The digest queue after the spool: a problem's spooled alerts are
    // older than its queued ones (a queued alert never goes around them).
    let decoration = crate::decoration::Decoration::resolve(&cfg);
    let look = crate::outbox::digest::DigestLook {
        opts: decoration.render_options(),
        ack: decoration.ack.as_ref(),
        rest: deliverer.is_api(),
    };
    let queued_left = crate::outbox::digest::flush_queue(&deliverer, &rel, &look)?;
    if queued_left > 0 {
        return Err(Error::Temporary(format!(
            "flush: {report}; {queued_left} alert(s) wait in the digest queue for the next flush"
        )));
    }
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
    use crate::outbox::spool::Spool;
    use crate::transport::webhook::SendError;
    use std::cell::RefCell;
    use std::path::PathBuf;
    use std::time::Duration;

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
                .store(format!("{{\"n\":{i}}}").as_bytes(), None)
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
            state: None,
        };
        flush_spool(
            server,
            &clock,
            &Jitter::with_seed(3),
            &rel,
            &FlushScope::all(limit),
        )
        .expect("flush")
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
