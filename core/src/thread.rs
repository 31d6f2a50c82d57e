//! One conversation per problem (API mode, DESIGN §9): the problem's root
//! post, the edits that keep it showing where the problem stands, and the
//! compact replies in its thread. Every word of them is decided here.
//!
//! The root post is the webhook post's attachment ([`crate::render`]), sent
//! as a REST post object (`message`, `props.attachments`, `metadata`), with
//! a `Status` field saying since when the problem is open, who
//! acknowledged it and when, whether it is in downtime (until when, when
//! known) or flapping, and after how long it recovered. Its colour is the
//! state's, the acknowledged blue once acknowledged, green once recovered;
//! its buttons are those that still apply ([`RootStatus::offers`]): none
//! once recovered, Unack instead of Ack once acknowledged, no Downtime
//! while in one.
//!
//! A thread reply is one short line: what happened (`Still Critical`,
//! `Acknowledged by alice`, `Recovered after 1 h 5 min`) and the first line
//! of the plugin output or the comment. Everything from the monitored side
//! is written in [`Style::Defused`], the renderer's own code, so nothing
//! in a reply can mention anyone; the one exception is a click's reply,
//! which names the clicker as `@user` (a validated Mattermost user name,
//! as [`crate::ack_reply`] does).
//!
//! Panic rule: no function here panics; each writes into the caller's
//! buffer and fails only when it is shorter than the documented size.

use crate::ack_reply::{ReplyError, ACK_COLOR};
use crate::action_reply::Done;
use crate::actions::{Action, Phase};
use crate::json::{JsonWriter, Overflow};
use crate::limits::{DIALOG_COMMENT_MAX, POST_ID_MAX, REPLY_OUTPUT_MAX_LEN, STATUS_TEXT_MAX_LEN};
use crate::model::{Notification, NotificationType, State};
use crate::render::{write_until, RenderError, RenderOptions, UtcTime, GREEN};
use crate::text::{Budgeted, Style};

/// Whether a root post is being created (`POST /api/v4/posts`, with the
/// priority) or edited (`PUT /api/v4/posts/{id}/patch`: `message` and
/// `props`, which replace the old ones whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootShape {
    /// The body of the create request.
    Create,
    /// The body of the patch request.
    Edit,
}

/// Who acknowledged a problem, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked<'a> {
    /// The core's `$NOTIFICATIONAUTHOR$` or the clicker's user name
    /// (untrusted either way: written defused); may be empty.
    pub by: &'a str,
    /// Unix seconds.
    pub at: u64,
    /// The acknowledgement's comment; may be empty.
    pub comment: &'a str,
}

/// A downtime the problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Downtime<'a> {
    /// When it started (unix seconds).
    pub since: u64,
    /// When it ends (unix seconds); 0 when the core did not say.
    pub until: u64,
    /// Who scheduled it (untrusted); may be empty.
    pub by: &'a str,
}

/// Where a problem stands, as its root post shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootStatus<'a> {
    /// When this node first saw the problem (unix seconds).
    pub first_seen: u64,
    /// Its acknowledgement, if any.
    pub acked: Option<Acked<'a>>,
    /// Its downtime, if in one.
    pub downtime: Option<Downtime<'a>>,
    /// Whether it is flapping.
    pub flapping: bool,
    /// When it recovered (unix seconds), if it did.
    pub recovered_at: Option<u64>,
}

impl RootStatus<'_> {
    /// Where the problem stands for its buttons
    /// ([`crate::actions::ActionList::offered`]); `None` once recovered,
    /// when no button applies.
    pub fn phase(&self) -> Option<Phase> {
        match (self.recovered_at, self.acked, self.downtime) {
            (Some(_), _, _) => None,
            (None, Some(_), _) => Some(Phase::Acknowledged),
            (None, None, Some(_)) => Some(Phase::InDowntime),
            (None, None, None) => Some(Phase::Open),
        }
    }

    /// Whether a button doing `action` applies to the root now: none once
    /// recovered; no Ack or Comment once acknowledged, Unack only then;
    /// no Downtime while in one (acknowledged or not).
    pub fn offers(&self, action: Action) -> bool {
        match (self.phase(), action) {
            (None, _) => false,
            (Some(_), Action::Downtime) if self.downtime.is_some() => false,
            (Some(Phase::Acknowledged), a) => !a.acknowledges(),
            (Some(_), Action::Unack) => false,
            (Some(Phase::InDowntime), Action::Downtime) => false,
            (Some(_), _) => true,
        }
    }

    /// The attachment colour: green once recovered, the acknowledged blue
    /// once acknowledged, else the state's.
    pub fn color(&self, state: State) -> &'static str {
        if self.recovered_at.is_some() {
            GREEN
        } else if self.acked.is_some() {
            ACK_COLOR
        } else {
            crate::render::look_color(NotificationType::Problem, state)
        }
    }
}

/// Renders a problem's root post: the body of its creation or of an edit
/// (see [`RootShape`]), without `channel_id` ([`write_post_body`] adds
/// it when sending). `n` is the alert as it stands now: a PROBLEM, or the
/// RECOVERY that ended it (with `status.recovered_at`). Returns the length
/// used in `buf`, which must hold at least
/// [`crate::limits::ROOT_MIN_BUF_LEN`] bytes; any alert fits that, its
/// texts cut with a visible marker as in [`crate::render_payload`].
pub fn render_root(
    n: &Notification<'_>,
    status: &RootStatus<'_>,
    shape: RootShape,
    opts: &RenderOptions<'_>,
    buf: &mut [u8],
) -> Result<usize, RenderError> {
    let mut shown = *n;
    shown.notification_type = if status.recovered_at.is_some() {
        NotificationType::Recovery
    } else {
        NotificationType::Problem
    };
    crate::render::render_root_post(&shown, Some(status), shape, opts, buf)
}

/// Renders alert `n` as a post of its own in API mode (an alert that
/// belongs to no open problem, such as a downtime of a host that is up):
/// the webhook post's attachment as a REST post object, without a status.
/// The same buffer rule as [`render_root`].
pub fn render_single_post(
    n: &Notification<'_>,
    opts: &RenderOptions<'_>,
    buf: &mut [u8],
) -> Result<usize, RenderError> {
    crate::render::render_root_post(n, None, RootShape::Create, opts, buf)
}

/// The `Status` field's value (JSON string content): one line per fact.
pub(crate) fn write_root_status(
    w: &mut JsonWriter<'_>,
    s: &RootStatus<'_>,
) -> Result<(), Overflow> {
    let text = |w: &mut JsonWriter<'_>, t: &str| {
        Budgeted::plan(t, Style::Defused, STATUS_TEXT_MAX_LEN).write(w)
    };
    w.raw("Open since ")?;
    UtcTime::from_unix(s.first_seen).write(w)?;
    if let Some(a) = s.acked {
        w.raw("\\nAcknowledged")?;
        if !a.by.is_empty() {
            w.raw(" by ")?;
            text(w, a.by)?;
        }
        w.raw(" at ")?;
        UtcTime::from_unix(a.at).write(w)?;
        if !a.comment.is_empty() {
            w.raw(": ")?;
            text(w, a.comment)?;
        }
    }
    if let Some(d) = s.downtime {
        w.raw("\\nIn downtime since ")?;
        UtcTime::from_unix(d.since).write(w)?;
        if d.until > 0 {
            w.raw(" until ")?;
            UtcTime::from_unix(d.until).write(w)?;
        }
        if !d.by.is_empty() {
            w.raw(" (by ")?;
            text(w, d.by)?;
            w.raw(")")?;
        }
    }
    if s.flapping {
        w.raw("\\nFlapping")?;
    }
    if let Some(at) = s.recovered_at {
        w.raw("\\nRecovered at ")?;
        UtcTime::from_unix(at).write(w)?;
        w.raw(" after ")?;
        write_duration(w, at.saturating_sub(s.first_seen))?;
    }
    Ok(())
}

/// What a thread reply is about, beyond the alert itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyContext {
    /// Emoji before the words (`MATTERMOST_NO_EMOJI` turns them off).
    pub emoji: bool,
    /// For a PROBLEM re-notification: whether the state changed since the
    /// root post (`Now Warning`) or not (`Still Critical`).
    pub state_changed: bool,
    /// Seconds since the problem was first seen (a RECOVERY says it).
    pub open_secs: u64,
}

/// Writes the thread reply for alert `n` (`{"message":…}`, without ids)
/// into `buf`; returns its length. [`crate::limits::REPLY_BUF_LEN`] bytes
/// always suffice.
pub fn write_thread_reply(
    n: &Notification<'_>,
    ctx: &ReplyContext,
    buf: &mut [u8],
) -> Result<usize, ReplyError> {
    let mut w = JsonWriter::new(buf);
    w.raw("{\"message\":\"")?;
    let emoji = |w: &mut JsonWriter<'_>, e: &str| match ctx.emoji {
        true => w.raw(e).and_then(|()| w.raw(" ")),
        false => Ok(()),
    };
    let output = first_line(n.output);
    let by = |w: &mut JsonWriter<'_>| -> Result<(), Overflow> {
        if !n.ack_author.is_empty() {
            w.raw(" by ")?;
            Budgeted::plan(n.ack_author, Style::Defused, STATUS_TEXT_MAX_LEN).write(w)?;
        }
        Ok(())
    };
    let (detail, with_state) = match n.notification_type {
        NotificationType::Problem => {
            w.raw(if ctx.state_changed {
                "**Now "
            } else {
                "**Still "
            })?;
            w.escaped(n.state.name())?;
            w.raw("**")?;
            (output, false)
        }
        NotificationType::Recovery => {
            emoji(&mut w, "✅")?;
            w.raw("**Recovered** after ")?;
            write_duration(&mut w, ctx.open_secs)?;
            (output, false)
        }
        NotificationType::Acknowledgement => {
            emoji(&mut w, "💬")?;
            w.raw("**Acknowledged**")?;
            by(&mut w)?;
            (n.ack_comment, false)
        }
        NotificationType::DowntimeStart => {
            emoji(&mut w, "💤")?;
            w.raw("**Downtime started**")?;
            by(&mut w)?;
            (n.ack_comment, false)
        }
        NotificationType::DowntimeEnd => {
            emoji(&mut w, "✳️")?;
            w.raw("**Downtime ended**")?;
            ("", true)
        }
        NotificationType::DowntimeCancelled => {
            emoji(&mut w, "🗑️")?;
            w.raw("**Downtime cancelled**")?;
            by(&mut w)?;
            ("", false)
        }
        NotificationType::FlappingStart => {
            w.raw("**Flapping started**")?;
            (output, true)
        }
        NotificationType::FlappingStop => {
            w.raw("**Flapping stopped**")?;
            ("", true)
        }
        NotificationType::FlappingDisabled => {
            w.raw("**Flap detection disabled**")?;
            ("", true)
        }
        NotificationType::Custom => {
            emoji(&mut w, "📣")?;
            w.raw("**Custom notification**")?;
            by(&mut w)?;
            (n.ack_comment, false)
        }
        NotificationType::Other(t) => {
            w.raw("**")?;
            let t = if t.is_empty() { "NOTIFICATION" } else { t };
            Budgeted::plan(t, Style::Defused, crate::limits::TYPE_MAX_LEN).write(&mut w)?;
            w.raw("**")?;
            (output, true)
        }
    };
    if with_state {
        w.raw(", ")?;
        w.escaped(n.state.name())?;
    }
    if !detail.is_empty() {
        w.raw(" · ")?;
        Budgeted::plan(detail, Style::Defused, REPLY_OUTPUT_MAX_LEN).write(&mut w)?;
    }
    w.raw("\"}")?;
    Ok(w.len())
}

/// Writes the thread reply an action carried out from Mattermost adds
/// (`{"message":…}`): what was done, by `@user` (a validated user name, so
/// it mentions exactly them), when, and the downtime's end or the
/// dialog's comment (defused). [`crate::limits::REPLY_BUF_LEN`] bytes
/// always suffice.
pub fn write_done_thread_reply(
    d: &Done<'_>,
    emoji: bool,
    buf: &mut [u8],
) -> Result<usize, ReplyError> {
    let mut w = JsonWriter::new(buf);
    w.raw("{\"message\":\"")?;
    let (icon, what) = match d.ack.action {
        Action::Ack | Action::Comment => ("💬 ", "**Acknowledged** by @"),
        Action::Unack => ("", "**Acknowledgement removed** by @"),
        Action::Downtime => ("💤 ", "**Downtime** set by @"),
        Action::Recheck => ("", "**Recheck** asked for by @"),
    };
    if emoji {
        w.raw(icon)?;
    }
    w.raw(what)?;
    w.escaped(d.user_name)?;
    w.raw(" at ")?;
    UtcTime::from_unix(d.at).write(&mut w)?;
    if d.ack.action == Action::Downtime {
        w.raw(if d.with_services {
            ", with its services, until "
        } else {
            ", until "
        })?;
        write_until(d.until, d.at, &mut w)?;
    }
    if !d.comment.is_empty() {
        w.raw(" · ")?;
        Budgeted::plan(d.comment, Style::Defused, DIALOG_COMMENT_MAX).write(&mut w)?;
    }
    w.raw("\"}")?;
    Ok(w.len())
}

/// Writes the reply a digest's thread gets when its buttons acknowledged
/// problems (`{"message":…}`): `**Acknowledged** by @user at …` and how
/// many, or for one problem (the menu) which: its service and host,
/// defused. [`crate::limits::REPLY_BUF_LEN`] bytes always suffice.
pub fn write_digest_acked_thread_reply(
    user_name: &str,
    at: u64,
    acked: usize,
    one: Option<(&str, &str)>,
    emoji: bool,
    buf: &mut [u8],
) -> Result<usize, ReplyError> {
    let mut w = JsonWriter::new(buf);
    w.raw("{\"message\":\"")?;
    if emoji {
        w.raw("💬 ")?;
    }
    w.raw("**Acknowledged** by @")?;
    w.escaped(user_name)?;
    w.raw(" at ")?;
    UtcTime::from_unix(at).write(&mut w)?;
    w.raw(": ")?;
    match one {
        Some((host, service)) => {
            let name = |w: &mut JsonWriter<'_>, t: &str| {
                Budgeted::plan(t, Style::Defused, STATUS_TEXT_MAX_LEN).write(w)
            };
            if !service.is_empty() {
                name(&mut w, service)?;
                w.raw(" on ")?;
            }
            name(&mut w, host)?;
        }
        None => {
            w.uint(acked as u64)?;
            w.raw(if acked == 1 {
                " problem of this digest"
            } else {
                " problems of this digest"
            })?;
        }
    }
    w.raw("\"}")?;
    Ok(w.len())
}

/// Why [`write_post_body`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// An id is empty, longer than [`POST_ID_MAX`] or not `[A-Za-z0-9]`.
    BadId,
    /// The rendered body is not a JSON object with members.
    NotAnObject,
    /// The output buffer is too small (it needs the body's length plus
    /// 40 and the ids).
    BufferTooSmall,
}

impl core::fmt::Display for BodyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            BodyError::BadId => "a Mattermost id is not 1 to 64 letters and digits",
            BodyError::NotAnObject => "the rendered post is not a JSON object",
            BodyError::BufferTooSmall => "post body does not fit its buffer",
        })
    }
}

impl From<Overflow> for BodyError {
    fn from(_: Overflow) -> Self {
        BodyError::BufferTooSmall
    }
}

/// Whether `id` can be a Mattermost id in a REST body or path.
pub fn is_mattermost_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= POST_ID_MAX && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The body of `POST /api/v4/posts`: the rendered `body` (a root post
/// from [`render_root`], or a reply from [`write_thread_reply`]) with
/// `channel_id` and, for a reply, `root_id` put first. The ids are
/// resolved only when the post is sent (a reply waits for its root).
pub fn write_post_body(
    channel_id: &str,
    root_id: Option<&str>,
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, BodyError> {
    if !is_mattermost_id(channel_id) || root_id.is_some_and(|r| !is_mattermost_id(r)) {
        return Err(BodyError::BadId);
    }
    let rest = match body.strip_prefix(b"{") {
        Some(rest) if !rest.trim_ascii_start().starts_with(b"}") => rest,
        _ => return Err(BodyError::NotAnObject),
    };
    let rest = core::str::from_utf8(rest).map_err(|_| BodyError::NotAnObject)?;
    let mut w = JsonWriter::new(out);
    w.raw("{\"channel_id\":")?;
    w.string(channel_id)?;
    if let Some(root) = root_id {
        w.raw(",\"root_id\":")?;
        w.string(root)?;
    }
    w.raw(",")?;
    w.raw(rest)?;
    Ok(w.len())
}

/// `45 s`, `12 min`, `1 h 5 min`, `3 d 2 h`: two units at most.
pub fn write_duration(w: &mut JsonWriter<'_>, secs: u64) -> Result<(), Overflow> {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let parts: [(u64, &str); 4] = [(d, "d"), (h, "h"), (m, "min"), (s, "s")];
    let first = parts.iter().position(|(v, _)| *v > 0).unwrap_or(3);
    for (i, (v, unit)) in parts.iter().skip(first).take(2).enumerate() {
        if i > 0 && *v == 0 {
            break;
        }
        if i > 0 {
            w.raw(" ")?;
        }
        write_u64(w, *v)?;
        w.raw(" ")?;
        w.raw(unit)?;
    }
    Ok(())
}

fn write_u64(w: &mut JsonWriter<'_>, v: u64) -> Result<(), Overflow> {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = v;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    let text = digits.get(i..).unwrap_or_default();
    w.raw(core::str::from_utf8(text).unwrap_or("0"))
}

/// The first line of a plugin output (a reply stays one line).
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{REPLY_BUF_LEN, ROOT_MIN_BUF_LEN};
    use crate::model::Kind;

    fn alert(t: NotificationType<'static>, state_id: &str) -> Notification<'static> {
        Notification {
            kind: Kind::Service,
            notification_type: t,
            state: State::from_id(Kind::Service, state_id),
            host_uuid: "web1",
            host_name: "",
            host_address: "",
            service_uuid: "http",
            service_name: "",
            output: "CRITICAL - refused\nsecond line",
            long_output: "",
            ack_author: "alice",
            ack_comment: "on it",
            event_time: 1_764_284_280,
        }
    }

    fn reply(n: &Notification<'_>, ctx: ReplyContext) -> String {
        let mut buf = [0u8; REPLY_BUF_LEN];
        let len = write_thread_reply(n, &ctx, &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf[..len]).unwrap();
        v["message"].as_str().unwrap().to_string()
    }

    const CTX: ReplyContext = ReplyContext {
        emoji: true,
        state_changed: false,
        open_secs: 3900,
    };

    #[test]
    fn replies_say_what_happened_in_one_line() {
        let cases = [
            (
                NotificationType::Problem,
                "2",
                "**Still Critical** · CRITICAL - refused",
            ),
            (
                NotificationType::Recovery,
                "0",
                "✅ **Recovered** after 1 h 5 min · CRITICAL - refused",
            ),
            (
                NotificationType::Acknowledgement,
                "2",
                "💬 **Acknowledged** by alice · on it",
            ),
            (
                NotificationType::DowntimeEnd,
                "2",
                "✳️ **Downtime ended**, Critical",
            ),
            (
                NotificationType::FlappingStop,
                "1",
                "**Flapping stopped**, Warning",
            ),
        ];
        for (t, s, want) in cases {
            assert_eq!(reply(&alert(t, s), CTX), want);
        }
        let changed = ReplyContext {
            state_changed: true,
            emoji: false,
            ..CTX
        };
        assert_eq!(
            reply(&alert(NotificationType::Problem, "1"), changed),
            "**Now Warning** · CRITICAL - refused"
        );
    }

    #[test]
    fn replies_defuse_everything_from_the_monitored_side() {
        let mut n = alert(NotificationType::Acknowledgement, "2");
        n.ack_author = "@all";
        n.ack_comment = "<!channel> look";
        let text = reply(&n, CTX);
        assert!(
            !text.contains("@all") && !text.contains("<!channel>"),
            "{text}"
        );
        assert!(text.contains("@\u{2060}all"), "{text}");
        // The worst case fits the documented buffer.
        let long = "\u{1}".repeat(10_000);
        n.ack_author = &long;
        n.ack_comment = &long;
        n.notification_type = NotificationType::Other(&long);
        let mut buf = [0u8; REPLY_BUF_LEN];
        for t in [NotificationType::Other(&long), NotificationType::Custom] {
            n.notification_type = t;
            n.output = &long;
            assert!(write_thread_reply(&n, &CTX, &mut buf).is_ok());
        }
        let name = "u".repeat(crate::limits::CALLBACK_NAME_MAX);
        let comment = "@".repeat(DIALOG_COMMENT_MAX);
        let long_host = "h".repeat(crate::limits::ACK_HOST_MAX);
        for action in crate::actions::ALL_ACTIONS {
            let d = Done {
                ack: crate::ack::ValidAck {
                    action,
                    kind: crate::ack::AckKind::Host,
                    host: &long_host,
                    service: "",
                    problem: "1",
                    label: "",
                    text: "",
                    exp: 0,
                },
                user_name: &name,
                at: u64::MAX,
                comment: &comment,
                until: u64::MAX,
                with_services: true,
                buttons: &[],
            };
            assert!(write_done_thread_reply(&d, true, &mut buf).is_ok());
        }
    }

    #[test]
    fn durations_read_naturally() {
        for (secs, want) in [
            (0, "0 s"),
            (45, "45 s"),
            (60, "1 min"),
            (3900, "1 h 5 min"),
            (7200, "2 h"),
            (86_400 * 3 + 7200 + 5, "3 d 2 h"),
            (u64::MAX, "213503982334601 d 7 h"),
        ] {
            let mut buf = [0u8; 64];
            let mut w = JsonWriter::new(&mut buf);
            write_duration(&mut w, secs).unwrap();
            assert_eq!(core::str::from_utf8(w.as_bytes()).unwrap(), want);
        }
    }

    #[test]
    fn post_bodies_get_their_ids_first() {
        let mut out = [0u8; 128];
        let n = write_post_body("chan1", Some("root1"), br#"{"message":"x"}"#, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            br#"{"channel_id":"chan1","root_id":"root1","message":"x"}"#
        );
        let n = write_post_body("chan1", None, br#"{"message":"x"}"#, &mut out).unwrap();
        assert_eq!(&out[..n], br#"{"channel_id":"chan1","message":"x"}"#);
        assert_eq!(
            write_post_body("a\"b", None, b"{\"m\":1}", &mut out),
            Err(BodyError::BadId)
        );
        assert_eq!(
            write_post_body("a", None, b"{}", &mut out),
            Err(BodyError::NotAnObject)
        );
        assert_eq!(
            write_post_body("a", None, b"{\"m\":1}", &mut [0u8; 8]),
            Err(BodyError::BufferTooSmall)
        );
    }

    #[test]
    fn the_worst_root_fits_its_minimum_buffer() {
        let long = "\u{1}@<`".repeat(20_000);
        let n = Notification {
            kind: Kind::Service,
            notification_type: NotificationType::Problem,
            state: State::Critical,
            host_uuid: &long,
            host_name: &long,
            host_address: &long,
            service_uuid: &long,
            service_name: &long,
            output: &long,
            long_output: &long,
            ack_author: &long,
            ack_comment: &long,
            event_time: u64::MAX,
        };
        let status = RootStatus {
            first_seen: 0,
            acked: Some(Acked {
                by: &long,
                at: u64::MAX,
                comment: &long,
            }),
            downtime: Some(Downtime {
                since: u64::MAX,
                until: u64::MAX,
                by: &long,
            }),
            flapping: true,
            recovered_at: Some(u64::MAX),
        };
        let m = "m".repeat(crate::limits::MENTION_MAX_LEN);
        let opts = RenderOptions {
            mention: Some(&m),
            mention_states: crate::render::StateSet::EMPTY.with(State::Critical),
            source: &long,
            ..RenderOptions::default()
        };
        for shape in [RootShape::Create, RootShape::Edit] {
            let mut buf = vec![0u8; ROOT_MIN_BUF_LEN];
            let len = render_root(&n, &status, shape, &opts, &mut buf).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&buf[..len]).unwrap();
            assert!(v["props"]["attachments"][0]["fields"].is_array(), "{v}");
            assert_eq!(
                render_root(&n, &status, shape, &opts, &mut buf[..ROOT_MIN_BUF_LEN - 1]),
                Err(RenderError::BufferTooSmall)
            );
        }
    }
}
