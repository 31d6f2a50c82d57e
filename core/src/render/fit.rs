//! Byte budgets for every untrusted text, and how they shrink until a
//! payload fits its buffer (the order is documented in [`crate::limits`]).

use crate::limits::*;
use crate::model::{Kind, Notification};
use crate::render::look;
use crate::text::{Budgeted, Style};

/// Written-byte budget of each untrusted text, plus the two things that
/// are dropped whole when budgets alone cannot make a payload fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Long output in the code block.
    pub long_output: usize,
    /// Output in the code block.
    pub output: usize,
    /// Ack/downtime comment field.
    pub comment: usize,
    /// Output appended to the fallback text; 0 leaves it out.
    pub fallback_output: usize,
    /// Ack/downtime author field.
    pub author: usize,
    /// Address field.
    pub address: usize,
    /// Unknown notification type text.
    pub type_text: usize,
    /// Service name, per place.
    pub service: usize,
    /// Host name, per place.
    pub host: usize,
    /// Title link, icon and Acknowledge button.
    pub decorations: bool,
    /// The attachment's fields.
    pub fields: bool,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            long_output: LONG_OUTPUT_MAX_LEN,
            output: OUTPUT_MAX_LEN,
            comment: COMMENT_MAX_LEN,
            fallback_output: FALLBACK_OUTPUT_MAX_LEN,
            author: AUTHOR_MAX_LEN,
            address: ADDRESS_MAX_LEN,
            type_text: TYPE_MAX_LEN,
            service: NAME_MAX_LEN,
            host: NAME_MAX_LEN,
            decorations: true,
            fields: true,
        }
    }
}

/// The budgets in the order they give way.
#[derive(Debug, Clone, Copy)]
enum Slot {
    LongOutput,
    Output,
    Comment,
    FallbackOutput,
    Author,
    Address,
    TypeText,
    Service,
    Host,
}

const LADDER: [Slot; 9] = [
    Slot::LongOutput,
    Slot::Output,
    Slot::Comment,
    Slot::FallbackOutput,
    Slot::Author,
    Slot::Address,
    Slot::TypeText,
    Slot::Service,
    Slot::Host,
];

impl Slot {
    fn floor(self) -> usize {
        match self {
            Slot::LongOutput => LONG_OUTPUT_MIN_LEN,
            Slot::Output => OUTPUT_MIN_LEN,
            Slot::Comment => COMMENT_MIN_LEN,
            Slot::FallbackOutput => FALLBACK_OUTPUT_MIN_LEN,
            Slot::Author => AUTHOR_MIN_LEN,
            Slot::Address => ADDRESS_MIN_LEN,
            Slot::TypeText => TYPE_MIN_LEN,
            Slot::Service => NAME_MIN_LEN,
            Slot::Host => NAME_MIN_LEN,
        }
    }

    fn budget(self, b: &mut Budgets) -> &mut usize {
        match self {
            Slot::LongOutput => &mut b.long_output,
            Slot::Output => &mut b.output,
            Slot::Comment => &mut b.comment,
            Slot::FallbackOutput => &mut b.fallback_output,
            Slot::Author => &mut b.author,
            Slot::Address => &mut b.address,
            Slot::TypeText => &mut b.type_text,
            Slot::Service => &mut b.service,
            Slot::Host => &mut b.host,
        }
    }

    /// The text this budget applies to, or "" when the post does not show
    /// it (lowering that budget would gain nothing).
    fn text<'a>(self, n: &Notification<'a>) -> (&'a str, Style) {
        let shown = match self {
            Slot::Comment | Slot::Author => look::shows_author(n.notification_type),
            Slot::Service => n.kind == Kind::Service,
            _ => true,
        };
        if !shown {
            return ("", Style::Defused);
        }
        match self {
            Slot::LongOutput => (n.long_output, Style::Verbatim),
            Slot::Output => (n.output, Style::Verbatim),
            Slot::Comment => (n.ack_comment, Style::Defused),
            Slot::FallbackOutput => (n.output, Style::Defused),
            Slot::Author => (n.ack_author, Style::Defused),
            Slot::Address => (n.host_address, Style::Defused),
            Slot::TypeText => (look::type_text(n.notification_type), Style::Defused),
            Slot::Service => (n.service_label(), Style::Defused),
            Slot::Host => (n.host_label(), Style::Defused),
        }
    }
}

impl Budgets {
    /// Makes the payload smaller by about `excess` bytes: lowers the first
    /// budget on the ladder that can still give, or drops the decorations,
    /// then the fields. Returns false when nothing is left to give.
    pub fn shrink(&mut self, n: &Notification<'_>, excess: usize) -> bool {
        for slot in LADDER {
            let floor = slot.floor();
            let current = *slot.budget(self);
            if current <= floor {
                continue;
            }
            let (text, style) = slot.text(n);
            let written = |budget| Budgeted::plan(text, style, budget).written_len();
            // Cut from what the text really uses, not from a budget it never
            // filled, and only as far as needed: every place the text
            // appears then gives up at least `excess` bytes and the next
            // measurement fits. Where the cut marker would eat the gain
            // (tiny budgets), go straight to the floor.
            let used = written(current);
            let target = used.saturating_sub(excess).max(floor);
            let budget = if target < current && written(target) < used {
                target
            } else {
                floor
            };
            *slot.budget(self) = budget;
            if written(budget) < used {
                return true;
            }
        }
        if self.decorations {
            self.decorations = false;
            return true;
        }
        if self.fields {
            self.fields = false;
            return true;
        }
        false
    }
}
