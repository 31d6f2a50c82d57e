//! The client's TLS settings: rustls with our ring provider
//! ([`crate::transport::crypto`], AES-GCM suites), TLS 1.2 and 1.3, and
//! one explicit choice of what is trusted ([`Roots`]).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// Which server certificates are trusted.
#[derive(Debug)]
pub enum Roots {
    /// The bundled webpki (Mozilla) roots.
    Bundled,
    /// Only these CA certificates (a private CA's).
    Only(Vec<CertificateDer<'static>>),
    /// Any certificate at all: `MATTERMOST_INSECURE`. The handshake's
    /// signatures are still checked (the server must hold the key of the
    /// certificate it shows), so only who the server is goes unverified.
    AnyCertificate,
}

/// A client configuration trusting `roots`.
pub fn client_config(roots: Roots) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = crate::transport::crypto::provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?;
    let builder = match roots {
        Roots::Bundled => builder.with_root_certificates(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }),
        Roots::Only(certs) => {
            let mut store = RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(rustls::Error::General(
                    "no certificate there can be a trust anchor".into(),
                ));
            }
            builder.with_root_certificates(store)
        }
        Roots::AnyCertificate => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(algorithms))),
    };
    Ok(Arc::new(builder.with_no_client_auth()))
}

/// The certificates of the PEM file at `path`; the message says what is
/// wrong with it (the caller names the setting).
pub fn ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{path} is not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{path} holds no certificate"));
    }
    Ok(certs)
}

/// Accepts every certificate, but checks the handshake's signatures with
/// the provider's algorithms.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mn-tls-{}-{name}", std::process::id()));
        std::fs::write(&dir, contents).expect("write");
        dir
    }

    #[test]
    fn ca_files_must_hold_certificates() {
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).expect("cert");
        let pem = ca.cert.pem();
        let good = temp_file("good.pem", format!("junk before\n{pem}{pem}").as_bytes());
        let certs = ca_file(good.to_str().expect("path")).expect("certificates");
        assert_eq!(certs.len(), 2);
        assert!(client_config(Roots::Only(certs)).is_ok());

        let key_only = temp_file("key.pem", ca.signing_key.serialize_pem().as_bytes());
        let e = ca_file(key_only.to_str().expect("path")).expect_err("no certificate");
        assert!(e.ends_with("holds no certificate"), "{e}");

        let broken = temp_file(
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        );
        let e = ca_file(broken.to_str().expect("path")).expect_err("broken");
        assert!(e.contains("is not valid PEM"), "{e}");

        let e = ca_file("/nonexistent/ca.pem").expect_err("missing");
        assert!(e.starts_with("cannot read /nonexistent/ca.pem"), "{e}");
        for f in [good, key_only, broken] {
            let _ = std::fs::remove_file(f);
        }
    }

    #[test]
    fn garbage_certificates_are_no_trust_anchors() {
        let junk = vec![CertificateDer::from(vec![1u8, 2, 3])];
        assert!(client_config(Roots::Only(junk)).is_err());
        assert!(client_config(Roots::Bundled).is_ok());
        assert!(client_config(Roots::AnyCertificate).is_ok());
    }
}
