//! An unrolled LSTM's gate products (`i ⊙ g` of two gate tables, `f ⊙ c` of a table and a
//! value, each table behind the `Rescale` into its window, the nodes interleaved as the
//! importer writes them) run as one pass in untraced runs with the fast paths on: the same
//! integers as the reference path (`VOUCH_ENGINE_REFERENCE`) and as a traced run (node by
//! node), on 1 and 2 threads, and each row the same as that row run alone; inputs past a
//! table's window fail in both.

mod support;

use support::{paths_agree, run_mode as run};
use vouch_engine::Tensor;
use vouch_engine::vectors::Rng;
use vouch_model::{Const, Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo};

/// Table entries (the importer's gate tables have `2^12`).
const ENTRIES: usize = 4096;

/// Inputs `a`, `b`, `c` (`[rows, n]`); `i = Lut_s(Rescale(a))`, `g = Lut_t(Rescale(b))`,
/// `f = Lut_s(Rescale(c))`, `ig = Mul(i, g)`, `fc = Mul(f, c)`, outputs `ig` and `fc`.
/// `window` requantizes onto the table's window, clamped to `clamp` (the importer's clamp
/// is the window's ends; a wider one lets an input past the table fail).
fn cell(rows: usize, n: usize, tables: [&Tensor; 2], window: Requant, rq: Requant) -> Package {
    let shape = vec![Dim::Fixed(rows as u32), Dim::Fixed(n as u32)];
    let info = |name: &str| TensorInfo {
        name: name.into(),
        kind: Kind::Act16,
        scale: 1.0,
        shape: shape.clone(),
    };
    // values: a b c | wa i wb g wc f | ig fc
    let names = ["a", "b", "c", "wa", "i", "wb", "g", "wc", "f", "ig", "fc"];
    let node = |name: &str, op: Op, ins: &[u32], out: u32| Node {
        name: name.into(),
        op,
        inputs: ins.iter().map(|&v| Operand::Value(v)).collect(),
        output: out,
    };
    let rescale = Op::Rescale { rq: window };
    let nodes = vec![
        node("wa", rescale.clone(), &[0], 3),
        node("wb", rescale.clone(), &[1], 5),
        node("wc", rescale, &[2], 7),
        node("i", Op::Lut { table: 0 }, &[3], 4),
        node("f", Op::Lut { table: 0 }, &[7], 8),
        node("g", Op::Lut { table: 1 }, &[5], 6),
        node("ig", Op::Mul { rq }, &[4, 6], 9),
        node("fc", Op::Mul { rq }, &[8, 2], 10),
    ];
    let konst = |i: usize, t: &Tensor| Const {
        name: format!("table{i}"),
        scale: 1.0,
        shape: vec![t.data.len() as u32],
        data: t.data.clone(),
    };
    let pkg = Package {
        semantics_version: vouch_semantics::SEMANTICS_VERSION,
        name: "cell".into(),
        source_sha256: [0; 32],
        inputs: (0..3).map(|i| IoSpec::new(names[i], i as u32)).collect(),
        outputs: vec![IoSpec::new("ig", 9), IoSpec::new("fc", 10)],
        values: names.iter().map(|n| info(n)).collect(),
        consts: tables
            .iter()
            .enumerate()
            .map(|(i, t)| konst(i, t))
            .collect(),
        nodes,
        accuracy: Default::default(),
    };
    pkg.validate().expect("valid package");
    pkg
}

/// Row `r` of a `[rows, n]` tensor.
fn row(t: &Tensor, r: usize) -> Tensor {
    let n = t.shape[1];
    Tensor {
        shape: vec![1, n],
        data: t.data[r * n..(r + 1) * n].to_vec(),
    }
}

#[test]
fn fused_gate_products_give_the_node_by_node_integers() {
    let mut r = Rng::new(0x9a7e);
    let half = (ENTRIES / 2) as i32;
    let mut checked = (0, 0);
    for rows in [1, 3, 8] {
        for n in [1, 15, 16, 64, 67] {
            for case in 0..6 {
                // a sigmoid-like table in [0, 32767], a tanh-like one in [-32767, 32767]
                let s = r.with_edges(&[ENTRIES], 0, 32_767);
                let t = r.with_edges(&[ENTRIES], -32_767, 32_767);
                // onto the window [-half, half - 1] (case 5: a clamp past it, so some
                // inputs index outside the table and every path fails)
                let (lo, hi) = if case == 5 {
                    (-half - 40, half + 40)
                } else {
                    (-half, half - 1)
                };
                let window = Requant {
                    m: i64::from(r.range(1, 1 << 20)),
                    s: 20 + r.range(0, 4) as u32,
                    lo,
                    hi,
                };
                // case 4: the largest multiplier (most products clamp at the output's ends)
                let m = if case == 4 {
                    (1 << 31) - 1
                } else {
                    i64::from(r.range(1, 1 << 16))
                };
                let rq = Requant {
                    m,
                    s: 31,
                    lo: -32_768,
                    hi: 32_767,
                };
                let pkg = cell(rows, n, [&s, &t], window, rq);
                let inputs: Vec<Tensor> = (0..3).map(|_| r.act16(&[rows, n])).collect();
                let want = paths_agree(&pkg, &inputs, &format!("{rows}x{n} case {case}"));
                let Some(want) = want else {
                    checked.1 += 1;
                    continue;
                };
                for i in 0..rows {
                    let one: Vec<Tensor> = inputs.iter().map(|x| row(x, i)).collect();
                    let got = run(&pkg_rows(&pkg, 1), &one, 1, false, false).unwrap();
                    for (g, w) in got.iter().zip(&want) {
                        assert_eq!(g, &row(w, i), "row {i} of {rows}x{n} case {case}");
                    }
                }
                checked.0 += 1;
            }
        }
    }
    // some inputs past a table fail (case 5), the rest give outputs
    assert!(checked.1 >= 5, "{checked:?}");
    assert!(checked.0 >= 3 * 5 * 5, "{checked:?}");
}

/// `pkg` with every value's rows set to `rows`.
fn pkg_rows(pkg: &Package, rows: u32) -> Package {
    let mut p = pkg.clone();
    for v in &mut p.values {
        v.shape[0] = Dim::Fixed(rows);
    }
    p
}
