//! `vouch infer`: run a package on JSON inputs.

use crate::io;
use crate::out;
use clap::Args;
use eyre::{Result, WrapErr};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::path::PathBuf;
use vouch_engine::{Engine, Execution, Options};
use vouch_model::Package;
use vouch_primitives::hex0x;

/// `vouch infer`
#[derive(Debug, Args)]
pub struct InferArgs {
    /// The package file.
    #[arg(long, short = 'm')]
    pub model: PathBuf,
    /// Inputs: a JSON object mapping each input name to a nested array (rows = batch).
    #[arg(long, short = 'i')]
    pub input: PathBuf,
    /// Worker threads (results are bit-identical for every value).
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
    /// Write every layer's integer tensor and Merkle root to this directory.
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `pkg` on JSON inputs; returns the execution.
pub fn execute(pkg: &Package, input: &Value, threads: usize, trace: bool) -> Result<Execution> {
    let floats = io::package_inputs(pkg, input)?;
    let engine = Engine::new(pkg, Options { threads, trace })?;
    Ok(engine.run(vouch_task::codec::quantize_inputs(pkg, &floats))?)
}

/// The JSON printed for an execution.
pub fn result_json(pkg: &Package, exec: &Execution) -> Value {
    let mut outputs = Map::new();
    for (i, t) in exec.outputs.iter().enumerate() {
        let deq = vouch_quant::dequantize(pkg, i, t);
        outputs.insert(
            pkg.outputs[i].name.clone(),
            io::tensor_to_nested(&t.shape, &deq),
        );
    }
    let mut v = json!({ "outputs": outputs, "commitment": hex0x(&exec.output_commitment()) });
    if !exec.trace.is_empty() {
        v["trace_root"] = json!(hex0x(&exec.trace_root()));
    }
    v
}

/// Writes `DIR/trace.json` and one `DIR/NNNN.i32be` file of canonical element bytes per layer.
pub fn write_trace(dir: &Path, pkg: &Package, exec: &Execution) -> Result<()> {
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let mut layers = Vec::new();
    for (i, (node, t)) in pkg.nodes.iter().zip(&exec.trace).enumerate() {
        let file = format!("{i:04}.i32be");
        let bytes: Vec<u8> = t.data.iter().flat_map(|v| v.to_be_bytes()).collect();
        io::write_atomic(&dir.join(&file), &bytes)?;
        layers.push(json!({
            "index": i, "node": node.name, "op": node.op.name(), "shape": t.shape, "file": file,
            "root": hex0x(&vouch_primitives::tensor_root(&t.data)), "commitment": hex0x(&t.commitment()),
        }));
    }
    let manifest = json!({
        "semantics_version": pkg.semantics_version,
        "trace_root": hex0x(&exec.trace_root()),
        "output_commitment": hex0x(&exec.output_commitment()),
        "layers": layers,
    });
    let text =
        serde_json::to_string_pretty(&manifest).wrap_err("cannot encode the trace manifest")?;
    io::write_atomic(&dir.join("trace.json"), text.as_bytes())
}

/// Runs the command.
pub fn run(a: &InferArgs) -> Result<()> {
    let pkg = io::read_package(&a.model)?;
    let input = io::read_json(&a.input)?;
    let exec = execute(&pkg, &input, a.threads, a.trace.is_some())?;
    if let Some(dir) = &a.trace {
        write_trace(dir, &pkg, &exec)?;
        out::note(format!(
            "trace of {} layers written to {}",
            exec.trace.len(),
            dir.display()
        ));
    }
    out::json(&result_json(&pkg, &exec));
    Ok(())
}
