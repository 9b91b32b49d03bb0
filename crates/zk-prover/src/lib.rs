//! vouch's zk prover: an R1CS circuit from a quantized package, Groth16 over BN254 with a
//! setup derived from a Powers-of-Tau file, phase-2 contributions, and proving.
//!
//! | module | holds |
//! |---|---|
//! | [`cs`] | the R1CS builder (variables, linear combinations, rows, assignment) |
//! | [`gadgets`] | range checks, max, requant, table lookup, argmax, division |
//! | [`circuit`] | the circuit of a package, built from an engine trace: the graph walk, one submodule per op family's constraints, the in-circuit Poseidon sponge |
//! | [`groth`] | QAP, proving key, setup from phase-1 points, the prover |
//! | [`lagrange`] | Lagrange-basis points from powers of tau (a raw `.ptau`'s phase-2 preparation): a parallel group IFFT |
//! | [`msm`] | multi-scalar multiplication split by scalar size (bits, small, full); batch-affine Pippenger for the full ones |
//! | [`ptau`] | the snarkjs `.ptau` reader and an insecure local generator |
//! | [`ptau_transcript`] | snarkjs's contribution record and transcript hashes (Blake2b, ChaCha hash-to-G2), for a `.ptau` `snarkjs powersoftau verify` accepts |
//! | [`phase2`] | keys file, contributions and their verification |
//! | [`task`] | what a provider posts for a zk task: commitments and `submitZk` calldata |

#![forbid(unsafe_code)]
pub mod circuit;
pub mod cs;
pub mod gadgets;
pub mod groth;
pub mod lagrange;
pub mod msm;
pub mod phase2;
pub mod ptau;
pub mod ptau_transcript;
pub mod task;

/// Errors of the prover side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The engine rejected the package or input.
    #[error(transparent)]
    Engine(#[from] vouch_engine::Error),
    /// The circuit and the engine disagree (a critical bug) or the package is malformed.
    #[error("node {node:?}: circuit/engine divergence: {what}")]
    Divergence {
        /// Node.
        node: String,
        /// What differs.
        what: String,
    },
    /// Something the circuit does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The witness does not satisfy the constraints.
    #[error("witness does not satisfy constraint {row}")]
    Unsatisfied {
        /// First failing row.
        row: usize,
    },
    /// A new proof does not verify against the keys' verifying key (a keys file whose
    /// proving and verifying halves disagree, or a prover bug); it is not handed out.
    #[error("the new proof does not verify against the keys' verifying key; it was not used")]
    SelfCheck,
    /// The phase-1 file is too small for the circuit.
    #[error("the circuit needs a domain of 2^{need}, the powers-of-tau file has 2^{have}")]
    PtauTooSmall {
        /// Needed power.
        need: u32,
        /// Available power.
        have: u32,
    },
    /// A malformed `.ptau` file.
    #[error("ptau file: {0}")]
    Ptau(String),
    /// A malformed keys file.
    #[error("keys file: {0}")]
    Keys(String),
    /// The setup transcript does not verify.
    #[error("setup verification failed: {0}")]
    Setup(String),
    /// A verifier-side error.
    #[error(transparent)]
    Zk(#[from] vouch_zk::Error),
    /// I/O.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
