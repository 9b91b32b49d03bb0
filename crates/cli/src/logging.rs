//! Structured logs on stderr for long-running commands (`vouch node`, `vouch up`,
//! `vouch gateway`): `VOUCH_LOG` sets the level (error, warn, info, debug, trace; default
//! info).

use tracing_subscriber::filter::LevelFilter;

/// Installs the log subscriber once (later calls do nothing).
pub fn init() {
    let level = std::env::var("VOUCH_LOG")
        .ok()
        .and_then(|s| s.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Like [`init`] but at `warn` unless `VOUCH_LOG` says otherwise (narrated commands).
pub fn init_quiet() {
    let level = std::env::var("VOUCH_LOG")
        .ok()
        .and_then(|s| s.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::WARN);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
