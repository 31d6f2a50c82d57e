//! The storing half of [`super::write_text`]: the same pieces as
//! [`super::for_each_piece`], written with fixed-size stores.
//!
//! Hostile text needs a piece of work every six bytes or so, and a copy
//! of a varying length is a call into `memcpy` that costs more than the
//! bytes it moves. So, wherever the buffer (and, for a run, the input) has
//! room for it, a short run is stored as a whole 16-byte block and an
//! escape as its whole 6-byte table entry, and the output end advances
//! only by the real length: the bytes stored past it are overwritten by
//! the next piece or left in the unwritten rest of the buffer, which no
//! one reads. Near the end of the buffer or of the text the exact length
//! is copied, so what is written and when [`Overflow`] is returned are
//! the same as copying piece by piece.

use super::{scan, Style};
use crate::json::Overflow;

/// Runs up to this long are stored as one block.
const BLOCK: usize = 16;

/// Writes `s` into the start of `out` as [`super::write_text`] does;
/// returns the length written.
pub(super) fn fill_text(out: &mut [u8], s: &str, style: Style) -> Result<usize, Overflow> {
    let bytes = s.as_bytes();
    let stops = scan::stops(style, false);
    let mut end = 0;
    let mut run_start = 0;
    let mut i = 0;
    loop {
        i = scan::run_end_wide(bytes, i, stops);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        if let Some(escape) = scan::fixed_escape_entry(b) {
            end = store_run(out, end, bytes, run_start, i)?;
            end = store_escape(out, end, escape)?;
            i += 1;
            // Controls and quotes often come in a row in hostile text.
            while let Some(escape) = bytes.get(i).and_then(|&b| scan::fixed_escape_entry(b)) {
                end = store_escape(out, end, escape)?;
                i += 1;
            }
            run_start = i;
            continue;
        }
        let special = scan::quick(bytes, i, style).unwrap_or_else(|| scan::special(s, i, style));
        if let Some(escape) = special.out {
            end = store_run(out, end, bytes, run_start, i)?;
            end = store_escape(out, end, escape)?;
            run_start = i + special.input_len;
        }
        i += special.input_len;
    }
    store_run(out, end, bytes, run_start, bytes.len())
}

/// Stores `bytes[start..stop]` at `out[end..]`; returns the new end.
#[inline]
fn store_run(
    out: &mut [u8],
    end: usize,
    bytes: &[u8],
    start: usize,
    stop: usize,
) -> Result<usize, Overflow> {
    let len = stop - start;
    if len == 0 {
        // Back-to-back escapes: common in hostile text.
        return Ok(end);
    }
    if len <= BLOCK {
        let src = bytes.get(start..start + BLOCK);
        if let (Some(src), Some(dst)) = (src, out.get_mut(end..end + BLOCK)) {
            dst.copy_from_slice(src);
            return Ok(end + len);
        }
    }
    let src = bytes.get(start..stop).unwrap_or_default();
    out.get_mut(end..end + len)
        .ok_or(Overflow)?
        .copy_from_slice(src);
    Ok(end + len)
}

/// Stores `escape` at `out[end..]`; returns the new end.
#[inline]
fn store_escape(out: &mut [u8], end: usize, escape: scan::Escape) -> Result<usize, Overflow> {
    let len = escape.len();
    let padded = escape.padded();
    if let Some(dst) = out.get_mut(end..end + padded.len()) {
        dst.copy_from_slice(padded);
    } else {
        out.get_mut(end..end + len)
            .ok_or(Overflow)?
            .copy_from_slice(escape.as_bytes());
    }
    Ok(end + len)
}

#[cfg(test)]
mod tests {
    use super::super::for_each_piece;
    use super::*;

    /// What copying piece by piece writes into a buffer of `room` bytes.
    fn by_pieces(s: &str, style: Style, room: usize) -> Result<Vec<u8>, Overflow> {
        let mut out = Vec::new();
        for_each_piece(s, style, |piece| {
            if out.len() + piece.len() > room {
                return Err(Overflow);
            }
            out.extend_from_slice(piece);
            Ok(())
        })?;
        Ok(out)
    }

    fn filled(s: &str, style: Style, room: usize) -> Result<Vec<u8>, Overflow> {
        let mut buf = vec![0xffu8; room];
        let n = fill_text(&mut buf, s, style)?;
        Ok(buf[..n].to_vec())
    }

    #[test]
    fn block_stores_write_what_piece_by_piece_copying_writes() {
        let parts = [
            "a",
            "@",
            "< ",
            "\"",
            "\\",
            "\n",
            "\u{0}",
            "\u{1b}",
            "\u{7f}",
            "\u{85}",
            "\u{a0}",
            "\u{2028}",
            "\u{2029}",
            "é",
            "🚨",
            "`",
            "@x",
            "0123456789abcdefXYZ",
        ];
        // Every pair and triple of parts, at every room up to what fits.
        let mut texts = Vec::new();
        for a in parts {
            for b in parts {
                for c in parts {
                    texts.push(format!("{a}{b}{c}"));
                }
            }
        }
        texts.push("x".repeat(100));
        texts.push("@a\"b\u{1}".repeat(20));
        for s in &texts {
            for style in [Style::Defused, Style::Verbatim] {
                let full = by_pieces(s, style, usize::MAX).unwrap().len();
                for room in 0..=full + 20 {
                    assert_eq!(
                        filled(s, style, room),
                        by_pieces(s, style, room),
                        "{s:?} {style:?} {room}"
                    );
                }
            }
        }
    }
}
