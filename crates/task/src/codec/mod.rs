//! The task input codec, one definition for the gateway, the CLI, the node, receipt checks and
//! the zk task code: input JSON ([`json`]) to float tensors, float tensors to the package's
//! integers ([`quantize_inputs`], `docs/semantics.md` section 5), the mode's input commitment
//! ([`input_commitment`]) and the inline bytes a request carries ([`inline_bytes`]); outputs
//! back to floats ([`dequantize`]).

pub mod json;

use crate::Mode;
use vouch_engine::Tensor;
use vouch_model::{Kind, Package};

/// A float tensor (row-major).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FTensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Row-major data.
    pub data: Vec<f32>,
}

/// An input that cannot be read: its name and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input {name:?}: {reason}")]
pub struct InputError {
    /// Input name (`<inputs>` for the object as a whole).
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

/// `clamp(round(x / s), -128, 127)` in `f64`, rounding half away from zero: the `act8` case
/// of [`quantize_value_in`].
#[inline]
pub fn quantize_value(v: f32, s: f64) -> i32 {
    quantize_value_in(v, s, -128, 127)
}

/// `clamp(round(x / s), lo, hi)` in `f64`, rounding half away from zero — written with a
/// truncating conversion so it compiles to plain instructions (the result equals `f64::round`).
#[inline]
pub fn quantize_value_in(v: f32, s: f64, lo: i32, hi: i32) -> i32 {
    // Clamp first (NaN becomes 0 through the truncating conversion), then round half away
    // from zero with branch-free selects so the loop vectorizes.
    let t = (f64::from(v) / s).clamp(f64::from(lo) - 2.0, f64::from(hi) + 2.0);
    let i = t as i32;
    let frac = t - f64::from(i);
    let r = i + i32::from(frac >= 0.5) - i32::from(frac <= -0.5);
    r.clamp(lo, hi)
}

/// Quantizes float inputs, after each input's imputation of missing values when it has one,
/// with each input's scale and kind: [`quantize_value_in`] per element,
/// with element `j`'s feature scale `feature_scales[j mod F]` when the input has them
/// (`docs/semantics.md` section 5); an input read by tree ensembles is encoded as feature codes instead
/// ([`vouch_model::FeatureCodes`], `docs/semantics.md` section 3.1; element `i` of a row is
/// feature `i mod F`).
pub fn quantize_inputs(pkg: &Package, inputs: &[FTensor]) -> Vec<Tensor> {
    pkg.inputs
        .iter()
        .zip(inputs)
        .enumerate()
        .map(|(i, (spec, t))| {
            let info = &pkg.values[spec.value as usize];
            // the imputation first (docs/semantics.md section 5)
            let imputed;
            let t = match &spec.imputation {
                Some(imp) => {
                    let mut c = t.clone();
                    imp.apply_all(&mut c.data);
                    imputed = c;
                    &imputed
                }
                None => t,
            };
            let (s, (lo, hi)) = (info.scale, info.kind.act_range().unwrap_or((-128, 127)));
            // a decoded package has passed validation, so its encoding is well formed
            let data = match pkg.input_encoding(i).ok().flatten() {
                Some(codes) => {
                    let f = codes.thresholds.len().max(1);
                    t.data
                        .iter()
                        .enumerate()
                        .map(|(j, &v)| codes.code(j % f, v))
                        .collect()
                }
                None if !spec.feature_scales.is_empty() => {
                    let f = &spec.feature_scales;
                    t.data
                        .iter()
                        .enumerate()
                        .map(|(j, &v)| quantize_value_in(v, f[j % f.len()], lo, hi))
                        .collect()
                }
                None => t
                    .data
                    .iter()
                    .map(|&v| quantize_value_in(v, s, lo, hi))
                    .collect(),
            };
            Tensor {
                shape: t.shape.clone(),
                data,
            }
        })
        .collect()
}

/// Per graph input of `pkg`: whether it takes missing values (JSON `null`, NaN): it has an
/// imputation, or tree ensembles read it as feature codes (`docs/semantics.md` section 5).
pub fn missing_allowed(pkg: &Package) -> Vec<bool> {
    (0..pkg.inputs.len())
        .map(|i| {
            pkg.inputs[i].imputation.is_some() || pkg.input_encoding(i).ok().flatten().is_some()
        })
        .collect()
}

/// The inputs of `pkg` from a JSON object (`null` only where [`missing_allowed`]).
pub fn package_inputs_from_json(
    pkg: &Package,
    v: &serde_json::Value,
) -> Result<Vec<FTensor>, InputError> {
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    json::inputs_from_json_missing(v, &names, &missing_allowed(pkg))
}

/// Output `i` of `pkg` in floats (index outputs stay integers).
pub fn dequantize(pkg: &Package, i: usize, t: &Tensor) -> Vec<f64> {
    let info = &pkg.values[pkg.outputs[i].value as usize];
    let s = if info.kind == Kind::Index {
        1.0
    } else {
        info.scale
    };
    t.data.iter().map(|&q| f64::from(q) * s).collect()
}

/// The input commitment a request in `mode` carries: the list commitment of the quantized
/// tensors (optimistic, committee) or the Poseidon input hash the zk verifier checks (zk).
pub fn input_commitment(
    mode: Mode,
    pkg: &Package,
    inputs: &[Tensor],
) -> Result<[u8; 32], InputError> {
    match mode {
        Mode::Optimistic | Mode::Committee => Ok(vouch_engine::exec::commit_list(inputs)),
        Mode::Zk => {
            vouch_semantics::check_zk_version(pkg.semantics_version).map_err(|reason| {
                InputError {
                    name: "<package>".to_owned(),
                    reason,
                }
            })?;
            let flat: Vec<i32> = inputs.iter().flat_map(|t| t.data.iter().copied()).collect();
            let fr =
                vouch_zk::statement::input_hash_bits(pkg.input_bits(), &flat).map_err(|e| {
                    InputError {
                        name: "<inputs>".to_owned(),
                        reason: e.to_string(),
                    }
                })?;
            Ok(vouch_zk::statement::fr_to_be(&fr))
        }
    }
}

/// The canonical tensor bytes a request carries inline: every element of every input, in
/// order, as a big-endian `i32`.
pub fn inline_bytes(inputs: &[Tensor]) -> Vec<u8> {
    inputs
        .iter()
        .flat_map(|t| t.data.iter().flat_map(|v| v.to_be_bytes()))
        .collect()
}
