//! Interactive dialogs (DESIGN §10): the request that opens one, the
//! signed `state` it carries, the submission Mattermost posts back, and
//! the `errors` answer that keeps it open.
//!
//! A submission names no user name and no post, and its `state` and `url`
//! come back through the user's client, so the state is the button's
//! signed context ([`crate::ack`]) extended by what the click told the
//! receiver: the post, the clicker (id and name), the channel, and the
//! button's own signature and expiry (the single-use key a submission
//! claims). It is signed under its own domain line, so a state can never
//! pass as a button context or the other way round, and it expires
//! [`DIALOG_TTL_SECS`] after the click. The receiver checks a submission
//! as it checks a click: signature, expiry, the submitting user and
//! channel against the signed ones, the allow-lists, then single use.
//!
//! Free text goes only where the command syntax allows it: the comment is
//! the last field of every command, and [`clean_comment`] replaces CR, LF
//! and every other control character with a blank, so a comment can never
//! end a command line or start another.
//!
//! ```text
//! mattermost-notify dialog state
//! v=1:2
//! action=7:comment
//! …the button's fields, exp being the state's own expiry…
//! post=26:…
//! user=26:…
//! user_name=5:alice
//! channel=26:…
//! btn=64:<the button's sig>
//! btn_exp=10:1800000000
//! ```

use crate::ack::{canonical_encoding, AckContext, AckError, AckKind, ValidAck};
use crate::actions::{Action, DOWNTIME_PRESETS};
use crate::callback::{check_depth, take, Bounded, CallbackError};
use crate::json::{JsonWriter, Overflow};
use crate::limits::{
    ACK_EXP_MAX, ACK_HOST_MAX, ACK_LABEL_MAX, ACK_PROBLEM_MAX, ACK_SERVICE_MAX, ACK_SHORT_MAX,
    ACK_SIG_HEX_LEN, ACK_TEXT_MAX, CALLBACK_ID_MAX, CALLBACK_NAME_MAX, CALLBACK_SHORT_MAX,
    DIALOG_COMMENT_MAX, DIALOG_COMMENT_MAX_CHARS, DIALOG_SHORT_MAX, DIALOG_STATE_MAX,
    DIALOG_UNESCAPE_BUF_LEN,
};
use crate::text::{write_text, Style};
use heapless::String;

pub use crate::limits::DIALOG_TTL_SECS;

/// First bytes of a dialog state's canonical encoding.
pub const DIALOG_DOMAIN: &[u8] = b"mattermost-notify dialog state\n";

/// The `callback_id` of every dialog this receiver opens.
pub const DIALOG_CALLBACK_ID: &str = "mattermostnotify";

/// A dialog state as strings, as signed or as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialogState<'a> {
    /// The button's context fields; `action` is `comment` or `downtime`,
    /// `exp` the state's own expiry.
    pub ctx: AckContext<'a>,
    /// The post the button was on.
    pub post: &'a str,
    /// The clicker's user id.
    pub user: &'a str,
    /// The clicker's user name (validated when the click was).
    pub user_name: &'a str,
    /// The channel of the post.
    pub channel: &'a str,
    /// The button's `sig`, lowercase hex: the single-use key.
    pub btn: &'a str,
    /// The button's `exp`: how long the single-use mark is kept.
    pub btn_exp: &'a str,
}

/// Why a state or a submission was refused: forged, tampered with or
/// malformed (the receiver answers 4xx and writes nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DialogError {
    /// The submission body is not a submission Mattermost would send.
    Callback(CallbackError),
    /// The state is not valid JSON of the expected shape.
    BadState,
    /// A state field is invalid.
    Context(AckError),
    /// The state's action does not open a dialog.
    NotADialogAction,
    /// `btn` or `btn_exp` is malformed, or `user_name` is not a user name.
    BadStateField(&'static str),
}

impl core::fmt::Display for DialogError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DialogError::Callback(e) => write!(f, "dialog submission: {e}"),
            DialogError::BadState => f.write_str("dialog state is not a state this receiver wrote"),
            DialogError::Context(e) => write!(f, "dialog state: {e}"),
            DialogError::NotADialogAction => f.write_str("dialog state names no dialog action"),
            DialogError::BadStateField(k) => write!(f, "dialog state field {k} is malformed"),
        }
    }
}

/// A state that passed [`DialogState::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidState<'a> {
    /// The button's target and texts; `exp` is the state's expiry.
    pub ack: ValidAck<'a>,
    /// The post.
    pub post: &'a str,
    /// The clicker's user id.
    pub user: &'a str,
    /// The clicker's user name.
    pub user_name: &'a str,
    /// The channel.
    pub channel: &'a str,
    /// The button's decoded tag.
    pub btn: [u8; 32],
    /// The button's expiry.
    pub btn_exp: u64,
}

impl<'a> DialogState<'a> {
    fn more_fields(&self) -> [(&'static str, &'a str, usize); 6] {
        [
            ("post", self.post, CALLBACK_ID_MAX),
            ("user", self.user, CALLBACK_ID_MAX),
            ("user_name", self.user_name, CALLBACK_NAME_MAX),
            ("channel", self.channel, CALLBACK_ID_MAX),
            ("btn", self.btn, ACK_SIG_HEX_LEN),
            ("btn_exp", self.btn_exp, ACK_EXP_MAX),
        ]
    }

    /// The bytes the state's signature covers; `buf` of
    /// [`crate::limits::ACK_CANONICAL_BUF_LEN`] bytes always suffices.
    pub fn canonical_bytes(&self, buf: &mut [u8]) -> Result<usize, AckError> {
        canonical_encoding(
            DIALOG_DOMAIN,
            &self.ctx.signed_fields(),
            &self.more_fields(),
            buf,
        )
    }

    /// Checks every field (not the signature, not the expiry).
    pub fn validate(&self) -> Result<ValidState<'a>, DialogError> {
        let ack = self.ctx.validate().map_err(DialogError::Context)?;
        if !ack.action.needs_dialog() {
            return Err(DialogError::NotADialogAction);
        }
        for (name, value, max) in self.more_fields() {
            if value.len() > max {
                return Err(DialogError::Context(AckError::FieldTooLong(name)));
            }
        }
        if !crate::callback::is_user_name(self.user_name) {
            return Err(DialogError::BadStateField("user_name"));
        }
        let btn =
            crate::ack::decode_sig_hex(self.btn).map_err(|_| DialogError::BadStateField("btn"))?;
        let btn_exp = (!self.btn_exp.is_empty()
            && self.btn_exp.bytes().all(|b| b.is_ascii_digit()))
        .then(|| self.btn_exp.parse::<u64>().ok())
        .flatten()
        .ok_or(DialogError::BadStateField("btn_exp"))?;
        Ok(ValidState {
            ack,
            post: self.post,
            user: self.user,
            user_name: self.user_name,
            channel: self.channel,
            btn,
            btn_exp,
        })
    }

    /// Writes the state as the dialog's `state` string (a JSON object,
    /// `sig` last) into `buf`; returns its length, at most
    /// [`DIALOG_STATE_MAX`] for fields within their limits.
    pub fn write_json(&self, sig: &str, buf: &mut [u8]) -> Result<usize, Overflow> {
        let mut w = JsonWriter::new(buf);
        w.raw("{")?;
        let c = &self.ctx;
        let pairs = c.context_pairs(sig);
        let (head, tail) = pairs.split_at(9);
        for (i, (k, v)) in head.iter().enumerate() {
            if i > 0 {
                w.raw(",")?;
            }
            w.string(k)?;
            w.raw(":")?;
            w.string(v)?;
        }
        for (k, v, _) in self.more_fields() {
            w.raw(",")?;
            w.string(k)?;
            w.raw(":")?;
            w.string(v)?;
        }
        for (k, v) in tail {
            w.raw(",")?;
            w.string(k)?;
            w.raw(":")?;
            w.string(v)?;
        }
        w.raw("}")?;
        Ok(w.len())
    }
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawState {
    v: Bounded<ACK_SHORT_MAX>,
    action: Bounded<ACK_SHORT_MAX>,
    kind: Bounded<ACK_SHORT_MAX>,
    host: Bounded<ACK_HOST_MAX>,
    service: Bounded<ACK_SERVICE_MAX>,
    problem: Bounded<ACK_PROBLEM_MAX>,
    label: Bounded<ACK_LABEL_MAX>,
    text: Bounded<ACK_TEXT_MAX>,
    exp: Bounded<ACK_EXP_MAX>,
    post: Bounded<CALLBACK_ID_MAX>,
    user: Bounded<CALLBACK_ID_MAX>,
    user_name: Bounded<CALLBACK_NAME_MAX>,
    channel: Bounded<CALLBACK_ID_MAX>,
    btn: Bounded<ACK_SIG_HEX_LEN>,
    btn_exp: Bounded<ACK_EXP_MAX>,
    sig: Bounded<ACK_SIG_HEX_LEN>,
}

/// A state as received, owned; see [`DialogState`] for the fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ReceivedState {
    pub v: String<ACK_SHORT_MAX>,
    pub action: String<ACK_SHORT_MAX>,
    pub kind: String<ACK_SHORT_MAX>,
    pub host: String<ACK_HOST_MAX>,
    pub service: String<ACK_SERVICE_MAX>,
    pub problem: String<ACK_PROBLEM_MAX>,
    pub label: String<ACK_LABEL_MAX>,
    pub text: String<ACK_TEXT_MAX>,
    pub exp: String<ACK_EXP_MAX>,
    pub post: String<CALLBACK_ID_MAX>,
    pub user: String<CALLBACK_ID_MAX>,
    pub user_name: String<CALLBACK_NAME_MAX>,
    pub channel: String<CALLBACK_ID_MAX>,
    pub btn: String<ACK_SIG_HEX_LEN>,
    pub btn_exp: String<ACK_EXP_MAX>,
    /// The state's signature (hex).
    pub sig: String<ACK_SIG_HEX_LEN>,
}

impl ReceivedState {
    /// The signed fields.
    pub fn fields(&self) -> DialogState<'_> {
        DialogState {
            ctx: AckContext {
                version: &self.v,
                action: &self.action,
                kind: &self.kind,
                host: &self.host,
                service: &self.service,
                problem: &self.problem,
                label: &self.label,
                text: &self.text,
                exp: &self.exp,
            },
            post: &self.post,
            user: &self.user,
            user_name: &self.user_name,
            channel: &self.channel,
            btn: &self.btn,
            btn_exp: &self.btn_exp,
        }
    }
}

/// Parses a submission's `state` string.
pub fn parse_state(state: &str) -> Result<ReceivedState, DialogError> {
    let bytes = state.as_bytes();
    check_depth(bytes).map_err(|_| DialogError::BadState)?;
    let mut scratch = [0u8; 2048];
    let (raw, _) = serde_json_core::from_slice_escaped::<RawState>(bytes, &mut scratch)
        .map_err(|_| DialogError::BadState)?;
    fn t<const N: usize>(name: &'static str, b: Bounded<N>) -> Result<String<N>, DialogError> {
        take(name, b).map_err(|_| DialogError::BadState)
    }
    Ok(ReceivedState {
        v: t("v", raw.v)?,
        action: t("action", raw.action)?,
        kind: t("kind", raw.kind)?,
        host: t("host", raw.host)?,
        service: t("service", raw.service)?,
        problem: t("problem", raw.problem)?,
        label: t("label", raw.label)?,
        text: t("text", raw.text)?,
        exp: t("exp", raw.exp)?,
        post: t("post", raw.post)?,
        user: t("user", raw.user)?,
        user_name: t("user_name", raw.user_name)?,
        channel: t("channel", raw.channel)?,
        btn: t("btn", raw.btn)?,
        btn_exp: t("btn_exp", raw.btn_exp)?,
        sig: t("sig", raw.sig)?,
    })
}

/// What the dialog for one click says.
#[derive(Debug, Clone, Copy)]
pub struct DialogOpen<'a> {
    /// The click's `trigger_id`.
    pub trigger_id: &'a str,
    /// Where the submission goes (the receiver's dialog URL).
    pub url: &'a str,
    /// The action and what it is for (from the verified button).
    pub ack: ValidAck<'a>,
    /// The state string ([`DialogState::write_json`]).
    pub state: &'a str,
    /// The notify box's default (`MATTERMOST_ACK_NOTIFY`).
    pub notify_default: bool,
}

/// Writes the `POST /api/v4/actions/dialogs/open` body into `buf`; returns
/// its length. [`crate::limits::DIALOG_OPEN_BUF_LEN`] always suffices.
///
/// Comment: a textarea `comment` (required, at most
/// [`DIALOG_COMMENT_MAX_CHARS`] characters) and the `sticky` and `notify`
/// boxes. Downtime: a select `preset` ([`DOWNTIME_PRESETS`]), a text
/// `until`, an optional textarea `comment`, and for a host the box
/// `services` (on by default).
pub fn write_dialog_open(d: &DialogOpen<'_>, buf: &mut [u8]) -> Result<usize, Overflow> {
    let mut w = JsonWriter::new(buf);
    w.raw("{\"trigger_id\":")?;
    w.string(d.trigger_id)?;
    w.raw(",\"url\":")?;
    w.string(d.url)?;
    w.raw(",\"dialog\":{\"callback_id\":")?;
    w.string(DIALOG_CALLBACK_ID)?;
    // Titles stay within Mattermost's 24 characters.
    let (title, submit, intro) = match d.ack.action {
        Action::Downtime => (
            "Schedule a downtime",
            "Schedule",
            "Schedule a downtime for ",
        ),
        _ => ("Acknowledge", "Acknowledge", "Acknowledge "),
    };
    w.raw(",\"title\":")?;
    w.string(title)?;
    w.raw(",\"introduction_text\":\"")?;
    w.raw(intro)?;
    write_what(&mut w, &d.ack)?;
    w.raw(".\",\"elements\":[")?;
    let max = DIALOG_COMMENT_MAX_CHARS as u64;
    match d.ack.action {
        Action::Downtime => {
            w.raw("{\"display_name\":\"For\",\"name\":\"preset\",\"type\":\"select\",\"default\":\"1h\",\"options\":[")?;
            for (i, p) in DOWNTIME_PRESETS.iter().enumerate() {
                if i > 0 {
                    w.raw(",")?;
                }
                w.raw("{\"text\":")?;
                w.string(p.text())?;
                w.raw(",\"value\":")?;
                w.string(p.value())?;
                w.raw("}")?;
            }
            w.raw(
                "]},{\"display_name\":\"Until (UTC)\",\"name\":\"until\",\"type\":\"text\",\
                 \"optional\":true,\"max_length\":32,\"placeholder\":\"HH:MM or YYYY-MM-DD HH:MM\",\
                 \"help_text\":\"Used with \\\"Until the time below\\\"; from 5 minutes to 30 days ahead.\"},\
                 {\"display_name\":\"Comment\",\"name\":\"comment\",\"type\":\"textarea\",\
                 \"optional\":true,\"max_length\":",
            )?;
            w.uint(max)?;
            w.raw("}")?;
            if d.ack.kind == AckKind::Host {
                w.raw(
                    ",{\"display_name\":\"Services\",\"name\":\"services\",\"type\":\"bool\",\
                     \"placeholder\":\"Its services too\",\"default\":\"true\",\"optional\":true}",
                )?;
            }
        }
        _ => {
            w.raw(
                "{\"display_name\":\"Comment\",\"name\":\"comment\",\"type\":\"textarea\",\
                 \"max_length\":",
            )?;
            w.uint(max)?;
            w.raw(
                "},{\"display_name\":\"Sticky\",\"name\":\"sticky\",\"type\":\"bool\",\
                 \"placeholder\":\"Until the problem is over\",\"default\":\"true\",\"optional\":true},\
                 {\"display_name\":\"Notify\",\"name\":\"notify\",\"type\":\"bool\",\
                 \"placeholder\":\"Tell the contacts\",\"default\":",
            )?;
            w.string(if d.notify_default { "true" } else { "false" })?;
            w.raw(",\"optional\":true}")?;
        }
    }
    w.raw("],\"submit_label\":")?;
    w.string(submit)?;
    w.raw(",\"notify_on_cancel\":false,\"state\":")?;
    w.string(d.state)?;
    w.raw("}}")?;
    Ok(w.len())
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawFields {
    comment: Option<Bounded<DIALOG_COMMENT_MAX>>,
    // Checkboxes: Mattermost sends JSON booleans (or null).
    sticky: Option<bool>,
    notify: Option<bool>,
    preset: Option<Bounded<DIALOG_SHORT_MAX>>,
    until: Option<Bounded<DIALOG_SHORT_MAX>>,
    services: Option<bool>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawSubmission {
    #[serde(rename = "type")]
    kind: Bounded<CALLBACK_SHORT_MAX>,
    callback_id: Bounded<CALLBACK_SHORT_MAX>,
    state: Bounded<DIALOG_STATE_MAX>,
    user_id: Bounded<CALLBACK_ID_MAX>,
    channel_id: Bounded<CALLBACK_ID_MAX>,
    team_id: Bounded<CALLBACK_ID_MAX>,
    cancelled: bool,
    submission: Option<RawFields>,
}

/// A submission's values, bounded; `None` when absent or `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    /// `callback_id`.
    pub callback_id: String<CALLBACK_SHORT_MAX>,
    /// The signed state as a string ([`parse_state`] reads it).
    pub state: String<DIALOG_STATE_MAX>,
    /// The submitting user's id.
    pub user_id: String<CALLBACK_ID_MAX>,
    /// The channel.
    pub channel_id: String<CALLBACK_ID_MAX>,
    /// The team.
    pub team_id: String<CALLBACK_ID_MAX>,
    /// The user closed the dialog.
    pub cancelled: bool,
    /// The comment as typed (not yet [`clean_comment`]ed).
    pub comment: Option<String<DIALOG_COMMENT_MAX>>,
    /// `true` when the comment was longer than [`DIALOG_COMMENT_MAX`]:
    /// answered with `errors`, not with a cut comment.
    pub comment_too_long: bool,
    /// The sticky box.
    pub sticky: Option<bool>,
    /// The notify box.
    pub notify: Option<bool>,
    /// The downtime preset's value.
    pub preset: Option<String<DIALOG_SHORT_MAX>>,
    /// The `until` text; `None` also when it was over
    /// [`DIALOG_SHORT_MAX`] ([`Submission::until_too_long`]).
    pub until: Option<String<DIALOG_SHORT_MAX>>,
    /// The `until` text was too long.
    pub until_too_long: bool,
    /// A too long preset (an unknown preset, whatever it says).
    pub preset_too_long: bool,
    /// The services box.
    pub services: Option<bool>,
}

/// Parses a dialog submission (DESIGN §10). A `type` other than
/// `dialog_submission` or a `callback_id` other than
/// [`DIALOG_CALLBACK_ID`] is refused; so is anything a real submission
/// cannot be (wrong types, too deep, fields over their limits). The
/// values of the elements are bounded but not judged here.
pub fn parse_submission(body: &[u8]) -> Result<Submission, DialogError> {
    let cb = DialogError::Callback;
    check_depth(body).map_err(cb)?;
    let mut scratch = [0u8; DIALOG_UNESCAPE_BUF_LEN];
    let (raw, _) = serde_json_core::from_slice_escaped::<RawSubmission>(body, &mut scratch)
        .map_err(|e| match e {
            serde_json_core::de::Error::EscapedStringIsTooLong => {
                cb(CallbackError::EscapedStringTooLong)
            }
            serde_json_core::de::Error::CustomError | serde_json_core::de::Error::InvalidType => {
                cb(CallbackError::WrongType)
            }
            _ => cb(CallbackError::Malformed),
        })?;
    let kind = take("type", raw.kind).map_err(cb)?;
    if kind.as_str() != "dialog_submission" {
        return Err(cb(CallbackError::WrongType));
    }
    let callback_id = take("callback_id", raw.callback_id).map_err(cb)?;
    if callback_id.as_str() != DIALOG_CALLBACK_ID {
        return Err(DialogError::BadState);
    }
    let fields = raw.submission.unwrap_or_default();
    let opt = |b: Option<Bounded<DIALOG_SHORT_MAX>>| match b {
        Some(b) if !b.too_long => (Some(b.value), false),
        Some(_) => (None, true),
        None => (None, false),
    };
    let (preset, preset_too_long) = opt(fields.preset);
    let (until, until_too_long) = opt(fields.until);
    let (comment, comment_too_long) = match fields.comment {
        Some(b) if !b.too_long => (Some(b.value), false),
        Some(_) => (None, true),
        None => (None, false),
    };
    Ok(Submission {
        callback_id,
        state: take("state", raw.state).map_err(cb)?,
        user_id: take("user_id", raw.user_id).map_err(cb)?,
        channel_id: take("channel_id", raw.channel_id).map_err(cb)?,
        team_id: take("team_id", raw.team_id).map_err(cb)?,
        cancelled: raw.cancelled,
        comment,
        comment_too_long,
        sticky: fields.sticky,
        notify: fields.notify,
        preset,
        until,
        until_too_long,
        preset_too_long,
        services: fields.services,
    })
}

/// Writes `comment` into `out` with CR, LF, tab, every other control
/// character and U+2028/U+2029 replaced by a blank, blanks at both ends
/// trimmed; returns the clean text. `out` of [`DIALOG_COMMENT_MAX`] bytes
/// always suffices for a comment a submission can carry; a longer one is
/// cut at a character boundary.
pub fn clean_comment<'b>(comment: &str, out: &'b mut [u8]) -> &'b str {
    let mut len = 0;
    for c in comment.trim().chars() {
        let c = if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            ' '
        } else {
            c
        };
        let mut tmp = [0u8; 4];
        let enc = c.encode_utf8(&mut tmp).as_bytes();
        let end = len + enc.len();
        match out.get_mut(len..end) {
            Some(dst) => dst.copy_from_slice(enc),
            None => break,
        }
        len = end;
    }
    let s = out
        .get(..len)
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("");
    s.trim()
}

/// A problem with one element of a submission, answered with the dialog's
/// own `errors` so the dialog stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldProblem {
    /// The comment is required and empty.
    CommentMissing,
    /// The comment is longer than [`DIALOG_COMMENT_MAX_CHARS`] allows.
    CommentTooLong,
    /// The preset is not one the dialog offers.
    UnknownPreset,
    /// `until` is needed and empty.
    UntilMissing,
    /// `until` is not `HH:MM` or `YYYY-MM-DD HH:MM`.
    UntilUnreadable,
    /// The end is less than five minutes away.
    UntilTooSoon,
    /// The end is more than 30 days away.
    UntilTooFar,
}

impl FieldProblem {
    /// The element it belongs to.
    pub fn element(self) -> &'static str {
        match self {
            FieldProblem::CommentMissing | FieldProblem::CommentTooLong => "comment",
            FieldProblem::UnknownPreset => "preset",
            _ => "until",
        }
    }

    /// What the person reads under the element.
    pub fn message(self) -> &'static str {
        match self {
            FieldProblem::CommentMissing => "Write a comment.",
            FieldProblem::CommentTooLong => "At most 250 characters, please.",
            FieldProblem::UnknownPreset => "Choose one of the offered lengths.",
            FieldProblem::UntilMissing => {
                "Give the end time, e.g. 18:30 or 2026-12-24 08:00 (UTC)."
            }
            FieldProblem::UntilUnreadable => "Write HH:MM or YYYY-MM-DD HH:MM (UTC).",
            FieldProblem::UntilTooSoon => "The end must be at least 5 minutes from now.",
            FieldProblem::UntilTooFar => "The end must be at most 30 days from now.",
        }
    }

    /// A few words for the receiver's log line.
    pub fn reason(self) -> &'static str {
        match self {
            FieldProblem::CommentMissing => "comment missing",
            FieldProblem::CommentTooLong => "comment too long",
            FieldProblem::UnknownPreset => "unknown preset",
            FieldProblem::UntilMissing => "until missing",
            FieldProblem::UntilUnreadable => "until unreadable",
            FieldProblem::UntilTooSoon => "downtime too short",
            FieldProblem::UntilTooFar => "downtime too long",
        }
    }
}

impl From<crate::actions::DowntimeError> for FieldProblem {
    fn from(e: crate::actions::DowntimeError) -> Self {
        use crate::actions::DowntimeError as E;
        match e {
            E::UnknownPreset => FieldProblem::UnknownPreset,
            E::MissingUntil => FieldProblem::UntilMissing,
            E::BadUntil => FieldProblem::UntilUnreadable,
            E::TooSoon => FieldProblem::UntilTooSoon,
            E::TooFar => FieldProblem::UntilTooFar,
        }
    }
}

/// Writes `{"errors":{"<element>":"<message>"}}` into `buf`.
pub fn write_dialog_errors(p: FieldProblem, buf: &mut [u8]) -> Result<usize, Overflow> {
    let mut w = JsonWriter::new(buf);
    w.raw("{\"errors\":{")?;
    w.string(p.element())?;
    w.raw(":")?;
    w.string(p.message())?;
    w.raw("}}")?;
    Ok(w.len())
}

/// The label, or `host` / `service on host`, defused.
pub(crate) fn write_what(w: &mut JsonWriter<'_>, ack: &ValidAck<'_>) -> Result<(), Overflow> {
    if !ack.label.is_empty() {
        return write_text(w, ack.label, Style::Defused);
    }
    match ack.kind {
        AckKind::Host => write_text(w, ack.host, Style::Defused),
        AckKind::Service => {
            write_text(w, ack.service, Style::Defused)?;
            w.raw(" on ")?;
            write_text(w, ack.host, Style::Defused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{ACK_CANONICAL_BUF_LEN, CALLBACK_TRIGGER_ID_MAX, DIALOG_OPEN_BUF_LEN};

    fn state() -> DialogState<'static> {
        DialogState {
            ctx: AckContext {
                version: "2",
                action: "comment",
                kind: "service",
                host: "web1",
                service: "http",
                problem: "4711",
                label: "",
                text: "",
                exp: "1800000900",
            },
            post: "p0st1d",
            user: "us3r1d",
            user_name: "alice",
            channel: "chann3l",
            btn: "ab".repeat(32).leak(),
            btn_exp: "1800000000",
        }
    }

    fn canon(s: &DialogState<'_>) -> Vec<u8> {
        let mut buf = [0u8; ACK_CANONICAL_BUF_LEN];
        let n = s.canonical_bytes(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn a_state_is_never_a_button_context() {
        let s = state();
        let c = canon(&s);
        assert!(c.starts_with(DIALOG_DOMAIN));
        let mut buf = [0u8; ACK_CANONICAL_BUF_LEN];
        let n = s.ctx.canonical_bytes(&mut buf).unwrap();
        assert!(!c.starts_with(&buf[..n]));
        // Every extension field is signed.
        for other in [
            DialogState { post: "other", ..s },
            DialogState { user: "other", ..s },
            DialogState {
                user_name: "bob",
                ..s
            },
            DialogState {
                channel: "other",
                ..s
            },
            DialogState { btn_exp: "1", ..s },
        ] {
            assert_ne!(canon(&other), c);
        }
    }

    #[test]
    fn state_json_round_trips_and_validates() {
        let mut buf = [0u8; DIALOG_STATE_MAX];
        let sig = "cd".repeat(32);
        let n = state().write_json(&sig, &mut buf).unwrap();
        let text = core::str::from_utf8(&buf[..n]).unwrap();
        let got = parse_state(text).unwrap();
        assert_eq!(got.fields(), state());
        assert_eq!(got.sig.as_str(), sig);
        let v = got.fields().validate().unwrap();
        assert_eq!(v.ack.action, Action::Comment);
        assert_eq!(v.btn, [0xab; 32]);
        assert_eq!(v.btn_exp, 1_800_000_000);
        // A plain ack action cannot be a dialog's.
        let ack = DialogState {
            ctx: AckContext {
                action: "ack",
                ..state().ctx
            },
            ..state()
        };
        assert_eq!(ack.validate(), Err(DialogError::NotADialogAction));
        let bad = DialogState {
            user_name: "@all",
            ..state()
        };
        assert_eq!(bad.validate(), Err(DialogError::BadStateField("user_name")));
        assert_eq!(parse_state("{\"v\":1}"), Err(DialogError::BadState));
        assert_eq!(parse_state("nope").map(|_| ()), Err(DialogError::BadState));
    }

    #[test]
    fn the_largest_state_fits_and_the_largest_open_request_too() {
        let h = "\"".repeat(ACK_HOST_MAX);
        let l = "\u{1}".repeat(ACK_LABEL_MAX);
        let id = "i".repeat(CALLBACK_ID_MAX);
        let s = DialogState {
            ctx: AckContext {
                version: "2",
                action: "downtime",
                kind: "host",
                host: &h,
                service: "",
                problem: "p",
                label: &l,
                text: &l,
                exp: "99999999999999999999",
            },
            post: &id,
            user: &id,
            user_name: "a".repeat(CALLBACK_NAME_MAX).leak(),
            channel: &id,
            btn: "ab".repeat(32).leak(),
            btn_exp: "99999999999999999999",
        };
        let mut buf = [0u8; DIALOG_STATE_MAX];
        let n = s.write_json(&"f".repeat(64), &mut buf).unwrap();
        let text = core::str::from_utf8(&buf[..n]).unwrap();
        let mut open = [0u8; DIALOG_OPEN_BUF_LEN];
        let url = "u".repeat(crate::limits::URL_MAX_LEN);
        let ack = ValidAck {
            action: Action::Downtime,
            kind: AckKind::Host,
            host: &h,
            service: "",
            problem: "p",
            label: &l,
            text: "",
            exp: 0,
        };
        let trigger = "t".repeat(CALLBACK_TRIGGER_ID_MAX);
        let d = DialogOpen {
            trigger_id: &trigger,
            url: &url,
            ack,
            state: text,
            notify_default: false,
        };
        let n = write_dialog_open(&d, &mut open).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&open[..n]).unwrap();
        assert_eq!(v["dialog"]["state"], text);
    }

    fn open(action: Action, kind: AckKind) -> serde_json::Value {
        let ack = ValidAck {
            action,
            kind,
            host: "web1",
            service: if kind == AckKind::Host { "" } else { "http" },
            problem: "4711",
            label: "",
            text: "",
            exp: 0,
        };
        let mut buf = [0u8; DIALOG_OPEN_BUF_LEN];
        let d = DialogOpen {
            trigger_id: "trig",
            url: "https://mon.example/ack/dialog",
            ack,
            state: "{\"v\":\"2\"}",
            notify_default: true,
        };
        let n = write_dialog_open(&d, &mut buf).unwrap();
        serde_json::from_slice(&buf[..n]).unwrap()
    }

    #[test]
    fn dialogs_ask_what_the_action_needs() {
        let c = open(Action::Comment, AckKind::Service);
        assert_eq!(c["trigger_id"], "trig");
        assert_eq!(c["url"], "https://mon.example/ack/dialog");
        let d = &c["dialog"];
        assert_eq!(d["callback_id"], DIALOG_CALLBACK_ID);
        assert!(d["title"].as_str().unwrap().chars().count() <= 24);
        assert_eq!(d["introduction_text"], "Acknowledge http on web1.");
        assert_eq!(d["state"], "{\"v\":\"2\"}");
        let names: Vec<&str> = d["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["comment", "sticky", "notify"]);
        assert_eq!(d["elements"][0]["max_length"], 250);
        assert_eq!(d["elements"][2]["default"], "true");
        let h = open(Action::Downtime, AckKind::Host);
        let d = &h["dialog"];
        assert!(d["title"].as_str().unwrap().chars().count() <= 24);
        let names: Vec<&str> = d["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["preset", "until", "comment", "services"]);
        let values: Vec<&str> = d["elements"][0]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["1h", "4h", "1d", "until"]);
        let s = open(Action::Downtime, AckKind::Service);
        assert_eq!(s["dialog"]["elements"].as_array().unwrap().len(), 3);
    }

    fn submission(fields: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": "dialog_submission", "callback_id": DIALOG_CALLBACK_ID,
            "state": "{}", "user_id": "u", "channel_id": "c", "team_id": "t",
            "cancelled": false, "submission": fields,
        }))
        .unwrap()
    }

    #[test]
    fn submissions_parse_with_bounds() {
        let s = parse_submission(&submission(serde_json::json!({
            "comment": "a;b\nc", "sticky": true, "notify": false, "preset": "1h",
            "until": null, "services": false,
        })))
        .unwrap();
        assert_eq!(s.comment.as_deref(), Some("a;b\nc"));
        assert_eq!(
            (s.sticky, s.notify, s.services),
            (Some(true), Some(false), Some(false))
        );
        assert_eq!(s.preset.as_deref(), Some("1h"));
        assert_eq!(s.until, None);
        let long = "x".repeat(DIALOG_COMMENT_MAX + 1);
        let s = parse_submission(&submission(serde_json::json!({ "comment": long }))).unwrap();
        assert!(s.comment_too_long && s.comment.is_none());
        let s =
            parse_submission(&submission(serde_json::json!({ "preset": "x".repeat(40) }))).unwrap();
        assert!(s.preset_too_long);
        // Not a submission, another dialog, a nested trap.
        let mut v: serde_json::Value =
            serde_json::from_slice(&submission(serde_json::json!({}))).unwrap();
        v["type"] = "button".into();
        assert!(parse_submission(&serde_json::to_vec(&v).unwrap()).is_err());
        v["type"] = "dialog_submission".into();
        v["callback_id"] = "other".into();
        assert_eq!(
            parse_submission(&serde_json::to_vec(&v).unwrap()),
            Err(DialogError::BadState)
        );
        assert!(parse_submission(b"{\"submission\":{\"a\":[[[[[1]]]]]}}").is_err());
        assert!(parse_submission(&submission(serde_json::json!({ "sticky": "yes" }))).is_err());
    }

    #[test]
    fn comments_lose_every_line_break_and_control() {
        let mut out = [0u8; DIALOG_COMMENT_MAX];
        assert_eq!(
            clean_comment(" a\r\nb\u{0}c\td\u{2028}e\u{85}f; g ", &mut out),
            "a  b c d e f; g"
        );
        let mut small = [0u8; 3];
        assert_eq!(clean_comment("aé€", &mut small), "aé");
        let mut out = [0u8; DIALOG_COMMENT_MAX];
        assert_eq!(clean_comment("\n\n", &mut out), "");
    }

    #[test]
    fn errors_name_the_element() {
        let mut buf = [0u8; 256];
        let n = write_dialog_errors(FieldProblem::UntilTooFar, &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"errors":{"until":"The end must be at most 30 days from now."}})
        );
        assert_eq!(FieldProblem::UnknownPreset.element(), "preset");
        assert_eq!(FieldProblem::CommentTooLong.element(), "comment");
    }
}
