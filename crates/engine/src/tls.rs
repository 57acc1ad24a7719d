//! TLS for the standalone listener, with rustls: `https://` and `wss://`.

use std::io;
use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// A certificate and its private key, for [`ServeConfig::tls`](crate::ServeConfig::tls).
///
/// Cheap to clone. Built from PEM files (the usual `fullchain.pem` and
/// `privkey.pem`), from PEM bytes, or from a rustls [`ServerConfig`] of your own
/// (client certificates, other protocol versions, a certificate resolver, …).
/// ferrio serves HTTP/1.1, so the built-in configs offer ALPN `http/1.1`.
///
/// ```no_run
/// use ferrio_engine::{ServeConfig, TlsConfig};
///
/// # fn run() -> std::io::Result<()> {
/// let tls = TlsConfig::from_pem_files("fullchain.pem", "privkey.pem")?;
/// let config = ServeConfig::default().tls(tls);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1) from files.
    ///
    /// Fails with the file's name when one cannot be read, holds no
    /// certificate or key, or when the key does not fit the certificate.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        };
        let (cert, key) = (cert.as_ref(), key.as_ref());
        Self::from_pem(&read(cert)?, &read(key)?).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{} / {}: {e}", cert.display(), key.display()),
            )
        })
    }

    /// Like [`from_pem_files`](Self::from_pem_files), from PEM bytes.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> io::Result<Self> {
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("bad certificate PEM: {e}")))?;
        if chain.is_empty() {
            return Err(invalid("no certificate in the PEM data".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| invalid(format!("no usable private key in the PEM data: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid(format!("certificate or key refused: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self::from_rustls(Arc::new(config)))
    }

    /// Uses a rustls server configuration as it is.
    pub fn from_rustls(config: Arc<ServerConfig>) -> Self {
        Self {
            acceptor: TlsAcceptor::from(config),
        }
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}
