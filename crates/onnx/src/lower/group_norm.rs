//! ONNX `GroupNormalization` as its definition over ops vouch already has: `x` `[N, C, ..]`
//! reshaped to `[N, G, C/G · ..]`, an `InstanceNormalization` of that with scale 1 and bias 0
//! (each group's mean and variance), reshaped back, then the per-channel `scale` and `bias`
//! (`Mul`, `Add`; per group before opset 21, applied before reshaping back).

use crate::error::Result;
use crate::graph::Dim;
use crate::import::{Ctx, Importer, Sym};
use crate::lower::attention::Body;
use crate::proto::AttributeProto;

impl Importer {
    /// ONNX `GroupNormalization` (see the module doc).
    pub(super) fn group_norm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = match self.sym(ctx, 0)? {
            Sym::Value(v) => self.shape(v),
            Sym::Const(_) => return Err(ctx.unsupported("a constant input")),
        };
        if s.len() < 3 {
            return Err(ctx.shape_err(format!("input must be [N, C, ..], not {s:?}")));
        }
        let fixed: Vec<i64> = s
            .iter()
            .skip(1)
            .map(|d| match d {
                Dim::Fixed(n) => i64::try_from(*n).ok(),
                Dim::Batch => None,
            })
            .collect::<Option<_>>()
            .ok_or_else(|| ctx.shape_err(format!("symbolic axis after the first in {s:?}")))?;
        let c = fixed.first().copied().unwrap_or(0);
        let g = ctx.int("num_groups", 0);
        if g <= 0 || c % g != 0 {
            return Err(ctx.bad_attr("num_groups", format!("must divide the {c} channels")));
        }
        let per_channel = self.opset >= 21;
        let n_scale = if per_channel { c } else { g };
        let usize_of = |v: i64| usize::try_from(v).unwrap_or(0);
        for i in [1, 2] {
            let t = self.const_in(ctx, i)?;
            if t.len() != usize_of(n_scale) {
                return Err(ctx.bad_input(i, format!("must hold {n_scale} values")));
            }
        }
        let x = ctx.input(0).unwrap_or_default().to_owned();
        let (scale, bias) = (
            ctx.input(1).unwrap_or_default(),
            ctx.input(2).unwrap_or_default(),
        );
        let mut body = Body::new(ctx);
        let grouped = body.ints(vec![0, g, -1]);
        let r = body.op("Reshape", &[&x, &grouped], vec![]);
        let ones = body.floats(&[usize_of(g)], vec![1.0; usize_of(g)]);
        let zeros = body.floats(&[usize_of(g)], vec![0.0; usize_of(g)]);
        let eps = AttributeProto {
            name: "epsilon".into(),
            f: ctx.float("epsilon", 1e-5),
            r#type: 1,
            ..Default::default()
        };
        let mut y = body.op("InstanceNormalization", &[&r, &ones, &zeros], vec![eps]);
        // scale and bias shaped to broadcast over the axes after theirs
        let trailing = if per_channel { fixed.len() - 1 } else { 1 };
        let mut cshape = vec![n_scale];
        cshape.extend(std::iter::repeat_n(1, trailing));
        let cshape = body.ints(cshape);
        let affine = |body: &mut Body, y: &str| {
            let sc = body.op("Reshape", &[scale, &cshape], vec![]);
            let bi = body.op("Reshape", &[bias, &cshape], vec![]);
            let m = body.op("Mul", &[y, &sc], vec![]);
            body.op("Add", &[&m, &bi], vec![])
        };
        if !per_channel {
            y = affine(&mut body, &y);
        }
        let mut back = vec![0];
        back.extend_from_slice(&fixed);
        let back = body.ints(back);
        let out = ctx.output(0).unwrap_or_default();
        if per_channel {
            let b = body.op("Reshape", &[&y, &back], vec![]);
            let z = affine(&mut body, &b);
            body.to("Identity", &[&z], vec![], out);
        } else {
            body.to("Reshape", &[&y, &back], vec![], out);
        }
        self.lower_subgraph(ctx, &body.graph())?;
        Ok(())
    }
}
