//! Digest posts (issue 12): golden JSON with buttons and menu, hostile
//! text defused and kept inside its cell, and a post that does not fit
//! reported so the caller splits it.

use crate::fixtures::{alert, full_options};
use crate::matrix::assert_golden;
use mattermost_notify_core::digest_list::{write_list, ListItem};
use mattermost_notify_core::limits::{DIGEST_BUF_LEN, DIGEST_LIST_BUF_LEN, DIGEST_MAX_ROWS};
use mattermost_notify_core::render::digest::{
    digest_counts, headline_text, render_digest, DigestButtons, DigestItem, DigestPost,
};
use mattermost_notify_core::{Kind, Notification, NotificationType, RenderError};
use serde_json::Value;

const ALL: &[(&str, &str)] = &[("action", "ackall"), ("sig", "0123abcd")];
const ONE: &[(&str, &str)] = &[("action", "ackone"), ("sig", "4567ef01")];

fn rows() -> Vec<DigestItem<'static>> {
    let problem = alert(Kind::Service, NotificationType::Problem, "2");
    let host_down = Notification {
        host_uuid: "db2",
        host_name: "",
        ..alert(Kind::Host, NotificationType::Problem, "1")
    };
    let recovery = alert(Kind::Service, NotificationType::Recovery, "0");
    let hostile = Notification {
        host_uuid: "evil",
        host_name: "@all | <!channel> [x](y)",
        output: "WARNING - @here `code` *bold* | cell\nsecond line",
        ..alert(Kind::Service, NotificationType::Problem, "1")
    };
    vec![
        DigestItem {
            n: problem,
            list_index: Some(0),
        },
        DigestItem {
            n: host_down,
            list_index: Some(1),
        },
        DigestItem {
            n: recovery,
            list_index: None,
        },
        DigestItem {
            n: hostile,
            list_index: Some(2),
        },
    ]
}

fn render(items: &[DigestItem<'_>], buttons: bool) -> Value {
    render_shape(items, buttons, false)
}

fn render_shape(items: &[DigestItem<'_>], buttons: bool, rest: bool) -> Value {
    let post = DigestPost {
        rest,
        items,
        part: 1,
        parts: 2,
        buttons: buttons.then_some(DigestButtons {
            url: "https://mon.example.org/ack",
            all: ALL,
            one: ONE,
        }),
    };
    let mut buf = vec![0u8; DIGEST_BUF_LEN];
    let n = render_digest(&post, &full_options(), &mut buf).expect("fits");
    serde_json::from_slice(&buf[..n]).expect("JSON")
}

#[test]
fn a_digest_post_is_exactly_the_golden_one() {
    let v = render(&rows(), true);
    assert_golden("digest_with_buttons", &v);
    let text = v["text"].as_str().unwrap();
    assert_eq!(
        text,
        "@oncall 🚨 3 problems on 3 hosts, 1 recovered (part 1 of 2)"
    );
    let actions = v["attachments"][0]["actions"].as_array().unwrap();
    assert_eq!(actions[0]["name"], "Acknowledge all");
    assert_eq!(actions[1]["type"], "select");
    let values: Vec<&str> = actions[1]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        ["0", "1", "2"],
        "the recovery cannot be acknowledged"
    );
    assert_golden("digest_without_buttons", &render(&rows(), false));
}

#[test]
fn an_api_mode_digest_is_a_rest_post_with_the_same_table_and_buttons() {
    let rest = render_shape(&rows(), true, true);
    assert_golden("digest_rest_with_buttons", &rest);
    let hook = render(&rows(), true);
    // The bot posts under its own name: no webhook overrides.
    for key in ["channel", "username", "icon_url", "text", "attachments"] {
        assert!(rest.get(key).is_none(), "{key} in {rest}");
    }
    assert_eq!(rest["message"], hook["text"]);
    assert_eq!(rest["props"]["attachments"], hook["attachments"]);
    assert_eq!(rest.as_object().unwrap().len(), 2, "message and props only");
}

#[test]
fn hostile_text_stays_in_its_cell_and_mentions_no_one() {
    let v = render(&rows(), true);
    let table = v["attachments"][0]["text"].as_str().unwrap();
    let row = table.lines().last().unwrap();
    assert_eq!(row.matches(" | ").count(), 3, "four cells: {row}");
    assert!(!row.contains("second line"));
    for mention in ["@all", "@here", "<!channel>"] {
        assert!(!table.contains(mention), "{mention} defused: {table}");
    }
    assert!(row.contains("\\|") && row.contains("\\[x\\]") && row.contains("\\`code\\`"));
}

#[test]
fn headline_counts_and_a_post_too_big_is_reported() {
    let items = rows();
    let c = digest_counts(&items);
    assert_eq!((c.problems, c.hosts, c.recoveries, c.others), (3, 3, 1, 0));
    let mut buf = [0u8; 128];
    let n = headline_text(&items, false, 1, 1, &mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        "3 problems on 3 hosts, 1 recovered"
    );
    let many: Vec<DigestItem<'_>> = items
        .iter()
        .cycle()
        .take(DIGEST_MAX_ROWS * 4)
        .copied()
        .collect();
    let post = DigestPost {
        items: &many,
        part: 1,
        parts: 1,
        buttons: None,
        rest: false,
    };
    let mut buf = vec![0u8; DIGEST_BUF_LEN];
    assert_eq!(
        render_digest(&post, &full_options(), &mut buf),
        Err(RenderError::BufferTooSmall)
    );
    // A full post of the longest rows still fits the list buffer.
    let long = "h".repeat(255);
    let list: Vec<ListItem<'_>> = (0..DIGEST_MAX_ROWS)
        .map(|_| ListItem {
            kind: mattermost_notify_core::ack::AckKind::Service,
            host: &long,
            service: &long,
            problem: "1234567890123456789012345678901234567890",
        })
        .collect();
    let mut lb = vec![0u8; DIGEST_LIST_BUF_LEN];
    assert!(write_list(&list, &mut lb).is_ok());
}
