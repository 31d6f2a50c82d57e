//! What people see once an action was carried out: the post's new look
//! (one attachment saying what happened, by whom, when, with what comment,
//! and the buttons that now apply) and the clicker's confirmation.
//!
//! The pieces are written separately ([`write_done_attachment`],
//! [`write_done_message`], [`write_done_ephemeral`]) so that any transport
//! can carry them: the click reply's `update` in webhook mode
//! ([`write_done_reply`]), or a post edit through the REST API. A recheck
//! changes no state of the problem, so it leaves the attachment and its
//! buttons alone and only adds a line to the post's message.
//!
//! Names come from the monitored side and the comment from a person: both
//! are written defused ([`Style::Defused`]) so neither can mention anyone;
//! the clicker's validated user name is the one deliberate mention.

use crate::ack::ValidAck;
use crate::ack_reply::{ReplyError, ACK_COLOR};
use crate::actions::Action;
use crate::dialog::write_what;
use crate::json::{JsonWriter, Overflow};
use crate::limits::DIALOG_COMMENT_MAX;
use crate::render::{write_buttons, write_until, ActionButton, UtcTime, GREY};
use crate::text::{Budgeted, Style};

/// Colour of a post in downtime: a muted purple, distinct from every
/// state colour and from [`ACK_COLOR`].
pub const DOWNTIME_COLOR: &str = "#8e7cc3";

/// An action that was carried out.
#[derive(Debug, Clone, Copy)]
pub struct Done<'a> {
    /// The verified context; `ack.action` is what was done.
    pub ack: ValidAck<'a>,
    /// The clicker's Mattermost user name (validated).
    pub user_name: &'a str,
    /// When, unix seconds.
    pub at: u64,
    /// The comment given in a dialog (clean); empty for one-click actions.
    pub comment: &'a str,
    /// A downtime's end, unix seconds.
    pub until: u64,
    /// A host downtime includes its services.
    pub with_services: bool,
    /// The buttons the post offers now (signed by the receiver).
    pub buttons: &'a [ActionButton<'a>],
}

/// Writes the attachment that replaces the post's (not for a recheck).
pub fn write_done_attachment(d: &Done<'_>, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
    let (verb, color) = match d.ack.action {
        Action::Ack | Action::Comment => ("Acknowledged", ACK_COLOR),
        Action::Unack => ("Acknowledgement removed", GREY),
        Action::Downtime => ("In downtime", DOWNTIME_COLOR),
        Action::Recheck => ("Recheck asked for", GREY),
    };
    w.raw("{\"fallback\":\"")?;
    w.raw(verb)?;
    w.raw(": ")?;
    write_what(w, &d.ack)?;
    w.raw(" by @")?;
    w.escaped(d.user_name)?;
    w.raw("\",\"color\":")?;
    w.string(color)?;
    w.raw(",\"title\":\"")?;
    w.raw(verb)?;
    w.raw(": ")?;
    write_what(w, &d.ack)?;
    w.raw("\",\"text\":\"")?;
    match d.ack.action {
        Action::Downtime => {
            w.raw(if d.with_services {
                "In downtime with its services until "
            } else {
                "In downtime until "
            })?;
            write_until(d.until, d.at, w)?;
            w.raw(", set by @")?;
        }
        _ => {
            w.raw(verb)?;
            w.raw(" by @")?;
        }
    }
    w.escaped(d.user_name)?;
    w.raw(" at ")?;
    UtcTime::from_unix(d.at).write(w)?;
    if !d.comment.is_empty() {
        w.raw(": ")?;
        Budgeted::plan(d.comment, Style::Defused, DIALOG_COMMENT_MAX).write(w)?;
    }
    w.raw("\"")?;
    if !d.buttons.is_empty() {
        w.raw(",\"actions\":")?;
        write_buttons(w, d.buttons)?;
    }
    w.raw("}")
}

/// Writes the post's new message (JSON string content, no quotes): the
/// signed `text` (the configured mention, verbatim as the post wrote it),
/// and for a recheck a line saying who asked for it.
pub fn write_done_message(d: &Done<'_>, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
    w.escaped(d.ack.text)?;
    if d.ack.action == Action::Recheck {
        if !d.ack.text.is_empty() {
            w.raw("\\n")?;
        }
        w.raw("Recheck of ")?;
        write_what(w, &d.ack)?;
        w.raw(" asked for by @")?;
        w.escaped(d.user_name)?;
        w.raw(" at ")?;
        UtcTime::from_unix(d.at).write(w)?;
        w.raw(".")?;
    }
    Ok(())
}

/// Writes the clicker's confirmation (JSON string content, no quotes).
pub fn write_done_ephemeral(d: &Done<'_>, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
    match d.ack.action {
        Action::Ack | Action::Comment => {
            w.raw("You acknowledged ")?;
            write_what(w, &d.ack)?;
        }
        Action::Unack => {
            w.raw("You removed the acknowledgement of ")?;
            write_what(w, &d.ack)?;
        }
        Action::Downtime => {
            w.raw("You put ")?;
            write_what(w, &d.ack)?;
            w.raw(if d.with_services {
                " and its services into downtime until "
            } else {
                " into downtime until "
            })?;
            write_until(d.until, d.at, w)?;
        }
        Action::Recheck => {
            w.raw("You asked for a recheck of ")?;
            write_what(w, &d.ack)?;
            w.raw("; the post changes when the result comes in")?;
        }
    }
    w.raw(".")
}

/// Writes the click reply (DESIGN §4) into `buf`: `update` with the new
/// message and, except for a recheck, the new attachment (a recheck omits
/// `props`, which keeps the post's attachment and buttons), and the
/// confirmation as `ephemeral_text`. [`crate::limits::ACK_REPLY_BUF_LEN`]
/// bytes always suffice.
pub fn write_done_reply(d: &Done<'_>, buf: &mut [u8]) -> Result<usize, ReplyError> {
    let mut w = JsonWriter::new(buf);
    w.raw("{\"update\":{\"message\":\"")?;
    write_done_message(d, &mut w)?;
    w.raw("\"")?;
    if d.ack.action != Action::Recheck {
        w.raw(",\"props\":{\"attachments\":[")?;
        write_done_attachment(d, &mut w)?;
        w.raw("]}")?;
    }
    w.raw("},\"ephemeral_text\":\"")?;
    write_done_ephemeral(d, &mut w)?;
    w.raw("\"}")?;
    Ok(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::AckKind;
    use crate::limits::{
        ACK_CONTEXT_MAX_LEN, ACK_HOST_MAX, ACK_LABEL_MAX, ACK_REPLY_BUF_LEN, ACK_SERVICE_MAX,
        ACK_TEXT_MAX, CALLBACK_NAME_MAX, MAX_VISIBLE_ACTIONS, URL_MAX_LEN,
    };

    const AT: u64 = 1_764_284_400; // 2025-11-27 23:00:00 UTC

    fn ack(action: Action) -> ValidAck<'static> {
        ValidAck {
            action,
            kind: AckKind::Service,
            host: "web1",
            service: "HTTP",
            problem: "4711",
            label: "",
            text: "@oncall",
            exp: 0,
        }
    }

    fn reply(d: &Done<'_>) -> serde_json::Value {
        let mut buf = [0u8; ACK_REPLY_BUF_LEN];
        let n = write_done_reply(d, &mut buf).unwrap();
        serde_json::from_slice(&buf[..n]).unwrap()
    }

    fn done(action: Action) -> Done<'static> {
        Done {
            ack: ack(action),
            user_name: "alice",
            at: AT,
            comment: "",
            until: AT + 3600,
            with_services: false,
            buttons: &[],
        }
    }

    #[test]
    fn each_action_says_what_happened_by_whom() {
        let v = reply(&Done {
            comment: "disk swap; @all see #42",
            ..done(Action::Comment)
        });
        let att = &v["update"]["props"]["attachments"][0];
        assert_eq!(v["update"]["message"], "@oncall");
        assert_eq!(att["title"], "Acknowledged: HTTP on web1");
        assert_eq!(
            att["text"],
            "Acknowledged by @alice at 2025-11-27 23:00:00 UTC: disk swap; @\u{2060}all see #42"
        );
        assert_eq!(v["ephemeral_text"], "You acknowledged HTTP on web1.");
        let v = reply(&done(Action::Downtime));
        let att = &v["update"]["props"]["attachments"][0];
        assert_eq!(att["color"], DOWNTIME_COLOR);
        assert_eq!(
            att["text"],
            "In downtime until 00:00 UTC, set by @alice at 2025-11-27 23:00:00 UTC"
        );
        assert_eq!(
            v["ephemeral_text"],
            "You put HTTP on web1 into downtime until 00:00 UTC."
        );
        let v = reply(&done(Action::Unack));
        assert_eq!(
            v["update"]["props"]["attachments"][0]["text"],
            "Acknowledgement removed by @alice at 2025-11-27 23:00:00 UTC"
        );
        let v = reply(&done(Action::Recheck));
        assert!(
            v["update"].get("props").is_none(),
            "a recheck keeps the post"
        );
        assert_eq!(
            v["update"]["message"],
            "@oncall\nRecheck of HTTP on web1 asked for by @alice at 2025-11-27 23:00:00 UTC."
        );
    }

    #[test]
    fn buttons_ride_along_and_the_worst_case_fits() {
        let h = "\u{1}".repeat(ACK_HOST_MAX);
        let s = "\u{1}".repeat(ACK_SERVICE_MAX);
        let l = "\u{1}".repeat(ACK_LABEL_MAX);
        let t = "\u{1}".repeat(ACK_TEXT_MAX);
        let url = format!("https://{}", "u".repeat(URL_MAX_LEN - 8));
        let v = "\u{1}".repeat(ACK_CONTEXT_MAX_LEN / 6 - 8);
        let ctx = [("k", v.as_str())];
        let b = ActionButton {
            action: Action::Unack,
            url: &url,
            context: &ctx,
        };
        let buttons = [b; MAX_VISIBLE_ACTIONS];
        let comment = "\u{1}".repeat(DIALOG_COMMENT_MAX);
        let user = "u".repeat(CALLBACK_NAME_MAX);
        for action in crate::actions::ALL_ACTIONS {
            let d = Done {
                ack: ValidAck {
                    action,
                    kind: AckKind::Service,
                    host: &h,
                    service: &s,
                    problem: "p",
                    label: &l,
                    text: &t,
                    exp: u64::MAX,
                },
                user_name: &user,
                at: u64::MAX,
                comment: &comment,
                until: u64::MAX,
                with_services: true,
                buttons: &buttons,
            };
            let v = reply(&d);
            if action != Action::Recheck {
                let att = &v["update"]["props"]["attachments"][0];
                assert_eq!(att["actions"].as_array().unwrap().len(), 3);
                assert_eq!(att["actions"][0]["id"], "unack");
            }
        }
    }
}
