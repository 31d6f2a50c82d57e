//! TLS session resumption, measured (issue 12, item 4): the client's CPU
//! for a full TLS 1.3 handshake against a P-256 server, and for one
//! resumed with a ticket, over loopback, with the stack `notify` uses
//! (rustls with ring). A cross-process cache could at best turn the first
//! into the second, plus reading a ticket file; `tests/bench/PERFORMANCE.md`
//! has the figures and the decision.
//!
//! Usage: `resume [handshakes]` (default 300); prints one line per mode:
//! `resume mode=<cold|resumed> handshakes=<n> cpu_us_per_handshake=<µs>`.

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use rustls::client::{ClientConfig, Resumption};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{HandshakeKind, RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// CPU time of the calling thread (user + system), microseconds.
fn thread_cpu_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the struct we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

fn main() -> Result<(), BoxError> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(300);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // A CA and a P-256 leaf (rcgen's default key type is ECDSA P-256).
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()])?;
    leaf.subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    let leaf_cert = leaf.signed_by(&leaf_key, &Issuer::new(ca_params, ca_key))?;
    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone()];
    let key: PrivateKeyDer<'static> = PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into();
    let server = Arc::new(
        ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(chain, key)?,
    );
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let Ok(conn) = ServerConnection::new(server.clone()) else {
                continue;
            };
            let mut tls = StreamOwned::new(conn, stream);
            let mut buf = [0u8; 4096];
            let _ = tls.read(&mut buf);
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    let mut roots = RootCertStore::empty();
    roots.add(ca_cert.der().clone())?;
    let config = |resumption: Resumption| -> Result<Arc<ClientConfig>, BoxError> {
        let mut c = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        c.resumption = resumption;
        Ok(Arc::new(c))
    };
    let post = |cfg: &Arc<ClientConfig>| -> Result<Option<HandshakeKind>, BoxError> {
        let conn = rustls::ClientConnection::new(cfg.clone(), ServerName::try_from("localhost")?)?;
        let mut tls = StreamOwned::new(conn, TcpStream::connect(addr)?);
        tls.write_all(b"POST /hooks/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}")?;
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer);
        Ok(tls.conn.handshake_kind())
    };
    for (mode, cfg) in [
        ("cold", config(Resumption::disabled())?),
        ("resumed", config(Resumption::in_memory_sessions(256))?),
    ] {
        post(&cfg)?; // warm: the resumed mode gets its first ticket here
        let start = thread_cpu_us();
        for _ in 0..n {
            let kind = post(&cfg)?;
            let want = if mode == "cold" {
                HandshakeKind::Full
            } else {
                HandshakeKind::Resumed
            };
            if kind != Some(want) {
                return Err(format!("{mode}: handshake was {kind:?}").into());
            }
        }
        let per = (thread_cpu_us() - start) as f64 / n as f64;
        println!("resume mode={mode} handshakes={n} cpu_us_per_handshake={per:.0}");
    }
    Ok(())
}
