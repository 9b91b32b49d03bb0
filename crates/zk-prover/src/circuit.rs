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

use crate::cs::{Cs, Lc, Var, fe};
use crate::gadgets::{self, Sig};
use crate::{Error, Result};
use ark_ff::{Field, Zero};
use vouch_engine::ops::nchw;
use vouch_engine::tensor::{broadcast_index, broadcast_shape, numel, resolve};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Kind, Op, Operand, Package};
use vouch_semantics::Requant;
use vouch_zk::statement::{OUT_PER_LIMB, input_layout, input_sponge, num_public};
use vouch_zk::{Fr, poseidon};

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

/// Builds the circuit from a traced execution.
pub fn build_from_trace(
    pkg: &Package,
    inputs: &[Tensor],
    trace: &[Tensor],
    outputs: &[Tensor],
) -> Result<Circuit> {
    if !vouch_semantics::supports_version(pkg.semantics_version) {
        return Err(Error::Unsupported(format!(
            "semantics version {}",
            pkg.semantics_version
        )));
    }
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
        let konst = |c: u32| -> Result<&[i32]> {
            pkg.consts
                .get(c as usize)
                .map(|c| c.data.as_slice())
                .ok_or_else(|| div(&node.name, "missing constant"))
        };
        let sigs: Vec<Sig> = match &node.op {
            Op::Linear {
                weight,
                bias,
                rq,
                wide,
            } => {
                let w = &pkg.consts[*weight as usize];
                let (n, k) = (w.shape[0] as usize, w.shape[1] as usize);
                let b = bias.map(konst).transpose()?;
                let rows = x.sigs.len().checked_div(k).unwrap_or(0);
                let mut out = Vec::with_capacity(rows * n);
                for r in 0..rows {
                    let xr = &x.sigs[r * k..(r + 1) * k];
                    for o in 0..n {
                        let terms = (0..k).map(|i| (&xr[i], w.data[o * k + i]));
                        let acc = dot(terms, b.map_or(0, |b| b[o]));
                        out.push(finish(&mut cs, acc, rq, *wide));
                    }
                }
                out
            }
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
            } => {
                let w = &pkg.consts[*weight as usize];
                let b = bias.map(konst).transpose()?;
                let (bn, c, h, wd) =
                    nchw(&x.shape).ok_or_else(|| div(&node.name, "input not NCHW"))?;
                let (_, co, oh, ow) =
                    nchw(&out_shape).ok_or_else(|| div(&node.name, "output not NCHW"))?;
                let g = (*group).max(1) as usize;
                let (cg, og) = (c / g, co / g);
                let [kh, kw] = kernel.map(|v| v as usize);
                let pos = |ax: usize, o: usize, t: usize, size: usize| -> Option<usize> {
                    let p = (o * strides[ax] as usize + t * dilations[ax] as usize)
                        .checked_sub(pads[ax] as usize)?;
                    (p < size).then_some(p)
                };
                let mut out = Vec::with_capacity(bn * co * oh * ow);
                for bi in 0..bn {
                    for o in 0..co {
                        let gi = o / og.max(1);
                        for y in 0..oh {
                            for xo in 0..ow {
                                let mut terms = Vec::with_capacity(cg * kh * kw);
                                for ci in 0..cg {
                                    let plane = (bi * c + gi * cg + ci) * h * wd;
                                    for ty in 0..kh {
                                        for tx in 0..kw {
                                            if let (Some(iy), Some(ix)) =
                                                (pos(0, y, ty, h), pos(1, xo, tx, wd))
                                            {
                                                let wv =
                                                    w.data[((o * cg + ci) * kh + ty) * kw + tx];
                                                terms.push((&x.sigs[plane + iy * wd + ix], wv));
                                            }
                                        }
                                    }
                                }
                                let acc = dot(terms.into_iter(), b.map_or(0, |b| b[o]));
                                out.push(finish(&mut cs, acc, rq, *wide));
                            }
                        }
                    }
                }
                out
            }
            Op::MatMul { rq, wide } => {
                let y = ins
                    .get(1)
                    .ok_or_else(|| div(&node.name, "MatMul needs 2 inputs"))?;
                let (xr, yr) = (x.shape.len(), y.shape.len());
                let (m, k, n) = (x.shape[xr - 2], x.shape[xr - 1], y.shape[yr - 1]);
                let bshape = &out_shape[..out_shape.len() - 2];
                let xb = broadcast_index(&x.shape[..xr - 2], bshape);
                let yb = broadcast_index(&y.shape[..yr - 2], bshape);
                let mut out = Vec::new();
                for (&bx, &by) in xb.iter().zip(&yb) {
                    for i in 0..m {
                        for j in 0..n {
                            let mut acc = Sig::constant(0);
                            for t in 0..k {
                                let a = &x.sigs[bx * m * k + i * k + t];
                                let bb = &y.sigs[by * k * n + t * n + j];
                                let p = mul(&mut cs, a, bb);
                                acc = acc.plus(&p, 1);
                            }
                            out.push(finish(&mut cs, acc, rq, *wide));
                        }
                    }
                }
                out
            }
            Op::Add { ma, mb, rq } => {
                let y = ins
                    .get(1)
                    .ok_or_else(|| div(&node.name, "Add needs 2 inputs"))?;
                zip_broadcast(x, y, &out_shape)
                    .into_iter()
                    .map(|(a, b)| {
                        let t = a.affine(i128::from(*ma), 0).plus(b, i128::from(*mb));
                        gadgets::requant(&mut cs, &t, rq)
                    })
                    .collect()
            }
            Op::Mul { rq } => {
                let y = ins
                    .get(1)
                    .ok_or_else(|| div(&node.name, "Mul needs 2 inputs"))?;
                zip_broadcast(x, y, &out_shape)
                    .into_iter()
                    .map(|(a, b)| {
                        let p = mul(&mut cs, a, b);
                        gadgets::requant(&mut cs, &p, rq)
                    })
                    .collect()
            }
            Op::Rescale { rq } => x
                .sigs
                .iter()
                .map(|s| gadgets::requant(&mut cs, s, rq))
                .collect(),
            Op::Relu => x.sigs.iter().map(|s| gadgets::max0(&mut cs, s)).collect(),
            Op::Clip { lo, hi } => x
                .sigs
                .iter()
                .map(|s| {
                    gadgets::clamp(&mut cs, s, i128::from(*lo), i128::from(*hi))
                        .unwrap_or_else(|| s.clone())
                })
                .collect(),
            Op::LeakyRelu { rq } => x.sigs.iter().map(|s| leaky(&mut cs, s, rq)).collect(),
            Op::Lut { table } => {
                let t: Vec<i128> = konst(*table)?.iter().map(|&v| i128::from(v)).collect();
                x.sigs
                    .iter()
                    .map(|s| gadgets::lookup(&mut cs, &s.affine(1, 128), &t).materialize(&mut cs))
                    .collect()
            }
            Op::Softmax { axis, table, rq } => {
                let t: Vec<i128> = konst(*table)?.iter().map(|&v| i128::from(v)).collect();
                let mut out = vec![Sig::constant(0); x.sigs.len()];
                for idxs in slices(&x.shape, *axis as usize) {
                    let xs: Vec<Sig> = idxs.iter().map(|&i| x.sigs[i].clone()).collect();
                    for (i, z) in idxs.iter().zip(softmax(&mut cs, &xs, &t, rq)) {
                        out[*i] = z;
                    }
                }
                out
            }
            Op::ArgMax {
                axis,
                select_last_index,
                ..
            } => slices(&x.shape, *axis as usize)
                .into_iter()
                .map(|idxs| {
                    let xs: Vec<Sig> = idxs.iter().map(|&i| x.sigs[i].clone()).collect();
                    let mut best = 0;
                    for j in 1..xs.len() {
                        if xs[j].val > xs[best].val
                            || (*select_last_index && xs[j].val == xs[best].val)
                        {
                            best = j;
                        }
                    }
                    gadgets::argmax(&mut cs, &xs, best, !*select_last_index, true).0
                })
                .collect(),
            Op::MaxPool {
                kernel,
                strides,
                pads,
                dilations,
            } => pool(
                &mut cs, x, &out_shape, *kernel, *strides, *pads, *dilations, None,
            )
            .ok_or_else(|| div(&node.name, "bad pool geometry"))?,
            Op::AveragePool {
                kernel,
                strides,
                pads,
                count_include_pad,
            } => pool(
                &mut cs,
                x,
                &out_shape,
                *kernel,
                *strides,
                *pads,
                [1, 1],
                Some(*count_include_pad),
            )
            .ok_or_else(|| div(&node.name, "bad pool geometry"))?,
            Op::Reshape => x.sigs.clone(),
            Op::Transpose { perm } => {
                let perm: Vec<usize> = perm.iter().map(|&p| p as usize).collect();
                let idx = index_tensor(&x.shape, 0);
                vouch_engine::ops::transpose(&idx, &perm)
                    .data
                    .iter()
                    .map(|&i| x.sigs[i as usize].clone())
                    .collect()
            }
            Op::Concat { axis } => {
                let mut off = 0usize;
                let mut all = Vec::new();
                let idx: Vec<Tensor> = ins
                    .iter()
                    .map(|t| {
                        let it = index_tensor(&t.shape, off);
                        off += t.sigs.len();
                        all.extend(t.sigs.iter().cloned());
                        it
                    })
                    .collect();
                let refs: Vec<&Tensor> = idx.iter().collect();
                vouch_engine::ops::concat(&refs, *axis as usize, &out_shape)
                    .data
                    .iter()
                    .map(|&i| all[i as usize].clone())
                    .collect()
            }
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

fn dot<'a>(terms: impl Iterator<Item = (&'a Sig, i32)>, bias: i32) -> Sig {
    let mut acc = Sig::constant(i128::from(bias));
    for (s, w) in terms {
        if w != 0 {
            acc = acc_plus(acc, s, i128::from(w));
        }
    }
    acc
}

#[inline]
fn acc_plus(mut acc: Sig, s: &Sig, k: i128) -> Sig {
    let (a, b) = (s.lo * k, s.hi * k);
    acc.lc.add_scaled(&s.lc, fe(k));
    acc.val += k * s.val;
    acc.lo += a.min(b);
    acc.hi += a.max(b);
    acc
}

fn finish(cs: &mut Cs, acc: Sig, rq: &Requant, wide: bool) -> Sig {
    if wide {
        acc.materialize(cs)
    } else {
        gadgets::requant(cs, &acc, rq)
    }
}

fn mul(cs: &mut Cs, a: &Sig, b: &Sig) -> Sig {
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

fn leaky(cs: &mut Cs, x: &Sig, rq: &Requant) -> Sig {
    if x.lo >= 0 {
        return x.clone();
    }
    let n = gadgets::requant(cs, x, rq);
    if x.hi < 0 {
        return n;
    }
    let pos = x.val >= 0;
    let b = cs.alloc_bool(pos);
    let pv = if pos { x.val } else { 0 };
    let p = cs.alloc_int(pv);
    cs.enforce(Lc::var(b), x.lc.clone(), Lc::var(p));
    // b = 1: x >= 0; b = 0: -x - 1 >= 0. Both are 2p - x - 1 + b.
    let v = Lc::var(p)
        .scaled(2)
        .plus(&x.lc, -1)
        .plus_const(-1)
        .plus(&Lc::var(b), 1);
    cs.range(
        v,
        2 * pv - x.val - 1 + i128::from(pos),
        crate::cs::bitlen(x.hi.max(-x.lo - 1)),
    );
    let qv = if pos { 0 } else { n.val - x.val };
    let q = cs.alloc_int(qv);
    cs.enforce(
        Lc::constant(1).plus(&Lc::var(b), -1),
        n.lc.clone().plus(&x.lc, -1),
        Lc::var(q),
    );
    Sig {
        lc: x.lc.clone().plus(&Lc::var(q), 1),
        val: x.val + qv,
        lo: x.lo.min(n.lo),
        hi: x.hi.max(n.hi),
    }
}

fn softmax(cs: &mut Cs, xs: &[Sig], table: &[i128], rq: &Requant) -> Vec<Sig> {
    let mut best = 0;
    for j in 1..xs.len() {
        if xs[j].val > xs[best].val {
            best = j;
        }
    }
    let (_, m) = gadgets::argmax(cs, xs, best, true, false);
    let m = m.materialize(cs);
    let es: Vec<Sig> = xs
        .iter()
        .map(|x| {
            // m >= x is proven by the argmax gaps; k = requant(m - x, M, s, 0, 255).
            let mut d = m.plus(x, -1);
            d.lo = d.lo.max(0);
            let k = gadgets::requant(cs, &d, rq);
            gadgets::lookup(cs, &k, table).materialize(cs)
        })
        .collect();
    let mut s = Sig::constant(0);
    for e in &es {
        s = s.plus(e, 1);
    }
    let s = s.materialize(cs);
    let smax = s.hi.max(1);
    let kr = crate::cs::bitlen(2 * smax - 1);
    es.iter()
        .map(|e| {
            // z = floor((254 e + S) / 2S): z·2S = num - rem, rem ∈ [0, 2S), z ∈ [0, 127].
            let num = e.affine(254, 0).plus(&s, 1);
            let zv = if s.val > 0 {
                num.val.div_euclid(2 * s.val)
            } else {
                0
            };
            let rv = num.val - zv * 2 * s.val;
            let z = cs.bits(zv, 7);
            let rem = cs.bits(rv, kr);
            cs.range(
                s.lc.scaled(2).plus_const(-1).plus(&rem, -1),
                2 * s.val - 1 - rv,
                kr,
            );
            cs.enforce(z.clone(), s.lc.scaled(2), num.lc.clone().plus(&rem, -1));
            Sig {
                lc: z,
                val: zv,
                lo: 0,
                hi: 127,
            }
            .materialize(cs)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn pool(
    cs: &mut Cs,
    x: &STensor,
    out_shape: &[usize],
    kernel: [u32; 2],
    strides: [u32; 2],
    pads: [u32; 4],
    dil: [u32; 2],
    avg: Option<bool>,
) -> Option<Vec<Sig>> {
    let (n, c, h, w) = nchw(&x.shape)?;
    let (_, _, oh, ow) = nchw(out_shape)?;
    let [kh, kw] = kernel.map(|v| v as usize);
    let pos = |ax: usize, o: usize, t: usize, size: usize| -> Option<usize> {
        let p = (o * strides[ax] as usize + t * dil[ax] as usize).checked_sub(pads[ax] as usize)?;
        (p < size).then_some(p)
    };
    let mut out = Vec::with_capacity(n * c * oh * ow);
    for plane in 0..n * c {
        for y in 0..oh {
            for xo in 0..ow {
                let mut win = Vec::new();
                for ty in 0..kh {
                    for tx in 0..kw {
                        if let (Some(iy), Some(ix)) = (pos(0, y, ty, h), pos(1, xo, tx, w)) {
                            win.push(&x.sigs[plane * h * w + iy * w + ix]);
                        }
                    }
                }
                let first = (*win.first()?).clone();
                out.push(match avg {
                    None => win[1..].iter().fold(first, |m, s| gadgets::max(cs, s, &m)),
                    Some(include_pad) => {
                        let d = if include_pad {
                            (kh * kw) as i128
                        } else {
                            win.len() as i128
                        };
                        let mut sum = Sig::constant(0);
                        for s in &win {
                            sum = sum.plus(s, 1);
                        }
                        // div_round(a, n) = floor((2a + n) / 2n)
                        gadgets::div_floor_const(cs, &sum.affine(2, d), 2 * d)
                    }
                });
            }
        }
    }
    Some(out)
}

/// Element indices of each slice along `axis`.
fn slices(shape: &[usize], axis: usize) -> Vec<Vec<usize>> {
    let outer: usize = shape[..axis.min(shape.len())].iter().product();
    let len = shape.get(axis).copied().unwrap_or(1);
    let inner: usize = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            out.push((0..len).map(|j| (o * len + j) * inner + i).collect());
        }
    }
    out
}

fn zip_broadcast<'a>(x: &'a STensor, y: &'a STensor, out: &[usize]) -> Vec<(&'a Sig, &'a Sig)> {
    let shape = broadcast_shape(&x.shape, &y.shape).unwrap_or_else(|| out.to_vec());
    let xi = broadcast_index(&x.shape, &shape);
    let yi = broadcast_index(&y.shape, &shape);
    xi.iter()
        .zip(&yi)
        .map(|(&a, &b)| (&x.sigs[a], &y.sigs[b]))
        .collect()
}

fn index_tensor(shape: &[usize], off: usize) -> Tensor {
    let n = numel(shape).unwrap_or(0);
    Tensor {
        shape: shape.to_vec(),
        data: (0..n).map(|i| (off + i) as i32).collect(),
    }
}

/// Partial Poseidon rounds between two materializations of the linear lanes.
const MATERIALIZE_EVERY: usize = 8;

/// In-circuit Poseidon sponge matching [`vouch_zk::poseidon::sponge`] of width `w`; returns
/// (lc, value).
pub fn poseidon_gadget(cs: &mut Cs, w: poseidon::Width, msg: &[(Lc, Fr)], tag: u64) -> (Lc, Fr) {
    let p = poseidon::params(w);
    let mut st: Vec<(Lc, Fr)> = vec![(Lc::default(), Fr::zero()); w.width()];
    st[w.rate()] = (Lc(vec![(0, Fr::from(tag))]), Fr::from(tag));
    let absorb = |st: &mut [(Lc, Fr)], chunk: &[(Lc, Fr)], cs: &mut Cs| {
        for (s, m) in st.iter_mut().zip(chunk) {
            s.0.add_scaled(&m.0, Fr::from(1u8));
            s.1 += m.1;
        }
        permute_gadget(cs, st, p);
    };
    if msg.is_empty() {
        absorb(&mut st, &[], cs);
    }
    for chunk in msg.chunks(w.rate()) {
        absorb(&mut st, chunk, cs);
    }
    st.swap_remove(0)
}

fn sbox_gadget(cs: &mut Cs, x: &(Lc, Fr)) -> (Lc, Fr) {
    let x2v = x.1.square();
    let x2 = cs.alloc(x2v);
    cs.enforce(x.0.clone(), x.0.clone(), Lc::var(x2));
    let x4v = x2v.square();
    let x4 = cs.alloc(x4v);
    cs.enforce(Lc::var(x2), Lc::var(x2), Lc::var(x4));
    let x5v = x4v * x.1;
    let x5 = cs.alloc(x5v);
    cs.enforce(Lc::var(x4), x.0.clone(), Lc::var(x5));
    (Lc::var(x5), x5v)
}

fn permute_gadget(cs: &mut Cs, st: &mut [(Lc, Fr)], p: &poseidon::Params) {
    let mut unmaterialized = 0;
    for (r, rc) in p.rc.iter().enumerate() {
        for (s, c) in st.iter_mut().zip(rc) {
            s.0.0.push((0, *c));
            s.1 += c;
        }
        let full = p.width.is_full(r);
        if full {
            for s in st.iter_mut() {
                *s = sbox_gadget(cs, s);
            }
        } else {
            st[0] = sbox_gadget(cs, &st[0]);
        }
        // The MDS mix is linear: the new state stays a linear combination and costs no row.
        let old = st.to_vec();
        for (s, row) in st.iter_mut().zip(&p.mds) {
            let mut lc = Lc::default();
            let mut v = Fr::zero();
            for (o, m) in old.iter().zip(row) {
                lc.add_scaled(&o.0, *m);
                v += *m * o.1;
            }
            *s = (lc.compact(), v);
        }
        // In the partial rounds the other lanes grow by one term a round; materializing them
        // every few rounds keeps rows short (long rows of full-width coefficients slow the
        // setup) for one row per lane each time.
        if !full {
            unmaterialized += 1;
            if unmaterialized == MATERIALIZE_EVERY {
                unmaterialized = 0;
                for s in st.iter_mut().skip(1) {
                    let var = cs.alloc(s.1);
                    cs.enforce_zero(s.0.clone().plus(&Lc::var(var), -1));
                    *s = (Lc::var(var), s.1);
                }
            }
        }
    }
}
