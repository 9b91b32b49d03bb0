//! ONNX `SpaceToDepth` and `DepthToSpace` (a `Reshape` to rank 6, a `Transpose`, a `Reshape`
//! back, both modes `DCR` and `CRD`) and `LpNormalization` (`p` 1 or 2: the norm along the
//! axis by a `ReduceSum` of `|x|` or `x · x`, then a `Mul` by its table `1 / s` or `1 / √s`)
//! as function bodies over ops vouch already has.

use crate::error::Result;
use crate::graph::Dim;
use crate::import::{Ctx, Importer, Sym};
use crate::lower::attention::{Body, int_attr, ints_attr};

/// `SpaceToDepth`'s or `DepthToSpace`'s mode.
fn dcr(ctx: &Ctx<'_>) -> Result<bool> {
    match ctx.string("mode").unwrap_or(b"DCR") {
        b"DCR" => Ok(true),
        b"CRD" => Ok(false),
        other => Err(ctx.bad_attr(
            "mode",
            format!(
                "is {:?}; expected \"DCR\" or \"CRD\"",
                String::from_utf8_lossy(other)
            ),
        )),
    }
}

/// A fixed dimension as `i64`.
fn dim(ctx: &Ctx<'_>, s: &[Dim], i: usize) -> Result<i64> {
    match s.get(i) {
        Some(Dim::Fixed(n)) => i64::try_from(*n).map_err(|_| ctx.shape_err("dimension too large")),
        _ => Err(ctx.shape_err(format!("axis {i} must be a fixed dimension (shape {s:?})"))),
    }
}

impl Importer {
    /// `[N, C, H, W]` of input 0, a computed tensor, with `C`, `H`, `W` and the block size.
    fn blocks(&self, ctx: &Ctx<'_>) -> Result<(String, [i64; 4])> {
        let v = self.value_in(ctx, 0)?;
        let s = self.shape(v);
        if s.len() != 4 {
            return Err(ctx.shape_err(format!("input must be [N, C, H, W], not {s:?}")));
        }
        let b = ctx.int("blocksize", 0);
        if b <= 0 {
            return Err(ctx.bad_attr("blocksize", "must be positive"));
        }
        let name = ctx.input(0).unwrap_or_default().to_owned();
        Ok((
            name,
            [dim(ctx, &s, 1)?, dim(ctx, &s, 2)?, dim(ctx, &s, 3)?, b],
        ))
    }

    /// Writes `Reshape(Transpose(Reshape(x, mid), perm), out)` to the node's output.
    fn reshape_transpose(
        &mut self,
        ctx: &Ctx<'_>,
        x: &str,
        mid: Vec<i64>,
        perm: Vec<i64>,
        out: Vec<i64>,
    ) -> Result<()> {
        let mut body = Body::new(ctx);
        let mid = body.ints(mid);
        let r = body.op("Reshape", &[x, &mid], vec![]);
        let t = body.op("Transpose", &[&r], vec![ints_attr("perm", perm)]);
        let out_shape = body.ints(out);
        let y = ctx.output(0).unwrap_or_default();
        body.to("Reshape", &[&t, &out_shape], vec![], y);
        self.lower_subgraph(ctx, &body.graph())?;
        Ok(())
    }

    /// ONNX `SpaceToDepth`: each `blocksize²` block of the image becomes channels.
    pub(super) fn space_to_depth(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let dcr = dcr(ctx)?;
        let (x, [c, h, w, b]) = self.blocks(ctx)?;
        if h % b != 0 || w % b != 0 {
            return Err(ctx.shape_err(format!("{h}x{w} is not a multiple of blocksize {b}")));
        }
        let perm = if dcr {
            vec![0, 3, 5, 1, 2, 4]
        } else {
            vec![0, 1, 3, 5, 2, 4]
        };
        let mid = vec![0, c, h / b, b, w / b, b];
        self.reshape_transpose(ctx, &x, mid, perm, vec![0, c * b * b, h / b, w / b])
    }

    /// ONNX `DepthToSpace`: groups of `blocksize²` channels become image blocks.
    pub(super) fn depth_to_space(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let dcr = dcr(ctx)?;
        let (x, [c, h, w, b]) = self.blocks(ctx)?;
        if c % (b * b) != 0 {
            return Err(ctx.shape_err(format!("{c} channels are not a multiple of {}", b * b)));
        }
        let (mid, perm) = if dcr {
            (vec![0, b, b, c / (b * b), h, w], vec![0, 3, 4, 1, 5, 2])
        } else {
            (vec![0, c / (b * b), b, b, h, w], vec![0, 1, 4, 2, 5, 3])
        };
        self.reshape_transpose(ctx, &x, mid, perm, vec![0, c / (b * b), h * b, w * b])
    }

    /// ONNX `LpNormalization`: `x / ‖x‖_p` along `axis` (`p` 1 or 2), as `x · (Σ|x|)^-1` or
    /// `x · (Σx²)^-1/2` (a `ReduceSum` kept, a `Pow` table, a `Mul`).
    pub(super) fn lp_normalization(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let p = ctx.int("p", 2);
        if p != 1 && p != 2 {
            return Err(ctx.unsupported(format!("p = {p} (1 and 2 are supported)")));
        }
        let rank = match self.sym(ctx, 0)? {
            Sym::Value(v) => self.shape(v).len(),
            Sym::Const(_) => return Err(ctx.unsupported("a constant input")),
        };
        let axis = ctx.axis("axis", ctx.int("axis", -1), rank)?;
        let axis = i64::try_from(axis).map_err(|_| ctx.shape_err("rank too large"))?;
        let x = ctx.input(0).unwrap_or_default().to_owned();
        let mut body = Body::new(ctx);
        let terms = if p == 1 {
            body.op("Abs", &[&x], vec![])
        } else {
            body.op("Mul", &[&x, &x], vec![])
        };
        let sum = if self.opset >= 13 {
            let axes = body.ints(vec![axis]);
            body.op("ReduceSum", &[&terms, &axes], vec![int_attr("keepdims", 1)])
        } else {
            let attrs = vec![int_attr("keepdims", 1), ints_attr("axes", vec![axis])];
            body.op("ReduceSum", &[&terms], attrs)
        };
        let exponent = body.floats(&[], vec![if p == 1 { -1.0 } else { -0.5 }]);
        let factor = body.op("Pow", &[&sum, &exponent], vec![]);
        body.to(
            "Mul",
            &[&x, &factor],
            vec![],
            ctx.output(0).unwrap_or_default(),
        );
        self.lower_subgraph(ctx, &body.graph())?;
        Ok(())
    }
}
