//! The life of a problem in API mode: which operations one alert makes,
//! and what the problem's record says afterwards.
//!
//! | alert | open problem of it on record | operations |
//! |---|---|---|
//! | PROBLEM | no (a new problem, or none on record) | root post |
//! | PROBLEM | yes, same state | reply (`Still Critical`) |
//! | PROBLEM | yes, another state | reply (`Now Warning`), root edit |
//! | RECOVERY | yes (it closes it) | reply (`Recovered after …`), root edit |
//! | ACKNOWLEDGEMENT | yes, not yet acknowledged | reply, root edit |
//! | ACKNOWLEDGEMENT | yes, acknowledged by a click | nothing: the click's reply is there |
//! | DOWNTIMESTART | yes, already in a downtime (set by a click) | nothing: its reply is there |
//! | DOWNTIME*, FLAPPING* | yes | reply, root edit |
//! | CUSTOM, others | yes | reply |
//! | anything else | no | a post of its own |
//!
//! A problem first announced in a digest (its record points at it) has the
//! digest as its root: its replies go to the digest's thread and its root
//! is never edited (the digest shows many problems).
//!
//! A missing or damaged record (logged where it is read) is "no open
//! problem": the alert becomes a new root post, never a lost alert.
//! The record keeps what the root shows, so `serve` can edit it after a
//! click without the alert at hand. Every byte of the operations comes
//! from core ([`mattermost_notify_core::thread`]).

use crate::error::Error;
use crate::outbox::ops::{Op, OpKind};
use crate::state::problems::{ProblemRecord, RECORD_OUTPUT_MAX};
#[cfg(test)]
use mattermost_notify_core::actions::Action;
use mattermost_notify_core::limits::{REPLY_BUF_LEN, ROOT_MIN_BUF_LEN};
use mattermost_notify_core::render::RenderOptions;
use mattermost_notify_core::thread::{
    render_root, render_single_post, write_thread_reply, Acked, Downtime, ReplyContext, RootShape,
    RootStatus,
};
use mattermost_notify_core::{Kind, Notification, NotificationType, State};

/// Buffer a root post or a post of its own is rendered into.
const POST_BUF_LEN: usize = mattermost_notify_core::limits::PAYLOAD_BUF_LEN + ROOT_MIN_BUF_LEN;

/// One operation an alert makes, before it is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planned {
    /// The problem's root post.
    Root,
    /// A reply in its thread.
    Reply(ReplyContext),
    /// An edit of its root.
    Edit,
    /// A post of its own.
    Post,
}

/// What one alert does to its problem's conversation.
#[derive(Debug, Clone)]
pub struct Step {
    /// The operations, in order.
    pub planned: Vec<Planned>,
    /// The record afterwards, to be saved (`None`: no record to keep).
    pub record: Option<ProblemRecord>,
}

/// Decides the operations of alert `n` (state id `state_id`), given the
/// record before it and after the problem id bookkeeping
/// ([`crate::state::StateDir::track_event`]).
pub fn step(
    before: Option<&ProblemRecord>,
    after: Option<&ProblemRecord>,
    n: &Notification<'_>,
    state_id: &str,
    emoji: bool,
) -> Step {
    let open_before = before.filter(|r| r.open);
    let mut record = after.cloned();
    let reply = |state_changed: bool, open_secs: u64| {
        Planned::Reply(ReplyContext {
            emoji,
            state_changed,
            open_secs,
        })
    };
    let same_problem = |r: &ProblemRecord| open_before.is_some_and(|b| b.problem == r.problem);
    let t = n.notification_type;
    let planned = match (t, record.as_mut()) {
        (NotificationType::Problem, Some(r)) if r.open && !n.state.is_ok() => {
            let planned = if same_problem(r) {
                let changed = r.last_state != state_id.trim();
                match changed {
                    true => vec![reply(true, 0), Planned::Edit],
                    false => vec![reply(false, 0)],
                }
            } else {
                vec![Planned::Root]
            };
            shows(r, n, state_id);
            planned
        }
        (NotificationType::Recovery, Some(r)) if !r.open && same_problem(r) => {
            let open_secs = n.event_time.saturating_sub(r.since);
            shows(r, n, state_id);
            vec![reply(false, open_secs), Planned::Edit]
        }
        // A click already acknowledged it (or put it in downtime), and
        // said so in the thread.
        (NotificationType::Acknowledgement, Some(r)) if r.open && r.ack_at > 0 => {
            already_told(t, r)
        }
        (NotificationType::DowntimeStart, Some(r)) if r.open && r.downtime_since > 0 => {
            already_told(t, r)
        }
        (_, Some(r)) if r.open && t != NotificationType::Recovery => {
            let changes_root = match t {
                NotificationType::Acknowledgement => {
                    r.ack_by = n.ack_author.trim().to_string();
                    r.ack_at = n.event_time.max(1);
                    r.ack_comment = n.ack_comment.to_string();
                    true
                }
                NotificationType::DowntimeStart => {
                    r.downtime_since = n.event_time.max(1);
                    r.downtime_by = n.ack_author.to_string();
                    true
                }
                NotificationType::DowntimeEnd | NotificationType::DowntimeCancelled => {
                    r.downtime_since = 0;
                    r.downtime_until = 0;
                    r.downtime_by.clear();
                    true
                }
                NotificationType::FlappingStart => {
                    r.flapping = true;
                    true
                }
                NotificationType::FlappingStop | NotificationType::FlappingDisabled => {
                    r.flapping = false;
                    true
                }
                _ => false,
            };
            if changes_root {
                shows(r, n, state_id);
                vec![reply(false, 0), Planned::Edit]
            } else {
                vec![reply(false, 0)]
            }
        }
        _ => {
            record = None;
            vec![Planned::Post]
        }
    };
    // A problem announced in a digest replies in the digest's thread; the
    // digest itself is many problems' post and is never rewritten as one.
    let planned = match record.as_ref().filter(|r| root_is_digest(r)) {
        Some(_) => planned
            .into_iter()
            .filter(|p| *p != Planned::Edit)
            .collect(),
        None => planned,
    };
    Step { planned, record }
}

/// Whether the problem of `r` was announced in a digest, so its "root" is
/// the digest post.
pub fn root_is_digest(r: &ProblemRecord) -> bool {
    !r.digest.is_empty()
}

/// Nothing to do for `t`, already in the thread of `r`'s problem.
fn already_told(t: NotificationType<'_>, r: &ProblemRecord) -> Vec<Planned> {
    log::info!(
        "the {} of problem {} is already in its thread",
        t.as_str(),
        r.problem
    );
    Vec::new()
}

/// Notes in `r` what the root shows of alert `n` now.
fn shows(r: &mut ProblemRecord, n: &Notification<'_>, state_id: &str) {
    r.last_state = state_id.trim().to_string();
    r.output = n
        .output
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(RECORD_OUTPUT_MAX)
        .collect();
    r.host_name = n.host_name.to_string();
    r.service_name = n.service_name.to_string();
    r.address = n.host_address.to_string();
    r.event = n.event_time;
}

/// Where the problem of `r` stands, as its root shows it.
pub fn status(r: &ProblemRecord) -> RootStatus<'_> {
    RootStatus {
        first_seen: r.since,
        acked: (r.ack_at > 0).then_some(Acked {
            by: &r.ack_by,
            at: r.ack_at,
            comment: &r.ack_comment,
        }),
        downtime: (r.downtime_since > 0).then_some(Downtime {
            since: r.downtime_since,
            until: r.downtime_until,
            by: &r.downtime_by,
        }),
        flapping: r.flapping,
        recovered_at: (!r.open).then_some(r.closed_at),
    }
}

/// The alert a root shows, rebuilt from its record (for `serve`, which
/// edits the root after a click without the alert at hand).
pub fn root_alert(r: &ProblemRecord) -> Notification<'_> {
    let kind = if r.kind == "host" {
        Kind::Host
    } else {
        Kind::Service
    };
    Notification {
        kind,
        notification_type: NotificationType::Problem,
        state: State::from_id(kind, &r.last_state),
        host_uuid: &r.host,
        host_name: &r.host_name,
        host_address: &r.address,
        service_uuid: &r.service,
        service_name: &r.service_name,
        output: &r.output,
        long_output: "",
        ack_author: "",
        ack_comment: "",
        event_time: r.event,
    }
}

/// Renders the planned operations of alert `n` into spool operations.
/// `record` is the record after the alert (the root's status); `opts`
/// carry the Acknowledge button, which core leaves out when it no longer
/// applies.
pub fn render(
    planned: &[Planned],
    n: &Notification<'_>,
    record: Option<&ProblemRecord>,
    key_hex: &str,
    opts: &RenderOptions<'_>,
) -> Result<Vec<Vec<u8>>, Error> {
    let software = |what: &str, e: &dyn std::fmt::Display| {
        Error::Software(format!("rendering the {what}: {e}"))
    };
    let problem = record.map_or("", |r| r.problem.as_str());
    let mut ops = Vec::new();
    for p in planned {
        let mut buf = vec![0u8; POST_BUF_LEN];
        let (kind, len) = match (p, record) {
            (Planned::Root, Some(r)) => (
                OpKind::Root,
                render_root(n, &status(r), RootShape::Create, opts, &mut buf)
                    .map_err(|e| software("root post", &e))?,
            ),
            (Planned::Edit, Some(r)) => (
                OpKind::Edit,
                render_root(n, &status(r), RootShape::Edit, opts, &mut buf)
                    .map_err(|e| software("root edit", &e))?,
            ),
            (Planned::Reply(ctx), Some(_)) => {
                buf.truncate(REPLY_BUF_LEN);
                (
                    OpKind::Reply,
                    write_thread_reply(n, ctx, &mut buf).map_err(|e| software("reply", &e))?,
                )
            }
            _ => (
                OpKind::Post,
                render_single_post(n, opts, &mut buf).map_err(|e| software("post", &e))?,
            ),
        };
        let op = Op {
            kind,
            key: key_hex,
            problem: if kind == OpKind::Post { "" } else { problem },
            json: buf.get(..len).unwrap_or_default(),
        };
        ops.push(op.encode());
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(t: NotificationType<'static>, state: &str, time: u64) -> Notification<'static> {
        Notification {
            kind: Kind::Service,
            notification_type: t,
            state: State::from_id(Kind::Service, state),
            host_uuid: "web1",
            host_name: "",
            host_address: "",
            service_uuid: "http",
            service_name: "",
            output: "CRITICAL - refused",
            long_output: "",
            ack_author: "alice",
            ack_comment: "on it",
            event_time: time,
        }
    }

    fn open(problem: &str) -> ProblemRecord {
        ProblemRecord {
            problem: problem.into(),
            open: true,
            since: 100,
            kind: "service".into(),
            last_state: "2".into(),
            ..ProblemRecord::default()
        }
    }

    fn kinds(s: &Step) -> Vec<&'static str> {
        s.planned
            .iter()
            .map(|p| match p {
                Planned::Root => "root",
                Planned::Reply(_) => "reply",
                Planned::Edit => "edit",
                Planned::Post => "post",
            })
            .collect()
    }

    #[test]
    fn a_problem_lives_in_one_conversation() {
        let p = alert(NotificationType::Problem, "2", 100);
        // New problem (or no record before): a root.
        let s = step(None, Some(&open("1")), &p, "2", true);
        assert_eq!(kinds(&s), ["root"]);
        // Re-notification, same state: a short reply only.
        let r = s.record.unwrap();
        let s = step(Some(&r), Some(&r), &p, "2", true);
        assert_eq!(kinds(&s), ["reply"]);
        // Another state: reply and edit.
        let w = alert(NotificationType::Problem, "1", 160);
        let s = step(Some(&r), Some(&r), &w, "1", true);
        assert_eq!(kinds(&s), ["reply", "edit"]);
        assert_eq!(s.record.as_ref().unwrap().last_state, "1");
        // Acknowledged by the core: reply and edit, recorded.
        let a = alert(NotificationType::Acknowledgement, "2", 200);
        let s = step(Some(&r), Some(&r), &a, "2", true);
        assert_eq!(kinds(&s), ["reply", "edit"]);
        let acked = s.record.unwrap();
        assert_eq!((acked.ack_by.as_str(), acked.ack_at), ("alice", 200));
        // Acknowledged by a click already: the core's notification adds nothing.
        let s = step(Some(&acked), Some(&acked), &a, "2", true);
        assert!(s.planned.is_empty());
        // Recovery closes it: reply (with how long) and edit.
        let mut closed = acked.clone();
        closed.open = false;
        closed.closed_at = 3_700;
        let rec = alert(NotificationType::Recovery, "0", 3_700);
        let s = step(Some(&acked), Some(&closed), &rec, "0", true);
        assert_eq!(kinds(&s), ["reply", "edit"]);
        assert!(matches!(s.planned[0], Planned::Reply(c) if c.open_secs == 3_600));
        // The next PROBLEM after the recovery is a new root.
        let s = step(Some(&closed), Some(&open("2")), &p, "2", true);
        assert_eq!(kinds(&s), ["root"]);
    }

    #[test]
    fn a_problem_announced_in_a_digest_replies_there_and_never_edits_it() {
        let mut r = open("1");
        r.digest = "digest-0123456789abcdef0123456789abcdef".into();
        r.post = "digestpost".into();
        let a = alert(NotificationType::Acknowledgement, "2", 200);
        let s = step(Some(&r), Some(&r), &a, "2", true);
        assert_eq!(kinds(&s), ["reply"]);
        assert_eq!(s.record.unwrap().ack_at, 200, "still recorded");
        let mut closed = r.clone();
        closed.open = false;
        let rec = alert(NotificationType::Recovery, "0", 3_700);
        let s = step(Some(&r), Some(&closed), &rec, "0", true);
        assert_eq!(kinds(&s), ["reply"]);
        let w = alert(NotificationType::Problem, "1", 160);
        assert_eq!(kinds(&step(Some(&r), Some(&r), &w, "1", true)), ["reply"]);
    }

    #[test]
    fn alerts_of_no_open_problem_are_posts_of_their_own() {
        for t in [
            NotificationType::Recovery,
            NotificationType::DowntimeStart,
            NotificationType::Acknowledgement,
            NotificationType::Custom,
        ] {
            let s = step(None, None, &alert(t, "0", 5), "0", true);
            assert_eq!(kinds(&s), ["post"], "{t:?}");
            assert!(s.record.is_none());
        }
        // A PROBLEM without a record (no state directory): a post of its own.
        let s = step(
            None,
            None,
            &alert(NotificationType::Problem, "2", 5),
            "2",
            true,
        );
        assert_eq!(kinds(&s), ["post"]);
    }

    #[test]
    fn downtime_and_flapping_edit_the_root_custom_only_replies() {
        let r = open("1");
        let s = step(
            Some(&r),
            Some(&r),
            &alert(NotificationType::DowntimeStart, "2", 300),
            "2",
            true,
        );
        assert_eq!(kinds(&s), ["reply", "edit"]);
        let d = s.record.unwrap();
        assert_eq!(d.downtime_since, 300);
        assert!(status(&d).downtime.is_some() && status(&d).offers(Action::Recheck));
        // Already in it (a click set it): the core's notification adds nothing.
        let s = step(
            Some(&d),
            Some(&d),
            &alert(NotificationType::DowntimeStart, "2", 310),
            "2",
            true,
        );
        assert!(s.planned.is_empty());
        let s = step(
            Some(&d),
            Some(&d),
            &alert(NotificationType::DowntimeEnd, "2", 400),
            "2",
            true,
        );
        assert_eq!(s.record.unwrap().downtime_since, 0);
        let s = step(
            Some(&r),
            Some(&r),
            &alert(NotificationType::FlappingStart, "2", 400),
            "2",
            true,
        );
        assert!(s.record.unwrap().flapping);
        let s = step(
            Some(&r),
            Some(&r),
            &alert(NotificationType::Custom, "2", 400),
            "2",
            true,
        );
        assert_eq!(kinds(&s), ["reply"]);
    }

    #[test]
    fn rendered_operations_carry_the_problem() {
        let r = open("4711");
        let p = alert(NotificationType::Problem, "2", 100);
        let key = "0123456789abcdef0123456789abcdef";
        let ops = render(
            &[Planned::Root, Planned::Edit, Planned::Post],
            &p,
            Some(&r),
            key,
            &RenderOptions::default(),
        )
        .unwrap();
        let parsed: Vec<Op<'_>> = ops.iter().map(|o| Op::parse(o).unwrap()).collect();
        assert_eq!(parsed[0].kind, OpKind::Root);
        assert_eq!(parsed[0].problem, "4711");
        assert_eq!(parsed[2].problem, "");
        let v: serde_json::Value = serde_json::from_slice(parsed[0].json).unwrap();
        assert!(v["props"]["attachments"][0]["fields"].is_array());
    }
}
