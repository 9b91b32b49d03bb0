//! The deterministic integer executor.
//!
//! [`Engine::run`] executes a [`Package`] on integer inputs exactly as `docs/semantics.md`
//! defines, and returns every output (and, on request, every node's output: the trace that
//! fraud proofs bisect). All arithmetic is integer, every output element is computed by one
//! thread in one fixed order, so results are bit-identical on every machine and thread count.
//!
//! | module | holds |
//! |---|---|
//! | [`tensor`] | the runtime tensor, shapes, broadcasting helpers |
//! | [`gemm`] | the packed `i16` dot-product kernels (AVX2 where present) for Linear, Conv, MatMul |
//! | [`ops`] | the ops, one module per op family ([`vouch_semantics::Family`]): each family's kernels (one public function per op), its per-node checks and prepared weights |
//! | [`exec`] | the engine: prepared weights, the node loop dispatching each op to its family, traces |
//! | [`profile`] | per-op timing of a run, printed when `VOUCH_ENGINE_PROFILE` is set |
//! | [`vectors`] | the shared single-op test vectors (`docs/semantics.md` section 7) |

// A checker must not abort on input: no unwrap, expect or panic outside tests (a justified
// `allow` marks the exceptions).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
pub mod exec;
pub mod gemm;
pub mod ops;
pub mod profile;
pub mod tensor;
pub mod vectors;

pub use exec::{Engine, Execution, Options};
pub use tensor::Tensor;

/// Errors from executing a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input is missing, misnamed or the wrong shape.
    #[error("input {name:?}: {reason}")]
    Input {
        /// Input name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A node cannot run on the shapes it was given.
    #[error("node {node:?} ({op}): {reason}")]
    Shape {
        /// Node name.
        node: String,
        /// Op name.
        op: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An integer definition left its domain (only a malformed package can do this).
    #[error("node {node:?}: {source}")]
    Semantics {
        /// Node name.
        node: String,
        /// The error.
        source: vouch_semantics::Error,
    },
    /// The thread pool could not be built.
    #[error("cannot start {threads} worker threads: {reason}")]
    Threads {
        /// Requested threads.
        threads: usize,
        /// Why.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
