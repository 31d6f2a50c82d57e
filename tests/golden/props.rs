//! Property tests over hostile text: whatever the alert says, the payload
//! is valid JSON within the buffer, passes DESIGN §3, and mentions nobody
//! outside code except the configured mention.

use crate::checks::{check_design, check_no_mentions, parse};
use crate::fixtures::{full_options, EVENT_TIME};
use mattermost_notify_core::limits::MIN_PAYLOAD_BUF_LEN;
use mattermost_notify_core::{
    render_payload, Kind, Notification, NotificationType, RenderOptions, State,
};
use proptest::prelude::*;

/// Pieces hostile text is built from: mentions, special sequences, fences,
/// control characters, separators and multi-byte characters.
const TOKENS: &[&str] = &[
    "@all",
    "@here",
    "@channel",
    "@oncall",
    "@",
    "<!channel>",
    "<!here>",
    "<!all>",
    "<@U1>",
    "<http://x|y>",
    "<",
    "`",
    "```",
    "````````",
    "\n",
    "\r",
    "\t",
    "\u{0}",
    "\u{1b}",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{2060}",
    "\"",
    "\\",
    "é",
    "🚨",
    " ",
    "word",
    "a@b.c",
];

fn hostile() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => proptest::sample::select(TOKENS).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let text = proptest::collection::vec(token, 0..40).prop_map(|v| v.concat());
    // Now and then a huge text: the same hostile text repeated to megabytes.
    prop_oneof![
        8 => text.clone(),
        1 => (text, 1usize..60_000).prop_map(|(t, n)| t.repeat(n.min(4_000_000 / t.len().max(1)))),
    ]
}

fn notification_type() -> impl Strategy<Value = NotificationType<'static>> {
    prop_oneof![
        proptest::sample::select(NotificationType::ALL.to_vec()),
        Just(NotificationType::Other("WEIRD")),
    ]
}

#[derive(Debug, Clone)]
struct Alert {
    kind: Kind,
    t: NotificationType<'static>,
    state: String,
    texts: [String; 8],
    with_options: bool,
    buf_len: usize,
}

fn alerts() -> impl Strategy<Value = Alert> {
    (
        prop_oneof![Just(Kind::Host), Just(Kind::Service)],
        notification_type(),
        "[0-4x]?",
        proptest::array::uniform8(hostile()),
        any::<bool>(),
        MIN_PAYLOAD_BUF_LEN..40_000usize,
    )
        .prop_map(|(kind, t, state, texts, with_options, buf_len)| Alert {
            kind,
            t,
            state,
            texts,
            with_options,
            buf_len,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_alert_renders_valid_json_within_the_buffer_and_mentions_nobody(a in alerts()) {
        let [host_uuid, host_name, address, service_name, output, long_output, author, comment] =
            &a.texts;
        let n = Notification {
            kind: a.kind,
            notification_type: a.t,
            state: State::from_id(a.kind, &a.state),
            host_uuid,
            host_name,
            host_address: address,
            service_uuid: "svc",
            service_name,
            output,
            long_output,
            ack_author: author,
            ack_comment: comment,
            event_time: EVENT_TIME,
        };
        let opts = if a.with_options { full_options() } else { RenderOptions::default() };
        let mut buf = vec![0u8; a.buf_len];
        let len = render_payload(&n, &opts, &mut buf).expect("renders at any size >= minimum");
        prop_assert!(len <= a.buf_len);
        let raw = &buf[..len];
        let v = parse(raw);
        check_design(raw, &v);
        let configured = opts
            .mention
            .filter(|_| a.t == NotificationType::Problem && opts.mention_states.contains(n.state));
        check_no_mentions(&v, configured);

        // Output that cannot be shown whole says so.
        if output.len() > a.buf_len {
            prop_assert!(std::str::from_utf8(raw).unwrap().contains(" bytes cut]"));
        }
        // The output, when it fits whole, is in the code block verbatim.
        if output.len() < 100 && !output.is_empty() && long_output.len() < 100 {
            let text = v["attachments"][0]["text"].as_str().unwrap();
            let shown = output.replace('\0', "\u{fffd}");
            prop_assert!(text.contains(&shown), "output missing from {}", text);
        }
    }
}
