//! Golden replies to a button click: the post update after an
//! acknowledgement and every ephemeral-only explanation, as the receiver
//! sends them (`core/src/ack_reply.rs`). Host, service and label come from
//! the monitored side, so a hostile set of names has its own fixtures and
//! an explicit check that nothing in them can mention anyone.

use crate::checks::find_mention;
use crate::matrix::assert_golden;
use mattermost_notify_core::ack::{AckKind, ValidAck};
use mattermost_notify_core::ack_reply::{write_declined_errors, write_declined_reply, Declined};
use mattermost_notify_core::action_reply::{write_done_reply, Done};
use mattermost_notify_core::actions::Action;
use mattermost_notify_core::dialog::{
    write_dialog_errors, write_dialog_open, DialogOpen, FieldProblem,
};
use mattermost_notify_core::limits::{ACK_REPLY_BUF_LEN, DIALOG_OPEN_BUF_LEN};
use mattermost_notify_core::render::ActionButton;
use serde_json::Value;

/// 2025-11-27 23:00:00 UTC.
const ACKED_AT: u64 = 1_764_284_400;

fn service() -> ValidAck<'static> {
    ValidAck {
        action: Action::Ack,
        kind: AckKind::Service,
        host: "c36b8048-93ce-4385-ac19-ab5c90574b77",
        service: "74f14950-a58f-4f18-b6c3-5cfa9cffef4e",
        problem: "4711",
        label: "HTTP on web1.example.org",
        text: "@oncall",
        exp: 1_764_889_200,
    }
}

fn host() -> ValidAck<'static> {
    ValidAck {
        action: Action::Ack,
        kind: AckKind::Host,
        host: "web1",
        service: "",
        problem: "815",
        label: "",
        text: "",
        exp: 1_764_889_200,
    }
}

/// Names a monitored device could set, label empty so they are composed.
fn hostile() -> ValidAck<'static> {
    ValidAck {
        action: Action::Ack,
        kind: AckKind::Service,
        host: "<!channel> **web1**",
        service: "@all `x` <http://evil|click>",
        problem: "4711",
        label: "",
        text: "",
        exp: 1_764_889_200,
    }
}

/// The context of the Unack button an updated post carries (its values
/// as the receiver signs them; the signature is a fixed stand-in here).
const UNACK_CONTEXT: &[(&str, &str)] = &[
    ("v", "2"),
    ("action", "unack"),
    ("kind", "service"),
    ("host", "c36b8048-93ce-4385-ac19-ab5c90574b77"),
    ("service", "74f14950-a58f-4f18-b6c3-5cfa9cffef4e"),
    ("problem", "4711"),
    ("label", "HTTP on web1.example.org"),
    ("text", "@oncall"),
    ("exp", "1764889200"),
    ("sig", "0123abcd"),
];

const UNACK: ActionButton<'static> = ActionButton {
    action: Action::Unack,
    url: "https://mon.example.org/mattermost/ack",
    context: UNACK_CONTEXT,
};

fn done(ack: ValidAck<'_>, action: Action, comment: &str, buttons: &[ActionButton<'_>]) -> Value {
    let mut buf = vec![0u8; ACK_REPLY_BUF_LEN];
    let d = Done {
        ack: ValidAck { action, ..ack },
        user_name: "alice",
        at: ACKED_AT,
        comment,
        until: ACKED_AT + 4 * 3600,
        with_services: ack.kind == AckKind::Host,
        buttons,
    };
    let n = write_done_reply(&d, &mut buf).expect("fits");
    serde_json::from_slice(&buf[..n]).expect("reply is JSON")
}

fn acked(ack: ValidAck<'_>) -> Value {
    done(ack, Action::Ack, "", &[])
}

fn declined(why: &Declined<'_>) -> Value {
    let mut buf = vec![0u8; ACK_REPLY_BUF_LEN];
    let n = write_declined_reply(why, &mut buf).expect("fits");
    let v: Value = serde_json::from_slice(&buf[..n]).expect("reply is JSON");
    assert!(v.get("update").is_none(), "declined replies leave the post");
    v
}

/// Every string in the reply, with the one deliberate mention (the
/// clicker, `@alice`) taken out, mentions no one.
fn assert_no_mentions(v: &Value) {
    fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(v, &mut all);
    for s in all {
        let s = s.replace("@alice", "");
        assert!(find_mention(&s).is_none(), "mention in {s:?}");
    }
}

#[test]
fn acked_replies_match_their_golden() {
    assert_golden("reply_acked_service", &acked(service()));
    assert_golden("reply_acked_host", &acked(host()));
    let v = acked(hostile());
    assert_golden("reply_acked_hostile", &v);
    assert_no_mentions(&v);
    assert_eq!(
        v["update"]["props"]["attachments"][0]["title"],
        "Acknowledged: @\u{2060}all `x` <\u{2060}http://evil|click> on <\u{2060}!channel> **web1**"
    );
}

#[test]
fn every_action_reply_matches_its_golden() {
    let s = service();
    let h = host();
    let cases = [
        ("ack_with_unack", done(s, Action::Ack, "", &[UNACK])),
        (
            "comment",
            done(s, Action::Comment, "disk swapped; see INC-42", &[UNACK]),
        ),
        (
            "downtime_service",
            done(s, Action::Downtime, "kernel update", &[]),
        ),
        ("downtime_host", done(h, Action::Downtime, "", &[])),
        ("recheck", done(s, Action::Recheck, "", &[])),
        ("unack", done(h, Action::Unack, "", &[])),
    ];
    for (name, v) in cases {
        assert_golden(&format!("reply_done_{name}"), &v);
    }
    let v = done(hostile(), Action::Comment, "@all <!here> look", &[]);
    assert_golden("reply_done_comment_hostile", &v);
    assert_no_mentions(&v);
}

#[test]
fn dialogs_and_their_errors_match_their_golden() {
    for (name, action, ack) in [
        ("comment", Action::Comment, service()),
        ("downtime_host", Action::Downtime, host()),
    ] {
        let mut buf = vec![0u8; DIALOG_OPEN_BUF_LEN];
        let d = DialogOpen {
            trigger_id: "n8xqsmk4abfxbyi7h1rmszwxso",
            url: "https://mon.example.org/mattermost/ack/dialog",
            ack: ValidAck { action, ..ack },
            state: "{\"v\":\"2\",\"sig\":\"…\"}",
            notify_default: false,
        };
        let n = write_dialog_open(&d, &mut buf).expect("fits");
        let v: Value = serde_json::from_slice(&buf[..n]).expect("JSON");
        assert_golden(&format!("dialog_open_{name}"), &v);
    }
    for (name, p) in [
        ("unknown_preset", FieldProblem::UnknownPreset),
        ("until_too_far", FieldProblem::UntilTooFar),
        ("comment_too_long", FieldProblem::CommentTooLong),
    ] {
        let mut buf = [0u8; 512];
        let n = write_dialog_errors(p, &mut buf).expect("fits");
        let v: Value = serde_json::from_slice(&buf[..n]).expect("JSON");
        assert_golden(&format!("dialog_errors_{name}"), &v);
    }
    let mut buf = vec![0u8; ACK_REPLY_BUF_LEN];
    let n = write_declined_errors(
        &Declined::AlreadyUsed(ValidAck {
            action: Action::Comment,
            ..service()
        }),
        &mut buf,
    )
    .expect("fits");
    let v: Value = serde_json::from_slice(&buf[..n]).expect("JSON");
    assert_golden("dialog_errors_already_used", &v);
}

#[test]
fn every_declined_reply_matches_its_golden() {
    let a = service();
    let cases = [
        ("expired", Declined::Expired),
        ("old_version", Declined::OldVersion),
        ("user_not_allowed", Declined::UserNotAllowed),
        ("user_id_not_allowed", Declined::UserIdNotAllowed),
        ("team_not_allowed", Declined::TeamNotAllowed),
        ("channel_not_allowed", Declined::ChannelNotAllowed),
        ("already_used", Declined::AlreadyUsed(a)),
        ("not_current", Declined::NotCurrent(a)),
        ("recovered", Declined::Recovered(a)),
        ("not_recorded", Declined::NotRecorded(a)),
        (
            "action_not_allowed",
            Declined::ActionNotAllowed(ValidAck {
                action: Action::Recheck,
                ..a
            }),
        ),
        (
            "no_dialogs",
            Declined::NoDialogs(ValidAck {
                action: Action::Downtime,
                ..a
            }),
        ),
        (
            "dialog_failed",
            Declined::DialogFailed {
                ack: ValidAck {
                    action: Action::Comment,
                    ..a
                },
                reason:
                    "Mattermost answered HTTP 400: Trigger ID for interactive dialog is expired.",
            },
        ),
        (
            "dialog_expired",
            Declined::DialogExpired(ValidAck {
                action: Action::Comment,
                ..a
            }),
        ),
        (
            "backend_failed_downtime",
            Declined::BackendFailed {
                ack: ValidAck {
                    action: Action::Downtime,
                    ..a
                },
                reason: "Icinga 2 knows no such host or service (HTTP 404).",
            },
        ),
        (
            "backend_failed",
            Declined::BackendFailed {
                ack: a,
                reason: "the monitoring core is not reading its command pipe (is it running?).",
            },
        ),
    ];
    for (name, why) in cases {
        let v = declined(&why);
        assert_golden(&format!("reply_declined_{name}"), &v);
        assert_no_mentions(&v);
    }
}

#[test]
fn declined_replies_defuse_names_too() {
    let h = hostile();
    for (name, why) in [
        ("already_used", Declined::AlreadyUsed(h)),
        ("not_current", Declined::NotCurrent(h)),
        ("recovered", Declined::Recovered(h)),
        (
            "backend_failed",
            Declined::BackendFailed {
                ack: h,
                reason: "openITCOCKPIT said <!here>.",
            },
        ),
    ] {
        let v = declined(&why);
        assert_golden(&format!("reply_declined_{name}_hostile"), &v);
        assert_no_mentions(&v);
    }
}
