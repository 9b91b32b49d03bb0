//! The one-axis interpolation of ONNX `Resize` (and `Upsample`) as a matrix: output position
//! `o` along a resized axis is `Σ_i A[o][i] · x[i]`, or the constant `extrapolation_value`
//! (`tf_crop_and_resize` outside the crop). Every mode is separable, so an n-D resize is one
//! such map per axis; the coefficients are the ONNX reference implementation's
//! (`onnx/reference/ops/op_resize.py`, `_interpolate_1d_along_axis`), computed in `f64` in the
//! same order, so nearest-neighbour ties round exactly as it does.

/// How an output coordinate maps back onto the input axis
/// (`coordinate_transformation_mode`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Coord {
    /// `(o + 0.5) / scale - 0.5`.
    HalfPixel,
    /// `half_pixel` about the centre of the implicit crop (`half_pixel_symmetric`).
    HalfPixelSymmetric,
    /// `half_pixel`, except `-0.5` for an output of length 1.
    PytorchHalfPixel,
    /// `o · (in - 1) / (out - 1)` (`0` for an output of length 1), `out = in · scale` unrounded
    /// as in the ONNX reference (onnxruntime uses the integer output length).
    AlignCorners,
    /// `o / scale`.
    Asymmetric,
    /// `(o + 0.5) / scale`.
    TfHalfPixelForNn,
    /// The region `[start, end]` of the axis (as fractions of `in - 1`) stretched over the
    /// output; outside the input, the extrapolation value.
    TfCropAndResize {
        /// Where the crop starts.
        start: f64,
        /// Where it ends.
        end: f64,
    },
}

/// Which neighbour the `nearest` mode picks (`nearest_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rounding {
    /// Half-way picks the lower index.
    PreferFloor,
    /// Half-way picks the upper index.
    PreferCeil,
    /// Always the lower index.
    Floor,
    /// Always the upper index.
    Ceil,
    /// onnxruntime's rule before opset 11 (and `Upsample`): the lower index when upsampling,
    /// the upper one when downsampling.
    Simple,
}

/// The interpolation filter (`mode`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Filter {
    /// One neighbour.
    Nearest(Rounding),
    /// Two neighbours weighted `1 - r`, `r`.
    Linear,
    /// Keys' cubic convolution over four neighbours with coefficient `a`.
    Cubic(f64),
}

/// Everything but the sizes that fixes one axis's map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Interp {
    /// The filter.
    pub(super) filter: Filter,
    /// The coordinate transformation.
    pub(super) coord: Coord,
    /// Widen the linear or cubic filter by `1 / scale` when downsampling (opset 18).
    pub(super) antialias: bool,
    /// Give neighbours outside the input weight 0 and renormalize.
    pub(super) exclude_outside: bool,
}

/// One output position of an axis: its input weights (dense, one per input index), or `None`
/// when the position is extrapolated.
pub(super) type Row = Option<Vec<f64>>;

/// The map of one axis of `input` elements onto `output` positions, `scale` the ONNX scale
/// (`output / input` when sizes were given).
pub(super) fn axis_rows(ip: &Interp, input: usize, output: usize, scale: f64) -> Vec<Row> {
    let in_f = input as f64;
    let out_f = scale * in_f;
    (0..output)
        .map(|o| {
            let y = o as f64;
            let x = match ip.coord {
                Coord::AlignCorners => {
                    if out_f == 1.0 {
                        0.0
                    } else {
                        y * (in_f - 1.0) / (out_f - 1.0)
                    }
                }
                Coord::Asymmetric => y / scale,
                Coord::TfCropAndResize { start, end } => {
                    let x = if out_f == 1.0 {
                        (end - start) * (in_f - 1.0) / 2.0
                    } else {
                        y * (end - start) * (in_f - 1.0) / (out_f - 1.0)
                    };
                    let x = x + start * (in_f - 1.0);
                    if x < 0.0 || x > in_f - 1.0 {
                        return None;
                    }
                    x
                }
                Coord::PytorchHalfPixel => {
                    if out_f == 1.0 {
                        -0.5
                    } else {
                        (y + 0.5) / scale - 0.5
                    }
                }
                Coord::HalfPixel => (y + 0.5) / scale - 0.5,
                Coord::HalfPixelSymmetric => {
                    let adjustment = output as f64 / out_f;
                    let center = in_f / 2.0;
                    let offset = center * (1.0 - adjustment);
                    offset + (y + 0.5) / scale - 0.5
                }
                Coord::TfHalfPixelForNn => (y + 0.5) / scale,
            };
            Some(row(ip, input, scale, x))
        })
        .collect()
}

/// The weights of the input indices for the source coordinate `x`.
fn row(ip: &Interp, input: usize, scale: f64, x: f64) -> Vec<f64> {
    let floor = x.floor();
    // the ratio is in (0, 1]: an integral coordinate prefers the pixel on its left
    let ratio = if x == floor { 1.0 } else { x - floor };
    let mut coeffs = match ip.filter {
        Filter::Nearest(r) => nearest(ratio, r, scale),
        Filter::Linear if ip.antialias => linear_antialias(ratio, scale),
        Filter::Linear => vec![1.0 - ratio, ratio],
        Filter::Cubic(a) if ip.antialias => cubic_antialias(ratio, scale, a),
        Filter::Cubic(a) => cubic(ratio, a),
    };
    let n = coeffs.len();
    // the n indices nearest to x, ties to the smaller (the reference's edge-padded window)
    let pad = n.div_ceil(2) as f64;
    let xp = x + pad;
    let p = xp.floor();
    let frac = xp - p;
    let half = (n / 2) as f64;
    let offset = if n % 2 == 0 {
        if frac == 0.0 { -half } else { -half + 1.0 }
    } else {
        let base = -(((n - 1) / 2) as f64);
        if frac <= 0.5 { base } else { base + 1.0 }
    };
    let start = p + offset - pad;
    let last = input as f64 - 1.0;
    if ip.exclude_outside {
        for (j, c) in coeffs.iter_mut().enumerate() {
            let i = start + j as f64;
            if i < 0.0 || i > last {
                *c = 0.0;
            }
        }
        let sum: f64 = coeffs.iter().sum();
        let sum = if sum == 0.0 { 1.0 } else { sum };
        for c in &mut coeffs {
            *c /= sum;
        }
    }
    let mut weights = vec![0.0; input];
    for (j, c) in coeffs.iter().enumerate() {
        // edge padding: an index past either end reads the end
        let i = (start + j as f64).clamp(0.0, last) as usize;
        if let Some(w) = weights.get_mut(i) {
            *w += c;
        }
    }
    weights
}

/// `nearest`: weights of the lower and upper neighbour.
fn nearest(ratio: f64, r: Rounding, scale: f64) -> Vec<f64> {
    let pick = |upper: bool| {
        if upper {
            vec![0.0, 1.0]
        } else {
            vec![1.0, 0.0]
        }
    };
    if ratio == 1.0 {
        return pick(true);
    }
    pick(match r {
        Rounding::PreferFloor => ratio > 0.5,
        Rounding::PreferCeil => ratio >= 0.5,
        Rounding::Floor => false,
        Rounding::Ceil => true,
        Rounding::Simple => scale < 1.0,
    })
}

/// Keys' cubic convolution weights of the four neighbours.
fn cubic(ratio: f64, a: f64) -> Vec<f64> {
    let r = ratio;
    let s = 1.0 - r;
    vec![
        ((a * (r + 1.0) - 5.0 * a) * (r + 1.0) + 8.0 * a) * (r + 1.0) - 4.0 * a,
        ((a + 2.0) * r - (a + 3.0)) * r * r + 1.0,
        ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0,
        ((a * (s + 1.0) - 5.0 * a) * (s + 1.0) + 8.0 * a) * (s + 1.0) - 4.0 * a,
    ]
}

/// The cubic kernel widened by `1 / scale` when downsampling, normalized.
fn cubic_antialias(ratio: f64, scale: f64, a: f64) -> Vec<f64> {
    let scale = scale.min(1.0);
    let k = |x: f64| {
        let x = x.abs();
        let (x2, x3) = (x * x, x * x * x);
        if x <= 1.0 {
            (a + 2.0) * x3 - (a + 3.0) * x2 + 1.0
        } else if x < 2.0 {
            a * x3 - 5.0 * a * x2 + 8.0 * a * x - 4.0 * a
        } else {
            0.0
        }
    };
    let start = (-2.0 / scale).floor() as i64 + 1;
    let end = 2 - start;
    let c: Vec<f64> = (start..end)
        .map(|i| k(scale * (i as f64 - ratio)))
        .collect();
    normalized(c)
}

/// The triangle kernel widened by `1 / scale` when downsampling, normalized.
fn linear_antialias(ratio: f64, scale: f64) -> Vec<f64> {
    let scale = scale.min(1.0);
    let start = (-1.0 / scale).floor() as i64 + 1;
    let footprint = 2 - 2 * start;
    let c: Vec<f64> = (start..start + footprint)
        .map(|i| (1.0 - ((i as f64 - ratio) * scale).abs()).clamp(0.0, 1.0))
        .collect();
    normalized(c)
}

fn normalized(c: Vec<f64>) -> Vec<f64> {
    let sum: f64 = c.iter().sum();
    c.into_iter().map(|v| v / sum).collect()
}

/// The input index each output position reads when every row is one weight of exactly 1
/// (a selection: every nearest mode, and linear or cubic maps whose source coordinates are
/// all integral), else `None`.
pub(super) fn as_selection(rows: &[Row]) -> Option<Vec<usize>> {
    rows.iter()
        .map(|r| {
            let r = r.as_ref()?;
            let mut ones = r.iter().enumerate().filter(|(_, w)| **w != 0.0);
            match (ones.next(), ones.next()) {
                (Some((i, w)), None) => (*w == 1.0).then_some(i),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(filter: Filter, coord: Coord) -> Interp {
        Interp {
            filter,
            coord,
            antialias: false,
            exclude_outside: false,
        }
    }

    #[test]
    fn nearest_asymmetric_doubling_repeats_each_input() {
        let rows = axis_rows(
            &ip(Filter::Nearest(Rounding::Floor), Coord::Asymmetric),
            3,
            6,
            2.0,
        );
        assert_eq!(as_selection(&rows), Some(vec![0, 0, 1, 1, 2, 2]));
    }

    #[test]
    fn nearest_half_pixel_rounds_half_way_as_asked() {
        // downsampling 4 -> 2 by half_pixel: sources 0.5 and 2.5, exactly half way
        let sel = |r| {
            as_selection(&axis_rows(
                &ip(Filter::Nearest(r), Coord::HalfPixel),
                4,
                2,
                0.5,
            ))
        };
        assert_eq!(sel(Rounding::PreferFloor), Some(vec![0, 2]));
        assert_eq!(sel(Rounding::PreferCeil), Some(vec![1, 3]));
        assert_eq!(sel(Rounding::Ceil), Some(vec![1, 3]));
    }

    #[test]
    fn bilinear_half_pixel_weights_sum_to_one_and_clamp_at_the_edges() {
        let rows = axis_rows(&ip(Filter::Linear, Coord::HalfPixel), 2, 4, 2.0);
        let want = [
            [1.0, 0.0],   // -0.25 clamps onto input 0
            [0.75, 0.25], // 0.25
            [0.25, 0.75], // 0.75
            [0.0, 1.0],   // 1.25 clamps onto input 1
        ];
        for (r, w) in rows.iter().zip(want) {
            assert_eq!(r.as_deref(), Some(&w[..]));
        }
        assert_eq!(as_selection(&rows), None);
    }

    #[test]
    fn cubic_and_antialias_weights_sum_to_one() {
        for (filter, antialias) in [
            (Filter::Cubic(-0.75), false),
            (Filter::Cubic(-0.5), true),
            (Filter::Linear, true),
        ] {
            let i = Interp {
                antialias,
                ..ip(filter, Coord::HalfPixel)
            };
            for (input, output) in [(4, 3), (4, 8), (8, 3)] {
                let scale = output as f64 / input as f64;
                for r in axis_rows(&i, input, output, scale) {
                    let s: f64 = r.unwrap().iter().sum();
                    assert!((s - 1.0).abs() < 1e-12, "{filter:?} {input}->{output}: {s}");
                }
            }
        }
    }

    #[test]
    fn crop_and_resize_marks_positions_outside_the_input() {
        let i = ip(
            Filter::Linear,
            Coord::TfCropAndResize {
                start: 0.4,
                end: 1.2,
            },
        );
        let rows = axis_rows(&i, 4, 3, 0.75);
        // sources 1.2, 2.4, 3.6: the last is past the input's last index 3
        assert!(rows[0].is_some() && rows[1].is_some() && rows[2].is_none());
    }
}
