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

/// Feature value `v` at scale `s` as two `act16` limbs `(H, L)` of `m` low bits
/// ([`vouch_model::IoSpec::limb_bits`], `docs/semantics.md` section 5): `X = clamp(round(v / s),
/// ±32767 · 2^m)` in `f64` (NaN reads 0), `H = round(X / 2^m)`, `L = X - 2^m H`, rounding half
/// away from zero; so `X = 2^m H + L`, `|H| <= 32767` and `|L| <= 2^(m-1)`.
pub fn quantize_limbs(v: f32, s: f64, m: u32) -> (i32, i32) {
    let unit = f64::from(1u32 << m.min(vouch_model::MAX_LIMB_BITS));
    let bound = 32767.0 * unit;
    let t = f64::from(v) / s;
    let x = if t.is_nan() {
        0.0
    } else {
        t.clamp(-bound, bound).round()
    };
    let h = (x / unit).round();
    // |h| <= 32767 and |x - unit h| <= unit / 2, both exact in f64
    (h as i32, (x - unit * h) as i32)
}

/// Quantizes float inputs, after each input's imputation of missing values when it has one,
/// with each input's scale and kind: [`quantize_value_in`] per element,
/// with element `j`'s feature scale `feature_scales[j mod F]` when the input has them
/// (`docs/semantics.md` section 5), as two limbs each when it has [`vouch_model::IoSpec::limb_bits`]
/// ([`quantize_limbs`]: the last axis doubles); an input read by tree ensembles is encoded as feature codes instead
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
                None if spec.limb_bits > 0 && !spec.feature_scales.is_empty() => {
                    // each row's F high limbs, then its F low limbs
                    let f = &spec.feature_scales;
                    let mut out = Vec::with_capacity(2 * t.data.len());
                    for row in t.data.chunks(f.len()) {
                        let limbs: Vec<(i32, i32)> = row
                            .iter()
                            .zip(f)
                            .map(|(&v, &s)| quantize_limbs(v, s, spec.limb_bits))
                            .collect();
                        out.extend(limbs.iter().map(|l| l.0));
                        out.extend(limbs.iter().map(|l| l.1));
                    }
                    out
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
            let mut shape = t.shape.clone();
            if spec.limb_bits > 0
                && let Some(last) = shape.last_mut()
            {
                *last *= 2;
            }
            Tensor { shape, data }
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

/// The inputs of `pkg` from a JSON object (`null` only where [`missing_allowed`]); an exact
/// integer input's numbers are checked as written ([`check_integers`]), before any rounding
/// to `f32`.
pub fn package_inputs_from_json(
    pkg: &Package,
    v: &serde_json::Value,
) -> Result<Vec<FTensor>, InputError> {
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let tensors = json::inputs_from_json_missing(v, &names, &missing_allowed(pkg))?;
    for spec in &pkg.inputs {
        if let (Some(range), Some(x)) = (spec.integer, v.get(&spec.name)) {
            let mut numbers = Vec::new();
            json_numbers(x, &mut numbers);
            check_integers(&spec.name, range, numbers)?;
        }
    }
    Ok(tensors)
}

/// The numbers of a nested JSON array, row-major.
fn json_numbers(v: &serde_json::Value, out: &mut Vec<f64>) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_numbers(x, out)),
        serde_json::Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN)),
        _ => out.push(f64::NAN),
    }
}

/// Checks the values of the exact integer input `name` (`docs/semantics.md` section 5): each
/// an integer inside `range` (inclusive), else an error naming the input, the element and the
/// value. Such inputs are read exactly, never rounded or clamped.
pub fn check_integers(
    name: &str,
    (lo, hi): (i32, i32),
    values: impl IntoIterator<Item = f64>,
) -> Result<(), InputError> {
    for (i, x) in values.into_iter().enumerate() {
        let why = if x.fract() != 0.0 || !x.is_finite() {
            "is not an integer"
        } else if x < f64::from(lo) || x > f64::from(hi) {
            "is outside the input's range"
        } else {
            continue;
        };
        return Err(InputError {
            name: name.to_owned(),
            reason: format!(
                "element {i} ({x}) {why}: an integer input takes the integers {lo} to {hi}"
            ),
        });
    }
    Ok(())
}

/// Checks every exact integer input of `pkg` in `inputs` ([`check_integers`]).
pub fn check_integer_inputs(pkg: &Package, inputs: &[FTensor]) -> Result<(), InputError> {
    for (spec, t) in pkg.inputs.iter().zip(inputs) {
        if let Some(range) = spec.integer {
            check_integers(&spec.name, range, t.data.iter().map(|&v| f64::from(v)))?;
        }
    }
    Ok(())
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
