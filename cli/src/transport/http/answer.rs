//! Reading an answer: the head with httparse, then the body framed by
//! `Transfer-Encoding: chunked`, `Content-Length` or the end of the
//! connection (RFC 9112 §6.3), at most [`MAX_BODY`] bytes of it.
//!
//! The peer is not trusted: the head is capped at [`HEAD_MAX`] bytes and
//! [`MAX_HEADERS`] headers, interim (1xx) answers at [`MAX_INTERIM`],
//! a chunk-size line at [`CHUNK_LINE_MAX`] bytes, and chunk sizes are
//! added up with checked arithmetic. A body that ends early, or breaks its
//! framing, keeps what arrived and says why in [`Response::body_cut`].

use super::{HttpError, Step};
use std::io::{ErrorKind, Read};

/// Largest answer head (status line and headers) read.
pub const HEAD_MAX: usize = 16 * 1024;
/// Most headers in an answer head.
pub const MAX_HEADERS: usize = 64;
/// Most bytes of an answer body kept: Mattermost answers `ok` or a small
/// JSON; reading stops here.
pub const MAX_BODY: usize = 64 * 1024;
/// Most interim (1xx) answers skipped before the final one.
pub const MAX_INTERIM: usize = 8;
/// Longest chunk-size line (size and extensions).
pub const CHUNK_LINE_MAX: usize = 1024;

/// An answer's headers, in order, names as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    /// The first value of header `name` (any case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Every value of header `name` (any case), in order.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Appends a header.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        self.0.push((name.to_string(), value.to_vec()));
    }
}

/// A final answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The status code (100 to 999: httparse reads three digits).
    pub status: u16,
    /// The headers.
    pub headers: Headers,
    /// The body, at most [`MAX_BODY`] bytes of it.
    pub body: Vec<u8>,
    /// Why `body` is not the whole body: [`HttpError::TooLong`] past
    /// [`MAX_BODY`], or the connection or the framing failed in it.
    pub body_cut: Option<HttpError>,
}

/// Bytes from the peer, buffered: the head must be contiguous for
/// httparse, and what follows it is the start of the body.
struct Input<'a> {
    r: &'a mut dyn Read,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    step: Step,
}

impl<'a> Input<'a> {
    fn new(r: &'a mut dyn Read, step: Step) -> Input<'a> {
        Input {
            r,
            buf: vec![0; HEAD_MAX],
            start: 0,
            end: 0,
            step,
        }
    }

    fn buffered(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
    }

    /// Reads more after what is buffered; 0 at the end of input. A TLS
    /// peer that closes without `close_notify` ends the input too: an
    /// answer framed by the connection's end is then taken as whole, one
    /// framed otherwise is cut short either way.
    fn read_more(&mut self) -> Result<usize, HttpError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let Some(room) = self.buf.get_mut(self.end..).filter(|r| !r.is_empty()) else {
            return Ok(0);
        };
        loop {
            match self.r.read(room) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(HttpError::from_io(&e, self.step)),
            }
        }
    }

    /// Up to `max` bytes, reading when nothing is buffered; empty at the
    /// end of input.
    fn take(&mut self, max: usize) -> Result<&[u8], HttpError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.read_more()?;
        }
        let n = (self.end - self.start).min(max);
        let from = self.start;
        self.start += n;
        Ok(self.buf.get(from..from + n).unwrap_or_default())
    }

    /// One byte; `None` at the end of input.
    fn byte(&mut self) -> Result<Option<u8>, HttpError> {
        Ok(self.take(1)?.first().copied())
    }
}

/// A head as read: the status, its reason phrase and the headers.
struct Head {
    status: u16,
    reason: String,
    headers: Headers,
}

/// Reads heads until a final (non-1xx) one, which it consumes from
/// `input`; what follows stays buffered.
fn read_head(input: &mut Input<'_>) -> Result<Head, HttpError> {
    let mut interim = 0usize;
    loop {
        if input.start < input.end {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut slots);
            match parsed.parse(input.buffered()) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = parsed.code.unwrap_or(0);
                    if (100..200).contains(&status) {
                        interim += 1;
                        if interim > MAX_INTERIM {
                            return Err(HttpError::Malformed("too many interim (1xx) answers"));
                        }
                        input.consume(len);
                        continue;
                    }
                    let mut headers = Headers(Vec::with_capacity(parsed.headers.len()));
                    for h in parsed.headers.iter() {
                        headers.push(h.name, h.value);
                    }
                    let head = Head {
                        status,
                        reason: parsed.reason.unwrap_or("").to_string(),
                        headers,
                    };
                    input.consume(len);
                    return Ok(head);
                }
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(HttpError::Malformed("more than 64 headers"))
                }
                Err(_) => return Err(HttpError::Malformed("not an HTTP/1.x answer head")),
            }
        }
        if input.end - input.start >= HEAD_MAX {
            return Err(HttpError::Malformed("answer head over 16 KiB"));
        }
        if input.read_more()? == 0 {
            return Err(HttpError::Closed(input.step));
        }
    }
}

/// How the body's end is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// RFC 9112 §6.3: no body for 204 and 304; `Transfer-Encoding` wins over
/// `Content-Length` (chunked if it is the last coding, else the body runs
/// to the close); differing `Content-Length` values are an error.
fn framing(status: u16, headers: &Headers) -> Result<Framing, HttpError> {
    if status == 204 || status == 304 {
        return Ok(Framing::Length(0));
    }
    if let Some(te) = headers.all("transfer-encoding").last() {
        let last = te.rsplit(|&b| b == b',').next().unwrap_or_default();
        return Ok(if last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    let mut length = None;
    for value in headers.all("content-length") {
        let n = decimal(value.trim_ascii()).ok_or(HttpError::Malformed("bad Content-Length"))?;
        if length.is_some_and(|l| l != n) {
            return Err(HttpError::Malformed("conflicting Content-Length headers"));
        }
        length = Some(n);
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// A non-empty run of ASCII digits that fits a `u64`.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let d = char::from(b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Reads the body into `body` until its end, [`MAX_BODY`] or a failure.
fn read_body(input: &mut Input<'_>, framing: Framing, body: &mut Vec<u8>) -> Result<(), HttpError> {
    match framing {
        Framing::Length(n) => read_exactly(input, n, body),
        Framing::UntilClose => loop {
            let room = MAX_BODY.saturating_sub(body.len());
            if room == 0 {
                // Full: whole if nothing more comes, cut if something does.
                return match input.take(1)?.is_empty() {
                    true => Ok(()),
                    false => Err(HttpError::TooLong),
                };
            }
            let got = input.take(room)?;
            if got.is_empty() {
                return Ok(());
            }
            body.extend_from_slice(got);
        },
        Framing::Chunked => loop {
            let size = chunk_size(input)?;
            if size == 0 {
                // The last chunk. Trailers are not read: the connection
                // closes after this answer anyway.
                return Ok(());
            }
            read_exactly(input, size, body)?;
            match input.byte()? {
                Some(b'\r') if input.byte()? == Some(b'\n') => {}
                Some(b'\n') => {}
                None => return Err(HttpError::Closed(Step::Body)),
                Some(_) => return Err(HttpError::Malformed("chunk data not followed by CRLF")),
            }
        },
    }
}

/// Appends `n` bytes of input to `body`, or fails: cut short at the end of
/// input, [`HttpError::TooLong`] at [`MAX_BODY`].
fn read_exactly(input: &mut Input<'_>, n: u64, body: &mut Vec<u8>) -> Result<(), HttpError> {
    let mut left = n;
    while left > 0 {
        let room = MAX_BODY.saturating_sub(body.len());
        if room == 0 {
            return Err(HttpError::TooLong);
        }
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(room);
        let got = input.take(want)?;
        if got.is_empty() {
            return Err(HttpError::Closed(Step::Body));
        }
        body.extend_from_slice(got);
        left = left.saturating_sub(got.len() as u64);
    }
    Ok(())
}

/// A chunk-size line, `1a;ext=x\r\n` (RFC 9112 §7.1): hex digits, optional
/// whitespace and extensions, CRLF (a bare LF is taken too).
fn chunk_size(input: &mut Input<'_>) -> Result<u64, HttpError> {
    enum At {
        Digits,
        Space,
        Extension,
        Cr,
    }
    let mut at = At::Digits;
    let mut size = 0u64;
    let mut digits = 0usize;
    for _ in 0..CHUNK_LINE_MAX {
        let b = input.byte()?.ok_or(HttpError::Closed(Step::Body))?;
        match at {
            At::Digits if b.is_ascii_hexdigit() => {
                let d = char::from(b).to_digit(16).unwrap_or(0);
                size = size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(u64::from(d)))
                    .ok_or(HttpError::Malformed("chunk size overflows"))?;
                digits += 1;
            }
            At::Digits | At::Space if b == b' ' || b == b'\t' => at = At::Space,
            At::Digits | At::Space if b == b';' => at = At::Extension,
            At::Cr if b != b'\n' => return Err(HttpError::Malformed("bad chunk size")),
            _ if b == b'\r' => at = At::Cr,
            _ if b == b'\n' => {
                return match digits {
                    0 => Err(HttpError::Malformed("bad chunk size")),
                    _ => Ok(size),
                };
            }
            At::Extension => {}
            _ => return Err(HttpError::Malformed("bad chunk size")),
        }
    }
    Err(HttpError::Malformed("chunk size line too long"))
}

/// Reads a whole answer from `r` (the request has been sent).
pub(super) fn read_response(r: &mut dyn Read) -> Result<Response, HttpError> {
    let mut input = Input::new(r, Step::Waiting);
    let head = read_head(&mut input)?;
    let framing = framing(head.status, &head.headers)?;
    input.step = Step::Body;
    let mut body = Vec::new();
    let body_cut = read_body(&mut input, framing, &mut body).err();
    Ok(Response {
        status: head.status,
        headers: head.headers,
        body,
        body_cut,
    })
}

/// Reads a proxy's answer to CONNECT: `Ok` for a 2xx after which nothing
/// is buffered (the tunnel's bytes are the target's).
pub(super) fn read_connect_answer(r: &mut dyn Read) -> Result<(), HttpError> {
    let mut input = Input::new(r, Step::Proxy);
    let head = read_head(&mut input)?;
    if !(200..300).contains(&head.status) {
        let reason: String = head
            .reason
            .chars()
            .filter(|c| !c.is_control())
            .take(80)
            .collect();
        return Err(HttpError::ProxyRefused {
            status: head.status,
            reason,
        });
    }
    if input.start != input.end {
        return Err(HttpError::Malformed(
            "the proxy sent bytes after its CONNECT answer",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    /// Gives its bytes in pieces of `step`, then ends (or fails).
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
        then: Option<ErrorKind>,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let rest = self.data.get(self.at..).unwrap_or_default();
            if rest.is_empty() {
                return match self.then {
                    Some(kind) => Err(io::Error::from(kind)),
                    None => Ok(0),
                };
            }
            let n = rest.len().min(self.step).min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            Ok(n)
        }
    }

    fn answer_in(data: &[u8], step: usize) -> Result<Response, HttpError> {
        read_response(&mut Trickle {
            data: data.to_vec(),
            at: 0,
            step,
            then: None,
        })
    }

    /// The same answer read whole and one byte at a time.
    fn answer(data: &[u8]) -> Result<Response, HttpError> {
        let whole = answer_in(data, usize::MAX);
        assert_eq!(whole, answer_in(data, 1), "byte by byte differs");
        assert_eq!(whole, answer_in(data, 7), "7 bytes at a time differs");
        whole
    }

    #[test]
    fn content_length_bodies_are_read_exactly() {
        let r =
            answer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
                .expect("answer");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"ok");
        assert_eq!(r.body_cut, None);
        assert_eq!(r.headers.get("content-type"), Some(&b"text/plain"[..]));
        assert_eq!(r.headers.get("CONTENT-TYPE"), Some(&b"text/plain"[..]));
        assert_eq!(r.headers.get("server"), None);
        // Bytes past the length are not the body.
        let r = answer(b"HTTP/1.1 400 Bad\r\nContent-Length: 3\r\n\r\nabcdef").expect("answer");
        assert_eq!((r.status, r.body.as_slice()), (400, &b"abc"[..]));
    }

    #[test]
    fn a_short_body_keeps_what_arrived_and_says_so() {
        let r = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok").expect("answer");
        assert_eq!(r.body, b"ok");
        assert_eq!(r.body_cut, Some(HttpError::Closed(Step::Body)));
        let reset = read_response(&mut Trickle {
            data: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok".to_vec(),
            at: 0,
            step: 100,
            then: Some(ErrorKind::ConnectionReset),
        })
        .expect("answer");
        assert_eq!(reset.body_cut, Some(HttpError::Reset(Step::Body)));
    }

    #[test]
    fn bodies_without_length_run_to_the_close() {
        let r = answer(b"HTTP/1.0 200 OK\r\n\r\nsome text").expect("answer");
        assert_eq!(r.body, b"some text");
        assert_eq!(r.body_cut, None);
        // TLS without close_notify ends it the same way.
        let r = read_response(&mut Trickle {
            data: b"HTTP/1.1 200 OK\r\n\r\nok".to_vec(),
            at: 0,
            step: 3,
            then: Some(ErrorKind::UnexpectedEof),
        })
        .expect("answer");
        assert_eq!((r.body.as_slice(), r.body_cut), (&b"ok"[..], None));
    }

    #[test]
    fn no_body_for_204_and_304() {
        let r = answer(b"HTTP/1.1 204 No Content\r\n\r\nstray").expect("answer");
        assert!(r.body.is_empty());
        assert_eq!(r.body_cut, None);
    }

    #[test]
    fn chunked_bodies_are_decoded() {
        let r = answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n\
              2\r\nok\r\n1A;name=\"x;y\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\n",
        )
        .expect("answer");
        assert_eq!(r.body, b"okabcdefghijklmnopqrstuvwxyz");
        assert_eq!(r.body_cut, None);
        // Bare LF, upper and lower case hex, whitespace before CRLF.
        let r = answer(b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n3 \nabc\nA\r\n0123456789\r\n0\r\n")
            .expect("answer");
        assert_eq!(r.body, b"abc0123456789");
        assert_eq!(r.body_cut, None);
    }

    #[test]
    fn hostile_chunks_are_errors_not_panics() {
        let cut = |tail: &[u8]| {
            let mut data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            data.extend_from_slice(tail);
            answer(&data).expect("head").body_cut
        };
        let malformed = |m| Some(HttpError::Malformed(m));
        assert_eq!(
            cut(b"FFFFFFFFFFFFFFFFF\r\n"),
            malformed("chunk size overflows")
        );
        assert_eq!(
            cut(b"10000000000000000\r\n"),
            malformed("chunk size overflows")
        );
        assert_eq!(cut(b"\r\n"), malformed("bad chunk size"));
        assert_eq!(cut(b"-1\r\n"), malformed("bad chunk size"));
        assert_eq!(cut(b"0x10\r\n"), malformed("bad chunk size"));
        assert_eq!(cut(b"1 2\r\n"), malformed("bad chunk size"));
        assert_eq!(
            cut(b"2\r\nokX"),
            malformed("chunk data not followed by CRLF")
        );
        assert_eq!(
            cut(b"2\r\nok\rX"),
            malformed("chunk data not followed by CRLF")
        );
        let long_ext = [b"1;".as_slice(), &[b'x'; CHUNK_LINE_MAX]].concat();
        assert_eq!(cut(&long_ext), malformed("chunk size line too long"));
        assert_eq!(cut(b"5\r\nab"), Some(HttpError::Closed(Step::Body)));
        assert_eq!(cut(b"5"), Some(HttpError::Closed(Step::Body)));
        assert_eq!(cut(b""), Some(HttpError::Closed(Step::Body)));
        // Many leading zeros are still a small number.
        assert_eq!(cut(b"00000000000000000000002\r\nok\r\n0\r\n\r\n"), None);
        // A huge but valid size is read up to the cap, then it stops.
        let mut huge = b"7FFFFFFFFFFFFFFF\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_BODY + 10));
        assert_eq!(cut(&huge), Some(HttpError::TooLong));
    }

    #[test]
    fn bodies_stop_at_the_cap() {
        let big = vec![b'x'; MAX_BODY + 1];
        for head in [
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", big.len()),
            "HTTP/1.1 200 OK\r\n\r\n".to_string(),
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
                big.len()
            ),
        ] {
            let data = [head.as_bytes(), &big].concat();
            let r = answer_in(&data, 4096).expect("answer");
            assert_eq!(r.body.len(), MAX_BODY, "{head}");
            assert_eq!(r.body_cut, Some(HttpError::TooLong), "{head}");
        }
        // Exactly the cap, then the close: whole.
        let exact = [b"HTTP/1.1 200 OK\r\n\r\n".as_slice(), &big[1..]].concat();
        let r = answer_in(&exact, 4096).expect("answer");
        assert_eq!((r.body.len(), r.body_cut), (MAX_BODY, None));
    }

    #[test]
    fn interim_answers_are_skipped_up_to_a_bound() {
        let r = answer(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        )
        .expect("answer");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
        let endless = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_INTERIM + 1);
        assert_eq!(
            answer(&endless).err(),
            Some(HttpError::Malformed("too many interim (1xx) answers"))
        );
    }

    #[test]
    fn broken_heads_are_malformed_or_closed() {
        assert_eq!(answer(b"").err(), Some(HttpError::Closed(Step::Waiting)));
        assert_eq!(
            answer(b"HTTP/1.1 200 OK\r\nContent-").err(),
            Some(HttpError::Closed(Step::Waiting))
        );
        let garbage = Some(HttpError::Malformed("not an HTTP/1.x answer head"));
        assert_eq!(answer(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").err(), garbage);
        assert_eq!(answer(b"HTTP/1.1 2000 OK\r\n\r\n").err(), garbage);
        assert_eq!(
            answer(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n").err(),
            garbage
        );
        assert_eq!(answer(b"\x16\x03\x01\x00\x05hello").err(), garbage);
        let bad_length = Some(HttpError::Malformed("bad Content-Length"));
        for cl in ["-1", "1e3", "", "18446744073709551616", "2 2"] {
            let data = format!("HTTP/1.1 200 OK\r\nContent-Length: {cl}\r\n\r\nok");
            assert_eq!(answer(data.as_bytes()).err(), bad_length, "{cl:?}");
        }
        assert_eq!(
            answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok").err(),
            Some(HttpError::Malformed("conflicting Content-Length headers"))
        );
        let same = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok");
        assert_eq!(same.expect("same twice is fine").body, b"ok");
    }

    #[test]
    fn heads_are_capped() {
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', HEAD_MAX));
        assert_eq!(
            answer_in(&long, 4096).err(),
            Some(HttpError::Malformed("answer head over 16 KiB"))
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        let data = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert_eq!(
            answer(data.as_bytes()).err(),
            Some(HttpError::Malformed("more than 64 headers"))
        );
        // A head just under the cap is read.
        let fill = HEAD_MAX - 200;
        let data = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\nContent-Length: 2\r\n\r\nok",
            "a".repeat(fill)
        );
        assert_eq!(
            answer_in(data.as_bytes(), 1000).expect("answer").body,
            b"ok"
        );
    }

    #[test]
    fn read_errors_name_their_step() {
        let mut timed_out = Trickle {
            data: b"HTTP/1.1 200".to_vec(),
            at: 0,
            step: 100,
            then: Some(ErrorKind::TimedOut),
        };
        assert_eq!(
            read_response(&mut timed_out).err(),
            Some(HttpError::Timeout(Step::Waiting))
        );
    }

    fn connect_answer(data: &[u8]) -> Result<(), HttpError> {
        read_connect_answer(&mut Trickle {
            data: data.to_vec(),
            at: 0,
            step: usize::MAX,
            then: None,
        })
    }

    #[test]
    fn proxy_answers_to_connect() {
        assert_eq!(
            connect_answer(
                b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n"
            ),
            Ok(())
        );
        assert_eq!(
            connect_answer(b"HTTP/1.1 403 Access violation\r\nContent-Length: 5\r\n\r\nnope."),
            Err(HttpError::ProxyRefused {
                status: 403,
                reason: "Access violation".into()
            })
        );
        assert_eq!(
            connect_answer(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"),
            Err(HttpError::ProxyRefused {
                status: 407,
                reason: "Proxy Authentication Required".into()
            })
        );
        assert_eq!(
            connect_answer(b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03"),
            Err(HttpError::Malformed(
                "the proxy sent bytes after its CONNECT answer"
            ))
        );
        assert_eq!(connect_answer(b""), Err(HttpError::Closed(Step::Proxy)));
        assert_eq!(
            connect_answer(b"garbage\r\n\r\n"),
            Err(HttpError::Malformed("not an HTTP/1.x answer head"))
        );
    }

    proptest::proptest! {
        /// Any bytes, in any pieces: an answer or an error, never a panic,
        /// and never more than MAX_BODY of body.
        #[test]
        fn any_input_is_read_safely(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            step in 1usize..64,
        ) {
            let mut head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            head.extend_from_slice(&data);
            for input in [&data, &head] {
                if let Ok(r) = answer_in(input, step) {
                    proptest::prop_assert!(r.body.len() <= MAX_BODY);
                }
            }
            let _ = read_connect_answer(&mut Trickle { data: data.clone(), at: 0, step, then: None });
        }
    }
}
