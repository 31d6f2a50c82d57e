//! Fitting one untrusted text to a byte budget: where it is cut, how many
//! bytes it then writes, and the longest backtick run it keeps, decided in
//! one walk that stops as soon as the text is known not to fit.

use super::{marker_len, scan, write_marker, write_text, Style, WORD_JOINER};
use crate::json::{JsonWriter, Overflow};

/// Untrusted text fitted to a byte budget: the part that is kept, and how
/// many input bytes were cut after it.
///
/// The budget counts *written* bytes — JSON escapes, word joiners and the
/// marker included — so a caller can add up budgets to bound a payload.
/// Written output is at most `max(budget, marker_len(cut))` bytes: a budget
/// too small for any text still gets the marker, so a cut is always visible.
///
/// ```
/// use mattermost_notify_core::json::{JsonWriter, Overflow};
/// use mattermost_notify_core::text::{Budgeted, Style};
/// let mut buf = [0u8; 64];
/// let mut w = JsonWriter::new(&mut buf);
/// let fitted = Budgeted::plan("héllo wörld, a long line", Style::Defused, 24);
/// fitted.write(&mut w)?;
/// assert_eq!(w.as_bytes(), "héllo… [20 bytes cut]".as_bytes());
/// Ok::<(), Overflow>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgeted<'a> {
    /// The prefix of the input that is written, ending at a char boundary.
    pub kept: &'a str,
    /// Input bytes left out after `kept` (0: the whole text fits).
    pub cut: usize,
    style: Style,
    /// Bytes [`Budgeted::write`] writes, marker included.
    written: usize,
    /// Longest backtick run in `kept` (counted in [`Style::Verbatim`]
    /// only, where the text sits inside a code fence).
    ticks: usize,
    /// Written bytes of the input walked while planning: past the budget
    /// when the text was cut, else `written`.
    walked: usize,
}

impl<'a> Budgeted<'a> {
    /// Decides how much of `s` fits in `budget` written bytes. Looks at no
    /// more of `s` than the budget can hold, so megabytes of input cost no
    /// more than the budget.
    pub fn plan(s: &'a str, style: Style, budget: usize) -> Self {
        Planner::new(s, style, budget).run()
    }

    /// Whether part of the text was cut.
    pub fn is_cut(&self) -> bool {
        self.cut > 0
    }

    /// Writes the kept text, then the marker if anything was cut. A
    /// counting writer is only told the length, known from planning.
    pub fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
        if w.is_counting() {
            w.count(self.written);
            return Ok(());
        }
        write_text(w, self.kept, self.style)?;
        if self.is_cut() {
            write_marker(w, self.cut)?;
        }
        Ok(())
    }

    /// Exactly how many bytes [`Budgeted::write`] writes.
    pub fn written_len(&self) -> usize {
        self.written
    }

    /// Longest run of backticks in the kept text of a [`Style::Verbatim`]
    /// plan (0 for [`Style::Defused`], which never sits in code).
    pub fn longest_backtick_run(&self) -> usize {
        self.ticks
    }

    /// Written bytes walked while planning; more than the budget when the
    /// text was cut (a lower bound on what a larger budget writes).
    pub(crate) fn walked_len(&self) -> usize {
        self.walked
    }
}

/// One walk over a text deciding its cut: the kept end is the last
/// character boundary whose written length still leaves room for the
/// longest marker this text can need; the walk stops as soon as the text
/// is known not to fit its budget.
struct Planner<'a> {
    s: &'a str,
    style: Style,
    budget: usize,
    room: usize,
    /// Written bytes of everything walked so far.
    written: usize,
    /// End of the kept prefix, and its written length.
    kept_end: usize,
    kept_written: usize,
    /// Longest backtick run within the kept prefix, and within all walked.
    kept_ticks: usize,
    all_ticks: usize,
}

impl<'a> Planner<'a> {
    fn new(s: &'a str, style: Style, budget: usize) -> Self {
        Planner {
            s,
            style,
            budget,
            room: budget.saturating_sub(marker_len(s.len())),
            written: 0,
            kept_end: 0,
            kept_written: 0,
            kept_ticks: 0,
            all_ticks: 0,
        }
    }

    fn run(mut self) -> Budgeted<'a> {
        let bytes = self.s.as_bytes();
        let stops = scan::stops(self.style, self.style == Style::Verbatim);
        let mut i = 0;
        while i < bytes.len() {
            // A run and the character that ends it in one round.
            let end = scan::run_end(bytes, i, stops);
            if end > i {
                if !self.plain(i, end) {
                    return self.cut();
                }
                i = end;
            }
            let Some(&b) = bytes.get(i) else {
                break;
            };
            let (next, fits) = if b == b'`' {
                let run = bytes.get(i..).unwrap_or_default();
                let end = i + run.iter().take_while(|&&b| b == b'`').count();
                let fits = self.plain(i, end);
                self.all_ticks = self.all_ticks.max(end - i);
                self.kept_ticks = self.kept_ticks.max(self.kept_end.clamp(i, end) - i);
                (end, fits)
            } else if let Some(len) = fixed_len_at(bytes, i) {
                // Controls and quotes often come in a row in hostile text.
                let mut end = i + 1;
                let mut fits = self.piece(end, len);
                while let Some(len) = fixed_len_at(bytes, end).filter(|_| fits) {
                    end += 1;
                    fits = self.piece(end, len);
                }
                (end, fits)
            } else {
                let special = scan::quick(bytes, i, self.style)
                    .unwrap_or_else(|| scan::special(self.s, i, self.style));
                let end = i + special.input_len;
                let fits = match special.out {
                    None => self.plain(i, end),
                    Some(out) => self.piece(end, out.len()),
                };
                (end, fits)
            };
            if !fits {
                return self.cut();
            }
            i = next;
        }
        Budgeted {
            kept: self.s,
            cut: 0,
            style: self.style,
            written: self.written,
            ticks: self.all_ticks,
            walked: self.written,
        }
    }

    /// Walks `start..end`, written as it is (whole characters); false once
    /// past the budget. The kept end may fall inside the run, at the last
    /// character boundary within the room.
    fn plain(&mut self, start: usize, end: usize) -> bool {
        let written = self.written + (end - start);
        if written <= self.room {
            self.kept_end = end;
            self.kept_written = written;
        } else if self.written < self.room {
            let mut keep = start + (self.room - self.written);
            while !self.s.is_char_boundary(keep) {
                keep -= 1;
            }
            self.kept_end = keep;
            self.kept_written = self.written + (keep - start);
        }
        self.written = written;
        written <= self.budget
    }

    /// Walks one character ending at `end` that is written as `len` bytes
    /// (an escape, or `@` with its joiner: never split); false once past
    /// the budget.
    fn piece(&mut self, end: usize, len: usize) -> bool {
        self.written += len;
        if self.written <= self.room {
            self.kept_end = end;
            self.kept_written = self.written;
        }
        self.written <= self.budget
    }

    fn cut(self) -> Budgeted<'a> {
        let cut = self.s.len() - self.kept_end;
        let kept = self.s.get(..self.kept_end).unwrap_or_default();
        // An `@` or `<` walked as bare because whitespace followed it ends
        // the kept text with the marker after it, so it is written with
        // its joiner after all: three more bytes than walked.
        let rest = self.s.get(self.kept_end..).unwrap_or_default();
        let bare_end = self.style == Style::Defused
            && kept.ends_with(['@', '<'])
            && rest.chars().next().is_some_and(char::is_whitespace);
        let joiner = if bare_end { WORD_JOINER.len_utf8() } else { 0 };
        Budgeted {
            kept,
            cut,
            style: self.style,
            written: self.kept_written + joiner + marker_len(cut),
            ticks: self.kept_ticks,
            walked: self.written,
        }
    }
}

/// Written length of the byte at `i` if it is always escaped the same way.
#[inline]
fn fixed_len_at(bytes: &[u8], i: usize) -> Option<usize> {
    bytes.get(i).map(|&b| scan::fixed_len(b)).filter(|&n| n > 0)
}

/// Writes `s` fitted to `budget` (see [`Budgeted`]); returns the plan used.
pub fn write_budgeted<'a>(
    w: &mut JsonWriter<'_>,
    s: &'a str,
    style: Style,
    budget: usize,
) -> Result<Budgeted<'a>, Overflow> {
    let fitted = Budgeted::plan(s, style, budget);
    fitted.write(w)?;
    Ok(fitted)
}
