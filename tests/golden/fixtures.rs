//! Sample alerts and options shared by the golden and size tests.

use mattermost_notify_core::actions::Action;
use mattermost_notify_core::limits::PAYLOAD_BUF_LEN;
use mattermost_notify_core::render::{ActionButton, Priority, StateSet};
use mattermost_notify_core::{
    render_payload, Kind, Notification, NotificationType, RenderOptions, State,
};

/// 2025-11-27 22:58:00 UTC.
pub const EVENT_TIME: u64 = 1_764_284_280;

/// The configured mention in [`full_options`].
pub const MENTION: &str = "@oncall";

/// A realistic alert: openITCOCKPIT UUIDs, display names, output with a
/// long part, and an author and comment as a core sets them.
pub fn alert(kind: Kind, t: NotificationType<'static>, state_id: &str) -> Notification<'static> {
    Notification {
        kind,
        notification_type: t,
        state: State::from_id(kind, state_id),
        host_uuid: "c36b8048-93ce-4385-ac19-ab5c90574b77",
        host_name: "web1.example.org",
        host_address: "192.0.2.10",
        service_uuid: match kind {
            Kind::Host => "",
            Kind::Service => "74f14950-a58f-4f18-b6c3-5cfa9cffef4e",
        },
        service_name: match kind {
            Kind::Host => "",
            Kind::Service => "HTTP",
        },
        output: "CRITICAL - Socket timeout after 10 seconds",
        long_output: "retry 1: timeout\nretry 2: timeout",
        ack_author: "alice",
        ack_comment: "Looking into it, see ticket #4711",
        event_time: EVENT_TIME,
    }
}

/// Every option set: overrides, links, a mention and a priority for DOWN
/// and CRITICAL, and an Acknowledge button.
pub fn full_options() -> RenderOptions<'static> {
    const CONTEXT: &[(&str, &str)] = &[
        ("host", "c36b8048-93ce-4385-ac19-ab5c90574b77"),
        ("sig", "0123abcd"),
    ];
    let urgent = StateSet::EMPTY.with(State::Down).with(State::Critical);
    RenderOptions {
        emoji: true,
        channel: Some("ops-alerts"),
        username: Some("Monitoring"),
        icon_url: Some("https://mon.example.org/icon.png"),
        source: "Naemon on mon1",
        host_link: Some("https://mon.example.org/a/hosts/browser/{hostuuid}"),
        service_link: Some("https://mon.example.org/a/services/browser/{serviceuuid}"),
        image_url: None,
        mention: Some(MENTION),
        mention_states: urgent,
        priority: Some(Priority::Urgent),
        priority_requested_ack: true,
        priority_states: urgent,
        buttons: &[ActionButton {
            action: Action::Ack,
            url: "https://mon.example.org/mattermost/ack",
            context: CONTEXT,
        }],
    }
}

/// Renders into a default-size buffer; returns the payload bytes.
pub fn render(n: &Notification<'_>, opts: &RenderOptions<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; PAYLOAD_BUF_LEN];
    let len = render_payload(n, opts, &mut buf).expect("renders");
    buf.truncate(len);
    buf
}

/// The state ids exercised per kind: every documented one and an invalid one.
pub fn state_ids(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Host => &["0", "1", "2", "7"],
        Kind::Service => &["0", "1", "2", "3", "x"],
    }
}

/// Every named type plus an unknown one.
pub fn types() -> Vec<NotificationType<'static>> {
    let mut all = NotificationType::ALL.to_vec();
    all.push(NotificationType::Other("ESCALATION"));
    all
}
