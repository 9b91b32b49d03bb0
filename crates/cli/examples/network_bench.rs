//! The network benchmark: a local network (`vouch up` in-process, 4 providers, a challenger,
//! the gateway) on anvil, measured from the client's side of the gateway.
//!
//! Prints: time to finality per mode, tasks per second through the gateway with p50/p95
//! latency, gas per verified decision (receipts of every transaction mined during the load,
//! successful ones per task, reverted ones reported apart), and the share of results
//! re-checked by the challenger.
//!
//! ```text
//! cargo run --release -p vouch-cli --example network_bench -- [--tasks 1500] [--rate 50] [--window 5] [--block-time 0.25 | --block-time auto] [--restart true]
//! ```

#![allow(clippy::print_stdout)] // a benchmark program: its output is the report

use eyre::{Result, bail, eyre};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use vouch_chain::alloy::providers::Provider;
use vouch_gateway::client::GatewayClient;
use vouch_localnet::{self as up, CLIENT_KEY, INPUT, UpOptions};

struct Opts {
    tasks: usize,
    rate: f64,
    window: u32,
    providers: usize,
    finality_runs: usize,
    block_time: Option<f64>,
    restart: bool,
}

fn parse() -> Result<Opts> {
    let mut o = Opts {
        tasks: 1500,
        rate: 50.0,
        window: 5,
        providers: 4,
        finality_runs: 3,
        block_time: Some(0.25),
        restart: true,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().ok_or_else(|| eyre!("{a} needs a value"))?;
        match a.as_str() {
            "--tasks" => o.tasks = v.parse()?,
            "--rate" => o.rate = v.parse()?,
            "--window" => o.window = v.parse()?,
            "--providers" => o.providers = v.parse()?,
            "--finality-runs" => o.finality_runs = v.parse()?,
            "--block-time" if v == "auto" => o.block_time = None,
            "--block-time" => o.block_time = Some(v.parse()?),
            "--restart" => o.restart = v.parse()?,
            _ => bail!(
                "unknown option {a} (--tasks N --rate R --window S --providers P --finality-runs K --block-time SECONDS --restart true|false)"
            ),
        }
    }
    Ok(o)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn inputs() -> Result<Vec<serde_json::Value>> {
    let input: serde_json::Value = serde_json::from_str(INPUT)?;
    Ok(input["input"]
        .as_array()
        .ok_or_else(|| eyre!("embedded input"))?
        .iter()
        .map(|r| serde_json::json!({ "input": [r] }))
        .collect())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let o = parse()?;
    vouch_cli::logging::init_quiet();
    let dir = std::env::temp_dir().join(format!("vouch-network-bench-{}", std::process::id()));
    let net = up::start(&UpOptions {
        providers: o.providers,
        liars: 0,
        rpc_port: 0,
        gateway: "127.0.0.1:0".parse()?,
        dir: dir.clone(),
        window: o.window,
        zk: true,
        block_time: o.block_time.map(Duration::from_secs_f64),
        resume: false,
        progress: vouch_localnet::Progress::SILENT,
    })
    .await?;
    let mut net = net;
    let result = bench(&o, &mut net).await;
    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench(o: &Opts, net: &mut up::Network) -> Result<()> {
    let domain = net.gateway.addr.to_string();
    let client = Arc::new(
        GatewayClient::sign_in(
            &net.gateway.url(),
            &domain,
            net.deployment.chain_id,
            &up::dev_signing_key(CLIENT_KEY).unwrap(),
        )
        .await?,
    );
    let rows = inputs()?;
    let fee = vouch_chain::TOKEN / 100;
    println!(
        "network benchmark: digits MLP, {} providers + 1 challenger (re-checks every result), gateway",
        o.providers
    );
    let mining = match o.block_time {
        None => "a block per transaction (auto-mine) plus an empty block each second".to_owned(),
        Some(b) => format!("a block every {b} s holding every pending transaction"),
    };
    println!(
        "devnet: anvil, {mining}; challenge/reveal window {} s",
        o.window
    );
    println!();

    // 1. time to finality per mode, one task at a time
    let mut fin = Vec::new();
    for mode in ["optimistic", "committee", "zk"] {
        let mut secs = Vec::new();
        for r in 0..o.finality_runs {
            let t = Instant::now();
            let id = client
                .create(&net.cid, &rows[r % rows.len()], mode, fee)
                .await?;
            let v = client.wait(&id, Duration::from_secs(300)).await?;
            if v["status"] != "finalized" {
                bail!("{mode} task {id} ended {v}");
            }
            secs.push(t.elapsed().as_secs_f64());
        }
        let window = if mode == "optimistic" { o.window } else { 0 };
        fin.push((mode, pct(&mut secs.clone(), 0.5), window));
    }
    println!(
        "| mode | time to finality (median of {}) | of which window |",
        o.finality_runs
    );
    println!("|---|---|---|");
    for (m, s, w) in &fin {
        println!("| {m} | {s:.2} s | {w} s |");
    }
    println!();

    // 2. sustained load: optimistic tasks offered at a fixed rate
    let chall0 = net
        .challenger
        .metrics()
        .results_rechecked
        .load(Ordering::Relaxed);
    let head0 = net
        .system(0)
        .await?
        .client()
        .provider()
        .get_block_number()
        .await?;
    let start = Instant::now();
    let mut handles = Vec::new();
    let period = Duration::from_secs_f64(1.0 / o.rate);
    // the restart: provider 1 crashes halfway through the offers and comes back 2 s later
    let crash_at = o.tasks / 2;
    let back_at = crash_at + (2.0 * o.rate) as usize;
    let mut crashed = None;
    let mut restart_note = None;
    for i in 0..o.tasks {
        let due = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        if o.restart && o.providers > 1 && i == crash_at {
            crashed = Some(net.crash_provider(1)?);
            restart_note = Some(format!(
                "provider1 crashed at {:.1} s into the load",
                start.elapsed().as_secs_f64()
            ));
        }
        if i == back_at
            && let Some(c) = crashed.take()
        {
            net.restart_provider(c).await?;
            if let Some(n) = &mut restart_note {
                n.push_str(&format!(
                    " and restarted from its journal at {:.1} s",
                    start.elapsed().as_secs_f64()
                ));
            }
        }
        let c = client.clone();
        let input = rows[i % rows.len()].clone();
        let cid = net.cid;
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let id = c.create(&cid, &input, "optimistic", fee).await?;
            let accepted = t.elapsed().as_secs_f64();
            let v = c.wait(&id, Duration::from_secs(600)).await?;
            let settled_at = start.elapsed().as_secs_f64();
            Ok::<_, eyre::Report>((
                id,
                v["status"].as_str().unwrap_or("?").to_owned(),
                accepted,
                t.elapsed().as_secs_f64(),
                settled_at,
            ))
        }));
    }
    if let Some(c) = crashed.take() {
        net.restart_provider(c).await?;
    }
    let offered = start.elapsed().as_secs_f64();
    let mut lat = Vec::new();
    let mut acc = Vec::new();
    let mut ends = Vec::new();
    // settle latency by offer order (None: not finalized), for the drift between the first and
    // the last tenth of the run: near zero when the network keeps up with the offered rate
    let mut by_order: Vec<Option<f64>> = Vec::new();
    let mut ids = HashSet::new();
    let mut failed = 0usize;
    let mut errors = BTreeMap::<String, usize>::new();
    for h in handles {
        match h.await? {
            Ok((id, status, a, l, at)) => {
                by_order.push((status == "finalized").then_some(l));
                if status == "finalized" {
                    ends.push(at);
                    lat.push(l);
                    acc.push(a);
                    ids.insert(id);
                } else {
                    failed += 1;
                    *errors.entry(status).or_default() += 1;
                }
            }
            Err(e) => {
                by_order.push(None);
                failed += 1;
                *errors
                    .entry(format!("{e:#}").chars().take(100).collect())
                    .or_default() += 1;
            }
        }
    }
    let done = lat.len();
    let window = f64::from(o.window);
    let first = ends.iter().copied().fold(f64::INFINITY, f64::min);
    let last = ends.iter().copied().fold(0.0, f64::max);
    let tenth = (by_order.len() / 10).max(1);
    let mut head: Vec<f64> = by_order[..tenth.min(by_order.len())]
        .iter()
        .flatten()
        .copied()
        .collect();
    let mut tail: Vec<f64> = by_order[by_order.len().saturating_sub(tenth)..]
        .iter()
        .flatten()
        .copied()
        .collect();
    let drift = pct(&mut tail, 0.5) - pct(&mut head, 0.5);
    println!(
        "| load | offered | finalized | lost | sustained (finalized per second, first to last finalization) | settle drift (p50 of the last tenth - first tenth) | accept p50 / p95 | settle p50 / p95 | settle - window p95 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let (a50, a95) = (pct(&mut acc.clone(), 0.5), pct(&mut acc.clone(), 0.95));
    let (l50, l95) = (pct(&mut lat.clone(), 0.5), pct(&mut lat.clone(), 0.95));
    println!(
        "| {} tasks at {:.0}/s | {:.1} s | {done} | {failed} | {:.1} tasks/s | {drift:+.2} s | {a50:.2} / {a95:.2} s | {l50:.2} / {l95:.2} s | {:.2} s |",
        o.tasks,
        o.rate,
        offered,
        (done.saturating_sub(1)) as f64 / (last - first).max(1e-9),
        l95 - window
    );
    if let Some(n) = restart_note {
        let m = net.providers[1].node.metrics();
        println!(
            "{n}: it resumed {} accepted task(s) from its journal and finalized {} task(s) after the restart (all counted above)",
            m.tasks_resumed.load(Ordering::Relaxed),
            m.tasks_finalized.load(Ordering::Relaxed)
        );
    }
    if !errors.is_empty() {
        println!("not finalized: {errors:?}");
    }
    println!();

    // 3. gas per verified decision and the share re-checked: the receipts of every transaction
    // mined during the load (the network's own and the gateway's), by destination; a reverted
    // transaction's gas is reported on its own, not hidden in the per-task figure
    let sys = net.system(0).await?;
    let p = sys.client().provider();
    let head1 = p.get_block_number().await?;
    let c = &net.deployment.contracts;
    let mut gas: BTreeMap<&str, (u64, u128)> = BTreeMap::new();
    for b in head0 + 1..=head1 {
        for r in p.get_block_receipts(b.into()).await?.unwrap_or_default() {
            let to = match r.to {
                _ if !r.status() => "reverted",
                Some(a) if a == c.task_manager => "TaskManager",
                Some(a) if a == c.receipts => "ReceiptAttester",
                Some(a) if a == c.token => "VouchToken",
                Some(a) if a == c.dispute_game => "DisputeGame",
                _ => "other",
            };
            let e = gas.entry(to).or_default();
            e.0 += 1;
            e.1 += u128::from(r.gas_used);
        }
    }
    let ok: u128 = gas
        .iter()
        .filter(|(k, _)| **k != "reverted")
        .map(|(_, v)| v.1)
        .sum();
    let by: Vec<String> = gas
        .iter()
        .map(|(k, (n, g))| format!("{k}: {n} tx, {g} gas"))
        .collect();
    let rechecked = net
        .challenger
        .metrics()
        .results_rechecked
        .load(Ordering::Relaxed)
        - chall0;
    println!(
        "| gas per finalized optimistic task (gasUsed of every successful transaction during the load / tasks) | results re-checked by the challenger |"
    );
    println!("|---|---|");
    println!(
        "| {:.0} gas ({done} tasks; {}) | {:.1}% ({rechecked} of {}) |",
        ok as f64 / done.max(1) as f64,
        by.join("; "),
        100.0 * rechecked as f64 / o.tasks.max(1) as f64,
        o.tasks
    );
    if failed > 0 {
        bail!("{failed} task(s) were not finalized");
    }
    Ok(())
}
