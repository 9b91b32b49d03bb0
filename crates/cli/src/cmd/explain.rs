//! `vouch model import --explain-error`: where an imported package's error comes from
//! ([`vouch_quant::explain`]), as a table of the nodes that add the most relative error and the
//! share of the output error that rounding the weights alone causes.

use crate::out;
use eyre::{Result, WrapErr};
use serde_json::json;
use vouch_model::Package;
use vouch_quant::explain::{NodeError, WeightGrid};

/// The explanation of one package's error on some rows.
#[derive(Debug)]
pub struct Explained {
    rows: usize,
    nodes: usize,
    top: Vec<NodeError>,
    clipping: Vec<NodeError>,
    outputs: Vec<(String, f64, f64, f64)>,
}

/// Re-imports the float graph of `onnx` as the import did (`opts`, the calibration's sample
/// shapes), reads `rows` as its inputs and explains `pkg` on them; keeps the `top` nodes.
pub fn explain(
    onnx: &[u8],
    calibration: &serde_json::Value,
    rows: &serde_json::Value,
    mut opts: vouch_onnx::ImportOptions,
    pkg: &Package,
    precision: vouch_quant::Precision,
    top: usize,
) -> Result<Explained> {
    if opts.sample_shapes.is_empty() {
        opts.sample_shapes = vouch_quant::sample_shapes(calibration);
    }
    let graph = vouch_onnx::import(onnx, &opts).wrap_err("cannot import the ONNX model")?;
    let inputs = vouch_quant::calibration_from_json(&graph, rows)
        .wrap_err("--explain-error: bad input rows")?;
    let n_rows = inputs
        .first()
        .and_then(|t| t.shape.first())
        .copied()
        .unwrap_or(0);
    let all = vouch_quant::explain::explain(&graph, pkg, &inputs)
        .wrap_err("--explain-error: running the float model and the engine")?;
    let lim = precision.lim();
    let per_tensor =
        vouch_quant::explain::weight_error(&graph, &inputs, lim, WeightGrid::PerTensor)?;
    let per_channel =
        vouch_quant::explain::weight_error(&graph, &inputs, lim, WeightGrid::PerChannel)?;
    let by_name: std::collections::BTreeMap<&str, f64> = all
        .iter()
        .map(|e| (e.value.as_str(), e.rel_error))
        .collect();
    let outputs = graph
        .outputs
        .iter()
        .zip(per_tensor.iter().zip(&per_channel))
        .map(|(&v, (&t, &c))| {
            let name = graph.values[v].name.clone();
            let total = by_name.get(name.as_str()).copied().unwrap_or(f64::NAN);
            (name, total, t, c)
        })
        .collect();
    let mut ranked = all.clone();
    ranked.sort_by(|a, b| b.jump().total_cmp(&a.jump()));
    ranked.truncate(top);
    let mut clipping: Vec<NodeError> = all.iter().filter(|e| e.clipped > 0.0).cloned().collect();
    clipping.sort_by(|a, b| b.clipped.total_cmp(&a.clipped));
    clipping.truncate(top);
    Ok(Explained {
        rows: n_rows,
        nodes: all.len(),
        top: ranked,
        clipping,
        outputs,
    })
}

fn node_json(e: &NodeError) -> serde_json::Value {
    json!({
        "node": e.node,
        "op": e.op,
        "value": e.value,
        "kind": format!("{:?}", e.kind),
        "max_abs_float": e.max_abs_float,
        "rel_error": e.rel_error,
        "input_rel_error": e.input_rel_error,
        "jump": e.jump(),
        "clipped": e.clipped,
        "steps": e.steps,
    })
}

fn node_rows(es: &[NodeError]) -> Vec<Vec<String>> {
    es.iter()
        .map(|e| {
            vec![
                e.node.clone(),
                e.op.clone(),
                format!("{:?}", e.kind),
                format!("{:.4}%", 100.0 * e.rel_error),
                format!("{:+.4}%", 100.0 * e.jump()),
                format!("{:.4}%", 100.0 * e.clipped),
                format!("{:.3}", e.max_abs_float),
                format!("{:.0}", e.steps),
            ]
        })
        .collect()
}

const HEADER: [&str; 8] = [
    "node",
    "op",
    "kind",
    "rel error",
    "added",
    "clipped",
    "max |float|",
    "steps",
];

impl Explained {
    /// The JSON form (`--json`).
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "rows": self.rows,
            "nodes_compared": self.nodes,
            "outputs": self.outputs.iter().map(|(n, total, t, c)| json!({
                "output": n,
                "rel_error": total,
                "weights_per_tensor_rel_error": t,
                "weights_per_channel_rel_error": c,
            })).collect::<Vec<_>>(),
            "top": self.top.iter().map(node_json).collect::<Vec<_>>(),
            "clipping": self.clipping.iter().map(node_json).collect::<Vec<_>>(),
        })
    }

    /// The text form: the outputs' errors, the nodes adding the most error, the clipping ones.
    pub fn to_text(&self) -> String {
        let outs: Vec<Vec<String>> = self
            .outputs
            .iter()
            .map(|(n, total, t, c)| {
                vec![
                    n.clone(),
                    format!("{:.4}%", 100.0 * total),
                    format!("{:.4}%", 100.0 * t),
                    format!("{:.4}%", 100.0 * c),
                ]
            })
            .collect();
        let mut s = format!(
            "error explained on {} rows ({} node outputs compared; relative error = max |int - float| / max |float|):\n",
            self.rows, self.nodes
        );
        s += &out::table(
            &[
                "output",
                "rel error",
                "weights alone, per tensor",
                "weights alone, per channel",
            ],
            &outs,
        );
        s += "\nnodes adding the most error (added = its rel error less its inputs' largest):\n";
        s += &out::table(&HEADER, &node_rows(&self.top));
        if self.clipping.is_empty() {
            s += "\nno node's float values pass its integer range";
        } else {
            s += "\nnodes whose float values pass their integer range (clipped share):\n";
            s += &out::table(&HEADER, &node_rows(&self.clipping));
        }
        s
    }
}
