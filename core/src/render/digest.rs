//! Digest posts: the alerts of a storm, many to a post (DESIGN §12).
//!
//! ```text
//! text:  🚨 37 problems on 12 hosts, 3 recovered
//! attachment text (a Markdown table, one row per alert, in arrival order):
//! |   | Host | Service | Output |
//! |:--|:--|:--|:--|
//! | 🚨 | [web1](link) | [http](link) | CRITICAL - connection refused |
//! actions: [Acknowledge all] [Acknowledge one… ▾]
//! ```
//!
//! Every cell is untrusted text: only its first line, cut at a character
//! boundary with `…`, written through the renderer's own [`write_text`] in
//! [`Style::Defused`] (no mention can reach anyone), and with the
//! characters that would end a cell, a link or a code span (`| [ ] ` \ * _
//! ~`) escaped with a backslash. The buttons are the CLI's signed contexts
//! (see [`crate::digest_list`]); the menu's option values are indexes into
//! the signed list. A post that does not fit its buffer is an error the
//! caller answers by splitting the rows over more posts.

use crate::json::{JsonWriter, Overflow};
use crate::limits::{DIGEST_CELL_MAX, DIGEST_OUTPUT_MAX, URL_MAX_LEN};
use crate::model::{Kind, Notification, NotificationType};
use crate::render::link::{link_len, write_link};
use crate::render::look::{self, GREEN, INFO_COLOR, ORANGE, RED};
use crate::render::{is_http_url, write_context, RenderError, RenderOptions};
use crate::text::{write_text, Style};

/// One row of a digest.
#[derive(Debug, Clone, Copy)]
pub struct DigestItem<'a> {
    /// The alert.
    pub n: Notification<'a>,
    /// Its index in the signed list, when it can be acknowledged (a
    /// PROBLEM in a non-OK state): the menu offers it under this value.
    pub list_index: Option<usize>,
}

/// The digest's two actions, each with its signed context.
#[derive(Debug, Clone, Copy)]
pub struct DigestButtons<'a> {
    /// `integration.url` of both; must be http(s).
    pub url: &'a str,
    /// Context of **Acknowledge all**.
    pub all: &'a [(&'a str, &'a str)],
    /// Context of the **Acknowledge one…** menu.
    pub one: &'a [(&'a str, &'a str)],
}

/// One digest post.
#[derive(Debug, Clone, Copy)]
pub struct DigestPost<'a> {
    /// Its rows, in arrival order.
    pub items: &'a [DigestItem<'a>],
    /// Which post of the digest this is (1-based) ...
    pub part: usize,
    /// ... of how many.
    pub parts: usize,
    /// Buttons, when two-way is on and a row can be acknowledged.
    pub buttons: Option<DigestButtons<'a>>,
    /// API mode: a REST post object (`message`, `props.attachments`; the
    /// sender adds `channel_id`) instead of a webhook payload. The bot
    /// posts under its own name and icon, so those overrides are left out.
    pub rest: bool,
}

/// What a digest holds, for its headline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestCounts {
    /// PROBLEM rows in a non-OK state.
    pub problems: usize,
    /// Distinct hosts among the problems (among all rows when none).
    pub hosts: usize,
    /// RECOVERY rows.
    pub recoveries: usize,
    /// Everything else (acknowledgements, downtimes, flapping, ...).
    pub others: usize,
}

fn is_problem(n: &Notification<'_>) -> bool {
    n.notification_type == NotificationType::Problem && !n.state.is_ok()
}

/// Counts the rows of `items`. Distinct hosts are found by comparing
/// names (no allocation; a post has at most a few hundred rows).
pub fn digest_counts(items: &[DigestItem<'_>]) -> DigestCounts {
    let mut c = DigestCounts::default();
    for it in items {
        match it.n.notification_type {
            _ if is_problem(&it.n) => c.problems += 1,
            NotificationType::Recovery => c.recoveries += 1,
            _ => c.others += 1,
        }
    }
    let counted = |n: &Notification<'_>| c.problems == 0 || is_problem(n);
    for (i, it) in items.iter().enumerate() {
        let host = it.n.host_label();
        let seen = items
            .iter()
            .take(i)
            .any(|o| counted(&o.n) && o.n.host_label() == host);
        if counted(&it.n) && !seen {
            c.hosts += 1;
        }
    }
    c
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Writes the headline (JSON string content), e.g. `🚨 37 problems on 12
/// hosts, 3 recovered (part 1 of 2)`.
pub fn write_headline(
    w: &mut JsonWriter<'_>,
    c: &DigestCounts,
    emoji: bool,
    part: usize,
    parts: usize,
) -> Result<(), Overflow> {
    let (icon, count, what, hosts) = if c.problems > 0 {
        (
            "🚨 ",
            c.problems,
            plural(c.problems, " problem", " problems"),
            c.hosts,
        )
    } else if c.recoveries > 0 {
        (
            "✅ ",
            c.recoveries,
            plural(c.recoveries, " recovery", " recoveries"),
            c.hosts,
        )
    } else {
        (
            "🔔 ",
            c.others,
            plural(c.others, " notification", " notifications"),
            c.hosts,
        )
    };
    if emoji {
        w.raw(icon)?;
    }
    w.uint(count as u64)?;
    w.raw(what)?;
    w.raw(" on ")?;
    w.uint(hosts as u64)?;
    w.raw(plural(hosts, " host", " hosts"))?;
    if c.problems > 0 && c.recoveries > 0 {
        w.raw(", ")?;
        w.uint(c.recoveries as u64)?;
        w.raw(" recovered")?;
    }
    if (c.problems > 0 || c.recoveries > 0) && c.others > 0 {
        w.raw(", ")?;
        w.uint(c.others as u64)?;
        w.raw(plural(
            c.others,
            " other notification",
            " other notifications",
        ))?;
    }
    if parts > 1 {
        w.raw(" (part ")?;
        w.uint(part as u64)?;
        w.raw(" of ")?;
        w.uint(parts as u64)?;
        w.raw(")")?;
    }
    Ok(())
}

/// The headline as plain text into `buf` (the CLI signs it into the
/// buttons' `text`, so the post keeps it after a click); returns its length.
pub fn headline_text(
    items: &[DigestItem<'_>],
    emoji: bool,
    part: usize,
    parts: usize,
    buf: &mut [u8],
) -> Result<usize, RenderError> {
    let mut w = JsonWriter::new(buf);
    // Only digits, ASCII and emoji: the JSON content is the text itself.
    write_headline(&mut w, &digest_counts(items), emoji, part, parts)
        .map_err(|_| RenderError::BufferTooSmall)?;
    Ok(w.len())
}

/// Characters that would end a cell, a link label or open code or emphasis.
fn is_table_special(c: char) -> bool {
    matches!(c, '|' | '[' | ']' | '`' | '\\' | '*' | '_' | '~')
}

/// `s`'s first line, trimmed and cut to at most `max` bytes at a character
/// boundary; whether it was cut.
fn first_line(s: &str, max: usize) -> (&str, bool) {
    let line = s.lines().next().unwrap_or("").trim();
    if line.len() <= max {
        return (line, false);
    }
    let mut end = max;
    while end > 0 && !line.is_char_boundary(end) {
        end -= 1;
    }
    (line.get(..end).unwrap_or(""), true)
}

/// One table cell's text.
fn write_cell(w: &mut JsonWriter<'_>, s: &str, max: usize) -> Result<(), Overflow> {
    let (mut rest, cut) = first_line(s, max);
    while let Some(i) = rest.find(is_table_special) {
        write_text(w, rest.get(..i).unwrap_or(""), Style::Defused)?;
        w.raw("\\\\")?;
        w.escaped(rest.get(i..i + 1).unwrap_or(""))?;
        rest = rest.get(i + 1..).unwrap_or("");
    }
    write_text(w, rest, Style::Defused)?;
    if cut {
        w.raw("…")?;
    }
    Ok(())
}

/// A cell, as a link when `template` gives one that is usable.
fn write_linked_cell(
    w: &mut JsonWriter<'_>,
    label: &str,
    template: Option<&str>,
    n: &Notification<'_>,
) -> Result<(), Overflow> {
    let link = template.filter(|t| is_http_url(t) && link_len(t, n) <= URL_MAX_LEN);
    match link {
        Some(t) => {
            w.raw("[")?;
            write_cell(w, label, DIGEST_CELL_MAX)?;
            w.raw("](")?;
            write_link(w, t, n)?;
            w.raw(")")
        }
        None => write_cell(w, label, DIGEST_CELL_MAX),
    }
}

fn write_row(
    w: &mut JsonWriter<'_>,
    it: &DigestItem<'_>,
    opts: &RenderOptions<'_>,
) -> Result<(), Overflow> {
    let n = &it.n;
    w.raw("\\n| ")?;
    match look::emoji(n.notification_type, n.state).filter(|_| opts.emoji) {
        Some(e) => w.raw(e)?,
        None => w.raw(n.state.name())?,
    }
    if !matches!(
        n.notification_type,
        NotificationType::Problem | NotificationType::Recovery
    ) {
        w.raw(" ")?;
        write_cell(w, n.notification_type.as_str(), DIGEST_CELL_MAX)?;
    }
    w.raw(" | ")?;
    // The host cell links to the host, the service cell to the service.
    let as_host = Notification {
        kind: Kind::Host,
        ..*n
    };
    write_linked_cell(w, n.host_label(), opts.host_link, &as_host)?;
    w.raw(" | ")?;
    if n.kind == Kind::Service {
        write_linked_cell(w, n.service_label(), opts.service_link, n)?;
    }
    w.raw(" | ")?;
    write_cell(w, n.output, DIGEST_OUTPUT_MAX)?;
    w.raw(" |")
}

fn color(c: &DigestCounts, items: &[DigestItem<'_>]) -> &'static str {
    let worst = items
        .iter()
        .filter(|it| is_problem(&it.n))
        .map(|it| look::color(it.n.notification_type, it.n.state))
        .fold(None, |acc: Option<&'static str>, col| match (acc, col) {
            (Some(RED), _) | (_, RED) => Some(RED),
            (Some(ORANGE), _) | (_, ORANGE) => Some(ORANGE),
            (_, col) => Some(col),
        });
    match worst {
        Some(col) => col,
        None if c.recoveries > 0 => GREEN,
        None => INFO_COLOR,
    }
}

fn write_actions(
    w: &mut JsonWriter<'_>,
    b: &DigestButtons<'_>,
    items: &[DigestItem<'_>],
) -> Result<(), Overflow> {
    w.raw(",\"actions\":[")?;
    w.raw(concat!(
        "{\"id\":\"ackall\",\"type\":\"button\",\"name\":\"Acknowledge all\",",
        "\"style\":\"primary\",\"integration\":{\"url\":"
    ))?;
    w.string(b.url)?;
    w.raw(",\"context\":")?;
    write_context(w, b.all)?;
    w.raw(concat!(
        "}},{\"id\":\"ackone\",\"type\":\"select\",\"name\":\"Acknowledge one…\",",
        "\"integration\":{\"url\":"
    ))?;
    w.string(b.url)?;
    w.raw(",\"context\":")?;
    write_context(w, b.one)?;
    w.raw("},\"options\":[")?;
    let mut first = true;
    for it in items {
        let Some(index) = it.list_index else { continue };
        if !first {
            w.raw(",")?;
        }
        first = false;
        w.raw("{\"text\":\"")?;
        let n = &it.n;
        if n.kind == Kind::Service {
            write_text(
                w,
                first_line(n.service_label(), DIGEST_CELL_MAX).0,
                Style::Defused,
            )?;
            w.raw(" on ")?;
        }
        write_text(
            w,
            first_line(n.host_label(), DIGEST_CELL_MAX).0,
            Style::Defused,
        )?;
        w.raw("\",\"value\":\"")?;
        w.uint(index as u64)?;
        w.raw("\"}")?;
    }
    w.raw("]}]")
}

fn write_digest(
    w: &mut JsonWriter<'_>,
    post: &DigestPost<'_>,
    opts: &RenderOptions<'_>,
) -> Result<(), Overflow> {
    let c = digest_counts(post.items);
    w.raw("{")?;
    if post.rest {
        w.raw("\"message\":\"")?;
    } else {
        write_overrides(w, opts)?;
        w.raw("\"text\":\"")?;
    }
    let mention = opts.kept_mention().filter(|_| {
        post.items
            .iter()
            .any(|it| is_problem(&it.n) && opts.mention_states.contains(it.n.state))
    });
    if let Some(m) = mention {
        // The one place a mention may reach Mattermost: configured, verbatim.
        w.escaped(m)?;
        w.raw(" ")?;
    }
    write_headline(w, &c, opts.emoji, post.part, post.parts)?;
    w.raw(if post.rest {
        "\",\"props\":{\"attachments\":[{\"fallback\":\""
    } else {
        "\",\"attachments\":[{\"fallback\":\""
    })?;
    write_headline(w, &c, false, post.part, post.parts)?;
    w.raw("\",\"color\":")?;
    w.string(color(&c, post.items))?;
    w.raw(",\"text\":\"|   | Host | Service | Output |\\n|:--|:--|:--|:--|")?;
    for it in post.items {
        write_row(w, it, opts)?;
    }
    w.raw("\",\"footer\":\"")?;
    write_cell(w, opts.source, crate::limits::SOURCE_MAX_LEN)?;
    w.raw("\"")?;
    let acknowledgeable = post.items.iter().any(|it| it.list_index.is_some());
    if let Some(b) = post
        .buttons
        .filter(|b| acknowledgeable && is_http_url(b.url))
    {
        write_actions(w, &b, post.items)?;
    }
    w.raw(if post.rest { "}]}}" } else { "}]}" })
}

/// The webhook payload's `channel`, `username` and `icon_url` overrides,
/// each followed by a comma.
fn write_overrides(w: &mut JsonWriter<'_>, opts: &RenderOptions<'_>) -> Result<(), Overflow> {
    if let Some(channel) = opts.kept_channel() {
        w.raw("\"channel\":")?;
        w.string(channel)?;
        w.raw(",")?;
    }
    if let Some(username) = opts.kept_username() {
        w.raw("\"username\":")?;
        w.string(username)?;
        w.raw(",")?;
    }
    if let Some(icon) = opts.kept_icon_url() {
        w.raw("\"icon_url\":")?;
        w.string(icon)?;
        w.raw(",")?;
    }
    Ok(())
}

/// Renders one digest post into `buf`; returns its length. Fails when the
/// post does not fit: the caller splits its rows over more posts.
pub fn render_digest(
    post: &DigestPost<'_>,
    opts: &RenderOptions<'_>,
    buf: &mut [u8],
) -> Result<usize, RenderError> {
    let mut w = JsonWriter::new(buf);
    write_digest(&mut w, post, opts).map_err(|_| RenderError::BufferTooSmall)?;
    Ok(w.len())
}
