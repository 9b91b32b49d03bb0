//! Per-tensor weights and the bias at the accumulator scale (`docs/semantics.md` sections 3 and
//! 5): what every `Linear` and `Conv` lowering starts from.

use super::{Builder, quant_sym};
use crate::Result;
use vouch_onnx::graph::FNode;

impl Builder<'_> {
    /// The weights of `c` at one scale per tensor (`s_w = max |W| / L`): the constant and `s_w`
    /// (its values: [`Builder::const_data`]).
    pub(super) fn weights(&mut self, node: &FNode, c: usize) -> (u32, f64) {
        let fc = &self.g.consts[c];
        let range = fc.data.iter().fold(0f32, |m, v| m.max(v.abs()));
        let lim = self.lim();
        let s_w = if range > 0.0 {
            f64::from(range) / f64::from(lim)
        } else {
            1.0
        };
        let data: Vec<i32> = fc.data.iter().map(|&v| quant_sym(v, s_w, lim)).collect();
        let id = self.add_const(format!("{}.weight", node.name), s_w, fc.shape.clone(), data);
        (id, s_w)
    }

    /// The bias at the accumulator scale `scale`, exact to the step: stored as it is when every
    /// value fits `i32`, else as a wide `[N, 2]` bias (`docs/semantics.md` section 3, version
    /// 5) of `i64`-ranged values. Returns the constant and the values.
    pub(super) fn bias(
        &mut self,
        node: &FNode,
        c: Option<usize>,
        scale: f64,
    ) -> Result<(Option<u32>, Vec<i64>)> {
        let Some(c) = c else {
            return Ok((None, Vec::new()));
        };
        let fc = &self.g.consts[c];
        let mut values = Vec::with_capacity(fc.data.len());
        for &b in &fc.data {
            let q = (f64::from(b) / scale).round();
            // 2^62: the widest value a [hi, lo] pair holds (hi = floor(q / 2^31) in i32)
            if !q.is_finite() || q.abs() >= 4_611_686_018_427_387_904.0 {
                return Err(Self::err(
                    node,
                    "bias does not fit i64 at the accumulator scale",
                ));
            }
            values.push(q as i64);
        }
        let narrow: Option<Vec<i32>> = values.iter().map(|&v| i32::try_from(v).ok()).collect();
        let (shape, data) = match narrow {
            Some(data) => (fc.shape.clone(), data),
            None => {
                let pairs: Option<Vec<[i32; 2]>> = values
                    .iter()
                    .map(|&v| vouch_semantics::split_bias(v))
                    .collect();
                let pairs =
                    pairs.ok_or_else(|| Self::err(node, "bias does not fit a wide bias"))?;
                (vec![values.len(), 2], pairs.concat())
            }
        };
        let id = self.add_const(format!("{}.bias", node.name), scale, shape, data);
        Ok((Some(id), values))
    }
}
