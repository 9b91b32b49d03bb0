//! `vouch zk ...`: Groth16 proofs of inference (setup from a `.ptau`, phase-2 contributions,
//! prove, verify, Solidity export, verifier deployment).
//!
//! The in-process path `vouch up` takes (local insecure ptau, setup, export, compile, deploy)
//! is [`vouch_localnet::zk_setup`].

use crate::chain_args::{ChainArgs, runtime};
use crate::{io, out};
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr, bail};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use vouch_localnet::zk_setup::{deploy_verifier, verifier_source};
use vouch_model::Package;
use vouch_primitives::hex0x;
use vouch_zk::files::{ProofFile, read_keys_vk};
use vouch_zk::groth16::VerifyingKey;
use vouch_zk::snarkjs;
use vouch_zk::statement::{fr_to_be, input_hash_bits};
use vouch_zk_prover::{circuit, groth, phase2, ptau, task};

/// `vouch zk ...`
#[derive(Debug, Subcommand)]
pub enum ZkCmd {
    /// Powers-of-Tau files.
    #[command(subcommand)]
    Ptau(PtauCmd),
    /// Derive a model's keys from a `.ptau` file and add the first phase-2 contribution.
    Setup(SetupArgs),
    /// Add a phase-2 contribution (fresh randomness from the OS) to a keys file.
    Contribute(ContributeArgs),
    /// Check a keys file against the `.ptau` file and the model: exit 0 only if it verifies.
    VerifySetup(VerifySetupArgs),
    /// Prove one inference (batch row) of a model.
    Prove(ProveArgs),
    /// Verify a proof file: exit 0 only for a valid proof.
    Verify(VerifyArgs),
    /// Write the Solidity verifier of a keys file.
    ExportVerifier(ExportArgs),
    /// Export, compile (solcjs) and deploy the Solidity verifier of a keys file; prints its
    /// address (pass it to `vouch model publish --zk-verifier`).
    DeployVerifier(DeployVerifierArgs),
    /// Print the on-chain arguments of a proof (for `IZkVerifier.verifyProof`) as JSON.
    Calldata(CalldataArgs),
    /// Write snarkjs's `verification_key.json` (and, with `--proof`, `proof.json` and
    /// `public.json`), so `snarkjs groth16 verify` checks a vouch proof.
    ExportSnarkjs(ExportSnarkjsArgs),
    /// Print the circuit's size per node.
    Info(InfoArgs),
}

/// `vouch zk ptau ...`
#[derive(Debug, Subcommand)]
pub enum PtauCmd {
    /// Write a LOCAL, INSECURE phase-1 file (trapdoors from this machine) for development:
    /// one contribution and the phase-2 sections, as snarkjs writes them (`snarkjs
    /// powersoftau verify` accepts it).
    New(PtauNewArgs),
}

/// `vouch zk ptau new`
#[derive(Debug, Args)]
pub struct PtauNewArgs {
    /// Domain size exponent, 1 to 24 (circuits up to 2^N constraints).
    #[arg(long)]
    pub power: u32,
    /// Output file.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

/// `vouch zk setup`
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The package.
    #[arg(long, short = 'm')]
    pub model: PathBuf,
    /// Phase-1 file (snarkjs `.ptau`): prepared for phase 2 (`snarkjs powersoftau prepare
    /// phase2`) or raw (`powersoftau new` + `contribute`), whose Lagrange bases for the
    /// circuit's domain are then computed here.
    #[arg(long)]
    pub ptau: PathBuf,
    /// Output keys file.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Skip the first contribution (the keys are unusable until someone contributes).
    #[arg(long)]
    pub no_contribute: bool,
}

/// `vouch zk contribute`
#[derive(Debug, Args)]
pub struct ContributeArgs {
    /// Keys file, updated in place.
    pub keys: PathBuf,
}

/// `vouch zk verify-setup`
#[derive(Debug, Args)]
pub struct VerifySetupArgs {
    /// Keys file.
    pub keys: PathBuf,
    /// The phase-1 file it was derived from (prepared or raw: both give the same keys).
    #[arg(long)]
    pub ptau: PathBuf,
    /// The package.
    #[arg(long, short = 'm')]
    pub model: PathBuf,
}

/// `vouch zk prove`
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The package.
    #[arg(long, short = 'm')]
    pub model: PathBuf,
    /// Keys file.
    #[arg(long)]
    pub keys: PathBuf,
    /// Input JSON (as for `vouch infer`).
    #[arg(long, short = 'i')]
    pub input: PathBuf,
    /// Which batch row to prove.
    #[arg(long, default_value_t = 0)]
    pub row: usize,
    /// Output proof file.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

/// `vouch zk verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Keys file (only its verifying key is read).
    #[arg(long)]
    pub keys: PathBuf,
    /// Proof file.
    #[arg(long)]
    pub proof: PathBuf,
    /// Also check that the proof's input commitment is this input (JSON, with `--model`).
    #[arg(long, short = 'i', requires = "model")]
    pub input: Option<PathBuf>,
    /// The package (to quantize `--input`).
    #[arg(long, short = 'm')]
    pub model: Option<PathBuf>,
    /// Batch row of `--input`.
    #[arg(long, default_value_t = 0)]
    pub row: usize,
}

/// `vouch zk export-verifier`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Keys file.
    #[arg(long)]
    pub keys: PathBuf,
    /// The package (for its weights root and output sizes).
    #[arg(long, short = 'm')]
    pub model: PathBuf,
    /// Output `.sol` file.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Contract name.
    #[arg(long, default_value = "VouchZkVerifier")]
    pub contract: String,
}

/// `vouch zk deploy-verifier`
#[derive(Debug, Args)]
pub struct DeployVerifierArgs {
    /// Keys file.
    #[arg(long)]
    pub keys: PathBuf,
    /// The package (for its weights root and output sizes).
    #[arg(long, short = 'm')]
    pub model: PathBuf,
    /// Contract name.
    #[arg(long, default_value = "VouchZkVerifier")]
    pub contract: String,
    /// Also write the Solidity source here.
    #[arg(long)]
    pub source: Option<PathBuf>,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `vouch zk calldata`
#[derive(Debug, Args)]
pub struct CalldataArgs {
    /// Proof file.
    #[arg(long)]
    pub proof: PathBuf,
}

/// `vouch zk export-snarkjs`
#[derive(Debug, Args)]
pub struct ExportSnarkjsArgs {
    /// Keys file (only its verifying key is read); a bare verifying key (`*.vk`, as in
    /// `testdata/proofs/v3`) is accepted too.
    #[arg(long)]
    pub keys: PathBuf,
    /// Proof file made with these keys: also write `proof.json` and `public.json` (the proof
    /// is checked against the key first; a mismatch is an error and nothing is written).
    #[arg(long)]
    pub proof: Option<PathBuf>,
    /// Directory for the JSON files (created if missing; existing files are replaced).
    #[arg(long, short = 'o', default_value = ".")]
    pub out_dir: PathBuf,
}

/// `vouch zk info`
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The package.
    #[arg(long, short = 'm')]
    pub model: PathBuf,
}

/// Runs a `vouch zk` command.
pub fn run(cmd: &ZkCmd) -> Result<()> {
    match cmd {
        ZkCmd::Ptau(PtauCmd::New(a)) => ptau_new(a),
        ZkCmd::Setup(a) => setup(a),
        ZkCmd::Contribute(a) => contribute(a),
        ZkCmd::VerifySetup(a) => verify_setup(a),
        ZkCmd::Prove(a) => prove(a),
        ZkCmd::Verify(a) => verify(a),
        ZkCmd::ExportVerifier(a) => export(a),
        ZkCmd::DeployVerifier(a) => deploy_verifier_cmd(a),
        ZkCmd::Calldata(a) => calldata(a),
        ZkCmd::ExportSnarkjs(a) => export_snarkjs(a),
        ZkCmd::Info(a) => info(a),
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).wrap_err_with(|| format!("cannot read {}", path.display()))
}

fn ptau_new(a: &PtauNewArgs) -> Result<()> {
    out::note(
        "WARNING: a local powers-of-tau is INSECURE (its trapdoors existed on this machine); use it for development and tests only",
    );
    let pb = out::spinner("generating");
    let bytes = ptau::insecure_new(a.power, &|m| pb.set_message(m.to_string()))?;
    pb.finish_and_clear();
    io::write_atomic(&a.output, &bytes)?;
    let v = json!({ "ptau": a.output.display().to_string(), "power": a.power, "bytes": bytes.len(), "insecure": true });
    out::result(v, || {
        out::line(format!(
            "wrote INSECURE local ptau 2^{} to {} ({} bytes)",
            a.power,
            a.output.display(),
            bytes.len()
        ));
    });
    Ok(())
}

fn initial_key(pkg: &Package, ptau_path: &PathBuf) -> Result<groth::ProvingKey> {
    let pb = out::spinner("building the circuit");
    let c0 = circuit::build(pkg, circuit::zero_inputs(pkg))?;
    let log_n = groth::domain_log(&c0.cs);
    pb.set_message(format!(
        "reading phase 1 for 2^{log_n} ({} constraints)",
        c0.cs.num_constraints()
    ));
    let bytes = read(ptau_path)?;
    let p = ptau::Ptau::parse(&bytes)
        .wrap_err_with(|| format!("{}: not a usable .ptau file", ptau_path.display()))?;
    let work = p.prepare_work(log_n);
    let srs = if work == 0 {
        p.srs(log_n)?
    } else {
        // A raw file (no `snarkjs powersoftau prepare phase2`): compute the Lagrange bases.
        pb.set_message(format!(
            "{} is not prepared for phase 2: computing its Lagrange bases for 2^{log_n}",
            ptau_path.display()
        ));
        let bar = out::bar(work, &format!("preparing phase 2 (2^{log_n})"));
        let srs = p.srs_with_progress(log_n, &|k| bar.inc(k));
        bar.finish_and_clear();
        srs?
    };
    let pk = groth::setup(&c0.cs, &srs, &|m| pb.set_message(m.to_string()))?;
    pb.finish_and_clear();
    Ok(pk)
}

fn setup(a: &SetupArgs) -> Result<()> {
    let pkg = io::read_package(&a.model)?;
    let t = Instant::now();
    let pk = initial_key(&pkg, &a.ptau)?;
    let mut keys = phase2::Keys {
        package_cid: pkg.cid().to_bytes().to_vec(),
        pk,
        contributions: Vec::new(),
    };
    if !a.no_contribute {
        let h = phase2::contribute(&mut keys, &mut rand::rngs::OsRng);
        out::note(format!("contribution 1: {}", hex0x(&h)));
    }
    let bytes = phase2::to_bytes(&keys);
    io::write_atomic(&a.output, &bytes)?;
    out::json(&json!({
        "keys": a.output.display().to_string(),
        "vk_hash": hex0x(&keys.pk.vk.hash()),
        "contributions": keys.contributions.len(),
        "bytes": bytes.len(),
        "seconds": t.elapsed().as_secs_f64(),
    }));
    Ok(())
}

fn contribute(a: &ContributeArgs) -> Result<()> {
    let mut keys = phase2::from_bytes(&read(&a.keys)?)?;
    let pb = out::spinner("contributing");
    let h = phase2::contribute(&mut keys, &mut rand::rngs::OsRng);
    pb.finish_and_clear();
    io::write_atomic(&a.keys, &phase2::to_bytes(&keys))?;
    out::json(&json!({
        "contribution": keys.contributions.len(),
        "hash": hex0x(&h),
        "vk_hash": hex0x(&keys.pk.vk.hash()),
    }));
    Ok(())
}

fn verify_setup(a: &VerifySetupArgs) -> Result<()> {
    let pkg = io::read_package(&a.model)?;
    let keys = phase2::from_bytes(&read(&a.keys)?)?;
    if keys.package_cid != pkg.cid().to_bytes() {
        bail!("the keys were made for another package");
    }
    let initial = initial_key(&pkg, &a.ptau)?;
    phase2::verify(&keys, &initial)?;
    out::json(&json!({
        "ok": true,
        "contributions": keys.contributions.len(),
        "vk_hash": hex0x(&keys.pk.vk.hash()),
    }));
    Ok(())
}

/// Batch row `row` of an input JSON file, quantized for `pkg` (batch axis 1).
pub fn one_row(
    pkg: &Package,
    input: &std::path::Path,
    row: usize,
) -> Result<Vec<vouch_engine::Tensor>> {
    let floats = io::package_inputs(pkg, &io::read_json(input)?)?;
    Ok(task::single_row(
        &vouch_task::codec::quantize_inputs(pkg, &floats),
        row,
    )?)
}

fn prove(a: &ProveArgs) -> Result<()> {
    let pkg = io::read_package(&a.model)?;
    let inputs = one_row(&pkg, &a.input, a.row)?;
    let keys = read(&a.keys)?;
    let pb = out::spinner("reading keys, building the circuit and witness, proving");
    let s = task::prove(&pkg, &keys, inputs)?;
    pb.finish_and_clear();
    let file = &s.file;
    let bytes = file.to_bytes();
    io::write_atomic(&a.output, &bytes)?;
    out::json(&json!({
        "proof": a.output.display().to_string(),
        "constraints": s.constraints,
        "variables": s.variables,
        "domain": s.domain,
        "input_commitment": hex0x(&s.input_commitment),
        "output_commitment": hex0x(&s.output_commitment),
        "outputs": file.outputs.iter().map(|t| json!({"name": t.name, "data": t.data})).collect::<Vec<_>>(),
        "proof_bytes": vouch_zk::groth16::PROOF_BYTES,
        "file_bytes": bytes.len(),
        "seconds": {"load_keys": s.keys_time.as_secs_f64(), "witness": s.witness_time.as_secs_f64(), "prove": s.prove_time.as_secs_f64()},
    }));
    Ok(())
}

fn verify(a: &VerifyArgs) -> Result<()> {
    let (vk, _) = read_keys_vk(&read(&a.keys)?)?;
    let file = ProofFile::from_bytes(&read(&a.proof)?)?;
    if let (Some(input), Some(model)) = (&a.input, &a.model) {
        let pkg = io::read_package(model)?;
        let flat: Vec<i32> = one_row(&pkg, input, a.row)?
            .into_iter()
            .flat_map(|t| t.data)
            .collect();
        if input_hash_bits(pkg.input_bits(), &flat)? != file.input_hash {
            bail!("the proof is about another input");
        }
    }
    let t = Instant::now();
    let ok = file.verify(&vk)?;
    let secs = t.elapsed().as_secs_f64();
    if !ok {
        bail!("INVALID proof");
    }
    out::json(&json!({"valid": true, "vk_hash": hex0x(&vk.hash()), "seconds": secs}));
    Ok(())
}

fn deploy_verifier_cmd(a: &DeployVerifierArgs) -> Result<()> {
    let pkg = io::read_package(&a.model)?;
    let keys = read(&a.keys)?;
    runtime()?.block_on(async {
        let sys = a.chain.system().await?;
        let pb = out::spinner("compiling and deploying the verifier");
        let (info, src) = deploy_verifier(&sys, &pkg, &keys, &a.contract).await?;
        pb.finish_and_clear();
        if let Some(p) = &a.source {
            io::write_atomic(p, src.as_bytes())?;
        }
        let v = json!({
            "zk_verifier": info.address.to_string(),
            "vk_hash": hex0x(info.vk_hash.as_slice()),
            "weights_root": hex0x(info.weights_root.as_slice()),
        });
        out::result(v, || {
            out::line(format!("verifier {}", info.address));
            out::line(format!(
                "  vk hash       {}",
                hex0x(info.vk_hash.as_slice())
            ));
            out::line(format!(
                "  weights root  {}",
                hex0x(info.weights_root.as_slice())
            ));
        });
        Ok(())
    })
}

/// The domain exponent a package's circuit needs (the `.ptau` power for its setup).
pub fn domain_log(pkg: &Package) -> Result<u32> {
    let c0 = circuit::build(pkg, circuit::zero_inputs(pkg))?;
    Ok(groth::domain_log(&c0.cs))
}

fn export(a: &ExportArgs) -> Result<()> {
    let (vk, _) = read_keys_vk(&read(&a.keys)?)?;
    let pkg = io::read_package(&a.model)?;
    let src = verifier_source(&pkg, &vk, &a.contract)?;
    io::write_atomic(&a.output, src.as_bytes())?;
    let v = json!({ "written": a.output.display().to_string(), "vk_hash": hex0x(&vk.hash()) });
    out::result(v, || {
        out::line(format!(
            "wrote {} (vk hash {})",
            a.output.display(),
            hex0x(&vk.hash())
        ));
    });
    Ok(())
}

fn calldata(a: &CalldataArgs) -> Result<()> {
    let file = ProofFile::from_bytes(&read(&a.proof)?)?;
    let outs = file.flat_outputs();
    let members: Vec<_> = file
        .outputs
        .iter()
        .map(|t| vouch_primitives::tensor_commitment(&t.data))
        .collect();
    let (p, pubs) = vouch_zk::solidity::raw_args(&file.proof, &file.statement().public_inputs());
    out::json(&json!({
        "vk_hash": hex0x(&file.vk_hash),
        "input_commitment": hex0x(&fr_to_be(&file.input_hash)),
        "output_commitment": hex0x(&vouch_primitives::list_commitment(&members)),
        "outputs": outs,
        "proof": hex0x(&vouch_zk::solidity::calldata_blob(&file.proof, &outs)),
        "groth16": p,
        "publics": pubs,
    }));
    Ok(())
}

/// The verifying key of a keys file or of a bare verifying-key file.
fn read_vk(path: &PathBuf) -> Result<VerifyingKey> {
    let b = read(path)?;
    if b.starts_with(vouch_zk::files::KEYS_MAGIC) {
        let (vk, _) =
            read_keys_vk(&b).wrap_err_with(|| format!("{}: bad keys file", path.display()))?;
        return Ok(vk);
    }
    match VerifyingKey::from_bytes(&b) {
        Ok((vk, used)) if used == b.len() => Ok(vk),
        _ => bail!(
            "{}: neither a vouch keys file nor a verifying key",
            path.display()
        ),
    }
}

fn write_json(dir: &std::path::Path, name: &str, v: &impl serde::Serialize) -> Result<String> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(v)? + "\n";
    io::write_atomic(&path, text.as_bytes())?;
    Ok(path.display().to_string())
}

fn export_snarkjs(a: &ExportSnarkjsArgs) -> Result<()> {
    let vk = read_vk(&a.keys)?;
    let proof = match &a.proof {
        Some(p) => {
            let file = ProofFile::from_bytes(&read(p)?)
                .wrap_err_with(|| format!("{}: bad proof file", p.display()))?;
            match file.verify(&vk) {
                Ok(true) => {}
                Ok(false) => bail!(
                    "{} does not verify under the verifying key of {}; nothing written",
                    p.display(),
                    a.keys.display()
                ),
                Err(e) => {
                    return Err(e).wrap_err_with(|| {
                        format!(
                            "{} and {} do not belong together; nothing written",
                            p.display(),
                            a.keys.display()
                        )
                    });
                }
            }
            Some(file)
        }
        None => None,
    };
    std::fs::create_dir_all(&a.out_dir)
        .wrap_err_with(|| format!("cannot create {}", a.out_dir.display()))?;
    let mut written = vec![write_json(
        &a.out_dir,
        "verification_key.json",
        &snarkjs::verification_key(&vk),
    )?];
    if let Some(file) = &proof {
        written.push(write_json(
            &a.out_dir,
            "proof.json",
            &snarkjs::proof(&file.proof),
        )?);
        let public = snarkjs::public_signals(&file.statement().public_inputs());
        written.push(write_json(&a.out_dir, "public.json", &public)?);
    }
    out::json(&json!({
        "written": written,
        "nPublic": vk.num_public(),
        "vk_hash": hex0x(&vk.hash()),
    }));
    Ok(())
}

fn info(a: &InfoArgs) -> Result<()> {
    let pkg = io::read_package(&a.model)?;
    let c = circuit::build(&pkg, circuit::zero_inputs(&pkg))?;
    let rows: Vec<Vec<String>> = c
        .per_node
        .iter()
        .map(|(n, op, k)| vec![n.clone(), op.to_string(), k.to_string()])
        .collect();
    let v = json!({
        "nodes": c.per_node.iter().map(|(n, op, k)| json!({ "node": n, "op": op.to_string(), "constraints": k })).collect::<Vec<_>>(),
        "constraints": c.cs.num_constraints(),
        "variables": c.cs.num_vars(),
        "domain_log": groth::domain_log(&c.cs),
    });
    out::result(v, || {
        out::line(out::table(&["node", "op", "constraints"], &rows));
        out::line(format!(
            "total {} constraints, {} variables, domain 2^{}",
            c.cs.num_constraints(),
            c.cs.num_vars(),
            groth::domain_log(&c.cs)
        ));
    });
    Ok(())
}
