//! The engine drops each value after its last reader and reshapes a value no later node reads
//! in place: a value read again later (by a second `Reshape`, an `Add`, or as a graph output)
//! must still be there, with the same bits, traced or not, on one thread or two.

use vouch_engine::vectors::{Case, Rng};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Dim, IoSpec, Kind, Node, Op, Operand, Requant, TensorInfo};

/// `x [1, 6]`: `a = Reshape(x) [2, 3]`, `b = Reshape(a) [3, 2]`, `c = Reshape(b) [1, 6]`,
/// `d = Add(c, x)`, `e = Reshape(x) [6, 1]`; outputs `d`, `a` and `e` (so `x` is read after
/// two reshapes of it, and `a`, a graph output, is reshaped by a later node).
#[test]
fn reshapes_and_drops_keep_every_value_a_later_node_reads() {
    let mut r = Rng::new(7);
    let x = r.act16(&[1, 6]);
    // one node's package, then grown into the graph above
    let mut pkg = Case {
        name: "lifetime".into(),
        op: Op::Reshape,
        inputs: vec![x.clone()],
        consts: vec![],
        out_shape: vec![2, 3],
        out_kind: Kind::Act16,
    }
    .package();
    let info = |name: &str, shape: &[u32]| TensorInfo {
        name: name.into(),
        kind: Kind::Act16,
        scale: 1.0,
        shape: shape.iter().map(|&d| Dim::Fixed(d)).collect(),
    };
    pkg.values.extend([
        info("b", &[3, 2]),
        info("c", &[1, 6]),
        info("d", &[1, 6]),
        info("e", &[6, 1]),
    ]);
    let node = |name: &str, op: Op, inputs: &[u32], output: u32| Node {
        name: name.into(),
        op,
        inputs: inputs.iter().map(|&v| Operand::Value(v)).collect(),
        output,
    };
    let rq = Requant {
        m: 1,
        s: 0,
        lo: -32_768,
        hi: 32_767,
    };
    pkg.nodes.extend([
        node("b", Op::Reshape, &[1], 2),
        node("c", Op::Reshape, &[2], 3),
        node("d", Op::Add { ma: 1, mb: 1, rq }, &[3, 0], 4),
        node("e", Op::Reshape, &[0], 5),
    ]);
    pkg.outputs = vec![
        IoSpec::new("d", 4),
        IoSpec::new("z", 1),
        IoSpec::new("e", 5),
    ];
    pkg.validate().unwrap();
    let sum: Vec<i32> = x
        .data
        .iter()
        .map(|&v| (2 * v).clamp(-32_768, 32_767))
        .collect();
    let want = [
        Tensor::new(vec![1, 6], sum).unwrap(),
        Tensor::new(vec![2, 3], x.data.clone()).unwrap(),
        Tensor::new(vec![6, 1], x.data.clone()).unwrap(),
    ];
    for threads in [1, 2] {
        for trace in [false, true] {
            let ex = Engine::new(&pkg, Options { threads, trace })
                .unwrap()
                .run(vec![x.clone()])
                .unwrap();
            assert_eq!(ex.outputs, want, "threads {threads}, trace {trace}");
            if trace {
                let shapes: Vec<_> = ex.trace.iter().map(|t| t.shape.clone()).collect();
                assert_eq!(
                    shapes,
                    [vec![2, 3], vec![3, 2], vec![1, 6], vec![1, 6], vec![6, 1]]
                );
                assert!(ex.trace[..3].iter().all(|t| t.data == x.data));
            }
        }
    }
}
