//! An unrolled recurrent cell's gate products (`i ⊙ g`, `f ⊙ c`, `o ⊙ h(c)` of an LSTM: a
//! `Mul` of two values, one or both a gate table's output `Lut(Rescale(x))`) run as one pass
//! in untraced runs with the fast paths on ([`ops::gate`]): the tables are read where the
//! `Mul` needs them, and the `Rescale`s' and `Lut`s' outputs are never stored. The same
//! integers as the nodes one by one, which run instead whenever a check would fail (so errors
//! are the nodes' own).

use super::Engine;
use super::silu::Readers;
use crate::Result;
use crate::ops::gate::{self as ops_gate, Side, Table};
use crate::tensor::Tensor;
use vouch_model::{Op, Operand, Package};

/// A gate product: node indices of the `Mul`'s operands' tables.
#[derive(Debug, Clone)]
pub(super) struct GateMul {
    /// Per `Mul` operand: the value the side reads, and its table lookup, `None` for an
    /// operand read as it is.
    sides: [(u32, Option<Lookup>); 2],
}

/// The nodes of a table lookup, and what the one pass needs of the table (found once per
/// package: a table is as long as `2^16` entries, a `Mul` of an unrolled cell 64 values).
#[derive(Debug, Clone, Copy)]
struct Lookup {
    /// The `Lut`.
    lut: usize,
    /// The `Rescale` into the table's window, when there is one.
    rescale: Option<usize>,
    /// The smallest and the largest entry.
    lo: i32,
    hi: i32,
    /// The largest magnitude of an entry.
    max: u32,
}

impl GateMul {
    /// The nodes the `Mul` computes with itself (not run on their own).
    pub(super) fn absorbed(&self) -> impl Iterator<Item = usize> + '_ {
        self.sides
            .iter()
            .filter_map(|(_, t)| *t)
            .flat_map(|t| t.rescale.into_iter().chain([t.lut]))
    }

    /// The values read through a table (kept until the `Mul` has read them).
    pub(super) fn looked_up(&self) -> impl Iterator<Item = u32> + '_ {
        self.sides
            .iter()
            .filter_map(|(x, t)| t.is_some().then_some(*x))
    }
}

/// Whether node `j` of `pkg` is a gate product: a `Mul` of two values, at least one `Lut(w)`
/// with `w` the `Rescale` of a value (or `Lut(x)` of the value itself), each `Lut`'s and
/// `Rescale`'s output read by the next node of the chain only and none a graph output, every
/// shape the same (no broadcast). `taken` marks nodes another fast path already absorbs.
pub(super) fn gate_mul_at(
    pkg: &Package,
    readers: &Readers,
    last_use: &[usize],
    taken: &[bool],
    j: usize,
) -> Option<GateMul> {
    let mul = pkg.nodes.get(j)?;
    let (Op::Mul { .. }, [Operand::Value(a), Operand::Value(b)]) = (&mul.op, &mul.inputs[..])
    else {
        return None;
    };
    let shape = |v: u32| pkg.values.get(v as usize).map(|i| &i.shape);
    let out = shape(mul.output)?;
    // read once, by node `by`, and not a graph output
    let only_by =
        |v: u32, by: usize| readers.of_value(v) == [by] && last_use.get(v as usize) == Some(&by);
    let side = |v: u32| -> Option<(u32, Option<Lookup>)> {
        let plain = Some((v, None));
        let Some(l) = readers.writer_of(v) else {
            return plain;
        };
        let lut = &pkg.nodes[l];
        let (Op::Lut { table }, [Operand::Value(w)]) = (&lut.op, &lut.inputs[..]) else {
            return plain;
        };
        let Some(t) = pkg.consts.get(*table as usize) else {
            return plain;
        };
        let (lo, hi) = t
            .data
            .iter()
            .fold((i32::MAX, i32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let max = t.data.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
        let lookup = |rescale| Lookup {
            lut: l,
            rescale,
            lo,
            hi,
            max,
        };
        if a == b || !only_by(v, j) || taken.get(l) != Some(&false) || shape(v) != Some(out) {
            return plain;
        }
        let rescale = readers.writer_of(*w).filter(|&r| {
            let node = &pkg.nodes[r];
            matches!(node.op, Op::Rescale { .. })
                && matches!(node.inputs[..], [Operand::Value(x)] if shape(x) == Some(out))
                && only_by(*w, l)
                && taken.get(r) == Some(&false)
        });
        match rescale {
            Some(r) => match pkg.nodes[r].inputs[..] {
                [Operand::Value(x)] => Some((x, Some(lookup(Some(r))))),
                _ => plain,
            },
            None if shape(*w) == Some(out) => Some((*w, Some(lookup(None)))),
            None => plain,
        }
    };
    let sides = [side(*a)?, side(*b)?];
    sides
        .iter()
        .any(|(_, t)| t.is_some())
        .then_some(GateMul { sides })
}

impl Engine<'_> {
    /// Node `j`, a gate product `g` ([`gate_mul_at`]): one pass when the inputs index the
    /// tables and nothing can overflow, else the absorbed nodes one by one, then the `Mul`.
    /// Drops the values read through a table that no later node reads.
    pub(super) fn run_gate_mul(
        &self,
        j: usize,
        g: &GateMul,
        values: &mut [Option<Tensor>],
        batch: usize,
        out_shape: &[usize],
    ) -> Result<Tensor> {
        let out = self.gate_mul_fast(j, g, values, out_shape);
        let out = match out {
            Some(out) => Ok(out),
            None => self.gate_mul_nodes(j, g, values, batch, out_shape),
        };
        for x in g.looked_up() {
            if self.last_use.get(x as usize) == Some(&j)
                && let Some(slot) = values.get_mut(x as usize)
            {
                *slot = None;
            }
        }
        out
    }

    /// The one pass, when every check passes: the values not stored (each `Rescale`'s and
    /// `Lut`'s output) must lie in their kinds' ranges, as a stored one is checked.
    fn gate_mul_fast(
        &self,
        j: usize,
        g: &GateMul,
        values: &[Option<Tensor>],
        out_shape: &[usize],
    ) -> Option<Tensor> {
        let pkg = self.pkg;
        let Op::Mul { rq } = &pkg.nodes.get(j)?.op else {
            return None;
        };
        let inside = |v: u32, lo: i32, hi: i32| {
            pkg.values[v as usize]
                .kind
                .act_range()
                .is_none_or(|(a, b)| a <= lo && hi <= b)
        };
        let side = |(x, t): &(u32, Option<Lookup>)| -> Option<Side<'_>> {
            let x = values.get(*x as usize)?.as_ref()?;
            if x.shape != out_shape {
                return None;
            }
            let Some(t) = *t else {
                return Some(Side { x, table: None });
            };
            let lut = pkg.nodes.get(t.lut)?;
            let Op::Lut { table } = lut.op else {
                return None;
            };
            let data = &pkg.consts.get(table as usize)?.data;
            let window = match t.rescale.map(|r| &pkg.nodes[r]) {
                Some(node) => match &node.op {
                    Op::Rescale { rq } if inside(node.output, rq.lo, rq.hi) => Some(rq),
                    _ => return None,
                },
                None => None,
            };
            inside(lut.output, t.lo, t.hi).then_some(Side {
                x,
                table: Some(Table {
                    data,
                    window,
                    max: t.max,
                }),
            })
        };
        let [a, b] = &g.sides;
        let (a, b) = (side(a)?, side(b)?);
        let data = ops_gate::gate_mul_in_range(&a, &b, rq)?;
        Some(Tensor {
            shape: out_shape.to_vec(),
            data,
        })
    }

    /// The absorbed nodes one by one, each checked as it would be on its own, then the `Mul`.
    fn gate_mul_nodes(
        &self,
        j: usize,
        g: &GateMul,
        values: &mut [Option<Tensor>],
        batch: usize,
        out_shape: &[usize],
    ) -> Result<Tensor> {
        let pkg = self.pkg;
        let mut absorbed: Vec<usize> = g.absorbed().collect();
        absorbed.sort_unstable();
        for &i in &absorbed {
            self.run_checked(i, values, batch)?;
        }
        let out = self.run_node(&pkg.nodes[j], &self.prepared[j], values, out_shape, None);
        for &i in &absorbed {
            values[pkg.nodes[i].output as usize] = None;
        }
        out
    }
}
