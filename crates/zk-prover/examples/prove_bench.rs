//! Times the prover's phases on one proof, best of five, and counts the witness values by
//! size (what the MSMs pay for): `cargo run --release -p vouch-zk-prover --example
//! prove_bench -- PACKAGE.vpkg PACKAGE.keys INPUT.json`.

#![allow(clippy::print_stdout)] // a command-line benchmark

use ark_ff::{BigInteger, PrimeField};
use std::time::{Duration, Instant};
use vouch_zk::Fr;
use vouch_zk_prover::{circuit, groth, msm::msm, phase2, task};

/// Runs `f` five times; the first and the shortest time, and the last result.
fn best<T>(mut f: impl FnMut() -> T) -> ((Duration, Duration), T) {
    let mut out = None;
    let (mut first, mut min) = (None, Duration::MAX);
    for _ in 0..5 {
        let t = Instant::now();
        let r = f();
        let e = t.elapsed();
        first.get_or_insert(e);
        min = min.min(e);
        out = Some(r);
    }
    (
        (first.unwrap_or_default(), min),
        out.unwrap_or_else(|| unreachable!()),
    )
}

/// Bits of `|x|` read as a signed integer.
fn bits(x: &Fr) -> u32 {
    x.into_bigint()
        .num_bits()
        .min((-*x).into_bigint().num_bits())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let (pkg_path, keys_path, input_path) = (
        a.get(1).ok_or("PACKAGE")?,
        a.get(2).ok_or("KEYS")?,
        a.get(3).ok_or("INPUT.json")?,
    );
    let pkg = vouch_model::Package::from_bytes(&std::fs::read(pkg_path)?)?;
    let keys = std::fs::read(keys_path)?;
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(input_path)?)?;
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let floats = vouch_quant::json::inputs_from_json(&json, &names)?;
    let inputs = task::single_row(&vouch_quant::quantize_inputs(&pkg, &floats), 0)?;

    let (t_keys, k) = best(|| phase2::from_bytes(&keys));
    let pk = k?.pk;
    let (t_build, c) = best(|| circuit::build(&pkg, inputs.clone()));
    let cs = c?.cs;
    let log_n = groth::domain_log(&cs);
    let (t_h, h) = best(|| groth::witness_h(&cs, log_n));
    let h = h?;
    let z = &cs.z;
    let zl = &z[cs.num_public + 1..];
    let (t_a, _) = best(|| msm(&pk.a_query, z));
    let (t_b1, _) = best(|| msm(&pk.b_g1_query, z));
    let (t_b2, _) = best(|| msm(&pk.b_g2_query, z));
    let (t_l, _) = best(|| msm(&pk.l_query, zl));
    let (t_hq, _) = best(|| msm(&pk.h_query, &h));
    let (t_prove, _) = best(|| groth::prove(&pk, &cs, &mut rand::rngs::OsRng));

    let ms = |(first, min): (Duration, Duration)| {
        format!(
            "{:>9.1} ms {:>9.1} ms",
            first.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3
        )
    };
    println!(
        "{} constraints, {} variables, domain 2^{log_n}",
        cs.num_constraints(),
        cs.num_vars()
    );
    let class = |limit: u32| z.iter().filter(|x| bits(x) <= limit).count();
    let (zero, unit, small) = (class(0), class(1), class(64));
    println!(
        "witness values: {zero} zero, {} ±1, {} up to 64 bits, {} full width",
        unit - zero,
        small - unit,
        z.len() - small
    );
    println!("{:<44} {:>12} {:>12}", "phase", "first run", "best of 5");
    for (name, t) in [
        ("parse keys", t_keys),
        ("circuit and witness", t_build),
        ("rows, FFTs: H", t_h),
        ("MSM A (G1)", t_a),
        ("MSM B (G1)", t_b1),
        ("MSM B (G2)", t_b2),
        ("MSM L (G1)", t_l),
        ("MSM H (G1)", t_hq),
        ("groth::prove (all of the above from H on)", t_prove),
    ] {
        println!("{name:<44} {}", ms(t));
    }
    Ok(())
}
