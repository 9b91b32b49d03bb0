//! Disputes on the nodes settled by the partial-sum game over their fan-in, on a real anvil: a
//! provider lies in one element of each `Conv`, `MatMul` and `Linear` of fan-in over 64 in
//! `cnn_ops` (the plain 3x3 Conv, the grouped dilated Conv, the strided Conv, the 144->10
//! Gemm) and `lenet` (two Convs, the 400->120 Linear) on the first held-out row; an honest
//! challenger plays the
//! partial-sum game over the element's fan-in (docs/semantics.md section 8.4) to the one-step
//! check of one chunk and wins, the liar slashed, each one-step under 1M gas. The liar's prefix
//! sums deviate from the middle chunk on. The one-step's `gasUsed` is printed
//! (`cargo test -p vouch-chain --test conv_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_chain::dispute;
use vouch_chain::graph::op;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_each_conv_and_large_linear_node_is_caught_by_its_partial_sums() {
    // one liar loses once per node: keep it staked
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let mut table = Vec::new();
    for name in ["cnn_ops", "lenet"] {
        let (bytes, pkg) = vouch_testkit::fixture(name, None);
        vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
        let model = common::publish(&chain, &bytes, &pkg).await;
        chain.stake(2, model, 1_500).await;
        let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 1);
        let targets: Vec<usize> = (0..evidence.nodes.len())
            .filter(|&j| dispute::bisects(&evidence.nodes[j]))
            .collect();
        assert!(
            targets.iter().any(|&j| evidence.nodes[j].op == op::CONV),
            "{name}: no Conv node"
        );
        for j in targets {
            let node = &evidence.nodes[j];
            let k = dispute::fan_in(node).unwrap();
            let chunks = k.div_ceil(dispute::chunk_of(node.op));
            let mut lie = honest.clone();
            // a middle element, moved to a neighbour its requantization can reach
            let e = lie.tensors()[j].len() / 2;
            let hi = node.attrs[3].as_i64();
            let v = i64::from(lie.tensors()[j][e]);
            lie.set(
                j,
                e,
                i32::try_from(if v < hi { v + 1 } else { v - 1 }).unwrap(),
            )
            .unwrap();
            let what = format!("{name} node {j}");
            let (moves, gas) = common::liar_loses(
                (&carol, &honest, &evidence),
                (&bob, &lie),
                model,
                ic,
                chunks / 2,
                &what,
            )
            .await;
            table.push((name, j, node.op, k, moves, gas));
        }
    }
    println!("fixture  node  op      fan-in  moves  one-step gasUsed");
    for (name, j, code, k, moves, gas) in table {
        let op = match code {
            op::CONV => "Conv",
            op::MATMUL => "MatMul",
            _ => "Linear",
        };
        println!("{name:<8} {j:>4}  {op:<6}  {k:>6}  {moves:>5}  {gas:>16}");
    }
}

/// For every element of every node with a partial-sum game in `cnn_ops` and `lenet` (a task of
/// two rows), the honest accumulator `P_m` gives the engine's output under the node's
/// requantization: the terms the client numbers are the element's products, none missing or
/// counted twice.
#[test]
fn every_accumulator_gives_the_engine_output() {
    for name in ["cnn_ops", "lenet"] {
        let (_bytes, pkg) = vouch_testkit::fixture(name, None);
        let (_ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 2);
        let mut checked = 0;
        for (j, node) in evidence.nodes.iter().enumerate() {
            if !dispute::bisects(node) {
                continue;
            }
            let m = dispute::chunks(&evidence, j).unwrap();
            let a = |i: usize| node.attrs[i].as_i64();
            for (e, &z) in honest.tensors()[j].iter().enumerate() {
                let acc = dispute::partial_sum(&honest, &evidence, j, e, m).unwrap();
                let out = if a(4) != 0 {
                    acc
                } else {
                    let (lo, hi) = (i32::try_from(a(2)).unwrap(), i32::try_from(a(3)).unwrap());
                    let s = u32::try_from(a(1)).unwrap();
                    i64::from(vouch_semantics::requant(acc, a(0), s, lo, hi).unwrap())
                };
                assert_eq!(out, i64::from(z), "{name} node {j} element {e}");
                checked += 1;
            }
        }
        assert!(checked > 1000, "{name}: {checked} elements");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_the_second_row_of_a_conv_is_caught_by_its_partial_sums() {
    // a 3-row task of cnn_ops: the chunk step reads row 2 of the Conv's input
    let name = "cnn_ops";
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let (bytes, pkg) = vouch_testkit::fixture(name, None);
    let model = common::publish(&chain, &bytes, &pkg).await;
    chain.stake(2, model, 1_500).await;
    let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 3);
    let j = (0..evidence.nodes.len())
        .filter(|&j| evidence.nodes[j].op == op::CONV)
        .nth(1)
        .unwrap();
    let mut lie = honest.clone();
    // row 2's middle element
    let n1 = lie.tensors()[j].len() / 3;
    let e = 2 * n1 + n1 / 2;
    let v = lie.tensors()[j][e];
    lie.set(
        j,
        e,
        if i64::from(v) < evidence.nodes[j].attrs[3].as_i64() {
            v + 1
        } else {
            v - 1
        },
    )
    .unwrap();
    let chunks = dispute::chunks(&evidence, j).unwrap();
    let (moves, gas) = common::liar_loses_rows(
        (&carol, &honest, &evidence),
        (&bob, &lie),
        (model, 3),
        ic,
        chunks - 1,
        "cnn_ops row 2",
    )
    .await;
    println!("cnn_ops node {j}, row 2 of 3: {moves} moves, one-step gasUsed {gas}");
}

/// A 1x1 `Conv` over a `[1, 256, 64, 64]` input (fan-in 256, one tap per input plane, so every
/// read of a chunk is its own window) and a `MatMul` `[1, 1, 256] x [1, 256, 4096]` (every read
/// of `Y` a column 4096 elements apart), both operands of 2^20 elements (range proofs of 17
/// levels): the widest reads a chunk step makes at that size. Both wide (`i32` outputs).
fn strided_worst_case() -> vouch_model::Package {
    use vouch_model::{Const, Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo};
    let value = |name: &str, kind, dims: &[u32]| TensorInfo {
        name: name.to_owned(),
        kind,
        scale: 1.0,
        shape: std::iter::once(Dim::Batch)
            .chain(dims.iter().map(|&d| Dim::Fixed(d)))
            .collect(),
    };
    let w: Vec<i32> = (0..512).map(|i| (i * 37 % 255) - 127).collect();
    let pkg = Package {
        semantics_version: vouch_semantics::SEMANTICS_VERSION,
        name: "strided_worst_case".to_owned(),
        source_sha256: [0; 32],
        inputs: vec![
            IoSpec::new("img", 0),
            IoSpec::new("a", 1),
            IoSpec::new("b", 2),
        ],
        outputs: vec![IoSpec::new("conv", 3), IoSpec::new("mm", 4)],
        values: vec![
            value("img", Kind::Act8, &[256, 64, 64]),
            value("a", Kind::Act8, &[1, 256]),
            value("b", Kind::Act8, &[256, 4096]),
            value("conv", Kind::Wide, &[2, 64, 64]),
            value("mm", Kind::Wide, &[1, 4096]),
        ],
        consts: vec![Const {
            name: "W".to_owned(),
            scale: 1.0,
            shape: vec![2, 256, 1, 1],
            data: w,
        }],
        nodes: vec![
            Node {
                name: "conv1x1".to_owned(),
                op: Op::Conv {
                    weight: 0,
                    bias: None,
                    kernel: [1, 1],
                    strides: [1, 1],
                    pads: [0; 4],
                    dilations: [1, 1],
                    group: 1,
                    rq: Requant::IDENTITY,
                    wide: true,
                },
                inputs: vec![Operand::Value(0)],
                output: 3,
            },
            Node {
                name: "matmul".to_owned(),
                op: Op::MatMul {
                    rq: Requant::IDENTITY,
                    wide: true,
                },
                inputs: vec![Operand::Value(1), Operand::Value(2)],
                output: 4,
            },
        ],
        accuracy: Default::default(),
    };
    Package::from_bytes(&pkg.to_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widest_chunk_reads_of_a_large_layer_stay_under_1m_gas() {
    use vouch_chain::alloy::primitives::B256;
    use vouch_chain::dispute::{Evidence, HonestTrace};
    let pkg = strided_worst_case();
    let bytes = pkg.to_bytes();
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let model = common::publish(&chain, &bytes, &pkg).await;
    chain.stake(2, model, 1_500).await;
    let data = |n: usize, seed: usize| -> Vec<i32> {
        (0..n)
            .map(|i| i32::try_from((i * 7919 + seed) % 256).unwrap() - 128)
            .collect()
    };
    let inputs = vec![
        vouch_engine::Tensor::new(vec![1, 256, 64, 64], data(1 << 20, 1)).unwrap(),
        vouch_engine::Tensor::new(vec![1, 1, 256], data(256, 2)).unwrap(),
        vouch_engine::Tensor::new(vec![1, 256, 4096], data(1 << 20, 3)).unwrap(),
    ];
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    let evidence = Evidence::new(&pkg, inputs.iter().map(|t| t.data.clone()).collect());
    let options = vouch_engine::Options {
        threads: 1,
        trace: true,
    };
    let exec = vouch_engine::Engine::new(&pkg, options)
        .unwrap()
        .run(inputs)
        .unwrap();
    let honest = HonestTrace::of_package(exec.trace.iter().map(|t| t.data.clone()).collect(), &pkg);
    let mut table = Vec::new();
    for j in 0..2 {
        let mut lie = honest.clone();
        let e = lie.tensors()[j].len() / 2 + 3;
        lie.set(j, e, lie.tensors()[j][e] + 1).unwrap();
        let chunks = dispute::chunks(&evidence, j).unwrap();
        let (moves, gas) = common::liar_loses(
            (&carol, &honest, &evidence),
            (&bob, &lie),
            model,
            ic,
            chunks / 2,
            &format!("worst case node {j}"),
        )
        .await;
        table.push((j, moves, gas));
    }
    println!("worst case (2^20-element operand)  node  moves  one-step gasUsed");
    for (j, moves, gas) in table {
        println!(
            "{:<34} {j:>4}  {moves:>5}  {gas:>16}",
            if j == 0 {
                "Conv 1x1, 256 planes"
            } else {
                "MatMul, 4096 columns"
            }
        );
    }
}
