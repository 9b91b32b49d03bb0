//! The unchecked `Add` path (taken when the operands' largest values cannot overflow, split
//! over the pool for large tensors) and the plain `Relu` map against the definitions of
//! `docs/semantics.md` sections 2 and 3, including multipliers and shifts where the checked
//! path must run instead (and fail where the definition leaves `i64`).

use proptest::prelude::*;
use vouch_engine::vectors::{Case, Rng};
use vouch_model::{Kind, Op, Requant};

/// `requant` in `i128`, `None` where the product or the rounding leaves `i64`.
fn requant_ref(x: i128, rq: &Requant) -> Option<i32> {
    let p = x * i128::from(rq.m);
    let r = if rq.s == 0 {
        p
    } else {
        p + (1i128 << (rq.s - 1))
    };
    if i64::try_from(p).is_err() || i64::try_from(r).is_err() {
        return None;
    }
    Some((r >> rq.s).clamp(i128::from(rq.lo), i128::from(rq.hi)) as i32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn add_matches_definition(
        seed in any::<u64>(), big in any::<bool>(), len in 1usize..40, wide_shift in any::<bool>(),
        big_m in any::<bool>(),
    ) {
        let mut r = Rng::new(seed);
        // Above 2^15 elements the map is split over the pool.
        let n = if big { 70_000 + len } else { len };
        let x = r.act16(&[1, n]);
        let y = r.act16(&[1, n]);
        // Importer-sized multipliers (the unchecked path), or large ones that make the bound
        // fail: the checked path, which reports the overflow where the definition leaves `i64`.
        let (mag, m_max) = if big_m { (1 << 30, i32::MAX) } else { (1 << 15, 1 << 15) };
        let ma = i64::from(r.range(-mag, mag));
        let mb = i64::from(r.range(-mag, mag));
        let rq = Requant {
            m: i64::from(r.range(1, m_max)),
            s: if wide_shift { r.range(40, 62) as u32 } else { r.range(0, 30) as u32 },
            lo: -32_768,
            hi: 32_767,
        };
        let case = Case {
            name: "add".into(),
            op: Op::Add { ma, mb, rq },
            inputs: vec![x.clone(), y.clone()],
            consts: vec![],
            out_shape: vec![1, n],
            out_kind: Kind::Act16,
        };
        let want: Option<Vec<i32>> = x
            .data
            .iter()
            .zip(&y.data)
            .map(|(&a, &b)| requant_ref(i128::from(a) * i128::from(ma) + i128::from(b) * i128::from(mb), &rq))
            .collect();
        for threads in [1, 2] {
            match (&want, case.run_with_threads(threads)) {
                (Some(w), Ok(got)) => prop_assert_eq!(&got.data, w),
                (None, Err(_)) => {}
                (w, got) => prop_assert!(false, "definition {:?}, engine {:?}", w.is_some(), got.map(|_| ())),
            }
        }
    }

    #[test]
    fn relu_matches_definition(seed in any::<u64>(), n in 1usize..300) {
        let mut r = Rng::new(seed);
        let x = r.act16(&[1, n]);
        let case = Case {
            name: "relu".into(),
            op: Op::Relu,
            inputs: vec![x.clone()],
            consts: vec![],
            out_shape: vec![1, n],
            out_kind: Kind::Act16,
        };
        let got = case.run_with_threads(1).unwrap();
        let want: Vec<i32> = x.data.iter().map(|&v| if v < 0 { 0 } else { v }).collect();
        prop_assert_eq!(got.data, want);
    }
}
