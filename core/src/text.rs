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

mod budget;
mod fill;
mod scan;

pub use budget::{write_budgeted, Budgeted};

use crate::json::{decimal_len, JsonWriter, Overflow};

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

/// Writes `s` JSON-escaped in `style`, whole (no budget).
pub fn write_text(w: &mut JsonWriter<'_>, s: &str, style: Style) -> Result<(), Overflow> {
    if let Some(done) = w.fill(|out| fill::fill_text(out, s, style)) {
        return done;
    }
    // A counting writer: only the length matters.
    let mut counted = 0;
    for_each_piece(s, style, |piece| {
        counted += piece.len();
        Ok(())
    })?;
    w.count(counted);
    Ok(())
}

/// Calls `write` with the pieces `s` is written as in `style`, in order:
/// runs of input bytes written as they are, and escapes.
fn for_each_piece(
    s: &str,
    style: Style,
    mut write: impl FnMut(&[u8]) -> Result<(), Overflow>,
) -> Result<(), Overflow> {
    let bytes = s.as_bytes();
    let stops = scan::stops(style, false);
    let mut run_start = 0;
    let mut i = 0;
    loop {
        i = scan::run_end(bytes, i, stops);
        if i >= bytes.len() {
            break;
        }
        let fixed = bytes.get(i).map_or(&[][..], |&b| scan::fixed_escape(b));
        if !fixed.is_empty() {
            write(bytes.get(run_start..i).unwrap_or_default())?;
            write(fixed)?;
            i += 1;
            run_start = i;
            continue;
        }
        let special = scan::special(s, i, style);
        if let Some(out) = special.out {
            write(bytes.get(run_start..i).unwrap_or_default())?;
            write(out.as_bytes())?;
            run_start = i + special.input_len;
        }
        i += special.input_len;
    }
    write(bytes.get(run_start..).unwrap_or_default())
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
    fence_len_for(longest)
}

/// Length of the fence around code whose longest backtick run is `ticks`.
pub fn fence_len_for(ticks: usize) -> usize {
    (ticks + 1).max(MIN_FENCE_LEN)
}

/// Whether `bytes` holds a run of more than `max` backticks. Looks at one
/// byte in `max + 1` (any longer run covers one of them) and measures only
/// the runs found there, so a long text is checked in a fraction of a walk.
pub fn has_backtick_run_over(bytes: &[u8], max: usize) -> bool {
    let is_tick = |i: usize| bytes.get(i) == Some(&b'`');
    let mut probe = max;
    while probe < bytes.len() {
        if is_tick(probe) {
            let before = (0..probe).rev().take_while(|&i| is_tick(i)).count();
            let after = (probe..bytes.len()).take_while(|&i| is_tick(i)).count();
            if before + after > max {
                return true;
            }
            // The run ends before `probe + after`; the next longer run
            // must cover a later probe.
            probe += after;
        }
        probe += max + 1;
    }
    false
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

/// Most bytes one character is written as (`\u0085`, `\u2028`): a cut
/// falls at most this many bytes short of its room.
pub const MAX_ESCAPE_LEN: usize = 6;

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
    fn written_len_is_what_is_written_at_every_budget() {
        // Every kind of piece, and `@`/`<` before whitespace, which a cut
        // can leave last (then written with its joiner after all).
        let s = "a@ b< \u{2028}@\u{85}<\t\"\\\u{0}\u{1b}\u{7f}\u{9f}\u{a0}é🚨`` @x <y ".repeat(3);
        for style in [Style::Defused, Style::Verbatim] {
            for budget in 0..s.len() * 6 {
                let b = Budgeted::plan(&s, style, budget);
                let out = render(|w| b.write(w));
                assert_eq!(out.len(), b.written_len(), "{style:?} at {budget}");
                assert_eq!(b.kept.len() + b.cut, s.len());
                if style == Style::Verbatim {
                    assert_eq!(b.longest_backtick_run(), longest_backtick_run(b.kept));
                }
            }
        }
        assert_eq!(defused("cut@ here"), "cut@ here");
        let b = Budgeted::plan("ab@ cdefghijklmnopqrstuvwxyz0123456789", Style::Defused, 21);
        assert_eq!(b.kept, "ab@");
        assert_eq!(render(|w| b.write(w)), "ab@\u{2060}… [35 bytes cut]");
    }

    #[test]
    fn sampled_backtick_search_agrees_with_a_full_walk() {
        let texts = ["", "`", "a``b", "````", "x```````y``", "``` `` ````` `"];
        for text in texts {
            for max in 0..8 {
                let over = longest_backtick_run(text) > max;
                assert_eq!(
                    has_backtick_run_over(text.as_bytes(), max),
                    over,
                    "{text:?} {max}"
                );
            }
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
