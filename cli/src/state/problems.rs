//! Which problem is current for a host or service on this node.
//!
//! Nagios and Naemon number every problem (`$SERVICEPROBLEMID$`, kept
//! from the first non-OK state until the recovery, whose notification
//! carries it as `$LASTSERVICEPROBLEMID$`). `notify` records the current
//! one per host or service, so that `serve` can refuse a button posted for
//! a problem that has since recovered or been followed by a new one. A
//! core without ids (Icinga 2) gets an id made up at the first PROBLEM and
//! kept until a RECOVERY closes it.
//!
//! A record is a few `key=value` lines, replaced atomically. Host and
//! service are in it for an admin reading the file; the file name is the
//! [`ProblemKey`].
//!
//! In API mode the record also holds the problem's conversation: its root
//! post and channel (written when the root is confirmed, which may be by a
//! later `flush`), the state and output the root shows, who acknowledged
//! and when, the downtime and flapping, and the previous problem's root,
//! so operations still spooled for it find their thread after a new
//! problem took its place. Format version 2 adds these lines; version 1
//! records are read as version 2 records without a conversation.

use super::{prune_older, ProblemKey, StateDir, MAX_RECORDS, PROBLEMS};
use super::{RECORD_MAX_BYTES, STALE_RETENTION};
use crate::private_dir::{read_private_file, FileError, PrivateDir};
use mattermost_notify_core::{Kind, NotificationType};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Format version of a record file.
const RECORD_VERSION: &str = "2";

/// The version before the conversation lines; still read.
const RECORD_VERSION_1: &str = "1";

/// Most characters of the plugin output a record keeps (its first line:
/// what a root post edited by `serve` shows).
pub const RECORD_OUTPUT_MAX: usize = 1024;

/// One host's or service's current (or last) problem.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProblemRecord {
    /// The problem id (the core's, or one made up for cores without ids).
    pub problem: String,
    /// Whether no RECOVERY has closed it yet.
    pub open: bool,
    /// When this node first saw it (unix seconds).
    pub since: u64,
    /// When it was closed (unix seconds); 0 while open.
    pub closed_at: u64,
    /// `host` or `service`.
    pub kind: String,
    /// `$HOSTNAME$`, for people reading the file.
    pub host: String,
    /// `$SERVICEDESC$`, for people reading the file.
    pub service: String,
    /// API mode: the id of the problem's root post; empty until confirmed.
    pub post: String,
    /// API mode: the channel of the root post.
    pub channel: String,
    /// The state id the root shows (`$SERVICESTATEID$`).
    pub last_state: String,
    /// The first line of the output the root shows.
    pub output: String,
    /// `$HOSTDISPLAYNAME$`.
    pub host_name: String,
    /// `$SERVICEDISPLAYNAME$`.
    pub service_name: String,
    /// `$HOSTADDRESS$`.
    pub address: String,
    /// When the latest event of the problem happened (unix seconds).
    pub event: u64,
    /// Who acknowledged it; empty when nobody did.
    pub ack_by: String,
    /// When (unix seconds).
    pub ack_at: u64,
    /// The acknowledgement's comment.
    pub ack_comment: String,
    /// When its downtime started; 0 when not in downtime.
    pub downtime_since: u64,
    /// When its downtime ends, when known.
    pub downtime_until: u64,
    /// Who scheduled the downtime.
    pub downtime_by: String,
    /// Whether it is flapping.
    pub flapping: bool,
    /// The problem this one replaced, whose operations may still wait.
    pub prev_problem: String,
    /// That problem's root post.
    pub prev_post: String,
    /// That root's channel.
    pub prev_channel: String,
    /// The digest the problem was first announced in (`digest-<hex>`);
    /// empty when it had a post of its own.
    pub digest: String,
}

/// What [`StateDir::track_event`] found and made of a record.
#[derive(Debug, Clone, Default)]
pub struct Tracked {
    /// The id a button of this alert carries (PROBLEM posts only).
    pub problem_id: Option<String>,
    /// The record before this alert (`None`: none, or damaged).
    pub before: Option<ProblemRecord>,
    /// The record after it (unchanged: the same as `before`).
    pub after: Option<ProblemRecord>,
    /// Whether `after` differs from what is on disk (left unwritten when
    /// the caller writes).
    pub changed: bool,
    /// Why a record that should be there was not usable (for a log line).
    pub lost: Option<String>,
}

/// What `notify` knows of one alert, for the record.
#[derive(Debug, Clone, Copy)]
pub struct AlertEvent<'a> {
    /// Host or service.
    pub kind: Kind,
    /// `$HOSTNAME$`.
    pub host: &'a str,
    /// `$SERVICEDESC$` (empty for hosts).
    pub service: &'a str,
    /// `$NOTIFICATIONTYPE$`.
    pub notification_type: NotificationType<'a>,
    /// Whether the state is UP/OK.
    pub state_ok: bool,
    /// `$HOSTPROBLEMID$` / `$SERVICEPROBLEMID$`, as given.
    pub problem_id: &'a str,
    /// `$LASTHOSTPROBLEMID$` / `$LASTSERVICEPROBLEMID$`, as given.
    pub last_problem_id: &'a str,
    /// When the core saw the event (unix seconds).
    pub time: u64,
}

impl AlertEvent<'_> {
    /// The key of the host or service.
    pub fn key(&self) -> ProblemKey {
        match self.kind {
            Kind::Host => ProblemKey::host(self.host),
            Kind::Service => ProblemKey::service(self.host, self.service),
        }
    }
}

/// A usable problem id: what a button can carry
/// ([`mattermost_notify_core::ack::is_problem_id`]), and not `0` (the
/// cores' "no problem").
pub fn valid_problem_id(id: &str) -> Option<&str> {
    let id = id.trim();
    (id != "0" && mattermost_notify_core::ack::is_problem_id(id)).then_some(id)
}

/// An id for a problem of a core that gives none: unique per process and
/// second, and recognisably ours.
pub fn made_up_problem_id(time: u64) -> String {
    format!("auto-{time}-{}", std::process::id())
}

impl StateDir {
    fn record_path(&self, key: &ProblemKey) -> Option<std::path::PathBuf> {
        self.area(PROBLEMS)
            .ok()
            .map(|d| d.join(&format!("{}.rec", key.hex())))
    }

    /// The record of `key`: `Ok(None)` when there is none, `Err` (with a
    /// reason for the log) when it is damaged or cannot be read.
    pub fn record(&self, key: &ProblemKey) -> Result<Option<ProblemRecord>, String> {
        let path = self
            .record_path(key)
            .ok_or_else(|| format!("{}: cannot open {PROBLEMS}/", self.path().display()))?;
        match read_private_file(&path, RECORD_MAX_BYTES) {
            Ok(bytes) => parse_record(&bytes)
                .map(Some)
                .ok_or_else(|| format!("{} is damaged", path.display())),
            Err(FileError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    pub(super) fn write_record(&self, key: &ProblemKey, r: &ProblemRecord) -> std::io::Result<()> {
        let dir = self.area(PROBLEMS).map_err(super::dir_io)?;
        dir.write_atomically(&format!("{}.rec", key.hex()), format_record(r).as_bytes())
            .map(|_| ())
    }

    /// Updates the record for `ev` (the caller holds the problem's lock) and
    /// returns the problem id a button of this alert carries: for a
    /// PROBLEM in a non-OK state, the current problem's id; else `None`.
    /// Never fails: a damaged or unwritable record is logged and the alert
    /// goes on.
    #[cfg(test)]
    pub fn track(&self, ev: &AlertEvent<'_>) -> Option<String> {
        self.track_event(ev, true).problem_id
    }

    /// [`StateDir::track`], also returning the record before and after;
    /// without `write`, a changed record is left for the caller to write
    /// ([`Tracked::changed`]).
    pub fn track_event(&self, ev: &AlertEvent<'_>, write: bool) -> Tracked {
        let key = ev.key();
        let (old, lost) = match self.record(&key) {
            Ok(r) => (r, None),
            Err(why) => {
                log::warn!("problem record {why}; starting a new one");
                (None, Some(why))
            }
        };
        let (new, id) = next_record(old.as_ref(), ev);
        if let Some(rec) = new.as_ref().filter(|_| write) {
            if let Err(e) = self.write_record(&key, rec) {
                log::warn!(
                    "cannot write the problem record in {} ({e}); buttons of this problem \
                     are not tied to it",
                    self.path().display()
                );
            }
        }
        Tracked {
            problem_id: id,
            changed: new.is_some(),
            after: new.or_else(|| old.clone()),
            before: old,
            lost,
        }
    }

    /// Replaces the record of `key` (the caller holds the problem's lock).
    pub fn save_record(&self, key: &ProblemKey, r: &ProblemRecord) -> std::io::Result<()> {
        self.write_record(key, r)
    }

    /// Notes that the root post of `problem` of `key` is `post` in
    /// `channel`: on the record when it is still that problem's, else as
    /// the previous problem's. Logged, never fatal, when neither fits.
    pub fn set_root(&self, key: &ProblemKey, problem: &str, post: &str, channel: &str) {
        let mut r = match self.record(key) {
            Ok(Some(r)) => r,
            Ok(None) | Err(_) => {
                log::warn!(
                    "the root post {post} of problem {problem} has no problem record in {} to \
                     be kept in; later events of it start a new root",
                    self.path().display()
                );
                return;
            }
        };
        if r.problem == problem {
            r.post = post.into();
            r.channel = channel.into();
        } else if r.prev_problem == problem {
            r.prev_post = post.into();
            r.prev_channel = channel.into();
        } else {
            log::warn!("the root post {post} of problem {problem} is no longer the current one");
            return;
        }
        // Without fsync (0.28 ms of an API root post, PERFORMANCE.md item
        // 12): the record itself was made durable before the root was sent;
        // a power loss can cost only this id, and then the problem's next
        // event starts a new root (logged), never a lost alert.
        let written = self.area(PROBLEMS).map_err(super::dir_io).and_then(|dir| {
            dir.replace_quickly(&format!("{}.rec", key.hex()), format_record(&r).as_bytes())
        });
        if let Err(e) = written {
            log::warn!(
                "cannot keep the root post {post} in {}: {e}",
                self.path().display()
            );
        }
    }

    /// The root post and channel of `problem` of `key`, when known.
    pub fn root_of(&self, key: &ProblemKey, problem: &str) -> Option<(String, String)> {
        let r = self.record(key).ok().flatten()?;
        if r.problem == problem && !r.post.is_empty() {
            Some((r.post, r.channel))
        } else if r.prev_problem == problem && !r.prev_post.is_empty() {
            Some((r.prev_post, r.prev_channel))
        } else {
            None
        }
    }
}

/// The record after `ev` (`None`: unchanged) and the id for its button.
fn next_record(
    old: Option<&ProblemRecord>,
    ev: &AlertEvent<'_>,
) -> (Option<ProblemRecord>, Option<String>) {
    match ev.notification_type {
        NotificationType::Problem if !ev.state_ok => {
            let open = old.filter(|r| r.open);
            let id = match (valid_problem_id(ev.problem_id), open) {
                (Some(id), _) => id.to_string(),
                (None, Some(r)) => r.problem.clone(),
                (None, None) => made_up_problem_id(ev.time),
            };
            if open.is_some_and(|r| r.problem == id) {
                return (None, Some(id)); // a re-notification: nothing changed
            }
            // The problem it replaces keeps its root for operations
            // still waiting in the spool.
            let (prev_problem, prev_post, prev_channel) = match old {
                Some(o) => (o.problem.clone(), o.post.clone(), o.channel.clone()),
                None => Default::default(),
            };
            let rec = ProblemRecord {
                problem: id.clone(),
                open: true,
                since: ev.time,
                closed_at: 0,
                kind: kind_name(ev.kind).into(),
                host: ev.host.into(),
                service: ev.service.into(),
                prev_problem,
                prev_post,
                prev_channel,
                ..ProblemRecord::default()
            };
            (Some(rec), Some(id))
        }
        NotificationType::Recovery => {
            let Some(r) = old.filter(|r| r.open) else {
                return (None, None);
            };
            // A recovery names the problem it ends; without ids it ends
            // the open one. A recovery of an older problem leaves a newer
            // one open.
            let ends_it = match valid_problem_id(ev.last_problem_id) {
                Some(last) => last == r.problem,
                None => true,
            };
            if !ends_it {
                return (None, None);
            }
            let mut closed = r.clone();
            closed.open = false;
            closed.closed_at = ev.time.max(1);
            (Some(closed), None)
        }
        _ => (None, None),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "host",
        Kind::Service => "service",
    }
}

/// Control characters would break the line format; the names are only
/// for reading, so they are replaced.
fn clean(v: &str) -> String {
    v.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Where a record line's value goes, and how it is checked when read.
enum Slot<'a> {
    /// Any text (control characters are replaced when written).
    Text(&'a mut String),
    /// A Mattermost id.
    Id(&'a mut String),
    /// A problem id.
    Problem(&'a mut String),
    /// Unix seconds; 0 is not written.
    Number(&'a mut u64),
    /// `1` or nothing.
    Flag(&'a mut bool),
}

impl ProblemRecord {
    /// Every line after `v`, `problem` and `state`, in file order: one
    /// table for writing and reading (a line not written is empty, 0 or
    /// off).
    fn slots(&mut self) -> [(&'static str, Slot<'_>); 24] {
        use Slot::{Flag, Id, Number, Problem, Text};
        [
            ("since", Number(&mut self.since)),
            ("closed", Number(&mut self.closed_at)),
            ("kind", Text(&mut self.kind)),
            ("host", Text(&mut self.host)),
            ("service", Text(&mut self.service)),
            ("post", Id(&mut self.post)),
            ("channel", Id(&mut self.channel)),
            ("last_state", Text(&mut self.last_state)),
            ("output", Text(&mut self.output)),
            ("host_name", Text(&mut self.host_name)),
            ("service_name", Text(&mut self.service_name)),
            ("address", Text(&mut self.address)),
            ("event", Number(&mut self.event)),
            ("ack_by", Text(&mut self.ack_by)),
            ("ack_at", Number(&mut self.ack_at)),
            ("ack_comment", Text(&mut self.ack_comment)),
            ("downtime_since", Number(&mut self.downtime_since)),
            ("downtime_until", Number(&mut self.downtime_until)),
            ("downtime_by", Text(&mut self.downtime_by)),
            ("flapping", Flag(&mut self.flapping)),
            ("prev_problem", Problem(&mut self.prev_problem)),
            ("prev_post", Id(&mut self.prev_post)),
            ("prev_channel", Id(&mut self.prev_channel)),
            ("digest", Text(&mut self.digest)),
        ]
    }
}

fn format_record(r: &ProblemRecord) -> String {
    let mut r = r.clone();
    let mut out = format!(
        "v={RECORD_VERSION}\nproblem={}\nstate={}\n",
        clean(&r.problem),
        if r.open { "open" } else { "closed" },
    );
    for (k, slot) in r.slots() {
        let v = match slot {
            Slot::Text(v) | Slot::Id(v) | Slot::Problem(v) => clean(v),
            Slot::Number(&mut n) if n > 0 => n.to_string(),
            Slot::Flag(true) => "1".into(),
            Slot::Number(_) | Slot::Flag(_) => continue,
        };
        if !v.is_empty() {
            out.push_str(k);
            out.push('=');
            out.push_str(&v);
            out.push('\n');
        }
    }
    out
}

fn parse_record(bytes: &[u8]) -> Option<ProblemRecord> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut r = ProblemRecord::default();
    let (mut version, mut state) = (None, None);
    for line in text.lines() {
        let (k, v) = line.split_once('=')?;
        match k {
            "v" => version = Some(v),
            "problem" => r.problem = valid_problem_id(v)?.to_string(),
            "state" => state = Some(v),
            // Anything else not in the table: a later version's field.
            _ => match r.slots().into_iter().find(|(name, _)| *name == k) {
                Some((_, Slot::Text(s))) => *s = v.to_string(),
                Some((_, Slot::Id(s))) => {
                    *s = mattermost_notify_core::thread::is_mattermost_id(v)
                        .then(|| v.to_string())?
                }
                Some((_, Slot::Problem(s))) => *s = valid_problem_id(v)?.to_string(),
                Some((_, Slot::Number(n))) => *n = v.parse().ok()?,
                Some((_, Slot::Flag(f))) => *f = v == "1",
                None => {}
            },
        }
    }
    r.open = match state? {
        "open" => true,
        "closed" => false,
        _ => return None,
    };
    let known = matches!(version?, RECORD_VERSION | RECORD_VERSION_1);
    (known && !r.problem.is_empty()).then_some(r)
}

/// Removes closed records older than `closed_retention`, any record not
/// touched for [`STALE_RETENTION`], and then the least recently touched
/// beyond [`MAX_RECORDS`]; returns how many went.
pub(super) fn prune(dir: &PrivateDir, now: SystemTime, closed_retention: Duration) -> usize {
    let mut removed = prune_older(dir.path(), now, STALE_RETENTION);
    let Ok(read) = std::fs::read_dir(dir.path()) else {
        return removed;
    };
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut left = Vec::new();
    for item in read.flatten() {
        let path = item.path();
        let Some(modified) = item.metadata().ok().and_then(|m| m.modified().ok()) else {
            continue;
        };
        let closed_long_ago = read_private_file(&path, RECORD_MAX_BYTES)
            .ok()
            .and_then(|b| parse_record(&b))
            .is_some_and(|r| {
                !r.open && now_secs.saturating_sub(r.closed_at) > closed_retention.as_secs()
            });
        if closed_long_ago && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        } else {
            left.push((modified, path));
        }
    }
    if left.len() > MAX_RECORDS {
        left.sort();
        let excess = left.len() - MAX_RECORDS;
        for (_, path) in left.into_iter().take(excess) {
            if std::fs::remove_file(path).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::super::CLOSED_RETENTION;
    use super::*;

    fn ev<'a>(
        t: NotificationType<'a>,
        ok: bool,
        id: &'a str,
        last: &'a str,
        time: u64,
    ) -> AlertEvent<'a> {
        AlertEvent {
            kind: Kind::Service,
            host: "web1",
            service: "http",
            notification_type: t,
            state_ok: ok,
            problem_id: id,
            last_problem_id: last,
            time,
        }
    }

    fn state(tag: &str) -> (std::path::PathBuf, StateDir) {
        let d = super::super::scratch(tag);
        let s = StateDir::open(&d).unwrap();
        (d, s)
    }

    #[test]
    fn core_ids_open_and_the_matching_recovery_closes() {
        let (d, s) = state("ids");
        let p = ev(NotificationType::Problem, false, "4711", "", 100);
        assert_eq!(s.track(&p).as_deref(), Some("4711"));
        let key = p.key();
        let r = s.record(&key).unwrap().unwrap();
        assert!(r.open && r.problem == "4711" && r.since == 100);
        // A recovery of an older problem leaves this one open.
        s.track(&ev(NotificationType::Recovery, true, "0", "4700", 150));
        assert!(s.record(&key).unwrap().unwrap().open);
        s.track(&ev(NotificationType::Recovery, true, "0", "4711", 200));
        let r = s.record(&key).unwrap().unwrap();
        assert!(!r.open && r.closed_at == 200);
        // The next outage is a new problem.
        assert_eq!(
            s.track(&ev(NotificationType::Problem, false, "4712", "", 300))
                .as_deref(),
            Some("4712")
        );
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn without_ids_the_open_problem_keeps_its_made_up_id_until_recovery() {
        let (d, s) = state("noids");
        let first = s
            .track(&ev(NotificationType::Problem, false, "", "", 100))
            .unwrap();
        assert!(first.starts_with("auto-100-"));
        let again = s
            .track(&ev(NotificationType::Problem, false, "", "", 160))
            .unwrap();
        assert_eq!(first, again, "a re-notification is the same problem");
        s.track(&ev(NotificationType::Recovery, true, "", "", 200));
        let third = s
            .track(&ev(NotificationType::Problem, false, "", "", 300))
            .unwrap();
        assert_ne!(first, third);
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_damaged_record_is_reported_and_replaced() {
        let (d, s) = state("damaged");
        let p = ev(NotificationType::Problem, false, "9", "", 100);
        let key = p.key();
        let dir = s.area(PROBLEMS).unwrap();
        dir.write_atomically(&format!("{}.rec", key.hex()), b"v=1\nproblem=\x01\n")
            .unwrap();
        assert!(s.record(&key).is_err());
        assert_eq!(s.track(&p).as_deref(), Some("9"));
        assert_eq!(s.record(&key).unwrap().unwrap().problem, "9");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn records_round_trip_and_refuse_garbage() {
        let r = ProblemRecord {
            problem: "17".into(),
            open: false,
            since: 5,
            closed_at: 9,
            kind: "service".into(),
            host: "a\nb".into(),
            service: "s".into(),
            post: "p0st1d".into(),
            ack_by: "alice".into(),
            ack_at: 7,
            flapping: true,
            prev_problem: "16".into(),
            digest: "digest-0123456789abcdef0123456789abcdef".into(),
            ..ProblemRecord::default()
        };
        let back = parse_record(format_record(&r).as_bytes()).unwrap();
        assert_eq!(back.host, "a\u{fffd}b");
        assert_eq!(back.digest, r.digest);
        assert_eq!(
            (back.problem.as_str(), back.open, back.closed_at),
            ("17", false, 9)
        );
        assert_eq!(
            back,
            ProblemRecord {
                host: back.host.clone(),
                ..r.clone()
            }
        );
        let v1 = parse_record(b"v=1\nproblem=3\nstate=open\nsince=1\n").unwrap();
        assert!(v1.open && v1.post.is_empty());
        for bad in [
            "",
            "v=3\nproblem=1\nstate=open\n",
            "v=2\nproblem=1\nstate=open\npost=a/b\n",
            "v=1\nstate=open\n",
            "v=1\nproblem=1\nstate=maybe\n",
            "v=1\nproblem=1\nstate=open\nsince=-1\n",
        ] {
            assert!(parse_record(bad.as_bytes()).is_none(), "{bad:?}");
        }
        assert_eq!(valid_problem_id(" 12 "), Some("12"));
        assert_eq!(valid_problem_id("0"), None);
        assert_eq!(valid_problem_id("1;2"), None);
        assert_eq!(valid_problem_id(&"1".repeat(41)), None);
    }

    #[test]
    fn a_new_problem_keeps_the_old_root_for_waiting_operations() {
        let (d, s) = state("roots");
        let p = ev(NotificationType::Problem, false, "10", "", 100);
        let key = p.key();
        s.track(&p);
        s.set_root(&key, "10", "root10", "chan1");
        assert_eq!(
            s.root_of(&key, "10"),
            Some(("root10".into(), "chan1".into()))
        );
        s.track(&ev(NotificationType::Recovery, true, "0", "10", 150));
        let t = s.track_event(&ev(NotificationType::Problem, false, "11", "", 200), true);
        assert_eq!(t.before.unwrap().problem, "10");
        assert_eq!(t.after.unwrap().prev_post, "root10");
        assert_eq!(
            s.root_of(&key, "10"),
            Some(("root10".into(), "chan1".into()))
        );
        assert_eq!(s.root_of(&key, "11"), None, "its root is not confirmed yet");
        s.set_root(&key, "11", "root11", "chan1");
        assert_eq!(
            s.root_of(&key, "11"),
            Some(("root11".into(), "chan1".into()))
        );
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn pruning_drops_long_closed_records_and_keeps_open_ones() {
        let (d, s) = state("prune");
        s.track(&ev(NotificationType::Problem, false, "1", "", 100));
        let other = AlertEvent {
            host: "db1",
            ..ev(NotificationType::Problem, false, "2", "", 100)
        };
        s.track(&other);
        s.track(&AlertEvent {
            host: "db1",
            ..ev(NotificationType::Recovery, true, "", "2", 100)
        });
        let later = UNIX_EPOCH + std::time::Duration::from_secs(100) + CLOSED_RETENTION * 2;
        // The files were just written, so only the content says "closed long ago".
        assert_eq!(
            prune(&s.area(PROBLEMS).unwrap(), later, CLOSED_RETENTION),
            1
        );
        assert!(s.record(&other.key()).unwrap().is_none());
        assert!(s
            .record(&ev(NotificationType::Problem, false, "1", "", 0).key())
            .unwrap()
            .is_some());
        let _ = std::fs::remove_dir_all(d);
    }
}
