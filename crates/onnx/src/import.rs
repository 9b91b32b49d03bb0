//! Importing an ONNX graph as an [`FGraph`]: the graph walk (output check, pruning, graph
//! inputs, one [`Importer::lower`] call per needed node, unused constants and values dropped),
//! the import state ([`Importer`], [`Ctx`], [`Sym`]) and the operand, emission and shape helpers
//! every lowering uses. The lowering of each op lives in [`crate::lower`], one module per op
//! family.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::ImportOptions;
pub(crate) use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::graph::{
    BatchAxis, ConstId, Dim, FConst, FGraph, FNode, FOp, Operand, ValueId, ValueInfo,
};
use crate::proto::{GraphProto, ModelProto, NodeProto};
use crate::tensor::{MAX_ELEMS, Tensor, numel};

/// Elements of derived constants allowed beyond four times the initializers' elements.
const DERIVED_BUDGET: usize = 1 << 26;

/// Lowest supported `ai.onnx` opset.
const MIN_OPSET: i64 = 6;

/// What a tensor name is bound to during import.
#[derive(Debug, Clone)]
pub(crate) enum Sym {
    /// A computed tensor.
    Value(ValueId),
    /// A constant (initializer, `Constant` node or folded).
    Const(Rc<Tensor>),
}

/// Element kind of a dynamic value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Floating point.
    Float,
    /// Integer indices (`ArgMax` output).
    Index,
}

/// Whether `d` names the ONNX domain (empty or `ai.onnx`).
pub(crate) fn is_onnx_domain(d: &str) -> bool {
    d.is_empty() || d == "ai.onnx"
}

/// An initializer decoded: its name and elements.
type Initializer = (String, Rc<Tensor>);

/// Imports a decoded model.
pub(crate) fn import_model(model: &ModelProto, opts: &ImportOptions) -> Result<FGraph> {
    let graph = model.graph.as_ref().ok_or(Error::NoGraph)?;
    let inits = graph
        .initializer
        .iter()
        .map(|t| Ok((t.name.clone(), Rc::new(Tensor::from_proto(t)?))))
        .collect::<Result<Vec<_>>>()?;
    import_decoded(model, graph, &inits, &elem_types(graph), opts)
}

/// The element type of each initializer, by name (a zero point's type is its range).
fn elem_types(graph: &GraphProto) -> HashMap<String, i32> {
    graph
        .initializer
        .iter()
        .map(|t| (t.name.clone(), t.data_type))
        .collect()
}

/// [`import_model`] taking the model: each initializer's stored bytes are dropped as soon as
/// it is decoded, so the encoded and the decoded weights are never all held at once.
pub(crate) fn import_model_owned(mut model: ModelProto, opts: &ImportOptions) -> Result<FGraph> {
    let mut graph = model.graph.take().ok_or(Error::NoGraph)?;
    let types = elem_types(&graph);
    let inits = std::mem::take(&mut graph.initializer)
        .into_iter()
        .map(|t| Ok((t.name.clone(), Rc::new(Tensor::from_proto(&t)?))))
        .collect::<Result<Vec<_>>>()?;
    import_decoded(&model, &graph, &inits, &types, opts)
}

/// Imports `graph` (of `model`) whose initializers are `inits`, decoded.
fn import_decoded(
    model: &ModelProto,
    graph: &GraphProto,
    inits: &[Initializer],
    types: &HashMap<String, i32>,
    opts: &ImportOptions,
) -> Result<FGraph> {
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
    let mut imp = Importer::new(opset, types);
    match imp.run(graph, inits, &outputs, opts, !opts.keep_fixed_batch) {
        Ok(()) => Ok(imp.finish()),
        // a batch fixed at 1 that cannot be the rows axis: the model as declared
        Err(e) if imp.g.batch == BatchAxis::FixedOneAsRows => {
            let mut imp = Importer::new(opset, types);
            imp.run(graph, inits, &outputs, opts, false)?;
            imp.g.batch = BatchAxis::FixedOne(e.to_string());
            Ok(imp.finish())
        }
        Err(e) => Err(e),
    }
}

/// The import state: the graph built so far and what each ONNX tensor name is bound to.
pub(crate) struct Importer {
    /// The graph being built.
    pub(crate) g: FGraph,
    env: HashMap<String, Sym>,
    /// Element kind of each value.
    pub(crate) kinds: Vec<Kind>,
    /// Node index (in `g.nodes`) producing each value.
    pub(crate) producer: Vec<Option<usize>>,
    /// Materialized constants, keyed by ONNX tensor name.
    const_ids: HashMap<String, ConstId>,
    /// Consumers (among needed nodes) plus kept-output uses of each tensor name.
    pub(crate) uses: HashMap<String, usize>,
    /// The model's `ai.onnx` opset.
    pub(crate) opset: i64,
    /// Elements of derived constants (folded or rewritten) created so far.
    derived: usize,
    /// Limit on `derived`, so that no model makes the importer allocate without bound.
    budget: usize,
    /// `ai.onnx.ml` `Scaler` outputs: the value scaled, `offset` and `scale` per feature.
    pub(crate) scaled: HashMap<ValueId, crate::lower::Scaled>,
    /// Names whose every use is a `Softmax`, with its axes (`lower::softmax_fed`).
    pub(crate) softmax_fed: HashMap<String, Vec<i64>>,
    /// The ONNX element type of each constant held as an initializer or `Constant` node, by
    /// name (a zero point's type sets a quantized tensor's range).
    pub(crate) elem_types: HashMap<String, i32>,
    /// Names inside onnxruntime's dynamic quantization pattern, not bound to a tensor
    /// (`lower/prequant_dyn.rs`).
    pub(crate) dynq: HashMap<String, crate::lower::Dyn>,
    /// Values that stand for a quantized tensor of the model: each is the tensor's real
    /// value `(q - zero_point) · scale` (`lower/prequant.rs`).
    pub(crate) qtags: HashMap<ValueId, crate::lower::QParams>,
}

/// The names the subgraphs of `node` (an `If`'s branches) read, at any depth: the inputs of
/// their nodes (names they define themselves included; those have no producer outside).
fn subgraph_reads(node: &NodeProto) -> Vec<&str> {
    let mut out = Vec::new();
    for g in node.attribute.iter().filter_map(|a| a.g.as_ref()) {
        for n in &g.node {
            out.extend(n.input.iter().filter(|s| !s.is_empty()).map(String::as_str));
            out.extend(subgraph_reads(n));
        }
        out.extend(g.output.iter().map(|o| o.name.as_str()));
    }
    out
}

pub(crate) fn dims_numel(dims: &[Dim]) -> Option<usize> {
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
pub(crate) fn broadcast_dims(a: &[Dim], b: &[Dim]) -> Option<Vec<Dim>> {
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

/// `dims` at one row: the batch dimension as 1.
pub(crate) fn row_dims(dims: &[Dim]) -> Vec<usize> {
    dims.iter()
        .map(|d| match d {
            Dim::Fixed(n) => *n,
            Dim::Batch => 1,
        })
        .collect()
}

pub(crate) fn fixed(dims: &[usize]) -> Vec<Dim> {
    dims.iter().map(|&d| Dim::Fixed(d)).collect()
}

impl Importer {
    fn new(opset: i64, types: &HashMap<String, i32>) -> Self {
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
            scaled: HashMap::new(),
            softmax_fed: HashMap::new(),
            elem_types: types.clone(),
            dynq: HashMap::new(),
            qtags: HashMap::new(),
        }
    }

    pub(crate) fn define(&mut self, name: &str, sym: Sym) -> Result<()> {
        if self.env.insert(name.to_owned(), sym).is_some() {
            return Err(Error::Redefined {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Records [`ImportOptions::input_ranges`] on the kept float graph inputs.
    fn declare_input_ranges(&mut self, opts: &ImportOptions) -> Result<()> {
        for (name, &(lo, hi)) in &opts.input_ranges {
            let float_inputs = || {
                let g = &self.g;
                let names: Vec<&str> = g
                    .inputs
                    .iter()
                    .filter(|&&v| g.values[v].integer.is_none())
                    .map(|&v| g.values[v].name.as_str())
                    .collect();
                names.join(", ")
            };
            let err = |reason: &str| Error::InputRange {
                name: name.clone(),
                reason: reason.to_owned(),
                inputs: float_inputs(),
            };
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(err("not a finite range with lo < hi"));
            }
            let v = self
                .g
                .inputs
                .iter()
                .copied()
                .find(|&v| &self.g.values[v].name == name && self.g.values[v].integer.is_none())
                .ok_or_else(|| err("not a kept float graph input"))?;
            if let Some(info) = self.g.values.get_mut(v) {
                info.declared_range = Some((lo, hi));
            }
        }
        Ok(())
    }

    fn add_value(&mut self, name: &str, shape: Vec<Dim>, kind: Kind) -> ValueId {
        self.g.values.push(ValueInfo {
            name: name.to_owned(),
            shape,
            imputation: None,
            integer: None,
            grid: None,
            declared_range: None,
        });
        self.kinds.push(kind);
        self.producer.push(None);
        self.g.values.len() - 1
    }

    fn run(
        &mut self,
        graph: &GraphProto,
        inits: &[Initializer],
        outputs: &[String],
        opts: &ImportOptions,
        promote: bool,
    ) -> Result<()> {
        // Initializers.
        for (name, tensor) in inits {
            self.budget = self.budget.saturating_add(tensor.len().saturating_mul(4));
            self.define(name, Sym::Const(Rc::clone(tensor)))?;
        }
        // Graph inputs bound to constants (over an initializer's default value).
        for (name, values) in &opts.consts {
            let vi = graph
                .input
                .iter()
                .find(|i| &i.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
                    Error::ConstName {
                        name: name.clone(),
                        inputs: names.join(", "),
                    }
                })?;
            let t = crate::shapes::bound_const(vi, values)?;
            self.env.insert(name.clone(), Sym::Const(Rc::new(t)));
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
                // an `If` branch reads names of the enclosing graph
                stack.extend(subgraph_reads(node));
            }
        }
        for (node, _) in graph.node.iter().zip(&needed).filter(|(_, n)| **n) {
            for i in node.input.iter().filter(|s| !s.is_empty()) {
                *self.uses.entry(i.clone()).or_default() += 1;
            }
            for i in subgraph_reads(node) {
                *self.uses.entry(i.to_owned()).or_default() += 1;
            }
        }
        for o in outputs {
            *self.uses.entry(o.clone()).or_default() += 1;
        }
        self.softmax_fed = crate::lower::softmax_fed(graph, &needed, outputs, self.opset);
        // Graph inputs (initializers listed as inputs are constants, not inputs).
        let kept: Vec<&crate::proto::ValueInfoProto> = graph
            .input
            .iter()
            .filter(|vi| !self.env.contains_key(&vi.name) && seen.contains(vi.name.as_str()))
            .collect();
        let all: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
        let (shapes, batch) = crate::shapes::input_shapes(&kept, &all, opts, promote)?;
        self.g.batch = batch;
        for (vi, shape) in kept.into_iter().zip(shapes) {
            let v = self.add_value(&vi.name, shape, Kind::Float);
            if let Some(info) = self.g.values.get_mut(v) {
                info.integer = crate::shapes::input_integer_range(vi);
            }
            self.g.inputs.push(v);
            self.define(&vi.name, Sym::Value(v))?;
        }
        self.declare_input_ranges(opts)?;
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
                None if self.dynq.contains_key(o) => return Err(self.dyn_output(o)),
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

    /// Drops nodes no graph output depends on (a lowering that reads past a pattern, such as
    /// the magnitude of a pair, leaves the pattern's nodes behind), then constants and values
    /// nothing refers to, renumbering ids.
    fn finish(mut self) -> FGraph {
        crate::prune::drop_dead_nodes(&mut self.g);
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

    pub(crate) fn sym(&self, ctx: &Ctx<'_>, i: usize) -> Result<Sym> {
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

    /// What the tensor `name` is bound to, if anything.
    pub(crate) fn lookup(&self, name: &str) -> Option<Sym> {
        self.env.get(name).cloned()
    }

    pub(crate) fn opt_sym(&self, ctx: &Ctx<'_>, i: usize) -> Result<Option<Sym>> {
        match ctx.input(i) {
            None => Ok(None),
            Some(_) => self.sym(ctx, i).map(Some),
        }
    }

    pub(crate) fn const_in(&self, ctx: &Ctx<'_>, i: usize) -> Result<Rc<Tensor>> {
        match self.sym(ctx, i)? {
            Sym::Const(t) => Ok(t),
            Sym::Value(_) => {
                Err(ctx.bad_input(i, "must be a constant (initializer or Constant node)"))
            }
        }
    }

    pub(crate) fn opt_const_in(&self, ctx: &Ctx<'_>, i: usize) -> Result<Option<Rc<Tensor>>> {
        match ctx.input(i) {
            None => Ok(None),
            Some(_) => self.const_in(ctx, i).map(Some),
        }
    }

    /// A float dynamic value.
    pub(crate) fn value_in(&self, ctx: &Ctx<'_>, i: usize) -> Result<ValueId> {
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

    pub(crate) fn shape(&self, v: ValueId) -> Vec<Dim> {
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
    pub(crate) fn const_operand(&mut self, ctx: &Ctx<'_>, i: usize, t: &Tensor) -> Result<ConstId> {
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

    pub(crate) fn new_const(
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

    pub(crate) fn emit(
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

    pub(crate) fn emit_named(
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
    pub(crate) fn emit_tmp(
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

    pub(crate) fn set_out(&mut self, ctx: &Ctx<'_>, i: usize, sym: Sym) -> Result<()> {
        match ctx.output(i) {
            Some(o) => self.define(o, sym),
            None => Ok(()),
        }
    }

    /// How many more derived constant elements the budget allows (a lowering that would
    /// allocate more refuses first).
    pub(crate) fn derived_room(&self) -> usize {
        self.budget.saturating_sub(self.derived)
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

    pub(crate) fn out_const(&mut self, ctx: &Ctx<'_>, t: Tensor) -> Result<()> {
        self.derived = self.derived.saturating_add(t.len());
        self.check_budget(ctx)?;
        self.set_out(ctx, 0, Sym::Const(Rc::new(t)))
    }

    /// Whether value `v` (bound to ONNX name `name`) is only consumed by the current node.
    pub(crate) fn single_use(&self, name: &str) -> bool {
        self.uses.get(name).copied() == Some(1)
    }

    /// Lowers the nodes of a subgraph (an `If` branch) into this graph, in the enclosing
    /// scope, and returns what its outputs are bound to.
    pub(crate) fn lower_subgraph(&mut self, ctx: &Ctx<'_>, graph: &GraphProto) -> Result<Vec<Sym>> {
        for t in &graph.initializer {
            let tensor = Tensor::from_proto(t)?;
            self.define(&t.name, Sym::Const(Rc::new(tensor)))?;
        }
        for (idx, node) in graph.node.iter().enumerate() {
            let name = if node.name.is_empty() {
                format!("{}/{}#{idx}", ctx.name, node.op_type)
            } else {
                node.name.clone()
            };
            let inner = Ctx {
                node,
                name,
                op: node.op_type.as_str(),
            };
            self.lower(&inner)?;
        }
        graph
            .output
            .iter()
            .map(|o| {
                self.env.get(&o.name).cloned().ok_or_else(|| {
                    ctx.shape_err(format!(
                        "the branch's output `{}` is never computed",
                        o.name
                    ))
                })
            })
            .collect()
    }

    /// Renames the value `v` to the current node's output and binds it.
    pub(crate) fn rebind(&mut self, ctx: &Ctx<'_>, v: ValueId) -> Result<()> {
        if let (Some(o), Some(info)) = (ctx.output(0), self.g.values.get_mut(v)) {
            info.name = o.to_owned();
        }
        self.set_out(ctx, 0, Sym::Value(v))
    }
}
