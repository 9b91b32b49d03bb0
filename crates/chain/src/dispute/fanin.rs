//! The partial-sum game over the fan-in of a `Linear`, `Conv` or `MatMul` element
//! (docs/semantics.md section 8.4): its terms in the weights' order, the prefix sums an honest
//! party posts, and the one-step arguments of one chunk. A `Linear` chunk reads one window of
//! `X` and one of `W`; a `Conv` chunk reads `X` through one window per run of nearby elements
//! (a kernel row, a tap) and a `MatMul` chunk reads `Y` the same way, each later window of that
//! input sharing the first one's commitment proof, so the step's gas does not grow with the
//! layer.

use super::need::{bcast, bias_need, dim, numel};
use super::operand::{node_proof, operand};
use super::{CHUNK, Evidence, HonestTrace, OneStepArgs, input_data, to_usize, window};
use crate::graph::op;
use crate::{Error, Result};
use alloy::primitives::B256;
use vouch_bindings::dispute_game::DisputeGame::Window;
use vouch_bindings::dispute_game::OneStepVerifier::Node;

/// Terms per chunk of a `Conv` or `MatMul` element (`DisputeGame.STRIDED_CHUNK`).
pub const STRIDED_CHUNK: usize = 8;

/// Reads of one operand closer than this many elements share a window (a window's proof
/// costs about what 8 more words do).
const GAP: usize = 64;

/// Terms per chunk of the partial-sum game of op `code`.
pub fn chunk_of(code: u8) -> usize {
    if code == op::LINEAR {
        CHUNK
    } else {
        STRIDED_CHUNK
    }
}

fn attr(node: &Node, i: usize) -> Option<i64> {
    node.attrs.get(i).map(|a| a.as_i64())
}

fn uattr(node: &Node, i: usize) -> Option<usize> {
    attr(node, i).and_then(|a| usize::try_from(a).ok())
}

/// The fan-in `K` of an element of `node`: `Linear` W's row, `Conv` `C_in/group · kH · kW`,
/// `MatMul` X's last dimension; `None` for other ops.
pub fn fan_in(node: &Node) -> Option<usize> {
    let w = node.constShapes.first().map(Vec::as_slice).unwrap_or(&[]);
    match node.op {
        op::LINEAR if w.len() == 2 => Some(dim(w, 1)),
        op::CONV if w.len() >= 2 => Some(dim(w, 1) * uattr(node, 6)? * uattr(node, 7)?),
        op::MATMUL if node.inShapes.len() == 2 => {
            let x = node.inShapes.first()?;
            (x.len() >= 2).then(|| dim(x, x.len() - 1))
        }
        _ => None,
    }
}

/// Whether the honest party settles a disputed element of `node` by the partial-sum game:
/// every `Conv` and `MatMul` element (their plain one-step proves whole input planes or
/// columns) and a `Linear` one of fan-in over [`CHUNK`].
pub fn bisects(node: &Node) -> bool {
    match (node.op, fan_in(node)) {
        (op::LINEAR, Some(k)) => k > CHUNK,
        (op::CONV | op::MATMUL, Some(k)) => k > 0,
        _ => false,
    }
}

/// One factor of a term: element `i` (row-local for an input) of dynamic input or constant
/// `slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Input(usize, usize),
    Const(usize, usize),
}

/// Where the terms of row-local element `e` of `node` read.
struct Terms {
    k: usize,
    /// Linear: [n_out, ..]; Conv: geometry; MatMul: bases and column count.
    x_base: usize,
    w_base: usize,
    stride: usize,
    conv: Option<ConvAt>,
    /// The output index whose bias is `P_0` (none for `MatMul`) among `n`.
    bias: Option<(usize, usize)>,
}

struct ConvAt {
    h: usize,
    w: usize,
    oh: i64,
    ow: i64,
    taps: usize,
    kw: usize,
    plane0: usize,
    stride: (i64, i64),
    dil: (i64, i64),
    pad: (i64, i64),
}

impl Terms {
    fn of(node: &Node, e: usize) -> Option<Self> {
        let k = fan_in(node)?;
        match node.op {
            op::LINEAR => {
                let n = dim(node.constShapes.first()?, 0).max(1);
                Some(Self {
                    k,
                    x_base: (e / n) * k,
                    w_base: (e % n) * k,
                    stride: 1,
                    conv: None,
                    bias: Some((e % n, n)),
                })
            }
            op::CONV => {
                let xs = node.inShapes.first()?;
                let one_d = xs.len() == 3;
                let os = &node.outShape;
                let (h, w) = if one_d {
                    (1, dim(xs, 2))
                } else {
                    (dim(xs, 2), dim(xs, 3))
                };
                let (out_h, out_w) = if one_d {
                    (1, dim(os, 2))
                } else {
                    (dim(os, 2), dim(os, 3))
                };
                let c_out = dim(os, 1).max(1);
                let plane = (out_h * out_w).max(1);
                let co = (e / plane) % c_out;
                let cg = dim(node.constShapes.first()?, 1);
                let group = uattr(node, 5)?.max(1);
                let per_group = (c_out / group).max(1);
                let (kh, kw) = (uattr(node, 6)?, uattr(node, 7)?);
                let plane0 = (e / (plane * c_out)) * dim(xs, 1) + (co / per_group) * cg;
                Some(Self {
                    k,
                    x_base: 0,
                    w_base: co * k,
                    stride: 1,
                    conv: Some(ConvAt {
                        h,
                        w,
                        oh: i64::try_from((e / out_w.max(1)) % out_h.max(1)).ok()?,
                        ow: i64::try_from(e % out_w.max(1)).ok()?,
                        taps: (kh * kw).max(1),
                        kw: kw.max(1),
                        plane0,
                        stride: (attr(node, 8)?, attr(node, 9)?),
                        dil: (attr(node, 10)?, attr(node, 11)?),
                        pad: (attr(node, 12)?, attr(node, 13)?),
                    }),
                    bias: Some((co, c_out)),
                })
            }
            op::MATMUL => {
                let (x_base, y_base) = matmul_bases(node, e, k)?;
                Some(Self {
                    k,
                    x_base,
                    w_base: y_base,
                    stride: dim(&node.outShape, node.outShape.len().checked_sub(1)?),
                    conv: None,
                    bias: None,
                })
            }
            _ => None,
        }
    }

    /// The two factors of term `t`; `None` for a `Conv` tap in the padding (a zero term).
    fn term(&self, t: usize) -> Option<(Read, Read)> {
        let Some(c) = &self.conv else {
            let second = if self.bias.is_some() {
                Read::Const(0, self.w_base + t)
            } else {
                Read::Input(1, self.w_base + t * self.stride)
            };
            return Some((Read::Input(0, self.x_base + t), second));
        };
        let tap = t % c.taps;
        let a = i64::try_from(tap / c.kw).ok()?;
        let b = i64::try_from(tap % c.kw).ok()?;
        let ih = usize::try_from(c.oh * c.stride.0 - c.pad.0 + a * c.dil.0).ok()?;
        let iw = usize::try_from(c.ow * c.stride.1 - c.pad.1 + b * c.dil.1).ok()?;
        if ih >= c.h || iw >= c.w {
            return None;
        }
        let x = (c.plane0 + t / c.taps) * c.h * c.w + ih * c.w + iw;
        Some((Read::Input(0, x), Read::Const(0, self.w_base + t)))
    }
}

/// Start of element `e`'s row in `X` and column in `Y` of a `MatMul` (batch dims broadcast,
/// as `Dense.matmulBases`).
fn matmul_bases(node: &Node, e: usize, k: usize) -> Option<(usize, usize)> {
    let os = &node.outShape;
    let n_cols = dim(os, os.len().checked_sub(1)?).max(1);
    let m_rows = dim(os, os.len().checked_sub(2)?).max(1);
    let batch = e / (n_cols * m_rows);
    // the batch dims broadcast as numpy does
    let index = |s: &[alloy::primitives::U256]| {
        bcast(&os[..os.len() - 2], &s[..s.len().saturating_sub(2)], batch)
    };
    let x = index(node.inShapes.first()?) * m_rows * k + ((e / n_cols) % m_rows) * k;
    let y = index(node.inShapes.get(1)?) * k * n_cols + e % n_cols;
    Some((x, y))
}

fn bad(j: usize) -> Error {
    Error::TraceMismatch {
        message: format!("node {j} has no partial-sum game (not a Linear, Conv or MatMul)"),
    }
}

/// The prefix sum `P_c` of element `e` (of the task's tensor) of node `j`: `P_0` the bias (0
/// for `MatMul`), plus the first `min(c · chunk, K)` terms; `P_m` is the accumulator.
pub(super) fn partial_sum(
    me: &HonestTrace,
    ev: &Evidence,
    j: usize,
    e: usize,
    c: usize,
) -> Result<i64> {
    let node = ev.nodes.get(j).ok_or_else(|| bad(j))?;
    let n1 = numel(&node.outShape).max(1);
    let (row, e) = (e / n1, e % n1);
    let terms = Terms::of(node, e).ok_or_else(|| bad(j))?;
    let konst = |slot: usize| -> Result<&[i32]> {
        let id = to_usize(*node.consts.get(slot).ok_or_else(|| bad(j))?, "constant")?;
        ev.consts.get(id).map(Vec::as_slice).ok_or_else(|| bad(j))
    };
    let read = |r: Read| -> Result<i64> {
        let v = match r {
            Read::Input(s, i) => {
                let base = row * node.inShapes.get(s).map_or(0, |sh| numel(sh));
                input_data(me, ev, node, s)?.get(base + i).copied()
            }
            Read::Const(s, i) => konst(s)?.get(i).copied(),
        };
        v.map(i64::from).ok_or_else(|| bad(j))
    };
    let mut p = match terms.bias {
        Some((o, n)) if node.consts.len() > 1 => {
            let shape: Vec<u32> = node
                .constShapes
                .get(1)
                .ok_or_else(|| bad(j))?
                .iter()
                .map(|d| u32::try_from(*d).map_err(|_| bad(j)))
                .collect::<Result<_>>()?;
            let b = vouch_semantics::bias_values(&shape, konst(1)?, n).ok_or_else(|| bad(j))?;
            *b.get(o).ok_or_else(|| bad(j))?
        }
        _ => 0,
    };
    for t in 0..(c * chunk_of(node.op)).min(terms.k) {
        if let Some((a, b)) = terms.term(t) {
            p += read(a)? * read(b)?;
        }
    }
    Ok(p)
}

/// Runs of sorted element indices at most [`GAP`] apart: `[lo, hi)` each.
fn runs(mut idx: Vec<usize>) -> Vec<(usize, usize)> {
    idx.sort_unstable();
    idx.dedup();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for i in idx {
        match out.last_mut() {
            Some((_, hi)) if i < *hi + GAP => *hi = i + 1,
            _ => out.push((i, i + 1)),
        }
    }
    out
}

/// The `oneStep` arguments of chunk `c` of element `e` (of the task's tensor) of node `j`:
/// for each dynamic input one window over the chunk's reads (the first row element when it
/// reads none), then further windows of the last input, one per run of nearby reads, with
/// an empty leaf proof; the constants' windows over the chunk's weights and the bias.
pub(super) fn chunk_args(
    me: &HonestTrace,
    ev: &Evidence,
    descent: &[(B256, B256)],
    j: usize,
    e: usize,
    c: usize,
) -> Result<OneStepArgs> {
    let node = ev.nodes.get(j).ok_or_else(|| bad(j))?.clone();
    let n1 = numel(&node.outShape).max(1);
    let (row, e) = (e / n1, e % n1);
    let terms = Terms::of(&node, e).ok_or_else(|| bad(j))?;
    let from = c * chunk_of(node.op);
    let to = (from + chunk_of(node.op)).min(terms.k);
    let n_in = node.inputs.len();
    let mut reads: Vec<Vec<usize>> = vec![Vec::new(); n_in];
    for t in from..to {
        for r in terms.term(t).into_iter().flat_map(|(a, b)| [a, b]) {
            if let Read::Input(s, i) = r
                && let Some(v) = reads.get_mut(s)
            {
                v.push(i);
            }
        }
    }
    let missing = |what: &str| Error::OutOfRange {
        what: format!("partial-sum step: {what}"),
    };
    let mut ins = Vec::new();
    let mut extra = Vec::new();
    for (s, r) in node.inputs.iter().enumerate() {
        let (data, proof) = operand(me, ev, descent, *r, j).ok_or_else(|| missing("input"))?;
        let base = row * node.inShapes.get(s).map_or(0, |sh| numel(sh));
        let mut groups = runs(reads.get(s).cloned().unwrap_or_default());
        if s + 1 < n_in && groups.len() > 1 {
            // only the last input may have several windows: one over the span
            let lo = groups.first().map_or(0, |g| g.0);
            let hi = groups.last().map_or(1, |g| g.1);
            groups = vec![(lo, hi)];
        }
        let first = groups.first().copied().unwrap_or((0, 1));
        ins.push(window(data, proof, base + first.0, base + first.1));
        if s + 1 == n_in {
            for (lo, hi) in groups.into_iter().skip(1) {
                extra.push(window(data, Vec::new(), base + lo, base + hi));
            }
        }
    }
    ins.extend(extra);
    let mut cs = Vec::new();
    for (s, id) in node.consts.iter().enumerate() {
        let k = to_usize(*id, "constant")?;
        let data = ev.consts.get(k).ok_or_else(|| missing("constant"))?;
        let proof = ev.const_proof(k).ok_or_else(|| missing("constant"))?;
        let (lo, hi) = match (s, terms.bias) {
            (0, _) => (terms.w_base + from, terms.w_base + to),
            (_, Some((o, n))) => bias_need(&node, n, o),
            _ => (0, data.len()),
        };
        cs.push(window(data, proof, lo, hi));
    }
    let proof = node_proof(ev, j).ok_or_else(|| missing("node"))?;
    Ok((node, proof.into_iter().map(B256::from).collect(), ins, cs))
}

/// The `mult` argument of `DisputeGame.startPartialSums` for element `e` of node `j`: a node
/// requantized per output channel (`M = 0`, not wide) passes the window of its `[N, 3]` bias
/// that holds the element's channel (its `M[n]` checks the posted accumulator); any other node
/// passes none.
pub(super) fn multiplier_window(ev: &Evidence, j: usize, e: usize) -> Result<Vec<Window>> {
    let node = ev.nodes.get(j).ok_or_else(|| bad(j))?;
    let per_channel = matches!(node.op, op::LINEAR | op::CONV)
        && node.attrs.first().is_some_and(|a| a.is_zero())
        && node.attrs.get(4).is_some_and(|a| a.is_zero());
    let Some(&bias) = node.consts.get(1).filter(|_| per_channel) else {
        return Ok(Vec::new());
    };
    let terms = Terms::of(node, e % numel(&node.outShape).max(1)).ok_or_else(|| bad(j))?;
    let (o, n) = terms.bias.ok_or_else(|| bad(j))?;
    let k = to_usize(bias, "constant")?;
    let missing = || Error::OutOfRange {
        what: "partial-sum start: the per-channel bias".to_owned(),
    };
    let data = ev.consts.get(k).ok_or_else(missing)?;
    let proof = ev.const_proof(k).ok_or_else(missing)?;
    let (lo, hi) = bias_need(node, n, o);
    Ok(vec![window(data, proof, lo, hi)])
}
