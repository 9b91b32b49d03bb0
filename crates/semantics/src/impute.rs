//! `ai.onnx.ml` `Imputer` on a graph input, as the first step of the client's input encoding
//! (`docs/semantics.md` section 5): a missing value is replaced by its feature's value before
//! the input is quantized, so the integer graph never sees it.

use serde::{Deserialize, Serialize};

/// Per-feature replacement of a missing value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imputation {
    /// The `binary32` bit pattern of the value that marks a missing element (NaN: every NaN
    /// is missing).
    pub replaced_bits: u32,
    /// The `binary32` bit patterns of the replacement for each feature (last axis).
    pub values_bits: Vec<u32>,
}

impl Imputation {
    /// The imputation of `replaced` by `values[k]` for feature `k`.
    pub fn new(replaced: f32, values: &[f32]) -> Self {
        Self {
            replaced_bits: replaced.to_bits(),
            values_bits: values.iter().map(|v| v.to_bits()).collect(),
        }
    }

    /// Element `j` of a row-major input whose value is `x`: `values[j mod F]` when `x` is
    /// missing (NaN when the marker is NaN, otherwise IEEE-equal to the marker), else `x`.
    pub fn apply(&self, j: usize, x: f32) -> f32 {
        let r = f32::from_bits(self.replaced_bits);
        let missing = if r.is_nan() { x.is_nan() } else { x == r };
        match self.values_bits.len() {
            0 => x,
            f if missing => f32::from_bits(self.values_bits[j % f]),
            _ => x,
        }
    }

    /// [`Imputation::apply`] over row-major data.
    pub fn apply_all(&self, data: &mut [f32]) {
        for (j, x) in data.iter_mut().enumerate() {
            *x = self.apply(j, *x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Imputation;

    #[test]
    fn nan_or_the_marker_is_replaced_per_feature() {
        let nan = Imputation::new(f32::NAN, &[1.5, -2.0]);
        let mut d = [f32::NAN, 3.0, 4.0, f32::NAN, -0.0, 0.0];
        nan.apply_all(&mut d);
        assert_eq!(
            d.map(f32::to_bits),
            [1.5f32, 3.0, 4.0, -2.0, -0.0, 0.0].map(f32::to_bits)
        );
        // a numeric marker: IEEE equality, so -0.0 matches 0.0; NaN stays
        let zero = Imputation::new(0.0, &[7.0]);
        let mut d = [-0.0, 1.0, f32::NAN];
        zero.apply_all(&mut d);
        assert_eq!(d[..2], [7.0, 1.0]);
        assert!(d[2].is_nan());
    }
}
