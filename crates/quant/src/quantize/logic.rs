//! Lowering the comparisons, logic ops and `Where` (`FOp::Logic`, `FOp::Where`, elementwise
//! family) into integer ops every checker already has: `Add` with a `[0, 1]` or `[-1, 1]`
//! clamp, `Mul` by the identity requantization and 256-entry `Lut`s on `{-1, 0, 1}`.
//!
//! A boolean is an `act8` value `0` or `1` at scale 1 (`docs/semantics.md` section 5,
//! "Comparisons, logic ops and `Where`"). Every op below is exact on the integers it reads:
//! `Add` and `Mul` run with `M = 1`, `s = 0`, so nothing is rounded, and the clamp is the
//! only non-linear step.

use super::{Builder, QVal, kind_range};
use crate::Result;
use vouch_model::{Dim, Kind, Op, Operand, Requant};
use vouch_onnx::graph::{self as fg, BoolOp, FNode};

/// Below this many bits of `2^k`, two operand scales' ratio is carried exactly enough by the
/// integer multipliers of a comparison (`compare_multipliers`).
const RATIO_BITS: i32 = 24;

/// `Requant` with `M = 1`, `s = 0` (no rounding) clamped to `[lo, hi]`.
const fn exact(lo: i32, hi: i32) -> Requant {
    Requant { m: 1, s: 0, lo, hi }
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs().max(1)
}

/// Integer multipliers `(ma, mb)` with `ma / mb ≈ sa / sb`: `(1, 1)` for equal scales (the
/// comparison of `X · sa` with `Y · sb` is then exactly that of `X` with `Y`), else the ratio
/// to [`RATIO_BITS`] bits reduced by their common divisor. Both are in `[1, 2^24]`.
pub(crate) fn compare_multipliers(sa: f64, sb: f64) -> (i64, i64) {
    if sa == sb {
        return (1, 1);
    }
    let big = sa.max(sb);
    let p = f64::from(2u32).powi(RATIO_BITS);
    let ma = ((sa / big * p).round() as i64).max(1);
    let mb = ((sb / big * p).round() as i64).max(1);
    let g = gcd(ma, mb);
    (ma / g, mb / g)
}

/// The 256-entry table over an `act8` input that is `1` at the inputs `ones` and `0` elsewhere.
fn indicator(ones: &[i32]) -> Vec<i32> {
    (-128..=127).map(|i| i32::from(ones.contains(&i))).collect()
}

/// Numpy broadcasting of two package shapes (the batch axis broadcasts with 1 and itself).
fn broadcast(a: &[Dim], b: &[Dim]) -> Option<Vec<Dim>> {
    let rank = a.len().max(b.len());
    let at = |s: &[Dim], i: usize| {
        (i + s.len())
            .checked_sub(rank)
            .and_then(|j| s.get(j).copied())
            .unwrap_or(Dim::Fixed(1))
    };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (Dim::Fixed(1), y) => Some(y),
            (x, Dim::Fixed(1)) => Some(x),
            _ => None,
        })
        .collect()
}

impl Builder<'_> {
    /// The package shape of an operand.
    fn operand_shape(&self, o: Operand) -> Vec<Dim> {
        match o {
            Operand::Value(id) => self.values[id as usize].shape.clone(),
            Operand::Const(id) => self.consts[id as usize]
                .shape
                .iter()
                .map(|&d| Dim::Fixed(d))
                .collect(),
        }
    }

    /// The broadcast shape of `ins` (an error naming the node when they do not broadcast).
    fn broadcast_of(&self, node: &FNode, ins: &[Operand]) -> Result<Vec<Dim>> {
        let mut shape: Vec<Dim> = Vec::new();
        for &o in ins {
            let s = self.operand_shape(o);
            shape = broadcast(&shape, &s).ok_or_else(|| {
                Self::err(
                    node,
                    format!("operands {shape:?} and {s:?} do not broadcast"),
                )
            })?;
        }
        Ok(shape)
    }

    /// A new `act8` value at scale 1 named `<node>/<suffix>` (of the operands' broadcast
    /// shape), the output of `op` on `ins`, or the node's output when `suffix` is `None`.
    fn push_bool(
        &mut self,
        node: &FNode,
        name: &str,
        suffix: Option<&str>,
        op: Op,
        ins: Vec<Operand>,
    ) -> Result<u32> {
        let (id, nm) = match suffix {
            Some(sfx) => {
                let nm = format!("{name}/{sfx}");
                let shape = self.broadcast_of(node, &ins)?;
                (self.new_value(nm.clone(), Kind::Act8, 1.0, shape), nm)
            }
            None => (
                self.bind(node, node.output, Kind::Act8, 1.0)?.id,
                name.to_owned(),
            ),
        };
        self.push(node, nm, op, ins, id);
        Ok(id)
    }

    /// A `Lut` of the indicator of `ones` over the `act8` value `x` (bound like
    /// [`Self::push_bool`]).
    fn push_indicator(
        &mut self,
        node: &FNode,
        name: &str,
        suffix: Option<&str>,
        x: Operand,
        ones: &[i32],
    ) -> Result<u32> {
        let table = indicator(ones);
        let tname = format!("{name}/{}.table", suffix.unwrap_or("lut"));
        let t = self.add_const(tname, 1.0, vec![table.len()], table);
        self.push_bool(node, name, suffix, Op::Lut { table: t }, vec![x])
    }

    /// Operand `i` of a logic op or the condition of a `Where`: a boolean value (an `act8`
    /// value at scale 1, the output of a `Logic` node), or a constant stored as `0`/`1`.
    fn bool_operand(&mut self, node: &FNode, i: usize) -> Result<Operand> {
        match node.inputs.get(i) {
            Some(fg::Operand::Value(v)) => {
                let q: QVal = self.map[*v].ok_or_else(|| Self::err(node, "input not quantized"))?;
                if q.kind != Kind::Act8 || q.scale != 1.0 {
                    return Err(Self::err(
                        node,
                        format!(
                            "operand {i} is not a boolean (an act8 value 0/1 at scale 1): {:?} at \
                             scale {}",
                            q.kind, q.scale
                        ),
                    ));
                }
                Ok(Operand::Value(q.id))
            }
            Some(fg::Operand::Const(c)) => {
                let fc = &self.g.consts[*c];
                let data = fc.data.iter().map(|&v| i32::from(v != 0.0)).collect();
                let (n, shape) = (fc.name.clone(), fc.shape.clone());
                Ok(Operand::Const(self.add_const(n, 1.0, shape, data)))
            }
            None => Err(Self::err(node, format!("missing operand {i}"))),
        }
    }

    /// The scale of a comparison's computed operand when its other operand is a constant whose
    /// every value lies on that operand's grid (an integer multiple of its scale, within the
    /// package's activation range), else `None`. Stored at that scale the constant compares
    /// with multipliers `(1, 1)`, exactly: an `Equal` of integer codes (a one-hot of bytes
    /// against `0..=256`) stays exact, where the constant at its own scale would land between
    /// the operand's steps (`docs/semantics.md` section 5).
    fn grid_scale(&self, node: &FNode) -> Option<f64> {
        let (v, c) = match (node.inputs.first()?, node.inputs.get(1)?) {
            (fg::Operand::Value(v), fg::Operand::Const(c))
            | (fg::Operand::Const(c), fg::Operand::Value(v)) => (*v, *c),
            _ => return None,
        };
        let s = self.map[v]?.scale;
        let lim = f64::from(self.lim());
        let on_grid = |x: f32| {
            let k = f64::from(x) / s;
            k.abs() <= lim && (k - k.round()).abs() <= 1e-6 * k.abs().max(1.0)
        };
        (s > 0.0 && self.g.consts[c].data.iter().all(|&x| on_grid(x))).then_some(s)
    }

    /// `FOp::Logic`: a comparison of two numbers or a logic op of booleans, output a boolean.
    ///
    /// With `X`, `Y` the operands at scales `sa`, `sb` and `(ma, mb)` from
    /// [`compare_multipliers`], `d = X · ma - Y · mb` is exact: `Greater` is
    /// `clamp(d, 0, 1)` and `Less` `clamp(-d, 0, 1)` (one `Add`); `Equal`,
    /// `GreaterOrEqual` and `LessOrEqual` are an indicator `Lut` of `sign(d) = clamp(d, -1, 1)`.
    /// Of booleans `a`, `b`: `And` is `a · b` (`Mul`), `Or` `clamp(a + b, 0, 1)` (`Add`), `Xor`
    /// `(a - b)²` (`Add` onto `[-1, 1]`, `Mul`), `Not` the `Lut` `1 - a`.
    pub(super) fn logic(&mut self, node: &FNode, name: String, op: BoolOp) -> Result<()> {
        if op.is_comparison() {
            let hint = self.grid_scale(node);
            let (a, sa) = self.operand(node, &node.inputs[0], hint)?;
            let (b, sb) = self.operand(node, &node.inputs[1], hint)?;
            let (ma, mb) = compare_multipliers(sa, sb);
            let diff = |lo, hi| Op::Add {
                ma,
                mb: -mb,
                rq: exact(lo, hi),
            };
            match op {
                BoolOp::Greater => {
                    self.push_bool(node, &name, None, diff(0, 1), vec![a, b])?;
                }
                BoolOp::Less => {
                    // `clamp(Y · mb - X · ma, 0, 1)` (`push` puts a constant second)
                    let op = Op::Add {
                        ma: -ma,
                        mb,
                        rq: exact(0, 1),
                    };
                    self.push_bool(node, &name, None, op, vec![a, b])?;
                }
                _ => {
                    let sign =
                        self.push_bool(node, &name, Some("sign"), diff(-1, 1), vec![a, b])?;
                    let ones: &[i32] = match op {
                        BoolOp::Equal => &[0],
                        BoolOp::GreaterOrEqual => &[0, 1],
                        _ => &[-1, 0],
                    };
                    self.push_indicator(node, &name, None, Operand::Value(sign), ones)?;
                }
            }
            return Ok(());
        }
        let a = self.bool_operand(node, 0)?;
        if op == BoolOp::Not {
            self.push_indicator(node, &name, None, a, &[0])?;
            return Ok(());
        }
        let b = self.bool_operand(node, 1)?;
        match op {
            BoolOp::And => {
                let op = Op::Mul { rq: exact(0, 1) };
                self.push_bool(node, &name, None, op, vec![a, b])?;
            }
            BoolOp::Or => {
                let op = Op::Add {
                    ma: 1,
                    mb: 1,
                    rq: exact(0, 1),
                };
                self.push_bool(node, &name, None, op, vec![a, b])?;
            }
            _ => {
                let op = Op::Add {
                    ma: 1,
                    mb: -1,
                    rq: exact(-1, 1),
                };
                let d = self.push_bool(node, &name, Some("diff"), op, vec![a, b])?;
                let sq = Op::Mul { rq: exact(0, 1) };
                let ins = vec![Operand::Value(d), Operand::Value(d)];
                self.push_bool(node, &name, None, sq, ins)?;
            }
        }
        Ok(())
    }

    /// `FOp::Where(c, x, y)`: `c · x + (1 - c) · y` on one scale, exactly. `x` and `y` are
    /// brought onto the package's activation kind at `s_z = max_i s_i · L_i / L` (as `Max`:
    /// the coarsest operand's step, so neither is clipped; a constant is quantized at `s_z`);
    /// `c · x` and `(1 - c) · y` are `Mul`s with `M = 1`, `s = 0` (a product by 0 or 1), `1 - c`
    /// the `Lut` of `Not` (or a constant), and their sum an `Add` with `ma = mb = 1`, exact
    /// because one of the two terms is 0.
    pub(super) fn select_where(&mut self, node: &FNode, name: String) -> Result<()> {
        let act = self.act();
        let lim = f64::from(self.lim());
        let (lo, hi) = kind_range(act);
        let mut s_z = 0f64;
        for o in &node.inputs[1..] {
            s_z = s_z.max(match *o {
                fg::Operand::Value(v) => {
                    let q = self.map[v].ok_or_else(|| Self::err(node, "input not quantized"))?;
                    let (_, top) = q
                        .kind
                        .act_range()
                        .ok_or_else(|| Self::err(node, "operand is not an activation tensor"))?;
                    q.scale * f64::from(top) / lim
                }
                fg::Operand::Const(c) => {
                    let range = self.g.consts[c]
                        .data
                        .iter()
                        .fold(0f64, |m, v| m.max(f64::from(v.abs())));
                    range / lim
                }
            });
        }
        let s_z = s_z.max(super::MIN_SCALE);
        let mut xy = Vec::with_capacity(2);
        for (i, o) in node.inputs.iter().enumerate().skip(1) {
            let (operand, scale) = self.operand(node, o, Some(s_z))?;
            let operand = match operand {
                Operand::Value(id) if self.values[id as usize].kind != act || scale != s_z => {
                    let (m, s) = super::multiplier(scale / s_z)
                        .ok_or_else(|| Self::err(node, "rescale ratio out of range"))?;
                    let rname = format!("{name}/rescale{i}");
                    let shape = self.values[id as usize].shape.clone();
                    let rid = self.new_value(rname.clone(), act, s_z, shape);
                    let rq = Requant { m, s, lo, hi };
                    self.push(node, rname, Op::Rescale { rq }, vec![operand], rid);
                    Operand::Value(rid)
                }
                other => other,
            };
            xy.push(operand);
        }
        let c = self.bool_operand(node, 0)?;
        let not_c = match (&c, node.inputs.first()) {
            (Operand::Const(_), Some(fg::Operand::Const(k))) => {
                let fc = &self.g.consts[*k];
                let data = fc.data.iter().map(|&v| i32::from(v == 0.0)).collect();
                let (n, shape) = (format!("{}/not", fc.name), fc.shape.clone());
                Operand::Const(self.add_const(n, 1.0, shape, data))
            }
            _ => Operand::Value(self.push_indicator(node, &name, Some("not"), c, &[0])?),
        };
        let mut terms = Vec::with_capacity(2);
        for (sfx, mask, v) in [("then", c, xy[0]), ("else", not_c, xy[1])] {
            let tname = format!("{name}/{sfx}");
            let shape = self.broadcast_of(node, &[mask, v])?;
            let id = self.new_value(tname.clone(), act, s_z, shape);
            let op = Op::Mul { rq: exact(lo, hi) };
            self.push(node, tname, op, vec![mask, v], id);
            terms.push(Operand::Value(id));
        }
        let q = self.bind(node, node.output, act, s_z)?;
        let op = Op::Add {
            ma: 1,
            mb: 1,
            rq: exact(lo, hi),
        };
        self.push(node, name, op, terms, q.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{compare_multipliers, indicator};

    #[test]
    fn equal_scales_compare_the_integers() {
        assert_eq!(compare_multipliers(0.5, 0.5), (1, 1));
    }

    #[test]
    fn scales_a_power_of_two_apart_reduce_to_small_multipliers() {
        assert_eq!(compare_multipliers(0.25, 1.0), (1, 4));
        assert_eq!(compare_multipliers(2.0, 0.5), (4, 1));
    }

    #[test]
    fn other_ratios_keep_24_bits() {
        let (ma, mb) = compare_multipliers(0.1, 0.3);
        let r = ma as f64 / mb as f64;
        assert!((r - 1.0 / 3.0).abs() < 1e-7, "{ma}/{mb}");
        assert!(ma <= 1 << 24 && mb <= 1 << 24);
    }

    #[test]
    fn indicator_reads_the_table_at_x_plus_128() {
        let t = indicator(&[-1, 0]);
        assert_eq!(t.len(), 256);
        assert_eq!((t[127], t[128], t[129], t[0]), (1, 1, 0, 0));
    }
}
