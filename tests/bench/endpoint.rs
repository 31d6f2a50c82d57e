//! Loopback HTTPS endpoint for the benchmark (`tests/bench/run.py`).
//!
//! Stands in for a Mattermost incoming webhook: answers every well-formed
//! JSON POST with `200 ok`, the way Mattermost does, over TLS 1.3 with a CA
//! and a leaf certificate generated at start-up (rustls rejects a CA used as
//! the server certificate, so it needs both). It binds 127.0.0.1 on a port
//! the kernel picks, writes the CA to `<dir>/ca.pem` and prints one line,
//! `port=<port> ca=<path>`, once it accepts connections.
//!
//! And for API mode, the REST subset a bot uses (DESIGN §9), with a
//! `Bearer` token required: `POST /api/v4/posts` → 201 with the new post's
//! id, `PUT /api/v4/posts/{id}/patch` → 200, the channel lookups (`GET
//! /api/v4/channels/{id}`, `…/teams/name/{t}/channels/name/{c}`) and `GET
//! /api/v4/users/me` → 200 with an id. It keeps no posts: the benchmark
//! measures the senders, and the e2e stand-in checks the semantics.
//!
//! It is multi-threaded (one accept loop per thread on a shared listener) so
//! that an alert storm from 8 worker processes measures the senders, not
//! the endpoint, and it sends no session tickets: a one-shot sender cannot
//! use them, and issuing them would only add server work.
//!
//! `GET /stats` answers with the number of writes accepted so far (webhook
//! posts, REST posts and edits), which the driver checks after each phase:
//! a sender that exits 0 without delivering must not count.
//!
//! Usage: `bench_endpoint <dir> [threads]` (threads default to 8).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
    method: String,
    path: String,
    is_json: bool,
    /// `Authorization: Bearer <token>` with a token.
    bearer: bool,
    close: bool,
}

/// The channel id every lookup answers.
const CHANNEL_ID: &str = "bench0channel0000000000000";

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
        method: req.method.unwrap_or("").to_string(),
        path: req.path.unwrap_or("").to_string(),
        is_json,
        bearer,
        close,
    }))
}

/// Status, content type and body for `req` with `body`; counts writes.
fn route(req: &Request, body: &[u8], accepted: &AtomicU64) -> (&'static str, &'static str, String) {
    const JSON: &str = "application/json";
    const TEXT: &str = "text/plain";
    let json_object = req.is_json && body.first() == Some(&b'{');
    let path = req.path.split('?').next().unwrap_or("");
    if req.method == "GET" && path == "/stats" {
        return ("200 OK", TEXT, accepted.load(Ordering::Relaxed).to_string());
    }
    let Some(api) = path.strip_prefix("/api/v4/") else {
        if req.method == "POST" && json_object {
            accepted.fetch_add(1, Ordering::Relaxed);
            return ("200 OK", TEXT, "ok".to_string());
        }
        return ("400 Bad Request", TEXT, "expected a JSON POST".to_string());
    };
    if !req.bearer {
        return ("401 Unauthorized", JSON, r#"{"id":"api.context.session_expired.app_error","message":"Invalid or expired session","status_code":401}"#.to_string());
    }
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

/// Serves requests on one connection until the client closes it.
fn serve_connection(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    accepted: &AtomicU64,
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
        let (status, content_type, answer) = route(&req, body, accepted);
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n{answer}",
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

    let mut workers = Vec::with_capacity(threads);
    for _ in 0..threads {
        let listener = Arc::clone(&listener);
        let config = Arc::clone(&config);
        let accepted = Arc::clone(&accepted);
        workers.push(std::thread::spawn(move || loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    if let Err(e) = serve_connection(stream, Arc::clone(&config), &accepted) {
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
