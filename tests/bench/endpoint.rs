//! Loopback HTTPS endpoint for the benchmark (`tests/bench/run.py`).
//!
//! Stands in for a Mattermost incoming webhook: answers every well-formed
//! JSON POST with `200 ok`, the way Mattermost does, over TLS 1.3 with a CA
//! and a leaf certificate generated at start-up (rustls rejects a CA used as
//! the server certificate, so it needs both). It binds 127.0.0.1 on a port
//! the kernel picks, writes the CA to `<dir>/ca.pem` and prints one line,
//! `port=<port> ca=<path>`, once it accepts connections.
//!
//! It is multi-threaded (one accept loop per thread on a shared listener) so
//! that an alert storm from 8 worker processes measures the senders, not
//! the endpoint, and it sends no session tickets: a one-shot sender cannot
//! use them, and issuing them would only add server work.
//!
//! And for API mode, the REST subset a bot uses (DESIGN §9), with a
//! `Bearer` token required: `POST /api/v4/posts` → 201 with the new post's
//! id, `PUT /api/v4/posts/{id}/patch` → 200, the channel lookups (`GET
//! /api/v4/channels/{id}`, `…/teams/name/{t}/channels/name/{c}`) and `GET
//! /api/v4/users/me` → 200 with an id. It keeps no posts: the benchmark
//! measures the senders, and the e2e stand-in checks the semantics.
//!
//! `GET /stats` answers with the number of writes accepted so far (webhook
//! posts, REST posts and edits), which the driver checks after each phase:
//! a sender that exits 0 without delivering must not count.
//!
//! With `BENCH_LIMIT=<per second>,<burst>` it enforces Mattermost's rate
//! limiter (DESIGN §3: a token bucket; 429 `limit exceeded` with
//! `Retry-After`, and `X-RateLimit-Limit`/`-Remaining`/`-Reset` on every
//! answer), logs each accepted body to `<dir>/posts.log` as
//! `<unix ms> <body>` (a JSON body has no raw newline), and `GET /counts`
//! answers `<requests> <accepted> <limited>`.
//!
//! Usage: `bench_endpoint <dir> [threads]` (threads default to 8).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The limiter and the post log, when `BENCH_LIMIT` is set.
struct Limited {
    per_second: f64,
    burst: f64,
    bucket: Mutex<(f64, Instant)>,
    log: Mutex<std::fs::File>,
    requests: AtomicU64,
    limited: AtomicU64,
}

impl Limited {
    /// Takes a token: `Ok(remaining)` or `Err(seconds to wait)`; both
    /// with the seconds until the bucket is full again.
    fn take(&self) -> (Result<u64, u64>, u64) {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * self.per_second).min(self.burst);
        b.1 = now;
        let reset = ((self.burst - b.0) / self.per_second).ceil() as u64;
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            (Ok(b.0 as u64), reset)
        } else {
            (
                Err(((1.0 - b.0) / self.per_second).ceil().max(1.0) as u64),
                reset,
            )
        }
    }
}

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// Largest request head plus body accepted; Mattermost reads at most 128 KiB
/// of a body, so anything bigger is a broken sender.
const MAX_REQUEST_LEN: usize = 256 * 1024;

/// Most request headers parsed; curl and Python send fewer than 10.
const MAX_HEADERS: usize = 32;

const DEFAULT_THREADS: usize = 8;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A CA certificate (PEM) plus the leaf chain and key the server presents.
struct TestPki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// Generates a CA and a leaf for `127.0.0.1` and `localhost`, ECDSA P-256.
fn generate_pki() -> Result<TestPki, BoxError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "mattermost-notify bench CA");
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_string()])?;
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

    Ok(TestPki {
        ca_pem: ca_cert.pem(),
        chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
    })
}

fn server_config(pki: TestPki) -> Result<ServerConfig, BoxError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(pki.chain, pki.key)?;
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// What one parsed request asks for.
struct Request {
    head_len: usize,
    body_len: usize,
    is_post: bool,
    is_stats: bool,
    is_counts: bool,
    is_json: bool,
    close: bool,
    method: String,
    path: String,
    /// `Authorization: Bearer <token>` with a token.
    bearer: bool,
}

/// With a limiter: counts the request, takes a token (the rate-limit
/// headers go to `extra`), and logs the body of an admitted one; whether
/// it is admitted. Without one everything is.
fn admit(limit: Option<&Limited>, body: &[u8], extra: &mut String) -> Result<bool, BoxError> {
    let Some(l) = limit else {
        return Ok(true);
    };
    l.requests.fetch_add(1, Ordering::Relaxed);
    let (taken, reset) = l.take();
    let remaining = *taken.as_ref().unwrap_or(&0);
    *extra = format!(
        "X-RateLimit-Limit: {}\r\nX-RateLimit-Remaining: {remaining}\r\n\
         X-RateLimit-Reset: {reset}\r\n",
        l.per_second
    );
    if let Err(wait) = taken {
        extra.push_str(&format!("Retry-After: {wait}\r\n"));
        l.limited.fetch_add(1, Ordering::Relaxed);
        return Ok(false);
    }
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut line = format!("{ms} ").into_bytes();
    line.extend_from_slice(body);
    line.push(b'\n');
    l.log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .write_all(&line)?;
    Ok(true)
}

/// The channel id every lookup answers.
const CHANNEL_ID: &str = "bench0channel0000000000000";

/// Status, content type and body of a REST request (`api`: its path after
/// `/api/v4/`) with `body`; counts writes.
fn route_api(
    req: &Request,
    api: &str,
    body: &[u8],
    accepted: &AtomicU64,
) -> (&'static str, &'static str, String) {
    const JSON: &str = "application/json";
    if !req.bearer {
        return ("401 Unauthorized", JSON, r#"{"id":"api.context.session_expired.app_error","message":"Invalid or expired session","status_code":401}"#.to_string());
    }
    let json_object = req.is_json && body.first() == Some(&b'{');
    let id_json = |id: &str| format!(r#"{{"id":"{id}"}}"#);
    match (
        req.method.as_str(),
        api.split('/').collect::<Vec<_>>().as_slice(),
    ) {
        ("POST", ["posts"]) if json_object => {
            let n = accepted.fetch_add(1, Ordering::Relaxed) + 1;
            let id = format!("bench{n:021}");
            (
                "201 Created",
                JSON,
                format!(r#"{{"id":"{id}","channel_id":"{CHANNEL_ID}"}}"#),
            )
        }
        ("PUT", ["posts", id, "patch"]) if json_object => {
            accepted.fetch_add(1, Ordering::Relaxed);
            ("200 OK", JSON, id_json(id))
        }
        ("GET", ["channels", _] | ["teams", "name", _, "channels", "name", _]) => {
            ("200 OK", JSON, id_json(CHANNEL_ID))
        }
        ("GET", ["users", "me"]) => ("200 OK", JSON, id_json("bench0bot00000000000000000")),
        _ => (
            "404 Not Found",
            JSON,
            r#"{"id":"api.context.404.app_error","message":"not found","status_code":404}"#
                .to_string(),
        ),
    }
}

/// Parses a request head from `buf`; `Ok(None)` means "read more".
fn parse_head(buf: &[u8]) -> Result<Option<Request>, BoxError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let mut body_len = 0;
    let mut is_json = false;
    let mut bearer = false;
    let mut close = req.version == Some(0);
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            body_len = value.parse()?;
        } else if h.name.eq_ignore_ascii_case("content-type") {
            is_json = value.starts_with("application/json");
        } else if h.name.eq_ignore_ascii_case("authorization") {
            bearer = value.strip_prefix("Bearer ").is_some_and(|t| !t.is_empty());
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("chunked bodies are not supported".into());
        }
    }
    Ok(Some(Request {
        head_len,
        body_len,
        is_post: req.method == Some("POST"),
        is_stats: req.method == Some("GET") && req.path == Some("/stats"),
        is_counts: req.method == Some("GET") && req.path == Some("/counts"),
        is_json,
        close,
        method: req.method.unwrap_or("").to_string(),
        path: req.path.unwrap_or("").to_string(),
        bearer,
    }))
}

/// Serves requests on one connection until the client closes it.
fn serve_connection(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    accepted: &AtomicU64,
    limit: Option<&Limited>,
) -> Result<(), BoxError> {
    stream.set_nodelay(true)?;
    let conn = ServerConnection::new(config)?;
    let mut tls = StreamOwned::new(conn, stream);
    let mut buf = vec![0u8; MAX_REQUEST_LEN];
    let mut filled = 0;
    loop {
        let req = loop {
            if let Some(req) = parse_head(&buf[..filled])? {
                break req;
            }
            if filled == buf.len() {
                return Err("request head too large".into());
            }
            match tls.read(&mut buf[filled..]) {
                Ok(0) => return Ok(()),
                Ok(n) => filled += n,
                // Senders often close without close_notify once they have
                // the answer; that is the end of the connection, not an error.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        };
        let total = req.head_len + req.body_len;
        if total > buf.len() {
            return Err("request body too large".into());
        }
        while filled < total {
            let n = tls.read(&mut buf[filled..])?;
            if n == 0 {
                return Err("connection closed inside a body".into());
            }
            filled += n;
        }
        let body = &buf[req.head_len..total];
        let mut extra = String::new();
        let mut content_type = "text/plain";
        let api = req
            .path
            .split('?')
            .next()
            .unwrap_or("")
            .strip_prefix("/api/v4/");
        let (status, answer) = if let Some(api) = api {
            // The limiter covers the REST API as it covers hooks.
            if admit(limit, body, &mut extra)? {
                let (status, json, answer) = route_api(&req, api, body, accepted);
                content_type = json;
                (status, answer)
            } else {
                content_type = "application/json";
                (
                    "429 Too Many Requests",
                    r#"{"id":"api.context.rate_limit.app_error","message":"limit exceeded","status_code":429}"#
                        .to_string(),
                )
            }
        } else if req.is_stats {
            ("200 OK", accepted.load(Ordering::Relaxed).to_string())
        } else if let (true, Some(l)) = (req.is_counts, limit) {
            let counts = [&l.requests, accepted, &l.limited].map(|c| c.load(Ordering::Relaxed));
            (
                "200 OK",
                format!("{} {} {}", counts[0], counts[1], counts[2]),
            )
        } else if req.is_post && req.is_json && body.first() == Some(&b'{') {
            if admit(limit, body, &mut extra)? {
                accepted.fetch_add(1, Ordering::Relaxed);
                ("200 OK", "ok".to_string())
            } else {
                ("429 Too Many Requests", "limit exceeded\n".to_string())
            }
        } else {
            ("400 Bad Request", "expected a JSON POST".to_string())
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}{}\r\n{answer}",
            answer.len(),
            if req.close {
                "Connection: close\r\n"
            } else {
                ""
            },
        );
        tls.write_all(response.as_bytes())?;
        tls.flush()?;
        if req.close {
            tls.conn.send_close_notify();
            let _ = tls.flush();
            return Ok(());
        }
        buf.copy_within(total..filled, 0);
        filled -= total;
    }
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: bench_endpoint <dir> [threads]")?;
    let threads = match args.next() {
        Some(t) => t.parse()?,
        None => DEFAULT_THREADS,
    };
    let pki = generate_pki()?;
    let ca_path = std::path::Path::new(&dir).join("ca.pem");
    std::fs::write(&ca_path, &pki.ca_pem)?;
    let config = Arc::new(server_config(pki)?);
    let listener = Arc::new(TcpListener::bind("127.0.0.1:0")?);
    let port = listener.local_addr()?.port();
    let accepted = Arc::new(AtomicU64::new(0));
    let limit = match std::env::var("BENCH_LIMIT") {
        Ok(v) => {
            let (rate, burst) = v.split_once(',').ok_or("BENCH_LIMIT=<rate>,<burst>")?;
            let burst: f64 = burst.parse()?;
            Some(Arc::new(Limited {
                per_second: rate.parse()?,
                burst,
                bucket: Mutex::new((burst, Instant::now())),
                log: Mutex::new(std::fs::File::create(
                    std::path::Path::new(&dir).join("posts.log"),
                )?),
                requests: AtomicU64::new(0),
                limited: AtomicU64::new(0),
            }))
        }
        Err(_) => None,
    };

    let mut workers = Vec::with_capacity(threads);
    for _ in 0..threads {
        let listener = Arc::clone(&listener);
        let config = Arc::clone(&config);
        let accepted = Arc::clone(&accepted);
        let limit = limit.clone();
        workers.push(std::thread::spawn(move || loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    let served =
                        serve_connection(stream, Arc::clone(&config), &accepted, limit.as_deref());
                    if let Err(e) = served {
                        eprintln!("bench_endpoint: connection: {e}");
                    }
                }
                Err(e) => eprintln!("bench_endpoint: accept: {e}"),
            }
        }));
    }
    println!("port={port} ca={}", ca_path.display());
    io::stdout().flush()?;
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}
