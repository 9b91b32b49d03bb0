//! Lowering windowed pooling: `MaxPool` and `AveragePool` keep the input's kind and scale;
//! `GlobalAveragePool` becomes an `AveragePool` over the whole (fixed) spatial extent.

use super::Builder;
use crate::Result;
use vouch_model::{Op, Operand};
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
}

fn u32s<const N: usize>(a: &[usize; N]) -> [u32; N] {
    a.map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}
