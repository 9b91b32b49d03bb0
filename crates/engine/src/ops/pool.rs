//! Windowed pooling over NCHW: `MaxPool` (padding ignored) and `AveragePool` (`div_round`,
//! with or without the padding in the count; GlobalAveragePool is one window).

use super::{NodeRun, SemResult, Window, check_window, nchw, window};
use crate::Result;
use crate::tensor::Tensor;
use vouch_semantics::{Error as SemError, div_round};

/// `MaxPool` (padding ignored) or `AveragePool` (`div_round`), NCHW.
pub fn pool(x: &Tensor, win: &Window, out_shape: &[usize], avg: Option<bool>) -> SemResult<Tensor> {
    let (n, c, h, w) = nchw(&x.shape).ok_or(SemError::Domain {
        what: "pool input rank",
    })?;
    let (_, _, oh, ow) = nchw(out_shape).ok_or(SemError::Domain {
        what: "pool output rank",
    })?;
    let planes = n * c;
    let (img, o_img) = ((h * w).max(1), (oh * ow).max(1));
    if planes * h * w == 0 || oh * ow == 0 || x.data.len() < planes * h * w {
        // no window to take (as the plane-by-plane loop wrote nothing)
        return Ok(Tensor {
            shape: out_shape.to_vec(),
            data: Vec::new(),
        });
    }
    let mut out = vec![0i32; planes * oh * ow];
    let one =
        |(plane, dst): (&[i32], &mut [i32])| pool_plane(plane, dst, [h, w], [oh, ow], win, avg);
    // planes side by side in a pool: each output element is still computed by one thread,
    // and every error is the same for each plane (it depends on the window alone)
    if planes > 1 && planes * oh * ow > POOL_PAR && crate::gemm::in_parallel_pool() {
        use rayon::prelude::*;
        x.data
            .par_chunks_exact(img)
            .zip(out.par_chunks_mut(o_img))
            .try_for_each(one)?;
    } else {
        x.data
            .chunks_exact(img)
            .zip(out.chunks_mut(o_img))
            .try_for_each(one)?;
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data: out,
    })
}

/// Output elements above which the planes of a pool run over the pool of threads.
const POOL_PAR: usize = 1 << 15;

/// One plane of [`pool`] (`h × w` in, `oh × ow` out).
fn pool_plane(
    plane: &[i32],
    dst: &mut [i32],
    [h, w]: [usize; 2],
    [oh, ow]: [usize; 2],
    win: &Window,
    avg: Option<bool>,
) -> SemResult<()> {
    let [kh, kw] = win.kernel;
    let mut cols = Vec::with_capacity(kw);
    let mut out = dst.iter_mut();
    let mut put = |v: i32| {
        if let Some(d) = out.next() {
            *d = v;
        }
    };
    {
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
                    put(best);
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
                put(match avg {
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
    Ok(())
}

/// Runs a `MaxPool` node: checks the window against the shapes.
pub(crate) fn run_max_pool(
    r: &NodeRun<'_>,
    kernel: [u32; 2],
    strides: [u32; 2],
    pads: [u32; 4],
    dilations: [u32; 2],
) -> Result<Tensor> {
    let win = window(kernel, strides, pads, dilations);
    check_window(r.node, &r.x.shape, r.out_shape, &win)?;
    pool(r.x, &win, r.out_shape, None).map_err(|e| r.sem(e))
}

/// Runs an `AveragePool` node: checks the window against the shapes.
pub(crate) fn run_average_pool(
    r: &NodeRun<'_>,
    kernel: [u32; 2],
    strides: [u32; 2],
    pads: [u32; 4],
    count_include_pad: bool,
) -> Result<Tensor> {
    let win = window(kernel, strides, pads, [1, 1]);
    check_window(r.node, &r.x.shape, r.out_shape, &win)?;
    pool(r.x, &win, r.out_shape, Some(count_include_pad)).map_err(|e| r.sem(e))
}
