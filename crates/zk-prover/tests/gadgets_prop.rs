//! Property tests of the gadgets (range check, requant/rescale, ReLU, max) with values at the
//! edges of their declared ranges: the honest witness satisfies the system and yields the
//! reference (`vouch-semantics`) value; a wrong output, or a value outside the range, does not.

use proptest::prelude::*;
use vouch_semantics::Requant;
use vouch_zk::Fr;
use vouch_zk_prover::cs::{Cs, Lc, small};
use vouch_zk_prover::gadgets::{Sig, max, max0, requant};

/// A value in `[lo, hi]`, biased to the edges and zero.
fn edge_in(lo: i128, hi: i128) -> impl Strategy<Value = i128> {
    let mut edges = vec![lo, hi, lo + 1, hi - 1, 0, 1, -1];
    edges.retain(|v| (lo..=hi).contains(v));
    prop_oneof![proptest::sample::select(edges), lo..=hi,]
}

/// Bounds `[lo, hi]` around zero or on one side of it, up to 2^40.
fn bounds() -> impl Strategy<Value = (i128, i128)> {
    prop_oneof![
        (0u32..=40, 0u32..=40).prop_map(|(a, b)| (-(1i128 << a), (1i128 << b) - 1)),
        (-1000i128..1000, 0i128..2000).prop_map(|(lo, w)| (lo, lo + w)),
        (0u32..=40).prop_map(|a| (-(1i128 << a), -1)),
        (0u32..=40).prop_map(|a| (1, 1i128 << a)),
    ]
}

fn input(cs: &mut Cs, v: i128, lo: i128, hi: i128) -> Sig {
    Sig::var(cs, v, lo, hi)
}

/// Evaluates a signal under the assignment.
fn value(cs: &Cs, s: &Sig) -> i128 {
    small(&s.lc.eval(&cs.z)).expect("small value")
}

/// Perturbs the output: if it is one new variable (not the input passed through), changing it
/// with the rest of the witness honest must no longer satisfy the system.
fn tamper_rejected(cs: &Cs, out: &Sig, input: &Sig) -> bool {
    match out.lc.0.as_slice() {
        [(v, _)] if *v as usize > cs.num_public && !input.lc.0.iter().any(|t| t.0 == *v) => {
            let mut bad = cs.clone();
            bad.z[*v as usize] += Fr::from(1u64);
            !bad.is_satisfied()
        }
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn relu_at_edges(((lo, hi), v) in bounds().prop_flat_map(|(lo, hi)| ((Just((lo, hi))), edge_in(lo, hi)))) {
        let mut cs = Cs::new(0);
        let x = input(&mut cs, v, lo, hi);
        let y = max0(&mut cs, &x);
        prop_assert!(cs.is_satisfied());
        prop_assert_eq!(value(&cs, &y), v.max(0));
        prop_assert_eq!(y.val, v.max(0));
        prop_assert!(y.lo <= y.val && y.val <= y.hi);
        prop_assert!(tamper_rejected(&cs, &y, &x));
    }

    #[test]
    fn max_at_edges(
        ((lo, hi), a, b) in bounds().prop_flat_map(|(lo, hi)| (Just((lo, hi)), edge_in(lo, hi), edge_in(lo, hi)))
    ) {
        let mut cs = Cs::new(0);
        let x = input(&mut cs, a, lo, hi);
        let y = input(&mut cs, b, lo, hi);
        let m = max(&mut cs, &x, &y);
        prop_assert!(cs.is_satisfied());
        prop_assert_eq!(value(&cs, &m), a.max(b));
        prop_assert!(m.lo <= m.val && m.val <= m.hi);
        // The output is y + d with d = max(x - y, 0) one variable: perturb d.
        let d = m.lc.0.iter().map(|t| t.0).max().unwrap_or(0);
        if d as usize > 2 {
            let mut bad = cs.clone();
            bad.z[d as usize] += Fr::from(1u64);
            prop_assert!(!bad.is_satisfied());
        }
    }

    #[test]
    fn range_check_accepts_inside_rejects_outside(n in 0u32..=64, pick in 0u8..4, r in any::<u64>()) {
        let top = (1i128 << n) - 1;
        let v = match pick { 0 => 0, 1 => top, 2 => top / 2, _ => i128::from(r) & top };
        let mut cs = Cs::new(0);
        let x = cs.alloc_int(v);
        cs.range(Lc::var(x), v, n);
        prop_assert!(cs.is_satisfied());
        // Just outside the range: 2^n and -1 have no n-bit decomposition.
        for out in [top + 1, -1] {
            let mut cs = Cs::new(0);
            let x = cs.alloc_int(out);
            // The witness generator's bits are those of `out mod 2^n`; no assignment works.
            cs.range(Lc::var(x), out.rem_euclid(1i128 << n), n);
            prop_assert!(!cs.is_satisfied());
        }
    }

    #[test]
    fn requant_matches_semantics(
        m in prop_oneof![Just(1i64), Just((1i64 << 31) - 1), 1i64..(1i64 << 31)],
        s in prop_oneof![Just(0u32), Just(1u32), Just(31u32), Just(40u32), 0u32..=40],
        (lo, hi) in prop_oneof![Just((-128i32, 127i32)), Just((0i32, 127i32)), Just((i32::MIN, i32::MAX)), Just((-5i32, -5i32))],
        xb in 0u32..=31,
        pick in 0u8..5,
        r in any::<i64>(),
    ) {
        let (xlo, xhi) = (-(1i128 << xb), (1i128 << xb) - 1);
        let v = match pick { 0 => xlo, 1 => xhi, 2 => 0, 3 => -1, _ => i128::from(r).rem_euclid(xhi - xlo + 1) + xlo };
        let rq = Requant { m, s, lo, hi };
        let want = vouch_semantics::requant(v as i64, m, s, lo, hi);
        prop_assume!(want.is_ok());
        let want = i128::from(want.unwrap_or_default());
        let mut cs = Cs::new(0);
        let x = input(&mut cs, v, xlo, xhi);
        let y = requant(&mut cs, &x, &rq);
        prop_assert!(cs.is_satisfied());
        prop_assert_eq!(value(&cs, &y), want);
        prop_assert!(y.lo <= want && want <= y.hi, "bounds [{}, {}] miss {}", y.lo, y.hi, want);
        prop_assert!(tamper_rejected(&cs, &y, &x));
    }
}

/// The range check allocates only the low `n - 1` bits and derives the top one: for small `n`,
/// every boolean assignment of the low bits is tried, and some assignment satisfies the rows
/// exactly when the value is in `[0, 2^n)` (the top bit cannot absorb anything larger or a
/// negative value).
#[test]
fn range_check_has_a_witness_exactly_inside() {
    for n in 0u32..=6 {
        let top = 1i128 << n;
        for v in -3..top + 3 {
            let mut cs = Cs::new(0);
            let x = cs.alloc_int(v);
            cs.range(Lc::var(x), v.rem_euclid(top), n);
            let low: Vec<usize> = (2..cs.num_vars()).collect();
            assert_eq!(low.len() as u32, n.saturating_sub(1), "n = {n}");
            let found = (0u32..1 << low.len()).any(|pattern| {
                let mut c = cs.clone();
                for (i, &var) in low.iter().enumerate() {
                    c.z[var] = Fr::from(u64::from((pattern >> i) & 1));
                }
                c.is_satisfied()
            });
            assert_eq!(found, (0..top).contains(&v), "n = {n}, v = {v}");
        }
    }
}
