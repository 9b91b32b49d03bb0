//! `vouch receipt verify TASK`: anyone checks a task's receipt independently.
//!
//! 1. chain state: the task is finalized and the receipt leaf of its `Finalized` event
//!    recomputes from the task's fields;
//! 2. the ReceiptAttester's EAS attestation covering it (per task, or the batch whose hash
//!    chain is recomputed from the `Finalized` events), read from EAS;
//! 3. the model version's provenance attestation on EAS (by the registry, provenance schema,
//!    not revoked, its data the registry's entry) and the package checked against it: its CID,
//!    sha2-256, weights root, graph root and semantics version are the attested ones;
//! 4. re-execution: the package by the registry's CID (local store, or `--package`), the input
//!    from the `TaskRequested` event, the engine's output commitment;
//! 5. zk mode: the proof from the `submitZk` calldata hashes to the task's trace root and
//!    verifies in Rust with `--keys`.
//!
//! Prints each check as ok/FAIL; exits non-zero when any fails.
//! (Chain-side checks: [`vouch_chain::receipt`].)

use crate::chain_args::{ChainArgs, runtime};
use crate::out;
use clap::{Args, Subcommand};
use eyre::{Result, bail};
use serde_json::json;
use std::path::PathBuf;
use vouch_chain::alloy::primitives::{B256, U256, keccak256};
use vouch_chain::receipt::{Check, ReceiptFacts};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::Package;

/// `vouch receipt ...`
#[derive(Debug, Subcommand)]
pub enum ReceiptCmd {
    /// Verify a task's receipt: chain state, EAS attestation, re-execution (and the zk proof).
    Verify(VerifyArgs),
}

/// `vouch receipt verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The task id.
    pub task: u64,
    /// The package file (else fetched from the local store by the registry's CID).
    #[arg(long, short = 'p')]
    pub package: Option<PathBuf>,
    /// Keys file of the model (zk tasks: verify the proof in Rust).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Endpoint and data directory (no key needed).
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// Runs `vouch receipt ...`.
pub fn run(c: &ReceiptCmd) -> Result<()> {
    match c {
        ReceiptCmd::Verify(a) => verify(a),
    }
}

fn verify(a: &VerifyArgs) -> Result<()> {
    let checks = runtime()?.block_on(async {
        let sys = a.chain.system().await?;
        let facts = sys.receipt_facts(U256::from(a.task)).await?;
        let vk_on_chain = if facts.zk_verifier.is_zero() {
            None
        } else {
            sys.verifier_info(facts.zk_verifier)
                .await
                .ok()
                .map(|i| i.vk_hash)
        };
        Ok::<_, eyre::Report>(offchain_checks(a, facts, vk_on_chain))
    })?;
    let failed = checks.iter().filter(|c| c.result.is_err()).count();
    let v = json!({
        "id": a.task.to_string(),
        "ok": failed == 0,
        "checks": checks.iter().map(|c| match &c.result {
            Ok(d) => json!({ "check": c.what, "ok": true, "detail": d.to_string() }),
            Err(e) => json!({ "check": c.what, "ok": false, "detail": e.to_string() }),
        }).collect::<Vec<_>>(),
    });
    // the JSON result is printed on failure too (then the command exits non-zero)
    out::result(v, || {
        for c in &checks {
            match &c.result {
                Ok(d) => out::line(format!("  ok    {}: {d}", c.what)),
                Err(e) => out::line(format!("  FAIL  {}: {e}", c.what)),
            }
        }
    });
    if failed > 0 {
        bail!(
            "receipt of task {}: {failed} of {} checks failed",
            a.task,
            checks.len()
        );
    }
    if !out::json_mode() {
        out::line(format!(
            "receipt of task {}: all {} checks passed",
            a.task,
            checks.len()
        ));
    }
    Ok(())
}

/// The chain checks followed by re-execution and, for zk tasks, the proof checks.
pub fn offchain_checks(
    a: &VerifyArgs,
    facts: ReceiptFacts,
    vk_on_chain: Option<B256>,
) -> Vec<Check> {
    let mut checks = facts.checks.clone();
    if !checks.first().is_some_and(Check::passed) {
        return checks;
    }
    let t = &facts.task;
    let pkg = match load_package(a, &facts.package_cid) {
        Ok((pkg, bytes, c)) => {
            checks.push(c);
            checks.push(provenance_of_package(&facts, &bytes, &pkg));
            pkg
        }
        Err(e) => {
            checks.push(Check::fail("package", format!("{e:#}")));
            return checks;
        }
    };
    let zk = t.mode == 2;
    checks.push(reexecute(&pkg, &facts, zk));
    if zk {
        checks.extend(zk_checks(a, &pkg, &facts, vk_on_chain));
    }
    checks
}

/// The package re-executed is the one the provenance attestation names.
fn provenance_of_package(facts: &ReceiptFacts, bytes: &[u8], pkg: &Package) -> Check {
    let what = "package matches provenance";
    let Some(p) = &facts.provenance else {
        return Check::fail(what, "no provenance attestation to compare with");
    };
    let c = vouch_chain::graph::commitments_of(bytes, pkg);
    // each field as (name, the package's, the attestation's)
    let fields = [
        ("cid", c.package_cid.to_string(), p.package_cid.to_string()),
        (
            "sha256",
            c.package_hash.to_string(),
            p.package_hash.to_string(),
        ),
        (
            "weights root",
            c.weights_root.to_string(),
            p.weights_root.to_string(),
        ),
        (
            "graph root",
            c.graph_root.to_string(),
            p.graph_root.to_string(),
        ),
        (
            "semantics",
            format!("v{}", c.semantics_version),
            format!("v{}", p.semantics_version),
        ),
    ];
    let diffs: Vec<String> = fields
        .into_iter()
        .filter(|(_, ours, attested)| ours != attested)
        .map(|(name, ours, attested)| format!("{name} {ours} (attested {attested})"))
        .collect();
    Check::when(
        what,
        diffs.is_empty(),
        format!(
            "cid, sha256, weights and graph roots are those of attestation {}",
            p.uid
        ),
        format!("the package has {}", diffs.join(", ")),
    )
}

fn load_package(a: &VerifyArgs, cid: &str) -> Result<(Package, Vec<u8>, Check)> {
    let bytes = match &a.package {
        Some(p) => std::fs::read(p).map_err(|e| eyre::eyre!("cannot read {}: {e}", p.display()))?,
        None => {
            let store = vouch_store::Store::open_in_data_dir(&a.chain.dirs.data_dir)?;
            let c: vouch_primitives::Cid = cid.parse().map_err(|e| {
                eyre::eyre!("the registry's package CID `{cid}` does not parse: {e}")
            })?;
            store.get(&c).map_err(|e| {
                eyre::eyre!("package {cid} is not in the local store ({e}); pass --package FILE or `vouch store import` it")
            })?
        }
    };
    let pkg = Package::from_bytes(&bytes)?;
    let have = Package::cid_of_bytes(&bytes).to_string();
    let c = Check::when(
        "package",
        have == cid,
        format!("cid {cid}"),
        format!("the package has cid {have}, the registry records {cid}"),
    );
    Ok((pkg, bytes, c))
}

/// Decodes canonical inline input bytes of `rows` rows (see
/// [`vouch_node::work::decode_inputs`]).
pub fn decode_inline(pkg: &Package, bytes: &[u8], rows: u16) -> Result<Vec<Tensor>> {
    vouch_node::work::decode_inputs(pkg, bytes, rows)
        .map_err(|e| eyre::eyre!("the inline input: {e}"))
}

fn reexecute(pkg: &Package, facts: &ReceiptFacts, zk: bool) -> Check {
    let what = "re-execution";
    let t = &facts.task;
    let Some(req) = &facts.requested else {
        return Check::fail(what, "no TaskRequested event");
    };
    if req.inlineInput.is_empty() {
        return Check::fail(
            what,
            format!(
                "the input is not inline (cid {}); not supported yet",
                req.inputCid
            ),
        );
    }
    let inputs = match decode_inline(pkg, &req.inlineInput, req.rows) {
        Ok(i) => i,
        Err(e) => return Check::fail(what, format!("{e:#}")),
    };
    let mode = if zk {
        vouch_task::Mode::Zk
    } else {
        vouch_task::Mode::Optimistic
    };
    let ic = vouch_task::codec::input_commitment(mode, pkg, &inputs)
        .map(B256::from)
        .map_err(|e| e.to_string());
    match ic {
        Ok(ic) if ic == t.input_commitment => {}
        Ok(ic) => {
            return Check::fail(
                what,
                format!(
                    "the inline input commits to {ic}, the task to {}",
                    t.input_commitment
                ),
            );
        }
        Err(e) => return Check::fail(what, e),
    }
    let run = Engine::new(pkg, Options::default()).and_then(|e| e.run(inputs));
    match run {
        Ok(exec) => {
            let out = B256::from(exec.output_commitment());
            Check::when(
                what,
                out == t.output_commitment,
                format!("output commitment {out}"),
                format!(
                    "the engine gives output commitment {out}, the task has {}",
                    t.output_commitment
                ),
            )
        }
        Err(e) => Check::fail(what, e.to_string()),
    }
}

fn zk_checks(
    a: &VerifyArgs,
    pkg: &Package,
    facts: &ReceiptFacts,
    vk_on_chain: Option<B256>,
) -> Vec<Check> {
    let t = &facts.task;
    let Some(proof) = &facts.zk_proof else {
        return vec![Check::fail(
            "zk proof",
            "no submitZk transaction calldata found for the task",
        )];
    };
    let mut checks = vec![Check::when(
        "zk proof hash",
        keccak256(proof) == t.trace_root,
        format!(
            "keccak of the submitZk proof is the trace root {}",
            t.trace_root
        ),
        format!(
            "keccak of the submitZk proof is {}, the trace root {}",
            keccak256(proof),
            t.trace_root
        ),
    )];
    let Some(keys) = &a.keys else {
        checks.push(Check::fail(
            "zk proof verifies",
            "pass --keys KEYS to verify the proof in Rust",
        ));
        return checks;
    };
    checks.push(
        match verify_blob(
            pkg,
            keys,
            proof,
            t.input_commitment,
            t.output_commitment,
            vk_on_chain,
        ) {
            Ok(d) => Check::ok("zk proof verifies", d),
            Err(e) => Check::fail("zk proof verifies", format!("{e:#}")),
        },
    );
    checks
}

/// Verifies a `submitZk` proof blob (`abi.encode(uint256[8], int32[])`) against the keys'
/// verifying key, the input commitment and the output commitment.
pub fn verify_blob(
    pkg: &Package,
    keys: &std::path::Path,
    blob: &[u8],
    input_commitment: B256,
    output_commitment: B256,
    vk_on_chain: Option<B256>,
) -> Result<String> {
    use vouch_chain::alloy::sol_types::SolValue;
    let bytes =
        std::fs::read(keys).map_err(|e| eyre::eyre!("cannot read {}: {e}", keys.display()))?;
    let (vk, _) = vouch_zk::files::read_keys_vk(&bytes)?;
    let vk_hash = B256::from(vk.hash());
    if let Some(h) = vk_on_chain
        && h != vk_hash
    {
        bail!("the keys have vk hash {vk_hash}, the version's verifier {h}");
    }
    type Blob = ([U256; 8], Vec<i32>);
    let (words, outs) =
        Blob::abi_decode_params(blob).map_err(|e| eyre::eyre!("the proof does not decode: {e}"))?;
    let mut raw = Vec::with_capacity(256);
    for w in words {
        raw.extend_from_slice(&w.to_be_bytes::<32>());
    }
    let proof = vouch_zk::groth16::Proof::from_bytes(&raw)?;
    // the claimed outputs must be the output commitment's preimage
    let engine = Engine::new(pkg, Options::default())?;
    let sizes: Vec<usize> = engine
        .run(vouch_zk_prover::circuit::zero_inputs(pkg))?
        .outputs
        .iter()
        .map(|t| t.data.len())
        .collect();
    if sizes.iter().sum::<usize>() != outs.len() {
        bail!(
            "the proof carries {} outputs, the model has {}",
            outs.len(),
            sizes.iter().sum::<usize>()
        );
    }
    let mut off = 0;
    let members: Vec<_> = sizes
        .iter()
        .map(|&n| {
            let m = vouch_primitives::tensor_commitment(&outs[off..off + n]);
            off += n;
            m
        })
        .collect();
    let oc = B256::from(vouch_primitives::list_commitment(&members));
    if oc != output_commitment {
        bail!("the proof's outputs commit to {oc}, the task to {output_commitment}");
    }
    let ih = vouch_zk::files::fr_from_be(input_commitment.as_slice(), "input commitment")?;
    let st = vouch_zk::statement::Statement {
        input_hash: ih,
        outputs: outs,
    };
    if !vouch_zk::groth16::verify(&vk, &st.public_inputs(), &proof)? {
        bail!("INVALID proof");
    }
    Ok(format!("Groth16 proof valid (vk hash {vk_hash})"))
}
