//! ONNX `LSTM`, `GRU` and `RNN` are unrolled by the importer into existing float ops (per gate
//! a `Linear` of the inputs; per step a `Select`, a `Linear` of the state, the activations,
//! `Mul`, `Add`, `Sub`; `Concat` and `Reshape` for `Y`). The float reference of the lowered
//! graph computes the ONNX definitions: checked here against a direct `f64` computation of
//! ONNX's equations for every direction, both layouts, both GRU forms, biases, initial states
//! (constant and computed) and peepholes; the refused forms name the node, the op and the form.

#![allow(clippy::unwrap_used, clippy::needless_range_loop, missing_docs)]

mod one_node;

use one_node::{init, int, string};

use prost::Message as _;
use vouch_onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, tensor_shape_proto, type_proto,
};
use vouch_quant::FTensor;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Cell {
    Lstm,
    Gru { lbr: bool },
    Rnn,
}

impl Cell {
    fn op(self) -> &'static str {
        match self {
            Cell::Lstm => "LSTM",
            Cell::Gru { .. } => "GRU",
            Cell::Rnn => "RNN",
        }
    }
    fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru { .. } => 3,
            Cell::Rnn => 1,
        }
    }
}

/// One recurrent node's configuration and constants.
#[derive(Clone)]
struct Case {
    cell: Cell,
    /// 1 or 2 directions; `reverse` for a single reverse one.
    dirs: usize,
    reverse: bool,
    batch_first: bool,
    t: usize,
    n: usize,
    i: usize,
    h: usize,
    w: Vec<f32>,
    r: Vec<f32>,
    b: Option<Vec<f32>>,
    h0: Option<Vec<f32>>,
    c0: Option<Vec<f32>>,
    p: Option<Vec<f32>>,
    /// `initial_h` fed as a second graph input rather than a constant.
    h0_input: bool,
}

/// A fixed, irregular sequence of `n` values in about `[-scale, scale]`.
fn data(n: usize, salt: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|k| {
            let v = ((k * 37 + salt * 11) % 29) as f32 - 14.0;
            scale * v / 14.0 + ((k + salt) % 3) as f32 * 0.05
        })
        .collect()
}

impl Case {
    fn new(cell: Cell, dirs: usize, batch_first: bool) -> Self {
        let (t, n, i, h) = (4, 2, 3, 5);
        let g = cell.gates();
        Self {
            cell,
            dirs,
            reverse: false,
            batch_first,
            t,
            n,
            i,
            h,
            w: data(dirs * g * h * i, 1, 0.6),
            r: data(dirs * g * h * h, 2, 0.5),
            b: None,
            h0: None,
            c0: None,
            p: None,
            h0_input: false,
        }
    }

    fn with_bias(mut self) -> Self {
        self.b = Some(data(self.dirs * 2 * self.cell.gates() * self.h, 3, 0.4));
        self
    }

    fn with_states(mut self) -> Self {
        let n = self.dirs * self.n * self.h;
        self.h0 = Some(data(n, 4, 0.7));
        if self.cell == Cell::Lstm {
            self.c0 = Some(data(n, 5, 0.9));
        }
        self
    }

    fn x(&self) -> Vec<f32> {
        data(self.t * self.n * self.i, 6, 1.0)
    }

    fn x_shape(&self) -> Vec<usize> {
        if self.batch_first {
            vec![self.n, self.t, self.i]
        } else {
            vec![self.t, self.n, self.i]
        }
    }

    fn state_shape(&self) -> Vec<usize> {
        if self.batch_first {
            vec![self.n, self.dirs, self.h]
        } else {
            vec![self.dirs, self.n, self.h]
        }
    }

    /// The state of row `b`, direction `d` from a `[D, N, H]` / `[N, D, H]` tensor.
    fn state_at(&self, s: &[f32], d: usize, b: usize) -> Vec<f64> {
        let at = if self.batch_first {
            (b * self.dirs + d) * self.h
        } else {
            (d * self.n + b) * self.h
        };
        s[at..at + self.h].iter().map(|&v| f64::from(v)).collect()
    }

    /// ONNX's equations in `f64`: `Y`, `Y_h`, `Y_c` in the case's layout.
    fn reference(&self) -> [Vec<f64>; 3] {
        let (t_len, n, ii, h, g) = (self.t, self.n, self.i, self.h, self.cell.gates());
        let x = self.x();
        let xv = |t: usize, b: usize, k: usize| {
            let at = if self.batch_first {
                (b * t_len + t) * ii + k
            } else {
                (t * n + b) * ii + k
            };
            f64::from(x[at])
        };
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let mut y = vec![0.0; t_len * self.dirs * n * h];
        let mut yh = vec![0.0; self.dirs * n * h];
        let mut yc = vec![0.0; self.dirs * n * h];
        for d in 0..self.dirs {
            let w = &self.w[d * g * h * ii..(d + 1) * g * h * ii];
            let r = &self.r[d * g * h * h..(d + 1) * g * h * h];
            let zero = vec![0.0; 2 * g * h];
            let bias = self
                .b
                .as_ref()
                .map_or(&zero[..], |b| &b[d * 2 * g * h..(d + 1) * 2 * g * h]);
            let reverse = d == 1 || self.reverse;
            for b in 0..n {
                let mut hs = self
                    .h0
                    .as_ref()
                    .map_or(vec![0.0; h], |s| self.state_at(s, d, b));
                let mut cs = self
                    .c0
                    .as_ref()
                    .map_or(vec![0.0; h], |s| self.state_at(s, d, b));
                for step in 0..t_len {
                    let t = if reverse { t_len - 1 - step } else { step };
                    // xw[k][j] = X·W_kᵀ + Wb_k, hr[k][j] = H·R_kᵀ + Rb_k
                    let lin = |k: usize, j: usize, v: &[f64], m: &[f32], width: usize| {
                        (0..width)
                            .map(|q| f64::from(m[(k * h + j) * width + q]) * v[q])
                            .sum::<f64>()
                    };
                    let xs: Vec<f64> = (0..ii).map(|q| xv(t, b, q)).collect();
                    let xw =
                        |k: usize, j: usize| lin(k, j, &xs, w, ii) + f64::from(bias[k * h + j]);
                    let rb = |k: usize, j: usize| f64::from(bias[(g + k) * h + j]);
                    let (nh, nc) = match self.cell {
                        Cell::Rnn => (
                            (0..h)
                                .map(|j| (xw(0, j) + lin(0, j, &hs, r, h) + rb(0, j)).tanh())
                                .collect::<Vec<_>>(),
                            cs.clone(),
                        ),
                        Cell::Lstm => {
                            let p = |k: usize, j: usize| {
                                self.p
                                    .as_ref()
                                    .map_or(0.0, |p| f64::from(p[d * 3 * h + k * h + j]))
                            };
                            let pre =
                                |k: usize, j: usize| xw(k, j) + lin(k, j, &hs, r, h) + rb(k, j);
                            let mut nh = vec![0.0; h];
                            let mut nc = vec![0.0; h];
                            for j in 0..h {
                                let ig = sig(pre(0, j) + p(0, j) * cs[j]);
                                let fg = sig(pre(2, j) + p(2, j) * cs[j]);
                                let cg = pre(3, j).tanh();
                                nc[j] = fg * cs[j] + ig * cg;
                                let og = sig(pre(1, j) + p(1, j) * nc[j]);
                                nh[j] = og * nc[j].tanh();
                            }
                            (nh, nc)
                        }
                        Cell::Gru { lbr } => {
                            let z: Vec<f64> = (0..h)
                                .map(|j| sig(xw(0, j) + lin(0, j, &hs, r, h) + rb(0, j)))
                                .collect();
                            let rr: Vec<f64> = (0..h)
                                .map(|j| sig(xw(1, j) + lin(1, j, &hs, r, h) + rb(1, j)))
                                .collect();
                            let rh: Vec<f64> = (0..h).map(|j| rr[j] * hs[j]).collect();
                            let nh = (0..h)
                                .map(|j| {
                                    let cand = if lbr {
                                        (xw(2, j) + rr[j] * (lin(2, j, &hs, r, h) + rb(2, j)))
                                            .tanh()
                                    } else {
                                        (xw(2, j) + lin(2, j, &rh, r, h) + rb(2, j)).tanh()
                                    };
                                    (1.0 - z[j]) * cand + z[j] * hs[j]
                                })
                                .collect();
                            (nh, cs.clone())
                        }
                    };
                    hs = nh;
                    cs = nc;
                    for j in 0..h {
                        let at = if self.batch_first {
                            ((b * t_len + t) * self.dirs + d) * h + j
                        } else {
                            ((t * self.dirs + d) * n + b) * h + j
                        };
                        y[at] = hs[j];
                    }
                }
                for j in 0..h {
                    let at = if self.batch_first {
                        (b * self.dirs + d) * h + j
                    } else {
                        (d * n + b) * h + j
                    };
                    yh[at] = hs[j];
                    yc[at] = cs[j];
                }
            }
        }
        [y, yh, yc]
    }

    /// The node as a model: `x` (and `h0` when fed) in, `Y`, `Y_h` (and `Y_c`) out.
    fn model(&self, attrs: Vec<AttributeProto>, seq_lens: Option<Vec<i32>>) -> Vec<u8> {
        let g = self.cell.gates();
        let (d, h) = (self.dirs, self.h);
        let mut inits = vec![
            init("W", &[d, g * h, self.i], &self.w),
            init("R", &[d, g * h, h], &self.r),
        ];
        let mut ins = vec!["x".to_owned(), "W".into(), "R".into()];
        let mut opt = |name: &str, t: Option<TensorProto>, ins: &mut Vec<String>| match t {
            Some(t) => {
                inits.push(t);
                ins.push(name.into());
            }
            None => ins.push(String::new()),
        };
        opt(
            "B",
            self.b.as_ref().map(|b| init("B", &[d, 2 * g * h], b)),
            &mut ins,
        );
        let sl = seq_lens.map(|v| TensorProto {
            name: "L".into(),
            dims: vec![v.len() as i64],
            data_type: 6,
            int32_data: v,
            ..Default::default()
        });
        opt("L", sl, &mut ins);
        let ss = self.state_shape();
        if self.h0_input {
            ins.push("h0".into());
        } else {
            opt("h0", self.h0.as_ref().map(|s| init("h0", &ss, s)), &mut ins);
        }
        if self.cell == Cell::Lstm {
            opt("c0", self.c0.as_ref().map(|s| init("c0", &ss, s)), &mut ins);
            opt(
                "P",
                self.p.as_ref().map(|p| init("P", &[d, 3 * h], p)),
                &mut ins,
            );
        }
        while ins.last().is_some_and(String::is_empty) {
            ins.pop();
        }
        let mut attrs = attrs;
        attrs.push(int("hidden_size", h as i64));
        if self.batch_first {
            attrs.push(int("layout", 1));
        }
        if d == 2 {
            attrs.push(string("direction", "bidirectional"));
        } else if self.reverse {
            attrs.push(string("direction", "reverse"));
        }
        let outs: Vec<String> = match self.cell {
            Cell::Lstm => vec!["Y".into(), "Y_h".into(), "Y_c".into()],
            _ => vec!["Y".into(), "Y_h".into()],
        };
        let mut inputs = vec![vi("x", Some(&self.x_shape()))];
        if self.h0_input {
            inputs.push(vi("h0", Some(&ss)));
        }
        if let Cell::Gru { lbr: true } = self.cell {
            attrs.push(int("linear_before_reset", 1));
        }
        ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 14,
            }],
            graph: Some(GraphProto {
                node: vec![NodeProto {
                    input: ins,
                    output: outs.clone(),
                    name: "rec".into(),
                    op_type: self.cell.op().into(),
                    attribute: attrs,
                    ..Default::default()
                }],
                name: "g".into(),
                initializer: inits,
                input: inputs,
                output: outs.iter().map(|o| vi(o, None)).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// Imports the node and runs the float reference: `Y`, `Y_h` (and `Y_c`).
    fn run(&self) -> Vec<FTensor> {
        let g = vouch_onnx::import(&self.model(vec![], None), &Default::default()).unwrap();
        let mut feeds = vec![FTensor {
            shape: self.x_shape(),
            data: self.x(),
        }];
        if self.h0_input {
            feeds.push(FTensor {
                shape: self.state_shape(),
                data: self.h0.clone().unwrap(),
            });
        }
        let values = vouch_quant::float::run(&g, feeds).unwrap();
        g.outputs.iter().map(|&o| values[o].clone()).collect()
    }

    /// The float reference of the lowered node equals ONNX's equations.
    fn check(&self) {
        let got = self.run();
        let want = self.reference();
        let d = self.dirs;
        let shapes = if self.batch_first {
            [
                vec![self.n, self.t, d, self.h],
                self.state_shape(),
                self.state_shape(),
            ]
        } else {
            [
                vec![self.t, d, self.n, self.h],
                self.state_shape(),
                self.state_shape(),
            ]
        };
        assert_eq!(got.len(), if self.cell == Cell::Lstm { 3 } else { 2 });
        for (k, g) in got.iter().enumerate() {
            assert_eq!(g.shape, shapes[k], "{:?} output {k} shape", self.cell);
            for (e, (a, b)) in g.data.iter().zip(&want[k]).enumerate() {
                assert!(
                    (f64::from(*a) - b).abs() < 1e-5,
                    "{:?} dirs {} output {k} element {e}: {a} vs {b}",
                    self.cell,
                    self.dirs
                );
            }
        }
    }
}

fn vi(name: &str, shape: Option<&[usize]>) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: shape.map(|s| TensorShapeProto {
                    dim: s
                        .iter()
                        .map(|&d| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
                            denotation: String::new(),
                        })
                        .collect(),
                }),
            })),
            denotation: String::new(),
        }),
        doc_string: String::new(),
    }
}

#[test]
fn lstm_every_direction_and_layout() {
    for batch_first in [false, true] {
        Case::new(Cell::Lstm, 1, batch_first).check();
        Case::new(Cell::Lstm, 2, batch_first)
            .with_bias()
            .with_states()
            .check();
        let mut rev = Case::new(Cell::Lstm, 1, batch_first).with_bias();
        rev.reverse = true;
        rev.check();
    }
}

#[test]
fn lstm_peepholes_and_initial_states() {
    for dirs in [1, 2] {
        let mut c = Case::new(Cell::Lstm, dirs, false).with_bias().with_states();
        c.p = Some(data(dirs * 3 * c.h, 7, 0.8));
        c.check();
        // peepholes from a zero cell state
        c.c0 = None;
        c.h0 = None;
        c.check();
    }
}

#[test]
fn gru_both_forms_every_direction() {
    for lbr in [false, true] {
        for batch_first in [false, true] {
            Case::new(Cell::Gru { lbr }, 1, batch_first)
                .with_bias()
                .check();
            Case::new(Cell::Gru { lbr }, 2, batch_first)
                .with_bias()
                .with_states()
                .check();
            let mut rev = Case::new(Cell::Gru { lbr }, 1, batch_first).with_states();
            rev.reverse = true;
            rev.check();
        }
    }
}

#[test]
fn rnn_every_direction() {
    for batch_first in [false, true] {
        Case::new(Cell::Rnn, 1, batch_first).with_bias().check();
        Case::new(Cell::Rnn, 2, batch_first).with_states().check();
    }
}

#[test]
fn a_computed_initial_state_is_read() {
    for cell in [Cell::Gru { lbr: false }, Cell::Rnn, Cell::Lstm] {
        for dirs in [1, 2] {
            for batch_first in [false, true] {
                let mut c = Case::new(cell, dirs, batch_first).with_bias().with_states();
                c.h0_input = true;
                c.check();
            }
        }
    }
}

/// The import error of `case`'s node with `attrs` (and `sequence_lens`).
fn refusal(case: &Case, attrs: Vec<AttributeProto>, seq_lens: Option<Vec<i32>>) -> String {
    vouch_onnx::import(&case.model(attrs, seq_lens), &Default::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn unsupported_forms_are_refused_naming_node_op_and_form() {
    let lstm = Case::new(Cell::Lstm, 1, false);
    let e = refusal(&lstm, vec![one_node::float("clip", 3.0)], None);
    assert!(
        e.contains("`rec`") && e.contains("LSTM") && e.contains("clip"),
        "{e}"
    );
    let e = refusal(&lstm, vec![int("input_forget", 1)], None);
    assert!(e.contains("`rec`") && e.contains("input_forget"), "{e}");
    let e = refusal(&lstm, vec![], Some(vec![4, 3]));
    assert!(e.contains("LSTM"), "{e}");
    assert!(e.contains("sequence_lens that vary"), "{e}");
    let acts = AttributeProto {
        name: "activations".into(),
        r#type: 8,
        strings: vec![
            b"Sigmoid".to_vec(),
            b"ScaledTanh".to_vec(),
            b"Tanh".to_vec(),
        ],
        ..Default::default()
    };
    let e = refusal(&lstm, vec![acts], None);
    assert!(e.contains("activation \"ScaledTanh\""), "{e}");
    let alpha = AttributeProto {
        name: "activation_alpha".into(),
        r#type: 6,
        floats: vec![0.5],
        ..Default::default()
    };
    let e = refusal(&Case::new(Cell::Rnn, 1, false), vec![alpha], None);
    assert!(e.contains("RNN") && e.contains("activation_alpha"), "{e}");
    // a constant sequence_lens equal to the length everywhere is the whole sequence
    let g = vouch_onnx::import(&lstm.model(vec![], Some(vec![4, 4])), &Default::default());
    assert!(g.is_ok(), "{:?}", g.err());
}

#[test]
fn a_symbolic_sequence_length_is_refused() {
    let c = Case::new(Cell::Gru { lbr: false }, 1, false);
    let mut model = ModelProto::decode(c.model(vec![], None).as_slice()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let Some(type_proto::Value::TensorType(tt)) = graph.input[0]
        .r#type
        .as_mut()
        .and_then(|t| t.value.as_mut())
    else {
        panic!("tensor input")
    };
    tt.shape.as_mut().unwrap().dim[0].value =
        Some(tensor_shape_proto::dimension::Value::DimParam("T".into()));
    let e = vouch_onnx::import(&model.encode_to_vec(), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`rec`") && e.contains("GRU") && e.contains("symbolic sequence length"),
        "{e}"
    );
}
