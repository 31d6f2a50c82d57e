//! Golden API-mode messages (`core/src/thread.rs`): a problem's root post
//! as created, its edits (acknowledged, in downtime, recovered) with the
//! buttons that apply, every kind of thread reply, the reply of each
//! action done from Mattermost and the click's ephemeral answer.
//! Names and comments from the monitored side get a hostile set of their
//! own, checked to mention no one.

use crate::checks::find_mention;
use crate::fixtures::{alert, full_options, EVENT_TIME};
use crate::matrix::assert_golden;
use mattermost_notify_core::ack::{AckKind, ValidAck};
use mattermost_notify_core::action_reply::{write_done_ephemeral_reply, Done};
use mattermost_notify_core::actions::{Action, ALL_ACTIONS};
use mattermost_notify_core::limits::{ACK_REPLY_BUF_LEN, PAYLOAD_BUF_LEN, REPLY_BUF_LEN};
use mattermost_notify_core::render::ActionButton;
use mattermost_notify_core::thread::{
    render_root, write_digest_acked_thread_reply, write_done_thread_reply, write_thread_reply,
    Acked, Downtime, ReplyContext, RootShape, RootStatus,
};
use mattermost_notify_core::{Kind, Notification, NotificationType, RenderOptions};
use serde_json::Value;

const ACKED_AT: u64 = EVENT_TIME + 120;

fn open() -> RootStatus<'static> {
    RootStatus {
        first_seen: EVENT_TIME,
        acked: None,
        downtime: None,
        flapping: false,
        recovered_at: None,
    }
}

/// Every action's button, as the CLI signs them for a root's phase; core
/// keeps those that apply.
const BUTTONS: [ActionButton<'static>; 4] = [
    button(Action::Ack),
    button(Action::Downtime),
    button(Action::Recheck),
    button(Action::Unack),
];

const fn button(action: Action) -> ActionButton<'static> {
    ActionButton {
        action,
        url: "https://mon.example.org/mattermost/ack",
        context: &[("sig", "0123abcd")],
    }
}

fn root(n: &Notification<'_>, status: &RootStatus<'_>, shape: RootShape) -> Value {
    let opts = RenderOptions {
        buttons: &BUTTONS,
        ..full_options()
    };
    let mut buf = vec![0u8; PAYLOAD_BUF_LEN + 2048];
    let len = render_root(n, status, shape, &opts, &mut buf).expect("renders");
    serde_json::from_slice(&buf[..len]).expect("root is JSON")
}

/// The ids of the root's buttons.
fn button_ids(v: &Value) -> Vec<&str> {
    v["props"]["attachments"][0]["actions"]
        .as_array()
        .map_or(Vec::new(), |a| {
            a.iter().map(|b| b["id"].as_str().unwrap()).collect()
        })
}

fn reply(n: &Notification<'_>, ctx: ReplyContext) -> Value {
    let mut buf = vec![0u8; REPLY_BUF_LEN];
    let len = write_thread_reply(n, &ctx, &mut buf).expect("fits");
    serde_json::from_slice(&buf[..len]).expect("reply is JSON")
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// No string mentions anyone but `allowed` (the configured mention or
/// the clicker).
fn assert_no_mentions(v: &Value, allowed: &str) {
    let mut all = Vec::new();
    strings(v, &mut all);
    // A fenced code block (the attachment text) never mentions (DESIGN §5).
    for s in all.into_iter().filter(|s| !s.starts_with("```")) {
        let s = if allowed.is_empty() {
            s
        } else {
            s.replace(allowed, "")
        };
        assert!(find_mention(&s).is_none(), "mention in {s:?}");
    }
}

#[test]
fn root_posts_and_their_edits_match_their_golden() {
    let problem = alert(Kind::Service, NotificationType::Problem, "2");
    let created = root(&problem, &open(), RootShape::Create);
    assert_eq!(created["message"], "@oncall");
    assert_eq!(created["metadata"]["priority"]["priority"], "urgent");
    assert_eq!(button_ids(&created), ["ack", "downtime", "recheck"]);
    assert_golden("root_service_create", &created);

    let acked = RootStatus {
        acked: Some(Acked {
            by: "alice",
            at: ACKED_AT,
            comment: "Looking into it",
        }),
        ..open()
    };
    let edit = root(&problem, &acked, RootShape::Edit);
    assert!(
        edit.get("metadata").is_none(),
        "an edit cannot change priority"
    );
    assert_eq!(button_ids(&edit), ["downtime", "recheck", "unack"]);
    assert_eq!(edit["props"]["attachments"][0]["color"], "#1895f5");
    assert_golden("root_service_edit_acked", &edit);

    let downtime = RootStatus {
        downtime: Some(Downtime {
            since: ACKED_AT,
            until: ACKED_AT + 7200,
            by: "bob",
        }),
        flapping: true,
        ..open()
    };
    let edit = root(&problem, &downtime, RootShape::Edit);
    assert_eq!(button_ids(&edit), ["ack", "recheck"]);
    assert_golden("root_service_edit_downtime", &edit);

    let recovery = alert(Kind::Service, NotificationType::Recovery, "0");
    let recovered = RootStatus {
        recovered_at: Some(EVENT_TIME + 3900),
        ..acked
    };
    let edit = root(&recovery, &recovered, RootShape::Edit);
    let att = &edit["props"]["attachments"][0];
    assert_eq!(att["color"], "#5cb85c");
    assert!(att.get("actions").is_none());
    assert!(att["title"]
        .as_str()
        .unwrap()
        .starts_with("✅ RECOVERY: HTTP"));
    assert_golden("root_service_edit_recovered", &edit);

    let host = alert(Kind::Host, NotificationType::Problem, "1");
    assert_golden("root_host_create", &root(&host, &open(), RootShape::Create));
}

#[test]
fn every_thread_reply_matches_its_golden() {
    let ctx = ReplyContext {
        emoji: true,
        state_changed: false,
        open_secs: 3900,
    };
    let mut types = NotificationType::ALL.to_vec();
    types.push(NotificationType::Other("ESCALATION"));
    for t in types {
        let state = if t == NotificationType::Recovery {
            "0"
        } else {
            "2"
        };
        let v = reply(&alert(Kind::Service, t, state), ctx);
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        assert_golden(
            &format!("thread_reply_{}", t.as_str().to_ascii_lowercase()),
            &v,
        );
        assert_no_mentions(&v, "");
    }
    let changed = ReplyContext {
        state_changed: true,
        ..ctx
    };
    let v = reply(
        &alert(Kind::Service, NotificationType::Problem, "1"),
        changed,
    );
    assert_golden("thread_reply_problem_changed", &v);
}

fn done(action: Action, kind: AckKind, comment: &'static str) -> Done<'static> {
    Done {
        ack: ValidAck {
            action,
            kind,
            host: "web1",
            service: if kind == AckKind::Host { "" } else { "HTTP" },
            problem: "4711",
            label: "",
            text: "",
            exp: 0,
        },
        user_name: "alice",
        at: ACKED_AT,
        comment,
        until: ACKED_AT + 4 * 3600,
        with_services: kind == AckKind::Host,
        buttons: &[],
    }
}

#[test]
fn every_action_done_from_mattermost_has_its_golden_reply() {
    for action in ALL_ACTIONS {
        let comment = match action {
            Action::Comment | Action::Downtime => "Replacing the disk",
            _ => "",
        };
        let kind = if action == Action::Downtime {
            AckKind::Host
        } else {
            AckKind::Service
        };
        let mut buf = vec![0u8; REPLY_BUF_LEN];
        let len = write_done_thread_reply(&done(action, kind, comment), true, &mut buf).unwrap();
        let v: Value = serde_json::from_slice(&buf[..len]).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        assert_golden(&format!("thread_reply_done_{}", action.as_str()), &v);
        assert_no_mentions(&v, "@alice");
    }
    let mut buf = vec![0u8; REPLY_BUF_LEN];
    let len =
        write_done_thread_reply(&done(Action::Ack, AckKind::Service, ""), false, &mut buf).unwrap();
    let v: Value = serde_json::from_slice(&buf[..len]).unwrap();
    assert_eq!(
        v["message"],
        "**Acknowledged** by @alice at 2025-11-27 23:00:00 UTC"
    );
}

#[test]
fn a_digest_thread_hears_of_its_acknowledgements_once() {
    let mut buf = vec![0u8; REPLY_BUF_LEN];
    let len = write_digest_acked_thread_reply("alice", ACKED_AT, 12, None, true, &mut buf).unwrap();
    let v: Value = serde_json::from_slice(&buf[..len]).unwrap();
    assert_golden("thread_reply_digest_acked_all", &v);
    assert_eq!(
        v["message"],
        "💬 **Acknowledged** by @alice at 2025-11-27 23:00:00 UTC: 12 problems of this digest"
    );
    let hostile = Some(("<!channel> web1", "@all http"));
    let len =
        write_digest_acked_thread_reply("bob", ACKED_AT, 1, hostile, false, &mut buf).unwrap();
    let v: Value = serde_json::from_slice(&buf[..len]).unwrap();
    assert_golden("thread_reply_digest_acked_one", &v);
    assert_no_mentions(&v, "@bob");
    // The longest names still fit the documented buffer.
    let long = "h".repeat(4096);
    assert!(write_digest_acked_thread_reply(
        &"u".repeat(64),
        u64::MAX,
        usize::MAX,
        Some((&long, &long)),
        true,
        &mut buf
    )
    .is_ok());
}

#[test]
fn hostile_names_mention_no_one_in_roots_replies_and_answers() {
    let mut n = alert(Kind::Service, NotificationType::Acknowledgement, "2");
    n.host_name = "<!channel> **web1**";
    n.service_name = "@all `x`";
    n.ack_author = "@here";
    n.ack_comment = "<@U123> <!all> look";
    n.output = "@channel down";
    let ctx = ReplyContext {
        emoji: true,
        state_changed: false,
        open_secs: 1,
    };
    let v = reply(&n, ctx);
    assert_golden("thread_reply_hostile", &v);
    assert_no_mentions(&v, "");
    let status = RootStatus {
        acked: Some(Acked {
            by: n.ack_author,
            at: ACKED_AT,
            comment: n.ack_comment,
        }),
        downtime: Some(Downtime {
            since: ACKED_AT,
            until: 0,
            by: "@all",
        }),
        ..open()
    };
    n.notification_type = NotificationType::Problem;
    let v = root(&n, &status, RootShape::Edit);
    assert_golden("root_hostile_edit", &v);
    assert_no_mentions(&v, "@oncall");
    let mut d = done(Action::Comment, AckKind::Service, "<!here> @all fixed");
    d.ack.host = "<!channel>";
    d.ack.service = "@all";
    let mut buf = vec![0u8; ACK_REPLY_BUF_LEN];
    let len = write_done_ephemeral_reply(&d, &mut buf).unwrap();
    let v: Value = serde_json::from_slice(&buf[..len]).unwrap();
    assert_eq!(
        v.as_object().unwrap().len(),
        1,
        "no update: the REST API edits"
    );
    assert_golden("reply_done_ephemeral_hostile", &v);
    assert_no_mentions(&v, "");
    let mut buf = vec![0u8; REPLY_BUF_LEN];
    let len = write_done_thread_reply(&d, true, &mut buf).unwrap();
    let v: Value = serde_json::from_slice(&buf[..len]).unwrap();
    assert_golden("thread_reply_done_hostile", &v);
    assert_no_mentions(&v, "@alice");
}
