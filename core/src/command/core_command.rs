//! Every action a button or dialog can ask of the monitoring core, in the
//! three forms the backends carry: command-pipe lines (DESIGN §11), the
//! bodies of openITCOCKPIT's `nagios_module/cmd/submit.json`, and Icinga 2
//! API requests.
//!
//! openITCOCKPIT's API takes the Nagios command names with named
//! parameters (its `NagiosModule` `CmdController::submit`, which lists
//! `REMOVE_*_ACKNOWLEDGEMENT`, `SCHEDULE_HOST_DOWNTIME`,
//! `SCHEDULE_HOST_SVC_DOWNTIME`, `SCHEDULE_SVC_DOWNTIME` with `start_time`,
//! `end_time`, `fixed`, `trigger_id`, `duration`, `author`, `comment`, and
//! `SCHEDULE_FORCED_*_CHECK` with `check_time`).
//!
//! Icinga 2 requests name their object with a fixed filter and the names
//! in `filter_vars` (`host.name==mn_host`): a host or service name is data
//! there, never part of a filter expression.
//!
//! The same field rules hold in every form: host, service and author never
//! contain `;`, CR, LF or another control character; the comment (always
//! the last field) may contain `;` but nothing that ends a line. A host
//! downtime that includes its services is two commands
//! (`SCHEDULE_HOST_DOWNTIME` and `SCHEDULE_HOST_SVC_DOWNTIME`), written in
//! one `write()` of at most [`COMMAND_LINE_MAX`] bytes; Icinga 2 says
//! `all_services` instead.

use super::{check, write_command_line, AckCommand, AckTarget, CommandError, CommandField};
use crate::ack::decimal;
use crate::json::JsonWriter;
use crate::limits::{COMMAND_COMMENT_MAX, COMMAND_LINE_MAX, COMMAND_TEXT_MAX};
use serde::Serialize;

/// A downtime. Always fixed: it starts at `start` and ends at `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DowntimeCommand<'a> {
    /// Host or service.
    pub target: AckTarget<'a>,
    /// Start, unix seconds.
    pub start: u64,
    /// End, unix seconds (after `start`).
    pub end: u64,
    /// For a host: its services are in downtime too.
    pub with_services: bool,
    /// Who scheduled it: the Mattermost user name.
    pub author: &'a str,
    /// Free text, the last field.
    pub comment: &'a str,
    /// Submission time, unix seconds.
    pub time: u64,
}

/// One action for the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreCommand<'a> {
    /// `ACKNOWLEDGE_*_PROBLEM`.
    Acknowledge(AckCommand<'a>),
    /// `REMOVE_*_ACKNOWLEDGEMENT`.
    RemoveAcknowledgement {
        /// Host or service.
        target: AckTarget<'a>,
        /// Submission time, unix seconds.
        time: u64,
    },
    /// `SCHEDULE_*_DOWNTIME`.
    ScheduleDowntime(DowntimeCommand<'a>),
    /// `SCHEDULE_FORCED_*_CHECK` at `time`.
    ForcedCheck {
        /// Host or service.
        target: AckTarget<'a>,
        /// Submission and check time, unix seconds.
        time: u64,
    },
}

impl<'a> CoreCommand<'a> {
    /// The host or service acted on.
    pub fn target(&self) -> AckTarget<'a> {
        match *self {
            CoreCommand::Acknowledge(a) => a.target,
            CoreCommand::ScheduleDowntime(d) => d.target,
            CoreCommand::RemoveAcknowledgement { target, .. }
            | CoreCommand::ForcedCheck { target, .. } => target,
        }
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), CommandError> {
        match self {
            CoreCommand::Acknowledge(a) => a.validate(),
            CoreCommand::RemoveAcknowledgement { target, .. }
            | CoreCommand::ForcedCheck { target, .. } => target.validate(),
            CoreCommand::ScheduleDowntime(d) => {
                d.target.validate()?;
                check(
                    CommandField::Author,
                    d.author,
                    COMMAND_TEXT_MAX,
                    true,
                    false,
                )?;
                check(
                    CommandField::Comment,
                    d.comment,
                    COMMAND_COMMENT_MAX,
                    false,
                    true,
                )
            }
        }
    }

    /// The external command names, in the order they are written.
    pub fn command_names(&self) -> [Option<&'static str>; 2] {
        let host = matches!(self.target(), AckTarget::Host { .. });
        match (self, host) {
            (CoreCommand::Acknowledge(a), _) => [Some(a.target.command_name()), None],
            (CoreCommand::RemoveAcknowledgement { .. }, true) => {
                [Some("REMOVE_HOST_ACKNOWLEDGEMENT"), None]
            }
            (CoreCommand::RemoveAcknowledgement { .. }, false) => {
                [Some("REMOVE_SVC_ACKNOWLEDGEMENT"), None]
            }
            (CoreCommand::ForcedCheck { .. }, true) => [Some("SCHEDULE_FORCED_HOST_CHECK"), None],
            (CoreCommand::ForcedCheck { .. }, false) => [Some("SCHEDULE_FORCED_SVC_CHECK"), None],
            (CoreCommand::ScheduleDowntime(d), true) => [
                Some("SCHEDULE_HOST_DOWNTIME"),
                d.with_services.then_some("SCHEDULE_HOST_SVC_DOWNTIME"),
            ],
            (CoreCommand::ScheduleDowntime(_), false) => [Some("SCHEDULE_SVC_DOWNTIME"), None],
        }
    }
}

/// Up to 20 byte pieces of one line, collected before anything is copied
/// so that a line that does not fit leaves the buffer untouched.
struct Pieces<'p> {
    items: [&'p [u8]; 20],
    len: usize,
}

impl<'p> Pieces<'p> {
    fn new() -> Self {
        Pieces {
            items: [b""; 20],
            len: 0,
        }
    }

    fn push(&mut self, p: &'p [u8]) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = p;
            self.len += 1;
        }
    }

    /// Copies the pieces to `buf` at `at` if the end stays within
    /// [`COMMAND_LINE_MAX`]; returns the new end.
    fn copy_to(&self, buf: &mut [u8], at: usize) -> Result<usize, CommandError> {
        let items = self.items.get(..self.len).unwrap_or(&[]);
        let total: usize = items.iter().map(|p| p.len()).sum();
        let end = at.checked_add(total).ok_or(CommandError::BufferTooSmall)?;
        if end > COMMAND_LINE_MAX || end > buf.len() {
            return Err(CommandError::BufferTooSmall);
        }
        let mut pos = at;
        for p in items {
            let next = pos + p.len();
            buf.get_mut(pos..next)
                .ok_or(CommandError::BufferTooSmall)?
                .copy_from_slice(p);
            pos = next;
        }
        Ok(pos)
    }
}

/// Writes the command-pipe line(s), each ending in a newline, into `buf`;
/// returns their total length (at most [`COMMAND_LINE_MAX`], so one
/// `write()` to a FIFO is atomic):
///
/// ```text
/// [<time>] REMOVE_SVC_ACKNOWLEDGEMENT;<host>;<service>
/// [<time>] SCHEDULE_FORCED_SVC_CHECK;<host>;<service>;<time>
/// [<time>] SCHEDULE_SVC_DOWNTIME;<host>;<service>;<start>;<end>;1;0;<duration>;<author>;<comment>
/// [<time>] SCHEDULE_HOST_DOWNTIME;<host>;<start>;<end>;1;0;<duration>;<author>;<comment>
/// [<time>] SCHEDULE_HOST_SVC_DOWNTIME;<host>;<start>;<end>;1;0;<duration>;<author>;<comment>
/// ```
///
/// Acknowledgements are [`write_command_line`]'s. Fields are validated
/// first; on error nothing is written.
pub fn write_core_lines(cmd: &CoreCommand<'_>, buf: &mut [u8]) -> Result<usize, CommandError> {
    cmd.validate()?;
    let time = match cmd {
        CoreCommand::Acknowledge(a) => return write_command_line(a, buf),
        CoreCommand::RemoveAcknowledgement { time, .. } | CoreCommand::ForcedCheck { time, .. } => {
            *time
        }
        CoreCommand::ScheduleDowntime(d) => d.time,
    };
    let (host, service) = cmd.target().parts();
    let mut d_time = [0u8; 20];
    let mut d_start = [0u8; 20];
    let mut d_end = [0u8; 20];
    let mut d_len = [0u8; 20];
    let time = decimal(time, &mut d_time);
    let mut at = 0;
    for name in cmd.command_names().into_iter().flatten() {
        let mut p = Pieces::new();
        p.push(b"[");
        p.push(time);
        p.push(b"] ");
        p.push(name.as_bytes());
        p.push(b";");
        p.push(host.as_bytes());
        if let Some(s) = service {
            p.push(b";");
            p.push(s.as_bytes());
        }
        match cmd {
            CoreCommand::ForcedCheck { .. } => {
                p.push(b";");
                p.push(time);
            }
            CoreCommand::ScheduleDowntime(d) => {
                p.push(b";");
                p.push(decimal(d.start, &mut d_start));
                p.push(b";");
                p.push(decimal(d.end, &mut d_end));
                p.push(b";1;0;");
                p.push(decimal(d.end.saturating_sub(d.start), &mut d_len));
                p.push(b";");
                p.push(d.author.as_bytes());
                p.push(b";");
                p.push(d.comment.as_bytes());
            }
            _ => {}
        }
        p.push(b"\n");
        at = p.copy_to(buf, at)?;
    }
    Ok(at)
}

#[derive(Serialize)]
struct OitcTargetBody<'a> {
    command: &'a str,
    #[serde(rename = "hostUuid")]
    host_uuid: &'a str,
    #[serde(rename = "serviceUuid", skip_serializing_if = "Option::is_none")]
    service_uuid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_time: Option<u64>,
}

#[derive(Serialize)]
struct OitcDowntimeBody<'a> {
    command: &'a str,
    #[serde(rename = "hostUuid")]
    host_uuid: &'a str,
    #[serde(rename = "serviceUuid", skip_serializing_if = "Option::is_none")]
    service_uuid: Option<&'a str>,
    start_time: u64,
    end_time: u64,
    fixed: u8,
    trigger_id: u8,
    duration: u64,
    author: &'a str,
    comment: &'a str,
}

/// Writes body number `part` (0 first) of the openITCOCKPIT API request(s)
/// for `cmd` into `buf`; `Ok(None)` when there is no such part (only a host
/// downtime with its services has two). Acknowledgements are
/// [`super::write_oitc_body`]'s. [`crate::limits::OITC_BODY_BUF_LEN`]
/// always suffices.
pub fn write_oitc_request(
    cmd: &CoreCommand<'_>,
    part: usize,
    buf: &mut [u8],
) -> Result<Option<usize>, CommandError> {
    cmd.validate()?;
    let Some(Some(name)) = cmd.command_names().get(part).copied() else {
        return Ok(None);
    };
    let (host, service) = cmd.target().parts();
    let n = match cmd {
        CoreCommand::Acknowledge(a) => super::write_oitc_body(a, buf)?,
        CoreCommand::RemoveAcknowledgement { .. } | CoreCommand::ForcedCheck { .. } => {
            let check_time = match cmd {
                CoreCommand::ForcedCheck { time, .. } => Some(*time),
                _ => None,
            };
            let body = OitcTargetBody {
                command: name,
                host_uuid: host,
                service_uuid: service,
                check_time,
            };
            serde_json_core::to_slice(&body, buf).map_err(|_| CommandError::BufferTooSmall)?
        }
        CoreCommand::ScheduleDowntime(d) => {
            let body = OitcDowntimeBody {
                command: name,
                host_uuid: host,
                service_uuid: service,
                start_time: d.start,
                end_time: d.end,
                fixed: 1,
                trigger_id: 0,
                duration: d.end.saturating_sub(d.start),
                author: d.author,
                comment: d.comment,
            };
            serde_json_core::to_slice(&body, buf).map_err(|_| CommandError::BufferTooSmall)?
        }
    };
    Ok(Some(n))
}

/// The Icinga 2 API path for `cmd` (`/v1/actions/...`).
pub fn icinga_path(cmd: &CoreCommand<'_>) -> &'static str {
    match cmd {
        CoreCommand::Acknowledge(_) => "/v1/actions/acknowledge-problem",
        CoreCommand::RemoveAcknowledgement { .. } => "/v1/actions/remove-acknowledgement",
        CoreCommand::ScheduleDowntime(_) => "/v1/actions/schedule-downtime",
        CoreCommand::ForcedCheck { .. } => "/v1/actions/reschedule-check",
    }
}

/// Writes the Icinga 2 API body for `cmd` into `buf`; returns its length.
/// With [`icinga_path`] that is the whole request:
///
/// ```text
/// {"type":"Service","filter":"host.name==mn_host && service.name==mn_service",
///  "filter_vars":{"mn_host":"web1","mn_service":"http"}, …}
/// ```
///
/// then `author`, `comment`, `sticky`, `notify`, `persistent` for an
/// acknowledgement; `author` for its removal; `author`, `comment`,
/// `start_time`, `end_time`, `fixed` (and `all_services` for a host with
/// its services) for a downtime; `force` for a check.
/// [`crate::limits::ICINGA_BODY_BUF_LEN`] always suffices.
pub fn write_icinga_body(cmd: &CoreCommand<'_>, buf: &mut [u8]) -> Result<usize, CommandError> {
    cmd.validate()?;
    let (host, service) = cmd.target().parts();
    let mut w = JsonWriter::new(buf);
    let res = (|| {
        match service {
            None => w.raw(
                "{\"type\":\"Host\",\"filter\":\"host.name==mn_host\",\
                 \"filter_vars\":{\"mn_host\":",
            )?,
            Some(_) => w.raw(
                "{\"type\":\"Service\",\
                 \"filter\":\"host.name==mn_host && service.name==mn_service\",\
                 \"filter_vars\":{\"mn_host\":",
            )?,
        }
        w.string(host)?;
        if let Some(s) = service {
            w.raw(",\"mn_service\":")?;
            w.string(s)?;
        }
        w.raw("}")?;
        match cmd {
            CoreCommand::Acknowledge(a) => {
                w.raw(",\"author\":")?;
                w.string(a.author)?;
                w.raw(",\"comment\":")?;
                w.string(a.comment)?;
                w.raw(",\"sticky\":")?;
                w.bool(a.sticky)?;
                w.raw(",\"notify\":")?;
                w.bool(a.notify)?;
                w.raw(",\"persistent\":true")?;
            }
            CoreCommand::RemoveAcknowledgement { .. } => {}
            CoreCommand::ScheduleDowntime(d) => {
                w.raw(",\"author\":")?;
                w.string(d.author)?;
                w.raw(",\"comment\":")?;
                w.string(d.comment)?;
                w.raw(",\"start_time\":")?;
                w.uint(d.start)?;
                w.raw(",\"end_time\":")?;
                w.uint(d.end)?;
                w.raw(",\"fixed\":true")?;
                if service.is_none() && d.with_services {
                    w.raw(",\"all_services\":true")?;
                }
            }
            CoreCommand::ForcedCheck { .. } => w.raw(",\"force\":true")?,
        }
        w.raw("}")
    })();
    res.map_err(|_| CommandError::BufferTooSmall)?;
    Ok(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{ICINGA_BODY_BUF_LEN, OITC_BODY_BUF_LEN};

    const SVC: AckTarget<'static> = AckTarget::Service {
        host: "web1",
        service: "HTTP check",
    };
    const HOST: AckTarget<'static> = AckTarget::Host { host: "web1" };

    fn downtime(target: AckTarget<'static>, with_services: bool) -> CoreCommand<'static> {
        CoreCommand::ScheduleDowntime(DowntimeCommand {
            target,
            start: 1_700_000_000,
            end: 1_700_003_600,
            with_services,
            author: "alice",
            comment: "kernel update; back soon",
            time: 1_700_000_000,
        })
    }

    fn lines(c: &CoreCommand<'_>) -> Result<String, CommandError> {
        let mut buf = [0u8; COMMAND_LINE_MAX];
        let n = write_core_lines(c, &mut buf)?;
        Ok(String::from_utf8(buf[..n].to_vec()).unwrap())
    }

    #[test]
    fn pipe_lines_are_exact() {
        let t = 1_700_000_000;
        assert_eq!(
            lines(&CoreCommand::RemoveAcknowledgement {
                target: SVC,
                time: t
            })
            .unwrap(),
            "[1700000000] REMOVE_SVC_ACKNOWLEDGEMENT;web1;HTTP check\n"
        );
        assert_eq!(
            lines(&CoreCommand::RemoveAcknowledgement {
                target: HOST,
                time: t
            })
            .unwrap(),
            "[1700000000] REMOVE_HOST_ACKNOWLEDGEMENT;web1\n"
        );
        assert_eq!(
            lines(&CoreCommand::ForcedCheck {
                target: SVC,
                time: t
            })
            .unwrap(),
            "[1700000000] SCHEDULE_FORCED_SVC_CHECK;web1;HTTP check;1700000000\n"
        );
        assert_eq!(
            lines(&CoreCommand::ForcedCheck {
                target: HOST,
                time: t
            })
            .unwrap(),
            "[1700000000] SCHEDULE_FORCED_HOST_CHECK;web1;1700000000\n"
        );
        assert_eq!(
            lines(&downtime(SVC, true)).unwrap(),
            "[1700000000] SCHEDULE_SVC_DOWNTIME;web1;HTTP check;1700000000;1700003600;1;0;3600;\
             alice;kernel update; back soon\n"
        );
        assert_eq!(
            lines(&downtime(HOST, false)).unwrap(),
            "[1700000000] SCHEDULE_HOST_DOWNTIME;web1;1700000000;1700003600;1;0;3600;\
             alice;kernel update; back soon\n"
        );
        assert_eq!(
            lines(&downtime(HOST, true)).unwrap(),
            "[1700000000] SCHEDULE_HOST_DOWNTIME;web1;1700000000;1700003600;1;0;3600;\
             alice;kernel update; back soon\n\
             [1700000000] SCHEDULE_HOST_SVC_DOWNTIME;web1;1700000000;1700003600;1;0;3600;\
             alice;kernel update; back soon\n"
        );
    }

    #[test]
    fn injection_is_refused_in_every_command_and_form() {
        for bad in ["x\ny", "x\r", "x\u{0}", "x\u{2028}"] {
            let c = CoreCommand::ScheduleDowntime(DowntimeCommand {
                comment: bad,
                ..match downtime(SVC, false) {
                    CoreCommand::ScheduleDowntime(d) => d,
                    _ => unreachable!(),
                }
            });
            let mut buf = [0xAAu8; COMMAND_LINE_MAX];
            assert!(write_core_lines(&c, &mut buf).is_err());
            assert!(buf.iter().all(|&b| b == 0xAA));
            let mut body = [0u8; ICINGA_BODY_BUF_LEN];
            assert!(write_icinga_body(&c, &mut body).is_err());
            assert!(write_oitc_request(&c, 0, &mut body).is_err());
            let t = AckTarget::Service {
                host: "h",
                service: bad,
            };
            assert!(lines(&CoreCommand::ForcedCheck { target: t, time: 1 }).is_err());
        }
        let t = AckTarget::Host { host: "a;b" };
        assert_eq!(
            lines(&CoreCommand::RemoveAcknowledgement { target: t, time: 1 }),
            Err(CommandError::Semicolon(CommandField::Host))
        );
    }

    #[test]
    fn the_longest_host_downtime_is_one_atomic_write() {
        let h = "h".repeat(crate::limits::ACK_HOST_MAX);
        let a = "a".repeat(COMMAND_TEXT_MAX);
        let c = "c".repeat(COMMAND_COMMENT_MAX);
        let cmd = CoreCommand::ScheduleDowntime(DowntimeCommand {
            target: AckTarget::Host { host: &h },
            start: u64::MAX,
            end: u64::MAX,
            with_services: true,
            author: &a,
            comment: &c,
            time: u64::MAX,
        });
        let l = lines(&cmd).unwrap();
        assert!(l.len() <= COMMAND_LINE_MAX);
        assert_eq!(l.matches('\n').count(), 2);
    }

    fn oitc(c: &CoreCommand<'_>, part: usize) -> Option<serde_json::Value> {
        let mut buf = [0u8; OITC_BODY_BUF_LEN];
        write_oitc_request(c, part, &mut buf)
            .unwrap()
            .map(|n| serde_json::from_slice(&buf[..n]).unwrap())
    }

    #[test]
    fn oitc_bodies_use_the_apis_names() {
        let t = 1_700_000_000;
        assert_eq!(
            oitc(
                &CoreCommand::ForcedCheck {
                    target: SVC,
                    time: t
                },
                0
            )
            .unwrap(),
            serde_json::json!({"command":"SCHEDULE_FORCED_SVC_CHECK","hostUuid":"web1",
                "serviceUuid":"HTTP check","check_time":1_700_000_000u64})
        );
        assert_eq!(
            oitc(
                &CoreCommand::RemoveAcknowledgement {
                    target: HOST,
                    time: t
                },
                0
            )
            .unwrap(),
            serde_json::json!({"command":"REMOVE_HOST_ACKNOWLEDGEMENT","hostUuid":"web1"})
        );
        let d = downtime(HOST, true);
        assert_eq!(
            oitc(&d, 0).unwrap(),
            serde_json::json!({"command":"SCHEDULE_HOST_DOWNTIME","hostUuid":"web1",
                "start_time":1_700_000_000u64,"end_time":1_700_003_600u64,"fixed":1,
                "trigger_id":0,"duration":3600,"author":"alice",
                "comment":"kernel update; back soon"})
        );
        assert_eq!(
            oitc(&d, 1).unwrap()["command"],
            "SCHEDULE_HOST_SVC_DOWNTIME"
        );
        assert!(oitc(&d, 2).is_none());
        assert!(oitc(
            &CoreCommand::ForcedCheck {
                target: SVC,
                time: t
            },
            1
        )
        .is_none());
    }

    fn icinga(c: &CoreCommand<'_>) -> serde_json::Value {
        let mut buf = [0u8; ICINGA_BODY_BUF_LEN];
        let n = write_icinga_body(c, &mut buf).unwrap();
        serde_json::from_slice(&buf[..n]).unwrap()
    }

    #[test]
    fn icinga_bodies_filter_by_variables_never_by_names() {
        let ack = CoreCommand::Acknowledge(AckCommand {
            target: AckTarget::Service {
                host: "web\"1",
                service: "x\" || true || \"",
            },
            sticky: false,
            notify: true,
            author: "alice",
            comment: "c",
            time: 1,
        });
        assert_eq!(icinga_path(&ack), "/v1/actions/acknowledge-problem");
        assert_eq!(
            icinga(&ack),
            serde_json::json!({"type":"Service",
                "filter":"host.name==mn_host && service.name==mn_service",
                "filter_vars":{"mn_host":"web\"1","mn_service":"x\" || true || \""},
                "author":"alice","comment":"c","sticky":false,"notify":true,"persistent":true})
        );
        let d = icinga(&downtime(HOST, true));
        assert_eq!(d["type"], "Host");
        assert_eq!(d["filter"], "host.name==mn_host");
        assert_eq!(d["all_services"], true);
        assert_eq!(d["fixed"], true);
        assert_eq!(d["end_time"], 1_700_003_600u64);
        assert!(icinga(&downtime(SVC, true)).get("all_services").is_none());
        let r = CoreCommand::ForcedCheck {
            target: SVC,
            time: 5,
        };
        assert_eq!(icinga_path(&r), "/v1/actions/reschedule-check");
        assert_eq!(icinga(&r)["force"], true);
        let u = CoreCommand::RemoveAcknowledgement {
            target: HOST,
            time: 5,
        };
        assert_eq!(icinga_path(&u), "/v1/actions/remove-acknowledgement");
        assert_eq!(
            icinga(&u),
            serde_json::json!({"type":"Host","filter":"host.name==mn_host",
                "filter_vars":{"mn_host":"web1"}})
        );
    }
}
