//! Input quantization, output dequantization and the accuracy report.

use crate::{FTensor, Result};
use vouch_engine::{Engine, Options};
use vouch_model::{AccuracyReport, Kind, OutputAccuracy, Package};

pub use vouch_task::codec::{dequantize, quantize_inputs, quantize_value, quantize_value_in};

fn argmax_rows(data: &[f64], cols: usize) -> Vec<usize> {
    data.chunks(cols.max(1))
        .map(|r| {
            r.iter()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                )
                .0
        })
        .collect()
}

/// The float output `i` as the engine lays several rows out ([`value_rows_end_to_end`]).
fn rows_end_to_end(pkg: &Package, i: usize, f: &FTensor) -> Vec<f64> {
    let value = pkg.outputs.get(i).map(|o| o.value as usize);
    value_rows_end_to_end(pkg, value, f)
}

/// The float tensor of package value `value` as the engine lays several rows out in its
/// outputs and traces (`docs/semantics.md` section 1: the single-row tensors end to end):
/// where the value's batch dimension is not the first axis (a state `[2, N, 128]`, a
/// time-major LSTM value `[T, N, H]`), each row's block is moved to the front.
pub(crate) fn value_rows_end_to_end(pkg: &Package, value: Option<usize>, f: &FTensor) -> Vec<f64> {
    let at = value
        .and_then(|v| pkg.values.get(v))
        .and_then(|v| v.shape.iter().position(|d| *d == vouch_model::Dim::Batch));
    let fl: Vec<f64> = f.data.iter().map(|&v| f64::from(v)).collect();
    let Some(b) = at.filter(|&b| b > 0 && b < f.shape.len()) else {
        return fl;
    };
    let rows = f.shape[b];
    let pre: usize = f.shape[..b].iter().product();
    let post: usize = f.shape[b + 1..].iter().product();
    if rows <= 1 || pre * rows * post != fl.len() {
        return fl;
    }
    let mut out = Vec::with_capacity(fl.len());
    for r in 0..rows {
        for p in 0..pre {
            let at = (p * rows + r) * post;
            out.extend_from_slice(&fl[at..at + post]);
        }
    }
    out
}

/// Runs the engine on the calibration inputs and compares with the float outputs.
pub fn measure(
    pkg: &Package,
    inputs: &[FTensor],
    float_outputs: &[FTensor],
) -> Result<AccuracyReport> {
    let engine = Engine::new(pkg, Options::default())?;
    let exec = engine.run(quantize_inputs(pkg, inputs))?;
    let samples = inputs
        .first()
        .and_then(|t| t.shape.first())
        .copied()
        .unwrap_or(0) as u32;
    let mut outputs = Vec::new();
    for (i, (q, f)) in exec.outputs.iter().zip(float_outputs).enumerate() {
        let deq = dequantize(pkg, i, q);
        let fl = rows_end_to_end(pkg, i, f);
        let max_abs_error = deq
            .iter()
            .zip(&fl)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        let max_abs_float = fl.iter().fold(0f64, |m, v| m.max(v.abs()));
        let info = &pkg.values[pkg.outputs[i].value as usize];
        let argmax_agreement = match (info.kind, f.shape.as_slice()) {
            (Kind::Index, _) if !fl.is_empty() => {
                Some(deq.iter().zip(&fl).filter(|(a, b)| a == b).count() as f64 / fl.len() as f64)
            }
            (_, [rows, cols]) if *cols > 1 && *rows > 0 => {
                let (a, b) = (argmax_rows(&deq, *cols), argmax_rows(&fl, *cols));
                Some(a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / *rows as f64)
            }
            _ => None,
        };
        outputs.push(OutputAccuracy {
            name: pkg.outputs[i].name.clone(),
            max_abs_error,
            max_abs_float,
            argmax_agreement,
        });
    }
    Ok(AccuracyReport { samples, outputs })
}

#[cfg(test)]
mod tests {
    use super::quantize_value;

    #[test]
    fn quantize_value_is_round_half_away_then_clamp() {
        let mut seed = 3u64;
        for i in 0..200_000u32 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = f32::from_bits((seed >> 32) as u32);
            let s = [0.1, 1.0 / 7.0, 0.0078125, 3.3][(i % 4) as usize];
            if !v.is_finite() {
                continue;
            }
            let want = ((f64::from(v) / s).round().clamp(-128.0, 127.0)) as i32;
            assert_eq!(quantize_value(v, s), want, "v={v} s={s}");
        }
        for (v, want) in [
            (0.5f32, 1),
            (-0.5, -1),
            (1.5, 2),
            (-1.5, -2),
            (0.49999997, 0),
            (200.0, 127),
            (-200.0, -128),
        ] {
            assert_eq!(quantize_value(v, 1.0), want, "{v}");
        }
    }
}
