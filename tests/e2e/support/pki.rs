//! A test PKI made at run time with rcgen: a CA, a leaf for `localhost`,
//! `127.0.0.1` and `::1` signed by it, and a second, unrelated CA for the
//! wrong-CA tests. rustls refuses a CA certificate used as the server's own
//! (`CaUsedAsEndEntity`), hence the CA plus leaf.

use super::TempDir;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::sync::Arc;

/// The PEM files and DER material of one test PKI.
#[derive(Debug)]
pub struct TestPki {
    dir: TempDir,
    /// PEM of the CA that signed the leaf: trust this to reach the stand-in.
    pub ca_file: PathBuf,
    /// PEM of a CA that signed nothing we serve: trusting it must fail.
    pub other_ca_file: PathBuf,
    /// PEM of the leaf certificate (`localhost`, `127.0.0.1`, `::1`).
    pub leaf_cert_file: PathBuf,
    /// PEM of the leaf's PKCS#8 private key.
    pub leaf_key_file: PathBuf,
    leaf_der: CertificateDer<'static>,
    leaf_key_der: Vec<u8>,
}

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    params
        .distinguished_name
        .push(DnType::CommonName, format!("mattermost-notify test {name}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("ca key")).expect("ca cert")
}

impl TestPki {
    /// Generates a fresh PKI and writes it as PEM into a temp directory.
    pub fn new() -> TestPki {
        let dir = TempDir::new();
        let ca = new_ca("CA");
        let other = new_ca("unrelated CA");

        let mut params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])
        .expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.is_ca = IsCa::ExplicitNoCa;
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf = params.signed_by(&leaf_key, &ca).expect("leaf cert");

        let ca_file = dir.write("ca.pem", ca.pem());
        let other_ca_file = dir.write("other-ca.pem", other.pem());
        // The chain a server sends: leaf, then its CA.
        let leaf_cert_file = dir.write("leaf.pem", format!("{}{}", leaf.pem(), ca.pem()));
        let leaf_key_file = dir.write("leaf-key.pem", leaf_key.serialize_pem());
        TestPki {
            dir,
            ca_file,
            other_ca_file,
            leaf_cert_file,
            leaf_key_file,
            leaf_der: leaf.der().clone(),
            leaf_key_der: leaf_key.serialize_der(),
        }
    }

    /// A rustls server configuration (ring provider) serving the leaf.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf_der.clone()], key)
            .expect("server certificate");
        Arc::new(config)
    }
}

impl Default for TestPki {
    fn default() -> Self {
        TestPki::new()
    }
}
