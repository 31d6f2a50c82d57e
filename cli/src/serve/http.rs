//! The receiver's HTTP/1.1 server: a thread per connection up to a bound,
//! keep-alive, httparse for the request head, `Content-Length` bodies only.
//!
//! Everything a peer sends is hostile until the handler says otherwise, so
//! every wait has a timeout, every buffer a cap, and every malformed input
//! an answer (or a silent close) rather than a panic:
//!
//! | input | answer |
//! |---|---|
//! | head over [`MAX_HEAD_BYTES`] or [`MAX_HEADERS`] headers | 431, close |
//! | unparsable head | 400, close |
//! | `Transfer-Encoding` (chunked) | 411, close |
//! | POST without `Content-Length`, or a bad one | 411 / 400, close |
//! | body over [`CALLBACK_BODY_MAX`] | 413, close |
//! | head or body not complete within [`REQUEST_DEADLINE`] | 408, close |
//! | more than [`MAX_CONNECTIONS`] connections | 503 (plain HTTP) or close |

use super::handler::{Receiver, Response};
use crate::error::Error;
use mattermost_notify_core::limits::CALLBACK_BODY_MAX;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Connections served at once; more are answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 64;
/// Longest wait for one read (also how long an idle keep-alive connection
/// stays open).
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for one write.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time from a request's first read to its last body byte; stops
/// peers that trickle a byte at a time.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(15);
/// Largest request head (request line and headers).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most headers in a request.
pub const MAX_HEADERS: usize = 32;
/// How long a closing connection keeps reading (and dropping) input.
pub const LINGER: Duration = Duration::from_secs(1);
/// How much input a closing connection reads and drops at most.
pub const LINGER_MAX_BYTES: usize = 256 * 1024;

/// Binds `addr` and serves until the process ends.
pub fn serve(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    receiver: Arc<Receiver>,
) -> Result<(), Error> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| Error::Usage(format!("--listen {addr}: cannot listen: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Io(format!("--listen {addr}: {e}")))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Printed, not logged: scripts (and the tests) read the bound port here.
    eprintln!("mattermost-notify serve: listening on {scheme}://{local}");
    log::info!(
        "serve: answering POST {} via {}",
        receiver.ack_path,
        receiver.backend.describe()
    );
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                log::warn!("serve: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let slot = Slot::take(&active);
        let Some(slot) = slot else {
            reject_busy(stream, tls.is_some());
            continue;
        };
        let tls = tls.clone();
        let receiver = Arc::clone(&receiver);
        let spawned = std::thread::Builder::new()
            .name("serve-conn".into())
            .spawn(move || {
                let _slot = slot;
                serve_connection(stream, tls, &receiver);
            });
        if let Err(e) = spawned {
            log::warn!("serve: cannot start a connection thread: {e}");
        }
    }
    Ok(())
}

/// One of the [`MAX_CONNECTIONS`] slots, given back on drop.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Option<Slot> {
        let before = active.fetch_add(1, Ordering::SeqCst);
        if before >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            None
        } else {
            Some(Slot(Arc::clone(active)))
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn reject_busy(mut stream: TcpStream, tls: bool) {
    log::warn!(
        "serve: {MAX_CONNECTIONS} connections busy; refusing one from {}",
        peer_of(&stream)
    );
    if !tls {
        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
        let mut r = Response::text(503, "busy, try again");
        r.extra_header = Some(("Retry-After", "1"));
        let _ = write_response(&mut stream, &r, false);
    }
}

fn peer_of(stream: &TcpStream) -> String {
    stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "unknown peer".into())
}

fn serve_connection(
    stream: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    receiver: &Receiver,
) {
    let peer = peer_of(&stream);
    if stream.set_read_timeout(Some(READ_TIMEOUT)).is_err()
        || stream.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let _ = stream.set_nodelay(true);
    let stream = match tls {
        None => {
            let mut stream = stream;
            serve_requests(&mut stream, &peer, receiver);
            stream
        }
        Some(cfg) => {
            let conn = match rustls::ServerConnection::new(cfg) {
                Ok(c) => c,
                Err(e) => {
                    log::warn!("serve: {peer}: TLS setup failed: {e}");
                    return;
                }
            };
            let mut tls_stream = rustls::StreamOwned::new(conn, stream);
            serve_requests(&mut tls_stream, &peer, receiver);
            tls_stream.conn.send_close_notify();
            let _ = tls_stream.flush();
            tls_stream.sock
        }
    };
    linger_close(stream);
}

/// Closes without destroying the last answer: closing a socket with unread
/// input makes the kernel send a reset, which can overtake a refusal (413)
/// still on its way. So: stop writing, then read and drop what the peer is
/// still sending, for a bounded time and amount.
fn linger_close(mut stream: TcpStream) {
    if stream.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
    let _ = stream.set_read_timeout(Some(LINGER));
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 16 * 1024];
    let mut drained = 0usize;
    while drained < LINGER_MAX_BYTES && Instant::now() < deadline {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// What the handler needs from a request head, owned so the read buffer
/// can be reused.
struct Head {
    method: String,
    target: String,
    keep_alive: bool,
    content_length: usize,
    expect_continue: bool,
    len: usize,
}

/// Why a head cannot be served; answered, then the connection closes.
struct Refusal(u16, &'static str);

fn serve_requests<S: Read + Write>(s: &mut S, peer: &str, receiver: &Receiver) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let started = Instant::now();
        let head = match read_head(s, &mut buf, started) {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(Refusal(status, why)) => {
                log::info!("serve: {peer} refused: HTTP {status} {why}");
                let _ = write_response(s, &Response::text(status, why), false);
                return;
            }
        };
        if head.expect_continue && s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return;
        }
        let need = head.len + head.content_length;
        while buf.len() < need {
            if started.elapsed() > REQUEST_DEADLINE {
                let _ = write_response(s, &Response::text(408, "request too slow"), false);
                return;
            }
            match read_more(s, &mut buf, need) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {
                    let _ = write_response(s, &Response::text(408, "request too slow"), false);
                    return;
                }
                Err(_) => return,
            }
        }
        let body = buf.get(head.len..need).unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (response, outcome) = receiver.handle(&head.method, &head.target, body, now);
        // Debug formatting escapes anything odd a peer put in these.
        log::info!(
            "serve: {peer} {} {:?} -> {} user={:?} target={:?}: {}",
            head.method,
            clip(&head.target),
            response.status,
            outcome.who,
            outcome.what,
            outcome.result
        );
        if write_response(s, &response, head.keep_alive).is_err() || !head.keep_alive {
            return;
        }
        buf.drain(..need);
    }
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(120) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// Reads until a complete head is in `buf`. `Ok(None)`: the peer closed or
/// went idle between requests (no answer owed).
fn read_head<S: Read>(
    s: &mut S,
    buf: &mut Vec<u8>,
    started: Instant,
) -> Result<Option<Head>, Refusal> {
    loop {
        if !buf.is_empty() {
            if let Some(head) = parse_head(buf)? {
                return Ok(Some(head));
            }
        }
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(Refusal(431, "request head too large"));
        }
        if started.elapsed() > REQUEST_DEADLINE {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(Refusal(408, "request too slow"))
            };
        }
        match read_more(s, buf, MAX_HEAD_BYTES) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) if is_timeout(&e) && !buf.is_empty() => {
                return Err(Refusal(408, "request too slow"))
            }
            Err(_) => return Ok(None),
        }
    }
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Refusal(431, "too many request headers"))
        }
        Err(_) => return Err(Refusal(400, "malformed HTTP request")),
    };
    let method = req.method.unwrap_or("").to_string();
    let target = req.path.unwrap_or("").to_string();
    let version = req.version.unwrap_or(0);
    let mut content_length: Option<usize> = None;
    let mut connection_close = version == 0;
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = parse_length(value).ok_or(Refusal(400, "bad Content-Length"))?;
            if content_length.is_some_and(|m| m != n) {
                return Err(Refusal(400, "conflicting Content-Length headers"));
            }
            content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Refusal(
                411,
                "Transfer-Encoding is not accepted; send a Content-Length",
            ));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    connection_close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    connection_close = false;
                }
            }
        } else if h.name.eq_ignore_ascii_case("expect") {
            if !value.eq_ignore_ascii_case("100-continue") {
                return Err(Refusal(417, "unsupported Expect"));
            }
            expect_continue = true;
        }
    }
    let content_length = match (content_length, method.as_str()) {
        (Some(n), _) if n > CALLBACK_BODY_MAX => {
            return Err(Refusal(413, "body larger than 64 KiB"))
        }
        (Some(n), _) => n,
        (None, "POST") => return Err(Refusal(411, "Content-Length required")),
        (None, _) => 0,
    };
    Ok(Some(Head {
        method,
        target,
        keep_alive: !connection_close,
        content_length,
        expect_continue,
        len,
    }))
}

/// Strict decimal; at most 19 digits so it fits any usize we care about.
fn parse_length(v: &str) -> Option<usize> {
    if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// One read, appending to `buf` without growing it past `limit`.
fn read_more<S: Read>(s: &mut S, buf: &mut Vec<u8>, limit: usize) -> std::io::Result<usize> {
    let room = limit.saturating_sub(buf.len()).min(16 * 1024);
    if room == 0 {
        return Ok(0);
    }
    let mut chunk = [0u8; 16 * 1024];
    let dst = chunk.get_mut(..room).unwrap_or_default();
    loop {
        match s.read(dst) {
            Ok(n) => {
                buf.extend_from_slice(dst.get(..n).unwrap_or_default());
                return Ok(n);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn write_response<S: Write>(s: &mut S, r: &Response, keep_alive: bool) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n\
         Cache-Control: no-store\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    )
    .into_bytes();
    if let Some((name, value)) = r.extra_header {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&r.body);
    s.write_all(&out)?;
    s.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Result<Option<Head>, u16> {
        parse_head(raw.as_bytes()).map_err(|r| r.0)
    }

    #[test]
    fn heads_parse_and_refuse_as_documented() {
        let h = head("POST /ack HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert_eq!((h.method.as_str(), h.target.as_str()), ("POST", "/ack"));
        assert_eq!(h.content_length, 5);
        assert!(h.keep_alive);
        let h = head("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive);
        assert!(head("POST /ack HTTP/1.1\r\nContent-Le").unwrap().is_none());
        assert_eq!(
            head("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").err(),
            Some(411)
        );
        assert_eq!(head("POST /a HTTP/1.1\r\n\r\n").err(), Some(411));
        assert_eq!(
            head("POST /a HTTP/1.1\r\nContent-Length: 65537\r\n\r\n").err(),
            Some(413)
        );
        assert_eq!(
            head("POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n").err(),
            Some(400)
        );
        assert_eq!(
            head("POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").err(),
            Some(400)
        );
        assert_eq!(head("\u{1}\u{2} nonsense\r\n\r\n").err(), Some(400));
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(
            head(&format!("GET / HTTP/1.1\r\n{many}\r\n")).err(),
            Some(431)
        );
    }
}
