//! Convolution in `f32`: 1-D or 2-D, NCHW, grouped, with strides, pads and dilations.

use super::{Cx, nchw, pos};
use crate::Result;

/// `Conv`: each output is its bias plus the products over the group's input channels and the
/// kernel taps inside the input, summed in channel, row, column order.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv(
    cx: &Cx<'_>,
    weight: usize,
    bias: Option<usize>,
    kernel: [usize; 2],
    st: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
    group: usize,
) -> Result<Vec<f32>> {
    let x = cx.x;
    let w = cx.konst(weight);
    let (nb, c, h, wd) = nchw(&x.shape).ok_or_else(|| cx.err("conv input is not NCHW"))?;
    let (_, co, oh, ow) = nchw(cx.out_shape).ok_or_else(|| cx.err("conv output is not NCHW"))?;
    let (cg, og) = (c / group, co / group);
    let mut data = vec![0f32; cx.total];
    for b in 0..nb {
        for o in 0..co {
            let gi = o / og;
            for y in 0..oh {
                for xo in 0..ow {
                    let mut s = bias.map_or(0.0, |bb| cx.konst(bb).data[o]);
                    for ci in 0..cg {
                        for ky in 0..kernel[0] {
                            let Some(iy) = pos(y, ky, st[0], dilations[0], pads[0], h) else {
                                continue;
                            };
                            for kx in 0..kernel[1] {
                                let Some(ix) = pos(xo, kx, st[1], dilations[1], pads[1], wd) else {
                                    continue;
                                };
                                let xv = x.data[((b * c + gi * cg + ci) * h + iy) * wd + ix];
                                let wv = w.data[((o * cg + ci) * kernel[0] + ky) * kernel[1] + kx];
                                s += xv * wv;
                            }
                        }
                    }
                    data[((b * co + o) * oh + y) * ow + xo] = s;
                }
            }
        }
    }
    Ok(data)
}
