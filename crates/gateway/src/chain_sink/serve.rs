//! [`serve`]: a gateway whose tasks go on-chain, running in the background.

use super::{ChainSink, ChainSinkConfig, unavailable};
use crate::sink::SinkError;
use crate::{Gateway, GatewayConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use vouch_chain::System;
use vouch_journal::Journal;
use vouch_store::Store;

/// A gateway serving in the background. Dropping it stops the server (the chain poller stops
/// with the last clone of the sink).
#[derive(Debug)]
pub struct Served {
    /// The address the gateway listens on.
    pub addr: SocketAddr,
    /// The sink (journal, chain handles, [`ChainSink::refresh`]).
    pub sink: ChainSink,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Served {
    /// The base URL (`http://addr`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the server stops (it only stops on an I/O error or [`Served::stop`]).
    pub async fn wait(mut self) -> std::io::Result<()> {
        match self.server.take() {
            Some(h) => match h.await {
                Ok(r) => r,
                Err(e) if e.is_cancelled() => Ok(()),
                Err(e) => Err(std::io::Error::other(e)),
            },
            None => Ok(()),
        }
    }

    /// Stops the server.
    pub fn stop(&self) {
        if let Some(h) = &self.server {
            h.abort();
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a gateway on `listener` whose tasks go on-chain through `sys` (signing with the
/// operator's key, which pays the fees), with packages read from `store` and tasks journaled
/// in the SQLite file `journal_path` (created if needed). Returns once the directory is read
/// from the chain and the server is accepting connections.
pub async fn serve(
    sys: System,
    store: Store,
    journal_path: &Path,
    listener: tokio::net::TcpListener,
    cfg: GatewayConfig,
    sink_cfg: ChainSinkConfig,
) -> Result<Served, SinkError> {
    if let Some(dir) = journal_path.parent() {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
    }
    let journal = Arc::new(Journal::open(journal_path).map_err(unavailable)?);
    let addr = listener.local_addr().map_err(unavailable)?;
    let sink = ChainSink::start(sys, store, journal, sink_cfg).await?;
    let gw = Gateway::new(cfg, Arc::new(sink.clone()), Arc::new(sink.directory()));
    let server = tokio::spawn(async move { gw.serve(listener).await });
    Ok(Served {
        addr,
        sink,
        server: Some(server),
    })
}
