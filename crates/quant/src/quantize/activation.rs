//! Lowering elementwise activations: `Relu` and `Clip` (a clamp at the input's scale, unless
//! fused into the producing node), `LeakyRelu` (a multiplier for the negative slope), and
//! `Sigmoid`/`Tanh` as a 256-entry `Lut` on an `act8` input at 8 bits and, at 16 bits, a
//! `Lut` on an `act16` window with an `act16` output: [`FINE_LUT`] entries for a graph output
//! (a classifier's probabilities), [`GATE_LUT`] for any other (an LSTM's or GRU's gates), and every other function of one argument (`FOp::Map`:
//! HardSigmoid, Exp, Elu, ...) as a `Lut` whose output scale fits its table: 256 entries at 8
//! bits, [`FINE_LUT`] entries indexed by an `act16` input at 16 bits.

use super::{Builder, clamp_bounds, kind_range, multiplier};
use crate::Result;
use vouch_model::{Kind, Op, Operand, Requant};
use vouch_onnx::ScalarFn;
use vouch_onnx::graph::FNode;
use vouch_semantics::{ACT_MAX, ACT_MIN, ACT16_MAX};

/// Entries of the table of a 16-bit `Sigmoid`/`Tanh` whose output is a graph output: its input
/// window holds `2^16` steps over twice the calibrated range, so the error of a probability is
/// at most about `range / 2^17` plus half an output step (semantics version 4 allows tables of
/// `2^k` entries, up to `2^16`).
const FINE_LUT: usize = 65_536;

/// Entries of the table of every other 16-bit `Sigmoid`/`Tanh` (an LSTM's or GRU's gates):
/// picked on the recurrent fixtures, whose speech probability is within 0.0023 (`vad_lstm`)
/// and 0.0018 (`vad_bigru`) of onnxruntime at `2^12` entries, 0.010 and 0.0082 at `2^10`,
/// 0.041 and 0.021 at `2^8` (docs/semantics.md section 5); a circuit's lookup grows as `√n`.
const GATE_LUT: usize = 4096;

/// Where `Sigmoid` is within half an `act16` output step (`1/65534`) of its limits: its
/// table's window reaches no further.
const SIGMOID_SATURATES: f64 = 11.1;

/// Where `Tanh` is within half an `act16` output step of `±1`.
const TANH_SATURATES: f64 = 5.9;

impl Builder<'_> {
    /// `Relu`, at the input's kind and scale.
    pub(super) fn relu(&mut self, node: &FNode, name: String) -> Result<()> {
        let x = self.input(node, 0)?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        self.push(node, name, Op::Relu, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `Clip` to `[min, max]` quantized at the input's scale, at the input's kind and scale.
    pub(super) fn clip(&mut self, node: &FNode, name: String, min: f32, max: f32) -> Result<()> {
        let x = self.input(node, 0)?;
        let (lo, hi) = clamp_bounds(min, max, x.scale, x.kind);
        let op = Op::Clip { lo, hi };
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `LeakyRelu`: `alpha` as a multiplier and shift.
    pub(super) fn leaky_relu(&mut self, node: &FNode, name: String, alpha: f32) -> Result<()> {
        let x = self.input(node, 0)?;
        let (m, s) = multiplier(f64::from(alpha))
            .ok_or_else(|| Self::err(node, "LeakyRelu needs alpha > 0"))?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        let (lo, hi) = kind_range(x.kind);
        let rq = Requant { m, s, lo, hi };
        self.push(
            node,
            name,
            Op::LeakyRelu { rq },
            vec![Operand::Value(x.id)],
            q.id,
        );
        Ok(())
    }

    /// `PRelu`: the slope constant quantized per tensor as weights are (`s_w = max|S| / L`),
    /// the negative products `X · S` requantized back onto the input's scale
    /// (`M / 2^s ≈ s_w`); the input's kind and scale. A slope steeper than 1 (`max|S| > 1`)
    /// first rescales the input onto `s_x · max|S|` (a `Rescale` node), so `X · S` fits the
    /// kind's range.
    pub(super) fn prelu(&mut self, node: &FNode, name: String) -> Result<()> {
        let mut x = self.input(node, 0)?;
        let Some(vouch_onnx::graph::Operand::Const(c)) = node.inputs.get(1) else {
            return Err(Self::err(node, "PRelu needs a constant slope"));
        };
        let smax = self.g.consts[*c]
            .data
            .iter()
            .fold(0f64, |m, v| m.max(f64::from(v.abs())));
        if smax > 1.0 {
            // |x · S| may pass the input's range: first rescale x onto s_x · max|S|
            let (m, s) = multiplier(1.0 / smax)
                .ok_or_else(|| Self::err(node, "PRelu slope out of range"))?;
            let (lo, hi) = kind_range(x.kind);
            let rname = format!("{name}/rescale");
            let shape = self.values[x.id as usize].shape.clone();
            let id = self.new_value(rname.clone(), x.kind, x.scale * smax, shape);
            self.push(
                node,
                rname,
                Op::Rescale {
                    rq: Requant { m, s, lo, hi },
                },
                vec![Operand::Value(x.id)],
                id,
            );
            x.id = id;
            x.scale *= smax;
        }
        let (slope, s_w) = self.weights(node, *c);
        let (m, s) =
            multiplier(s_w).ok_or_else(|| Self::err(node, "PRelu slope scale out of range"))?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        let (lo, hi) = kind_range(x.kind);
        let rq = Requant { m, s, lo, hi };
        self.push(
            node,
            name,
            Op::PRelu { slope, rq },
            vec![Operand::Value(x.id)],
            q.id,
        );
        Ok(())
    }

    /// `Sigmoid` as a table.
    pub(super) fn sigmoid(&mut self, node: &FNode, name: String) -> Result<()> {
        self.lut(
            node,
            name,
            |v| 1.0 / (1.0 + libm::expf(-v)),
            SIGMOID_SATURATES,
        )
    }

    /// `Tanh` as a table.
    pub(super) fn tanh(&mut self, node: &FNode, name: String) -> Result<()> {
        self.lut(node, name, libm::tanhf, TANH_SATURATES)
    }

    /// An elementwise function of one argument as a `Lut`. At 16 bits, a [`FINE_LUT`]-entry
    /// table ([`Self::fine_map`]). At 8 bits, over the 256 steps of the `act8` input, output
    /// `act8` at the scale that fits the table's largest finite value, capped at twice the
    /// calibrated output range (`e^x` or `1/x` would otherwise take their scale from the
    /// window's far end); larger values and non-finite ones (`ln 0`, `1 / 0`) saturate, NaN
    /// (`√-1`) is 0.
    pub(super) fn map(&mut self, node: &FNode, name: String, f: ScalarFn) -> Result<()> {
        if self.precision == super::Precision::Int16 {
            return self.fine_map(node, name, f);
        }
        let x = self.act8_input(node)?;
        let ys: Vec<f64> = (-128..=127)
            .map(|i| f64::from(f.apply((f64::from(i) * x.scale) as f32)))
            .collect();
        let range = self.table_range(node, &ys);
        let scale = if range > 0.0 {
            range / f64::from(ACT_MAX)
        } else {
            1.0
        };
        let table: Vec<i32> = ys
            .iter()
            .map(|&y| {
                if y.is_nan() {
                    0
                } else {
                    (y / scale)
                        .round()
                        .clamp(f64::from(ACT_MIN), f64::from(ACT_MAX)) as i32
                }
            })
            .collect();
        self.push_lut(node, name, x.id, table, Kind::Act8, scale)
    }

    /// The output range of a function's table `ys`: its largest finite magnitude, at most
    /// twice the node's calibrated output range.
    fn table_range(&self, node: &FNode, ys: &[f64]) -> f64 {
        let widest = ys
            .iter()
            .filter(|y| y.is_finite())
            .fold(0f64, |m, y| m.max(y.abs()));
        let calibrated = f64::from(self.ranges[node.output]) * super::HEADROOM_16;
        if calibrated > 0.0 && calibrated.is_finite() {
            widest.min(calibrated)
        } else {
            widest
        }
    }

    /// A function of one argument at 16 bits: a [`FINE_LUT`]-entry `Lut` indexed by its
    /// `act16` input itself (entry `i` is `f(i · s_x)`; any other input, a tree ensemble's wide
    /// scores or an `act8` table output, is first rescaled onto an `act16` window over twice its
    /// calibrated range), output `act16` at the [`Self::table_range`] of the table; entries
    /// past it saturate, NaN is 0. A table of integers (a step's 0 and 1) has scale 1: exact.
    fn fine_map(&mut self, node: &FNode, name: String, f: ScalarFn) -> Result<()> {
        let half = (FINE_LUT / 2) as i32;
        let mut x = self.input(node, 0)?;
        if x.kind != Kind::Act16 {
            let scale =
                (2.0 * f64::from(self.range_of(node, 0)?) / f64::from(half)).max(super::MIN_SCALE);
            x = self.rescaled_input(node, Kind::Act16, scale, (-half, half - 1), "to_window")?;
        }
        let ys: Vec<f64> = (-half..half)
            .map(|i| f64::from(f.apply((f64::from(i) * x.scale) as f32)))
            .collect();
        let range = self.table_range(node, &ys);
        let lim = f64::from(ACT16_MAX);
        let integral = ys.iter().all(|y| y.fract() == 0.0 && y.abs() <= lim);
        let scale = if range > 0.0 && !integral {
            range / lim
        } else {
            1.0
        };
        let table: Vec<i32> = ys
            .iter()
            .map(|&y| {
                if y.is_nan() {
                    0
                } else {
                    (y / scale).round().clamp(-lim, lim) as i32
                }
            })
            .collect();
        self.push_lut(node, name, x.id, table, Kind::Act16, scale)
    }

    /// A `Lut` of `f` (`Sigmoid` or `Tanh`, saturated within half an `act16` step past
    /// `±sat`): at 8 bits over the 256 steps of the `act8` input, output `act8` at scale 1/127;
    /// at 16 bits a [`FINE_LUT`]-entry (graph output) or [`GATE_LUT`]-entry
    /// [`Self::fine_lut`].
    fn lut(&mut self, node: &FNode, name: String, f: fn(f32) -> f32, sat: f64) -> Result<()> {
        if self.precision == super::Precision::Int16 {
            let n = if self.is_output[node.output] {
                FINE_LUT
            } else {
                GATE_LUT
            };
            return self.fine_lut(node, name, f, n, sat);
        }
        let x = self.act8_input(node)?;
        let table: Vec<i32> = (-128..=127)
            .map(|i| {
                let v = i as f32 * x.scale as f32;
                let y = f(v);
                (libm::roundf(y * 127.0) as i32).clamp(ACT_MIN, ACT_MAX)
            })
            .collect();
        self.push_lut(node, name, x.id, table, Kind::Act8, 1.0 / 127.0)
    }

    /// `f` as an `n`-entry table: the input rescaled onto the window `[-n/2, n/2)` at
    /// `min(2 · range, sat) / (n/2)` per step (inputs past the window clamp to its ends, where
    /// `f` has saturated), the output `act16` at `1/32767` (`f` maps into `[-1, 1]`: `Sigmoid`,
    /// `Tanh`).
    fn fine_lut(
        &mut self,
        node: &FNode,
        name: String,
        f: fn(f32) -> f32,
        n: usize,
        sat: f64,
    ) -> Result<()> {
        let half = (n / 2) as i32;
        let reach = (2.0 * f64::from(self.range_of(node, 0)?)).min(sat);
        // a gate's window on the grid, so the steps of an unrolled cell share their tables
        let reach = if n == GATE_LUT {
            window_grid(reach).min(sat)
        } else {
            reach
        };
        let scale = (reach / f64::from(half)).max(super::MIN_SCALE);
        let w = self.rescaled_input(node, Kind::Act16, scale, (-half, half - 1), "to_window")?;
        let lim = f64::from(ACT16_MAX);
        let table: Vec<i32> = (-half..half)
            .map(|i| {
                let y = f64::from(f((f64::from(i) * scale) as f32));
                ((y * lim).round() as i32).clamp(-ACT16_MAX, ACT16_MAX)
            })
            .collect();
        self.push_lut(node, name, w.id, table, Kind::Act16, 1.0 / lim)
    }

    /// Pushes `Lut { table }` of the value with id `x`, output `kind` at `scale`.
    fn push_lut(
        &mut self,
        node: &FNode,
        name: String,
        x: u32,
        table: Vec<i32>,
        kind: Kind,
        scale: f64,
    ) -> Result<()> {
        let t = self.add_const(format!("{name}.table"), 1.0, vec![table.len()], table);
        let q = self.bind(node, node.output, kind, scale)?;
        self.push(
            node,
            name,
            Op::Lut { table: t },
            vec![Operand::Value(x)],
            q.id,
        );
        Ok(())
    }
}

/// The smallest point of the quarter-octave grid `2^(k/4)` at or above `reach` (`reach` itself
/// when it is not a positive finite number): the windows of a recurrent cell's gate at
/// different steps (each calibrated on its own, a few percent apart) land on one point, so
/// their tables are equal and stored once, and a window is at most `2^(1/4)` (19%) wider than
/// its calibrated reach. Computed with exact doublings and correctly rounded square roots, so
/// every platform finds the same point.
fn window_grid(reach: f64) -> f64 {
    if !(reach.is_finite() && reach > 0.0) {
        return reach;
    }
    // the power of two `p` with `p <= reach < 2p`
    let mut p = 1.0f64;
    while p > reach {
        p *= 0.5;
    }
    while p * 2.0 <= reach {
        p *= 2.0;
    }
    let q = 2f64.sqrt().sqrt();
    let points = [p, p * q, p * 2f64.sqrt(), p * 2f64.sqrt() * q, p * 2.0];
    points.into_iter().find(|&g| g >= reach).unwrap_or(p * 2.0)
}
