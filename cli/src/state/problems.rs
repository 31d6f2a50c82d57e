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

use super::{prune_older, ProblemKey, StateDir, CLOSED_RETENTION, MAX_RECORDS, PROBLEMS};
use super::{RECORD_MAX_BYTES, STALE_RETENTION};
use crate::private_dir::{read_private_file, FileError, PrivateDir};
use mattermost_notify_core::{Kind, NotificationType};
use std::time::{SystemTime, UNIX_EPOCH};

/// Format version of a record file.
const RECORD_VERSION: &str = "1";

/// One host's or service's current (or last) problem.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The digest the problem was first announced in (`digest-<hex>`);
    /// empty when it had a post of its own.
    pub digest: String,
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
    pub fn track(&self, ev: &AlertEvent<'_>) -> Option<String> {
        let key = ev.key();
        let old = match self.record(&key) {
            Ok(r) => r,
            Err(why) => {
                log::warn!("problem record {why}; starting a new one");
                None
            }
        };
        let (new, id) = next_record(old.as_ref(), ev);
        if let Some(rec) = new {
            if let Err(e) = self.write_record(&key, &rec) {
                log::warn!(
                    "cannot write the problem record in {} ({e}); buttons of this problem \
                     are not tied to it",
                    self.path().display()
                );
            }
        }
        id
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
            let rec = ProblemRecord {
                problem: id.clone(),
                open: true,
                since: ev.time,
                closed_at: 0,
                kind: kind_name(ev.kind).into(),
                host: ev.host.into(),
                service: ev.service.into(),
                digest: String::new(),
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

fn format_record(r: &ProblemRecord) -> String {
    let mut text = format!(
        "v={RECORD_VERSION}\nproblem={}\nstate={}\nsince={}\nclosed={}\nkind={}\nhost={}\nservice={}\n",
        clean(&r.problem),
        if r.open { "open" } else { "closed" },
        r.since,
        r.closed_at,
        clean(&r.kind),
        clean(&r.host),
        clean(&r.service),
    );
    if !r.digest.is_empty() {
        text.push_str(&format!("digest={}\n", clean(&r.digest)));
    }
    text
}

fn parse_record(bytes: &[u8]) -> Option<ProblemRecord> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut r = ProblemRecord {
        problem: String::new(),
        open: false,
        since: 0,
        closed_at: 0,
        kind: String::new(),
        host: String::new(),
        service: String::new(),
        digest: String::new(),
    };
    let (mut version, mut state) = (None, None);
    for line in text.lines() {
        let (k, v) = line.split_once('=')?;
        match k {
            "v" => version = Some(v),
            "problem" => r.problem = valid_problem_id(v)?.to_string(),
            "state" => state = Some(v),
            "since" => r.since = v.parse().ok()?,
            "closed" => r.closed_at = v.parse().ok()?,
            "kind" => r.kind = v.to_string(),
            "host" => r.host = v.to_string(),
            "service" => r.service = v.to_string(),
            "digest" => r.digest = v.to_string(),
            _ => {} // a later version's field
        }
    }
    r.open = match state? {
        "open" => true,
        "closed" => false,
        _ => return None,
    };
    (version? == RECORD_VERSION && !r.problem.is_empty()).then_some(r)
}

/// Removes closed records older than [`CLOSED_RETENTION`], any record not
/// touched for [`STALE_RETENTION`], and then the least recently touched
/// beyond [`MAX_RECORDS`]; returns how many went.
pub(super) fn prune(dir: &PrivateDir, now: SystemTime) -> usize {
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
                !r.open && now_secs.saturating_sub(r.closed_at) > CLOSED_RETENTION.as_secs()
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
            digest: "digest-0123456789abcdef0123456789abcdef".into(),
        };
        let back = parse_record(format_record(&r).as_bytes()).unwrap();
        assert_eq!(back.host, "a\u{fffd}b");
        assert_eq!(back.digest, r.digest);
        assert_eq!(
            (back.problem.as_str(), back.open, back.closed_at),
            ("17", false, 9)
        );
        for bad in [
            "",
            "v=2\nproblem=1\nstate=open\n",
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
        assert_eq!(prune(&s.area(PROBLEMS).unwrap(), later), 1);
        assert!(s.record(&other.key()).unwrap().is_none());
        assert!(s
            .record(&ev(NotificationType::Problem, false, "1", "", 0).key())
            .unwrap()
            .is_some());
        let _ = std::fs::remove_dir_all(d);
    }
}
