//! The TLS crypto every connection uses, client (webhook, REST API,
//! dialogs, backends) and server (`serve --tls-cert`): ring, TLS 1.3 and
//! 1.2 with AES-GCM only.
//!
//! Why not rustls' `ring::default_provider()`: it lists ChaCha20-Poly1305
//! too, and merely naming its suite list links ring's ChaCha20 and
//! Poly1305 code, 54 KB of the binary's 2 MiB budget
//! (tests/bench/PERFORMANCE.md). Every TLS server offers AES-GCM (Go's,
//! which Mattermost is, always does); ChaCha20 is only faster on CPUs
//! without AES instructions, and ring's constant-time AES covers those.
//! ureq is built without a provider of its own (`rustls-no-provider`), so
//! a client configuration without this one fails loudly instead of
//! falling back to the full list.

use rustls::crypto::ring::{cipher_suite as suite, kx_group, sign};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::crypto::{CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom};
use rustls::pki_types::PrivateKeyDer;
use rustls::SignatureScheme as Scheme;
use std::sync::{Arc, OnceLock};
use webpki::ring as alg;

/// The provider, built once per process.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            Arc::new(CryptoProvider {
                cipher_suites: vec![
                    suite::TLS13_AES_256_GCM_SHA384,
                    suite::TLS13_AES_128_GCM_SHA256,
                    suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                    suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                    suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                    suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                ],
                kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
                signature_verification_algorithms: SIGNATURE_ALGORITHMS,
                secure_random: &Ring,
                key_provider: &Ring,
            })
        })
        .clone()
}

/// ring's randomness and key loading, as rustls' own provider has them.
#[derive(Debug)]
struct Ring;

impl SecureRandom for Ring {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| GetRandomFailed)
    }
}

impl KeyProvider for Ring {
    fn load_private_key(
        &self,
        key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        sign::any_supported_type(&key_der)
    }
}

/// Certificate signatures verified: the list rustls' ring provider has
/// (rustls 0.23, `crypto/ring/mod.rs`), which is not public on its own.
static SIGNATURE_ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        alg::ECDSA_P256_SHA256,
        alg::ECDSA_P256_SHA384,
        alg::ECDSA_P384_SHA256,
        alg::ECDSA_P384_SHA384,
        alg::ED25519,
        alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        alg::RSA_PKCS1_2048_8192_SHA256,
        alg::RSA_PKCS1_2048_8192_SHA384,
        alg::RSA_PKCS1_2048_8192_SHA512,
        alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        // For TLS 1.2 the curve is not fixed by the scheme; for 1.3 it is.
        (
            Scheme::ECDSA_NISTP384_SHA384,
            &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
        ),
        (
            Scheme::ECDSA_NISTP256_SHA256,
            &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
        ),
        (Scheme::ED25519, &[alg::ED25519]),
        (
            Scheme::RSA_PSS_SHA512,
            &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            Scheme::RSA_PSS_SHA384,
            &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            Scheme::RSA_PSS_SHA256,
            &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (Scheme::RSA_PKCS1_SHA512, &[alg::RSA_PKCS1_2048_8192_SHA512]),
        (Scheme::RSA_PKCS1_SHA384, &[alg::RSA_PKCS1_2048_8192_SHA384]),
        (Scheme::RSA_PKCS1_SHA256, &[alg::RSA_PKCS1_2048_8192_SHA256]),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_gcm_only_and_the_same_verification_as_rustls() {
        let p = provider();
        assert!(p.cipher_suites.iter().all(|s| {
            let name = format!("{:?}", s.suite());
            name.contains("AES_128_GCM") || name.contains("AES_256_GCM")
        }));
        assert_eq!(p.cipher_suites.len(), 6);
        let full = rustls::crypto::ring::default_provider();
        let names = |a: &WebPkiSupportedAlgorithms| {
            a.mapping
                .iter()
                .map(|(scheme, _)| format!("{scheme:?}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&p.signature_verification_algorithms),
            names(&full.signature_verification_algorithms)
        );
        assert_eq!(
            p.signature_verification_algorithms.all.len(),
            full.signature_verification_algorithms.all.len()
        );
        assert_eq!(p.kx_groups.len(), full.kx_groups.len());
        let mut buf = [0u8; 16];
        assert!(p.secure_random.fill(&mut buf).is_ok());
        assert!(p.fips() == full.fips());
    }
}
