//! `ai.onnx.ml` opset-5 `TreeEnsemble`: its attributes (branch nodes indexed from
//! `tree_roots`, leaves in their own arrays, enums as integers, splits and weights as tensors)
//! are converted to the layout of `TreeEnsembleRegressor` ([`Legacy`]) and lowered as it is,
//! giving the `n_targets` scores. A `post_transform` other than `NONE` is refused: onnxruntime
//! (1.31) and the ONNX reference implementation ignore it, so its meaning is not settled.
//! A set-membership split (`BRANCH_MEMBER`, its set read from `membership_values`) becomes a
//! chain of `BRANCH_EQ` tests, one per member, that share the node's true child (unfolded by
//! [`read_trees`]) and end in its false child; a NaN takes the first test's missing rule.
//! Sets of more than [`MAX_MEMBERS`] values are refused, naming the node.

use super::tree::{Legacy, read_trees};
use crate::error::Result;
use crate::graph::{Aggregate, NodeMode};
use crate::import::{Ctx, Importer, Sym};
use crate::proto::TensorProto;

/// Opset-5 `nodes_modes` codes, in order: the legacy mode names.
const MODES: [&[u8]; 6] = [
    b"BRANCH_LEQ",
    b"BRANCH_LT",
    b"BRANCH_GTE",
    b"BRANCH_GT",
    b"BRANCH_EQ",
    b"BRANCH_NEQ",
];

/// Largest set of a `BRANCH_MEMBER` split (each member is one `BRANCH_EQ` test on the path).
const MAX_MEMBERS: usize = 64;

/// The elements of a tensor attribute as `f64` (float or double) or, for `uint8`, as
/// integers.
fn tensor_values(ctx: &Ctx<'_>, name: &str) -> Result<Vec<f64>> {
    let Some(t) = ctx.attr(name).and_then(|a| a.t.as_ref()) else {
        return Ok(Vec::new());
    };
    if let Some(v) = super::tree::tensor_f64(t) {
        return Ok(v);
    }
    uint8(t).ok_or_else(|| ctx.bad_attr(name, "must be a float, double or uint8 tensor"))
}

fn uint8(t: &TensorProto) -> Option<Vec<f64>> {
    match t.data_type {
        2 if !t.int32_data.is_empty() => Some(t.int32_data.iter().map(|&v| f64::from(v)).collect()),
        2 => Some(t.raw_data.iter().map(|&b| f64::from(b)).collect()),
        _ => None,
    }
}

impl Importer {
    /// ONNX `ai.onnx.ml` `TreeEnsemble` (opset 5).
    pub(super) fn tree_ensemble_v5(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let n_targets = usize::try_from(ctx.int("n_targets", 0))
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| ctx.bad_attr("n_targets", "must be positive"))?;
        let post = ctx.int("post_transform", 0);
        if post != 0 {
            return Err(ctx.unsupported(format!(
                "post_transform {post}: onnxruntime and the ONNX reference ignore an opset-5 \
                 post-transform, so only NONE (0) has one meaning"
            )));
        }
        let (aggregate, average) = match ctx.int("aggregate_function", 1) {
            0 => (Aggregate::Sum, true),
            1 => (Aggregate::Sum, false),
            2 => (Aggregate::Min, false),
            3 => (Aggregate::Max, false),
            other => return Err(ctx.bad_attr("aggregate_function", format!("unknown {other}"))),
        };
        let legacy = legacy_of_v5(ctx)?;
        let (x, features, scaled) = self.tree_input(ctx)?;
        let (mut trees, per_leaf) = read_trees(ctx, &legacy, features)?;
        if let Some(sc) = scaled {
            super::tree_scaler::compose_nodes(ctx, &sc, &mut trees.nodes)?;
        }
        super::tree::check_targets(ctx, "leaf_targetids", &per_leaf, n_targets)?;
        (trees.aggregate, trees.average) = (aggregate, average);
        trees.base = vec![0.0; n_targets];
        super::tree::set_weights(&mut trees, &per_leaf, |k, v| {
            vec![(k, super::tree::to_f32(v))]
        });
        let out = ctx
            .output(0)
            .ok_or_else(|| ctx.shape_err("node has no output"))?
            .to_owned();
        let y = self.emit_trees(ctx, x, trees, &out)?;
        self.set_out(ctx, 0, Sym::Value(y))
    }
}

/// The opset-5 attributes in the legacy layout: one tree id per tree root, branch `i` as node
/// id `i`, leaf `j` as node id `n + j` (`n` branch nodes), each leaf's one weight.
fn legacy_of_v5(ctx: &Ctx<'_>) -> Result<Legacy> {
    let ints = |name: &str| ctx.ints(name).map(<[i64]>::to_vec).unwrap_or_default();
    let (features, trues, falses) = (
        ints("nodes_featureids"),
        ints("nodes_truenodeids"),
        ints("nodes_falsenodeids"),
    );
    let (true_leaf, false_leaf) = (ints("nodes_trueleafs"), ints("nodes_falseleafs"));
    let missing = ints("nodes_missing_value_tracks_true");
    let (roots, targets) = (ints("tree_roots"), ints("leaf_targetids"));
    let splits = tensor_values(ctx, "nodes_splits")?;
    let modes = tensor_values(ctx, "nodes_modes")?;
    let weights = tensor_values(ctx, "leaf_weights")?;
    let n = features.len();
    let sets = member_sets(ctx, &modes)?;
    for (attr, len) in [
        ("nodes_splits", splits.len()),
        ("nodes_modes", modes.len()),
        ("nodes_truenodeids", trues.len()),
        ("nodes_falsenodeids", falses.len()),
        ("nodes_trueleafs", true_leaf.len()),
        ("nodes_falseleafs", false_leaf.len()),
    ] {
        if len != n {
            return Err(ctx.bad_attr(attr, format!("has {len} entries for {n} nodes")));
        }
    }
    if targets.len() != weights.len() {
        return Err(ctx.bad_attr("leaf_weights", "needs one weight per leaf_targetids entry"));
    }
    let mut l = Legacy {
        tree_ids: Vec::new(),
        node_ids: Vec::new(),
        feature_ids: Vec::new(),
        modes: Vec::new(),
        values: Vec::new(),
        trues: Vec::new(),
        falses: Vec::new(),
        missing: Vec::new(),
        w_trees: Vec::new(),
        w_nodes: Vec::new(),
        w_ids: Vec::new(),
        w_vals: Vec::new(),
        prefix: "leaf",
    };
    let n64 = i64::try_from(n).unwrap_or(i64::MAX);
    let node_id = |leaf: bool, i: i64| if leaf { n64.saturating_add(i) } else { i };
    // the extra BRANCH_EQ nodes of the membership chains: ids after every branch and leaf
    let mut next_id = n64.saturating_add(i64::try_from(targets.len()).unwrap_or(i64::MAX));
    for (t, &root) in roots.iter().enumerate() {
        let t = i64::try_from(t).unwrap_or(i64::MAX);
        // every node reachable from the root, once per tree (read_trees unfolds a node that
        // several branches reach)
        let mut stack = vec![(false, root)];
        let mut seen = std::collections::HashSet::new();
        let mut steps = 0usize;
        while let Some((leaf, i)) = stack.pop() {
            steps += 1;
            if steps > super::MAX_ELEMS {
                return Err(ctx.bad_attr("tree_roots", "a tree that does not end"));
            }
            if !seen.insert((leaf, i)) {
                continue;
            }
            let idx = usize::try_from(i).ok();
            l.tree_ids.push(t);
            l.node_ids.push(node_id(leaf, i));
            l.missing.push(0);
            if leaf {
                let j = idx
                    .filter(|&j| j < targets.len())
                    .ok_or_else(|| ctx.bad_attr("nodes_truenodeids", format!("no leaf {i}")))?;
                l.feature_ids.push(0);
                l.modes.push(b"LEAF".to_vec());
                l.values.push(0.0);
                l.trues.push(0);
                l.falses.push(0);
                l.w_trees.push(t);
                l.w_nodes.push(node_id(true, i));
                l.w_ids.push(targets[j]);
                l.w_vals.push(weights[j]);
                continue;
            }
            let k = idx
                .filter(|&k| k < n)
                .ok_or_else(|| ctx.bad_attr("nodes_truenodeids", format!("no node {i}")))?;
            let (tl, fl) = (true_leaf[k] != 0, false_leaf[k] != 0);
            if let Some(set) = sets.get(&k) {
                // x in {v_0, .., v_m-1}: EQ v_0 ? T : (EQ v_1 ? T : .. (EQ v_m-1 ? T : F))
                // the chain replaces the entry pushed for the node above
                l.tree_ids.pop();
                l.node_ids.pop();
                l.missing.pop();
                let mut id = node_id(false, i);
                for (j, &v) in set.iter().enumerate() {
                    let last = j + 1 == set.len();
                    let next = if last {
                        node_id(fl, falses[k])
                    } else {
                        next_id = next_id.saturating_add(1);
                        next_id
                    };
                    l.tree_ids.push(t);
                    l.node_ids.push(id);
                    l.missing.push(if j == 0 {
                        missing.get(k).copied().unwrap_or(0)
                    } else {
                        0
                    });
                    l.feature_ids.push(features[k]);
                    l.modes.push(b"BRANCH_EQ".to_vec());
                    l.values.push(v);
                    l.trues.push(node_id(tl, trues[k]));
                    l.falses.push(next);
                    id = next;
                }
                stack.push((fl, falses[k]));
                stack.push((tl, trues[k]));
                continue;
            }
            let mode = MODES.get(modes[k] as usize).filter(|_| modes[k] >= 0.0);
            let Some(mode) = mode else {
                return Err(ctx.unsupported(format!("node mode {}", modes[k])));
            };
            l.feature_ids.push(features[k]);
            l.modes.push(mode.to_vec());
            l.values.push(splits[k]);
            l.trues.push(node_id(tl, trues[k]));
            l.falses.push(node_id(fl, falses[k]));
            if let Some(m) = l.missing.last_mut() {
                *m = missing.get(k).copied().unwrap_or(0);
            }
            stack.push((fl, falses[k]));
            stack.push((tl, trues[k]));
        }
    }
    debug_assert!(l.modes.iter().all(|m| NodeMode::from_onnx(m).is_some()));
    Ok(l)
}

/// The set of each `BRANCH_MEMBER` node (mode 6), by node index: `membership_values` holds
/// the sets in node order, separated by NaN.
fn member_sets(ctx: &Ctx<'_>, modes: &[f64]) -> Result<std::collections::HashMap<usize, Vec<f64>>> {
    let members: Vec<usize> = (0..modes.len()).filter(|&k| modes[k] == 6.0).collect();
    let mut out = std::collections::HashMap::new();
    if members.is_empty() {
        return Ok(out);
    }
    let values = tensor_values(ctx, "membership_values")?;
    let mut sets: Vec<Vec<f64>> = vec![Vec::new()];
    for v in values {
        if v.is_nan() {
            sets.push(Vec::new());
        } else if let Some(s) = sets.last_mut() {
            s.push(v);
        }
    }
    // a trailing NaN closes the last set
    if sets.len() == members.len() + 1 && sets.last().is_some_and(Vec::is_empty) {
        sets.pop();
    }
    if sets.len() != members.len() {
        return Err(ctx.bad_attr(
            "membership_values",
            format!(
                "{} sets for {} BRANCH_MEMBER nodes",
                sets.len(),
                members.len()
            ),
        ));
    }
    for (k, set) in members.into_iter().zip(sets) {
        if set.is_empty() || set.len() > MAX_MEMBERS {
            return Err(ctx.unsupported(format!(
                "a BRANCH_MEMBER set of {} values (1 to {MAX_MEMBERS}: each is a BRANCH_EQ test)",
                set.len()
            )));
        }
        out.insert(k, set);
    }
    Ok(out)
}
