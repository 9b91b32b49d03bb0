//! One function per op of `docs/semantics.md` section 3, on runtime tensors.
//!
//! Shapes were validated by the caller ([`crate::exec`]) against the package; these functions
//! still never index out of bounds on a consistent package and report semantic errors
//! (overflow) instead of wrapping.

use crate::gemm::{Packed, gemm};
use crate::tensor::{Tensor, broadcast_index, numel, strides};
use vouch_semantics::{Error as SemError, Requant, div_round, softmax_slice};

type SemResult<T> = Result<T, SemError>;

/// Adds the bias and requantizes (or keeps wide) an accumulator matrix `[rows, n]`.
fn finish(
    acc: &mut [i32],
    n: usize,
    bias: Option<&[i32]>,
    rq: &Requant,
    wide: bool,
) -> SemResult<()> {
    if n == 0 {
        return Ok(());
    }
    for row in acc.chunks_exact_mut(n) {
        if let Some(b) = bias {
            for (a, &bb) in row.iter_mut().zip(b) {
                *a = a
                    .checked_add(bb)
                    .ok_or(SemError::Overflow { what: "bias add" })?;
            }
        }
        if !wide {
            for a in row.iter_mut() {
                *a = rq.apply(i64::from(*a))?;
            }
        }
    }
    Ok(())
}

/// `Linear`: `x` is `[..., K]`, `w` packs `[N, K]`; output `[..., N]`.
pub fn linear(
    x: &Tensor,
    w: &Packed,
    bias: Option<&[i32]>,
    rq: &Requant,
    wide: bool,
) -> SemResult<Tensor> {
    let k = w.k;
    let m = x.data.len().checked_div(k).unwrap_or(0);
    let a = Packed::from_rows(m, k, &x.data);
    let mut acc = vec![0i32; m * w.rows];
    gemm(&a, w, &mut acc);
    finish(&mut acc, w.rows, bias, rq, wide)?;
    let mut shape = x.shape.clone();
    if let Some(last) = shape.last_mut() {
        *last = w.rows;
    }
    Ok(Tensor { shape, data: acc })
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

/// `Conv`: per group, im2col into packed rows, one product with the group's packed weights.
#[allow(clippy::too_many_arguments)]
pub fn conv(
    x: &Tensor,
    weights: &[Packed],
    bias: Option<&[i32]>,
    win: &Window,
    out_shape: &[usize],
    rq: &Requant,
    wide: bool,
) -> SemResult<Tensor> {
    let (n, c, h, w) = nchw(&x.shape).ok_or(SemError::Domain {
        what: "conv input rank",
    })?;
    let (_, c_out, oh, ow) = nchw(out_shape).ok_or(SemError::Domain {
        what: "conv output rank",
    })?;
    let groups = weights.len();
    let cg = c / groups.max(1);
    let og = c_out / groups.max(1);
    let [kh, kw] = win.kernel;
    let rows = n * oh * ow;
    let mut out = vec![0i32; n * c_out * oh * ow];
    for (g, wg) in weights.iter().enumerate() {
        let mut cols = Packed::zeroed(rows, cg * kh * kw);
        for b in 0..n {
            for y in 0..oh {
                for xo in 0..ow {
                    let row = cols.row_mut((b * oh + y) * ow + xo);
                    let mut t = 0;
                    for ci in 0..cg {
                        let plane = ((b * c) + g * cg + ci) * h * w;
                        for ty in 0..kh {
                            let iy = win.pos(0, y, ty, h);
                            for tx in 0..kw {
                                if let (Some(iy), Some(ix)) = (iy, win.pos(1, xo, tx, w)) {
                                    row[t] = x.data[plane + iy * w + ix] as i16;
                                }
                                t += 1;
                            }
                        }
                    }
                }
            }
        }
        let mut acc = vec![0i32; rows * og];
        gemm(&cols, wg, &mut acc);
        let gb = bias.map(|b| &b[g * og..(g + 1) * og]);
        finish(&mut acc, og, gb, rq, wide)?;
        for (r, vals) in acc.chunks_exact(og.max(1)).enumerate() {
            let (b, pix) = (r / (oh * ow), r % (oh * ow));
            for (o, &v) in vals.iter().enumerate() {
                out[(b * c_out + g * og + o) * oh * ow + pix] = v;
            }
        }
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data: out,
    })
}

/// `MatMul` of two dynamic tensors with numpy batch broadcasting.
pub fn matmul(
    x: &Tensor,
    y: &Tensor,
    out_shape: &[usize],
    rq: &Requant,
    wide: bool,
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
        let mut acc = vec![0i32; m * n];
        gemm(&a, &bt, &mut acc);
        finish(&mut acc, n, None, rq, wide)?;
        out.extend_from_slice(&acc);
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
    for plane in x.data.chunks_exact((h * w).max(1)).take(n * c) {
        for y in 0..oh {
            for xo in 0..ow {
                let (mut best, mut sum, mut count) = (i32::MIN, 0i64, 0i64);
                for ty in 0..kh {
                    for tx in 0..kw {
                        if let (Some(iy), Some(ix)) = (win.pos(0, y, ty, h), win.pos(1, xo, tx, w))
                        {
                            let v = plane[iy * w + ix];
                            best = best.max(v);
                            sum += i64::from(v);
                            count += 1;
                        }
                    }
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
