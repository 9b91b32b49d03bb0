//! Vector cases of the tree family, drawn after every other case: `TreeEnsemble` with every
//! node mode (`LEQ`, `LT`, `GTE`, `GT`, `EQ`, `NEQ`), missing values (code `-1`) with and
//! without `missing_value_tracks_true`, leaves with several, repeated or no weights, a tree
//! that is a single leaf, and each aggregate (`SUM`, `MIN`, `MAX`).

use super::{Case, Rng};
use crate::Tensor;
use vouch_model::{Aggregate, Kind, Op};
use vouch_semantics::NodeMode;

/// A branch row `[mode, feature, c, missing, a, b]`.
fn branch(mode: NodeMode, feature: i32, c: i32, missing: bool, a: i32, b: i32) -> [i32; 6] {
    [mode.code(), feature, c, i32::from(missing), a, b]
}

/// A leaf row owning weight rows `[start, start + count)`.
fn leaf(start: i32, count: i32) -> [i32; 6] {
    [NodeMode::Leaf.code(), 0, 0, 0, start, count]
}

fn t(shape: &[usize], data: Vec<i32>) -> Tensor {
    Tensor {
        shape: shape.to_vec(),
        data,
    }
}

/// The same forest (two trees over three features, two targets, plus a single-leaf tree)
/// under each aggregate, on twelve rows of random codes (missing values included).
pub(super) fn tree_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    use NodeMode::{Eq, Gt, Gte, Leq, Lt, Neq};
    let nodes: Vec<[i32; 6]> = vec![
        // tree 0
        branch(Leq, 0, 1, true, 1, 4),
        branch(Lt, 1, 3, false, 2, 3),
        leaf(0, 1),
        leaf(1, 2),
        branch(Gte, 2, 1, false, 5, 6),
        leaf(3, 1),
        branch(Gt, 0, 3, true, 7, 8),
        leaf(4, 1),
        leaf(5, 0),
        // tree 1
        branch(Eq, 1, 1, false, 10, 11),
        leaf(5, 1),
        branch(Neq, 2, 3, false, 12, 13),
        leaf(6, 2),
        leaf(8, 1),
        // tree 2: a single leaf
        leaf(9, 1),
    ];
    let targets = [0, 0, 1, 1, 0, 1, 1, 1, 0, 1];
    // thresholds: feature 0 [-1, 0.5], feature 1 [0, 2], feature 2 [1, 3]
    let thresholds: Vec<i32> = [-1.0f32, 0.5, 0.0, 2.0, 1.0, 3.0]
        .iter()
        .map(|v| v.to_bits() as i32)
        .collect();
    for (name, aggregate) in [
        ("tree_sum_0", Aggregate::Sum),
        ("tree_min_0", Aggregate::Min),
        ("tree_max_0", Aggregate::Max),
    ] {
        let weights: Vec<i32> = targets
            .iter()
            .flat_map(|&k| [k, r.range(-100_000, 100_000)])
            .collect();
        let base = vec![r.range(-5000, 5000), r.range(-5000, 5000)];
        let x: Vec<i32> = (0..12 * 3).map(|_| r.range(-1, 4)).collect();
        push(
            "TreeEnsemble",
            Case {
                name: name.into(),
                op: Op::TreeEnsemble {
                    nodes: 0,
                    weights: 1,
                    roots: 2,
                    base: 3,
                    bounds: 4,
                    thresholds: 5,
                    aggregate,
                },
                inputs: vec![t(&[12, 3], x)],
                consts: vec![
                    t(&[nodes.len(), 6], nodes.concat()),
                    t(&[targets.len(), 2], weights),
                    t(&[3], vec![0, 9, 14]),
                    t(&[2], base),
                    t(&[4], vec![0, 2, 4, 6]),
                    t(&[6], thresholds.clone()),
                ],
                out_shape: vec![12, 2],
                out_kind: Kind::Wide,
            },
        );
    }
}
