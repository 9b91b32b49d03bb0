//! `TreeEnsemble` packages (`docs/semantics.md` section 3.1): the structural checks of the
//! node's constants, and the input encoding a graph input read by trees carries
//! ([`Package::input_encoding`]).

use crate::ir::{Dim, Kind, Node, Op, Operand};
use crate::package::Package;
use crate::validate::{InvalidPackage, node_err};
use vouch_semantics::NodeMode;
use vouch_semantics::tree::{NODE_COLS, WEIGHT_COLS, check_thresholds};

/// The input encoding of a graph input read by `TreeEnsemble` nodes: per feature, its sorted
/// thresholds. A float feature value becomes [`vouch_semantics::tree::feature_code`] of it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureCodes {
    /// `thresholds[f]` is feature `f`'s strictly increasing threshold list.
    pub thresholds: Vec<Vec<f32>>,
}

impl FeatureCodes {
    /// The code of value `x` of feature `f` (element `i` of a row of `F` features is feature
    /// `i mod F`).
    pub fn code(&self, f: usize, x: f32) -> i32 {
        self.thresholds
            .get(f)
            .map_or(vouch_semantics::tree::MISSING, |t| {
                vouch_semantics::tree::feature_code(x, t)
            })
    }
}

/// The constants of a `TreeEnsemble` node, as slices.
struct Parts<'a> {
    nodes: &'a [i32],
    weights: &'a [i32],
    roots: &'a [i32],
    base: &'a [i32],
    bounds: &'a [i32],
    thresholds: &'a [i32],
}

impl Package {
    fn tree_parts(&self, node: &Node) -> Option<Parts<'_>> {
        let Op::TreeEnsemble {
            nodes,
            weights,
            roots,
            base,
            bounds,
            thresholds,
            ..
        } = &node.op
        else {
            return None;
        };
        let c = |id: u32| self.consts.get(id as usize).map(|c| c.data.as_slice());
        Some(Parts {
            nodes: c(*nodes)?,
            weights: c(*weights)?,
            roots: c(*roots)?,
            base: c(*base)?,
            bounds: c(*bounds)?,
            thresholds: c(*thresholds)?,
        })
    }

    /// The per-feature thresholds of a `TreeEnsemble` node (from its `bounds` and
    /// `thresholds`), or why they are malformed.
    fn tree_thresholds(&self, node: &Node) -> Result<Vec<Vec<f32>>, InvalidPackage> {
        let n = &node.name;
        let p = self
            .tree_parts(node)
            .ok_or_else(|| node_err(n, "missing tree constants"))?;
        if p.bounds.first() != Some(&0)
            || p.bounds.windows(2).any(|w| w[0] > w[1])
            || p.bounds.last().and_then(|&b| usize::try_from(b).ok()) != Some(p.thresholds.len())
        {
            return Err(node_err(
                n,
                "tree bounds must rise from 0 to the threshold count",
            ));
        }
        p.bounds
            .windows(2)
            .map(|w| {
                let t: Vec<f32> = p.thresholds[w[0] as usize..w[1] as usize]
                    .iter()
                    .map(|&b| f32::from_bits(b as u32))
                    .collect();
                check_thresholds(&t)
                    .map_err(|e| node_err(n, format!("feature thresholds: {e}")))?;
                Ok(t)
            })
            .collect()
    }

    /// Checks a `TreeEnsemble` node (section 3.1): constant shapes, every row of `nodes`
    /// (modes, features, threshold codes, children after parents, leaf weight ranges), roots,
    /// targets, the `i32` bound of every target, an `act16` graph input of `F` features and a
    /// `wide` output of `N` targets.
    pub(crate) fn validate_tree(&self, node: &Node) -> Result<(), InvalidPackage> {
        let n = &node.name;
        let thresholds = self.tree_thresholds(node)?;
        let p = self
            .tree_parts(node)
            .ok_or_else(|| node_err(n, "missing tree constants"))?;
        let (f, targets) = (thresholds.len(), p.base.len());
        let input = match node.inputs.first() {
            Some(Operand::Value(v)) => self.values.get(*v as usize).map(|t| (*v, t)),
            _ => None,
        };
        let Some((xv, x)) = input else {
            return Err(node_err(n, "a tree ensemble reads a dynamic input"));
        };
        let most = thresholds.iter().map(Vec::len).max().unwrap_or(0);
        let fits = x
            .kind
            .act_range()
            .is_some_and(|(_, hi)| i64::from(hi) >= 2 * most as i64);
        if !fits || x.shape.last() != Some(&Dim::Fixed(f as u32)) {
            return Err(node_err(
                n,
                format!(
                    "the input must be act8/act16 codes of {f} features (up to {})",
                    2 * most
                ),
            ));
        }
        if !self.inputs.iter().any(|i| i.value == xv) {
            return Err(node_err(
                n,
                "a tree ensemble reads a graph input (its feature codes)",
            ));
        }
        let out = self.values.get(node.output as usize);
        if out.is_none_or(|o| {
            o.kind != Kind::Wide || o.shape.last() != Some(&Dim::Fixed(targets as u32))
        }) {
            return Err(node_err(
                n,
                format!("the output must be wide with {targets} targets"),
            ));
        }
        if p.nodes.len() % NODE_COLS != 0 || p.weights.len() % WEIGHT_COLS != 0 {
            return Err(node_err(
                n,
                "tree nodes or weights have the wrong row width",
            ));
        }
        let rows = p.nodes.len() / NODE_COLS;
        let nw = p.weights.len() / WEIGHT_COLS;
        for (i, r) in p.nodes.chunks_exact(NODE_COLS).enumerate() {
            let bad = |what: &str| Err(node_err(n, format!("tree node row {i}: {what}")));
            let (feature, c, missing, a, b) = (r[1], r[2], r[3], r[4], r[5]);
            match NodeMode::from_code(r[0]) {
                None => return bad("unknown mode"),
                Some(NodeMode::Leaf) => {
                    let end = i64::from(a) + i64::from(b);
                    if feature != 0 || c != 0 || missing != 0 || a < 0 || b < 0 || end > nw as i64 {
                        return bad("leaf fields out of range");
                    }
                }
                Some(_) => {
                    let t = usize::try_from(feature)
                        .ok()
                        .and_then(|f| thresholds.get(f));
                    let Some(t) = t else {
                        return bad("feature out of range");
                    };
                    if c < 1 || c % 2 != 1 || (c as usize) >= 2 * t.len() {
                        return bad("threshold code is not 2j + 1 of a threshold j");
                    }
                    let child = |x: i32| usize::try_from(x).is_ok_and(|x| x > i && x < rows);
                    if !(missing == 0 || missing == 1) || !child(a) || !child(b) {
                        return bad("children must come after the node, missing must be 0 or 1");
                    }
                }
            }
        }
        if p.roots
            .iter()
            .any(|&r| usize::try_from(r).is_ok_and(|r| r >= rows) || r < 0)
        {
            return Err(node_err(n, "tree root out of range"));
        }
        let mut bound: Vec<i64> = p.base.iter().map(|b| i64::from(*b).abs()).collect();
        for w in p.weights.chunks_exact(WEIGHT_COLS) {
            let slot = usize::try_from(w[0]).ok().and_then(|k| bound.get_mut(k));
            let Some(slot) = slot else {
                return Err(node_err(n, "leaf weight target out of range"));
            };
            *slot = slot.saturating_add(i64::from(w[1]).abs());
        }
        if bound.iter().any(|&b| b >= 1 << 31) {
            return Err(node_err(n, "a target's |base| + Σ|w| reaches 2^31"));
        }
        Ok(())
    }

    /// The feature codes graph input `i` is encoded with, when `TreeEnsemble` nodes read it
    /// (`None` for an input quantized by its scale). Every node reading such an input must be a
    /// `TreeEnsemble` with the same thresholds.
    pub fn input_encoding(&self, i: usize) -> Result<Option<FeatureCodes>, InvalidPackage> {
        let Some(spec) = self.inputs.get(i) else {
            return Ok(None);
        };
        let readers: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| n.inputs.contains(&Operand::Value(spec.value)))
            .collect();
        let mut enc: Option<Vec<Vec<f32>>> = None;
        for r in &readers {
            if !matches!(r.op, Op::TreeEnsemble { .. }) {
                continue;
            }
            let t = self.tree_thresholds(r)?;
            if enc.as_ref().is_some_and(|e| *e != t) {
                return Err(node_err(
                    &r.name,
                    "trees read one input with different thresholds",
                ));
            }
            enc = Some(t);
        }
        if enc.is_some()
            && readers
                .iter()
                .any(|r| !matches!(r.op, Op::TreeEnsemble { .. }))
        {
            return Err(node_err(
                &spec.name,
                "an input encoded as feature codes is read by an op other than a tree ensemble",
            ));
        }
        Ok(enc.map(|thresholds| FeatureCodes { thresholds }))
    }

    /// Why the dispute game cannot judge `TreeEnsemble` node `node` (`docs/semantics.md`
    /// section 8.6), or `None` when it can (or `node` is no tree ensemble): only a `SUM`
    /// ensemble has the partial-sum game over its trees, and the one-step check's gas is bounded
    /// by a path of at most [`vouch_semantics::tree::MAX_DISPUTE_DEPTH`] branches and leaves of
    /// at most [`vouch_semantics::tree::MAX_DISPUTE_LEAF_ROWS`] weight rows.
    pub fn tree_dispute_refusal(&self, node: &Node) -> Option<&'static str> {
        use vouch_semantics::tree::{MAX_DISPUTE_DEPTH, MAX_DISPUTE_LEAF_ROWS};
        let Op::TreeEnsemble { aggregate, .. } = &node.op else {
            return None;
        };
        if *aggregate != vouch_semantics::Aggregate::Sum {
            return Some("one-step verifier for a MIN or MAX aggregate (only SUM ensembles)");
        }
        let Some(p) = self.tree_parts(node) else {
            return Some("one-step verifier for an ensemble without its constants");
        };
        // the tree step proves a window of the feature codes, of `roots` and of `weights`: none
        // can be empty
        if p.roots.is_empty() || p.weights.is_empty() || p.bounds.len() < 2 {
            return Some(
                "one-step verifier for an ensemble without trees, leaf values or features",
            );
        }
        // children come after their parent: the depth below each row, from the last row up
        let rows: Vec<&[i32]> = p.nodes.chunks_exact(NODE_COLS).collect();
        let mut depth = vec![0usize; rows.len()];
        for (i, r) in rows.iter().enumerate().rev() {
            let below = |c: i32| usize::try_from(c).ok().and_then(|c| depth.get(c)).copied();
            if NodeMode::from_code(r[0]) == Some(NodeMode::Leaf) {
                if usize::try_from(r[5]).map_or(true, |b| b > MAX_DISPUTE_LEAF_ROWS) {
                    return Some("one-step verifier for a leaf of more than 16 weight rows");
                }
                continue;
            }
            depth[i] = 1 + below(r[4]).unwrap_or(0).max(below(r[5]).unwrap_or(0));
        }
        let deepest = p
            .roots
            .iter()
            .filter_map(|&r| usize::try_from(r).ok().and_then(|r| depth.get(r)))
            .max()
            .copied()
            .unwrap_or(0);
        (deepest > MAX_DISPUTE_DEPTH)
            .then_some("one-step verifier for a tree deeper than 6 branches")
    }

    /// Whether any node is a `TreeEnsemble`.
    pub fn has_trees(&self) -> bool {
        self.nodes
            .iter()
            .any(|n| matches!(n.op, Op::TreeEnsemble { .. }))
    }
}
