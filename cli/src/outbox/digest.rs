//! Digests: in a storm, one post for many alerts (DESIGN §12).
//!
//! No daemon. Each alert beyond the first `MATTERMOST_DIGEST_THRESHOLD` of
//! a `MATTERMOST_DIGEST_WINDOW` is written to the digest queue (the
//! spool's `digest/`, same atomic files and bounds) and its process tries
//! the node's digest lock without waiting:
//!
//! * a **follower** finds it taken and exits 0 at once: its alert is in the
//!   queue, and the leader, or the next process, or `flush`, sends it;
//! * the **leader** collects for the window, then sends the queue as
//!   digest posts, oldest first, [`DIGEST_MAX_ROWS`] rows or one
//!   [`DIGEST_BUF_LEN`] buffer at most each; entries leave the queue only
//!   when the post carrying them is confirmed. After letting the lock go
//!   it looks once more: an alert queued after its last look, whose
//!   process found the lock still taken, is sent by the leader taking the
//!   lock again (that process tried the lock after writing its entry, so
//!   the leader's look after releasing sees it).
//!
//! A leader killed at any moment loses nothing: its entries are still
//! queued. Nothing is sent twice, except when a request timed out after
//! the server had accepted it (or the leader died between the server's
//! answer and the removal): then the next leader sends those rows again.
//!
//! Per-problem order: an alert whose problem already waits in the queue
//! joins the queue (a RECOVERY never overtakes its PROBLEM in a digest),
//! and one whose problem waits in the spool stays behind it there.

use crate::ack_button::AckMode;
use crate::config::{key, Config};
use crate::error::Error;
use crate::outbox::ops::{Op, OpKind};
use crate::outbox::spool::{Entry, Spool};
use crate::outbox::{answer_text, Reliability};
use crate::state::{ProblemKey, ProblemLock, StateDir};
use crate::transport::retry::{
    send_with_retries, Clock, Jitter, OnRateLimit, Outcome, Post, SystemClock, MIN_ATTEMPT_TIMEOUT,
};
use mattermost_notify_core::ack::{is_problem_id, AckKind};
use mattermost_notify_core::digest_list::{write_list, ListItem};
use mattermost_notify_core::limits::{DIGEST_BUF_LEN, DIGEST_LIST_BUF_LEN, DIGEST_MAX_ROWS};
use mattermost_notify_core::render::digest::{
    headline_text, render_digest, DigestButtons, DigestItem, DigestPost,
};
use mattermost_notify_core::thread::is_mattermost_id;
use mattermost_notify_core::{Kind, Notification, NotificationType, RenderOptions, State};
use std::time::{Duration, Instant};

/// Default `MATTERMOST_DIGEST_WINDOW`: a few seconds, far below the 30 s a
/// core gives a notification command.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(3);

/// Default `MATTERMOST_DIGEST_THRESHOLD`.
pub const DEFAULT_THRESHOLD: u64 = 10;

/// A window longer than this would leave the leader too little of the
/// core's 30 s to send.
const MAX_WINDOW: Duration = Duration::from_secs(15);

/// How long the leader waits for a busy problem's lock to point its record
/// at the digest (API mode: the record names the problem's thread).
const POINT_LOCK_WAIT: Duration = Duration::from_secs(1);

/// Most one queue entry may be (a few names and one line of output).
const ITEM_MAX_BYTES: u64 = 8 * 1024;

/// `MATTERMOST_DIGEST`, `MATTERMOST_DIGEST_WINDOW`, `MATTERMOST_DIGEST_THRESHOLD`.
#[derive(Debug, Clone, Copy)]
pub struct DigestSettings {
    /// How long a leader collects.
    pub window: Duration,
    /// Alerts of a window that go out one by one.
    pub threshold: u64,
}

impl DigestSettings {
    /// `None` when `MATTERMOST_DIGEST=0`.
    pub fn from_config(cfg: &Config) -> Result<Option<DigestSettings>, Error> {
        if cfg.get(key::DIGEST).is_some() && !cfg.bool(key::DIGEST)? {
            return Ok(None);
        }
        let window = cfg.seconds(key::DIGEST_WINDOW, DEFAULT_WINDOW)?;
        if window > MAX_WINDOW {
            return Err(cfg.invalid(
                key::DIGEST_WINDOW,
                format!(
                    "{} s leaves the leader too little of the core's 30 s; at most {} s",
                    window.as_secs(),
                    MAX_WINDOW.as_secs()
                ),
            ));
        }
        Ok(Some(DigestSettings {
            window,
            threshold: cfg.u64(key::DIGEST_THRESHOLD, DEFAULT_THRESHOLD)?,
        }))
    }
}

/// What a digest looks like: the post's render options and the buttons' mode.
#[derive(Debug, Clone, Copy)]
pub struct DigestLook<'a> {
    /// Channel, username, icon, emoji, links, mention, source.
    pub opts: RenderOptions<'a>,
    /// Where buttons point, when two-way is on.
    pub ack: Option<&'a AckMode>,
    /// API mode: digests are REST posts, and a problem announced in one
    /// replies in the digest's thread from then on.
    pub rest: bool,
}

/// One alert waiting in the queue, as `key=value` lines (control
/// characters replaced; the output's first line only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueuedAlert {
    /// `host` or `service`.
    pub kind: String,
    /// `$NOTIFICATIONTYPE$`.
    pub notification_type: String,
    /// The state id.
    pub state: String,
    /// `$HOSTNAME$`.
    pub host: String,
    /// `$HOSTDISPLAYNAME$`.
    pub host_name: String,
    /// `$SERVICEDESC$`.
    pub service: String,
    /// `$SERVICEDISPLAYNAME$`.
    pub service_name: String,
    /// First line of the output.
    pub output: String,
    /// The problem id its button would carry (PROBLEM only).
    pub problem: String,
    /// `$TIMET$`.
    pub time: u64,
    /// API mode: the digest post whose thread the alert's problem lives
    /// in (it was announced there); empty for a new conversation.
    pub thread: String,
}

const FIELDS: [&str; 11] = [
    "kind",
    "type",
    "state",
    "host",
    "hostname",
    "service",
    "servicename",
    "output",
    "problem",
    "time",
    "thread",
];

impl QueuedAlert {
    fn values(&self) -> [String; 11] {
        [
            self.kind.clone(),
            self.notification_type.clone(),
            self.state.clone(),
            self.host.clone(),
            self.host_name.clone(),
            self.service.clone(),
            self.service_name.clone(),
            self.output.lines().next().unwrap_or("").to_string(),
            self.problem.clone(),
            self.time.to_string(),
            self.thread.clone(),
        ]
    }

    /// The entry's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut text = String::from("v=1\n");
        for (k, v) in FIELDS.iter().zip(self.values()) {
            let v: String = v
                .chars()
                .map(|c| if c.is_control() { '\u{fffd}' } else { c })
                .collect();
            text.push_str(&format!("{k}={v}\n"));
        }
        text.into_bytes()
    }

    /// Reads an entry; `None` when it is not one.
    pub fn decode(bytes: &[u8]) -> Option<QueuedAlert> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        (lines.next()? == "v=1").then_some(())?;
        let mut q = QueuedAlert::default();
        for line in lines {
            let (k, v) = line.split_once('=')?;
            let v = v.to_string();
            match k {
                "kind" => q.kind = v,
                "type" => q.notification_type = v,
                "state" => q.state = v,
                "host" => q.host = v,
                "hostname" => q.host_name = v,
                "service" => q.service = v,
                "servicename" => q.service_name = v,
                "output" => q.output = v,
                "problem" => q.problem = v,
                "time" => q.time = v.parse().ok()?,
                "thread" if v.is_empty() || is_mattermost_id(&v) => q.thread = v,
                "thread" => return None,
                _ => {}
            }
        }
        matches!(q.kind.as_str(), "host" | "service").then_some(q)
    }

    fn kind(&self) -> Kind {
        if self.kind == "host" {
            Kind::Host
        } else {
            Kind::Service
        }
    }

    /// The alert, borrowing these fields.
    pub fn notification(&self) -> Notification<'_> {
        let kind = self.kind();
        Notification {
            kind,
            notification_type: NotificationType::parse(&self.notification_type),
            state: State::from_id(kind, &self.state),
            host_uuid: &self.host,
            host_name: &self.host_name,
            host_address: "",
            service_uuid: &self.service,
            service_name: &self.service_name,
            output: &self.output,
            long_output: "",
            ack_author: "",
            ack_comment: "",
            event_time: self.time,
        }
    }

    /// Its host's or service's key.
    pub fn key(&self) -> ProblemKey {
        match self.kind() {
            Kind::Host => ProblemKey::host(&self.host),
            Kind::Service => ProblemKey::service(&self.host, &self.service),
        }
    }

    /// The signed list's item, when the row can be acknowledged.
    fn list_item(&self) -> Option<ListItem<'_>> {
        let n = self.notification();
        if n.notification_type != NotificationType::Problem || n.state.is_ok() {
            return None;
        }
        let item = ListItem {
            kind: match n.kind {
                Kind::Host => AckKind::Host,
                Kind::Service => AckKind::Service,
            },
            host: &self.host,
            service: if n.kind == Kind::Host {
                ""
            } else {
                &self.service
            },
            problem: &self.problem,
        };
        item.is_valid().then_some(item)
    }
}

/// Whether the fresh alert of `key` goes into a digest: its problem waits
/// in the queue already, or the window's count is past the threshold and
/// it would be a post of its own (`starts`; in API mode an alert that
/// replies in its problem's thread stays there); and its problem does not
/// wait in the spool (then it queues behind it there).
pub fn joins_digest(rel: &Reliability, d: &DigestSettings, key: &ProblemKey, starts: bool) -> bool {
    let Some(state) = rel.state.as_ref() else {
        return false;
    };
    let hex = key.hex();
    let waits_in = |spool: &Spool| {
        spool
            .entries()
            .is_ok_and(|e| e.iter().any(|e| e.key.as_deref() == Some(hex.as_str())))
    };
    // The spool is listed only when the alert would join a digest: a quiet
    // node's alert pays for one slot file and one missing directory.
    let over = state.count_into_window(d.window, d.threshold) && starts;
    (over || waits_in(&rel.spool.digest_queue())) && !waits_in(&rel.spool)
}

/// A fresh alert on its way into a digest.
#[derive(Debug)]
pub struct Fresh<'a> {
    /// The alert.
    pub alert: &'a QueuedAlert,
    /// Names it in log lines.
    pub what: &'a str,
    /// Its problem's lock, let go once it is queued (and left in place
    /// when it could not be: the caller sends the alert under it).
    pub lock: &'a mut Option<ProblemLock>,
    /// When its retry budget ends.
    pub deadline: Instant,
}

/// Queues the alert for a digest; then leads (collects for the window and
/// sends) or, when another process leads, returns at once. `Ok(true)` when
/// the alert is queued behind a leader or was sent, `Ok(false)` when it
/// could not be queued (the caller sends it on its own); an error (75)
/// when this leader could not get it confirmed: it stays queued.
pub fn queue_and_lead(
    poster: &dyn Post,
    rel: &Reliability,
    d: &DigestSettings,
    look: &DigestLook<'_>,
    fresh: Fresh<'_>,
) -> Result<bool, Error> {
    let Fresh {
        alert,
        what,
        lock,
        deadline,
    } = fresh;
    let Some(state) = rel.state.as_ref() else {
        return Ok(false);
    };
    let queue = rel.spool.digest_queue();
    let own = match queue.store(&alert.encode(), Some(&alert.key().hex())) {
        Ok(p) => p,
        Err(e) => {
            log::warn!("cannot queue {what} for a digest ({e}); sending it on its own");
            return Ok(false);
        }
    };
    // Only now may the problem's next alert decide: it finds this one
    // queued and queues behind it. The leader needs the lock free to
    // point the problem's record at its digest.
    drop(lock.take());
    let lock = match state.try_lead_digest() {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            log::info!("{what} queued for the digest another process is collecting");
            return Ok(true);
        }
        Err(e) => {
            log::warn!("cannot take the digest lock ({e}); {what} waits in the digest queue");
            return Ok(true);
        }
    };
    // The leader: collect, leaving time to send.
    let clock = SystemClock;
    let latest = deadline
        .checked_sub(MIN_ATTEMPT_TIMEOUT * 2)
        .unwrap_or(deadline);
    let collect_until = (clock.now() + d.window).min(latest);
    clock.sleep(collect_until.saturating_duration_since(clock.now()));
    let mut lock = Some(lock);
    loop {
        let report = send_queue(poster, &clock, rel, state, look, Some(deadline));
        log::info!("digest: {report}");
        drop(lock.take());
        let waiting = queue.entries().map(|e| !e.is_empty()).unwrap_or(false);
        if !waiting || report.stopped.is_some() {
            break;
        }
        match state.try_lead_digest() {
            Ok(Some(l)) => lock = Some(l),
            _ => break,
        }
    }
    if own.exists() {
        return Err(Error::Temporary(format!(
            "{what} not confirmed in a digest within the retry budget; kept in the digest \
             queue as {}; the next storm's leader or `mattermost-notify flush` sends it",
            own.display()
        )));
    }
    log::info!("delivered {what} in a digest");
    Ok(true)
}

/// What sending the queue did.
#[derive(Debug, Default)]
pub struct QueueReport {
    /// Digest posts confirmed.
    pub posts: usize,
    /// Alerts they carried.
    pub alerts: usize,
    /// Alerts refused for good (moved to `failed/`).
    pub refused: usize,
    /// Why it stopped early.
    pub stopped: Option<String>,
}

impl std::fmt::Display for QueueReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} alert(s) in {} post(s), {} refused",
            self.alerts, self.posts, self.refused
        )?;
        if let Some(why) = &self.stopped {
            write!(f, "; stopped: {why}")?;
        }
        Ok(())
    }
}

/// `flush`'s share: sends the digest queue unless a leader is at it.
pub fn flush_queue(
    poster: &dyn Post,
    rel: &Reliability,
    look: &DigestLook<'_>,
) -> Result<usize, Error> {
    let Some(state) = rel.state.as_ref() else {
        return Ok(0);
    };
    let queue = rel.spool.digest_queue();
    if queue.entries().map_or(true, |e| e.is_empty()) {
        return Ok(0);
    }
    match state.try_lead_digest() {
        Ok(Some(_lock)) => {
            let removed = queue.remove_stale_temps();
            if removed > 0 {
                log::warn!("removed {removed} stale temporary digest entries of killed writers");
            }
            let report = send_queue(poster, &SystemClock, rel, state, look, None);
            log::info!("flush: digest: {report}");
        }
        Ok(None) => log::info!("flush: a digest leader is sending the digest queue"),
        Err(e) => log::warn!("flush: cannot take the digest lock: {e}"),
    }
    Ok(queue.entries().map(|e| e.len()).unwrap_or(0))
}

/// Sends every queued alert, oldest first, as digest posts; stops at the
/// first post not confirmed, or at `deadline`.
fn send_queue(
    poster: &dyn Post,
    clock: &dyn Clock,
    rel: &Reliability,
    state: &StateDir,
    look: &DigestLook<'_>,
    deadline: Option<Instant>,
) -> QueueReport {
    let queue = rel.spool.digest_queue();
    let jitter = Jitter::from_time_and_pid();
    let mut report = QueueReport::default();
    let budget = || match deadline {
        Some(d) => rel.budget.min(d.saturating_duration_since(clock.now())),
        None => rel.budget,
    };
    'rounds: loop {
        let entries = queue.entries().unwrap_or_default();
        if entries.is_empty() {
            break;
        }
        let mut batch: Vec<(Entry, QueuedAlert)> = Vec::new();
        for entry in entries {
            let read = crate::private_dir::read_private_file(&entry.path, ITEM_MAX_BYTES);
            match read.ok().and_then(|b| QueuedAlert::decode(&b)) {
                Some(q) => batch.push((entry, q)),
                // Not ours (or gone meanwhile): never sent, moved aside.
                None => {
                    if queue
                        .move_to_failed(&entry, "not sent: not a digest entry\n")
                        .is_ok()
                    {
                        report.refused += 1;
                    }
                }
            }
        }
        // In API mode the alerts of problems announced in a digest go to
        // that digest's thread: groups of one thread each, sent in an
        // order that keeps every problem's alerts in arrival order.
        for group in by_thread(batch) {
            // A new conversation's digest (not a reply in a thread) is the
            // post its problems' records point at.
            let new_digest = group.first().is_some_and(|(_, q)| q.thread.is_empty());
            let chunks = plan_chunks(&group, look);
            let parts = chunks.len();
            for (i, (from, to)) in chunks.into_iter().enumerate() {
                // `flush` (no deadline) sends its first post anyway, to
                // re-check a view the server may no longer hold.
                let probe = deadline.is_none() && report.posts == 0;
                if let Some(wait) = state.rate_wait().filter(|_| !probe) {
                    if wait.saturating_add(MIN_ATTEMPT_TIMEOUT) <= budget() {
                        clock.sleep(wait);
                    }
                }
                let rows = group.get(from..to).unwrap_or_default();
                let rendered = render(rows, look, Some(state), i + 1, parts);
                let (Some((payload, id)), true) = (rendered, budget() >= MIN_ATTEMPT_TIMEOUT)
                else {
                    report.stopped = Some("out of time".into());
                    break 'rounds;
                };
                let policy = rel.policy(budget(), OnRateLimit::Wait);
                match send_with_retries(poster, clock, &jitter, &policy, &payload) {
                    Outcome::Delivered { .. } => {
                        // API mode: the digest is the thread its problems'
                        // later events reply in.
                        let root = poster.created().filter(|_| look.rest && new_digest);
                        // API mode needs the pointer (the problem's thread)
                        // and waits a little for a busy problem, within
                        // the budget; webhook mode only notes it.
                        let until = match look.rest {
                            true => clock.now() + POINT_LOCK_WAIT.min(budget()),
                            false => clock.now(),
                        };
                        for (entry, q) in rows {
                            if let (Some(id), Some(item)) = (&id, q.list_item()) {
                                let key = q.key();
                                state.point_to_digest(&key, item.problem, id, root.as_ref(), until);
                            }
                            let _ = queue.remove(entry);
                        }
                        let _ = queue.sync();
                        report.posts += 1;
                        report.alerts += rows.len();
                    }
                    Outcome::Refused { answer } => {
                        for (entry, _) in rows {
                            let _ = queue.move_to_failed(entry, &answer_text(&answer));
                        }
                        report.refused += rows.len();
                    }
                    Outcome::NotConfirmed { last, .. } => {
                        report.stopped = Some(last.to_string());
                        break 'rounds;
                    }
                }
            }
        }
    }
    report
}

/// The batch in groups of one thread each (`QueuedAlert::thread`), sent
/// in this order, each in arrival order. A row joins the last group of its
/// thread unless an earlier row of its host or service sits in a later
/// group: then it starts a new group at the end, so one problem's alerts
/// (which may carry different threads: a RECOVERY in the digest's thread,
/// the next PROBLEM a new conversation) never overtake each other.
fn by_thread(batch: Vec<(Entry, QueuedAlert)>) -> Vec<Vec<(Entry, QueuedAlert)>> {
    let mut groups: Vec<Vec<(Entry, QueuedAlert)>> = Vec::new();
    let mut last_of_key: std::collections::HashMap<ProblemKey, usize> = Default::default();
    for row in batch {
        let key = row.1.key();
        let floor = last_of_key.get(&key).copied().unwrap_or(0);
        let same = groups
            .iter()
            .rposition(|g| g.first().is_some_and(|(_, q)| q.thread == row.1.thread))
            .filter(|&i| i >= floor);
        let at = match same {
            Some(i) => i,
            None => {
                groups.push(Vec::new());
                groups.len() - 1
            }
        };
        if let Some(g) = groups.get_mut(at) {
            g.push(row);
        }
        last_of_key.insert(key, at);
    }
    groups
}

/// Splits `batch` into posts that fit: at most [`DIGEST_MAX_ROWS`] rows,
/// halved until the rendered post fits [`DIGEST_BUF_LEN`] (sized with the
/// longest headline a split gives, "part 99 of 99").
fn plan_chunks(batch: &[(Entry, QueuedAlert)], look: &DigestLook<'_>) -> Vec<(usize, usize)> {
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < batch.len() {
        let mut len = (batch.len() - start).min(DIGEST_MAX_ROWS);
        while len > 1 && render(&batch[start..start + len], look, None, 99, 99).is_none() {
            len /= 2;
        }
        chunks.push((start, start + len));
        start += len;
    }
    chunks
}

/// The payload of one post of `rows` with its buttons signed over the
/// rows' list, and the digest's id. With `keep`, the list is kept in the
/// state directory first (a click may come the moment it is posted); a
/// list that cannot be kept gives a post without buttons.
fn render(
    rows: &[(Entry, QueuedAlert)],
    look: &DigestLook<'_>,
    keep: Option<&StateDir>,
    part: usize,
    parts: usize,
) -> Option<(Vec<u8>, Option<String>)> {
    let mut list_items = Vec::new();
    let items: Vec<DigestItem<'_>> = rows
        .iter()
        .map(|(_, q)| DigestItem {
            n: q.notification(),
            list_index: q.list_item().map(|item| {
                list_items.push(item);
                list_items.len() - 1
            }),
        })
        .collect();
    let mut list = vec![0u8; DIGEST_LIST_BUF_LEN];
    let list_len = write_list(&list_items, &mut list).ok()?;
    let list = list.get(..list_len)?;
    // The id names the digest in its problems' records; its list is kept
    // for the buttons (a list that cannot be kept gives a post without).
    // (Webhook mode without buttons has no use for it.)
    let named = look.rest || look.ack.is_some();
    let id = (named && !list_items.is_empty()).then(|| crate::state::digests::digest_id(list));
    let buttons_on = match (keep, look.ack) {
        (_, None) => false,
        (None, Some(_)) => id.is_some(),
        (Some(state), Some(_)) => {
            id.is_some()
                && state
                    .keep_digest_list(list)
                    .map_err(|e| log::warn!("cannot keep a digest's list ({e}); no buttons"))
                    .is_ok()
        }
    };
    let mut headline = [0u8; 256];
    let n = headline_text(&items, look.opts.emoji, part, parts, &mut headline).ok()?;
    let headline = std::str::from_utf8(headline.get(..n)?).ok()?;
    let now = crate::notify::unix_now();
    let buttons = look
        .ack
        .zip(id.as_deref())
        .filter(|_| buttons_on)
        .and_then(|(mode, id)| crate::ack_button::for_digest(mode, headline, id, now));
    let pairs = buttons
        .as_ref()
        .map(|(all, one)| (all.pairs(), one.pairs()));
    let post = DigestPost {
        items: &items,
        part,
        parts,
        buttons: buttons
            .as_ref()
            .zip(pairs.as_ref())
            .map(|((all, _), (a, o))| DigestButtons {
                url: &all.url,
                all: a,
                one: o,
            }),
        rest: look.rest,
    };
    let mut buf = vec![0u8; DIGEST_BUF_LEN];
    let len = render_digest(&post, &look.opts, &mut buf).ok()?;
    buf.truncate(len);
    if look.rest {
        // API mode sends operations: the digest is a post of its own, or a
        // reply in the thread of the digest its problems were announced
        // in (found through a row's record when sent, like any reply).
        // The reply's root is looked up through one row's record when it
        // is sent: a row whose record leads to the thread now (another's
        // may have moved on to a newer problem).
        let mut in_thread = rows
            .iter()
            .filter(|(_, q)| !q.thread.is_empty() && is_problem_id(&q.problem));
        let leads_there = |q: &QueuedAlert| {
            keep.and_then(|s| s.root_of(&q.key(), &q.problem))
                .is_some_and(|(post, _)| post == q.thread)
        };
        let chosen = in_thread
            .clone()
            .find(|(_, q)| leads_there(q))
            .or_else(|| in_thread.next());
        let (kind, row) = match chosen {
            Some((_, q)) => (OpKind::Reply, q),
            None => (OpKind::Post, &rows.first()?.1),
        };
        let key = row.key().hex();
        let op = Op {
            kind,
            key: &key,
            problem: if kind == OpKind::Reply {
                &row.problem
            } else {
                ""
            },
            json: &buf,
        };
        return Some((op.encode(), id));
    }
    Some((buf, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(service: &str, thread: &str) -> QueuedAlert {
        QueuedAlert {
            kind: "service".into(),
            notification_type: "RECOVERY".into(),
            state: "0".into(),
            host: "web1".into(),
            service: service.into(),
            output: "OK\nsecond line".into(),
            problem: "4711".into(),
            time: 1_764_284_280,
            thread: thread.into(),
            ..QueuedAlert::default()
        }
    }

    #[test]
    fn entries_round_trip_with_their_thread_and_refuse_a_forged_one() {
        let q = queued("http", "8xq4w3k1ajgbmy5cuoxhw1by9r");
        let back = QueuedAlert::decode(&q.encode()).unwrap();
        assert_eq!(back.thread, q.thread);
        assert_eq!(back.output, "OK", "the first line only");
        // An entry of the version before threads.
        let old = b"v=1\nkind=host\ntype=PROBLEM\nstate=1\nhost=db2\ntime=5\n";
        assert_eq!(QueuedAlert::decode(old).unwrap().thread, "");
        // A thread that is not a post id never reaches a request path.
        let forged = String::from_utf8(q.encode())
            .unwrap()
            .replace("thread=8xq4w3k1ajgbmy5cuoxhw1by9r", "thread=../../x");
        assert_eq!(QueuedAlert::decode(forged.as_bytes()), None);
    }

    #[test]
    fn a_batch_splits_by_thread_in_order_of_arrival() {
        let entry = |n: &str| Entry {
            path: n.into(),
            name: n.into(),
            len: 0,
            key: None,
        };
        let batch = vec![
            (entry("1"), queued("a", "")),
            (entry("2"), queued("b", "digestone")),
            (entry("3"), queued("c", "")),
            (entry("4"), queued("d", "digesttwo")),
            (entry("5"), queued("e", "digestone")),
        ];
        let groups: Vec<Vec<String>> = by_thread(batch)
            .into_iter()
            .map(|g| g.into_iter().map(|(e, _)| e.name).collect())
            .collect();
        assert_eq!(groups, [vec!["1", "3"], vec!["2", "5"], vec!["4"]]);
    }

    #[test]
    fn one_services_alerts_keep_their_order_across_threads() {
        let entry = |n: &str| Entry {
            path: n.into(),
            name: n.into(),
            len: 0,
            key: None,
        };
        let names = |batch| -> Vec<Vec<String>> {
            by_thread(batch)
                .into_iter()
                .map(|g| g.into_iter().map(|(e, _)| e.name).collect())
                .collect()
        };
        // b's new PROBLEM; a's RECOVERY in its digest's thread; a's next
        // PROBLEM, a new conversation: it must not go out before the
        // RECOVERY.
        let batch = vec![
            (entry("1"), queued("b", "")),
            (entry("2"), queued("a", "digestone")),
            (entry("3"), queued("a", "")),
        ];
        assert_eq!(names(batch), [vec!["1"], vec!["2"], vec!["3"]]);
        // One problem: its `Now Critical` queued before it was pointed at
        // the digest (no thread), its RECOVERY after (the thread).
        let batch = vec![
            (entry("z"), queued("q", "digestone")),
            (entry("e2"), queued("p", "")),
            (entry("e3"), queued("p", "digestone")),
            (entry("z2"), queued("q", "digestone")),
        ];
        assert_eq!(names(batch), [vec!["z"], vec!["e2"], vec!["e3", "z2"]]);
    }
}
