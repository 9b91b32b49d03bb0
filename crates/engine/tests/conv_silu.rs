//! A 16-bit `Conv` whose output only a SiLU reads (`Mul(y, Lut(Rescale(y)))`, as the importer
//! writes it) computes the SiLU in its epilogue in untraced runs with the fast paths on: the
//! same integers as the nodes one by one (a traced run) and as the definition of
//! `docs/semantics.md` section 3, on random shapes and strides, with the SiLU's nodes right
//! after the `Conv` or interleaved with another branch's, with the `Mul`'s operands either way
//! round, with the `Conv`'s output also read elsewhere (no fusion), and with tables and
//! multipliers at their edges (large enough to leave `i64`: then every run fails).

mod support;

use proptest::prelude::*;
use support::requant_ref;
use vouch_engine::vectors::{Case, Rng};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo};

/// One random case.
#[derive(Debug, Clone)]
struct Spec {
    n: usize,
    c: usize,
    co: usize,
    hw: [usize; 2],
    k: usize,
    stride: usize,
    bits: u32,
    w_shift: u32,
    big_m: bool,
    relu: bool,
    /// 0: the SiLU right after the `Conv`; 1: another branch's node between; 2: the `Conv`'s
    /// output is also a graph output (no fusion).
    layout: u8,
    swap: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (1usize..3, 1usize..6, 4usize..10, [3usize..9, 3usize..9]),
        (
            prop_oneof![Just(1usize), Just(3)],
            1usize..3,
            8u32..17,
            0u32..20,
        ),
        (any::<bool>(), any::<bool>(), 0u8..3, any::<bool>()),
    )
        .prop_map(
            |((n, c, co, hw), (k, stride, bits, w_shift), (big_m, relu, layout, swap))| Spec {
                n,
                c,
                co,
                hw,
                k,
                stride,
                bits,
                w_shift,
                big_m,
                relu,
                layout,
                swap,
            },
        )
}

/// The package: `y = Conv(x)`, `w = Rescale(y)`, `t = Lut(w)`, `z = Mul(y, t)`, with a `Relu`
/// of `x` (a second output) before the SiLU's nodes when `layout == 1`, and `y` a second output
/// when `layout == 2`.
fn package(s: &Spec, conv: &Case, window: Requant, table: &Tensor, rq: Requant) -> Package {
    let mut pkg = conv.package();
    let shape: Vec<Dim> = conv
        .out_shape
        .iter()
        .map(|&d| Dim::Fixed(d as u32))
        .collect();
    let info = |name: &str| TensorInfo {
        name: name.into(),
        kind: Kind::Act16,
        scale: 1.0,
        shape: shape.clone(),
    };
    let t_const = pkg.consts.len() as u32;
    pkg.consts.push(vouch_model::Const {
        name: "table".into(),
        scale: 1.0,
        shape: vec![table.data.len() as u32],
        data: table.data.clone(),
    });
    // values: x 0, y 1, then w, t, z (and the relu's)
    let (y, w, t, z) = (1u32, 2u32, 3u32, 4u32);
    for name in ["w", "t", "z"] {
        pkg.values.push(info(name));
    }
    let node = |name: &str, op: Op, inputs: Vec<u32>, output: u32| Node {
        name: name.into(),
        op,
        inputs: inputs.into_iter().map(Operand::Value).collect(),
        output,
    };
    if s.layout == 1 {
        let mut x_info = pkg.values[0].clone();
        x_info.name = "r".into();
        pkg.values.push(x_info);
        pkg.nodes.push(node("relu", Op::Relu, vec![0], 5));
    }
    pkg.nodes
        .push(node("window", Op::Rescale { rq: window }, vec![y], w));
    pkg.nodes
        .push(node("lut", Op::Lut { table: t_const }, vec![w], t));
    let ins = if s.swap { vec![t, y] } else { vec![y, t] };
    pkg.nodes.push(node("mul", Op::Mul { rq }, ins, z));
    pkg.outputs = vec![IoSpec::new("z", z)];
    match s.layout {
        1 => pkg.outputs.push(IoSpec::new("r", 5)),
        2 => pkg.outputs.push(IoSpec::new("y", y)),
        _ => {}
    }
    pkg.validate().unwrap();
    pkg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn conv_silu_matches_the_nodes_and_the_definition(s in spec(), seed in any::<u64>()) {
        check(&s, seed)?;
    }
}

/// The square 16-bit `Conv` under test (`[kernel, stride, pad]`, one group, weight const 0
/// and bias const 1) over `x`.
fn conv_case(
    [k, st, pad]: [usize; 3],
    rq: Requant,
    x: &Tensor,
    consts: Vec<Tensor>,
    out_shape: Vec<usize>,
) -> Case {
    Case {
        name: "conv".into(),
        op: Op::Conv {
            weight: 0,
            bias: Some(1),
            kernel: [k as u32; 2],
            strides: [st as u32; 2],
            pads: [pad as u32; 4],
            dilations: [1, 1],
            group: 1,
            rq,
            wide: false,
        },
        inputs: vec![x.clone()],
        consts,
        out_shape,
        out_kind: Kind::Act16,
    }
}

fn check(s: &Spec, seed: u64) -> Result<(), TestCaseError> {
    let mut r = Rng::new(seed);
    let [h, wd] = s.hw;
    let (k, st, pad) = (s.k, s.stride, s.k / 2);
    let (oh, ow) = ((h + 2 * pad - k) / st + 1, (wd + 2 * pad - k) / st + 1);
    let x = r.act16(&[s.n, s.c, h, wd]);
    let wt = r.with_edges(&[s.co, s.c, k, k], -32_767, 32_767);
    // a bias near `i32`'s edge: the section 4 bound passes 2^31, so the `i64` (fast) path
    let mut b = r.tensor(&[s.co], -(1 << 30), 1 << 30);
    b.data[0] = if seed.is_multiple_of(2) {
        i32::MAX
    } else {
        -i32::MAX
    };
    let conv_rq = Requant {
        m: i64::from(r.range(1 << 14, (1 << 15) - 1)),
        s: r.range(24, 40) as u32,
        lo: if s.relu { 0 } else { -32_768 },
        hi: 32_767,
    };
    let out_shape = vec![s.n, s.co, oh, ow];
    let conv = conv_case(
        [k, st, pad],
        conv_rq,
        &x,
        vec![wt.clone(), b.clone()],
        out_shape.clone(),
    );
    let entries = 1usize << s.bits;
    let half = (entries / 2) as i32;
    let table = r.with_edges(&[entries], -32_768, 32_767);
    let window = Requant {
        m: 1,
        s: s.w_shift,
        lo: -half,
        hi: half - 1,
    };
    let rq = Requant {
        m: i64::from(r.range(1, if s.big_m { i32::MAX } else { 1 << 15 })),
        s: r.range(0, 62) as u32,
        lo: -32_768,
        hi: 32_767,
    };
    let pkg = package(s, &conv, window, &table, rq);
    // the definition
    let mut ys = vec![0i32; s.n * s.co * oh * ow];
    for (i, y) in ys.iter_mut().enumerate() {
        let (bn, o, yy, xo) = (
            i / (s.co * oh * ow),
            i / (oh * ow) % s.co,
            i / ow % oh,
            i % ow,
        );
        let mut acc = i128::from(b.data[o]);
        for ci in 0..s.c {
            for ty in 0..k {
                for tx in 0..k {
                    let iy = (yy * st + ty) as isize - pad as isize;
                    let ix = (xo * st + tx) as isize - pad as isize;
                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                        continue;
                    }
                    let xv = x.data[((bn * s.c + ci) * h + iy as usize) * wd + ix as usize];
                    acc += i128::from(xv) * i128::from(wt.data[((o * s.c + ci) * k + ty) * k + tx]);
                }
            }
        }
        *y = requant_ref(acc, &conv_rq).expect("the conv's requantization fits");
    }
    let want: Option<Vec<i32>> = ys
        .iter()
        .map(|&y| {
            let i = requant_ref(i128::from(y), &window)?;
            let t = table.data.get(usize::try_from(i + half).ok()?)?;
            requant_ref(i128::from(y) * i128::from(*t), &rq)
        })
        .collect();
    for threads in [1, 2] {
        for trace in [false, true] {
            let got = Engine::new(&pkg, Options { threads, trace })
                .unwrap()
                .run(vec![x.clone()]);
            match (&want, got) {
                (Some(w), Ok(ex)) => {
                    prop_assert_eq!(
                        &ex.outputs[0].data,
                        w,
                        "threads {} trace {}",
                        threads,
                        trace
                    );
                    if s.layout == 2 {
                        prop_assert_eq!(&ex.outputs[1].data, &ys, "the conv's own output");
                    }
                }
                (None, Err(_)) => {}
                (w, got) => prop_assert!(
                    false,
                    "definition {:?}, engine {:?} (threads {}, trace {})",
                    w.is_some(),
                    got.map(|_| ()),
                    threads,
                    trace
                ),
            }
        }
    }
    Ok(())
}

/// Every input and weight at an extreme, a table of edge values and the largest `Mul`
/// multiplier that still fits: the epilogue's products are the largest they can be.
#[test]
fn conv_silu_is_exact_at_the_extremes() {
    for (xv, wv, relu) in [
        (-32_768, 32_767, false),
        (32_767, 32_767, false),
        (-32_768, -32_767, true),
    ] {
        for (k, stride) in [(3, 1), (3, 2), (1, 1)] {
            let s = Spec {
                n: 2,
                c: 5,
                co: 9,
                hw: [7, 6],
                k,
                stride,
                bits: 16,
                w_shift: 1,
                big_m: false,
                relu,
                layout: 0,
                swap: false,
            };
            for seed in 0..4 {
                let mut spec = s.clone();
                spec.swap = seed % 2 == 1;
                check_flat(&spec, seed, xv, wv).unwrap();
            }
        }
    }
}

/// [`check`] with every input `xv` and every weight `wv`.
fn check_flat(s: &Spec, seed: u64, xv: i32, wv: i32) -> Result<(), TestCaseError> {
    let [h, wd] = s.hw;
    let (k, st, pad) = (s.k, s.stride, s.k / 2);
    let (oh, ow) = ((h + 2 * pad - k) / st + 1, (wd + 2 * pad - k) / st + 1);
    let x = Tensor::new(vec![s.n, s.c, h, wd], vec![xv; s.n * s.c * h * wd]).unwrap();
    let wt = Tensor::new(vec![s.co, s.c, k, k], vec![wv; s.co * s.c * k * k]).unwrap();
    let b = Tensor::new(vec![s.co], vec![i32::MAX; s.co]).unwrap();
    let conv_rq = Requant {
        m: (1 << 15) - 1,
        s: 20 + seed as u32,
        lo: if s.relu { 0 } else { -32_768 },
        hi: 32_767,
    };
    let conv = conv_case(
        [k, st, pad],
        conv_rq,
        &x,
        vec![wt, b],
        vec![s.n, s.co, oh, ow],
    );
    let half = 1i32 << 15;
    let table: Vec<i32> = (0..1 << 16)
        .map(|i| if i % 2 == 0 { -32_768 } else { 32_767 })
        .collect();
    let table = Tensor::new(vec![1 << 16], table).unwrap();
    let window = Requant {
        m: 1,
        s: 1,
        lo: -half,
        hi: half - 1,
    };
    // `|y · t| <= 2^30` times the largest multiplier a package may hold
    let rq = Requant {
        m: i64::from(i32::MAX),
        s: 40,
        lo: -32_768,
        hi: 32_767,
    };
    let pkg = package(s, &conv, window, &table, rq);
    let traced = Engine::new(
        &pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )
    .unwrap();
    let want = traced.run(vec![x.clone()]).unwrap().outputs;
    for threads in [1, 2] {
        let got = Engine::new(
            &pkg,
            Options {
                threads,
                trace: false,
            },
        )
        .unwrap();
        prop_assert_eq!(&got.run(vec![x.clone()]).unwrap().outputs, &want);
    }
    Ok(())
}
