//! `Mul(x, Lut(x))` and `Mul(x, Lut(Rescale(x)))` (a SiLU, the second as the importer writes it)
//! run as one pass in untraced runs with the fast paths on: the same
//! integers as the two nodes one by one (a traced run) and as the definition of
//! `docs/semantics.md` section 3, with the table's edges and multipliers large enough to leave
//! `i64` (then both runs fail), and inputs outside the table (both fail).

mod support;

use proptest::prelude::*;
use support::requant_ref;
use vouch_engine::vectors::{Case, Rng};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo};

/// `x [1, n]`, `w = Rescale(x)` when `window` (else `w = x`), `t = Lut(w)`, `z = Mul(x, t)`
/// (or `Mul(t, x)` when `swap`).
fn silu(x: &Tensor, table: &Tensor, window: Option<Requant>, rq: Requant, swap: bool) -> Package {
    let n = x.data.len();
    let mut pkg = Case {
        name: "silu".into(),
        op: Op::Lut { table: 0 },
        inputs: vec![x.clone()],
        consts: vec![table.clone()],
        out_shape: vec![1, n],
        out_kind: Kind::Act16,
    }
    .package();
    let info = |name: &str| TensorInfo {
        name: name.into(),
        kind: Kind::Act16,
        scale: 1.0,
        shape: vec![Dim::Fixed(1), Dim::Fixed(n as u32)],
    };
    let mut t = 1;
    if let Some(w) = window {
        // x (0) -> w (2) -> t (1): the Lut now reads the Rescale's output
        pkg.values.push(info("w"));
        pkg.nodes[0].inputs = vec![Operand::Value(2)];
        pkg.nodes.insert(
            0,
            Node {
                name: "window".into(),
                op: Op::Rescale { rq: w },
                inputs: vec![Operand::Value(0)],
                output: 2,
            },
        );
    }
    let z = pkg.values.len() as u32;
    pkg.values.push(info("z"));
    let ins = if swap { [t, 0] } else { [0, t] };
    t = z;
    pkg.nodes.push(Node {
        name: "mul".into(),
        op: Op::Mul { rq },
        inputs: ins.iter().map(|&v| Operand::Value(v)).collect(),
        output: t,
    });
    pkg.outputs = vec![IoSpec::new("z", z)];
    pkg.validate().unwrap();
    pkg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn fused_silu_matches_the_two_nodes_and_the_definition(
        seed in any::<u64>(), big in any::<bool>(), len in 1usize..40, bits in 8u32..17,
        outside in 0u8..6, big_m in any::<bool>(), swap in any::<bool>(), window in any::<bool>(),
        w_shift in 0u32..20,
    ) {
        let mut r = Rng::new(seed);
        let n = if big { 70_000 + len } else { len };
        let entries = 1usize << bits;
        let half = (entries / 2) as i32;
        let mut x = r.with_edges(&[1, n], -half, half - 1);
        if outside == 0 && half < 32_768 {
            let at = r.range(0, n as i32 - 1) as usize;
            x.data[at] = if r.range(0, 1) == 0 { -half - 1 } else { half };
        }
        let table = r.with_edges(&[entries], -32_768, 32_767);
        let rq = Requant {
            m: i64::from(r.range(1, if big_m { i32::MAX } else { 1 << 15 })),
            s: r.range(0, 62) as u32,
            lo: -32_768,
            hi: 32_767,
        };
        // the window: a shift of act16 inputs (which then span it), clamped a bit past the
        // table now and then (the inputs outside then fail)
        let w = window.then(|| Requant {
            m: 1,
            s: w_shift,
            lo: if outside == 1 { -half - 1 } else { -half },
            hi: half - 1,
        });
        if window {
            x = r.act16(&[1, n]);
        }
        let pkg = silu(&x, &table, w, rq, swap);
        let want: Option<Vec<i32>> = x
            .data
            .iter()
            .map(|&v| {
                let i = match w {
                    Some(w) => requant_ref(i128::from(v), &w)?,
                    None => v,
                };
                let t = table.data.get(usize::try_from(i + half).ok()?)?;
                requant_ref(i128::from(v) * i128::from(*t), &rq)
            })
            .collect();
        for threads in [1, 2] {
            for trace in [false, true] {
                let got = Engine::new(&pkg, Options { threads, trace }).unwrap().run(vec![x.clone()]);
                match (&want, got) {
                    (Some(w), Ok(ex)) => prop_assert_eq!(&ex.outputs[0].data, w),
                    (None, Err(_)) => {}
                    (w, got) => prop_assert!(false, "definition {:?}, engine {:?} (trace {})", w.is_some(), got.map(|_| ()), trace),
                }
            }
        }
    }
}
