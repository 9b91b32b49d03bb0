//! Waiting for a condition in the node tests.

use std::time::{Duration, Instant};

/// Polls `f` every 100 ms until it holds; panics after `secs` with `what`.
pub(crate) async fn until<F, Fut>(secs: u64, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while !f().await {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
