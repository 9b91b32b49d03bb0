//! The engine: weights packed once per package, then one pass over the nodes per run.

use crate::gemm::Packed;
use crate::ops::{self, Window};
use crate::tensor::{Tensor, broadcast_shape, numel, resolve};
use crate::{Error, Result};
use vouch_model::{Node, Op, Operand, Package};
use vouch_primitives::{B256, list_commitment};
use vouch_semantics::Error as SemError;

/// Largest magnitude of an `act16` value: what the `i16` kernel lanes hold.
const ACT16_MAGNITUDE: i128 = 32_768;

/// Largest tensor the engine allocates (1 GiB of `i32`): a package declaring more is refused.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// Engine options.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Worker threads (results do not depend on it).
    pub threads: usize,
    /// Keep every node's output in [`Execution::trace`].
    pub trace: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            trace: false,
        }
    }
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Execution {
    /// Graph outputs, in package order.
    pub outputs: Vec<Tensor>,
    /// Every node's output in node order (empty unless [`Options::trace`]).
    pub trace: Vec<Tensor>,
}

impl Execution {
    /// `output_commitment` of `docs/semantics.md` section 6.
    pub fn output_commitment(&self) -> B256 {
        commit_list(&self.outputs)
    }

    /// `trace_root`: list commitment over every node output (requires a traced run).
    pub fn trace_root(&self) -> B256 {
        commit_list(&self.trace)
    }
}

/// List commitment over tensors.
pub fn commit_list(ts: &[Tensor]) -> B256 {
    list_commitment(&ts.iter().map(Tensor::commitment).collect::<Vec<_>>())
}

/// Per-node state prepared once.
#[derive(Debug, Clone)]
enum Prepared {
    None,
    /// Packed weights, and whether the accumulator needs `i64` (section 4 bound `>= 2^31`).
    Linear(Packed, bool),
    /// Packed weights per group, and whether the accumulator needs `i64`.
    Conv(Vec<Packed>, bool),
}

/// A package ready to run.
#[derive(Debug)]
pub struct Engine<'p> {
    pkg: &'p Package,
    prepared: Vec<Prepared>,
    consts: Vec<Tensor>,
    pool: Option<rayon::ThreadPool>,
    opts: Options,
    /// Batched shapes give the same bits as rows one by one ([`Package::row_separable`]).
    row_separable: bool,
}

fn shape_err(node: &Node, reason: impl Into<String>) -> Error {
    Error::Shape {
        node: node.name.clone(),
        op: node.op.name(),
        reason: reason.into(),
    }
}

impl<'p> Engine<'p> {
    /// Packs the weights of `pkg` (which must have passed [`Package::validate`], as every
    /// decoded package has).
    pub fn new(pkg: &'p Package, opts: Options) -> Result<Self> {
        let threads = opts.threads.max(1);
        let pool = if threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| Error::Threads {
                    threads,
                    reason: e.to_string(),
                })?;
            Some(pool)
        } else {
            None
        };
        let prepared = pkg
            .nodes
            .iter()
            .map(|n| prepare(pkg, n))
            .collect::<Result<Vec<_>>>()?;
        let consts = pkg
            .consts
            .iter()
            .map(|c| Tensor {
                shape: c.shape.iter().map(|&d| d as usize).collect(),
                data: c.data.clone(),
            })
            .collect();
        Ok(Self {
            pkg,
            prepared,
            consts,
            pool,
            opts: Options { threads, ..opts },
            row_separable: pkg.row_separable(),
        })
    }

    /// Runs the package on `inputs` (one tensor per package input, in package order). Several
    /// rows (a batch dimension above 1) mean the rows run one by one, end to end
    /// (`docs/semantics.md` section 1): a row-separable package runs them together, which is
    /// the same bits.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Execution> {
        match &self.pool {
            Some(pool) => pool.install(|| self.run_rows(inputs)),
            // One thread: run inline, no hand-off to a pool.
            None => self.run_rows(inputs),
        }
    }

    fn run_rows(&self, inputs: Vec<Tensor>) -> Result<Execution> {
        if inputs.len() != self.pkg.inputs.len() {
            return self.run_inner(inputs);
        }
        let rows = rows_of(self.pkg, &inputs)?;
        if rows <= 1 || self.row_separable {
            return self.run_inner(inputs);
        }
        let mut all: Option<Execution> = None;
        for r in 0..rows {
            let row: Vec<Tensor> = inputs.iter().map(|t| row_of(t, rows, r)).collect();
            let ex = self.run_inner(row)?;
            all = Some(match all {
                None => ex,
                Some(mut acc) => {
                    for (a, b) in acc.outputs.iter_mut().zip(ex.outputs) {
                        a.data.extend(b.data);
                    }
                    for (a, b) in acc.trace.iter_mut().zip(ex.trace) {
                        a.data.extend(b.data);
                    }
                    acc
                }
            });
        }
        let mut ex = all.unwrap_or_default();
        // shapes as the model declares them at `rows` (the data is the rows end to end)
        let shape_of = |v: u32| resolve(&self.pkg.values[v as usize].shape, rows);
        for (t, o) in ex.outputs.iter_mut().zip(&self.pkg.outputs) {
            t.shape = shape_of(o.value);
        }
        for (t, n) in ex.trace.iter_mut().zip(&self.pkg.nodes) {
            t.shape = shape_of(n.output);
        }
        Ok(ex)
    }

    fn run_inner(&self, inputs: Vec<Tensor>) -> Result<Execution> {
        let pkg = self.pkg;
        if inputs.len() != pkg.inputs.len() {
            return Err(Error::Input {
                name: pkg
                    .inputs
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                reason: format!("expected {} inputs, got {}", pkg.inputs.len(), inputs.len()),
            });
        }
        let batch = infer_batch(pkg, &inputs)?;
        let mut values: Vec<Option<Tensor>> = vec![None; pkg.values.len()];
        for (spec, t) in pkg.inputs.iter().zip(inputs) {
            let info = &pkg.values[spec.value as usize];
            let want = resolve(&info.shape, batch);
            if t.shape != want {
                return Err(Error::Input {
                    name: spec.name.clone(),
                    reason: format!("shape {:?}, the model expects {:?}", t.shape, want),
                });
            }
            if let Some((lo, hi)) = info.kind.act_range()
                && let Some(v) = t.data.iter().find(|v| !(lo..=hi).contains(*v))
            {
                return Err(Error::Input {
                    name: spec.name.clone(),
                    reason: format!("quantized value {v} outside [{lo}, {hi}]"),
                });
            }
            values[spec.value as usize] = Some(t);
        }
        let mut trace = Vec::new();
        for (node, prep) in pkg.nodes.iter().zip(&self.prepared) {
            let info = &pkg.values[node.output as usize];
            let out_shape = resolve(&info.shape, batch);
            if numel(&out_shape).is_none_or(|n| n > MAX_ELEMENTS) {
                return Err(shape_err(
                    node,
                    format!("output shape {out_shape:?} exceeds {MAX_ELEMENTS} elements"),
                ));
            }
            let out = self.run_node(node, prep, &values, &out_shape)?;
            if out.shape != out_shape {
                return Err(shape_err(
                    node,
                    format!(
                        "computed shape {:?}, package declares {:?}",
                        out.shape, out_shape
                    ),
                ));
            }
            if let Some((lo, hi)) = info.kind.act_range()
                && out.data.iter().any(|v| !(lo..=hi).contains(v))
            {
                return Err(shape_err(
                    node,
                    format!("output outside [{lo}, {hi}] (malformed package)"),
                ));
            }
            if self.opts.trace {
                trace.push(out.clone());
            }
            values[node.output as usize] = Some(out);
        }
        let outputs = pkg
            .outputs
            .iter()
            .map(|o| values[o.value as usize].clone().unwrap_or_default())
            .collect();
        Ok(Execution { outputs, trace })
    }

    fn run_node(
        &self,
        node: &Node,
        prep: &Prepared,
        values: &[Option<Tensor>],
        out_shape: &[usize],
    ) -> Result<Tensor> {
        let pkg = self.pkg;
        let fetch = |op: &Operand| -> Result<&Tensor> {
            match *op {
                Operand::Value(v) => values
                    .get(v as usize)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| shape_err(node, format!("value {v} not computed"))),
                Operand::Const(c) => self
                    .consts
                    .get(c as usize)
                    .ok_or_else(|| shape_err(node, format!("constant {c} missing"))),
            }
        };
        let ins = node.inputs.iter().map(fetch).collect::<Result<Vec<_>>>()?;
        let sem = |e: SemError| Error::Semantics {
            node: node.name.clone(),
            source: e,
        };
        let x = ins[0];
        let konst = |c: u32| pkg.consts[c as usize].data.as_slice();
        let out = match (&node.op, prep) {
            (Op::Linear { bias, rq, wide, .. }, Prepared::Linear(w, acc64)) => {
                if x.shape.last() != Some(&w.k) {
                    return Err(shape_err(
                        node,
                        format!("input {:?} does not end in {}", x.shape, w.k),
                    ));
                }
                let accum = ops::Accum {
                    wide: *wide,
                    acc64: *acc64,
                };
                ops::linear(x, w, bias.map(konst), rq, accum).map_err(sem)?
            }
            (
                Op::Conv {
                    bias,
                    kernel,
                    strides,
                    pads,
                    dilations,
                    rq,
                    wide,
                    ..
                },
                Prepared::Conv(ws, acc64),
            ) => {
                let win = window(*kernel, *strides, *pads, *dilations);
                check_window(node, &x.shape, out_shape, &win)?;
                let (_, c, _, _) =
                    ops::nchw(&x.shape).ok_or_else(|| shape_err(node, "input is not NCHW"))?;
                let (_, co, _, _) =
                    ops::nchw(out_shape).ok_or_else(|| shape_err(node, "output is not NCHW"))?;
                let g = ws.len();
                let kk = (c / g) * win.kernel[0] * win.kernel[1];
                if c % g != 0 || co % g != 0 || ws.iter().any(|w| w.k != kk || w.rows != co / g) {
                    return Err(shape_err(node, "channels do not match the weights"));
                }
                let acc = ops::Accum {
                    wide: *wide,
                    acc64: *acc64,
                };
                ops::conv(x, ws, bias.map(konst), &win, out_shape, rq, acc).map_err(sem)?
            }
            (Op::MatMul { rq, wide }, _) => {
                let y = ins[1];
                let ok = x.shape.len() >= 2
                    && y.shape.len() >= 2
                    && x.shape[x.shape.len() - 1] == y.shape[y.shape.len() - 2]
                    && broadcast_shape(
                        &x.shape[..x.shape.len() - 2],
                        &y.shape[..y.shape.len() - 2],
                    )
                    .is_some();
                let ok = ok && out_shape.len() >= 2 && {
                    let (xr, yr, or) = (x.shape.len(), y.shape.len(), out_shape.len());
                    let b = broadcast_shape(&x.shape[..xr - 2], &y.shape[..yr - 2]);
                    b.as_deref() == Some(&out_shape[..or - 2])
                        && out_shape[or - 2] == x.shape[xr - 2]
                        && out_shape[or - 1] == y.shape[yr - 1]
                };
                // A dynamic operand is bounded by its kind, a constant by its own data.
                let magnitude = |i: usize| match node.inputs[i] {
                    Operand::Value(v) => i128::from(pkg.values[v as usize].kind.magnitude()),
                    Operand::Const(_) => ins[i]
                        .data
                        .iter()
                        .map(|v| i128::from(v.unsigned_abs()))
                        .max()
                        .unwrap_or(0),
                };
                let (ma, mb) = (magnitude(0), magnitude(1));
                if ma.max(mb) > ACT16_MAGNITUDE {
                    return Err(shape_err(
                        node,
                        "MatMul operands must be act8/act16 tensors (values fit 16 bits)",
                    ));
                }
                let bound = (x.shape[x.shape.len() - 1] as i128)
                    .saturating_mul(ma)
                    .saturating_mul(mb);
                if ok && !vouch_semantics::accumulator_fits(bound, rq, *wide) {
                    return Err(shape_err(
                        node,
                        "inner dimension too large: the accumulator could overflow",
                    ));
                }
                if !ok {
                    return Err(shape_err(
                        node,
                        format!("cannot multiply {:?} by {:?}", x.shape, y.shape),
                    ));
                }
                let accum = ops::Accum {
                    wide: *wide,
                    acc64: bound >= 1 << 31,
                };
                ops::matmul(x, y, out_shape, rq, accum).map_err(sem)?
            }
            (Op::Add { ma, mb, rq }, _) => {
                let y = ins[1];
                check_broadcast(node, x, y, out_shape)?;
                ops::binary(x, y, out_shape, |a, b| {
                    let s = a
                        .checked_mul(*ma)
                        .zip(b.checked_mul(*mb))
                        .and_then(|(p, q)| p.checked_add(q))
                        .ok_or(SemError::Overflow { what: "add" })?;
                    rq.apply(s)
                })
                .map_err(sem)?
            }
            (Op::Mul { rq }, _) => {
                let y = ins[1];
                check_broadcast(node, x, y, out_shape)?;
                ops::binary(x, y, out_shape, |a, b| rq.apply(a * b)).map_err(sem)?
            }
            (Op::Rescale { rq }, _) => ops::unary(x, |v| rq.apply(i64::from(v))).map_err(sem)?,
            (Op::Relu, _) => ops::unary(x, |v| Ok(v.max(0))).map_err(sem)?,
            (Op::Clip { lo, hi }, _) => ops::unary(x, |v| Ok(v.clamp(*lo, *hi))).map_err(sem)?,
            (Op::LeakyRelu { rq }, _) => ops::unary(x, |v| {
                if v >= 0 {
                    Ok(v)
                } else {
                    rq.apply(i64::from(v))
                }
            })
            .map_err(sem)?,
            (Op::Lut { table }, _) => ops::lut(x, konst(*table)).map_err(sem)?,
            (Op::Softmax { axis, table, rq }, _) => {
                if *axis as usize >= x.shape.len() || x.shape[*axis as usize] == 0 {
                    return Err(shape_err(node, "axis out of range"));
                }
                ops::softmax(x, *axis as usize, konst(*table), rq).map_err(sem)?
            }
            (
                Op::ArgMax {
                    axis,
                    select_last_index,
                    ..
                },
                _,
            ) => {
                let a = *axis as usize;
                if a >= x.shape.len()
                    || x.shape[a] == 0
                    || numel(out_shape) != Some(x.data.len() / x.shape[a])
                {
                    return Err(shape_err(node, "axis out of range"));
                }
                ops::argmax(x, a, out_shape, *select_last_index)
            }
            (
                Op::MaxPool {
                    kernel,
                    strides,
                    pads,
                    dilations,
                },
                _,
            ) => {
                let win = window(*kernel, *strides, *pads, *dilations);
                check_window(node, &x.shape, out_shape, &win)?;
                ops::pool(x, &win, out_shape, None).map_err(sem)?
            }
            (
                Op::AveragePool {
                    kernel,
                    strides,
                    pads,
                    count_include_pad,
                },
                _,
            ) => {
                let win = window(*kernel, *strides, *pads, [1, 1]);
                check_window(node, &x.shape, out_shape, &win)?;
                ops::pool(x, &win, out_shape, Some(*count_include_pad)).map_err(sem)?
            }
            (Op::Reshape, _) => {
                if numel(out_shape) != Some(x.data.len()) {
                    return Err(shape_err(
                        node,
                        format!("cannot reshape {:?} to {out_shape:?}", x.shape),
                    ));
                }
                Tensor {
                    shape: out_shape.to_vec(),
                    data: x.data.clone(),
                }
            }
            (Op::Transpose { perm }, _) => {
                let perm: Vec<usize> = perm.iter().map(|&p| p as usize).collect();
                let mut seen = vec![false; x.shape.len()];
                if perm.len() != x.shape.len()
                    || perm
                        .iter()
                        .any(|&p| p >= seen.len() || std::mem::replace(&mut seen[p], true))
                {
                    return Err(shape_err(node, "bad permutation"));
                }
                ops::transpose(x, &perm)
            }
            (Op::Concat { axis }, _) => {
                let a = *axis as usize;
                let refs: Vec<&Tensor> = ins.clone();
                let ok = a < out_shape.len()
                    && refs.iter().all(|t| {
                        t.shape.len() == out_shape.len()
                            && t.shape
                                .iter()
                                .zip(out_shape)
                                .enumerate()
                                .all(|(i, (d, o))| i == a || d == o)
                    })
                    && refs.iter().map(|t| t.shape[a]).sum::<usize>() == out_shape[a];
                if !ok {
                    return Err(shape_err(
                        node,
                        "inputs do not concatenate to the declared shape",
                    ));
                }
                ops::concat(&refs, a, out_shape)
            }
            _ => return Err(shape_err(node, "weights were not prepared")),
        };
        Ok(out)
    }
}

fn window(kernel: [u32; 2], strides: [u32; 2], pads: [u32; 4], dil: [u32; 2]) -> Window {
    Window {
        kernel: kernel.map(|v| v as usize),
        strides: strides.map(|v| v as usize),
        pads: pads.map(|v| v as usize),
        dilations: dil.map(|v| v as usize),
    }
}

/// Every output position's window must start inside `input + pads`.
fn check_window(node: &Node, input: &[usize], out: &[usize], w: &Window) -> Result<()> {
    let (n, _, h, wd) = ops::nchw(input).ok_or_else(|| shape_err(node, "input is not NCHW/NCW"))?;
    let (on, _, oh, ow) =
        ops::nchw(out).ok_or_else(|| shape_err(node, "output is not NCHW/NCW"))?;
    let fits = |o: usize, ax: usize, size: usize| {
        o == 0 || (o - 1) * w.strides[ax] < size + w.pads[ax] + w.pads[ax + 2]
    };
    if n != on || !fits(oh, 0, h) || !fits(ow, 1, wd) {
        return Err(shape_err(
            node,
            format!("output {out:?} does not fit input {input:?}"),
        ));
    }
    Ok(())
}

fn check_broadcast(node: &Node, x: &Tensor, y: &Tensor, out: &[usize]) -> Result<()> {
    match broadcast_shape(&x.shape, &y.shape) {
        Some(s) if s == out => Ok(()),
        _ => Err(shape_err(
            node,
            format!(
                "cannot broadcast {:?} with {:?} to {out:?}",
                x.shape, y.shape
            ),
        )),
    }
}

fn prepare(pkg: &Package, node: &Node) -> Result<Prepared> {
    let konst = |c: u32| &pkg.consts[c as usize];
    let weight_err = |r: &str| shape_err(node, r.to_owned());
    match &node.op {
        Op::Linear {
            weight,
            bias,
            rq,
            wide,
        } => {
            let w = konst(*weight);
            let [n, k] = w.shape[..] else {
                return Err(weight_err("weight must be [N, K]"));
            };
            check_weights(node, &w.data)?;
            if bias.is_some_and(|b| konst(b).data.len() != n as usize) {
                return Err(weight_err("bias length differs from N"));
            }
            let b = bias.map(|b| konst(b).data.as_slice());
            let acc64 = check_overflow(pkg, node, &w.data, n as usize, b, rq, *wide)?;
            Ok(Prepared::Linear(
                Packed::from_rows(n as usize, k as usize, &w.data),
                acc64,
            ))
        }
        Op::Conv {
            weight,
            bias,
            kernel,
            group,
            rq,
            wide,
            ..
        } => {
            let w = konst(*weight);
            let [co, cg, kh, kw] = w.shape[..] else {
                return Err(weight_err("weight must be 4-D"));
            };
            check_weights(node, &w.data)?;
            if [kh, kw] != *kernel || co % group != 0 {
                return Err(weight_err("weight shape disagrees with kernel or group"));
            }
            if bias.is_some_and(|b| konst(b).data.len() != co as usize) {
                return Err(weight_err("bias length differs from C_out"));
            }
            let b = bias.map(|b| konst(b).data.as_slice());
            let acc64 = check_overflow(pkg, node, &w.data, co as usize, b, rq, *wide)?;
            let (og, k) = ((co / group) as usize, (cg * kh * kw) as usize);
            let packs = w
                .data
                .chunks_exact((og * k).max(1))
                .map(|g| Packed::from_rows(og, k, g))
                .collect();
            Ok(Prepared::Conv(packs, acc64))
        }
        _ => Ok(Prepared::None),
    }
}

fn check_weights(node: &Node, w: &[i32]) -> Result<()> {
    let max = vouch_semantics::WEIGHT_MAX;
    if w.iter().any(|v| !(-max..=max).contains(v)) {
        return Err(shape_err(node, format!("weights outside [-{max}, {max}]")));
    }
    Ok(())
}

/// The overflow proof of `docs/semantics.md` section 4, re-checked on every package loaded:
/// `|B[n]| + R · Σ_k |W[n, k]|` (`R` the input kind's largest magnitude) must fit the
/// accumulator's domain. Returns whether the accumulator needs `i64` (the bound reaches
/// `2^31`); below that the `i32` kernels are exact.
fn check_overflow(
    pkg: &Package,
    node: &Node,
    w: &[i32],
    rows: usize,
    bias: Option<&[i32]>,
    rq: &vouch_semantics::Requant,
    wide: bool,
) -> Result<bool> {
    let r = match node.inputs.first() {
        Some(Operand::Value(v)) => pkg
            .values
            .get(*v as usize)
            .map_or(1 << 31, |v| v.kind.magnitude()),
        _ => 1 << 31,
    };
    if i128::from(r) > ACT16_MAGNITUDE {
        // The kernels pack inputs into i16 lanes.
        return Err(shape_err(
            node,
            "the input must be an act8/act16 tensor (a wide tensor cannot feed a product)",
        ));
    }
    let per = w.len().checked_div(rows).unwrap_or(0);
    let bound = vouch_semantics::accumulator_bound(w, per, bias, r);
    if !vouch_semantics::accumulator_fits(bound, rq, wide) {
        return Err(shape_err(
            node,
            format!(
                "the accumulator bound {bound} does not fit {}",
                if wide {
                    "i32"
                } else {
                    "the requantization's i64 domain"
                }
            ),
        ));
    }
    Ok(bound >= 1 << 31)
}

/// The number of rows `inputs` hold for `pkg` (`docs/semantics.md` section 8.5): the size of
/// their batch dimension, 1 without one. More than one row needs a package that
/// [`Package::takes_rows`].
pub fn rows_of(pkg: &Package, inputs: &[Tensor]) -> Result<usize> {
    let rows = infer_batch(pkg, inputs)?;
    if rows > 1 && !pkg.takes_rows() {
        return Err(Error::Input {
            name: pkg
                .inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
            reason: format!(
                "{rows} rows given, but the model's inputs do not all have the batch dimension \
                 first: it runs one row at a time"
            ),
        });
    }
    Ok(rows)
}

/// Row `r` of `rows` of a tensor whose batch dimension is axis 0.
fn row_of(t: &Tensor, rows: usize, r: usize) -> Tensor {
    let per = t.data.len() / rows.max(1);
    let mut shape = t.shape.clone();
    if let Some(d) = shape.first_mut() {
        *d = 1;
    }
    Tensor {
        shape,
        data: t
            .data
            .get(r * per..(r + 1) * per)
            .unwrap_or_default()
            .to_vec(),
    }
}

fn infer_batch(pkg: &Package, inputs: &[Tensor]) -> Result<usize> {
    let mut batch = None;
    for (spec, t) in pkg.inputs.iter().zip(inputs) {
        let info = &pkg.values[spec.value as usize];
        if info.shape.len() != t.shape.len() {
            return Err(Error::Input {
                name: spec.name.clone(),
                reason: format!(
                    "rank {} (shape {:?}), the model expects rank {}",
                    t.shape.len(),
                    t.shape,
                    info.shape.len()
                ),
            });
        }
        for (d, &n) in info.shape.iter().zip(&t.shape) {
            if *d == vouch_model::Dim::Batch {
                match batch {
                    None => batch = Some(n),
                    Some(b) if b == n => {}
                    Some(b) => {
                        return Err(Error::Input {
                            name: spec.name.clone(),
                            reason: format!("batch {n} differs from {b}"),
                        });
                    }
                }
            }
        }
    }
    Ok(batch.unwrap_or(1))
}
