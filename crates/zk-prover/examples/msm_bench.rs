//! Times the full-width-scalar MSM against arkworks' `msm_bigint`: `cargo run --release -p
//! vouch-zk-prover --example msm_bench [-- --windows]` (`--windows` adds a table over the
//! window width `c`).

#![allow(clippy::print_stdout)] // a command-line benchmark

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{PrimeField, UniformRand};
use ark_std::rand::{SeedableRng, rngs::StdRng};
use std::time::{Duration, Instant};
use vouch_zk::Fr;
use vouch_zk_prover::msm::{BigInt, full_msm, full_msm_with_window};

/// Best of `runs` timings of `f`, and its result.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    let mut best = t.elapsed();
    for _ in 1..runs {
        let t = Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed());
    }
    (best, out)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn inputs<P: SWCurveConfig<ScalarField = Fr>>(
    rng: &mut StdRng,
    n: usize,
) -> (Vec<Affine<P>>, Vec<BigInt>) {
    // A random start and a random step: as good as independent points for timing, and
    // cheap enough for the 2^19 bases of a LeNet-sized H query.
    let (start, step) = (Projective::<P>::rand(rng), Projective::<P>::rand(rng));
    let bases: Vec<Projective<P>> = std::iter::successors(Some(start), |p| Some(*p + step))
        .take(n)
        .collect();
    let bases = Projective::normalize_batch(&bases);
    let scalars = (0..n).map(|_| Fr::rand(rng).into_bigint()).collect();
    (bases, scalars)
}

fn compare<P: SWCurveConfig<ScalarField = Fr>>(
    name: &str,
    rng: &mut StdRng,
    n: usize,
    c: &[usize],
) {
    let (bases, scalars) = inputs::<P>(rng, n);
    let (ark, want) = best(5, || Projective::<P>::msm_bigint(&bases, &scalars));
    let (ours, got) = best(5, || full_msm(&bases, &scalars));
    assert_eq!(got, want, "{name} n = {n}: results differ");
    println!(
        "{name:3} n = {n:6}: ark {:8.2} ms   new {:8.2} ms   ark/new {:.2}x",
        ms(ark),
        ms(ours),
        ark.as_secs_f64() / ours.as_secs_f64()
    );
    for &c in c {
        let (t, got) = best(3, || full_msm_with_window(&bases, &scalars, c));
        assert_eq!(got, want, "{name} n = {n}, c = {c}: results differ");
        println!("      c = {c:2}: {:8.2} ms", ms(t));
    }
}

fn main() {
    let windows = std::env::args().any(|a| a == "--windows");
    let sizes: Vec<usize> = std::env::args().filter_map(|a| a.parse().ok()).collect();
    let cs: &[usize] = if windows {
        &[8, 9, 10, 11, 12, 13, 14, 15]
    } else {
        &[]
    };
    let mut rng = StdRng::seed_from_u64(1);
    println!("rayon threads: {}", rayon::current_num_threads());
    if sizes.is_empty() {
        compare::<ark_bn254::g1::Config>("G1", &mut rng, 32767, cs);
        compare::<ark_bn254::g1::Config>("G1", &mut rng, 7000, cs);
        compare::<ark_bn254::g2::Config>("G2", &mut rng, 7000, cs);
    } else {
        for n in sizes {
            compare::<ark_bn254::g1::Config>("G1", &mut rng, n, cs);
            if n <= 1 << 16 {
                compare::<ark_bn254::g2::Config>("G2", &mut rng, n, cs);
            }
        }
    }
}
