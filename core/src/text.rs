//! Untrusted text: mentions defused, code fenced, length budgeted.
//!
//! Plugin output, host and service names, addresses and ack comments come
//! from monitored devices and from whoever can type into the monitoring
//! core. Mattermost turns `@all`, `@channel`, `@here` and `@user` into
//! notifications, and rewrites `<!channel>`, `<!here>`, `<!all>`, `<@id>`
//! and `<url|label>`, everywhere except inside code (DESIGN §5). So:
//!
//! - Outside code ([`Style::Defused`]), every `@` and `<` that is not
//!   followed by whitespace gets a U+2060 WORD JOINER after it. That stops
//!   every mention and every `<...>` sequence, is invisible when read, and
//!   is deliberately broader than Mattermost's own name rules: it also
//!   covers text that ends with `@` and is followed by whatever the renderer
//!   writes next.
//! - Inside a fenced code block ([`Style::Verbatim`]) text is left as is,
//!   behind a fence longer than any backtick run in it ([`fence_len`]), so
//!   the text cannot close the block early.
//! - NUL becomes U+FFFD in both styles: PostgreSQL cannot store it.
//! - [`Budgeted`] cuts text to a byte budget at a character boundary and
//!   appends a visible marker (`… [1234 bytes cut]`).
//!
//! Everything is written JSON-escaped through a [`JsonWriter`], so the same
//! functions serve the webhook payload and the ack reply.

use crate::json::{decimal_len, escaped_char_len, needs_escape, JsonWriter, Overflow};

/// U+2060 WORD JOINER: invisible, and Mattermost does not treat `@` or `<`
/// followed by it as the start of a mention or a special sequence.
pub const WORD_JOINER: char = '\u{2060}';

/// U+FFFD REPLACEMENT CHARACTER, written instead of NUL.
pub const REPLACEMENT: char = '\u{fffd}';

/// Shortest code fence Markdown accepts.
pub const MIN_FENCE_LEN: usize = 3;

/// How untrusted text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Outside code: `@` and `<` defused with a [`WORD_JOINER`].
    Defused,
    /// Inside a fenced code block: written as is (still JSON-escaped).
    Verbatim,
}

/// One character of input as it is written: the character, plus whether a
/// word joiner follows it. Keeping the two together means a cut never falls
/// between an `@` and its joiner.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Byte offset just past this character in the input.
    end: usize,
    c: char,
    joiner: bool,
}

impl Piece {
    /// Escaped length of this piece in JSON.
    #[cfg(test)]
    fn len(self) -> usize {
        escaped_char_len(self.c)
            + if self.joiner {
                WORD_JOINER.len_utf8()
            } else {
                0
            }
    }

    fn write(self, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
        w.escaped_char(self.c)?;
        if self.joiner {
            w.escaped_char(WORD_JOINER)?;
        }
        Ok(())
    }
}

/// The pieces of `s` in `style`, in order: the definition the fast paths
/// ([`write_text`], [`Budgeted::plan`]) are tested against.
#[cfg(test)]
fn pieces(s: &str, style: Style) -> impl Iterator<Item = Piece> + '_ {
    let mut chars = s.char_indices().peekable();
    core::iter::from_fn(move || {
        let (i, input) = chars.next()?;
        // PostgreSQL, Mattermost's usual database, cannot store NUL in
        // text; an escaped `\u0000` would still reach it.
        let c = if input == '\0' { REPLACEMENT } else { input };
        let joiner = style == Style::Defused
            && matches!(c, '@' | '<')
            && chars.peek().is_none_or(|&(_, next)| !next.is_whitespace());
        Some(Piece {
            end: i + input.len_utf8(),
            c,
            joiner,
        })
    })
}

/// Written length and input end of the piece that starts at byte `at` of
/// `s` (a character boundary); `None` at the end. ASCII, nearly all of
/// plugin output, is classified from its byte without decoding.
fn piece_at(s: &str, at: usize, style: Style) -> Option<(usize, usize)> {
    let b = *s.as_bytes().get(at)?;
    if b.is_ascii() {
        let mut len = if b == 0 {
            REPLACEMENT.len_utf8()
        } else {
            escaped_char_len(char::from(b))
        };
        if style == Style::Defused && matches!(b, b'@' | b'<') && joiner_follows(s, at + 1) {
            len += WORD_JOINER.len_utf8();
        }
        return Some((len, at + 1));
    }
    let c = s.get(at..)?.chars().next()?;
    Some((escaped_char_len(c), at + c.len_utf8()))
}

/// Whether a defused `@` or `<` ending just before byte `next` of `s` gets
/// a word joiner: unless whitespace follows it.
fn joiner_follows(s: &str, next: usize) -> bool {
    s.get(next..)
        .and_then(|rest| rest.chars().next())
        .is_none_or(|c| !c.is_whitespace())
}

/// Writes `s` JSON-escaped in `style`, whole (no budget).
///
/// The same bytes as writing each piece (character, plus its word joiner)
/// in turn, but characters written as themselves are copied in runs: only
/// escapes, NUL and a defused `@`/`<` go one by one.
pub fn write_text(w: &mut JsonWriter<'_>, s: &str, style: Style) -> Result<(), Overflow> {
    let mut run_start = 0;
    for (i, input) in s.char_indices() {
        let defused = style == Style::Defused && matches!(input, '@' | '<');
        if !defused && !needs_escape(input) {
            continue;
        }
        w.raw(s.get(run_start..i).unwrap_or_default())?;
        let piece = Piece {
            end: i + input.len_utf8(),
            c: if input == '\0' { REPLACEMENT } else { input },
            joiner: defused && joiner_follows(s, i + input.len_utf8()),
        };
        piece.write(w)?;
        run_start = piece.end;
    }
    w.raw(s.get(run_start..).unwrap_or_default())
}

/// Length of the longest run of consecutive backticks in `s`.
pub fn longest_backtick_run(s: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for b in s.bytes() {
        if b == b'`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// Length of a backtick fence that safely encloses every text in `texts`:
/// one longer than the longest backtick run in any of them, at least
/// [`MIN_FENCE_LEN`].
pub fn fence_len(texts: &[&str]) -> usize {
    let longest = texts
        .iter()
        .map(|t| longest_backtick_run(t))
        .max()
        .unwrap_or(0);
    (longest + 1).max(MIN_FENCE_LEN)
}

/// Writes a fence of `len` backticks (no newline).
pub fn write_fence(w: &mut JsonWriter<'_>, len: usize) -> Result<(), Overflow> {
    const TICKS: &str = "````````````````````````````````";
    let mut left = len;
    while left > 0 {
        let n = left.min(TICKS.len());
        w.raw(TICKS.get(..n).unwrap_or_default())?;
        left -= n;
    }
    Ok(())
}

/// Length in bytes of the cut marker for `cut` bytes: `… [<cut> bytes cut]`.
pub fn marker_len(cut: usize) -> usize {
    MARKER_PREFIX.len() + decimal_len(cut as u64) + MARKER_SUFFIX.len()
}

/// Longest possible cut marker; a budget at least this large always holds
/// the marker.
pub const MAX_MARKER_LEN: usize = 5 + 20 + 11;

const MARKER_PREFIX: &str = "… [";
const MARKER_SUFFIX: &str = " bytes cut]";

/// Writes the cut marker for `cut` bytes (its text needs no escaping).
pub fn write_marker(w: &mut JsonWriter<'_>, cut: usize) -> Result<(), Overflow> {
    w.raw(MARKER_PREFIX)?;
    w.uint(cut as u64)?;
    w.raw(MARKER_SUFFIX)
}

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
}

impl<'a> Budgeted<'a> {
    /// Decides how much of `s` fits in `budget` written bytes. Looks at no
    /// more of `s` than the budget can hold, so megabytes of input cost no
    /// more than the budget.
    pub fn plan(s: &'a str, style: Style, budget: usize) -> Self {
        // One pass: while looking for the end of the budget, remember the
        // last piece that still leaves room for the longest marker this
        // text can need; that is where a cut falls.
        let room = budget.saturating_sub(marker_len(s.len()));
        let mut kept_end = 0;
        let mut written = 0usize;
        let mut at = 0;
        while let Some((len, end)) = piece_at(s, at, style) {
            written += len;
            if written > budget {
                return Budgeted {
                    kept: s.get(..kept_end).unwrap_or_default(),
                    cut: s.len() - kept_end,
                    style,
                };
            }
            if written <= room {
                kept_end = end;
            }
            at = end;
        }
        Budgeted {
            kept: s,
            cut: 0,
            style,
        }
    }

    /// Whether part of the text was cut.
    pub fn is_cut(&self) -> bool {
        self.cut > 0
    }

    /// Writes the kept text, then the marker if anything was cut.
    pub fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
        write_text(w, self.kept, self.style)?;
        if self.is_cut() {
            write_marker(w, self.cut)?;
        }
        Ok(())
    }

    /// Exactly how many bytes [`Budgeted::write`] writes.
    pub fn written_len(&self) -> usize {
        let mut counter = JsonWriter::counting();
        // A counting writer never overflows.
        let _ = self.write(&mut counter);
        counter.len()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: impl FnOnce(&mut JsonWriter<'_>) -> Result<(), Overflow>) -> String {
        let mut buf = vec![0u8; 64 * 1024];
        let mut w = JsonWriter::new(&mut buf);
        f(&mut w).unwrap();
        String::from_utf8(w.as_bytes().to_vec()).unwrap()
    }

    fn defused(s: &str) -> String {
        render(|w| write_text(w, s, Style::Defused))
    }

    /// [`Budgeted::plan`] spelled out piece by piece: (kept bytes, cut bytes).
    fn plan_reference(s: &str, style: Style, budget: usize) -> (usize, usize) {
        let room = budget.saturating_sub(marker_len(s.len()));
        let mut kept_end = 0;
        let mut written = 0;
        for p in pieces(s, style) {
            written += p.len();
            if written > budget {
                return (kept_end, s.len() - kept_end);
            }
            if written <= room {
                kept_end = p.end;
            }
        }
        (s.len(), 0)
    }

    /// Characters that take every path: plain ASCII and non-ASCII, short
    /// and `\u` escapes, NUL, C1, U+2028, mentions, whitespace after them.
    const ALPHABET: [char; 16] = [
        'a', '@', '<', ' ', '\t', '\n', '"', '\\', '\u{0}', '\u{1}', '\u{7f}', '\u{85}',
        '\u{2028}', 'é', '🚨', '`',
    ];

    proptest::proptest! {
        #[test]
        fn fast_paths_equal_the_piece_by_piece_definition(
            chars in proptest::collection::vec(proptest::sample::select(ALPHABET.to_vec()), 0..40),
            budget in 0usize..120,
            defused in proptest::bool::ANY,
        ) {
            let s: String = chars.into_iter().collect();
            let style = if defused { Style::Defused } else { Style::Verbatim };
            let b = Budgeted::plan(&s, style, budget);
            proptest::prop_assert_eq!((b.kept.len(), b.cut), plan_reference(&s, style, budget));
            let reference = render(|w| pieces(&s, style).try_for_each(|p| p.write(w)));
            proptest::prop_assert_eq!(render(|w| write_text(w, &s, style)), reference);
        }
    }

    #[test]
    fn mentions_get_a_word_joiner() {
        assert_eq!(defused("ping @all now"), "ping @\u{2060}all now");
        assert_eq!(defused("@here"), "@\u{2060}here");
        assert_eq!(defused("mail a@b.c"), "mail a@\u{2060}b.c");
        // A trailing `@` may meet a name char from whatever comes next.
        assert_eq!(defused("x@"), "x@\u{2060}");
        assert_eq!(defused("@ all"), "@ all");
    }

    #[test]
    fn angle_sequences_are_defused() {
        assert_eq!(defused("<!channel>"), "<\u{2060}!channel>");
        assert_eq!(defused("<!here> <!all>"), "<\u{2060}!here> <\u{2060}!all>");
        assert_eq!(defused("<@U123>"), "<\u{2060}@\u{2060}U123>");
        assert_eq!(defused("<http://x|click>"), "<\u{2060}http://x|click>");
        assert_eq!(defused("a < b"), "a < b");
    }

    #[test]
    fn verbatim_keeps_mentions_but_escapes_json() {
        let out = render(|w| write_text(w, "@all \"x\"\n", Style::Verbatim));
        assert_eq!(out, "@all \\\"x\\\"\\n");
    }

    #[test]
    fn nul_becomes_the_replacement_character_in_both_styles() {
        assert_eq!(defused("a\u{0}b"), "a\u{fffd}b");
        let out = render(|w| write_text(w, "\u{0}", Style::Verbatim));
        assert_eq!(out, "\u{fffd}");
    }

    #[test]
    fn defused_text_is_json_escaped() {
        assert_eq!(defused("a\"b\\c\nd\u{1}"), "a\\\"b\\\\c\\nd\\u0001");
    }

    #[test]
    fn fence_is_longer_than_any_backtick_run() {
        assert_eq!(fence_len(&[]), 3);
        assert_eq!(fence_len(&["no ticks"]), 3);
        assert_eq!(fence_len(&["``"]), 3);
        assert_eq!(fence_len(&["a ``` b"]), 4);
        assert_eq!(fence_len(&["`", "x `````` y"]), 7);
        assert_eq!(render(|w| write_fence(w, 70)), "`".repeat(70));
    }

    #[test]
    fn text_within_budget_is_whole() {
        let b = Budgeted::plan("hello", Style::Defused, 5);
        assert_eq!((b.kept, b.cut), ("hello", 0));
        assert_eq!(b.written_len(), 5);
        let b = Budgeted::plan("", Style::Defused, 0);
        assert_eq!(b.written_len(), 0);
    }

    #[test]
    fn long_text_is_cut_with_a_marker_within_budget() {
        let s = "x".repeat(10_000);
        for budget in [40, 100, 1000, 9_999] {
            let b = Budgeted::plan(&s, Style::Verbatim, budget);
            let out = render(|w| b.write(w));
            assert!(out.len() <= budget, "{budget}: {}", out.len());
            assert_eq!(out.len(), b.written_len());
            let marker = format!("… [{} bytes cut]", b.cut);
            assert!(out.ends_with(&marker), "{out}");
            assert_eq!(b.kept.len() + b.cut, s.len());
        }
    }

    #[test]
    fn cut_falls_on_a_char_boundary_and_counts_escapes() {
        let s = "✅\n".repeat(100);
        let b = Budgeted::plan(&s, Style::Defused, 60);
        let out = render(|w| b.write(w));
        assert!(out.len() <= 60);
        assert!(b.kept.ends_with('\n') || b.kept.ends_with('✅'));
        let json = format!("\"{out}\"");
        let back: String = serde_json::from_str(&json).unwrap();
        assert!(back.starts_with("✅\n✅"));
    }

    #[test]
    fn a_cut_never_separates_at_from_its_joiner() {
        let s = "@".repeat(100);
        for budget in 36..80 {
            let out = render(|w| Budgeted::plan(&s, Style::Defused, budget).write(w));
            let text = out.split('…').next().unwrap();
            assert!(!text.contains("@@"), "{out}");
            assert!(text.is_empty() || text.ends_with('\u{2060}'), "{out:?}");
        }
    }

    #[test]
    fn tiny_budget_still_shows_the_marker() {
        let out = render(|w| Budgeted::plan("abcdef", Style::Defused, 2).write(w));
        assert_eq!(out, "… [6 bytes cut]");
    }

    #[test]
    fn huge_input_is_planned_without_scanning_it_all() {
        let s = "y".repeat(8 << 20);
        let b = Budgeted::plan(&s, Style::Verbatim, 4096);
        assert!(b.written_len() <= 4096);
        assert_eq!(b.cut, s.len() - b.kept.len());
    }
}
