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
    /// The RPC endpoint's TLS handshake failed: a certificate no trusted root vouches for, one
    /// for another host name, an expired one.
    #[error(
        "RPC endpoint {url} failed TLS ({reason}); the certificate must be for the URL's host and chain to a root this machine trusts (add a private CA with SSL_CERT_FILE=ca.pem)"
    )]
    Tls {
        /// The endpoint.
        url: String,
        /// The TLS error and what led to it.
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
    /// A committee task of the model could not draw a full committee now, so it was not
    /// requested (its fee would only come back after the deadline).
    #[error(
        "committee mode needs {needed} providers opted in to model {model_id}, each with at least {bond} (base units) staked; {eligible} qualify now, so the task was not requested (use optimistic or zk mode, or wait for more providers)"
    )]
    NoCommittee {
        /// The model.
        model_id: u32,
        /// Members a committee draws.
        needed: usize,
        /// Providers that qualify now.
        eligible: usize,
        /// Stake each member needs.
        bond: alloy::primitives::U256,
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
    /// A keystore file could not be read, decrypted or written.
    #[error("keystore {}: {source}", path.display())]
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// What went wrong (never the password or the key).
        source: crate::keyfile::KeyfileError,
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
    /// Signing typed data failed.
    #[error("signing the {what}: {message}")]
    Signing {
        /// What was signed.
        what: String,
        /// The signer's error.
        message: String,
    },
    /// A transaction was asked of a client without a signer.
    #[error("{call} needs a key (--key)")]
    NeedsKey {
        /// What needed the key.
        call: String,
    },
    /// The deployments file is for another chain than the endpoint's.
    #[error("the deployment is for chain {deployment} but the endpoint is chain {endpoint}")]
    WrongChain {
        /// The deployment's chain id.
        deployment: u64,
        /// The endpoint's chain id.
        endpoint: u64,
    },
    /// No contract code at an address that must hold one.
    #[error("no contract at {address}")]
    NoCode {
        /// The address.
        address: String,
    },
    /// The address given as an existing EAS does not answer `getSchemaRegistry()` with a
    /// contract.
    #[error("{address} is not an EAS contract: {reason}")]
    NotEas {
        /// The address given.
        address: String,
        /// What its answer was.
        reason: String,
    },
    /// A deployed zk verifier is not the one for this package or these keys.
    #[error("the verifier at {verifier} {what} {on_chain}, the {ours_from} {ours}")]
    VerifierMismatch {
        /// The verifier contract.
        verifier: String,
        /// What differs, as a phrase (`is for weights root`, `has verifying key hash`).
        what: &'static str,
        /// The verifier's value.
        on_chain: String,
        /// Where our value comes from (`package has`, `keys have`).
        ours_from: &'static str,
        /// Our value.
        ours: String,
    },
    /// An input that travels as EIP-4844 blobs could not be packed, read back or decoded, or
    /// a blob read back is not the one its versioned hash names.
    #[error("blob input {cid}: {reason}")]
    BlobInput {
        /// The request's `inputCid` (`blob:0x...`), or `(new)` before it has one.
        cid: String,
        /// What went wrong.
        reason: String,
    },
    /// A beacon node's REST API is not answering, or answers a server error (HTTP 5xx, e.g.
    /// still syncing): asking again later may succeed.
    #[error("beacon node {url} is not answering ({reason})")]
    BeaconUnreachable {
        /// The beacon URL.
        url: String,
        /// What the HTTP client or the node reported.
        reason: String,
    },
    /// A beacon node's REST API did not serve what was asked: an HTTP error, a malformed
    /// answer, a blob it does not have (pruned), or no way to find a block's slot.
    #[error("beacon node {url}: {reason}")]
    Beacon {
        /// The beacon URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The Solidity compiler is missing, failed, or gave no bytecode.
    #[error("{message}")]
    Solc {
        /// What went wrong, with the fix when there is one.
        message: String,
    },
    /// A task's record and standing result, rebuilt from its `TaskRequested` and last
    /// `ResultSubmitted` logs, do not hash to the commitment the TaskManager stores (an
    /// endpoint that misses logs, or logs from before `from_block` of the deployment).
    #[error(
        "task {task}: the record and result rebuilt from its logs do not give the stored commitment {commitment} (does the endpoint serve every log since the deployment block?)"
    )]
    RecordMismatch {
        /// The task.
        task: alloy::primitives::U256,
        /// The commitment the TaskManager stores.
        commitment: alloy::primitives::B256,
    },
    /// A value does not fit the type the contract or this client needs.
    #[error("{what} out of range")]
    OutOfRange {
        /// The value, named (and shown when it helps).
        what: String,
    },
    /// No dispute with that id.
    #[error("no dispute {id}")]
    NoDispute {
        /// The dispute id.
        id: String,
    },
    /// The signer is neither side of the dispute.
    #[error("{who} is not a party to dispute {id}")]
    NotAParty {
        /// The signer.
        who: String,
        /// The dispute id.
        id: String,
    },
    /// The on-chain dispute does not fit our own trace of the task (we cannot play it).
    #[error("{message}")]
    TraceMismatch {
        /// What does not fit.
        message: String,
    },
    /// Nothing is wrong with the task's inputs: there is no malformed input to resolve.
    #[error("every graph input holds the task's {rows} rows: the input is well formed")]
    InputWellFormed {
        /// The task's rows.
        rows: usize,
    },
}

impl Error {
    /// The name of the custom error a call reverted with (`NothingToAttest` for a revert
    /// decoded as `NothingToAttest()`), for callers that branch on a particular revert.
    pub fn revert_name(&self) -> Option<&str> {
        match self {
            Self::Reverted { reason, .. } => {
                let name = reason.split('(').next().unwrap_or(reason);
                (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    .then_some(name)
            }
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;

    fn reverted(reason: &str) -> Error {
        Error::Reverted {
            call: "TaskManager.flushReceipts".to_owned(),
            reason: reason.to_owned(),
        }
    }

    #[test]
    fn revert_name_is_the_custom_error_without_its_arguments() {
        assert_eq!(
            reverted("NothingToAttest()").revert_name(),
            Some("NothingToAttest")
        );
        assert_eq!(
            reverted("NotProvider(who: 0x01)").revert_name(),
            Some("NotProvider")
        );
        assert_eq!(reverted("\"paused\"").revert_name(), None);
        assert_eq!(reverted("panic 0x11").revert_name(), None);
        let other = Error::NoDispute { id: "7".to_owned() };
        assert_eq!(other.revert_name(), None);
    }
}
