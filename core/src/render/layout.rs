//! The webhook JSON itself: which keys, in which order, holding what.
//!
//! Written once into a counting writer to measure and once into the
//! caller's buffer, from the same code, so the measurement is exact.
//! Every untrusted text goes through [`Budgeted`]; only the attachment
//! `text` holds a code block, so no untrusted text outside code shares a
//! Markdown document with it (a stray fence in a comment cannot open or
//! close the output's block).

use crate::json::{JsonWriter, Overflow};
use crate::limits::SOURCE_MAX_LEN;
use crate::model::{Kind, Notification};
use crate::render::fit::Fitted;
use crate::render::look::{self, Part};
use crate::render::time::UtcTime;
use crate::render::{link, ActionButton, Priority};
use crate::text::{fence_len_for, write_fence, Budgeted, Style};

/// Everything decided about a post before any budget is applied.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    /// The alert.
    pub n: Notification<'a>,
    /// Emoji before the title, if any and enabled.
    pub emoji: Option<&'static str>,
    /// Attachment colour.
    pub color: &'static str,
    /// Title wording.
    pub title: &'static [Part],
    /// Validated title-link template.
    pub link: Option<&'a str>,
    /// Validated graph image template.
    pub image: Option<&'a str>,
    /// Validated channel override.
    pub channel: Option<&'a str>,
    /// Validated username override.
    pub username: Option<&'a str>,
    /// Validated icon URL.
    pub icon_url: Option<&'a str>,
    /// The configured mention, when this alert gets it.
    pub mention: Option<&'a str>,
    /// Priority, when this alert gets it, with `requested_ack`.
    pub priority: Option<(Priority, bool)>,
    /// Validated Acknowledge button, when this alert gets it.
    pub buttons: [Option<ActionButton<'a>>; crate::limits::MAX_VISIBLE_ACTIONS],
    /// Footer source name.
    pub source: &'a str,
}

/// Writes `{` ... `}` members, putting commas between them.
struct Members {
    first: bool,
}

impl Members {
    fn open(w: &mut JsonWriter<'_>) -> Result<Self, Overflow> {
        w.raw("{")?;
        Ok(Members { first: true })
    }

    fn key(&mut self, w: &mut JsonWriter<'_>, key: &str) -> Result<(), Overflow> {
        if !self.first {
            w.raw(",")?;
        }
        self.first = false;
        w.raw("\"")?;
        w.raw(key)?;
        w.raw("\":")
    }

    fn close(self, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
        w.raw("}")
    }
}

/// Writes the whole payload.
pub fn write_payload(w: &mut JsonWriter<'_>, p: &Plan<'_>, f: &Fitted<'_>) -> Result<(), Overflow> {
    let mut top = Members::open(w)?;
    if let Some(channel) = p.channel {
        top.key(w, "channel")?;
        w.string(channel)?;
    }
    if let Some(username) = p.username {
        top.key(w, "username")?;
        w.string(username)?;
    }
    if let (Some(icon), true) = (p.icon_url, f.budgets.decorations) {
        top.key(w, "icon_url")?;
        w.string(icon)?;
    }
    if let Some(mention) = p.mention {
        // The one place a mention may reach Mattermost: configured, verbatim.
        top.key(w, "text")?;
        w.string(mention)?;
    }
    if let Some((priority, requested_ack)) = p.priority {
        top.key(w, "priority")?;
        w.raw("{\"priority\":")?;
        w.string(match priority {
            Priority::Important => "important",
            Priority::Urgent => "urgent",
        })?;
        w.raw(",\"requested_ack\":")?;
        w.bool(requested_ack)?;
        w.raw("}")?;
    }
    top.key(w, "attachments")?;
    w.raw("[")?;
    write_attachment(w, p, f)?;
    w.raw("]")?;
    top.close(w)
}

fn write_attachment(w: &mut JsonWriter<'_>, p: &Plan<'_>, f: &Fitted<'_>) -> Result<(), Overflow> {
    let n = &p.n;
    let mut a = Members::open(w)?;
    a.key(w, "fallback")?;
    w.raw("\"")?;
    write_title(w, p, f)?;
    if !n.output.is_empty() && f.budgets.fallback_output > 0 {
        w.raw(" — ")?;
        f.fallback_output().write(w)?;
    }
    w.raw("\"")?;

    a.key(w, "color")?;
    w.string(p.color)?;

    a.key(w, "title")?;
    w.raw("\"")?;
    write_title(w, p, f)?;
    w.raw("\"")?;

    if let (Some(template), true) = (p.link, f.budgets.decorations) {
        a.key(w, "title_link")?;
        w.raw("\"")?;
        link::write_link(w, template, n)?;
        w.raw("\"")?;
    }

    if !n.output.is_empty() || !n.long_output.is_empty() {
        a.key(w, "text")?;
        w.raw("\"")?;
        write_code_block(w, n, f)?;
        w.raw("\"")?;
    }

    if f.budgets.fields {
        a.key(w, "fields")?;
        write_fields(w, p, f)?;
    }

    if let (Some(template), true) = (p.image, f.budgets.decorations) {
        a.key(w, "image_url")?;
        w.raw("\"")?;
        link::write_link(w, template, n)?;
        w.raw("\"")?;
    }

    a.key(w, "footer")?;
    w.raw("\"")?;
    if !p.source.is_empty() {
        Budgeted::plan(p.source, Style::Defused, SOURCE_MAX_LEN).write(w)?;
        w.raw(" · ")?;
    }
    UtcTime::from_unix(n.event_time).write(w)?;
    w.raw("\"")?;

    if p.buttons.iter().any(Option::is_some) && f.budgets.decorations {
        a.key(w, "actions")?;
        w.raw("[")?;
        for (i, button) in p.buttons.iter().flatten().enumerate() {
            if i > 0 {
                w.raw(",")?;
            }
            write_button(w, button)?;
        }
        w.raw("]")?;
    }
    a.close(w)
}

/// Title text (JSON string content): emoji, then the original's wording.
fn write_title(w: &mut JsonWriter<'_>, p: &Plan<'_>, f: &Fitted<'_>) -> Result<(), Overflow> {
    let n = &p.n;
    if let Some(emoji) = p.emoji {
        w.raw(emoji)?;
        w.raw(" ")?;
    }
    for part in p.title {
        match *part {
            Part::Words(words) => w.escaped(words)?,
            Part::Host => f.host().write(w)?,
            Part::Service => f.service().write(w)?,
            Part::Type => f.type_text().write(w)?,
            Part::State => w.escaped(n.state.name())?,
        }
    }
    Ok(())
}

/// Output and long output in one fenced code block (JSON string content).
fn write_code_block(
    w: &mut JsonWriter<'_>,
    n: &Notification<'_>,
    f: &Fitted<'_>,
) -> Result<(), Overflow> {
    let output = f.output();
    let long = f.long_output();
    // The fence only has to beat the backtick runs actually written.
    let ticks = output
        .longest_backtick_run()
        .max(long.longest_backtick_run());
    let fence = fence_len_for(ticks);
    write_fence(w, fence)?;
    w.raw("\\n")?;
    if !n.output.is_empty() {
        output.write(w)?;
        w.raw("\\n")?;
    }
    if !n.long_output.is_empty() {
        long.write(w)?;
        w.raw("\\n")?;
    }
    write_fence(w, fence)
}

fn write_fields(w: &mut JsonWriter<'_>, p: &Plan<'_>, f: &Fitted<'_>) -> Result<(), Overflow> {
    let n = &p.n;
    w.raw("[")?;
    field(w, "Host", true, true, |w| f.host().write(w))?;
    if n.kind == Kind::Service {
        field(w, "Service", true, false, |w| f.service().write(w))?;
    }
    field(w, "State", true, false, |w| w.escaped(n.state.name()))?;
    field(w, "Type", true, false, |w| f.type_text().write(w))?;
    if !n.host_address.is_empty() {
        field(w, "Address", true, false, |w| f.address().write(w))?;
    }
    if look::shows_author(n.notification_type) {
        if !n.ack_author.is_empty() {
            field(w, "Author", true, false, |w| f.author().write(w))?;
        }
        if !n.ack_comment.is_empty() {
            field(w, "Comment", false, false, |w| f.comment().write(w))?;
        }
    }
    w.raw("]")
}

/// One `{"title","value","short"}` field; `value` writes the string content.
fn field(
    w: &mut JsonWriter<'_>,
    title: &str,
    short: bool,
    first: bool,
    value: impl FnOnce(&mut JsonWriter<'_>) -> Result<(), Overflow>,
) -> Result<(), Overflow> {
    if !first {
        w.raw(",")?;
    }
    w.raw("{\"title\":")?;
    w.string(title)?;
    w.raw(",\"value\":\"")?;
    value(w)?;
    w.raw("\",\"short\":")?;
    w.bool(short)?;
    w.raw("}")
}

/// `[button, …]`: the buttons in order.
pub fn write_buttons(w: &mut JsonWriter<'_>, buttons: &[ActionButton<'_>]) -> Result<(), Overflow> {
    w.raw("[")?;
    for (i, b) in buttons.iter().enumerate() {
        if i > 0 {
            w.raw(",")?;
        }
        write_button(w, b)?;
    }
    w.raw("]")
}

/// One action button. The label stays one short word so three buttons fit
/// a phone screen; the id is the action's alphanumeric spelling because
/// older servers 404 on `-` and `_` in action ids. Acknowledging is the
/// primary button, the rest default.
fn write_button(w: &mut JsonWriter<'_>, button: &ActionButton<'_>) -> Result<(), Overflow> {
    w.raw("{\"id\":")?;
    w.string(button.action.as_str())?;
    w.raw(",\"type\":\"button\",\"name\":")?;
    w.string(button.action.label())?;
    w.raw(",\"style\":")?;
    w.string(if button.action.acknowledges() {
        "primary"
    } else {
        "default"
    })?;
    w.raw(",\"integration\":{\"url\":")?;
    w.string(button.url)?;
    w.raw(",\"context\":")?;
    write_context(w, button.context)?;
    w.raw("}}")
}

/// `integration.context` as an object of strings, in the given order.
/// Keys and values are escaped: the caller may pass alert text (UUIDs).
pub fn write_context(w: &mut JsonWriter<'_>, context: &[(&str, &str)]) -> Result<(), Overflow> {
    w.raw("{")?;
    for (i, (key, value)) in context.iter().enumerate() {
        if i > 0 {
            w.raw(",")?;
        }
        w.string(key)?;
        w.raw(":")?;
        w.string(value)?;
    }
    w.raw("}")
}
