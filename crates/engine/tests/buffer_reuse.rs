//! The engine takes node outputs from buffers of values no longer read (this run's or an
//! earlier run's), unzeroed: no previous value may show in an output. A package of two
//! `Conv`s, an `Add` and a `Relu` (each output the size of a value dropped before it, so it
//! takes that buffer) run on one input, then on another, then on the first again gives each time what a
//! fresh engine gives, with the fast paths on and off (`VOUCH_ENGINE_REFERENCE`), on 1 and 2
//! threads.

mod support;

use support::conv_op;
use vouch_engine::vectors::{Case, Rng};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo};

/// `x [2, 8, 9, 7]`: `z = Conv(x)`, `y = Conv(z)` (the same 3x3 weights, padded), `s =
/// Add(y, z)`, `t = Relu(s)`; output `t`. A bias at `i32`'s edge puts the `Conv`s on the `i64` path (the
/// 16-bit fast path where this CPU has it).
fn package(r: &mut Rng) -> Package {
    let shape = [2usize, 8, 9, 7];
    let mut b = r.tensor(&[8], -(1 << 30), 1 << 30);
    b.data[0] = i32::MAX;
    let rq = Requant {
        m: 1 << 14,
        s: 30,
        lo: -32_768,
        hi: 32_767,
    };
    let mut pkg = Case {
        name: "reuse".into(),
        op: conv_op([3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 1, rq),
        inputs: vec![r.act16(&shape)],
        consts: vec![r.with_edges(&[8, 8, 3, 3], -32_767, 32_767), b],
        out_shape: shape.to_vec(),
        out_kind: Kind::Act16,
    }
    .package();
    let info = |name: &str| TensorInfo {
        name: name.into(),
        kind: Kind::Act16,
        scale: 1.0,
        shape: shape.iter().map(|&d| Dim::Fixed(d as u32)).collect(),
    };
    pkg.values.extend([info("y"), info("s"), info("t")]);
    let conv = pkg.nodes[0].op.clone();
    let node = |name: &str, op: Op, inputs: &[u32], output: u32| Node {
        name: name.into(),
        op,
        inputs: inputs.iter().map(|&v| Operand::Value(v)).collect(),
        output,
    };
    let add = Op::Add { ma: 3, mb: -2, rq };
    pkg.nodes.extend([
        node("y", conv, &[1], 2),
        node("s", add, &[2, 1], 3),
        node("t", Op::Relu, &[3], 4),
    ]);
    pkg.outputs = vec![IoSpec::new("t", 4)];
    pkg.validate().unwrap();
    pkg
}

/// A fresh engine's outputs for each input, with the fast paths on or off (`reference`).
fn engine(pkg: &Package, threads: usize, reference: bool) -> Engine<'_> {
    // SAFETY: this binary's only test sets it, before each engine reads it.
    unsafe {
        std::env::set_var(
            vouch_engine::profile::REFERENCE_ENV,
            if reference { "1" } else { "0" },
        )
    };
    Engine::new(
        pkg,
        Options {
            threads,
            trace: false,
        },
    )
    .unwrap()
}

#[test]
fn reused_buffers_never_show_a_previous_value() {
    let mut r = Rng::new(11);
    let pkg = package(&mut r);
    let xs: Vec<Tensor> = (0..2).map(|_| r.act16(&[2, 8, 9, 7])).collect();
    // the definition: a fresh reference engine on one thread, per input
    let want: Vec<Vec<Tensor>> = xs
        .iter()
        .map(|x| engine(&pkg, 1, true).run(vec![x.clone()]).unwrap().outputs)
        .collect();
    assert_ne!(want[0], want[1], "the inputs give different outputs");
    for threads in [1, 2] {
        for reference in [false, true] {
            let e = engine(&pkg, threads, reference);
            for (run, i) in [0, 1, 0, 1].into_iter().enumerate() {
                let got = e.run(vec![xs[i].clone()]).unwrap().outputs;
                assert_eq!(
                    got, want[i],
                    "threads {threads}, reference {reference}, run {run}"
                );
            }
        }
    }
}
