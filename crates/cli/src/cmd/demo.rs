//! `vouch demo`: the narrated end-to-end scenario on a local network (`vouch up` in-process).
//!
//! A client signs in to the gateway with Sign-In with Ethereum and asks for a digit
//! classification in each mode (optimistic, committee, zk); the answers come back settled
//! on-chain and are compared with the true labels. Then a faulty provider joins and lies: the
//! challenger node re-executes, disputes, and the one-step check slashes the liar. Finally the
//! receipts of the settled tasks are attested in EAS and verified independently. Exits
//! non-zero if any step fails. `--offline` runs the model pipeline alone (no chain).

use crate::out;
use clap::Args;
use eyre::{Result, WrapErr, bail, eyre};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use vouch_chain::alloy::primitives::U256;
use vouch_chain::{System, TOKEN};
use vouch_localnet::{self as up, CLIENT_KEY, INPUT, LABELS, UpOptions};
use vouch_node::{Lie, Node, NodeConfig, Roles};
use vouch_primitives::Cid;

/// `vouch demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Working directory (wiped at start).
    #[arg(long, default_value = ".vouch/demo")]
    pub dir: PathBuf,
    /// Only the model pipeline: import, quantize, infer, check (no chain).
    #[arg(long)]
    pub offline: bool,
    /// Honest provider nodes.
    #[arg(long, default_value_t = 3)]
    pub providers: usize,
    /// Challenge and reveal windows in seconds.
    #[arg(long, default_value_t = 8)]
    pub window: u32,
    /// Skip the zk mode (no setup).
    #[arg(long)]
    pub no_zk: bool,
}

/// The fee a demo task offers: 0.1 VOUCH.
const FEE: u128 = TOKEN / 10;

fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        out::line(format!("  ok    {what}"));
        Ok(())
    } else {
        bail!("demo check failed: {what}")
    }
}

pub use vouch_gateway::client::GatewayClient;

/// Signs in to the gateway at `base` with SIWE as dev key `key`.
pub async fn sign_in_dev(
    base: &str,
    domain: &str,
    chain_id: u64,
    key: usize,
) -> Result<GatewayClient> {
    let sk = up::dev_signing_key(key)?;
    Ok(GatewayClient::sign_in(base, domain, chain_id, &sk).await?)
}

/// Row `r` of the embedded held-out inputs, as the gateway's input JSON, and its label.
fn row(r: usize) -> Result<(Value, usize)> {
    let input: Value = serde_json::from_str(INPUT).wrap_err("embedded input")?;
    let labels: Vec<usize> = serde_json::from_str(LABELS).wrap_err("embedded labels")?;
    let x = input["input"]
        .get(r)
        .cloned()
        .ok_or_else(|| eyre!("no row {r}"))?;
    Ok((
        json!({ "input": [x] }),
        labels.get(r).copied().unwrap_or(usize::MAX),
    ))
}

/// The predicted digit from the gateway's output JSON (read from its store).
fn digit(net: &up::Network, view: &Value) -> Option<usize> {
    let cid: Cid = view["output_cid"].as_str()?.parse().ok()?;
    let store = vouch_store::Store::open(net.dir.join("gateway/store")).ok()?;
    let v: Value = serde_json::from_slice(&store.get(&cid).ok()?).ok()?;
    let probs = v["outputs"]["probabilities"]
        .get(0)
        .or_else(|| v["probabilities"].get(0))?
        .as_array()?
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NEG_INFINITY))
        .collect::<Vec<_>>();
    probs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

/// Runs `vouch demo`.
pub fn run(a: &DemoArgs) -> Result<()> {
    if a.offline {
        return crate::cmd::pipeline::run(a);
    }
    crate::logging::init_quiet();
    crate::chain_args::runtime()?.block_on(scenario(a))
}

struct Settled {
    mode: &'static str,
    task: U256,
    secs: f64,
    status: String,
}

async fn scenario(a: &DemoArgs) -> Result<()> {
    out::line("vouch demo: verifiable inference on a local network, end to end");
    out::line("");
    out::line("1. bring up the network (devnet, contracts, model, providers, challenger, gateway)");
    let opts = UpOptions {
        providers: a.providers,
        liars: 0,
        rpc_port: 0,
        gateway: "127.0.0.1:0".parse()?,
        dir: a.dir.clone(),
        window: a.window,
        zk: !a.no_zk,
        block_time: None,
        resume: false,
        progress: crate::cmd::up::PRINT,
    };
    let net = up::start(&opts).await?;
    crate::cmd::up::print(&net);
    let result = run_steps(a, &net).await;
    net.stop();
    result
}

async fn run_steps(a: &DemoArgs, net: &up::Network) -> Result<()> {
    let domain = net.gateway.addr.to_string();
    let client = sign_in_dev(
        &net.gateway.url(),
        &domain,
        net.deployment.chain_id,
        CLIENT_KEY,
    )
    .await?;
    let owner = net.system(0).await?;
    out::line("");
    out::line("2. sign in to the gateway with Sign-In with Ethereum (EIP-4361)");
    check(
        !client.token().is_empty(),
        "session issued for the client's did:pkh",
    )?;

    let mut settled = Vec::new();
    let modes: &[&'static str] = if a.no_zk {
        &["optimistic", "committee"]
    } else {
        &["optimistic", "committee", "zk"]
    };
    for (i, mode) in modes.iter().enumerate() {
        out::line("");
        let how = match *mode {
            "optimistic" => format!(
                "one provider posts the result; {} s challenge window",
                a.window
            ),
            "committee" => "3 providers drawn by stake commit, then reveal".to_owned(),
            _ => "the provider proves the inference (Groth16); final in one transaction".to_owned(),
        };
        let article = if mode.starts_with('o') { "an" } else { "a" };
        out::line(format!(
            "{}. {article} {mode} task through the gateway: {how}",
            3 + i
        ));
        let (input, label) = row(10 + i)?;
        let t = Instant::now();
        let id = client.create(&net.cid, &input, mode, FEE).await?;
        let v = client.wait(&id, Duration::from_secs(180)).await?;
        let secs = t.elapsed().as_secs_f64();
        let status = v["status"].as_str().unwrap_or("?").to_owned();
        out::line(format!("  task {id}: {status} after {secs:.1} s"));
        check(
            status == "finalized",
            &format!("the {mode} task settled on-chain"),
        )?;
        let d = digit(net, &v);
        out::line(format!(
            "  answer: digit {} (true label {label}); output commitment {}",
            d.map_or_else(|| "?".to_owned(), |d| d.to_string()),
            v["commitment"].as_str().unwrap_or("?")
        ));
        check(
            d.is_some(),
            "the gateway returned the settled output (it matches the on-chain commitment)",
        )?;
        let task: U256 = id.parse().map_err(|_| eyre!("task id {id}"))?;
        settled.push(Settled {
            mode,
            task,
            secs,
            status,
        });
    }

    // a liar joins
    out::line("");
    let n = 3 + modes.len();
    out::line(format!(
        "{n}. a faulty provider joins and posts a wrong answer"
    ));
    let liar_key = 3 + a.providers;
    let liar_sys = net.system(liar_key).await?;
    liar_sys.join(net.model_id, 5_000 * TOKEN).await?;
    let liar = start_liar(net, liar_sys.clone()).await?;
    let me = liar.address();
    let stake_before = owner.provider_info(me).await?.stake;
    let challenger = net.challenger.address();
    let credits_before = owner.credits(challenger).await?;
    let mut caught = None;
    for attempt in 0..5 {
        let (input, _) = row(20 + attempt)?;
        let id = client.create(&net.cid, &input, "optimistic", FEE).await?;
        let task: U256 = id.parse().map_err(|_| eyre!("task id {id}"))?;
        // wait until someone posted
        let t0 = Instant::now();
        let posted = loop {
            let t = owner.task(task).await?;
            if t.status >= 2 {
                break t;
            }
            if t0.elapsed() > Duration::from_secs(60) {
                bail!("nobody served task {task}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if posted.provider == me {
            out::line(format!(
                "  task {task}: the faulty provider {me} posted output {}",
                posted.output_commitment
            ));
            let v = client.wait(&id, Duration::from_secs(180)).await?;
            out::line(format!(
                "  task {task}: {} ({})",
                v["status"].as_str().unwrap_or("?"),
                v["detail"].as_str().unwrap_or("")
            ));
            caught = Some((task, t0.elapsed().as_secs_f64()));
            break;
        }
        out::line(format!(
            "  task {task} went to an honest provider; asking again"
        ));
        client.wait(&id, Duration::from_secs(180)).await?;
    }
    liar.kill();
    let (task, secs) = caught.ok_or_else(|| eyre!("the faulty provider never won a task"))?;
    let t = owner.task(task).await?;
    check(
        t.status == 6,
        "the challenger disputed and the one-step check ruled against the liar (task failed, fee refunded)",
    )?;
    let stake_after = owner.provider_info(me).await?.stake;
    out::line(format!(
        "  liar's stake {} -> {} VOUCH",
        stake_before / TOKEN,
        stake_after / TOKEN
    ));
    check(
        stake_before - stake_after == net.cfg.provider_bond,
        "the liar's bond is slashed",
    )?;
    // what the dispute's resolution credited the challenger (its audit rewards, paid as the
    // challenger node audits other tasks meanwhile, come in other transactions)
    let won = dispute_credits(&owner, task, challenger).await?;
    check(
        won == U256::from(net.cfg.challenger_bond + net.cfg.provider_bond),
        "the challenger got its bond back plus the liar's bond",
    )?;
    check(
        owner.credits(challenger).await? - credits_before >= won,
        "the challenger's balance holds its winnings",
    )?;
    settled.push(Settled {
        mode: "optimistic (liar)",
        task,
        secs,
        status: "failed".into(),
    });

    // receipts
    out::line("");
    out::line(format!(
        "{}. receipts: attested in EAS and verified independently",
        n + 1
    ));
    let checker = net.system(CLIENT_KEY).await?;
    // the challenger node attests receipts every few seconds; anyone may flush the rest now
    match checker.flush_receipts().await {
        Ok((uid, from, to)) => {
            out::line(format!("  receipts {from}..{to} attested: EAS uid {uid}"))
        }
        Err(e) if e.revert_name() == Some("NothingToAttest") => {}
        Err(e) => return Err(e.into()),
    }
    for s in settled.iter().filter(|s| s.status == "finalized") {
        let checks = verify_receipt(net, &checker, s.task).await?;
        let failed: Vec<&String> = checks
            .iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, w)| w)
            .collect();
        check(
            failed.is_empty(),
            &format!(
                "task {} ({}): {} receipt checks pass{}",
                s.task,
                s.mode,
                checks.len(),
                if failed.is_empty() {
                    String::new()
                } else {
                    format!(" — failed: {failed:?}")
                }
            ),
        )?;
    }

    out::line("");
    let rows: Vec<Vec<String>> = settled
        .iter()
        .map(|s| {
            vec![
                s.mode.to_owned(),
                s.task.to_string(),
                s.status.clone(),
                format!("{:.1} s", s.secs),
            ]
        })
        .collect();
    out::line(out::table(
        &["mode", "task", "outcome", "request to settlement"],
        &rows,
    ));
    out::line("demo finished: every check passed");
    Ok(())
}

async fn start_liar(net: &up::Network, sys: System) -> Result<Node> {
    let mut cfg = NodeConfig::new("liar", net.dir.join("liar"));
    cfg.roles = Roles {
        provider: true,
        challenger: false,
        committee: false,
        auditor: false,
    };
    cfg.lie = Lie::Always;
    cfg.stagger = Duration::ZERO;
    cfg.models = vec![net.model_id];
    cfg.peers = net
        .providers
        .first()
        .and_then(|p| p.node.http_addr())
        .map(|a| format!("http://{a}"))
        .into_iter()
        .collect();
    cfg.start_block = Some(vouch_node::chainview::head(&sys).await?);
    Ok(Node::start(sys, cfg, None).await?)
}

/// Verifies a settled task's receipt as `vouch receipt verify` does: `(passed, what)` per check.
async fn verify_receipt(
    net: &up::Network,
    sys: &System,
    task: U256,
) -> Result<Vec<(bool, String)>> {
    let pkg_path = net.dir.join("digits_mlp.vpkg");
    if !pkg_path.exists() {
        crate::io::write_atomic(&pkg_path, &net.pkg.to_bytes())?;
    }
    let args = crate::cmd::receipt::VerifyArgs {
        task: u64::try_from(task).map_err(|_| eyre!("task id {task}"))?,
        package: Some(pkg_path),
        keys: net.zk.as_ref().map(|(_, k)| k.clone()),
        chain: crate::chain_args::ChainArgs {
            dirs: crate::chain_args::DataDirArgs {
                data_dir: net.dir.clone(),
            },
            rpc_url: net.rpc_url(),
            key: None,
            password_file: None,
        },
    };
    let facts = sys.receipt_facts(task).await?;
    let vk = if facts.zk_verifier.is_zero() {
        None
    } else {
        sys.verifier_info(facts.zk_verifier)
            .await
            .ok()
            .map(|i| i.vk_hash)
    };
    Ok(crate::cmd::receipt::offchain_checks(&args, facts, vk)
        .into_iter()
        .map(|c| {
            let detail = match &c.result {
                Ok(d) => d.clone(),
                Err(e) => e.clone(),
            };
            (c.passed(), format!("{}: {detail}", c.what))
        })
        .collect())
}

/// The sum of the `Credited` events to `who` in the transaction that resolved `task`'s dispute.
async fn dispute_credits(
    sys: &System,
    task: U256,
    who: vouch_chain::alloy::primitives::Address,
) -> Result<U256> {
    use vouch_chain::alloy::primitives::B256;
    use vouch_chain::alloy::providers::Provider;
    use vouch_chain::alloy::rpc::types::Filter;
    use vouch_chain::alloy::sol_types::SolEvent;
    use vouch_chain::bindings::task_manager::TaskManager;
    let tm = sys.deployment().contracts.task_manager;
    let p = sys.client().provider();
    let resolved = p
        .get_logs(
            &Filter::new()
                .address(tm)
                .event_signature(TaskManager::DisputeResolved::SIGNATURE_HASH)
                .topic1(B256::from(task))
                .from_block(sys.deployment().block),
        )
        .await
        .wrap_err("reading DisputeResolved")?;
    let tx = resolved
        .last()
        .and_then(|l| l.transaction_hash)
        .ok_or_else(|| eyre!("task {task} has no resolved dispute"))?;
    let rc = p
        .get_transaction_receipt(tx)
        .await
        .wrap_err("reading the resolution's receipt")?
        .ok_or_else(|| eyre!("no receipt for {tx}"))?;
    let mut sum = U256::ZERO;
    for l in rc.inner.logs() {
        if l.address() == tm
            && let Ok(c) = l.log_decode::<TaskManager::Credited>()
            && c.inner.data.to == who
        {
            sum += c.inner.data.amount;
        }
    }
    Ok(sum)
}
