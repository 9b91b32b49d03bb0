//! Elementwise arithmetic: `Add`, `Mul` (binary, numpy broadcasting), `Rescale`, n-ary `Max`
//! and `Min`, and the binary and unary maps every elementwise op and activation runs on.

use super::{NodeRun, SemResult};
use crate::Result;
use crate::exec::shape_err;
use crate::tensor::{Tensor, broadcast_index, broadcast_shape};
use vouch_model::Node;
use vouch_semantics::{Error as SemError, Requant};

/// Elementwise binary op with numpy broadcasting.
pub fn binary(
    x: &Tensor,
    y: &Tensor,
    out_shape: &[usize],
    f: impl Fn(i64, i64) -> SemResult<i32>,
) -> SemResult<Tensor> {
    if x.shape == out_shape && y.shape == out_shape {
        // No broadcast (a residual `Add`, most `Mul`s): no index vectors.
        let data = x
            .data
            .iter()
            .zip(&y.data)
            .map(|(&a, &b)| f(i64::from(a), i64::from(b)))
            .collect::<SemResult<Vec<_>>>()?;
        return Ok(Tensor {
            shape: out_shape.to_vec(),
            data,
        });
    }
    let xi = broadcast_index(&x.shape, out_shape);
    let yi = broadcast_index(&y.shape, out_shape);
    let data = xi
        .iter()
        .zip(&yi)
        .map(|(&a, &b)| f(i64::from(x.data[a]), i64::from(y.data[b])))
        .collect::<SemResult<Vec<_>>>()?;
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data,
    })
}

/// Elementwise unary op.
pub fn unary(x: &Tensor, f: impl Fn(i32) -> SemResult<i32>) -> SemResult<Tensor> {
    let data = x
        .data
        .iter()
        .map(|&v| f(v))
        .collect::<SemResult<Vec<_>>>()?;
    Ok(Tensor {
        shape: x.shape.clone(),
        data,
    })
}

fn check_broadcast(node: &Node, x: &Tensor, y: &Tensor, out: &[usize]) -> Result<()> {
    match broadcast_shape(&x.shape, &y.shape) {
        Some(s) if s == out => Ok(()),
        _ => Err(shape_err(
            node,
            format!(
                "cannot broadcast {:?} with {:?} to {out:?}",
                x.shape, y.shape
            ),
        )),
    }
}

/// Runs an `Add` node: `requant(ma·x + mb·y)`.
pub(crate) fn run_add(r: &NodeRun<'_>, ma: i64, mb: i64, rq: &Requant) -> Result<Tensor> {
    let (x, y) = (r.x, r.ins[1]);
    check_broadcast(r.node, x, y, r.out_shape)?;
    binary(x, y, r.out_shape, |a, b| {
        let s = a
            .checked_mul(ma)
            .zip(b.checked_mul(mb))
            .and_then(|(p, q)| p.checked_add(q))
            .ok_or(SemError::Overflow { what: "add" })?;
        rq.apply(s)
    })
    .map_err(|e| r.sem(e))
}

/// Runs a `Mul` node: `requant(x·y)`.
pub(crate) fn run_mul(r: &NodeRun<'_>, rq: &Requant) -> Result<Tensor> {
    let (x, y) = (r.x, r.ins[1]);
    check_broadcast(r.node, x, y, r.out_shape)?;
    binary(x, y, r.out_shape, |a, b| rq.apply(a * b)).map_err(|e| r.sem(e))
}

/// Runs a `Rescale` node: `requant(x)`.
pub(crate) fn run_rescale(r: &NodeRun<'_>, rq: &Requant) -> Result<Tensor> {
    unary(r.x, |v| rq.apply(i64::from(v))).map_err(|e| r.sem(e))
}

/// `f` folded over every operand (numpy broadcasting to `out_shape`): the n-ary `Max`/`Min`.
pub fn nary(xs: &[&Tensor], out_shape: &[usize], f: impl Fn(i32, i32) -> i32) -> Tensor {
    let mut data: Vec<i32> = Vec::new();
    for (i, t) in xs.iter().enumerate() {
        let idx = broadcast_index(&t.shape, out_shape);
        let at = |j: usize| t.data.get(j).copied().unwrap_or(0);
        if i == 0 {
            data = idx.iter().map(|&j| at(j)).collect();
        } else {
            for (d, &j) in data.iter_mut().zip(&idx) {
                *d = f(*d, at(j));
            }
        }
    }
    Tensor {
        shape: out_shape.to_vec(),
        data,
    }
}

/// Runs a `Max` (`is_max`) or `Min` node: every operand broadcasts to the output.
pub(crate) fn run_min_max(r: &NodeRun<'_>, is_max: bool) -> Result<Tensor> {
    let mut s = r.x.shape.clone();
    for t in &r.ins[1..] {
        s = broadcast_shape(&s, &t.shape).unwrap_or_default();
    }
    if s != r.out_shape {
        return Err(r.err(format!("operands do not broadcast to {:?}", r.out_shape)));
    }
    Ok(if is_max {
        nary(&r.ins, r.out_shape, i32::max)
    } else {
        nary(&r.ins, r.out_shape, i32::min)
    })
}
