//! Where a package's error comes from: the float reference and the integer engine run on the
//! same rows, and every float node's output is compared with the integer value the importer
//! bound to it, dequantized. A node whose relative error is much larger than its inputs' is
//! where precision is lost (a coarse table, a clipped range, a rescaling); a node whose
//! float values pass its integer range clips (`clipped`). [`weight_error`] measures the share
//! of the error that rounding the `Conv`/`Linear` weights alone causes, per tensor (what the
//! importer does) or per output channel. `vouch model import --explain-error` prints both.

use crate::{FTensor, Result, float};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Kind, Package};
use vouch_onnx::graph::{FGraph, FOp, Operand};

/// The error of one float node's output against its integer value.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeError {
    /// The float node's name (the ONNX node, or the importer's name for a lowered part).
    pub node: String,
    /// The float op, short (`Conv`, `Map(HardSwish)`, ...).
    pub op: String,
    /// The output value's name.
    pub value: String,
    /// The integer kind the value is held in.
    pub kind: Kind,
    /// The largest float magnitude over the rows.
    pub max_abs_float: f64,
    /// `max |dequantized - float| / max |float|` over the rows (0 when the float is all 0).
    pub rel_error: f64,
    /// The largest `rel_error` among the node's dynamic inputs that have an integer value.
    pub input_rel_error: f64,
    /// The share of the elements whose float value lies beyond the integer kind's range at
    /// the value's scale (they saturate).
    pub clipped: f64,
    /// `max |float| / scale`: how many integer steps the float range spans.
    pub steps: f64,
}

impl NodeError {
    /// How much error the node adds: `rel_error - input_rel_error`.
    pub fn jump(&self) -> f64 {
        self.rel_error - self.input_rel_error
    }
}

/// The short name of a float op: its variant, and the function of a `Map`.
fn op_name(op: &FOp) -> String {
    match op {
        FOp::Map { f } => {
            let d = format!("{f:?}");
            let end = d.find([' ', '(', '{']).unwrap_or(d.len());
            format!("Map({})", &d[..end])
        }
        _ => {
            let d = format!("{op:?}");
            let end = d.find([' ', '(', '{']).unwrap_or(d.len());
            d[..end].to_owned()
        }
    }
}

/// `max |a - b| / max |b|` (0 when `b` is all 0).
fn relative(a: &[f64], b: &[f64]) -> f64 {
    let (err, top) = a.iter().zip(b).fold((0f64, 0f64), |(e, t), (&x, &y)| {
        (e.max((x - y).abs()), t.max(y.abs()))
    });
    if top > 0.0 { err / top } else { 0.0 }
}

/// Runs the float reference and the integer engine on `inputs` (one tensor per graph input,
/// rows first) and returns the error of every float node whose output has an integer value of
/// the same name and element count, in node order (values fused away, such as a `Conv`'s
/// output read only by its fused `Relu`, or lowered to a different layout are left out).
pub fn explain(graph: &FGraph, pkg: &Package, inputs: &[FTensor]) -> Result<Vec<NodeError>> {
    let floats = float::run(graph, inputs.to_vec())?;
    let engine = Engine::new(
        pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )?;
    let q = crate::quantize_inputs(pkg, inputs);
    let exec = engine.run(q.clone())?;
    // integer tensors by value id: the quantized inputs and every node's output
    let mut ints: Vec<Option<&Tensor>> = vec![None; pkg.values.len()];
    for (spec, t) in pkg.inputs.iter().zip(&q) {
        if let Some(slot) = ints.get_mut(spec.value as usize) {
            *slot = Some(t);
        }
    }
    for (node, t) in pkg.nodes.iter().zip(&exec.trace) {
        if let Some(slot) = ints.get_mut(node.output as usize) {
            *slot = Some(t);
        }
    }
    // the last integer value named as each float value (the importer binds a float value's
    // name to the integer value that holds it; inserted values are named `<node>/<what>`)
    let by_name: std::collections::BTreeMap<&str, usize> = pkg
        .values
        .iter()
        .enumerate()
        .filter(|(i, _)| ints[*i].is_some())
        .map(|(i, v)| (v.name.as_str(), i))
        .collect();
    let mut rel: Vec<Option<f64>> = vec![None; graph.values.len()];
    let measure = |v: usize| -> Option<(usize, Vec<f64>)> {
        let id = *by_name.get(graph.values[v].name.as_str())?;
        let info = &pkg.values[id];
        let t = ints[id]?;
        if info.kind == Kind::Index || t.data.len() != floats[v].data.len() {
            return None;
        }
        Some((
            id,
            t.data.iter().map(|&x| f64::from(x) * info.scale).collect(),
        ))
    };
    // graph inputs as given (the quantized inputs are not moved); node outputs as the trace
    // lays several rows out (each row's block first where the batch axis is not)
    for &v in &graph.inputs {
        if let Some((_, deq)) = measure(v) {
            let f: Vec<f64> = floats[v].data.iter().map(|&x| f64::from(x)).collect();
            rel[v] = Some(relative(&deq, &f));
        }
    }
    let mut out = Vec::new();
    for node in &graph.nodes {
        let v = node.output;
        let Some((id, deq)) = measure(v) else {
            continue;
        };
        let f = crate::accuracy::value_rows_end_to_end(pkg, Some(id), &floats[v]);
        let r = relative(&deq, &f);
        rel[v] = Some(r);
        let info = &pkg.values[id];
        let input_rel_error = node
            .inputs
            .iter()
            .filter_map(|o| match o {
                Operand::Value(u) => rel[*u],
                Operand::Const(_) => None,
            })
            .fold(0f64, f64::max);
        let max_abs_float = f.iter().fold(0f64, |m, &y| m.max(y.abs()));
        let clipped = match info.kind.act_range() {
            Some((lo, hi)) if !f.is_empty() => {
                let n = f
                    .iter()
                    .filter(|&&y| {
                        let s = y / info.scale;
                        s > f64::from(hi) + 0.5 || s < f64::from(lo) - 0.5
                    })
                    .count();
                n as f64 / f.len() as f64
            }
            _ => 0.0,
        };
        out.push(NodeError {
            node: node.name.clone(),
            op: op_name(&node.op),
            value: graph.values[v].name.clone(),
            kind: info.kind,
            max_abs_float,
            rel_error: r,
            input_rel_error,
            clipped,
            steps: if info.scale > 0.0 {
                max_abs_float / info.scale
            } else {
                0.0
            },
        });
    }
    Ok(out)
}

/// How `Conv` and `Linear` weights are rounded in [`weight_error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightGrid {
    /// One scale per weight tensor, `max |W| / lim` (what the importer does).
    PerTensor,
    /// One scale per output channel (the first axis), `max |W[c]| / lim`.
    PerChannel,
}

/// The float model with only its `Conv` and `Linear` weights rounded to `lim` steps on `grid`
/// (everything else in `f32`), run on `inputs`: the largest relative error of each graph
/// output against the unrounded model (`max |a - b| / max |b|`), in output order.
pub fn weight_error(
    graph: &FGraph,
    inputs: &[FTensor],
    lim: i32,
    grid: WeightGrid,
) -> Result<Vec<f64>> {
    let reference = float::run(graph, inputs.to_vec())?;
    let mut g = graph.clone();
    let mut done = vec![false; g.consts.len()];
    for node in &graph.nodes {
        let c = match node.op {
            FOp::Conv { weight, .. } | FOp::Linear { weight, .. } => weight,
            _ => continue,
        };
        if std::mem::replace(&mut done[c], true) {
            continue;
        }
        let w = &mut g.consts[c];
        let rows = w.shape.first().copied().unwrap_or(1).max(1);
        let per = match grid {
            WeightGrid::PerTensor => w.data.len(),
            WeightGrid::PerChannel => w.data.len() / rows,
        }
        .max(1);
        for chunk in w.data.chunks_mut(per) {
            let top = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
            if top > 0.0 {
                let s = f64::from(top) / f64::from(lim);
                for v in chunk.iter_mut() {
                    *v = ((f64::from(*v) / s).round() * s) as f32;
                }
            }
        }
    }
    let rounded = float::run(&g, inputs.to_vec())?;
    Ok(graph
        .outputs
        .iter()
        .map(|&v| {
            let wide = |t: &FTensor| -> Vec<f64> { t.data.iter().map(|&x| f64::from(x)).collect() };
            relative(&wide(&rounded[v]), &wide(&reference[v]))
        })
        .collect())
}
