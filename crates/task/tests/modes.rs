//! Every op has a zk circuit; a tree ensemble the dispute game cannot judge (MIN/MAX, too deep,
//! leaves too large) is refused for the modes that need the one-step verifier, naming the node
//! and the op; other packages take every mode.

use vouch_engine::vectors::all_cases;
use vouch_task::Mode;
use vouch_task::modes::{check_mode, supported_modes};

fn case_package(op: &str) -> vouch_model::Package {
    let groups = all_cases();
    let (_, cases) = groups.iter().find(|(n, _)| *n == op).expect("vector group");
    cases[0].package()
}

fn tree_package(name: &str) -> vouch_model::Package {
    let groups = all_cases();
    let (_, cases) = groups
        .iter()
        .find(|(n, _)| *n == "TreeEnsemble")
        .expect("vector group");
    let case = cases.iter().find(|c| c.name == name).expect("tree case");
    case.package()
}

/// A `SUM` tree ensemble is proven by the circuit (zk) and settled by the tree partial-sum
/// game (optimistic, committee disagreements).
#[test]
fn sum_tree_packages_take_every_mode() {
    let pkg = tree_package("tree_sum_0");
    for mode in [Mode::Zk, Mode::Optimistic, Mode::Committee] {
        check_mode(&pkg, mode).unwrap();
    }
    assert_eq!(supported_modes(&pkg).len(), Mode::ALL.len());
}

/// `MIN`/`MAX` ensembles have no partial-sum game: refused for the disputable modes before a
/// task is accepted; the zk circuit constrains them, so they take zk only.
#[test]
fn min_max_tree_packages_take_zk_only() {
    for name in ["tree_min_0", "tree_max_0"] {
        let pkg = tree_package(name);
        for mode in [Mode::Optimistic, Mode::Committee] {
            let err = check_mode(&pkg, mode).unwrap_err().to_string();
            assert!(
                err.contains("TreeEnsemble")
                    && err.contains("MIN or MAX")
                    && err.contains(mode.as_str()),
                "{err}"
            );
        }
        check_mode(&pkg, Mode::Zk).unwrap();
        assert_eq!(supported_modes(&pkg), [Mode::Zk], "{name}");
    }
}

/// Sets the first tree ensemble's trees to one chain of `depth` branches whose leaves own
/// `leaf_rows` weight rows each.
fn set_chain(pkg: &mut vouch_model::Package, depth: usize, leaf_rows: usize) {
    let Some(vouch_model::Op::TreeEnsemble {
        nodes,
        weights,
        roots,
        ..
    }) = pkg
        .nodes
        .iter()
        .map(|n| n.op.clone())
        .find(|o| matches!(o, vouch_model::Op::TreeEnsemble { .. }))
    else {
        panic!("no tree ensemble");
    };
    let d = i32::try_from(depth).unwrap();
    let mut rows = Vec::new();
    for i in 0..d {
        // branch i: on to branch i + 1 (the last one to leaf d), else to leaf d + 1 + i
        rows.extend([0, 0, 1, 0, i + 1, d + 1 + i]);
    }
    for _ in 0..=d {
        rows.extend([6, 0, 0, 0, 0, i32::try_from(leaf_rows).unwrap()]);
    }
    let c = &mut pkg.consts[nodes as usize];
    c.shape = vec![u32::try_from(rows.len() / 6).unwrap(), 6];
    c.data = rows;
    let w = &mut pkg.consts[weights as usize];
    w.data = [0, 1].repeat(leaf_rows);
    w.shape = vec![u32::try_from(leaf_rows).unwrap(), 2];
    let r = &mut pkg.consts[roots as usize];
    r.data = vec![0];
    r.shape = vec![1];
}

/// The one-step check's gas is bounded by the path depth and a leaf's weight rows: deeper
/// trees and larger leaves are refused for the disputable modes (docs/semantics.md 8.6).
#[test]
fn trees_the_one_step_cannot_afford_are_refused() {
    use vouch_semantics::tree::{MAX_DISPUTE_DEPTH, MAX_DISPUTE_LEAF_ROWS};
    let mut pkg = tree_package("tree_sum_0");
    set_chain(&mut pkg, MAX_DISPUTE_DEPTH, MAX_DISPUTE_LEAF_ROWS);
    check_mode(&pkg, Mode::Optimistic).unwrap();
    set_chain(&mut pkg, MAX_DISPUTE_DEPTH + 1, 1);
    let err = check_mode(&pkg, Mode::Optimistic).unwrap_err().to_string();
    assert!(
        err.contains(&format!("deeper than {MAX_DISPUTE_DEPTH} branches")),
        "{err}"
    );
    set_chain(&mut pkg, 2, MAX_DISPUTE_LEAF_ROWS + 1);
    let err = check_mode(&pkg, Mode::Committee).unwrap_err().to_string();
    assert!(
        err.contains(&format!("more than {MAX_DISPUTE_LEAF_ROWS} weight rows")),
        "{err}"
    );
    // leaves without values: the step has no weights window to prove
    set_chain(&mut pkg, 2, 0);
    let err = check_mode(&pkg, Mode::Optimistic).unwrap_err().to_string();
    assert!(
        err.contains("without trees, leaf values or features"),
        "{err}"
    );
}

#[test]
fn other_packages_take_every_mode() {
    for op in ["Linear", "Softmax", "Pad"] {
        let pkg = case_package(op);
        assert_eq!(supported_modes(&pkg), Mode::ALL, "{op}");
    }
}

/// A package older than the zk statement (semantics version 3) is not offered zk: its input
/// commitment is refused; the other modes stay.
#[test]
fn packages_older_than_the_zk_statement_are_not_offered_zk() {
    let mut pkg = case_package("Linear");
    for old in [1, 2] {
        pkg.semantics_version = old;
        assert_eq!(
            supported_modes(&pkg),
            [Mode::Optimistic, Mode::Committee],
            "version {old}"
        );
    }
}

/// A `Softmax` or `ArgMax` element's one-step check reads its whole slice as one window: a
/// slice spanning more than 224 input elements (YOLOv8's DFL softmax runs over an axis of
/// stride 8,400: 126,001) needs a check no block holds, so the disputable modes refuse it
/// before a task is accepted, naming the node; zk is unaffected, and a short slice passes.
#[test]
fn a_softmax_or_argmax_over_a_wide_slice_is_not_disputable() {
    use vouch_model::{Dim, Op, Operand};
    for op in ["Softmax", "ArgMax"] {
        let mut pkg = case_package(op);
        for mode in [Mode::Optimistic, Mode::Committee] {
            check_mode(&pkg, mode).unwrap_or_else(|e| panic!("{op}: {e}"));
        }
        let node = pkg
            .nodes
            .iter()
            .position(|n| matches!(n.op, Op::Softmax { .. } | Op::ArgMax { .. }))
            .unwrap();
        if let Op::Softmax { axis, .. } | Op::ArgMax { axis, .. } = &mut pkg.nodes[node].op {
            *axis = 1;
        }
        let Some(Operand::Value(v)) = pkg.nodes[node].inputs.first().cloned() else {
            panic!("{op} reads a value");
        };
        // [batch, 16, 2100]: the slice along axis 1 spans 15 * 2100 + 1 elements
        pkg.values[v as usize].shape = vec![Dim::Batch, Dim::Fixed(16), Dim::Fixed(2100)];
        for mode in [Mode::Optimistic, Mode::Committee] {
            let err = check_mode(&pkg, mode).unwrap_err().to_string();
            assert!(
                err.contains(op) && err.contains("224") && err.contains(mode.as_str()),
                "{err}"
            );
        }
        check_mode(&pkg, Mode::Zk).unwrap();
        // the same slice moved last is contiguous: 16 elements
        pkg.values[v as usize].shape = vec![Dim::Batch, Dim::Fixed(2100), Dim::Fixed(16)];
        if let Op::Softmax { axis, .. } | Op::ArgMax { axis, .. } = &mut pkg.nodes[node].op {
            *axis = 2;
        }
        check_mode(&pkg, Mode::Optimistic).unwrap();
        // a contiguous slice longer than the span is still the whole slice for the op's check
        // (a 16-bit import lowers such a softmax to stages instead: quant's long_softmax test)
        pkg.values[v as usize].shape = vec![Dim::Batch, Dim::Fixed(16), Dim::Fixed(1200)];
        for mode in [Mode::Optimistic, Mode::Committee] {
            let err = check_mode(&pkg, mode).unwrap_err().to_string();
            assert!(err.contains(op) && err.contains("224"), "{err}");
        }
        check_mode(&pkg, Mode::Zk).unwrap();
    }
}

/// A `Concat` element's one-step check takes a window of every input: the importer splits a
/// `Concat` of more than 8 inputs into a tree (`crates/chain/tests/concat_dispute.rs`), and a package
/// holding one (made before that lowering) is refused for the modes that need the one-step
/// verifier, naming the node; zk is unaffected, and 8 inputs pass.
#[test]
fn a_concat_of_many_inputs_is_not_disputable() {
    use vouch_model::{Dim, MAX_CONCAT_INPUTS, Op};
    let mut pkg = case_package("Concat");
    let node = pkg
        .nodes
        .iter()
        .position(|n| matches!(n.op, Op::Concat { .. }))
        .unwrap();
    // the first [2, 3] input, `n` times along axis 1
    let with_inputs = |pkg: &mut vouch_model::Package, n: usize| {
        let first = pkg.nodes[node].inputs[0];
        pkg.nodes[node].inputs = vec![first; n];
        let out = pkg.nodes[node].output as usize;
        pkg.values[out].shape = vec![Dim::Fixed(2), Dim::Fixed(3 * n as u32)];
    };
    with_inputs(&mut pkg, MAX_CONCAT_INPUTS);
    for mode in [Mode::Zk, Mode::Optimistic, Mode::Committee] {
        check_mode(&pkg, mode).unwrap_or_else(|e| panic!("{mode}: {e}"));
    }
    with_inputs(&mut pkg, MAX_CONCAT_INPUTS + 1);
    for mode in [Mode::Optimistic, Mode::Committee] {
        let err = check_mode(&pkg, mode).unwrap_err().to_string();
        assert!(
            err.contains("Concat")
                && err.contains("more than 8 inputs")
                && err.contains(&format!("{:?}", pkg.nodes[node].name))
                && err.contains(mode.as_str()),
            "{err}"
        );
    }
    assert_eq!(supported_modes(&pkg), vec![Mode::Zk]);
}
