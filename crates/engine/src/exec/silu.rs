//! A SiLU as the importer writes it (`Rescale` into the table's window, `Lut`, `Mul(x, t)`)
//! run as one pass in untraced runs with the fast paths on: the same integers as the nodes one
//! by one, which run instead whenever a check would fail (so errors are the nodes' own). A
//! SiLU of a 16-bit `Conv`'s output that nothing else reads runs in the convolution's
//! epilogue instead ([`conv_silu_at`]), when the convolution's clamp bounds prove before any
//! run that every check passes.

use super::{Engine, MAX_ELEMENTS, Prepared, check_output, shape_err};
use crate::Result;
use crate::gemm::conv16::Silu;
use crate::ops::activation;
use crate::ops::elementwise::Plain;
use crate::tensor::{Tensor, numel, resolve};
use vouch_model::{Op, Operand, Package};

/// A SiLU a 16-bit `Conv` applies in its epilogue: the node indices of its `Rescale`, `Lut`
/// and `Mul`, and its value at every output the convolution can give ([`Silu`]).
#[derive(Debug, Clone)]
pub(super) struct ConvSilu {
    /// The SiLU's `Rescale`, `Lut` and `Mul` (after the `Conv`, in this order).
    pub(super) nodes: [usize; 3],
    /// The SiLU of `lo + i` at `i` for every `lo + i` within the `Conv`'s clamp bounds
    /// `[lo, hi]`, then one padding entry.
    table: Vec<i16>,
    /// The `Conv`'s lower clamp bound.
    lo: i32,
}

/// The most values the `Conv`'s clamp bounds may span for its SiLU to be computed as one table
/// read (`2^16`, the 16-bit range: a 128 KiB table).
const SPAN_MAX: i64 = 1 << 16;

impl Engine<'_> {
    /// The `Conv` at node `c` with its SiLU `cs` in the epilogue: the output of the SiLU's
    /// `Mul` (checked as that node's) and the value it is.
    pub(super) fn run_conv_silu(
        &self,
        c: usize,
        cs: &ConvSilu,
        values: &[Option<Tensor>],
        batch: usize,
    ) -> Result<(Tensor, u32)> {
        let pkg = self.pkg;
        let (node, mul) = (&pkg.nodes[c], &pkg.nodes[cs.nodes[2]]);
        let info = &pkg.values[mul.output as usize];
        // the `Conv`'s declared shape (`conv_silu_at` held)
        let out_shape = resolve(&info.shape, batch);
        if numel(&out_shape).is_none_or(|n| n > MAX_ELEMENTS) {
            return Err(shape_err(
                node,
                format!("output shape {out_shape:?} exceeds {MAX_ELEMENTS} elements"),
            ));
        }
        let silu = Silu {
            table: &cs.table,
            lo: cs.lo,
        };
        let out = self.run_conv_node(c, values, batch, &out_shape, Some(silu))?;
        check_output(mul, info, &out, &out_shape)?;
        Ok((out, mul.output))
    }
}

/// Per value of `pkg`, the nodes that read it (once per operand) and the node that writes it.
pub(super) struct Readers {
    reads: Vec<Vec<usize>>,
    writer: Vec<Option<usize>>,
}

impl Readers {
    /// Who reads and writes each value of `pkg`.
    pub(super) fn of(pkg: &Package) -> Self {
        let mut reads = vec![Vec::new(); pkg.values.len()];
        let mut writer = vec![None; pkg.values.len()];
        for (i, n) in pkg.nodes.iter().enumerate() {
            for op in &n.inputs {
                if let Operand::Value(v) = *op
                    && let Some(r) = reads.get_mut(v as usize)
                {
                    r.push(i);
                }
            }
            if let Some(w) = writer.get_mut(n.output as usize) {
                *w = Some(i);
            }
        }
        Self { reads, writer }
    }

    /// The nodes that read value `v`.
    pub(super) fn of_value(&self, v: u32) -> &[usize] {
        self.reads.get(v as usize).map_or(&[], Vec::as_slice)
    }

    /// The node that writes value `v`.
    pub(super) fn writer_of(&self, v: u32) -> Option<usize> {
        self.writer.get(v as usize).copied().flatten()
    }
}

/// Whether node `c` of `pkg` is a 16-bit `Conv` on the fast path (`prepared`) whose output `x`
/// only a SiLU as the importer writes it reads (`w = Rescale(x)`, `t = Lut(w)`, `Mul(x, t)` or
/// `Mul(t, x)`, anywhere after it, each of `w` and `t` read once and none a graph output, every
/// shape the same), and whether the `Conv`'s clamp bounds `[lo, hi]` prove that the SiLU's
/// nodes cannot fail on any output: `lo` and `hi` map into the table (a requantization is
/// monotone, so every value between does), the `Mul` cannot leave `i64`, and each of the four
/// outputs lies in its kind's range. The `Conv` then computes the `Mul`'s output in its
/// epilogue, and the three nodes are not run.
pub(super) fn conv_silu_at(
    pkg: &Package,
    prepared: &[Prepared],
    readers: &Readers,
    c: usize,
) -> Option<ConvSilu> {
    let conv = pkg.nodes.get(c)?;
    let Op::Conv {
        rq, wide: false, ..
    } = &conv.op
    else {
        return None;
    };
    let Some(Prepared::Conv(_, true, ch, Some(_))) = prepared.get(c) else {
        return None;
    };
    if ch.mults.is_some() {
        return None;
    }
    let x = conv.output;
    let outputs: Vec<u32> = pkg.outputs.iter().map(|o| o.value).collect();
    // the only reader of `v`, a node after `after` (and `v` no graph output)
    let one_reader = |v: u32, after: usize| match readers.of_value(v) {
        &[r] if r > after && !outputs.contains(&v) => Some(r),
        _ => None,
    };
    let (r, j) = match readers.of_value(x) {
        &[a, b] if a != b && a > c && b > c && !outputs.contains(&x) => {
            let rescale_first = matches!(pkg.nodes.get(a)?.op, Op::Rescale { .. });
            if rescale_first { (a, b) } else { (b, a) }
        }
        _ => return None,
    };
    let (rescale, m) = (pkg.nodes.get(r)?, pkg.nodes.get(j)?);
    let l = one_reader(rescale.output, r)?;
    let lut = pkg.nodes.get(l)?;
    if one_reader(lut.output, l)? != j || readers.writer.get(x as usize) != Some(&Some(c)) {
        return None;
    }
    let (Op::Rescale { rq: wrq }, Op::Lut { table }, Op::Mul { rq: mrq }) =
        (&rescale.op, &lut.op, &m.op)
    else {
        return None;
    };
    let (t, w) = (lut.output, rescale.output);
    let mul_reads = |a: u32, b: u32| m.inputs[..] == [Operand::Value(a), Operand::Value(b)];
    if rescale.inputs[..] != [Operand::Value(x)]
        || lut.inputs[..] != [Operand::Value(w)]
        || !(mul_reads(x, t) || mul_reads(t, x))
    {
        return None;
    }
    let info = |v: u32| pkg.values.get(v as usize);
    let shape = |v: u32| info(v).map(|i| &i.shape);
    if shape(x).is_none() || [w, t, m.output].iter().any(|&v| shape(v) != shape(x)) {
        return None;
    }
    let inside = |v: u32, a: i32, b: i32| {
        info(v).is_some_and(|i| i.kind.act_range().is_none_or(|(l, h)| l <= a && b <= h))
    };
    let (lo, hi) = (rq.lo, rq.hi);
    if lo > hi || !inside(x, lo, hi) || mrq.lo > mrq.hi || !inside(m.output, mrq.lo, mrq.hi) {
        return None;
    }
    let x_max = i128::from(lo.unsigned_abs().max(hi.unsigned_abs()));
    let window = Plain::new(wrq, x_max)?;
    let (w_lo, w_hi) = (window.apply(i64::from(lo)), window.apply(i64::from(hi)));
    let table_c = pkg.consts.get(*table as usize)?;
    vouch_semantics::lut_index(w_lo, table_c.data.len())?;
    vouch_semantics::lut_index(w_hi, table_c.data.len())?;
    let (t_lo, t_hi) = (table_c.data.iter().min()?, table_c.data.iter().max()?);
    let t_max = table_c.data.iter().map(|v| v.unsigned_abs()).max()?;
    if !inside(w, w_lo, w_hi) || !inside(t, *t_lo, *t_hi) {
        return None;
    }
    let half = i64::try_from(table_c.data.len() / 2).ok()?;
    let k = Plain::new(mrq, x_max * i128::from(t_max))?;
    // every `y` in `[lo, hi]` indexes the table (checked above for both ends: a requantization
    // is monotone) and `|y · T[..]|` is within `k`'s bound: the three nodes' integers
    let silu_of = |y: i32| {
        let i = usize::try_from(i64::from(window.apply(i64::from(y))) + half).ok()?;
        let t = table_c.data.get(i)?;
        i16::try_from(k.apply(i64::from(y) * i64::from(*t))).ok()
    };
    if i64::from(hi) - i64::from(lo) + 1 > SPAN_MAX {
        return None;
    }
    let mut table = (lo..=hi).map(silu_of).collect::<Option<Vec<i16>>>()?;
    table.push(0);
    Some(ConvSilu {
        nodes: [r, l, j],
        table,
        lo,
    })
}

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
            self.run_checked(i, values, batch)?;
        }
        let out = self.run_node(mul, &self.prepared[j], values, out_shape, None);
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
