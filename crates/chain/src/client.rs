//! A connection to one chain: provider (with an optional signing wallet), chain id, and
//! transactions whose failures come back as plain errors. `https://` endpoints are verified
//! against the system's roots (`SSL_CERT_FILE`/`SSL_CERT_DIR` add a private CA).
//!
//! Nonces come from the node (`eth_getTransactionCount(pending)`) for every transaction. Sends
//! from clones of one [`Client`] are serialized until the node has the transaction in its pool
//! (so concurrent tasks of one process never pick the same nonce), then awaited concurrently.

use crate::{Error, Result, http_error, revert};
use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::{Ethereum, EthereumWallet};
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::layers::{RateLimitRetryPolicy, RetryBackoffLayer};
use alloy::transports::{RpcError, TransportError, TransportErrorKind};
use std::time::Duration;

/// The default RPC endpoint: the local devnet.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";

/// How long a sent transaction may take to be mined.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// A provider bound to one endpoint, with the chain id it reported.
#[derive(Debug, Clone)]
pub struct Client {
    provider: DynProvider,
    url: String,
    chain_id: u64,
    from: Option<Address>,
    send_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Client {
    /// Connects to `url` (checking it answers) and signs with `signer` when given.
    pub async fn connect(url: &str, signer: Option<PrivateKeySigner>) -> Result<Self> {
        let parsed: alloy::transports::http::reqwest::Url =
            url.parse().map_err(|_| Error::BadUrl {
                url: url.to_owned(),
            })?;
        let from = signer.as_ref().map(|s| s.address());
        // The nonce of every transaction comes from the node: a cached nonce would be burned
        // by a call that fails at gas estimation and leave a gap that never mines.
        let builder = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id();
        // A request whose connection failed (refused, reset, closed unanswered) is sent again
        // up to six times, 100 ms apart: a lossy endpoint costs a retry, not a failed task. The
        // replay of a transaction whose answer was lost returns the node's "already known" or
        // "nonce too low", an error the caller handles as for any failed send.
        // A refused TLS handshake is not a lossy endpoint: it is answered at once.
        let policy = RateLimitRetryPolicy::default().or(|e: &TransportError| {
            matches!(e, RpcError::Transport(TransportErrorKind::Custom(c))
                if http_error::tls_failure(c.as_ref()).is_none())
        });
        let rpc = ClientBuilder::default()
            .layer(RetryBackoffLayer::new_with_policy(6, 100, u64::MAX, policy))
            .http(parsed);
        let provider = match signer {
            Some(s) => builder
                .wallet(EthereumWallet::from(s))
                .connect_client(rpc)
                .erased(),
            None => builder.connect_client(rpc).erased(),
        };
        let chain_id =
            match tokio::time::timeout(Duration::from_secs(10), provider.get_chain_id()).await {
                Ok(Ok(id)) => id,
                Ok(Err(RpcError::Transport(TransportErrorKind::Custom(c)))) => {
                    let reason = http_error::describe(c.as_ref());
                    let url = url.to_owned();
                    return Err(match http_error::tls_failure(c.as_ref()) {
                        Some(_) => Error::Tls { url, reason },
                        None => Error::Unreachable { url, reason },
                    });
                }
                Ok(Err(e)) => {
                    return Err(Error::Unreachable {
                        url: url.to_owned(),
                        reason: e.to_string(),
                    });
                }
                Err(_) => {
                    return Err(Error::Unreachable {
                        url: url.to_owned(),
                        reason: "timed out after 10 s".to_owned(),
                    });
                }
            };
        Ok(Self {
            provider,
            url: url.to_owned(),
            chain_id,
            from,
            send_lock: std::sync::Arc::default(),
        })
    }

    /// The provider (signing when the client has a signer).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The chain id the endpoint reported.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The signer's address, if any.
    pub fn from(&self) -> Option<Address> {
        self.from
    }

    /// The signer's address, or an error naming `what` needs one.
    pub fn sender(&self, what: &str) -> Result<Address> {
        self.from.ok_or_else(|| Error::NeedsKey {
            call: what.to_owned(),
        })
    }

    /// Sends a contract call as a transaction and waits for its receipt; a revert (at gas
    /// estimation or on-chain) becomes [`Error::Reverted`] / [`Error::FailedOnChain`].
    pub async fn send<P: Provider + Clone, D: CallDecoder + Clone>(
        &self,
        what: &str,
        call: CallBuilder<P, D, Ethereum>,
    ) -> Result<TransactionReceipt> {
        let replay = call.clone();
        let pending = {
            // Held until the node accepted the transaction: the next send sees it in the
            // pending nonce.
            let _guard = self.send_lock.lock().await;
            // eth_estimateGas finds the least gas the call needs in the state it ran against;
            // the block that includes it may take a costlier branch (a finalize is drawn for
            // audit from the including block's randomness: run out of gas on that branch, it
            // reverted without a reason about one time in twenty), so the limit has a margin
            let gas = call
                .estimate_gas()
                .await
                .map_err(|e| call_error(what, &self.url, e))?;
            call.gas(with_margin(gas))
                .send()
                .await
                .map_err(|e| call_error(what, &self.url, e))?
        };
        let receipt = self.wait_receipt(what, *pending.tx_hash()).await?;
        if !receipt.status() {
            // Mined but reverted (the state moved between estimation and inclusion): replay
            // it as a call to recover the reason.
            let data: Option<alloy::primitives::Bytes> = match replay.call().await {
                Err(e) => e.as_revert_data(),
                Ok(_) => None,
            };
            if let Some(data) = data {
                return Err(Error::Reverted {
                    call: what.to_owned(),
                    reason: format!(
                        "{} (transaction {})",
                        revert::decode(&data),
                        receipt.transaction_hash
                    ),
                });
            }
            return Err(Error::FailedOnChain {
                call: what.to_owned(),
                tx: receipt.transaction_hash.to_string(),
            });
        }
        Ok(receipt)
    }

    /// Polls `eth_getTransactionReceipt` for `hash` until it is mined (at most
    /// [`RECEIPT_TIMEOUT`]), first every 10 ms and backing off to 500 ms. One call per poll: a
    /// block watcher would fetch every new block, and a devnet mines one per transaction.
    async fn wait_receipt(&self, what: &str, hash: B256) -> Result<TransactionReceipt> {
        let start = std::time::Instant::now();
        let mut every = Duration::from_millis(10);
        // a failing poll is retried until the timeout; the last failure is reported
        let mut last_error = None;
        loop {
            match self.provider.get_transaction_receipt(hash).await {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => {}
                Err(e) => last_error = Some(e.to_string()),
            }
            if start.elapsed() >= RECEIPT_TIMEOUT {
                let message = match last_error {
                    Some(e) => format!("waiting for the receipt of {hash}: {e}"),
                    None => format!(
                        "transaction {hash} was not mined within {} s",
                        RECEIPT_TIMEOUT.as_secs()
                    ),
                };
                return Err(Error::Rpc {
                    call: what.to_owned(),
                    message,
                });
            }
            tokio::time::sleep(every).await;
            every = (every * 2).min(Duration::from_millis(500));
        }
    }

    /// Runs a read-only call, decoding reverts.
    pub async fn call<P: Provider, D: CallDecoder>(
        &self,
        what: &str,
        call: CallBuilder<P, D, Ethereum>,
    ) -> Result<D::CallOutput> {
        call.call()
            .await
            .map_err(|e| call_error(what, &self.url, e))
    }

    /// Sends a raw JSON-RPC request (e.g. anvil's `evm_increaseTime`).
    pub async fn raw<P, R>(&self, method: &'static str, params: P) -> Result<R>
    where
        P: alloy::rpc::json_rpc::RpcSend,
        R: alloy::rpc::json_rpc::RpcRecv,
    {
        self.provider
            .raw_request(method.into(), params)
            .await
            .map_err(|e| Error::Rpc {
                call: method.to_owned(),
                message: e.to_string(),
            })
    }

    /// Advances a dev chain's clock by `secs` and mines a block (anvil, hardhat).
    pub async fn warp(&self, secs: u64) -> Result<()> {
        let _: serde_json::Value = self.raw("evm_increaseTime", (secs,)).await?;
        let _: serde_json::Value = self.raw("evm_mine", ()).await?;
        Ok(())
    }
}

/// Maps a contract error to a plain error: decoded revert, dead endpoint, or the message.
pub(crate) fn call_error(what: &str, url: &str, e: alloy::contract::Error) -> Error {
    if let Some(data) = e.as_revert_data() {
        return Error::Reverted {
            call: what.to_owned(),
            reason: revert::decode(&data),
        };
    }
    let message = e.to_string();
    let lower = message.to_ascii_lowercase();
    if lower.contains("connection refused")
        || lower.contains("error sending request")
        || lower.contains("connect error")
    {
        return Error::Unreachable {
            url: url.to_owned(),
            reason: message,
        };
    }
    if lower.contains("revert") {
        return Error::Reverted {
            call: what.to_owned(),
            reason: message,
        };
    }
    Error::Rpc {
        call: what.to_owned(),
        message,
    }
}

/// The gas limit a transaction estimated at `gas` is sent with: a fifth more and 20k, at most
/// 30M (a block's gas limit on mainnet and anvil) unless the estimate itself is higher.
fn with_margin(gas: u64) -> u64 {
    gas.saturating_add(gas / 5)
        .saturating_add(20_000)
        .min(30_000_000)
        .max(gas)
}
