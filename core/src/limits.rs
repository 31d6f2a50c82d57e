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
