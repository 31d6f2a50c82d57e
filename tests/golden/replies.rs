//! Golden replies to a button click: the post update after an
//! acknowledgement and every ephemeral-only explanation, as the receiver
//! sends them (`core/src/ack_reply.rs`). Host, service and label come from
//! the monitored side, so a hostile set of names has its own fixtures and
//! an explicit check that nothing in them can mention anyone.

use crate::checks::find_mention;
use crate::matrix::assert_golden;
use mattermost_notify_core::ack::{AckKind, ValidAck};
use mattermost_notify_core::ack_reply::{
    write_acked_reply, write_declined_reply, AckedPost, Declined,
};
use mattermost_notify_core::limits::ACK_REPLY_BUF_LEN;
use serde_json::Value;

/// 2025-11-27 23:00:00 UTC.
const ACKED_AT: u64 = 1_764_284_400;

fn service() -> ValidAck<'static> {
    ValidAck {
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
        kind: AckKind::Service,
        host: "<!channel> **web1**",
        service: "@all `x` <http://evil|click>",
        problem: "4711",
        label: "",
        text: "",
        exp: 1_764_889_200,
    }
}

fn acked(ack: ValidAck<'_>) -> Value {
    let mut buf = vec![0u8; ACK_REPLY_BUF_LEN];
    let post = AckedPost {
        ack,
        user_name: "alice",
        acked_at: ACKED_AT,
    };
    let n = write_acked_reply(&post, &mut buf).expect("fits");
    serde_json::from_slice(&buf[..n]).expect("reply is JSON")
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
