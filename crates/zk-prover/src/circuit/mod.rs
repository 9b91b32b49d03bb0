//! The circuit of a package: one R1CS per (package, input shape), built from an engine trace.
//!
//! Every node of `docs/semantics.md` §3 is constrained by the gadgets of [`crate::gadgets`].
//! Weights and tables are constants, so `Linear`/`Conv` are linear combinations (no
//! multiplication constraints). Graph inputs are range-checked to their kind and committed with
//! the in-circuit Poseidon sponge (public input 0); outputs are packed into the remaining
//! public inputs ([`vouch_zk::statement`]).
//!
//! The witness is the engine's trace: each node's output is computed by the gadgets and
//! compared with the engine's value; a difference is an [`Error::Divergence`].
//!
//! This module walks the graph (inputs and their commitment, the nodes, the outputs) and
//! dispatches each op to the module of its family ([`vouch_semantics::Family::module`]), which
//! holds that family's constraint generation:
//!
//! | module | holds |
//! |---|---|
//! | `dense` | `Linear`, `MatMul`, and the accumulator finishing shared with `Conv` |
//! | `conv` | `Conv` |
//! | `elementwise` | `Add`, `Mul`, `Rescale` |
//! | `activation` | `Relu`, `Clip`, `LeakyRelu`, `Lut` |
//! | `reduce` | `Softmax`, `ArgMax` |
//! | `pool` | `MaxPool`, `AveragePool` |
//! | `layout` | `Reshape`, `Transpose`, `Concat`, `Pad`, `Select` |
//! | `tree` | `TreeEnsemble` (thermometer codes, reach flags along the paths) |
//! | `poseidon` | the in-circuit Poseidon sponge ([`poseidon_gadget`]) |
//!
//! Variables are allocated and rows added in node order, and within a node in the order its
//! family function runs: the constraint matrices (and so the verifying key) depend on it.

mod activation;
mod conv;
mod dense;
mod elementwise;
mod layout;
mod pool;
mod poseidon;
mod reduce;
mod tree;

pub use poseidon::poseidon_gadget;

use crate::cs::{Cs, Lc, Var, fe};
use crate::gadgets::Sig;
use crate::{Error, Result};
use ark_ff::{Field, Zero};
use vouch_engine::tensor::resolve;
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Kind, Op, Operand, Package};
use vouch_zk::Fr;
use vouch_zk::statement::{OUT_PER_LIMB, input_layout, input_sponge, num_public};

/// A tensor of signals.
#[derive(Debug, Clone)]
struct STensor {
    shape: Vec<usize>,
    sigs: Vec<Sig>,
}

/// A built circuit with its witness and what it proves.
#[derive(Debug, Clone)]
pub struct Circuit {
    /// The constraint system and assignment.
    pub cs: Cs,
    /// Every input element (package order).
    pub inputs: Vec<i32>,
    /// The output tensors (package order).
    pub outputs: Vec<Tensor>,
    /// Constraints per node, in node order (for reports).
    pub per_node: Vec<(String, &'static str, usize)>,
}

/// Builds the circuit of `pkg` for `inputs` (one tensor per package input).
pub fn build(pkg: &Package, inputs: Vec<Tensor>) -> Result<Circuit> {
    let engine = Engine::new(
        pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )?;
    let exec = engine.run(inputs.clone())?;
    build_from_trace(pkg, &inputs, &exec.trace, &exec.outputs)
}

/// The all-zero input of the package's shapes (batch 1): the setup builds the circuit on it.
pub fn zero_inputs(pkg: &Package) -> Vec<Tensor> {
    pkg.inputs
        .iter()
        .map(|i| Tensor::zeros(resolve(&pkg.values[i.value as usize].shape, 1)))
        .collect()
}

fn div(node: &str, what: &str) -> Error {
    Error::Divergence {
        node: node.to_string(),
        what: what.to_string(),
    }
}

/// One node being constrained: what a family's function reads.
struct NodeIn<'a> {
    /// The package.
    pkg: &'a Package,
    /// The node's name (for errors).
    name: &'a str,
    /// The operands' signals, in node order.
    ins: &'a [STensor],
    /// The first operand.
    x: &'a STensor,
    /// The output shape (the engine's).
    out_shape: &'a [usize],
}

impl<'a> NodeIn<'a> {
    /// A divergence of this node.
    fn err(&self, what: &str) -> Error {
        div(self.name, what)
    }

    /// The data of constant `c`.
    fn konst(&self, c: u32) -> Result<&'a [i32]> {
        self.pkg
            .consts
            .get(c as usize)
            .map(|c| c.data.as_slice())
            .ok_or_else(|| self.err("missing constant"))
    }

    /// The `n` values of a `Linear` or `Conv` bias constant (a wide `[N, 2]` or per-channel
    /// `[N, 3]` bias joined, `docs/semantics.md` section 3; `None` without a bias) and the
    /// per-channel multipliers `M[n]` (version 6; `None` when the node's one `M` applies).
    fn channels(&self, c: Option<u32>, n: usize) -> Result<Channels> {
        let k = c
            .map(|c| {
                self.pkg
                    .consts
                    .get(c as usize)
                    .ok_or_else(|| self.err("missing constant"))
            })
            .transpose()?;
        let bias = k
            .map(|k| {
                vouch_semantics::bias_values(&k.shape, &k.data, n)
                    .ok_or_else(|| self.err("bias shape does not match the outputs"))
            })
            .transpose()?;
        let mults = k.and_then(|k| vouch_semantics::channel_multipliers(&k.shape, &k.data, n));
        Ok((bias, mults))
    }
}

/// A `Linear` or `Conv` node's bias values and per-channel multipliers ([`NodeIn::channels`]).
type Channels = (Option<Vec<i64>>, Option<Vec<i64>>);

/// Builds the circuit from a traced execution.
pub fn build_from_trace(
    pkg: &Package,
    inputs: &[Tensor],
    trace: &[Tensor],
    outputs: &[Tensor],
) -> Result<Circuit> {
    vouch_semantics::check_zk_version(pkg.semantics_version).map_err(Error::Unsupported)?;
    let n_out: usize = outputs.iter().map(|t| t.data.len()).sum();
    let npub = num_public(n_out);
    let mut cs = Cs::new(npub);
    let mut vals: Vec<Option<STensor>> = vec![None; pkg.values.len()];
    // Inputs: range-checked variables at the width of the widest input kind (8 for act8,
    // 16 for act16, 32 for a wide input of a test package), packed as the statement packs them.
    let bits = pkg.input_bits();
    let (per, tag_bit) = input_layout(bits).map_err(|e| Error::Unsupported(e.to_string()))?;
    let off = 1i128 << (bits - 1);
    let (lo, hi) = (-off, off - 1);
    let mut flat_in = Vec::new();
    let mut in_sigs = Vec::new();
    for (spec, t) in pkg.inputs.iter().zip(inputs) {
        let sigs: Vec<Sig> = t
            .data
            .iter()
            .map(|&v| {
                let s = Sig::var(&mut cs, i128::from(v), lo, hi);
                cs.range(s.lc.clone().plus_const(off), i128::from(v) + off, bits);
                s
            })
            .collect();
        flat_in.extend_from_slice(&t.data);
        in_sigs.extend(sigs.iter().cloned());
        vals[spec.value as usize] = Some(STensor {
            shape: t.shape.clone(),
            sigs,
        });
    }
    // Input commitment.
    let step = fe(1i128 << bits);
    let limbs: Vec<(Lc, Fr)> = in_sigs
        .chunks(per)
        .map(|c| {
            let mut lc = Lc::default();
            let mut v = Fr::zero();
            let mut k = Fr::from(1u8);
            for s in c {
                lc.add_scaled(&s.lc.clone().plus_const(off), k);
                v += fe(s.val + off) * k;
                k *= step;
            }
            (lc, v)
        })
        .collect();
    let tag = flat_in.len() as u64 | tag_bit;
    let (h_lc, h_val) = poseidon_gadget(&mut cs, input_sponge(bits), &limbs, tag);
    cs.set_public(0, h_val);
    cs.enforce_zero(h_lc.plus(&Lc::var(cs.public_var(0)), -1));

    let mut per_node = Vec::with_capacity(pkg.nodes.len());
    for (node, expect) in pkg.nodes.iter().zip(trace) {
        let before = cs.num_constraints();
        let fetch = |op: &Operand, cs: &mut Cs| -> Result<STensor> {
            match *op {
                Operand::Value(v) => vals
                    .get(v as usize)
                    .and_then(Option::as_ref)
                    .cloned()
                    .ok_or_else(|| div(&node.name, "operand not computed")),
                Operand::Const(c) => {
                    let c = pkg
                        .consts
                        .get(c as usize)
                        .ok_or_else(|| div(&node.name, "missing constant"))?;
                    let _ = cs;
                    Ok(STensor {
                        shape: c.shape.iter().map(|&d| d as usize).collect(),
                        sigs: c
                            .data
                            .iter()
                            .map(|&v| Sig::constant(i128::from(v)))
                            .collect(),
                    })
                }
            }
        };
        let ins = node
            .inputs
            .iter()
            .map(|o| fetch(o, &mut cs))
            .collect::<Result<Vec<_>>>()?;
        let x = ins.first().ok_or_else(|| div(&node.name, "no inputs"))?;
        let out_shape = expect.shape.clone();
        let nd = NodeIn {
            pkg,
            name: &node.name,
            ins: &ins,
            x,
            out_shape: &out_shape,
        };
        // One arm per op; the op's family module adds its rows.
        let sigs: Vec<Sig> = match &node.op {
            Op::Linear {
                weight,
                bias,
                rq,
                wide,
            } => dense::linear(&mut cs, &nd, *weight, *bias, rq, *wide)?,
            Op::MatMul { rq, wide } => dense::matmul(&mut cs, &nd, rq, *wide)?,
            Op::Conv {
                weight,
                bias,
                kernel,
                strides,
                pads,
                dilations,
                group,
                rq,
                wide,
            } => conv::conv(
                &mut cs, &nd, *weight, *bias, *kernel, *strides, *pads, *dilations, *group, rq,
                *wide,
            )?,
            Op::Add { ma, mb, rq } => elementwise::add(&mut cs, &nd, *ma, *mb, rq)?,
            Op::Mul { rq } => elementwise::mul(&mut cs, &nd, rq)?,
            Op::Rescale { rq } => elementwise::rescale(&mut cs, &nd, rq)?,
            Op::Relu => activation::relu(&mut cs, &nd)?,
            Op::Clip { lo, hi } => activation::clip(&mut cs, &nd, *lo, *hi)?,
            Op::LeakyRelu { rq } => activation::leaky_relu(&mut cs, &nd, rq)?,
            Op::Lut { table } => activation::lut(&mut cs, &nd, *table)?,
            Op::Softmax { axis, table, rq } => reduce::softmax(&mut cs, &nd, *axis, *table, rq)?,
            Op::ArgMax {
                axis,
                select_last_index,
                ..
            } => reduce::argmax(&mut cs, &nd, *axis, *select_last_index)?,
            Op::MaxPool {
                kernel,
                strides,
                pads,
                dilations,
            } => pool::max_pool(&mut cs, &nd, *kernel, *strides, *pads, *dilations)?,
            Op::AveragePool {
                kernel,
                strides,
                pads,
                count_include_pad,
            } => pool::average_pool(&mut cs, &nd, *kernel, *strides, *pads, *count_include_pad)?,
            Op::Reshape => layout::reshape(&mut cs, &nd)?,
            Op::Transpose { perm } => layout::transpose(&mut cs, &nd, perm)?,
            Op::Concat { axis } => layout::concat(&mut cs, &nd, *axis)?,
            Op::Pad { mode, pads, value } => layout::pad(&mut cs, &nd, *mode, pads, *value)?,
            Op::Reduce { mode, axes, rq, .. } => reduce::reduce(&mut cs, &nd, *mode, axes, rq)?,
            Op::Max => elementwise::min_max(&mut cs, &nd, true)?,
            Op::Min => elementwise::min_max(&mut cs, &nd, false)?,
            Op::PRelu { slope, rq } => activation::prelu(&mut cs, &nd, *slope, rq)?,
            op @ Op::TreeEnsemble { .. } => tree::tree_ensemble(&mut cs, &nd, op)?,
            Op::Select { maps } => layout::select(&mut cs, &nd, maps)?,
            Op::Gather { axis } => layout::gather(&mut cs, &nd, *axis)?,
        };
        if sigs.len() != expect.data.len() {
            return Err(div(&node.name, "element count"));
        }
        if let Some((i, (s, e))) = sigs
            .iter()
            .zip(&expect.data)
            .enumerate()
            .find(|(_, (s, e))| s.val != i128::from(**e))
        {
            return Err(div(
                &node.name,
                &format!("element {i}: circuit {} engine {}", s.val, e),
            ));
        }
        let kind = pkg.values[node.output as usize].kind;
        if kind == Kind::Wide && sigs.iter().any(|s| s.lo < -(1 << 31) || s.hi >= 1 << 31) {
            return Err(div(&node.name, "accumulator bound exceeds i32"));
        }
        per_node.push((
            node.name.clone(),
            node.op.name(),
            cs.num_constraints() - before,
        ));
        vals[node.output as usize] = Some(STensor {
            shape: out_shape,
            sigs,
        });
    }
    // Outputs: packed into public inputs.
    let mut flat = Vec::new();
    for o in &pkg.outputs {
        let t = vals[o.value as usize]
            .as_ref()
            .ok_or_else(|| div(&o.name, "output not computed"))?;
        flat.extend(t.sigs.iter().cloned());
    }
    if flat.len() != n_out {
        return Err(div("outputs", "element count"));
    }
    for (li, chunk) in flat.chunks(OUT_PER_LIMB).enumerate() {
        let mut lc = Lc::default();
        let mut v = Fr::zero();
        for (j, s) in chunk.iter().enumerate() {
            let k = Fr::from(2u8).pow([32 * j as u64]);
            lc.add_scaled(&s.lc.clone().plus_const(1 << 31), k);
            v += fe(s.val + (1 << 31)) * k;
        }
        let pv: Var = cs.public_var(li + 1);
        cs.set_public(li + 1, v);
        cs.enforce_zero(lc.plus(&Lc::var(pv), -1));
    }
    Ok(Circuit {
        cs,
        inputs: flat_in,
        outputs: outputs.to_vec(),
        per_node,
    })
}

/// The product `a·b` of two signals: one row (`MatMul`, `Mul`).
fn product(cs: &mut Cs, a: &Sig, b: &Sig) -> Sig {
    let v = a.val * b.val;
    let c = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
    let p = Sig::var(
        cs,
        v,
        c.iter().copied().min().unwrap_or(0),
        c.iter().copied().max().unwrap_or(0),
    );
    cs.enforce(a.lc.clone(), b.lc.clone(), p.lc.clone());
    p
}
