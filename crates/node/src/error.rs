//! The node's errors.

/// Everything that can go wrong in a node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A chain call failed (decoded revert, dead endpoint, ...).
    #[error(transparent)]
    Chain(#[from] vouch_chain::Error),
    /// The job journal failed.
    #[error(transparent)]
    Journal(#[from] vouch_journal::Error),
    /// The blob store failed.
    #[error(transparent)]
    Store(#[from] vouch_store::Error),
    /// The engine refused the input or the package.
    #[error("execution of task {task}: {reason}")]
    Execute {
        /// The task.
        task: String,
        /// Why.
        reason: String,
    },
    /// A model package could not be obtained or does not match the registry.
    #[error("model {model} v{version}: {reason}")]
    Model {
        /// Model id.
        model: u32,
        /// Version.
        version: u16,
        /// Why.
        reason: String,
    },
    /// The chain is not in a state the node can act on.
    #[error("{0}")]
    State(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The node's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether retrying the same call later may succeed (a dead or flaky endpoint), as opposed
    /// to a revert or bad input that will fail the same way.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Chain(
                vouch_chain::Error::Unreachable { .. }
                    | vouch_chain::Error::Rpc { .. }
                    // an endpoint whose log index lags its state
                    | vouch_chain::Error::RecordMismatch { .. }
                    // a beacon node down or still syncing
                    | vouch_chain::Error::BeaconUnreachable { .. }
            )
        )
    }

    /// The decoded revert reason, if this is a revert.
    pub fn revert_reason(&self) -> Option<&str> {
        match self {
            Self::Chain(vouch_chain::Error::Reverted { reason, .. }) => Some(reason),
            _ => None,
        }
    }
}
