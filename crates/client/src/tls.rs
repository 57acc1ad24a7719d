//! TLS for `https` and `wss` URLs: rustls with the *ring* provider, trusting
//! the platform's roots and the certificates given in
//! [`ManagerConfig::tls_root_certificates`](crate::ManagerConfig::tls_root_certificates).
//!
//! The same rustls configuration serves both transports: hyper-rustls for
//! long-polling, tokio-tungstenite's rustls connector for WebSocket.

use std::fmt;
use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::{Error, ManagerConfig};

/// A certificate to trust as a root: a certificate authority's, or the
/// server's own self-signed certificate.
///
/// ```
/// # fn f(pem: &[u8]) -> Result<(), ferrio_client::Error> {
/// use ferrio_client::{Certificate, ManagerConfig};
///
/// let config = ManagerConfig::default()
///     .tls_root_certificates(Certificate::from_pem_bundle(pem)?);
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate(CertificateDer<'static>);

impl Certificate {
    /// A certificate in DER form. Fails if it cannot serve as a trust anchor.
    pub fn from_der(der: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let cert = Self(CertificateDer::from(der.into()));
        cert.check()?;
        Ok(cert)
    }

    /// The first certificate of a PEM text (`-----BEGIN CERTIFICATE-----`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        Self::from_pem_bundle(pem)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::config("no certificate in the PEM text"))
    }

    /// Every certificate of a PEM text, in order (a CA bundle). Fails if
    /// there is none, or if one is not valid.
    pub fn from_pem_bundle(pem: &[u8]) -> Result<Vec<Self>, Error> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .map(|cert| {
                let cert =
                    Self(cert.map_err(|e| Error::config(format!("invalid PEM certificate: {e}")))?);
                cert.check()?;
                Ok(cert)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        if certs.is_empty() {
            return Err(Error::config("no certificate in the PEM text"));
        }
        Ok(certs)
    }

    /// The certificate's DER bytes.
    pub fn as_der(&self) -> &[u8] {
        self.0.as_ref()
    }

    /// Fails unless rustls takes the certificate as a trust anchor.
    fn check(&self) -> Result<(), Error> {
        RootCertStore::empty()
            .add(self.0.clone())
            .map_err(|e| Error::config(format!("unusable root certificate: {e}")))
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("der_len", &self.0.len())
            .finish()
    }
}

/// The rustls configuration of a manager's connections: the one given in
/// [`ManagerConfig::tls_config`], or one made of the roots it names. ALPN is
/// cleared: both transports speak HTTP/1.1.
pub(crate) fn client_config(config: &ManagerConfig) -> Result<Arc<ClientConfig>, Error> {
    if let Some(given) = &config.tls_config {
        if given.alpn_protocols.is_empty() {
            return Ok(given.clone());
        }
        let mut given = ClientConfig::clone(given);
        given.alpn_protocols.clear();
        return Ok(Arc::new(given));
    }
    let mut roots = if config.tls_built_in_roots {
        native_roots().clone()
    } else {
        RootCertStore::empty()
    };
    for cert in &config.tls_root_certificates {
        roots
            .add(cert.0.clone())
            .map_err(|e| Error::config(format!("unusable root certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::config(
            "no TLS root certificate: the platform has none and none was given",
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

/// The platform's trusted roots, read once per process.
fn native_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::debug!(%error, "reading the platform's root certificates");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!(added, ignored, "platform root certificates");
        roots
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_a_certificate() {
        assert!(Certificate::from_pem(b"").unwrap_err().is_config());
        assert!(
            Certificate::from_pem(
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            )
            .unwrap_err()
            .is_config()
        );
        assert!(
            Certificate::from_der(vec![1, 2, 3])
                .unwrap_err()
                .is_config()
        );
    }

    #[test]
    fn without_roots_there_is_no_configuration() {
        let config = ManagerConfig::default().tls_built_in_roots(false);
        assert!(client_config(&config).unwrap_err().is_config());
    }
}
