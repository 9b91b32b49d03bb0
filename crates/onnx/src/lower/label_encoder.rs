//! `ai.onnx.ml` `LabelEncoder` (opset 2 on) with `int64` keys: folded on a constant (`int64`
//! or `float` values), and the identity on the `ArgMax` indices of a classifier when it maps
//! every class `0..n-1` to itself (a label lookup that changes nothing, emitting no node).
//! Any other mapping of computed indices is refused, naming the node: the integer graph has
//! no table lookup on an index tensor. String keys or values (opset 1's `classes_strings`,
//! `keys_strings`, `values_strings`) are refused too.

use crate::error::Result;
use crate::graph::{Dim, FOp};
use crate::import::{Ctx, Importer, Kind, Sym};
use crate::proto::TensorProto;
use crate::tensor::{Data, Tensor};

/// What the encoder maps its keys to.
enum Values {
    Ints(Vec<i64>, i64),
    Floats(Vec<f32>, f32),
}

impl Ctx<'_> {
    /// The `int64` elements of attribute `list` or of the tensor attribute `tensor`, if given.
    fn int64s(&self, list: &str, tensor: &str) -> Result<Option<Vec<i64>>> {
        if let Some(t) = self.attr(tensor).and_then(|a| a.t.as_ref()) {
            return match t.data_type {
                7 => Ok(Tensor::from_proto(t)?.to_i64()),
                _ => Err(self.unsupported(format!("{tensor} that is not an int64 tensor"))),
            };
        }
        Ok(self.ints(list).map(<[i64]>::to_vec))
    }
}

/// A float tensor attribute's elements.
fn floats(t: &TensorProto) -> Result<Option<Vec<f32>>> {
    Ok(match t.data_type {
        1 => Tensor::from_proto(t)?.to_f32(),
        _ => None,
    })
}

impl Importer {
    /// `ai.onnx.ml` `LabelEncoder`.
    pub(super) fn label_encoder(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        for attr in ["classes_strings", "keys_strings", "values_strings"] {
            if ctx.attr(attr).is_some() {
                return Err(ctx.unsupported(format!(
                    "string keys or values ({attr}): vouch's tensors are numbers"
                )));
            }
        }
        let keys = ctx
            .int64s("keys_int64s", "keys_tensor")?
            .ok_or_else(|| ctx.unsupported("keys other than int64 (keys_int64s, keys_tensor)"))?;
        let values = if let Some(v) = ctx.int64s("values_int64s", "values_tensor")? {
            Values::Ints(v, ctx.int("default_int64", -1))
        } else if let Some(v) = ctx.attr("values_floats") {
            Values::Floats(v.floats.clone(), ctx.float("default_float", -0.0))
        } else if let Some(t) = ctx.attr("values_tensor").and_then(|a| a.t.as_ref()) {
            let v = floats(t)?
                .ok_or_else(|| ctx.unsupported("values_tensor other than int64 or float"))?;
            Values::Floats(v, ctx.float("default_float", -0.0))
        } else {
            return Err(ctx.bad_attr("values_int64s", "no values given"));
        };
        let n_values = match &values {
            Values::Ints(v, _) => v.len(),
            Values::Floats(v, _) => v.len(),
        };
        if n_values != keys.len() {
            return Err(ctx.bad_attr(
                "keys_int64s",
                format!("{} keys for {n_values} values", keys.len()),
            ));
        }
        // the first value of a key given twice, as onnxruntime's map keeps it
        let pos = |k: i64| keys.iter().position(|&x| x == k);
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let ks = t
                    .to_i64()
                    .filter(|_| matches!(t.data, Data::I(_)))
                    .ok_or_else(|| ctx.bad_input(0, "is not an int64 tensor"))?;
                let out = match &values {
                    Values::Ints(v, d) => Tensor::i(
                        t.shape.clone(),
                        ks.iter().map(|&k| pos(k).map_or(*d, |i| v[i])).collect(),
                    ),
                    Values::Floats(v, d) => Tensor::f(
                        t.shape.clone(),
                        ks.iter().map(|&k| pos(k).map_or(*d, |i| v[i])).collect(),
                    ),
                };
                self.out_const(ctx, out)
            }
            Sym::Value(idx) => {
                if self.kinds.get(idx) != Some(&Kind::Index) {
                    return Err(ctx.unsupported(
                        "a LabelEncoder of a float tensor (int64 keys read class indices)",
                    ));
                }
                let classes = self.index_count(idx);
                let identity = match (&values, classes) {
                    (Values::Ints(v, d), Some(n)) => (0..n)
                        .all(|c| i64::try_from(c).is_ok_and(|c| pos(c).map_or(*d, |i| v[i]) == c)),
                    _ => false,
                };
                if !identity {
                    return Err(ctx.unsupported(
                        "a LabelEncoder of computed class indices other than the identity on \
                         0..n-1 (the integer graph has no table lookup on an index tensor)",
                    ));
                }
                let s = self.sym(ctx, 0)?;
                self.set_out(ctx, 0, s)
            }
        }
    }

    /// The number of classes an index value ranges over: the size of the axis its `ArgMax`
    /// reduces.
    fn index_count(&self, idx: crate::graph::ValueId) -> Option<usize> {
        let node = self
            .g
            .nodes
            .get(self.producer.get(idx).copied().flatten()?)?;
        let FOp::ArgMax { axis, .. } = node.op else {
            return None;
        };
        let crate::graph::Operand::Value(x) = *node.inputs.first()? else {
            return None;
        };
        match self.shape(x).get(axis)? {
            Dim::Fixed(n) => Some(*n),
            Dim::Batch => None,
        }
    }
}
