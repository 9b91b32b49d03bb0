//! Convolution: weights packed once per group, im2col of each image into packed rows, one
//! product per group (finished as [`super::dense`] finishes every product).

use super::dense::{Accum, ChannelView, Channels, channels_of, product};
use super::{NodeRun, SemResult, Window, check_overflow, check_weights, check_window, nchw};
use crate::Result;
use crate::exec::shape_err;
use crate::gemm::Packed;
use crate::tensor::Tensor;
use vouch_model::{Node, Package};
use vouch_semantics::{Error as SemError, Requant};

/// `Conv`: per image and group, im2col into packed rows (a cache-sized block), one product with
/// the group's packed weights. Images run in parallel; each output element is still computed
/// by one thread in one order.
#[allow(clippy::too_many_arguments)]
pub fn conv(
    x: &Tensor,
    weights: &[Packed],
    ch: &Channels,
    win: &Window,
    out_shape: &[usize],
    rq: &Requant,
    acc: Accum,
) -> SemResult<Tensor> {
    let out = vec![0; crate::tensor::numel(out_shape).unwrap_or(0)];
    conv_into(x, weights, ch, win, out_shape, rq, acc, out)
}

/// [`conv`] into `out`, as many elements as the output's (their values are overwritten).
#[allow(clippy::too_many_arguments)]
fn conv_into(
    x: &Tensor,
    weights: &[Packed],
    ch: &Channels,
    win: &Window,
    out_shape: &[usize],
    rq: &Requant,
    acc: Accum,
    mut out: Vec<i32>,
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
    if out.len() != n * img_out {
        return Err(SemError::Domain {
            what: "conv output size",
        });
    }
    if img_out == 0 {
        return Ok(Tensor {
            shape: out_shape.to_vec(),
            data: out,
        });
    }
    let one = |(b, dst): (usize, &mut [i32])| -> SemResult<()> {
        let src = &x.data[b * img_in..(b + 1) * img_in];
        conv_image(src, dst, weights, ch, win, &geo, rq, acc, n == 1)
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

/// Pixels per block when transposing between planes and rows.
const TRANSPOSE_BLOCK: usize = 64;

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
    ch: &Channels,
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
    // A 1x1 window with unit strides and no padding reads each pixel once, in place.
    let pointwise = [kh, kw] == [1, 1]
        && win.strides == [1, 1]
        && win.pads.iter().all(|&p| p == 0)
        && (oh, ow) == (h, w);
    let mut cols = Packed::zeroed(pixels, cg * kh * kw);
    for (g, wg) in weights.iter().enumerate() {
        if g > 0 {
            cols.data.fill(0);
        }
        if pointwise {
            // A 1x1 window over every pixel: the columns are the group's planes transposed,
            // in blocks of pixels so that both sides stay in cache.
            let planes = &src[g * cg * pixels..(g + 1) * cg * pixels];
            for p0 in (0..pixels).step_by(TRANSPOSE_BLOCK) {
                let p1 = (p0 + TRANSPOSE_BLOCK).min(pixels);
                for (ci, plane) in planes.chunks_exact(pixels).enumerate() {
                    for (pix, &v) in plane.iter().enumerate().take(p1).skip(p0) {
                        cols.data[pix * cols.kp + ci] = v as i16;
                    }
                }
            }
        } else {
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
        }
        let gc: ChannelView<'_> = ch.view(g * og, (g + 1) * og);
        let acc = product(&cols, wg, gc, rq, accum, parallel_gemm)?;
        // `acc` is `[pixels, og]`; the output is channel-major: transposed in blocks of pixels.
        let og1 = og.max(1);
        for p0 in (0..pixels).step_by(TRANSPOSE_BLOCK) {
            let p1 = (p0 + TRANSPOSE_BLOCK).min(pixels);
            for o in 0..og {
                let row = &mut dst[(g * og + o) * pixels..(g * og + o + 1) * pixels];
                for (pix, d) in row.iter_mut().enumerate().take(p1).skip(p0) {
                    *d = acc[pix * og1 + o];
                }
            }
        }
    }
    Ok(())
}

/// `Conv`'s weights packed once: one packed `[C_out / group, C_in / group · kH · kW]` matrix
/// per group, whether the accumulator needs `i64`, and the channels' bias values and multipliers.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prepare_conv(
    pkg: &Package,
    node: &Node,
    weight: u32,
    bias: Option<u32>,
    kernel: [u32; 2],
    group: u32,
    rq: &Requant,
    wide: bool,
) -> Result<(Vec<Packed>, bool, Channels)> {
    let konst = |c: u32| &pkg.consts[c as usize];
    let weight_err = |r: &str| shape_err(node, r.to_owned());
    let w = konst(weight);
    let [co, cg, kh, kw] = w.shape[..] else {
        return Err(weight_err("weight must be 4-D"));
    };
    check_weights(node, &w.data)?;
    if [kh, kw] != kernel || co % group != 0 {
        return Err(weight_err("weight shape disagrees with kernel or group"));
    }
    let b = channels_of(node, konst, bias, co as usize, rq, wide)?;
    let acc64 = check_overflow(pkg, node, &w.data, co as usize, &b, rq, wide)?;
    let (og, k) = ((co / group) as usize, (cg * kh * kw) as usize);
    let packs = w
        .data
        .chunks_exact((og * k).max(1))
        .map(|g| Packed::from_rows(og, k, g))
        .collect();
    Ok((packs, acc64, b))
}

/// Runs a `Conv` node on its prepared weights: checks the window and the channels. `fast`, the
/// weights of the 16-bit fast path, computes the same integers when given; `silu`, a SiLU its
/// epilogue applies to every output (only on the fast path: an error elsewhere, which
/// [`crate::exec`] never asks for); `direct` lets a depthwise node take
/// [`super::depthwise`] (the same integers) instead of the im2col product.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_conv(
    r: &NodeRun<'_>,
    ws: &[Packed],
    acc64: bool,
    ch: &Channels,
    win: Window,
    rq: &Requant,
    wide: bool,
    fast: Option<&super::conv16::Conv16>,
    silu: Option<crate::gemm::conv16::Silu<'_>>,
    direct: bool,
) -> Result<Tensor> {
    let x = ConvIn {
        parts: &[r.x],
        shape: &r.x.shape,
        bufs: Some(r.bufs),
    };
    run_conv_of(
        r.node,
        x,
        r.out_shape,
        (ws, acc64, ch),
        win,
        rq,
        wide,
        fast,
        silu,
        direct,
    )
}

/// A `Conv`'s input: its tensors side by side along channels (one tensor, or the inputs of a
/// `Concat` along channels that is never stored), of the shape `shape` together.
#[derive(Clone, Copy)]
pub(crate) struct ConvIn<'a> {
    /// The tensors, in channel order.
    pub(crate) parts: &'a [&'a Tensor],
    /// Their shape side by side (checked by the caller to be theirs).
    pub(crate) shape: &'a [usize],
    /// Where the output's buffer comes from (a fresh one when `None`).
    pub(crate) bufs: Option<&'a crate::exec::Buffers>,
}

/// [`run_conv`] of a node's input `x`; more than one part only on the fast path (an error
/// elsewhere, which [`crate::exec`] never asks for). `direct`: a depthwise node may take
/// [`super::depthwise`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_conv_of(
    node: &Node,
    x: ConvIn<'_>,
    out_shape: &[usize],
    (ws, acc64, ch): (&[Packed], bool, &Channels),
    win: Window,
    rq: &Requant,
    wide: bool,
    fast: Option<&super::conv16::Conv16>,
    silu: Option<crate::gemm::conv16::Silu<'_>>,
    direct: bool,
) -> Result<Tensor> {
    let err = |reason: &str| shape_err(node, reason);
    check_window(node, x.shape, out_shape, &win)?;
    let (_, c, _, _) = nchw(x.shape).ok_or_else(|| err("input is not NCHW"))?;
    let (_, co, _, _) = nchw(out_shape).ok_or_else(|| err("output is not NCHW"))?;
    let g = ws.len();
    let kk = (c / g) * win.kernel[0] * win.kernel[1];
    if c % g != 0 || co % g != 0 || ws.iter().any(|w| w.k != kk || w.rows != co / g) {
        return Err(err("channels do not match the weights"));
    }
    let sem = |e| crate::Error::Semantics {
        node: node.name.clone(),
        source: e,
    };
    // the fast path requantizes by the node's one multiplier: a per-channel node takes the
    // general path
    if let Some(f) = fast.filter(|_| acc64 && ch.mults.is_none()) {
        let bias = ch.bias.as_deref();
        let fin = (rq, wide, silu);
        return super::conv16::conv16_then(x.parts, f, bias, &win, out_shape, fin, x.bufs)
            .map_err(sem);
    }
    if silu.is_some() {
        return Err(err("a SiLU epilogue needs the 16-bit fast path"));
    }
    let bufs = x.bufs;
    let [x] = x.parts else {
        return Err(err("a Concat read in place needs the 16-bit fast path"));
    };
    let acc = Accum { wide, acc64 };
    if direct && super::depthwise::is_depthwise(c, co, g) {
        return super::depthwise::depthwise(x, ws, ch, &win, out_shape, rq, acc).map_err(sem);
    }
    let n = crate::tensor::numel(out_shape).unwrap_or(0);
    // every element is written (`conv_image` stores each product's value)
    let out = bufs.map_or_else(|| vec![0; n], |b| b.take(n));
    conv_into(x, ws, ch, &win, out_shape, rq, acc, out).map_err(sem)
}
