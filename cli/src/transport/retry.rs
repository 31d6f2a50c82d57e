//! Retries: one alert, as many attempts as fit in one time budget.
//!
//! Connection errors, timeouts, 5xx, 408 and 429 are worth another try;
//! every other 4xx is the server's final word, and so is a 2xx that is not
//! Mattermost's `ok` (see below). Between attempts we back off
//! exponentially with full jitter (a random wait between zero and the
//! exponential ceiling), so a storm of processes started in the same second
//! does not hit the server again in lockstep.
//!
//! A 429 waits as long as the server asked, but never less than the
//! ceiling a failed attempt draws its backoff from (plus jitter up to the
//! same again): a `Retry-After: 0` from a server that is rate limiting is
//! not an invitation to retry in a tight loop, which is what 500 processes
//! of a storm would otherwise do to it. A 429 that names no readable wait
//! waits [`RATE_LIMIT_DEFAULT_WAIT`] (or that floor, if longer).
//!
//! Everything — waits and each attempt's own timeout — fits inside one
//! budget, because the monitoring core kills a notification command after
//! 30 s and an alert half-written to the spool is worse than one never
//! sent. A wait is never shortened below what the server asked and never
//! runs past the budget: one that would leave less than
//! [`MIN_ATTEMPT_TIMEOUT`] for the attempt after it ends the loop at once,
//! and the caller keeps the alert. All time arithmetic saturates: a
//! `Retry-After` of 2^64−1 seconds or a budget of [`Duration::MAX`] is
//! just "longer than we have".
//!
//! A 2xx whose body is not `ok` (a login portal, a proxy's page, another
//! service's `{}`) is not retried: the same URL gives the same answer
//! within seconds, and if a rewriting proxy did pass the post on, each
//! retry would be a duplicate. It ends the loop as not confirmed, so the
//! alert is kept for `flush`, with a message that says what answered.
//!
//! The loop is written against two small traits, [`Post`] and [`Clock`], so
//! its decisions are unit-tested with a fake server and a fake clock.

use crate::transport::webhook::Deliverer;
use crate::transport::webhook::SendError;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Default total budget for one alert (`MATTERMOST_RETRY_BUDGET`), seconds.
/// Leaves 10 s of the core's 30 s for writing the spool and exiting.
pub const DEFAULT_BUDGET_SECS: u64 = 20;

/// A retry with less time than this left is not started: a shorter one
/// rarely survives a TLS handshake over a real network, and one that the
/// server accepts but we stop waiting for becomes a duplicate.
pub const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// First backoff ceiling; it doubles per attempt up to [`BACKOFF_CAP`].
pub const BACKOFF_BASE: Duration = Duration::from_millis(250);

/// Largest backoff ceiling.
pub const BACKOFF_CAP: Duration = Duration::from_secs(4);

/// Wait after a 429 that named no wait we can read (none, or garbage).
pub const RATE_LIMIT_DEFAULT_WAIT: Duration = Duration::from_secs(1);

/// One delivery attempt with a deadline; the real one is the HTTP deliverer.
pub trait Post {
    /// Posts `body` once, giving up after `timeout`.
    fn post(&self, body: &[u8], timeout: Duration) -> Result<(), SendError>;
    /// Where posts go, safe to log (the webhook URL with its secret hidden).
    fn target(&self) -> &str;
    /// The post (its id, and the channel's) the last successful `post`
    /// created, when the server says (API mode; a webhook answers `ok`).
    fn created(&self) -> Option<(String, String)> {
        None
    }
}

impl Post for Deliverer {
    fn post(&self, body: &[u8], timeout: Duration) -> Result<(), SendError> {
        self.post_within(body, Some(timeout)).map(|_status| ())
    }
    fn target(&self) -> &str {
        self.redacted_url()
    }
}

/// Time, swappable so tests never sleep.
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Instant;
    /// Waits `d`.
    fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A tiny xorshift64* generator for jitter. Not for secrets: it only needs
/// to make processes started together wait different times.
#[derive(Debug)]
pub struct Jitter(Cell<u64>);

impl Jitter {
    /// Seeded from the time and the process id, so concurrent processes differ.
    pub fn from_time_and_pid() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let pid = u64::from(std::process::id());
        Self::with_seed(nanos ^ pid.rotate_left(32) ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// A fixed seed (tests).
    pub fn with_seed(seed: u64) -> Self {
        // xorshift never leaves zero, so never start there.
        Jitter(Cell::new(if seed == 0 { 1 } else { seed }))
    }

    fn next_u64(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniformly random duration in `[0, max]`.
    pub fn up_to(&self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next_u64() % nanos.saturating_add(1))
    }
}

/// What to do when the server answers 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRateLimit {
    /// Wait as the server says and try again (a fresh alert).
    Wait,
    /// Stop at once (`flush`: the rest of the spool waits for the next run).
    GiveUp,
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total time for all attempts and waits.
    pub budget: Duration,
    /// Upper bound for one attempt.
    pub max_attempt_timeout: Duration,
    /// What a 429 means.
    pub on_rate_limit: OnRateLimit,
}

/// How the attempts ended.
#[derive(Debug)]
pub enum Outcome {
    /// The server answered 2xx.
    Delivered {
        /// Attempts made, the successful one included.
        attempts: u32,
    },
    /// No `ok` within the budget; the alert must be kept.
    NotConfirmed {
        /// Attempts made.
        attempts: u32,
        /// The last failure (a 429, a temporary error, or a 2xx that was
        /// not Mattermost's `ok`).
        last: SendError,
    },
    /// The server refused the alert for good (a 4xx other than 408/429).
    Refused {
        /// The refusal as the deliverer reported it.
        answer: SendError,
    },
}

/// Posts `body` until the server confirms it, refuses it for good, or the
/// budget runs out.
pub fn send_with_retries(
    poster: &dyn Post,
    clock: &dyn Clock,
    jitter: &Jitter,
    policy: &RetryPolicy,
    body: &[u8],
) -> Outcome {
    // Elapsed time against the budget, not a deadline `Instant`: adding a
    // budget to an `Instant` can overflow, a saturating subtraction cannot.
    let started = clock.now();
    let remaining = || {
        let spent = clock.now().saturating_duration_since(started);
        policy.budget.saturating_sub(spent)
    };
    let mut attempts: u32 = 0;
    loop {
        // Never beyond the budget: a retry is only started with at least
        // MIN_ATTEMPT_TIMEOUT left (below), the first gets what there is.
        let timeout = remaining().min(policy.max_attempt_timeout);
        attempts = attempts.saturating_add(1);
        let failure = match poster.post(body, timeout) {
            Ok(()) => return Outcome::Delivered { attempts },
            Err(e @ SendError::Permanent { .. }) => return Outcome::Refused { answer: e },
            Err(e @ SendError::NotMattermost { .. }) => {
                log::info!("attempt {attempts}: a 2xx that is not Mattermost's `ok`; not retried");
                return Outcome::NotConfirmed { attempts, last: e };
            }
            Err(e) => e,
        };
        let wait = match &failure {
            SendError::RateLimited { retry_after, .. } => {
                if policy.on_rate_limit == OnRateLimit::GiveUp {
                    log::info!("rate limited (429); stopping as asked");
                    return Outcome::NotConfirmed {
                        attempts,
                        last: failure,
                    };
                }
                rate_limit_wait(*retry_after, attempts, jitter)
            }
            _ => jitter.up_to(backoff_ceiling(attempts)),
        };
        // Waiting until the budget is spent and then not trying is pointless:
        // a wait longer than what is left (less one attempt) ends the loop now.
        if wait.saturating_add(MIN_ATTEMPT_TIMEOUT) > remaining() {
            log::info!("attempt {attempts} failed ({failure}); no time left in the retry budget");
            return Outcome::NotConfirmed {
                attempts,
                last: failure,
            };
        }
        log::info!(
            "attempt {attempts} failed ({failure}); retrying in {} ms",
            wait.as_millis()
        );
        clock.sleep(wait);
    }
}

/// The wait after the `attempts`-th answer was a 429: what the server asked
/// (or [`RATE_LIMIT_DEFAULT_WAIT`]), but at least the backoff ceiling a
/// failed attempt draws from, plus jitter up to that ceiling again.
fn rate_limit_wait(asked: Option<Duration>, attempts: u32, jitter: &Jitter) -> Duration {
    let ceiling = backoff_ceiling(attempts);
    let floor = ceiling.saturating_add(jitter.up_to(ceiling));
    asked.unwrap_or(RATE_LIMIT_DEFAULT_WAIT).max(floor)
}

/// The backoff ceiling after `attempts` failures: base · 2^(attempts−1), capped.
fn backoff_ceiling(attempts: u32) -> Duration {
    let shift = attempts.saturating_sub(1).min(16);
    BACKOFF_BASE.saturating_mul(1 << shift).min(BACKOFF_CAP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// An attempt cap shorter than the test budgets, as MATTERMOST_TIMEOUT would be.
    const MAX_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);

    /// A fake clock: `sleep` moves time forward instantly.
    struct FakeClock {
        now: Cell<Instant>,
        slept: RefCell<Vec<Duration>>,
    }

    impl FakeClock {
        fn new() -> Self {
            FakeClock {
                now: Cell::new(Instant::now()),
                slept: RefCell::new(Vec::new()),
            }
        }
        fn advance(&self, d: Duration) {
            self.now.set(self.now.get() + d);
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.now.get()
        }
        fn sleep(&self, d: Duration) {
            self.slept.borrow_mut().push(d);
            self.advance(d);
        }
    }

    /// A fake server answering from a script; each attempt takes `cost`
    /// (or the whole timeout, for a silent server) of fake time.
    struct Script<'a> {
        clock: &'a FakeClock,
        answers: RefCell<Vec<Result<(), SendError>>>,
        timeouts: RefCell<Vec<Duration>>,
        silent: bool,
    }

    impl<'a> Script<'a> {
        fn new(clock: &'a FakeClock, answers: Vec<Result<(), SendError>>) -> Self {
            Script {
                clock,
                answers: RefCell::new(answers.into_iter().rev().collect()),
                timeouts: RefCell::new(Vec::new()),
                silent: false,
            }
        }
    }

    impl Post for Script<'_> {
        fn post(&self, _body: &[u8], timeout: Duration) -> Result<(), SendError> {
            self.timeouts.borrow_mut().push(timeout);
            if self.silent {
                self.clock.advance(timeout);
                return Err(SendError::Temporary("timed out".into()));
            }
            self.clock.advance(Duration::from_millis(10));
            self.answers
                .borrow_mut()
                .pop()
                .unwrap_or(Err(SendError::Temporary("script ended".into())))
        }
        fn target(&self) -> &str {
            "script"
        }
    }

    fn temporary() -> Result<(), SendError> {
        Err(SendError::Temporary("HTTP 500".into()))
    }

    fn rate_limited(secs: Option<u64>) -> Result<(), SendError> {
        Err(SendError::RateLimited {
            retry_after: secs.map(Duration::from_secs),
            message: "limit exceeded".into(),
        })
    }

    fn refused(status: u16) -> Result<(), SendError> {
        Err(SendError::Permanent {
            status,
            id: "web.incoming_webhook.text.app_error".into(),
            message: "No text specified".into(),
            body: "{}".into(),
        })
    }

    fn run(
        script: &Script<'_>,
        clock: &FakeClock,
        budget: u64,
        on_rate_limit: OnRateLimit,
    ) -> Outcome {
        let policy = RetryPolicy {
            budget: Duration::from_secs(budget),
            max_attempt_timeout: MAX_ATTEMPT_TIMEOUT,
            on_rate_limit,
        };
        send_with_retries(script, clock, &Jitter::with_seed(7), &policy, b"{}")
    }

    #[test]
    fn first_success_is_one_attempt() {
        let clock = FakeClock::new();
        let s = Script::new(&clock, vec![Ok(())]);
        let out = run(&s, &clock, 20, OnRateLimit::Wait);
        assert!(matches!(out, Outcome::Delivered { attempts: 1 }));
        assert!(clock.slept.borrow().is_empty());
    }

    #[test]
    fn temporary_errors_are_retried_until_success() {
        let clock = FakeClock::new();
        let s = Script::new(&clock, vec![temporary(), temporary(), Ok(())]);
        let out = run(&s, &clock, 20, OnRateLimit::Wait);
        assert!(matches!(out, Outcome::Delivered { attempts: 3 }));
        assert_eq!(clock.slept.borrow().len(), 2);
    }

    #[test]
    fn permanent_refusal_is_not_retried() {
        let clock = FakeClock::new();
        let s = Script::new(&clock, vec![refused(400), Ok(())]);
        let out = run(&s, &clock, 20, OnRateLimit::Wait);
        assert!(matches!(
            out,
            Outcome::Refused {
                answer: SendError::Permanent { status: 400, .. }
            }
        ));
    }

    #[test]
    fn rate_limit_waits_at_least_retry_after() {
        let clock = FakeClock::new();
        let s = Script::new(&clock, vec![rate_limited(Some(3)), Ok(())]);
        let out = run(&s, &clock, 20, OnRateLimit::Wait);
        assert!(matches!(out, Outcome::Delivered { attempts: 2 }));
        assert_eq!(*clock.slept.borrow(), vec![Duration::from_secs(3)]);
    }

    #[test]
    fn rate_limit_longer_than_budget_gives_up_without_waiting() {
        let clock = FakeClock::new();
        let s = Script::new(&clock, vec![rate_limited(Some(60)), Ok(())]);
        let out = run(&s, &clock, 20, OnRateLimit::Wait);
        assert!(matches!(
            out,
            Outcome::NotConfirmed {
                attempts: 1,
                last: SendError::RateLimited { .. }
            }
        ));
        assert!(clock.slept.borrow().is_empty());
    }

    #[test]
    fn flush_policy_stops_at_first_rate_limit() {
        let clock = FakeClock::new();
        let s = Script::new(&clock, vec![rate_limited(Some(1)), Ok(())]);
        let out = run(&s, &clock, 20, OnRateLimit::GiveUp);
        assert!(matches!(out, Outcome::NotConfirmed { attempts: 1, .. }));
    }

    #[test]
    fn everything_fits_in_the_budget_even_with_a_silent_server() {
        let clock = FakeClock::new();
        let start = clock.now();
        let mut s = Script::new(&clock, vec![]);
        s.silent = true;
        let out = run(&s, &clock, 20, OnRateLimit::Wait);
        let Outcome::NotConfirmed { attempts, .. } = out else {
            panic!("expected NotConfirmed, got {out:?}");
        };
        assert!(attempts >= 2, "a silent server still gets a second try");
        assert!(clock.now() - start <= Duration::from_secs(20));
        assert!(s
            .timeouts
            .borrow()
            .iter()
            .all(|t| *t <= MAX_ATTEMPT_TIMEOUT && *t >= MIN_ATTEMPT_TIMEOUT));
    }

    /// The case with a fake clock: every 429 says `Retry-After: 0`.
    /// Each wait is at least the ceiling a failed attempt draws from, so
    /// the attempts in 3 s are those of exponential backoff, not a loop.
    #[test]
    fn zero_retry_after_backs_off_at_least_like_a_failure() {
        let clock = FakeClock::new();
        let s = Script::new(&clock, (0..1000).map(|_| rate_limited(Some(0))).collect());
        let out = run(&s, &clock, 3, OnRateLimit::Wait);
        let Outcome::NotConfirmed { attempts, .. } = out else {
            panic!("expected NotConfirmed, got {out:?}");
        };
        assert!((3..=4).contains(&attempts), "{attempts} attempts in 3 s");
        for (i, slept) in clock.slept.borrow().iter().enumerate() {
            let ceiling = backoff_ceiling(i as u32 + 1);
            assert!(
                *slept >= ceiling,
                "wait {i} was {slept:?}, below {ceiling:?}"
            );
            assert!(*slept <= ceiling * 2);
        }
    }

    #[test]
    fn huge_retry_after_ends_the_loop_without_overflow() {
        for asked in [Duration::from_secs(u64::MAX), Duration::MAX] {
            let clock = FakeClock::new();
            let s = Script::new(
                &clock,
                vec![Err(SendError::RateLimited {
                    retry_after: Some(asked),
                    message: "limit exceeded".into(),
                })],
            );
            let out = run(&s, &clock, 20, OnRateLimit::Wait);
            assert!(matches!(out, Outcome::NotConfirmed { attempts: 1, .. }));
            assert!(clock.slept.borrow().is_empty());
        }
    }

    #[test]
    fn a_budget_of_duration_max_does_not_overflow() {
        let clock = FakeClock::new();
        let s = Script::new(&clock, vec![temporary(), rate_limited(Some(2)), Ok(())]);
        let policy = RetryPolicy {
            budget: Duration::MAX,
            max_attempt_timeout: MAX_ATTEMPT_TIMEOUT,
            on_rate_limit: OnRateLimit::Wait,
        };
        let out = send_with_retries(&s, &clock, &Jitter::with_seed(1), &policy, b"{}");
        assert!(matches!(out, Outcome::Delivered { attempts: 3 }));
    }

    #[test]
    fn a_2xx_that_is_not_ok_is_kept_and_not_retried() {
        let clock = FakeClock::new();
        let wrong = Err(SendError::NotMattermost {
            status: 200,
            answered: "text/html, title \"Sign in\"".into(),
        });
        let s = Script::new(&clock, vec![wrong, Ok(())]);
        let out = run(&s, &clock, 20, OnRateLimit::Wait);
        assert!(matches!(
            out,
            Outcome::NotConfirmed {
                attempts: 1,
                last: SendError::NotMattermost { status: 200, .. }
            }
        ));
        assert!(clock.slept.borrow().is_empty());
    }

    /// One scripted answer for the property test.
    fn answer(kind: u8, secs: Option<u64>, nanos: u32) -> Result<(), SendError> {
        match kind % 4 {
            0 => Err(SendError::RateLimited {
                retry_after: secs.map(|s| Duration::new(s, nanos % 1_000_000_000)),
                message: "limit exceeded".into(),
            }),
            1 => temporary(),
            2 => Err(SendError::NotMattermost {
                status: 200,
                answered: "empty body".into(),
            }),
            _ => Ok(()),
        }
    }

    proptest::proptest! {
        /// Arbitrary server answers (any `Retry-After`, up to 2^64−1 s and
        /// beyond), budgets and attempt caps: no panic, no overflow, no
        /// wait past the budget, and no 429 wait shorter than what the
        /// server asked or than a failed attempt's backoff ceiling.
        #[test]
        fn waits_fit_the_budget_whatever_the_server_says(
            script in proptest::collection::vec(
                (proptest::prelude::any::<u8>(),
                 proptest::option::of(proptest::prelude::any::<u64>()),
                 proptest::prelude::any::<u32>()),
                0..40),
            budget_ms in 0u64..=u64::from(u32::MAX),
            cap_ms in 0u64..100_000,
            seed in proptest::prelude::any::<u64>(),
        ) {
            let clock = FakeClock::new();
            let start = clock.now();
            let answers: Vec<_> = script.iter().map(|&(k, s, n)| answer(k, s, n)).collect();
            let asked: Vec<Option<Duration>> = answers.iter().map(|a| match a {
                Err(SendError::RateLimited { retry_after, .. }) => Some(retry_after.unwrap_or(RATE_LIMIT_DEFAULT_WAIT)),
                _ => None,
            }).collect();
            let s = Script::new(&clock, answers);
            let policy = RetryPolicy {
                budget: Duration::from_millis(budget_ms),
                max_attempt_timeout: Duration::from_millis(cap_ms),
                on_rate_limit: OnRateLimit::Wait,
            };
            let _ = send_with_retries(&s, &clock, &Jitter::with_seed(seed), &policy, b"{}");
            let slept: Duration = clock.slept.borrow().iter().sum();
            proptest::prop_assert!(slept <= policy.budget);
            // Each attempt costs the fake server 10 ms; only the waits and
            // the attempts started with time left count against the budget.
            let attempts = s.timeouts.borrow().len() as u32;
            proptest::prop_assert!(clock.now() - start <= policy.budget + Duration::from_millis(10) * attempts);
            for (i, wait) in clock.slept.borrow().iter().enumerate() {
                if let Some(Some(asked)) = asked.get(i) {
                    proptest::prop_assert!(wait >= asked);
                    proptest::prop_assert!(*wait >= backoff_ceiling(i as u32 + 1));
                }
            }
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ceiling(1), BACKOFF_BASE);
        assert_eq!(backoff_ceiling(2), BACKOFF_BASE * 2);
        assert_eq!(backoff_ceiling(40), BACKOFF_CAP);
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let j = Jitter::with_seed(42);
        let max = Duration::from_millis(500);
        let draws: Vec<Duration> = (0..1000).map(|_| j.up_to(max)).collect();
        assert!(draws.iter().all(|d| *d <= max));
        let distinct: std::collections::BTreeSet<_> = draws.iter().collect();
        assert!(distinct.len() > 900);
        assert_eq!(j.up_to(Duration::ZERO), Duration::ZERO);
    }
}
