//! The shared test vectors of `docs/semantics.md` section 7: single-op cases generated from a
//! fixed seed and executed by this engine, written as JSON for the zk circuit and the on-chain
//! one-step verifier to replay.

use crate::{Engine, Options, Tensor};
use vouch_model::{
    AccuracyReport, Const, Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo,
};
use vouch_semantics::SEMANTICS_VERSION;

mod act16;
mod activation;
mod bias;
mod elementwise;
mod layout;
mod reduce;
mod tree;

/// One single-op case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Case name.
    pub name: String,
    /// The op with its parameters.
    pub op: Op,
    /// Dynamic inputs.
    pub inputs: Vec<Tensor>,
    /// Constants the op reads (weight, bias, or table), in [`Op::param_consts`] order; for a
    /// `Gather` with one input, its constant data table (operand 0).
    pub consts: Vec<Tensor>,
    /// Output shape.
    pub out_shape: Vec<usize>,
    /// Output kind.
    pub out_kind: Kind,
}

impl Case {
    /// A one-node package running this case.
    pub fn package(&self) -> Package {
        let fixed = |s: &[usize]| s.iter().map(|&d| Dim::Fixed(d as u32)).collect::<Vec<_>>();
        let mut values: Vec<TensorInfo> = self
            .inputs
            .iter()
            .enumerate()
            .map(|(i, t)| TensorInfo {
                name: format!("x{i}"),
                kind: if t.data.iter().all(|v| (-128..=127).contains(v)) {
                    Kind::Act8
                } else if t.data.iter().all(|v| (-32_768..=32_767).contains(v)) {
                    Kind::Act16
                } else {
                    Kind::Wide
                },
                scale: 1.0,
                shape: fixed(&t.shape),
            })
            .collect();
        values.push(TensorInfo {
            name: "z".into(),
            kind: self.out_kind,
            scale: 1.0,
            shape: fixed(&self.out_shape),
        });
        let consts = self
            .consts
            .iter()
            .enumerate()
            .map(|(i, t)| Const {
                name: format!("c{i}"),
                scale: 1.0,
                shape: t.shape.iter().map(|&d| d as u32).collect(),
                data: t.data.clone(),
            })
            .collect();
        let n_in = self.inputs.len() as u32;
        Package {
            semantics_version: SEMANTICS_VERSION,
            name: self.name.clone(),
            source_sha256: [0; 32],
            inputs: (0..n_in).map(|i| IoSpec::new(format!("x{i}"), i)).collect(),
            outputs: vec![IoSpec::new("z", n_in)],
            values,
            consts,
            nodes: vec![Node {
                name: self.name.clone(),
                op: self.op.clone(),
                // a `Gather` of a constant table reads it as operand 0 (`consts[0]`)
                inputs: if matches!(self.op, Op::Gather { .. }) && n_in == 1 {
                    vec![Operand::Const(0), Operand::Value(0)]
                } else {
                    (0..n_in).map(Operand::Value).collect()
                },
                output: n_in,
            }],
            accuracy: AccuracyReport::default(),
        }
    }

    /// Runs the case through the engine on one thread.
    pub fn run(&self) -> crate::Result<Tensor> {
        self.run_with_threads(1)
    }

    /// Runs the case through the engine with `threads` workers.
    pub fn run_with_threads(&self, threads: usize) -> crate::Result<Tensor> {
        let pkg = self.package();
        pkg.validate().map_err(|e| crate::Error::Input {
            name: self.name.clone(),
            reason: e.to_string(),
        })?;
        let engine = Engine::new(
            &pkg,
            Options {
                threads,
                trace: false,
            },
        )?;
        let mut exec = engine.run(self.inputs.clone())?;
        Ok(exec.outputs.remove(0))
    }
}

/// Deterministic generator (splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        let span = (i64::from(hi) - i64::from(lo) + 1) as u64;
        (i64::from(lo) + (self.next_u64() % span) as i64) as i32
    }

    /// A tensor of uniform values.
    pub fn tensor(&mut self, shape: &[usize], lo: i32, hi: i32) -> Tensor {
        let n = shape.iter().product();
        Tensor {
            shape: shape.to_vec(),
            data: (0..n).map(|_| self.range(lo, hi)).collect(),
        }
    }

    /// Uniform values in `[lo, hi]` with the edges (`lo`, `hi`, 0) mixed in.
    pub fn with_edges(&mut self, shape: &[usize], lo: i32, hi: i32) -> Tensor {
        let mut t = self.tensor(shape, lo, hi);
        for v in t.data.iter_mut() {
            match self.next_u64() % 16 {
                0 => *v = lo,
                1 => *v = hi,
                2 => *v = 0,
                _ => {}
            }
        }
        t
    }

    /// Act16 values with the edges (-32768, 32767, 0) mixed in.
    pub fn act16(&mut self, shape: &[usize]) -> Tensor {
        self.with_edges(shape, -32_768, 32_767)
    }

    /// Act8 values with the edges (-128, 127, 0) mixed in.
    pub fn act8(&mut self, shape: &[usize]) -> Tensor {
        self.with_edges(shape, -128, 127)
    }
}

/// A `Linear` case on an `act16` input `[m, k]` with the constants `consts` (weights, bias)
/// already drawn; draws its requantization, then its input (the order every existing vector
/// was drawn in).
pub(crate) fn linear16(
    r: &mut Rng,
    name: String,
    consts: Vec<Tensor>,
    (m, k, n): (usize, usize, usize),
    (relu, shift): (bool, u32),
) -> Case {
    let op = Op::Linear {
        weight: 0,
        bias: Some(1),
        rq: rq16(r, relu, shift),
        wide: false,
    };
    Case {
        name,
        op,
        inputs: vec![r.act16(&[m, k])],
        consts,
        out_shape: vec![m, n],
        out_kind: Kind::Act16,
    }
}

/// A requantization of an `i64` accumulator (`act16` inputs, `i16` weights) onto `act16`.
pub(crate) fn rq16(rng: &mut Rng, relu: bool, s: u32) -> Requant {
    Requant {
        m: i64::from(rng.range(1 << 14, (1 << 15) - 1)),
        s,
        lo: if relu { 0 } else { -32_768 },
        hi: 32_767,
    }
}

fn rq(rng: &mut Rng, relu: bool) -> Requant {
    let s = rng.range(8, 24) as u32;
    Requant {
        m: i64::from(rng.range(1 << 14, (1 << 15) - 1)),
        s,
        lo: if relu { 0 } else { -128 },
        hi: 127,
    }
}

/// Every case of the vector set, grouped by op name. Cases are drawn from one generator in
/// order, so a new op's cases are drawn last (here, or in a family submodule such as
/// `vectors/layout.rs` called last) and every earlier vector stays byte-identical.
pub fn all_cases() -> Vec<(&'static str, Vec<Case>)> {
    let mut rng = Rng::new(0x766f_7563_6801);
    let mut groups: Vec<(&'static str, Vec<Case>)> = Vec::new();
    let mut push = |op: &'static str, c: Case| match groups.iter_mut().find(|(n, _)| *n == op) {
        Some((_, v)) => v.push(c),
        None => groups.push((op, vec![c])),
    };
    let r = &mut rng;
    for (i, &(m, k, n, relu, wide, bias)) in [
        (1, 4, 3, false, false, true),
        (2, 16, 5, true, false, true),
        (3, 33, 4, false, true, false),
        (1, 784, 10, true, false, true),
    ]
    .iter()
    .enumerate()
    {
        let mut consts = vec![r.tensor(&[n, k], -127, 127)];
        if bias {
            consts.push(r.tensor(&[n], -5000, 5000));
        }
        let q = rq(r, relu);
        let op = Op::Linear {
            weight: 0,
            bias: bias.then_some(1),
            rq: q,
            wide,
        };
        let out_kind = if wide { Kind::Wide } else { Kind::Act8 };
        push(
            "Linear",
            Case {
                name: format!("linear_{i}"),
                op,
                inputs: vec![r.act8(&[m, k])],
                consts,
                out_shape: vec![m, n],
                out_kind,
            },
        );
    }
    // Conv: (n, c, h, w, co, k, stride, pad, dil, group)
    for (i, &(n, c, h, w, co, k, st, pad, dil, g)) in [
        (1, 1, 5, 5, 2, 3, 1, 0, 1, 1),
        (1, 2, 6, 6, 4, 3, 2, 1, 1, 2),
        (2, 3, 7, 7, 2, 2, 1, 2, 2, 1),
        (1, 4, 5, 5, 4, 3, 1, 1, 1, 4),
        (1, 1, 28, 28, 6, 5, 1, 2, 1, 1),
    ]
    .iter()
    .enumerate()
    {
        let eff = dil * (k - 1) + 1;
        let oh = (h + 2 * pad - eff) / st + 1;
        let ow = (w + 2 * pad - eff) / st + 1;
        let consts = vec![
            r.tensor(&[co, c / g, k, k], -127, 127),
            r.tensor(&[co], -3000, 3000),
        ];
        let s = st as u32;
        let op = Op::Conv {
            weight: 0,
            bias: Some(1),
            kernel: [k as u32; 2],
            strides: [s; 2],
            pads: [pad as u32; 4],
            dilations: [dil as u32; 2],
            group: g as u32,
            rq: rq(r, i % 2 == 1),
            wide: false,
        };
        push(
            "Conv",
            Case {
                name: format!("conv_{i}"),
                op,
                inputs: vec![r.act8(&[n, c, h, w])],
                consts,
                out_shape: vec![n, co, oh, ow],
                out_kind: Kind::Act8,
            },
        );
    }
    for i in 0..2 {
        let (m, k, n) = (2 + i, 5 + 3 * i, 3);
        let op = Op::MatMul {
            rq: rq(r, false),
            wide: i == 1,
        };
        let kind = if i == 1 { Kind::Wide } else { Kind::Act8 };
        push(
            "MatMul",
            Case {
                name: format!("matmul_{i}"),
                op,
                inputs: vec![r.act8(&[m, k]), r.act8(&[k, n])],
                consts: vec![],
                out_shape: vec![m, n],
                out_kind: kind,
            },
        );
    }
    for (i, (sa, sb, so)) in [
        (vec![2, 3], vec![2, 3], vec![2, 3]),
        (vec![2, 3], vec![3], vec![2, 3]),
        (vec![2, 1, 4], vec![3, 1], vec![2, 3, 4]),
    ]
    .into_iter()
    .enumerate()
    {
        let s = r.range(10, 20) as u32;
        let sign = if i == 1 { -1 } else { 1 };
        let op = Op::Add {
            ma: i64::from(r.range(1 << 10, 1 << 15)),
            mb: sign * i64::from(r.range(1 << 10, 1 << 15)),
            rq: Requant {
                m: 1,
                s,
                lo: -128,
                hi: 127,
            },
        };
        push(
            "Add",
            Case {
                name: format!("add_{i}"),
                op,
                inputs: vec![r.act8(&sa), r.act8(&sb)],
                consts: vec![],
                out_shape: so.clone(),
                out_kind: Kind::Act8,
            },
        );
        let op = Op::Mul { rq: rq(r, false) };
        push(
            "Mul",
            Case {
                name: format!("mul_{i}"),
                op,
                inputs: vec![r.act8(&sa), r.act8(&sb)],
                consts: vec![],
                out_shape: so,
                out_kind: Kind::Act8,
            },
        );
    }
    let unary: Vec<(&'static str, Op, Vec<Tensor>)> = vec![
        ("Rescale", Op::Rescale { rq: rq(r, false) }, vec![]),
        ("Relu", Op::Relu, vec![]),
        ("Clip", Op::Clip { lo: -20, hi: 50 }, vec![]),
        (
            "LeakyRelu",
            Op::LeakyRelu {
                rq: Requant {
                    m: 26214,
                    s: 18,
                    lo: -128,
                    hi: 127,
                },
            },
            vec![],
        ),
        (
            "Lut",
            Op::Lut { table: 0 },
            vec![Tensor {
                shape: vec![256],
                data: (0..256).map(|i| ((i * 7 + 3) % 256) - 128).collect(),
            }],
        ),
    ];
    for (name, op, consts) in unary {
        push(
            name,
            Case {
                name: format!("{}_0", name.to_lowercase()),
                op,
                inputs: vec![r.act8(&[3, 17])],
                consts,
                out_shape: vec![3, 17],
                out_kind: Kind::Act8,
            },
        );
    }
    // An integer-only decaying table (t[k] ≈ 2^16 · 0.95^k), reproducible without floats.
    let mut exp = vec![1i32 << 16];
    for k in 1..256 {
        exp.push((exp[k - 1] * 243 + 128) >> 8);
    }
    let exp_table = Tensor {
        shape: vec![256],
        data: exp,
    };
    for (i, (shape, axis)) in [(vec![4, 10], 1usize), (vec![2, 5, 3], 1)]
        .into_iter()
        .enumerate()
    {
        // Case 0: act8 input, identity index map; case 1: wide input, scaled index map.
        let (rq, input) = if i == 0 {
            (Requant::SOFTMAX_INDEX, r.act8(&shape))
        } else {
            (
                Requant {
                    m: 20000,
                    s: 22,
                    lo: 0,
                    hi: 255,
                },
                r.tensor(&shape, -40000, 40000),
            )
        };
        let op = Op::Softmax {
            axis: axis as u32,
            table: 0,
            rq,
        };
        push(
            "Softmax",
            Case {
                name: format!("softmax_{i}"),
                op,
                inputs: vec![input],
                consts: vec![exp_table.clone()],
                out_shape: shape,
                out_kind: Kind::Act8,
            },
        );
    }
    for (i, last) in [false, true].into_iter().enumerate() {
        let mut x = r.tensor(&[4, 6], -3, 3); // small range: ties are common
        x.data[0] = 3;
        let op = Op::ArgMax {
            axis: 1,
            keepdims: i == 0,
            select_last_index: last,
        };
        let out = if i == 0 { vec![4, 1] } else { vec![4] };
        push(
            "ArgMax",
            Case {
                name: format!("argmax_{i}"),
                op,
                inputs: vec![x],
                consts: vec![],
                out_shape: out,
                out_kind: Kind::Index,
            },
        );
    }
    for (i, &(h, k, st, pad)) in [(6usize, 2usize, 2usize, 0usize), (7, 3, 2, 1), (5, 3, 1, 1)]
        .iter()
        .enumerate()
    {
        let o = (h + 2 * pad - k) / st + 1;
        let win = |p: u32| ([k as u32; 2], [st as u32; 2], [p; 4]);
        let (kernel, strides, pads) = win(pad as u32);
        let op = Op::MaxPool {
            kernel,
            strides,
            pads,
            dilations: [1, 1],
        };
        push(
            "MaxPool",
            Case {
                name: format!("maxpool_{i}"),
                op,
                inputs: vec![r.act8(&[1, 2, h, h])],
                consts: vec![],
                out_shape: vec![1, 2, o, o],
                out_kind: Kind::Act8,
            },
        );
        let op = Op::AveragePool {
            kernel,
            strides,
            pads,
            count_include_pad: i == 2,
        };
        push(
            "AveragePool",
            Case {
                name: format!("averagepool_{i}"),
                op,
                inputs: vec![r.act8(&[1, 2, h, h])],
                consts: vec![],
                out_shape: vec![1, 2, o, o],
                out_kind: Kind::Act8,
            },
        );
    }
    push(
        "Reshape",
        Case {
            name: "reshape_0".into(),
            op: Op::Reshape,
            inputs: vec![r.act8(&[2, 3, 4])],
            consts: vec![],
            out_shape: vec![6, 4],
            out_kind: Kind::Act8,
        },
    );
    push(
        "Transpose",
        Case {
            name: "transpose_0".into(),
            op: Op::Transpose {
                perm: vec![2, 0, 1],
            },
            inputs: vec![r.act8(&[2, 3, 4])],
            consts: vec![],
            out_shape: vec![4, 2, 3],
            out_kind: Kind::Act8,
        },
    );
    push(
        "Concat",
        Case {
            name: "concat_0".into(),
            op: Op::Concat { axis: 1 },
            inputs: vec![r.act8(&[2, 3]), r.act8(&[2, 1]), r.act8(&[2, 2])],
            consts: vec![],
            out_shape: vec![2, 6],
            out_kind: Kind::Act8,
        },
    );
    act16::act16_cases(r, &mut push);
    layout::pad_cases(r, &mut push);
    reduce::reduce_cases(r, &mut push);
    elementwise::min_max_cases(r, &mut push);
    activation::prelu_cases(r, &mut push);
    tree::tree_cases(r, &mut push);
    layout::select_cases(r, &mut push);
    activation::fine_lut_cases(r, &mut push);
    bias::wide_bias_cases(r, &mut push);
    bias::per_channel_cases(r, &mut push);
    layout::gather_cases(r, &mut push);
    groups
}

fn rq_json(rq: &Requant, m: &mut serde_json::Map<String, serde_json::Value>) {
    m.insert("M".into(), rq.m.into());
    m.insert("s".into(), rq.s.into());
    m.insert("lo".into(), rq.lo.into());
    m.insert("hi".into(), rq.hi.into());
}

/// The `attrs` object of a case (`docs/semantics.md` section 7).
pub fn attrs_json(op: &Op) -> serde_json::Value {
    use serde_json::json;
    let mut m = serde_json::Map::new();
    match op {
        Op::Linear { rq, wide, .. } | Op::MatMul { rq, wide } => {
            rq_json(rq, &mut m);
            m.insert("wide".into(), (*wide).into());
        }
        Op::Conv {
            kernel,
            strides,
            pads,
            dilations,
            group,
            rq,
            wide,
            ..
        } => {
            rq_json(rq, &mut m);
            m.insert("wide".into(), (*wide).into());
            m.insert("kernel".into(), json!(kernel));
            m.insert("strides".into(), json!(strides));
            m.insert("pads".into(), json!(pads));
            m.insert("dilations".into(), json!(dilations));
            m.insert("group".into(), json!(group));
        }
        Op::Add { ma, mb, rq } => {
            rq_json(rq, &mut m);
            m.insert("Ma".into(), (*ma).into());
            m.insert("Mb".into(), (*mb).into());
        }
        Op::Mul { rq } | Op::Rescale { rq } | Op::LeakyRelu { rq } => rq_json(rq, &mut m),
        Op::Clip { lo, hi } => {
            m.insert("lo".into(), (*lo).into());
            m.insert("hi".into(), (*hi).into());
        }
        Op::Softmax { axis, rq, .. } => {
            rq_json(rq, &mut m);
            m.insert("axis".into(), (*axis).into());
        }
        Op::ArgMax {
            axis,
            keepdims,
            select_last_index,
        } => {
            m.insert("axis".into(), (*axis).into());
            m.insert("keepdims".into(), (*keepdims).into());
            m.insert("select_last_index".into(), (*select_last_index).into());
        }
        Op::MaxPool {
            kernel,
            strides,
            pads,
            dilations,
        } => {
            m.insert("kernel".into(), json!(kernel));
            m.insert("strides".into(), json!(strides));
            m.insert("pads".into(), json!(pads));
            m.insert("dilations".into(), json!(dilations));
        }
        Op::AveragePool {
            kernel,
            strides,
            pads,
            count_include_pad,
        } => {
            m.insert("kernel".into(), json!(kernel));
            m.insert("strides".into(), json!(strides));
            m.insert("pads".into(), json!(pads));
            m.insert("count_include_pad".into(), (*count_include_pad).into());
        }
        Op::Transpose { perm } => {
            m.insert("perm".into(), json!(perm));
        }
        Op::Concat { axis } => {
            m.insert("axis".into(), (*axis).into());
        }
        Op::Pad { mode, pads, value } => {
            m.insert("mode".into(), mode.name().into());
            m.insert("pads".into(), json!(pads));
            m.insert("value".into(), (*value).into());
        }
        Op::Reduce {
            mode,
            axes,
            keepdims,
            rq,
        } => {
            rq_json(rq, &mut m);
            m.insert("mode".into(), mode.name().into());
            m.insert("axes".into(), json!(axes));
            m.insert("keepdims".into(), (*keepdims).into());
        }
        Op::PRelu { rq, .. } => rq_json(rq, &mut m),
        Op::Relu | Op::Lut { .. } | Op::Reshape | Op::Max | Op::Min => {}
        Op::TreeEnsemble { aggregate, .. } => {
            m.insert("aggregate".into(), aggregate.name().into());
        }
        Op::Select { maps } => {
            // the one-step layout: each axis's map length (0: identity), then the maps
            let lens: Vec<usize> = maps.iter().map(Vec::len).collect();
            m.insert("lens".into(), json!(lens));
            m.insert("maps".into(), json!(maps.concat()));
        }
        Op::Gather { axis } => {
            m.insert("axis".into(), (*axis).into());
        }
    }
    serde_json::Value::Object(m)
}

/// The JSON file for one op group, with outputs computed by this engine.
pub fn group_json(cases: &[Case]) -> crate::Result<serde_json::Value> {
    use serde_json::json;
    let t = |t: &Tensor| json!({ "shape": t.shape, "data": t.data });
    let mut out = Vec::new();
    for c in cases {
        let z = c.run()?;
        out.push(json!({
            "name": c.name,
            "op": c.op.name(),
            "attrs": attrs_json(&c.op),
            "inputs": c.inputs.iter().map(t).collect::<Vec<_>>(),
            "consts": c.consts.iter().map(t).collect::<Vec<_>>(),
            "output": t(&z),
            "output_commitment": vouch_primitives::hex0x(&z.commitment()),
        }));
    }
    Ok(json!({ "semantics_version": SEMANTICS_VERSION, "cases": out }))
}

/// Renders every vector file: `(file name, contents)`.
pub fn render_all() -> crate::Result<Vec<(String, String)>> {
    all_cases()
        .into_iter()
        .map(|(op, cases)| {
            let v = group_json(&cases)?;
            let text = serde_json::to_string(&v).unwrap_or_default() + "\n";
            Ok((format!("{}.json", op.to_lowercase()), text))
        })
        .collect()
}
