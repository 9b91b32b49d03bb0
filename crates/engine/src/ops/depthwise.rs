//! Depthwise `Conv` (one input and one output channel per group, the 3x3 layers of MobileNet
//! and of the PP-OCR recognizers and detectors): each output plane is the sum, over the
//! window's taps, of the tap's weight times the input plane shifted by the tap, added along
//! whole output rows. The general path ([`super::conv`]) builds an im2col matrix and a product
//! of one output column per group, which ran these layers at 0.2 GMAC/s.
//!
//! The sums are the exact integer sums of `docs/semantics.md` section 3 (in `i32` where the
//! section 4 bound allows, else `i64`, as the general path decides), finished by the same
//! [`super::dense::finish`]: the same integers, in any summation order.

use super::dense::{Accum, Channels, finish};
use super::{SemResult, Window, nchw};
use crate::gemm::Packed;
use crate::tensor::Tensor;
use std::ops::AddAssign;
use vouch_semantics::{Error as SemError, Requant};

/// Whether a `Conv` of `c` input and `co` output channels in `groups` groups is depthwise.
pub(crate) fn is_depthwise(c: usize, co: usize, groups: usize) -> bool {
    groups > 0 && c == groups && co == groups
}

/// A depthwise `Conv` of `x` (`[N, C, H, W]` or `[N, C, W]`) by `weights` (one packed
/// `[1, kH · kW]` matrix per channel), output `out_shape`.
pub fn depthwise(
    x: &Tensor,
    weights: &[Packed],
    ch: &Channels,
    win: &Window,
    out_shape: &[usize],
    rq: &Requant,
    acc: Accum,
) -> SemResult<Tensor> {
    use rayon::prelude::*;
    let domain = |what| SemError::Domain { what };
    let (n, c, h, w) = nchw(&x.shape).ok_or(domain("depthwise input rank"))?;
    let (_, co, oh, ow) = nchw(out_shape).ok_or(domain("depthwise output rank"))?;
    let taps = win.kernel[0] * win.kernel[1];
    if !is_depthwise(c, co, weights.len()) || weights.iter().any(|p| p.rows != 1 || p.k != taps) {
        return Err(domain("depthwise weights"));
    }
    let (plane_in, pixels) = (h * w, oh * ow);
    let mut out = vec![0i32; n * co * pixels];
    if pixels == 0 {
        return Ok(Tensor {
            shape: out_shape.to_vec(),
            data: out,
        });
    }
    let geo = Plane {
        h,
        w,
        oh,
        ow,
        spans: column_spans(win, w, ow),
    };
    let one = |(i, dst): (usize, &mut [i32])| -> SemResult<()> {
        let k = i % c;
        let src = &x.data[i * plane_in..(i + 1) * plane_in];
        let wk = &weights[k].row(0)[..taps];
        let view = ch.view(k, k + 1);
        let plane = if acc.acc64 {
            let mut sums = vec![0i64; pixels];
            accumulate64(&mut sums, src, wk, win, &geo);
            let bias = view.bias.map_or(0, |b| b[0]);
            let m = view.mults.map_or(rq.m, |m| m[0]);
            // `|sums| < 2^36` (at most 2^5 taps of products below 2^31 in these shapes, and
            // far more taps still leave room): the bias add cannot overflow below 2^62.
            if !acc.wide && bias.unsigned_abs() < 1 << 62 && taps <= 1 << 20 {
                requant64(&sums, dst, bias, m, rq);
                return Ok(());
            }
            finish(&sums, 1, view, rq, acc.wide)?
        } else {
            let mut sums = vec![0i32; pixels];
            accumulate(&mut sums, src, wk, win, &geo);
            finish(&sums, 1, view, rq, acc.wide)?
        };
        dst.copy_from_slice(&plane);
        Ok(())
    };
    if n * c > 1 && crate::gemm::in_parallel_pool() {
        out.par_chunks_mut(pixels).enumerate().try_for_each(one)?;
    } else {
        out.chunks_mut(pixels).enumerate().try_for_each(one)?;
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data: out,
    })
}

/// The sizes of one input plane and its output plane, and per kernel column its
/// [`ColumnSpan`].
struct Plane {
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    spans: Vec<Option<ColumnSpan>>,
}

/// The output columns `lo..hi` whose input column `xo·sW + tx·dW − padL` (for one kernel
/// column `tx`) lies in `[0, W)`, the first of them reading input column `first`.
#[derive(Clone, Copy)]
struct ColumnSpan {
    lo: usize,
    hi: usize,
    first: usize,
}

/// Per kernel column, its [`ColumnSpan`] (`None` when every tap of it falls in the padding).
fn column_spans(win: &Window, w: usize, ow: usize) -> Vec<Option<ColumnSpan>> {
    let (sw, dw, pl) = (win.strides[1], win.dilations[1], win.pads[1]);
    (0..win.kernel[1])
        .map(|tx| {
            let off = tx * dw;
            let lo = pl.saturating_sub(off).div_ceil(sw);
            let hi = (w + pl).checked_sub(off)?.div_ceil(sw).min(ow);
            (lo < hi).then(|| ColumnSpan {
                lo,
                hi,
                first: lo * sw + off - pl,
            })
        })
        .collect()
}

/// `dst = clamp(((sums + bias)·m + 2^(s−1)) >> s, lo, hi)`: [`finish`] of one channel with a
/// bias add that cannot overflow, vectorized (AVX-512 where the CPU has it; the same
/// integers). One bias and one multiplier over a whole plane: the products' per-column
/// finish (`gemm::finish`) called on a plane as one column ran these layers at half the speed
/// (2.2 against 4.2 GMAC per CPU second, `depthwise_speed`).
fn requant64(sums: &[i64], dst: &mut [i32], bias: i64, m: i64, rq: &Requant) {
    #[cfg(target_arch = "x86_64")]
    {
        if super::elementwise::avx512() {
            // SAFETY: AVX-512 F/DQ are present (checked just above).
            unsafe { requant64_avx512(sums, dst, bias, m, rq) };
            return;
        }
    }
    requant64_loop(sums, dst, bias, m, rq);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn requant64_avx512(sums: &[i64], dst: &mut [i32], bias: i64, m: i64, rq: &Requant) {
    requant64_loop(sums, dst, bias, m, rq);
}

#[inline(always)]
fn requant64_loop(sums: &[i64], dst: &mut [i32], bias: i64, m: i64, rq: &Requant) {
    let half = if rq.s == 0 { 0 } else { 1i64 << (rq.s - 1) };
    let (lo, hi, s) = (i64::from(rq.lo), i64::from(rq.hi), rq.s);
    for (d, &a) in dst.iter_mut().zip(sums) {
        // The package passed the section 4 bound: `|a + bias|·m + 2^(s−1)` fits `i64`, as in
        // [`finish`].
        *d = (((a + bias) * m + half) >> s).clamp(lo, hi) as i32;
    }
}

/// [`accumulate`] into `i64` sums, compiled for AVX-512 where the CPU has it (the same
/// integers: the loops widen each exact `i32` product and add it).
fn accumulate64(sums: &mut [i64], src: &[i32], wk: &[i16], win: &Window, p: &Plane) {
    #[cfg(target_arch = "x86_64")]
    {
        if super::elementwise::avx512() {
            // SAFETY: AVX-512 F/DQ are present (checked just above).
            unsafe { accumulate64_avx512(sums, src, wk, win, p) };
            return;
        }
    }
    accumulate(sums, src, wk, win, p);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn accumulate64_avx512(sums: &mut [i64], src: &[i32], wk: &[i16], win: &Window, p: &Plane) {
    accumulate(sums, src, wk, win, p);
}

/// `sums[y, xo] += Σ_taps W[ty, tx] · x[y·sH + ty·dH − padT, xo·sW + tx·dW − padL]`, taps in
/// the padding skipped. Inputs are read as the general path reads them (`as i16`: act16
/// values, unchanged); each product is exact in `i32` (`|W| ≤ 32767`, `|x| ≤ 32768`).
#[inline(always)]
fn accumulate<T>(sums: &mut [T], src: &[i32], wk: &[i16], win: &Window, p: &Plane)
where
    T: Copy + AddAssign + From<i32>,
{
    let [kh, kw] = win.kernel;
    let sw = win.strides[1];
    // With a stride, each input line is split into its `sW` phases once (phase `ph` holds
    // columns `ph, ph + sW, ...`), so that every tap reads a contiguous run.
    let mut phases = vec![0i32; if sw > 1 { p.w } else { 0 }];
    let phase_start = |ph: usize| {
        (0..ph)
            .map(|q| (p.w - q.min(p.w)).div_ceil(sw))
            .sum::<usize>()
    };
    let starts: Vec<usize> = (0..sw).map(phase_start).collect();
    for (y, row) in sums.chunks_exact_mut(p.ow).enumerate().take(p.oh) {
        for ty in 0..kh {
            let Some(iy) = win.pos(0, y, ty, p.h) else {
                continue;
            };
            let mut line = &src[iy * p.w..(iy + 1) * p.w];
            if sw > 1 {
                for (ph, &start) in starts.iter().enumerate() {
                    let dst = phases[start..].iter_mut();
                    for (d, &v) in dst.zip(line.iter().skip(ph).step_by(sw)) {
                        *d = v;
                    }
                }
                line = &phases;
            }
            for (tx, span) in p.spans.iter().enumerate() {
                let wt = i32::from(wk[ty * kw + tx]);
                let Some(ColumnSpan { lo, hi, first }) = *span else {
                    continue;
                };
                if wt == 0 {
                    continue;
                }
                // Input column `first + j·sW`: in phase `first % sW`, at `first / sW + j`.
                let at = if sw > 1 {
                    starts[first % sw] + first / sw
                } else {
                    first
                };
                for (s, &v) in row[lo..hi].iter_mut().zip(&line[at..]) {
                    *s += T::from(wt * i32::from(v as i16));
                }
            }
        }
    }
}
