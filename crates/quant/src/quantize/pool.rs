//! Lowering windowed pooling: `MaxPool` and `AveragePool` keep the input's kind and scale;
//! `GlobalAveragePool` becomes an `AveragePool` over the whole (fixed) spatial extent, or, on
//! a plane too large for one one-step check, a `Linear` sum of the flattened plane.

use super::Builder;
use super::{QVal, kind_range};
use crate::Result;
use vouch_model::{Dim, Op, Operand, Requant};
use vouch_onnx::graph::{self as fg, FNode};

impl Builder<'_> {
    /// `MaxPool`.
    pub(super) fn max_pool(
        &mut self,
        node: &FNode,
        name: String,
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
    ) -> Result<()> {
        let x = self.input(node, 0)?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        let op = Op::MaxPool {
            kernel: u32s(&kernel),
            strides: u32s(&strides),
            pads: u32s(&pads),
            dilations: u32s(&dilations),
        };
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `AveragePool`.
    pub(super) fn average_pool(
        &mut self,
        node: &FNode,
        name: String,
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        count_include_pad: bool,
    ) -> Result<()> {
        let x = self.input(node, 0)?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        let op = Op::AveragePool {
            kernel: u32s(&kernel),
            strides: u32s(&strides),
            pads: u32s(&pads),
            count_include_pad,
        };
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `GlobalAveragePool`: an `AveragePool` whose kernel is the input's spatial size.
    pub(super) fn global_average_pool(&mut self, node: &FNode, name: String) -> Result<()> {
        let g = self.g;
        let x = self.input(node, 0)?;
        let fg::Operand::Value(xv) = node.inputs[0] else {
            return Err(Self::err(node, "expected a dynamic input"));
        };
        let dims: Vec<usize> = g.values[xv]
            .shape
            .iter()
            .skip(2)
            .map(|d| {
                if let fg::Dim::Fixed(n) = d {
                    Ok(*n)
                } else {
                    Err(Self::err(node, "spatial size must be fixed"))
                }
            })
            .collect::<Result<_>>()?;
        let kernel = match dims[..] {
            [h, w] => [h, w],
            [w] => [1, w],
            _ => {
                return Err(Self::err(
                    node,
                    "GlobalAveragePool needs a 1-D or 2-D input",
                ));
            }
        };
        let plane = kernel[0] * kernel[1];
        if plane > vouch_semantics::MAX_REDUCE_SPAN {
            return self.global_average_by_sum(node, name, x, plane);
        }
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        let op = Op::AveragePool {
            kernel: u32s(&kernel),
            strides: [1, 1],
            pads: [0; 4],
            count_include_pad: false,
        };
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `GlobalAveragePool` over a plane of more than [`vouch_semantics::MAX_REDUCE_SPAN`]
    /// elements: an `AveragePool` element's one-step check reads its whole window (18.6M gas
    /// for an 80x80 plane, past a transaction's gas cap on a larger one), so the plane is
    /// flattened onto the last axis and summed by a `Linear` of weights 1, requantized by
    /// `1/plane` onto the input's scale. Existing ops only: the sum's one-step check is the
    /// partial-sum game every wide `Linear` plays, whatever the plane's size.
    fn global_average_by_sum(
        &mut self,
        node: &FNode,
        name: String,
        x: QVal,
        plane: usize,
    ) -> Result<()> {
        let mut flat = self.values[x.id as usize].shape.clone();
        let plane_dim = u32::try_from(plane).map_err(|_| Self::err(node, "plane too large"))?;
        flat.truncate(2);
        let mut summed = flat.clone();
        flat.push(Dim::Fixed(plane_dim));
        summed.push(Dim::Fixed(1));
        let fname = format!("{name}/flat");
        let f = self.new_value(fname.clone(), x.kind, x.scale, flat);
        self.push(node, fname, Op::Reshape, vec![Operand::Value(x.id)], f);
        let (m, s) = super::multiplier(1.0 / plane as f64)
            .ok_or_else(|| Self::err(node, "no multiplier for 1 / plane"))?;
        let (lo, hi) = kind_range(x.kind);
        let ones = self.add_const(
            format!("{name}/sum.weight"),
            1.0,
            vec![1, plane],
            vec![1; plane],
        );
        let mname = format!("{name}/mean");
        let mean = self.new_value(mname.clone(), x.kind, x.scale, summed);
        let op = Op::Linear {
            weight: ones,
            bias: None,
            rq: Requant { m, s, lo, hi },
            wide: false,
        };
        self.push(node, mname, op, vec![Operand::Value(f)], mean);
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        self.push(node, name, Op::Reshape, vec![Operand::Value(mean)], q.id);
        Ok(())
    }
}

fn u32s<const N: usize>(a: &[usize; N]) -> [u32; N] {
    a.map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}
