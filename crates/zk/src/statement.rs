//! The public inputs of a proof.
//!
//! `publics = [input_hash, out_limb_0, out_limb_1, ...]` where
//! - `input_hash = poseidon::hash(in_limbs, n_in)` and `in_limbs` pack the graph inputs (all inputs in
//!   package order, row-major, each an `act8` value) 31 per limb: element `j` of a limb is
//!   `(v + 128)` at bits `8j`;
//! - `out_limb`s pack the graph outputs (all outputs in package order, row-major) 7 per limb:
//!   element `j` of a limb is `(v + 2^31)` at bits `32j`.
//!
//! Both packings are injective for values in range, and the circuit proves the ranges.

use crate::{Error, Fr, Result, poseidon};
use ark_ff::PrimeField;

/// Input elements per limb.
pub const IN_PER_LIMB: usize = 31;
/// Output elements per limb.
pub const OUT_PER_LIMB: usize = 7;

/// What a proof claims: which input (by commitment) gave which outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// [`input_hash`] of the input.
    pub input_hash: Fr,
    /// Every output element, outputs in package order.
    pub outputs: Vec<i32>,
}

impl Statement {
    /// The statement for a full input (checks that every input value is `act8`).
    pub fn new(inputs: &[i32], outputs: Vec<i32>) -> Result<Self> {
        Ok(Self {
            input_hash: input_hash(inputs)?,
            outputs,
        })
    }

    /// The public inputs (without the leading constant one).
    pub fn public_inputs(&self) -> Vec<Fr> {
        let mut v = vec![self.input_hash];
        v.extend(pack_outputs(&self.outputs));
        v
    }
}

/// Packs `act8` input values into limbs.
pub fn pack_inputs(inputs: &[i32]) -> Result<Vec<Fr>> {
    inputs
        .chunks(IN_PER_LIMB)
        .map(|c| {
            let mut bytes = [0u8; 32];
            for (j, &v) in c.iter().enumerate() {
                let b = u8::try_from(i64::from(v) + 128).map_err(|_| Error::Range {
                    what: "input",
                    value: i64::from(v),
                })?;
                bytes[j] = b;
            }
            Ok(Fr::from_le_bytes_mod_order(&bytes))
        })
        .collect()
}

/// The input commitment: Poseidon over the packed input limbs, tagged with the element count.
pub fn input_hash(inputs: &[i32]) -> Result<Fr> {
    Ok(poseidon::hash(&pack_inputs(inputs)?, inputs.len() as u64))
}

/// The input commitment of a package with a `wide` graph input (only single-op test
/// packages have one): inputs packed like outputs, tag `n_in + 2^63`.
pub fn input_hash_wide(inputs: &[i32]) -> Fr {
    poseidon::hash(&pack_outputs(inputs), inputs.len() as u64 | 1 << 63)
}

/// Packs output values (any `i32`) into limbs.
pub fn pack_outputs(outputs: &[i32]) -> Vec<Fr> {
    outputs
        .chunks(OUT_PER_LIMB)
        .map(|c| {
            let mut bytes = [0u8; 32];
            for (j, &v) in c.iter().enumerate() {
                let u = (i64::from(v) + (1i64 << 31)) as u32;
                bytes[4 * j..4 * j + 4].copy_from_slice(&u.to_le_bytes());
            }
            Fr::from_le_bytes_mod_order(&bytes)
        })
        .collect()
}

/// Number of public inputs (without the constant one) for `n_out` output elements.
pub fn num_public(n_out: usize) -> usize {
    1 + n_out.div_ceil(OUT_PER_LIMB)
}

/// 32-byte big-endian encoding of a field element (as the EVM reads it).
pub fn fr_to_be(x: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    let le = x.into_bigint().0;
    for (i, limb) in le.iter().rev().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&limb.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_is_injective_at_edges() {
        let a = pack_outputs(&[i32::MIN, i32::MAX, 0, -1]);
        let b = pack_outputs(&[i32::MIN, i32::MAX, -1, 0]);
        assert_ne!(a, b);
        assert!(pack_inputs(&[128]).is_err());
        assert!(pack_inputs(&[-129]).is_err());
        assert_ne!(
            input_hash(&[-128; 31]).unwrap(),
            input_hash(&[-128; 32]).unwrap()
        );
    }
}
