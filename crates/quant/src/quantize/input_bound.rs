//! Ranges a declared input range bounds. A float graph input whose domain is declared
//! (`vouch model import --input-range`, [`vouch_onnx::graph::FValue::declared_range`]) bounds
//! the first `Conv` or `Linear` that reads it, and the elementwise ops after that layer, by
//! interval arithmetic: an output channel of weights `w` and bias `b` over inputs in
//! `[lo, hi]` (and the zeros of its padding) lies within `Σ max(w·lo, w·hi, 0) + b` and
//! `Σ min(w·lo, w·hi, 0) + b`. Such a value is held at its bound `B` over `L` steps, with no
//! headroom: it cannot pass it, so no held-out image can clip it, where the calibrated
//! range (twice the calibration rows' maximum) is passed by an edge or a texture the few
//! calibration images did not hold (PP-OCRv6 tiny rec: its first `Conv` reaches 100.9 on one
//! held-out image against 38.4 over the 4 calibration images). The cost is bounded too: at
//! `B / L` a value's rounding is at most what the input's own rounding (`hi / L` a step,
//! `Σ |w| ≤ B` the gain) can already move it. The bound stops at the next `Conv`, `Linear` or
//! `MatMul` (bounds through a second layer are loose) and at any op not listed in
//! [`bound_of`]; a model with no declared input range keeps every range
//! (docs/architecture.md, "Ranges from a declared input").

use super::{HEADROOM_16, Precision};
use vouch_onnx::ScalarFn;
use vouch_onnx::graph::{FGraph, FNode, FOp, Operand};

/// An interval `[lo, hi]` and whether a `Conv`/`Linear` lies between it and the input.
#[derive(Debug, Clone, Copy)]
struct Bound {
    lo: f64,
    hi: f64,
    past_layer: bool,
}

/// Whether `f` is monotonic on the whole line (its image of `[lo, hi]` is that of the ends).
fn monotonic(f: ScalarFn) -> bool {
    matches!(
        f,
        ScalarFn::Erf
            | ScalarFn::HardSigmoid { .. }
            | ScalarFn::Exp
            | ScalarFn::Neg
            | ScalarFn::Softsign
            | ScalarFn::Softplus
            | ScalarFn::Floor
            | ScalarFn::Ceil
            | ScalarFn::Round
            | ScalarFn::Sign
    )
}

/// The interval of an operand: a constant's smallest and largest element, a value's bound.
fn operand(g: &FGraph, bounds: &[Option<Bound>], o: &Operand) -> Option<Bound> {
    match *o {
        Operand::Value(v) => bounds.get(v).copied().flatten(),
        Operand::Const(c) => {
            let d = &g.consts.get(c)?.data;
            let lo = d.iter().fold(f64::INFINITY, |m, &x| m.min(f64::from(x)));
            let hi = d
                .iter()
                .fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
            (lo <= hi).then_some(Bound {
                lo,
                hi,
                past_layer: false,
            })
        }
    }
}

/// The interval of each output channel's sums `Σ w · x + b` over `x` in `x` or 0 (padding),
/// as one interval (the channels' union); `None` past a first layer.
fn weighted(g: &FGraph, x: Bound, weight: usize, bias: Option<usize>) -> Option<Bound> {
    if x.past_layer {
        return None;
    }
    let w = g.consts.get(weight)?;
    let rows = *w.shape.first()?;
    if rows == 0 || w.data.is_empty() {
        return None;
    }
    let per = w.data.len() / rows;
    let (xlo, xhi) = (x.lo.min(0.0), x.hi.max(0.0));
    let b = bias.and_then(|c| g.consts.get(c)).map(|c| &c.data[..]);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (n, row) in w.data.chunks(per.max(1)).enumerate() {
        let bn = b.and_then(|b| b.get(n)).map_or(0.0, |&v| f64::from(v));
        let (mut l, mut h) = (bn, bn);
        for &wi in row {
            let (a, c) = (f64::from(wi) * xlo, f64::from(wi) * xhi);
            l += a.min(c);
            h += a.max(c);
        }
        lo = lo.min(l);
        hi = hi.max(h);
    }
    Some(Bound {
        lo,
        hi,
        past_layer: true,
    })
}

/// The bound of `node`'s output from its operands' bounds, or `None`.
fn bound_of(g: &FGraph, bounds: &[Option<Bound>], node: &FNode) -> Option<Bound> {
    let arg = |i: usize| node.inputs.get(i).and_then(|o| operand(g, bounds, o));
    let past = |a: Bound, b: Bound| a.past_layer || b.past_layer;
    // only values computed from a declared input: not constants alone
    if !node
        .inputs
        .iter()
        .any(|o| matches!(o, Operand::Value(v) if bounds.get(*v).copied().flatten().is_some()))
    {
        return None;
    }
    let r = match node.op {
        FOp::Conv { weight, bias, .. } | FOp::Linear { weight, bias } => {
            weighted(g, arg(0)?, weight, bias)?
        }
        FOp::Add => {
            let (a, b) = (arg(0)?, arg(1)?);
            Bound {
                lo: a.lo + b.lo,
                hi: a.hi + b.hi,
                past_layer: past(a, b),
            }
        }
        FOp::Sub => {
            let (a, b) = (arg(0)?, arg(1)?);
            Bound {
                lo: a.lo - b.hi,
                hi: a.hi - b.lo,
                past_layer: past(a, b),
            }
        }
        FOp::Mul => {
            let (a, b) = (arg(0)?, arg(1)?);
            let p = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
            Bound {
                lo: p.iter().copied().fold(f64::INFINITY, f64::min),
                hi: p.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                past_layer: past(a, b),
            }
        }
        FOp::Relu => {
            let a = arg(0)?;
            Bound {
                lo: a.lo.max(0.0),
                hi: a.hi.max(0.0),
                ..a
            }
        }
        FOp::Clip { min, max } => {
            let a = arg(0)?;
            let (m, x) = (f64::from(min), f64::from(max));
            Bound {
                lo: a.lo.clamp(m.min(x), x),
                hi: a.hi.clamp(m.min(x), x),
                ..a
            }
        }
        FOp::Sigmoid | FOp::Tanh => {
            let a = arg(0)?;
            let f = |v: f64| match node.op {
                FOp::Sigmoid => 1.0 / (1.0 + (-v).exp()),
                _ => v.tanh(),
            };
            Bound {
                lo: f(a.lo),
                hi: f(a.hi),
                ..a
            }
        }
        FOp::Map { f } if monotonic(f) => {
            let a = arg(0)?;
            // the float form the reference computes, at the interval's ends
            let (l, h) = (
                f64::from(f.apply(a.lo as f32)),
                f64::from(f.apply(a.hi as f32)),
            );
            Bound {
                lo: l.min(h),
                hi: l.max(h),
                ..a
            }
        }
        FOp::Reshape | FOp::Transpose { .. } | FOp::Select { .. } => arg(0)?,
        _ => return None,
    };
    (r.lo.is_finite() && r.hi.is_finite() && r.lo <= r.hi).then_some(r)
}

/// The calibrated ranges with every value bounded through a first layer by a declared input
/// range widened to its bound over [`HEADROOM_16`] (so its scale is the bound over `L`) where
/// that is past the calibrated range; `None` when nothing changes (no declared input, every
/// bound within its value's calibrated coverage, or an 8-bit package).
pub(super) fn bounded(g: &FGraph, ranges: &[f32], precision: Precision) -> Option<Vec<f32>> {
    if precision != Precision::Int16 {
        return None;
    }
    let mut bounds: Vec<Option<Bound>> = vec![None; g.values.len()];
    for &v in &g.inputs {
        if let (Some((lo, hi)), Some(b)) = (g.values[v].declared_range, bounds.get_mut(v)) {
            *b = Some(Bound {
                lo: f64::from(lo),
                hi: f64::from(hi),
                past_layer: false,
            });
        }
    }
    let mut out = ranges.to_vec();
    let mut any = false;
    for node in &g.nodes {
        let Some(b) = bound_of(g, &bounds, node) else {
            continue;
        };
        if let Some(slot) = bounds.get_mut(node.output) {
            *slot = Some(b);
        }
        let reach = b.lo.abs().max(b.hi.abs());
        // widen only: where the calibrated range (with its headroom) covers the bound, the
        // value keeps it, and so does the package
        let wide = (reach / HEADROOM_16) as f32;
        if b.past_layer
            && let Some(r) = out.get_mut(node.output)
            && wide > *r
        {
            *r = wide;
            any = true;
        }
    }
    any.then_some(out)
}
