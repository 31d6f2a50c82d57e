//! A small blocking HTTP/1.1 client: one request per connection, over
//! plain TCP or rustls, directly or through an HTTP proxy's CONNECT
//! tunnel, the whole exchange within one deadline.
//!
//! Why our own and not ureq: the binary must fit in 2 MiB and ureq with
//! its `http`, `ureq-proto`, `bytes`, `base64` and `percent-encoding`
//! crates was about 150 KiB of it, for features this product never uses
//! (connection pools, redirects, cookies, compression, streaming bodies).
//! What it needs is small: a fixed set of headers, bodies of a few KiB,
//! `Connection: close`, no redirects (a 3xx is an answer, never followed).
//! The protocol parts that are easy to get wrong are not ours: httparse
//! reads every answer head (the proxy's too) and rustls does TLS. What is
//! written here — the URL ([`url`]), the request head, body framing and
//! the chunked decoder ([`answer`]) — is specific, bounded and tested
//! against hostile input.
//!
//! The steps of a request and their bounds:
//!
//! | step | bounded by |
//! |---|---|
//! | resolving the name (a thread, so it can be abandoned), connecting (the addresses share the time), the proxy's CONNECT | the connect timeout (and the deadline) |
//! | TLS handshake, writing the request, reading the answer | the request's deadline ([`crate::deadline::DeadlineStream`]) |
//!
//! Messages ([`HttpError`]) never hold a URL: a webhook's path is its secret.

pub mod answer;
pub mod tls;
pub mod url;

pub use answer::{Headers, Response, MAX_BODY};
pub use url::{basic_auth, Url, UrlError};

use crate::deadline::DeadlineStream;
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Sent with every request.
pub const USER_AGENT: &str = concat!("mattermost-notify/", env!("CARGO_PKG_VERSION"));

/// Shortest share of the connect time one address gets when a name has
/// several.
const MIN_PER_ADDRESS: Duration = Duration::from_millis(10);

/// What was under way when a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Looking the host name up.
    Resolving,
    /// Opening the TCP connection.
    Connecting,
    /// Asking the proxy for a tunnel.
    Proxy,
    /// The TLS handshake.
    Handshake,
    /// Writing the request.
    Sending,
    /// Waiting for, or reading, the answer's head.
    Waiting,
    /// Reading the answer's body.
    Body,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Resolving => "while resolving the host name",
            Step::Connecting => "while connecting",
            Step::Proxy => "while opening the proxy tunnel",
            Step::Handshake => "during the TLS handshake",
            Step::Sending => "while sending the request",
            Step::Waiting => "while waiting for the answer",
            Step::Body => "while reading the answer body",
        })
    }
}

/// Why a request got no (whole) answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HttpError {
    /// The host name did not resolve (the resolver's words).
    Dns(String),
    /// Every address refused the connection: nothing listens there.
    Refused,
    /// No route to the host or its network.
    Unreachable,
    /// The time ran out.
    Timeout(Step),
    /// TLS failed: an untrusted certificate, a failed handshake, a bad
    /// record.
    Tls(rustls::Error),
    /// The proxy answered CONNECT with this status (and reason phrase).
    ProxyRefused {
        /// The proxy's status code.
        status: u16,
        /// Its reason phrase, control characters removed.
        reason: String,
    },
    /// The answer is not HTTP/1.x as this client reads it.
    Malformed(&'static str),
    /// The peer reset the connection.
    Reset(Step),
    /// The peer closed the connection early.
    Closed(Step),
    /// The body is longer than [`MAX_BODY`] (only in [`Response::body_cut`]).
    TooLong,
    /// A request header would break the request (a line break in it).
    BadHeader,
    /// Another I/O failure.
    Io(Step, String),
}

impl HttpError {
    /// An I/O error during `step`, classified.
    fn from_io(e: &io::Error, step: Step) -> HttpError {
        // rustls reports TLS failures as InvalidData with its own error inside.
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return HttpError::Tls(tls.clone());
        }
        match e.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => HttpError::Timeout(step),
            ErrorKind::ConnectionRefused => HttpError::Refused,
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => HttpError::Unreachable,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                HttpError::Reset(step)
            }
            ErrorKind::UnexpectedEof => HttpError::Closed(step),
            _ => HttpError::Io(step, e.to_string()),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Dns(why) => write!(f, "host not found (DNS: {why})"),
            HttpError::Refused => f.write_str("connection refused"),
            HttpError::Unreachable => f.write_str("host or network unreachable"),
            HttpError::Timeout(step) => write!(f, "timed out {step}"),
            HttpError::Tls(rustls::Error::InvalidCertificate(why)) => {
                write!(f, "TLS: the server's certificate is not trusted ({why:?})")
            }
            HttpError::Tls(e) => write!(f, "TLS: {e}"),
            HttpError::ProxyRefused { status, reason } => {
                write!(f, "proxy refused CONNECT: HTTP {status} {reason}")?;
                if *status == 407 {
                    f.write_str(" (the proxy wants a login: http://user:password@host:port)")?;
                }
                Ok(())
            }
            HttpError::Malformed(why) => write!(f, "malformed answer: {why}"),
            HttpError::Reset(step) => write!(f, "connection reset {step}"),
            HttpError::Closed(step) => write!(f, "connection closed {step}"),
            HttpError::TooLong => write!(f, "answer body over {} KiB", MAX_BODY / 1024),
            HttpError::BadHeader => f.write_str("a request header holds a line break"),
            HttpError::Io(step, why) => write!(f, "network error {step}: {why}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// One request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, `PUT`…
    pub method: &'a str,
    /// Where to.
    pub url: &'a Url,
    /// Headers besides `Host`, `User-Agent`, `Content-Length` and
    /// `Connection` (which are always set); an `Authorization` here wins
    /// over the URL's user info.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body (may be empty).
    pub body: &'a [u8],
    /// The whole exchange's time instead of the client's, when given.
    pub timeout: Option<Duration>,
}

impl<'a> Request<'a> {
    /// A `POST` of `body` with these headers, in the client's time.
    pub fn post(url: &'a Url, headers: &'a [(&'a str, &'a str)], body: &'a [u8]) -> Request<'a> {
        Request {
            method: "POST",
            url,
            headers,
            body,
            timeout: None,
        }
    }
}

/// A configured client: trust, proxy and timeouts. Cheap to share; every
/// request opens its own connection.
#[derive(Debug, Clone)]
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
    proxy: Option<Url>,
    connect_timeout: Duration,
    timeout: Duration,
}

impl Client {
    /// A client connecting directly, within `connect_timeout`, each
    /// request whole within `timeout`.
    pub fn new(
        tls: Arc<rustls::ClientConfig>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Client {
        Client {
            tls,
            proxy: None,
            connect_timeout,
            timeout,
        }
    }

    /// Connects through the HTTP proxy `proxy` (CONNECT, for `http://`
    /// targets too) instead.
    pub fn with_proxy(mut self, proxy: Option<Url>) -> Client {
        self.proxy = proxy;
        self
    }

    /// Sends `req` and reads the answer. Any status is an answer; `Err`
    /// only when there is none.
    pub fn send(&self, req: &Request<'_>) -> Result<Response, HttpError> {
        let start = Instant::now();
        let deadline = start
            .checked_add(req.timeout.unwrap_or(self.timeout))
            .unwrap_or(start);
        let connect_by = start
            .checked_add(self.connect_timeout)
            .unwrap_or(start)
            .min(deadline);
        let request = request_bytes(req)?;
        let first_hop = self.proxy.as_ref().unwrap_or(req.url);
        let sock = connect(first_hop.host(), first_hop.port(), connect_by)?;
        let mut sock = DeadlineStream::new(sock, connect_by);
        if let Some(proxy) = &self.proxy {
            open_tunnel(&mut sock, proxy, req.url)?;
        }
        sock.set_deadline(deadline);
        if !req.url.is_https() {
            return exchange(&mut sock, &request);
        }
        let name = rustls::pki_types::ServerName::try_from(req.url.host().to_string())
            .map_err(|_| HttpError::Tls(rustls::Error::General("invalid server name".into())))?;
        let conn =
            rustls::ClientConnection::new(Arc::clone(&self.tls), name).map_err(HttpError::Tls)?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        // Queued now, the request leaves with the handshake's last flight,
        // in the same write. rustls encrypts and sends it only once the
        // handshake is complete, the server's certificate verified.
        let queued = tls.conn.writer().write(&request).unwrap_or(0);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .map_err(|e| HttpError::from_io(&e, Step::Handshake))?;
        }
        exchange(&mut tls, request.get(queued..).unwrap_or_default())
    }
}

/// Read and write, for one code path over plain and TLS streams.
trait Wire: Read + Write {}
impl<T: Read + Write> Wire for T {}

/// Writes (the rest of) the request and reads the answer.
fn exchange(s: &mut dyn Wire, request: &[u8]) -> Result<Response, HttpError> {
    s.write_all(request)
        .and_then(|()| s.flush())
        .map_err(|e| HttpError::from_io(&e, Step::Sending))?;
    answer::read_response(s)
}

/// The whole request: head and body, to go out in one write.
fn request_bytes(req: &Request<'_>) -> Result<Vec<u8>, HttpError> {
    let mut request = request_head(req)?;
    request.extend_from_slice(req.body);
    Ok(request)
}

/// The request line and headers.
fn request_head(req: &Request<'_>) -> Result<Vec<u8>, HttpError> {
    let url = req.url;
    if req.method.is_empty() || !req.method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HttpError::BadHeader);
    }
    let mut head = Vec::with_capacity(256 + url.target().len() + req.body.len());
    for part in [req.method, " ", url.target(), " HTTP/1.1\r\n"] {
        head.extend_from_slice(part.as_bytes());
    }
    let mut line = |name: &str, value: &str| -> Result<(), HttpError> {
        let breaks = |b: u8| b == b'\r' || b == b'\n' || b == 0;
        if name.bytes().any(breaks) || value.bytes().any(breaks) {
            return Err(HttpError::BadHeader);
        }
        for part in [name, ": ", value, "\r\n"] {
            head.extend_from_slice(part.as_bytes());
        }
        Ok(())
    };
    line("Host", url.authority())?;
    line("User-Agent", USER_AGENT)?;
    let caller_auth = req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
    if let (Some(auth), false) = (url.basic_auth(), caller_auth) {
        line("Authorization", auth)?;
    }
    for (name, value) in req.headers {
        line(name, value)?;
    }
    if !req.body.is_empty() || !matches!(req.method, "GET" | "HEAD") {
        line("Content-Length", &req.body.len().to_string())?;
    }
    line("Connection", "close")?;
    head.extend_from_slice(b"\r\n");
    Ok(head)
}

/// A TCP connection to `host:port` by `by`: the name resolved, then its
/// addresses tried in the resolver's order, each given half of the time
/// left (the last all of it), as curl and ureq share it.
fn connect(host: &str, port: u16, by: Instant) -> Result<TcpStream, HttpError> {
    let addrs = resolve(host, port, by)?;
    let mut last = HttpError::Dns("no address".into());
    for (i, addr) in addrs.iter().enumerate() {
        let left = by.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpError::Timeout(Step::Connecting));
        }
        let share = if i + 1 == addrs.len() {
            left
        } else {
            (left / 2).max(MIN_PER_ADDRESS).min(left)
        };
        match TcpStream::connect_timeout(addr, share) {
            Ok(sock) => {
                // The request goes out in one write after the handshake;
                // Nagle would hold TLS's last flight back for an ACK.
                let _ = sock.set_nodelay(true);
                return Ok(sock);
            }
            Err(e) => last = HttpError::from_io(&e, Step::Connecting),
        }
    }
    Err(last)
}

/// The addresses of `host`. An IP address needs no lookup; a name is
/// looked up on a thread of its own, so a hanging resolver costs only
/// the time until `by`.
fn resolve(host: &str, port: u16, by: Instant) -> Result<Vec<SocketAddr>, HttpError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let found = (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>)
                .map_err(|e| e.to_string());
            let _ = tx.send(found);
        })
        .map_err(|e| HttpError::Io(Step::Resolving, e.to_string()))?;
    match rx.recv_timeout(by.saturating_duration_since(Instant::now())) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(HttpError::Dns("no address".into())),
        Ok(Err(why)) => Err(HttpError::Dns(why)),
        Err(_) => Err(HttpError::Timeout(Step::Resolving)),
    }
}

/// Asks the proxy on `sock` for a tunnel to `target`'s host and port.
fn open_tunnel(sock: &mut DeadlineStream, proxy: &Url, target: &Url) -> Result<(), HttpError> {
    let to = target.host_port();
    let mut head = format!("CONNECT {to} HTTP/1.1\r\nHost: {to}\r\nUser-Agent: {USER_AGENT}\r\n");
    if let Some(auth) = proxy.basic_auth() {
        head.push_str("Proxy-Authorization: ");
        head.push_str(auth);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    sock.write_all(head.as_bytes())
        .and_then(|()| sock.flush())
        .map_err(|e| HttpError::from_io(&e, Step::Proxy))?;
    answer::read_connect_answer(sock)
}

#[cfg(test)]
mod tests;
