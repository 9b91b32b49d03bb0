//! Trees after an `ai.onnx.ml` `Scaler` (`docs/semantics.md` section 3.1): onnxruntime computes
//! `y = (x - offset) · scale` in `binary32`, and `y(x)` is monotone in `x` (each rounding is
//! monotone), so a test `y OP t` is the test `x OP' u` for a float `u` found by bisection over
//! the ordered floats. The trees then read `x` (a graph input, encoded by its thresholds) and
//! the Scaler's two nodes are dropped. `EQ`/`NEQ`, a zero or non-finite scale, an offset that
//! is not finite, and a Scaler output read by anything else are refused, naming the node.

use crate::error::Result;
use crate::graph::{FTreeNode, NodeMode, ValueId};
use crate::import::Ctx;

/// A `Scaler`'s output: what it scaled, how, and the number of graph nodes before its two.
#[derive(Debug, Clone)]
pub(crate) struct Scaled {
    /// The value scaled.
    pub(crate) x: ValueId,
    /// Per-feature offsets.
    pub(crate) offset: Vec<f32>,
    /// Per-feature scales.
    pub(crate) scale: Vec<f32>,
    /// `g.nodes.len()` before the Scaler's `Mul` and `Add`.
    pub(crate) nodes: usize,
}

/// onnxruntime's `Scaler` of one value, in `binary32`.
pub(crate) fn scaler(x: f32, o: f32, s: f32) -> f32 {
    (x - o) * s
}

/// The order-preserving key of a non-NaN float (`-inf` smallest, `+inf` largest); consecutive
/// floats have consecutive keys (`-0.0` is -1, `+0.0` is 0).
fn key(x: f32) -> i64 {
    let b = i64::from(x.to_bits() & 0x7fff_ffff);
    if x.is_sign_negative() { -b - 1 } else { b }
}

/// The float of a key.
fn from_key(k: i64) -> f32 {
    let bits = if k >= 0 {
        u32::try_from(k).unwrap_or(0)
    } else {
        u32::try_from(-(k + 1)).unwrap_or(0) | 0x8000_0000
    };
    f32::from_bits(bits)
}

/// The largest float `x` (not NaN) with `p(x)`, for a predicate true on a prefix of the
/// ordered floats; `None` when it holds nowhere.
fn last_true(p: impl Fn(f32) -> bool) -> Option<f32> {
    let (mut lo, mut hi) = (key(f32::NEG_INFINITY), key(f32::INFINITY));
    if !p(from_key(lo)) {
        return None;
    }
    if p(from_key(hi)) {
        return Some(f32::INFINITY);
    }
    // p(lo) holds, p(hi) does not
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if p(from_key(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(from_key(lo))
}

/// The smallest float with `p(x)`, for a predicate true on a suffix; `None` when nowhere.
fn first_true(p: impl Fn(f32) -> bool) -> Option<f32> {
    // the suffix where p holds is the complement of the prefix where it does not
    match last_true(|x| !p(x)) {
        None => Some(f32::NEG_INFINITY),
        Some(f32::INFINITY) => None,
        Some(u) => Some(from_key(key(u) + 1)),
    }
}

/// A node that holds for every non-NaN value (`x >= -inf`) or for none (`x < -inf`).
fn constant(always: bool) -> (NodeMode, f32) {
    if always {
        (NodeMode::Gte, f32::NEG_INFINITY)
    } else {
        (NodeMode::Lt, f32::NEG_INFINITY)
    }
}

/// The test on `x` equal to `mode` against `t` on `y = (x - o) · s`, for every non-NaN `x`
/// (NaN stays NaN, so the missing-value rule carries over); `None` for `EQ`/`NEQ`.
pub(crate) fn compose(mode: NodeMode, t: f32, o: f32, s: f32) -> Option<(NodeMode, f32)> {
    let y = |x: f32| scaler(x, o, s);
    let le = |x: f32| y(x) <= t;
    let lt = |x: f32| y(x) < t;
    Some(if s > 0.0 {
        // y non-decreasing: {y <= t} and {y < t} are prefixes
        match mode {
            NodeMode::Leq => last_true(le).map_or(constant(false), |u| (NodeMode::Leq, u)),
            NodeMode::Lt => last_true(lt).map_or(constant(false), |u| (NodeMode::Leq, u)),
            NodeMode::Gt => last_true(le).map_or(constant(true), |u| (NodeMode::Gt, u)),
            NodeMode::Gte => last_true(lt).map_or(constant(true), |u| (NodeMode::Gt, u)),
            _ => return None,
        }
    } else {
        // y non-increasing: {y <= t} and {y < t} are suffixes
        match mode {
            NodeMode::Leq => first_true(le).map_or(constant(false), |l| (NodeMode::Gte, l)),
            NodeMode::Lt => first_true(lt).map_or(constant(false), |l| (NodeMode::Gte, l)),
            NodeMode::Gt => first_true(le).map_or(constant(true), |l| (NodeMode::Lt, l)),
            NodeMode::Gte => first_true(lt).map_or(constant(true), |l| (NodeMode::Lt, l)),
            _ => return None,
        }
    })
}

/// Moves every branch of `nodes` from the Scaler's output back onto its input.
pub(crate) fn compose_nodes(ctx: &Ctx<'_>, sc: &Scaled, nodes: &mut [FTreeNode]) -> Result<()> {
    for n in nodes.iter_mut().filter(|n| n.mode != NodeMode::Leaf) {
        let pick = |v: &[f32]| v.get(n.feature).copied();
        let (Some(o), Some(s)) = (pick(&sc.offset), pick(&sc.scale)) else {
            return Err(ctx.shape_err("the Scaler has fewer features than the trees read"));
        };
        if !(o.is_finite() && s.is_finite() && s != 0.0) {
            return Err(ctx.unsupported(format!(
                "trees after a Scaler with offset {o} and scale {s} on feature {} (a zero or \
                 non-finite scale cannot be moved onto the thresholds)",
                n.feature
            )));
        }
        let (mode, t) = compose(n.mode, n.threshold, o, s).ok_or_else(|| {
            ctx.unsupported("an EQ or NEQ split after a Scaler (not exact on the raw feature)")
        })?;
        n.mode = mode;
        n.threshold = if t == 0.0 { 0.0 } else { t };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Floats around `v`: itself, its neighbours, and a spread.
    fn probes(v: f32) -> Vec<f32> {
        let mut out = vec![
            v,
            v.next_up(),
            v.next_down(),
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
        ];
        let mut x = v;
        for _ in 0..40 {
            x = x.next_up();
            out.push(x);
        }
        for k in -30..30 {
            out.push(v + (k as f32) * 0.37);
        }
        out
    }

    #[test]
    fn composed_tests_equal_the_scaled_tests() {
        let cases = [
            (0.5f32, 1.7f32, 0.25f32),
            (0.1, 13.5, -0.007),
            (-3.3, -2.0, 1e-3),
            (7.0, 0.3, 3.1e4),
            (1e-30, 0.0, 1.0),
        ];
        for (t, o, s) in cases {
            for mode in [NodeMode::Leq, NodeMode::Lt, NodeMode::Gte, NodeMode::Gt] {
                let (m2, u) = compose(mode, t, o, s).unwrap();
                // x values whose scaled value is near t
                let x0 = t / s + o;
                for x in probes(x0).into_iter().chain(probes(u)) {
                    assert_eq!(
                        m2.holds_f32(x, u, false),
                        mode.holds_f32(scaler(x, o, s), t, false),
                        "{mode:?} t={t} o={o} s={s} x={x} -> {m2:?} {u}"
                    );
                }
            }
        }
        assert!(compose(NodeMode::Eq, 0.5, 0.0, 1.0).is_none());
    }

    #[test]
    fn keys_order_floats() {
        let xs = [
            f32::NEG_INFINITY,
            -1.0,
            -0.0,
            0.0,
            1e-40,
            1.0,
            f32::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(key(w[0]) < key(w[1]));
            assert_eq!(from_key(key(w[0])).to_bits(), w[0].to_bits());
        }
    }
}
