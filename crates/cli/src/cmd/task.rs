//! `vouch task request|submit|finalize|status|challenge|dispute|withdraw`: the life of one
//! inference on-chain. Results and challenges are computed by running the package with the
//! Rust engine; the posted trace root is the list commitment over every node's output.

use crate::chain_args::{ChainArgs, fmt_tokens, parse_tokens, runtime};
use crate::{io, out};
use clap::{Args, Subcommand};
use eyre::{Result, bail};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::dispute::{self, HonestTrace, Move, PHASES};
use vouch_chain::system::{Callback, Mode, Request, status_name};
use vouch_engine::{Engine, Options};
use vouch_primitives::hex0x;
use vouch_task::codec;

mod signed;
use signed::request_signed;

/// `vouch task ...`
#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    /// Request an inference, escrowing the fee.
    Request(RequestArgs),
    /// Post a result (as an opted-in provider), computed by running the package.
    Submit(SubmitArgs),
    /// Prove a zk-mode task's result (Groth16) and post it with `submitZk`.
    SubmitZk(SubmitZkArgs),
    /// Finalize an optimistic task after its challenge window (pays the provider); with the
    /// package and input, its output values go to the task's callback in the same transaction.
    Finalize(FinalizeArgs),
    /// Deliver a finalized task's output values to its callback contract (once per task; the
    /// values are computed by running the package and checked on-chain).
    Deliver(DeliverArgs),
    /// Show a task (and its dispute, if any).
    Status(IdArgs),
    /// Re-execute a posted result; if it differs, challenge it and play the dispute.
    Challenge(PlayArgs),
    /// Make your next moves in the dispute on a task (defender or challenger).
    Dispute(PlayArgs),
    /// Withdraw the tokens credited to you by the task manager (fees, rewards, bonds).
    Withdraw(IdlessArgs),
    /// Attest a finalized task's receipt with EAS (or, with --batch, every task finalized
    /// since the last batch as one attestation).
    Receipt(ReceiptArgs),
}

/// `vouch task receipt`
#[derive(Debug, Args)]
pub struct ReceiptArgs {
    /// The task id (omit with --batch).
    pub task: Option<U256>,
    /// Attest the receipt hash chain since the last batch instead of one task.
    #[arg(long)]
    pub batch: bool,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// Parses `--mode`, listing the modes in `--help`.
fn mode_parser() -> impl clap::builder::TypedValueParser<Value = Mode> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Mode::ALL.map(Mode::as_str))
        .map(|s: String| Mode::parse(&s).unwrap_or(Mode::Optimistic))
}

/// The package and input a task is about.
#[derive(Debug, Args)]
pub struct Work {
    /// The package file.
    #[arg(long, short = 'p')]
    pub package: PathBuf,
    /// Inputs: a JSON object mapping each input name to a nested array.
    #[arg(long, short = 'i')]
    pub input: PathBuf,
}

/// `vouch task request`
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The model id.
    #[arg(long, short = 'm')]
    pub model: u32,
    /// The model version.
    #[arg(long, default_value_t = 1)]
    pub version: u16,
    /// The package and its input.
    #[command(flatten)]
    pub work: Work,
    /// Fee in tokens.
    #[arg(long, default_value = "1")]
    pub fee: String,
    /// Seconds until the submission deadline.
    #[arg(long, default_value_t = 3600)]
    pub deadline: u32,
    /// Verification mode: optimistic (one bonded provider and a challenge window),
    /// committee (a committee drawn by stake) or zk (a zk proof).
    #[arg(long, value_parser = mode_parser(), default_value = "optimistic")]
    pub mode: Mode,
    /// A consumer contract (`IVouchConsumer`) to call with the verified result once final
    /// (not through a gateway, which requests without callbacks).
    #[arg(long, conflicts_with = "gateway")]
    pub callback: Option<Address>,
    /// Gas cap of the callback (at most the TaskManager's `maxCallbackGas`).
    #[arg(long, default_value_t = 200_000, requires = "callback")]
    pub callback_gas: u32,
    /// Send the input as EIP-4844 blobs of the request transaction (for inputs too large for
    /// calldata, e.g. images; at most 6 blobs, about 760 KB of packed 16-bit elements): the
    /// task names them (`blob:0x<versioned hash>,...`) and providers read them back.
    #[arg(long, conflicts_with = "signed")]
    pub input_blobs: bool,
    /// Pay for yourself with a signed request: sign it (EIP-712) and a permit of the fee
    /// (EIP-2612) with `--key`, in the version's fee token (`--fee` in that token's units),
    /// and have the gateway at `--gateway` submit it (it pays the gas), with `--direct`
    /// submit `FeeVault.requestSigned` yourself, or with `--out` hand it to a provider.
    #[arg(long)]
    pub signed: bool,
    /// The gateway that submits a `--signed` request (`http://host:port`).
    #[arg(long, requires = "signed")]
    pub gateway: Option<String>,
    /// Submit a `--signed` request on-chain from `--key` instead of through a gateway.
    #[arg(long, requires = "signed", conflicts_with = "gateway")]
    pub direct: bool,
    /// Write a `--signed` request to this file (JSON, the gateway's wire form) instead of
    /// submitting it, the input by CID: a zk provider proves it and creates, settles and
    /// delivers the task in one transaction (`vouch task submit-zk --signed FILE`, the
    /// cheapest verified decision). Its task id is printed: the request's EIP-712 digest.
    #[arg(long, requires = "signed", conflicts_with_all = ["gateway", "direct"])]
    pub out: Option<PathBuf>,
    /// A `--signed` request's nonce (used once; random when absent).
    #[arg(long, requires = "signed")]
    pub nonce: Option<u64>,
    /// Seconds a `--signed` request's signature stays valid.
    #[arg(long, default_value_t = 600, requires = "signed")]
    pub expiry: u64,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `vouch task finalize`
#[derive(Debug, Args)]
pub struct FinalizeArgs {
    /// The task id (decimal or 0x hex; a one-transaction zk task's id is its 256-bit
    /// request digest).
    pub task: U256,
    /// The package, run on the input for the values the callback receives.
    #[arg(long, short = 'p', requires = "input")]
    pub package: Option<PathBuf>,
    /// The task's input (a JSON object as for `vouch task request`).
    #[arg(long, short = 'i', requires = "package")]
    pub input: Option<PathBuf>,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `vouch task deliver`
#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// The task id (decimal or 0x hex; a one-transaction zk task's id is its 256-bit
    /// request digest).
    pub task: U256,
    /// The package and the task's input.
    #[command(flatten)]
    pub work: Work,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `vouch task submit`
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The task id (decimal or 0x hex; a one-transaction zk task's id is its 256-bit
    /// request digest).
    pub task: U256,
    /// The package and its input.
    #[command(flatten)]
    pub work: Work,
    /// Post a wrong result on purpose (one output element changed): a demo of a lie that a
    /// challenger catches and that gets this provider's bond slashed.
    #[arg(long)]
    pub lie: bool,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `vouch task submit-zk`
#[derive(Debug, Args)]
pub struct SubmitZkArgs {
    /// The task id (decimal or 0x hex; a one-transaction zk task's id is its 256-bit
    /// request digest). Not with `--signed`, which creates the task.
    #[arg(required_unless_present = "signed", conflicts_with = "signed")]
    pub task: Option<U256>,
    /// A client's signed zk request (`vouch task request --mode zk --signed --out FILE`):
    /// created, proved, settled and delivered in one transaction
    /// (`FeeVault.requestSignedZk`); you are its provider and are paid its fee.
    #[arg(long)]
    pub signed: Option<PathBuf>,
    /// The package and its input (one row).
    #[command(flatten)]
    pub work: Work,
    /// Keys file of the model (`vouch zk setup`).
    #[arg(long)]
    pub keys: PathBuf,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// A task id.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// The task id (decimal or 0x hex; a one-transaction zk task's id is its 256-bit
    /// request digest).
    pub task: U256,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// No task id.
#[derive(Debug, Args)]
pub struct IdlessArgs {
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `vouch task challenge|dispute`
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// The task id (decimal or 0x hex; a one-transaction zk task's id is its 256-bit
    /// request digest).
    pub task: U256,
    /// The package and its input.
    #[command(flatten)]
    pub work: Work,
    /// Keep playing until the dispute ends (polling every few seconds).
    #[arg(long)]
    pub watch: bool,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// The engine's run of a task: input commitment and bytes, and the full trace.
struct Run {
    input_commitment: B256,
    /// Rows of the input (each disputed on its own: docs/semantics.md section 8.5).
    rows: u16,
    input_bytes: Vec<u8>,
    trace: HonestTrace,
    output: B256,
    /// What the one-step check needs (node descriptors, constants, inputs).
    evidence: dispute::Evidence,
}

fn execute(w: &Work) -> Result<Run> {
    let pkg = io::read_package(&w.package)?;
    let input = io::read_json(&w.input)?;
    let floats = io::package_inputs(&pkg, &input)?;
    let inputs = codec::quantize_inputs(&pkg, &floats);
    let rows = vouch_engine::exec::rows_of(&pkg, &inputs)?;
    let rows = u16::try_from(rows)
        .map_err(|_| eyre::eyre!("{rows} rows exceed a task's limit of {}", u16::MAX))?;
    let input_commitment = B256::from(codec::input_commitment(Mode::Optimistic, &pkg, &inputs)?);
    let input_bytes = codec::inline_bytes(&inputs);
    let engine = Engine::new(
        &pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )?;
    let evidence = dispute::Evidence::new(&pkg, inputs.iter().map(|t| t.data.clone()).collect());
    let exec = engine.run(inputs)?;
    let trace = HonestTrace::of_package(exec.trace.iter().map(|t| t.data.clone()).collect(), &pkg);
    Ok(Run {
        input_commitment,
        rows,
        input_bytes,
        output: B256::from(exec.output_commitment()),
        trace,
        evidence,
    })
}

/// Runs `vouch task ...`.
pub fn run(cmd: &TaskCmd) -> Result<()> {
    runtime()?.block_on(async {
        match cmd {
            TaskCmd::Request(a) => request(a).await,
            TaskCmd::Submit(a) => submit(a).await,
            TaskCmd::SubmitZk(a) => submit_zk(a).await,
            TaskCmd::Finalize(a) => {
                let values = match (&a.package, &a.input) {
                    (Some(package), Some(input)) => execute(&Work {
                        package: package.clone(),
                        input: input.clone(),
                    })?
                    .trace
                    .output_values(),
                    _ => Vec::new(),
                };
                let sys = a.chain.system().await?;
                sys.finalize_with_values(a.task, &values).await?;
                let v = json!({
                    "id": a.task.to_string(),
                    "status": "finalized",
                    "delivered": !values.is_empty(),
                });
                out::result(v, || {
                    out::line(format!(
                        "task {} finalized{}",
                        a.task,
                        if values.is_empty() {
                            ""
                        } else {
                            " (values sent to its callback)"
                        }
                    ));
                });
                Ok(())
            }
            TaskCmd::Deliver(a) => {
                let values = execute(&a.work)?.trace.output_values();
                let sys = a.chain.system().await?;
                sys.deliver(a.task, &values).await?;
                out::result(
                    json!({ "id": a.task.to_string(), "delivered": true }),
                    || {
                        out::line(format!("task {}: values delivered to its callback", a.task));
                    },
                );
                Ok(())
            }
            TaskCmd::Status(a) => status(a).await,
            TaskCmd::Challenge(a) => play(a, true).await,
            TaskCmd::Dispute(a) => play(a, false).await,
            TaskCmd::Receipt(a) => {
                let sys = a.chain.system().await?;
                if a.batch {
                    let (uid, from, to) = sys.flush_receipts().await?;
                    let uid = hex0x(uid.as_slice());
                    let v = json!({ "uid": uid, "from": from.to_string(), "to": to.to_string() });
                    out::result(v, || {
                        out::line(format!("receipts {from}..{to} attested: uid {uid}"));
                    });
                } else {
                    let Some(task) = a.task else {
                        bail!("give a task id, or --batch");
                    };
                    let uid = hex0x(sys.attest_receipt(task).await?.as_slice());
                    out::result(json!({ "id": task.to_string(), "uid": uid }), || {
                        out::line(format!("task {task} receipt attested: uid {uid}"));
                    });
                }
                Ok(())
            }
            TaskCmd::Withdraw(a) => {
                let sys = a.chain.system().await?;
                let me = sys.client().sender("withdraw")?;
                let c = sys.credits(me).await?;
                sys.withdraw().await?;
                out::result(json!({ "withdrawn": c.to_string() }), || {
                    out::line(format!("withdrew {} VOUCH", fmt_tokens(c)));
                });
                Ok(())
            }
        }
    })
}

/// The package and the single input row of a zk task.
fn zk_work(w: &Work) -> Result<(vouch_model::Package, Vec<vouch_engine::Tensor>)> {
    let pkg = io::read_package(&w.package)?;
    let floats = io::package_inputs(&pkg, &io::read_json(&w.input)?)?;
    let inputs = codec::quantize_inputs(&pkg, &floats);
    if inputs
        .iter()
        .any(|t| t.shape.first().copied().unwrap_or(1) != 1)
    {
        bail!("a zk task proves one inference: give an input with one row");
    }
    Ok((pkg, inputs))
}

async fn request(a: &RequestArgs) -> Result<()> {
    vouch_task::modes::check_mode(&io::read_package(&a.work.package)?, a.mode)?;
    let mut run = execute(&a.work)?;
    if a.mode == Mode::Zk {
        // zk mode commits to the input with Poseidon (the verifier's public input 0)
        let (pkg, inputs) = zk_work(&a.work)?;
        run.input_commitment = B256::from(codec::input_commitment(Mode::Zk, &pkg, &inputs)?);
    }
    if a.signed {
        return request_signed(a, run).await;
    }
    let sys = a.chain.system().await?;
    let cid = vouch_primitives::Cid::of_file(&run.input_bytes).to_string();
    let r = Request {
        model_id: a.model,
        version: a.version,
        mode: a.mode,
        fee: parse_tokens(&a.fee)?,
        deadline_secs: a.deadline,
        input_commitment: run.input_commitment,
        rows: run.rows,
        input_cid: cid.clone(),
        inline_input: run.input_bytes,
        callback: a.callback.map(|target| Callback {
            target,
            gas: a.callback_gas,
        }),
    };
    let (id, cid) = if a.input_blobs {
        let (id, name, _) = sys.request_with_blobs(&r, &r.inline_input).await?;
        (id, name)
    } else {
        (sys.request(&r).await?, cid)
    };
    let commitment = hex0x(run.input_commitment.as_slice());
    let v = json!({
        "id": id.to_string(),
        "mode": a.mode.as_str(),
        "input_cid": cid,
        "input_commitment": commitment,
        "status": "requested",
    });
    out::result(v, || {
        out::line(format!("task {id}"));
        out::line(format!("  input commitment {commitment}"));
        out::line(format!("  input cid        {cid}"));
    });
    Ok(())
}

async fn submit(a: &SubmitArgs) -> Result<()> {
    let mut run = execute(&a.work)?;
    let sys = a.chain.system().await?;
    let t = sys.task(a.task).await?;
    if t.input_commitment != run.input_commitment {
        bail!(
            "the input does not match task {}'s input commitment {}",
            a.task,
            t.input_commitment
        );
    }
    if a.lie {
        run.trace.perturb_last();
        run.output = run.trace.output_commitment();
    }
    let trace_root = run.trace.trace_root();
    sys.submit(a.task, run.output, trace_root).await?;
    let (output, trace) = (hex0x(run.output.as_slice()), hex0x(trace_root.as_slice()));
    let v = json!({
        "id": a.task.to_string(),
        "status": "submitted",
        "commitment": output,
        "trace_root": trace,
    });
    out::result(v, || {
        out::line(format!("task {} submitted", a.task));
        out::line(format!("  output commitment {output}"));
        out::line(format!("  trace root        {trace}"));
    });
    Ok(())
}

async fn submit_zk(a: &SubmitZkArgs) -> Result<()> {
    let (pkg, inputs) = zk_work(&a.work)?;
    let keys =
        std::fs::read(&a.keys).map_err(|e| eyre::eyre!("cannot read {}: {e}", a.keys.display()))?;
    let sys = a.chain.system().await?;
    let ic = B256::from(vouch_zk_prover::task::input_commitment(&pkg, &inputs)?);
    // the task to fill: an existing one, or a client's signed request to create with the proof
    let signed = match &a.signed {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| eyre::eyre!("cannot read {}: {e}", path.display()))?;
            let s: vouch_chain::signed::SignedRequest = serde_json::from_slice(&bytes)
                .map_err(|e| eyre::eyre!("{} is not a signed request: {e}", path.display()))?;
            if s.input.mode != Mode::Zk.code() {
                bail!(
                    "{} is a {} request: only a zk request is filled in one transaction",
                    path.display(),
                    Mode::from_code(s.input.mode).map_or("?", Mode::as_str)
                );
            }
            if s.input.input_commitment != ic {
                bail!(
                    "the input does not match the signed request's input commitment {}",
                    s.input.input_commitment
                );
            }
            Some(s)
        }
        None => None,
    };
    if let Some(id) = a.task {
        let t = sys.task(id).await?;
        if t.input_commitment != ic {
            bail!(
                "the input does not match task {id}'s input commitment {} (zk tasks commit with Poseidon: request with --mode zk)",
                t.input_commitment
            );
        }
    }
    let pb = out::spinner("proving");
    let s = tokio::task::spawn_blocking(move || vouch_zk_prover::task::prove(&pkg, &keys, inputs))
        .await??;
    pb.finish_and_clear();
    let output = B256::from(s.output_commitment);
    let id = match (&signed, a.task) {
        (Some(req), _) => {
            sys.request_signed_zk(req, output, s.calldata.clone().into())
                .await?
                .0
        }
        (None, Some(id)) => {
            sys.submit_zk(id, output, s.calldata.clone().into()).await?;
            id
        }
        (None, None) => bail!("give a task id or --signed FILE"),
    };
    let output = hex0x(&s.output_commitment);
    let v = json!({
        "id": id.to_string(),
        "status": "finalized",
        "commitment": output,
        "constraints": s.constraints,
        "witness_seconds": s.witness_time.as_secs_f64(),
        "prove_seconds": s.prove_time.as_secs_f64(),
    });
    out::result(v, || {
        out::line(format!("task {id} proved and submitted"));
        out::line(format!("  output commitment {output}"));
        out::line(format!(
            "  proof             {} constraints, witness {:.2} s, prove {:.2} s",
            s.constraints,
            s.witness_time.as_secs_f64(),
            s.prove_time.as_secs_f64()
        ));
    });
    Ok(())
}

async fn status(a: &IdArgs) -> Result<()> {
    let sys = a.chain.system().await?;
    let id = a.task;
    let t = sys.task(id).await?;
    let st = status_name(t.status);
    let mode = Mode::from_code(t.mode).map_or("?", Mode::as_str);
    let rows = vec![
        vec!["status".to_owned(), st.to_owned()],
        vec!["mode".to_owned(), mode.to_owned()],
        vec!["model".to_owned(), format!("{} v{}", t.model_id, t.version)],
        vec!["requester".to_owned(), t.requester.to_string()],
        vec!["provider".to_owned(), t.provider.to_string()],
        vec!["fee".to_owned(), fmt_tokens(U256::from(t.fee))],
        vec!["deadline".to_owned(), t.deadline.to_string()],
        vec!["input".to_owned(), t.input_commitment.to_string()],
        vec!["output".to_owned(), t.output_commitment.to_string()],
        vec!["trace root".to_owned(), t.trace_root.to_string()],
    ];
    let d = sys.dispute_of(id).await?;
    let game = if d.is_zero() {
        None
    } else {
        let g = sys
            .client()
            .call("DisputeGame.game", sys.dispute_game().game(d))
            .await?;
        let phase = PHASES.get(usize::from(g.phase)).copied().unwrap_or("?");
        let outcome = dispute::OUTCOMES.get(usize::from(g.outcome)).copied();
        Some((phase, g.node, g.element, outcome.unwrap_or("?")))
    };
    let v = json!({
        "id": a.task.to_string(),
        "status": st,
        "terminal": matches!(st, "finalized" | "refunded" | "failed"),
        "mode": mode,
        "model_id": t.model_id,
        "version": t.version,
        "requester": t.requester.to_string(),
        "provider": t.provider.to_string(),
        "fee": t.fee.to_string(),
        "deadline": t.deadline,
        "input_commitment": t.input_commitment.to_string(),
        "commitment": t.output_commitment.to_string(),
        "trace_root": t.trace_root.to_string(),
        "dispute": game.map(|(phase, node, element, outcome)| json!({
            "id": d.to_string(), "phase": phase, "node": node, "element": element, "outcome": outcome,
        })),
    });
    out::result(v, || {
        out::line(out::table(&["task", &a.task.to_string()], &rows));
        if let Some((phase, node, element, outcome)) = game {
            out::line(format!(
                "dispute {d}: phase {phase}, node {node}, element {element}, outcome {outcome}"
            ));
        }
    });
    Ok(())
}

async fn play(a: &PlayArgs, open: bool) -> Result<()> {
    let run = execute(&a.work)?;
    let sys = a.chain.system().await?;
    let id = a.task;
    let t = sys.task(id).await?;
    let mine = run.trace.trace_root();
    let mut game = sys.dispute_of(id).await?;
    if open && usize::from(t.status) == 2 {
        if t.output_commitment == run.output && t.trace_root == mine {
            out::result(
                json!({ "id": a.task.to_string(), "challenged": false }),
                || {
                    out::line(format!(
                        "task {}: the posted result matches this execution; nothing to challenge",
                        a.task
                    ));
                },
            );
            return Ok(());
        }
        game = sys.challenge(id, run.output, mine).await?;
        out::line(format!(
            "task {}: posted output {} differs from {}; dispute {game} opened",
            a.task, t.output_commitment, run.output
        ));
    }
    if game.is_zero() {
        bail!("task {} has no dispute", a.task);
    }
    loop {
        let mv = dispute::step_with(&sys, game, &run.trace, Some(&run.evidence)).await?;
        match mv {
            Move::Posted(what) => out::line(format!("dispute {game}: posted {what}")),
            Move::ClaimedTimeout => {
                out::line(format!(
                    "dispute {game}: the other party missed its deadline"
                ));
            }
            Move::Waiting { deadline } => {
                if !a.watch {
                    let v = json!({
                        "id": a.task.to_string(),
                        "dispute": game.to_string(),
                        "status": "waiting",
                        "deadline": deadline.to_string(),
                    });
                    out::result(v, || {
                        out::line(format!(
                            "dispute {game}: waiting for the other party (deadline {deadline}); run again or pass --watch"
                        ));
                    });
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Move::NeedsOneStep => {
                out::line(format!(
                    "dispute {game}: narrowed to one element; the one-step check is not automated yet"
                ));
                return Ok(());
            }
            Move::Done { outcome } => {
                let t = sys.task(id).await?;
                let st = status_name(t.status);
                let v = json!({
                    "id": a.task.to_string(),
                    "dispute": game.to_string(),
                    "outcome": outcome.to_string(),
                    "status": st,
                });
                out::result(v, || {
                    out::line(format!(
                        "dispute {game}: {outcome}; task {} is {st}",
                        a.task
                    ));
                });
                return Ok(());
            }
        }
    }
}
