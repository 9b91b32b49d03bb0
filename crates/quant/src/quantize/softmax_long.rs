//! The fine 16-bit softmax ([`super::softmax`]) over a slice longer than a `Reduce` may span
//! ([`MAX_REDUCE_SPAN`] elements: a text recognizer's 6,625 character classes), still from ops
//! every checker has, each element of which the one-step verifier judges under 1M gas:
//!
//! - the slice maximum is a tree of `Reduce max` stages (`Reshape` into groups of at most the
//!   span, as the importer's long `ReduceMax`, [`reduce_tree_groups`]): a maximum of maxima is
//!   the maximum, exactly;
//! - the differences `d = x - max` cover 20 logits (not 12), and the sum of `exp(d)` is read
//!   from two tables of `d`, `h = floor(32767 exp(d))` and the rest `l` in steps of `2^-15`
//!   of `1/32767`, each summed exactly by a `Linear` of weights 1 over the slice with the raw
//!   accumulator as output (`wide`: `n · 32767 < 2^31`), judged by the partial-sum game
//!   (`docs/semantics.md` section 8.4) whatever `n`. Rounding each `exp` to `1/32767` before
//!   summing would lose up to half a step per element (1,200 tails just under a step: 1e-3 of
//!   a denominator near 1);
//! - the reciprocal is a sum of [`pieces`] tables, so that `1/S` is as fine near `S = 1` (a
//!   confident step, the probability near 1) as the short form's and still covers `S` up to
//!   `n`: piece `j` reads `S` at `T_j / 32767` (`h` and `l` each `Rescale`d by an exact shift,
//!   clamped at `T_j`, and added) and its table is `1/clamp(S, T_{j-1}, T_j) - 1/T_{j-1}`
//!   (`1/min(S, T_0)` for the first); the pieces add up (`Add`) to `1/S` for every `S`, and
//!   each reads `S` where its slope is small (`T_j / (32767 · T_{j-1}^2) <= 1.2e-4`).
//!
//! No integer rule is added: `Reshape`, `Reduce`, `Add`, `Lut`, `Linear`, `Rescale` and `Mul`
//! as `docs/semantics.md` section 3 defines them.

use super::{Builder, QVal, kind_range};
use crate::Result;
use vouch_model::{Dim, Kind, Op, Operand, ReduceMode, Requant};
use vouch_onnx::graph::FNode;
use vouch_semantics::{ACT16_MAX, MAX_REDUCE_SPAN, reduce_tree_groups};

/// The longest slice: its exact sum of `exp` values (each at most 32767) fits a `wide` value.
const MAX_LONG: usize = 65_535;

/// `exp` values below one step of `1/32767` are summed in steps of `2^-15` of it.
const FRACTION: f64 = 32_768.0;

/// The first piece's threshold: `S` in `[1, 2]` read at `2 / 32767`.
const FIRST_PIECE: u32 = 2;

/// Each next threshold is at most `GROWTH · T^2`: the slope `1/T^2` there times half a step
/// of the next piece's `T' / 32767` stays under `GROWTH / 65534`.
const GROWTH: u32 = 4;

/// The thresholds `T_j` (powers of two, so every `Rescale` is an exact shift) of the
/// reciprocal's pieces for a slice of `n` elements: from [`FIRST_PIECE`], each next at most
/// [`GROWTH`]` · T^2`, the last the first power of two at least `n` (the sum never exceeds `n`).
fn pieces(n: usize) -> Vec<u32> {
    let top = u32::try_from(n.next_power_of_two()).unwrap_or(u32::MAX);
    let mut t = vec![FIRST_PIECE];
    while let Some(&last) = t.last().filter(|&&last| last < top) {
        let sq = u64::from(last) * u64::from(last) * u64::from(GROWTH);
        t.push(u32::try_from(sq).unwrap_or(u32::MAX).min(top));
    }
    t
}

impl Builder<'_> {
    /// Whether `Softmax` along `axis` of input 0 is a long slice this form lowers: the last
    /// axis (the importer moves a long one there), of a fixed length above the span that
    /// [`reduce_tree_groups`] splits, at most [`MAX_LONG`].
    pub(super) fn long_softmax_fits(&self, node: &FNode, axis: usize) -> Result<bool> {
        let x = self.input(node, 0)?;
        let shape = &self.values[x.id as usize].shape;
        Ok(match shape.get(axis) {
            Some(&Dim::Fixed(n)) if axis > 0 && axis + 1 == shape.len() => {
                let n = n as usize;
                n > MAX_REDUCE_SPAN && n <= MAX_LONG && reduce_tree_groups(n).is_some()
            }
            _ => false,
        })
    }

    /// `m = max_j x_j` along the last axis `axis` (kept at 1) by a tree of `Reduce max`
    /// stages, at `x`'s kind and scale. Stage `k` reshapes `[.., L]` to `[.., L/c, c]`,
    /// reduces the last axis and reshapes back to `[.., L/c]`; the last reduces what remains.
    pub(super) fn slice_max_tree(&mut self, node: &FNode, name: &str, axis: usize, x: QVal) -> u32 {
        let shape = self.values[x.id as usize].shape.clone();
        let lead: Vec<Dim> = shape.iter().take(axis).copied().collect();
        let mut len = match shape.get(axis) {
            Some(&Dim::Fixed(n)) => n,
            _ => 1,
        };
        let (lo, hi) = kind_range(x.kind);
        let max = |axis: usize| Op::Reduce {
            mode: ReduceMode::Max,
            axes: vec![axis as u32],
            keepdims: true,
            rq: Requant { m: 1, s: 0, lo, hi },
        };
        let with = |tail: &[u32]| -> Vec<Dim> {
            lead.iter()
                .copied()
                .chain(tail.iter().map(|&d| Dim::Fixed(d)))
                .collect()
        };
        let mut v = x.id;
        for (k, c) in reduce_tree_groups(len as usize)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let c = c as u32;
            let stage = format!("{name}/max.{k}");
            let split = self.new_value(
                format!("{stage}.split"),
                x.kind,
                x.scale,
                with(&[len / c, c]),
            );
            self.push(
                node,
                format!("{stage}.split"),
                Op::Reshape,
                vec![Operand::Value(v)],
                split,
            );
            let reduced = self.new_value(stage.clone(), x.kind, x.scale, with(&[len / c, 1]));
            self.push(
                node,
                stage.clone(),
                max(axis + 1),
                vec![Operand::Value(split)],
                reduced,
            );
            len /= c;
            v = self.new_value(format!("{stage}.join"), x.kind, x.scale, with(&[len]));
            self.push(
                node,
                format!("{stage}.join"),
                Op::Reshape,
                vec![Operand::Value(reduced)],
                v,
            );
        }
        let vname = format!("{name}/max");
        let id = self.new_value(vname.clone(), x.kind, x.scale, with(&[1]));
        self.push(node, vname, max(axis), vec![Operand::Value(v)], id);
        id
    }

    /// `r = 1 / Σ_j exp(d_j)` along the last axis (kept at 1, shape `kept`) of the differences
    /// `d_id` (`act16` at `step` logits, `n` per slice), at `1/32767`: the sum exact to `2^-15`
    /// of a step of `1/32767` by two `Linear`s of weights 1 over two tables of `d` (module
    /// docs), and the reciprocal as the sum of the [`pieces`] tables.
    pub(super) fn long_reciprocal(
        &mut self,
        node: &FNode,
        name: &str,
        (d_id, step): (u32, f64),
        kept: &[Dim],
        n: usize,
    ) -> Result<u32> {
        let lim = f64::from(ACT16_MAX);
        let (lo, hi) = kind_range(Kind::Act16);
        let shape = self.values[d_id as usize].shape.clone();
        // exp(d) · 32767 = h + l / 2^15: h its floor, l the rest (0 at the window's end, every
        // difference at or below it)
        let exact = |i: i32| {
            if i <= -32_768 {
                0.0
            } else {
                libm::exp(f64::from(i.min(0)) * step) * lim
            }
        };
        let floor: Vec<i32> = (-32_768..32_768).map(|i| exact(i).floor() as i32).collect();
        let rest: Vec<i32> = (-32_768..32_768)
            .map(|i| ((exact(i) - exact(i).floor()) * FRACTION).round().min(lim) as i32)
            .collect();
        let mut sums = Vec::new();
        for (part, table, scale) in [
            ("whole", floor, 1.0 / lim),
            ("rest", rest, 1.0 / (lim * FRACTION)),
        ] {
            let vname = format!("{name}/exp_{part}");
            let v = self.new_value(vname.clone(), Kind::Act16, scale, shape.clone());
            self.push_table(node, vname, d_id, table, v);
            let sname = format!("{name}/sum_{part}");
            let ones = self.add_const(format!("{sname}.weight"), 1.0, vec![1, n], vec![1; n]);
            let sum = self.new_value(sname.clone(), Kind::Wide, scale, kept.to_vec());
            let op = Op::Linear {
                weight: ones,
                bias: None,
                rq: Requant::IDENTITY,
                wide: true,
            };
            self.push(node, sname, op, vec![Operand::Value(v)], sum);
            sums.push((sum, part, scale));
        }

        // x + y at `scale`, clamped to [lo, 32767]
        let add = |b: &mut Self, aname: String, (x, y): (u32, u32), scale: f64, lo: i32| {
            let a = b.new_value(aname.clone(), Kind::Act16, scale, kept.to_vec());
            let op = Op::Add {
                ma: 1,
                mb: 1,
                rq: Requant { m: 1, s: 0, lo, hi },
            };
            b.push(
                node,
                aname,
                op,
                vec![Operand::Value(x), Operand::Value(y)],
                a,
            );
            a
        };
        let mut r: Option<u32> = None;
        let mut below: Option<f64> = None;
        for (j, t) in pieces(n).into_iter().enumerate() {
            // S on act16 at t / 32767, clamped at t: each part by an exact shift, then added
            let t_step = f64::from(t) / lim;
            let mut parts = Vec::new();
            for &(sum, part, scale) in &sums {
                let pname = format!("{name}/sum_{part}.{j}");
                let p = self.new_value(pname.clone(), Kind::Act16, t_step, kept.to_vec());
                let shift = (t_step / scale).log2().round() as u32;
                let rq = Requant {
                    m: 1,
                    s: shift,
                    lo: 0,
                    hi,
                };
                self.push(
                    node,
                    pname,
                    Op::Rescale { rq },
                    vec![Operand::Value(sum)],
                    p,
                );
                parts.push(p);
            }
            let p = add(
                self,
                format!("{name}/sum.{j}"),
                (parts[0], parts[1]),
                t_step,
                0,
            );
            // its piece of 1/S
            let (t_hi, t_lo) = (f64::from(t), below.unwrap_or(1.0));
            let table: Vec<i32> = (-32_768..32_768)
                .map(|c: i32| {
                    let s = (f64::from(c) * t_step).clamp(t_lo, t_hi);
                    let v = 1.0 / s - below.map_or(0.0, |b| 1.0 / b);
                    (v * lim).round() as i32
                })
                .collect();
            let fname = format!("{name}/recip.{j}");
            let f = self.new_value(fname.clone(), Kind::Act16, 1.0 / lim, kept.to_vec());
            self.push_table(node, fname, p, table, f);
            r = Some(match r {
                None => f,
                Some(acc) => add(
                    self,
                    format!("{name}/recip.sum{j}"),
                    (acc, f),
                    1.0 / lim,
                    lo,
                ),
            });
            below = Some(t_hi);
        }
        r.ok_or_else(|| Self::err(node, "softmax reciprocal has no piece"))
    }
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn pieces_grow_by_at_most_growth_times_the_square_and_cover_n() {
        assert_eq!(pieces(225), vec![2, 16, 256]);
        assert_eq!(pieces(1200), vec![2, 16, 1024, 2048]);
        assert_eq!(pieces(6625), vec![2, 16, 1024, 8192]);
        assert_eq!(pieces(65_535), vec![2, 16, 1024, 65_536]);
    }
}
