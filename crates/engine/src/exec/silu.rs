//! A SiLU as the importer writes it (`Rescale` into the table's window, `Lut`, `Mul(x, t)`)
//! run as one pass in untraced runs with the fast paths on: the same integers as the nodes one
//! by one, which run instead whenever a check would fail (so errors are the nodes' own).

use super::{Engine, check_output};
use crate::Result;
use crate::ops::activation;
use crate::tensor::{Tensor, resolve};
use vouch_model::{Op, Operand, Package};

impl Engine<'_> {
    /// Node `j`, a SiLU `Mul` absorbing the nodes before it ([`silu_at`]): one pass when the
    /// inputs index the table and nothing can overflow, else the nodes one by one.
    pub(super) fn run_silu(
        &self,
        j: usize,
        values: &mut [Option<Tensor>],
        batch: usize,
        out_shape: &[usize],
    ) -> Result<Tensor> {
        let pkg = self.pkg;
        // `silu_at(j)` held: the nodes `j - k ..= j` exist
        let k = self.silu[j];
        let (lut, mul) = (&pkg.nodes[j - 1], &pkg.nodes[j]);
        let rescale = (k == 2).then(|| &pkg.nodes[j - 2]);
        let first = rescale.unwrap_or(lut);
        if let (Op::Lut { table }, Op::Mul { rq }, Some(Operand::Value(x))) =
            (&lut.op, &mul.op, first.inputs.first())
            && let Some(x) = values.get(*x as usize).and_then(Option::as_ref)
            && let Some(t) = pkg.consts.get(*table as usize)
            && x.shape == out_shape
        {
            let window = match rescale.map(|r| &r.op) {
                Some(Op::Rescale { rq }) => Some(rq),
                _ => None,
            };
            // the values not stored must lie in their kinds' ranges, as a stored one is checked
            let inside = |v: u32, lo: i32, hi: i32| {
                pkg.values[v as usize]
                    .kind
                    .act_range()
                    .is_none_or(|(a, b)| a <= lo && hi <= b)
            };
            let (t_lo, t_hi) = t
                .data
                .iter()
                .fold((i32::MAX, i32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            let kinds_ok = inside(lut.output, t_lo, t_hi)
                && rescale
                    .zip(window)
                    .is_none_or(|(r, w)| inside(r.output, w.lo, w.hi));
            if kinds_ok && let Some(data) = activation::silu_in_range(x, &t.data, window, rq) {
                return Ok(Tensor {
                    shape: out_shape.to_vec(),
                    data,
                });
            }
        }
        // one by one, each node checked as it would be on its own
        for i in j - k..j {
            let node = &pkg.nodes[i];
            let info = &pkg.values[node.output as usize];
            let shape = resolve(&info.shape, batch);
            let t = self.run_node(node, &self.prepared[i], values, &shape)?;
            check_output(node, info, &t, &shape)?;
            values[node.output as usize] = Some(t);
        }
        let out = self.run_node(mul, &self.prepared[j], values, out_shape);
        if let Some(r) = rescale {
            // read by the `Lut` only
            values[r.output as usize] = None;
        }
        out
    }
}

/// How many nodes before node `j` of `pkg` it absorbs as a SiLU: 1 when it is `Mul(x, t)` or
/// `Mul(t, x)` with `t = Lut(x)` computed by node `j - 1`, 2 when `t = Lut(Rescale(x))` with
/// the `Rescale` at node `j - 2` (the importer's window into the table); each absorbed value
/// read by no other node, every shape the same. 0 otherwise.
pub(super) fn silu_at(pkg: &Package, last_use: &[usize], j: usize) -> usize {
    let node = |i: Option<usize>| i.and_then(|i| pkg.nodes.get(i));
    let (Some(lut), Some(mul)) = (node(j.checked_sub(1)), pkg.nodes.get(j)) else {
        return 0;
    };
    let (Op::Lut { .. }, Op::Mul { .. }, [Operand::Value(l)]) = (&lut.op, &mul.op, &lut.inputs[..])
    else {
        return 0;
    };
    let t = lut.output;
    let [Operand::Value(a), Operand::Value(b)] = mul.inputs[..] else {
        return 0;
    };
    let x = match (a == t, b == t) {
        (true, false) => b,
        (false, true) => a,
        _ => return 0,
    };
    let shape = |v: u32| pkg.values.get(v as usize).map(|i| &i.shape);
    let only_next = |v: u32, reader: usize| last_use.get(v as usize) == Some(&reader);
    if shape(x).is_none()
        || shape(x) != shape(t)
        || shape(t) != shape(mul.output)
        || !only_next(t, j)
    {
        return 0;
    }
    if *l == x {
        return 1;
    }
    match node(j.checked_sub(2)) {
        Some(r)
            if r.output == *l
                && matches!(r.op, Op::Rescale { .. })
                && r.inputs[..] == [Operand::Value(x)]
                && shape(r.output) == shape(x)
                && only_next(r.output, j - 1) =>
        {
            2
        }
        _ => 0,
    }
}
