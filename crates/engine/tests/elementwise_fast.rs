//! The unchecked `Add`, `Mul` and `Rescale` paths (taken when the operands' largest values
//! cannot overflow, split over the pool for large tensors), the unchecked `Lut` lookup, the
//! plain `Relu` map and `Select`'s row copies against the definitions of `docs/semantics.md`
//! sections 2 and 3, including multipliers and shifts where the checked path must run instead
//! (and fail where the definition leaves `i64`), and tables that inputs fall outside.

mod support;

use proptest::prelude::*;
use support::requant_ref;
use vouch_engine::vectors::{Case, Rng};
use vouch_model::{Kind, Op, Requant};

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
        support::agrees_on_threads(&case, want.as_ref())?;
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

    #[test]
    fn mul_matches_definition(
        seed in any::<u64>(), big in any::<bool>(), len in 1usize..40, wide_shift in any::<bool>(),
        big_m in any::<bool>(),
    ) {
        let mut r = Rng::new(seed);
        let n = if big { 70_000 + len } else { len };
        let x = r.act16(&[1, n]);
        let y = r.act16(&[1, n]);
        // a product reaches 2^30: multipliers near 2^31 with small shifts overflow `i64`
        // (the checked path, which must fail where the definition does)
        let rq = Requant {
            m: i64::from(r.range(1, if big_m { i32::MAX } else { 1 << 15 })),
            s: if wide_shift { r.range(40, 62) as u32 } else { r.range(0, 30) as u32 },
            lo: -32_768,
            hi: 32_767,
        };
        let case = Case {
            name: "mul".into(),
            op: Op::Mul { rq },
            inputs: vec![x.clone(), y.clone()],
            consts: vec![],
            out_shape: vec![1, n],
            out_kind: Kind::Act16,
        };
        let want: Option<Vec<i32>> = x
            .data
            .iter()
            .zip(&y.data)
            .map(|(&a, &b)| requant_ref(i128::from(a) * i128::from(b), &rq))
            .collect();
        support::agrees_on_threads(&case, want.as_ref())?;
    }

    #[test]
    fn rescale_matches_definition(
        seed in any::<u64>(), big in any::<bool>(), len in 1usize..40, wide in any::<bool>(),
        shift in 0u32..63,
    ) {
        let mut r = Rng::new(seed);
        let n = if big { 70_000 + len } else { len };
        // wide inputs (the whole i32 range) with the largest multipliers leave `i64`
        let x = if wide { r.with_edges(&[1, n], i32::MIN, i32::MAX) } else { r.act16(&[1, n]) };
        let rq = Requant { m: i64::from(r.range(1, i32::MAX)), s: shift, lo: -32_768, hi: 32_767 };
        let case = Case {
            name: "rescale".into(),
            op: Op::Rescale { rq },
            inputs: vec![x.clone()],
            consts: vec![],
            out_shape: vec![1, n],
            out_kind: Kind::Act16,
        };
        let want: Option<Vec<i32>> = x.data.iter().map(|&a| requant_ref(i128::from(a), &rq)).collect();
        support::agrees_on_threads(&case, want.as_ref())?;
    }

    #[test]
    fn lut_matches_definition(
        seed in any::<u64>(), big in any::<bool>(), len in 1usize..40, bits in 8u32..17,
        outside in 0u8..4,
    ) {
        let mut r = Rng::new(seed);
        let n = if big { 70_000 + len } else { len };
        let entries = 1usize << bits;
        let half = (entries / 2) as i32;
        // inputs spanning the table (its edges mixed in), and now and then one just outside
        let mut x = r.with_edges(&[1, n], -half, half - 1);
        if outside == 0 {
            let at = r.range(0, n as i32 - 1) as usize;
            x.data[at] = if r.range(0, 1) == 0 { -half - 1 } else { half };
        }
        let table = r.tensor(&[entries], -32_768, 32_767);
        let case = Case {
            name: "lut".into(),
            op: Op::Lut { table: 0 },
            inputs: vec![x.clone()],
            consts: vec![table.clone()],
            out_shape: vec![1, n],
            out_kind: Kind::Act16,
        };
        let want: Option<Vec<i32>> = x
            .data
            .iter()
            .map(|&v| usize::try_from(i64::from(v) + i64::from(half)).ok().and_then(|i| table.data.get(i).copied()))
            .collect();
        support::agrees_on_threads(&case, want.as_ref())?;
    }

    #[test]
    fn select_matches_its_index_map(
        seed in any::<u64>(), shape in prop::collection::vec(1usize..6, 1..5),
        kinds in prop::collection::vec(0u8..4, 4),
    ) {
        let mut r = Rng::new(seed);
        let x = r.act16(&shape);
        // per axis: kept, a run of consecutive indices (a slice), any indices (a gather,
        // repeats allowed: an upsampling), or reversed
        let maps: Vec<Vec<usize>> = shape
            .iter()
            .zip(&kinds)
            .map(|(&d, k)| match k {
                0 => vec![],
                1 => {
                    let a = r.range(0, d as i32 - 1) as usize;
                    let b = r.range(a as i32, d as i32 - 1) as usize;
                    (a..=b).collect()
                }
                2 => (0..r.range(1, 7)).map(|_| r.range(0, d as i32 - 1) as usize).collect(),
                _ => (0..d).rev().collect(),
            })
            .collect();
        let (out_shape, index) = vouch_engine::ops::select_index(&x.shape, &maps);
        let got = vouch_engine::ops::select(&x, &maps);
        prop_assert_eq!(&got.shape, &out_shape);
        prop_assert_eq!(got.data, index.iter().map(|&i| x.data[i]).collect::<Vec<_>>());
    }

    #[test]
    fn broadcast_add_and_mul_match_definition(
        seed in any::<u64>(), shape in prop::collection::vec(1usize..7, 1..5),
        ones in prop::collection::vec(any::<bool>(), 5), drop in 0usize..3, big in any::<bool>(),
        mul in any::<bool>(), big_m in any::<bool>(),
    ) {
        let mut r = Rng::new(seed);
        let mut shape = shape;
        if big {
            // above 2^15 output elements: split over the pool, chunks cutting rows
            shape.push(9_001);
        }
        // `y` broadcasts: some axes 1, maybe fewer axes; sometimes `x` is the broadcast one
        let mut ys: Vec<usize> = shape.iter().zip(&ones).map(|(&d, &o)| if o { 1 } else { d }).collect();
        ys.drain(..drop.min(ys.len()));
        let (xs, ys) = if seed % 2 == 0 { (shape.clone(), ys) } else { (ys, shape.clone()) };
        let x = r.act16(&xs);
        let y = r.act16(&ys);
        let out_shape = vouch_engine::tensor::broadcast_shape(&xs, &ys).unwrap();
        let (mag, m_max) = if big_m { (1 << 30, i32::MAX) } else { (1 << 15, 1 << 15) };
        let (ma, mb) = (i64::from(r.range(-mag, mag)), i64::from(r.range(-mag, mag)));
        let rq = Requant {
            m: if mul { i64::from(r.range(1, m_max)) } else { 1 },
            s: r.range(0, 62) as u32,
            lo: -32_768,
            hi: 32_767,
        };
        let op = if mul { Op::Mul { rq } } else { Op::Add { ma, mb, rq } };
        let case = Case {
            name: "broadcast".into(),
            op,
            inputs: vec![x.clone(), y.clone()],
            consts: vec![],
            out_shape: out_shape.clone(),
            out_kind: Kind::Act16,
        };
        let xi = vouch_engine::tensor::broadcast_index(&xs, &out_shape);
        let yi = vouch_engine::tensor::broadcast_index(&ys, &out_shape);
        let want: Option<Vec<i32>> = xi
            .iter()
            .zip(&yi)
            .map(|(&i, &j)| {
                let (a, b) = (i128::from(x.data[i]), i128::from(y.data[j]));
                let v = if mul { a * b } else { a * i128::from(ma) + b * i128::from(mb) };
                requant_ref(v, &rq)
            })
            .collect();
        support::agrees_on_threads(&case, want.as_ref())?;
    }

    #[test]
    fn transpose_matches_its_definition(
        seed in any::<u64>(), shape in prop::collection::vec(1usize..6, 0..5), key in any::<u64>(),
    ) {
        let mut r = Rng::new(seed);
        let x = r.act16(&shape);
        // a permutation from the key
        let mut perm: Vec<usize> = (0..shape.len()).collect();
        let mut k = key;
        for i in (1..perm.len()).rev() {
            perm.swap(i, (k % (i as u64 + 1)) as usize);
            k /= i as u64 + 1;
        }
        let got = vouch_engine::ops::transpose(&x, &perm);
        let out: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        prop_assert_eq!(&got.shape, &out);
        // output element at index `o` (row major) reads input index `i[perm[a]] = o[a]`
        let st = vouch_engine::tensor::strides(&shape);
        let total: usize = out.iter().product();
        let want: Vec<i32> = (0..total)
            .map(|mut f| {
                let mut off = 0;
                for a in (0..out.len()).rev() {
                    off += (f % out[a]) * st[perm[a]];
                    f /= out[a];
                }
                x.data[off]
            })
            .collect();
        prop_assert_eq!(got.data, want);
    }
}
