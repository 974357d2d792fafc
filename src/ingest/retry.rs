//! Retrying what the object store's own retry policy cannot: a byte stream that breaks
//! half-way through an object, a listing or commit that fails after the store gave up.
//! Only transient failures ([`Error::is_transient`]) are retried; a missing object or
//! refused credentials fail at once.

use std::future::Future;
use std::time::Duration;

use tracing::warn;

use crate::error::Result;

/// Tries per object (and per listing or commit) before it counts as failed.
pub const OBJECT_ATTEMPTS: u32 = 4;

/// 200 ms, 400 ms, 800 ms, … before the attempt after `attempt`.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64 << attempt.saturating_sub(1).min(6))
}

/// Runs `op` until it succeeds, fails for good, or has failed transiently
/// [`OBJECT_ATTEMPTS`] times.
pub async fn transient<T, F, Fut>(what: &str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if e.is_transient() && attempt < OBJECT_ATTEMPTS - 1 => {
                attempt += 1;
                warn!(attempt, error = %e, "Transient failure to {what}; trying again.");
                tokio::time::sleep(backoff(attempt)).await;
            }
            other => return other,
        }
    }
}
