//! The run scanner under [`super::write_text`] and [`super::Budgeted`]:
//! text is split into runs of bytes written as they are, copied whole, and
//! the few characters written differently, found with one table lookup
//! per byte.
//!
//! Even hostile text is mostly bytes JSON takes as they are; handling it a
//! character at a time through the general escaper cost about 140
//! instructions per written byte (tests/bench/PERFORMANCE.md). Every
//! character that needs work starts with an ASCII byte or with `C2`/`E2`
//! (the lead bytes of the C1 controls and of U+2028/U+2029), so runs end on
//! character boundaries and can be copied with `copy_from_slice`.

use super::Style;

/// `"` `\` and `\n` `\t` `\r`: a two-byte escape.
const SHORT: u8 = 1;
/// Every other C0 control and DEL: `\u00XX`.
const CONTROL: u8 = 2;
/// NUL: written as U+FFFD (see [`super::REPLACEMENT`]).
const NUL: u8 = 4;
/// `@` and `<`: may get a word joiner outside code.
const MENTION: u8 = 8;
/// Backtick: plain, but counted for the code fence.
const TICK: u8 = 16;
/// `C2` or `E2`: may start a C1 control or U+2028/U+2029.
const LEAD: u8 = 32;

// Evaluated at compile time only: an index out of bounds here would fail
// the build, it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const fn class_table() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'"' | b'\\' | b'\n' | b'\t' | b'\r' => SHORT,
            0 => NUL,
            0x01..=0x1f | 0x7f => CONTROL,
            b'@' | b'<' => MENTION,
            b'`' => TICK,
            0xc2 | 0xe2 => LEAD,
            _ => 0,
        };
        b += 1;
    }
    table
}

static CLASS: [u8; 256] = class_table();

// As `class_table`: evaluated at compile time only.
#[allow(clippy::indexing_slicing)]
const fn fixed_len_table() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match CLASS[b] {
            SHORT => 2,
            CONTROL => 6,
            NUL => 3,
            _ => 0,
        };
        b += 1;
    }
    table
}

static FIXED_LEN: [u8; 256] = fixed_len_table();

// As `class_table`: evaluated at compile time only.
#[allow(clippy::indexing_slicing)]
const fn fixed_escape_table() -> [[u8; 6]; 128] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 6]; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'"' => *b"\\\"\0\0\0\0",
            b'\\' => *b"\\\\\0\0\0\0",
            b'\n' => *b"\\n\0\0\0\0",
            b'\t' => *b"\\t\0\0\0\0",
            b'\r' => *b"\\r\0\0\0\0",
            0 => [0xef, 0xbf, 0xbd, 0, 0, 0],
            0x01..=0x1f | 0x7f => [b'\\', b'u', b'0', b'0', HEX[b >> 4], HEX[b & 0xf]],
            _ => [0; 6],
        };
        b += 1;
    }
    table
}

static FIXED_ESCAPE: [[u8; 6]; 128] = fixed_escape_table();

/// What a byte with a [`fixed_len`] is written as (the first `fixed_len`
/// bytes count), read from a table built at compile time.
#[inline]
pub fn fixed_escape(b: u8) -> &'static [u8] {
    let escape = FIXED_ESCAPE.get(usize::from(b)).map_or(&[][..], |e| &e[..]);
    escape.get(..fixed_len(b)).unwrap_or_default()
}

/// [`fixed_escape`] as a whole table entry and its length, for a writer
/// that stores all six bytes at once and then advances by the length.
#[inline]
pub fn fixed_escape_entry(b: u8) -> Option<Escape> {
    let len = fixed_len(b);
    let bytes = FIXED_ESCAPE.get(usize::from(b)).copied()?;
    (len > 0).then_some(Escape { bytes, len })
}

/// Written length of a byte that is always escaped the same way (`"`, `\`,
/// C0 controls, DEL, NUL), or 0 for any other byte: the planner measures
/// these without asking [`special`].
#[inline]
pub fn fixed_len(b: u8) -> usize {
    usize::from(FIXED_LEN.get(usize::from(b)).copied().unwrap_or(0))
}

/// The classes that stop a run in `style`; `ticks` also stops at backticks.
pub fn stops(style: Style, ticks: bool) -> u8 {
    let base = SHORT | CONTROL | NUL | LEAD;
    let style = match style {
        Style::Defused => MENTION,
        Style::Verbatim => 0,
    };
    base | style | if ticks { TICK } else { 0 }
}

/// [`run_end`] looking at four bytes a round (their classes or'ed
/// together), then finding the stop among them byte by byte: fewer
/// instructions a byte in the writer's long scans.
#[inline]
pub fn run_end_wide(bytes: &[u8], from: usize, stops: u8) -> usize {
    let mut i = from;
    while let Some(&[a, b, c, d]) = bytes.get(i..).and_then(|rest| rest.first_chunk::<4>()) {
        if (class(a) | class(b) | class(c) | class(d)) & stops != 0 {
            break;
        }
        i += 4;
    }
    run_end(bytes, i, stops)
}

/// Index of the first byte at or after `from` whose class is in `stops`,
/// or `bytes.len()`.
#[inline]
pub fn run_end(bytes: &[u8], from: usize, stops: u8) -> usize {
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        if class(b) & stops != 0 {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

#[inline]
fn class(b: u8) -> u8 {
    CLASS.get(usize::from(b)).copied().unwrap_or(0)
}

/// What is written for one character that may need work.
#[derive(Debug, Clone, Copy)]
pub struct Special {
    /// Input bytes of the character.
    pub input_len: usize,
    /// Bytes written for it; `None` when it is written as it is.
    pub out: Option<Escape>,
}

/// Up to six written bytes: an escape, U+FFFD, or `@`/`<` and a joiner.
#[derive(Debug, Clone, Copy)]
pub struct Escape {
    bytes: [u8; 6],
    len: usize,
}

impl Escape {
    /// The written bytes (always whole UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    /// How many bytes are written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// All six stored bytes, of which the first [`Escape::len`] count: one
    /// fixed-size store instead of a copy of a varying length.
    pub fn padded(&self) -> &[u8; 6] {
        &self.bytes
    }

    fn short(c: u8) -> Self {
        Escape {
            bytes: [b'\\', c, 0, 0, 0, 0],
            len: 2,
        }
    }

    /// `\uHHHH` (four hex digits) for a code point of the Basic Multilingual Plane.
    fn unicode(code: u16) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hex = |shift: u16| HEX.get(usize::from((code >> shift) & 0xf)).copied();
        Escape {
            bytes: [
                b'\\',
                b'u',
                hex(12).unwrap_or(b'0'),
                hex(8).unwrap_or(b'0'),
                hex(4).unwrap_or(b'0'),
                hex(0).unwrap_or(b'0'),
            ],
            len: 6,
        }
    }

    /// `\uHHHH` from its four hex digits, known in advance.
    const fn short_unicode(hex: [u8; 4]) -> Self {
        let [a, b, c, d] = hex;
        Escape {
            bytes: [b'\\', b'u', a, b, c, d],
            len: 6,
        }
    }

    fn utf8(bytes: [u8; 4], len: usize) -> Self {
        let [a, b, c, d] = bytes;
        Escape {
            bytes: [a, b, c, d, 0, 0],
            len,
        }
    }
}

/// [`special`] for the most common pieces of hostile text, decided
/// without a call: an `@` or `<` followed by an ASCII byte in
/// [`Style::Defused`], and a character starting with `E2` (U+2028,
/// U+2029 and the many plain symbols around them). `None` for anything
/// else.
#[inline]
pub fn quick(bytes: &[u8], i: usize, style: Style) -> Option<Special> {
    let at = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
    let c = at(0);
    if c == 0xe2 {
        // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
        let out = match (at(1), at(2)) {
            (0x80, 0xa8) => Some(Escape::short_unicode(*b"2028")),
            (0x80, 0xa9) => Some(Escape::short_unicode(*b"2029")),
            _ => None,
        };
        return Some(Special { input_len: 3, out });
    }
    let next = at(1);
    if !(c == b'@' || c == b'<') || style != Style::Defused || !next.is_ascii() {
        return None;
    }
    let out = match next {
        b'\t'..=b'\r' | b' ' => None,
        _ => Some(Escape::utf8([c, 0xe2, 0x81, 0xa0], 4)),
    };
    Some(Special { input_len: 1, out })
}

/// The character starting at `i` (a byte [`run_end`] stopped at), and
/// what is written for it: the rules of [`crate::json::needs_escape`] and
/// of [`super::Style`], byte for byte as the general escaper writes them.
#[inline]
pub fn special(s: &str, i: usize, style: Style) -> Special {
    let bytes = s.as_bytes();
    let at = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
    let escape = |input_len, out| Special {
        input_len,
        out: Some(out),
    };
    let plain = |input_len| Special {
        input_len,
        out: None,
    };
    match at(0) {
        b'"' => escape(1, Escape::short(b'"')),
        b'\\' => escape(1, Escape::short(b'\\')),
        b'\n' => escape(1, Escape::short(b'n')),
        b'\t' => escape(1, Escape::short(b't')),
        b'\r' => escape(1, Escape::short(b'r')),
        // PostgreSQL, Mattermost's usual database, cannot store NUL in
        // text; an escaped `\u0000` would still reach it.
        0 => escape(1, Escape::utf8([0xef, 0xbf, 0xbd, 0], 3)),
        c @ (0x01..=0x1f | 0x7f) => escape(1, Escape::unicode(u16::from(c))),
        c @ (b'@' | b'<') if style == Style::Defused => {
            // Mostly ASCII follows: check it without decoding a char.
            let followed_by_space = match at(1) {
                b'\t'..=b'\r' | b' ' => true,
                0..=0x7f => false,
                _ => s
                    .get(i + 1..)
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(char::is_whitespace),
            };
            if followed_by_space {
                plain(1)
            } else {
                // U+2060 WORD JOINER, see [`super::WORD_JOINER`].
                escape(1, Escape::utf8([c, 0xe2, 0x81, 0xa0], 4))
            }
        }
        // C1 controls: U+0080..U+009F are C2 80..C2 9F.
        0xc2 => match at(1) {
            c @ 0x80..=0x9f => escape(2, Escape::unicode(u16::from(c))),
            _ => plain(2),
        },
        // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
        0xe2 => match (at(1), at(2)) {
            (0x80, 0xa8) => escape(3, Escape::unicode(0x2028)),
            (0x80, 0xa9) => escape(3, Escape::unicode(0x2029)),
            _ => plain(3),
        },
        _ => plain(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_run_end_finds_the_same_stop_as_the_byte_loop() {
        let texts = [
            "",
            "abc",
            "abcdefgh\"ijklmnop",
            "0123456789abcdef@x`y<z\u{1}\u{7f}\u{85}\u{2028}é🚨",
            "a\"b\\c\nd\te\rf\u{0}g@h<i`j",
        ];
        for s in texts {
            let bytes = s.as_bytes();
            for style in [Style::Defused, Style::Verbatim] {
                for ticks in [false, true] {
                    let stops = stops(style, ticks);
                    for from in 0..=bytes.len() {
                        assert_eq!(
                            run_end_wide(bytes, from, stops),
                            run_end(bytes, from, stops),
                            "{s:?} {style:?} {ticks} {from}"
                        );
                    }
                }
            }
        }
    }
}
