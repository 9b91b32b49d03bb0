//! What a provider posts for a zk-mode task: `TaskManager.submitZk(taskId, output, proof)`.
//!
//! - `output` is the keccak output commitment of `docs/semantics.md` section 6 (the engine's
//!   [`vouch_engine::Execution::output_commitment`]);
//! - `proof` is `abi.encode(uint256[8] groth16, int32[] outputs)`
//!   ([`vouch_zk::solidity::calldata_blob`]);
//! - the task's `inputCommitment` must be the Poseidon input commitment ([`input_commitment`]),
//!   which the exported verifier takes as public input 0.
//!
//! `vouch zk prove`, `vouch task submit-zk` and the provider node all go through [`prove`].

use crate::{Error, Result, circuit, groth, phase2};
use std::time::{Duration, Instant};
use vouch_engine::Tensor;
use vouch_model::Package;
use vouch_zk::files::{ProofFile, TensorData};
use vouch_zk::statement::fr_to_be;

/// A proved zk task result.
#[derive(Debug, Clone)]
pub struct ZkSubmission {
    /// keccak list commitment of the outputs (the `output` argument of `submitZk`).
    pub output_commitment: [u8; 32],
    /// Poseidon input commitment (the task's `inputCommitment`).
    pub input_commitment: [u8; 32],
    /// The `proof` argument of `submitZk`.
    pub calldata: Vec<u8>,
    /// The proof file (`vouch zk prove` writes it; [`ProofFile::verify`] checks it).
    pub file: ProofFile,
    /// Constraints of the circuit.
    pub constraints: usize,
    /// Variables of the circuit.
    pub variables: usize,
    /// The QAP domain size.
    pub domain: usize,
    /// Parsing the keys (overlapped with building the witness).
    pub keys_time: Duration,
    /// Building the circuit and its witness.
    pub witness_time: Duration,
    /// The Groth16 prover.
    pub prove_time: Duration,
}

/// Parses a keys file and checks that it was made for `pkg`.
pub fn read_keys(pkg: &Package, keys: &[u8]) -> Result<phase2::Keys> {
    let keys = phase2::from_bytes(keys)?;
    if keys.package_cid != pkg.cid().to_bytes() {
        return Err(Error::Keys(
            "the keys were made for another package".to_owned(),
        ));
    }
    Ok(keys)
}

/// The Poseidon input commitment of one row of inputs (one tensor per package input, batch
/// 1): `inputCommitment` of a zk task.
pub fn input_commitment(pkg: &Package, inputs: &[Tensor]) -> Result<[u8; 32]> {
    vouch_task::codec::input_commitment(vouch_task::Mode::Zk, pkg, inputs)
        .map_err(|e| Error::Unsupported(e.to_string()))
}

/// Batch row `row` of quantized inputs (each tensor's first axis is the batch), with the
/// batch axis set to 1. The circuit proves one row.
pub fn single_row(inputs: &[Tensor], row: usize) -> Result<Vec<Tensor>> {
    inputs
        .iter()
        .map(|t| {
            let rows = t.shape.first().copied().unwrap_or(1).max(1);
            if row >= rows {
                return Err(Error::Unsupported(format!(
                    "row {row} out of range ({rows} rows)"
                )));
            }
            let per = t.data.len() / rows;
            let mut shape = t.shape.clone();
            if let Some(s) = shape.first_mut() {
                *s = 1;
            }
            Ok(Tensor {
                shape,
                data: t.data[row * per..(row + 1) * per].to_vec(),
            })
        })
        .collect()
}

/// Proves a built circuit; `times` are the keys and witness times to report.
fn prove_built<R: ark_std::rand::RngCore + ark_std::rand::CryptoRng>(
    pkg: &Package,
    keys: &phase2::Keys,
    c: circuit::Circuit,
    (keys_time, witness_time): (Duration, Duration),
    rng: &mut R,
) -> Result<ZkSubmission> {
    let t2 = Instant::now();
    let proof = groth::prove(&keys.pk, &c.cs, rng)?;
    let prove_time = t2.elapsed();
    let file = ProofFile {
        vk_hash: keys.pk.vk.hash(),
        input_hash: c
            .cs
            .z
            .get(1)
            .copied()
            .ok_or_else(|| Error::Unsupported("circuit without public inputs".to_owned()))?,
        outputs: pkg
            .outputs
            .iter()
            .zip(&c.outputs)
            .map(|(o, t)| TensorData {
                name: o.name.clone(),
                shape: t.shape.iter().map(|&d| d as u32).collect(),
                data: t.data.clone(),
            })
            .collect(),
        proof,
    };
    // A proof that does not verify would only revert on-chain (or fail a client's check);
    // one pairing check (~2 ms) keeps it from leaving the prover.
    if !file.verify(&keys.pk.vk)? {
        return Err(Error::SelfCheck);
    }
    let outs = file.flat_outputs();
    Ok(ZkSubmission {
        output_commitment: vouch_engine::exec::commit_list(&c.outputs),
        input_commitment: fr_to_be(&file.input_hash),
        calldata: vouch_zk::solidity::calldata_blob(&file.proof, &outs),
        file,
        constraints: c.cs.num_constraints(),
        variables: c.cs.num_vars(),
        domain: keys.pk.h_query.len() + 1,
        witness_time,
        keys_time,
        prove_time,
    })
}

/// Proves one inference from the keys file bytes (checked against `pkg`), with randomness from
/// the OS. `inputs` are quantized, one tensor per package input, batch 1 (see [`single_row`]).
pub fn prove(pkg: &Package, keys: &[u8], inputs: Vec<Tensor>) -> Result<ZkSubmission> {
    // Parsing the keys and building the circuit are independent: side by side, on two threads.
    let (parsed, built) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let t = Instant::now();
            read_keys(pkg, keys).map(|k| (k, t.elapsed()))
        });
        let t = Instant::now();
        let built = circuit::build(pkg, inputs).map(|c| (c, t.elapsed()));
        (reader.join(), built)
    });
    let (keys, keys_time) =
        parsed.map_err(|_| Error::Keys("the keys reader panicked".to_owned()))??;
    let (c, witness_time) = built?;
    prove_built(
        pkg,
        &keys,
        c,
        (keys_time, witness_time),
        &mut rand::rngs::OsRng,
    )
}
