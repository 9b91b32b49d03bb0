//! A 16-bit `Conv` whose input is a `Concat` along channels that nothing else reads (YOLOv8n's
//! C2f blocks and detection neck) reads the `Concat`'s inputs in place while it builds its
//! planes: the `Concat` is never stored (its copy was about a twentieth of YOLOv8n's run).
//! Untraced runs with the fast paths on; the same integers (the planes hold the same values).

use super::{Engine, Prepared, shape_err, silu::Readers};
use crate::Result;
use crate::gemm::conv16::Silu;
use crate::ops::conv::{ConvIn, run_conv_of};
use crate::ops::window;
use crate::tensor::{Tensor, resolve};
use vouch_model::{Op, Operand, Package};

/// Whether node `c` of `pkg` is a 16-bit `Conv` on the fast path (`prepared`) whose input is
/// the output of a `Concat` along axis 1 that only it reads (and no graph output), every input
/// of the `Concat` a value whose kind's range lies within the `Concat`'s (each value is
/// checked against its own kind when computed, so the stored `Concat` would pass its check):
/// the `Concat`'s node index.
pub(super) fn concat_read_at(
    pkg: &Package,
    prepared: &[Prepared],
    readers: &Readers,
    c: usize,
) -> Option<usize> {
    let conv = pkg.nodes.get(c)?;
    let (Op::Conv { .. }, Some(Prepared::Conv(_, true, ch, Some(_)))) = (&conv.op, prepared.get(c))
    else {
        return None;
    };
    let Some(Operand::Value(v)) = conv.inputs.first().copied() else {
        return None;
    };
    if ch.mults.is_some() || pkg.outputs.iter().any(|o| o.value == v) || readers.of_value(v) != [c]
    {
        return None;
    }
    let k = readers.writer_of(v).filter(|&k| k < c)?;
    let concat = pkg.nodes.get(k)?;
    if !matches!(concat.op, Op::Concat { axis: 1 }) || concat.inputs.is_empty() {
        return None;
    }
    let range = pkg.values.get(v as usize)?.kind.act_range();
    for op in &concat.inputs {
        let Operand::Value(u) = *op else {
            return None;
        };
        let inside = match (range, pkg.values.get(u as usize)?.kind.act_range()) {
            (None, _) => true,
            (Some((lo, hi)), Some((a, b))) => lo <= a && b <= hi,
            (Some(_), None) => false,
        };
        if !inside {
            return None;
        }
    }
    Some(k)
}

impl Engine<'_> {
    /// Node `c` (a `Conv` with the SiLU `silu` in its epilogue when given), reading the inputs
    /// of the `Concat` [`concat_read_at`] found for it in place; any other node as usual.
    pub(super) fn run_conv_node(
        &self,
        c: usize,
        values: &[Option<Tensor>],
        batch: usize,
        out_shape: &[usize],
        silu: Option<Silu<'_>>,
    ) -> Result<Tensor> {
        let pkg = self.pkg;
        let node = &pkg.nodes[c];
        let Some(concat) = self.concat_in[c].and_then(|k| pkg.nodes.get(k)) else {
            return self.run_node(node, &self.prepared[c], values, out_shape, silu);
        };
        let parts = concat
            .inputs
            .iter()
            .map(|op| match *op {
                Operand::Value(u) => values
                    .get(u as usize)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| shape_err(concat, format!("value {u} not computed"))),
                Operand::Const(_) => Err(shape_err(concat, "a constant input")),
            })
            .collect::<Result<Vec<&Tensor>>>()?;
        // the `Concat`'s own check: its inputs concatenate along channels to its declared shape
        let shape = resolve(&pkg.values[concat.output as usize].shape, batch);
        let fits = shape.len() >= 2
            && parts.iter().all(|t| {
                t.shape.len() == shape.len()
                    && t.shape
                        .iter()
                        .zip(&shape)
                        .enumerate()
                        .all(|(i, (d, o))| i == 1 || d == o)
            })
            && parts.iter().map(|t| t.shape[1]).sum::<usize>() == shape[1];
        if !fits {
            return Err(shape_err(
                concat,
                "inputs do not concatenate to the declared shape",
            ));
        }
        let (
            Op::Conv {
                kernel,
                strides,
                pads,
                dilations,
                rq,
                wide,
                ..
            },
            Prepared::Conv(ws, acc64, ch, fast),
        ) = (&node.op, &self.prepared[c])
        else {
            return Err(shape_err(
                node,
                "a Concat read in place by a node not a Conv",
            ));
        };
        let win = window(*kernel, *strides, *pads, *dilations);
        let x = ConvIn {
            parts: &parts,
            shape: &shape,
            bufs: Some(&self.buffers),
        };
        let w = (ws.as_slice(), *acc64, ch);
        run_conv_of(
            node,
            x,
            out_shape,
            w,
            win,
            rq,
            *wide,
            fast.as_deref(),
            silu,
            false,
        )
    }
}
