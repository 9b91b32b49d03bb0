//! Where an ONNX model's import error comes from ([`vouch_quant::explain`]): imports MODEL
//! with the calibration rows CAL (the symbolic axes sized by them), runs the float reference
//! and the traced integer engine on ROWS (default: CAL) and prints the nodes that add the
//! most relative error, the nodes whose float values pass their integer range, and the
//! output error rounding the `Conv`/`Linear` weights alone causes, per tensor (as imported)
//! and per output channel. `vouch model import --explain-error` prints the same.
//!
//! `cargo run -q -p vouch-quant --example explain_error -- MODEL.onnx CAL.json [ROWS.json]
//! [--bits 8|16] [--top N]`
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use vouch_quant::Precision;
use vouch_quant::explain::{NodeError, WeightGrid, explain, weight_error};

fn read_json(p: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect(p)).expect(p)
}

fn print(title: &str, es: &[NodeError]) {
    println!("{title}");
    println!(
        "{:<48} {:<16} {:>6} {:>10} {:>10} {:>9} {:>12} {:>8}",
        "node", "op", "kind", "rel err", "added", "clipped", "max|float|", "steps"
    );
    for e in es {
        println!(
            "{:<48} {:<16} {:>6} {:>9.4}% {:>+9.4}% {:>8.4}% {:>12.4} {:>8.0}",
            e.node,
            e.op,
            format!("{:?}", e.kind),
            100.0 * e.rel_error,
            100.0 * e.jump(),
            100.0 * e.clipped,
            e.max_abs_float,
            e.steps
        );
    }
}

fn main() {
    let mut pos = Vec::new();
    let (mut bits, mut top) = (16u32, 20usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bits" => bits = args.next().and_then(|v| v.parse().ok()).expect("--bits N"),
            "--top" => top = args.next().and_then(|v| v.parse().ok()).expect("--top N"),
            _ => pos.push(a),
        }
    }
    let [model, cal, rest @ ..] = pos.as_slice() else {
        eprintln!("usage: explain_error MODEL.onnx CAL.json [ROWS.json] [--bits 8|16] [--top N]");
        std::process::exit(2);
    };
    let precision = Precision::from_bits(bits).expect("--bits 8 or 16");
    let onnx = std::fs::read(model).expect(model);
    let cal_json = read_json(cal);
    let opts = vouch_onnx::ImportOptions {
        sample_shapes: vouch_quant::sample_shapes(&cal_json),
        ..Default::default()
    };
    let g = vouch_onnx::import(&onnx, &opts).unwrap();
    let samples = vouch_quant::calibration_from_json(&g, &cal_json).unwrap();
    let rows = match rest.first() {
        Some(f) => vouch_quant::calibration_from_json(&g, &read_json(f)).unwrap(),
        None => samples.clone(),
    };
    let pkg = vouch_quant::import_at(&g, samples, "model", [0; 32], precision, |_| {}).unwrap();
    let all = explain(&g, &pkg, &rows).unwrap();
    let lim = precision.lim();
    let t = weight_error(&g, &rows, lim, WeightGrid::PerTensor).unwrap();
    let c = weight_error(&g, &rows, lim, WeightGrid::PerChannel).unwrap();
    println!("{} node outputs compared", all.len());
    for ((&o, t), c) in g.outputs.iter().zip(&t).zip(&c) {
        let name = &g.values[o].name;
        let total = all
            .iter()
            .find(|e| &e.value == name)
            .map_or(f64::NAN, |e| e.rel_error);
        println!(
            "output {name}: rel error {:.4}%; weights alone: per tensor {:.4}%, per channel {:.4}%",
            100.0 * total,
            100.0 * t,
            100.0 * c
        );
    }
    let mut ranked = all.clone();
    ranked.sort_by(|a, b| b.jump().total_cmp(&a.jump()));
    ranked.truncate(top);
    print("nodes adding the most error:", &ranked);
    let mut clipping: Vec<NodeError> = all.iter().filter(|e| e.clipped > 0.0).cloned().collect();
    clipping.sort_by(|a, b| b.clipped.total_cmp(&a.clipped));
    clipping.truncate(top);
    print(
        "nodes whose float values pass their integer range:",
        &clipping,
    );
    if std::env::var_os("EXPLAIN_ALL").is_some() {
        print("every node, in order:", &all);
    }
}
