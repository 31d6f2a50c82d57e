//! The payload renderer: one [`Notification`] in, Mattermost incoming-webhook
//! JSON out, written into the caller's buffer.
//!
//! A post is one attachment: `fallback` (short plain text for push
//! notifications), `color`, `title` worded as the original openITCOCKPIT
//! module words it (+ `title_link` from a URL template), `text` holding the
//! plugin output in a code block, `fields` (host, service, state, type,
//! address, and the author and comment for acknowledgements, downtimes and
//! custom notifications), an optional graph (`image_url`, from a URL
//! template like the title link), a `footer` with the source and the event time in
//! UTC, and for problems an optional Acknowledge button. The top-level
//! `text` is left out unless a mention is configured for the alert's state:
//! then it is exactly that mention, the only one that can reach Mattermost.
//!
//! Panic and size rule: [`render_payload`] never panics and never
//! allocates. Any input fits any buffer of at least [`MIN_PAYLOAD_BUF_LEN`]
//! bytes: untrusted text is cut with a visible marker, in the order
//! [`crate::limits`] documents. The payload is measured with a counting
//! writer, budgets shrink until it fits, and only then is it written.

pub mod digest;
mod fit;
mod layout;
mod link;
mod look;
mod time;

pub use layout::{write_buttons, write_context};
pub use link::{is_http_url, write_percent_encoded};
pub use look::{GREEN, GREY, INFO_COLOR, ORANGE, RED};
pub use time::{write_until, UtcTime};

use crate::json::JsonWriter;
use crate::limits::{
    ACK_CONTEXT_MAX_LEN, CHANNEL_MAX_LEN, MENTION_MAX_LEN, MIN_PAYLOAD_BUF_LEN, URL_MAX_LEN,
    USERNAME_MAX_LEN,
};
use crate::model::{Kind, Notification, NotificationType, State};
use fit::Fitted;
use layout::Plan;

/// A set of states, used to choose which states get a mention or a priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateSet(u16);

impl StateSet {
    /// The empty set.
    pub const EMPTY: StateSet = StateSet(0);

    fn bit(state: State) -> u16 {
        1 << (state as u16)
    }

    /// This set plus `state`.
    pub const fn with(self, state: State) -> StateSet {
        StateSet(self.0 | (1 << (state as u16)))
    }

    /// Whether `state` is in the set.
    pub fn contains(self, state: State) -> bool {
        self.0 & Self::bit(state) != 0
    }
}

/// Mattermost message priority (the body's `priority.priority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// `"important"`
    Important,
    /// `"urgent"`
    Urgent,
}

/// An action button: what it does, where Mattermost posts the click, and
/// the context it echoes back. Keys and values are written as JSON strings, escaped
/// (Mattermost turns context numbers into floats, so everything is a string).
///
/// Buttons are rendered only on PROBLEM notifications whose state is not
/// UP/OK — an unparsable state id included, because a PROBLEM is by
/// definition not OK and the monitoring core refuses an ack that does not
/// apply. An `url` that is not plain http(s) ([`is_http_url`]), longer than
/// [`URL_MAX_LEN`], or a context longer than [`ACK_CONTEXT_MAX_LEN`] when
/// written, leaves that button out and the rest of the post as it is: a
/// misconfigured button must not cost the alert. The CLI validates its
/// configuration up front so this does not happen silently.
#[derive(Debug, Clone, Copy)]
pub struct ActionButton<'a> {
    /// What the button does: its id and label.
    pub action: crate::actions::Action,
    /// `integration.url`; must be http(s).
    pub url: &'a str,
    /// `integration.context` as key/value string pairs, in order.
    pub context: &'a [(&'a str, &'a str)],
}

/// Everything about a post that comes from configuration, not from the alert.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions<'a> {
    /// Put the state/type emoji in titles (`--no-emoji` turns it off).
    pub emoji: bool,
    /// Channel override (`town-square`, `#name`, `@user`); `None` keeps the
    /// hook's. Not rendered when empty or longer than [`CHANNEL_MAX_LEN`].
    pub channel: Option<&'a str>,
    /// Username override; not rendered when empty or longer than
    /// [`USERNAME_MAX_LEN`].
    pub username: Option<&'a str>,
    /// Icon URL override; not rendered unless http(s) and at most
    /// [`URL_MAX_LEN`] bytes.
    pub icon_url: Option<&'a str>,
    /// Footer source name, e.g. `"Naemon on mon1"`; cut at
    /// [`crate::limits::SOURCE_MAX_LEN`].
    pub source: &'a str,
    /// Title-link template for host alerts; placeholders `{hostuuid}`,
    /// `{hostname}` (percent-encoded when substituted). A template that is
    /// not http(s), or a link longer than [`URL_MAX_LEN`], is left out.
    pub host_link: Option<&'a str>,
    /// Title-link template for service alerts; also `{serviceuuid}`,
    /// `{servicename}`.
    pub service_link: Option<&'a str>,
    /// Graph image template (a PNP4Nagios or Grafana render link), the
    /// attachment's `image_url`; the same placeholders as the title links,
    /// percent-encoded. For host alerts the service placeholders are empty.
    /// A template that is not http(s), or an image URL longer than
    /// [`URL_MAX_LEN`], is left out.
    pub image_url: Option<&'a str>,
    /// A deliberate mention such as `@oncall`, put verbatim in the top-level
    /// `text` of PROBLEM notifications in `mention_states`; not rendered
    /// when longer than [`MENTION_MAX_LEN`].
    pub mention: Option<&'a str>,
    /// States (of PROBLEM notifications) that get `mention`.
    pub mention_states: StateSet,
    /// Priority for `priority_states`.
    pub priority: Option<Priority>,
    /// `requested_ack` sent with the priority.
    pub priority_requested_ack: bool,
    /// States (of PROBLEM notifications) that get `priority`.
    pub priority_states: StateSet,
    /// Action buttons, rendered only on PROBLEM notifications in a non-OK
    /// state; at most [`crate::limits::MAX_VISIBLE_ACTIONS`] are shown.
    pub buttons: &'a [ActionButton<'a>],
}

impl Default for RenderOptions<'_> {
    fn default() -> Self {
        RenderOptions {
            emoji: true,
            channel: None,
            username: None,
            icon_url: None,
            source: "mattermost-notify",
            host_link: None,
            service_link: None,
            image_url: None,
            mention: None,
            mention_states: StateSet::EMPTY,
            priority: None,
            priority_requested_ack: false,
            priority_states: StateSet::EMPTY,
            buttons: &[],
        }
    }
}

/// A configured override the renderer may have to leave out of every post,
/// whatever the alert (see [`RenderOptions::left_out`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Override {
    /// [`RenderOptions::channel`], over [`CHANNEL_MAX_LEN`].
    Channel,
    /// [`RenderOptions::username`], over [`USERNAME_MAX_LEN`].
    Username,
    /// [`RenderOptions::icon_url`], not http(s) or over [`URL_MAX_LEN`].
    IconUrl,
    /// [`RenderOptions::mention`], over [`MENTION_MAX_LEN`].
    Mention,
}

impl Override {
    /// Every override, in field order.
    pub const ALL: [Override; 4] = [
        Override::Channel,
        Override::Username,
        Override::IconUrl,
        Override::Mention,
    ];
}

impl<'a> RenderOptions<'a> {
    /// True when `field` is set but the renderer leaves it out of every
    /// post (too long once written as JSON, or not an http(s) URL), so the
    /// caller can say so instead of the post silently lacking it.
    pub fn left_out(&self, field: Override) -> bool {
        let (given, kept) = match field {
            Override::Channel => (self.channel, self.kept_channel()),
            Override::Username => (self.username, self.kept_username()),
            Override::IconUrl => (self.icon_url, self.kept_icon_url()),
            Override::Mention => (self.mention, self.kept_mention()),
        };
        given.is_some_and(|v| !v.trim().is_empty()) && kept.is_none()
    }

    fn kept_channel(&self) -> Option<&'a str> {
        capped(self.channel, CHANNEL_MAX_LEN)
    }

    fn kept_username(&self) -> Option<&'a str> {
        capped(self.username, USERNAME_MAX_LEN)
    }

    fn kept_icon_url(&self) -> Option<&'a str> {
        self.icon_url
            .filter(|u| is_http_url(u) && escaped_len(u) <= URL_MAX_LEN)
    }

    fn kept_mention(&self) -> Option<&'a str> {
        capped(self.mention, MENTION_MAX_LEN)
    }
}

/// Why rendering failed. Only a buffer too small for a minimal message does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenderError {
    /// The buffer is shorter than [`crate::limits::MIN_PAYLOAD_BUF_LEN`].
    BufferTooSmall,
}

impl core::fmt::Display for RenderError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RenderError::BufferTooSmall => {
                f.write_str("payload buffer too small for a minimal message")
            }
        }
    }
}

/// Renders `n` as webhook JSON into `buf`; returns the number of bytes used
/// (the payload is `&buf[..len]`, valid UTF-8 JSON).
///
/// Never panics and never allocates. Fails only when `buf` is shorter than
/// [`MIN_PAYLOAD_BUF_LEN`]; any alert, however large its texts, fits a
/// buffer of that size, its texts cut with a visible `… [N bytes cut]`.
///
/// ```
/// use mattermost_notify_core::limits::PAYLOAD_BUF_LEN;
/// use mattermost_notify_core::{render_payload, Kind, Notification, NotificationType};
/// use mattermost_notify_core::{RenderError, RenderOptions, State};
/// let alert = Notification {
///     kind: Kind::Service,
///     notification_type: NotificationType::Problem,
///     state: State::Critical,
///     host_uuid: "web1",
///     host_name: "",
///     host_address: "192.0.2.10",
///     service_uuid: "http",
///     service_name: "HTTP",
///     output: "CRITICAL - connection refused",
///     long_output: "",
///     ack_author: "",
///     ack_comment: "",
///     event_time: 1_764_284_280,
/// };
/// let mut buf = [0u8; PAYLOAD_BUF_LEN];
/// let len = render_payload(&alert, &RenderOptions::default(), &mut buf)?;
/// let json = core::str::from_utf8(&buf[..len]).unwrap_or_default();
/// assert!(json.contains("PROBLEM: HTTP on web1 is Critical!"));
/// # Ok::<(), RenderError>(())
/// ```
pub fn render_payload(
    n: &Notification<'_>,
    opts: &RenderOptions<'_>,
    buf: &mut [u8],
) -> Result<usize, RenderError> {
    if buf.len() < MIN_PAYLOAD_BUF_LEN {
        return Err(RenderError::BufferTooSmall);
    }
    render_plan(n, &plan(n, opts, None), buf)
}

/// Fits `plan` into `buf` and writes it: the one copy of the fitting
/// machinery, shared by webhook posts and API-mode posts (kept out of
/// line so it is not compiled twice).
#[inline(never)]
fn render_plan(
    n: &Notification<'_>,
    plan: &Plan<'_>,
    buf: &mut [u8],
) -> Result<usize, RenderError> {
    let fitted = Fitted::for_buffer(n, buf.len(), |fitted| measure(plan, fitted));
    fit_and_write(n, plan, fitted, buf)
}

/// [`render_payload`] for a problem's root post in API mode: the alert as
/// `n` says it is now, with `status` (acknowledged, in downtime,
/// recovered…) as a field, the colour of where it stands and only the
/// buttons that still apply. Needs a buffer of at least
/// [`crate::limits::ROOT_MIN_BUF_LEN`].
pub(crate) fn render_root_post(
    n: &Notification<'_>,
    status: Option<&crate::thread::RootStatus<'_>>,
    shape: crate::thread::RootShape,
    opts: &RenderOptions<'_>,
    buf: &mut [u8],
) -> Result<usize, RenderError> {
    if buf.len() < crate::limits::ROOT_MIN_BUF_LEN {
        return Err(RenderError::BufferTooSmall);
    }
    let mut plan = plan(n, opts, status);
    plan.rest = Some(shape);
    if let Some(status) = status {
        plan.root = Some(*status);
        plan.color = status.color(n.state);
    }
    render_plan(n, &plan, buf)
}

/// Length of the payload with these plans, from a counting pass that adds
/// up the planned texts' lengths.
fn measure(plan: &Plan<'_>, fitted: &Fitted<'_>) -> usize {
    let mut counter = JsonWriter::counting();
    // A counting writer never overflows.
    let _ = layout::write_payload(&mut counter, plan, fitted);
    counter.len()
}

/// Shrinks budgets from `fitted` until the payload fits `buf`, then
/// writes it.
fn fit_and_write<'a>(
    n: &Notification<'a>,
    plan: &Plan<'a>,
    mut fitted: Fitted<'a>,
    buf: &mut [u8],
) -> Result<usize, RenderError> {
    // Each round either fits or lowers one budget for good (see `fit`). A
    // round re-plans only the text it shrinks; measuring adds up lengths.
    for _ in 0..MAX_FIT_ROUNDS {
        let needed = measure(plan, &fitted);
        if needed <= buf.len() {
            let mut w = JsonWriter::new(buf);
            layout::write_payload(&mut w, plan, &fitted)
                .map_err(|_| RenderError::BufferTooSmall)?;
            return Ok(w.len());
        }
        if !fitted.shrink(n, needed - buf.len()) {
            break;
        }
    }
    Err(RenderError::BufferTooSmall)
}

/// Upper bound on measure-and-shrink rounds. A ladder step takes one round,
/// at most three when cut markers eat part of the gain; nine steps plus
/// the two drops stay below this.
const MAX_FIT_ROUNDS: usize = 48;

/// Decides everything that does not depend on budgets; a root post's
/// `status` keeps only the buttons that apply to it.
fn plan<'a>(
    n: &Notification<'a>,
    opts: &RenderOptions<'a>,
    status: Option<&crate::thread::RootStatus<'_>>,
) -> Plan<'a> {
    let t = n.notification_type;
    let problem = t == NotificationType::Problem;
    let link_template = match n.kind {
        Kind::Host => opts.host_link,
        Kind::Service => opts.service_link,
    };
    let fits = |t: &&str| is_http_url(t) && link::link_len(t, n) <= URL_MAX_LEN;
    let link = link_template.filter(fits);
    let image = opts.image_url.filter(fits);
    let mut buttons = [None; crate::limits::MAX_VISIBLE_ACTIONS];
    let usable = opts.buttons.iter().filter(|b| {
        problem
            && !n.state.is_ok()
            && is_http_url(b.url)
            && escaped_len(b.url) <= URL_MAX_LEN
            && context_len(b.context) <= ACK_CONTEXT_MAX_LEN
            && status.is_none_or(|s| s.offers(b.action))
    });
    for (slot, b) in buttons.iter_mut().zip(usable) {
        *slot = Some(*b);
    }
    Plan {
        n: *n,
        emoji: look::emoji(t, n.state).filter(|_| opts.emoji),
        color: look::color(t, n.state),
        title: look::title(t, n.kind),
        link,
        image,
        channel: opts.kept_channel(),
        username: opts.kept_username(),
        icon_url: opts.kept_icon_url(),
        mention: opts
            .kept_mention()
            .filter(|_| problem && opts.mention_states.contains(n.state)),
        priority: opts
            .priority
            .filter(|_| problem && opts.priority_states.contains(n.state))
            .map(|p| (p, opts.priority_requested_ack)),
        buttons,
        source: opts.source,
        rest: None,
        root: None,
    }
}

/// The state colour of a post of type `t` (for [`crate::thread`]).
pub(crate) fn look_color(t: NotificationType<'_>, state: State) -> &'static str {
    look::color(t, state)
}

/// `value` if present, non-blank and at most `max` bytes when written.
fn capped(value: Option<&str>, max: usize) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty() && escaped_len(v) <= max)
}

fn escaped_len(s: &str) -> usize {
    let mut counter = JsonWriter::counting();
    let _ = counter.escaped(s);
    counter.len()
}

fn context_len(context: &[(&str, &str)]) -> usize {
    let mut counter = JsonWriter::counting();
    let _ = write_context(&mut counter, context);
    counter.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::PAYLOAD_BUF_LEN;

    /// Renders with the long output measured at its full budget first, as
    /// the renderer did before [`Fitted::for_buffer`] learnt to skip it.
    fn render_measuring_in_full(n: &Notification<'_>, buf: &mut [u8]) -> Option<usize> {
        let opts = RenderOptions::default();
        let plan = plan(n, &opts, None);
        fit_and_write(n, &plan, Fitted::measured_in_full(n), buf).ok()
    }

    /// The arithmetic first cut must cut exactly where measuring in full
    /// cuts: long outputs of every size around the buffer, with backtick
    /// runs before, inside and after what is kept, beside outputs with and
    /// without runs of their own, at buffer sizes from the minimum up.
    #[test]
    fn first_cut_of_the_long_output_matches_measuring_in_full() {
        let units = [
            "x",
            "@a <b ",
            "é\u{1}\"",
            "\u{2028}`` ",
            "\u{85}@ ",
            "```` y ",
        ];
        let mut checked = 0;
        for unit in units {
            for (reps, tick_at, ticks) in [
                (900, 0, 0),
                (3000, 10, 9),
                (3000, 7000, 12),
                (9000, 15000, 6),
            ] {
                let mut long = unit.repeat(reps);
                let at = (tick_at.min(long.len())..)
                    .find(|&i| long.is_char_boundary(i))
                    .unwrap();
                long.insert_str(at, &"`".repeat(ticks));
                for output in ["short", "with ````` ticks", &"o".repeat(5000)] {
                    let n = Notification {
                        kind: Kind::Service,
                        notification_type: NotificationType::Problem,
                        state: State::Critical,
                        host_uuid: "h",
                        host_name: "",
                        host_address: "192.0.2.1",
                        service_uuid: "s",
                        service_name: "",
                        output,
                        long_output: &long,
                        ack_author: "",
                        ack_comment: "",
                        event_time: 0,
                    };
                    for buf_len in (MIN_PAYLOAD_BUF_LEN..=PAYLOAD_BUF_LEN + 512).step_by(733) {
                        let mut fast = vec![0u8; buf_len];
                        let mut full = vec![0u8; buf_len];
                        let got = render_payload(&n, &RenderOptions::default(), &mut fast).ok();
                        let want = render_measuring_in_full(&n, &mut full);
                        assert_eq!(got, want, "{unit:?} x{reps} at {buf_len}");
                        let len = got.unwrap();
                        assert!(fast[..len] == full[..len], "{unit:?} x{reps} at {buf_len}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000);
    }

    /// `left_out` says exactly what `plan` drops: an override it reports is
    /// missing from the post, one it accepts is there.
    #[test]
    fn left_out_overrides_are_the_ones_missing_from_the_plan() {
        let n = Notification {
            kind: Kind::Service,
            notification_type: NotificationType::Problem,
            state: State::Critical,
            host_uuid: "h",
            host_name: "",
            host_address: "",
            service_uuid: "s",
            service_name: "",
            output: "",
            long_output: "",
            ack_author: "",
            ack_comment: "",
            event_time: 0,
        };
        let long = "x".repeat(URL_MAX_LEN + 1);
        let quotes = "\"".repeat(USERNAME_MAX_LEN / 2 + 1);
        let url = "https://icons.example/a.png";
        for (value, fits_text, fits_url) in [
            ("ops", true, false),
            (url, true, true),
            (long.as_str(), false, false),
            (quotes.as_str(), false, false),
        ] {
            let opts = RenderOptions {
                channel: Some(value),
                username: Some(value),
                icon_url: Some(value),
                mention: Some(value),
                mention_states: StateSet::EMPTY.with(State::Critical),
                ..RenderOptions::default()
            };
            let p = plan(&n, &opts, None);
            let rendered = [
                (Override::Channel, p.channel.is_some(), fits_text),
                (Override::Username, p.username.is_some(), fits_text),
                (Override::IconUrl, p.icon_url.is_some(), fits_url),
                (Override::Mention, p.mention.is_some(), fits_text),
            ];
            for (field, kept, fits) in rendered {
                assert_eq!(kept, fits, "{field:?} {value:?}");
                assert_eq!(opts.left_out(field), !kept, "{field:?} {value:?}");
            }
        }
        let none = RenderOptions::default();
        assert!(Override::ALL.iter().all(|f| !none.left_out(*f)));
    }
}
