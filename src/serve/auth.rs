//! Who may connect: no authentication (loopback only, checked in [`super::serve`]) or one
//! password checked by SCRAM-SHA-256 (with channel binding under TLS); TLS from a PEM
//! certificate and key.

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion_postgres::pgwire::api::auth::noop::NoopStartupHandler;
use datafusion_postgres::pgwire::api::auth::sasl::SASLAuthStartupHandler;
use datafusion_postgres::pgwire::api::auth::sasl::scram::{ScramAuth, gen_salted_password};
use datafusion_postgres::pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use datafusion_postgres::pgwire::api::{ClientInfo, ConnectionManager};
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use futures::Sink;
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// PostgreSQL's own default.
const SCRAM_ITERATIONS: usize = 4096;

/// The password, salted once at start-up (SCRAM keeps only the salted form).
#[derive(Debug)]
pub(super) struct Secret {
    salt: Vec<u8>,
    salted: Vec<u8>,
}

impl Secret {
    pub(super) fn new(password: &str) -> Secret {
        // A per-server salt: SCRAM needs one; it is not a secret.
        let mut salt = [0u8; 16];
        for (i, b) in std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes()
            .into_iter()
            .chain(std::process::id().to_le_bytes())
            .enumerate()
        {
            salt[i % 16] ^= b;
        }
        let salted = gen_salted_password(password, &salt, SCRAM_ITERATIONS);
        Secret { salt: salt.to_vec(), salted }
    }
}

#[async_trait]
impl AuthSource for Secret {
    async fn get_password(&self, _login: &LoginInfo) -> PgWireResult<Password> {
        Ok(Password::new(Some(self.salt.clone()), self.salted.clone()))
    }
}

/// The startup handler of one connection (SASL keeps per-connection state).
pub(super) enum Startup {
    Open(Open),
    Scram(SASLAuthStartupHandler<DefaultServerParameterProvider>),
}

pub(super) struct Open(pub Arc<ConnectionManager>);

impl NoopStartupHandler for Open {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(self.0.clone())
    }
}

impl Startup {
    pub(super) fn new(
        secret: Option<&Arc<Secret>>,
        cert_pem: Option<&[u8]>,
        connections: &Arc<ConnectionManager>,
    ) -> Startup {
        match secret {
            None => Startup::Open(Open(connections.clone())),
            Some(secret) => {
                let mut scram = ScramAuth::new(secret.clone());
                scram.set_iterations(SCRAM_ITERATIONS);
                if let Some(pem) = cert_pem
                    && let Err(e) = scram.configure_certificate(pem)
                {
                    tracing::warn!(error = %e, "SCRAM channel binding is off: the certificate could not be read for it");
                }
                Startup::Scram(
                    SASLAuthStartupHandler::new(Arc::new(DefaultServerParameterProvider::default()))
                        .with_scram(scram)
                        .with_connection_manager(connections.clone()),
                )
            }
        }
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self {
            Startup::Open(h) => h.on_startup(client, message).await,
            Startup::Scram(h) => h.on_startup(client, message).await,
        }
    }
}

/// A TLS acceptor from a PEM certificate chain and key; a file that cannot be read is an
/// error (never a silent fall-back to plain text).
pub(super) fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Usage(format!("TLS certificate {}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(Error::Usage(format!("TLS certificate {}: no certificate in it", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| Error::Usage(format!("TLS key {}: {e}", key.display())))?;
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Usage(format!("TLS certificate and key: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Tells a client over the connection limit why, as PostgreSQL does ("too many clients",
/// SQLSTATE 53300), then closes.
pub(super) async fn refuse_full(mut socket: tokio::net::TcpStream, max: usize) {
    let message = format!("too many clients already: the server serves {max} at once (--max-connections)");
    let mut body = Vec::new();
    for (code, value) in [(b'S', "FATAL"), (b'V', "FATAL"), (b'C', "53300"), (b'M', message.as_str())] {
        body.push(code);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = vec![b'E'];
    packet.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    packet.extend_from_slice(&body);
    let _ = socket.write_all(&packet).await;
    let _ = socket.shutdown().await;
}
