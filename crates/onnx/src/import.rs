//! Lowering an ONNX graph to [`FGraph`].

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::ImportOptions;
use crate::error::{Error, Result};
use crate::graph::{ConstId, Dim, FConst, FGraph, FNode, FOp, Operand, ValueId, ValueInfo};
use crate::proto::tensor_shape_proto::dimension::Value as DimValue;
use crate::proto::{AttributeProto, GraphProto, ModelProto, NodeProto, type_proto};
use crate::tensor::{self, BATCH, Data, MAX_ELEMS, MAX_FOLD_ELEMS, Tensor, numel};

/// Elements of derived constants allowed beyond four times the initializers' elements.
const DERIVED_BUDGET: usize = 1 << 26;

/// Lowest supported `ai.onnx` opset.
const MIN_OPSET: i64 = 6;

/// What a tensor name is bound to during import.
#[derive(Debug, Clone)]
enum Sym {
    Value(ValueId),
    Const(Rc<Tensor>),
}

/// Element kind of a dynamic value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    /// Integer indices (`ArgMax` output).
    Index,
}

fn is_onnx_domain(d: &str) -> bool {
    d.is_empty() || d == "ai.onnx"
}

/// Imports a decoded model.
pub(crate) fn import_model(model: &ModelProto, opts: &ImportOptions) -> Result<FGraph> {
    let graph = model.graph.as_ref().ok_or(Error::NoGraph)?;
    let opset = model
        .opset_import
        .iter()
        .filter(|o| is_onnx_domain(&o.domain))
        .map(|o| o.version)
        .max()
        .unwrap_or(MIN_OPSET);
    if opset < MIN_OPSET {
        return Err(Error::Opset { version: opset });
    }
    let outputs: Vec<String> = match &opts.outputs {
        Some(o) => o.clone(),
        None => graph.output.iter().map(|o| o.name.clone()).collect(),
    };
    let mut imp = Importer::new(opset);
    imp.run(graph, &outputs)?;
    Ok(imp.finish())
}

struct Importer {
    g: FGraph,
    env: HashMap<String, Sym>,
    kinds: Vec<Kind>,
    /// Node index (in `g.nodes`) producing each value.
    producer: Vec<Option<usize>>,
    /// Materialized constants, keyed by ONNX tensor name.
    const_ids: HashMap<String, ConstId>,
    /// Consumers (among needed nodes) plus kept-output uses of each tensor name.
    uses: HashMap<String, usize>,
    opset: i64,
    /// Elements of derived constants (folded or rewritten) created so far.
    derived: usize,
    /// Limit on `derived`, so that no model makes the importer allocate without bound.
    budget: usize,
}

/// A node being lowered, with helpers for attributes and errors.
struct Ctx<'n> {
    node: &'n NodeProto,
    name: String,
    op: &'n str,
}

impl Ctx<'_> {
    fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    fn bad_attr(&self, attr: &str, reason: impl Into<String>) -> Error {
        Error::BadAttribute {
            node: self.name.clone(),
            attr: attr.to_owned(),
            reason: reason.into(),
        }
    }

    fn shape_err(&self, reason: impl Into<String>) -> Error {
        Error::Shape {
            node: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn unsupported(&self, reason: impl Into<String>) -> Error {
        Error::UnsupportedForm {
            node: self.name.clone(),
            op: self.op.to_owned(),
            reason: reason.into(),
        }
    }

    fn bad_input(&self, index: usize, reason: impl Into<String>) -> Error {
        Error::BadInput {
            node: self.name.clone(),
            index,
            reason: reason.into(),
        }
    }

    fn int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    fn float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map_or(default, |a| a.f)
    }

    fn ints(&self, name: &str) -> Option<&[i64]> {
        self.attr(name).map(|a| a.ints.as_slice())
    }

    fn string(&self, name: &str) -> Option<&[u8]> {
        self.attr(name).map(|a| a.s.as_slice())
    }

    /// The name of input `i`, `None` if absent or empty (an omitted optional input).
    fn input(&self, i: usize) -> Option<&str> {
        self.node
            .input
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn output(&self, i: usize) -> Option<&str> {
        self.node
            .output
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Normalizes a possibly negative axis against `rank`.
    fn axis(&self, attr: &str, axis: i64, rank: usize) -> Result<usize> {
        let r = i64::try_from(rank).map_err(|_| self.bad_attr(attr, "rank too large"))?;
        let a = if axis < 0 {
            axis.saturating_add(r)
        } else {
            axis
        };
        if (0..r).contains(&a) {
            usize::try_from(a).map_err(|_| self.bad_attr(attr, "axis out of range"))
        } else {
            Err(self.bad_attr(attr, format!("axis {axis} out of range for rank {rank}")))
        }
    }

    /// Non-negative, positive-valued `usize`s from an ints attribute.
    fn positive(&self, attr: &str, v: &[i64]) -> Result<Vec<usize>> {
        v.iter()
            .map(|&x| {
                usize::try_from(x)
                    .ok()
                    .filter(|&u| u > 0 && u <= MAX_ELEMS)
                    .ok_or_else(|| self.bad_attr(attr, format!("value {x} must be positive")))
            })
            .collect()
    }
}

fn dims_numel(dims: &[Dim]) -> Option<usize> {
    let fixed: Option<Vec<usize>> = dims
        .iter()
        .map(|d| {
            if let Dim::Fixed(n) = d {
                Some(*n)
            } else {
                None
            }
        })
        .collect();
    numel(&fixed?)
}

/// Numpy broadcasting with a symbolic batch dimension.
fn broadcast_dims(a: &[Dim], b: &[Dim]) -> Option<Vec<Dim>> {
    let rank = a.len().max(b.len());
    let get = |s: &[Dim], i: usize| {
        if i + s.len() >= rank {
            s.get(i + s.len() - rank).copied()
        } else {
            Some(Dim::Fixed(1))
        }
    };
    (0..rank)
        .map(|i| match (get(a, i)?, get(b, i)?) {
            (x, y) if x == y => Some(x),
            (Dim::Fixed(1), y) => Some(y),
            (x, Dim::Fixed(1)) => Some(x),
            _ => None,
        })
        .collect()
}

fn fixed(dims: &[usize]) -> Vec<Dim> {
    dims.iter().map(|&d| Dim::Fixed(d)).collect()
}

/// Spatial parameters of a Conv or pooling node.
struct Spatial {
    out: Vec<usize>,
    pads: [usize; 4],
    strides: [usize; 2],
    dilations: [usize; 2],
    kernel: [usize; 2],
}

fn to2(v: &[usize], default: usize) -> [usize; 2] {
    match v {
        [a] => [default, *a],
        [a, b] => [*a, *b],
        _ => [default, default],
    }
}

impl Importer {
    fn new(opset: i64) -> Self {
        Self {
            g: FGraph::default(),
            env: HashMap::new(),
            kinds: Vec::new(),
            producer: Vec::new(),
            const_ids: HashMap::new(),
            uses: HashMap::new(),
            opset,
            derived: 0,
            budget: DERIVED_BUDGET,
        }
    }

    fn define(&mut self, name: &str, sym: Sym) -> Result<()> {
        if self.env.insert(name.to_owned(), sym).is_some() {
            return Err(Error::Redefined {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    fn add_value(&mut self, name: &str, shape: Vec<Dim>, kind: Kind) -> ValueId {
        self.g.values.push(ValueInfo {
            name: name.to_owned(),
            shape,
        });
        self.kinds.push(kind);
        self.producer.push(None);
        self.g.values.len() - 1
    }

    fn run(&mut self, graph: &GraphProto, outputs: &[String]) -> Result<()> {
        // Initializers.
        for t in &graph.initializer {
            let tensor = Tensor::from_proto(t)?;
            self.budget = self.budget.saturating_add(tensor.len().saturating_mul(4));
            self.define(&t.name, Sym::Const(Rc::new(tensor)))?;
        }
        // Which tensor names are defined anywhere (for the output check).
        let mut producer_of: HashMap<&str, usize> = HashMap::new();
        for (i, n) in graph.node.iter().enumerate() {
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                producer_of.insert(o.as_str(), i);
            }
        }
        let input_names: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
        for o in outputs {
            if !producer_of.contains_key(o.as_str())
                && !input_names.contains(o.as_str())
                && !self.env.contains_key(o)
            {
                return Err(Error::UnknownOutput { name: o.clone() });
            }
        }
        // Prune: nodes needed for the kept outputs.
        let mut needed = vec![false; graph.node.len()];
        let mut stack: Vec<&str> = outputs.iter().map(String::as_str).collect();
        let mut seen: HashSet<&str> = HashSet::new();
        while let Some(name) = stack.pop() {
            if !seen.insert(name) || self.env.contains_key(name) {
                continue;
            }
            if let Some(&i) = producer_of.get(name)
                && let (Some(flag), Some(node)) = (needed.get_mut(i), graph.node.get(i))
                && !*flag
            {
                *flag = true;
                stack.extend(
                    node.input
                        .iter()
                        .filter(|s| !s.is_empty())
                        .map(String::as_str),
                );
            }
        }
        for (node, _) in graph.node.iter().zip(&needed).filter(|(_, n)| **n) {
            for i in node.input.iter().filter(|s| !s.is_empty()) {
                *self.uses.entry(i.clone()).or_default() += 1;
            }
        }
        for o in outputs {
            *self.uses.entry(o.clone()).or_default() += 1;
        }
        // Graph inputs (initializers listed as inputs are constants, not inputs).
        for vi in &graph.input {
            if self.env.contains_key(&vi.name) {
                continue;
            }
            if !seen.contains(vi.name.as_str()) {
                continue;
            }
            let shape = input_shape(vi)?;
            let v = self.add_value(&vi.name, shape, Kind::Float);
            self.g.inputs.push(v);
            self.define(&vi.name, Sym::Value(v))?;
        }
        // Lower needed nodes in order.
        for (idx, (node, _)) in graph
            .node
            .iter()
            .zip(&needed)
            .enumerate()
            .filter(|(_, (_, n))| **n)
        {
            let name = if node.name.is_empty() {
                format!("{}#{idx}", node.op_type)
            } else {
                node.name.clone()
            };
            let ctx = Ctx {
                node,
                name,
                op: node.op_type.as_str(),
            };
            self.lower(&ctx)?;
        }
        for o in outputs {
            match self.env.get(o) {
                Some(Sym::Value(v)) => {
                    let v = self.output_value(*v, o);
                    self.g.outputs.push(v);
                }
                Some(Sym::Const(_)) => return Err(Error::ConstantOutput { name: o.clone() }),
                None => return Err(Error::UnknownOutput { name: o.clone() }),
            }
        }
        Ok(())
    }

    /// The value to list as graph output `name`: `v` renamed to `name` (an `Identity` before
    /// an output leaves the producer's name on it), or a copy when `v` is a graph input or
    /// already another output.
    fn output_value(&mut self, v: ValueId, name: &str) -> ValueId {
        let Some(info) = self.g.values.get(v) else {
            return v;
        };
        if info.name == name {
            return v;
        }
        if self.g.inputs.contains(&v) || self.g.outputs.contains(&v) {
            let (shape, kind) = (
                info.shape.clone(),
                self.kinds.get(v).copied().unwrap_or(Kind::Float),
            );
            let out = self.add_value(name, shape, kind);
            self.g.nodes.push(FNode {
                name: name.to_owned(),
                op: FOp::Reshape,
                inputs: vec![Operand::Value(v)],
                output: out,
            });
            return out;
        }
        if let Some(info) = self.g.values.get_mut(v) {
            info.name = name.to_owned();
        }
        v
    }

    /// Drops constants and values nothing refers to, renumbering ids.
    fn finish(mut self) -> FGraph {
        let mut used_c = vec![false; self.g.consts.len()];
        let mut used_v = vec![false; self.g.values.len()];
        let mark_c = |used: &mut Vec<bool>, c: ConstId| {
            if let Some(u) = used.get_mut(c) {
                *u = true;
            }
        };
        for n in &self.g.nodes {
            if let Some(u) = used_v.get_mut(n.output) {
                *u = true;
            }
            for i in &n.inputs {
                match *i {
                    Operand::Value(v) => {
                        if let Some(u) = used_v.get_mut(v) {
                            *u = true;
                        }
                    }
                    Operand::Const(c) => mark_c(&mut used_c, c),
                }
            }
            match &n.op {
                FOp::Linear { weight, bias } | FOp::Conv { weight, bias, .. } => {
                    mark_c(&mut used_c, *weight);
                    if let Some(b) = bias {
                        mark_c(&mut used_c, *b);
                    }
                }
                _ => {}
            }
        }
        for &o in &self.g.outputs {
            if let Some(u) = used_v.get_mut(o) {
                *u = true;
            }
        }
        let renumber = |used: &[bool]| {
            let mut map = vec![usize::MAX; used.len()];
            let mut next = 0;
            for (m, &u) in map.iter_mut().zip(used) {
                if u {
                    *m = next;
                    next += 1;
                }
            }
            map
        };
        let cmap = renumber(&used_c);
        let vmap = renumber(&used_v);
        let cm = |c: ConstId| cmap.get(c).copied().unwrap_or(c);
        let vm = |v: ValueId| vmap.get(v).copied().unwrap_or(v);
        let mut g = std::mem::take(&mut self.g);
        g.consts = g
            .consts
            .into_iter()
            .zip(&used_c)
            .filter(|(_, u)| **u)
            .map(|(c, _)| c)
            .collect();
        g.values = g
            .values
            .into_iter()
            .zip(&used_v)
            .filter(|(_, u)| **u)
            .map(|(v, _)| v)
            .collect();
        g.inputs = g
            .inputs
            .into_iter()
            .filter(|&v| used_v.get(v).copied().unwrap_or(false))
            .map(vm)
            .collect();
        g.outputs = g.outputs.into_iter().map(vm).collect();
        for n in &mut g.nodes {
            n.output = vm(n.output);
            for i in &mut n.inputs {
                *i = match *i {
                    Operand::Value(v) => Operand::Value(vm(v)),
                    Operand::Const(c) => Operand::Const(cm(c)),
                };
            }
            if let FOp::Linear { weight, bias } | FOp::Conv { weight, bias, .. } = &mut n.op {
                *weight = cm(*weight);
                *bias = bias.map(cm);
            }
        }
        g
    }

    // ----- operand helpers -------------------------------------------------------------

    fn sym(&self, ctx: &Ctx<'_>, i: usize) -> Result<Sym> {
        let name = ctx
            .input(i)
            .ok_or_else(|| ctx.bad_input(i, "is required"))?;
        self.env
            .get(name)
            .cloned()
            .ok_or_else(|| Error::MissingInput {
                node: ctx.name.clone(),
                name: name.to_owned(),
            })
    }

    fn opt_sym(&self, ctx: &Ctx<'_>, i: usize) -> Result<Option<Sym>> {
        match ctx.input(i) {
            None => Ok(None),
            Some(_) => self.sym(ctx, i).map(Some),
        }
    }

    fn const_in(&self, ctx: &Ctx<'_>, i: usize) -> Result<Rc<Tensor>> {
        match self.sym(ctx, i)? {
            Sym::Const(t) => Ok(t),
            Sym::Value(_) => {
                Err(ctx.bad_input(i, "must be a constant (initializer or Constant node)"))
            }
        }
    }

    fn opt_const_in(&self, ctx: &Ctx<'_>, i: usize) -> Result<Option<Rc<Tensor>>> {
        match ctx.input(i) {
            None => Ok(None),
            Some(_) => self.const_in(ctx, i).map(Some),
        }
    }

    /// A float dynamic value.
    fn value_in(&self, ctx: &Ctx<'_>, i: usize) -> Result<ValueId> {
        match self.sym(ctx, i)? {
            Sym::Value(v) => {
                if self.kinds.get(v) == Some(&Kind::Index) {
                    return Err(ctx.unsupported("integer (index) operand"));
                }
                Ok(v)
            }
            Sym::Const(_) => Err(ctx.unsupported(format!(
                "input #{i} is a constant; a computed tensor is expected"
            ))),
        }
    }

    fn shape(&self, v: ValueId) -> Vec<Dim> {
        self.g
            .values
            .get(v)
            .map(|x| x.shape.clone())
            .unwrap_or_default()
    }

    fn add_const(&mut self, name: String, t: &Tensor) -> Option<ConstId> {
        let data = t.to_f32()?;
        self.derived = self.derived.saturating_add(data.len());
        self.g.consts.push(FConst {
            name,
            shape: t.shape.clone(),
            data,
        });
        Some(self.g.consts.len() - 1)
    }

    /// The constant bound to input `i`, materialized once per ONNX name.
    fn const_operand(&mut self, ctx: &Ctx<'_>, i: usize, t: &Tensor) -> Result<ConstId> {
        let name = ctx.input(i).unwrap_or_default().to_owned();
        if let Some(&c) = self.const_ids.get(&name) {
            return Ok(c);
        }
        let c = self
            .add_const(name.clone(), t)
            .ok_or_else(|| ctx.bad_input(i, "is not a numeric constant"))?;
        self.const_ids.insert(name, c);
        Ok(c)
    }

    fn new_const(
        &mut self,
        ctx: &Ctx<'_>,
        suffix: &str,
        shape: Vec<usize>,
        data: Vec<f32>,
    ) -> ConstId {
        self.derived = self.derived.saturating_add(data.len());
        self.g.consts.push(FConst {
            name: format!("{}.{suffix}", ctx.name),
            shape,
            data,
        });
        self.g.consts.len() - 1
    }

    fn emit(
        &mut self,
        ctx: &Ctx<'_>,
        op: FOp,
        inputs: Vec<Operand>,
        shape: Vec<Dim>,
        kind: Kind,
    ) -> Result<ValueId> {
        let out = ctx
            .output(0)
            .ok_or_else(|| ctx.shape_err("node has no output"))?;
        self.emit_named(ctx, op, inputs, shape, kind, out)
    }

    fn emit_named(
        &mut self,
        ctx: &Ctx<'_>,
        op: FOp,
        inputs: Vec<Operand>,
        shape: Vec<Dim>,
        kind: Kind,
        out: &str,
    ) -> Result<ValueId> {
        self.check_budget(ctx)?;
        if dims_numel(
            &shape
                .iter()
                .map(|d| if *d == Dim::Batch { Dim::Fixed(1) } else { *d })
                .collect::<Vec<_>>(),
        )
        .is_none()
        {
            return Err(Error::TooLarge {
                tensor: out.to_owned(),
                limit: MAX_ELEMS,
            });
        }
        let v = self.add_value(out, shape, kind);
        if let Some(p) = self.producer.get_mut(v) {
            *p = Some(self.g.nodes.len());
        }
        self.g.nodes.push(FNode {
            name: ctx.name.clone(),
            op,
            inputs,
            output: v,
        });
        Ok(v)
    }

    /// An intermediate node (e.g. a `Transpose` inserted before a `Gemm`).
    fn emit_tmp(
        &mut self,
        ctx: &Ctx<'_>,
        suffix: &str,
        op: FOp,
        inputs: Vec<Operand>,
        shape: Vec<Dim>,
    ) -> Result<ValueId> {
        let out = format!("{}.{suffix}", ctx.name);
        self.emit_named(ctx, op, inputs, shape, Kind::Float, &out)
    }

    fn set_out(&mut self, ctx: &Ctx<'_>, i: usize, sym: Sym) -> Result<()> {
        match ctx.output(i) {
            Some(o) => self.define(o, sym),
            None => Ok(()),
        }
    }

    /// Errors once derived constants exceed the budget.
    fn check_budget(&self, ctx: &Ctx<'_>) -> Result<()> {
        if self.derived > self.budget {
            return Err(Error::TooLarge {
                tensor: ctx.name.clone(),
                limit: self.budget,
            });
        }
        Ok(())
    }

    fn out_const(&mut self, ctx: &Ctx<'_>, t: Tensor) -> Result<()> {
        self.derived = self.derived.saturating_add(t.len());
        self.check_budget(ctx)?;
        self.set_out(ctx, 0, Sym::Const(Rc::new(t)))
    }

    /// Whether value `v` (bound to ONNX name `name`) is only consumed by the current node.
    fn single_use(&self, name: &str) -> bool {
        self.uses.get(name).copied() == Some(1)
    }

    /// Renames the value `v` to the current node's output and binds it.
    fn rebind(&mut self, ctx: &Ctx<'_>, v: ValueId) -> Result<()> {
        if let (Some(o), Some(info)) = (ctx.output(0), self.g.values.get_mut(v)) {
            info.name = o.to_owned();
        }
        self.set_out(ctx, 0, Sym::Value(v))
    }

    // ----- lowering --------------------------------------------------------------------

    fn lower(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let node = ctx.node;
        if node.domain == "ai.onnx.ml" && ctx.op == "ArrayFeatureExtractor" {
            return self.array_feature_extractor(ctx);
        }
        if !is_onnx_domain(&node.domain) {
            return Err(self.unsupported_op(ctx));
        }
        match ctx.op {
            "Constant" => self.constant(ctx),
            "Identity" => {
                let s = self.sym(ctx, 0)?;
                self.set_out(ctx, 0, s)
            }
            "Dropout" => self.dropout(ctx),
            "Cast" => self.cast(ctx),
            "Gemm" => self.gemm(ctx),
            "MatMul" => self.matmul(ctx),
            "Add" | "Sub" | "Mul" | "Div" => self.binary(ctx),
            "Relu" => self.unary(ctx, FOp::Relu, |x| x.max(0.0)),
            "Sigmoid" => self.unary(ctx, FOp::Sigmoid, |x| 1.0 / (1.0 + (-x).exp())),
            "Tanh" => self.unary(ctx, FOp::Tanh, f32::tanh),
            "LeakyRelu" => {
                let alpha = ctx.float("alpha", 0.01);
                self.unary(ctx, FOp::LeakyRelu { alpha }, move |x| {
                    if x >= 0.0 { x } else { alpha * x }
                })
            }
            "Clip" => self.clip(ctx),
            "Softmax" => self.softmax(ctx),
            "ArgMax" => self.argmax(ctx),
            "Conv" => self.conv(ctx),
            "MaxPool" | "AveragePool" => self.pool(ctx),
            "GlobalAveragePool" => self.global_avg_pool(ctx),
            "BatchNormalization" => self.batchnorm(ctx),
            "Flatten" => self.flatten(ctx),
            "Reshape" => self.reshape(ctx),
            "Transpose" => self.transpose(ctx),
            "Concat" => self.concat(ctx),
            "Squeeze" | "Unsqueeze" => self.squeeze(ctx),
            "Shape" => self.shape_op(ctx),
            "Gather" => self.gather(ctx),
            "Slice" => self.slice(ctx),
            "ConstantOfShape" => self.constant_of_shape(ctx),
            _ => Err(self.unsupported_op(ctx)),
        }
    }

    /// skl2onnx's label lookup `classes[argmax]`: supported when `classes` is `0, 1, ..., n-1`
    /// (integer labels), where it is the identity on the `ArgMax` indices.
    fn array_feature_extractor(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let classes = match self.sym(ctx, 0)? {
            Sym::Const(t) => t,
            Sym::Value(_) => return Err(self.unsupported_op(ctx)),
        };
        let Sym::Value(idx) = self.sym(ctx, 1)? else {
            return Err(self.unsupported_op(ctx));
        };
        let identity = classes.shape.len() == 1
            && matches!(&classes.data, Data::I(v) if v.iter().zip(0i64..).all(|(&c, i)| c == i));
        if !identity || self.kinds.get(idx) != Some(&Kind::Index) {
            return Err(ctx.unsupported("class labels other than 0..n-1 on ArgMax indices"));
        }
        self.set_out(ctx, 0, Sym::Value(idx))
    }

    fn unsupported_op(&self, ctx: &Ctx<'_>) -> Error {
        let d = &ctx.node.domain;
        Error::UnsupportedOp {
            op: ctx.op.to_owned(),
            domain: if d.is_empty() {
                "ai.onnx".to_owned()
            } else {
                d.clone()
            },
            node: ctx.name.clone(),
        }
    }

    fn constant(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let a = ctx
            .node
            .attribute
            .first()
            .ok_or_else(|| ctx.bad_attr("value", "Constant has no attribute"))?;
        let t = match a.name.as_str() {
            "value" => {
                let t =
                    a.t.as_ref()
                        .ok_or_else(|| ctx.bad_attr("value", "missing tensor"))?;
                Tensor::from_proto(t)?
            }
            "value_float" => Tensor::f(vec![], vec![a.f]),
            "value_floats" => Tensor::f(vec![a.floats.len()], a.floats.clone()),
            "value_int" => Tensor::i(vec![], vec![a.i]),
            "value_ints" => Tensor::i(vec![a.ints.len()], a.ints.clone()),
            other => return Err(ctx.bad_attr(other, "unsupported Constant attribute")),
        };
        self.out_const(ctx, t)
    }

    fn dropout(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if let Some(t) = self.opt_const_in(ctx, 2)? {
            if t.to_f32().is_some_and(|v| v.iter().any(|&x| x != 0.0)) {
                return Err(ctx.unsupported("training_mode = true"));
            }
        } else if ctx.input(2).is_some() {
            return Err(ctx.bad_input(2, "training_mode must be a constant"));
        }
        if ctx.output(1).is_some_and(|m| self.uses.contains_key(m)) {
            return Err(ctx.unsupported("the mask output is used"));
        }
        let s = self.sym(ctx, 0)?;
        self.set_out(ctx, 0, s)
    }

    fn cast(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let to = ctx
            .attr("to")
            .map(|a| a.i)
            .ok_or_else(|| ctx.bad_attr("to", "required"))?;
        let to_float = matches!(to, 1 | 10 | 11 | 16);
        let to_int = matches!(to, 2..=7 | 9 | 12 | 13);
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let out = if to_float {
                    Tensor::f(
                        t.shape.clone(),
                        t.to_f32()
                            .ok_or_else(|| ctx.unsupported("cast of a symbolic shape"))?,
                    )
                } else if to_int {
                    match &t.data {
                        Data::I(_) => (*t).clone(),
                        #[expect(clippy::cast_possible_truncation, reason = "ONNX Cast truncates")]
                        Data::F(v) => {
                            Tensor::i(t.shape.clone(), v.iter().map(|&x| x as i64).collect())
                        }
                    }
                } else {
                    return Err(ctx.bad_attr("to", format!("unsupported target type {to}")));
                };
                self.out_const(ctx, out)
            }
            Sym::Value(v) => {
                let kind = self.kinds.get(v).copied().unwrap_or(Kind::Float);
                // Index values stay exact integers through any numeric cast.
                if (kind == Kind::Float && to_float)
                    || (kind == Kind::Index && (to_float || to_int))
                {
                    self.set_out(ctx, 0, Sym::Value(v))
                } else {
                    Err(ctx.unsupported(format!("cast of a {kind:?} tensor to type {to}")))
                }
            }
        }
    }

    /// `Linear` of value `a` by the `[N, K]` weight, with optional `[N]` bias.
    #[expect(clippy::too_many_arguments, reason = "the shapes travel with the ids")]
    fn linear(
        &mut self,
        ctx: &Ctx<'_>,
        a: ValueId,
        weight: ConstId,
        n: usize,
        k: usize,
        bias: Option<ConstId>,
        out: Option<&str>,
    ) -> Result<ValueId> {
        let mut shape = self.shape(a);
        match shape.last_mut() {
            Some(last) if *last == Dim::Fixed(k) => *last = Dim::Fixed(n),
            _ => {
                return Err(ctx.shape_err(format!(
                    "input shape {:?} does not end with K = {k}",
                    self.shape(a)
                )));
            }
        }
        let op = FOp::Linear { weight, bias };
        match out {
            Some(o) => self.emit_named(ctx, op, vec![Operand::Value(a)], shape, Kind::Float, o),
            None => self.emit_tmp(ctx, "linear", op, vec![Operand::Value(a)], shape),
        }
    }

    fn gemm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let alpha = ctx.float("alpha", 1.0);
        let beta = ctx.float("beta", 1.0);
        let trans_a = ctx.int("transA", 0) != 0;
        let trans_b = ctx.int("transB", 0) != 0;
        let mut a = self.value_in(ctx, 0)?;
        let a_shape = self.shape(a);
        if a_shape.len() != 2 {
            return Err(ctx.shape_err(format!("Gemm input A must be 2-D, got {a_shape:?}")));
        }
        if trans_a {
            let s: Vec<Dim> = a_shape.iter().rev().copied().collect();
            a = self.emit_tmp(
                ctx,
                "transA",
                FOp::Transpose { perm: vec![1, 0] },
                vec![Operand::Value(a)],
                s,
            )?;
        }
        let c = self.opt_sym(ctx, 2)?;
        let out = ctx
            .output(0)
            .ok_or_else(|| ctx.shape_err("node has no output"))?
            .to_owned();
        match self.sym(ctx, 1)? {
            Sym::Const(b) => {
                let [r, cdim] = b.shape[..] else {
                    return Err(ctx.shape_err(format!("Gemm B must be 2-D, got {:?}", b.shape)));
                };
                let w = if trans_b {
                    (*b).clone()
                } else {
                    b.transpose(&[1, 0]).ok_or_else(|| ctx.shape_err("B"))?
                };
                let (n, k) = if trans_b { (r, cdim) } else { (cdim, r) };
                if n == 0 || k == 0 {
                    return Err(ctx.shape_err("empty weight"));
                }
                let mut wd = w
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
                if alpha != 1.0 {
                    wd.iter_mut().for_each(|x| *x *= alpha);
                }
                let weight = self.new_const(ctx, "weight", vec![n, k], wd);
                // Bias: a [N]-broadcastable C folds into the Linear; anything else stays an Add.
                let (bias, rest) = match &c {
                    Some(Sym::Const(ct)) if ct.shape.iter().rev().skip(1).all(|&d| d == 1) => {
                        let cv = ct
                            .to_f32()
                            .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?;
                        let bias = match cv.len() {
                            1 => vec![beta * cv.first().copied().unwrap_or(0.0); n],
                            l if l == n => cv.iter().map(|x| beta * x).collect(),
                            _ => {
                                return Err(ctx.shape_err(format!(
                                    "C shape {:?} does not broadcast to N = {n}",
                                    ct.shape
                                )));
                            }
                        };
                        (Some(self.new_const(ctx, "bias", vec![n], bias)), None)
                    }
                    other => (None, other.clone()),
                };
                let y = self.linear(
                    ctx,
                    a,
                    weight,
                    n,
                    k,
                    bias,
                    if rest.is_none() { Some(&out) } else { None },
                )?;
                match rest {
                    None => self.set_out(ctx, 0, Sym::Value(y)),
                    Some(cs) => self.add_c(ctx, y, cs, beta, &out),
                }
            }
            Sym::Value(mut b) => {
                if self.kinds.get(b) == Some(&Kind::Index) {
                    return Err(ctx.unsupported("integer (index) operand"));
                }
                let b_shape = self.shape(b);
                if b_shape.len() != 2 {
                    return Err(ctx.shape_err(format!("Gemm input B must be 2-D, got {b_shape:?}")));
                }
                if trans_b {
                    let s: Vec<Dim> = b_shape.iter().rev().copied().collect();
                    b = self.emit_tmp(
                        ctx,
                        "transB",
                        FOp::Transpose { perm: vec![1, 0] },
                        vec![Operand::Value(b)],
                        s,
                    )?;
                }
                let needs_more = alpha != 1.0 || c.is_some();
                let y =
                    self.matmul_values(ctx, a, b, if needs_more { None } else { Some(&out) })?;
                let y = if alpha != 1.0 {
                    let c_alpha = self.new_const(ctx, "alpha", vec![], vec![alpha]);
                    let s = self.shape(y);
                    let o = if c.is_some() {
                        format!("{}.scaled", ctx.name)
                    } else {
                        out.clone()
                    };
                    self.emit_named(
                        ctx,
                        FOp::Mul,
                        vec![Operand::Value(y), Operand::Const(c_alpha)],
                        s,
                        Kind::Float,
                        &o,
                    )?
                } else {
                    y
                };
                match c {
                    None => self.set_out(ctx, 0, Sym::Value(y)),
                    Some(cs) => self.add_c(ctx, y, cs, beta, &out),
                }
            }
        }
    }

    /// `y + beta * C` for a Gemm whose C did not fold into the bias.
    fn add_c(&mut self, ctx: &Ctx<'_>, y: ValueId, c: Sym, beta: f32, out: &str) -> Result<()> {
        let ys = self.shape(y);
        let (operand, cs) = match c {
            Sym::Const(t) => {
                let mut d = t
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?;
                d.iter_mut().for_each(|x| *x *= beta);
                (
                    Operand::Const(self.new_const(ctx, "C", t.shape.clone(), d)),
                    fixed(&t.shape),
                )
            }
            Sym::Value(v) => {
                if beta != 1.0 {
                    return Err(ctx.unsupported("dynamic C with beta != 1"));
                }
                (Operand::Value(v), self.shape(v))
            }
        };
        let s = broadcast_dims(&ys, &cs)
            .ok_or_else(|| ctx.shape_err(format!("C {cs:?} does not broadcast to {ys:?}")))?;
        let v = self.emit_named(
            ctx,
            FOp::Add,
            vec![Operand::Value(y), operand],
            s,
            Kind::Float,
            out,
        )?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    fn matmul_values(
        &mut self,
        ctx: &Ctx<'_>,
        a: ValueId,
        b: ValueId,
        out: Option<&str>,
    ) -> Result<ValueId> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        if sa.len() < 2 || sb.len() < 2 {
            return Err(ctx.unsupported("MatMul of two computed tensors needs both of rank >= 2"));
        }
        let (ra, rb) = (sa.len(), sb.len());
        let (Some(&m), Some(&ka), Some(&kb), Some(&n)) = (
            sa.get(ra - 2),
            sa.get(ra - 1),
            sb.get(rb - 2),
            sb.get(rb - 1),
        ) else {
            return Err(ctx.shape_err("rank"));
        };
        if ka != kb || ka == Dim::Batch {
            return Err(ctx.shape_err(format!("inner dimensions differ: {sa:?} x {sb:?}")));
        }
        let mut s = broadcast_dims(&sa[..ra - 2], &sb[..rb - 2]).ok_or_else(|| {
            ctx.shape_err(format!(
                "batch dimensions do not broadcast: {sa:?} x {sb:?}"
            ))
        })?;
        s.push(m);
        s.push(n);
        let ins = vec![Operand::Value(a), Operand::Value(b)];
        match out {
            Some(o) => self.emit_named(ctx, FOp::MatMul, ins, s, Kind::Float, o),
            None => self.emit_tmp(ctx, "matmul", FOp::MatMul, ins, s),
        }
    }

    fn matmul(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let a = self.value_in(ctx, 0)?;
        match self.sym(ctx, 1)? {
            Sym::Const(b) => {
                let (k, n, squeeze) = match b.shape[..] {
                    [k, n] => (k, n, false),
                    [k] => (k, 1, true),
                    _ => {
                        return Err(ctx.unsupported(format!(
                            "constant right operand of shape {:?} (need 1-D or 2-D)",
                            b.shape
                        )));
                    }
                };
                if n == 0 || k == 0 {
                    return Err(ctx.shape_err("empty weight"));
                }
                let w = b
                    .clone()
                    .as_ref()
                    .clone()
                    .reshaped(vec![k, n])
                    .ok_or_else(|| ctx.shape_err("B"))?;
                let w = w.transpose(&[1, 0]).ok_or_else(|| ctx.shape_err("B"))?;
                let wd = w
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
                let weight = self.new_const(ctx, "weight", vec![n, k], wd);
                if squeeze {
                    let y = self.linear(ctx, a, weight, n, k, None, None)?;
                    let mut s = self.shape(y);
                    s.pop();
                    let v =
                        self.emit(ctx, FOp::Reshape, vec![Operand::Value(y)], s, Kind::Float)?;
                    self.set_out(ctx, 0, Sym::Value(v))
                } else {
                    let out = ctx.output(0).map(str::to_owned);
                    let v = self.linear(ctx, a, weight, n, k, None, out.as_deref())?;
                    self.set_out(ctx, 0, Sym::Value(v))
                }
            }
            Sym::Value(_) => {
                let b = self.value_in(ctx, 1)?;
                let out = ctx.output(0).map(str::to_owned);
                let v = self.matmul_values(ctx, a, b, Some(out.as_deref().unwrap_or_default()))?;
                self.set_out(ctx, 0, Sym::Value(v))
            }
        }
    }

    fn binary(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        // Opset 6 and earlier: `broadcast = 1` with an `axis` aligns the second operand at that
        // axis instead of numpy's trailing alignment; only the numpy-equivalent form is taken.
        if ctx.int("broadcast", 0) == 1 && ctx.attr("axis").is_some() {
            return Err(ctx.unsupported("legacy broadcast with an explicit axis (opset < 7)"));
        }
        let (x, y) = (self.sym(ctx, 0)?, self.sym(ctx, 1)?);
        let op = ctx.op;
        match (&x, &y) {
            (Sym::Const(a), Sym::Const(b)) => {
                let t = match op {
                    "Add" => tensor::fold_binary(a, b, |p, q| p + q, i64::checked_add),
                    "Sub" => tensor::fold_binary(a, b, |p, q| p - q, i64::checked_sub),
                    "Mul" => tensor::fold_binary(a, b, |p, q| p * q, i64::checked_mul),
                    _ => tensor::fold_binary(a, b, |p, q| p / q, i64::checked_div),
                };
                let t = t.ok_or_else(|| {
                    ctx.shape_err(format!("cannot fold {:?} and {:?}", a.shape, b.shape))
                })?;
                self.out_const(ctx, t)
            }
            (Sym::Value(_), Sym::Value(_)) => {
                if op == "Div" {
                    return Err(ctx.unsupported("division by a computed tensor"));
                }
                let (a, b) = (self.value_in(ctx, 0)?, self.value_in(ctx, 1)?);
                let (sa, sb) = (self.shape(a), self.shape(b));
                let s = broadcast_dims(&sa, &sb)
                    .ok_or_else(|| ctx.shape_err(format!("{sa:?} and {sb:?} do not broadcast")))?;
                let fop = match op {
                    "Add" => FOp::Add,
                    "Sub" => FOp::Sub,
                    _ => FOp::Mul,
                };
                let v = self.emit(
                    ctx,
                    fop,
                    vec![Operand::Value(a), Operand::Value(b)],
                    s,
                    Kind::Float,
                )?;
                self.set_out(ctx, 0, Sym::Value(v))
            }
            (Sym::Value(_), Sym::Const(c)) | (Sym::Const(c), Sym::Value(_)) => {
                let value_first = matches!(x, Sym::Value(_));
                let vi = if value_first { 0 } else { 1 };
                let v = self.value_in(ctx, vi)?;
                if op == "Div" && !value_first {
                    return Err(ctx.unsupported("division by a computed tensor"));
                }
                if (op == "Add" || (op == "Sub" && value_first))
                    && self.try_fold_bias(ctx, v, vi, c, op == "Sub")?
                {
                    return Ok(());
                }
                let sv = self.shape(v);
                let s = broadcast_dims(&sv, &fixed(&c.shape)).ok_or_else(|| {
                    ctx.shape_err(format!("{sv:?} and {:?} do not broadcast", c.shape))
                })?;
                let (fop, cid) = if op == "Div" {
                    let d = c
                        .to_f32()
                        .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
                    if d.iter().any(|&q| q == 0.0 || !q.is_finite()) {
                        return Err(ctx.unsupported(
                            "division by a constant containing zero or a non-finite value",
                        ));
                    }
                    let r = d.iter().map(|q| 1.0 / q).collect();
                    (
                        FOp::Mul,
                        self.new_const(ctx, "reciprocal", c.shape.clone(), r),
                    )
                } else {
                    let fop = match op {
                        "Add" => FOp::Add,
                        "Sub" => FOp::Sub,
                        _ => FOp::Mul,
                    };
                    (fop, self.const_operand(ctx, 1 - vi, c)?)
                };
                let ins = if value_first {
                    vec![Operand::Value(v), Operand::Const(cid)]
                } else {
                    vec![Operand::Const(cid), Operand::Value(v)]
                };
                let out = self.emit(ctx, fop, ins, s, Kind::Float)?;
                self.set_out(ctx, 0, Sym::Value(out))
            }
        }
    }

    /// Folds `Linear(x) + c` (or `- c`) into the Linear's bias when `c` is a `[N]` vector and
    /// the Linear's output has no other consumer.
    fn try_fold_bias(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        vi: usize,
        c: &Tensor,
        negate: bool,
    ) -> Result<bool> {
        let vname = ctx.input(vi).unwrap_or_default();
        if !self.single_use(vname) {
            return Ok(false);
        }
        let Some(Some(p)) = self.producer.get(v).copied() else {
            return Ok(false);
        };
        let Some(FNode {
            op: FOp::Linear { weight, bias },
            ..
        }) = self.g.nodes.get(p)
        else {
            return Ok(false);
        };
        let (weight, bias) = (*weight, *bias);
        let n = self
            .g
            .consts
            .get(weight)
            .and_then(|w| w.shape.first().copied())
            .unwrap_or(0);
        let vrank = self.shape(v).len();
        let bias_like = c.shape.last() == Some(&n)
            && c.shape.len() <= vrank
            && c.shape.iter().rev().skip(1).all(|&d| d == 1);
        let Some(cv) = c.to_f32() else {
            return Ok(false);
        };
        if !bias_like || cv.len() != n {
            return Ok(false);
        }
        let old = bias
            .and_then(|b| self.g.consts.get(b))
            .map(|b| b.data.clone())
            .unwrap_or_else(|| vec![0.0; n]);
        let new: Vec<f32> = old
            .iter()
            .zip(&cv)
            .map(|(o, x)| if negate { o - x } else { o + x })
            .collect();
        let nb = self.new_const(ctx, "bias", vec![n], new);
        if let Some(FNode {
            op: FOp::Linear { bias, .. },
            ..
        }) = self.g.nodes.get_mut(p)
        {
            *bias = Some(nb);
        }
        self.rebind(ctx, v)?;
        Ok(true)
    }

    fn unary(&mut self, ctx: &Ctx<'_>, op: FOp, f: impl Fn(f32) -> f32) -> Result<()> {
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let d = t
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(0, "is not numeric"))?;
                self.out_const(
                    ctx,
                    Tensor::f(t.shape.clone(), d.into_iter().map(f).collect()),
                )
            }
            Sym::Value(_) => {
                let v = self.value_in(ctx, 0)?;
                let s = self.shape(v);
                let out = self.emit(ctx, op, vec![Operand::Value(v)], s, Kind::Float)?;
                self.set_out(ctx, 0, Sym::Value(out))
            }
        }
    }

    fn clip(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (min, max) = if self.opset < 11 {
            (
                ctx.float("min", f32::NEG_INFINITY),
                ctx.float("max", f32::INFINITY),
            )
        } else {
            let scalar = |imp: &Self, i: usize, default: f32| -> Result<f32> {
                match imp.opt_const_in(ctx, i)? {
                    None => Ok(default),
                    Some(t) => match t.to_f32().as_deref() {
                        Some([x]) => Ok(*x),
                        _ => Err(ctx.bad_input(i, "must be a scalar")),
                    },
                }
            };
            (
                scalar(self, 1, f32::NEG_INFINITY)?,
                scalar(self, 2, f32::INFINITY)?,
            )
        };
        if min.is_nan() || max.is_nan() {
            return Err(ctx.bad_attr("min", "NaN bound"));
        }
        self.unary(ctx, FOp::Clip { min, max }, move |x| x.max(min).min(max))
    }

    fn softmax(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let v = self.value_in(ctx, 0)?;
        let s = self.shape(v);
        let rank = s.len();
        let default = if self.opset >= 13 { -1 } else { 1 };
        let axis = ctx.axis("axis", ctx.int("axis", default), rank)?;
        let axis = if self.opset >= 13 {
            axis
        } else {
            // Coerced to 2-D at `axis`: the same as the last axis iff the axes from `axis` to
            // the second-to-last all have size 1.
            let between = s.get(axis..rank.saturating_sub(1)).unwrap_or_default();
            if between.iter().all(|&d| d == Dim::Fixed(1)) {
                rank - 1
            } else {
                return Err(ctx.unsupported(format!(
                    "opset < 13 softmax over axes {axis}.. of {s:?} is not a softmax over one axis"
                )));
            }
        };
        if s.get(axis) == Some(&Dim::Batch) {
            return Err(ctx.shape_err("softmax over the batch axis"));
        }
        let out = self.emit(
            ctx,
            FOp::Softmax { axis },
            vec![Operand::Value(v)],
            s,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    fn argmax(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let v = self.value_in(ctx, 0)?;
        let mut s = self.shape(v);
        let axis = ctx.axis("axis", ctx.int("axis", 0), s.len())?;
        let keepdims = ctx.int("keepdims", 1) != 0;
        let select_last_index = ctx.int("select_last_index", 0) != 0;
        if s.get(axis) == Some(&Dim::Batch) {
            return Err(ctx.shape_err("argmax over the batch axis"));
        }
        if keepdims {
            if let Some(d) = s.get_mut(axis) {
                *d = Dim::Fixed(1);
            }
        } else {
            s.remove(axis);
        }
        let out = self.emit(
            ctx,
            FOp::ArgMax {
                axis,
                keepdims,
                select_last_index,
            },
            vec![Operand::Value(v)],
            s,
            Kind::Index,
        )?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// Spatial dimensions `[.., H, W]` (or `[.., L]`) of a value, all fixed.
    fn spatial_in(&self, ctx: &Ctx<'_>, s: &[Dim]) -> Result<Vec<usize>> {
        if s.len() != 3 && s.len() != 4 {
            return Err(ctx.unsupported(format!(
                "input of rank {} (need 1-D or 2-D spatial, NCHW)",
                s.len()
            )));
        }
        s.iter()
            .skip(2)
            .map(|d| match d {
                Dim::Fixed(n) => Ok(*n),
                Dim::Batch => Err(ctx.shape_err("symbolic spatial dimension")),
            })
            .collect()
    }

    fn spatial(
        &self,
        ctx: &Ctx<'_>,
        input: &[usize],
        kernel: &[usize],
        ceil_mode: bool,
    ) -> Result<Spatial> {
        let nd = input.len();
        if kernel.len() != nd {
            return Err(ctx.bad_attr(
                "kernel_shape",
                format!("{} values for {nd} spatial dimensions", kernel.len()),
            ));
        }
        let strides = match ctx.ints("strides") {
            Some(v) if !v.is_empty() => ctx.positive("strides", v)?,
            _ => vec![1; nd],
        };
        let dilations = match ctx.ints("dilations") {
            Some(v) if !v.is_empty() => ctx.positive("dilations", v)?,
            _ => vec![1; nd],
        };
        if strides.len() != nd || dilations.len() != nd {
            return Err(ctx.bad_attr("strides", "length does not match the spatial rank"));
        }
        let auto_pad = ctx.string("auto_pad").unwrap_or(b"NOTSET");
        let mut begin = vec![0usize; nd];
        let mut end = vec![0usize; nd];
        let mut out = vec![0usize; nd];
        let too_big = || ctx.shape_err("spatial size overflow");
        for i in 0..nd {
            let (Some(&x), Some(&k), Some(&s), Some(&d)) = (
                input.get(i),
                kernel.get(i),
                strides.get(i),
                dilations.get(i),
            ) else {
                return Err(ctx.shape_err("rank"));
            };
            let ek = d
                .checked_mul(k - 1)
                .and_then(|v| v.checked_add(1))
                .ok_or_else(too_big)?;
            match auto_pad {
                b"SAME_UPPER" | b"SAME_LOWER" => {
                    let o = x.div_ceil(s);
                    let need = (o.saturating_sub(1))
                        .checked_mul(s)
                        .and_then(|v| v.checked_add(ek))
                        .ok_or_else(too_big)?;
                    let total = need.saturating_sub(x);
                    let small = total / 2;
                    let (b, e) = if auto_pad == b"SAME_UPPER" {
                        (small, total - small)
                    } else {
                        (total - small, small)
                    };
                    if let (Some(pb), Some(pe), Some(po)) =
                        (begin.get_mut(i), end.get_mut(i), out.get_mut(i))
                    {
                        (*pb, *pe, *po) = (b, e, o);
                    }
                    continue;
                }
                b"VALID" => {}
                b"NOTSET" | b"" => {
                    if let Some(p) = ctx.ints("pads").filter(|p| !p.is_empty()) {
                        if p.len() != 2 * nd {
                            return Err(ctx.bad_attr(
                                "pads",
                                format!("{} values for {nd} spatial dimensions", p.len()),
                            ));
                        }
                        let conv = |x: Option<&i64>| {
                            x.and_then(|&v| usize::try_from(v).ok())
                                .filter(|&v| v <= MAX_ELEMS)
                                .ok_or_else(|| ctx.bad_attr("pads", "pads must be non-negative"))
                        };
                        if let (Some(pb), Some(pe)) = (begin.get_mut(i), end.get_mut(i)) {
                            *pb = conv(p.get(i))?;
                            *pe = conv(p.get(i + nd))?;
                        }
                    }
                }
                other => {
                    return Err(ctx.bad_attr(
                        "auto_pad",
                        format!("unknown value {:?}", String::from_utf8_lossy(other)),
                    ));
                }
            }
            let padded = x
                .checked_add(begin.get(i).copied().unwrap_or(0))
                .and_then(|v| v.checked_add(end.get(i).copied().unwrap_or(0)))
                .ok_or_else(too_big)?;
            if padded < ek {
                return Err(ctx.shape_err(format!(
                    "kernel extent {ek} larger than padded input {padded}"
                )));
            }
            let span = padded - ek;
            let mut o = if ceil_mode {
                span.div_ceil(s) + 1
            } else {
                span / s + 1
            };
            // The last window must start inside the input or the left padding.
            if ceil_mode && (o - 1) * s >= x + begin.get(i).copied().unwrap_or(0) {
                o -= 1;
            }
            if let Some(po) = out.get_mut(i) {
                *po = o;
            }
        }
        let (pads, strides2, dil2, kernel2) = if nd == 1 {
            let pads = [
                0,
                begin.first().copied().unwrap_or(0),
                0,
                end.first().copied().unwrap_or(0),
            ];
            (pads, to2(&strides, 1), to2(&dilations, 1), to2(kernel, 1))
        } else {
            let g = |v: &Vec<usize>, i: usize| v.get(i).copied().unwrap_or(0);
            (
                [g(&begin, 0), g(&begin, 1), g(&end, 0), g(&end, 1)],
                to2(&strides, 1),
                to2(&dilations, 1),
                to2(kernel, 1),
            )
        };
        Ok(Spatial {
            out,
            pads,
            strides: strides2,
            dilations: dil2,
            kernel: kernel2,
        })
    }

    fn conv(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        let input = self.spatial_in(ctx, &s)?;
        let w = self.const_in(ctx, 1)?;
        let bias = self.opt_const_in(ctx, 2)?;
        let group = usize::try_from(ctx.int("group", 1))
            .ok()
            .filter(|&g| g > 0)
            .ok_or_else(|| ctx.bad_attr("group", "must be positive"))?;
        if w.shape.len() != s.len() {
            return Err(ctx.shape_err(format!(
                "weight shape {:?} does not match input rank {}",
                w.shape,
                s.len()
            )));
        }
        let (Some(&co), Some(&ci_g)) = (w.shape.first(), w.shape.get(1)) else {
            return Err(ctx.shape_err("weight rank"));
        };
        let kernel: Vec<usize> = w.shape.iter().skip(2).copied().collect();
        if let Some(ks) = ctx.ints("kernel_shape").filter(|k| !k.is_empty())
            && ctx.positive("kernel_shape", ks)? != kernel
        {
            return Err(ctx.bad_attr(
                "kernel_shape",
                format!("{ks:?} does not match the weight shape {:?}", w.shape),
            ));
        }
        if kernel.contains(&0) {
            return Err(ctx.shape_err("empty kernel"));
        }
        let c_in = match s.get(1) {
            Some(Dim::Fixed(c)) => *c,
            _ => return Err(ctx.shape_err("symbolic channel dimension")),
        };
        if ci_g.checked_mul(group) != Some(c_in) || co % group != 0 {
            return Err(ctx.shape_err(format!(
                "weight {:?} with group {group} does not fit {c_in} input channels",
                w.shape
            )));
        }
        let sp = self.spatial(ctx, &input, &kernel, false)?;
        let wd = w
            .to_f32()
            .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
        let w4 = [co, ci_g, sp.kernel[0], sp.kernel[1]].to_vec();
        let weight = if s.len() == 4 {
            self.const_operand(ctx, 1, &w)?
        } else {
            self.new_const(ctx, "weight", w4, wd)
        };
        let bias = match bias {
            None => None,
            Some(b) => {
                if b.len() != co {
                    return Err(ctx.shape_err(format!(
                        "bias of {} elements for {co} output channels",
                        b.len()
                    )));
                }
                let bd = b
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?;
                Some(self.new_const(ctx, "bias", vec![co], bd))
            }
        };
        let mut out = vec![s.first().copied().unwrap_or(Dim::Batch), Dim::Fixed(co)];
        out.extend(fixed(&sp.out));
        let op = FOp::Conv {
            weight,
            bias,
            kernel: sp.kernel,
            strides: sp.strides,
            pads: sp.pads,
            dilations: sp.dilations,
            group,
        };
        let v = self.emit(ctx, op, vec![Operand::Value(x)], out, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    fn pool(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let is_max = ctx.op == "MaxPool";
        if is_max && ctx.output(1).is_some() {
            return Err(ctx.unsupported("the Indices output"));
        }
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        let input = self.spatial_in(ctx, &s)?;
        let kernel = ctx.positive("kernel_shape", ctx.ints("kernel_shape").unwrap_or_default())?;
        if kernel.is_empty() {
            return Err(ctx.bad_attr("kernel_shape", "required"));
        }
        let ceil_mode = ctx.int("ceil_mode", 0) != 0;
        let sp = self.spatial(ctx, &input, &kernel, ceil_mode)?;
        let op = if is_max {
            FOp::MaxPool {
                kernel: sp.kernel,
                strides: sp.strides,
                pads: sp.pads,
                dilations: sp.dilations,
                ceil_mode,
            }
        } else {
            if sp.dilations != [1, 1] {
                return Err(ctx.unsupported("AveragePool with dilations"));
            }
            let count_include_pad = ctx.int("count_include_pad", 0) != 0;
            FOp::AveragePool {
                kernel: sp.kernel,
                strides: sp.strides,
                pads: sp.pads,
                count_include_pad,
                ceil_mode,
            }
        };
        let mut out: Vec<Dim> = s.iter().take(2).copied().collect();
        out.extend(fixed(&sp.out));
        let v = self.emit(ctx, op, vec![Operand::Value(x)], out, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    fn global_avg_pool(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        self.spatial_in(ctx, &s)?;
        let out: Vec<Dim> = s
            .iter()
            .enumerate()
            .map(|(i, &d)| if i < 2 { d } else { Dim::Fixed(1) })
            .collect();
        let v = self.emit(
            ctx,
            FOp::GlobalAveragePool,
            vec![Operand::Value(x)],
            out,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    fn batchnorm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if ctx.int("training_mode", 0) != 0 {
            return Err(ctx.unsupported("training_mode = 1"));
        }
        // Opset 6 spelled inference mode `is_test = 1` and allowed per-element statistics.
        if ctx.attr("is_test").is_some_and(|a| a.i == 0) {
            return Err(ctx.unsupported("is_test = 0 (training mode)"));
        }
        if ctx.int("spatial", 1) != 1 {
            return Err(ctx.unsupported("spatial = 0"));
        }
        if (1..5).any(|i| ctx.output(i).is_some_and(|o| self.uses.contains_key(o))) {
            return Err(ctx.unsupported("running statistics outputs are used"));
        }
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        let c = match s.get(1) {
            Some(Dim::Fixed(c)) => *c,
            _ => return Err(ctx.shape_err(format!("input {s:?} has no fixed channel axis"))),
        };
        let eps = ctx.float("epsilon", 1e-5);
        let mut p = Vec::with_capacity(4);
        for i in 1..5 {
            let t = self.const_in(ctx, i)?;
            let d = t
                .to_f32()
                .ok_or_else(|| ctx.bad_input(i, "is not numeric"))?;
            if d.len() != c {
                return Err(ctx.shape_err(format!(
                    "parameter #{i} has {} elements for {c} channels",
                    d.len()
                )));
            }
            p.push(d);
        }
        let [scale, b, mean, var] = &p[..] else {
            return Err(ctx.shape_err("parameters"));
        };
        let a: Vec<f32> = scale
            .iter()
            .zip(var)
            .map(|(g, v)| g / (v + eps).sqrt())
            .collect();
        let shift: Vec<f32> = b
            .iter()
            .zip(mean)
            .zip(&a)
            .map(|((b, m), a)| b - m * a)
            .collect();
        // Fold into the producing Conv / Linear.
        let xname = ctx.input(0).unwrap_or_default();
        if self.single_use(xname)
            && let Some(Some(pi)) = self.producer.get(x).copied()
        {
            let target = match self.g.nodes.get(pi).map(|n| &n.op) {
                Some(FOp::Conv { weight, bias, .. }) => Some((*weight, *bias)),
                Some(FOp::Linear { weight, bias }) if s.len() == 2 => Some((*weight, *bias)),
                _ => None,
            };
            if let Some((w, bias)) = target {
                let wc = self.g.consts.get(w).cloned();
                if let Some(wc) = wc.filter(|wc| wc.shape.first() == Some(&c)) {
                    let per = wc.data.len() / c.max(1);
                    let nw: Vec<f32> = wc
                        .data
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| v * a.get(i / per.max(1)).copied().unwrap_or(1.0))
                        .collect();
                    let ob = bias
                        .and_then(|b| self.g.consts.get(b))
                        .map(|b| b.data.clone())
                        .unwrap_or_else(|| vec![0.0; c]);
                    let nb: Vec<f32> = ob
                        .iter()
                        .zip(&a)
                        .zip(&shift)
                        .map(|((o, a), s)| o * a + s)
                        .collect();
                    let nwid = self.new_const(ctx, "weight", wc.shape.clone(), nw);
                    let nbid = self.new_const(ctx, "bias", vec![c], nb);
                    if let Some(FOp::Conv { weight, bias, .. } | FOp::Linear { weight, bias }) =
                        self.g.nodes.get_mut(pi).map(|n| &mut n.op)
                    {
                        *weight = nwid;
                        *bias = Some(nbid);
                    }
                    return self.rebind(ctx, x);
                }
            }
        }
        // Otherwise: x * a + shift with per-channel constants shaped [C, 1, ...].
        let mut cshape = vec![c];
        cshape.extend(std::iter::repeat_n(1, s.len().saturating_sub(2)));
        let ac = self.new_const(ctx, "scale", cshape.clone(), a);
        let bc = self.new_const(ctx, "shift", cshape, shift);
        let m = self.emit_tmp(
            ctx,
            "mul",
            FOp::Mul,
            vec![Operand::Value(x), Operand::Const(ac)],
            s.clone(),
        )?;
        let v = self.emit(
            ctx,
            FOp::Add,
            vec![Operand::Value(m), Operand::Const(bc)],
            s,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    /// Emits a `Reshape` of input 0 to `shape` (or folds a constant).
    fn reshape_to(&mut self, ctx: &Ctx<'_>, shape: Vec<Dim>) -> Result<()> {
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let fixed_shape: Option<Vec<usize>> = shape
                    .iter()
                    .map(|d| {
                        if let Dim::Fixed(n) = d {
                            Some(*n)
                        } else {
                            None
                        }
                    })
                    .collect();
                let fs =
                    fixed_shape.ok_or_else(|| ctx.shape_err("constant with a batch dimension"))?;
                let t = (*t)
                    .clone()
                    .reshaped(fs)
                    .ok_or_else(|| ctx.shape_err("element count changes"))?;
                self.out_const(ctx, t)
            }
            Sym::Value(v) => {
                let kind = self.kinds.get(v).copied().unwrap_or(Kind::Float);
                let out = self.emit(ctx, FOp::Reshape, vec![Operand::Value(v)], shape, kind)?;
                self.set_out(ctx, 0, Sym::Value(out))
            }
        }
    }

    fn in_dims(&self, ctx: &Ctx<'_>) -> Result<Vec<Dim>> {
        Ok(match self.sym(ctx, 0)? {
            Sym::Const(t) => fixed(&t.shape),
            Sym::Value(v) => self.shape(v),
        })
    }

    fn flatten(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let axis = ctx.int("axis", 1);
        let axis = if axis == i64::try_from(s.len()).unwrap_or(-1) {
            s.len()
        } else {
            ctx.axis("axis", axis, s.len())?
        };
        let side = |part: &[Dim]| -> Result<Dim> {
            let batches = part.iter().filter(|&&d| d == Dim::Batch).count();
            let prod = dims_numel(
                &part
                    .iter()
                    .filter(|&&d| d != Dim::Batch)
                    .copied()
                    .collect::<Vec<_>>(),
            )
            .ok_or_else(|| ctx.shape_err("size overflow"))?;
            match (batches, prod) {
                (0, p) => Ok(Dim::Fixed(p)),
                (1, 1) => Ok(Dim::Batch),
                _ => Err(ctx.shape_err(format!(
                    "flattening {s:?} at axis {axis} merges the batch axis"
                ))),
            }
        };
        let out = vec![
            side(s.get(..axis).unwrap_or_default())?,
            side(s.get(axis..).unwrap_or_default())?,
        ];
        self.reshape_to(ctx, out)
    }

    fn reshape(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let target = if self.opset < 5 {
            ctx.ints("shape")
                .map(<[i64]>::to_vec)
                .ok_or_else(|| ctx.bad_attr("shape", "required"))?
        } else {
            self.const_in(ctx, 1)?
                .to_i64()
                .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))?
        };
        let allowzero = ctx.int("allowzero", 0) != 0;
        let mut out = Vec::with_capacity(target.len());
        let mut infer = None;
        for (i, &t) in target.iter().enumerate() {
            out.push(match t {
                BATCH => Dim::Batch,
                -1 if infer.is_none() => {
                    infer = Some(i);
                    Dim::Fixed(1)
                }
                0 if !allowzero => *s
                    .get(i)
                    .ok_or_else(|| ctx.shape_err("0 refers past the input rank"))?,
                t => Dim::Fixed(
                    usize::try_from(t)
                        .ok()
                        .filter(|&u| u <= MAX_ELEMS)
                        .ok_or_else(|| ctx.shape_err(format!("invalid target dimension {t}")))?,
                ),
            });
        }
        let count = |d: &[Dim]| d.iter().filter(|&&x| x == Dim::Batch).count();
        let prod = |d: &[Dim]| {
            dims_numel(
                &d.iter()
                    .filter(|&&x| x != Dim::Batch)
                    .copied()
                    .collect::<Vec<_>>(),
            )
        };
        let (bin, bout) = (count(&s), count(&out));
        let (pin, pout) = (
            prod(&s).ok_or_else(|| ctx.shape_err("size overflow"))?,
            prod(&out).ok_or_else(|| ctx.shape_err("size overflow"))?,
        );
        let bad = || {
            ctx.shape_err(format!(
                "cannot reshape {s:?} to {target:?} keeping the batch axis symbolic"
            ))
        };
        match infer {
            Some(i) => {
                let d = if bin == bout {
                    if pout == 0 || pin % pout != 0 {
                        return Err(bad());
                    }
                    Dim::Fixed(pin / pout)
                } else if bin == bout + 1 && pin == pout {
                    Dim::Batch
                } else {
                    return Err(bad());
                };
                if let Some(x) = out.get_mut(i) {
                    *x = d;
                }
            }
            None => {
                if bin != bout || pin != pout {
                    return Err(bad());
                }
            }
        }
        self.reshape_to(ctx, out)
    }

    fn transpose(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let perm: Vec<usize> = match ctx.ints("perm") {
            Some(p) if !p.is_empty() => p
                .iter()
                .map(|&a| usize::try_from(a).unwrap_or(usize::MAX))
                .collect(),
            _ => (0..s.len()).rev().collect(),
        };
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        if sorted != (0..s.len()).collect::<Vec<_>>() {
            return Err(ctx.bad_attr(
                "perm",
                format!("{perm:?} is not a permutation of {} axes", s.len()),
            ));
        }
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let t = t
                    .transpose(&perm)
                    .ok_or_else(|| ctx.shape_err("transpose"))?;
                self.out_const(ctx, t)
            }
            Sym::Value(v) => {
                let out: Vec<Dim> = perm.iter().filter_map(|&p| s.get(p).copied()).collect();
                let kind = self.kinds.get(v).copied().unwrap_or(Kind::Float);
                let o = self.emit(
                    ctx,
                    FOp::Transpose { perm },
                    vec![Operand::Value(v)],
                    out,
                    kind,
                )?;
                self.set_out(ctx, 0, Sym::Value(o))
            }
        }
    }

    fn concat(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let n = ctx.node.input.len();
        let mut syms = Vec::with_capacity(n);
        for i in 0..n {
            syms.push(self.sym(ctx, i)?);
        }
        let Some(first) = syms.first() else {
            return Err(ctx.bad_input(0, "is required"));
        };
        let rank = match first {
            Sym::Const(t) => t.shape.len(),
            Sym::Value(v) => self.shape(*v).len(),
        };
        let axis = ctx.axis(
            "axis",
            ctx.attr("axis")
                .map(|a| a.i)
                .ok_or_else(|| ctx.bad_attr("axis", "required"))?,
            rank,
        )?;
        if syms.iter().all(|s| matches!(s, Sym::Const(_))) {
            let parts: Vec<Tensor> = syms
                .iter()
                .filter_map(|s| {
                    if let Sym::Const(t) = s {
                        Some((**t).clone())
                    } else {
                        None
                    }
                })
                .collect();
            let t = Tensor::concat(&parts, axis)
                .ok_or_else(|| ctx.shape_err("constant shapes do not concatenate"))?;
            return self.out_const(ctx, t);
        }
        let mut out: Option<Vec<Dim>> = None;
        let mut ins = Vec::with_capacity(n);
        for (i, s) in syms.iter().enumerate() {
            let dims = match s {
                Sym::Const(t) => {
                    ins.push(Operand::Const(self.const_operand(ctx, i, t)?));
                    fixed(&t.shape)
                }
                Sym::Value(_) => {
                    let v = self.value_in(ctx, i)?;
                    ins.push(Operand::Value(v));
                    self.shape(v)
                }
            };
            if dims.len() != rank {
                return Err(ctx.shape_err("inputs of different ranks"));
            }
            out = Some(match out {
                None => dims,
                Some(mut acc) => {
                    for (a, (x, y)) in acc.iter_mut().zip(&dims).enumerate() {
                        if a == axis {
                            *x = match (*x, *y) {
                                (Dim::Fixed(p), Dim::Fixed(q)) => Dim::Fixed(
                                    p.checked_add(q).ok_or_else(|| ctx.shape_err("overflow"))?,
                                ),
                                _ => {
                                    return Err(ctx.shape_err("concatenation along the batch axis"));
                                }
                            };
                        } else if x != y {
                            return Err(ctx.shape_err(format!(
                                "input #{i} shape {dims:?} does not match on axis {a}"
                            )));
                        }
                    }
                    acc
                }
            });
        }
        let out = out.unwrap_or_default();
        let v = self.emit(ctx, FOp::Concat { axis }, ins, out, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    fn squeeze(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let axes: Option<Vec<i64>> = if self.opset >= 13 {
            self.opt_const_in(ctx, 1)?
                .map(|t| {
                    t.to_i64()
                        .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))
                })
                .transpose()?
        } else {
            ctx.ints("axes").map(<[i64]>::to_vec)
        };
        let out = if ctx.op == "Squeeze" {
            match axes {
                None => s.iter().copied().filter(|&d| d != Dim::Fixed(1)).collect(),
                Some(axes) => {
                    let mut drop = vec![false; s.len()];
                    for &a in &axes {
                        let a = ctx.axis("axes", a, s.len())?;
                        if s.get(a) != Some(&Dim::Fixed(1)) {
                            return Err(ctx.shape_err(format!("cannot squeeze axis {a} of {s:?}")));
                        }
                        if let Some(d) = drop.get_mut(a) {
                            *d = true;
                        }
                    }
                    s.iter()
                        .zip(&drop)
                        .filter(|(_, d)| !**d)
                        .map(|(x, _)| *x)
                        .collect()
                }
            }
        } else {
            let axes = axes.ok_or_else(|| ctx.bad_attr("axes", "required"))?;
            let rank = s
                .len()
                .checked_add(axes.len())
                .ok_or_else(|| ctx.shape_err("rank"))?;
            let mut ins = vec![false; rank];
            for &a in &axes {
                let a = ctx.axis("axes", a, rank)?;
                let slot = ins.get_mut(a).ok_or_else(|| ctx.shape_err("axis"))?;
                if *slot {
                    return Err(ctx.bad_attr("axes", "repeated axis"));
                }
                *slot = true;
            }
            let mut it = s.iter();
            ins.iter()
                .map(|&new| {
                    if new {
                        Dim::Fixed(1)
                    } else {
                        it.next().copied().unwrap_or(Dim::Fixed(1))
                    }
                })
                .collect()
        };
        self.reshape_to(ctx, out)
    }

    fn shape_op(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let mut v: Vec<i64> = s
            .iter()
            .map(|d| match d {
                Dim::Batch => BATCH,
                Dim::Fixed(n) => i64::try_from(*n).unwrap_or(i64::MAX),
            })
            .collect();
        let r = i64::try_from(v.len()).unwrap_or(0);
        let clampi = |x: i64| (if x < 0 { x.saturating_add(r) } else { x }).clamp(0, r);
        let start = usize::try_from(clampi(ctx.int("start", 0))).unwrap_or(0);
        let end = usize::try_from(clampi(ctx.int("end", r))).unwrap_or(0);
        v = v.get(start..end.max(start)).unwrap_or_default().to_vec();
        self.out_const(ctx, Tensor::i(vec![v.len()], v))
    }

    fn gather(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let data = match self.sym(ctx, 0)? {
            Sym::Const(t) => t,
            Sym::Value(_) => return Err(self.unsupported_op(ctx)),
        };
        let idx = self.const_in(ctx, 1)?;
        let axis = ctx.axis("axis", ctx.int("axis", 0), data.shape.len())?;
        let dim = i64::try_from(data.shape.get(axis).copied().unwrap_or(0)).unwrap_or(0);
        let iv = idx
            .to_i64()
            .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))?;
        let iv: Vec<usize> = iv
            .iter()
            .map(|&i| {
                let j = if i < 0 { i.saturating_add(dim) } else { i };
                usize::try_from(j)
                    .ok()
                    .filter(|_| j < dim)
                    .ok_or_else(|| ctx.bad_input(1, format!("index {i} out of range")))
            })
            .collect::<Result<_>>()?;
        let t = data
            .gather(axis, &idx.shape, &iv)
            .ok_or_else(|| ctx.shape_err("gather"))?;
        self.out_const(ctx, t)
    }

    fn slice(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let data = match self.sym(ctx, 0)? {
            Sym::Const(t) => t,
            Sym::Value(_) => return Err(self.unsupported_op(ctx)),
        };
        let get = |imp: &Self, i: usize, attr: &str| -> Result<Option<Vec<i64>>> {
            if imp.opset < 10 {
                Ok(ctx.ints(attr).map(<[i64]>::to_vec))
            } else {
                imp.opt_const_in(ctx, i)?
                    .map(|t| {
                        t.to_i64()
                            .ok_or_else(|| ctx.bad_input(i, "is not an integer tensor"))
                    })
                    .transpose()
            }
        };
        let starts =
            get(self, 1, "starts")?.ok_or_else(|| ctx.bad_input(1, "starts are required"))?;
        let ends = get(self, 2, "ends")?.ok_or_else(|| ctx.bad_input(2, "ends are required"))?;
        let axes = get(self, 3, "axes")?
            .unwrap_or_else(|| (0..i64::try_from(starts.len()).unwrap_or(0)).collect());
        let steps = if self.opset < 10 {
            None
        } else {
            get(self, 4, "steps")?
        }
        .unwrap_or_else(|| vec![1; starts.len()]);
        if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
            return Err(ctx.shape_err("starts, ends, axes and steps differ in length"));
        }
        let mut specs = Vec::with_capacity(starts.len());
        for (((&s, &e), &a), &st) in starts.iter().zip(&ends).zip(&axes).zip(&steps) {
            specs.push((ctx.axis("axes", a, data.shape.len())?, s, e, st));
        }
        let t = data
            .slice(&specs)
            .ok_or_else(|| ctx.shape_err("invalid slice"))?;
        self.out_const(ctx, t)
    }

    fn constant_of_shape(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let shape = self
            .const_in(ctx, 0)?
            .to_i64()
            .ok_or_else(|| ctx.bad_input(0, "is not an integer tensor"))?;
        let shape: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| ctx.shape_err(format!("dimension {d}"))))
            .collect::<Result<_>>()?;
        let n = numel(&shape)
            .filter(|&n| n <= MAX_FOLD_ELEMS)
            .ok_or_else(|| Error::TooLarge {
                tensor: ctx.name.clone(),
                limit: MAX_FOLD_ELEMS,
            })?;
        let value = match ctx.attr("value").and_then(|a| a.t.as_ref()) {
            Some(t) => Tensor::from_proto(t)?,
            None => Tensor::f(vec![1], vec![0.0]),
        };
        let t = match &value.data {
            Data::F(v) => Tensor::f(shape, vec![v.first().copied().unwrap_or(0.0); n]),
            Data::I(v) => Tensor::i(shape, vec![v.first().copied().unwrap_or(0); n]),
        };
        self.out_const(ctx, t)
    }
}

/// The shape of a graph input, with the first dimension symbolic when dynamic.
fn input_shape(vi: &crate::proto::ValueInfoProto) -> Result<Vec<Dim>> {
    let err = |reason: &str| Error::Input {
        name: vi.name.clone(),
        reason: reason.to_owned(),
    };
    let Some(type_proto::Value::TensorType(tt)) = vi.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(err("not a tensor"));
    };
    if !matches!(tt.elem_type, 1 | 10 | 11 | 16) {
        return Err(Error::Input {
            name: vi.name.clone(),
            reason: format!("element type {} is not floating point", tt.elem_type),
        });
    }
    let shape = tt.shape.as_ref().ok_or_else(|| err("no shape"))?;
    let mut dims = Vec::with_capacity(shape.dim.len());
    for (i, d) in shape.dim.iter().enumerate() {
        let v = match &d.value {
            Some(DimValue::DimValue(n)) if *n > 0 => Dim::Fixed(
                usize::try_from(*n)
                    .ok()
                    .filter(|&u| u <= MAX_ELEMS)
                    .ok_or_else(|| err("dimension too large"))?,
            ),
            _ if i == 0 => Dim::Batch,
            _ => return Err(err("only the first dimension may be symbolic")),
        };
        dims.push(v);
    }
    if dims_numel(
        &dims
            .iter()
            .map(|d| if *d == Dim::Batch { Dim::Fixed(1) } else { *d })
            .collect::<Vec<_>>(),
    )
    .is_none()
    {
        return Err(Error::TooLarge {
            tensor: vi.name.clone(),
            limit: MAX_ELEMS,
        });
    }
    Ok(dims)
}
