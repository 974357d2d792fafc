//! `retrace serve`: the PostgreSQL wire protocol over the warehouse, for psql, DBeaver,
//! Grafana, Metabase and notebooks (docs/serve.md; the choice of crate in
//! docs/adr/0003-sql-server.md).
//!
//! One base session holds the tables, the views, the canned queries and `pg_catalog`;
//! every query runs in a session of its own cut from it, with its own memory pool and a
//! deadline, so one runaway query fails alone while the others go on. Statements are
//! planned and checked read-only exactly as `retrace sql` does ([`guard`]).

mod auth;
mod canned;
mod guard;
mod handlers;
mod map_json;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion_postgres::pgwire::tokio::process_socket;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};
use crate::limits::QueryLimits;
use crate::warehouse::Warehouse;

pub use handlers::Handlers;

/// The default address: PostgreSQL's port plus one, so a local PostgreSQL keeps its own.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5433";

/// How the server listens, who may connect and what one query may take.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Clients must give this password (SCRAM-SHA-256); `None`: no authentication, which
    /// is refused on any address but loopback.
    pub password: Option<String>,
    /// A PEM certificate chain and its PKCS#8 key: TLS, and SCRAM with channel binding.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Per query: its memory pool and its deadline.
    pub limits: QueryLimits,
    /// Connections served at once; more are refused with a clear error.
    pub max_connections: usize,
    /// The configured SLOs, served as `slos` and `slo_minutes` (`analyze::slo_tables`).
    pub slos: Vec<crate::config::Slo>,
}

/// Binds `options.listen` and serves until the process ends; `ready` is told the bound
/// address (port 0 picks a free one), after the warehouse session is open.
pub async fn serve(warehouse: &Warehouse, options: &ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    if options.password.is_none() && !options.listen.ip().is_loopback() {
        return Err(Error::Usage(format!(
            "refusing to listen on {} without a password: anyone who can reach it could read the warehouse; \
             set RETRACE_SERVE_PASSWORD (or [serve] password) or listen on 127.0.0.1",
            options.listen
        )));
    }
    let tls = match &options.tls {
        Some((cert, key)) => Some(auth::tls_acceptor(cert, key)?),
        None => None,
    };
    let handlers = Arc::new(Handlers::open(warehouse, options).await?);
    let listener = TcpListener::bind(options.listen).await.map_err(|e| Error::io(options.listen, e))?;
    let bound = listener.local_addr().map_err(|e| Error::io(options.listen, e))?;
    ready(bound);
    accept_loop(listener, tls, handlers, options.max_connections).await
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handlers: Arc<Handlers>,
    max_connections: usize,
) -> Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: wait a moment, keep serving.
            Err(e) => {
                tracing::warn!(error = %e, "could not accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let handlers = handlers.clone();
        let tls = tls.clone();
        let slot = slots.clone().try_acquire_owned();
        tokio::spawn(async move {
            let Ok(_slot) = slot else {
                tracing::warn!(%peer, max_connections, "connection refused: the server is full");
                auth::refuse_full(socket, max_connections).await;
                return;
            };
            tracing::debug!(%peer, "connection");
            if let Err(e) = process_socket(socket, tls, handlers).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}
