//! vouch's zk verifier side: Groth16 over BN254 for quantized packages.
//!
//! The prover (`vouch-zk-prover`) turns a package into an R1CS circuit whose public inputs are
//! the [`Statement`]: a Poseidon commitment to the input (`act8` values packed 31 per field
//! element) and the outputs packed 7 per field element (each as `v + 2^31` in 32 bits). The
//! model is bound by the verifying key itself: its weights are circuit constants, so a key
//! verifies proofs of one model only, and the registry stores [`VerifyingKey::hash`].
//!
//! This crate holds everything a verifier needs and nothing of the prover (no engine, no
//! circuit): key and proof formats, the statement encoding, the pairing check, and the
//! Solidity export.
//!
//! | module | holds |
//! |---|---|
//! | [`poseidon`] | the Poseidon permutation and sponge used for the input commitment |
//! | [`statement`] | packing of inputs and outputs into public inputs |
//! | [`groth16`] | verifying key, proof, EVM encodings, verification |
//! | [`files`] | the proof file and the verifying-key section of a keys file |
//! | [`solidity`] | the exported Solidity verifier |
//! | [`snarkjs`] | snarkjs's Groth16 JSON (`verification_key.json`, `proof.json`, `public.json`) |

#![forbid(unsafe_code)]
// A checker must not abort on input: no unwrap, expect or panic outside tests (a justified
// `allow` marks the exceptions).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
pub mod files;
pub mod groth16;
pub mod poseidon;
pub mod snarkjs;
pub mod solidity;
pub mod statement;

pub use files::{ProofFile, TensorData};
pub use groth16::{Proof, VerifyingKey, verify};
pub use statement::Statement;

/// The scalar field of BN254.
pub type Fr = ark_bn254::Fr;
/// The base field of BN254.
pub type Fq = ark_bn254::Fq;
/// BN254 G1 in affine form.
pub type G1 = ark_bn254::G1Affine;
/// BN254 G2 in affine form.
pub type G2 = ark_bn254::G2Affine;

/// Errors of the verifier side (decoding untrusted bytes, mismatched statements).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not start with the expected magic.
    #[error("not a vouch {what} file (bad magic)")]
    Magic {
        /// Which file kind was expected.
        what: &'static str,
    },
    /// A format version this build does not read.
    #[error(
        "{what} format version {found} is not supported (this build reads {supported}){}",
        if found < supported { "; it was made by an earlier vouch for an earlier circuit (version 3 and older keys commit inputs with vouch's pre-circomlib Poseidon): make it again (`vouch zk setup`, then prove again)" } else { "" }
    )]
    Version {
        /// Which file kind.
        what: &'static str,
        /// Found version.
        found: u16,
        /// Supported version.
        supported: u16,
    },
    /// The bytes end early or a length is out of range.
    #[error("truncated or malformed {what} at byte {at}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Byte offset.
        at: usize,
    },
    /// A field element is not canonical (`>=` the modulus).
    #[error("{what}: field element is not canonical")]
    NonCanonical {
        /// Which element.
        what: &'static str,
    },
    /// A point is not on the curve or not in the prime-order subgroup.
    #[error("{what}: point is not on the curve or not in the subgroup")]
    BadPoint {
        /// Which point.
        what: &'static str,
    },
    /// The statement has the wrong number of public inputs for the key.
    #[error("the statement has {found} public inputs, the key expects {expected}")]
    PublicInputs {
        /// Found.
        found: usize,
        /// Expected.
        expected: usize,
    },
    /// A claimed value is outside its kind's range.
    #[error("claimed {what} value {value} out of range")]
    Range {
        /// Which value.
        what: &'static str,
        /// The value.
        value: i64,
    },
    /// The proof was made for another verifying key.
    #[error("the proof names verifying key {found}, not {expected}")]
    WrongKey {
        /// vk hash in the proof file.
        found: String,
        /// vk hash of the key given.
        expected: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
