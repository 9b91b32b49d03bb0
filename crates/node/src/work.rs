//! Model packages by CID (cached, hash-checked against the registry) and executions of tasks.

use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use vouch_chain::System;
use vouch_chain::alloy::primitives::B256;
use vouch_chain::dispute::{Evidence, HonestTrace};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::Package;
use vouch_primitives::Cid;
use vouch_store::{HttpFetcher, Store};

/// A package with the engine built for it.
#[derive(Debug)]
pub struct Model {
    /// The package.
    pub pkg: Package,
    /// Its CID.
    pub cid: Cid,
}

/// Packages by `(model, version)`: from the local store, else fetched from peers; either way
/// their bytes must hash to the CID the registry holds.
#[derive(Debug)]
pub struct Models {
    store: Store,
    fetcher: HttpFetcher,
    peers: Vec<String>,
    cache: Mutex<HashMap<(u32, u16), Arc<Model>>>,
}

impl Models {
    /// A cache over `store`, fetching misses from `peers`.
    pub fn new(store: Store, peers: Vec<String>) -> Self {
        Self {
            store,
            fetcher: HttpFetcher::default(),
            peers,
            cache: Mutex::default(),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The package registered as `model` v`version`.
    pub async fn get(&self, sys: &System, model: u32, version: u16) -> Result<Arc<Model>> {
        if let Some(m) = self.lock().get(&(model, version)) {
            return Ok(m.clone());
        }
        let err = |reason: String| Error::Model {
            model,
            version,
            reason,
        };
        let v = sys
            .client()
            .call(
                "ModelRegistry.getVersion",
                sys.registry().getVersion(model, u32::from(version)),
            )
            .await?;
        let cid: Cid = v
            .packageCid
            .parse()
            .map_err(|_| err(format!("registry holds a malformed CID {:?}", v.packageCid)))?;
        if *cid.digest() != v.packageHash.0 {
            return Err(err(
                "the registry's package hash does not match its CID".to_owned()
            ));
        }
        // A package of several chunks is a DAG: fetch when any block of it is missing.
        if self.store.dag_blocks(&cid).is_err() {
            if self.peers.is_empty() {
                return Err(err(format!(
                    "package {cid} is not in the local store and no peers are configured"
                )));
            }
            self.fetcher
                .fetch_any(&self.store, &self.peers, &cid)
                .await
                .map_err(|es| {
                    let why: Vec<String> = es.iter().map(ToString::to_string).collect();
                    err(format!("fetching package {cid}: {}", why.join("; ")))
                })?;
        }
        let bytes = self.store.get(&cid)?;
        let pkg = Package::from_bytes(&bytes)
            .map_err(|e| err(format!("package {cid} does not decode: {e}")))?;
        let m = Arc::new(Model { pkg, cid });
        self.lock().insert((model, version), m.clone());
        Ok(m)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(u32, u16), Arc<Model>>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One execution of a task: the trace, its commitments and the one-step evidence.
#[derive(Debug, Clone)]
pub struct Run {
    /// Every node's output and the graph header.
    pub trace: HonestTrace,
    /// Output commitment.
    pub output: B256,
    /// Trace root.
    pub trace_root: B256,
    /// What the one-step check needs.
    pub evidence: Evidence,
    /// The graph outputs.
    pub outputs: Vec<Tensor>,
}

impl Run {
    /// The output values a result delivers: every output tensor end to end (they open
    /// [`Run::output`], a lie's too).
    pub fn values(&self) -> Vec<i32> {
        self.trace.output_values()
    }

    /// This run with its last output element changed by one (a lie).
    pub fn lie(mut self) -> Self {
        self.trace.perturb_last();
        self.output = self.trace.output_commitment();
        self.trace_root = self.trace.trace_root();
        self
    }
}

fn words_of(bytes: &[u8]) -> Result<Vec<i32>, String> {
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "input is {} bytes, not a multiple of 4",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Elements per row over all graph inputs.
fn per_row(pkg: &Package) -> Result<usize, String> {
    let mut per_row = 0usize;
    for spec in &pkg.inputs {
        let info = pkg
            .values
            .get(spec.value as usize)
            .ok_or_else(|| format!("input {} has no value", spec.name))?;
        let shape = vouch_engine::tensor::resolve(&info.shape, 1);
        per_row += vouch_engine::tensor::numel(&shape)
            .ok_or_else(|| format!("input {} has an overflowing shape", spec.name))?;
    }
    Ok(per_row)
}

/// `words` as one tensor per package input at `batch` rows.
fn split(pkg: &Package, words: &[i32], batch: usize) -> Result<Vec<Tensor>, String> {
    let mut rest = words;
    let mut out = Vec::with_capacity(pkg.inputs.len());
    for spec in &pkg.inputs {
        let info = pkg
            .values
            .get(spec.value as usize)
            .ok_or_else(|| format!("input {} has no value", spec.name))?;
        let shape = vouch_engine::tensor::resolve(&info.shape, batch);
        let n = vouch_engine::tensor::numel(&shape)
            .filter(|&n| n <= rest.len())
            .ok_or_else(|| format!("input {} does not fit the task's input", spec.name))?;
        let (data, tail) = rest.split_at(n);
        rest = tail;
        out.push(Tensor {
            shape,
            data: data.to_vec(),
        });
    }
    Ok(out)
}

/// Decodes a task's inline input (each input tensor's elements as big-endian i32, in package
/// input order) into tensors of the package's input shapes at the task's `rows` rows
/// (`docs/semantics.md` section 8.5); any other element count is an error.
pub fn decode_inputs(pkg: &Package, bytes: &[u8], rows: u16) -> Result<Vec<Tensor>, String> {
    let words = words_of(bytes)?;
    let per_row = per_row(pkg)?;
    if per_row == 0 || words.is_empty() || !words.len().is_multiple_of(per_row) {
        return Err(format!(
            "the input has {} elements; the model takes {per_row} per row",
            words.len()
        ));
    }
    let batch = words.len() / per_row;
    if batch != usize::from(rows) {
        return Err(format!(
            "the input holds {batch} rows of {per_row} elements; the task asks for {rows}"
        ));
    }
    if batch > 1 && !pkg.takes_rows() {
        return Err(format!(
            "the task asks for {rows} rows, but the model takes one row at a time"
        ));
    }
    split(pkg, &words, batch)
}

/// The graph inputs a task's inline bytes hold when they match its input commitment but not
/// its row count, or hold an element the engine refuses: what `DisputeGame.resolveInput` and
/// `resolveInputRange` need to show that the task has no answer (`docs/semantics.md` sections
/// 8.5 and 8.7). `None` when the input fits the task, or when the bytes do not match the
/// commitment (then they prove nothing about it).
pub fn misfit_inputs(
    pkg: &Package,
    bytes: &[u8],
    rows: u16,
    commitment: B256,
) -> Option<Vec<Vec<i32>>> {
    let words = words_of(bytes).ok()?;
    let per_row = per_row(pkg).ok()?;
    let inputs: Vec<Vec<i32>> = if per_row != 0 && words.len().is_multiple_of(per_row) {
        let batch = words.len() / per_row;
        let inputs: Vec<Vec<i32>> = split(pkg, &words, batch)
            .ok()?
            .into_iter()
            .map(|t| t.data)
            .collect();
        if batch == usize::from(rows) {
            let consts: Vec<Vec<i32>> = pkg.consts.iter().map(|c| c.data.clone()).collect();
            let nodes = vouch_chain::graph::descriptors(pkg);
            if !vouch_chain::dispute::input_refused(&nodes, &inputs, &consts) {
                return None;
            }
        }
        inputs
    } else if pkg.inputs.len() == 1 {
        vec![words]
    } else {
        return None;
    };
    let leaves: Vec<[u8; 32]> = inputs
        .iter()
        .map(|t| vouch_primitives::tensor_commitment(t))
        .collect();
    (B256::from(vouch_primitives::list_commitment(&leaves)) == commitment).then_some(inputs)
}

/// The canonical inline bytes of `inputs` (the inverse of [`decode_inputs`]).
pub fn encode_inputs(inputs: &[Tensor]) -> Vec<u8> {
    vouch_task::codec::inline_bytes(inputs)
}

/// Runs `pkg` on the task's input bytes of `rows` rows (inline, or read back from its blobs), checking it against the task's input
/// commitment (the keccak list commitment; `None` for zk tasks, whose commitment is the
/// circuit's Poseidon hash and is checked by the verifier).
pub fn execute(
    task: &str,
    pkg: &Package,
    inline: &[u8],
    rows: u16,
    commitment: Option<B256>,
) -> Result<Run> {
    let err = |reason: String| Error::Execute {
        task: task.to_owned(),
        reason,
    };
    let inputs = decode_inputs(pkg, inline, rows).map_err(err)?;
    // the keccak list commitment of optimistic and committee tasks (docs/semantics.md 8)
    let listed = || {
        vouch_task::codec::input_commitment(vouch_task::Mode::Optimistic, pkg, &inputs)
            .unwrap_or_default()
    };
    if commitment.is_some_and(|c| listed() != c) {
        return Err(err(
            "the input (inline, or read back from its blobs or store) does not match the task's input commitment".to_owned(),
        ));
    }
    let evidence = Evidence::new(pkg, inputs.iter().map(|t| t.data.clone()).collect());
    let engine = Engine::new(
        pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )
    .map_err(|e| err(e.to_string()))?;
    let exec = engine.run(inputs).map_err(|e| err(e.to_string()))?;
    let trace = HonestTrace::of_package(exec.trace.iter().map(|t| t.data.clone()).collect(), pkg);
    Ok(Run {
        output: B256::from(exec.output_commitment()),
        trace_root: B256::from(exec.trace_root()),
        trace,
        evidence,
        outputs: exec.outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_engine::vectors::Rng;

    fn commitment(inputs: &[Vec<i32>]) -> B256 {
        let leaves: Vec<[u8; 32]> = inputs
            .iter()
            .map(|t| vouch_primitives::tensor_commitment(t))
            .collect();
        B256::from(vouch_primitives::list_commitment(&leaves))
    }

    /// Thousands of task inputs as a liar or a careless client could post them (any length,
    /// any row count, elements at and beyond every kind's range) never panic a provider, and
    /// the chain can be shown exactly the inputs the engine refuses: `execute` refuses an input
    /// of the task's size if and only if `misfit_inputs` finds the evidence for
    /// `resolveInputRange`, and an input of another size always has evidence for
    /// `resolveInput`. (The cargo-fuzz target in `crates/node/fuzz` does the same without a
    /// bound.)
    #[test]
    fn any_posted_input_is_run_or_provably_refused() {
        let (_, pkg) = vouch_testkit::fixture("mlp_10_20_2", None);
        let per_row = per_row(&pkg).unwrap();
        let edges = [
            i32::MIN,
            -32769,
            -32768,
            -129,
            -128,
            0,
            127,
            128,
            32767,
            32768,
            i32::MAX,
        ];
        let mut rng = Rng::new(8_7);
        let (mut ran, mut refused, mut misfit) = (0, 0, 0);
        for _ in 0..2000 {
            let rows = rng.range(0, 3) as u16;
            let len = match rng.range(0, 3) {
                0 => per_row * usize::from(rows),
                1 => per_row * rng.range(0, 3) as usize,
                _ => rng.range(0, 3 * per_row as i32) as usize,
            };
            let words: Vec<i32> = (0..len)
                .map(|_| match rng.range(0, 9) {
                    0 => edges[rng.range(0, edges.len() as i32 - 1) as usize],
                    _ => rng.range(-128, 127),
                })
                .collect();
            let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            if rng.range(0, 19) == 0 {
                bytes.pop();
            }
            let Ok(inputs) = decode_inputs(&pkg, &bytes, rows) else {
                if bytes.len().is_multiple_of(4) && (rows != 0 || !words.is_empty()) {
                    // the wrong size: one tensor of every word is what the commitment opens
                    let c = commitment(std::slice::from_ref(&words));
                    assert!(
                        misfit_inputs(&pkg, &bytes, rows, c).is_some(),
                        "{len} {rows}"
                    );
                    misfit += 1;
                }
                continue;
            };
            let data: Vec<Vec<i32>> = inputs.iter().map(|t| t.data.clone()).collect();
            let c = commitment(&data);
            let evidence = misfit_inputs(&pkg, &bytes, rows, c);
            match execute("t", &pkg, &bytes, rows, Some(c)) {
                Ok(_) => {
                    assert!(
                        evidence.is_none(),
                        "an input the engine runs was called refused"
                    );
                    ran += 1;
                }
                Err(e) => {
                    assert!(evidence.is_some(), "refused without evidence: {e}");
                    refused += 1;
                }
            }
        }
        // every branch was taken
        assert!(
            ran > 0 && refused > 0 && misfit > 0,
            "{ran} {refused} {misfit}"
        );
    }
}
