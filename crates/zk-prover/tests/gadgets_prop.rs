//! Property tests of the gadgets (range check, requant/rescale, ReLU, max) with values at the
//! edges of their declared ranges: the honest witness satisfies the system and yields the
//! reference (`vouch-semantics`) value; a wrong output, or a value outside the range, does not.

use proptest::prelude::*;
use vouch_semantics::Requant;
use vouch_zk::Fr;
use vouch_zk_prover::cs::{Cs, Lc, small};
use vouch_zk_prover::gadgets::{Sig, clamp_pow2, max, max0, requant};

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// `clamp_pow2` at the edges: the honest witness satisfies the system and gives
    /// `clamp(x, lo, lo + 2^g - 1)`; changing any one of the gadget's variables breaks it.
    #[test]
    fn clamp_pow2_at_edges(
        ((xlo, xhi), v, lo, g) in bounds()
            .prop_filter("x can pass both bounds", |(lo, hi)| hi - lo >= 4)
            .prop_flat_map(|(lo, hi)| (Just((lo, hi)), edge_in(lo, hi), lo + 1..=lo + 2, 0u32..=3))
            .prop_filter("window inside x's range", |((_, hi), _, lo, g)| lo + (1 << g) - 1 < *hi)
    ) {
        let mut cs = Cs::new(0);
        let x = input(&mut cs, v, xlo, xhi);
        let first = cs.num_vars();
        let z = clamp_pow2(&mut cs, &x, lo, g);
        let want = v.clamp(lo, lo + (1 << g) - 1);
        prop_assert!(cs.is_satisfied());
        prop_assert_eq!(value(&cs, &z), want);
        prop_assert_eq!(z.val, want);
        prop_assert!(z.lo <= want && want <= z.hi);
        for var in first..cs.num_vars() {
            let mut bad = cs.clone();
            bad.z[var] += Fr::from(1u64);
            prop_assert!(!bad.is_satisfied(), "variable {} is free", var);
        }
    }
}

/// `clamp_pow2` is sound on small ranges: over every assignment of its bit variables (the
/// other variables are forced by the rows that define them), every satisfying witness gives
/// the clamped value.
#[test]
fn clamp_pow2_has_only_the_clamped_witness() {
    use ark_ff::Field;
    for g in 0u32..=2 {
        for lo in -2i128..=1 {
            for v in -9i128..=9 {
                let mut cs = Cs::new(0);
                let x = input(&mut cs, v, -9, 9);
                let first = cs.num_vars();
                let z = clamp_pow2(&mut cs, &x, lo, g);
                // The gadget allocates B bits (B >= g the smallest width holding x - lo in
                // two's complement), then inv and big when B > g, then v and w.
                let mut nbits = g as usize;
                while -9 - lo < -(1i128 << nbits) || 9 - lo >= 1i128 << nbits {
                    nbits += 1;
                }
                let with_big = nbits > g as usize;
                assert_eq!(cs.num_vars() - first, nbits + 2 + 2 * usize::from(with_big));
                let mut outs = std::collections::BTreeSet::new();
                for pattern in 0u32..1 << nbits {
                    let mut c = cs.clone();
                    for i in 0..nbits {
                        c.z[first + i] = Fr::from(u64::from((pattern >> i) & 1));
                    }
                    let bit = |i: usize| i128::from((pattern >> i) & 1);
                    let u: i128 = (0..nbits).map(|i| bit(i) << i).sum();
                    let y = v - lo;
                    let p = i128::from(y + (1 << nbits) - u == 1 << nbits);
                    let h: i128 = (g as usize..nbits).map(bit).sum();
                    let big = i128::from(h != 0);
                    let mut k = first + nbits;
                    if with_big {
                        c.z[k] = Fr::from(h as u64).inverse().unwrap_or_default();
                        c.z[k + 1] = Fr::from(big as u64);
                        k += 2;
                    }
                    let vv = p * big;
                    let low: i128 = (0..g as usize).map(|i| bit(i) << i).sum();
                    c.z[k] = Fr::from(vv as u64);
                    c.z[k + 1] = Fr::from(((p - vv) * low) as u64);
                    if c.is_satisfied() {
                        outs.insert(value(&c, &z));
                    }
                }
                let want = v.clamp(lo, lo + (1 << g) - 1);
                assert_eq!(
                    outs.into_iter().collect::<Vec<_>>(),
                    vec![want],
                    "g {g} lo {lo} v {v}"
                );
            }
        }
    }
}
