//! ONNX `Attention` (opsets 23 to 25) as its function body over ops vouch already has: the 3-D
//! inputs split into heads (`Reshape`, `Transpose`), the past key and value caches prepended
//! (`Concat`, which are also the `present_*` outputs), the key and value heads repeated for
//! grouped-query attention (`Gather` of constant indices), the scores `(Q · scale) Kᵀ`
//! (`Mul`, `Transpose`, `MatMul`), the soft cap `c · tanh(x / c)` (`Mul`, `Tanh`, `Mul`), a
//! float `attn_mask` added (`Add`), `Softmax` over the keys and the product by `V` (`MatMul`).
//!
//! The masks that ONNX writes as `-inf` — `is_causal`, the sliding window of opset 25, a
//! boolean `attn_mask` or the `-inf` entries of a float one, when known at import — are one
//! constant 0/1 tensor of allowed positions. No finite scale holds `-inf`, so a masked score is
//! replaced (`Where`) by its row's smallest score minus [`MASK_MARGIN`]: a softmax gives it
//! `e^-16` of the row's largest weight in float (`1.1e-7`), and exactly 0 once quantized (the
//! 16-bit softmax clamps differences below -12 to a zero table entry, `docs/semantics.md`
//! section 5). Rows with no allowed key give 0, as ONNX defines (a `Mul` by a constant 0/1
//! row mask). The scores' range grows by the margin only, not without bound.
//!
//! Refused forms, each named: a boolean `attn_mask` computed at run time (its masked entries
//! cannot be found at import), `nonpad_kv_seqlen`, and `qk_matmul_output_mode` 2 (the scores
//! plus the mask) when a position is masked (that output holds `-inf`).

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::Result;
use crate::graph::Dim;
use crate::import::{Ctx, Importer, Sym};
use crate::proto::{AttributeProto, DataType, GraphProto, NodeProto, TensorProto};
use crate::tensor::{Data, Tensor, numel};

/// How far below its row's smallest score a masked score is placed (see the module doc).
const MASK_MARGIN: f32 = 16.0;

/// The function body being built: nodes and their constant inputs, in a namespace of the node
/// (lowered by [`Importer::lower_subgraph`]; other function-body lowerings use it too).
pub(super) struct Body {
    prefix: String,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    next: usize,
}

/// An `int` attribute.
pub(super) fn int_attr(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_owned(),
        i: v,
        r#type: 2,
        ..Default::default()
    }
}

/// An `ints` attribute.
pub(super) fn ints_attr(name: &str, v: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: name.to_owned(),
        ints: v,
        r#type: 7,
        ..Default::default()
    }
}

fn dims_i64(shape: &[usize]) -> Vec<i64> {
    shape
        .iter()
        .map(|&d| i64::try_from(d).unwrap_or(i64::MAX))
        .collect()
}

impl Body {
    pub(super) fn new(ctx: &Ctx<'_>) -> Self {
        Self {
            prefix: ctx.name.clone(),
            nodes: Vec::new(),
            inits: Vec::new(),
            next: 0,
        }
    }

    /// The nodes and constants as a graph for [`Importer::lower_subgraph`].
    pub(super) fn graph(self) -> GraphProto {
        GraphProto {
            node: self.nodes,
            initializer: self.inits,
            ..Default::default()
        }
    }

    /// `Where(cond, x, min_j x_j - MASK_MARGIN)` over the last axis (into `out`, or a fresh
    /// name): the masked softmax input of the module doc.
    pub(super) fn masked(&mut self, x: &str, cond: &str, opset: i64, out: Option<&str>) -> String {
        let lo = if opset >= 18 {
            let axes = self.ints(vec![-1]);
            self.op("ReduceMin", &[x, &axes], vec![int_attr("keepdims", 1)])
        } else {
            let attrs = vec![int_attr("keepdims", 1), ints_attr("axes", vec![-1])];
            self.op("ReduceMin", &[x], attrs)
        };
        let margin = self.floats(&[], vec![-MASK_MARGIN]);
        let fill = self.op("Add", &[&lo, &margin], vec![]);
        match out {
            Some(o) => self.to("Where", &[cond, x, &fill], vec![], o),
            None => self.op("Where", &[cond, x, &fill], vec![]),
        }
    }

    fn fresh(&mut self, what: &str) -> String {
        self.next += 1;
        format!("{}::{what}{}", self.prefix, self.next)
    }

    /// Appends a node writing `out`; returns `out`.
    pub(super) fn to(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
        out: &str,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: vec![out.to_owned()],
            name: format!("{}/{op}#{}", self.prefix, self.nodes.len()),
            op_type: op.to_owned(),
            attribute: attrs,
            ..Default::default()
        });
        out.to_owned()
    }

    /// Appends a node writing a fresh name.
    pub(super) fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(op);
        self.to(op, inputs, attrs, &out)
    }

    fn init(&mut self, what: &str, mut t: TensorProto) -> String {
        t.name = self.fresh(what);
        let name = t.name.clone();
        self.inits.push(t);
        name
    }

    pub(super) fn ints(&mut self, v: Vec<i64>) -> String {
        let dims = vec![i64::try_from(v.len()).unwrap_or(i64::MAX)];
        self.init(
            "ints",
            TensorProto {
                dims,
                data_type: DataType::Int64 as i32,
                int64_data: v,
                ..Default::default()
            },
        )
    }

    pub(super) fn floats(&mut self, shape: &[usize], v: Vec<f32>) -> String {
        self.init(
            "floats",
            TensorProto {
                dims: dims_i64(shape),
                data_type: DataType::Float as i32,
                float_data: v,
                ..Default::default()
            },
        )
    }

    pub(super) fn bools(&mut self, shape: &[usize], v: &[bool]) -> String {
        self.init(
            "mask",
            TensorProto {
                dims: dims_i64(shape),
                data_type: DataType::Bool as i32,
                int32_data: v.iter().map(|&b| i32::from(b)).collect(),
                ..Default::default()
            },
        )
    }
}

/// The allowed positions known at import: `[.., Sq, Skv]` (right-aligned to the scores).
struct Allowed {
    shape: Vec<usize>,
    ok: Vec<bool>,
}

impl Allowed {
    /// Combines `other` into `self` (numpy broadcasting of the two shapes); `None` when they
    /// do not broadcast or the result passes [`crate::tensor::MAX_FOLD_ELEMS`].
    fn and(self, shape: &[usize], other: &[bool]) -> Option<Self> {
        let out = crate::tensor::broadcast_fixed(&self.shape, shape)?;
        let n = numel(&out).filter(|&n| n <= crate::tensor::MAX_FOLD_ELEMS)?;
        let a = crate::tensor::broadcast_index(&self.shape, &out)?;
        let b = crate::tensor::broadcast_index(shape, &out)?;
        let ok = (0..n)
            .map(|i| {
                let x = a.get(i).and_then(|&j| self.ok.get(j)).copied();
                let y = b.get(i).and_then(|&j| other.get(j)).copied();
                x.unwrap_or(false) && y.unwrap_or(false)
            })
            .collect();
        Some(Self { shape: out, ok })
    }
}

/// A fixed dimension, or an error naming what needs it.
fn fixed_dim(ctx: &Ctx<'_>, s: &[Dim], i: usize, what: &str) -> Result<usize> {
    match s.get(i) {
        Some(Dim::Fixed(n)) => Ok(*n),
        _ => Err(ctx.shape_err(format!("{what} must be a fixed dimension (shape {s:?})"))),
    }
}

impl Importer {
    /// The shape of input `i` (a computed tensor's or a constant's).
    fn sym_shape(&self, ctx: &Ctx<'_>, i: usize) -> Result<Vec<Dim>> {
        Ok(match self.sym(ctx, i)? {
            Sym::Value(v) => self.shape(v),
            Sym::Const(t) => crate::import::fixed(&t.shape),
        })
    }

    /// ONNX `Attention` (see the module doc).
    pub(super) fn attention(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if self.opset < 23 {
            return Err(ctx.unsupported(format!(
                "Attention needs ai.onnx opset 23 or later (the model imports {})",
                self.opset
            )));
        }
        if ctx.input(6).is_some() {
            return Err(ctx.unsupported(
                "nonpad_kv_seqlen (per-row key lengths fed at run time): a padding mask known \
                 at import can be given as a boolean attn_mask",
            ));
        }
        let (qs, ks, vs) = (
            self.sym_shape(ctx, 0)?,
            self.sym_shape(ctx, 1)?,
            self.sym_shape(ctx, 2)?,
        );
        let rank = qs.len();
        if rank != 3 && rank != 4 || ks.len() != rank || vs.len() != rank {
            return Err(ctx.shape_err(format!(
                "Q, K and V must all be 3-D or all 4-D (shapes {qs:?}, {ks:?}, {vs:?})"
            )));
        }
        let mut b = Body::new(ctx);
        let name = |i: usize| ctx.input(i).unwrap_or_default().to_owned();
        // heads: [B, H, S, d]
        let (q, k, v, qh, kvh, head, sq) = if rank == 3 {
            let heads = |attr: &str| -> Result<usize> {
                usize::try_from(ctx.int(attr, 0))
                    .ok()
                    .filter(|&h| h > 0)
                    .ok_or_else(|| ctx.bad_attr(attr, "3-D inputs need a positive head count"))
            };
            let (qh, kvh) = (heads("q_num_heads")?, heads("kv_num_heads")?);
            let mut split =
                |i: usize, s: &[Dim], h: usize, what: &str| -> Result<(String, usize)> {
                    let hidden = fixed_dim(ctx, s, 2, what)?;
                    if hidden % h != 0 {
                        return Err(ctx.shape_err(format!(
                            "{what}'s hidden size {hidden} is not a multiple of {h} heads"
                        )));
                    }
                    let d = hidden / h;
                    let shape = b.ints(dims_i64(&[0, 0, h, d]));
                    let r = b.op("Reshape", &[&name(i), &shape], vec![]);
                    Ok((
                        b.op(
                            "Transpose",
                            &[&r],
                            vec![ints_attr("perm", vec![0, 2, 1, 3])],
                        ),
                        d,
                    ))
                };
            let (q, head) = split(0, &qs, qh, "Q")?;
            let (k, _) = split(1, &ks, kvh, "K")?;
            let (v, _) = split(2, &vs, kvh, "V")?;
            (
                q,
                k,
                v,
                qh,
                kvh,
                head,
                fixed_dim(ctx, &qs, 1, "Q's sequence length")?,
            )
        } else {
            let qh = fixed_dim(ctx, &qs, 1, "Q's head count")?;
            let kvh = fixed_dim(ctx, &ks, 1, "K's head count")?;
            let head = fixed_dim(ctx, &qs, 3, "Q's head size")?;
            let sq = fixed_dim(ctx, &qs, 2, "Q's sequence length")?;
            (name(0), name(1), name(2), qh, kvh, head, sq)
        };
        let skv_new = fixed_dim(ctx, &ks, rank - 2, "K's sequence length")?;
        // caches
        let past = match (ctx.input(4), ctx.input(5)) {
            (None, None) => 0,
            (Some(_), Some(_)) => {
                let ps = self.sym_shape(ctx, 4)?;
                fixed_dim(ctx, &ps, 2, "past_key's sequence length")?
            }
            _ => return Err(ctx.bad_input(4, "past_key and past_value come together")),
        };
        let cat = |b: &mut Body, i: usize, x: String| -> String {
            if past == 0 {
                x
            } else {
                b.op("Concat", &[&name(i), &x], vec![int_attr("axis", 2)])
            }
        };
        let k = cat(&mut b, 4, k);
        let v = cat(&mut b, 5, v);
        let skv = past + skv_new;
        for (o, x) in [(1, &k), (2, &v)] {
            if let Some(out) = ctx.output(o) {
                b.to("Identity", &[x], vec![], out);
            }
        }
        // grouped-query attention: query head h reads key/value head h / (qh / kvh)
        let (k, v) = if qh == kvh {
            (k, v)
        } else {
            if kvh == 0 || qh % kvh != 0 {
                return Err(ctx.shape_err(format!(
                    "{qh} query heads are not a multiple of {kvh} key/value heads"
                )));
            }
            let reps = qh / kvh;
            let idx = b.ints(
                (0..qh)
                    .map(|h| i64::try_from(h / reps).unwrap_or(0))
                    .collect(),
            );
            let gather =
                |b: &mut Body, x: &str| b.op("Gather", &[x, &idx], vec![int_attr("axis", 1)]);
            (gather(&mut b, &k), gather(&mut b, &v))
        };
        // scores
        #[expect(clippy::cast_precision_loss, reason = "a head size is small")]
        let default_scale = 1.0 / (head as f32).sqrt();
        let scale = ctx.attr("scale").map_or(default_scale, |a| a.f);
        let sc = b.floats(&[], vec![scale]);
        let qscaled = b.op("Mul", &[&q, &sc], vec![]);
        let kt = b.op(
            "Transpose",
            &[&k],
            vec![ints_attr("perm", vec![0, 1, 3, 2])],
        );
        let mut x = b.op("MatMul", &[&qscaled, &kt], vec![]);
        let softcap = ctx.float("softcap", 0.0);
        if softcap > 0.0 {
            let inv = b.floats(&[], vec![1.0 / softcap]);
            let cap = b.floats(&[], vec![softcap]);
            let t = b.op("Mul", &[&x, &inv], vec![]);
            let t = b.op("Tanh", &[&t], vec![]);
            x = b.op("Mul", &[&t, &cap], vec![]);
        }
        let qk_raw = x.clone();
        // masks
        // the mask is a derived constant: within the import's budget
        let room = self.derived_room();
        let n_scores = sq
            .checked_mul(skv)
            .filter(|&n| n <= room)
            .ok_or_else(|| ctx.shape_err(format!("a {sq}x{skv} mask is too large")))?;
        let mut allowed = Allowed {
            shape: vec![sq, skv],
            ok: vec![true; n_scores],
        };
        if let Some(m) = ctx.input(3) {
            let m = m.to_owned();
            match self.sym(ctx, 3)? {
                Sym::Const(t) => {
                    let (bias, ok) = self.const_mask(ctx, &t, skv)?;
                    allowed = allowed.and(&ok.shape, &ok.ok).ok_or_else(|| {
                        ctx.bad_input(3, "does not broadcast to the scores (or is too large)")
                    })?;
                    if let Some((shape, bias)) = bias {
                        let c = b.floats(&shape, bias);
                        x = b.op("Add", &[&x, &c], vec![]);
                    }
                }
                Sym::Value(mv) => {
                    let ms = self.shape(mv);
                    if self.is_bool(mv)
                        || self.g.values.get(mv).and_then(|i| i.integer) == Some((0, 1))
                    {
                        return Err(ctx.unsupported(
                            "a boolean attn_mask computed at run time (its masked positions \
                             must be known at import; a constant one is supported)",
                        ));
                    }
                    let last = fixed_dim(
                        ctx,
                        &ms,
                        ms.len().saturating_sub(1),
                        "attn_mask's last axis",
                    )?;
                    let mut m = m;
                    if last < skv {
                        // ONNX pads a short float mask with -inf: the padded keys are masked
                        let mut pads = vec![0i64; 2 * ms.len()];
                        if let Some(p) = pads.last_mut() {
                            *p = i64::try_from(skv - last).unwrap_or(0);
                        }
                        let p = b.ints(pads);
                        m = b.op("Pad", &[&m, &p], vec![]);
                        let ok: Vec<bool> = (0..skv).map(|j| j < last).collect();
                        allowed = allowed.and(&[skv], &ok).ok_or_else(|| {
                            ctx.bad_input(3, "does not broadcast to the scores (or is too large)")
                        })?;
                    }
                    x = b.op("Add", &[&x, &m], vec![]);
                }
            }
        }
        let causal = ctx.int("is_causal", 0) != 0;
        let (left, right) = (
            ctx.int("left_window_size", -1),
            ctx.int("right_window_size", -1),
        );
        if causal || left >= 0 || right >= 0 {
            let past_i = i64::try_from(past).unwrap_or(i64::MAX);
            let mut ok = Vec::with_capacity(sq.saturating_mul(skv));
            for i in 0..sq {
                for j in 0..skv {
                    let diff =
                        i64::try_from(i).unwrap_or(0) + past_i - i64::try_from(j).unwrap_or(0);
                    ok.push(
                        (!causal || diff >= 0)
                            && (left < 0 || diff <= left)
                            && (right < 0 || -diff <= right),
                    );
                }
            }
            allowed = allowed
                .and(&[sq, skv], &ok)
                .ok_or_else(|| ctx.shape_err("the causal mask does not broadcast"))?;
        }
        let mode = ctx.int("qk_matmul_output_mode", 0);
        let masked = allowed.ok.iter().any(|&a| !a);
        let qk_bias = x.clone();
        if masked {
            let cond = b.bools(&allowed.shape, &allowed.ok);
            x = b.masked(&x, &cond, self.opset, None);
        }
        let mut p = b.op("Softmax", &[&x], vec![int_attr("axis", -1)]);
        // rows with no allowed key are 0
        let n_last = allowed.shape.last().copied().unwrap_or(1).max(1);
        let rows: Vec<f32> = allowed
            .ok
            .chunks(n_last)
            .map(|r| if r.contains(&true) { 1.0 } else { 0.0 })
            .collect();
        if rows.contains(&0.0) {
            let mut shape = allowed.shape.clone();
            if let Some(l) = shape.last_mut() {
                *l = 1;
            }
            let c = b.floats(&shape, rows);
            p = b.op("Mul", &[&p, &c], vec![]);
        }
        let y = b.op("MatMul", &[&p, &v], vec![]);
        if let Some(out) = ctx.output(0) {
            if rank == 3 {
                let t = b.op(
                    "Transpose",
                    &[&y],
                    vec![ints_attr("perm", vec![0, 2, 1, 3])],
                );
                let shape = b.ints(vec![0, 0, -1]);
                b.to("Reshape", &[&t, &shape], vec![], out);
            } else {
                b.to("Identity", &[&y], vec![], out);
            }
        }
        if let Some(out) = ctx.output(3) {
            let src = match mode {
                0 | 1 => qk_raw,
                2 if masked => {
                    return Err(ctx.unsupported(
                        "qk_matmul_output_mode 2 with a masked position (that output holds -inf)",
                    ));
                }
                2 => qk_bias,
                3 => p,
                _ => return Err(ctx.bad_attr("qk_matmul_output_mode", "must be 0, 1, 2 or 3")),
            };
            b.to("Identity", &[&src], vec![], out);
        }
        self.lower_subgraph(ctx, &b.graph())?;
        Ok(())
    }

    /// A constant `attn_mask`: its finite additive part (`None` when all zero) and its allowed
    /// positions (a boolean mask's `true`s, a float mask's finite entries), padded to `skv`
    /// keys with masked positions as ONNX pads a short mask.
    #[expect(clippy::type_complexity, reason = "two parts of one mask")]
    fn const_mask(
        &self,
        ctx: &Ctx<'_>,
        t: &Rc<Tensor>,
        skv: usize,
    ) -> Result<(Option<(Vec<usize>, Vec<f32>)>, Allowed)> {
        let last = t.shape.last().copied().unwrap_or(1);
        if last > skv {
            return Err(ctx.bad_input(
                3,
                format!("has {last} keys, more than the {skv} of K (with the past)"),
            ));
        }
        let rows = t.len() / last.max(1);
        if rows
            .checked_mul(skv)
            .is_none_or(|n| n > self.derived_room())
        {
            return Err(ctx.bad_input(3, "padded to the keys, too large"));
        }
        let mut shape = t.shape.clone();
        if shape.is_empty() {
            shape.push(1);
        }
        let pad = |v: &[f32], fill: f32| -> Vec<f32> {
            v.chunks(last.max(1))
                .flat_map(|r| {
                    r.iter()
                        .copied()
                        .chain(std::iter::repeat_n(fill, skv - last))
                })
                .collect()
        };
        let (bias, ok) = match &t.data {
            Data::I(v) => {
                let f: Vec<f32> = v
                    .iter()
                    .map(|&x| if x != 0 { 0.0 } else { f32::NEG_INFINITY })
                    .collect();
                (None, pad(&f, f32::NEG_INFINITY))
            }
            Data::F(v) => {
                if v.iter().any(|x| x.is_nan() || *x == f32::INFINITY) {
                    return Err(ctx.bad_input(3, "holds NaN or +inf"));
                }
                let padded = pad(v, f32::NEG_INFINITY);
                let finite: Vec<f32> = padded
                    .iter()
                    .map(|&x| if x.is_finite() { x } else { 0.0 })
                    .collect();
                let bias = finite.iter().any(|&x| x != 0.0).then_some(finite);
                (bias, padded)
            }
        };
        if let Some(l) = shape.last_mut() {
            *l = skv;
        }
        let ok: Vec<bool> = ok.iter().map(|x| x.is_finite()).collect();
        Ok((bias.map(|b| (shape.clone(), b)), Allowed { shape, ok }))
    }
}

/// The tensor names (outputs of the needed nodes) whose every use is a `Softmax`, directly or
/// through float `Cast`s and `Identity`s, with those softmaxes' axes: an `Add` of `-inf` there
/// is a mask when they are all the last axis ([`Importer::masked_add`]). Nodes are visited from the last (ONNX lists them in topological
/// order; a graph that is not sorted only finds fewer names).
pub(crate) fn softmax_fed(
    graph: &GraphProto,
    needed: &[bool],
    outputs: &[String],
    opset: i64,
) -> HashMap<String, Vec<i64>> {
    let mut consumers: HashMap<&str, Vec<&NodeProto>> = HashMap::new();
    let kept = || {
        graph
            .node
            .iter()
            .zip(needed)
            .filter(|(_, n)| **n)
            .map(|(n, _)| n)
    };
    for n in kept() {
        for i in n.input.iter().filter(|s| !s.is_empty()) {
            consumers.entry(i.as_str()).or_default().push(n);
        }
    }
    let attr = |n: &NodeProto, name: &str| n.attribute.iter().find(|a| a.name == name).map(|a| a.i);
    let mut fed: HashMap<String, Vec<i64>> = HashMap::new();
    let nodes: Vec<&NodeProto> = kept().collect();
    for n in nodes.iter().rev() {
        for o in n.output.iter().filter(|s| !s.is_empty()) {
            let Some(cs) = consumers.get(o.as_str()).filter(|_| !outputs.contains(o)) else {
                continue;
            };
            let mut axes = Vec::new();
            for c in cs {
                if !crate::import::is_onnx_domain(&c.domain)
                    || c.attribute.iter().any(|a| a.g.is_some())
                {
                    axes.clear();
                    break;
                }
                let next = c.output.first().and_then(|x| fed.get(x));
                match (c.op_type.as_str(), next) {
                    ("Softmax", _) if c.input.first() == Some(o) => match attr(c, "axis") {
                        Some(a) => axes.push(a),
                        None if opset >= 13 => axes.push(-1),
                        None => {
                            axes.clear();
                            break;
                        }
                    },
                    ("Cast", Some(a)) if attr(c, "to") == Some(DataType::Float as i64) => {
                        axes.extend_from_slice(a);
                    }
                    ("Identity", Some(a)) => axes.extend_from_slice(a),
                    _ => {
                        axes.clear();
                        break;
                    }
                }
            }
            if !axes.is_empty() {
                fed.insert(o.clone(), axes);
            }
        }
    }
    fed
}

impl Importer {
    /// An `Add` of a computed tensor and a constant with `-inf` entries whose sum only feeds
    /// a `Softmax` over the last axis (the masks of an attention written out as ops): the
    /// constant's finite part is added and its `-inf` positions masked as `Attention`'s are,
    /// by the row minimum minus [`MASK_MARGIN`]. `Ok(false)` leaves any other `Add` to the
    /// elementwise lowering; a row masked entirely (ONNX's softmax gives NaN) is refused.
    pub(super) fn masked_add(&mut self, ctx: &Ctx<'_>, x: &Sym, y: &Sym) -> Result<bool> {
        let (v, t) = match (x, y) {
            (Sym::Value(_), Sym::Const(t)) => (0, t),
            (Sym::Const(t), Sym::Value(_)) => (1, t),
            _ => return Ok(false),
        };
        let Data::F(data) = &t.data else {
            return Ok(false);
        };
        if !data.contains(&f32::NEG_INFINITY) || !self.feeds_last_softmax(ctx, v, t.shape.len()) {
            return Ok(false);
        }
        if data.iter().any(|d| d.is_nan() || *d == f32::INFINITY) {
            return Err(ctx.unsupported("a mask holding NaN or +inf"));
        }
        let last = t.shape.last().copied().unwrap_or(1).max(1);
        let ok: Vec<bool> = data.iter().map(|d| d.is_finite()).collect();
        check_rows(ctx, last, &ok)?;
        let mut b = Body::new(ctx);
        let mut sum = ctx.input(v).unwrap_or_default().to_owned();
        let finite: Vec<f32> = data
            .iter()
            .map(|&d| if d.is_finite() { d } else { 0.0 })
            .collect();
        if finite.iter().any(|&d| d != 0.0) {
            let f = b.floats(&t.shape, finite);
            sum = b.op("Add", &[&sum, &f], vec![]);
        }
        let cond = b.bools(&t.shape, &ok);
        b.masked(&sum, &cond, self.opset, ctx.output(0));
        self.lower_subgraph(ctx, &b.graph())?;
        Ok(true)
    }
}

/// Refuses a mask (allowed positions, rows of `last`) with a row masked entirely.
fn check_rows(ctx: &Ctx<'_>, last: usize, ok: &[bool]) -> Result<()> {
    if last == 1 || ok.chunks(last).any(|r| !r.contains(&true)) {
        return Err(ctx.unsupported(
            "a -inf mask that masks a whole softmax row (ONNX's softmax of it is NaN)",
        ));
    }
    Ok(())
}

impl Importer {
    /// Whether the current node's output only feeds softmaxes over its last axis: operand `v`
    /// is a computed tensor and `other` (the constant's rank) does not raise the output's rank.
    fn feeds_last_softmax(&self, ctx: &Ctx<'_>, v: usize, other: usize) -> bool {
        let rank = match self.sym(ctx, v) {
            Ok(Sym::Value(x)) => self.shape(x).len(),
            _ => return false,
        };
        if other > rank {
            return false;
        }
        let last = i64::try_from(rank).unwrap_or(0) - 1;
        ctx.output(0)
            .and_then(|o| self.softmax_fed.get(o))
            .is_some_and(|axes| axes.iter().all(|&a| a == -1 || a == last))
    }

    /// `Where(c, x, -inf)` (or `Where(c, -inf, x)`) of a constant condition and a computed `x`
    /// that only feeds softmaxes over the last axis: the masked positions as
    /// [`Importer::masked_add`] writes them. `Ok(false)` leaves any other `Where` as it is.
    pub(super) fn masked_where(&mut self, ctx: &Ctx<'_>, syms: &[Sym; 3]) -> Result<bool> {
        let [Sym::Const(c), a, b] = syms else {
            return Ok(false);
        };
        let all_ninf = |s: &Sym| match s {
            Sym::Const(t) => {
                matches!(&t.data, Data::F(d) if !d.is_empty() && d.iter().all(|&x| x == f32::NEG_INFINITY))
            }
            Sym::Value(_) => false,
        };
        let (v, keep_true) = match (a, b) {
            (Sym::Value(_), _) if all_ninf(b) => (1, true),
            (_, Sym::Value(_)) if all_ninf(a) => (2, false),
            _ => return Ok(false),
        };
        let Some(cond) = c.to_f32() else {
            return Ok(false);
        };
        let ninf_rank = match if v == 1 { b } else { a } {
            Sym::Const(t) => t.shape.len(),
            Sym::Value(_) => return Ok(false),
        };
        if !self.feeds_last_softmax(ctx, v, c.shape.len().max(ninf_rank)) {
            return Ok(false);
        }
        let ok: Vec<bool> = cond.iter().map(|&x| (x != 0.0) == keep_true).collect();
        check_rows(ctx, c.shape.last().copied().unwrap_or(1).max(1), &ok)?;
        let mut body = Body::new(ctx);
        let cond = body.bools(&c.shape, &ok);
        let x = ctx.input(v).unwrap_or_default().to_owned();
        body.masked(&x, &cond, self.opset, ctx.output(0));
        self.lower_subgraph(ctx, &body.graph())?;
        Ok(true)
    }
}
