//! The chain client's error type.

use std::path::PathBuf;

/// Errors of the chain client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The RPC url does not parse.
    #[error("invalid RPC url `{url}`")]
    BadUrl {
        /// The url as given.
        url: String,
    },
    /// Nothing answers at the RPC endpoint.
    #[error(
        "RPC endpoint {url} is not answering ({reason}); start a local chain with `vouch devnet up` or pass --rpc-url"
    )]
    Unreachable {
        /// The endpoint.
        url: String,
        /// What the transport reported.
        reason: String,
    },
    /// A call or transaction reverted; `reason` is the decoded custom error with its arguments,
    /// an `Error(string)` message or a panic code.
    #[error("{call} reverted: {reason}")]
    Reverted {
        /// The contract function.
        call: String,
        /// The decoded revert reason.
        reason: String,
    },
    /// A mined transaction has a failed status.
    #[error("{call}: transaction {tx} failed on-chain")]
    FailedOnChain {
        /// The contract function.
        call: String,
        /// The transaction hash.
        tx: String,
    },
    /// Any other RPC or contract-call failure.
    #[error("{call}: {message}")]
    Rpc {
        /// The contract function or RPC method.
        call: String,
        /// The error as reported by alloy.
        message: String,
    },
    /// A receipt lacks the event the call must emit.
    #[error("{call}: the receipt has no {event} event")]
    MissingEvent {
        /// The contract function.
        call: String,
        /// The expected event.
        event: &'static str,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A JSON file does not parse.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The keystore could not be written or decrypted.
    #[error("keystore {}: {message}", path.display())]
    Keystore {
        /// The keystore file or folder.
        path: PathBuf,
        /// What went wrong (never the password or the key).
        message: String,
    },
    /// No key with that name (or address) in the keys folder.
    #[error("no key named `{name}` in {}", dir.display())]
    KeyNotFound {
        /// The name asked for.
        name: String,
        /// The keys folder.
        dir: PathBuf,
    },
    /// A key with that name exists already.
    #[error("a key named `{name}` exists already")]
    KeyExists {
        /// The name.
        name: String,
    },
    /// A key name that is not a plain file name.
    #[error("bad key name `{name}`: use letters, digits, `-` and `_`")]
    BadKeyName {
        /// The name.
        name: String,
    },
    /// A private key that is not 32 bytes of hex or not a valid scalar.
    #[error("invalid private key")]
    BadPrivateKey,
    /// No deployments file for the chain.
    #[error("no deployment for chain {chain_id} at {}; run `vouch deploy`", path.display())]
    NotDeployed {
        /// The chain id.
        chain_id: u64,
        /// Where the file was looked for.
        path: PathBuf,
    },
    /// The deployments file lacks a contract.
    #[error("the deployments file has no `{name}` address")]
    MissingContract {
        /// The contract name.
        name: String,
    },
    /// No anvil binary was found.
    #[error(
        "anvil not found (looked at {tried}); run scripts/bootstrap-node.sh or set VOUCH_ANVIL"
    )]
    AnvilNotFound {
        /// The paths tried.
        tried: String,
    },
    /// The devnet did not answer in time.
    #[error("anvil at {url} did not answer within {secs} s; its log: {}", log.display())]
    DevnetTimeout {
        /// The endpoint.
        url: String,
        /// Seconds waited.
        secs: u64,
        /// anvil's log file.
        log: PathBuf,
    },
    /// No devnet is recorded in the data directory.
    #[error("no devnet is running from {}", dir.display())]
    DevnetNotRunning {
        /// The devnet folder.
        dir: PathBuf,
    },
    /// The contract state does not allow the step asked for.
    #[error("{0}")]
    State(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
