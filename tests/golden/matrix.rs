//! Golden payloads for every notification type × host/service × state id,
//! compared structurally, plus explicit checks of the original module's
//! wording and colours so a wrong bless cannot hide a regression.

use crate::checks::{check_design, check_no_mentions, parse};
use crate::fixtures::{alert, full_options, render, state_ids, types, MENTION};
use mattermost_notify_core::{Kind, Notification, NotificationType, RenderOptions, State};
use serde_json::Value;
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/golden")
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "host",
        Kind::Service => "service",
    }
}

/// Every difference between two JSON values, one line per path.
fn differences(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => differences(&format!("{path}.{k}"), wv, gv, out),
                    None => out.push(format!("{path}.{k}: missing (want {wv})")),
                }
            }
            for (k, gv) in g {
                if !w.contains_key(k) {
                    out.push(format!("{path}.{k}: unexpected {gv}"));
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                differences(&format!("{path}[{i}]"), wv, gv, out);
            }
        }
        _ if want != got => out.push(format!("{path}:\n    want {want}\n    got  {got}")),
        _ => {}
    }
}

/// Compares `payload` with the fixture `name`, or writes it under BLESS=1.
pub(crate) fn assert_golden(name: &str, payload: &Value) {
    let path = golden_dir().join(format!("{name}.json"));
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).expect("create golden dir");
        let text = serde_json::to_string_pretty(payload).expect("serialize") + "\n";
        std::fs::write(&path, text).expect("write golden");
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with BLESS=1 cargo test -p mattermost-notify-core --test golden",
            path.display()
        )
    });
    let want: Value = serde_json::from_str(&text).expect("golden is JSON");
    let mut diffs = Vec::new();
    differences("$", &want, payload, &mut diffs);
    assert!(
        diffs.is_empty(),
        "{name} differs from {}:\n  {}",
        path.display(),
        diffs.join("\n  ")
    );
}

fn rendered(n: &Notification<'_>, opts: &RenderOptions<'_>) -> Value {
    let raw = render(n, opts);
    let v = parse(&raw);
    check_design(&raw, &v);
    let configured = (n.notification_type == NotificationType::Problem
        && matches!(n.state, State::Down | State::Critical))
    .then_some(MENTION)
    .filter(|_| opts.mention.is_some());
    check_no_mentions(&v, configured);
    v
}

#[test]
fn every_type_kind_and_state_matches_its_golden() {
    let opts = full_options();
    let mut count = 0;
    for kind in [Kind::Host, Kind::Service] {
        for t in types() {
            for id in state_ids(kind) {
                let v = rendered(&alert(kind, t, id), &opts);
                let name = format!(
                    "{}_{}_{}",
                    kind_name(kind),
                    t.as_str().to_ascii_lowercase(),
                    id
                );
                assert_golden(&name, &v);
                count += 1;
            }
        }
    }
    assert_eq!(count, 11 * (4 + 5));
}

/// Icinga 2 spells two types its own way (`$notification.type$`): they
/// must render exactly as the Nagios types they mean, fixture for fixture.
#[test]
fn icinga_2_type_names_match_the_nagios_goldens() {
    let opts = full_options();
    let cases = [
        ("FlappingEnd", "flappingstop"),
        ("FLAPPINGEND", "flappingstop"),
        ("DowntimeRemoved", "downtimecancelled"),
        ("downtimeremoved", "downtimecancelled"),
    ];
    for (icinga, nagios) in cases {
        for kind in [Kind::Host, Kind::Service] {
            for id in state_ids(kind) {
                let t = NotificationType::parse(icinga);
                let v = rendered(&alert(kind, t, id), &opts);
                assert_golden(&format!("{}_{nagios}_{id}", kind_name(kind)), &v);
            }
        }
    }
}

#[test]
fn default_options_without_emoji_match_golden() {
    let opts = RenderOptions {
        emoji: false,
        ..RenderOptions::default()
    };
    let n = alert(Kind::Service, NotificationType::Problem, "1");
    let v = rendered(&n, &opts);
    assert_golden("plain_service_problem_1", &v);
    assert!(v.get("channel").is_none() && v.get("text").is_none());
    assert!(v["attachments"][0].get("actions").is_none());
    assert_eq!(
        v["attachments"][0]["title"],
        "PROBLEM: HTTP on web1.example.org is Warning!"
    );
}

#[test]
fn hostile_text_matches_golden() {
    let mut n: Notification<'_> = alert(Kind::Service, NotificationType::Acknowledgement, "2");
    n.host_name = "@all <!channel>";
    n.service_name = "x\u{0}\u{1b}[31m\u{2028}";
    n.output = "CRITICAL ``` @here\n```` <!all>";
    n.long_output = "\"quoted\" \\ back\tslash";
    n.ack_author = "<@U12345>";
    n.ack_comment = "see <http://evil|click> @channel\n```\n@all";
    let v = rendered(&n, &full_options());
    assert_golden("hostile_service_acknowledgement_2", &v);
    let text = v["attachments"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("`````\n"),
        "fence beats the ```` run: {text}"
    );
}

fn title_of(kind: Kind, t: NotificationType<'static>, id: &str) -> String {
    let opts = RenderOptions {
        emoji: false,
        ..RenderOptions::default()
    };
    let v = parse(&render(&alert(kind, t, id), &opts));
    v["attachments"][0]["title"].as_str().unwrap().to_owned()
}

#[test]
fn titles_use_the_original_wording() {
    use NotificationType as T;
    let (h, s) = (Kind::Host, Kind::Service);
    let cases = [
        (h, T::Problem, "1", "PROBLEM: web1.example.org is Down!"),
        (h, T::Recovery, "0", "RECOVERY: web1.example.org is Up!"),
        (
            h,
            T::Custom,
            "2",
            "CUSTOM: web1.example.org is Unreachable!",
        ),
        (
            h,
            T::Acknowledgement,
            "1",
            "Acknowledgement for web1.example.org (Down)",
        ),
        (
            h,
            T::DowntimeStart,
            "0",
            "Downtime started for web1.example.org",
        ),
        (h, T::DowntimeEnd, "0", "Downtime end for web1.example.org"),
        (
            h,
            T::DowntimeCancelled,
            "0",
            "Downtime cancelled for web1.example.org",
        ),
        (
            h,
            T::FlappingStart,
            "1",
            "Flapping started on web1.example.org",
        ),
        (
            h,
            T::FlappingStop,
            "0",
            "Flapping stopped on web1.example.org",
        ),
        (
            h,
            T::FlappingDisabled,
            "0",
            "Disabled flap detection for web1.example.org",
        ),
        (
            s,
            T::Problem,
            "2",
            "PROBLEM: HTTP on web1.example.org is Critical!",
        ),
        (
            s,
            T::Recovery,
            "0",
            "RECOVERY: HTTP on web1.example.org is Ok!",
        ),
        (
            s,
            T::Acknowledgement,
            "2",
            "Acknowledgement for service web1.example.org/HTTP (Critical)",
        ),
        (
            s,
            T::DowntimeStart,
            "0",
            "Downtime start for service web1.example.org/HTTP",
        ),
        (
            s,
            T::DowntimeEnd,
            "0",
            "Downtime end for service web1.example.org/HTTP",
        ),
        (
            s,
            T::DowntimeCancelled,
            "0",
            "Downtime cancelled for service web1.example.org/HTTP",
        ),
        (
            s,
            T::FlappingStart,
            "1",
            "Flapping started on web1.example.org/HTTP",
        ),
        (
            s,
            T::FlappingStop,
            "0",
            "Flapping stopped on web1.example.org/HTTP",
        ),
        (
            s,
            T::FlappingDisabled,
            "0",
            "Disabled flap detection for web1.example.org/HTTP",
        ),
        (
            s,
            T::Problem,
            "9",
            "PROBLEM: HTTP on web1.example.org is Unknown state!",
        ),
        (
            s,
            T::Other("ESCALATION"),
            "3",
            "ESCALATION: HTTP on web1.example.org is Unknown!",
        ),
        (
            s,
            T::Other(""),
            "1",
            "NOTIFICATION: HTTP on web1.example.org is Warning!",
        ),
        (
            h,
            T::Other("@all"),
            "0",
            "@\u{2060}all: web1.example.org is Up!",
        ),
    ];
    for (kind, t, id, want) in cases {
        assert_eq!(title_of(kind, t, id), want, "{kind:?} {t:?} {id}");
    }
}

fn attachment(n: &Notification<'_>, opts: &RenderOptions<'_>) -> Value {
    parse(&render(n, opts))["attachments"][0].clone()
}

#[test]
fn colours_follow_state_for_problem_and_recovery_else_informational() {
    use NotificationType as T;
    let opts = RenderOptions::default();
    let cases = [
        (Kind::Host, T::Problem, "0", "#5cb85c"),
        (Kind::Host, T::Problem, "1", "#d9534f"),
        (Kind::Host, T::Problem, "2", "#adadad"),
        (Kind::Host, T::Recovery, "0", "#5cb85c"),
        (Kind::Service, T::Recovery, "0", "#5cb85c"),
        (Kind::Service, T::Problem, "1", "#f0ad4e"),
        (Kind::Service, T::Problem, "2", "#d9534f"),
        (Kind::Service, T::Problem, "3", "#adadad"),
        (Kind::Service, T::Problem, "", "#adadad"),
        (Kind::Service, T::Acknowledgement, "2", "#1895f5"),
        (Kind::Host, T::DowntimeStart, "1", "#1895f5"),
        (Kind::Host, T::FlappingStart, "1", "#1895f5"),
        (Kind::Service, T::Custom, "2", "#1895f5"),
        (Kind::Service, T::Other("X"), "2", "#1895f5"),
    ];
    for (kind, t, id, want) in cases {
        assert_eq!(
            attachment(&alert(kind, t, id), &opts)["color"],
            want,
            "{kind:?} {t:?} {id}"
        );
    }
}

#[test]
fn emoji_per_state_and_type_and_the_no_emoji_switch() {
    use NotificationType as T;
    let on = RenderOptions::default();
    let cases = [
        (Kind::Host, T::Problem, "0", "✅ "),
        (Kind::Host, T::Problem, "1", "🚨 "),
        (Kind::Service, T::Problem, "1", "⚠️ "),
        (Kind::Service, T::Problem, "3", "⁉️ "),
        (Kind::Host, T::Problem, "2", "⁉️ "),
        (Kind::Host, T::Acknowledgement, "1", "💬 "),
        (Kind::Host, T::DowntimeStart, "1", "💤 "),
        (Kind::Host, T::DowntimeEnd, "1", "✳️ "),
        (Kind::Host, T::DowntimeCancelled, "1", "🗑️ "),
    ];
    for (kind, t, id, want) in cases {
        let n = alert(kind, t, id);
        let title = attachment(&n, &on)["title"].as_str().unwrap().to_owned();
        assert!(title.starts_with(want), "{title}");
        let off = RenderOptions { emoji: false, ..on };
        let plain = attachment(&n, &off)["title"].as_str().unwrap().to_owned();
        assert_eq!(format!("{want}{plain}"), title);
    }
    let flap = attachment(&alert(Kind::Host, T::FlappingStart, "1"), &on);
    assert!(flap["title"].as_str().unwrap().starts_with("Flapping"));
}

#[test]
fn button_only_on_problems_that_are_not_ok() {
    use NotificationType as T;
    let opts = full_options();
    for (kind, t, id, want) in [
        (Kind::Service, T::Problem, "2", true),
        (Kind::Service, T::Problem, "1", true),
        (Kind::Service, T::Problem, "x", true),
        (Kind::Host, T::Problem, "1", true),
        (Kind::Service, T::Problem, "0", false),
        (Kind::Host, T::Problem, "0", false),
        (Kind::Service, T::Recovery, "0", false),
        (Kind::Service, T::Acknowledgement, "2", false),
        (Kind::Service, T::Custom, "2", false),
    ] {
        let a = attachment(&alert(kind, t, id), &opts);
        assert_eq!(a.get("actions").is_some(), want, "{kind:?} {t:?} {id}");
    }
    let a = attachment(&alert(Kind::Service, T::Problem, "2"), &opts);
    let action = &a["actions"][0];
    assert_eq!(action["name"], "Ack");
    assert_eq!(
        action["integration"]["url"],
        "https://mon.example.org/mattermost/ack"
    );
    assert_eq!(action["integration"]["context"]["sig"], "0123abcd");
}

#[test]
fn a_button_with_a_non_http_url_is_left_out_and_the_post_kept() {
    let mut opts = full_options();
    let mut button = opts.buttons[0];
    button.url = "javascript:alert(1)";
    let buttons = [button];
    opts.buttons = &buttons;
    let a = attachment(&alert(Kind::Service, NotificationType::Problem, "2"), &opts);
    assert!(a.get("actions").is_none());
    assert!(a["title"].as_str().unwrap().contains("PROBLEM"));
}

#[test]
fn mention_and_priority_only_for_configured_problem_states() {
    use NotificationType as T;
    let opts = full_options();
    for (t, id, want) in [
        (T::Problem, "2", true),
        (T::Problem, "1", false),
        (T::Recovery, "0", false),
        (T::Acknowledgement, "2", false),
        (T::Custom, "2", false),
    ] {
        let v = parse(&render(&alert(Kind::Service, t, id), &opts));
        assert_eq!(v.get("text").is_some(), want, "{t:?} {id}");
        assert_eq!(v.get("priority").is_some(), want, "{t:?} {id}");
        if want {
            assert_eq!(v["text"], MENTION);
            assert_eq!(v["priority"]["priority"], "urgent");
            assert_eq!(v["priority"]["requested_ack"], true);
        }
    }
}

#[test]
fn author_and_comment_shown_for_ack_downtime_and_custom_only() {
    use NotificationType as T;
    let opts = RenderOptions::default();
    for (t, want) in [
        (T::Acknowledgement, true),
        (T::DowntimeStart, true),
        (T::DowntimeEnd, true),
        (T::DowntimeCancelled, true),
        (T::Custom, true),
        (T::Problem, false),
        (T::FlappingStart, false),
    ] {
        let a = attachment(&alert(Kind::Service, t, "2"), &opts);
        let fields = a["fields"].as_array().unwrap();
        let value = |name: &str| {
            fields
                .iter()
                .find(|f| f["title"] == name)
                .map(|f| f["value"].as_str().unwrap().to_owned())
        };
        assert_eq!(value("Author").is_some(), want, "{t:?}");
        if want {
            assert_eq!(value("Author").unwrap(), "alice");
            assert_eq!(
                value("Comment").unwrap(),
                "Looking into it, see ticket #4711"
            );
        }
        assert_eq!(value("Host").unwrap(), "web1.example.org");
        assert_eq!(value("Service").unwrap(), "HTTP");
        assert_eq!(value("Address").unwrap(), "192.0.2.10");
    }
}

#[test]
fn title_links_are_filled_encoded_and_dropped_when_not_http() {
    let mut n: Notification<'_> = alert(Kind::Host, NotificationType::Problem, "1");
    n.host_name = "db 2/ü";
    let mut opts = RenderOptions {
        host_link: Some("https://mm.example/h?name={hostname}&id={hostuuid}"),
        ..RenderOptions::default()
    };
    assert_eq!(
        attachment(&n, &opts)["title_link"],
        "https://mm.example/h?name=db%202%2F%C3%BC&id=c36b8048-93ce-4385-ac19-ab5c90574b77"
    );
    opts.host_link = Some("ftp://x/{hostuuid}");
    assert!(attachment(&n, &opts).get("title_link").is_none());
    opts.host_link = Some("{hostname}");
    n.host_name = "https://evil.example";
    assert!(attachment(&n, &opts).get("title_link").is_none());
}

/// The graph: `MATTERMOST_IMAGE_URL` rendered as the attachment's
/// `image_url`, placeholders percent-encoded as in title links; the service
/// placeholders are empty on host alerts; a template that is not http(s)
/// or an image URL over the limit is left out, the post kept.
#[test]
fn graph_images_are_filled_encoded_and_dropped_when_unusable() {
    const GRAPH: &str = "https://grafana.example/render/d-solo/mon?var-host={hostname}&var-service={servicename}&var-id={hostuuid}/{serviceuuid}";
    let opts = RenderOptions {
        image_url: Some(GRAPH),
        ..full_options()
    };
    for kind in [Kind::Host, Kind::Service] {
        let v = rendered(&alert(kind, NotificationType::Problem, "2"), &opts);
        assert_golden(&format!("{}_problem_graph", kind_name(kind)), &v);
    }
    let mut n: Notification<'_> = alert(Kind::Service, NotificationType::Recovery, "0");
    n.host_name = "db 2/ü&x=1";
    n.service_name = "Disk /var #1";
    assert_eq!(
        attachment(&n, &opts)["image_url"],
        "https://grafana.example/render/d-solo/mon?var-host=db%202%2F%C3%BC%26x%3D1\
         &var-service=Disk%20%2Fvar%20%231&var-id=c36b8048-93ce-4385-ac19-ab5c90574b77/\
         74f14950-a58f-4f18-b6c3-5cfa9cffef4e"
    );
    let host = alert(Kind::Host, NotificationType::Problem, "1");
    assert_eq!(
        attachment(&host, &opts)["image_url"],
        "https://grafana.example/render/d-solo/mon?var-host=web1.example.org&var-service=\
         &var-id=c36b8048-93ce-4385-ac19-ab5c90574b77/"
    );
    for unusable in ["javascript:alert(1)", "{hostname}", "/pnp4nagios/image"] {
        let opts = RenderOptions {
            image_url: Some(unusable),
            ..full_options()
        };
        let a = attachment(&n, &opts);
        assert!(a.get("image_url").is_none(), "{unusable}: {a}");
        assert!(
            a.get("title_link").is_some(),
            "the rest of the post is kept"
        );
    }
    let long = "é".repeat(400);
    n.host_name = &long;
    assert!(attachment(&n, &opts).get("image_url").is_none());
    assert!(attachment(&n, &opts).get("fields").is_some());
}

#[test]
fn output_sits_in_a_code_block_and_footer_shows_source_and_utc_time() {
    let opts = RenderOptions {
        source: "Naemon on mon1",
        ..RenderOptions::default()
    };
    let a = attachment(&alert(Kind::Service, NotificationType::Problem, "2"), &opts);
    assert_eq!(
        a["text"],
        "```\nCRITICAL - Socket timeout after 10 seconds\nretry 1: timeout\nretry 2: timeout\n```"
    );
    assert_eq!(a["footer"], "Naemon on mon1 · 2025-11-27 22:58:00 UTC");
    assert!(a["fallback"]
        .as_str()
        .unwrap()
        .ends_with("is Critical! — CRITICAL - Socket timeout after 10 seconds"));
    let fields = a["fields"].as_array().unwrap();
    assert!(fields.iter().all(|f| f["short"] == true));
}
