//! The receiver's answer to a button click (DESIGN §4): HTTP 200 with
//! `{"update":{"message":…,"props":{"attachments":[…]}},"ephemeral_text":…}`
//! after an acknowledgement, or `{"ephemeral_text":…}` alone when the click
//! could not be honoured (expired, not allowed, backend down), which leaves
//! the post as it was.
//!
//! Mattermost replaces the post's message with `update.message` and its
//! props with `update.props`, so the update carries the message the notify
//! side signed into the context (`text`, usually empty: the renderer puts
//! everything in the attachment) and one new attachment without the button:
//! the acknowledged colour, a title naming the host or service, and who
//! acknowledged it and when. The clicker's name is a validated user name
//! ([`crate::callback::is_user_name`]), so `@user` mentions exactly them.

use crate::ack::{AckKind, ValidAck};
use crate::limits::ACK_REPLY_LINE_MAX;
use core::fmt::Write;
use serde::Serialize;

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

/// What the update says.
#[derive(Debug, Clone, Copy)]
pub struct AckedPost<'a> {
    /// The acknowledged context.
    pub ack: ValidAck<'a>,
    /// The clicker's Mattermost user name (validated).
    pub user_name: &'a str,
    /// When the acknowledgement was made, unix seconds.
    pub acked_at: u64,
}

#[derive(Serialize)]
struct Attachment<'a> {
    fallback: &'a str,
    color: &'a str,
    title: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct Props<'a> {
    attachments: &'a [Attachment<'a>],
}

#[derive(Serialize)]
struct Update<'a> {
    message: &'a str,
    props: Props<'a>,
}

#[derive(Serialize)]
struct Reply<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    update: Option<Update<'a>>,
    ephemeral_text: &'a str,
}

/// Writes the reply to a successful acknowledgement into `buf`.
pub fn write_acked_reply(p: &AckedPost<'_>, buf: &mut [u8]) -> Result<usize, ReplyError> {
    let mut what: heapless::String<ACK_REPLY_LINE_MAX> = heapless::String::new();
    push_label(&mut what, &p.ack)?;
    let mut when: heapless::String<32> = heapless::String::new();
    write_utc(&mut when, p.acked_at)?;
    let mut title: heapless::String<ACK_REPLY_LINE_MAX> = heapless::String::new();
    fmt(&mut title, format_args!("Acknowledged: {what}"))?;
    let mut text: heapless::String<ACK_REPLY_LINE_MAX> = heapless::String::new();
    fmt(
        &mut text,
        format_args!("Acknowledged by @{} at {when}", p.user_name),
    )?;
    let mut fallback: heapless::String<ACK_REPLY_LINE_MAX> = heapless::String::new();
    fmt(
        &mut fallback,
        format_args!("Acknowledged: {what} by @{}", p.user_name),
    )?;
    let mut ephemeral: heapless::String<ACK_REPLY_LINE_MAX> = heapless::String::new();
    fmt(&mut ephemeral, format_args!("You acknowledged {what}."))?;
    let attachments = [Attachment {
        fallback: &fallback,
        color: ACK_COLOR,
        title: &title,
        text: &text,
    }];
    let reply = Reply {
        update: Some(Update {
            message: p.ack.text,
            props: Props {
                attachments: &attachments,
            },
        }),
        ephemeral_text: &ephemeral,
    };
    serde_json_core::to_slice(&reply, buf).map_err(|_| ReplyError::BufferTooSmall)
}

/// Writes `{"ephemeral_text":…}`: shown to the clicker only, post unchanged.
pub fn write_ephemeral_reply(text: &str, buf: &mut [u8]) -> Result<usize, ReplyError> {
    let reply = Reply {
        update: None,
        ephemeral_text: text,
    };
    serde_json_core::to_slice(&reply, buf).map_err(|_| ReplyError::BufferTooSmall)
}

fn push_label<const N: usize>(
    out: &mut heapless::String<N>,
    ack: &ValidAck<'_>,
) -> Result<(), ReplyError> {
    if !ack.label.is_empty() {
        return fmt(out, format_args!("{}", ack.label));
    }
    match ack.kind {
        AckKind::Host => fmt(out, format_args!("{}", ack.host)),
        AckKind::Service => fmt(out, format_args!("{} on {}", ack.service, ack.host)),
    }
}

fn fmt<const N: usize>(
    out: &mut heapless::String<N>,
    args: core::fmt::Arguments<'_>,
) -> Result<(), ReplyError> {
    out.write_fmt(args).map_err(|_| ReplyError::BufferTooSmall)
}

/// `YYYY-MM-DD HH:MM UTC` for unix seconds `t` (proleptic Gregorian;
/// days-to-civil after Howard Hinnant's public-domain algorithm).
fn write_utc<const N: usize>(out: &mut heapless::String<N>, t: u64) -> Result<(), ReplyError> {
    let days = t / 86_400;
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    fmt(
        out,
        format_args!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
            secs / 3600,
            (secs % 3600) / 60
        ),
    )
}

fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{ACK_HOST_MAX, ACK_LABEL_MAX, ACK_REPLY_BUF_LEN, ACK_TEXT_MAX};

    fn ack(kind: AckKind, label: &'static str) -> ValidAck<'static> {
        ValidAck {
            kind,
            host: "web1",
            service: if kind == AckKind::Host { "" } else { "HTTP" },
            label,
            text: "",
            exp: 0,
        }
    }

    fn reply(p: &AckedPost<'_>) -> serde_json::Value {
        let mut buf = [0u8; ACK_REPLY_BUF_LEN];
        let n = write_acked_reply(p, &mut buf).unwrap();
        serde_json::from_slice(&buf[..n]).unwrap()
    }

    #[test]
    fn acked_reply_replaces_the_attachment_and_keeps_the_text() {
        let mut a = ack(AckKind::Service, "");
        a.text = "@oncall";
        let v = reply(&AckedPost {
            ack: a,
            user_name: "alice",
            acked_at: 1_764_284_400, // 2025-11-27 23:00:00 UTC
        });
        assert_eq!(
            v,
            serde_json::json!({
                "update": {"message": "@oncall", "props": {"attachments": [{
                    "fallback": "Acknowledged: HTTP on web1 by @alice",
                    "color": "#1895f5",
                    "title": "Acknowledged: HTTP on web1",
                    "text": "Acknowledged by @alice at 2025-11-27 23:00 UTC"
                }]}},
                "ephemeral_text": "You acknowledged HTTP on web1."
            })
        );
    }

    #[test]
    fn label_wins_and_host_acks_name_the_host() {
        let v = reply(&AckedPost {
            ack: ack(AckKind::Host, ""),
            user_name: "bob",
            acked_at: 0,
        });
        assert_eq!(
            v["update"]["props"]["attachments"][0]["title"],
            "Acknowledged: web1"
        );
        assert_eq!(
            v["update"]["props"]["attachments"][0]["text"],
            "Acknowledged by @bob at 1970-01-01 00:00 UTC"
        );
        let v = reply(&AckedPost {
            ack: ack(AckKind::Service, "Web \"shop\" on db"),
            user_name: "bob",
            acked_at: 0,
        });
        assert_eq!(v["ephemeral_text"], "You acknowledged Web \"shop\" on db.");
    }

    #[test]
    fn ephemeral_reply_has_no_update() {
        let mut buf = [0u8; 256];
        let n = write_ephemeral_reply("This button has expired.\n", &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ephemeral_text": "This button has expired.\n"})
        );
        assert_eq!(
            write_ephemeral_reply("x", &mut [0u8; 4]),
            Err(ReplyError::BufferTooSmall)
        );
    }

    #[test]
    fn longest_reply_fits_the_documented_buffer() {
        let h = "\"".repeat(ACK_HOST_MAX);
        let l = "\u{1}".repeat(ACK_LABEL_MAX);
        let t = "\"".repeat(ACK_TEXT_MAX);
        let a = ValidAck {
            kind: AckKind::Service,
            host: &h,
            service: &h,
            label: &l,
            text: &t,
            exp: 0,
        };
        let mut buf = [0u8; ACK_REPLY_BUF_LEN];
        let user = "u".repeat(64);
        assert!(write_acked_reply(
            &AckedPost {
                ack: a,
                user_name: &user,
                acked_at: u64::MAX
            },
            &mut buf
        )
        .is_ok());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_419), (2025, 11, 27));
    }
}
