//! Size limits: huge input fits with a visible marker; the worst case fits
//! the minimum buffer; only a smaller buffer is an error.

use crate::checks::{check_design, check_no_mentions, parse};
use crate::fixtures::{alert, full_options, render};
use mattermost_notify_core::limits::{
    ACK_CONTEXT_MAX_LEN, CHANNEL_MAX_LEN, MENTION_MAX_LEN, MIN_PAYLOAD_BUF_LEN, PAYLOAD_BUF_LEN,
    SOURCE_MAX_LEN, URL_MAX_LEN, USERNAME_MAX_LEN,
};
use mattermost_notify_core::render::{AckButton, StateSet};
use mattermost_notify_core::{
    render_payload, Kind, Notification, NotificationType, RenderError, RenderOptions, State,
};

#[test]
fn megabytes_of_output_fit_the_default_buffer_with_a_marker() {
    let huge = "x".repeat(4 << 20);
    let long = "y".repeat(3 << 20);
    let mut n: Notification<'_> = alert(Kind::Service, NotificationType::Problem, "2");
    n.output = &huge;
    n.long_output = &long;
    let raw = render(&n, &full_options());
    assert!(raw.len() <= PAYLOAD_BUF_LEN);
    let v = parse(&raw);
    check_design(&raw, &v);
    let a = &v["attachments"][0];
    let text = a["text"].as_str().unwrap();
    assert!(text.contains(" bytes cut]"), "visible marker");
    // The output keeps its full budget; the long output gives way first.
    assert!(text.contains(&"x".repeat(4000)));
    assert!(a.get("actions").is_some(), "button kept");
    assert!(a.get("fields").is_some(), "fields kept");
}

#[test]
fn a_marker_says_how_much_was_cut() {
    let output = "z".repeat(100_000);
    let mut n: Notification<'_> = alert(Kind::Host, NotificationType::Problem, "1");
    n.output = &output;
    n.long_output = "";
    let v = parse(&render(&n, &RenderOptions::default()));
    let text = v["attachments"][0]["text"].as_str().unwrap();
    let kept = text.matches('z').count();
    assert!(
        text.contains(&format!("… [{} bytes cut]", 100_000 - kept)),
        "{text:.80}"
    );
}

/// Every configurable text at its cap and every alert text huge and
/// escape-heavy (control characters are six bytes each when written).
#[test]
fn the_worst_case_fits_the_minimum_buffer() {
    let channel = "c".repeat(CHANNEL_MAX_LEN);
    let username = "u".repeat(USERNAME_MAX_LEN);
    let mention = "@".repeat(MENTION_MAX_LEN);
    let source = "\u{1}".repeat(10_000);
    let url = format!("https://{}", "h".repeat(URL_MAX_LEN - 8));
    let context_value = "v".repeat(ACK_CONTEXT_MAX_LEN - 20);
    let context = [("k", context_value.as_str())];
    let hostile = "\u{1}`@<".repeat(100_000);
    let ticks = "`".repeat(300_000);
    let opts = RenderOptions {
        emoji: true,
        channel: Some(&channel),
        username: Some(&username),
        icon_url: Some(&url),
        source: &source,
        host_link: Some(&url),
        service_link: Some(&url),
        mention: Some(&mention),
        mention_states: StateSet::EMPTY.with(State::Invalid),
        priority: Some(mattermost_notify_core::render::Priority::Important),
        priority_requested_ack: false,
        priority_states: StateSet::EMPTY.with(State::Invalid),
        ack_button: Some(AckButton {
            url: &url,
            context: &context,
        }),
    };
    let mut n: Notification<'_> = alert(Kind::Service, NotificationType::Problem, "invalid");
    n.notification_type = NotificationType::Other(&hostile);
    n.host_name = &hostile;
    n.service_name = &hostile;
    n.host_address = &hostile;
    n.output = &ticks;
    n.long_output = &hostile;
    n.ack_author = &hostile;
    n.ack_comment = &hostile;
    n.event_time = u64::MAX;
    // Mention and priority go to PROBLEM notifications only: render both.
    for t in [NotificationType::Problem, NotificationType::Other(&hostile)] {
        n.notification_type = t;
        let mut buf = vec![0u8; MIN_PAYLOAD_BUF_LEN];
        let len = render_payload(&n, &opts, &mut buf).expect("worst case fits the minimum");
        let raw = &buf[..len];
        let v = parse(raw);
        check_design(raw, &v);
        let configured = (t == NotificationType::Problem).then_some(mention.as_str());
        check_no_mentions(&v, configured);
        let footer = v["attachments"][0]["footer"].as_str().unwrap();
        assert!(footer.len() <= SOURCE_MAX_LEN + 60, "{footer}");
    }
}

#[test]
fn only_a_buffer_below_the_minimum_is_an_error() {
    let n = alert(Kind::Service, NotificationType::Problem, "2");
    let mut small = vec![0u8; MIN_PAYLOAD_BUF_LEN - 1];
    assert_eq!(
        render_payload(&n, &full_options(), &mut small),
        Err(RenderError::BufferTooSmall)
    );
    let mut empty: [u8; 0] = [];
    assert_eq!(
        render_payload(&n, &full_options(), &mut empty),
        Err(RenderError::BufferTooSmall)
    );
    let mut exact = vec![0u8; MIN_PAYLOAD_BUF_LEN];
    assert!(render_payload(&n, &full_options(), &mut exact).is_ok());
}

#[test]
fn over_long_config_values_are_left_out() {
    let long = "a".repeat(CHANNEL_MAX_LEN + 1);
    let opts = RenderOptions {
        channel: Some(&long),
        username: Some(&long),
        icon_url: Some("file:///etc/passwd"),
        ..full_options()
    };
    let v = parse(&render(
        &alert(Kind::Service, NotificationType::Problem, "2"),
        &opts,
    ));
    assert!(v.get("channel").is_none());
    assert!(v.get("username").is_none());
    assert!(v.get("icon_url").is_none());
    let short = RenderOptions {
        channel: Some("#ops"),
        ..full_options()
    };
    let v = parse(&render(
        &alert(Kind::Service, NotificationType::Problem, "2"),
        &short,
    ));
    assert_eq!(v["channel"], "#ops");
    assert_eq!(v["username"], "Monitoring");
    assert_eq!(v["icon_url"], "https://mon.example.org/icon.png");
}
