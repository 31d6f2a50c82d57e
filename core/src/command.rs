//! External commands that acknowledge a problem: the command-pipe line for
//! Naemon / Nagios / openITCOCKPIT cores and the JSON body of
//! openITCOCKPIT's `nagios_module/cmd/submit.json` API (DESIGN §7). The
//! other actions (remove an acknowledgement, downtime, forced check) and
//! the Icinga 2 API are in [`core_command`], built on the same checks.
//!
//! A newline ends an external command and `;` separates its fields, so a
//! newline in any field, or a `;` in any field but the last (the comment),
//! would smuggle in a second command or shift the fields. Every field is
//! checked before a single byte is written: a refused command leaves the
//! buffer untouched and returns which field and why.

use crate::ack::decimal;
use crate::limits::{
    ACK_HOST_MAX, ACK_SERVICE_MAX, COMMAND_COMMENT_MAX, COMMAND_LINE_MAX, COMMAND_TEXT_MAX,
};
use serde::Serialize;

pub mod core_command;
pub use core_command::{
    write_core_lines, write_icinga_body, write_oitc_request, CoreCommand, DowntimeCommand,
};

/// What to acknowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckTarget<'a> {
    /// `ACKNOWLEDGE_HOST_PROBLEM` for this host.
    Host {
        /// Host name.
        host: &'a str,
    },
    /// `ACKNOWLEDGE_SVC_PROBLEM` for this service.
    Service {
        /// Host name.
        host: &'a str,
        /// Service description.
        service: &'a str,
    },
}

impl AckTarget<'_> {
    /// The external command's name.
    pub fn command_name(&self) -> &'static str {
        match self {
            AckTarget::Host { .. } => "ACKNOWLEDGE_HOST_PROBLEM",
            AckTarget::Service { .. } => "ACKNOWLEDGE_SVC_PROBLEM",
        }
    }
}

/// One acknowledgement. Sticky is 2 ("sticky" on Nagios and Naemon) or 0,
/// persistent always 1, as the original module does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckCommand<'a> {
    /// Host or service.
    pub target: AckTarget<'a>,
    /// Whether the acknowledgement stays until the problem is over (2),
    /// rather than ending at the next state change (0).
    pub sticky: bool,
    /// Whether the core sends an ACKNOWLEDGEMENT notification (off by
    /// default: it would post to Mattermost again).
    pub notify: bool,
    /// Who acknowledged: the Mattermost user name.
    pub author: &'a str,
    /// Free text; may contain `;` (it is the last field).
    pub comment: &'a str,
    /// Submission time, unix seconds (the `[<time>]` prefix).
    pub time: u64,
}

/// A field of [`AckCommand`], for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandField {
    /// The host name.
    Host,
    /// The service description.
    Service,
    /// The author.
    Author,
    /// The comment.
    Comment,
}

impl CommandField {
    /// The field's name as a person reads it.
    pub fn name(self) -> &'static str {
        match self {
            CommandField::Host => "host",
            CommandField::Service => "service",
            CommandField::Author => "author",
            CommandField::Comment => "comment",
        }
    }
}

/// Why a command was refused. Nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The field is empty (host, service of a service ack, author).
    Empty(CommandField),
    /// The field contains CR or LF: it would start a second command.
    LineBreak(CommandField),
    /// The field contains `;`: it would shift the fields.
    Semicolon(CommandField),
    /// The field contains another control character.
    ControlCharacter(CommandField),
    /// The field is longer than its limit.
    TooLong(CommandField),
    /// The whole line or body does not fit the buffer.
    BufferTooSmall,
}

impl core::fmt::Display for CommandError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CommandError::Empty(x) => write!(f, "{} is empty", x.name()),
            CommandError::LineBreak(x) => write!(f, "{} contains a line break", x.name()),
            CommandError::Semicolon(x) => write!(f, "{} contains ';'", x.name()),
            CommandError::ControlCharacter(x) => {
                write!(f, "{} contains a control character", x.name())
            }
            CommandError::TooLong(x) => write!(f, "{} is too long", x.name()),
            CommandError::BufferTooSmall => f.write_str("command does not fit its buffer"),
        }
    }
}

impl AckCommand<'_> {
    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), CommandError> {
        let (host, service) = match self.target {
            AckTarget::Host { host } => (host, None),
            AckTarget::Service { host, service } => (host, Some(service)),
        };
        check(CommandField::Host, host, ACK_HOST_MAX, true, false)?;
        if let Some(service) = service {
            check(CommandField::Service, service, ACK_SERVICE_MAX, true, false)?;
        }
        check(
            CommandField::Author,
            self.author,
            COMMAND_TEXT_MAX,
            true,
            false,
        )?;
        check(
            CommandField::Comment,
            self.comment,
            COMMAND_COMMENT_MAX,
            false,
            true,
        )
    }
}

impl<'a> AckTarget<'a> {
    /// Host and, for a service, its description.
    pub fn parts(&self) -> (&'a str, Option<&'a str>) {
        match *self {
            AckTarget::Host { host } => (host, None),
            AckTarget::Service { host, service } => (host, Some(service)),
        }
    }

    /// Checks host and service as [`AckCommand::validate`] does.
    pub fn validate(&self) -> Result<(), CommandError> {
        let (host, service) = self.parts();
        check(CommandField::Host, host, ACK_HOST_MAX, true, false)?;
        if let Some(service) = service {
            check(CommandField::Service, service, ACK_SERVICE_MAX, true, false)?;
        }
        Ok(())
    }
}

pub(crate) fn check(
    field: CommandField,
    value: &str,
    max: usize,
    required: bool,
    semicolon_ok: bool,
) -> Result<(), CommandError> {
    if required && value.is_empty() {
        return Err(CommandError::Empty(field));
    }
    if value.len() > max {
        return Err(CommandError::TooLong(field));
    }
    for c in value.chars() {
        if c == '\n' || c == '\r' {
            return Err(CommandError::LineBreak(field));
        }
        if c == ';' && !semicolon_ok {
            return Err(CommandError::Semicolon(field));
        }
        // Cc covers C0, DEL and C1; U+2028/U+2029 are refused as well since
        // some tools treat them as line ends.
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            return Err(CommandError::ControlCharacter(field));
        }
    }
    Ok(())
}

/// Writes the command-pipe line, newline included, into `buf` and returns
/// its length (at most [`COMMAND_LINE_MAX`], so one `write()` to a FIFO is
/// atomic):
///
/// `[<time>] ACKNOWLEDGE_HOST_PROBLEM;<host>;2;<notify>;1;<author>;<comment>\n`
/// `[<time>] ACKNOWLEDGE_SVC_PROBLEM;<host>;<service>;2;<notify>;1;<author>;<comment>\n`
///
/// Fields are validated first; on error `buf` is not modified.
pub fn write_command_line(cmd: &AckCommand<'_>, buf: &mut [u8]) -> Result<usize, CommandError> {
    cmd.validate()?;
    let mut digits = [0u8; 20];
    let time = decimal(cmd.time, &mut digits);
    let notify: &[u8] = if cmd.notify { b"1" } else { b"0" };
    let sticky: &[u8] = if cmd.sticky { b";2;" } else { b";0;" };
    let (host, service) = match cmd.target {
        AckTarget::Host { host } => (host, None),
        AckTarget::Service { host, service } => (host, Some(service)),
    };
    // Collect the pieces first so the total length is known before anything
    // is copied: a line that does not fit leaves `buf` untouched.
    let [service_sep, service]: [&[u8]; 2] = match service {
        Some(s) => [b";", s.as_bytes()],
        None => [b"", b""],
    };
    let pieces: [&[u8]; 15] = [
        b"[",
        time,
        b"] ",
        cmd.target.command_name().as_bytes(),
        b";",
        host.as_bytes(),
        service_sep,
        service,
        sticky,
        notify,
        b";1;",
        cmd.author.as_bytes(),
        b";",
        cmd.comment.as_bytes(),
        b"\n",
    ];
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    if total > COMMAND_LINE_MAX || total > buf.len() {
        return Err(CommandError::BufferTooSmall);
    }
    let mut at = 0;
    for p in pieces.iter() {
        let end = at + p.len();
        buf.get_mut(at..end)
            .ok_or(CommandError::BufferTooSmall)?
            .copy_from_slice(p);
        at = end;
    }
    Ok(at)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OitcBody<'a> {
    command: &'a str,
    host_uuid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_uuid: Option<&'a str>,
    sticky: u8,
    notify: u8,
    persistent: u8,
    author: &'a str,
    comment: &'a str,
}

/// Writes the openITCOCKPIT API body (DESIGN §7) into `buf`:
/// `{"command":"ACKNOWLEDGE_SVC_PROBLEM","hostUuid":"…","serviceUuid":"…",
/// "sticky":2,"notify":0,"persistent":1,"author":"…","comment":"…"}`.
///
/// The same field rules as the command line apply (the API writes the same
/// line to the same pipe). [`crate::limits::OITC_BODY_BUF_LEN`] always
/// suffices.
pub fn write_oitc_body(cmd: &AckCommand<'_>, buf: &mut [u8]) -> Result<usize, CommandError> {
    cmd.validate()?;
    let (host, service) = match cmd.target {
        AckTarget::Host { host } => (host, None),
        AckTarget::Service { host, service } => (host, Some(service)),
    };
    let body = OitcBody {
        command: cmd.target.command_name(),
        host_uuid: host,
        service_uuid: service,
        sticky: if cmd.sticky { 2 } else { 0 },
        notify: u8::from(cmd.notify),
        persistent: 1,
        author: cmd.author,
        comment: cmd.comment,
    };
    serde_json_core::to_slice(&body, buf).map_err(|_| CommandError::BufferTooSmall)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::OITC_BODY_BUF_LEN;

    fn svc() -> AckCommand<'static> {
        AckCommand {
            target: AckTarget::Service {
                host: "web1",
                service: "HTTP check",
            },
            sticky: true,
            notify: false,
            author: "alice",
            comment: "Acknowledged via Mattermost by @alice",
            time: 1_700_000_000,
        }
    }

    fn line(c: &AckCommand<'_>) -> Result<String, CommandError> {
        let mut buf = [0u8; COMMAND_LINE_MAX];
        let n = write_command_line(c, &mut buf)?;
        Ok(String::from_utf8(buf[..n].to_vec()).unwrap())
    }

    #[test]
    fn service_line_is_exact() {
        assert_eq!(
            line(&svc()).unwrap(),
            "[1700000000] ACKNOWLEDGE_SVC_PROBLEM;web1;HTTP check;2;0;1;alice;\
             Acknowledged via Mattermost by @alice\n"
        );
    }

    #[test]
    fn host_line_is_exact_and_notify_is_honoured() {
        let c = AckCommand {
            target: AckTarget::Host { host: "web1" },
            notify: true,
            comment: "a;b",
            ..svc()
        };
        assert_eq!(
            line(&c).unwrap(),
            "[1700000000] ACKNOWLEDGE_HOST_PROBLEM;web1;2;1;1;alice;a;b\n"
        );
    }

    #[test]
    fn injection_in_any_field_is_refused_and_nothing_is_written() {
        let bad = [
            "x\ny",
            "x\rY",
            "x;y",
            "x\u{0}y",
            "x\u{7f}",
            "x\u{85}",
            "x\u{2028}",
        ];
        for b in bad {
            let cases = [
                AckCommand {
                    target: AckTarget::Service {
                        host: b,
                        service: "s",
                    },
                    ..svc()
                },
                AckCommand {
                    target: AckTarget::Service {
                        host: "h",
                        service: b,
                    },
                    ..svc()
                },
                AckCommand {
                    target: AckTarget::Host { host: b },
                    ..svc()
                },
                AckCommand { author: b, ..svc() },
            ];
            for c in cases {
                let mut buf = [0xAAu8; COMMAND_LINE_MAX];
                assert!(write_command_line(&c, &mut buf).is_err(), "{c:?}");
                assert!(buf.iter().all(|&x| x == 0xAA), "buffer touched for {c:?}");
                let mut body = [0u8; OITC_BODY_BUF_LEN];
                assert!(write_oitc_body(&c, &mut body).is_err());
            }
        }
        // The comment may hold ';' but never a line break or control char.
        assert!(line(&AckCommand {
            comment: "a;b",
            ..svc()
        })
        .is_ok());
        assert_eq!(
            line(&AckCommand {
                comment: "a\nb",
                ..svc()
            }),
            Err(CommandError::LineBreak(CommandField::Comment))
        );
        assert_eq!(
            line(&AckCommand {
                comment: "a\tb",
                ..svc()
            }),
            Err(CommandError::ControlCharacter(CommandField::Comment))
        );
    }

    #[test]
    fn specific_errors_name_the_field() {
        assert_eq!(
            line(&AckCommand {
                target: AckTarget::Host { host: "" },
                ..svc()
            }),
            Err(CommandError::Empty(CommandField::Host))
        );
        assert_eq!(
            line(&AckCommand {
                target: AckTarget::Service {
                    host: "h",
                    service: ""
                },
                ..svc()
            }),
            Err(CommandError::Empty(CommandField::Service))
        );
        assert_eq!(
            line(&AckCommand {
                author: "",
                ..svc()
            }),
            Err(CommandError::Empty(CommandField::Author))
        );
        assert_eq!(
            line(&AckCommand {
                author: "a;b",
                ..svc()
            }),
            Err(CommandError::Semicolon(CommandField::Author))
        );
    }

    #[test]
    fn longest_valid_line_fits_pipe_buf() {
        let h = "h".repeat(ACK_HOST_MAX);
        let s = "s".repeat(ACK_SERVICE_MAX);
        let t = "t".repeat(COMMAND_TEXT_MAX);
        let comment = "c".repeat(COMMAND_COMMENT_MAX);
        let c = AckCommand {
            target: AckTarget::Service {
                host: &h,
                service: &s,
            },
            sticky: true,
            author: &t,
            comment: &comment,
            time: u64::MAX,
            notify: true,
        };
        let l = line(&c).unwrap();
        assert!(l.len() <= COMMAND_LINE_MAX);
        let long = "h".repeat(ACK_HOST_MAX + 1);
        assert_eq!(
            line(&AckCommand {
                target: AckTarget::Host { host: &long },
                ..svc()
            }),
            Err(CommandError::TooLong(CommandField::Host))
        );
        let mut small = [0u8; 10];
        assert_eq!(
            write_command_line(&svc(), &mut small),
            Err(CommandError::BufferTooSmall)
        );
    }

    #[test]
    fn oitc_body_matches_the_api() {
        let mut buf = [0u8; OITC_BODY_BUF_LEN];
        let n = write_oitc_body(&svc(), &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"command":"ACKNOWLEDGE_SVC_PROBLEM","hostUuid":"web1",
                "serviceUuid":"HTTP check","sticky":2,"notify":0,"persistent":1,
                "author":"alice","comment":"Acknowledged via Mattermost by @alice"})
        );
        let h = AckCommand {
            target: AckTarget::Host {
                host: "c36b8048-93ce-4385-ac19-ab5c90574b77",
            },
            comment: "quote \" and \\ back",
            ..svc()
        };
        let n = write_oitc_body(&h, &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(v["command"], "ACKNOWLEDGE_HOST_PROBLEM");
        assert!(v.get("serviceUuid").is_none());
        assert_eq!(v["comment"], "quote \" and \\ back");
    }

    proptest::proptest! {
        /// Whatever the fields hold, a written line is exactly one command:
        /// one newline, at the end, and the fixed fields where they belong.
        #[test]
        fn a_written_line_is_always_exactly_one_command(
            host in "\\PC{0,40}|[a-z;\\r\\n\\u{0}]{0,8}",
            service in "\\PC{0,40}|[a-z;\\r\\n]{0,8}",
            author in "\\PC{0,20}|[a-z;\\n]{0,8}",
            comment in "\\PC{0,60}|[a-z;\\r\\n]{0,8}",
        ) {
            let c = AckCommand {
                target: AckTarget::Service { host: &host, service: &service },
                sticky: true,
                notify: false,
                author: &author,
                comment: &comment,
                time: 1,
            };
            let mut buf = [0u8; COMMAND_LINE_MAX];
            if let Ok(n) = write_command_line(&c, &mut buf) {
                let line = core::str::from_utf8(&buf[..n]).unwrap();
                proptest::prop_assert_eq!(line.matches('\n').count(), 1);
                proptest::prop_assert!(line.ends_with('\n'));
                proptest::prop_assert!(!line.contains('\r'));
                let fields: Vec<&str> = line.trim_end_matches('\n').splitn(8, ';').collect();
                proptest::prop_assert_eq!(fields[1], host.as_str());
                proptest::prop_assert_eq!(fields[2], service.as_str());
                proptest::prop_assert_eq!(&fields[3..6], &["2", "0", "1"]);
                proptest::prop_assert_eq!(fields[6], author.as_str());
                proptest::prop_assert_eq!(fields[7], comment.as_str());
            }
        }
    }
}
