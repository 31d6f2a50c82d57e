//! Size limits: huge input fits with a visible marker; the worst case fits
//! the minimum buffer; only a smaller buffer is an error.

use crate::checks::{check_design, check_no_mentions, parse};
use crate::fixtures::{alert, full_options, render};
use mattermost_notify_core::actions::Action;
use mattermost_notify_core::limits::{
    ACK_CONTEXT_MAX_LEN, CHANNEL_MAX_LEN, COMMENT_MAX_LEN, MENTION_MAX_LEN, MIN_PAYLOAD_BUF_LEN,
    OUTPUT_MAX_LEN, OUTPUT_MIN_LEN, PAYLOAD_BUF_LEN, SOURCE_MAX_LEN, URL_MAX_LEN, USERNAME_MAX_LEN,
};
use mattermost_notify_core::render::{ActionButton, StateSet};
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
        image_url: Some(&url),
        mention: Some(&mention),
        mention_states: StateSet::EMPTY.with(State::Invalid),
        priority: Some(mattermost_notify_core::render::Priority::Important),
        priority_requested_ack: false,
        priority_states: StateSet::EMPTY.with(State::Invalid),
        buttons: &[ActionButton {
            action: Action::Ack,
            url: &url,
            context: &context,
        }],
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

#[test]
fn texts_give_way_in_the_documented_order() {
    let long = "l".repeat(50_000);
    let output = "o".repeat(50_000);
    let comment = "c".repeat(50_000);
    let host = "h".repeat(200);
    let mut n: Notification<'_> = alert(Kind::Service, NotificationType::Acknowledgement, "2");
    n.long_output = &long;
    n.output = &output;
    n.ack_comment = &comment;
    n.host_name = &host;
    let mut buf = vec![0u8; 2 * MIN_PAYLOAD_BUF_LEN];
    let len = render_payload(&n, &full_options(), &mut buf).expect("renders");
    let v = parse(&buf[..len]);
    let a = &v["attachments"][0];
    let text = a["text"].as_str().unwrap();
    // Long output went first (down to its marker), then the output gave
    // what was still missing; the comment, later on the ladder, kept its
    // cap, and the host name is whole.
    assert!(!text.contains('l'), "long output cut to its marker: {text}");
    assert!(text.contains("… [50000 bytes cut]"), "long output marker");
    let kept_output = text.matches('o').count();
    assert!(kept_output < OUTPUT_MAX_LEN && kept_output > OUTPUT_MIN_LEN);
    let fields = a["fields"].as_array().unwrap();
    let comment_value = fields.iter().find(|f| f["title"] == "Comment").unwrap()["value"]
        .as_str()
        .unwrap();
    assert!(
        comment_value.len() > COMMENT_MAX_LEN - 40,
        "comment kept its cap"
    );
    assert!(
        a["title"].as_str().unwrap().contains(&host),
        "host name whole"
    );
    assert!(fields.iter().any(|f| f["value"] == host.as_str()));
}

/// Every buffer size from the minimum up renders, including those that
/// leave only a few bytes of excess: the fit loop must not crawl on texts
/// the post does not even show (here author and comment of an unknown type).
#[test]
fn every_buffer_size_from_the_minimum_renders() {
    let name = "ñ@all 🌀<!here> ".repeat(12);
    let hidden = "@here ".repeat(60);
    let mut n: Notification<'_> = alert(Kind::Service, NotificationType::Other("WEIRD"), "x");
    n.host_name = &name;
    n.service_name = &name;
    n.host_address = &name;
    n.ack_author = &hidden;
    n.ack_comment = &hidden;
    let opts = full_options();
    let mut buf = vec![0u8; 2 * MIN_PAYLOAD_BUF_LEN];
    for size in MIN_PAYLOAD_BUF_LEN..buf.len() {
        let len = render_payload(&n, &opts, &mut buf[..size])
            .unwrap_or_else(|e| panic!("{size}-byte buffer: {e}"));
        assert!(len <= size);
        parse(&buf[..len]);
    }
}
