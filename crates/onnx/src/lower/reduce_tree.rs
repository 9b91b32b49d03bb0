//! A reduction along one axis longer than the one-step verifier judges
//! ([`vouch_semantics::MAX_REDUCE_SPAN`] input elements per output element) as a tree of
//! `Reduce` nodes: the axis is moved last (`Transpose`), split into groups of equal size at
//! most the span (`Reshape`), each group reduced, and the group results reduced again until one
//! remains; a `Reshape` puts the size-1 axis back in place. Sum of sums, max of maxes, min of
//! mins and mean of means (of groups of equal size) are the same reduction in real arithmetic;
//! in integers each stage rounds once to its calibrated output scale (`docs/semantics.md`,
//! `Reduce`). An axis whose length has no divisor in `2..=MAX_REDUCE_SPAN` once it exceeds the
//! span (a large prime) is refused.

use super::{Dim, Result};
use crate::graph::{FOp, Operand, ValueId};
use crate::import::{Ctx, Importer};
use vouch_semantics::{ReduceMode, reduce_tree_groups};

impl Importer {
    /// `Reduce` of `x` along axis `a` (fixed, not the batch axis) by a tree of stages, keeping
    /// the axis at 1; `None` when the axis length cannot be split (see the module docs).
    pub(super) fn reduce_axis_tree(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        mode: ReduceMode,
        a: usize,
        tag: &str,
    ) -> Result<Option<ValueId>> {
        let s = self.shape(x);
        let Some(&Dim::Fixed(d)) = s.get(a) else {
            return Ok(None);
        };
        let last = s.len().saturating_sub(1);
        // the groups each stage reduces, checked before anything is emitted
        let Some(groups) = reduce_tree_groups(d) else {
            return Ok(None);
        };
        let mut shape = s.clone();
        let mut v = x;
        if a != last {
            let perm: Vec<usize> = (0..s.len()).filter(|&i| i != a).chain([a]).collect();
            shape = perm.iter().filter_map(|&p| s.get(p).copied()).collect();
            let name = format!("{tag}.tree{a}.t");
            v = self.emit_tmp(
                ctx,
                &name,
                FOp::Transpose { perm },
                vec![Operand::Value(v)],
                shape.clone(),
            )?;
        }
        let Some(Dim::Fixed(mut n)) = shape.last().copied() else {
            return Ok(None);
        };
        for (k, c) in groups.into_iter().enumerate() {
            let mut split = shape.clone();
            split.pop();
            split.extend([Dim::Fixed(n / c), Dim::Fixed(c)]);
            let r = format!("{tag}.tree{a}.{k}");
            v = self.emit_tmp(
                ctx,
                &format!("{r}.split"),
                FOp::Reshape,
                vec![Operand::Value(v)],
                split.clone(),
            )?;
            let mut reduced = split.clone();
            reduced.pop();
            reduced.push(Dim::Fixed(1));
            let op = FOp::Reduce {
                mode,
                axes: vec![split.len() - 1],
                keepdims: true,
            };
            v = self.emit_tmp(
                ctx,
                &format!("{r}.reduce"),
                op,
                vec![Operand::Value(v)],
                reduced,
            )?;
            n /= c;
            shape.pop();
            shape.push(Dim::Fixed(n));
            v = self.emit_tmp(
                ctx,
                &format!("{r}.join"),
                FOp::Reshape,
                vec![Operand::Value(v)],
                shape.clone(),
            )?;
        }
        let op = FOp::Reduce {
            mode,
            axes: vec![shape.len() - 1],
            keepdims: true,
        };
        shape.pop();
        shape.push(Dim::Fixed(1));
        v = self.emit_tmp(
            ctx,
            &format!("{tag}.tree{a}.last"),
            op,
            vec![Operand::Value(v)],
            shape,
        )?;
        if a == last {
            return Ok(Some(v));
        }
        // the size-1 axis back at `a`: the same elements in the same order
        let mut back = s;
        if let Some(slot) = back.get_mut(a) {
            *slot = Dim::Fixed(1);
        }
        let name = format!("{tag}.tree{a}.back");
        Ok(Some(self.emit_tmp(
            ctx,
            &name,
            FOp::Reshape,
            vec![Operand::Value(v)],
            back,
        )?))
    }
}
