//! Tree ensembles: `ai.onnx.ml` `TreeEnsembleClassifier` and `TreeEnsembleRegressor`, lowered
//! to one [`FOp::TreeEnsemble`] of raw scores (`docs/semantics.md` section 3.1) and, for a
//! classifier, an `ArgMax` label and the post-transform (`Softmax`, `Sigmoid`, a `PROBIT`
//! [`ScalarFn`] map) of the scores; a regressor's scores may go through `PROBIT` too.
//!
//! Each tree is laid out depth first from its root, so children come after their parent; the
//! leaf weights are matched to leaves by `(tree id, node id)`. Both the plain float attributes
//! and the `*_as_tensor` forms are read; a double threshold must be exactly a float (the
//! integer model compares float inputs with float thresholds). A node that several branches
//! point to (onnxmltools writes a LightGBM categorical split as a chain of `BRANCH_EQ` tests
//! sharing one true child) is unfolded into one copy of its subtree per branch; a cycle is
//! refused. scikit-learn's binary
//! classifiers (weights for class 0 only) become two score columns whose `ArgMax` is
//! onnxruntime's label: `[1 - s, s]` when every weight is non-negative, else `[-s, s]`.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::graph::{Aggregate, Dim, FOp, FTreeNode, FTrees, NodeMode, Operand, ScalarFn};
use crate::import::{Ctx, Importer, Kind, Sym};
use crate::proto::TensorProto;

use super::tree_scaler::{Scaled, compose_nodes};

/// Largest number of tree nodes or leaf weights accepted (the package holds them as constants).
const MAX_TREE_ROWS: usize = 1 << 22;

/// What the scores go through (`post_transform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Post {
    None,
    Softmax,
    Logistic,
    /// onnxruntime's `PROBIT` of each score ([`ScalarFn::Probit`]).
    Probit,
    /// onnxruntime's softmax over the non-zero scores (`softmax_zero.rs`).
    SoftmaxZero,
}

/// The elements of a float or double tensor attribute as `f64`.
pub(super) fn tensor_f64(t: &TensorProto) -> Option<Vec<f64>> {
    match t.data_type {
        1 if !t.float_data.is_empty() => Some(t.float_data.iter().map(|&v| f64::from(v)).collect()),
        1 => Some(
            t.raw_data
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect(),
        ),
        11 if !t.double_data.is_empty() => Some(t.double_data.clone()),
        11 => Some(
            t.raw_data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect(),
        ),
        _ => None,
    }
}

impl Ctx<'_> {
    /// A float list attribute `name`, or its `name_as_tensor` form (float or double).
    fn floats64(&self, name: &str) -> Result<Vec<f64>> {
        let tensor_name = format!("{name}_as_tensor");
        if let Some(a) = self.attr(&tensor_name) {
            let t =
                a.t.as_ref()
                    .ok_or_else(|| self.bad_attr(&tensor_name, "is not a tensor"))?;
            return tensor_f64(t)
                .ok_or_else(|| self.bad_attr(&tensor_name, "must be a float or double tensor"));
        }
        Ok(self
            .attr(name)
            .map(|a| a.floats.iter().map(|&v| f64::from(v)).collect())
            .unwrap_or_default())
    }

    fn ints_or_empty(&self, name: &str) -> Vec<i64> {
        self.ints(name).map(<[i64]>::to_vec).unwrap_or_default()
    }

    fn tree_err(&self, attr: &str, reason: impl Into<String>) -> Error {
        self.bad_attr(attr, reason)
    }
}

/// `f64` to `f32`, rounding (leaf and base values are approximated anyway).
#[expect(
    clippy::cast_possible_truncation,
    reason = "leaf values are rounded to f32"
)]
pub(super) fn to_f32(v: f64) -> f32 {
    v as f32
}

/// The trees of an ensemble in the attribute layout of `TreeEnsembleClassifier` and
/// `TreeEnsembleRegressor` (one entry per node, leaves included; weights by tree and node id).
/// The opset-5 `TreeEnsemble` is converted to it (`lower/tree_v5.rs`).
pub(super) struct Legacy {
    pub(super) tree_ids: Vec<i64>,
    pub(super) node_ids: Vec<i64>,
    pub(super) feature_ids: Vec<i64>,
    pub(super) modes: Vec<Vec<u8>>,
    pub(super) values: Vec<f64>,
    pub(super) trues: Vec<i64>,
    pub(super) falses: Vec<i64>,
    pub(super) missing: Vec<i64>,
    /// Leaf weights: tree id, node id, target id, value.
    pub(super) w_trees: Vec<i64>,
    pub(super) w_nodes: Vec<i64>,
    pub(super) w_ids: Vec<i64>,
    pub(super) w_vals: Vec<f64>,
    /// The weight attributes' prefix (`class` or `target`), for errors.
    pub(super) prefix: &'static str,
}

impl Legacy {
    /// The attributes of a `TreeEnsembleClassifier` (`prefix` `class`) or `Regressor`
    /// (`target`).
    fn read(ctx: &Ctx<'_>, prefix: &'static str) -> Result<Self> {
        Ok(Self {
            tree_ids: ctx.ints_or_empty("nodes_treeids"),
            node_ids: ctx.ints_or_empty("nodes_nodeids"),
            feature_ids: ctx.ints_or_empty("nodes_featureids"),
            modes: ctx
                .attr("nodes_modes")
                .map(|a| a.strings.clone())
                .unwrap_or_default(),
            values: ctx.floats64("nodes_values")?,
            trues: ctx.ints_or_empty("nodes_truenodeids"),
            falses: ctx.ints_or_empty("nodes_falsenodeids"),
            missing: ctx.ints_or_empty("nodes_missing_value_tracks_true"),
            w_trees: ctx.ints_or_empty(&format!("{prefix}_treeids")),
            w_nodes: ctx.ints_or_empty(&format!("{prefix}_nodeids")),
            w_ids: ctx.ints_or_empty(&format!("{prefix}_ids")),
            w_vals: ctx.floats64(&format!("{prefix}_weights"))?,
            prefix,
        })
    }
}

/// A node to lay out: its id, its parent's row and side (`true` branch), its depth.
type Visit = (i64, Option<(usize, bool)>, usize);

/// The trees of an ensemble node before its leaf weights.
pub(super) fn read_trees(
    ctx: &Ctx<'_>,
    l: &Legacy,
    features: usize,
) -> Result<(FTrees, LeafWeights)> {
    let (tree_ids, node_ids, feature_ids) = (&l.tree_ids[..], &l.node_ids[..], &l.feature_ids[..]);
    let (modes, values, trues, falses) = (&l.modes[..], &l.values[..], &l.trues[..], &l.falses[..]);
    let missing = &l.missing[..];
    let prefix = l.prefix;
    let n = tree_ids.len();
    if n == 0 || n > MAX_TREE_ROWS {
        return Err(ctx.tree_err(
            "nodes_treeids",
            format!("has {n} nodes (1 to {MAX_TREE_ROWS})"),
        ));
    }
    for (attr, len) in [
        ("nodes_nodeids", node_ids.len()),
        ("nodes_featureids", feature_ids.len()),
        ("nodes_modes", modes.len()),
        ("nodes_values", values.len()),
        ("nodes_truenodeids", trues.len()),
        ("nodes_falsenodeids", falses.len()),
    ] {
        if len != n {
            return Err(ctx.tree_err(attr, format!("has {len} entries for {n} nodes")));
        }
    }
    if !missing.is_empty() && missing.len() != n {
        return Err(ctx.tree_err(
            "nodes_missing_value_tracks_true",
            format!("has {} entries for {n} nodes", missing.len()),
        ));
    }
    // (tree, node id) -> attribute index; trees in order of first appearance
    let mut index: HashMap<(i64, i64), usize> = HashMap::new();
    let mut trees: Vec<i64> = Vec::new();
    let mut seen: HashSet<i64> = HashSet::new();
    for (i, (&t, &id)) in tree_ids.iter().zip(node_ids).enumerate() {
        if index.insert((t, id), i).is_some() {
            return Err(ctx.tree_err("nodes_nodeids", format!("node {id} of tree {t} twice")));
        }
        if seen.insert(t) {
            trees.push(t);
        }
    }
    let mut out = FTrees {
        nodes: Vec::with_capacity(n),
        roots: Vec::with_capacity(trees.len()),
        weights: Vec::new(),
        base: Vec::new(),
        aggregate: Aggregate::Sum,
        average: false,
        features,
    };
    // row of each attribute index, for the leaves' weights
    // every row of each (tree, node): a node shared by several branches (onnxmltools'
    // chains of BRANCH_EQ for a categorical split point at one true child) is unfolded, one
    // copy of its subtree per branch reaching it
    let mut rows_of: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for i in (0..n).filter(|&i| modes[i] != b"LEAF") {
        for (attr, c) in [
            ("nodes_truenodeids", trues[i]),
            ("nodes_falsenodeids", falses[i]),
        ] {
            if !index.contains_key(&(tree_ids[i], c)) {
                return Err(ctx.tree_err(attr, format!("tree {} has no node {c}", tree_ids[i])));
            }
        }
    }
    // each tree's nodes, and every (tree, node) a branch points to: linear in the node count
    let mut members: HashMap<i64, Vec<usize>> = HashMap::new();
    let mut child: HashSet<(i64, i64)> = HashSet::new();
    for i in 0..n {
        members.entry(tree_ids[i]).or_default().push(i);
        if modes[i] != b"LEAF" {
            child.extend([(tree_ids[i], trues[i]), (tree_ids[i], falses[i])]);
        }
    }
    for &t in &trees {
        // the root: the node of the tree no branch points to
        let roots: Vec<i64> = members
            .get(&t)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|&&i| !child.contains(&(t, node_ids[i])))
            .map(|&i| node_ids[i])
            .collect();
        let [root] = roots.as_slice() else {
            return Err(ctx.tree_err(
                "nodes_nodeids",
                format!("tree {t} has {} roots", roots.len()),
            ));
        };
        out.roots.push(out.nodes.len());
        // depth first: a row per node, children patched once they have rows
        let mut stack: Vec<Visit> = vec![(*root, None, 0)];
        while let Some((id, parent, depth)) = stack.pop() {
            let &i = index.get(&(t, id)).ok_or_else(|| {
                ctx.tree_err("nodes_truenodeids", format!("tree {t} has no node {id}"))
            })?;
            // a path longer than the node count goes round a cycle
            if depth > n {
                return Err(ctx.tree_err(
                    "nodes_truenodeids",
                    format!("tree {t} has a cycle through node {id}"),
                ));
            }
            let row = out.nodes.len();
            if row >= MAX_TREE_ROWS {
                return Err(ctx.tree_err(
                    "nodes_truenodeids",
                    format!("unfolding the shared subtrees gives more than {MAX_TREE_ROWS} rows"),
                ));
            }
            rows_of.entry((t, id)).or_default().push(row);
            if let Some((p, is_true)) = parent {
                let pn = &mut out.nodes[p];
                if is_true { pn.a = row } else { pn.b = row }
            }
            let mode = NodeMode::from_onnx(&modes[i]).ok_or_else(|| {
                ctx.unsupported(format!("node mode {}", String::from_utf8_lossy(&modes[i])))
            })?;
            let mut node = FTreeNode {
                mode,
                feature: 0,
                threshold: 0.0,
                missing: missing.get(i).is_some_and(|&m| m != 0),
                a: 0,
                b: 0,
            };
            if mode != NodeMode::Leaf {
                let f = usize::try_from(feature_ids[i])
                    .ok()
                    .filter(|&f| f < features);
                node.feature = f.ok_or_else(|| {
                    ctx.tree_err(
                        "nodes_featureids",
                        format!("feature {} of {features}", feature_ids[i]),
                    )
                })?;
                let v = values[i];
                let t32 = to_f32(v);
                if v.is_nan() || f64::from(t32) != v {
                    return Err(ctx.tree_err(
                        "nodes_values",
                        format!("threshold {v} is NaN or not exactly a float"),
                    ));
                }
                // -0.0 and 0.0 are the same threshold
                node.threshold = if t32 == 0.0 { 0.0 } else { t32 };
                // false child pushed first so the true subtree is laid out first
                stack.push((falses[i], Some((row, false)), depth + 1));
                stack.push((trues[i], Some((row, true)), depth + 1));
            }
            out.nodes.push(node);
        }
    }
    if rows_of.len() != n {
        return Err(ctx.tree_err(
            "nodes_nodeids",
            "some nodes are unreachable from their tree's root",
        ));
    }
    // leaf weights, in attribute order per leaf
    let (w_trees, w_nodes) = (&l.w_trees[..], &l.w_nodes[..]);
    let (w_ids, w_vals) = (&l.w_ids[..], &l.w_vals[..]);
    let m = w_trees.len();
    if m > MAX_TREE_ROWS || w_nodes.len() != m || w_ids.len() != m || w_vals.len() != m {
        return Err(ctx.tree_err(
            &format!("{prefix}_weights"),
            format!("{prefix}_treeids, _nodeids, _ids and _weights must have equal lengths (up to {MAX_TREE_ROWS})"),
        ));
    }
    let mut per_leaf: Vec<Vec<(i64, f64)>> = vec![Vec::new(); out.nodes.len()];
    for k in 0..m {
        let rows = rows_of.get(&(w_trees[k], w_nodes[k])).ok_or_else(|| {
            ctx.tree_err(
                &format!("{prefix}_nodeids"),
                format!("no node {} in tree {}", w_nodes[k], w_trees[k]),
            )
        })?;
        for &row in rows {
            if out.nodes[row].mode != NodeMode::Leaf {
                return Err(ctx.tree_err(&format!("{prefix}_nodeids"), "a weight on a branch node"));
            }
            per_leaf[row].push((w_ids[k], w_vals[k]));
        }
    }
    Ok((out, per_leaf))
}

/// Leaf weights by row: `(target id, value)` in attribute order.
type LeafWeights = Vec<Vec<(i64, f64)>>;

/// Fills [`FTrees::weights`] and each leaf's `(first, count)` from `per_leaf`, each weight
/// mapped by `f` to the score columns it adds to.
pub(super) fn set_weights(
    t: &mut FTrees,
    per_leaf: &LeafWeights,
    f: impl Fn(usize, f64) -> Vec<(usize, f32)>,
) {
    for (node, ws) in t.nodes.iter_mut().zip(per_leaf) {
        if node.mode != NodeMode::Leaf {
            continue;
        }
        node.a = t.weights.len();
        for &(k, v) in ws {
            // targets were checked against the column count by the caller
            t.weights.extend(f(usize::try_from(k).unwrap_or(0), v));
        }
        node.b = t.weights.len() - node.a;
    }
}

impl Importer {
    /// The input features `[..., F]` of a tree node, `F`, and the `Scaler` between them and
    /// the trees, if any (its two nodes are dropped: the trees' thresholds move onto its input).
    pub(super) fn tree_input(
        &mut self,
        ctx: &Ctx<'_>,
    ) -> Result<(crate::graph::ValueId, usize, Option<Scaled>)> {
        let mut x = self.value_in(ctx, 0)?;
        let mut scaled = None;
        if let Some(sc) = self.scaled.get(&x).cloned()
            && self.g.inputs.contains(&sc.x)
            && sc.nodes + 2 == self.g.nodes.len()
            && ctx.input(0).is_some_and(|name| self.single_use(name))
        {
            self.g.nodes.truncate(sc.nodes);
            x = sc.x;
            scaled = Some(sc);
        }
        if !self.g.inputs.contains(&x) {
            return Err(ctx.unsupported(
                "trees over a computed tensor (the trees must read a graph input, directly or \
                 through one Scaler read by nothing else: its features are encoded by their \
                 thresholds)",
            ));
        }
        match self.shape(x).last() {
            Some(Dim::Fixed(f)) if self.shape(x).len() >= 2 => Ok((x, *f, scaled)),
            _ => Err(ctx.shape_err("the input must be [N, F] with a fixed feature count F")),
        }
    }

    /// The trees of the node over its input, with a `Scaler`'s thresholds composed.
    fn read_input_trees(
        &mut self,
        ctx: &Ctx<'_>,
        prefix: &'static str,
    ) -> Result<(crate::graph::ValueId, FTrees, LeafWeights)> {
        let (x, features, scaled) = self.tree_input(ctx)?;
        let (mut trees, per_leaf) = read_trees(ctx, &Legacy::read(ctx, prefix)?, features)?;
        if let Some(sc) = scaled {
            compose_nodes(ctx, &sc, &mut trees.nodes)?;
        }
        Ok((x, trees, per_leaf))
    }

    fn post(ctx: &Ctx<'_>) -> Result<Post> {
        match ctx.string("post_transform").unwrap_or(b"NONE") {
            b"NONE" => Ok(Post::None),
            b"SOFTMAX" => Ok(Post::Softmax),
            b"LOGISTIC" => Ok(Post::Logistic),
            b"PROBIT" => Ok(Post::Probit),
            b"SOFTMAX_ZERO" => Ok(Post::SoftmaxZero),
            other => Err(ctx.unsupported(format!(
                "post_transform {} (NONE, SOFTMAX, SOFTMAX_ZERO, LOGISTIC and PROBIT are supported)",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// Emits the `TreeEnsemble` of `trees` over `x`; the value is named `name`.
    pub(super) fn emit_trees(
        &mut self,
        ctx: &Ctx<'_>,
        x: crate::graph::ValueId,
        trees: FTrees,
        name: &str,
    ) -> Result<crate::graph::ValueId> {
        let mut shape = self.shape(x);
        shape.pop();
        shape.push(Dim::Fixed(trees.base.len()));
        self.emit_named(
            ctx,
            FOp::TreeEnsemble(Box::new(trees)),
            vec![Operand::Value(x)],
            shape,
            Kind::Float,
            name,
        )
    }

    /// `ai.onnx.ml` `TreeEnsembleRegressor`: `n_targets` scores, `aggregate_function` `SUM`,
    /// `AVERAGE`, `MIN` or `MAX`, post-transform `NONE` or `PROBIT` (onnxruntime's probit of
    /// each score, a [`ScalarFn::Probit`] map).
    pub(super) fn tree_regressor(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let n = usize::try_from(ctx.int("n_targets", 1))
            .ok()
            .filter(|&n| (1..=MAX_TREE_ROWS).contains(&n))
            .ok_or_else(|| ctx.bad_attr("n_targets", "must be positive"))?;
        let post = Self::post(ctx)?;
        if !matches!(post, Post::None | Post::Probit) {
            return Err(ctx
                .unsupported("a TreeEnsembleRegressor post_transform other than NONE and PROBIT"));
        }
        let (x, mut trees, per_leaf) = self.read_input_trees(ctx, "target")?;
        check_targets(ctx, "target_ids", &per_leaf, n)?;
        (trees.aggregate, trees.average) = match ctx.string("aggregate_function").unwrap_or(b"SUM")
        {
            b"SUM" => (Aggregate::Sum, false),
            b"AVERAGE" => (Aggregate::Sum, true),
            b"MIN" => (Aggregate::Min, false),
            b"MAX" => (Aggregate::Max, false),
            other => {
                return Err(ctx.bad_attr(
                    "aggregate_function",
                    format!("unknown {}", String::from_utf8_lossy(other)),
                ));
            }
        };
        let base = ctx.floats64("base_values")?;
        trees.base = match base.len() {
            0 => vec![0.0; n],
            k if k == n => base.into_iter().map(to_f32).collect(),
            k => return Err(ctx.bad_attr("base_values", format!("has {k} values for {n} targets"))),
        };
        set_weights(&mut trees, &per_leaf, |k, v| vec![(k, to_f32(v))]);
        let name = ctx
            .output(0)
            .ok_or_else(|| ctx.shape_err("node has no output"))?
            .to_owned();
        if post == Post::Probit {
            let scores = self.emit_trees(ctx, x, trees, &format!("{}.scores", ctx.name))?;
            let shape = self.shape(scores);
            let f = ScalarFn::Probit;
            let y = self.emit(
                ctx,
                FOp::Map { f },
                vec![Operand::Value(scores)],
                shape,
                Kind::Float,
            )?;
            return self.set_out(ctx, 0, Sym::Value(y));
        }
        let y = self.emit_trees(ctx, x, trees, &name)?;
        self.set_out(ctx, 0, Sym::Value(y))
    }

    /// `ai.onnx.ml` `TreeEnsembleClassifier` with integer labels `0..n-1`: the label is the
    /// `ArgMax` of the scores, the probabilities their post-transform.
    pub(super) fn tree_classifier(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let labels = ctx.ints_or_empty("classlabels_int64s");
        if labels.is_empty() {
            return Err(ctx.unsupported("string class labels (classlabels_strings)"));
        }
        if !labels.iter().zip(0i64..).all(|(&c, i)| c == i) {
            return Err(ctx.unsupported("class labels other than 0..n-1"));
        }
        let n = labels.len();
        let mut post = Self::post(ctx)?;
        if post == Post::Probit && n == 2 {
            return Err(ctx.unsupported(
                "PROBIT on a binary classifier (onnxruntime's probit of its one score has no \
                 second column to label by)",
            ));
        }
        if post == Post::SoftmaxZero && n == 2 {
            // measured on onnxruntime 1.31: weights for class 0 give [1 - s, s] (no softmax),
            // for class 1 ComputeSoftmaxZero of [0, s]: [0, 1], and NaN where s is 0
            return Err(ctx.unsupported(
                "SOFTMAX_ZERO on a binary classifier: onnxruntime leaves its one score s as \
                 [1 - s, s] (weights for class 0) or takes the softmax of [0, s] (class 1), \
                 NaN where s = 0, a value no integer graph outputs (three or more classes are \
                 supported)",
            ));
        }
        let (x, mut trees, per_leaf) = self.read_input_trees(ctx, "class")?;
        check_targets(ctx, "class_ids", &per_leaf, n)?;
        let base = ctx.floats64("base_values")?;
        let classes: Vec<i64> = {
            let mut c: Vec<i64> = per_leaf.iter().flatten().map(|w| w.0).collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        if n == 2 {
            // onnxruntime's binary forms: one score s from the class-0 weights, or two scores
            // whose class-0 weights are the class-1 weights negated (CatBoost's export), where
            // onnxruntime's label is `s1 > 0`: both are the scores [-s, s] (or [1 - s, s]).
            let two_scores = classes == [0, 1];
            let per_leaf = if two_scores {
                if !base.is_empty() {
                    return Err(ctx.unsupported("a two-score binary classifier with base_values"));
                }
                negated_pairs(ctx, &per_leaf)?
            } else if classes == [0] {
                per_leaf
            } else {
                return Err(ctx.unsupported(
                    "a binary classifier with weights for class 1 only (the one-score form has \
                     weights for class 0; the two-score form for both, class 0 negated)",
                ));
            };
            let b = match base.as_slice() {
                [] => 0.0,
                [b] => to_f32(*b),
                _ => return Err(ctx.unsupported("a binary classifier with two base_values")),
            };
            let positive = !two_scores && per_leaf.iter().flatten().all(|w| w.1 >= 0.0);
            if positive {
                // [1 - s, s]: the label is 1 iff s > 0.5; no post-transform applies
                trees.base = vec![1.0 - b, b];
                post = Post::None;
            } else {
                // [-s, s]: the label is 1 iff s > 0; LOGISTIC applies to both
                trees.base = vec![-b, b];
                if post == Post::Softmax && !two_scores {
                    return Err(ctx.unsupported("SOFTMAX on a one-score binary classifier"));
                }
            }
            set_weights(&mut trees, &per_leaf, |_, v| {
                vec![(0, -to_f32(v)), (1, to_f32(v))]
            });
        } else {
            trees.base = match base.len() {
                0 => vec![0.0; n],
                k if k == n => base.into_iter().map(to_f32).collect(),
                k => {
                    return Err(
                        ctx.bad_attr("base_values", format!("has {k} values for {n} classes"))
                    );
                }
            };
            set_weights(&mut trees, &per_leaf, |k, v| vec![(k, to_f32(v))]);
        }
        if post == Post::SoftmaxZero {
            super::softmax_zero::exact_zeros(ctx, &trees)?;
        }
        let scores_name = format!("{}.scores", ctx.name);
        let y = self.emit_trees(ctx, x, trees, &scores_name)?;
        let shape = self.shape(y);
        let axis = shape.len() - 1;
        if let Some(label) = ctx.output(0).filter(|o| self.uses.contains_key(*o)) {
            let mut s = shape.clone();
            s.pop();
            let label = label.to_owned();
            let op = FOp::ArgMax {
                axis,
                keepdims: false,
                select_last_index: false,
            };
            let idx = self.emit_named(ctx, op, vec![Operand::Value(y)], s, Kind::Index, &label)?;
            self.set_out(ctx, 0, Sym::Value(idx))?;
        }
        if let Some(probs) = ctx.output(1).filter(|o| self.uses.contains_key(*o)) {
            let probs = probs.to_owned();
            let v = match post {
                Post::None => {
                    if let Some(info) = self.g.values.get_mut(y) {
                        info.name.clone_from(&probs);
                    }
                    y
                }
                Post::Softmax => {
                    let op = FOp::Softmax { axis };
                    self.emit_named(ctx, op, vec![Operand::Value(y)], shape, Kind::Float, &probs)?
                }
                Post::Logistic => self.emit_named(
                    ctx,
                    FOp::Sigmoid,
                    vec![Operand::Value(y)],
                    shape,
                    Kind::Float,
                    &probs,
                )?,
                Post::Probit => self.emit_named(
                    ctx,
                    FOp::Map {
                        f: ScalarFn::Probit,
                    },
                    vec![Operand::Value(y)],
                    shape,
                    Kind::Float,
                    &probs,
                )?,
                Post::SoftmaxZero => self.softmax_zero(ctx, y, &probs)?,
            };
            self.set_out(ctx, 1, Sym::Value(v))?;
        }
        Ok(())
    }
}

/// The class-1 weights of a two-score binary classifier, as the one-score form's weights for
/// class 0, when every leaf holds one weight per class and the class-0 weight is the class-1
/// weight negated (so onnxruntime's label `s1 > 0` is the `ArgMax` of `[-s1, s1]`).
fn negated_pairs(ctx: &Ctx<'_>, per_leaf: &LeafWeights) -> Result<LeafWeights> {
    let mut out = Vec::with_capacity(per_leaf.len());
    for ws in per_leaf {
        let one = |k: i64| {
            ws.iter()
                .filter(|w| w.0 == k)
                .map(|w| w.1)
                .collect::<Vec<_>>()
        };
        out.push(match (one(0).as_slice(), one(1).as_slice()) {
            ([], []) => vec![],
            ([w0], [w1]) if *w0 == -*w1 => vec![(0, *w1)],
            _ => {
                return Err(ctx.unsupported(
                    "a two-score binary classifier whose class-0 weights are not the class-1 \
                     weights negated (onnxruntime labels it by the class-1 score alone)",
                ));
            }
        });
    }
    Ok(out)
}

/// Every weight's target id must be a column.
pub(super) fn check_targets(
    ctx: &Ctx<'_>,
    attr: &str,
    per_leaf: &LeafWeights,
    n: usize,
) -> Result<()> {
    match per_leaf
        .iter()
        .flatten()
        .find(|w| usize::try_from(w.0).map_or(true, |k| k >= n))
    {
        Some(w) => Err(ctx.bad_attr(attr, format!("id {} is not below {n}", w.0))),
        None => Ok(()),
    }
}
