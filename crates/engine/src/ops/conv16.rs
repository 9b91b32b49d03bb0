//! The fast path of 16-bit convolutions (the `i64` accumulator of `docs/semantics.md`
//! section 4) on CPUs with AVX-512 VNNI: the same integers as [`super::conv::conv`], computed
//! by `crate::gemm::conv16` with output channels broadcast and positions in the lanes.
//!
//! A window with unit strides reads the input in place: the input is copied once into zero-
//! padded planes of channel pairs, and each window tap is an offset into them (no im2col; the
//! positions past each output row's end are computed and dropped). A window of strides 2
//! reads the four phases of the padded input (even and odd rows and columns) the same way.
//! Other windows (other strides, dilated strided windows, or a declared output the padded
//! input cannot hold) first gather every tap into planes of pairs (im2col). Results are written channel-major, as the output tensor lies.

use crate::gemm::conv16::{self, Finish, LANES, Out, ROWS, Silu};
use std::mem::MaybeUninit;

use super::{SemResult, Window};
use crate::tensor::Tensor;
use vouch_semantics::{Error as SemError, Requant};

/// A convolution's weights laid out for the kernel, made once per package.
#[derive(Debug, Clone)]
pub struct Conv16 {
    /// Per group, per block of `ROWS` output channels, `steps · 2 · ROWS` values.
    blocks: Vec<Vec<Vec<i32>>>,
    /// Steps of one product.
    steps: usize,
    /// Steps ordered (channel pair, tap), so that taps can be read in place (unit strides, or
    /// strides of 2 from the input's four phase planes); else steps are the pairs of im2col's
    /// `k = (channel, tap)`.
    in_place: bool,
    /// Output channels per group.
    og: usize,
    /// Input channels per group.
    cg: usize,
    /// Window size.
    kernel: [usize; 2],
}

impl Conv16 {
    /// The layout of `w` (`[co, cg, kh, kw]` values within `±32767`) for a window of `strides`
    /// in `groups` groups; `None` when this CPU lacks the kernel or the groups are too narrow
    /// for it (fewer than 4 output channels each).
    pub fn new(w: &[i32], shape: [usize; 4], groups: usize, strides: [usize; 2]) -> Option<Self> {
        let [co, cg, kh, kw] = shape;
        let og = co.checked_div(groups)?;
        if !conv16::available()
            || og < 4
            || og * groups != co
            || w.len() != co * cg * kh * kw
            || cg == 0
        {
            return None;
        }
        {
            let in_place = strides == [1, 1] || strides == [2, 2];
            let taps = kh * kw;
            let kk = cg * taps;
            let steps = if in_place {
                cg.div_ceil(2) * taps
            } else {
                kk.div_ceil(2)
            };
            let blocks = (0..groups)
                .map(|g| {
                    // Weight `k` (channel-major, then tap) of output channel `o` of group `g`.
                    let at = |o: usize, k: usize| w[(g * og + o) * kk + k];
                    (0..og.div_ceil(ROWS))
                        .map(|b| {
                            conv16::lay_out(b * ROWS, steps, |o, s| {
                                (o < og).then(|| {
                                    [0, 1].map(|j| {
                                        step_tap(in_place, cg, taps, s, j)
                                            .map_or(0, |(ci, t)| at(o, ci * taps + t))
                                    })
                                })
                            })
                        })
                        .collect()
                })
                .collect();
            Some(Self {
                blocks,
                steps,
                in_place,
                og,
                cg,
                kernel: [kh, kw],
            })
        }
    }
}

/// The input channel and window tap that value `j` (0 or 1) of step `s` reads, `None` past
/// the last: steps are (channel pair, tap) when `in_place`, else pairs of `k = (channel, tap)`.
fn step_tap(in_place: bool, cg: usize, taps: usize, s: usize, j: usize) -> Option<(usize, usize)> {
    let (ci, t) = if in_place {
        (2 * (s / taps) + j, s % taps)
    } else {
        let k = 2 * s + j;
        (k / taps, k % taps)
    };
    (ci < cg).then_some((ci, t))
}

/// Where each computed position goes: position `y · row + x` is output pixel `y · ow + x` when
/// `x < ow` (`row == ow` for im2col, the padded width for in-place windows).
#[derive(Debug, Clone, Copy)]
struct Map {
    row: usize,
    ow: usize,
    oh: usize,
}

/// The planes of one group of one image, their step offsets, and where positions go.
struct Planes {
    /// Per plane and position, the pair `(first, second)` as the low and high halves of an
    /// `i32` (the byte order a 64-byte load hands `vpdpwssd`).
    x: Vec<i32>,
    offs: Vec<usize>,
    vecs: usize,
    map: Map,
}

/// `Conv` on the fast path: the same output as [`super::conv::conv`] with `acc64`.
#[allow(clippy::too_many_arguments)]
pub fn conv16(
    x: &Tensor,
    f: &Conv16,
    bias: Option<&[i64]>,
    win: &Window,
    out_shape: &[usize],
    rq: &Requant,
    wide: bool,
) -> SemResult<Tensor> {
    conv16_then(&[x], f, bias, win, out_shape, (rq, wide, None), None)
}

/// [`conv16`] of the channels of `xs` side by side (a `Concat` along channels, never
/// stored: each `[n, c_j, h, w]`), then, when `silu` is given, that SiLU of each output value,
/// in the same pass (the integers of the SiLU's nodes run on the convolution's output; never
/// with `wide`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv16_then(
    xs: &[&Tensor],
    f: &Conv16,
    bias: Option<&[i64]>,
    win: &Window,
    out_shape: &[usize],
    (rq, wide, silu): (&Requant, bool, Option<Silu<'_>>),
    bufs: Option<&crate::exec::Buffers>,
) -> SemResult<Tensor> {
    use rayon::prelude::*;
    if wide && silu.is_some() {
        return Err(SemError::Domain {
            what: "a SiLU after a wide convolution",
        });
    }
    let dom = |what| SemError::Domain { what };
    let first = xs.first().ok_or(dom("conv input"))?;
    let (n, _, h, w) = super::nchw(&first.shape).ok_or(dom("conv input rank"))?;
    // each part's channels (all of one batch and plane size)
    let mut cs = Vec::with_capacity(xs.len());
    for x in xs {
        match super::nchw(&x.shape) {
            Some((xn, xc, xh, xw))
                if (xn, xh, xw) == (n, h, w) && x.data.len() == xn * xc * xh * xw =>
            {
                cs.push(xc);
            }
            _ => return Err(dom("conv input parts")),
        }
    }
    let c: usize = cs.iter().sum();
    let (_, co, oh, ow) = super::nchw(out_shape).ok_or(dom("conv output rank"))?;
    let groups = f.blocks.len();
    if c != f.cg * groups || co != f.og * groups {
        return Err(dom("conv channels"));
    }
    let img_out = co * oh * ow;
    // Not zeroed first (7% of a 1x1 convolution's time at 80x80): every image's every
    // channel block writes each of its values (`block_into`), so `out` is whole once they
    // all return `Ok`.
    // (a kept buffer's old values are overwritten the same way)
    let mut out: Vec<MaybeUninit<i32>> = match bufs {
        Some(b) => {
            let v = std::mem::ManuallyDrop::new(b.take(n * img_out));
            // SAFETY: `i32` and `MaybeUninit<i32>` have one layout, and every `i32` is a
            // valid `MaybeUninit<i32>`; the pointer, length and capacity are `v`'s own, no
            // longer used through it.
            unsafe { Vec::from_raw_parts(v.as_ptr().cast_mut().cast(), v.len(), v.capacity()) }
        }
        None => {
            let mut out = Vec::with_capacity(n * img_out);
            out.resize_with(n * img_out, MaybeUninit::uninit);
            out
        }
    };
    if img_out > 0 {
        let one = |(b, dst): (usize, &mut [MaybeUninit<i32>])| -> SemResult<()> {
            let parts: Vec<&[i32]> = xs
                .iter()
                .zip(&cs)
                .map(|(x, &xc)| &x.data[b * xc * h * w..(b + 1) * xc * h * w])
                .collect();
            let fin = (rq, wide, silu);
            image(&parts, [h, w], dst, [oh, ow], f, bias, win, fin, n == 1)
        };
        if n > 1 && crate::gemm::in_parallel_pool() {
            out.par_chunks_mut(img_out).enumerate().try_for_each(one)?;
        } else {
            out.chunks_mut(img_out).enumerate().try_for_each(one)?;
        }
    }
    let mut out = std::mem::ManuallyDrop::new(out);
    // SAFETY: every value of `out` was written above (each image's blocks, every one of them
    // `Ok`), so its `MaybeUninit<i32>`s are `i32`s of the same layout, and the pointer,
    // length and capacity are `out`'s own, no longer used through it.
    let data =
        unsafe { Vec::from_raw_parts(out.as_mut_ptr().cast::<i32>(), out.len(), out.capacity()) };
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data,
    })
}

/// The input channels of one group of one image: channel `ci` is channel `c0 + ci` of the
/// parts side by side (each part `h · w` values per channel).
struct Chans<'a> {
    parts: &'a [&'a [i32]],
    hw: usize,
    c0: usize,
}

impl Chans<'_> {
    /// Channel `ci`'s `h · w` values (`None` past the last).
    fn chan(&self, ci: usize) -> Option<&[i32]> {
        let mut at = self.c0 + ci;
        for p in self.parts {
            let n = p.len() / self.hw.max(1);
            if at < n {
                return p.get(at * self.hw..(at + 1) * self.hw);
            }
            at -= n;
        }
        None
    }
}

/// One image (its channels in `parts`, side by side): every group's planes, then its channel
/// blocks (in parallel when `parallel` and inside a pool).
#[allow(clippy::too_many_arguments)]
fn image(
    parts: &[&[i32]],
    [h, w]: [usize; 2],
    dst: &mut [MaybeUninit<i32>],
    [oh, ow]: [usize; 2],
    f: &Conv16,
    bias: Option<&[i64]>,
    win: &Window,
    (rq, wide, silu): (&Requant, bool, Option<Silu<'_>>),
    parallel: bool,
) -> SemResult<()> {
    use rayon::prelude::*;
    let pixels = oh * ow;
    let (cg, og) = (f.cg, f.og);
    for (g, blocks) in f.blocks.iter().enumerate() {
        let chans = Chans {
            parts,
            hw: h * w,
            c0: g * cg,
        };
        let p = planes(&chans, [h, w], [oh, ow], f, win);
        let dst_g = &mut dst[g * og * pixels..(g + 1) * og * pixels];
        let run = |(b, rows): (usize, &mut [MaybeUninit<i32>])| -> SemResult<()> {
            let o0 = g * og + b * ROWS;
            let mut fin_bias = [0i64; ROWS];
            for (r, v) in fin_bias.iter_mut().enumerate() {
                if b * ROWS + r < og {
                    *v = bias.and_then(|bs| bs.get(o0 + r)).copied().unwrap_or(0);
                }
            }
            let fin = Finish {
                bias: fin_bias,
                m: rq.m,
                s: rq.s,
                lo: i64::from(rq.lo),
                hi: i64::from(rq.hi),
                wide,
                silu,
            };
            block_into(&p, &blocks[b], &fin, rows, pixels)
        };
        if parallel && crate::gemm::in_parallel_pool() {
            dst_g
                .par_chunks_mut(ROWS * pixels)
                .enumerate()
                .try_for_each(run)?;
        } else {
            dst_g
                .chunks_mut(ROWS * pixels)
                .enumerate()
                .try_for_each(run)?;
        }
    }
    Ok(())
}

/// One block of channels into `rows` (`rows.len() / pixels` output channels, channel-major):
/// on `Ok`, every value of `rows` written.
fn block_into(
    p: &Planes,
    wblk: &[i32],
    fin: &Finish<'_>,
    rows: &mut [MaybeUninit<i32>],
    pixels: usize,
) -> SemResult<()> {
    let ld = p.vecs * LANES;
    let Map { row, ow, oh } = p.map;
    // The kernel's reads stay inside the planes, and its positions cover every output value
    // (`rows` starts uninitialized) and every value copied out (checked here, once per block).
    let fits = p.offs.iter().all(|&o| o + ld <= p.x.len())
        && wblk.len() == 2 * ROWS * p.offs.len()
        && ld >= pixels
        && oh * row <= ld
        && ow <= row
        && rows.len().is_multiple_of(pixels.max(1))
        && rows.len() <= ROWS * pixels;
    if !fits {
        return Err(SemError::Domain {
            what: "conv16 plane layout",
        });
    }
    let n_rows = rows.len() / pixels.max(1);
    // Positions in output order (no padding columns): straight into the output rows.
    let direct = row == ow;
    // every one of its values is written by the kernel before it is copied out
    let mut tmp = Vec::new();
    if !direct {
        tmp.resize_with(ROWS * ld, MaybeUninit::uninit);
    }
    let mut out = if direct {
        Out {
            data: rows,
            ld: pixels,
            rows: n_rows,
            valid: pixels,
        }
    } else {
        Out {
            data: &mut tmp,
            ld,
            rows: ROWS,
            valid: ld,
        }
    };
    // SAFETY: AVX-512 F/BW/DQ/VL/VNNI are present (`Conv16` exists only then); the bounds the
    // kernel relies on were checked just above.
    #[cfg(target_arch = "x86_64")]
    let ok = unsafe { conv16::block(&p.x, &p.offs, wblk, p.vecs, fin, &mut out) };
    #[cfg(not(target_arch = "x86_64"))]
    let ok = {
        let _ = (fin, &mut out);
        false
    };
    if !ok {
        return Err(SemError::Overflow {
            what: "wide accumulator",
        });
    }
    if !direct {
        for (r, o) in rows.chunks_mut(pixels).enumerate() {
            let t = &tmp[r * ld..(r + 1) * ld];
            for y in 0..oh {
                o[y * ow..(y + 1) * ow].copy_from_slice(&t[y * row..y * row + ow]);
            }
        }
    }
    Ok(())
}

/// The planes of one group: in place (zero-padded channel pairs, taps as offsets) when the
/// window has unit strides and every tap of every declared output lies inside the padded input,
/// else im2col into planes of `k` pairs.
fn planes<'a>(
    src: &'a Chans<'a>,
    [h, w]: [usize; 2],
    [oh, ow]: [usize; 2],
    f: &Conv16,
    win: &Window,
) -> Planes {
    let [kh, kw] = f.kernel;
    let [dh, dw] = win.dilations;
    let [pt, pl, pb, pr] = win.pads;
    let (hp, wp) = (h + pt + pb, w + pl + pr);
    let in_place =
        f.in_place && oh + (kh - 1) * dh <= hp && ow + (kw - 1) * dw <= wp && win.strides == [1, 1];
    let cg = f.cg;
    if in_place {
        let taps = kh * kw;
        let pairs = cg.div_ceil(2);
        let vecs = (oh * wp).div_ceil(16);
        let max_tap = (kh - 1) * dh * wp + (kw - 1) * dw;
        let plane = (hp * wp).max(16 * vecs + max_tap);
        // Written once, in order (zeroing the whole planes first was a tenth of a small 1x1
        // convolution's time): per plane, the padding rows, each row between its padding
        // columns, then zeros to the plane's end.
        let mut x = Vec::with_capacity(pairs * plane);
        let zeros = |x: &mut Vec<i32>, n: usize| x.resize(x.len() + n, 0);
        for p in 0..pairs {
            let end = x.len() + plane;
            let chan = |ci: usize| (ci < cg).then(|| src.chan(ci)).flatten();
            if let Some(first) = chan(2 * p) {
                let second = chan(2 * p + 1);
                zeros(&mut x, pt * wp);
                for iy in 0..h {
                    zeros(&mut x, pl);
                    let a = &first[iy * w..(iy + 1) * w];
                    match second {
                        Some(b) => pair_onto(&mut x, a, &b[iy * w..(iy + 1) * w]),
                        None => x.extend(a.iter().map(|&a| a & 0xffff)),
                    }
                    zeros(&mut x, pr);
                }
            }
            x.resize(end, 0);
        }
        let offs = (0..pairs)
            .flat_map(|p| (0..taps).map(move |t| p * plane + (t / kw) * dh * wp + (t % kw) * dw))
            .collect();
        return Planes {
            x,
            offs,
            vecs,
            map: Map { row: wp, ow, oh },
        };
    }
    if f.in_place
        && win.strides == [2, 2]
        && win.dilations == [1, 1]
        && 2 * oh + kh <= hp + 2
        && 2 * ow + kw <= wp + 2
    {
        return phases(src, [h, w], [oh, ow], f, win);
    }
    // im2col in the weights' step order: per step and output row, its two values' input rows
    // read at the window's stride, written once (the padding as zeros).
    let taps = kh * kw;
    let steps = f.steps;
    let vecs = (oh * ow).div_ceil(16);
    let plane = 16 * vecs;
    let mut x = Vec::with_capacity(steps * plane);
    let sw = win.strides[1];
    for s in 0..steps {
        let end = x.len() + plane;
        let half = |j| {
            let (ci, t) = step_tap(f.in_place, cg, taps, s, j)?;
            Some((src.chan(ci)?, t / kw, (t % kw) * win.dilations[1]))
        };
        let (a, b) = (half(0), half(1));
        for y in 0..oh {
            // the input row each value reads, and its column at output column 0 (`- pl`)
            let line = |hv: Option<(&'a [i32], usize, usize)>| {
                let (chan, ty, lead) = hv?;
                let iy = win.pos(0, y, ty, h)?;
                Some(Line {
                    row: chan.get(iy * w..(iy + 1) * w)?,
                    lead: lead as isize - win.pads[1] as isize,
                })
            };
            pairs_onto(&mut x, ow, sw, line(a), line(b));
        }
        x.resize(end, 0);
    }
    Planes {
        x,
        offs: (0..steps).map(|s| s * plane).collect(),
        vecs,
        map: Map { row: ow, ow, oh },
    }
}

/// One input row an im2col or phase value reads: output column `xo` reads `row[xo · stride + lead]`
/// when that lies inside the row, else the padding's zero.
#[derive(Clone, Copy)]
struct Line<'a> {
    row: &'a [i32],
    lead: isize,
}

impl Line<'_> {
    /// The value output column `xo` reads (`i16` in an `i32`; zero in the padding).
    fn at(&self, xo: usize, stride: usize) -> i32 {
        let i = (xo * stride) as isize + self.lead;
        usize::try_from(i)
            .ok()
            .and_then(|i| self.row.get(i))
            .copied()
            .unwrap_or(0)
    }
}

/// Appends `n` pairs: column `xo`'s values of `a` and `b` as the low and high halves of an
/// `i32` (a missing line reads zeros).
fn pairs_onto(d: &mut Vec<i32>, n: usize, stride: usize, a: Option<Line<'_>>, b: Option<Line<'_>>) {
    let at = d.len();
    d.resize(at + n, 0);
    let out = &mut d[at..];
    #[cfg(target_arch = "x86_64")]
    if stride == 2 {
        // SAFETY: `Conv16` (whose planes these are) exists only where AVX-512 F is present.
        unsafe { pairs_s2(out, a, b) };
        return;
    }
    for (xo, o) in out.iter_mut().enumerate() {
        let lo = a.map_or(0, |l| l.at(xo, stride));
        let hi = b.map_or(0, |l| l.at(xo, stride));
        *o = (lo & 0xffff) | (hi << 16);
    }
}

/// [`pairs_onto`] at stride 2, sixteen columns at a time: the even lanes of 32 values loaded
/// under a mask of those inside the row.
///
/// # Safety
/// AVX-512 F is present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pairs_s2(out: &mut [i32], a: Option<Line<'_>>, b: Option<Line<'_>>) {
    use std::arch::x86_64::*;
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    // the 16 values of `l` from column `xo` on (zeros outside its row)
    let load = |l: Option<Line<'_>>, xo: usize| -> __m512i {
        let Some(l) = l else {
            return _mm512_setzero_si512();
        };
        let first = (2 * xo) as isize + l.lead;
        let len = l.row.len() as isize;
        // lane `k` of the two loads reads `row[first + k]`, `row[first + 16 + k]`: inside
        // the row only where `0 <= first + k < len`
        let mask = |from: isize| -> u16 {
            let lo = (-from).clamp(0, 16);
            let hi = (len - from).clamp(0, 16);
            if hi <= lo {
                0
            } else {
                ((u32::MAX >> (32 - (hi - lo))) << lo) as u16
            }
        };
        let p = l.row.as_ptr().wrapping_offset(first);
        // SAFETY: the masks enable only lanes inside the row; masked-off lanes are never
        // read (the loads suppress their faults), so the pointers outside it are not read.
        unsafe {
            let x0 = _mm512_maskz_loadu_epi32(mask(first), p);
            let x1 = _mm512_maskz_loadu_epi32(mask(first + 16), p.wrapping_add(16));
            _mm512_permutex2var_epi32(x0, even, x1)
        }
    };
    let low16 = _mm512_set1_epi32(0xffff);
    let mut xo = 0;
    while xo < out.len() {
        let n = (out.len() - xo).min(16);
        let v = _mm512_or_si512(
            _mm512_and_si512(load(a, xo), low16),
            _mm512_slli_epi32::<16>(load(b, xo)),
        );
        // SAFETY: the mask stores the `n` values from `xo` on, inside `out`.
        unsafe { _mm512_mask_storeu_epi32(out.as_mut_ptr().add(xo), ((1u32 << n) - 1) as u16, v) };
        xo += 16;
    }
}

/// The planes of a window of strides 2 (unit dilations) whose every tap of every declared
/// output lies inside the padded input: per channel pair, the padded input's phases
/// (`(row, column) mod 2`; the odd ones only where the window has two rows or columns of taps),
/// each a plane of `⌈hp/2⌉ × ⌈wp/2⌉`. Output `(y, x)` is position
/// `y · ⌈wp/2⌉ + x` and its tap `(ty, tx)` reads phase `(ty mod 2, tx mod 2)` at `(y + ty/2,
/// x + tx/2)`: an offset, as for unit strides (no im2col; the positions past each output row's
/// end are computed and dropped).
fn phases<'a>(
    src: &'a Chans<'a>,
    [h, w]: [usize; 2],
    [oh, ow]: [usize; 2],
    f: &Conv16,
    win: &Window,
) -> Planes {
    let [kh, kw] = f.kernel;
    let [pt, pl, pb, pr] = win.pads;
    let (hq, wq) = ((h + pt + pb).div_ceil(2), (w + pl + pr).div_ceil(2));
    let (taps, pairs) = (kh * kw, f.cg.div_ceil(2));
    let vecs = (oh * wq).div_ceil(16);
    let plane = (hq * wq).max(16 * vecs + (kh - 1) / 2 * wq + (kw - 1) / 2);
    // the phases the taps read (one row phase for one row of taps, one column phase likewise)
    let (ny, nx) = (kh.min(2), kw.min(2));
    let mut x = Vec::with_capacity(pairs * ny * nx * plane);
    for p in 0..pairs {
        let chan = |ci: usize| (ci < f.cg).then(|| src.chan(ci)).flatten();
        let (first, second) = (chan(2 * p), chan(2 * p + 1));
        for (py, px) in (0..ny).flat_map(|py| (0..nx).map(move |px| (py, px))) {
            let end = x.len() + plane;
            // column `j` of row `i` reads input column `2j + px - pl` of input row `2i + py - pt`
            for i in 0..hq {
                let iy = (2 * i + py).checked_sub(pt).filter(|&iy| iy < h);
                let line = |c: Option<&'a [i32]>| {
                    let iy = iy?;
                    Some(Line {
                        row: c?.get(iy * w..(iy + 1) * w)?,
                        lead: px as isize - pl as isize,
                    })
                };
                pairs_onto(&mut x, wq, 2, line(first), line(second));
            }
            x.resize(end, 0);
        }
    }
    let offs = (0..pairs)
        .flat_map(|p| {
            (0..taps).map(move |t| {
                let (ty, tx) = (t / kw, t % kw);
                ((p * ny + ty % 2) * nx + tx % 2) * plane + ty / 2 * wq + tx / 2
            })
        })
        .collect();
    Planes {
        x,
        offs,
        vecs,
        map: Map { row: wq, ow, oh },
    }
}

/// Appends `(a[i], b[i])` as the low and high halves of an `i32` (values within `i16`).
fn pair_onto(d: &mut Vec<i32>, a: &[i32], b: &[i32]) {
    d.extend(a.iter().zip(b).map(|(&a, &b)| (a & 0xffff) | (b << 16)));
}
