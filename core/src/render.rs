//! The payload renderer: one [`Notification`] in, Mattermost incoming-webhook
//! JSON out, written into the caller's buffer.
//!
//! (Skeleton: the full renderer lands with the core issue.)

use crate::model::{Notification, State};

/// A set of states, used to choose which states get a mention or a priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateSet(u16);

impl StateSet {
    /// The empty set.
    pub const EMPTY: StateSet = StateSet(0);

    fn bit(state: State) -> u16 {
        1 << (state as u16)
    }

    /// This set plus `state`.
    pub const fn with(self, state: State) -> StateSet {
        StateSet(self.0 | (1 << (state as u16)))
    }

    /// Whether `state` is in the set.
    pub fn contains(self, state: State) -> bool {
        self.0 & Self::bit(state) != 0
    }
}

/// Mattermost message priority (`props.priority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// `"important"`
    Important,
    /// `"urgent"`
    Urgent,
}

/// An Acknowledge button: where Mattermost posts the click, and the context
/// it echoes back. Keys and values are written as JSON strings, escaped.
#[derive(Debug, Clone, Copy)]
pub struct AckButton<'a> {
    /// `integration.url`; must be http(s).
    pub url: &'a str,
    /// `integration.context` as key/value string pairs, in order.
    pub context: &'a [(&'a str, &'a str)],
}

/// Everything about a post that comes from configuration, not from the alert.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions<'a> {
    /// Put the state/type emoji in titles (`--no-emoji` turns it off).
    pub emoji: bool,
    /// Channel override (`town-square`, `#name`, `@user`); `None` keeps the hook's.
    pub channel: Option<&'a str>,
    /// Username override.
    pub username: Option<&'a str>,
    /// Icon URL override.
    pub icon_url: Option<&'a str>,
    /// Footer source name, e.g. `"Naemon on mon1"`.
    pub source: &'a str,
    /// Title-link template for host alerts; placeholders `{hostuuid}`,
    /// `{hostname}` (percent-encoded when substituted).
    pub host_link: Option<&'a str>,
    /// Title-link template for service alerts; also `{serviceuuid}`,
    /// `{servicename}`.
    pub service_link: Option<&'a str>,
    /// A deliberate mention such as `@oncall`, put in `text` for `mention_states`.
    pub mention: Option<&'a str>,
    /// States (of PROBLEM notifications) that get `mention`.
    pub mention_states: StateSet,
    /// Priority for `priority_states`.
    pub priority: Option<Priority>,
    /// States (of PROBLEM notifications) that get `priority`.
    pub priority_states: StateSet,
    /// Acknowledge button, rendered only on PROBLEM notifications in a non-OK state.
    pub ack_button: Option<AckButton<'a>>,
}

impl Default for RenderOptions<'_> {
    fn default() -> Self {
        RenderOptions {
            emoji: true,
            channel: None,
            username: None,
            icon_url: None,
            source: "mattermost-notify",
            host_link: None,
            service_link: None,
            mention: None,
            mention_states: StateSet::EMPTY,
            priority: None,
            priority_states: StateSet::EMPTY,
            ack_button: None,
        }
    }
}

/// Why rendering failed. Only a buffer too small for a minimal message does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenderError {
    /// The buffer is shorter than [`crate::limits::MIN_PAYLOAD_BUF_LEN`].
    BufferTooSmall,
}

impl core::fmt::Display for RenderError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RenderError::BufferTooSmall => {
                f.write_str("payload buffer too small for a minimal message")
            }
        }
    }
}

/// Renders `n` as webhook JSON into `buf`; returns the number of bytes used.
pub fn render_payload(
    n: &Notification<'_>,
    opts: &RenderOptions<'_>,
    buf: &mut [u8],
) -> Result<usize, RenderError> {
    let _ = (n, opts);
    if buf.len() < crate::limits::MIN_PAYLOAD_BUF_LEN {
        return Err(RenderError::BufferTooSmall);
    }
    let s = br#"{"text":"skeleton"}"#;
    let out = buf.get_mut(..s.len()).ok_or(RenderError::BufferTooSmall)?;
    out.copy_from_slice(s);
    Ok(s.len())
}
