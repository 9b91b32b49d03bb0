//! A 16-bit `Conv` whose input is a `Concat` along channels that nothing else reads reads the
//! `Concat`'s inputs in place (untraced runs with the fast paths on): the same integers as the
//! definition of `docs/semantics.md`, as a traced run (the `Concat` stored) and as the
//! reference paths (`VOUCH_ENGINE_REFERENCE`), on 1 and 2 threads, on random shapes, kernels,
//! strides and groups (a group's channels spanning two parts), two or three parts (one of them
//! twice), the `Concat` also a graph output (then stored and read as usual), and inputs and
//! weights at their extremes.

mod support;

use proptest::prelude::*;
use support::requant_ref;
use vouch_engine::vectors::Rng;
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{
    AccuracyReport, Const, Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo,
};
use vouch_semantics::SEMANTICS_VERSION;

/// One random case.
#[derive(Debug, Clone)]
struct Spec {
    n: usize,
    /// Channels of the two inputs.
    cs: [usize; 2],
    /// Output channels per group.
    og: usize,
    hw: [usize; 2],
    k: usize,
    stride: usize,
    groups: usize,
    /// `Concat(x0, x1)`, or `Concat(x0, x1, x0)`.
    three: bool,
    /// The `Concat` is also a graph output.
    shown: bool,
    /// 0: random inputs and weights (edges mixed in); 1: every input -32768 and weight
    /// 32767; 2: every input 32767 and weight -32767.
    extreme: u8,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (
            1usize..3,
            [1usize..6, 1usize..6],
            4usize..10,
            [3usize..9, 3usize..9],
        ),
        (prop_oneof![Just(1usize), Just(3)], 1usize..3, 1usize..3),
        (
            any::<bool>(),
            prop_oneof![3 => Just(false), 1 => Just(true)],
            0u8..3,
        ),
    )
        .prop_map(
            |((n, cs, og, hw), (k, stride, groups), (three, shown, extreme))| Spec {
                n,
                cs,
                og,
                hw,
                k,
                stride,
                groups,
                three,
                shown,
                extreme,
            },
        )
        // the groups divide the channels
        .prop_filter("groups", |s| {
            let c = s.cs[0] + s.cs[1] + if s.three { s.cs[0] } else { 0 };
            c % s.groups == 0
        })
}

/// The package: `v = Concat(x0, x1[, x0])` along channels, `y = Conv(v)` (weight const 0,
/// bias const 1), `y` the output (and `v` a second one when `shown`).
fn package(
    s: &Spec,
    w: &Tensor,
    b: &Tensor,
    rq: Requant,
    c: usize,
    [oh, ow]: [usize; 2],
) -> Package {
    let [h, wd] = s.hw;
    let fixed = |d: &[usize]| d.iter().map(|&d| Dim::Fixed(d as u32)).collect::<Vec<_>>();
    let info = |name: &str, shape: &[usize]| TensorInfo {
        name: name.into(),
        kind: Kind::Act16,
        scale: 1.0,
        shape: fixed(shape),
    };
    let co = s.og * s.groups;
    let konst = |name: &str, t: &Tensor| Const {
        name: name.into(),
        scale: 1.0,
        shape: t.shape.iter().map(|&d| d as u32).collect(),
        data: t.data.clone(),
    };
    let parts: Vec<u32> = if s.three { vec![0, 1, 0] } else { vec![0, 1] };
    let mut outputs = vec![IoSpec::new("y", 3)];
    if s.shown {
        outputs.push(IoSpec::new("v", 2));
    }
    let pkg = Package {
        semantics_version: SEMANTICS_VERSION,
        name: "conv_concat".into(),
        source_sha256: [0; 32],
        inputs: vec![IoSpec::new("x0", 0), IoSpec::new("x1", 1)],
        outputs,
        values: vec![
            info("x0", &[s.n, s.cs[0], h, wd]),
            info("x1", &[s.n, s.cs[1], h, wd]),
            info("v", &[s.n, c, h, wd]),
            info("y", &[s.n, co, oh, ow]),
        ],
        consts: vec![konst("w", w), konst("b", b)],
        nodes: vec![
            Node {
                name: "concat".into(),
                op: Op::Concat { axis: 1 },
                inputs: parts.into_iter().map(Operand::Value).collect(),
                output: 2,
            },
            Node {
                name: "conv".into(),
                op: Op::Conv {
                    weight: 0,
                    bias: Some(1),
                    kernel: [s.k as u32; 2],
                    strides: [s.stride as u32; 2],
                    pads: [(s.k / 2) as u32; 4],
                    dilations: [1, 1],
                    group: s.groups as u32,
                    rq,
                    wide: false,
                },
                inputs: vec![Operand::Value(2)],
                output: 3,
            },
        ],
        accuracy: AccuracyReport::default(),
    };
    pkg.validate().unwrap();
    pkg
}

/// The engine's outputs, built with the fast paths on or off (`reference`).
fn run(pkg: &Package, xs: &[Tensor], threads: usize, trace: bool, reference: bool) -> Vec<Tensor> {
    // SAFETY: this binary's only test sets it, before each engine reads it.
    unsafe {
        std::env::set_var(
            vouch_engine::profile::REFERENCE_ENV,
            if reference { "1" } else { "0" },
        )
    };
    Engine::new(pkg, Options { threads, trace })
        .unwrap()
        .run(xs.to_vec())
        .unwrap()
        .outputs
}

fn check(s: &Spec, seed: u64) -> Result<(), TestCaseError> {
    let mut r = Rng::new(seed);
    let [h, wd] = s.hw;
    let (k, st, pad) = (s.k, s.stride, s.k / 2);
    let (oh, ow) = ((h + 2 * pad - k) / st + 1, (wd + 2 * pad - k) / st + 1);
    let xs: Vec<Tensor> =
        s.cs.iter()
            .map(|&c| {
                let shape = [s.n, c, h, wd];
                match s.extreme {
                    0 => r.act16(&shape),
                    1 => r.tensor(&shape, -32_768, -32_768),
                    _ => r.tensor(&shape, 32_767, 32_767),
                }
            })
            .collect();
    let c = s.cs[0] + s.cs[1] + if s.three { s.cs[0] } else { 0 };
    let (cg, co) = (c / s.groups, s.og * s.groups);
    // the `Concat` by the definition
    let per = |i: usize| s.cs[i] * h * wd;
    let order: &[usize] = if s.three { &[0, 1, 0] } else { &[0, 1] };
    let mut v = Vec::with_capacity(s.n * c * h * wd);
    for b in 0..s.n {
        for &i in order {
            v.extend_from_slice(&xs[i].data[b * per(i)..(b + 1) * per(i)]);
        }
    }
    let w = match s.extreme {
        0 => r.with_edges(&[co, cg, k, k], -32_767, 32_767),
        1 => r.tensor(&[co, cg, k, k], 32_767, 32_767),
        _ => r.tensor(&[co, cg, k, k], -32_767, -32_767),
    };
    // a bias near `i32`'s edge: the section 4 bound passes 2^31, so the `i64` (fast) path
    let mut b = r.tensor(&[co], -(1 << 30), 1 << 30);
    b.data[0] = if seed.is_multiple_of(2) {
        i32::MAX
    } else {
        -i32::MAX
    };
    let rq = Requant {
        m: i64::from(r.range(1 << 14, (1 << 15) - 1)),
        s: r.range(20, 40) as u32,
        lo: -32_768,
        hi: 32_767,
    };
    let pkg = package(s, &w, &b, rq, c, [oh, ow]);
    // the `Conv` by the definition
    let mut want = vec![0i32; s.n * co * oh * ow];
    for (i, y) in want.iter_mut().enumerate() {
        let (bn, o, yy, xo) = (i / (co * oh * ow), i / (oh * ow) % co, i / ow % oh, i % ow);
        let g = o / s.og;
        let mut acc = i128::from(b.data[o]);
        for ci in 0..cg {
            for ty in 0..k {
                for tx in 0..k {
                    let iy = (yy * st + ty) as isize - pad as isize;
                    let ix = (xo * st + tx) as isize - pad as isize;
                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                        continue;
                    }
                    let xv = v[((bn * c + g * cg + ci) * h + iy as usize) * wd + ix as usize];
                    acc += i128::from(xv) * i128::from(w.data[((o * cg + ci) * k + ty) * k + tx]);
                }
            }
        }
        *y = requant_ref(acc, &rq).expect("the conv's requantization fits");
    }
    for threads in [1, 2] {
        for (trace, reference) in [(false, false), (true, false), (false, true)] {
            let got = run(&pkg, &xs, threads, trace, reference);
            let how = format!("threads {threads} trace {trace} reference {reference}");
            prop_assert_eq!(&got[0].data, &want, "{}", how);
            if s.shown {
                prop_assert_eq!(&got[1].data, &v, "the concat, {}", how);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn conv_reading_a_concat_in_place_matches_the_definition(s in spec(), seed in any::<u64>()) {
        check(&s, seed)?;
    }
}
