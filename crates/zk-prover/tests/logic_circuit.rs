//! Comparisons, logic ops and `Where` need no new circuit: the quantizer lowers them into
//! `Add`, `Mul`, `Lut` and `Rescale` nodes. A package holding every form (operands on
//! different scales, a constant operand, a broadcast condition) is satisfied by its witness
//! and its circuit outputs are the engine's, at 16 and at 8 bits.

#![allow(clippy::unwrap_used, missing_docs)]

use vouch_engine::{Engine, Options, Tensor};
use vouch_onnx::Dim;
use vouch_onnx::graph::{BoolOp, FConst, FGraph, FNode, FOp, Operand, ValueInfo};
use vouch_quant::FTensor;

fn value(name: &str, shape: &[usize]) -> ValueInfo {
    ValueInfo {
        name: name.into(),
        shape: shape.iter().map(|&d| Dim::Fixed(d)).collect(),
        imputation: None,
        integer: None,
        grid: None,
        declared_range: None,
    }
}

/// `x`, `y` `[2, 4]`; `g = x > y`, `e = x == y`, `l = x <= k` (constant row), `a = g and l`,
/// `o = xor(e, a)`, `n = not o`, `w = where(n, x, y)`, `r = where(m, y, k)` with `m` a `[2, 1]`
/// condition from a `Greater` of the first column and a constant.
fn graph() -> FGraph {
    let names = [
        ("x", &[2, 4][..]),
        ("y", &[2, 4]),
        ("g", &[2, 4]),
        ("e", &[2, 4]),
        ("l", &[2, 4]),
        ("a", &[2, 4]),
        ("o", &[2, 4]),
        ("n", &[2, 4]),
        ("w", &[2, 4]),
        ("c0", &[2, 1]),
        ("m", &[2, 1]),
        ("r", &[2, 4]),
    ];
    let values = names.iter().map(|(n, s)| value(n, s)).collect();
    let v = |name: &str| Operand::Value(names.iter().position(|(n, _)| *n == name).unwrap());
    let out = |name: &str| names.iter().position(|(n, _)| *n == name).unwrap();
    let logic = |op: BoolOp, ins: Vec<Operand>, o: &str| FNode {
        name: o.into(),
        op: FOp::Logic { op },
        inputs: ins,
        output: out(o),
    };
    let consts = vec![
        FConst {
            name: "k".into(),
            shape: vec![4],
            data: vec![0.5, -1.0, 2.0, 0.0],
        },
        FConst {
            name: "t".into(),
            shape: vec![1],
            data: vec![0.25],
        },
    ];
    let nodes = vec![
        logic(BoolOp::Greater, vec![v("x"), v("y")], "g"),
        logic(BoolOp::Equal, vec![v("x"), v("y")], "e"),
        logic(BoolOp::LessOrEqual, vec![v("x"), Operand::Const(0)], "l"),
        logic(BoolOp::And, vec![v("g"), v("l")], "a"),
        logic(BoolOp::Xor, vec![v("e"), v("a")], "o"),
        logic(BoolOp::Not, vec![v("o")], "n"),
        FNode {
            name: "w".into(),
            op: FOp::Where,
            inputs: vec![v("n"), v("x"), v("y")],
            output: out("w"),
        },
        FNode {
            name: "c0".into(),
            op: FOp::Select {
                maps: vec![vec![], vec![0]],
            },
            inputs: vec![v("x")],
            output: out("c0"),
        },
        logic(BoolOp::Greater, vec![v("c0"), Operand::Const(1)], "m"),
        FNode {
            name: "r".into(),
            op: FOp::Where,
            inputs: vec![v("m"), v("y"), Operand::Const(0)],
            output: out("r"),
        },
    ];
    FGraph {
        values,
        consts,
        nodes,
        inputs: vec![0, 1],
        outputs: vec![out("g"), out("e"), out("n"), out("w"), out("r")],
        ..Default::default()
    }
}

#[test]
fn logic_ops_are_satisfied_by_the_engines_witness() {
    let g = graph();
    // y spans three times x's range: the comparisons run on two scales
    let x = FTensor {
        shape: vec![2, 4],
        data: vec![0.5, -1.0, 2.0, 0.0, 1.5, -2.0, 0.25, 1.0],
    };
    let y = FTensor {
        shape: vec![2, 4],
        data: vec![0.5, -6.0, 1.0, 3.0, -1.5, 6.0, -0.5, 0.0],
    };
    for precision in [vouch_quant::Precision::Int16, vouch_quant::Precision::Int8] {
        let cal = vec![x.clone(), y.clone()];
        let pkg =
            vouch_quant::import_at(&g, cal.clone(), "logic", [0; 32], precision, |_| {}).unwrap();
        let inputs: Vec<Tensor> = vouch_quant::quantize_inputs(&pkg, &cal);
        let engine = Engine::new(
            &pkg,
            Options {
                threads: 1,
                trace: false,
            },
        )
        .unwrap();
        let exec = engine.run(inputs.clone()).unwrap();
        // the bools are the float comparisons here: no pair is within a step except x = y = 0.5,
        // which on two scales compares the quantized 0.50002 and 0.50005 ("not >", as in f32)
        let bools: Vec<i32> = (0..8).map(|i| i32::from(x.data[i] > y.data[i])).collect();
        assert_eq!(exec.outputs[0].data, bools, "{precision:?}");
        let c = vouch_zk_prover::circuit::build(&pkg, inputs).unwrap();
        assert_eq!(c.cs.first_unsatisfied(), None, "{precision:?}");
        assert_eq!(c.outputs, exec.outputs, "{precision:?}");
    }
}
