//! `retrace serve`: the PostgreSQL wire protocol over the warehouse (docs/serve.md).

use super::{Outcome, load};
use crate::cli::{GlobalArgs, ServeArgs};
use crate::error::{Error, Result};
use crate::serve::{DEFAULT_LISTEN, ServeOptions};
use crate::warehouse::Warehouse;

/// Where the password comes from: the environment, so it is not in `ps` or shell history.
pub const PASSWORD_ENV: &str = "RETRACE_SERVE_PASSWORD";

pub(crate) async fn serve(global: &GlobalArgs, args: &ServeArgs) -> Result<Outcome> {
    let config = load(global)?;
    let listen = match (args.listen, &config.serve.listen) {
        (Some(addr), _) => addr,
        (None, Some(text)) => text
            .parse()
            .map_err(|e| Error::Usage(format!("[serve] listen = \"{text}\": not a host:port address ({e})")))?,
        (None, None) => DEFAULT_LISTEN.parse().expect("the default address parses"),
    };
    let password = std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()).or(config.serve.password.clone());
    let tls = match (&args.tls_cert, &args.tls_key, &config.serve.tls_cert, &config.serve.tls_key) {
        (Some(c), Some(k), _, _) | (None, None, Some(c), Some(k)) => Some((c.clone(), k.clone())),
        (None, None, None, None) => None,
        _ => return Err(Error::Usage("TLS needs both a certificate and a key ([serve] tls_cert and tls_key)".into())),
    };
    let options = ServeOptions {
        listen,
        password,
        tls,
        limits: crate::limits::QueryLimits {
            // Several queries run at once: each gets a quarter of the memory by default.
            memory: args.memory_limit.unwrap_or_else(|| crate::limits::default_memory() / 2),
            timeout: args.timeout.to_std().ok().filter(|d| !d.is_zero()),
        },
        max_connections: args.max_connections,
        slos: config.slos.clone(),
    };
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let auth = match (&options.password, &options.tls) {
        (Some(_), Some(_)) => "password (SCRAM-SHA-256), TLS",
        (Some(_), None) => "password (SCRAM-SHA-256), no TLS",
        (None, Some(_)) => "no password, TLS",
        (None, None) => "no password (loopback only)",
    };
    crate::serve::serve(&warehouse, &options, |addr| {
        // On stderr, as every diagnostic; the line a script waits for.
        eprintln!(
            "retrace serve: listening on {addr} ({auth}); warehouse {}; try: psql -h {} -p {} -U retrace",
            warehouse.display,
            addr.ip(),
            addr.port()
        );
    })
    .await?;
    Ok(Outcome::Success)
}
