//! ONNX `LpPool` as its definition over ops vouch already has: `(Σ_window |x|^p)^(1/p)` is a
//! `Pow` table of `|x|` (of `x` for an even `p`), an `AveragePool` counting the zero padding,
//! a `Mul` by the window size and a `Pow` table of `1/p`. Its window geometry is
//! `AveragePool`'s (1-D or 2-D, no dilations: refused there, naming the node).

use crate::error::Result;
use crate::import::{Ctx, Importer};
use crate::lower::attention::{Body, int_attr};

impl Importer {
    /// ONNX `LpPool` (see the module doc).
    pub(super) fn lp_pool(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let p = ctx.int("p", 2);
        if !(1..=8).contains(&p) {
            return Err(ctx.unsupported(format!("p = {p} (1 to 8 are supported)")));
        }
        let kernel = ctx.ints("kernel_shape").unwrap_or_default();
        let mut size = 1i64;
        for &k in kernel {
            size = size.saturating_mul(k);
        }
        if kernel.is_empty() || size <= 0 {
            return Err(ctx.bad_attr("kernel_shape", "required, positive"));
        }
        let x = ctx.input(0).unwrap_or_default().to_owned();
        let mut body = Body::new(ctx);
        #[expect(clippy::cast_precision_loss, reason = "p is at most 8, a window small")]
        let (pf, sizef) = (p as f32, size as f32);
        let base = if p % 2 == 0 {
            x
        } else {
            body.op("Abs", &[&x], vec![])
        };
        let powered = if p == 1 {
            base
        } else {
            let e = body.floats(&[], vec![pf]);
            body.op("Pow", &[&base, &e], vec![])
        };
        let mut attrs: Vec<_> = ctx
            .node
            .attribute
            .iter()
            .filter(|a| a.name != "p")
            .cloned()
            .collect();
        attrs.push(int_attr("count_include_pad", 1));
        let avg = body.op("AveragePool", &[&powered], attrs);
        let n = body.floats(&[], vec![sizef]);
        let sum = body.op("Mul", &[&avg, &n], vec![]);
        let root = body.floats(&[], vec![1.0 / pf]);
        body.to(
            "Pow",
            &[&sum, &root],
            vec![],
            ctx.output(0).unwrap_or_default(),
        );
        self.lower_subgraph(ctx, &body.graph())?;
        Ok(())
    }
}
