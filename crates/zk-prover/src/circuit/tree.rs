//! Decision-tree ensembles (`docs/semantics.md` section 3.1): the integer `TreeEnsemble`, row
//! by row. The trees, thresholds and leaf values are constants of the package, so the only
//! witnesses are the feature codes and what is derived from them.
//!
//! - **Codes.** For feature `f` the *breakpoints* `B_0 = -1 < B_1 = 0 < … < B_{m-1}` are `-1`,
//!   `0` and every `c` and `c + 1` of a branch on `f` (within `[0, 2 |T_f|]`), so all the codes
//!   of a segment `[B_j, B_{j+1})` (the last one ends at `2 |T_f|`) go the same way at every
//!   branch on `f`. Per row, a thermometer `u_j = [q >= B_j]` (`u_0 = 1`, `u_m = 0` constants,
//!   `u_1 … u_{m-1}` variables) whose steps `u_j - u_{j+1}` are each constrained boolean: the
//!   steps sum to 1, so exactly one is set (segment `j`), and `q = B_j + r` with
//!   `0 <= r < B_{j+1} - B_j`: two range checks of the widest gap's bits, or `r = 0` when every
//!   gap is 1. A code outside `[-1, 2 |T_f|]` lies in no segment, so no witness satisfies the
//!   rows (the malformed input of section 3.1 is unprovable).
//! - **Decisions.** A branch's decision is `h_0 + Σ_j (h_j - h_{j-1}) u_j` with `h_j` the
//!   engine's own [`NodeMode::holds`] on segment `j` (missing code and flag included): a linear
//!   combination of at most three `u`, no row. `EQ`/`NEQ` are exact (segment `[c, c + 1)`).
//! - **Paths.** Per tree, from `reach[root] = 1`: `reach[a] = reach[i]·d_i` (one row; none at
//!   the root), `reach[b] = reach[i] - reach[a]`. The reach flags are boolean and exactly one
//!   leaf of each tree has reach 1.
//! - **Aggregation.** `SUM`: `Z_k = base[k] + Σ reach[leaf]·w` over the weight rows `[k, w]`,
//!   one row to materialize. `MIN`/`MAX`: a tree's value for `k` is the linear combination of
//!   its leaves' values (a leaf without a weight for `k` takes a sentinel that cannot win),
//!   folded by the [`gadgets::max`] gadget; when some leaf has no weight for `k`, an is-nonzero
//!   gadget on the number of trees that gave a value makes an empty `V_k` give 0.
//!
//! Rows per batch row: `Σ_f (m_f + 2·bits(widest gap_f - 1))` for the codes, one per non-root
//! branch, one per `SUM` target.

use super::NodeIn;
use crate::Result;
use crate::cs::{Cs, Lc, bitlen, fe};
use crate::gadgets::{self, Sig};
use ark_ff::Field;
use std::collections::{BTreeMap, BTreeSet};
use vouch_model::Op;
use vouch_semantics::tree::{NODE_COLS, WEIGHT_COLS};
use vouch_semantics::{Aggregate, NodeMode};

/// One row of the `nodes` constant.
#[derive(Debug, Clone, Copy)]
enum Row {
    /// A test of `feature` against threshold code `c`: to `a` when it holds, else to `b`.
    Branch {
        mode: NodeMode,
        feature: usize,
        c: i32,
        missing: bool,
        a: usize,
        b: usize,
    },
    /// A leaf owning weight rows `[start, start + count)`.
    Leaf { start: usize, count: usize },
}

/// The segments of one feature's codes: `starts[0] = -1`, `starts[1] = 0`, then the other
/// breakpoints; the last segment ends at `top = 2 |T_f|`.
#[derive(Debug, Clone)]
struct Segments {
    starts: Vec<i32>,
    top: i32,
}

impl Segments {
    /// The segments of a feature with largest code `top` read by branches with codes `codes`.
    fn new(top: i32, codes: impl IntoIterator<Item = i32>) -> Self {
        let mut s = BTreeSet::from([-1, 0]);
        for c in codes {
            for b in [c, c.saturating_add(1)] {
                if (0..=top).contains(&b) {
                    s.insert(b);
                }
            }
        }
        Self {
            starts: s.into_iter().collect(),
            top,
        }
    }

    /// Number of segments.
    fn len(&self) -> usize {
        self.starts.len()
    }

    /// First code of segment `j`.
    fn start(&self, j: usize) -> i128 {
        self.starts.get(j).map_or(0, |&s| i128::from(s))
    }

    /// Number of codes of segment `j`.
    fn gap(&self, j: usize) -> i128 {
        let end = self
            .starts
            .get(j + 1)
            .map_or(i128::from(self.top) + 1, |&s| i128::from(s));
        end - self.start(j)
    }

    /// The segment holding code `q`, if `q` is a valid code.
    fn of(&self, q: i128) -> Option<usize> {
        if q < -1 || q > i128::from(self.top) {
            return None;
        }
        Some(self.starts.partition_point(|&b| i128::from(b) <= q) - 1)
    }
}

/// The thermometer of one code: `u[j - 1]` is `u_j = [q >= B_j]` for `j` in `1..m`.
#[derive(Debug, Clone)]
struct Thermo {
    u: Vec<Sig>,
}

impl Thermo {
    /// `u_j` as a linear combination (`u_0 = 1`, `u_m = 0`).
    fn at(&self, j: usize) -> Lc {
        match j {
            0 => Lc::constant(1),
            _ => self.u.get(j - 1).map_or_else(Lc::default, |s| s.lc.clone()),
        }
    }

    /// `u_j`'s value.
    fn val(&self, j: usize) -> i128 {
        match j {
            0 => 1,
            _ => self.u.get(j - 1).map_or(0, |s| s.val),
        }
    }
}

/// The thermometer of code `q` over `seg`, placing `q` in segment `at` (the caller's claim:
/// the honest one is `seg.of(q)`; any other leaves a row unsatisfied).
fn thermometer(cs: &mut Cs, q: &Sig, seg: &Segments, at: usize) -> Thermo {
    let m = seg.len();
    let th = Thermo {
        u: (1..m)
            .map(|j| Sig::var(cs, i128::from(j <= at), 0, 1))
            .collect(),
    };
    for j in 0..m {
        let e = th.at(j).plus(&th.at(j + 1), -1);
        cs.enforce(e.clone(), e.clone(), e);
    }
    // r = q - Σ_j e_j B_j and the selected gap minus one, Σ_j e_j (g_j - 1), both in the u basis
    let mut r = q.lc.clone().plus_const(-seg.start(0));
    let mut g = Lc::constant(seg.gap(0) - 1);
    let mut widest = seg.gap(0);
    for j in 1..m {
        let u = th.at(j);
        r = r.plus(&u, -(seg.start(j) - seg.start(j - 1)));
        let dg = seg.gap(j) - seg.gap(j - 1);
        if dg != 0 {
            g = g.plus(&u, dg);
        }
        widest = widest.max(seg.gap(j));
    }
    let rv = q.val - seg.start(at);
    if widest <= 1 {
        cs.enforce_zero(r);
    } else {
        let k = bitlen(widest - 1);
        cs.range(r.clone(), rv, k);
        cs.range(g.plus(&r, -1), seg.gap(at) - 1 - rv, k);
    }
    th
}

/// The decision of a branch (`1` when it holds) as a combination of the thermometer.
fn decision(th: &Thermo, seg: &Segments, mode: NodeMode, c: i32, missing: bool) -> Sig {
    let h = |j: usize| {
        let q = seg.starts.get(j).copied().unwrap_or(0);
        i128::from(mode.holds(q, c, missing))
    };
    let (mut lc, mut val) = (Lc::constant(h(0)), h(0));
    for j in 1..seg.len() {
        let dh = h(j) - h(j - 1);
        if dh != 0 {
            lc = lc.plus(&th.at(j), dh);
            val += dh * th.val(j);
        }
    }
    Sig {
        lc,
        val,
        lo: 0,
        hi: 1,
    }
}

/// Whether `lc` is a constant (no variable but the one).
fn is_const(lc: &Lc) -> bool {
    lc.0.iter().all(|&(v, _)| v == 0)
}

/// `reach · d` for two boolean signals (no row when either is a constant).
fn and(cs: &mut Cs, reach: &Sig, d: &Sig) -> Sig {
    let mut p = if is_const(&reach.lc) {
        d.affine(reach.val, 0)
    } else if is_const(&d.lc) {
        reach.affine(d.val, 0)
    } else {
        super::product(cs, reach, d)
    };
    (p.lo, p.hi) = (0, 1);
    p
}

/// The package's forest, parsed from the node's constants.
struct Forest {
    rows: Vec<Row>,
    roots: Vec<usize>,
    /// `(target, value)` per weight row.
    weights: Vec<(usize, i128)>,
    base: Vec<i128>,
    /// The segments of each feature.
    segs: Vec<Segments>,
    aggregate: Aggregate,
}

impl Forest {
    /// Parses and checks the constants (the checks of `vouch_model`'s validation that the
    /// circuit relies on, so a malformed package is an error, never a panic).
    fn new(nd: &NodeIn<'_>, op: &Op) -> Result<Self> {
        let &Op::TreeEnsemble {
            nodes,
            weights,
            roots,
            base,
            bounds,
            aggregate,
            ..
        } = op
        else {
            return Err(nd.err("not a tree ensemble"));
        };
        let ix = |v: i32| usize::try_from(v).map_err(|_| nd.err("negative tree index"));
        let bounds = nd.konst(bounds)?;
        let tops = bounds
            .windows(2)
            .map(|w| {
                let n = i64::from(w[1]) - i64::from(w[0]);
                i32::try_from(2 * n)
                    .ok()
                    .filter(|&t| t >= 0)
                    .ok_or_else(|| nd.err("tree bounds"))
            })
            .collect::<Result<Vec<i32>>>()?;
        let nodes = nd.konst(nodes)?;
        if nodes.len() % NODE_COLS != 0 {
            return Err(nd.err("tree nodes row width"));
        }
        let n_rows = nodes.len() / NODE_COLS;
        let mut codes: Vec<Vec<i32>> = vec![Vec::new(); tops.len()];
        let mut rows = Vec::with_capacity(n_rows);
        for (i, r) in nodes.chunks_exact(NODE_COLS).enumerate() {
            let mode = NodeMode::from_code(r[0]).ok_or_else(|| nd.err("tree node mode"))?;
            let row = if mode == NodeMode::Leaf {
                Row::Leaf {
                    start: ix(r[4])?,
                    count: ix(r[5])?,
                }
            } else {
                let (feature, a, b) = (ix(r[1])?, ix(r[4])?, ix(r[5])?);
                if a <= i || b <= i || a >= n_rows || b >= n_rows {
                    return Err(nd.err("tree child before its parent or out of range"));
                }
                codes
                    .get_mut(feature)
                    .ok_or_else(|| nd.err("tree feature out of range"))?
                    .push(r[2]);
                Row::Branch {
                    mode,
                    feature,
                    c: r[2],
                    missing: r[3] != 0,
                    a,
                    b,
                }
            };
            rows.push(row);
        }
        let weights = nd
            .konst(weights)?
            .chunks_exact(WEIGHT_COLS)
            .map(|w| Ok((ix(w[0])?, i128::from(w[1]))))
            .collect::<Result<Vec<_>>>()?;
        let base: Vec<i128> = nd.konst(base)?.iter().map(|&b| i128::from(b)).collect();
        if weights.iter().any(|&(k, _)| k >= base.len()) {
            return Err(nd.err("leaf weight target out of range"));
        }
        let roots = nd
            .konst(roots)?
            .iter()
            .map(|&r| ix(r).and_then(|r| (r < n_rows).then_some(r).ok_or(nd.err("tree root"))))
            .collect::<Result<Vec<_>>>()?;
        let segs = tops
            .iter()
            .zip(codes)
            .map(|(&top, c)| Segments::new(top, c))
            .collect();
        Ok(Self {
            rows,
            roots,
            weights,
            base,
            segs,
            aggregate,
        })
    }

    /// The weight rows of leaf row `i`.
    fn leaf_weights(
        &self,
        nd: &NodeIn<'_>,
        start: usize,
        count: usize,
    ) -> Result<&[(usize, i128)]> {
        start
            .checked_add(count)
            .and_then(|end| self.weights.get(start..end))
            .ok_or_else(|| nd.err("leaf weights out of range"))
    }

    /// The leaves of tree `t` with their reach flags, on one row's thermometers.
    fn walk(
        &self,
        cs: &mut Cs,
        nd: &NodeIn<'_>,
        root: usize,
        th: &[Thermo],
    ) -> Result<Vec<(usize, Sig)>> {
        let mut pending: BTreeMap<usize, Sig> = BTreeMap::from([(root, Sig::constant(1))]);
        let mut leaves = Vec::new();
        while let Some((i, reach)) = pending.pop_first() {
            match self.rows.get(i) {
                Some(Row::Leaf { .. }) => leaves.push((i, reach)),
                Some(&Row::Branch {
                    mode,
                    feature,
                    c,
                    missing,
                    a,
                    b,
                }) => {
                    let (t, s) = th
                        .get(feature)
                        .zip(self.segs.get(feature))
                        .ok_or_else(|| nd.err("tree feature out of range"))?;
                    let d = decision(t, s, mode, c, missing);
                    let ra = and(cs, &reach, &d);
                    let mut rb = reach.plus(&ra, -1);
                    (rb.lo, rb.hi) = (0, 1);
                    for (child, r) in [(a, ra), (b, rb)] {
                        // a node with two parents (a shared subtree) is reached by at most one
                        let e = pending.entry(child).or_insert_with(|| Sig::constant(0));
                        *e = e.plus(&r, 1);
                        (e.lo, e.hi) = (0, 1);
                    }
                }
                None => return Err(nd.err("tree node row out of range")),
            }
        }
        Ok(leaves)
    }
}

/// `TreeEnsemble`: per row of `[..., F]` feature codes, the `[N]` scores.
pub(super) fn tree_ensemble(cs: &mut Cs, nd: &NodeIn<'_>, op: &Op) -> Result<Vec<Sig>> {
    let forest = Forest::new(nd, op)?;
    let (f, n) = (forest.segs.len(), forest.base.len());
    let rows: usize = nd
        .out_shape
        .split_last()
        .map_or(1, |(_, lead)| lead.iter().product());
    if nd.out_shape.last() != Some(&n) || nd.x.sigs.len() != rows * f {
        return Err(nd.err("tree ensemble shapes"));
    }
    let mut out = Vec::with_capacity(rows * n);
    for r in 0..rows {
        let row = nd.x.sigs.get(r * f..(r + 1) * f).unwrap_or_default();
        let th = row
            .iter()
            .zip(&forest.segs)
            .map(|(q, s)| {
                let at = s
                    .of(q.val)
                    .ok_or_else(|| nd.err("feature code outside its feature's range"))?;
                Ok(thermometer(cs, q, s, at))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut trees = Vec::with_capacity(forest.roots.len());
        for &root in &forest.roots {
            trees.push(forest.walk(cs, nd, root, &th)?);
        }
        out.extend(aggregate_row(cs, nd, &forest, &trees)?);
    }
    Ok(out)
}

/// The `N` scores of one row from each tree's leaves and reach flags.
fn aggregate_row(
    cs: &mut Cs,
    nd: &NodeIn<'_>,
    forest: &Forest,
    trees: &[Vec<(usize, Sig)>],
) -> Result<Vec<Sig>> {
    // per tree, per leaf: the folded value of each target (None: no weight row for it)
    let agg = forest.aggregate;
    let mut vals: Vec<TreeVals<'_>> = Vec::with_capacity(trees.len());
    for leaves in trees {
        let mut t = Vec::with_capacity(leaves.len());
        for (i, reach) in leaves {
            let Some(&Row::Leaf { start, count }) = forest.rows.get(*i) else {
                return Err(nd.err("tree walk ended off a leaf"));
            };
            let mut v: Vec<Option<i128>> = vec![None; forest.base.len()];
            for &(k, w) in forest.leaf_weights(nd, start, count)? {
                if let Some(slot) = v.get_mut(k) {
                    *slot = Some(match (agg, *slot) {
                        (_, None) => w,
                        (Aggregate::Sum, Some(a)) => a + w,
                        (Aggregate::Min, Some(a)) => a.min(w),
                        (Aggregate::Max, Some(a)) => a.max(w),
                    });
                }
            }
            t.push((reach, v));
        }
        vals.push(t);
    }
    (0..forest.base.len())
        .map(|k| {
            let z = match agg {
                Aggregate::Sum => sum_target(&vals, k),
                Aggregate::Max => extreme_target(cs, &vals, k, 1),
                Aggregate::Min => extreme_target(cs, &vals, k, -1).affine(-1, 0),
            };
            let base = forest.base.get(k).copied().unwrap_or(0);
            Ok(z.affine(1, base).materialize(cs))
        })
        .collect()
}

/// Each tree's leaves: the reach flag and each target's folded value.
type TreeVals<'a> = Vec<(&'a Sig, Vec<Option<i128>>)>;

/// `Σ_t Σ_leaf reach·value` for target `k`.
fn sum_target(vals: &[TreeVals<'_>], k: usize) -> Sig {
    let mut z = Sig::constant(0);
    for t in vals {
        let vs = t
            .iter()
            .map(|(_, v)| v.get(k).copied().flatten().unwrap_or(0));
        let (lo, hi) = (vs.clone().min().unwrap_or(0), vs.max().unwrap_or(0));
        let mut lc = Lc::default();
        let mut val = 0;
        for (reach, v) in t {
            let w = v.get(k).copied().flatten().unwrap_or(0);
            lc.add_scaled(&reach.lc, fe(w));
            val += reach.val * w;
        }
        z = z.plus(
            &Sig {
                lc: lc.compact(),
                val,
                lo,
                hi,
            },
            1,
        );
    }
    z.lc = z.lc.compact();
    z
}

/// `max` (`sign = 1`) or `-min` (`sign = -1`) of target `k`'s values over the trees, 0 when
/// no reached leaf has a weight for `k`.
fn extreme_target(cs: &mut Cs, vals: &[TreeVals<'_>], k: usize, sign: i128) -> Sig {
    let of = |v: &Vec<Option<i128>>| v.get(k).copied().flatten().map(|w| sign * w);
    // the sentinel: the smallest signed value of any leaf, so it never beats a real value
    let Some(sentinel) = vals.iter().flatten().filter_map(|(_, v)| of(v)).min() else {
        return Sig::constant(0);
    };
    let mut best: Option<Sig> = None;
    let mut always = false;
    let mut count = Sig::constant(0);
    for t in vals {
        if t.iter().all(|(_, v)| of(v).is_none()) {
            continue;
        }
        always |= t.iter().all(|(_, v)| of(v).is_some());
        let (mut lc, mut val) = (Lc::default(), 0);
        let (mut lo, mut hi) = (i128::MAX, i128::MIN);
        for (reach, v) in t {
            let w = of(v).unwrap_or(sentinel);
            lc.add_scaled(&reach.lc, fe(w));
            val += reach.val * w;
            (lo, hi) = (lo.min(w), hi.max(w));
            if of(v).is_some() {
                count = count.plus(reach, 1);
            }
        }
        let v = Sig {
            lc: lc.compact(),
            val,
            lo,
            hi,
        };
        best = Some(match best {
            None => v,
            Some(b) => gadgets::max(cs, &v, &b).materialize(cs),
        });
    }
    let Some(best) = best else {
        return Sig::constant(0);
    };
    if always {
        return best;
    }
    // any = [count != 0]: count·inv = any, count·(1 - any) = 0, and (1 - any)·inv = 0 so
    // that inv is determined (0) when count is 0
    let count = count.materialize(cs);
    let any_v = i128::from(count.val != 0);
    let inv = Lc::var(cs.alloc(fe(count.val).inverse().unwrap_or_default()));
    let any = Sig::var(cs, any_v, 0, 1);
    let none = any.lc.scaled(-1).plus_const(1);
    cs.enforce(count.lc.clone(), inv.clone(), any.lc.clone());
    cs.enforce(count.lc.clone(), none.clone(), Lc::default());
    cs.enforce(none, inv, Lc::default());
    super::product(cs, &any, &best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::One;

    fn code_var(cs: &mut Cs, q: i128) -> Sig {
        Sig::var(cs, q, -32768, 32767)
    }

    /// Every code in range is satisfied only in its own segment; a code outside
    /// `[-1, 2 |T_f|]` in none.
    #[test]
    fn a_code_fits_only_its_own_segment() {
        for (top, codes) in [
            (6, vec![1, 3, 5]),
            (6, vec![3]),
            (10, vec![1, 9]),
            (0, vec![]),
            (8, vec![]),
        ] {
            let seg = Segments::new(top, codes.clone());
            for q in -4..top + 4 {
                for at in 0..seg.len() {
                    let mut cs = Cs::new(0);
                    let x = code_var(&mut cs, i128::from(q));
                    thermometer(&mut cs, &x, &seg, at);
                    let honest = seg.of(i128::from(q)) == Some(at);
                    assert_eq!(
                        cs.is_satisfied(),
                        honest,
                        "top {top} codes {codes:?} q {q} segment {at}"
                    );
                }
            }
        }
    }

    /// Every mode's decision equals the engine's `holds` on every valid code, with and
    /// without the missing flag.
    #[test]
    fn decisions_are_the_engines_on_every_code() {
        let top = 8;
        for c in [1, 3, 5, 7] {
            let seg = Segments::new(top, [c, 3]);
            for q in -1..=top {
                let mut cs = Cs::new(0);
                let x = code_var(&mut cs, i128::from(q));
                let at = seg.of(i128::from(q)).unwrap();
                let th = thermometer(&mut cs, &x, &seg, at);
                for mode in NodeMode::ALL {
                    if mode == NodeMode::Leaf {
                        continue;
                    }
                    for missing in [false, true] {
                        let d = decision(&th, &seg, mode, c, missing);
                        let want = i128::from(mode.holds(q, c, missing));
                        assert_eq!(d.val, want, "{mode:?} q {q} c {c} missing {missing}");
                        assert_eq!(d.lc.eval(&cs.z), fe(want));
                    }
                }
            }
        }
    }

    /// A reach flag changed to take the other branch leaves a row unsatisfied.
    #[test]
    fn a_flipped_branch_is_rejected() {
        let seg = Segments::new(4, [1, 3]);
        let mut cs = Cs::new(0);
        let x = code_var(&mut cs, 2);
        let th = thermometer(&mut cs, &x, &seg, seg.of(2).unwrap());
        let r = Sig::var(&mut cs, 1, 0, 1);
        cs.enforce(r.lc.clone(), r.lc.clone(), r.lc.clone());
        let d = decision(&th, &seg, NodeMode::Leq, 3, false);
        let a = and(&mut cs, &r, &d);
        assert!(cs.is_satisfied());
        let Some(&(v, _)) = a.lc.0.first() else {
            panic!("no product variable")
        };
        cs.z[v as usize] = vouch_zk::Fr::one() - cs.z[v as usize];
        assert!(!cs.is_satisfied());
    }
}
