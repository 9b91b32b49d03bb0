//! Windowed pooling over NCHW: `MaxPool` (a chain of max gadgets over the valid taps) and
//! `AveragePool` (the window sum, `div_round` as a division by a constant).

use super::{NodeIn, STensor};
use crate::Result;
use crate::cs::Cs;
use crate::gadgets::{self, Sig};
use vouch_engine::ops::nchw;

/// `MaxPool`.
pub(super) fn max_pool(
    cs: &mut Cs,
    nd: &NodeIn<'_>,
    kernel: [u32; 2],
    strides: [u32; 2],
    pads: [u32; 4],
    dilations: [u32; 2],
) -> Result<Vec<Sig>> {
    pool(
        cs,
        nd.x,
        nd.out_shape,
        kernel,
        strides,
        pads,
        dilations,
        None,
    )
    .ok_or_else(|| nd.err("bad pool geometry"))
}

/// `AveragePool` (no dilations).
pub(super) fn average_pool(
    cs: &mut Cs,
    nd: &NodeIn<'_>,
    kernel: [u32; 2],
    strides: [u32; 2],
    pads: [u32; 4],
    count_include_pad: bool,
) -> Result<Vec<Sig>> {
    pool(
        cs,
        nd.x,
        nd.out_shape,
        kernel,
        strides,
        pads,
        [1, 1],
        Some(count_include_pad),
    )
    .ok_or_else(|| nd.err("bad pool geometry"))
}

/// Max (`avg` `None`) or average (`Some(count_include_pad)`) pooling; `None` when a shape is
/// not NCHW/NCW or a window holds no valid tap.
#[allow(clippy::too_many_arguments)]
fn pool(
    cs: &mut Cs,
    x: &STensor,
    out_shape: &[usize],
    kernel: [u32; 2],
    strides: [u32; 2],
    pads: [u32; 4],
    dil: [u32; 2],
    avg: Option<bool>,
) -> Option<Vec<Sig>> {
    let (n, c, h, w) = nchw(&x.shape)?;
    let (_, _, oh, ow) = nchw(out_shape)?;
    let [kh, kw] = kernel.map(|v| v as usize);
    let pos = |ax: usize, o: usize, t: usize, size: usize| -> Option<usize> {
        let p = (o * strides[ax] as usize + t * dil[ax] as usize).checked_sub(pads[ax] as usize)?;
        (p < size).then_some(p)
    };
    let mut out = Vec::with_capacity(n * c * oh * ow);
    for plane in 0..n * c {
        for y in 0..oh {
            for xo in 0..ow {
                let mut win = Vec::new();
                for ty in 0..kh {
                    for tx in 0..kw {
                        if let (Some(iy), Some(ix)) = (pos(0, y, ty, h), pos(1, xo, tx, w)) {
                            win.push(&x.sigs[plane * h * w + iy * w + ix]);
                        }
                    }
                }
                let first = (*win.first()?).clone();
                out.push(match avg {
                    None => win[1..].iter().fold(first, |m, s| gadgets::max(cs, s, &m)),
                    Some(include_pad) => {
                        let d = if include_pad {
                            (kh * kw) as i128
                        } else {
                            win.len() as i128
                        };
                        let mut sum = Sig::constant(0);
                        for s in &win {
                            sum = sum.plus(s, 1);
                        }
                        // div_round(a, n) = floor((2a + n) / 2n)
                        gadgets::div_floor_const(cs, &sum.affine(2, d), 2 * d)
                    }
                });
            }
        }
    }
    Some(out)
}
