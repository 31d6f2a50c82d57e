//! HTTPS for `serve`: a rustls server configuration (our ring provider,
//! [`crate::transport::crypto`]) from a PEM certificate chain and private
//! key.

use crate::error::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// Loads `cert` (chain, leaf first) and `key` (PKCS#8, PKCS#1 or SEC1).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::Usage(format!("--tls-cert {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(Error::Usage(format!(
            "--tls-cert {}: no PEM certificate in it",
            cert.display()
        )));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::Usage(format!("--tls-key {}: {e}", key.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(crate::transport::crypto::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Software(format!("TLS protocol versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            Error::Usage(format!(
                "--tls-cert/--tls-key {} and {} do not form a usable pair: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    Ok(Arc::new(config))
}
