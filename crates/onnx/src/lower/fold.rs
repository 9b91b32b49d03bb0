//! Shape arithmetic folded to constants, no node emitted: ONNX `Size` of a tensor whose shape
//! is static (no batch axis), and `Range` of constant `start`, `limit` and `delta` (as an
//! exporter writes the anchor grid of a detector: `Shape -> Gather -> Range`, constant once
//! the input shapes are). A `Range` of a computed tensor, or of the batch size, is refused
//! naming the node and the form.

use crate::error::{Error, Result};
use crate::graph::Dim;
use crate::import::{Ctx, Importer, Sym};
use crate::tensor::{BATCH, Data, Tensor};

impl Importer {
    /// ONNX `Size`: the element count of input 0 as an `int64` scalar, when its shape is
    /// static.
    pub(super) fn size_op(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let dims = match self.sym(ctx, 0)? {
            Sym::Const(t) => t.shape.clone(),
            Sym::Value(v) => self
                .shape(v)
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => Ok(*n),
                    Dim::Batch => Err(ctx.unsupported(
                        "the size of a tensor with the batch axis (the row count is not known \
                         at import)",
                    )),
                })
                .collect::<Result<_>>()?,
        };
        let n = dims
            .iter()
            .try_fold(1i64, |acc, &d| acc.checked_mul(i64::try_from(d).ok()?))
            .ok_or_else(|| ctx.shape_err("element count overflows int64"))?;
        self.out_const(ctx, Tensor::i(Vec::new(), vec![n]))
    }

    /// ONNX `Range(start, limit, delta)` of scalar constants: `max(ceil((limit - start) /
    /// delta), 0)` elements `start + i * delta`, integer or float as the inputs are.
    pub(super) fn range_op(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let mut args = Vec::with_capacity(3);
        for (i, what) in ["start", "limit", "delta"].iter().enumerate() {
            let t = match self.sym(ctx, i)? {
                Sym::Const(t) => t,
                Sym::Value(_) => {
                    return Err(ctx.unsupported(format!(
                        "a Range whose {what} (input #{i}) is computed from the input; \
                         vouch folds Range of constants only"
                    )));
                }
            };
            if t.len() != 1 {
                return Err(ctx.bad_input(i, format!("({what}) is not a scalar")));
            }
            if matches!(&t.data, Data::I(v) if v.contains(&BATCH)) {
                return Err(ctx.unsupported(format!(
                    "a Range whose {what} (input #{i}) is the batch size, which is not known \
                     at import"
                )));
            }
            args.push(t);
        }
        // any length the import's budget for derived constants leaves
        let room = self.derived_room();
        let too_large = || Error::TooLarge {
            tensor: ctx.name.clone(),
            limit: room,
        };
        let ints: Option<Vec<i64>> = args
            .iter()
            .map(|t| match &t.data {
                Data::I(v) => v.first().copied(),
                Data::F(_) => None,
            })
            .collect();
        let out = match ints.as_deref() {
            Some(&[start, limit, delta]) => {
                if delta == 0 {
                    return Err(ctx.bad_input(2, "(delta) is zero"));
                }
                let span = i128::from(limit) - i128::from(start);
                let d = i128::from(delta);
                // ceil(span / d), at least 0
                let n = (span / d + i128::from(span % d != 0 && (span < 0) == (d < 0))).max(0);
                let n = usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= room)
                    .ok_or_else(too_large)?;
                let data = (0..n)
                    .map(|i| {
                        i64::try_from(i128::from(start) + d * i128::try_from(i).unwrap_or(0))
                            .unwrap_or(limit)
                    })
                    .collect();
                Tensor::i(vec![n], data)
            }
            _ => {
                let f: Vec<f32> = args
                    .iter()
                    .filter_map(|t| t.to_f32().and_then(|v| v.first().copied()))
                    .collect();
                let &[start, limit, delta] = f.as_slice() else {
                    return Err(ctx.bad_input(0, "is not numeric"));
                };
                if delta == 0.0 || !delta.is_finite() || !start.is_finite() || !limit.is_finite() {
                    return Err(ctx.bad_input(2, "(delta) is zero or not finite"));
                }
                let n = ((f64::from(limit) - f64::from(start)) / f64::from(delta))
                    .ceil()
                    .max(0.0);
                #[expect(clippy::cast_precision_loss, reason = "a bound check")]
                if n > room as f64 {
                    return Err(too_large());
                }
                #[expect(clippy::cast_possible_truncation, reason = "bounded just above")]
                #[expect(clippy::cast_sign_loss, reason = "not negative")]
                let n = n as usize;
                #[expect(clippy::cast_precision_loss, reason = "as onnxruntime computes it")]
                let data = (0..n).map(|i| start + i as f32 * delta).collect();
                Tensor::f(vec![n], data)
            }
        };
        self.out_const(ctx, out)
    }
}
