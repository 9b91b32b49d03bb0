//! The public inputs of a proof.
//!
//! `publics = [input_hash, out_limb_0, out_limb_1, ...]` where
//! - `input_hash = poseidon::sponge(width, in_limbs, tag)` and `in_limbs` pack the graph
//!   inputs (all inputs in package order, row-major) at the width `b` of the package's widest
//!   input kind ([`input_layout`]): `floor(248 / b)` per limb, element `j` of a limb is
//!   `(v + 2^(b-1))` at bits `b·j`; `tag = n_in` for `act8` (`b = 8`, 31 per limb),
//!   `n_in + 2^62` for `act16` (`b = 16`, 15 per limb), `n_in + 2^63` for a wide input of a
//!   test package (`b = 32`, 7 per limb, the output packing). The sponge is Poseidon width 9
//!   for `act16` and width 3 otherwise ([`input_sponge`]);
//! - `out_limb`s pack the graph outputs (all outputs in package order, row-major) 7 per limb:
//!   element `j` of a limb is `(v + 2^31)` at bits `32j`.
//!
//! Both packings are injective for values in range, and the circuit proves the ranges.

use crate::{Error, Fr, Result, poseidon};
use ark_ff::PrimeField;

/// Input elements per limb.
pub const IN_PER_LIMB: usize = 31;
/// `act16` input elements per limb.
pub const IN16_PER_LIMB: usize = 15;
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

/// Elements per limb and the tag bit of an input packing of `bits` per element (8, 16 or 32).
pub fn input_layout(bits: u32) -> Result<(usize, u64)> {
    match bits {
        8 => Ok((IN_PER_LIMB, 0)),
        16 => Ok((IN16_PER_LIMB, 1 << 62)),
        32 => Ok((OUT_PER_LIMB, 1 << 63)),
        _ => Err(Error::Range {
            what: "input width in bits",
            value: i64::from(bits),
        }),
    }
}

/// The input commitment with `bits` per element: [`input_hash`] for 8, the `act16` packing for
/// 16, [`input_hash_wide`] for 32 (module docs).
pub fn input_hash_bits(bits: u32, inputs: &[i32]) -> Result<Fr> {
    match bits {
        8 => input_hash(inputs),
        32 => Ok(input_hash_wide(inputs)),
        _ => {
            let (per, tag) = input_layout(bits)?;
            let limbs = inputs
                .chunks(per)
                .map(|c| {
                    let mut bytes = [0u8; 32];
                    for (j, &v) in c.iter().enumerate() {
                        let u =
                            u16::try_from(i64::from(v) + (1 << 15)).map_err(|_| Error::Range {
                                what: "input",
                                value: i64::from(v),
                            })?;
                        bytes[2 * j..2 * j + 2].copy_from_slice(&u.to_le_bytes());
                    }
                    Ok(Fr::from_le_bytes_mod_order(&bytes))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(poseidon::sponge(
                input_sponge(bits),
                &limbs,
                inputs.len() as u64 | tag,
            ))
        }
    }
}

/// The Poseidon instance of an input commitment with `bits` per element: the width-9 sponge
/// for `act16` (eight limbs a permutation: the 16-bit packing has twice the limbs), width 3
/// otherwise.
pub fn input_sponge(bits: u32) -> poseidon::Width {
    if bits == 16 {
        poseidon::Width::T9
    } else {
        poseidon::Width::T3
    }
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

    #[test]
    fn act16_packing_is_range_checked_and_tagged() {
        assert!(input_hash_bits(16, &[32_768]).is_err());
        assert!(input_hash_bits(16, &[-32_769]).is_err());
        assert!(input_hash_bits(12, &[0]).is_err());
        // The same values under two widths are two different statements.
        let v = [-128, 0, 127];
        assert_ne!(
            input_hash_bits(16, &v).unwrap(),
            input_hash_bits(8, &v).unwrap()
        );
        assert_eq!(input_hash_bits(8, &v).unwrap(), input_hash(&v).unwrap());
        assert_ne!(
            input_hash_bits(16, &[-32_768; 15]).unwrap(),
            input_hash_bits(16, &[-32_768; 16]).unwrap()
        );
    }
}
