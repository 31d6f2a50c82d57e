//! The receiver's HTTP/1.1 server: a thread per connection up to a bound,
//! keep-alive, httparse for the request head, `Content-Length` bodies only.
//!
//! Everything a peer sends is hostile until the handler says otherwise, so
//! every wait has a deadline, every buffer a cap, and every malformed input
//! an answer (or a silent close) rather than a panic:
//!
//! | input | answer |
//! |---|---|
//! | head over [`MAX_HEAD_BYTES`] or [`MAX_HEADERS`] headers | 431, close |
//! | unparsable head | 400, close |
//! | `Transfer-Encoding` (chunked) | 411, close |
//! | POST without `Content-Length`, or a bad one | 411 / 400, close |
//! | body over [`CALLBACK_BODY_MAX`] | 413, close |
//! | TLS handshake, head and body not complete within [`REQUEST_DEADLINE`] | 408 (plain HTTP, once a byte came) or close |
//! | no request within [`IDLE_TIMEOUT`] of the last answer | close |
//! | the [`MAX_REQUESTS_PER_CONNECTION`]th request, or one after [`MAX_CONNECTION_LIFETIME`] | answered with `Connection: close` |
//! | a new connection while [`MAX_CONNECTIONS`] are open | the longest-idle one is closed to make room; 503 (plain HTTP) or close if none is idle |
//! | a request while [`MAX_BUSY_PER_ADDRESS`] from the same address are in flight | 503 (plain HTTP) or close |
//!
//! [`deadline`](super::deadline) enforces the deadlines on the socket,
//! [`conns`](super::conns) keeps the connection registry.

use super::conns::{Refused, Registry};
use super::deadline::PhasedStream;
use super::handler::{Receiver, Response};
use crate::error::Error;
use mattermost_notify_core::limits::CALLBACK_BODY_MAX;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Connections open at once. When all are taken, the one idle the longest
/// is closed for a newcomer; only when every one is mid-request is a new
/// connection refused (503 on plain HTTP). Each costs a thread and about
/// 30 KiB of buffers.
pub const MAX_CONNECTIONS: usize = 64;
/// Connections of one client address (an IPv4 address or an IPv6 /64) that
/// may be mid-request at once; more requests from it get 503 (plain HTTP)
/// or a close. A quarter of [`MAX_CONNECTIONS`], so one address trickling
/// requests leaves three quarters of the slots to everyone else. Mattermost
/// calls from one address (so does a reverse proxy in front of `serve`),
/// but a request is in flight only for the milliseconds it takes to arrive
/// and be handled; 16 at once is more clicks than people make. Its idle
/// keep-alive connections are not counted: they give way to new ones.
pub const MAX_BUSY_PER_ADDRESS: usize = 16;
/// Longest time from a request's first byte (for a new connection: from
/// the accept, so the TLS handshake is included) to its last body byte, in
/// total however the bytes trickle in. A callback is one small request
/// sent at once; this leaves room for a slow link. With the handler's own
/// bounds (openITCOCKPIT API 10 s) and [`WRITE_TIMEOUT`] an answer stays
/// within Mattermost's 30 s.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// Longest time to write one answer, in total.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a keep-alive connection waits for the next request's first
/// byte. Long enough for Mattermost to reuse a connection within a burst
/// of clicks; idle connections also give way to new ones when slots run
/// out, so this does not decide whether a click gets in.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests served on one connection; the last is answered with
/// `Connection: close` (Apache's default), so no client keeps a slot
/// forever by asking constantly.
pub const MAX_REQUESTS_PER_CONNECTION: u32 = 100;
/// Age after which a connection takes no new request: the one in flight is
/// answered with `Connection: close`, an idle one is closed.
pub const MAX_CONNECTION_LIFETIME: Duration = Duration::from_secs(5 * 60);
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
    let registry = Arc::new(Registry::default());
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
        let accepted = Instant::now();
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let Ok(hangup) = stream.try_clone() else {
            reject(stream, tls.is_some(), Refused::Full);
            continue;
        };
        let ticket = match registry.admit(peer.ip(), hangup, accepted) {
            Ok((ticket, evicted)) => {
                if let Some(from) = evicted {
                    log::info!(
                        "serve: {MAX_CONNECTIONS} connections open; closed the longest-idle \
                         one (from {from}) for one from {peer}"
                    );
                }
                ticket
            }
            Err(why) => {
                reject(stream, tls.is_some(), why);
                continue;
            }
        };
        let stream = PhasedStream::new(stream, ticket, accepted);
        let tls = tls.clone();
        let receiver = Arc::clone(&receiver);
        let spawned = std::thread::Builder::new()
            .name("serve-conn".into())
            .spawn(move || serve_connection(stream, peer, accepted, tls, &receiver));
        if let Err(e) = spawned {
            log::warn!("serve: cannot start a connection thread: {e}");
        }
    }
    Ok(())
}

/// Refuses a connection the registry has no room for.
fn reject(mut stream: TcpStream, tls: bool, why: Refused) {
    log::warn!(
        "serve: refusing a connection from {}: {why}",
        peer_of(&stream)
    );
    if !tls {
        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
        let _ = write_response(&mut stream, &busy_response(), false);
    }
}

fn busy_response() -> Response {
    let mut r = Response::text(503, "busy, try again");
    r.extra_header = Some(("Retry-After", "1"));
    r
}

fn peer_of(stream: &TcpStream) -> String {
    stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "unknown peer".into())
}

/// A connection's stream, plain or TLS, with its deadline clock reachable.
trait Conn: Read + Write {
    fn clock(&mut self) -> &mut PhasedStream;
}

impl Conn for PhasedStream {
    fn clock(&mut self) -> &mut PhasedStream {
        self
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, PhasedStream> {
    fn clock(&mut self) -> &mut PhasedStream {
        &mut self.sock
    }
}

fn serve_connection(
    mut stream: PhasedStream,
    peer: SocketAddr,
    accepted: Instant,
    tls: Option<Arc<rustls::ServerConfig>>,
    receiver: &Receiver,
) {
    let peer = peer.to_string();
    let stream = match tls {
        None => {
            serve_requests(&mut stream, &peer, accepted, receiver);
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
            serve_requests(&mut tls_stream, &peer, accepted, receiver);
            if tls_stream.conn.is_handshaking() {
                log::info!("serve: {peer}: closed before the TLS handshake completed");
            } else {
                tls_stream.sock.begin_answer();
                tls_stream.conn.send_close_notify();
                let _ = tls_stream.flush();
            }
            tls_stream.sock
        }
    };
    linger_close(stream.into_inner());
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

/// Until when a connection that has served `served` requests, the last one
/// asking for keep-alive or not, waits for another; `None`: close it.
fn keep_open_until(
    keep_alive: bool,
    served: u32,
    accepted: Instant,
    now: Instant,
) -> Option<Instant> {
    if !keep_alive || served >= MAX_REQUESTS_PER_CONNECTION {
        return None;
    }
    let end_of_life = accepted.checked_add(MAX_CONNECTION_LIFETIME)?;
    let idle_end = now.checked_add(IDLE_TIMEOUT)?;
    let until = idle_end.min(end_of_life);
    (until > now).then_some(until)
}

/// Writes `response` within [`WRITE_TIMEOUT`]; whether it all went out.
fn answer<S: Conn>(s: &mut S, response: &Response, keep_alive: bool) -> bool {
    s.clock().begin_answer();
    write_response(s, response, keep_alive).is_ok()
}

/// A refusal by the registry (evicted, or the address at its cap) shows as
/// a read error; this answers 503 when the refusal owes one.
fn answer_registry_refusal<S: Conn>(s: &mut S, peer: &str) {
    match s.clock().refused() {
        None | Some(Refused::Evicted) => {}
        Some(why) => {
            log::warn!("serve: {peer} refused: HTTP 503 {why}");
            let _ = answer(s, &busy_response(), false);
        }
    }
}

fn serve_requests<S: Conn>(s: &mut S, peer: &str, accepted: Instant, receiver: &Receiver) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut served: u32 = 0;
    loop {
        let head = match read_head(s, &mut buf) {
            Ok(Some(h)) => h,
            Ok(None) => {
                answer_registry_refusal(s, peer);
                return;
            }
            Err(Refusal(status, why)) => {
                log::info!("serve: {peer} refused: HTTP {status} {why}");
                let _ = answer(s, &Response::text(status, why), false);
                return;
            }
        };
        if s.clock().begin_request().is_err() {
            answer_registry_refusal(s, peer);
            return;
        }
        if head.expect_continue && s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return;
        }
        let need = head.len.saturating_add(head.content_length);
        while buf.len() < need {
            match read_more(s, &mut buf, need) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {
                    log::info!("serve: {peer} refused: HTTP 408 body not complete in time");
                    let _ = answer(s, &Response::text(408, "request too slow"), false);
                    return;
                }
                Err(_) => {
                    answer_registry_refusal(s, peer);
                    return;
                }
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
        served = served.saturating_add(1);
        let until = keep_open_until(head.keep_alive, served, accepted, Instant::now());
        if until.is_none() {
            s.clock().last_answer();
        }
        if !answer(s, &response, until.is_some()) {
            return;
        }
        let Some(until) = until else {
            return;
        };
        buf.drain(..need.min(buf.len()));
        s.clock().await_next_request(until);
    }
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(120) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// Reads until a complete head is in `buf`. `Ok(None)`: the peer closed,
/// went idle between requests, never finished its TLS handshake, or the
/// registry refused the request (no HTTP answer owed, or the caller owes
/// a 503).
fn read_head<S: Read>(s: &mut S, buf: &mut Vec<u8>) -> Result<Option<Head>, Refusal> {
    loop {
        if !buf.is_empty() {
            if let Some(head) = parse_head(buf)? {
                return Ok(Some(head));
            }
        }
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(Refusal(431, "request head too large"));
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

    #[test]
    fn keep_alive_ends_at_the_request_cap_the_lifetime_or_on_request() {
        let born = Instant::now();
        let now = born + Duration::from_secs(1);
        assert_eq!(
            keep_open_until(true, 1, born, now),
            Some(now + IDLE_TIMEOUT)
        );
        assert_eq!(keep_open_until(false, 1, born, now), None);
        assert!(keep_open_until(true, MAX_REQUESTS_PER_CONNECTION - 1, born, now).is_some());
        assert_eq!(
            keep_open_until(true, MAX_REQUESTS_PER_CONNECTION, born, now),
            None
        );
        // Near the end of its life a connection waits only until then.
        let late = born + MAX_CONNECTION_LIFETIME - Duration::from_secs(2);
        assert_eq!(
            keep_open_until(true, 5, born, late),
            Some(born + MAX_CONNECTION_LIFETIME)
        );
        let old = born + MAX_CONNECTION_LIFETIME;
        assert_eq!(keep_open_until(true, 5, born, old), None);
        assert_eq!(
            keep_open_until(true, 5, born, old + Duration::from_secs(60)),
            None
        );
    }
}
