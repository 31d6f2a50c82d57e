//! What a post looks like for a type and state: colour, emoji and the title
//! wording, kept exactly as the original openITCOCKPIT module words them
//! (DESIGN §6) so users switching over recognise their alerts.

use crate::model::{Kind, NotificationType, State};

/// Colour of informational posts (every type but PROBLEM and RECOVERY).
pub const INFO_COLOR: &str = "#1895f5";
/// Colour of UP and OK.
pub const GREEN: &str = "#5cb85c";
/// Colour of DOWN and CRITICAL.
pub const RED: &str = "#d9534f";
/// Colour of WARNING.
pub const ORANGE: &str = "#f0ad4e";
/// Colour of UNREACHABLE, UNKNOWN and of an invalid state id.
pub const GREY: &str = "#adadad";

/// The attachment colour: the state's for PROBLEM and RECOVERY, else the
/// informational blue.
pub fn color(t: NotificationType<'_>, state: State) -> &'static str {
    match t {
        NotificationType::Problem | NotificationType::Recovery => match state {
            State::Up | State::Ok => GREEN,
            State::Down | State::Critical => RED,
            State::Warning => ORANGE,
            State::Unreachable | State::Unknown | State::Invalid => GREY,
        },
        _ => INFO_COLOR,
    }
}

/// The emoji put before the title, if the type has one.
pub fn emoji(t: NotificationType<'_>, state: State) -> Option<&'static str> {
    match t {
        NotificationType::Acknowledgement => Some("💬"),
        NotificationType::DowntimeStart => Some("💤"),
        NotificationType::DowntimeEnd => Some("✳️"),
        NotificationType::DowntimeCancelled => Some("🗑️"),
        // The original shows no emoji for flapping.
        NotificationType::FlappingStart
        | NotificationType::FlappingStop
        | NotificationType::FlappingDisabled => None,
        NotificationType::Problem
        | NotificationType::Recovery
        | NotificationType::Custom
        | NotificationType::Other(_) => Some(match state {
            State::Up | State::Ok => "✅",
            State::Down | State::Critical => "🚨",
            State::Warning => "⚠️",
            State::Unreachable | State::Unknown | State::Invalid => "⁉️",
        }),
    }
}

/// One part of a title: fixed words, or a value filled in from the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Fixed text.
    Words(&'static str),
    /// The host label (untrusted).
    Host,
    /// The service label (untrusted).
    Service,
    /// The notification type as given (untrusted for unknown types).
    Type,
    /// The state name.
    State,
}

use Part::{Host, Service, Words};

/// Title wording per type and kind, as a list of parts.
pub fn title(t: NotificationType<'_>, kind: Kind) -> &'static [Part] {
    match (kind, t) {
        (Kind::Host, NotificationType::Acknowledgement) => &[
            Words("Acknowledgement for "),
            Host,
            Words(" ("),
            Part::State,
            Words(")"),
        ],
        (Kind::Host, NotificationType::DowntimeStart) => &[Words("Downtime started for "), Host],
        (Kind::Host, NotificationType::DowntimeEnd) => &[Words("Downtime end for "), Host],
        (Kind::Host, NotificationType::DowntimeCancelled) => {
            &[Words("Downtime cancelled for "), Host]
        }
        (Kind::Host, NotificationType::FlappingStart) => &[Words("Flapping started on "), Host],
        (Kind::Host, NotificationType::FlappingStop) => &[Words("Flapping stopped on "), Host],
        (Kind::Host, NotificationType::FlappingDisabled) => {
            &[Words("Disabled flap detection for "), Host]
        }
        (Kind::Host, _) => &[
            Part::Type,
            Words(": "),
            Host,
            Words(" is "),
            Part::State,
            Words("!"),
        ],
        (Kind::Service, NotificationType::Acknowledgement) => &[
            Words("Acknowledgement for service "),
            Host,
            Words("/"),
            Service,
            Words(" ("),
            Part::State,
            Words(")"),
        ],
        (Kind::Service, NotificationType::DowntimeStart) => &[
            Words("Downtime start for service "),
            Host,
            Words("/"),
            Service,
        ],
        (Kind::Service, NotificationType::DowntimeEnd) => &[
            Words("Downtime end for service "),
            Host,
            Words("/"),
            Service,
        ],
        (Kind::Service, NotificationType::DowntimeCancelled) => &[
            Words("Downtime cancelled for service "),
            Host,
            Words("/"),
            Service,
        ],
        (Kind::Service, NotificationType::FlappingStart) => {
            &[Words("Flapping started on "), Host, Words("/"), Service]
        }
        (Kind::Service, NotificationType::FlappingStop) => {
            &[Words("Flapping stopped on "), Host, Words("/"), Service]
        }
        (Kind::Service, NotificationType::FlappingDisabled) => &[
            Words("Disabled flap detection for "),
            Host,
            Words("/"),
            Service,
        ],
        (Kind::Service, _) => &[
            Part::Type,
            Words(": "),
            Service,
            Words(" on "),
            Host,
            Words(" is "),
            Part::State,
            Words("!"),
        ],
    }
}

/// Whether the type carries an author and comment worth showing
/// (`$NOTIFICATIONAUTHOR$`/`$NOTIFICATIONCOMMENT$` are set for these).
pub fn shows_author(t: NotificationType<'_>) -> bool {
    matches!(
        t,
        NotificationType::Acknowledgement
            | NotificationType::DowntimeStart
            | NotificationType::DowntimeEnd
            | NotificationType::DowntimeCancelled
            | NotificationType::Custom
    )
}

/// Text shown for a type: the macro spelling, or for an empty unknown type
/// (an unset macro) a word that still reads as a title.
pub fn type_text<'a>(t: NotificationType<'a>) -> &'a str {
    match t.as_str() {
        "" => "NOTIFICATION",
        s => s,
    }
}
