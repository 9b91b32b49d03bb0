//! Convolution: constant weights, so each output is a linear combination of the input window
//! (taps in the padding are left out), finished as [`super::dense`] finishes every product.

use super::NodeIn;
use super::dense::{dot, finish};
use crate::Result;
use crate::cs::Cs;
use crate::gadgets::Sig;
use vouch_engine::ops::nchw;
use vouch_semantics::Requant;

/// `Conv` over NCHW (or NCW), grouped, with strides, pads and dilations.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv(
    cs: &mut Cs,
    nd: &NodeIn<'_>,
    weight: u32,
    bias: Option<u32>,
    kernel: [u32; 2],
    strides: [u32; 2],
    pads: [u32; 4],
    dilations: [u32; 2],
    group: u32,
    rq: &Requant,
    wide: bool,
) -> Result<Vec<Sig>> {
    let x = nd.x;
    let w = &nd.pkg.consts[weight as usize];
    let (bn, c, h, wd) = nchw(&x.shape).ok_or_else(|| nd.err("input not NCHW"))?;
    let (_, co, oh, ow) = nchw(nd.out_shape).ok_or_else(|| nd.err("output not NCHW"))?;
    let (b, mults) = nd.channels(bias, co)?;
    let g = group.max(1) as usize;
    let (cg, og) = (c / g, co / g);
    let [kh, kw] = kernel.map(|v| v as usize);
    let pos = |ax: usize, o: usize, t: usize, size: usize| -> Option<usize> {
        let p = (o * strides[ax] as usize + t * dilations[ax] as usize)
            .checked_sub(pads[ax] as usize)?;
        (p < size).then_some(p)
    };
    let mut out = Vec::with_capacity(bn * co * oh * ow);
    for bi in 0..bn {
        for o in 0..co {
            let gi = o / og.max(1);
            let rq = vouch_semantics::channel_requant(rq, mults.as_deref(), o);
            for y in 0..oh {
                for xo in 0..ow {
                    let mut terms = Vec::with_capacity(cg * kh * kw);
                    for ci in 0..cg {
                        let plane = (bi * c + gi * cg + ci) * h * wd;
                        for ty in 0..kh {
                            for tx in 0..kw {
                                if let (Some(iy), Some(ix)) = (pos(0, y, ty, h), pos(1, xo, tx, wd))
                                {
                                    let wv = w.data[((o * cg + ci) * kh + ty) * kw + tx];
                                    terms.push((&x.sigs[plane + iy * wd + ix], wv));
                                }
                            }
                        }
                    }
                    let acc = dot(terms.into_iter(), b.as_ref().map_or(0, |b| b[o]));
                    out.push(finish(cs, acc, &rq, wide));
                }
            }
        }
    }
    Ok(out)
}
