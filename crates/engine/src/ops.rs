//! One function per op of `docs/semantics.md` section 3, on runtime tensors.
//!
//! Shapes were validated by the caller ([`crate::exec`]) against the package; these functions
//! still never index out of bounds on a consistent package and report semantic errors
//! (overflow) instead of wrapping.

use crate::gemm::{Packed, gemm, gemm_serial, gemm64};
use crate::tensor::{Tensor, broadcast_index, numel, strides};
use vouch_semantics::{Error as SemError, Requant, div_round, softmax_slice};

type SemResult<T> = Result<T, SemError>;

/// How a product's accumulators are computed and finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accum {
    /// The output is the raw accumulator (no requantization).
    pub wide: bool,
    /// The accumulator may pass `i32` (the section 4 bound reaches `2^31`): sum in `i64`.
    pub acc64: bool,
}

/// `a · bᵀ` as `[rows, n]` accumulators, plus bias, requantized (or kept wide): the `i32`
/// kernels when the section 4 bound allows, else exact `i64` sums.
fn product(
    a: &Packed,
    b: &Packed,
    bias: Option<&[i32]>,
    rq: &Requant,
    accum: Accum,
    parallel: bool,
) -> SemResult<Vec<i32>> {
    let len = a.rows * b.rows;
    if accum.acc64 {
        let mut acc = vec![0i64; len];
        gemm64(a, b, &mut acc, parallel);
        return finish(&acc, b.rows, bias, rq, accum.wide);
    }
    let mut acc = vec![0i32; len];
    if parallel {
        gemm(a, b, &mut acc);
    } else {
        gemm_serial(a, b, &mut acc);
    }
    finish(&acc, b.rows, bias, rq, accum.wide)
}

/// Adds the bias and requantizes (or keeps wide) an accumulator matrix `[rows, n]`.
fn finish<A: Copy + Into<i64>>(
    acc: &[A],
    n: usize,
    bias: Option<&[i32]>,
    rq: &Requant,
    wide: bool,
) -> SemResult<Vec<i32>> {
    let mut out = Vec::with_capacity(acc.len());
    if n == 0 {
        return Ok(out);
    }
    let half = if rq.s == 0 { 0 } else { 1i64 << (rq.s - 1) };
    let (lo, hi) = (i64::from(rq.lo), i64::from(rq.hi));
    for row in acc.chunks_exact(n) {
        for (j, &a) in row.iter().enumerate() {
            let a: i64 = a.into();
            let a = match bias {
                Some(b) => a
                    .checked_add(i64::from(b[j]))
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
                ((a * rq.m + half) >> rq.s).clamp(lo, hi) as i32
            });
        }
    }
    Ok(out)
}

/// `Linear`: `x` is `[..., K]`, `w` packs `[N, K]`; output `[..., N]`.
pub fn linear(
    x: &Tensor,
    w: &Packed,
    bias: Option<&[i32]>,
    rq: &Requant,
    accum: Accum,
) -> SemResult<Tensor> {
    let k = w.k;
    let m = x.data.len().checked_div(k).unwrap_or(0);
    let a = Packed::from_rows(m, k, &x.data);
    let data = product(&a, w, bias, rq, accum, true)?;
    let mut shape = x.shape.clone();
    if let Some(last) = shape.last_mut() {
        *last = w.rows;
    }
    Ok(Tensor { shape, data })
}

/// Geometry of a 2-D window op over NCHW (1-D ops use `h = kh = 1`).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Kernel `[kH, kW]`.
    pub kernel: [usize; 2],
    /// Strides.
    pub strides: [usize; 2],
    /// Pads `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Dilations.
    pub dilations: [usize; 2],
}

impl Window {
    /// The input row/column read by output position `o` at kernel tap `t` on axis `ax`,
    /// or `None` when it falls in the padding.
    #[inline]
    fn pos(&self, ax: usize, o: usize, t: usize, size: usize) -> Option<usize> {
        let p = (o * self.strides[ax] + t * self.dilations[ax]).checked_sub(self.pads[ax])?;
        (p < size).then_some(p)
    }
}

/// Views an NCHW or NCW shape as `(n, c, h, w)`.
pub fn nchw(shape: &[usize]) -> Option<(usize, usize, usize, usize)> {
    match *shape {
        [n, c, h, w] => Some((n, c, h, w)),
        [n, c, w] => Some((n, c, 1, w)),
        _ => None,
    }
}

/// `Conv`: per image and group, im2col into packed rows (a cache-sized block), one product with
/// the group's packed weights. Images run in parallel; each output element is still computed
/// by one thread in one order.
#[allow(clippy::too_many_arguments)]
pub fn conv(
    x: &Tensor,
    weights: &[Packed],
    bias: Option<&[i32]>,
    win: &Window,
    out_shape: &[usize],
    rq: &Requant,
    acc: Accum,
) -> SemResult<Tensor> {
    use rayon::prelude::*;
    let (n, c, h, w) = nchw(&x.shape).ok_or(SemError::Domain {
        what: "conv input rank",
    })?;
    let (_, c_out, oh, ow) = nchw(out_shape).ok_or(SemError::Domain {
        what: "conv output rank",
    })?;
    let groups = weights.len().max(1);
    let geo = ConvGeometry {
        c,
        h,
        w,
        cg: c / groups,
        og: c_out / groups,
        oh,
        ow,
    };
    let img_in = c * h * w;
    let img_out = c_out * oh * ow;
    let mut out = vec![0i32; n * img_out];
    if img_out == 0 {
        return Ok(Tensor {
            shape: out_shape.to_vec(),
            data: out,
        });
    }
    let one = |(b, dst): (usize, &mut [i32])| -> SemResult<()> {
        let src = &x.data[b * img_in..(b + 1) * img_in];
        conv_image(src, dst, weights, bias, win, &geo, rq, acc, n == 1)
    };
    if n > 1 && crate::gemm::in_parallel_pool() {
        out.par_chunks_mut(img_out).enumerate().try_for_each(one)?;
    } else {
        out.chunks_mut(img_out).enumerate().try_for_each(one)?;
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data: out,
    })
}

/// Sizes of one convolution, per image.
struct ConvGeometry {
    c: usize,
    h: usize,
    w: usize,
    cg: usize,
    og: usize,
    oh: usize,
    ow: usize,
}

#[allow(clippy::too_many_arguments)]
fn conv_image(
    src: &[i32],
    dst: &mut [i32],
    weights: &[Packed],
    bias: Option<&[i32]>,
    win: &Window,
    geo: &ConvGeometry,
    rq: &Requant,
    accum: Accum,
    parallel_gemm: bool,
) -> SemResult<()> {
    let ConvGeometry {
        h,
        w,
        cg,
        og,
        oh,
        ow,
        ..
    } = *geo;
    let _ = geo.c;
    let [kh, kw] = win.kernel;
    let (sw, dw, pl) = (win.strides[1], win.dilations[1], win.pads[1]);
    let pixels = oh * ow;
    let mut cols = Packed::zeroed(pixels, cg * kh * kw);
    for (g, wg) in weights.iter().enumerate() {
        if g > 0 {
            cols.data.fill(0);
        }
        for y in 0..oh {
            for ci in 0..cg {
                let plane = (g * cg + ci) * h * w;
                for ty in 0..kh {
                    // Rows in the padding stay zero.
                    let Some(iy) = win.pos(0, y, ty, h) else {
                        continue;
                    };
                    let row = &src[plane + iy * w..plane + (iy + 1) * w];
                    let col0 = (ci * kh + ty) * kw;
                    for xo in 0..ow {
                        let d = &mut cols.row_mut(y * ow + xo)[col0..col0 + kw];
                        let start = xo * sw;
                        if start >= pl && start - pl + (kw - 1) * dw < w {
                            // Interior: every tap is inside the row.
                            let base = start - pl;
                            if dw == 1 {
                                for (v, &e) in d.iter_mut().zip(&row[base..base + kw]) {
                                    *v = e as i16;
                                }
                            } else {
                                for (tx, v) in d.iter_mut().enumerate() {
                                    *v = row[base + tx * dw] as i16;
                                }
                            }
                        } else {
                            for (tx, v) in d.iter_mut().enumerate() {
                                if let Some(ix) = win.pos(1, xo, tx, w) {
                                    *v = row[ix] as i16;
                                }
                            }
                        }
                    }
                }
            }
        }
        let gb = bias.map(|b| &b[g * og..(g + 1) * og]);
        let acc = product(&cols, wg, gb, rq, accum, parallel_gemm)?;
        for (pix, vals) in acc.chunks_exact(og.max(1)).enumerate() {
            for (o, &v) in vals.iter().enumerate() {
                dst[(g * og + o) * pixels + pix] = v;
            }
        }
    }
    Ok(())
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
        out.extend(product(&a, &bt, None, rq, accum, true)?);
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data: out,
    })
}

/// Elementwise binary op with numpy broadcasting.
pub fn binary(
    x: &Tensor,
    y: &Tensor,
    out_shape: &[usize],
    f: impl Fn(i64, i64) -> SemResult<i32>,
) -> SemResult<Tensor> {
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

/// `T[X + 128]`.
pub fn lut(x: &Tensor, table: &[i32]) -> SemResult<Tensor> {
    unary(x, |v| {
        usize::try_from(v + 128)
            .ok()
            .and_then(|i| table.get(i).copied())
            .ok_or(SemError::Domain {
                what: "lut input outside act8",
            })
    })
}

/// Splits a shape at `axis` into (outer, len, inner).
fn split_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Integer softmax along `axis`.
pub fn softmax(x: &Tensor, axis: usize, table: &[i32], rq: &Requant) -> SemResult<Tensor> {
    let (outer, len, inner) = split_axis(&x.shape, axis);
    let mut data = vec![0i32; x.data.len()];
    let mut slice = vec![0i32; len];
    let mut res = vec![0i32; len];
    for o in 0..outer {
        for i in 0..inner {
            for (j, s) in slice.iter_mut().enumerate() {
                *s = x.data[(o * len + j) * inner + i];
            }
            softmax_slice(&slice, table, rq, &mut res)?;
            for (j, r) in res.iter().enumerate() {
                data[(o * len + j) * inner + i] = *r;
            }
        }
    }
    Ok(Tensor {
        shape: x.shape.clone(),
        data,
    })
}

/// Index of the maximum along `axis` (first, or last with `select_last_index`).
pub fn argmax(x: &Tensor, axis: usize, out_shape: &[usize], last: bool) -> Tensor {
    let (outer, len, inner) = split_axis(&x.shape, axis);
    let mut data = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0usize;
            for j in 1..len {
                let (v, b) = (
                    x.data[(o * len + j) * inner + i],
                    x.data[(o * len + best) * inner + i],
                );
                if v > b || (last && v == b) {
                    best = j;
                }
            }
            data.push(best as i32);
        }
    }
    Tensor {
        shape: out_shape.to_vec(),
        data,
    }
}

/// `MaxPool` (padding ignored) or `AveragePool` (`div_round`), NCHW.
pub fn pool(x: &Tensor, win: &Window, out_shape: &[usize], avg: Option<bool>) -> SemResult<Tensor> {
    let (n, c, h, w) = nchw(&x.shape).ok_or(SemError::Domain {
        what: "pool input rank",
    })?;
    let (_, _, oh, ow) = nchw(out_shape).ok_or(SemError::Domain {
        what: "pool output rank",
    })?;
    let [kh, kw] = win.kernel;
    let mut out = Vec::with_capacity(n * c * oh * ow);
    let mut cols = Vec::with_capacity(kw);
    for plane in x.data.chunks_exact((h * w).max(1)).take(n * c) {
        for y in 0..oh {
            for xo in 0..ow {
                let (sy, sx) = (y * win.strides[0], xo * win.strides[1]);
                let interior = sy >= win.pads[0]
                    && sy - win.pads[0] + (kh - 1) * win.dilations[0] < h
                    && sx >= win.pads[1]
                    && sx - win.pads[1] + (kw - 1) * win.dilations[1] < w;
                if interior && avg.is_none() {
                    // Max over a window inside the plane: no padding to skip.
                    let (by, bx) = (sy - win.pads[0], sx - win.pads[1]);
                    let mut best = i32::MIN;
                    for ty in 0..kh {
                        let r = &plane[(by + ty * win.dilations[0]) * w..];
                        for tx in 0..kw {
                            best = best.max(r[bx + tx * win.dilations[1]]);
                        }
                    }
                    out.push(best);
                    continue;
                }
                let (mut best, mut sum, mut count) = (i32::MIN, 0i64, 0i64);
                // Valid taps only: columns are resolved once per output position (a plain
                // range when the window is inside the row, the common case).
                cols.clear();
                let start = xo * win.strides[1];
                if start >= win.pads[1] && start - win.pads[1] + (kw - 1) * win.dilations[1] < w {
                    let base = start - win.pads[1];
                    cols.extend((0..kw).map(|tx| base + tx * win.dilations[1]));
                } else {
                    cols.extend((0..kw).filter_map(|tx| win.pos(1, xo, tx, w)));
                }
                for iy in (0..kh).filter_map(|ty| win.pos(0, y, ty, h)) {
                    let row = &plane[iy * w..(iy + 1) * w];
                    for &ix in &cols {
                        let v = row[ix];
                        best = best.max(v);
                        sum += i64::from(v);
                    }
                    count += cols.len() as i64;
                }
                out.push(match avg {
                    None if count == 0 => {
                        return Err(SemError::Domain {
                            what: "max pool window entirely in padding",
                        });
                    }
                    None => best,
                    Some(include_pad) => {
                        let div = if include_pad { (kh * kw) as i64 } else { count };
                        if div == 0 {
                            return Err(SemError::Domain {
                                what: "average pool window entirely in padding",
                            });
                        }
                        div_round(sum, div)? as i32
                    }
                });
            }
        }
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data: out,
    })
}

/// Axis permutation.
pub fn transpose(x: &Tensor, perm: &[usize]) -> Tensor {
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let src_strides = strides(&x.shape);
    let eff: Vec<usize> = perm.iter().map(|&p| src_strides[p]).collect();
    let total = x.data.len();
    let mut data = Vec::with_capacity(total);
    let mut idx = vec![0usize; shape.len()];
    let mut off = 0usize;
    for _ in 0..total {
        data.push(x.data[off]);
        for ax in (0..shape.len()).rev() {
            idx[ax] += 1;
            off += eff[ax];
            if idx[ax] < shape[ax] {
                break;
            }
            off -= eff[ax] * shape[ax];
            idx[ax] = 0;
        }
    }
    Tensor { shape, data }
}

/// Concatenation along `axis`.
pub fn concat(xs: &[&Tensor], axis: usize, out_shape: &[usize]) -> Tensor {
    let outer: usize = out_shape[..axis].iter().product();
    let inner: usize = out_shape[axis + 1..].iter().product();
    let mut data = Vec::with_capacity(numel(out_shape).unwrap_or(0));
    for o in 0..outer {
        for x in xs {
            let chunk = x.shape[axis] * inner;
            data.extend_from_slice(&x.data[o * chunk..(o + 1) * chunk]);
        }
    }
    Tensor {
        shape: out_shape.to_vec(),
        data,
    }
}
