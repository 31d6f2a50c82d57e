//! Every size the core uses, in one place.
//!
//! The README's "Limits" table lists these; change them here only.
//!
//! Text limits count *written* bytes: JSON escapes (`\u0007` is six bytes),
//! mention-defusing word joiners and the cut marker (`… [1234 bytes cut]`)
//! included. The renderer starts every untrusted text at its `*_MAX_LEN`
//! and, only when the payload would not fit the buffer, shrinks them in
//! order — long output, output, comment, fallback output, author, address,
//! unknown type, service name, host name — never below their `*_MIN_LEN`;
//! then it drops the decorations (title link, icon, Acknowledge button) and
//! finally the fields. With the default [`PAYLOAD_BUF_LEN`] the floors are
//! never reached in practice.

/// Default size of the buffer the payload JSON is written into (16 KiB).
///
/// Mattermost reads up to 128 KiB of a webhook body; 16 KiB leaves room for
/// plugin output that still reads well on a phone. The renderer never needs
/// more: untrusted text that does not fit is cut with a visible marker.
pub const PAYLOAD_BUF_LEN: usize = 16 * 1024;

/// Smallest buffer [`crate::render_payload`] accepts; below it the renderer
/// cannot guarantee a full message with every text at its floor and
/// returns [`crate::RenderError::BufferTooSmall`]. A test renders the
/// worst case (every configurable text at its cap, every alert text huge
/// and escape-heavy) into exactly this many bytes.
pub const MIN_PAYLOAD_BUF_LEN: usize = 2048;

/// Host or service name, per place it appears (title, fallback, field).
pub const NAME_MAX_LEN: usize = 256;
/// Floor for [`NAME_MAX_LEN`].
pub const NAME_MIN_LEN: usize = 64;

/// Host address field.
pub const ADDRESS_MAX_LEN: usize = 256;
/// Floor for [`ADDRESS_MAX_LEN`].
pub const ADDRESS_MIN_LEN: usize = 64;

/// An unknown notification type's text (known types are short words).
pub const TYPE_MAX_LEN: usize = 64;
/// Floor for [`TYPE_MAX_LEN`].
pub const TYPE_MIN_LEN: usize = 40;

/// Ack/downtime author.
pub const AUTHOR_MAX_LEN: usize = 256;
/// Floor for [`AUTHOR_MAX_LEN`].
pub const AUTHOR_MIN_LEN: usize = 64;

/// Ack/downtime comment.
pub const COMMENT_MAX_LEN: usize = 2048;
/// Floor for [`COMMENT_MAX_LEN`].
pub const COMMENT_MIN_LEN: usize = 128;

/// Plugin output (`$SERVICEOUTPUT$`) in the code block.
pub const OUTPUT_MAX_LEN: usize = 4096;
/// Floor for [`OUTPUT_MAX_LEN`]. Small because the code fence around it
/// grows with the longest backtick run in it.
pub const OUTPUT_MIN_LEN: usize = 128;

/// Long plugin output (`$LONGSERVICEOUTPUT$`) in the code block: takes
/// what the buffer has left, so it is shrunk first.
pub const LONG_OUTPUT_MAX_LEN: usize = PAYLOAD_BUF_LEN;
/// Floor for [`LONG_OUTPUT_MAX_LEN`]: at 0 only the cut marker remains.
pub const LONG_OUTPUT_MIN_LEN: usize = 0;

/// Plugin output appended to the attachment `fallback` (the push
/// notification text), which should stay short.
pub const FALLBACK_OUTPUT_MAX_LEN: usize = 160;
/// Floor for [`FALLBACK_OUTPUT_MAX_LEN`]: at 0 the fallback is the title only.
pub const FALLBACK_OUTPUT_MIN_LEN: usize = 0;

/// Footer source name; longer names are cut with a marker. Keeps the
/// footer under Mattermost's 300-character cut.
pub const SOURCE_MAX_LEN: usize = 120;

/// Channel override; a longer one is not rendered (Mattermost channel
/// names have at most 64 characters).
pub const CHANNEL_MAX_LEN: usize = 80;

/// Username override; a longer one is not rendered.
pub const USERNAME_MAX_LEN: usize = 80;

/// The deliberate mention (`@oncall`); a longer one is not rendered.
pub const MENTION_MAX_LEN: usize = 80;

/// Icon URL, title link, graph image and Acknowledge-button URL, each; a
/// longer one is not rendered.
pub const URL_MAX_LEN: usize = 1024;

/// The Acknowledge button's `integration.context` object, as written
/// (`{"k":"v",...}`); with a larger context the button is not rendered.
pub const ACK_CONTEXT_MAX_LEN: usize = 2048;

// --- Digests ----------------------------------------------------------------

/// Buffer for one digest post ([`crate::render::digest::render_digest`]):
/// a quarter of what newer servers read of a JSON body (DESIGN §3). A
/// digest that does not fit is split over more posts.
pub const DIGEST_BUF_LEN: usize = 32 * 1024;

/// Most rows one digest post carries; more are split over more posts.
pub const DIGEST_MAX_ROWS: usize = 100;

/// Longest host or service name in a digest row (bytes; cut with `…`).
pub const DIGEST_CELL_MAX: usize = 64;

/// Longest first line of output in a digest row (bytes; cut with `…`).
pub const DIGEST_OUTPUT_MAX: usize = 120;

/// Buffer for a digest's signed list ([`crate::digest_list`]): every row
/// of a post at the ack context's maximum host and service.
pub const DIGEST_LIST_BUF_LEN: usize =
    64 + DIGEST_MAX_ROWS * (ACK_HOST_MAX + ACK_SERVICE_MAX + ACK_PROBLEM_MAX + 64);

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

/// Longest `problem` value (bytes): a core's problem id is a decimal
/// number of at most 20 digits; the rest is room for ids a notify side
/// makes up for cores without them (Icinga 2). Characters are limited to
/// `A-Z a-z 0-9 . _ : -` ([`crate::ack::is_problem_id`]).
pub const ACK_PROBLEM_MAX: usize = 40;

/// Longest short context value (`v`, `action`, `kind`).
pub const ACK_SHORT_MAX: usize = 16;

/// Buffer for [`crate::ack::AckContext::canonical_bytes`]: the domain prefix
/// plus every field at its maximum, with names and length prefixes. A unit
/// test proves a context at every maximum fits.
pub const ACK_CANONICAL_BUF_LEN: usize = 2048;

/// Shortest acceptable ack secret (bytes). HMAC-SHA256 keys shorter than
/// the hash output weaken it; 32 bytes is what `head -c 32 /dev/urandom`
/// gives.
pub const ACK_SECRET_MIN: usize = 32;

/// Longest Mattermost id (`user_id`, `channel_id`, `team_id`, `post_id`):
/// Mattermost ids are 26 characters; the margin tolerates other servers.
pub const CALLBACK_ID_MAX: usize = 64;

/// Longest Mattermost user, channel or team name in a callback: 64 is
/// Mattermost's own user-name limit (`UserNameMaxLength`), and a
/// shared-channel user's `name:remote` must fit it too.
pub const CALLBACK_NAME_MAX: usize = 64;

/// Longest `trigger_id` (a base64 blob of about 200 bytes on Mattermost 9/10).
pub const CALLBACK_TRIGGER_ID_MAX: usize = 512;

/// Longest `type` / `data_source` value in a callback.
pub const CALLBACK_SHORT_MAX: usize = 32;

/// Deepest nesting of JSON objects/arrays a callback may have: the callback
/// and its `context` need 2; the slack allows fields Mattermost may add.
/// The parser recurses, so deeper input is refused before it runs.
pub const CALLBACK_MAX_DEPTH: usize = 4;

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

/// Longest comment in an external command (bytes): a dialog's comment
/// ([`DIALOG_COMMENT_MAX_CHARS`] characters) always fits.
pub const COMMAND_COMMENT_MAX: usize = 1024;

/// Buffer for the openITCOCKPIT API body ([`crate::command::write_oitc_body`]):
/// every field at its maximum with every byte escaped as `\"` fits.
pub const OITC_BODY_BUF_LEN: usize = 8192;

/// Buffer for an Icinga 2 API request body ([`crate::command::write_icinga_body`]).
pub const ICINGA_BODY_BUF_LEN: usize = 8192;

// --- Actions and dialogs ---------------------------------------------------

/// Most action buttons a post shows: three fit a phone screen side by side.
pub const MAX_VISIBLE_ACTIONS: usize = 3;

/// Shortest downtime the dialog accepts (seconds): five minutes.
pub const DOWNTIME_MIN_SECS: u64 = 300;

/// Longest downtime the dialog accepts (seconds): 30 days.
pub const DOWNTIME_MAX_SECS: u64 = 30 * 86_400;

/// How long a dialog's signed `state` stays valid after the click that
/// opened it (seconds), and never longer than the button itself.
pub const DIALOG_TTL_SECS: u64 = 900;

/// The dialog's comment element's `max_length` (characters, as Mattermost
/// counts them); 250 characters of UTF-8 are at most 1000 bytes.
pub const DIALOG_COMMENT_MAX_CHARS: usize = 250;

/// Longest comment a submission may carry (bytes); longer is answered
/// with the dialog's `errors`.
pub const DIALOG_COMMENT_MAX: usize = 1000;

/// Longest `until` or `preset` value a submission may carry (bytes).
pub const DIALOG_SHORT_MAX: usize = 32;

/// Longest dialog `state` (bytes, unescaped): the signed context with every
/// field at its limit, written as JSON.
pub const DIALOG_STATE_MAX: usize = 6144;

/// Scratch buffer the submission parser unescapes one JSON string into.
pub const DIALOG_UNESCAPE_BUF_LEN: usize = 8192;

/// Buffer for [`crate::dialog::write_dialog_open`]: a unit test writes the
/// largest request (state at its limit, escaped again) into it.
pub const DIALOG_OPEN_BUF_LEN: usize = 24 * 1024;

/// Buffer for the receiver's JSON reply ([`crate::ack_reply`]): always
/// enough. The update names the host and service (or the label) three
/// times and carries the post's message; with every context value at its
/// limit and every byte written as a six-byte escape that is about 11 KiB.
/// A unit test writes that worst case into exactly this many bytes.
pub const ACK_REPLY_BUF_LEN: usize = 32 * 1024;

/// Most bytes a backend's explanation takes in an ephemeral reply
/// ("Could not acknowledge …: <reason>"); a longer one is cut with a marker.
pub const ACK_REPLY_REASON_MAX: usize = 512;

// --- API mode: a problem's root post and its thread -------------------------

/// Most written bytes of each untrusted text in a root post's status
/// field (who acknowledged, their comment, who set the downtime).
pub const STATUS_TEXT_MAX_LEN: usize = 256;

/// Room the status field of a root post can take beyond a webhook post:
/// three texts at [`STATUS_TEXT_MAX_LEN`], four times and the fixed words.
pub const ROOT_STATUS_MAX_LEN: usize = 1536;

/// Smallest buffer a root post (creation or edit) is rendered into:
/// [`MIN_PAYLOAD_BUF_LEN`] plus [`ROOT_STATUS_MAX_LEN`]. A test renders
/// the worst case into exactly this many bytes.
pub const ROOT_MIN_BUF_LEN: usize = MIN_PAYLOAD_BUF_LEN + ROOT_STATUS_MAX_LEN;

/// Most written bytes of the plugin output's first line in a thread reply;
/// the full output is in the root post.
pub const REPLY_OUTPUT_MAX_LEN: usize = 300;

/// Buffer for a thread reply ([`crate::thread::write_thread_reply`]):
/// always enough, a unit test writes the worst case into it.
pub const REPLY_BUF_LEN: usize = 2048;

/// Longest Mattermost id a REST body carries (`channel_id`, `root_id`);
/// Mattermost's are 26 characters.
pub const POST_ID_MAX: usize = 64;
