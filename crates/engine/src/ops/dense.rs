//! Dense products: `Linear` (weights packed once per package) and `MatMul` of two tensors,
//! and the accumulator finishing (bias, requantization or wide output) that `Conv` shares.

use super::{ACT16_MAGNITUDE, NodeRun, SemResult, check_overflow, check_weights};
use crate::Result;
use crate::exec::shape_err;
use crate::gemm::finish::{Epilogue, finish as finish_fast};
use crate::gemm::{Packed, gemm, gemm_serial, gemm64};
use crate::tensor::{Tensor, broadcast_index, broadcast_shape, numel};
use std::cell::RefCell;
use vouch_model::{Node, Operand, Package};
use vouch_semantics::{Error as SemError, Requant};

/// How a product's accumulators are computed and finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accum {
    /// The output is the raw accumulator (no requantization).
    pub wide: bool,
    /// The accumulator may pass `i32` (the section 4 bound reaches `2^31`): sum in `i64`.
    pub acc64: bool,
}

/// The per-output-channel constants of a `Linear` or `Conv` epilogue: the bias values (a wide
/// `[N, 2]` or per-channel `[N, 3]` bias joined into `i64`s) and, for a per-channel node
/// (semantics version 6, `M = 0` in the node), the multipliers `M[n]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Channels {
    /// `B[n]`, `None` without a bias.
    pub bias: Option<Vec<i64>>,
    /// `M[n]`, `None` when the node's one `M` applies to every channel.
    pub mults: Option<Vec<i64>>,
}

impl Channels {
    /// The view of output channels `from..to` (a `Conv` group's).
    pub(crate) fn view(&self, from: usize, to: usize) -> ChannelView<'_> {
        ChannelView {
            bias: self.bias.as_deref().and_then(|b| b.get(from..to)),
            mults: self.mults.as_deref().and_then(|m| m.get(from..to)),
        }
    }
}

/// A borrowed range of [`Channels`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelView<'a> {
    /// `B[n]` of the range.
    pub bias: Option<&'a [i64]>,
    /// `M[n]` of the range.
    pub mults: Option<&'a [i64]>,
}

/// `a · bᵀ` as `[rows, n]` accumulators, plus bias, requantized (or kept wide): the `i32`
/// kernels when the section 4 bound allows, else exact `i64` sums.
pub(super) fn product(
    a: &Packed,
    b: &Packed,
    ch: ChannelView<'_>,
    rq: &Requant,
    accum: Accum,
    parallel: bool,
) -> SemResult<Vec<i32>> {
    let len = a.rows * b.rows;
    if accum.acc64 {
        let mut acc = vec![0i64; len];
        gemm64(a, b, &mut acc, parallel);
        return finish(&acc, b.rows, ch, rq, accum.wide);
    }
    let mut acc = vec![0i32; len];
    if parallel {
        gemm(a, b, &mut acc);
    } else {
        gemm_serial(a, b, &mut acc);
    }
    finish(&acc, b.rows, ch, rq, accum.wide)
}

/// Adds the bias and requantizes (or keeps wide) an accumulator matrix `[rows, n]`; a
/// per-channel node multiplies column `j` by its own `M[j]` (one shift for all).
pub(crate) fn finish<A: Copy + Into<i64>>(
    acc: &[A],
    n: usize,
    ch: ChannelView<'_>,
    rq: &Requant,
    wide: bool,
) -> SemResult<Vec<i32>> {
    let mut out = Vec::with_capacity(acc.len());
    if n == 0 {
        return Ok(out);
    }
    let half = if rq.s == 0 { 0 } else { 1i64 << (rq.s - 1) };
    let (lo, hi) = (i64::from(rq.lo), i64::from(rq.hi));
    let bias = ch.bias;
    let mults = match ch.mults {
        Some(m) if m.len() == n => Some(m),
        Some(_) => {
            return Err(SemError::Domain {
                what: "per-channel multipliers",
            });
        }
        None => None,
    };
    for row in acc.chunks_exact(n) {
        for (j, &a) in row.iter().enumerate() {
            let a: i64 = a.into();
            let m = mults.map_or(rq.m, |m| m[j]);
            let a = match bias {
                Some(b) => a
                    .checked_add(b[j])
                    .ok_or(SemError::Overflow { what: "bias add" })?,
                None => a,
            };
            out.push(if wide {
                i32::try_from(a).map_err(|_| SemError::Overflow {
                    what: "wide accumulator",
                })?
            } else {
                // The loaded package passed the section 4 bound, so |acc|·M + 2^(s-1) fits
                // i64: the plain arithmetic below is the exact `requant` of docs/semantics.md.
                ((a * m + half) >> rq.s).clamp(lo, hi) as i32
            });
        }
    }
    Ok(out)
}

/// `Linear`: `x` is `[..., K]`, `w` packs `[N, K]`; output `[..., N]`.
pub fn linear(
    x: &Tensor,
    w: &Packed,
    ch: ChannelView<'_>,
    rq: &Requant,
    accum: Accum,
) -> SemResult<Tensor> {
    let k = w.k;
    let m = x.data.len().checked_div(k).unwrap_or(0);
    let a = Packed::from_rows(m, k, &x.data);
    let data = product(&a, w, ch, rq, accum, true)?;
    Ok(Tensor {
        shape: linear_shape(x, w),
        data,
    })
}

/// The shape of `Linear` `x · wᵀ`: `x`'s with its last axis `w`'s rows.
fn linear_shape(x: &Tensor, w: &Packed) -> Vec<usize> {
    let mut shape = x.shape.clone();
    if let Some(last) = shape.last_mut() {
        *last = w.rows;
    }
    shape
}

/// A thread's reusable buffers for [`linear_fast`]: the packed input rows and the
/// accumulators.
#[derive(Default)]
struct Scratch {
    a: Packed,
    acc64: Vec<i64>,
    acc32: Vec<i32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// [`linear`] on the fast paths: the input packed into, and the accumulators summed in, this
/// thread's reused buffers (no allocation but the output), and the accumulators finished by the
/// vectorized [`crate::gemm::finish`] (the reference finish when that one cannot decide: a
/// wide value past `i32`, which the reference reports). The same integers as [`linear`].
pub(crate) fn linear_fast(
    x: &Tensor,
    w: &Packed,
    ch: ChannelView<'_>,
    rq: &Requant,
    accum: Accum,
) -> SemResult<Tensor> {
    let shape = linear_shape(x, w);
    let mut data = Vec::new();
    linear_fast_into(&x.data, w, ch, rq, accum, &mut data)?;
    Ok(Tensor { shape, data })
}

/// [`linear_fast`] of the rows `x` (`[rows, K]` row major) into `data` (resized to
/// `[rows, N]`), so that a caller can reuse the output's buffer too.
pub(crate) fn linear_fast_into(
    x: &[i32],
    w: &Packed,
    ch: ChannelView<'_>,
    rq: &Requant,
    accum: Accum,
    data: &mut Vec<i32>,
) -> SemResult<()> {
    let k = w.k;
    let m = x.len().checked_div(k).unwrap_or(0);
    let n = w.rows;
    let len = m * n;
    let e = Epilogue {
        bias: ch.bias,
        mults: ch.mults,
        m: rq.m,
        s: rq.s,
        lo: i64::from(rq.lo),
        hi: i64::from(rq.hi),
        wide: accum.wide,
    };
    data.clear();
    data.resize(len, 0);
    let run = |sc: &mut Scratch, data: &mut Vec<i32>| {
        pack_into(&mut sc.a, m, k, x);
        // the kernels assign every accumulator (no zeroing needed, only the length)
        if accum.acc64 {
            sc.acc64.resize(len, 0);
            gemm64(&sc.a, w, &mut sc.acc64, true);
            if !finish_fast(&sc.acc64, n, &e, data) {
                *data = finish(&sc.acc64, n, ch, rq, accum.wide)?;
            }
        } else {
            sc.acc32.resize(len, 0);
            gemm(&sc.a, w, &mut sc.acc32);
            if !finish_fast(&sc.acc32, n, &e, data) {
                *data = finish(&sc.acc32, n, ch, rq, accum.wide)?;
            }
        }
        Ok(())
    };
    // A product inside a pool may wait on a task that runs another product on this thread:
    // that one finds the buffers taken and uses its own.
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut sc) => run(&mut sc, data),
        Err(_) => run(&mut Scratch::default(), data),
    })
}

/// Packs `rows` rows of `k` values into `p` as [`Packed::from_rows`] does, reusing its buffer.
fn pack_into(p: &mut Packed, rows: usize, k: usize, src: &[i32]) {
    let kp = crate::gemm::padded(k);
    p.data.clear();
    p.data.resize(rows * kp, 0);
    let mut may_hold_min = false;
    if k > 0 {
        for (dst, row) in p.data.chunks_exact_mut(kp).zip(src.chunks_exact(k)) {
            for (d, &s) in dst.iter_mut().zip(row) {
                *d = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                may_hold_min |= *d == i16::MIN;
            }
        }
    }
    p.rows = rows;
    p.k = k;
    p.kp = kp;
    p.may_hold_min = may_hold_min;
    p.split = std::sync::OnceLock::new();
}

/// `MatMul` of two dynamic tensors with numpy batch broadcasting.
pub fn matmul(
    x: &Tensor,
    y: &Tensor,
    out_shape: &[usize],
    rq: &Requant,
    accum: Accum,
) -> SemResult<Tensor> {
    let (xr, yr) = (x.shape.len(), y.shape.len());
    if xr < 2 || yr < 2 || out_shape.len() < 2 {
        return Err(SemError::Domain {
            what: "matmul rank",
        });
    }
    let (m, k) = (x.shape[xr - 2], x.shape[xr - 1]);
    let n = y.shape[yr - 1];
    let batch_shape = &out_shape[..out_shape.len() - 2];
    let xb = broadcast_index(&x.shape[..xr - 2], batch_shape);
    let yb = broadcast_index(&y.shape[..yr - 2], batch_shape);
    let mut out = Vec::with_capacity(numel(out_shape).unwrap_or(0));
    for (&bx, &by) in xb.iter().zip(&yb) {
        let a = Packed::from_rows(m, k, &x.data[bx * m * k..(bx + 1) * m * k]);
        let ys = &y.data[by * k * n..(by + 1) * k * n];
        let yt: Vec<i32> = (0..n * k).map(|i| ys[(i % k) * n + i / k]).collect();
        let bt = Packed::from_rows(n, k, &yt);
        out.extend(product(&a, &bt, ChannelView::default(), rq, accum, true)?);
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data: out,
    })
}

/// `Linear`'s weights packed once: the packed `[N, K]` matrix, whether the accumulator needs
/// `i64`, and the channels' bias values and multipliers ([`channels_of`]).
pub(crate) fn prepare_linear(
    pkg: &Package,
    node: &Node,
    weight: u32,
    bias: Option<u32>,
    rq: &Requant,
    wide: bool,
) -> Result<(Packed, bool, Channels)> {
    let konst = |c: u32| &pkg.consts[c as usize];
    let weight_err = |r: &str| shape_err(node, r.to_owned());
    let w = konst(weight);
    let [n, k] = w.shape[..] else {
        return Err(weight_err("weight must be [N, K]"));
    };
    check_weights(node, &w.data)?;
    let ch = channels_of(node, konst, bias, n as usize, rq, wide)?;
    let acc64 = check_overflow(pkg, node, &w.data, n as usize, &ch, rq, wide)?;
    Ok((
        Packed::from_rows(n as usize, k as usize, &w.data),
        acc64,
        ch,
    ))
}

/// The `n` channels of a `Linear` or `Conv` node: the bias values (`None` without a bias: `N`
/// stored values, a wide `[N, 2]` bias or a per-channel `[N, 3]` one joined into `i64`s) and,
/// for a per-channel node (`M = 0`, semantics version 6), the multipliers `M[n]`.
pub(super) fn channels_of<'a>(
    node: &Node,
    konst: impl Fn(u32) -> &'a vouch_model::Const,
    bias: Option<u32>,
    n: usize,
    rq: &Requant,
    wide: bool,
) -> Result<Channels> {
    let c = bias.map(konst);
    let bias = c
        .map(|c| {
            vouch_semantics::bias_values(&c.shape, &c.data, n).ok_or_else(|| {
                shape_err(
                    node,
                    format!(
                        "bias shape {:?} holds neither {n} values nor [{n}, 2] nor [{n}, 3]",
                        c.shape
                    ),
                )
            })
        })
        .transpose()?;
    let mults = c.and_then(|c| vouch_semantics::channel_multipliers(&c.shape, &c.data, n));
    if mults.is_some() != (rq.m == 0) || (mults.is_some() && wide) {
        return Err(shape_err(
            node,
            "M = 0 (per-channel multipliers) needs an [N, 3] bias and a requantized output",
        ));
    }
    Ok(Channels { bias, mults })
}

/// Runs a `Linear` node on its prepared weights ([`linear_fast`] when `fast`).
pub(crate) fn run_linear(
    r: &NodeRun<'_>,
    w: &Packed,
    acc64: bool,
    ch: &Channels,
    rq: &Requant,
    wide: bool,
    fast: bool,
) -> Result<Tensor> {
    let x = r.x;
    if x.shape.last() != Some(&w.k) {
        return Err(r.err(format!("input {:?} does not end in {}", x.shape, w.k)));
    }
    let accum = Accum { wide, acc64 };
    if fast {
        linear_fast(x, w, ch.view(0, w.rows), rq, accum).map_err(|e| r.sem(e))
    } else {
        linear(x, w, ch.view(0, w.rows), rq, accum).map_err(|e| r.sem(e))
    }
}

/// Runs a `MatMul` node: checks the shapes and the accumulator bound of the operands' kinds.
pub(crate) fn run_matmul(r: &NodeRun<'_>, rq: &Requant, wide: bool) -> Result<Tensor> {
    let (pkg, node, ins, x, out_shape) = (r.pkg, r.node, &r.ins, r.x, r.out_shape);
    let y = ins[1];
    let ok = x.shape.len() >= 2
        && y.shape.len() >= 2
        && x.shape[x.shape.len() - 1] == y.shape[y.shape.len() - 2]
        && broadcast_shape(&x.shape[..x.shape.len() - 2], &y.shape[..y.shape.len() - 2]).is_some();
    let ok = ok && out_shape.len() >= 2 && {
        let (xr, yr, or) = (x.shape.len(), y.shape.len(), out_shape.len());
        let b = broadcast_shape(&x.shape[..xr - 2], &y.shape[..yr - 2]);
        b.as_deref() == Some(&out_shape[..or - 2])
            && out_shape[or - 2] == x.shape[xr - 2]
            && out_shape[or - 1] == y.shape[yr - 1]
    };
    // A dynamic operand is bounded by its kind, a constant by its own data.
    let magnitude = |i: usize| match node.inputs[i] {
        Operand::Value(v) => i128::from(pkg.values[v as usize].kind.magnitude()),
        Operand::Const(_) => ins[i]
            .data
            .iter()
            .map(|v| i128::from(v.unsigned_abs()))
            .max()
            .unwrap_or(0),
    };
    let (ma, mb) = (magnitude(0), magnitude(1));
    if ma.max(mb) > ACT16_MAGNITUDE {
        return Err(r.err("MatMul operands must be act8/act16 tensors (values fit 16 bits)"));
    }
    let bound = (x.shape[x.shape.len() - 1] as i128)
        .saturating_mul(ma)
        .saturating_mul(mb);
    if ok && !vouch_semantics::accumulator_fits(bound, rq, wide) {
        return Err(r.err("inner dimension too large: the accumulator could overflow"));
    }
    if !ok {
        return Err(r.err(format!("cannot multiply {:?} by {:?}", x.shape, y.shape)));
    }
    let accum = Accum {
        wide,
        acc64: bound >= 1 << 31,
    };
    matmul(x, y, out_shape, rq, accum).map_err(|e| r.sem(e))
}
