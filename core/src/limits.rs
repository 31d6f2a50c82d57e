//! Every size the core uses, in one place.
//!
//! The README's "Limits" table lists these; change them here only.

/// Default size of the buffer the payload JSON is written into (16 KiB).
///
/// Mattermost reads up to 128 KiB of a webhook body; 16 KiB leaves room for
/// plugin output that still reads well on a phone. The renderer never needs
/// more: untrusted text that does not fit is cut with a visible marker.
pub const PAYLOAD_BUF_LEN: usize = 16 * 1024;

/// Smallest buffer [`crate::render_payload`] accepts; below it the renderer
/// cannot guarantee even a title and fallback and returns
/// [`crate::RenderError::BufferTooSmall`].
pub const MIN_PAYLOAD_BUF_LEN: usize = 1024;

// --- Acknowledge buttons, callbacks and external commands -----------------

/// Longest host name an ack context, a callback or a command line carries
/// (bytes). Nagios and Naemon names are far shorter in practice;
/// openITCOCKPIT's are 36-byte UUIDs.
pub const ACK_HOST_MAX: usize = 255;

/// Longest service description an ack context carries (bytes).
pub const ACK_SERVICE_MAX: usize = 255;

/// Longest display label (`http on web1`) an ack context carries (bytes);
/// the notify side cuts longer labels at a character boundary.
pub const ACK_LABEL_MAX: usize = 255;

/// Longest post message (`text`) an ack context carries so the post keeps
/// it after the click (bytes).
pub const ACK_TEXT_MAX: usize = 255;

/// Longest `exp` value: a decimal unix time (`u64::MAX` has 20 digits).
pub const ACK_EXP_MAX: usize = 20;

/// Length of the `sig` value: HMAC-SHA256 as lowercase hex.
pub const ACK_SIG_HEX_LEN: usize = 64;

/// Longest short context value (`v`, `action`, `kind`).
pub const ACK_SHORT_MAX: usize = 16;

/// Buffer for [`crate::ack::AckContext::canonical_bytes`]: the domain prefix
/// plus every field at its maximum, with names and length prefixes. A unit
/// test proves a context at every maximum fits.
pub const ACK_CANONICAL_BUF_LEN: usize = 1536;

/// Shortest acceptable ack secret (bytes). HMAC-SHA256 keys shorter than
/// the hash output weaken it; 32 bytes is what `head -c 32 /dev/urandom`
/// gives.
pub const ACK_SECRET_MIN: usize = 32;

/// Longest Mattermost id (`user_id`, `channel_id`, `team_id`, `post_id`):
/// Mattermost ids are 26 characters; the margin tolerates other servers.
pub const CALLBACK_ID_MAX: usize = 64;

/// Longest Mattermost user, channel or team name in a callback.
pub const CALLBACK_NAME_MAX: usize = 64;

/// Longest `trigger_id` (a base64 blob of about 200 bytes on Mattermost 9/10).
pub const CALLBACK_TRIGGER_ID_MAX: usize = 512;

/// Longest `type` / `data_source` value in a callback.
pub const CALLBACK_SHORT_MAX: usize = 32;

/// Scratch buffer the callback parser unescapes one JSON string into; any
/// escaped string longer than this is refused as too long.
pub const CALLBACK_UNESCAPE_BUF_LEN: usize = 1024;

/// Largest callback body the receiver reads (64 KiB); larger is HTTP 413.
/// A real callback is under 2 KiB.
pub const CALLBACK_BODY_MAX: usize = 64 * 1024;

/// Largest external-command line, newline included: `PIPE_BUF` on Linux.
/// One `write()` of at most this many bytes to a FIFO is atomic, so two
/// receivers can never interleave their lines.
pub const COMMAND_LINE_MAX: usize = 4096;

/// Longest author or comment in an external command (bytes).
pub const COMMAND_TEXT_MAX: usize = 512;

/// Buffer for the openITCOCKPIT API body ([`crate::command::write_oitc_body`]).
pub const OITC_BODY_BUF_LEN: usize = 4096;

/// Buffer for the receiver's JSON reply ([`crate::ack_reply`]).
pub const ACK_REPLY_BUF_LEN: usize = 8192;
