//! `serve` under slow and greedy clients: peers that trickle bytes, hold
//! keep-alive connections, or keep many requests in flight from one
//! address. Each test ends with a genuine click that must get through.
//!
//! The bounds mirror the constants in `cli/src/serve/http.rs`; the tests
//! assert "cut off before twice the bound", never a benchmark figure.

use crate::serve::kit::{self, click_body, Fifo};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// `REQUEST_DEADLINE`: handshake, head and body of one request in total.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// `IDLE_TIMEOUT`: how long a keep-alive connection waits for a request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// `MAX_REQUESTS_PER_CONNECTION`.
const MAX_REQUESTS_PER_CONNECTION: usize = 100;
/// `MAX_BUSY_PER_ADDRESS`: requests in flight from one address.
const MAX_BUSY_PER_ADDRESS: usize = 16;
/// `MAX_CONNECTIONS`.
const MAX_CONNECTIONS: usize = 64;
/// How often each keep-alive client polls.
const POLL_INTERVAL: Duration = Duration::from_millis(2500);

/// Reads one HTTP response (head, then `Content-Length` bytes): the head
/// in lowercase, or `None` when the server closed first.
fn read_response(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some(head)
}

/// A keep-alive request that is answered (405) and leaves the connection
/// open, as a monitoring probe or a confused client would send.
fn poll_request() -> String {
    format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", kit::ACK_PATH)
}

/// Whether the server closed `s` (end of file or reset) within `wait`.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut sink = [0u8; 4096];
    loop {
        match s.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// A connection from 127.0.0.1 with a request begun and never finished.
fn unfinished_request(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("POST {} HTTP/1.1\r\nContent-Le", kit::ACK_PATH).as_bytes())
        .unwrap();
    s
}

/// Whether the server still holds `s` open with nothing sent on it: no
/// answer, no close.
fn still_open(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let (mut reader, mut byte) = (s, [0u8; 1]);
    let open = matches!(reader.read(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock);
    s.set_nonblocking(false).unwrap();
    open
}

/// A whole `GET /` from 127.0.0.1 on its own connection, read to the end:
/// the status and the answer in lowercase.
fn get_from_127(port: u16) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let status = kit::split_response(&out).0;
    (status, String::from_utf8_lossy(&out).to_ascii_lowercase())
}

#[test]
fn a_click_gets_through_while_64_clients_poll_on_keep_alive_connections() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let stop = Arc::new(AtomicBool::new(false));
    // Each poller reports (its index, whether its poll was answered).
    let (tx, rx) = mpsc::channel::<(usize, bool)>();
    let pollers: Vec<_> = (0..MAX_CONNECTIONS)
        .map(|i| {
            let (stop, tx, port) = (Arc::clone(&stop), tx.clone(), serve.port);
            std::thread::spawn(move || {
                // Spread over the interval, as independent pollers are: 64
                // requests from one address at the same instant would meet
                // the per-address cap on requests in flight instead.
                std::thread::sleep(POLL_INTERVAL * i as u32 / MAX_CONNECTIONS as u32);
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                while !stop.load(Ordering::SeqCst) {
                    let answered = s.write_all(poll_request().as_bytes()).is_ok()
                        && read_response(&mut s).is_some_and(|h| {
                            h.starts_with("http/1.1 405") && h.contains("connection: keep-alive")
                        });
                    let _ = tx.send((i, answered));
                    if !answered {
                        return;
                    }
                    // Every POLL_INTERVAL, in slices so the test can stop it.
                    for _ in 0..POLL_INTERVAL.as_millis() / 100 {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut first_round = [false; MAX_CONNECTIONS];
    while first_round.iter().any(|seen| !seen) {
        let (i, answered) = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        assert!(
            answered,
            "poller {i} was not served at the start:\n{}",
            serve.stderr()
        );
        first_round[i] = true;
    }
    // All 64 hold a connection and are idle between polls: the click.
    std::thread::sleep(Duration::from_millis(800));
    let started = Instant::now();
    let (status, body) = serve.post(&click_body("crowded", "svc"));
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(fifo.next_line().contains(";crowded;svc;"));
    assert!(took < REQUEST_DEADLINE, "the click took {took:?}");
    // The click cost exactly one poller its connection: the longest idle.
    let mut answered = [None; MAX_CONNECTIONS];
    let round = Instant::now();
    while answered.iter().any(Option::is_none) && round.elapsed() < 3 * POLL_INTERVAL {
        if let Ok((i, ok)) = rx.recv_timeout(Duration::from_millis(200)) {
            answered[i].get_or_insert(ok);
        }
    }
    stop.store(true, Ordering::SeqCst);
    for p in pollers {
        p.join().unwrap();
    }
    let lost = answered.iter().filter(|a| **a == Some(false)).count();
    let kept = answered.iter().filter(|a| **a == Some(true)).count();
    assert_eq!(
        (lost, kept),
        (1, MAX_CONNECTIONS - 1),
        "after the click: {answered:?}\n{}",
        serve
            .stderr()
            .lines()
            .filter(|l| !l.contains("-> 405"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("click among 64 keep-alive pollers answered in {took:?}");
    serve.wait_stderr("closed the longest-idle one");
}

/// The bytes a TLS client sends first (its ClientHello).
fn client_hello() -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut hello = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut hello).unwrap();
    }
    hello
}

/// POSTs a click over HTTPS, trusting `ca`; the status.
fn https_click(ca: &std::path::Path, port: u16, host: &str) -> u16 {
    let pem = std::fs::read(ca).unwrap();
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let url = format!("https://localhost:{port}{}", kit::ACK_PATH);
    agent
        .post(&url)
        .header("Content-Type", "application/json")
        .send(&click_body(host, "tls-svc")[..])
        .expect("HTTPS request")
        .status()
        .as_u16()
}

/// Sends `bytes` one per second until the server closes; how long that
/// took, or `None` if it was still open after `give_up`.
fn trickle_until_closed(s: &mut TcpStream, bytes: &[u8], give_up: Duration) -> Option<Duration> {
    let started = Instant::now();
    for b in bytes.iter().cycle() {
        if started.elapsed() > give_up {
            return None;
        }
        if s.write_all(std::slice::from_ref(b)).is_err() {
            return Some(started.elapsed());
        }
        // The one-second read is the pacing and the watch for the close.
        if closed_within(s, Duration::from_secs(1)) {
            return Some(started.elapsed());
        }
    }
    None
}

#[test]
fn a_tls_handshake_trickled_a_byte_a_second_is_cut_off_at_the_deadline() {
    use crate::support::TestPki;
    let pki = TestPki::new();
    let fifo = Fifo::with_reader();
    let serve = kit::Serve::start(kit::Options {
        command_file: Some(&fifo.path),
        oitc_url: None,
        env: vec![],
        tls: Some((&pki.leaf_cert_file, &pki.leaf_key_file)),
        listen: None,
    });
    let hello = client_hello();
    assert!(hello.len() > 2 * REQUEST_DEADLINE.as_secs() as usize);
    let give_up = 2 * REQUEST_DEADLINE;
    // One client trickles its ClientHello; another connects and is silent.
    let port = serve.port;
    let silent = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let started = Instant::now();
        closed_within(&mut s, give_up).then(|| started.elapsed())
    });
    let mut s = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    let trickled = trickle_until_closed(&mut s, &hello, give_up);
    let silent = silent.join().unwrap();
    let trickled = trickled.expect("a trickled handshake was still open after 2x the deadline");
    let silent = silent.expect("a silent TLS connection was still open after 2x the deadline");
    // Cut by the deadline (not by some earlier refusal of a partial hello).
    assert!(
        trickled >= REQUEST_DEADLINE - Duration::from_secs(1),
        "{trickled:?}"
    );
    eprintln!(
        "TLS handshake trickle cut after {trickled:?}, silent TLS connection after {silent:?}"
    );
    serve.wait_stderr("closed before the TLS handshake completed");
    assert_eq!(https_click(&pki.ca_file, serve.port, "after-trickle"), 200);
    assert!(fifo.next_line().contains(";after-trickle;tls-svc;"));
}

#[test]
fn a_plain_request_trickled_a_byte_every_3_s_gets_408_at_the_deadline() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let mut s = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n",
        kit::ACK_PATH
    );
    let started = Instant::now();
    let mut answer = Vec::new();
    for b in head.bytes() {
        // A byte well within any per-read timeout, forever.
        if s.write_all(&[b]).is_err() {
            break;
        }
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        match s.read_to_end(&mut answer) {
            Ok(_) => break,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
        if started.elapsed() > 2 * REQUEST_DEADLINE {
            break;
        }
    }
    let took = started.elapsed();
    let (status, _) = kit::split_response(&answer);
    assert_eq!(status, 408, "after {took:?}");
    // The total deadline, not one read timeout after it.
    assert!(took < REQUEST_DEADLINE + Duration::from_secs(3), "{took:?}");
    assert!(
        took >= REQUEST_DEADLINE - Duration::from_secs(1),
        "{took:?}"
    );
    eprintln!("plain HTTP trickle answered 408 after {took:?}");
    let (status, _) = serve.post(&click_body("after-408", "svc"));
    assert_eq!(status, 200);
    assert!(fifo.next_line().contains(";after-408;svc;"));
}

#[test]
fn requests_in_flight_are_capped_per_address_and_other_addresses_get_in() {
    let fifo = Fifo::with_reader();
    // Dual-stack: 127.0.0.1 arrives as ::ffff:127.0.0.1, the click from ::1.
    let serve = kit::Serve::start(kit::Options {
        command_file: Some(&fifo.path),
        oitc_url: None,
        env: vec![],
        tls: None,
        listen: Some("[::]:0"),
    });
    assert_eq!(serve.host, "::1");
    // MAX_BUSY_PER_ADDRESS requests from 127.0.0.1 that never finish, and
    // one more from the same address, which is refused. The server counts
    // a request in flight when its connection's thread reads the first
    // byte, not when the client sent it: on a loaded machine a probe can
    // be read before the last slow request and take its place, and that
    // slow one gets the 503 instead (seen in CI). So the slow connections
    // the server closed are replaced, and only a 503 while all of them are
    // still held counts. Normally the first round does it; bounded at twice
    // REQUEST_DEADLINE.
    let started = Instant::now();
    let mut slow: Vec<TcpStream> = Vec::new();
    let mut rounds = 0;
    let refused = loop {
        rounds += 1;
        slow.retain(still_open);
        while slow.len() < MAX_BUSY_PER_ADDRESS {
            slow.push(unfinished_request(serve.port));
        }
        // Time for the server's threads to read them before the probe.
        std::thread::sleep(Duration::from_millis(100));
        let (status, text) = get_from_127(serve.port);
        if status == 503 && slow.iter().all(still_open) {
            break text;
        }
        assert!(
            started.elapsed() < 2 * REQUEST_DEADLINE,
            "no 503 for a request beyond {MAX_BUSY_PER_ADDRESS} in flight from one address \
             in {rounds} rounds (last answer {status}):\n{}",
            serve.stderr()
        );
    };
    assert!(refused.contains("retry-after: 1"), "{refused}");
    eprintln!("the request beyond the cap was refused in round {rounds}");
    serve.wait_stderr("too many requests in flight from this address");
    // Another address is not held up by it.
    let (status, body) = serve.post(&click_body("other-address", "svc"));
    assert_eq!(status, 200, "{body}");
    assert!(fifo.next_line().contains(";other-address;svc;"));
    // The slow ones still hold their slots; they end at the deadline.
    assert!(
        slow.iter().all(still_open),
        "a slow request was closed {:?} after the test began:\n{}",
        started.elapsed(),
        serve.stderr()
    );
    // Once they go, the address is served again.
    slow.clear();
    let mut status = 0;
    for _ in 0..50 {
        let mut s = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let body = click_body("same-address", "svc");
        let head = format!(
            "POST {} HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            kit::ACK_PATH,
            body.len()
        );
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&body);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        status = kit::split_response(&out).0;
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status, 200);
    assert!(fifo.next_line().contains(";same-address;svc;"));
}

#[test]
fn a_keep_alive_connection_ends_after_its_request_cap() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let mut s = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    for n in 1..=MAX_REQUESTS_PER_CONNECTION {
        s.write_all(poll_request().as_bytes()).unwrap();
        let head = read_response(&mut s).unwrap_or_else(|| panic!("request {n} unanswered"));
        let want = if n == MAX_REQUESTS_PER_CONNECTION {
            "connection: close"
        } else {
            "connection: keep-alive"
        };
        assert!(head.contains(want), "request {n}: {head}");
    }
    assert!(closed_within(&mut s, Duration::from_secs(5)));
    let (status, _) = serve.post(&click_body("after-cap", "svc"));
    assert_eq!(status, 200);
    assert!(fifo.next_line().contains(";after-cap;svc;"));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let fifo = Fifo::with_reader();
    let serve = kit::serve_on(&fifo.path, vec![]);
    let mut s = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(poll_request().as_bytes()).unwrap();
    assert!(read_response(&mut s).is_some_and(|h| h.contains("connection: keep-alive")));
    let idle = Instant::now();
    assert!(
        closed_within(&mut s, 2 * IDLE_TIMEOUT),
        "an idle keep-alive connection was still open after 2x the idle timeout"
    );
    let took = idle.elapsed();
    assert!(took >= IDLE_TIMEOUT - Duration::from_secs(1), "{took:?}");
    eprintln!("idle keep-alive connection closed after {took:?}");
    let (status, _) = serve.post(&click_body("after-idle", "svc"));
    assert_eq!(status, 200);
    assert!(fifo.next_line().contains(";after-idle;svc;"));
}
