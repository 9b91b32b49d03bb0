//! vouch's chain client.
//!
//! | module | holds |
//! |---|---|
//! | [`client`] | provider from an RPC url (optionally signing), transactions with decoded reverts |
//! | [`revert`] | revert data -> `CustomError(name: value, ...)` over every vouch contract |
//! | [`keystore`] | encrypted keys at rest, one folder of Web3 Secret Storage v3 files |
//! | [`keyfile`] | the v3 file format: checked parser, scrypt/PBKDF2, AES-128-CTR, MAC |
//! | [`deployments`] | `<datadir>/deployments/<chainid>.json` |
//! | [`mod@deploy`] | deploys and wires the whole system from the committed bytecode |
//! | [`system`] | typed handles on a deployment and the protocol flows |
//! | [`signed`] | client-signed requests (EIP-712, EIP-2612 permit) through the `FeeVault` |
//! | [`graph`] | the graph header (`graphRoot`) the registry stores |
//! | [`eas`] | batched receipt attestations (`multiAttest`), provenance attestations, schema UIDs |
//! | [`dispute`] | an honest party's moves in the dispute game |
//! | [`devnet`] | a local anvil: find, start, wait until it answers, stop |
//! | [`receipt`] | independent checks of a receipt: leaf, EAS attestation, zk proof calldata |
//! | [`record`] | a task rebuilt from its state word, its `TaskRequested` and last `ResultSubmitted` logs |
//! | [`zk`] | zk settlement: verifier compile/deploy, publish with a verifier, `submitZk` |

pub mod blob;
pub mod client;
pub mod committee;
pub mod deploy;
pub mod deployments;
pub mod devnet;
pub mod dispute;
pub mod eas;
mod error;
pub mod graph;
mod http_error;
pub mod keyfile;
pub mod keystore;
pub mod receipt;
pub mod record;
pub mod refund;
pub mod revert;
pub mod signed;
pub mod system;
pub mod zk;

pub use client::{Client, DEFAULT_RPC_URL};
pub use deploy::{DeployConfig, RandomnessConfig, TOKEN, VrfConfig, deploy};
pub use deployments::{Addresses, Deployment};
pub use devnet::{Devnet, DevnetConfig};
pub use error::{Error, Result};
pub use keyfile::{KeyfileError, ScryptCost};
pub use keystore::{KeyEntry, Keystore};
pub use system::System;

pub use alloy;
pub use vouch_bindings as bindings;
