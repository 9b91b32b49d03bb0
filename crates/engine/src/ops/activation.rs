//! Elementwise activations: `Relu`, `Clip`, `LeakyRelu` and the 256-entry table `Lut`
//! (Sigmoid, Tanh), all on the unary map of [`super::elementwise`].

use super::elementwise::unary;
use super::{NodeRun, SemResult};
use crate::Result;
use crate::tensor::Tensor;
use vouch_semantics::{Error as SemError, Requant};

/// `T[X + 128]`.
pub fn lut(x: &Tensor, table: &[i32]) -> SemResult<Tensor> {
    unary(x, |v| {
        usize::try_from(v + 128)
            .ok()
            .and_then(|i| table.get(i).copied())
            .ok_or(SemError::Domain {
                what: "lut input outside act8",
            })
    })
}

/// Runs a `Relu` node: `max(x, 0)`.
pub(crate) fn run_relu(r: &NodeRun<'_>) -> Result<Tensor> {
    unary(r.x, |v| Ok(v.max(0))).map_err(|e| r.sem(e))
}

/// Runs a `Clip` node: `clamp(x, lo, hi)`.
pub(crate) fn run_clip(r: &NodeRun<'_>, lo: i32, hi: i32) -> Result<Tensor> {
    unary(r.x, |v| Ok(v.clamp(lo, hi))).map_err(|e| r.sem(e))
}

/// Runs a `LeakyRelu` node: `x` where `x >= 0`, else `requant(x)`.
pub(crate) fn run_leaky_relu(r: &NodeRun<'_>, rq: &Requant) -> Result<Tensor> {
    unary(r.x, |v| {
        if v >= 0 {
            Ok(v)
        } else {
            rq.apply(i64::from(v))
        }
    })
    .map_err(|e| r.sem(e))
}

/// Runs a `Lut` node on its table constant.
pub(crate) fn run_lut(r: &NodeRun<'_>, table: u32) -> Result<Tensor> {
    lut(r.x, r.konst(table)).map_err(|e| r.sem(e))
}
