//! Byte budgets for every untrusted text, and how they shrink until a
//! payload fits its buffer (the order is documented in [`crate::limits`]).
//!
//! Each text is planned once per budget it is given and the plan is kept
//! ([`Fitted`]): measuring the payload then only adds up known lengths,
//! and a shrink re-plans the one text whose budget changed.

use crate::limits::*;
use crate::model::{Kind, Notification};
use crate::render::look;
use crate::text::{
    fence_len_for, has_backtick_run_over, marker_len, Budgeted, Style, MAX_ESCAPE_LEN,
    MIN_FENCE_LEN,
};

/// Long outputs up to this many input bytes are planned at their full
/// budget directly: walking them costs less than the extra measurement
/// [`Fitted::for_buffer`] needs to avoid it.
const LONG_FIRST_MIN_INPUT: usize = 1024;

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
    /// Title link, graph image, icon and Acknowledge button.
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

/// The budgets in the order they give way; a slot's value is its place
/// on the ladder.
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

/// The budgets and every text planned at its budget: what the layout
/// writes and what a counting pass adds up without walking any text.
#[derive(Debug, Clone, Copy)]
pub struct Fitted<'a> {
    /// The budgets the plans were made with.
    pub budgets: Budgets,
    plans: [Budgeted<'a>; LADDER.len()],
}

impl<'a> Fitted<'a> {
    /// Every text planned at its default budget, the long output without
    /// walking its first [`LONG_OUTPUT_MAX_LEN`] bytes when that can be
    /// avoided: the first measure-and-shrink round is then decided
    /// arithmetically (see [`Fitted::cut_long_output_first`]).
    /// `measure` gives the payload length with the given plans.
    pub fn for_buffer(
        n: &Notification<'a>,
        buf_len: usize,
        measure: impl Fn(&Fitted<'a>) -> usize,
    ) -> Self {
        let mut fitted = Fitted::new_but(n, Slot::LongOutput);
        let long = n.long_output;
        let first = (long.len() > LONG_FIRST_MIN_INPUT)
            .then(|| fitted.cut_long_output_first(long, buf_len, &measure))
            .flatten();
        let (budget, plan) = first.unwrap_or_else(|| {
            let budget = LONG_OUTPUT_MAX_LEN;
            (budget, Budgeted::plan(long, Style::Verbatim, budget))
        });
        fitted.set(Slot::LongOutput, budget, plan);
        fitted
    }

    /// Every text planned at its default budget, the long output walked
    /// in full: the reference [`Fitted::for_buffer`] is tested against.
    #[cfg(test)]
    pub fn measured_in_full(n: &Notification<'a>) -> Self {
        let mut fitted = Fitted::new_but(n, Slot::LongOutput);
        let plan = Budgeted::plan(n.long_output, Style::Verbatim, LONG_OUTPUT_MAX_LEN);
        fitted.set(Slot::LongOutput, LONG_OUTPUT_MAX_LEN, plan);
        fitted
    }

    /// Every text planned at its default budget but `skip`, left as an
    /// empty plan.
    fn new_but(n: &Notification<'a>, skip: Slot) -> Self {
        let budgets = Budgets::default();
        let mut budget_of = budgets;
        let plans = LADDER.map(|slot| {
            let (text, style) = slot.text(n);
            let budget = *slot.budget(&mut budget_of);
            if slot as usize == skip as usize {
                Budgeted::plan("", style, 0)
            } else {
                Budgeted::plan(text, style, budget)
            }
        });
        Fitted { budgets, plans }
    }

    /// The first measure-and-shrink round for a long output that cannot
    /// fit: its outcome is the budget `T` left by everything else (the
    /// shrink cuts exactly the excess), so the long output is planned at
    /// `T` only. Returns that budget and plan, or `None` where the bounds
    /// below cannot prove the round would end the same way as measuring
    /// at [`LONG_OUTPUT_MAX_LEN`] (then the caller does exactly that).
    ///
    /// What the round needs from the full measurement `L`: the fence (it
    /// depends on the backtick runs kept), and that `L` exceeds both `T`
    /// and what the text writes at `T`. Every input byte writes at least
    /// one byte, so the kept text at the full budget lies within the first
    /// [`LONG_OUTPUT_MAX_LEN`] input bytes: no backtick run longer than
    /// the fence already allows there means the fence is known. `L` is at
    /// least what planning at `T` walked, or, if the text is cut at the
    /// full budget, its room less one escape plus the shortest marker.
    fn cut_long_output_first(
        &self,
        long: &'a str,
        buf_len: usize,
        measure: &impl Fn(&Fitted<'a>) -> usize,
    ) -> Option<(usize, Budgeted<'a>)> {
        let full = LONG_OUTPUT_MAX_LEN;
        let output_ticks = self.output().longest_backtick_run();
        // `self` holds an empty long output, so this is the payload less
        // the long output's text, with the fence the output alone needs.
        let base = measure(self);
        let target_for = |ticks: usize| {
            let fence_growth = fence_len_for(ticks) - fence_len_for(output_ticks);
            buf_len.checked_sub(base + 2 * fence_growth)
        };
        let first_target = target_for(output_ticks).filter(|&t| t < full)?;
        let first = Budgeted::plan(long, Style::Verbatim, first_target);
        let ticks = output_ticks.max(first.longest_backtick_run());
        let prefix = long.as_bytes().get(..full).unwrap_or(long.as_bytes());
        if has_backtick_run_over(prefix, ticks.max(MIN_FENCE_LEN - 1)) {
            return None;
        }
        let target = target_for(ticks)?;
        let plan = if target == first_target {
            first
        } else {
            Budgeted::plan(long, Style::Verbatim, target)
        };
        if !plan.is_cut() {
            // Whole at `target`, so whole at the full budget: the same plan.
            return Some((full, plan));
        }
        let room = full.saturating_sub(marker_len(long.len()));
        let at_least = plan
            .walked_len()
            .min(room.saturating_sub(MAX_ESCAPE_LEN - 1) + marker_len(1));
        (at_least > target && at_least > plan.written_len()).then_some((target, plan))
    }

    /// The plan of the text at `slot`.
    fn plan(&self, slot: Slot) -> Budgeted<'a> {
        let index = slot as usize;
        // Every slot has a plan: `plans` is indexed by the ladder.
        self.plans
            .get(index)
            .copied()
            .unwrap_or(Budgeted::plan("", Style::Defused, 0))
    }

    fn set(&mut self, slot: Slot, budget: usize, plan: Budgeted<'a>) {
        *slot.budget(&mut self.budgets) = budget;
        if let Some(kept) = self.plans.get_mut(slot as usize) {
            *kept = plan;
        }
    }

    /// Long output, for the code block.
    pub fn long_output(&self) -> Budgeted<'a> {
        self.plan(Slot::LongOutput)
    }
    /// Output, for the code block.
    pub fn output(&self) -> Budgeted<'a> {
        self.plan(Slot::Output)
    }
    /// Ack/downtime comment.
    pub fn comment(&self) -> Budgeted<'a> {
        self.plan(Slot::Comment)
    }
    /// Output for the fallback text.
    pub fn fallback_output(&self) -> Budgeted<'a> {
        self.plan(Slot::FallbackOutput)
    }
    /// Ack/downtime author.
    pub fn author(&self) -> Budgeted<'a> {
        self.plan(Slot::Author)
    }
    /// Host address.
    pub fn address(&self) -> Budgeted<'a> {
        self.plan(Slot::Address)
    }
    /// Notification type text.
    pub fn type_text(&self) -> Budgeted<'a> {
        self.plan(Slot::TypeText)
    }
    /// Service label.
    pub fn service(&self) -> Budgeted<'a> {
        self.plan(Slot::Service)
    }
    /// Host label.
    pub fn host(&self) -> Budgeted<'a> {
        self.plan(Slot::Host)
    }

    /// Makes the payload smaller by about `excess` bytes: lowers the first
    /// budget on the ladder that can still give, or drops the decorations,
    /// then the fields. Returns false when nothing is left to give.
    pub fn shrink(&mut self, n: &Notification<'a>, excess: usize) -> bool {
        for slot in LADDER {
            let floor = slot.floor();
            let current = *slot.budget(&mut self.budgets);
            if current <= floor {
                continue;
            }
            let (text, style) = slot.text(n);
            // Cut from what the text really uses, not from a budget it never
            // filled, and only as far as needed: every place the text
            // appears then gives up at least `excess` bytes and the next
            // measurement fits. Where the cut marker would eat the gain
            // (tiny budgets), go straight to the floor.
            let used = self.plan(slot).written_len();
            let target = used.saturating_sub(excess).max(floor);
            let at_target = (target < current)
                .then(|| Budgeted::plan(text, style, target))
                .filter(|p| p.written_len() < used);
            let (budget, plan) = match at_target {
                Some(plan) => (target, plan),
                None => (floor, Budgeted::plan(text, style, floor)),
            };
            self.set(slot, budget, plan);
            if plan.written_len() < used {
                return true;
            }
        }
        let b = &mut self.budgets;
        if b.decorations {
            b.decorations = false;
            return true;
        }
        if b.fields {
            b.fields = false;
            return true;
        }
        false
    }
}
