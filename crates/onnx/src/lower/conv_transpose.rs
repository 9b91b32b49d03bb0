//! ONNX `ConvTranspose` (1-D or 2-D, NCHW) of a computed tensor, lowered into existing ops: a
//! transposed convolution is a [`FOp::Conv`] with stride 1 over the input with `stride - 1`
//! zeros between its elements, padded by `(k - 1) · d - pad` on each side (cropped where that
//! is negative), by the kernel flipped on its spatial axes with its two channel axes swapped
//! within each group. The zeros between elements come from a [`FOp::Pad`] of one zero past the
//! end of each strided axis and a [`FOp::Select`] that reads it between the input's elements
//! (and crops); the borders are the `Conv`'s own zero padding. With stride 1 and no cropping
//! the `Conv` reads the input directly. A kernel equal to its stride with no pads, dilation or
//! `output_padding` reaches each output from one input position: a 1×1 `Conv` to
//! `C_out · kH · kW` channels, interleaved by [`FOp::Reshape`], [`FOp::Transpose`] and
//! [`FOp::Reshape`], multiplies no stuffed zero.

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, PadMode, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym, fixed};

/// One spatial axis of the equivalent convolution.
struct Axis {
    /// The input's length.
    input: usize,
    /// The stride: input element `i` sits at position `i · stride` of the stuffed axis.
    stride: usize,
    /// Zeros before the first position the `Select` produces (the `Conv`'s begin pad).
    lead: usize,
    /// Zeros after the last (the `Conv`'s end pad).
    trail: usize,
    /// The stuffed positions the `Select` produces: input index, or `None` for a zero.
    middle: Vec<Option<usize>>,
    /// No pads and an output of `stride · input` (no `output_padding`, no cropping).
    unpadded: bool,
}

impl Axis {
    /// Whether the `Select` would read the input unchanged.
    fn is_identity(&self) -> bool {
        self.middle.len() == self.input
            && self.middle.iter().enumerate().all(|(j, m)| *m == Some(j))
    }
}

/// The channel geometry of a transposed convolution whose kernel equals its stride.
struct Conv1x1 {
    co_g: usize,
    ci_g: usize,
    group: usize,
    kh: usize,
    kw: usize,
}

/// `a` as `i64` (sizes here are far below `i64::MAX`).
fn i(a: usize) -> i64 {
    i64::try_from(a).unwrap_or(i64::MAX)
}

impl Importer {
    /// ONNX `ConvTranspose` with a constant weight `[C_in, C_out / group, kH, kW]` and optional
    /// constant bias: `strides`, `dilations`, `group`, `pads`, `output_padding`,
    /// `output_shape` and `auto_pad` (`SAME_UPPER`, `SAME_LOWER`, `VALID`), as the ONNX
    /// reference computes them. Refused: 3-D and higher, a symbolic spatial or channel axis.
    pub(super) fn conv_transpose(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        if s.len() != 3 && s.len() != 4 {
            return Err(ctx.unsupported(format!(
                "input of rank {} (ConvTranspose over [N, C, L] or [N, C, H, W]; 3-D and higher are not supported)",
                s.len()
            )));
        }
        let input = self.spatial_in(ctx, &s)?;
        let nd = input.len();
        let super::conv::ConvWeight {
            w,
            bias,
            group,
            d0: ci,
            d1: co_g,
            kernel,
        } = self.conv_weight(ctx, &s)?;
        if co_g == 0 {
            return Err(ctx.shape_err("empty kernel"));
        }
        let c_in = match s.get(1) {
            Some(Dim::Fixed(c)) => *c,
            _ => return Err(ctx.shape_err("symbolic channel dimension")),
        };
        if c_in != ci || ci % group != 0 {
            return Err(ctx.shape_err(format!(
                "weight {:?} with group {group} does not fit {c_in} input channels",
                w.shape
            )));
        }
        let co = co_g * group;
        let per_axis = |attr: &str, default: usize| -> Result<Vec<usize>> {
            match ctx.ints(attr).filter(|v| !v.is_empty()) {
                Some(v) if v.len() == nd => ctx.positive(attr, v),
                Some(v) => Err(ctx.bad_attr(
                    attr,
                    format!("{} values for {nd} spatial dimensions", v.len()),
                )),
                None => Ok(vec![default; nd]),
            }
        };
        let strides = per_axis("strides", 1)?;
        let dilations = per_axis("dilations", 1)?;
        let axes = self.transposed_axes(ctx, &input, &kernel, &strides, &dilations)?;

        let wd = w
            .to_f32()
            .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
        let (kh, kw) = match kernel[..] {
            [k] => (1, k),
            [h, k] => (h, k),
            _ => return Err(ctx.shape_err("kernel rank")),
        };
        let ci_g = ci / group;
        let b = match bias {
            None => None,
            Some(b) => {
                if b.len() != co {
                    return Err(ctx.shape_err(format!(
                        "bias of {} elements for {co} output channels",
                        b.len()
                    )));
                }
                Some(
                    b.to_f32()
                        .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?,
                )
            }
        };
        let disjoint = axes
            .iter()
            .zip(&kernel)
            .zip(&dilations)
            .all(|((a, &k), &d)| a.unpadded && a.stride == k && d == 1);
        if disjoint {
            let c = Conv1x1 {
                co_g,
                ci_g,
                group,
                kh,
                kw,
            };
            return self.conv_transpose_disjoint(ctx, x, &s, &c, &wd, b);
        }
        // flip the kernel and swap its channel axes within each group
        let mut flipped = vec![0f32; wd.len()];
        for g in 0..group {
            for oc in 0..co_g {
                for ic in 0..ci_g {
                    for y in 0..kh {
                        for z in 0..kw {
                            let src = (((g * ci_g + ic) * co_g + oc) * kh + (kh - 1 - y)) * kw
                                + (kw - 1 - z);
                            let dst = (((g * co_g + oc) * ci_g + ic) * kh + y) * kw + z;
                            if let (Some(d), Some(&v)) = (flipped.get_mut(dst), wd.get(src)) {
                                *d = v;
                            }
                        }
                    }
                }
            }
        }
        let weight = self.new_const(ctx, "weight", vec![co, ci_g, kh, kw], flipped);
        let bias = b.map(|bd| self.new_const(ctx, "bias", vec![co], bd));
        let v = self.stuffed(ctx, x, &axes)?;
        let (lead, trail): (Vec<usize>, Vec<usize>) =
            axes.iter().map(|a| (a.lead, a.trail)).unzip();
        let two = |v: &[usize], unit: usize| -> [usize; 2] {
            match v {
                [a] => [unit, *a],
                [a, b] => [*a, *b],
                _ => [unit, unit],
            }
        };
        let ([lh, lw], [th, tw]) = (two(&lead, 0), two(&trail, 0));
        let out_sizes: Vec<usize> = axes
            .iter()
            .zip(&kernel)
            .zip(&dilations)
            .map(|((a, k), d)| a.lead + a.middle.len() + a.trail - (k - 1) * d)
            .collect();
        let op = FOp::Conv {
            weight,
            bias,
            kernel: [kh, kw],
            strides: [1, 1],
            pads: [lh, lw, th, tw],
            dilations: two(&dilations, 1),
            group,
        };
        let mut out = vec![s.first().copied().unwrap_or(Dim::Batch), Dim::Fixed(co)];
        out.extend(fixed(&out_sizes));
        let y = self.emit(ctx, op, vec![Operand::Value(v)], out, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(y))
    }

    /// The output size and pads of each spatial axis (ONNX: `out = stride · (in - 1) +
    /// output_padding + (k - 1) · d + 1 - pads`; `output_shape` or `SAME_*` fix `out` and split
    /// the total padding, the odd element at the end for `SAME_UPPER`), as the equivalent
    /// convolution's axes.
    fn transposed_axes(
        &self,
        ctx: &Ctx<'_>,
        input: &[usize],
        kernel: &[usize],
        strides: &[usize],
        dilations: &[usize],
    ) -> Result<Vec<Axis>> {
        let nd = input.len();
        let out_pad: Vec<i64> = match ctx.ints("output_padding").filter(|v| !v.is_empty()) {
            Some(v) if v.len() == nd && v.iter().all(|&p| p >= 0) => v.to_vec(),
            Some(v) => {
                return Err(ctx.bad_attr(
                    "output_padding",
                    format!("{v:?}: need {nd} non-negative values"),
                ));
            }
            None => vec![0; nd],
        };
        let auto_pad = ctx.string("auto_pad").unwrap_or(b"NOTSET");
        let output_shape: Option<Vec<i64>> =
            ctx.ints("output_shape").filter(|v| !v.is_empty()).map(|v| {
                v.get(v.len().saturating_sub(nd)..)
                    .unwrap_or_default()
                    .to_vec()
            });
        if output_shape.as_ref().is_some_and(|o| o.len() != nd) {
            return Err(ctx.bad_attr("output_shape", format!("need {nd} spatial sizes")));
        }
        let pads: Vec<i64> = match ctx.ints("pads").filter(|v| !v.is_empty()) {
            Some(p) if p.len() == 2 * nd => p.to_vec(),
            Some(p) => {
                return Err(ctx.bad_attr(
                    "pads",
                    format!("{} values for {nd} spatial dimensions", p.len()),
                ));
            }
            None => vec![0; 2 * nd],
        };
        let too_big = || ctx.shape_err("spatial size overflow");
        let mut axes = Vec::with_capacity(nd);
        for a in 0..nd {
            let (x, k, s, d, op) = (
                i(input[a]),
                i(kernel[a]),
                i(strides[a]),
                i(dilations[a]),
                out_pad[a],
            );
            let ek = (k - 1).checked_mul(d).ok_or_else(too_big)?;
            let natural = s
                .checked_mul(x - 1)
                .and_then(|v| v.checked_add(op + ek + 1))
                .ok_or_else(too_big)?;
            let target = match (&output_shape, auto_pad) {
                (Some(o), _) => Some(o[a]),
                (None, b"SAME_UPPER" | b"SAME_LOWER") => {
                    Some(x.checked_mul(s).ok_or_else(too_big)?)
                }
                (None, b"NOTSET" | b"" | b"VALID") => None,
                (None, other) => {
                    return Err(ctx.bad_attr(
                        "auto_pad",
                        format!("unknown value {:?}", String::from_utf8_lossy(other)),
                    ));
                }
            };
            let (pb, pe) = match target {
                Some(out) => {
                    let total = natural - out;
                    let half = total.div_euclid(2);
                    if auto_pad == b"SAME_UPPER" {
                        (half, total - half)
                    } else {
                        (total - half, half)
                    }
                }
                None if auto_pad == b"VALID" => (0, 0),
                None => (pads[a], pads[a + nd]),
            };
            let out = natural - pb - pe;
            if out < 1 {
                return Err(ctx.shape_err(format!(
                    "spatial axis {a}: output size {out} (pads {pb}, {pe})"
                )));
            }
            // conv-input position j in [0, len) reads stuffed position j - begin
            let len = out + ek;
            let begin = ek - pb;
            let stuffed_end = (x - 1) * s + 1; // stuffed positions [0, stuffed_end)
            let lead = begin.clamp(0, len);
            let mid_end = (begin + stuffed_end).clamp(lead, len);
            let middle: Vec<Option<usize>> = (lead..mid_end)
                .map(|j| {
                    let t = j - begin;
                    (t % s == 0).then(|| usize::try_from(t / s).unwrap_or(0))
                })
                .collect();
            if middle.is_empty() {
                return Err(ctx.unsupported(format!(
                    "spatial axis {a}: the pads leave no input element in the output"
                )));
            }
            let as_usize = |v: i64| usize::try_from(v).map_err(|_| too_big());
            axes.push(Axis {
                input: input[a],
                stride: strides[a],
                lead: as_usize(lead)?,
                trail: as_usize(len - mid_end)?,
                middle,
                unpadded: pb == 0 && pe == 0 && Some(out) == x.checked_mul(s),
            });
        }
        Ok(axes)
    }

    /// The input with zeros between its elements (and cropped) along each spatial axis: a
    /// `Pad` of one zero at the end of every axis that reads a zero, then one `Select`.
    fn stuffed(&mut self, ctx: &Ctx<'_>, x: ValueId, axes: &[Axis]) -> Result<ValueId> {
        if axes.iter().all(Axis::is_identity) {
            return Ok(x);
        }
        let dims = self.shape(x);
        let rank = dims.len();
        let first = rank - axes.len();
        let zeros: Vec<bool> = axes
            .iter()
            .map(|a| a.stride > 1 && a.middle.iter().any(Option::is_none))
            .collect();
        let mut src = x;
        if zeros.iter().any(|&z| z) {
            let mut pads = vec![0; 2 * rank];
            let mut padded = dims.clone();
            for (a, &z) in zeros.iter().enumerate() {
                if z {
                    pads[rank + first + a] = 1;
                    padded[first + a] = Dim::Fixed(axes[a].input + 1);
                }
            }
            let op = FOp::Pad {
                mode: PadMode::Constant,
                pads,
                value: 0.0,
            };
            src = self.emit_tmp(ctx, "zero_pad", op, vec![Operand::Value(x)], padded)?;
        }
        let mut maps: Vec<Option<Vec<usize>>> = vec![None; rank];
        for (a, ax) in axes.iter().enumerate() {
            if !ax.is_identity() {
                let zero = ax.input; // the padded zero
                maps[first + a] = Some(ax.middle.iter().map(|m| m.unwrap_or(zero)).collect());
            }
        }
        let name = format!("{}.stuffed", ctx.name);
        self.select_named(ctx, src, maps, &name)
    }

    /// A transposed convolution whose kernel equals its stride (no dilation, pads or
    /// `output_padding`): every output position is reached by one input position, so it is a
    /// 1×1 `Conv` to `C_out · kH · kW` channels (channel `(c · kH + a) · kW + e` holds kernel
    /// position `(a, e)` of output channel `c`), then a `Reshape` to `[N, C_out, kH, kW, H, W]`,
    /// a `Transpose` to `[N, C_out, H, kH, W, kW]` and a `Reshape` to `[N, C_out, H·kH, W·kW]`
    /// (1-D: `[N, C_out, k, L]`, `[N, C_out, L, k]`, `[N, C_out, L·k]`): no multiplication by a
    /// stuffed zero.
    fn conv_transpose_disjoint(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        s: &[Dim],
        c: &Conv1x1,
        wd: &[f32],
        bias: Option<Vec<f32>>,
    ) -> Result<()> {
        let Conv1x1 {
            co_g,
            ci_g,
            group,
            kh,
            kw,
        } = *c;
        let (co, kk) = (co_g * group, kh * kw);
        let mut weight = vec![0f32; co * kk * ci_g];
        for g in 0..group {
            for oc in 0..co_g {
                for ic in 0..ci_g {
                    for k in 0..kk {
                        let src = ((g * ci_g + ic) * co_g + oc) * kk + k;
                        let dst = ((g * co_g + oc) * kk + k) * ci_g + ic;
                        if let (Some(d), Some(&v)) = (weight.get_mut(dst), wd.get(src)) {
                            *d = v;
                        }
                    }
                }
            }
        }
        let weight = self.new_const(ctx, "weight", vec![co * kk, ci_g, 1, 1], weight);
        let bias = bias.map(|b| {
            let rep = b.iter().flat_map(|&v| std::iter::repeat_n(v, kk)).collect();
            self.new_const(ctx, "bias", vec![co * kk], rep)
        });
        let op = FOp::Conv {
            weight,
            bias,
            kernel: [1, 1],
            strides: [1, 1],
            pads: [0; 4],
            dilations: [1, 1],
            group,
        };
        let batch = s.first().copied().unwrap_or(Dim::Batch);
        let spatial: Vec<Dim> = s.get(2..).unwrap_or_default().to_vec();
        let mut conv_out = vec![batch, Dim::Fixed(co * kk)];
        conv_out.extend_from_slice(&spatial);
        let y = self.emit_tmp(ctx, "conv1x1", op, vec![Operand::Value(x)], conv_out)?;
        let sizes: Vec<usize> = spatial
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Ok(*n),
                Dim::Batch => Err(ctx.shape_err("symbolic spatial dimension")),
            })
            .collect::<Result<_>>()?;
        let (split, perm, out): (Vec<usize>, Vec<usize>, Vec<usize>) = match sizes[..] {
            [l] => (vec![co, kw, l], vec![0, 1, 3, 2], vec![co, l * kw]),
            [h, w] => (
                vec![co, kh, kw, h, w],
                vec![0, 1, 4, 2, 5, 3],
                vec![co, h * kh, w * kw],
            ),
            _ => return Err(ctx.shape_err("spatial rank")),
        };
        let dims = |v: &[usize]| {
            let mut d = vec![batch];
            d.extend(fixed(v));
            d
        };
        let split = dims(&split);
        let moved: Vec<Dim> = perm.iter().filter_map(|&p| split.get(p).copied()).collect();
        let r = self.emit_tmp(ctx, "split", FOp::Reshape, vec![Operand::Value(y)], split)?;
        let t = FOp::Transpose { perm };
        let t = self.emit_tmp(ctx, "interleave", t, vec![Operand::Value(r)], moved)?;
        let o = self.emit(
            ctx,
            FOp::Reshape,
            vec![Operand::Value(t)],
            dims(&out),
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(o))
    }
}
