//! Lowercase hexadecimal, the one encoder and decoder of the crate and the
//! binary (signatures, record keys).

/// Writes `src` as lowercase hex into the start of `out`; returns it as
/// text, or `None` when `out` is shorter than twice `src`.
pub fn encode_lower<'o>(src: &[u8], out: &'o mut [u8]) -> Option<&'o str> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let len = src.len().checked_mul(2)?;
    let dst = out.get_mut(..len)?;
    for (pair, b) in dst.chunks_exact_mut(2).zip(src) {
        if let [hi, lo] = pair {
            *hi = DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            *lo = DIGITS.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
        }
    }
    core::str::from_utf8(dst).ok()
}

/// Decodes exactly `2 * out.len()` hex digits (either case) into `out`;
/// `false` (and `out` unspecified) for any other input.
pub fn decode_exact(text: &str, out: &mut [u8]) -> bool {
    let bytes = text.as_bytes();
    if Some(bytes.len()) != out.len().checked_mul(2) {
        return false;
    }
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        match pair {
            [hi, lo] => match (digit(*hi), digit(*lo)) {
                (Some(hi), Some(lo)) => *o = (hi << 4) | lo,
                _ => return false,
            },
            _ => return false,
        }
    }
    true
}

fn digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_bad_input() {
        let mut out = [0u8; 8];
        assert_eq!(
            encode_lower(&[0x00, 0xab, 0x7f, 0xff], &mut out),
            Some("00ab7fff")
        );
        assert_eq!(encode_lower(&[1, 2, 3, 4, 5], &mut out), None);
        let mut back = [0u8; 4];
        assert!(decode_exact("00AB7fff", &mut back));
        assert_eq!(back, [0x00, 0xab, 0x7f, 0xff]);
        assert!(!decode_exact("00ab7ff", &mut back));
        assert!(!decode_exact("00ab7ffg", &mut back));
        assert!(!decode_exact("", &mut back));
    }
}
