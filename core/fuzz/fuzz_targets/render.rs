//! Fuzzes the payload renderer: any notification fields and options, any
//! buffer size. It must never panic; with a buffer of at least
//! `MIN_PAYLOAD_BUF_LEN` it must succeed, stay inside the buffer, and write
//! JSON that Mattermost would accept (an object with a non-empty `text` or
//! `attachments`, a `priority` object only with a valid `priority` inside,
//! no raw control characters — serde_json rejects those as Mattermost's Go
//! decoder does).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mattermost_notify_core::limits::{MIN_PAYLOAD_BUF_LEN, PAYLOAD_BUF_LEN};
use mattermost_notify_core::actions::Action;
use mattermost_notify_core::render::{ActionButton, Priority, StateSet};
use mattermost_notify_core::{
    render_payload, Kind, Notification, NotificationType, RenderError, RenderOptions, State,
};

#[derive(Debug, Arbitrary)]
struct Input {
    service: bool,
    notification_type: String,
    state_id: String,
    host_uuid: String,
    host_name: String,
    host_address: String,
    service_uuid: String,
    service_name: String,
    output: String,
    long_output: String,
    ack_author: String,
    ack_comment: String,
    event_time: u64,
    emoji: bool,
    channel: Option<String>,
    username: Option<String>,
    icon_url: Option<String>,
    source: String,
    host_link: Option<String>,
    service_link: Option<String>,
    image_url: Option<String>,
    mention: Option<String>,
    mention_states: u8,
    priority: Option<bool>,
    priority_requested_ack: bool,
    priority_states: u8,
    button: Option<(String, Vec<(String, String)>)>,
    /// Picks the buffer size; mostly in the supported range.
    buf_choice: u16,
}

const STATES: [State; 8] = [
    State::Up,
    State::Down,
    State::Unreachable,
    State::Ok,
    State::Warning,
    State::Critical,
    State::Unknown,
    State::Invalid,
];

fn state_set(bits: u8) -> StateSet {
    STATES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .fold(StateSet::EMPTY, |set, (_, s)| set.with(*s))
}

fn buffer_len(choice: u16) -> usize {
    let span = PAYLOAD_BUF_LEN - MIN_PAYLOAD_BUF_LEN;
    if choice % 16 == 0 {
        // Sometimes too small: must be a clean error, never a panic.
        usize::from(choice) % MIN_PAYLOAD_BUF_LEN
    } else {
        MIN_PAYLOAD_BUF_LEN + usize::from(choice) % (span + 1)
    }
}

fuzz_target!(|input: Input| {
    let kind = if input.service {
        Kind::Service
    } else {
        Kind::Host
    };
    let n = Notification {
        kind,
        notification_type: NotificationType::parse(&input.notification_type),
        state: State::from_id(kind, &input.state_id),
        host_uuid: &input.host_uuid,
        host_name: &input.host_name,
        host_address: &input.host_address,
        service_uuid: &input.service_uuid,
        service_name: &input.service_name,
        output: &input.output,
        long_output: &input.long_output,
        ack_author: &input.ack_author,
        ack_comment: &input.ack_comment,
        event_time: input.event_time,
    };
    let context: Vec<(&str, &str)> = input
        .button
        .as_ref()
        .map(|(_, ctx)| ctx.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .unwrap_or_default();
    let buttons: Vec<ActionButton<'_>> = input
        .button
        .as_ref()
        .map(|(url, _)| {
            // Three buttons sharing the context: the most a post shows.
            [Action::Ack, Action::Downtime, Action::Recheck]
                .into_iter()
                .map(|action| ActionButton {
                    action,
                    url,
                    context: &context,
                })
                .collect()
        })
        .unwrap_or_default();
    let opts = RenderOptions {
        emoji: input.emoji,
        channel: input.channel.as_deref(),
        username: input.username.as_deref(),
        icon_url: input.icon_url.as_deref(),
        source: &input.source,
        host_link: input.host_link.as_deref(),
        service_link: input.service_link.as_deref(),
        image_url: input.image_url.as_deref(),
        mention: input.mention.as_deref(),
        mention_states: state_set(input.mention_states),
        priority: input.priority.map(|urgent| {
            if urgent {
                Priority::Urgent
            } else {
                Priority::Important
            }
        }),
        priority_requested_ack: input.priority_requested_ack,
        priority_states: state_set(input.priority_states),
        buttons: &buttons,
    };
    let len = buffer_len(input.buf_choice);
    let mut buf = vec![0u8; len];
    match render_payload(&n, &opts, &mut buf) {
        Err(RenderError::BufferTooSmall) => {
            assert!(len < MIN_PAYLOAD_BUF_LEN, "refused a {len}-byte buffer");
        }
        Err(e) => panic!("unexpected render error {e:?} with a {len}-byte buffer"),
        Ok(used) => {
            assert!(used <= len, "claims {used} bytes of a {len}-byte buffer");
            let json = &buf[..used];
            let value: serde_json::Value = match serde_json::from_slice(json) {
                Ok(v) => v,
                Err(e) => panic!(
                    "invalid JSON ({e}) from a {len}-byte buffer: {}",
                    String::from_utf8_lossy(json)
                ),
            };
            let obj = value.as_object().expect("payload is a JSON object");
            let has_text = obj
                .get("text")
                .and_then(|t| t.as_str())
                .is_some_and(|t| !t.is_empty());
            let has_attachments = obj
                .get("attachments")
                .and_then(|a| a.as_array())
                .is_some_and(|a| !a.is_empty());
            assert!(
                has_text || has_attachments,
                "Mattermost would answer 400 No text specified: {value}"
            );
            // A `priority` object without `priority` inside is a 400 too.
            if let Some(p) = obj.get("priority") {
                let level = p.get("priority").and_then(|l| l.as_str());
                assert!(
                    matches!(level, Some("urgent" | "important")),
                    "invalid priority object: {p}"
                );
            }
        }
    }
});
