//! The float reference executor: runs an imported [`FGraph`] in `f32`, single-threaded, in one
//! fixed summation order, with `libm`'s platform-independent `exp`/`tanh`. It is what the
//! quantizer calibrates on and what the accuracy report compares against; it is not part of
//! the integer semantics.
//!
//! This module walks the graph and dispatches each node to the module of its op's family
//! ([`FOp::family`]), which computes the output data:
//!
//! | module | ops |
//! |---|---|
//! | `dense` | `Linear`, `MatMul` |
//! | `conv` | `Conv` |
//! | `elementwise` | `Add`, `Sub`, `Mul`, `Max`, `Min`, `Logic` (comparisons and logic ops), `Where` |
//! | `activation` | `Relu`, `Clip`, `LeakyRelu`, `PRelu`, `Sigmoid`, `Tanh` |
//! | `reduce` | `Softmax`, `SoftmaxZero` (onnxruntime's), `ArgMax`, `Reduce` (sum, mean, max, min) |
//! | `pool` | `MaxPool`, `AveragePool`, `GlobalAveragePool` |
//! | `layout` | `Reshape`, `Transpose`, `Concat`, `Pad`, `Select`, `Gather` |
//! | `tree` | `TreeEnsemble` |

mod activation;
mod conv;
mod dense;
mod elementwise;
mod layout;
mod pool;
mod reduce;
pub(crate) mod tree;

use crate::{Error, Result};
use std::borrow::Cow;
use vouch_engine::tensor::numel;
use vouch_onnx::graph::{Dim, FConst, FGraph, FNode, FOp, Operand};

pub use vouch_task::codec::FTensor;

/// Resolves a symbolic shape for `batch`.
pub fn resolve(shape: &[Dim], batch: usize) -> Vec<usize> {
    shape
        .iter()
        .map(|d| if let Dim::Fixed(n) = d { *n } else { batch })
        .collect()
}

/// The number of rows `inputs` hold for a graph that fixes axis 0 of every input at 1 and has
/// no batch dimension (`torch.onnx.export` without `dynamic_axes`, read as one row per
/// execution): the common size of the inputs' axis 0 when it is above 1, else `None`.
fn one_by_one_rows(g: &FGraph, inputs: &[FTensor]) -> Option<usize> {
    let fixed_one = !g.inputs.is_empty()
        && g.inputs.iter().all(|&v| {
            let shape = &g.values[v].shape;
            shape.first() == Some(&Dim::Fixed(1)) && !shape.contains(&Dim::Batch)
        });
    let rows = inputs.first()?.shape.first().copied()?;
    (fixed_one
        && rows > 1
        && inputs.len() == g.inputs.len()
        && inputs.iter().all(|t| t.shape.first() == Some(&rows)))
    .then_some(rows)
}

/// Row `r` of `rows` of a tensor, axis 0 holding the rows.
fn row_of(t: &FTensor, rows: usize, r: usize) -> FTensor {
    let per = t.data.len() / rows.max(1);
    let mut shape = t.shape.clone();
    if let Some(d) = shape.first_mut() {
        *d = 1;
    }
    FTensor {
        shape,
        data: t
            .data
            .get(r * per..(r + 1) * per)
            .unwrap_or_default()
            .to_vec(),
    }
}

/// Runs the graph; returns every value (inputs and node outputs), indexed by value id.
///
/// A graph that fixes axis 0 of every input at 1 runs inputs of `R > 1` rows one row at a
/// time, as the engine does (`docs/semantics.md` section 8.5): every value is then its `R`
/// rows' values end to end, its axis 0 multiplied by `R` (a scalar gets an axis of `R`).
pub fn run(g: &FGraph, inputs: Vec<FTensor>) -> Result<Vec<FTensor>> {
    let Some(rows) = one_by_one_rows(g, &inputs) else {
        return run_once(g, inputs);
    };
    let mut all: Vec<FTensor> = Vec::new();
    for r in 0..rows {
        let vals = run_once(g, inputs.iter().map(|t| row_of(t, rows, r)).collect())?;
        if all.is_empty() {
            all = vals;
        } else {
            for (a, b) in all.iter_mut().zip(vals) {
                a.data.extend(b.data);
            }
        }
    }
    for t in all.iter_mut().filter(|t| !t.data.is_empty()) {
        match t.shape.first_mut() {
            Some(d) => *d = d.saturating_mul(rows),
            None => t.shape.push(rows),
        }
    }
    Ok(all)
}

/// What calibration keeps of a float run ([`calibrate`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Calibration {
    /// The largest magnitude of every value, indexed by value id (`0` for a value not computed).
    pub ranges: Vec<f32>,
    /// The graph inputs' values (imputation applied), in [`FGraph::inputs`] order.
    pub inputs: Vec<FTensor>,
    /// The graph outputs' values, in [`FGraph::outputs`] order.
    pub outputs: Vec<FTensor>,
}

/// Runs the graph as [`run`] does but keeps only what calibration reads: every value's range
/// and the graph inputs' and outputs' values. Each other value is dropped after the last node
/// that reads it, so at most the values live at one point of the graph are held (a deep
/// network's activations are not all kept at once).
pub fn calibrate(g: &FGraph, inputs: Vec<FTensor>) -> Result<Calibration> {
    let mut keep = vec![false; g.values.len()];
    for &v in g.inputs.iter().chain(&g.outputs) {
        if let Some(k) = keep.get_mut(v) {
            *k = true;
        }
    }
    let (ranges, mut kept) = match one_by_one_rows(g, &inputs) {
        None => run_streaming(g, inputs, &keep)?,
        Some(rows) => {
            let (mut ranges, mut all) = (Vec::new(), Vec::new());
            for r in 0..rows {
                let row = inputs.iter().map(|t| row_of(t, rows, r)).collect();
                let (rr, vals) = run_streaming(g, row, &keep)?;
                if r == 0 {
                    (ranges, all) = (rr, vals);
                    continue;
                }
                for (m, x) in ranges.iter_mut().zip(rr) {
                    *m = m.max(x);
                }
                for (a, b) in all.iter_mut().zip(vals) {
                    a.data.extend(b.data);
                }
            }
            for t in all.iter_mut().filter(|t| !t.data.is_empty()) {
                match t.shape.first_mut() {
                    Some(d) => *d = d.saturating_mul(rows),
                    None => t.shape.push(rows),
                }
            }
            (ranges, all)
        }
    };
    // each kept value moves to its last place in inputs then outputs; earlier places copy it
    let places: Vec<usize> = g.inputs.iter().chain(&g.outputs).copied().collect();
    let mut out: Vec<FTensor> = places
        .iter()
        .enumerate()
        .map(|(p, &v)| {
            let slot = kept.get_mut(v);
            match slot {
                Some(t) if places[p + 1..].contains(&v) => t.clone(),
                Some(t) => std::mem::take(t),
                None => FTensor::default(),
            }
        })
        .collect();
    let outputs = out.split_off(g.inputs.len());
    let inputs = out;
    Ok(Calibration {
        ranges,
        inputs,
        outputs,
    })
}

/// The largest magnitude of `t`'s elements.
fn range_of(t: &FTensor) -> f32 {
    t.data.iter().fold(0f32, |m, v| m.max(v.abs()))
}

/// One run of [`calibrate`]: every value's range, and the values `keep` marks (the others
/// empty), indexed by value id.
fn run_streaming(
    g: &FGraph,
    inputs: Vec<FTensor>,
    keep: &[bool],
) -> Result<(Vec<f32>, Vec<FTensor>)> {
    // the last node reading each value
    let mut last = vec![None; g.values.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        for o in &n.inputs {
            if let Operand::Value(v) = *o
                && let Some(l) = last.get_mut(v)
            {
                *l = Some(i);
            }
        }
    }
    let kept = |v: usize| keep.get(v).copied().unwrap_or(false);
    let mut ranges = vec![0f32; g.values.len()];
    let batch = batch_of(g, &inputs);
    let mut vals = input_values(g, inputs, batch)?;
    for &v in &g.inputs {
        if let Some(Some(t)) = vals.get(v) {
            ranges[v] = range_of(t);
        }
    }
    for (i, node) in g.nodes.iter().enumerate() {
        let out_shape = resolve(&g.values[node.output].shape, batch);
        let out = run_node(g, node, &vals, out_shape)?;
        ranges[node.output] = range_of(&out);
        vals[node.output] = Some(out);
        // drop what no later node reads (the output too, when nothing reads it)
        let read = node.inputs.iter().filter_map(|o| match *o {
            Operand::Value(v) => Some(v),
            Operand::Const(_) => None,
        });
        for v in read.chain([node.output]) {
            if !kept(v)
                && last.get(v).copied().flatten().is_none_or(|l| l <= i)
                && let Some(slot) = vals.get_mut(v)
            {
                *slot = None;
            }
        }
    }
    Ok((
        ranges,
        vals.into_iter().map(Option::unwrap_or_default).collect(),
    ))
}

/// The batch size `inputs` give the graph's batch axis (1 without one).
fn batch_of(g: &FGraph, inputs: &[FTensor]) -> usize {
    inputs
        .iter()
        .zip(&g.inputs)
        .find_map(|(t, &v)| {
            g.values[v]
                .shape
                .iter()
                .position(|d| *d == Dim::Batch)
                .and_then(|i| t.shape.get(i).copied())
        })
        .unwrap_or(1)
}

fn run_once(g: &FGraph, inputs: Vec<FTensor>) -> Result<Vec<FTensor>> {
    let batch = batch_of(g, &inputs);
    let mut vals = input_values(g, inputs, batch)?;
    for node in &g.nodes {
        let out_shape = resolve(&g.values[node.output].shape, batch);
        let out = run_node(g, node, &vals, out_shape)?;
        vals[node.output] = Some(out);
    }
    Ok(vals.into_iter().map(Option::unwrap_or_default).collect())
}

/// The value slots of a run with the graph inputs set (imputation applied, shapes checked).
fn input_values(g: &FGraph, inputs: Vec<FTensor>, batch: usize) -> Result<Vec<Option<FTensor>>> {
    let mut vals: Vec<Option<FTensor>> = vec![None; g.values.len()];
    for (mut t, &v) in inputs.into_iter().zip(&g.inputs) {
        if let Some(imp) = &g.values[v].imputation {
            imp.apply_all(&mut t.data);
        }
        let want = resolve(&g.values[v].shape, batch);
        if t.shape != want {
            return Err(Error::Input {
                name: g.values[v].name.clone(),
                reason: format!("shape {:?}, the model expects {want:?}", t.shape),
            });
        }
        vals[v] = Some(t);
    }
    Ok(vals)
}

fn node_err(node: &FNode, reason: impl Into<String>) -> Error {
    Error::Node {
        node: node.name.clone(),
        reason: reason.into(),
    }
}

/// What a family function reads to compute one node: the graph (for constants), the node,
/// its evaluated operands and its output shape. It returns the output data, row-major in
/// `out_shape`.
struct Cx<'a> {
    g: &'a FGraph,
    node: &'a FNode,
    /// The operands, in ONNX order.
    ins: &'a [Cow<'a, FTensor>],
    /// The first operand.
    x: &'a FTensor,
    /// The output shape at the run's batch size.
    out_shape: &'a [usize],
    /// The number of output elements.
    total: usize,
}

impl Cx<'_> {
    /// Constant `c` of the graph.
    fn konst(&self, c: usize) -> &FConst {
        &self.g.consts[c]
    }

    /// An error about this node.
    fn err(&self, reason: impl Into<String>) -> Error {
        node_err(self.node, reason)
    }
}

fn run_node(
    g: &FGraph,
    node: &FNode,
    vals: &[Option<FTensor>],
    out_shape: Vec<usize>,
) -> Result<FTensor> {
    // computed operands are borrowed; a constant operand (an `Add` bias, a `MatMul` factor)
    // is copied into a tensor (`Linear`/`Conv` weights are read in place, by id)
    let get = |o: &Operand| -> Result<Cow<'_, FTensor>> {
        match *o {
            Operand::Value(v) => vals
                .get(v)
                .and_then(Option::as_ref)
                .map(Cow::Borrowed)
                .ok_or_else(|| node_err(node, format!("value {v} missing"))),
            Operand::Const(c) => g
                .consts
                .get(c)
                .map(|c| {
                    Cow::Owned(FTensor {
                        shape: c.shape.clone(),
                        data: c.data.clone(),
                    })
                })
                .ok_or_else(|| node_err(node, format!("constant {c} missing"))),
        }
    };
    let ins = node.inputs.iter().map(get).collect::<Result<Vec<_>>>()?;
    let x: &FTensor = ins.first().ok_or_else(|| node_err(node, "no inputs"))?;
    let total = numel(&out_shape).unwrap_or(0);
    let cx = Cx {
        g,
        node,
        ins: &ins,
        x,
        out_shape: &out_shape,
        total,
    };
    let data = match &node.op {
        FOp::Linear { weight, bias } => dense::linear(&cx, *weight, *bias),
        FOp::MatMul => dense::matmul(&cx),
        FOp::Conv {
            weight,
            bias,
            kernel,
            strides,
            pads,
            dilations,
            group,
        } => conv::conv(
            &cx, *weight, *bias, *kernel, *strides, *pads, *dilations, *group,
        ),
        FOp::Add => elementwise::add(&cx),
        FOp::Sub => elementwise::sub(&cx),
        FOp::Mul => elementwise::mul(&cx),
        FOp::Relu => activation::relu(&cx),
        FOp::Clip { min, max } => activation::clip(&cx, *min, *max),
        FOp::LeakyRelu { alpha } => activation::leaky_relu(&cx, *alpha),
        FOp::Sigmoid => activation::sigmoid(&cx),
        FOp::Tanh => activation::tanh(&cx),
        FOp::Map { f, .. } => activation::map(&cx, *f),
        FOp::Softmax { axis } => reduce::softmax(&cx, *axis),
        FOp::SoftmaxZero { axis } => reduce::softmax_zero(&cx, *axis),
        FOp::ArgMax {
            axis,
            select_last_index,
            ..
        } => reduce::argmax(&cx, *axis, *select_last_index),
        FOp::MaxPool {
            kernel,
            strides,
            pads,
            dilations,
            ..
        } => pool::max_pool(&cx, *kernel, *strides, *pads, *dilations),
        FOp::AveragePool {
            kernel,
            strides,
            pads,
            count_include_pad,
            ..
        } => pool::average_pool(&cx, *kernel, *strides, *pads, *count_include_pad),
        FOp::GlobalAveragePool => pool::global_average_pool(&cx),
        FOp::Reshape => layout::reshape(&cx),
        FOp::Transpose { perm } => layout::transpose(&cx, perm),
        FOp::Concat { axis } => layout::concat(&cx, *axis),
        FOp::Pad { mode, pads, value } => layout::pad(&cx, *mode, pads, *value),
        FOp::Select { maps } => layout::select(&cx, maps),
        FOp::Gather { axis } => layout::gather(&cx, *axis),
        FOp::Reduce { mode, axes, .. } => reduce::reduce(&cx, *mode, axes),
        FOp::Max => elementwise::max(&cx),
        FOp::Min => elementwise::min(&cx),
        FOp::PRelu => activation::prelu(&cx),
        FOp::TreeEnsemble(t) => tree::tree_ensemble(&cx, t),
        FOp::Logic { op } => elementwise::logic(&cx, *op),
        FOp::Where => elementwise::select_where(&cx),
    }?;
    let out = FTensor {
        shape: out_shape,
        data,
    };
    if out.data.len() != total {
        return Err(node_err(
            node,
            format!(
                "computed {} elements for shape {:?}",
                out.data.len(),
                out.shape
            ),
        ));
    }
    Ok(out)
}

/// The `(n, c, h, w)` of an NCHW shape; a rank-3 `[n, c, w]` has `h = 1`.
fn nchw(s: &[usize]) -> Option<(usize, usize, usize, usize)> {
    match *s {
        [n, c, h, w] => Some((n, c, h, w)),
        [n, c, w] => Some((n, c, 1, w)),
        _ => None,
    }
}

/// The input position of output position `o` at kernel tap `t`, or `None` in the padding.
fn pos(o: usize, t: usize, stride: usize, dil: usize, pad: usize, size: usize) -> Option<usize> {
    let p = (o * stride + t * dil).checked_sub(pad)?;
    (p < size).then_some(p)
}
