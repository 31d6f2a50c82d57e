//! The receiver's answer to a button click (DESIGN §4) when the click
//! could not be honoured: `{"ephemeral_text":…}` alone ([`Declined`]:
//! expired, not allowed, already used, no longer the current problem,
//! backend down…), which leaves the post as it was; for a dialog
//! submission the same words as the dialog's `errors`, which keep it open.
//! What a carried-out action looks like is [`crate::action_reply`]'s.
//! Every word of both is decided here.
//!
//! Mattermost replaces the post's message with `update.message` and its
//! props with `update.props`, so the update carries the message the notify
//! side signed into the context (`text`: the configured mention or empty,
//! written verbatim as the post wrote it) and one new attachment without
//! the button: the acknowledged colour, a title naming the host or service,
//! and who acknowledged it and when.
//!
//! Host, service and label come from the monitored side, so they are
//! written exactly as the post writes them: through [`write_text`] in
//! [`Style::Defused`], the renderer's own code, so `@all` or `<!channel>`
//! in a name can mention no one here either. The clicker's name is a
//! validated user name ([`crate::callback::is_user_name`]), so `@user`
//! mentions exactly them.

use crate::ack::{ValidAck, ValidDigestAck};
use crate::actions::Action;
use crate::dialog::write_what;
use crate::json::{JsonWriter, Overflow};
use crate::limits::ACK_REPLY_REASON_MAX;
use crate::render::UtcTime;
use crate::text::{Budgeted, Style};

/// Colour of an acknowledged post: the blue the original module uses for
/// informational notifications (DESIGN §6), distinct from every state colour.
pub const ACK_COLOR: &str = "#1895f5";

/// Why a reply could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyError {
    /// The buffer is shorter than [`crate::limits::ACK_REPLY_BUF_LEN`] and
    /// the reply did not fit.
    BufferTooSmall,
}

impl core::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("reply does not fit its buffer")
    }
}

impl From<Overflow> for ReplyError {
    fn from(_: Overflow) -> Self {
        ReplyError::BufferTooSmall
    }
}

/// Why a click gets only an ephemeral explanation, shown to the clicker,
/// with the post left unchanged (HTTP 200: the click was genuine, it just
/// cannot be carried out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Declined<'a> {
    /// The button's `exp` has passed.
    Expired,
    /// A version 1 button, posted by an older release: it names no
    /// problem, so it cannot be checked against the current one.
    OldVersion,
    /// The user name is not in `MATTERMOST_ALLOWED_USERS`.
    UserNotAllowed,
    /// The user id is not in `MATTERMOST_ALLOWED_USER_IDS`.
    UserIdNotAllowed,
    /// The team is not in `MATTERMOST_ALLOWED_TEAMS`.
    TeamNotAllowed,
    /// The channel is not in `MATTERMOST_ALLOWED_CHANNELS`.
    ChannelNotAllowed,
    /// This very button already acknowledged its problem.
    AlreadyUsed(ValidAck<'a>),
    /// The button's problem is no longer the current one of its host or
    /// service on this node (a newer problem replaced it).
    NotCurrent(ValidAck<'a>),
    /// The button's problem has recovered.
    Recovered(ValidAck<'a>),
    /// The receiver could not record the click, so it did not carry it out
    /// (a single-use record it cannot write is a button it cannot protect).
    NotRecorded(ValidAck<'a>),
    /// API mode: the click did not come from the problem's root post (an
    /// older post of the same problem, or a copy), so it is not carried
    /// out there.
    NotRoot(ValidAck<'a>),
    /// The receiver does not carry out this action (it is not in its
    /// `MATTERMOST_ACTIONS`).
    ActionNotAllowed(ValidAck<'a>),
    /// The action needs a dialog and the receiver has no
    /// `MATTERMOST_URL` to open one at.
    NoDialogs(ValidAck<'a>),
    /// Mattermost did not open the dialog; `reason` explains.
    DialogFailed {
        /// What the dialog was for.
        ack: ValidAck<'a>,
        /// Why, for a person.
        reason: &'a str,
    },
    /// A dialog was submitted after its state expired.
    DialogExpired(ValidAck<'a>),
    /// The backend could not carry out the action; `reason` is its explanation for
    /// a person (a sentence ending in a full stop), cut to
    /// [`ACK_REPLY_REASON_MAX`] written bytes with a marker if longer.
    BackendFailed {
        /// What was to be acknowledged.
        ack: ValidAck<'a>,
        /// The backend's explanation.
        reason: &'a str,
    },
}

impl Declined<'_> {
    /// A few words for the receiver's log line (`refused: <reason>`).
    pub fn reason(&self) -> &'static str {
        match self {
            Declined::Expired => "button expired",
            Declined::OldVersion => "button from an older version (context v1)",
            Declined::UserNotAllowed => "user name not in the allowed users",
            Declined::UserIdNotAllowed => "user id not in the allowed user ids",
            Declined::TeamNotAllowed => "team not in the allowed teams",
            Declined::ChannelNotAllowed => "channel not in the allowed channels",
            Declined::AlreadyUsed(_) => "button already used",
            Declined::NotCurrent(_) => "problem no longer current",
            Declined::Recovered(_) => "problem recovered",
            Declined::NotRecorded(_) => "click could not be recorded",
            Declined::NotRoot(_) => "click not from the problem's root post",
            Declined::ActionNotAllowed(_) => "action not in the receiver's actions",
            Declined::NoDialogs(_) => "dialog needs MATTERMOST_URL",
            Declined::DialogFailed { .. } => "dialog not opened",
            Declined::DialogExpired(_) => "dialog expired",
            Declined::BackendFailed { .. } => "backend failed",
        }
    }
}

/// Writes `{"ephemeral_text":…}` explaining `why` into `buf`; returns its
/// length. [`crate::limits::ACK_REPLY_BUF_LEN`] bytes always suffice.
pub fn write_declined_reply(why: &Declined<'_>, buf: &mut [u8]) -> Result<usize, ReplyError> {
    let mut w = JsonWriter::new(buf);
    w.raw("{\"ephemeral_text\":\"")?;
    write_declined_text(why, &mut w)?;
    w.raw("\"}")?;
    Ok(w.len())
}

/// Writes `{"errors":{"comment":…}}` explaining `why` into `buf`: the
/// answer to a dialog submission that cannot be carried out, shown in the
/// dialog (every dialog this receiver opens has a `comment` element).
pub fn write_declined_errors(why: &Declined<'_>, buf: &mut [u8]) -> Result<usize, ReplyError> {
    let mut w = JsonWriter::new(buf);
    w.raw("{\"errors\":{\"comment\":\"")?;
    write_declined_text(why, &mut w)?;
    w.raw("\"}}")?;
    Ok(w.len())
}

/// What to do, and what not done, per action.
fn verb(a: Action) -> (&'static str, &'static str) {
    match a {
        Action::Ack | Action::Comment => ("acknowledge", "acknowledged"),
        Action::Downtime => ("schedule a downtime for", "put into downtime"),
        Action::Recheck => ("ask for a recheck of", "rechecked"),
        Action::Unack => ("remove the acknowledgement of", "unacknowledged"),
    }
}

fn write_declined_text(why: &Declined<'_>, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
    const INSTEAD: &str = "Use the monitoring interface instead.";
    const NOT_HERE: &str = "You cannot act on problems from Mattermost here: ";
    match why {
        Declined::Expired => {
            w.raw("This button has expired. ")?;
            w.raw(INSTEAD)?;
        }
        Declined::OldVersion => {
            w.raw(
                "This button was posted by an older version of \
                 mattermost-notify and no longer works. ",
            )?;
            w.raw(INSTEAD)?;
        }
        Declined::UserNotAllowed => {
            w.raw(NOT_HERE)?;
            w.raw("your user name is not on the list of allowed users.")?;
        }
        Declined::UserIdNotAllowed => {
            w.raw(NOT_HERE)?;
            w.raw("your user id is not on the list of allowed user ids.")?;
        }
        Declined::TeamNotAllowed => {
            w.raw(NOT_HERE)?;
            w.raw("this team is not on the list of allowed teams.")?;
        }
        Declined::ChannelNotAllowed => {
            w.raw(NOT_HERE)?;
            w.raw("this channel is not on the list of allowed channels.")?;
        }
        Declined::AlreadyUsed(ack) => {
            w.raw("This button already ")?;
            w.raw(verb(ack.action).1)?;
            w.raw(" ")?;
            write_what(w, ack)?;
            w.raw("; it cannot be used again.")?;
        }
        Declined::ActionNotAllowed(ack) => {
            w.raw("This receiver does not ")?;
            w.raw(verb(ack.action).0)?;
            w.raw(" problems from Mattermost; use the monitoring interface.")?;
        }
        Declined::NoDialogs(ack) => {
            w.raw(
                "This button opens a dialog, and the receiver cannot open one here \
                   (MATTERMOST_URL is not set). Use the monitoring interface to ",
            )?;
            w.raw(verb(ack.action).0)?;
            w.raw(" ")?;
            write_what(w, ack)?;
            w.raw(".")?;
        }
        Declined::DialogFailed { ack, reason } => {
            w.raw("Could not open the dialog for ")?;
            write_what(w, ack)?;
            w.raw(": ")?;
            Budgeted::plan(reason, Style::Defused, ACK_REPLY_REASON_MAX).write(w)?;
        }
        Declined::DialogExpired(ack) => {
            w.raw("This dialog was open too long. Close it and click the button for ")?;
            write_what(w, ack)?;
            w.raw(" again.")?;
        }
        Declined::NotCurrent(ack) => {
            write_what(w, ack)?;
            w.raw(
                " has a newer problem than the one this button was posted for. \
                 Use its latest post or the monitoring interface.",
            )?;
        }
        Declined::Recovered(ack) => {
            write_what(w, ack)?;
            w.raw(" has recovered since this button was posted; there is nothing to do.")?;
        }
        Declined::NotRecorded(ack) => {
            w.raw("The receiver could not record this click, so ")?;
            write_what(w, ack)?;
            w.raw(" was left as it is. Try again, or use the monitoring interface.")?;
        }
        Declined::NotRoot(ack) => {
            w.raw("This is not the current post of ")?;
            write_what(w, ack)?;
            w.raw(". Use its latest post or the monitoring interface.")?;
        }
        Declined::BackendFailed { ack, reason } => {
            w.raw("Could not ")?;
            w.raw(verb(ack.action).0)?;
            w.raw(" ")?;
            write_what(w, ack)?;
            w.raw(": ")?;
            Budgeted::plan(reason, Style::Defused, ACK_REPLY_REASON_MAX).write(w)?;
        }
    }
    Ok(())
}

/// What an **Acknowledge all** click of a digest did, item by item.
#[derive(Debug, Clone, Copy)]
pub struct DigestAcked<'a> {
    /// The digest's context.
    pub ack: ValidDigestAck<'a>,
    /// The clicker's Mattermost user name (validated).
    pub user_name: &'a str,
    /// When, unix seconds.
    pub acked_at: u64,
    /// Problems acknowledged now.
    pub acked: usize,
    /// Problems someone had acknowledged from this digest already.
    pub already: usize,
    /// Problems that have recovered or were followed by a newer one.
    pub stale: usize,
    /// Problems the backend (or the single-use record) could not take.
    pub failed: usize,
}

/// Writes the reply to **Acknowledge all**: when anything was
/// acknowledged, the post's message (the signed headline) gains who and
/// when, its table and menu stay (`props` omitted); the clicker reads the
/// counts. [`crate::limits::ACK_REPLY_BUF_LEN`] bytes always suffice.
pub fn write_digest_reply(p: &DigestAcked<'_>, buf: &mut [u8]) -> Result<usize, ReplyError> {
    let mut w = JsonWriter::new(buf);
    w.raw("{")?;
    if p.acked > 0 {
        w.raw("\"update\":{\"message\":\"")?;
        // The signed headline: digits and fixed words (and a configured
        // mention, verbatim, as the post wrote it).
        w.escaped(p.ack.text)?;
        w.raw("\\n✔️ Acknowledged by @")?;
        w.escaped(p.user_name)?;
        w.raw(" at ")?;
        UtcTime::from_unix(p.acked_at).write(&mut w)?;
        w.raw("\"},")?;
    }
    w.raw("\"ephemeral_text\":\"")?;
    let counted = [
        (p.acked, "You acknowledged ", " problem(s) of this digest."),
        (p.already, " ", " had been acknowledged already."),
        (p.stale, " ", " had recovered or have a newer problem."),
        (
            p.failed,
            " ",
            " could not be acknowledged: try again, or use the monitoring interface.",
        ),
    ];
    if p.acked == 0 {
        w.raw("Nothing was acknowledged.")?;
    }
    for (n, before, after) in counted {
        if n > 0 {
            w.raw(before)?;
            w.uint(n as u64)?;
            w.raw(after)?;
        }
    }
    w.raw("\"}")?;
    Ok(w.len())
}

/// Writes the reply to a problem acknowledged from a digest's menu: for
/// the clicker only; the digest keeps its table and menu for the others.
pub fn write_one_acked_reply(ack: &ValidAck<'_>, buf: &mut [u8]) -> Result<usize, ReplyError> {
    let mut w = JsonWriter::new(buf);
    w.raw("{\"ephemeral_text\":\"You acknowledged ")?;
    write_what(&mut w, ack)?;
    w.raw(".\"}")?;
    Ok(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{
        ACK_HOST_MAX, ACK_LABEL_MAX, ACK_PROBLEM_MAX, ACK_REPLY_BUF_LEN, ACK_SERVICE_MAX,
        ACK_TEXT_MAX, CALLBACK_NAME_MAX,
    };

    fn ack(kind: AckKind, label: &'static str) -> ValidAck<'static> {
        ValidAck {
            action: Action::Ack,
            kind,
            host: "web1",
            service: if kind == AckKind::Host { "" } else { "HTTP" },
            problem: "4711",
            label,
            text: "",
            exp: 0,
        }
    }

    use crate::ack::AckKind;

    fn declined(why: &Declined<'_>) -> serde_json::Value {
        let mut buf = [0u8; ACK_REPLY_BUF_LEN];
        let n = write_declined_reply(why, &mut buf).unwrap();
        serde_json::from_slice(&buf[..n]).unwrap()
    }

    #[test]
    fn names_are_defused_everywhere_they_appear() {
        let hostile = ValidAck {
            action: Action::Ack,
            kind: AckKind::Service,
            host: "<!channel>",
            service: "@all",
            problem: "1",
            label: "",
            text: "",
            exp: 0,
        };
        let mut buf = [0u8; ACK_REPLY_BUF_LEN];
        let done = crate::action_reply::Done {
            ack: hostile,
            user_name: "bob",
            at: 0,
            comment: "",
            until: 0,
            with_services: false,
            buttons: &[],
        };
        let n = crate::action_reply::write_done_reply(&done, &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        let att = &v["update"]["props"]["attachments"][0];
        let what = "@\u{2060}all on <\u{2060}!channel>";
        assert_eq!(att["title"], format!("Acknowledged: {what}"));
        assert_eq!(att["fallback"], format!("Acknowledged: {what} by @bob"));
        assert_eq!(v["ephemeral_text"], format!("You acknowledged {what}."));
        let label = ValidAck {
            label: "@here <@U1>",
            ..hostile
        };
        let refusals = [
            Declined::AlreadyUsed(label),
            Declined::NotCurrent(label),
            Declined::Recovered(label),
            Declined::NotRecorded(label),
            Declined::NotRoot(label),
            Declined::BackendFailed {
                ack: label,
                reason: "core said @all.",
            },
        ];
        for why in refusals {
            let text = declined(&why)["ephemeral_text"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                text.contains("@\u{2060}here <\u{2060}@\u{2060}U1>"),
                "{text}"
            );
            assert!(!text.contains("@here") && !text.contains("<@"), "{text}");
            assert!(!text.contains("@all"), "{text}");
        }
    }

    #[test]
    fn declined_replies_have_no_update_and_explain() {
        let a = ack(AckKind::Service, "");
        let cases = [
            (Declined::Expired, "has expired"),
            (Declined::OldVersion, "older version"),
            (Declined::UserNotAllowed, "allowed users"),
            (Declined::UserIdNotAllowed, "allowed user ids"),
            (Declined::TeamNotAllowed, "allowed teams"),
            (Declined::ChannelNotAllowed, "allowed channels"),
            (
                Declined::AlreadyUsed(a),
                "already acknowledged HTTP on web1",
            ),
            (Declined::NotCurrent(a), "HTTP on web1 has a newer problem"),
            (Declined::Recovered(a), "HTTP on web1 has recovered"),
            (Declined::NotRecorded(a), "could not record"),
            (Declined::NotRoot(a), "not the current post of HTTP on web1"),
            (
                Declined::BackendFailed {
                    ack: a,
                    reason: "core down.",
                },
                "Could not acknowledge HTTP on web1: core down.",
            ),
        ];
        for (why, needle) in cases {
            let v = declined(&why);
            let obj = v.as_object().unwrap();
            assert_eq!(obj.len(), 1, "{v}");
            let text = obj["ephemeral_text"].as_str().unwrap();
            assert!(text.contains(needle), "{why:?}: {text}");
            assert!(!why.reason().is_empty());
        }
        assert_eq!(
            write_declined_reply(&Declined::Expired, &mut [0u8; 4]),
            Err(ReplyError::BufferTooSmall)
        );
    }

    #[test]
    fn longest_reply_fits_the_documented_buffer() {
        // Every value at its limit, every byte a six-byte escape; `<` and
        // `@` (four bytes each) in the rest.
        let h = "\u{1}".repeat(ACK_HOST_MAX);
        let s = "\u{1}".repeat(ACK_SERVICE_MAX);
        let t = "\u{1}".repeat(ACK_TEXT_MAX);
        let p = "p".repeat(ACK_PROBLEM_MAX);
        let user = "u".repeat(CALLBACK_NAME_MAX);
        let reason = "<".repeat(100_000);
        for label in [String::new(), "\u{1}".repeat(ACK_LABEL_MAX)] {
            let a = ValidAck {
                action: Action::Ack,
                kind: AckKind::Service,
                host: &h,
                service: &s,
                problem: &p,
                label: &label,
                text: &t,
                exp: u64::MAX,
            };
            let mut buf = [0u8; ACK_REPLY_BUF_LEN];
            let _ = &user;
            let why = Declined::BackendFailed {
                ack: a,
                reason: &reason,
            };
            let n = write_declined_reply(&why, &mut buf).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
            assert!(v["ephemeral_text"]
                .as_str()
                .unwrap()
                .ends_with(" bytes cut]"));
        }
    }
}
