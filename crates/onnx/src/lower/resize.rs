//! ONNX `Resize` (opsets 10 to 19 and later) and `Upsample` (opsets 7 and 9) of a computed
//! tensor, lowered into existing ops. Every mode is separable: along each resized axis, output
//! position `o` is `Σ_i A[o][i] · x[i]` for a constant matrix `A` ([`interp`],
//! the ONNX reference implementation's coefficients), or the constant `extrapolation_value`
//! (`tf_crop_and_resize` outside the crop). An axis whose every row of `A` is one weight of
//! exactly 1 (every `nearest` mode, and linear or cubic maps onto integral source coordinates)
//! is an index map: all of them together become one [`FOp::Select`]. Any other axis is a
//! [`FOp::Linear`] by `A` (`[out, in]`, with a bias holding the extrapolation value on the
//! extrapolated positions) along the last axis, between two [`FOp::Transpose`]s swapping the
//! axis with the last one when it is not the last. The extrapolated rows stay exact across axes
//! because every row of weights sums to 1.

use super::interp::{self, Coord, Filter, Interp, Rounding, Row};
use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym};
use crate::tensor::BATCH;

/// The sizes of one axis: input, output, and the scale its coordinates divide by.
#[derive(Debug, Clone, Copy)]
struct Axis {
    input: usize,
    output: usize,
    scale: f64,
}

/// What to do to one axis.
enum Step {
    /// Nothing.
    Keep,
    /// Read input index `map[o]` at output position `o`.
    Select(Vec<usize>),
    /// A `Linear` by the rows.
    Matrix(Vec<Row>),
}

/// `math.isclose` with its default relative tolerance.
fn is_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

impl Importer {
    /// ONNX `Upsample`: the scales as attribute (opset 7) or constant input (opset 9), `nearest`
    /// or `linear`, onnxruntime's asymmetric coordinates.
    pub(super) fn upsample(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let scales: Vec<f32> = if self.opset < 9 {
            ctx.attr("scales")
                .map(|a| a.floats.clone())
                .ok_or_else(|| ctx.bad_attr("scales", "is required"))?
        } else {
            self.const_in(ctx, 1)?
                .to_f32()
                .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?
        };
        let filter = self.resize_filter(ctx, Rounding::Simple)?;
        let ip = Interp {
            filter,
            coord: Coord::Asymmetric,
            antialias: false,
            exclude_outside: false,
        };
        self.resize_by(ctx, &ip, Some(scales), None, None, 0.0)
    }

    /// ONNX `Resize`: scales or sizes (constants), every `coordinate_transformation_mode`,
    /// `nearest_mode`, `linear` and `cubic` (with `cubic_coeff_a`, `exclude_outside` and
    /// opset 18's `antialias`), `tf_crop_and_resize` with a constant `roi` and
    /// `extrapolation_value`, opset 18's `axes` and `keep_aspect_ratio_policy`. Before opset
    /// 11 the coordinates are asymmetric and `nearest` is onnxruntime's (the lower neighbour
    /// when upsampling, the upper one when downsampling).
    pub(super) fn resize(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if self.opset < 11 {
            let scales = self
                .const_in(ctx, 1)?
                .to_f32()
                .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
            let ip = Interp {
                filter: self.resize_filter(ctx, Rounding::Simple)?,
                coord: Coord::Asymmetric,
                antialias: false,
                exclude_outside: false,
            };
            return self.resize_by(ctx, &ip, Some(scales), None, None, 0.0);
        }
        let rounding = match ctx.string("nearest_mode").unwrap_or(b"round_prefer_floor") {
            b"round_prefer_floor" => Rounding::PreferFloor,
            b"round_prefer_ceil" => Rounding::PreferCeil,
            b"floor" => Rounding::Floor,
            b"ceil" => Rounding::Ceil,
            other => {
                return Err(ctx.bad_attr(
                    "nearest_mode",
                    format!("unknown value {:?}", String::from_utf8_lossy(other)),
                ));
            }
        };
        let filter = self.resize_filter(ctx, rounding)?;
        let antialias = ctx.int("antialias", 0) != 0;
        if antialias && matches!(filter, Filter::Nearest(_)) {
            return Err(ctx.unsupported("antialias with mode nearest (ONNX defines none)"));
        }
        let non_empty = |t: Option<std::rc::Rc<crate::tensor::Tensor>>| t.filter(|t| t.len() > 0);
        let roi = non_empty(self.opt_const_in(ctx, 1)?)
            .map(|t| t.to_f32().ok_or_else(|| ctx.bad_input(1, "is not numeric")))
            .transpose()?;
        let scales = non_empty(self.opt_const_in(ctx, 2)?)
            .map(|t| t.to_f32().ok_or_else(|| ctx.bad_input(2, "is not numeric")))
            .transpose()?;
        let sizes = non_empty(self.opt_const_in(ctx, 3)?)
            .map(|t| {
                t.to_i64()
                    .ok_or_else(|| ctx.bad_input(3, "is not an integer tensor"))
            })
            .transpose()?;
        let mode = ctx
            .string("coordinate_transformation_mode")
            .unwrap_or(b"half_pixel");
        let coord = match mode {
            b"half_pixel" => Coord::HalfPixel,
            b"half_pixel_symmetric" => Coord::HalfPixelSymmetric,
            b"pytorch_half_pixel" => Coord::PytorchHalfPixel,
            b"align_corners" => Coord::AlignCorners,
            b"asymmetric" => Coord::Asymmetric,
            b"tf_half_pixel_for_nn" => Coord::TfHalfPixelForNn,
            // the crop of each axis is filled in per axis
            b"tf_crop_and_resize" => Coord::TfCropAndResize {
                start: 0.0,
                end: 1.0,
            },
            other => {
                return Err(ctx.bad_attr(
                    "coordinate_transformation_mode",
                    format!("unknown value {:?}", String::from_utf8_lossy(other)),
                ));
            }
        };
        let ip = Interp {
            filter,
            coord,
            antialias,
            exclude_outside: ctx.int("exclude_outside", 0) != 0,
        };
        let extrapolation = f64::from(ctx.float("extrapolation_value", 0.0));
        self.resize_by(ctx, &ip, scales, sizes, roi, extrapolation)
    }

    /// The `mode` attribute as a filter (`nearest` rounding by `rounding`).
    fn resize_filter(&self, ctx: &Ctx<'_>, rounding: Rounding) -> Result<Filter> {
        match ctx.string("mode").unwrap_or(b"nearest") {
            b"nearest" => Ok(Filter::Nearest(rounding)),
            b"linear" | b"bilinear" => Ok(Filter::Linear),
            b"cubic" if self.opset >= 11 => {
                Ok(Filter::Cubic(f64::from(ctx.float("cubic_coeff_a", -0.75))))
            }
            other => Err(ctx.unsupported(format!(
                "mode {:?} (nearest, linear and, from opset 11, cubic are supported)",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// Resizes input 0 by `scales` or `sizes` (one per axis, or per `axes` entry).
    fn resize_by(
        &mut self,
        ctx: &Ctx<'_>,
        ip: &Interp,
        scales: Option<Vec<f32>>,
        sizes: Option<Vec<i64>>,
        roi: Option<Vec<f32>>,
        extrapolation: f64,
    ) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let dims = self.shape(x);
        let rank = dims.len();
        let axes: Vec<usize> = match ctx.ints("axes").filter(|a| !a.is_empty()) {
            Some(a) => a
                .iter()
                .map(|&v| ctx.axis("axes", v, rank))
                .collect::<Result<_>>()?,
            None => (0..rank).collect(),
        };
        if (1..axes.len()).any(|i| axes[..i].contains(&axes[i])) {
            return Err(ctx.bad_attr("axes", format!("{axes:?} repeats an axis")));
        }
        let axis_sizes = self.axis_sizes(ctx, &dims, &axes, scales, sizes)?;
        let crop = |k: usize| -> Result<(f64, f64)> {
            let n = axes.len();
            match &roi {
                Some(r) if r.len() == 2 * n => Ok((
                    f64::from(r.get(k).copied().unwrap_or(0.0)),
                    f64::from(r.get(k + n).copied().unwrap_or(1.0)),
                )),
                Some(r) => {
                    Err(ctx.bad_input(1, format!("roi of {} values for {n} resized axes", r.len())))
                }
                None => Err(ctx.bad_input(1, "roi is required by tf_crop_and_resize")),
            }
        };
        let mut steps: Vec<Step> = (0..rank).map(|_| Step::Keep).collect();
        for (k, (&a, &ax)) in axes.iter().zip(&axis_sizes).enumerate() {
            let mut aip = *ip;
            let mut trivial_roi = true;
            if let Coord::TfCropAndResize { .. } = ip.coord {
                let (start, end) = crop(k)?;
                trivial_roi = is_close(start, 0.0) && is_close(end, 1.0);
                aip.coord = Coord::TfCropAndResize { start, end };
            }
            if is_close(ax.scale, 1.0) && ax.output == ax.input && trivial_roi {
                continue;
            }
            if dims.get(a) == Some(&Dim::Batch) {
                return Err(ctx.unsupported(format!(
                    "resizing axis {a}, the batch axis (rows must stay independent)"
                )));
            }
            if ax.output == 0 || ax.input == 0 {
                return Err(ctx.unsupported(format!(
                    "axis {a} of {} resized to {} (empty tensors are not supported)",
                    ax.input, ax.output
                )));
            }
            if ax.input.saturating_mul(ax.output) > self.derived_room() {
                return Err(ctx.unsupported(format!(
                    "axis {a} of {} resized to {}: the [{}, {}] interpolation matrix passes the constant budget",
                    ax.input, ax.output, ax.output, ax.input
                )));
            }
            let rows = interp::axis_rows(&aip, ax.input, ax.output, ax.scale);
            steps[a] = match interp::as_selection(&rows) {
                Some(map) => Step::Select(map),
                None => Step::Matrix(rows),
            };
        }
        self.emit_resize(ctx, x, steps, extrapolation)
    }

    /// The input size, output size and scale of each resized axis (ONNX's rules: an output of
    /// `floor(in · scale)` for scales; for sizes, the scale `out / in`, or with
    /// `keep_aspect_ratio_policy` one scale for all `axes` and outputs rounded half up).
    fn axis_sizes(
        &self,
        ctx: &Ctx<'_>,
        dims: &[Dim],
        axes: &[usize],
        scales: Option<Vec<f32>>,
        sizes: Option<Vec<i64>>,
    ) -> Result<Vec<Axis>> {
        let n = axes.len();
        let len = |a: usize| match dims.get(a) {
            Some(Dim::Fixed(d)) => Some(*d),
            _ => None,
        };
        if let Some(s) = sizes {
            if s.len() != n {
                return Err(ctx.bad_input(3, format!("{} sizes for {n} axes", s.len())));
            }
            let mut out = Vec::with_capacity(n);
            for (&a, &size) in axes.iter().zip(&s) {
                let Some(input) = len(a) else {
                    if size == BATCH || size == 1 || size == -1 {
                        out.push(Axis {
                            input: 1,
                            output: 1,
                            scale: 1.0,
                        });
                        continue;
                    }
                    return Err(ctx.unsupported(format!(
                        "resizing axis {a}, the batch axis (rows must stay independent)"
                    )));
                };
                let output = usize::try_from(size)
                    .map_err(|_| ctx.bad_input(3, format!("a negative size {size}")))?;
                out.push(Axis {
                    input,
                    output,
                    scale: output as f64 / input as f64,
                });
            }
            let policy = ctx.string("keep_aspect_ratio_policy").unwrap_or(b"stretch");
            let pick = match policy {
                b"stretch" => return Ok(out),
                b"not_larger" => f64::min,
                b"not_smaller" => f64::max,
                other => {
                    return Err(ctx.bad_attr(
                        "keep_aspect_ratio_policy",
                        format!("unknown value {:?}", String::from_utf8_lossy(other)),
                    ));
                }
            };
            let scale = out.iter().map(|a| a.scale).reduce(pick).unwrap_or(1.0);
            for a in &mut out {
                a.scale = scale;
                a.output = (scale * a.input as f64 + 0.5) as usize;
            }
            return Ok(out);
        }
        let Some(s) = scales else {
            return Err(ctx.bad_input(2, "scales or sizes is required"));
        };
        if s.len() != n {
            return Err(ctx.bad_input(2, format!("{} scales for {n} axes", s.len())));
        }
        axes.iter()
            .zip(&s)
            .map(|(&a, &scale)| {
                let scale = f64::from(scale);
                if !(scale.is_finite() && scale > 0.0) {
                    return Err(ctx.bad_input(2, format!("scale {scale} must be positive")));
                }
                let Some(input) = len(a) else {
                    if scale == 1.0 {
                        return Ok(Axis {
                            input: 1,
                            output: 1,
                            scale,
                        });
                    }
                    return Err(ctx.unsupported(format!(
                        "resizing axis {a}, the batch axis (rows must stay independent)"
                    )));
                };
                let output = scale * input as f64;
                if output >= (1u64 << 40) as f64 {
                    return Err(ctx.shape_err(format!("axis {a} resized to {output} elements")));
                }
                Ok(Axis {
                    input,
                    output: output as usize,
                    scale,
                })
            })
            .collect()
    }

    /// Emits the steps: one `Select` for every index-map axis, then one `Linear` per matrix
    /// axis (the last axis first; any other between two `Transpose`s).
    fn emit_resize(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        steps: Vec<Step>,
        extrapolation: f64,
    ) -> Result<()> {
        let rank = steps.len();
        let mut maps: Vec<Option<Vec<usize>>> = vec![None; rank];
        let mut matrices: Vec<(usize, Vec<Row>)> = Vec::new();
        for (a, s) in steps.into_iter().enumerate() {
            match s {
                Step::Keep => {}
                Step::Select(m) => maps[a] = Some(m),
                Step::Matrix(rows) => matrices.push((a, rows)),
            }
        }
        if matrices.is_empty() {
            return self.emit_select(ctx, x, maps, 0);
        }
        let mut v = x;
        if maps.iter().any(Option::is_some) {
            let name = format!("{}.select", ctx.name);
            v = self.select_named(ctx, x, maps, &name)?;
        }
        matrices.sort_by_key(|(a, _)| std::cmp::Reverse(*a));
        let count = matrices.len();
        for (i, (a, rows)) in matrices.into_iter().enumerate() {
            let last = i + 1 == count;
            v = self.interpolate_axis(ctx, v, a, &rows, extrapolation, last)?;
        }
        self.set_out(ctx, 0, Sym::Value(v))
    }

    /// A `Linear` by `rows` along axis `a` of `v` (moved last by a `Transpose` and back);
    /// `last` names its output after the node's.
    fn interpolate_axis(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        a: usize,
        rows: &[Row],
        extrapolation: f64,
        last: bool,
    ) -> Result<ValueId> {
        let dims = self.shape(v);
        let rank = dims.len();
        let input = match dims.get(a) {
            Some(Dim::Fixed(d)) => *d,
            _ => return Err(ctx.shape_err(format!("axis {a} is not fixed"))),
        };
        let output = rows.len();
        let mut weight = Vec::with_capacity(output * input);
        let mut bias = Vec::with_capacity(output);
        for r in rows {
            match r {
                Some(w) => {
                    weight.extend(w.iter().map(|&c| c as f32));
                    bias.push(0.0);
                }
                None => {
                    weight.extend(std::iter::repeat_n(0.0, input));
                    bias.push(extrapolation as f32);
                }
            }
        }
        let weight = self.new_const(ctx, &format!("axis{a}.weight"), vec![output, input], weight);
        let bias = bias
            .iter()
            .any(|&b| b != 0.0)
            .then(|| self.new_const(ctx, &format!("axis{a}.bias"), vec![output], bias));
        let op = FOp::Linear { weight, bias };
        let out_name = |s: &str| -> Result<String> {
            Ok(if last {
                ctx.output(0)
                    .ok_or_else(|| ctx.shape_err("node has no output"))?
                    .to_owned()
            } else {
                format!("{}.axis{a}.{s}", ctx.name)
            })
        };
        let mut out = dims.clone();
        out[a] = Dim::Fixed(output);
        if a + 1 == rank {
            let name = out_name("linear")?;
            return self.emit_named(ctx, op, vec![Operand::Value(v)], out, Kind::Float, &name);
        }
        let mut perm: Vec<usize> = (0..rank).collect();
        perm.swap(a, rank - 1);
        let mut moved = dims.clone();
        moved.swap(a, rank - 1);
        let t = FOp::Transpose { perm: perm.clone() };
        let name = format!("{}.axis{a}.to_last", ctx.name);
        let tv = self.emit_named(
            ctx,
            t,
            vec![Operand::Value(v)],
            moved.clone(),
            Kind::Float,
            &name,
        )?;
        moved[rank - 1] = Dim::Fixed(output);
        let name = format!("{}.axis{a}.linear", ctx.name);
        let lv = self.emit_named(ctx, op, vec![Operand::Value(tv)], moved, Kind::Float, &name)?;
        let name = out_name("back")?;
        let t = FOp::Transpose { perm };
        self.emit_named(ctx, t, vec![Operand::Value(lv)], out, Kind::Float, &name)
    }
}
