//! `MattermostStandIn`: a loopback stand-in for a Mattermost server's
//! incoming-webhook endpoint (DESIGN §3), over HTTPS (rustls, ring) or plain
//! HTTP, with a thread per connection.
//!
//! It records every request (method, path, headers, body) and answers as
//! Mattermost does: `200 text/plain ok` for a valid post, 400 with
//! Mattermost's error JSON for an invalid one. What it answers can be
//! scripted per request — a queue of [`Behaviour`]s, then a default — and
//! includes the faults a real network has: a connection closed at once, a
//! silent peer, a reset in the middle of a response, a slow trickle. On the
//! default path it can also rate-limit (token bucket, 429 as Mattermost
//! sends it) and fail a share of requests with 500.
//!
//! It also answers `POST /api/v4/actions/dialogs/open` (DESIGN §10), always,
//! whatever the script: a trigger id the test got from
//! [`MattermostStandIn::issue_trigger_id`] (as Mattermost puts one in each
//! click) opens one dialog, once, within [`TRIGGER_TTL`] (Mattermost's 3
//! seconds); an unknown, reused or stale trigger id and a dialog Mattermost
//! would refuse (no url, no callback id, a title over 24 characters, a
//! textarea over 3000) get 400 with Mattermost's error JSON. Opened dialogs
//! are kept for the test ([`MattermostStandIn::dialogs`]).
//!
//! Validation is a little stricter than the real server in one respect: a
//! `Content-Type` other than `application/json` is a 400 parse error (the
//! real server would try to read a form), so a client that forgets the
//! header is caught.

use super::{TestPki, HOOK_ID};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the stand-in answers one request (or, for the first two, one
/// connection).
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Validate like Mattermost: a valid post gets `200 text/plain ok`, an
    /// invalid one 400 with Mattermost's error JSON.
    Ok,
    /// 400 with this Mattermost error id and message.
    BadRequest {
        /// Mattermost's error id, e.g. `web.incoming_webhook.invalid.app_error`.
        id: String,
        /// Its message.
        message: String,
    },
    /// 403 with this Mattermost error id and message.
    Forbidden {
        /// Mattermost's error id.
        id: String,
        /// Its message.
        message: String,
    },
    /// 500 with Mattermost error JSON.
    ServerError,
    /// 429, body `limit exceeded`, `Retry-After` and `X-RateLimit-*` headers.
    RateLimited {
        /// The `Retry-After` and `X-RateLimit-Reset` value in seconds.
        retry_after_secs: u64,
    },
    /// Any answer, headers as given: what a proxy, a login portal or a
    /// server other than Mattermost sends (a 200 HTML page, a `Retry-After`
    /// written as an HTTP-date or as garbage).
    Answer {
        /// HTTP status code.
        status: u16,
        /// `Content-Type` of the body.
        content_type: String,
        /// Further headers, in order.
        headers: Vec<(String, String)>,
        /// Response body.
        body: String,
    },
    /// Any status with a `text/plain` body.
    Status {
        /// HTTP status code.
        status: u16,
        /// Response body.
        body: String,
    },
    /// Connection level: close right after accepting, before TLS or reading.
    CloseImmediately,
    /// Connection level: accept, then never read or write (until the
    /// stand-in is dropped).
    AcceptSilent,
    /// Read the whole request, then never answer.
    HangAfterRequest,
    /// Read the request, send the start of a 200 answer, then reset the
    /// connection (SO_LINGER 0).
    ResetMidResponse,
    /// Answer `200 ok`, writing one byte per interval.
    Trickle(Duration),
}

impl Behaviour {
    /// 403 as sent by a hook locked to its channel when the post overrides it.
    pub fn channel_locked() -> Behaviour {
        Behaviour::Forbidden {
            id: "web.incoming_webhook.channel_locked.app_error".into(),
            message: "This webhook is not permitted to post to the requested channel".into(),
        }
    }

    /// 400 as sent for a deleted or unknown hook id.
    pub fn invalid_hook() -> Behaviour {
        Behaviour::BadRequest {
            id: "web.incoming_webhook.invalid.app_error".into(),
            message: "Invalid webhook".into(),
        }
    }

    fn is_connection_level(&self) -> bool {
        matches!(self, Behaviour::CloseImmediately | Behaviour::AcceptSilent)
    }
}

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`, ...
    pub method: String,
    /// Request target, e.g. `/hooks/<id>`.
    pub path: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The status the stand-in answered (0 when it never answered).
    pub answered: u16,
    /// When the whole request had been read: evidence for waits (a retry
    /// after a 429) that does not depend on the test's own timing.
    pub received: Instant,
}

impl Recorded {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

#[derive(Debug)]
struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// Takes a token, or returns the whole seconds until one is there.
    fn take(&mut self) -> Result<(), u64> {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

/// How long an issued trigger id opens a dialog: Mattermost's
/// `InteractiveDialogTriggerTimeoutMilliseconds` default.
pub const TRIGGER_TTL: Duration = Duration::from_secs(3);

/// The dialog-open path.
pub const DIALOG_OPEN_PATH: &str = "/api/v4/actions/dialogs/open";

#[derive(Debug)]
struct Trigger {
    id: String,
    issued: Instant,
    used: bool,
}

#[derive(Debug)]
struct State {
    triggers: Vec<Trigger>,
    trigger_ttl: Duration,
    dialogs: Vec<serde_json::Value>,
    queue: VecDeque<Behaviour>,
    default: Behaviour,
    rate: Option<TokenBucket>,
    failure_share: f64,
    default_path_count: u64,
    requests: Vec<Recorded>,
    connections: usize,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks until the stand-in is dropped (at most two minutes).
    fn hold(&self) {
        let until = Instant::now() + Duration::from_secs(120);
        while !self.stop.load(Ordering::Relaxed) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What to do at accept time: a connection-level fault, if next.
    fn connection_behaviour(&self) -> Option<Behaviour> {
        let mut st = self.lock();
        st.connections += 1;
        self.changed.notify_all();
        match st.queue.front() {
            Some(b) if b.is_connection_level() => st.queue.pop_front(),
            Some(_) => None,
            None if st.default.is_connection_level() => Some(st.default.clone()),
            None => None,
        }
    }

    /// What to answer to the next request.
    fn request_behaviour(&self) -> Behaviour {
        let mut st = self.lock();
        if let Some(b) = st.queue.pop_front() {
            return b;
        }
        if let Some(bucket) = st.rate.as_mut() {
            if let Err(secs) = bucket.take() {
                return Behaviour::RateLimited {
                    retry_after_secs: secs,
                };
            }
        }
        st.default_path_count += 1;
        let n = st.default_path_count as f64;
        let share = st.failure_share;
        if share > 0.0 && (n * share).floor() > ((n - 1.0) * share).floor() {
            return Behaviour::ServerError;
        }
        st.default.clone()
    }

    fn record(&self, r: Recorded) {
        self.lock().requests.push(r);
        self.changed.notify_all();
    }
}

/// The stand-in server; stops when dropped.
#[derive(Debug)]
pub struct MattermostStandIn {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl MattermostStandIn {
    /// An HTTPS stand-in serving `pki`'s leaf certificate.
    pub fn https(pki: &TestPki) -> MattermostStandIn {
        Self::start(Some(pki.server_config()))
    }

    /// A plain-HTTP stand-in.
    pub fn http() -> MattermostStandIn {
        Self::start(None)
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> MattermostStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                triggers: Vec::new(),
                trigger_ttl: TRIGGER_TTL,
                dialogs: Vec::new(),
                queue: VecDeque::new(),
                default: Behaviour::Ok,
                rate: None,
                failure_share: 0.0,
                default_path_count: 0,
                requests: Vec::new(),
                connections: 0,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let is_tls = tls.is_some();
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if accept_shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(tcp) = conn else { continue };
                let shared = Arc::clone(&accept_shared);
                let tls = tls.clone();
                std::thread::spawn(move || serve_connection(&shared, tcp, tls));
            }
        });
        MattermostStandIn {
            addr,
            tls: is_tls,
            shared,
            accept: Some(accept),
        }
    }

    /// The bound address (127.0.0.1, an ephemeral port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The webhook URL: `https://127.0.0.1:<port>/hooks/<HOOK_ID>`.
    pub fn url(&self) -> String {
        self.url_with_host("127.0.0.1")
    }

    /// The webhook URL with another host name for the same address, e.g.
    /// `localhost` (the leaf certificate covers it).
    pub fn url_with_host(&self, host: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}/hooks/{HOOK_ID}", self.port())
    }

    /// Appends behaviours for the next requests (or connections).
    pub fn script(&self, behaviours: impl IntoIterator<Item = Behaviour>) -> &Self {
        self.shared.lock().queue.extend(behaviours);
        self
    }

    /// What to do once the script is used up (initially [`Behaviour::Ok`]).
    pub fn set_default(&self, behaviour: Behaviour) -> &Self {
        self.shared.lock().default = behaviour;
        self
    }

    /// Rate-limits the default path like Mattermost: `per_second` tokens a
    /// second, at most `burst` saved up; without a token the answer is 429.
    pub fn rate_limit(&self, per_second: f64, burst: f64) -> &Self {
        self.shared.lock().rate = Some(TokenBucket {
            per_second,
            burst,
            tokens: burst,
            last: Instant::now(),
        });
        self
    }

    /// Answers this share (0.0..=1.0) of default-path requests with 500,
    /// spread evenly and deterministically (0.25: every 4th request).
    pub fn failure_share(&self, share: f64) -> &Self {
        self.shared.lock().failure_share = share.clamp(0.0, 1.0);
        self
    }

    /// A fresh trigger id, as Mattermost puts one into every click's
    /// callback: it opens one dialog within [`TRIGGER_TTL`].
    pub fn issue_trigger_id(&self) -> String {
        use std::sync::atomic::AtomicUsize;
        static N: AtomicUsize = AtomicUsize::new(0);
        let id = format!(
            "standintrigger{:012}{}",
            N.fetch_add(1, Ordering::Relaxed),
            std::process::id()
        );
        self.shared.lock().triggers.push(Trigger {
            id: id.clone(),
            issued: Instant::now(),
            used: false,
        });
        id
    }

    /// Shortens (or lengthens) how long trigger ids stay valid.
    pub fn set_trigger_ttl(&self, ttl: Duration) -> &Self {
        self.shared.lock().trigger_ttl = ttl;
        self
    }

    /// Every dialog opened so far (the request bodies).
    pub fn dialogs(&self) -> Vec<serde_json::Value> {
        self.shared.lock().dialogs.clone()
    }

    /// The server's base URL (`MATTERMOST_URL`): `https://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port())
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Waits until at least `n` requests arrived or `timeout` passed;
    /// returns those received.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let until = Instant::now() + timeout;
        let mut st = self.shared.lock();
        while st.requests.len() < n {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        st.requests.clone()
    }
}

impl Drop for MattermostStandIn {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

fn serve_connection(shared: &Shared, tcp: TcpStream, tls: Option<Arc<rustls::ServerConfig>>) {
    if shared.stop.load(Ordering::Relaxed) {
        return;
    }
    match shared.connection_behaviour() {
        Some(Behaviour::CloseImmediately) => return,
        Some(_) => {
            shared.hold();
            return;
        }
        None => {}
    }
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = tcp.set_nodelay(true);
    let mut stream = match tls {
        Some(cfg) => match rustls::ServerConnection::new(cfg) {
            Ok(conn) => Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))),
            Err(_) => return,
        },
        None => Stream::Plain(tcp),
    };
    let mut buf = Vec::new();
    loop {
        let Some(mut req) = read_request(&mut stream, &mut buf) else {
            return;
        };
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if req.path.split('?').next() == Some(DIALOG_OPEN_PATH) && req.method == "POST" {
            let (status, body) = open_dialog(shared, &req);
            req.answered = status;
            shared.record(req.clone());
            let bytes = response(status, "application/json", &[], &body);
            if stream
                .write_all(&bytes)
                .and_then(|()| stream.flush())
                .is_err()
                || close
            {
                return;
            }
            continue;
        }
        let behaviour = shared.request_behaviour();
        // `answer` records the request before the client can see an answer,
        // so a test that saw the client finish also sees the record.
        let keep_going = answer(shared, &mut stream, &mut req, behaviour);
        if !keep_going || close {
            return;
        }
    }
}

/// Reads one request; `None` at EOF, on errors, or on garbage.
fn read_request(stream: &mut Stream, buf: &mut Vec<u8>) -> Option<Recorded> {
    let mut chunk = [0u8; 8192];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = parsed.method.unwrap_or("").to_string();
                let path = parsed.path.unwrap_or("").to_string();
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let body_len = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                while buf.len() < head_len + body_len {
                    let n = stream.read(&mut chunk).ok()?;
                    if n == 0 {
                        return None;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = buf[head_len..head_len + body_len].to_vec();
                buf.drain(..head_len + body_len);
                return Some(Recorded {
                    method,
                    path,
                    headers,
                    body,
                    answered: 0,
                    received: Instant::now(),
                });
            }
            Ok(httparse::Status::Partial) => {
                let n = stream.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(_) => return None,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn response(status: u16, content_type: &str, extra: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        reason(status),
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

fn error_json(status: u16, id: &str, message: &str) -> Vec<u8> {
    let v = serde_json::json!({
        "id": id,
        "message": message,
        "detailed_error": "",
        "request_id": "standin0request0id000000000",
        "status_code": status,
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// `POST /api/v4/actions/dialogs/open` as Mattermost answers it.
fn open_dialog(shared: &Shared, req: &Recorded) -> (u16, Vec<u8>) {
    let bad = |id: &str, message: &str| (400, error_json(400, id, message));
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
        return bad(
            "api.context.invalid_body_param.app_error",
            "Invalid or missing dialog in request body.",
        );
    };
    let trigger = v["trigger_id"].as_str().unwrap_or("");
    let url = v["url"].as_str().unwrap_or("");
    let dialog = &v["dialog"];
    let title_len = dialog["title"]
        .as_str()
        .map(|t| t.chars().count())
        .unwrap_or(0);
    let elements = dialog["elements"].as_array().cloned().unwrap_or_default();
    let element_ok = |e: &serde_json::Value| {
        let kind = e["type"].as_str().unwrap_or("");
        let named = e["name"].as_str().is_some_and(|n| !n.is_empty())
            && e["display_name"].as_str().is_some_and(|n| !n.is_empty());
        let max = e["max_length"].as_u64().unwrap_or(0);
        named
            && match kind {
                "text" => max <= 150,
                "textarea" => max <= 3000,
                "select" | "radio" => e["options"].as_array().is_some_and(|o| !o.is_empty()),
                "bool" => true,
                _ => false,
            }
    };
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || dialog["callback_id"].as_str().is_none_or(str::is_empty)
        || title_len == 0
        || title_len > 24
        || elements.is_empty()
        || !elements.iter().all(element_ok)
        || !dialog["state"].is_string()
    {
        return bad(
            "interactive_dialog.generic_field.invalid",
            "Invalid dialog: url, callback_id, title (at most 24 characters) and valid elements are required.",
        );
    }
    let mut st = shared.lock();
    let ttl = st.trigger_ttl;
    let Some(t) = st.triggers.iter_mut().find(|t| t.id == trigger) else {
        return bad(
            "interactive_message.decode_trigger_id.verify_signature_failed",
            "Failed to verify signature of trigger ID for interactive dialog.",
        );
    };
    if t.used || t.issued.elapsed() > ttl {
        return bad(
            "interactive_message.decode_trigger_id.expired",
            "Trigger ID for interactive dialog is expired. Trigger IDs live for a maximum of 3s.",
        );
    }
    t.used = true;
    st.dialogs.push(v);
    (200, br#"{"status":"OK"}"#.to_vec())
}

/// Mattermost's checks of an incoming-webhook post; `Err((id, message))`.
fn validate(req: &Recorded) -> Result<(), (&'static str, &'static str)> {
    const PARSE: (&str, &str) = (
        "web.incoming_webhook.parse.app_error",
        "Unable to parse incoming data",
    );
    const NO_TEXT: (&str, &str) = ("web.incoming_webhook.text.app_error", "No text specified");
    let json_type = req.header("content-type").is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json_type {
        return Err(PARSE);
    }
    // serde_json, like Go's decoder, rejects raw control characters in strings.
    let v: serde_json::Value = serde_json::from_slice(&req.body).map_err(|_| PARSE)?;
    let obj = v.as_object().ok_or(PARSE)?;
    let has_text = obj
        .get("text")
        .and_then(|t| t.as_str())
        .is_some_and(|t| !t.is_empty());
    let has_attachments = obj
        .get("attachments")
        .and_then(|a| a.as_array())
        .is_some_and(|a| !a.is_empty());
    if !has_text && !has_attachments {
        return Err(NO_TEXT);
    }
    if let Some(p) = obj.get("priority") {
        // (The id is the stand-in's own; the real server rejects it too.)
        if p.get("priority").is_none() {
            return Err((
                "web.incoming_webhook.priority.app_error",
                "Invalid priority",
            ));
        }
    }
    Ok(())
}

/// Answers `req` as `behaviour` says; returns whether the connection may
/// carry another request.
fn answer(shared: &Shared, stream: &mut Stream, req: &mut Recorded, behaviour: Behaviour) -> bool {
    let (status, bytes) = match behaviour {
        Behaviour::Ok => match validate(req) {
            Ok(()) => (200, response(200, "text/plain", &[], b"ok")),
            Err((id, message)) => (
                400,
                response(400, "application/json", &[], &error_json(400, id, message)),
            ),
        },
        Behaviour::BadRequest { id, message } => (
            400,
            response(
                400,
                "application/json",
                &[],
                &error_json(400, &id, &message),
            ),
        ),
        Behaviour::Forbidden { id, message } => (
            403,
            response(
                403,
                "application/json",
                &[],
                &error_json(403, &id, &message),
            ),
        ),
        Behaviour::ServerError => (
            500,
            response(
                500,
                "application/json",
                &[],
                &error_json(500, "app.standin.internal_error", "Internal server error"),
            ),
        ),
        Behaviour::RateLimited { retry_after_secs } => (
            429,
            response(
                429,
                "text/plain; charset=utf-8",
                &[
                    ("Retry-After", retry_after_secs.to_string()),
                    ("X-RateLimit-Limit", "10".into()),
                    ("X-RateLimit-Remaining", "0".into()),
                    ("X-RateLimit-Reset", retry_after_secs.to_string()),
                ],
                b"limit exceeded\n",
            ),
        ),
        Behaviour::Answer {
            status,
            content_type,
            headers,
            body,
        } => {
            let extra: Vec<(&str, String)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.clone()))
                .collect();
            (
                status,
                response(status, &content_type, &extra, body.as_bytes()),
            )
        }
        Behaviour::Status { status, body } => {
            (status, response(status, "text/plain", &[], body.as_bytes()))
        }
        Behaviour::CloseImmediately => {
            shared.record(req.clone());
            return false;
        }
        Behaviour::AcceptSilent | Behaviour::HangAfterRequest => {
            shared.record(req.clone());
            shared.hold();
            return false;
        }
        Behaviour::ResetMidResponse => {
            shared.record(req.clone());
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl");
            let _ = stream.flush();
            set_linger_zero(stream.tcp());
            return false;
        }
        Behaviour::Trickle(interval) => {
            req.answered = 200;
            shared.record(req.clone());
            for byte in response(200, "text/plain", &[], b"ok") {
                if stream
                    .write_all(&[byte])
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return false;
                }
                std::thread::sleep(interval);
            }
            return true;
        }
    };
    req.answered = status;
    shared.record(req.clone());
    stream
        .write_all(&bytes)
        .and_then(|()| stream.flush())
        .is_ok()
}

/// Makes the next close send a TCP RST instead of a FIN.
fn set_linger_zero(tcp: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid open socket fd, a pointer to a live `linger` and its size.
    unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast::<libc::c_void>(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
