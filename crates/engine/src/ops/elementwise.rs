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

/// Runs an `Add` node: `requant(ma·x + mb·y)` (unchecked where that cannot overflow, when
/// `fast`).
pub(crate) fn run_add(
    r: &NodeRun<'_>,
    ma: i64,
    mb: i64,
    rq: &Requant,
    fast: bool,
) -> Result<Tensor> {
    let (x, y) = (r.x, r.ins[1]);
    check_broadcast(r.node, x, y, r.out_shape)?;
    if let Some(data) = fast
        .then(|| add_in_range(x, y, r.out_shape, [ma, mb], rq, r.bufs))
        .flatten()
    {
        return Ok(Tensor {
            shape: r.out_shape.to_vec(),
            data,
        });
    }
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

/// Elements per task when an elementwise map is split over the pool.
const PAR_CHUNK: usize = 1 << 15;

/// `Add` of two tensors of the output's shape whose largest values cannot overflow anything:
/// `|ma|·max|x| + |mb|·max|y|` times `M`, plus the rounding half, fits `i64`. Then the plain
/// arithmetic below is `requant(ma·x + mb·y)` exactly and never fails, and it vectorizes (and
/// runs over the pool for large tensors). `None` (the checked path runs) otherwise.
fn add_in_range(
    x: &Tensor,
    y: &Tensor,
    out_shape: &[usize],
    [ma, mb]: [i64; 2],
    rq: &Requant,
    bufs: &crate::exec::Buffers,
) -> Option<Vec<i32>> {
    if x.shape == out_shape && y.shape == out_shape {
        return add_slices(&x.data, &y.data, ma, mb, rq, Some(bufs));
    }
    // a broadcast (a softmax's `x - max`): every operand value is within the bound too
    let bound = add_bound(&x.data, &y.data, ma, mb, rq)?;
    let k = Plain::new(rq, bound)?;
    Some(broadcast_rows(x, y, out_shape, |a, b| {
        k.apply(a * ma + b * mb)
    }))
}

/// `requant(ma·x + mb·y)` elementwise over two slices of one length, when nothing can overflow
/// ([`add_in_range`]'s plain arithmetic); `None` otherwise. The output's buffer comes from
/// `bufs` when given (every element is written).
pub(crate) fn add_slices(
    x: &[i32],
    y: &[i32],
    ma: i64,
    mb: i64,
    rq: &Requant,
    bufs: Option<&crate::exec::Buffers>,
) -> Option<Vec<i32>> {
    use rayon::prelude::*;
    add_bound(x, y, ma, mb, rq)?;
    if x.len() != y.len() {
        return None;
    }
    let mut out = bufs.map_or_else(|| vec![0; x.len()], |b| b.take(x.len()));
    let run = |(i, o): (usize, &mut [i32])| {
        let at = i * PAR_CHUNK;
        add_plain(&x[at..at + o.len()], &y[at..at + o.len()], o, [ma, mb], rq);
    };
    if out.len() > PAR_CHUNK && crate::gemm::in_parallel_pool() {
        out.par_chunks_mut(PAR_CHUNK).enumerate().for_each(run);
    } else {
        out.chunks_mut(PAR_CHUNK).enumerate().for_each(run);
    }
    Some(out)
}

/// `|ma|·max|x| + |mb|·max|y|`, when that times `M`, plus the rounding half, fits `i64` (and
/// the shift is in its domain); `None` otherwise.
fn add_bound(x: &[i32], y: &[i32], ma: i64, mb: i64, rq: &Requant) -> Option<i128> {
    if rq.s > vouch_semantics::MAX_SHIFT {
        return None;
    }
    let half = if rq.s == 0 { 0 } else { 1i64 << (rq.s - 1) };
    let bound = i128::from(ma.unsigned_abs()) * i128::from(magnitude(min_max(x)))
        + i128::from(mb.unsigned_abs()) * i128::from(magnitude(min_max(y)));
    let fits = bound * i128::from(rq.m.unsigned_abs()) + i128::from(half) <= i128::from(i64::MAX);
    fits.then_some(bound)
}

/// `o = clamp(((ma·a + mb·b)·M + half) >> s, lo, hi)` in plain `i64` (the caller proved that
/// nothing overflows), with AVX-512 where the CPU has it (the same integers).
fn add_plain(a: &[i32], b: &[i32], o: &mut [i32], [ma, mb]: [i64; 2], rq: &Requant) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: AVX-512 F/DQ are present (checked just above).
            unsafe { add_plain_avx512(a, b, o, [ma, mb], rq) };
            return;
        }
    }
    add_plain_loop(a, b, o, [ma, mb], rq);
}

/// [`add_plain_loop`] compiled for AVX-512.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn add_plain_avx512(a: &[i32], b: &[i32], o: &mut [i32], mab: [i64; 2], rq: &Requant) {
    add_plain_loop(a, b, o, mab, rq);
}

#[inline(always)]
fn add_plain_loop(a: &[i32], b: &[i32], o: &mut [i32], [ma, mb]: [i64; 2], rq: &Requant) {
    let (m, s) = (rq.m, rq.s);
    let half = if s == 0 { 0 } else { 1i64 << (s - 1) };
    let (lo, hi) = (i64::from(rq.lo), i64::from(rq.hi));
    for (o, (&a, &b)) in o.iter_mut().zip(a.iter().zip(b)) {
        let v = (i64::from(a) * ma + i64::from(b) * mb) * m + half;
        *o = (v >> s).max(lo).min(hi) as i32;
    }
}

/// Runs a `Mul` node: `requant(x·y)` (unchecked where that cannot overflow, when `fast`).
pub(crate) fn run_mul(r: &NodeRun<'_>, rq: &Requant, fast: bool) -> Result<Tensor> {
    let (x, y) = (r.x, r.ins[1]);
    check_broadcast(r.node, x, y, r.out_shape)?;
    let bound = i128::from(max_abs(x)) * i128::from(max_abs(y));
    if let Some(k) = fast.then(|| Plain::new(rq, bound)).flatten() {
        let data = if x.shape == r.out_shape && y.shape == r.out_shape {
            par_map(x.data.len(), |at, o| {
                mul_plain(&x.data[at..at + o.len()], &y.data[at..at + o.len()], o, &k);
            })
        } else {
            broadcast_rows(x, y, r.out_shape, |a, b| k.apply(a * b))
        };
        return Ok(Tensor {
            shape: r.out_shape.to_vec(),
            data,
        });
    }
    binary(x, y, r.out_shape, |a, b| rq.apply(a * b)).map_err(|e| r.sem(e))
}

/// Runs a `Rescale` node: `requant(x)` (unchecked where that cannot overflow, when `fast`).
pub(crate) fn run_rescale(r: &NodeRun<'_>, rq: &Requant, fast: bool) -> Result<Tensor> {
    let x = r.x;
    if let Some(k) = fast
        .then(|| Plain::new(rq, i128::from(max_abs(x))))
        .flatten()
    {
        let data = par_map(x.data.len(), |at, o| {
            rescale_plain(&x.data[at..at + o.len()], o, &k);
        });
        return Ok(Tensor {
            shape: x.shape.clone(),
            data,
        });
    }
    unary(x, |v| rq.apply(i64::from(v))).map_err(|e| r.sem(e))
}

/// `f(x, y)` over the numpy broadcast of `x` and `y` to `out_shape` (which the caller checked),
/// the last axis in runs: each output row reads a row or one element of each operand. Split
/// over the pool like [`par_map`].
fn broadcast_rows(
    x: &Tensor,
    y: &Tensor,
    out_shape: &[usize],
    f: impl Fn(i64, i64) -> i32 + Sync,
) -> Vec<i32> {
    let n = out_shape.len();
    // per output axis, the operand's stride (0 where it broadcasts)
    let eff = |t: &Tensor| -> Vec<usize> {
        let st = crate::tensor::strides(&t.shape);
        (0..n)
            .map(|i| match (i + t.shape.len()).checked_sub(n) {
                Some(j) if t.shape[j] != 1 => st[j],
                _ => 0,
            })
            .collect()
    };
    let (ex, ey) = (eff(x), eff(y));
    let inner = out_shape.last().copied().unwrap_or(1).max(1);
    let (sx, sy) = (
        ex.last().copied().unwrap_or(0),
        ey.last().copied().unwrap_or(0),
    );
    // the operands' offsets of output row `row` (every axis but the last)
    let base = |mut row: usize| {
        let (mut bx, mut by) = (0, 0);
        for a in (0..n.saturating_sub(1)).rev() {
            let i = row % out_shape[a];
            row /= out_shape[a];
            bx += i * ex[a];
            by += i * ey[a];
        }
        (bx, by)
    };
    let total = crate::tensor::numel(out_shape).unwrap_or(0);
    par_map(total, |at, o| {
        let mut k = 0;
        while k < o.len() {
            let (row, col) = ((at + k) / inner, (at + k) % inner);
            let len = (inner - col).min(o.len() - k);
            let (bx, by) = base(row);
            let dst = &mut o[k..k + len];
            let xs = |i: usize| i64::from(x.data[bx + sx * (col + i)]);
            let ys = |i: usize| i64::from(y.data[by + sy * (col + i)]);
            for (i, d) in dst.iter_mut().enumerate() {
                *d = f(xs(i), ys(i));
            }
            k += len;
        }
    })
}

/// The largest magnitude in `t` (0 when empty).
pub(crate) fn max_abs(t: &Tensor) -> u32 {
    magnitude(min_max(&t.data))
}

/// The largest magnitude of values between `lo` and `hi` ([`min_max`]'s answer; 0 for none).
pub(crate) fn magnitude(bounds: Option<(i32, i32)>) -> u32 {
    bounds.map_or(0, |(lo, hi)| lo.unsigned_abs().max(hi.unsigned_abs()))
}

/// The smallest and the largest value of `data` (`None` when empty), in one scan compiled for
/// AVX-512 where the CPU has it (the scans before each fast elementwise pass were a tenth of
/// the keyword LSTM's run in the base target's scalar code).
pub(crate) fn min_max(data: &[i32]) -> Option<(i32, i32)> {
    if data.is_empty() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if avx512() {
            // SAFETY: AVX-512 F/DQ are present (checked just above).
            return Some(unsafe { min_max_avx512(data) });
        }
    }
    Some(min_max_loop(data))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn min_max_avx512(data: &[i32]) -> (i32, i32) {
    min_max_loop(data)
}

#[inline(always)]
fn min_max_loop(data: &[i32]) -> (i32, i32) {
    data.iter()
        .fold((i32::MAX, i32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// `out.len() = n` elements written by `f(at, chunk)` per chunk of [`PAR_CHUNK`] elements
/// starting at element `at`, over the pool when inside one and `n` is large. Each element is
/// still written by one call, so the bits do not depend on the split.
pub(crate) fn par_map(n: usize, f: impl Fn(usize, &mut [i32]) + Sync) -> Vec<i32> {
    use rayon::prelude::*;
    let mut out = vec![0i32; n];
    let run = |(i, o): (usize, &mut [i32])| f(i * PAR_CHUNK, o);
    if n > PAR_CHUNK && crate::gemm::in_parallel_pool() {
        out.par_chunks_mut(PAR_CHUNK).enumerate().for_each(run);
    } else {
        out.chunks_mut(PAR_CHUNK).enumerate().for_each(run);
    }
    out
}

/// A requantization applied in plain `i64` arithmetic: built only when every operand whose
/// magnitude is at most `bound` gives `bound · M + half <= i64::MAX`, so that
/// `clamp((v·M + half) >> s, lo, hi)` is `requant(v)` exactly and cannot fail.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plain {
    m: i64,
    half: i64,
    s: u32,
    lo: i64,
    hi: i64,
}

impl Plain {
    /// `None` when `rq` is outside its domain or `bound · M + half` leaves `i64`.
    pub(crate) fn new(rq: &Requant, bound: i128) -> Option<Self> {
        if rq.s > vouch_semantics::MAX_SHIFT || rq.m < 0 {
            return None;
        }
        let half = if rq.s == 0 { 0 } else { 1i64 << (rq.s - 1) };
        (bound * i128::from(rq.m) + i128::from(half) <= i128::from(i64::MAX)).then_some(Self {
            m: rq.m,
            half,
            s: rq.s,
            lo: i64::from(rq.lo),
            hi: i64::from(rq.hi),
        })
    }

    /// `requant(v)` for `|v| <= bound`.
    #[inline(always)]
    pub(crate) fn apply(&self, v: i64) -> i32 {
        ((v * self.m + self.half) >> self.s)
            .max(self.lo)
            .min(self.hi) as i32
    }
}

#[cfg(target_arch = "x86_64")]
impl Plain {
    /// [`Plain::apply`] on eight `i64` lanes (each within the bound), as eight `i32`s.
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    pub(crate) fn apply8(&self, v: std::arch::x86_64::__m512i) -> std::arch::x86_64::__m256i {
        use std::arch::x86_64::*;
        let p = _mm512_add_epi64(
            _mm512_mullo_epi64(v, _mm512_set1_epi64(self.m)),
            _mm512_set1_epi64(self.half),
        );
        let r = _mm512_sra_epi64(p, _mm_cvtsi64_si128(i64::from(self.s)));
        let r = _mm512_min_epi64(
            _mm512_max_epi64(r, _mm512_set1_epi64(self.lo)),
            _mm512_set1_epi64(self.hi),
        );
        _mm512_cvtepi64_epi32(r)
    }
}

/// `o = requant(a·b)` (see [`Plain`]), with AVX-512 where the CPU has it (the same integers).
fn mul_plain(a: &[i32], b: &[i32], o: &mut [i32], k: &Plain) {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512() {
            // SAFETY: AVX-512 F/DQ are present (checked just above).
            unsafe { mul_plain_avx512(a, b, o, k) };
            return;
        }
    }
    mul_plain_loop(a, b, o, k);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn mul_plain_avx512(a: &[i32], b: &[i32], o: &mut [i32], k: &Plain) {
    mul_plain_loop(a, b, o, k);
}

#[inline(always)]
fn mul_plain_loop(a: &[i32], b: &[i32], o: &mut [i32], k: &Plain) {
    for (o, (&a, &b)) in o.iter_mut().zip(a.iter().zip(b)) {
        *o = k.apply(i64::from(a) * i64::from(b));
    }
}

/// `o = requant(a)` (see [`Plain`]), with AVX-512 where the CPU has it (the same integers).
fn rescale_plain(a: &[i32], o: &mut [i32], k: &Plain) {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512() {
            // SAFETY: AVX-512 F/DQ are present (checked just above).
            unsafe { rescale_plain_avx512(a, o, k) };
            return;
        }
    }
    rescale_plain_loop(a, o, k);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn rescale_plain_avx512(a: &[i32], o: &mut [i32], k: &Plain) {
    rescale_plain_loop(a, o, k);
}

#[inline(always)]
fn rescale_plain_loop(a: &[i32], o: &mut [i32], k: &Plain) {
    for (o, &a) in o.iter_mut().zip(a) {
        *o = k.apply(i64::from(a));
    }
}

/// Whether the CPU has AVX-512 F and DQ (the 64-bit lane multiply the plain maps use).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
}

/// Whether every value of `data` lies in `[lo, hi]`: the answer of a scan, computed a chunk at
/// a time without stopping inside a chunk (so that it vectorizes; a node's output check read
/// every value one by one and took a tenth of YOLOv8n's run).
pub(crate) fn all_within(data: &[i32], lo: i32, hi: i32) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if avx512() {
            // SAFETY: AVX-512 F/DQ are present (checked just above).
            return unsafe { all_within_avx512(data, lo, hi) };
        }
    }
    all_within_loop(data, lo, hi)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn all_within_avx512(data: &[i32], lo: i32, hi: i32) -> bool {
    all_within_loop(data, lo, hi)
}

#[inline(always)]
fn all_within_loop(data: &[i32], lo: i32, hi: i32) -> bool {
    data.chunks(4096)
        .all(|c| c.iter().fold(true, |ok, &v| ok & (lo <= v) & (v <= hi)))
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

#[cfg(test)]
mod tests {
    use super::{magnitude, min_max};
    use proptest::prelude::*;

    proptest! {
        /// The vectorized scan against a plain one, over lengths that leave tails past every
        /// vector width, with the extremes of `i32` placed anywhere.
        #[test]
        fn min_max_matches_a_plain_scan(
            data in prop::collection::vec(any::<i32>(), 0..150),
            at in any::<prop::sample::Index>(),
            edge in prop::sample::select(vec![i32::MIN, i32::MAX, 0, -1]),
        ) {
            let mut data = data;
            if !data.is_empty() {
                let i = at.index(data.len());
                data[i] = edge;
            }
            let want = data.iter().min().copied().zip(data.iter().max().copied());
            prop_assert_eq!(min_max(&data), want);
            let mag = data.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
            prop_assert_eq!(magnitude(min_max(&data)), mag);
        }
    }
}
