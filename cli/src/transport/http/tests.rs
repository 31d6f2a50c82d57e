//! The client against peers on loopback it starts itself: plain and TLS
//! servers, a proxy, silence and refusals.

use super::tls::{client_config, Roots};
use super::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::TcpListener;
use std::thread::JoinHandle;

const SECOND: Duration = Duration::from_secs(1);

fn url(s: &str) -> Url {
    Url::parse(s).expect("url")
}

fn plain_client() -> Client {
    Client::new(
        client_config(Roots::Bundled).expect("tls"),
        SECOND * 2,
        SECOND * 5,
    )
}

#[test]
fn request_heads_are_exact() {
    let u = url("https://mm.example:8065/hooks/abc?x=1");
    let headers = [("Content-Type", "application/json")];
    let head = request_head(&Request::post(&u, &headers, b"{}")).expect("head");
    assert_eq!(
        String::from_utf8(head).expect("text"),
        format!(
            "POST /hooks/abc?x=1 HTTP/1.1\r\nHost: mm.example:8065\r\nUser-Agent: {USER_AGENT}\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
        )
    );
    let get = Request {
        method: "GET",
        url: &u,
        headers: &[("Accept", "application/json")],
        body: b"",
        timeout: None,
    };
    let head = String::from_utf8(request_head(&get).expect("head")).expect("text");
    assert!(
        head.starts_with("GET /hooks/abc?x=1 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(!head.contains("Content-Length"), "{head}");
    let put = Request {
        method: "PUT",
        body: b"",
        ..get
    };
    let head = String::from_utf8(request_head(&put).expect("head")).expect("text");
    assert!(head.contains("\r\nContent-Length: 0\r\n"), "{head}");
}

#[test]
fn user_info_is_sent_as_basic_auth_unless_the_caller_sets_one() {
    let u = url("http://alice:pw@127.0.0.1/x");
    let head =
        String::from_utf8(request_head(&Request::post(&u, &[], b"")).expect("head")).expect("text");
    assert!(
        head.contains("\r\nAuthorization: Basic YWxpY2U6cHc=\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nHost: 127.0.0.1\r\n"), "{head}");
    let mine = [("Authorization", "Bearer t")];
    let head = String::from_utf8(request_head(&Request::post(&u, &mine, b"")).expect("head"))
        .expect("text");
    assert_eq!(head.matches("Authorization").count(), 1, "{head}");
    assert!(head.contains("Authorization: Bearer t\r\n"), "{head}");
}

#[test]
fn line_breaks_cannot_reach_the_request() {
    let u = url("http://127.0.0.1/x");
    for headers in [
        [("X-Token", "a\r\nX-Evil: 1")],
        [("X-Token\n", "a")],
        [("X-Token", "a\0")],
    ] {
        assert_eq!(
            request_head(&Request::post(&u, &headers, b"")).err(),
            Some(HttpError::BadHeader)
        );
    }
    let bad_method = Request {
        method: "GET /x HTTP/1.1\r\n",
        ..Request::post(&u, &[], b"")
    };
    assert_eq!(request_head(&bad_method).err(), Some(HttpError::BadHeader));
}

/// Reads one request head and its Content-Length body from `s`.
fn read_request(s: &mut dyn Read) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut slots);
        if let Ok(httparse::Status::Complete(n)) = req.parse(&got) {
            let len = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() >= n + len {
                return got;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return got,
            Ok(k) => got.extend_from_slice(&chunk[..k]),
        }
    }
}

/// A plain HTTP server on 127.0.0.1 answering one request with `answer`;
/// the join handle gives the request it read.
fn serve_once(answer: &'static [u8]) -> (u16, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(SECOND * 5)).expect("timeout");
        let got = read_request(&mut s);
        let _ = s.write_all(answer);
        got
    });
    (port, handle)
}

#[test]
fn a_plain_exchange_sends_the_request_and_reads_the_answer() {
    let (port, server) = serve_once(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX-Id: 7\r\n\
          Transfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n2\r\n:1\r\n1\r\n}\r\n0\r\n\r\n",
    );
    let u = url(&format!("http://127.0.0.1:{port}/api/v4/posts"));
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer t"),
    ];
    let r = plain_client()
        .send(&Request::post(&u, &headers, b"{\"x\":1}"))
        .expect("answer");
    assert_eq!(r.status, 201);
    assert_eq!(r.headers.get("x-id"), Some(&b"7"[..]));
    assert_eq!(r.body, b"{\"a\":1}");
    assert_eq!(r.body_cut, None);
    let sent = String::from_utf8(server.join().expect("server")).expect("text");
    assert!(
        sent.starts_with("POST /api/v4/posts HTTP/1.1\r\n"),
        "{sent}"
    );
    assert!(
        sent.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")),
        "{sent}"
    );
    assert!(sent.ends_with("\r\n\r\n{\"x\":1}"), "{sent}");
}

#[test]
fn localhost_is_resolved() {
    let (port, server) = serve_once(b"HTTP/1.1 204 No Content\r\n\r\n");
    let u = url(&format!("http://localhost:{port}/"));
    match plain_client().send(&Request::post(&u, &[], b"")) {
        Ok(r) => assert_eq!(r.status, 204),
        // localhost may resolve to ::1 first, where nothing listens; the
        // IPv4 address must then have been tried too.
        Err(e) => panic!("{e}"),
    }
    let _ = server.join();
}

#[test]
fn nothing_listening_is_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let u = url(&format!("http://127.0.0.1:{port}/hooks/secret"));
    let e = plain_client()
        .send(&Request::post(&u, &[], b""))
        .expect_err("refused");
    assert_eq!(e, HttpError::Refused);
    assert_eq!(e.to_string(), "connection refused");
}

#[test]
fn a_silent_server_times_out_within_the_request_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let u = url(&format!("http://127.0.0.1:{port}/hooks/secret"));
    let started = Instant::now();
    let req = Request {
        timeout: Some(Duration::from_millis(300)),
        ..Request::post(&u, &[], b"x")
    };
    let e = plain_client().send(&req).expect_err("timeout");
    assert_eq!(e, HttpError::Timeout(Step::Waiting));
    assert_eq!(e.to_string(), "timed out while waiting for the answer");
    assert!(started.elapsed() < SECOND * 3);
    drop(listener);
}

#[test]
fn a_close_before_the_answer_is_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let _ = read_request(&mut s);
    });
    let u = url(&format!("http://127.0.0.1:{port}/"));
    let e = plain_client()
        .send(&Request::post(&u, &[], b"x"))
        .expect_err("closed");
    assert!(
        matches!(
            e,
            HttpError::Closed(Step::Waiting) | HttpError::Reset(Step::Waiting)
        ),
        "{e:?}"
    );
    server.join().expect("server");
}

struct Pki {
    ca: CertificateDer<'static>,
    server: Arc<rustls::ServerConfig>,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("test {name}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca")
}

fn pki() -> Pki {
    let ca = ca("CA");
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("params");
    params.is_ca = IsCa::ExplicitNoCa;
    let key = KeyPair::generate().expect("key");
    let leaf = params.signed_by(&key, &ca).expect("leaf");
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .expect("server config");
    Pki {
        ca: ca.der().clone(),
        server: Arc::new(server),
    }
}

/// A TLS server answering one request with `answer`; gives what it read
/// (empty when the handshake failed).
fn serve_tls_once(pki: &Pki, answer: &'static [u8]) -> (u16, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let config = Arc::clone(&pki.server);
    let handle = std::thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(SECOND * 5)).expect("timeout");
        let conn = rustls::ServerConnection::new(config).expect("conn");
        let mut tls = rustls::StreamOwned::new(conn, s);
        let got = read_request(&mut tls);
        if !got.is_empty() {
            let _ = tls.write_all(answer);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        got
    });
    (port, handle)
}

fn tls_client(roots: Roots) -> Client {
    Client::new(client_config(roots).expect("tls"), SECOND * 2, SECOND * 5)
}

#[test]
fn tls_with_the_right_ca_is_an_exchange() {
    let pki = pki();
    let (port, server) = serve_tls_once(&pki, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let u = url(&format!("https://localhost:{port}/hooks/abc"));
    let r = tls_client(Roots::Only(vec![pki.ca.clone()]))
        .send(&Request::post(&u, &[], b"{}"))
        .expect("answer");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    let sent = server.join().expect("server");
    assert!(sent.ends_with(b"\r\n\r\n{}"));
}

#[test]
fn an_unknown_issuer_is_said_and_nothing_is_sent() {
    let pki = pki();
    let other = ca("unrelated CA");
    let (port, server) = serve_tls_once(&pki, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let u = url(&format!("https://127.0.0.1:{port}/hooks/abcdefghijkl"));
    let e = tls_client(Roots::Only(vec![other.der().clone()]))
        .send(&Request::post(&u, &[], b"{}"))
        .expect_err("untrusted");
    assert!(
        matches!(e, HttpError::Tls(rustls::Error::InvalidCertificate(_))),
        "{e:?}"
    );
    let shown = e.to_string();
    assert!(
        shown.contains("not trusted") && shown.contains("UnknownIssuer"),
        "{shown}"
    );
    assert!(!shown.contains("abcdefghijkl"), "{shown}");
    assert!(server.join().expect("server").is_empty());
}

#[test]
fn any_certificate_still_needs_a_working_handshake() {
    let pki = pki();
    let (port, server) = serve_tls_once(&pki, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let u = url(&format!("https://127.0.0.1:{port}/"));
    let r = tls_client(Roots::AnyCertificate)
        .send(&Request::post(&u, &[], b"{}"))
        .expect("answer");
    assert_eq!(r.body, b"ok");
    let _ = server.join();
    // The bundled roots do not know the test CA.
    let (port, server) = serve_tls_once(&pki, b"HTTP/1.1 200 OK\r\n\r\n");
    let u = url(&format!("https://127.0.0.1:{port}/"));
    let e = tls_client(Roots::Bundled)
        .send(&Request::post(&u, &[], b"{}"))
        .expect_err("untrusted");
    assert!(
        matches!(e, HttpError::Tls(rustls::Error::InvalidCertificate(_))),
        "{e:?}"
    );
    let _ = server.join();
}

#[test]
fn tls_to_a_plain_server_fails_as_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut hello = [0u8; 512];
        let _ = s.read(&mut hello);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let u = url(&format!("https://127.0.0.1:{port}/"));
    let e = tls_client(Roots::AnyCertificate)
        .send(&Request::post(&u, &[], b""))
        .expect_err("not tls");
    assert!(
        matches!(
            e,
            HttpError::Tls(_) | HttpError::Closed(Step::Handshake) | HttpError::Reset(_)
        ),
        "{e:?}"
    );
    server.join().expect("server");
}

/// A fake proxy: reads the CONNECT head, gives it back through the join
/// handle, answers `answer`, then (on a 200) plays the target: reads the
/// tunnelled request and answers `200 ok`.
fn fake_proxy(answer: &'static [u8]) -> (u16, JoinHandle<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(SECOND * 5)).expect("timeout");
        let connect = String::from_utf8(read_request(&mut s)).expect("text");
        let _ = s.write_all(answer);
        if !answer.starts_with(b"HTTP/1.1 200") {
            return (connect, Vec::new());
        }
        let tunnelled = read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        (connect, tunnelled)
    });
    (port, handle)
}

#[test]
fn a_proxy_tunnel_carries_the_request() {
    let (port, proxy) = fake_proxy(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let client = plain_client().with_proxy(Some(
        Url::parse_proxy(&format!("http://user:pw@127.0.0.1:{port}")).expect("proxy"),
    ));
    let u = url("http://[::1]:8065/hooks/x");
    let r = client.send(&Request::post(&u, &[], b"{}")).expect("answer");
    assert_eq!(r.body, b"ok");
    let (connect, tunnelled) = proxy.join().expect("proxy");
    assert!(
        connect.starts_with("CONNECT [::1]:8065 HTTP/1.1\r\nHost: [::1]:8065\r\n"),
        "{connect}"
    );
    assert!(
        connect.contains("\r\nProxy-Authorization: Basic dXNlcjpwdw==\r\n"),
        "{connect}"
    );
    assert!(tunnelled.starts_with(b"POST /hooks/x HTTP/1.1\r\n"));
}

#[test]
fn a_proxy_refusal_is_an_error_with_its_status() {
    let (port, proxy) = fake_proxy(b"HTTP/1.1 403 Access violation\r\nContent-Length: 0\r\n\r\n");
    let client = plain_client().with_proxy(Some(
        Url::parse_proxy(&format!("127.0.0.1:{port}")).expect("proxy"),
    ));
    let u = url("https://mm.example/hooks/secret");
    let e = client
        .send(&Request::post(&u, &[], b"{}"))
        .expect_err("refused");
    assert_eq!(
        e.to_string(),
        "proxy refused CONNECT: HTTP 403 Access violation"
    );
    let (connect, _) = proxy.join().expect("proxy");
    assert!(
        connect.starts_with("CONNECT mm.example:443 HTTP/1.1\r\n"),
        "{connect}"
    );
    assert!(!connect.contains("Proxy-Authorization"), "{connect}");
}

#[test]
fn error_messages_are_lowercase_and_say_the_step() {
    assert_eq!(
        HttpError::Timeout(Step::Handshake).to_string(),
        "timed out during the TLS handshake"
    );
    assert_eq!(
        HttpError::Reset(Step::Body).to_string(),
        "connection reset while reading the answer body"
    );
    assert!(HttpError::ProxyRefused {
        status: 407,
        reason: "Proxy Authentication Required".into()
    }
    .to_string()
    .contains("user:password@"));
    assert_eq!(HttpError::TooLong.to_string(), "answer body over 64 KiB");
}
