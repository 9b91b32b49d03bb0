//! Times the per-model setup phases: `cargo run --release -p vouch-zk-prover --example
//! setup_bench -- PACKAGE.vpkg FILE.ptau`.

#![allow(clippy::print_stdout)] // a command-line benchmark

use std::time::Instant;
use vouch_zk_prover::{circuit, groth, ptau};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let (pkg_path, ptau_path) = (a.get(1).ok_or("PACKAGE")?, a.get(2).ok_or("PTAU")?);
    let t = Instant::now();
    let pkg = vouch_model::Package::from_bytes(&std::fs::read(pkg_path)?)?;
    let c0 = circuit::build(&pkg, circuit::zero_inputs(&pkg))?;
    let log_n = groth::domain_log(&c0.cs);
    println!(
        "circuit: {} constraints, {} vars, 2^{log_n}: {:.2} s",
        c0.cs.num_constraints(),
        c0.cs.num_vars(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let bytes = std::fs::read(ptau_path)?;
    let p = ptau::Ptau::parse(&bytes)?;
    let srs = p.srs(log_n)?;
    println!("read ptau: {:.2} s", t.elapsed().as_secs_f64());
    let t0 = Instant::now();
    let last = std::sync::Mutex::new(Instant::now());
    let pk = groth::setup(&c0.cs, &srs, &|m| {
        let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
        println!("  {:.2} s -> {m}", l.elapsed().as_secs_f64());
        *l = Instant::now();
    })?;
    println!(
        "  {:.2} s -> end\nsetup: {:.2} s ({} ic)",
        last.lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
            .as_secs_f64(),
        t0.elapsed().as_secs_f64(),
        pk.vk.ic.len()
    );
    Ok(())
}
