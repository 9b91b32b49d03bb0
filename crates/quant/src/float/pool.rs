//! Windowed pooling in `f32`: `MaxPool`, `AveragePool` and `GlobalAveragePool`, 1-D or 2-D.

use super::{Cx, nchw, pos};
use crate::Result;

/// `MaxPool`: the largest input in each window.
pub(super) fn max_pool(
    cx: &Cx<'_>,
    kernel: [usize; 2],
    st: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
) -> Result<Vec<f32>> {
    pool(cx, kernel, st, pads, dilations, None)
}

/// `AveragePool`: the mean of each window, over the full kernel size when `count_include_pad`
/// or else over the taps inside the input.
pub(super) fn average_pool(
    cx: &Cx<'_>,
    kernel: [usize; 2],
    st: [usize; 2],
    pads: [usize; 4],
    count_include_pad: bool,
) -> Result<Vec<f32>> {
    pool(cx, kernel, st, pads, [1, 1], Some(count_include_pad))
}

/// `GlobalAveragePool`: the mean of each channel's plane.
pub(super) fn global_average_pool(cx: &Cx<'_>) -> Result<Vec<f32>> {
    let x = cx.x;
    let (_, _, h, w) = nchw(&x.shape).ok_or_else(|| cx.err("input is not NCHW"))?;
    let hw = (h * w).max(1);
    let data = x
        .data
        .chunks(hw)
        .map(|p| p.iter().sum::<f32>() / hw as f32)
        .collect();
    Ok(data)
}

/// A max pool (`avg` is `None`) or an average pool (`avg` is `count_include_pad`).
fn pool(
    cx: &Cx<'_>,
    k: [usize; 2],
    st: [usize; 2],
    pads: [usize; 4],
    dil: [usize; 2],
    avg: Option<bool>,
) -> Result<Vec<f32>> {
    let x = cx.x;
    let (_, _, h, w) = nchw(&x.shape).ok_or_else(|| cx.err("pool input is not NCHW"))?;
    let (_, _, oh, ow) = nchw(cx.out_shape).ok_or_else(|| cx.err("pool output is not NCHW"))?;
    let mut data = Vec::new();
    for plane in x.data.chunks((h * w).max(1)) {
        for y in 0..oh {
            for xo in 0..ow {
                let (mut best, mut sum, mut n) = (f32::NEG_INFINITY, 0f32, 0usize);
                for ky in 0..k[0] {
                    for kx in 0..k[1] {
                        if let (Some(iy), Some(ix)) = (
                            pos(y, ky, st[0], dil[0], pads[0], h),
                            pos(xo, kx, st[1], dil[1], pads[1], w),
                        ) {
                            let v = plane[iy * w + ix];
                            best = best.max(v);
                            sum += v;
                            n += 1;
                        }
                    }
                }
                data.push(match avg {
                    None => best,
                    Some(true) => sum / (k[0] * k[1]) as f32,
                    Some(false) => sum / n.max(1) as f32,
                });
            }
        }
    }
    Ok(data)
}
