//! The engine: weights packed once per package, then one pass over the nodes per run.

use crate::gemm::Packed;
use crate::ops::conv16::Conv16;
use crate::ops::{
    NodeRun, activation, conv, dense, elementwise, layout, pool, reduce, tree, window,
};
use crate::tensor::{Tensor, numel, resolve};
use crate::{Error, Result};
use std::sync::Arc;
use vouch_model::{Node, Op, Operand, Package};
use vouch_primitives::{B256, list_commitment};

mod batch;
mod buffers;
mod concat;
mod gate_mul;
mod lstm_step;
mod rows;
mod silu;
pub(crate) use buffers::Buffers;
use concat::concat_read_at;
use gate_mul::{GateMul, gate_mul_at};
use lstm_step::Steps;
pub use rows::rows_of;
use rows::{infer_batch, input_names};
use silu::{ConvSilu, Readers, conv_silu_at, silu_at};

/// Largest tensor the engine allocates (1 GiB of `i32`): a package declaring more is refused
/// ([`vouch_semantics::MAX_ELEMENTS`], which the importer also relies on).
pub const MAX_ELEMENTS: usize = vouch_semantics::MAX_ELEMENTS;

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
    /// Packed weights (one matrix for every `Linear` whose weight constant holds the same
    /// shape and values: [`share_weights`]), whether the accumulator needs `i64` (section 4
    /// bound `>= 2^31`), and the channels' bias values (a wide bias already joined into
    /// `i64`s) and multipliers.
    Linear(Arc<Packed>, bool, dense::Channels),
    /// Packed weights per group, whether the accumulator needs `i64`, the channels, and the
    /// weights laid out for the 16-bit fast path (`i64` accumulators on AVX-512 VNNI).
    Conv(Vec<Packed>, bool, dense::Channels, Option<Box<Conv16>>),
    /// A tree ensemble compiled for the lockstep walk.
    Trees(Box<tree::Compiled>),
    /// A `Lut`'s table as `i16`s ([`activation::table16`]; fast paths on).
    Table(Vec<i16>),
}

/// A package ready to run.
#[derive(Debug)]
pub struct Engine<'p> {
    pkg: &'p Package,
    prepared: Vec<Prepared>,
    /// The constants that nodes read as operands (`None` for the rest: `Conv` and `Linear`
    /// read their packed weights, `Lut` and `PRelu` the package's constants).
    consts: Vec<Option<Tensor>>,
    /// Per node, how many nodes before it a SiLU `Mul` absorbs ([`silu_at`]: its `Lut`, and
    /// the `Rescale` into the table's window before that), 0 for every other node: they run
    /// as one pass (fast paths on, untraced runs only).
    silu: Vec<usize>,
    /// Per node, whether a later `Mul` absorbs it, or a `Conv` before it ([`Self::conv_silu`]):
    /// it is not run on its own.
    absorbed: Vec<bool>,
    /// Per node, the SiLU a 16-bit `Conv` applies in its epilogue ([`conv_silu_at`]: its
    /// `Rescale`, `Lut` and `Mul`, later nodes, are not run), `None` for every other node
    /// (fast paths on, untraced runs only).
    conv_silu: Vec<Option<ConvSilu>>,
    /// Per node, the `Concat` whose inputs a 16-bit `Conv` reads in place
    /// ([`concat_read_at`]: the `Concat` is not run), `None` for every other node (fast paths
    /// on, untraced runs only).
    concat_in: Vec<Option<usize>>,
    /// Per node, the gate tables a `Mul` reads with itself ([`gate_mul_at`]: their `Rescale`s
    /// and `Lut`s are not run), `None` for every other node (fast paths on, untraced runs
    /// only).
    gate_mul: Vec<Option<GateMul>>,
    /// The recurrent steps whose gate pre-activations (`Select`, `Linear`, `Add` per gate) run
    /// as one pass ([`Steps`]; fast paths on, untraced runs only).
    steps: Steps,
    /// Per value, the last node that reads it (`usize::MAX` for graph outputs, and values no
    /// node reads): a run drops each value after that node.
    last_use: Vec<usize>,
    pool: Option<rayon::ThreadPool>,
    opts: Options,
    /// Batched shapes give the same bits as rows one by one ([`Package::row_separable`]).
    row_separable: bool,
    /// About how many multiply-adds, comparisons or element writes one row costs
    /// ([`work_per_row`]): a run below [`INLINE_WORK`] skips the pool.
    work_per_row: u64,
    /// Print per-op times of every run ([`crate::profile`]).
    profile: bool,
    /// Take the fast paths (off under [`crate::profile::REFERENCE_ENV`]).
    fast: bool,
    /// The buffers of values no longer read, for later nodes' outputs ([`Buffers`]).
    buffers: Buffers,
}

/// Runs that cost less than this (in [`work_per_row`] units) run inline even when the engine
/// has a pool: handing a run to the pool and waking its threads costs more than such a run
/// (a 100-tree ensemble at batch 1 ran about 10x slower on 2 threads than on 1). The bits do
/// not depend on it. Matches the size below which a product stays on one thread.
pub const INLINE_WORK: u64 = 1 << 17;

/// A shape error of `node`.
pub(crate) fn shape_err(node: &Node, reason: impl Into<String>) -> Error {
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
        let fast = !crate::profile::reference_only();
        let mut prepared = pkg
            .nodes
            .iter()
            .map(|n| prepare(pkg, n, fast))
            .collect::<Result<Vec<_>>>()?;
        if fast {
            share_weights(pkg, &mut prepared);
        }
        let mut read = vec![false; pkg.consts.len()];
        for op in pkg.nodes.iter().flat_map(|n| &n.inputs) {
            if let Operand::Const(c) = *op
                && let Some(r) = read.get_mut(c as usize)
            {
                *r = true;
            }
        }
        let consts = pkg
            .consts
            .iter()
            .zip(read)
            .map(|(c, read)| {
                read.then(|| Tensor {
                    shape: c.shape.iter().map(|&d| d as usize).collect(),
                    data: c.data.clone(),
                })
            })
            .collect();
        let mut last_use = last_uses(pkg);
        let silu: Vec<usize> = (0..pkg.nodes.len())
            .map(|j| {
                if fast && !opts.trace {
                    silu_at(pkg, &last_use, j)
                } else {
                    0
                }
            })
            .collect();
        let mut absorbed = vec![false; pkg.nodes.len()];
        for (j, &k) in silu.iter().enumerate() {
            for a in absorbed.iter_mut().take(j).skip(j - k) {
                *a = true;
            }
        }
        let readers = Readers::of(pkg);
        let conv_silu: Vec<Option<ConvSilu>> = (0..pkg.nodes.len())
            .map(|c| (fast && !opts.trace).then(|| conv_silu_at(pkg, &prepared, &readers, c))?)
            .collect();
        for cs in conv_silu.iter().flatten() {
            for &n in &cs.nodes {
                if let Some(a) = absorbed.get_mut(n) {
                    *a = true;
                }
            }
        }
        let concat_in: Vec<Option<usize>> = (0..pkg.nodes.len())
            .map(|c| (fast && !opts.trace).then(|| concat_read_at(pkg, &prepared, &readers, c))?)
            .collect();
        for (c, k) in concat_in
            .iter()
            .enumerate()
            .filter_map(|(c, k)| Some((c, (*k)?)))
        {
            let (Some(concat), Some(a)) = (pkg.nodes.get(k), absorbed.get_mut(k)) else {
                continue;
            };
            *a = true;
            // the `Concat`'s inputs live until the `Conv` has read them
            for op in &concat.inputs {
                if let Operand::Value(u) = *op
                    && let Some(l) = last_use.get_mut(u as usize)
                    && *l != usize::MAX
                {
                    *l = (*l).max(c);
                }
            }
        }
        let mut gate_mul = vec![None; pkg.nodes.len()];
        for (j, g) in gate_mul.iter_mut().enumerate() {
            let other = silu[j] > 0 || conv_silu[j].is_some() || concat_in[j].is_some();
            if !fast || opts.trace || other || absorbed[j] {
                continue;
            }
            *g = gate_mul_at(pkg, &readers, &last_use, &absorbed, j);
            for a in g.iter().flat_map(GateMul::absorbed) {
                absorbed[a] = true;
            }
            // a value looked up lives until the `Mul` has read it
            for x in g.iter().flat_map(GateMul::looked_up) {
                if let Some(l) = last_use.get_mut(x as usize)
                    && *l != usize::MAX
                {
                    *l = (*l).max(j);
                }
            }
        }
        let steps = if fast && !opts.trace {
            let taken: Vec<bool> = (0..pkg.nodes.len())
                .map(|j| {
                    absorbed[j]
                        || silu[j] > 0
                        || conv_silu[j].is_some()
                        || concat_in[j].is_some()
                        || gate_mul[j].is_some()
                })
                .collect();
            Steps::of(pkg, &prepared, &readers, &last_use, &taken)
        } else {
            Steps::default()
        };
        let work_per_row = work_per_row(pkg, &prepared);
        Ok(Self {
            pkg,
            prepared,
            consts,
            silu,
            absorbed,
            conv_silu,
            concat_in,
            gate_mul,
            steps,
            last_use,
            pool,
            opts: Options { threads, ..opts },
            row_separable: pkg.row_separable(),
            work_per_row,
            profile: crate::profile::wanted(),
            fast,
            buffers: Buffers::default(),
        })
    }

    /// Runs the package on `inputs` (one tensor per package input, in package order). Several
    /// rows (a batch dimension above 1) mean the rows run one by one, end to end
    /// (`docs/semantics.md` section 1): a row-separable package runs them together, which is
    /// the same bits.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Execution> {
        match &self.pool {
            Some(pool) if !self.is_small(&inputs) || self.rows_apart(&inputs) => {
                pool.install(|| self.run_rows(inputs))
            }
            // One thread, or a run too small to pay for the hand-off: inline.
            _ => self.run_rows(inputs),
        }
    }

    fn run_inner(&self, inputs: Vec<Tensor>) -> Result<Execution> {
        let pkg = self.pkg;
        if inputs.len() != pkg.inputs.len() {
            return Err(Error::Input {
                name: input_names(pkg),
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
                && !crate::ops::elementwise::all_within(&t.data, lo, hi)
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
        let mut profile = self.profile.then(crate::profile::Profile::default);
        let mut steps_done = vec![false; self.steps.len()];
        for (i, node) in pkg.nodes.iter().enumerate() {
            if self.absorbed.get(i) == Some(&true) {
                // a `Lut` (or the `Rescale` before it) a later `Mul` computes with itself
                continue;
            }
            let clock = profile.is_some().then(crate::profile::Clock::start);
            if self.step_gates_at(i, &mut steps_done, &mut values, batch) {
                // a recurrent step's gate sums, run as one pass at its first node
                if let (Some(p), Some(c)) = (profile.as_mut(), clock) {
                    p.record("StepGates", &node.name, String::new(), None, c);
                }
                continue;
            }
            if let Some(Some(cs)) = self.conv_silu.get(i) {
                // the `Conv` with its SiLU: the SiLU's `Mul` output, as one pass
                let (out, mul) = self.run_conv_silu(i, cs, &values, batch)?;
                if let (Some(p), Some(c)) = (profile.as_mut(), clock) {
                    let shape = format!("{:?}", out.shape);
                    let conv = conv_class(pkg, node, &out.shape);
                    p.record("Conv+SiLU", &node.name, shape, conv, c);
                }
                values[mul as usize] = Some(out);
                self.drop_read(node, i, &mut values);
                continue;
            }
            let info = &pkg.values[node.output as usize];
            let out_shape = resolve(&info.shape, batch);
            if numel(&out_shape).is_none_or(|n| n > MAX_ELEMENTS) {
                return Err(shape_err(
                    node,
                    format!("output shape {out_shape:?} exceeds {MAX_ELEMENTS} elements"),
                ));
            }
            let out = match self.take_reshaped(node, i, &mut values, &out_shape)? {
                Some(out) => out,
                None if self.silu.get(i).is_some_and(|&k| k > 0) => {
                    self.run_silu(i, &mut values, batch, &out_shape)?
                }
                None => match self.gate_mul.get(i).and_then(Option::as_ref) {
                    Some(g) => self.run_gate_mul(i, g, &mut values, batch, &out_shape)?,
                    None => self.run_conv_node(i, &values, batch, &out_shape, None)?,
                },
            };
            check_output(node, info, &out, &out_shape)?;
            if let (Some(p), Some(c)) = (profile.as_mut(), clock) {
                let conv = conv_class(pkg, node, &out_shape);
                p.record(
                    node.op.name(),
                    &node.name,
                    format!("{out_shape:?}"),
                    conv,
                    c,
                );
            }
            if self.opts.trace {
                trace.push(out.clone());
            }
            values[node.output as usize] = Some(out);
            self.drop_read(node, i, &mut values);
        }
        let outputs = pkg
            .outputs
            .iter()
            .map(|o| values[o.value as usize].clone().unwrap_or_default())
            .collect();
        for t in values.into_iter().flatten() {
            self.buffers.give(t.data);
        }
        if let Some(p) = profile {
            #[allow(clippy::print_stderr, reason = "the profile asked for by its variable")]
            {
                eprint!("{}", p.report());
            }
        }
        Ok(Execution { outputs, trace })
    }

    /// Drops the values node `i` read that no later node reads.
    fn drop_read(&self, node: &Node, i: usize, values: &mut [Option<Tensor>]) {
        // and those of a `Concat` a `Conv` read in place
        let concat = self.concat_in.get(i).copied().flatten();
        let concat = concat.and_then(|k| self.pkg.nodes.get(k));
        for op in node
            .inputs
            .iter()
            .chain(concat.iter().flat_map(|n| &n.inputs))
        {
            if let Operand::Value(v) = *op
                && self.last_use.get(v as usize) == Some(&i)
                && let Some(t) = values.get_mut(v as usize).and_then(Option::take)
            {
                self.buffers.give(t.data);
            }
        }
    }

    /// A `Reshape` of a value that no later node reads (node `i` is its last reader): the
    /// value itself under the declared shape, without a copy. `None` for every other node.
    fn take_reshaped(
        &self,
        node: &Node,
        i: usize,
        values: &mut [Option<Tensor>],
        out_shape: &[usize],
    ) -> Result<Option<Tensor>> {
        let (Op::Reshape, [Operand::Value(v)]) = (&node.op, &node.inputs[..]) else {
            return Ok(None);
        };
        if self.last_use.get(*v as usize) != Some(&i) {
            return Ok(None);
        }
        let Some(mut x) = values.get_mut(*v as usize).and_then(Option::take) else {
            return Err(shape_err(node, format!("value {v} not computed")));
        };
        if numel(out_shape) != Some(x.data.len()) {
            return Err(shape_err(
                node,
                format!("cannot reshape {:?} to {out_shape:?}", x.shape),
            ));
        }
        x.shape = out_shape.to_vec();
        Ok(Some(x))
    }

    /// Runs node `i` on its own, checks its output as a run does and stores it (a fast path
    /// that declined runs the nodes it absorbed this way).
    fn run_checked(&self, i: usize, values: &mut [Option<Tensor>], batch: usize) -> Result<()> {
        let node = &self.pkg.nodes[i];
        let info = &self.pkg.values[node.output as usize];
        let shape = resolve(&info.shape, batch);
        let t = self.run_node(node, &self.prepared[i], values, &shape, None)?;
        check_output(node, info, &t, &shape)?;
        values[node.output as usize] = Some(t);
        Ok(())
    }

    /// Runs one node (a `Conv` with the SiLU `silu` in its epilogue when given).
    fn run_node(
        &self,
        node: &Node,
        prep: &Prepared,
        values: &[Option<Tensor>],
        out_shape: &[usize],
        silu: Option<crate::gemm::conv16::Silu<'_>>,
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
                    .and_then(Option::as_ref)
                    .ok_or_else(|| shape_err(node, format!("constant {c} missing"))),
            }
        };
        let ins = node.inputs.iter().map(fetch).collect::<Result<Vec<_>>>()?;
        let x = ins[0];
        let r = NodeRun {
            pkg,
            node,
            ins,
            x,
            out_shape,
            bufs: &self.buffers,
        };
        // One arm per op; the op's family module does the work.
        let out = match (&node.op, prep) {
            (Op::Linear { rq, wide, .. }, Prepared::Linear(w, acc64, bias)) => {
                dense::run_linear(&r, w, *acc64, bias, rq, *wide, self.fast)?
            }
            (Op::MatMul { rq, wide }, _) => dense::run_matmul(&r, rq, *wide)?,
            (
                Op::Conv {
                    kernel,
                    strides,
                    pads,
                    dilations,
                    rq,
                    wide,
                    ..
                },
                Prepared::Conv(ws, acc64, bias, fast),
            ) => {
                let win = window(*kernel, *strides, *pads, *dilations);
                let fast = fast.as_deref().filter(|_| *acc64);
                conv::run_conv(&r, ws, *acc64, bias, win, rq, *wide, fast, silu, self.fast)?
            }
            (Op::Add { ma, mb, rq }, _) => elementwise::run_add(&r, *ma, *mb, rq, self.fast)?,
            (Op::Mul { rq }, _) => elementwise::run_mul(&r, rq, self.fast)?,
            (Op::Rescale { rq }, _) => elementwise::run_rescale(&r, rq, self.fast)?,
            (Op::Relu, _) => activation::run_relu(&r)?,
            (Op::Clip { lo, hi }, _) => activation::run_clip(&r, *lo, *hi)?,
            (Op::LeakyRelu { rq }, _) => activation::run_leaky_relu(&r, rq)?,
            (Op::Lut { table }, prep) => {
                let t16 = match prep {
                    Prepared::Table(t) => Some(t.as_slice()),
                    _ => None,
                };
                activation::run_lut(&r, *table, self.fast, t16)?
            }
            (Op::Softmax { axis, table, rq }, _) => reduce::run_softmax(&r, *axis, *table, rq)?,
            (
                Op::ArgMax {
                    axis,
                    select_last_index,
                    ..
                },
                _,
            ) => reduce::run_argmax(&r, *axis, *select_last_index)?,
            (
                Op::MaxPool {
                    kernel,
                    strides,
                    pads,
                    dilations,
                },
                _,
            ) => pool::run_max_pool(&r, *kernel, *strides, *pads, *dilations)?,
            (
                Op::AveragePool {
                    kernel,
                    strides,
                    pads,
                    count_include_pad,
                },
                _,
            ) => pool::run_average_pool(&r, *kernel, *strides, *pads, *count_include_pad)?,
            (Op::Reshape, _) => layout::run_reshape(&r)?,
            (Op::Transpose { perm }, _) => layout::run_transpose(&r, perm)?,
            (Op::Concat { axis }, _) => layout::run_concat(&r, *axis)?,
            (Op::Pad { mode, pads, value }, _) => layout::run_pad(&r, *mode, pads, *value)?,
            (Op::Select { maps }, _) => layout::run_select(&r, maps)?,
            (Op::Gather { axis }, _) => layout::run_gather(&r, *axis)?,
            (
                Op::Reduce {
                    mode,
                    axes,
                    keepdims,
                    rq,
                },
                _,
            ) => reduce::run_reduce(&r, *mode, axes, *keepdims, rq)?,
            (Op::Max, _) => elementwise::run_min_max(&r, true)?,
            (Op::Min, _) => elementwise::run_min_max(&r, false)?,
            (Op::PRelu { slope, rq }, _) => activation::run_prelu(&r, *slope, rq)?,
            (Op::TreeEnsemble { .. }, Prepared::Trees(c)) => tree::run_tree_ensemble(&r, Some(c))?,
            (Op::TreeEnsemble { .. }, _) => tree::run_tree_ensemble(&r, None)?,
            _ => return Err(shape_err(node, "weights were not prepared")),
        };
        Ok(out)
    }
}

/// The weights of a product node, packed once per package (one arm per op that has them), and
/// laid out for the 16-bit `Conv` fast path too when `fast`.
fn prepare(pkg: &Package, node: &Node, fast: bool) -> Result<Prepared> {
    match &node.op {
        Op::Linear {
            weight,
            bias,
            rq,
            wide,
        } => {
            let (w, acc64, b) = dense::prepare_linear(pkg, node, *weight, *bias, rq, *wide)?;
            Ok(Prepared::Linear(Arc::new(w), acc64, b))
        }
        Op::Conv {
            weight,
            bias,
            kernel,
            strides,
            group,
            rq,
            wide,
            ..
        } => {
            let (ws, acc64, b) =
                conv::prepare_conv(pkg, node, *weight, *bias, *kernel, *group, rq, *wide)?;
            let w = &pkg.consts[*weight as usize];
            let fast = match w.shape[..] {
                [co, cg, kh, kw] if acc64 && fast => Conv16::new(
                    &w.data,
                    [co, cg, kh, kw].map(|d| d as usize),
                    *group as usize,
                    strides.map(|d| d as usize),
                )
                .map(Box::new),
                _ => None,
            };
            Ok(Prepared::Conv(ws, acc64, b, fast))
        }
        Op::Lut { table } if fast => Ok(pkg
            .consts
            .get(*table as usize)
            .and_then(|c| activation::table16(&c.data))
            .map_or(Prepared::None, Prepared::Table)),
        Op::TreeEnsemble { .. } => Ok(tree::trees_of(pkg, &node.op)
            .and_then(|t| tree::Compiled::new(&t))
            .map_or(Prepared::None, |c| Prepared::Trees(Box::new(c)))),
        _ => Ok(Prepared::None),
    }
}

/// Makes the `Linear` nodes whose weight constants hold the same shape and values read one
/// packed matrix (an unrolled recurrent cell stores each step's copy of its gates' weights:
/// the keyword LSTM's 201 `Linear`s read 9 distinct matrices), so a run streams each once
/// through the caches. The packed matrix depends on nothing else (fast paths on).
fn share_weights(pkg: &Package, prepared: &mut [Prepared]) {
    use std::collections::btree_map::{BTreeMap, Entry};
    let mut seen: BTreeMap<(&[u32], &[i32]), Arc<Packed>> = BTreeMap::new();
    for (node, prep) in pkg.nodes.iter().zip(prepared.iter_mut()) {
        let (Op::Linear { weight, .. }, Prepared::Linear(w, _, _)) = (&node.op, prep) else {
            continue;
        };
        let Some(c) = pkg.consts.get(*weight as usize) else {
            continue;
        };
        match seen.entry((c.shape.as_slice(), c.data.as_slice())) {
            Entry::Occupied(e) => *w = Arc::clone(e.get()),
            Entry::Vacant(e) => {
                e.insert(Arc::clone(w));
            }
        }
    }
}

/// A node's output must have the declared shape and, for an activation kind, lie in its range.
fn check_output(
    node: &Node,
    info: &vouch_model::TensorInfo,
    out: &Tensor,
    out_shape: &[usize],
) -> Result<()> {
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
        && !crate::ops::elementwise::all_within(&out.data, lo, hi)
    {
        return Err(shape_err(
            node,
            format!("output outside [{lo}, {hi}] (malformed package)"),
        ));
    }
    Ok(())
}

/// Per value of `pkg`, the index of the last node that reads it; `usize::MAX` for the graph
/// outputs (kept to the end) and for values no node reads.
fn last_uses(pkg: &Package) -> Vec<usize> {
    let mut last = vec![usize::MAX; pkg.values.len()];
    for (i, node) in pkg.nodes.iter().enumerate() {
        for op in &node.inputs {
            if let Operand::Value(v) = *op
                && let Some(l) = last.get_mut(v as usize)
            {
                *l = i;
            }
        }
    }
    for o in &pkg.outputs {
        if let Some(l) = last.get_mut(o.value as usize) {
            *l = usize::MAX;
        }
    }
    last
}

/// About what one row of `pkg` costs: per node, its output elements, times the fan-in of a
/// product (`Linear`, `Conv`), or the branches on each tree's longest path for an ensemble.
fn work_per_row(pkg: &Package, prepared: &[Prepared]) -> u64 {
    pkg.nodes
        .iter()
        .zip(prepared)
        .map(|(node, prep)| {
            let out = pkg
                .values
                .get(node.output as usize)
                .and_then(|v| numel(&resolve(&v.shape, 1)))
                .map_or(u64::MAX, |n| n as u64);
            match prep {
                Prepared::Linear(w, _, _) => out.saturating_mul(w.k as u64),
                Prepared::Conv(ws, _, _, _) => {
                    out.saturating_mul(ws.first().map_or(0, |w| w.k) as u64)
                }
                Prepared::Trees(c) => c.branches_per_row(),
                Prepared::None | Prepared::Table(_) => out,
            }
        })
        .fold(0, u64::saturating_add)
}

/// A `Conv` node's shape class for the profile (`k3x3/s2 g1 @40x40`) and its multiply-adds at
/// `out_shape`; `None` for other nodes.
fn conv_class(pkg: &Package, node: &Node, out_shape: &[usize]) -> Option<(String, u64)> {
    let Op::Conv {
        weight,
        kernel: [kh, kw],
        strides: [sh, sw],
        group,
        ..
    } = &node.op
    else {
        return None;
    };
    let w = pkg.consts.get(*weight as usize)?;
    let cg = *w.shape.get(1)?;
    let taps = u64::from(*kh) * u64::from(*kw);
    let outs: u64 = out_shape.iter().map(|&d| d as u64).product();
    let depthwise = if cg == 1 && *group > 1 { " dw" } else { "" };
    let (oh, ow) = (out_shape.get(2)?, out_shape.get(3)?);
    let class = format!("k{kh}x{kw}/s{sh}x{sw}{depthwise} @{oh}x{ow}");
    Some((class, outs.saturating_mul(cg as u64).saturating_mul(taps)))
}
