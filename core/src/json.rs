//! A small JSON writer over a caller's `&mut [u8]`.
//!
//! The renderer (and the ack reply) build JSON by hand rather than through
//! serde because they need two things serde-json-core does not give: a
//! *counting* mode that measures a payload without writing it, so the
//! renderer can shrink untrusted text until the payload fits, and string
//! escaping that is stricter than JSON requires (every control character,
//! DEL, the C1 controls and U+2028/U+2029 are escaped, so no raw control
//! byte ever reaches Mattermost, which answers 400 to some of them).
//!
//! Panic rule: no method panics. A write that does not fit returns
//! [`Overflow`]; the buffer then holds an unfinished prefix the caller must
//! discard. Output is always valid UTF-8 because only whole `&str`s and
//! whole escaped `char`s are written.

use core::fmt;

/// The buffer is full: the value being written did not fit.
///
/// After it the writer's content is an unfinished prefix; discard it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("json buffer full")
    }
}

/// Where written bytes go.
#[derive(Debug)]
enum Sink<'b> {
    /// Into the caller's buffer.
    Buffer(&'b mut [u8]),
    /// Nowhere: only the length is counted (never overflows).
    Count,
}

/// Writes JSON tokens into a caller's buffer, or only counts their length.
///
/// The writer knows nothing about JSON structure: callers write the
/// punctuation with [`JsonWriter::raw`] and untrusted text with
/// [`JsonWriter::string`] or [`JsonWriter::escaped`].
///
/// ```
/// use mattermost_notify_core::json::{JsonWriter, Overflow};
/// let mut buf = [0u8; 64];
/// let mut w = JsonWriter::new(&mut buf);
/// w.raw("{\"message\":")?;
/// w.string("line 1\nbell \u{7}")?;
/// w.raw("}")?;
/// assert_eq!(w.as_bytes(), br#"{"message":"line 1\nbell \u0007"}"#);
/// Ok::<(), Overflow>(())
/// ```
#[derive(Debug)]
pub struct JsonWriter<'b> {
    sink: Sink<'b>,
    len: usize,
}

impl<'b> JsonWriter<'b> {
    /// A writer filling `buf` from its start.
    pub fn new(buf: &'b mut [u8]) -> Self {
        JsonWriter {
            sink: Sink::Buffer(buf),
            len: 0,
        }
    }

    /// A writer that stores nothing and only counts the bytes it would
    /// write. It never returns [`Overflow`].
    pub fn counting() -> JsonWriter<'static> {
        JsonWriter {
            sink: Sink::Count,
            len: 0,
        }
    }

    /// Bytes written (or counted) so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes written so far; always empty for a counting writer.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.sink {
            Sink::Buffer(buf) => buf.get(..self.len).unwrap_or_default(),
            Sink::Count => &[],
        }
    }

    /// Whether this writer only counts (see [`JsonWriter::counting`]).
    pub fn is_counting(&self) -> bool {
        matches!(self.sink, Sink::Count)
    }

    /// Counts `len` bytes a caller has measured without writing them: how
    /// a planned text is measured without walking it again. Does nothing
    /// to a writer that stores.
    pub(crate) fn count(&mut self, len: usize) {
        if self.is_counting() {
            self.len = self.len.saturating_add(len);
        }
    }

    /// Lets `fill` write straight into the unwritten rest of the buffer;
    /// it returns how many bytes it wrote, which must be whole UTF-8. For
    /// writers that copy many small pieces: one bounds check per piece
    /// instead of a call per piece. `None` for a counting writer.
    pub(crate) fn fill(
        &mut self,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, Overflow>,
    ) -> Option<Result<(), Overflow>> {
        let Sink::Buffer(buf) = &mut self.sink else {
            return None;
        };
        let spare = buf.get_mut(self.len..).unwrap_or_default();
        let room = spare.len();
        Some(fill(spare).map(|n| self.len += n.min(room)))
    }

    /// Appends `bytes` whole, or nothing and [`Overflow`]. Callers pass
    /// whole UTF-8 sequences only, so the output stays valid UTF-8.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), Overflow> {
        let end = self.len.checked_add(bytes.len()).ok_or(Overflow)?;
        if let Sink::Buffer(buf) = &mut self.sink {
            buf.get_mut(self.len..end)
                .ok_or(Overflow)?
                .copy_from_slice(bytes);
        }
        self.len = end;
        Ok(())
    }

    /// Appends `s` unescaped: JSON punctuation, keys and other trusted
    /// tokens. Never pass untrusted text here.
    pub fn raw(&mut self, s: &str) -> Result<(), Overflow> {
        self.push(s.as_bytes())
    }

    /// Appends `s` as a quoted JSON string, escaped.
    pub fn string(&mut self, s: &str) -> Result<(), Overflow> {
        self.raw("\"")?;
        self.escaped(s)?;
        self.raw("\"")
    }

    /// Appends the escaped content of a JSON string (no quotes), for
    /// building one string value from several pieces.
    pub fn escaped(&mut self, s: &str) -> Result<(), Overflow> {
        // Runs of characters needing no escape are copied in one go, and
        // only a byte that can start such a character is decoded.
        let bytes = s.as_bytes();
        let mut plain_start = 0;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if !may_start_escape(b) {
                i += 1;
                continue;
            }
            let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) else {
                break;
            };
            if needs_escape(c) {
                self.raw(s.get(plain_start..i).unwrap_or_default())?;
                self.escaped_char(c)?;
                plain_start = i + c.len_utf8();
            }
            i += c.len_utf8();
        }
        self.raw(s.get(plain_start..).unwrap_or_default())
    }

    /// Appends one character, escaped as in [`JsonWriter::escaped`].
    pub fn escaped_char(&mut self, c: char) -> Result<(), Overflow> {
        let short = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\t' => "\\t",
            '\r' => "\\r",
            c if needs_escape(c) => return self.unicode_escape(c),
            c => {
                let mut utf8 = [0u8; 4];
                return self.raw(c.encode_utf8(&mut utf8));
            }
        };
        self.raw(short)
    }

    /// `\uHHHH` (four hex digits) for a character of the Basic Multilingual Plane.
    fn unicode_escape(&mut self, c: char) -> Result<(), Overflow> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let code = u32::from(c);
        let mut out = *b"\\u0000";
        for (slot, shift) in out.iter_mut().skip(2).zip([12u32, 8, 4, 0]) {
            let nibble = (code >> shift) & 0xf;
            *slot = HEX.get(nibble as usize).copied().unwrap_or(b'0');
        }
        self.push(&out)
    }

    /// Appends `n` in decimal.
    pub fn uint(&mut self, n: u64) -> Result<(), Overflow> {
        let mut digits = [0u8; 20];
        let text = format_u64(n, &mut digits);
        self.push(text)
    }

    /// Appends `true` or `false`.
    pub fn bool(&mut self, b: bool) -> Result<(), Overflow> {
        self.raw(if b { "true" } else { "false" })
    }
}

/// Whether `c` is written as an escape sequence rather than as itself:
/// `"`, `\`, every C0 control, DEL, every C1 control, U+2028 and U+2029
/// (line and paragraph separators, which some JSON consumers treat as line
/// ends).
pub fn needs_escape(c: char) -> bool {
    matches!(c, '"' | '\\' | '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}')
}

/// Whether `b` can start a character [`needs_escape`] holds: an ASCII
/// control, DEL, `"`, `\`, or `C2`/`E2`, the lead bytes of the C1
/// controls and of U+2028/U+2029. Every other byte is written as it is.
fn may_start_escape(b: u8) -> bool {
    b < 0x20 || matches!(b, b'"' | b'\\' | 0x7f | 0xc2 | 0xe2)
}

/// How many bytes [`JsonWriter::escaped_char`] writes for `c`.
pub fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\t' | '\r' => 2,
        c if needs_escape(c) => 6,
        c => c.len_utf8(),
    }
}

/// Writes `n` in decimal into the end of `digits`; returns the used tail.
fn format_u64(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    digits.get(start..).unwrap_or_default()
}

/// Number of decimal digits of `n` (1 for 0).
pub fn decimal_len(n: u64) -> usize {
    let mut len = 1;
    let mut rest = n / 10;
    while rest > 0 {
        len += 1;
        rest /= 10;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut JsonWriter<'_>) -> Result<(), Overflow>) -> String {
        let mut buf = [0u8; 256];
        let mut w = JsonWriter::new(&mut buf);
        f(&mut w).unwrap();
        String::from_utf8(w.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn escapes_every_control_character_and_separators() {
        let s: String = (0u32..0x20)
            .chain([0x7f, 0x85, 0x9f, 0x2028, 0x2029])
            .map(|c| char::from_u32(c).unwrap())
            .collect();
        let out = written(|w| w.string(&s));
        assert!(out.bytes().all(|b| b >= 0x20 && b != 0x7f), "{out:?}");
        assert!(out.contains("\\n") && out.contains("\\t") && out.contains("\\u0000"));
        assert!(out.contains("\\u001f") && out.contains("\\u007f") && out.contains("\\u0085"));
        assert!(out.contains("\\u2028") && out.contains("\\u2029"));
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn escapes_quote_and_backslash_and_keeps_unicode() {
        let s = "say \"hi\" C:\\temp ✅ 🚨";
        let out = written(|w| w.string(s));
        assert_eq!(out, r#""say \"hi\" C:\\temp ✅ 🚨""#);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn escaped_matches_escaping_char_by_char() {
        // Neighbours of the escaped characters share their lead bytes.
        let s = "a\u{0}\u{1f} \u{7f}\u{80}\u{9f}\u{a0}°\u{2027}\u{2028}\u{2029}\u{202a}⚠\u{2060}\"\\🚨é";
        let mut want = String::new();
        for c in s.chars() {
            want.push_str(&written(|w| w.escaped_char(c)));
        }
        assert_eq!(written(|w| w.escaped(s)), want);
        assert!(want.contains("\\u0080") && want.contains("\u{a0}°\u{2027}\\u2028"));
    }

    #[test]
    fn escaped_char_len_matches_what_is_written() {
        for c in [
            'a', '"', '\\', '\n', '\u{1}', '\u{7f}', 'é', '✅', '🚨', '\u{2028}',
        ] {
            let mut w = JsonWriter::counting();
            w.escaped_char(c).unwrap();
            assert_eq!(w.len(), escaped_char_len(c), "{c:?}");
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_panic_and_never_splits_a_char() {
        let mut buf = [0u8; 5];
        let mut w = JsonWriter::new(&mut buf);
        assert_eq!(w.string("ab✅"), Err(Overflow));
        assert!(w.as_bytes().len() <= 5);
        assert!("\"ab✅\"".as_bytes().starts_with(w.as_bytes()));
        assert!(core::str::from_utf8(w.as_bytes()).is_ok());
        let before = w.len();
        assert_eq!(w.raw("xyzxyz"), Err(Overflow));
        assert_eq!(w.len(), before, "a failed raw write adds nothing");
        let mut empty: [u8; 0] = [];
        assert_eq!(JsonWriter::new(&mut empty).raw("{"), Err(Overflow));
    }

    #[test]
    fn counting_measures_exactly_what_the_buffer_gets() {
        let s = "tab\there \"q\" \u{1b}[31m ✅";
        let mut buf = [0u8; 128];
        let mut w = JsonWriter::new(&mut buf);
        w.string(s).unwrap();
        w.uint(1234).unwrap();
        let mut c = JsonWriter::counting();
        c.string(s).unwrap();
        c.uint(1234).unwrap();
        assert_eq!(c.len(), w.len());
        assert!(c.as_bytes().is_empty());
    }

    #[test]
    fn numbers_and_bools() {
        assert_eq!(written(|w| w.uint(0)), "0");
        assert_eq!(written(|w| w.uint(u64::MAX)), "18446744073709551615");
        assert_eq!(
            written(|w| w.bool(true).and_then(|()| w.bool(false))),
            "truefalse"
        );
        assert_eq!(decimal_len(0), 1);
        assert_eq!(decimal_len(9), 1);
        assert_eq!(decimal_len(10), 2);
        assert_eq!(decimal_len(u64::MAX), 20);
    }
}
