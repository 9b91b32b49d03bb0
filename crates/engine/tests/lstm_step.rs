//! An unrolled recurrent cell's gate pre-activations (`Add(Select(Xk, t), Linear_k(h))`, the
//! operands in either order, the three gates of a step reading one state `h` and the last one
//! after the step's other nodes, as the importer writes an LSTM's output gate) run as one pass
//! per step in untraced runs with the fast paths on: the same integers as the reference path
//! (`VOUCH_ENGINE_REFERENCE`) and as a traced run (node by node), on 1 and 2 threads, and each
//! row the same as that row run alone; sums whose bound leaves the plain arithmetic decline
//! to the nodes and agree too.

mod support;

use support::{paths_agree, run_mode as run};
use vouch_engine::Tensor;
use vouch_engine::vectors::Rng;
use vouch_model::{Const, Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo};

/// Steps of the unrolled cell.
const STEPS: usize = 3;

/// The requantizations of the cell: each gate's `Linear` and `Add`, and the `Mul`s.
struct Rqs {
    linear: Requant,
    add: (i64, i64, Requant),
    mul: Requant,
}

/// The values and nodes of a cell being written.
struct Builder {
    rows: usize,
    n: usize,
    values: Vec<TensorInfo>,
    nodes: Vec<Node>,
}

impl Builder {
    /// A new `[steps, rows, n]` act16 value.
    fn value(&mut self, name: String, steps: usize) -> u32 {
        let shape = [steps, self.rows, self.n].map(|d| Dim::Fixed(d as u32));
        self.values.push(TensorInfo {
            name,
            kind: Kind::Act16,
            scale: 1.0,
            shape: shape.to_vec(),
        });
        (self.values.len() - 1) as u32
    }

    /// A node writing a new `[1, rows, n]` value named as the node.
    fn node(&mut self, name: String, op: Op, inputs: &[u32]) -> u32 {
        let output = self.value(name.clone(), 1);
        self.nodes.push(Node {
            name,
            op,
            inputs: inputs.iter().map(|&v| Operand::Value(v)).collect(),
            output,
        });
        output
    }

    /// Gate `k` at step `t`: `Add(Select(x, t), Linear_k(h))`, the operands swapped for
    /// gate 2.
    fn gate(&mut self, t: usize, k: usize, x: u32, h: u32, rq: &Rqs) -> u32 {
        let mut maps = vec![Vec::new(); 3];
        maps[0] = vec![t as u32];
        let s = self.node(format!("s{t}.{k}"), Op::Select { maps }, &[x]);
        let linear = Op::Linear {
            weight: k as u32,
            bias: Some(3 + k as u32),
            rq: rq.linear,
            wide: false,
        };
        let l = self.node(format!("l{t}.{k}"), linear, &[h]);
        let (ma, mb, rq) = rq.add;
        let ins = if k == 2 { [l, s] } else { [s, l] };
        self.node(format!("a{t}.{k}"), Op::Add { ma, mb, rq }, &ins)
    }
}

/// Inputs `X0`, `X1`, `X2` (`[STEPS, rows, n]`) and `h` (`[1, rows, n]`); per step `t`,
/// `a_k = Add(Select(Xk, t), Linear_k(h))` (`a_2` as `Add(Linear_2(h), Select(X2, t))`),
/// `c = Mul(a_0, a_1)` between the gates, and the next `h = Mul(a_2, c)`; outputs the last
/// `h` and `c`. `weights` are the three `[n, n]` matrices, `bias` their `[n]` biases.
fn cell(rows: usize, n: usize, weights: &[Tensor; 3], bias: &[Tensor; 3], rq: &Rqs) -> Package {
    let mut b = Builder {
        rows,
        n,
        values: Vec::new(),
        nodes: Vec::new(),
    };
    let xs: Vec<u32> = (0..3).map(|k| b.value(format!("x{k}"), STEPS)).collect();
    let mut h = b.value("h".into(), 1);
    let mut c = h;
    for t in 0..STEPS {
        let a0 = b.gate(t, 0, xs[0], h, rq);
        let a1 = b.gate(t, 1, xs[1], h, rq);
        c = b.node(format!("c{t}"), Op::Mul { rq: rq.mul }, &[a0, a1]);
        let a2 = b.gate(t, 2, xs[2], h, rq);
        h = b.node(format!("h{t}"), Op::Mul { rq: rq.mul }, &[a2, c]);
    }
    let konst = |name: String, t: &Tensor| Const {
        name,
        scale: 1.0,
        shape: t.shape.iter().map(|&d| d as u32).collect(),
        data: t.data.clone(),
    };
    let pkg = Package {
        semantics_version: vouch_semantics::SEMANTICS_VERSION,
        name: "gates".into(),
        source_sha256: [0; 32],
        inputs: (0..4)
            .map(|i| IoSpec::new(b.values[i].name.clone(), i as u32))
            .collect(),
        outputs: vec![IoSpec::new("h", h), IoSpec::new("c", c)],
        values: b.values,
        consts: (weights
            .iter()
            .enumerate()
            .map(|(k, w)| konst(format!("w{k}"), w)))
        .chain(
            bias.iter()
                .enumerate()
                .map(|(k, b)| konst(format!("b{k}"), b)),
        )
        .collect(),
        nodes: b.nodes,
        accuracy: Default::default(),
    };
    pkg.validate().expect("valid package");
    pkg
}

/// Row `r` of a `[steps, rows, n]` tensor, as `[steps, 1, n]`.
fn row(t: &Tensor, r: usize) -> Tensor {
    let [steps, rows, n] = t.shape[..] else {
        panic!("rank 3");
    };
    let data = (0..steps)
        .flat_map(|s| {
            let at = (s * rows + r) * n;
            t.data[at..at + n].iter().copied()
        })
        .collect();
    Tensor {
        shape: vec![steps, 1, n],
        data,
    }
}

#[test]
fn fused_gate_sums_give_the_node_by_node_integers() {
    let mut r = Rng::new(0x15e9);
    let mut checked = 0;
    for rows in [1, 3, 8] {
        for n in [1, 16, 64, 67] {
            for case in 0..5 {
                let weights = [0; 3].map(|_| r.with_edges(&[n, n], -32_767, 32_767));
                let bias = [0; 3].map(|_| r.with_edges(&[n], -5_000, 5_000));
                let linear = Requant {
                    m: i64::from(r.range(1, 1 << 12)),
                    s: 24 + r.range(0, 6) as u32,
                    lo: -32_768,
                    hi: 32_767,
                };
                // case 3: multipliers whose bound leaves `i64` (the nodes run, and fail);
                // case 4: a tight clamp (most sums clamp at its ends)
                let mag = if case == 3 { 1 << 30 } else { 1 << 14 };
                let (ma, mb) = (r.range(-mag, mag), r.range(-mag, mag));
                let add = Requant {
                    m: 1,
                    s: if case == 3 {
                        2
                    } else {
                        14 + r.range(0, 3) as u32
                    },
                    lo: if case == 4 { -100 } else { -32_768 },
                    hi: if case == 4 { 100 } else { 32_767 },
                };
                // large enough that the state stays away from 0 over the steps
                let mul = Requant {
                    m: i64::from(r.range(1 << 14, 1 << 18)),
                    s: 31,
                    lo: -32_768,
                    hi: 32_767,
                };
                let rqs = Rqs {
                    linear,
                    add: (i64::from(ma), i64::from(mb), add),
                    mul,
                };
                let pkg = cell(rows, n, &weights, &bias, &rqs);
                let mut inputs: Vec<Tensor> = (0..3).map(|_| r.act16(&[STEPS, rows, n])).collect();
                inputs.push(r.act16(&[1, rows, n]));
                let want = paths_agree(&pkg, &inputs, &format!("{rows}x{n} case {case}"));
                let Some(want) = want else {
                    assert_eq!(case, 3, "only case 3 may fail");
                    continue;
                };
                let alone = cell(1, n, &weights, &bias, &rqs);
                for i in 0..rows {
                    let one: Vec<Tensor> = inputs.iter().map(|x| row(x, i)).collect();
                    let got = run(&alone, &one, 1, false, false).expect("a row alone");
                    for (g, w) in got.iter().zip(&want) {
                        assert_eq!(g, &row(w, i), "row {i} of {rows}x{n} case {case}");
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 3 * 4 * 4, "{checked}");
}
