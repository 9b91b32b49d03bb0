//! Several rows are the rows run one by one, end to end (`docs/semantics.md` sections 1 and
//! 8.5), whether or not the package is row-separable: the engine runs a separable package on
//! batched shapes and any other package row by row.

use vouch_engine::vectors::{Case, Rng};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Const, Dim, Kind, Node, Op, Operand, Package, ReduceMode, Requant, TensorInfo};

/// `case`'s package with the batch dimension at `input_axis` of input 0 and `output_axis` of
/// the output.
fn with_batch(case: &Case, input_axis: usize, output_axis: usize) -> Package {
    let mut pkg = case.package();
    let out = pkg.outputs[0].value as usize;
    let inp = pkg.inputs[0].value as usize;
    pkg.values[inp].shape[input_axis] = Dim::Batch;
    pkg.values[out].shape[output_axis] = Dim::Batch;
    pkg.validate().unwrap();
    pkg
}

fn run(pkg: &Package, inputs: Vec<Tensor>, threads: usize) -> (Tensor, Vec<Tensor>) {
    let mut ex = Engine::new(
        pkg,
        Options {
            threads,
            trace: true,
        },
    )
    .unwrap()
    .run(inputs)
    .unwrap();
    (ex.outputs.remove(0), ex.trace)
}

/// Row `r` of `rows` of a tensor whose batch dimension is axis 0.
fn row(t: &Tensor, rows: usize, r: usize) -> Tensor {
    let per = t.data.len() / rows;
    let mut shape = t.shape.clone();
    shape[0] = 1;
    Tensor {
        shape,
        data: t.data[r * per..(r + 1) * per].to_vec(),
    }
}

/// The output of `rows` rows equals the single-row outputs end to end, and so does the trace.
fn assert_rows_end_to_end(pkg: &Package, input: &Tensor, rows: usize) -> Tensor {
    for threads in [1, 2] {
        let (all, trace) = run(pkg, vec![input.clone()], threads);
        let mut expect = Vec::new();
        for r in 0..rows {
            expect.extend(run(pkg, vec![row(input, rows, r)], 1).0.data);
        }
        assert_eq!(all.data, expect, "rows end to end ({threads} threads)");
        assert_eq!(
            trace.last().unwrap().data,
            expect,
            "trace ends with the output"
        );
        if threads == 2 {
            return all;
        }
    }
    unreachable!()
}

/// `pkg` with one more node: `op` on its output (and `consts`, appended to the package's, as
/// operands when `operands`, else read through `op`'s constant ids), giving the new graph
/// output, shaped `shape`.
fn append(
    mut pkg: Package,
    op: Op,
    consts: Vec<Tensor>,
    operands: bool,
    shape: Vec<Dim>,
) -> Package {
    let prev = pkg.outputs[0].value;
    let kind = pkg.values[prev as usize].kind;
    let mut inputs = vec![Operand::Value(prev)];
    for (i, t) in consts.into_iter().enumerate() {
        if operands {
            inputs.push(Operand::Const(pkg.consts.len() as u32));
        }
        pkg.consts.push(Const {
            name: format!("k{i}"),
            scale: 1.0,
            shape: t.shape.iter().map(|&d| d as u32).collect(),
            data: t.data,
        });
    }
    pkg.values.push(TensorInfo {
        name: "y".into(),
        kind,
        scale: 1.0,
        shape,
    });
    let output = (pkg.values.len() - 1) as u32;
    pkg.nodes.push(Node {
        name: "second".into(),
        op,
        inputs,
        output,
    });
    pkg.outputs[0].value = output;
    pkg.validate().unwrap();
    pkg
}

/// `[N, 2, 5]` to `[2, N, 5]`: the batch axis moves to axis 1.
fn transpose_case(x: &Tensor, rows: usize) -> Case {
    Case {
        name: "t".into(),
        op: Op::Transpose {
            perm: vec![1, 0, 2],
        },
        inputs: vec![x.clone()],
        consts: vec![],
        out_shape: vec![2, rows, 5],
        out_kind: Kind::Act8,
    }
}

#[test]
fn transpose_moving_the_batch_axis_is_separable_with_rows_end_to_end() {
    let mut r = Rng::new(7);
    let rows = 3;
    let x = r.act8(&[rows, 2, 5]);
    let case = transpose_case(&x, rows);
    let pkg = with_batch(&case, 0, 1);
    assert!(pkg.takes_rows());
    assert!(
        pkg.row_separable(),
        "a Transpose carries the batch axis along"
    );
    let out = assert_rows_end_to_end(&pkg, &x, rows);
    assert_eq!(out.shape, vec![2, rows, 5], "declared shape at {rows} rows");
    // the batched transpose interleaves the rows: the engine puts them end to end
    let batched = case.run_with_threads(1).unwrap();
    assert_ne!(
        out.data, batched.data,
        "row by row differs from a batched transpose"
    );
}

#[test]
fn a_linear_with_the_batch_on_axis_1_runs_batched() {
    let mut r = Rng::new(13);
    let rows = 4;
    let x = r.act8(&[rows, 2, 5]);
    let pkg = with_batch(&transpose_case(&x, rows), 0, 1);
    let linear = Op::Linear {
        weight: 0,
        bias: None,
        rq: Requant {
            m: 20_000,
            s: 18,
            lo: -128,
            hi: 127,
        },
        wide: false,
    };
    let w = r.tensor(&[3, 5], -127, 127);
    let shape = vec![Dim::Fixed(2), Dim::Batch, Dim::Fixed(3)];
    let pkg = append(pkg, linear, vec![w], false, shape);
    // ... and back to the batch first, through a Reshape that keeps each row's block
    let back = vec![Dim::Fixed(1), Dim::Fixed(2), Dim::Batch, Dim::Fixed(3)];
    let pkg = append(pkg, Op::Reshape, vec![], false, back);
    assert!(pkg.row_separable());
    assert_rows_end_to_end(&pkg, &x, rows);
    // a constant with 1 on the batch axis broadcasts within each row
    let c = r.tensor(&[2, 1, 3], -20, 20);
    let add = Op::Add {
        ma: 1,
        mb: 1,
        rq: Requant {
            m: 1,
            s: 0,
            lo: -128,
            hi: 127,
        },
    };
    let shape = vec![Dim::Fixed(1), Dim::Fixed(2), Dim::Batch, Dim::Fixed(3)];
    let pkg = append(pkg, add, vec![c], true, shape);
    assert!(pkg.row_separable());
    assert_rows_end_to_end(&pkg, &x, rows);
}

#[test]
fn a_reshape_mixing_the_moved_batch_axis_runs_row_by_row() {
    let mut r = Rng::new(14);
    let rows = 3;
    let x = r.act8(&[rows, 2, 5]);
    let pkg = with_batch(&transpose_case(&x, rows), 0, 1);
    // [2, N, 5] to [N, 10]: each row's two blocks become one; batched, the rows would mix
    let pkg = append(
        pkg,
        Op::Reshape,
        vec![],
        false,
        vec![Dim::Batch, Dim::Fixed(10)],
    );
    assert!(pkg.takes_rows());
    assert!(!pkg.row_separable(), "the Reshape reads across rows");
    let out = assert_rows_end_to_end(&pkg, &x, rows);
    // row r is its input row, transposed and flattened
    for (i, v) in out.data.iter().enumerate() {
        let (row, j) = (i / 10, i % 10);
        let (a, c) = (j / 5, j % 5);
        assert_eq!(*v, x.data[row * 10 + a * 5 + c], "element {i}");
    }
}

#[test]
fn a_softmax_over_the_moved_batch_axis_is_not_separable() {
    let mut r = Rng::new(15);
    let rows = 3;
    let x = r.act8(&[rows, 2, 5]);
    let pkg = with_batch(&transpose_case(&x, rows), 0, 1);
    let softmax = Op::Softmax {
        axis: 1,
        table: 0,
        rq: Requant {
            m: 1,
            s: 0,
            lo: 0,
            hi: 255,
        },
    };
    let table = r.tensor(&[256], 1, 1 << 16);
    let shape = vec![Dim::Fixed(2), Dim::Batch, Dim::Fixed(5)];
    let pkg = append(pkg, softmax, vec![table], false, shape);
    assert!(!pkg.row_separable());
    assert_rows_end_to_end(&pkg, &x, rows);
}

#[test]
fn softmax_over_the_batch_axis_is_not_separable() {
    let mut r = Rng::new(8);
    let rows = 4;
    let x = r.act8(&[rows, 6]);
    let table = r.tensor(&[256], 1, 1 << 16);
    let case = Case {
        name: "s".into(),
        op: Op::Softmax {
            axis: 0,
            table: 0,
            rq: Requant {
                m: 1,
                s: 0,
                lo: 0,
                hi: 255,
            },
        },
        inputs: vec![x.clone()],
        consts: vec![table],
        out_shape: vec![rows, 6],
        out_kind: Kind::Act8,
    };
    let pkg = with_batch(&case, 0, 0);
    assert!(!pkg.row_separable());
    assert_rows_end_to_end(&pkg, &x, rows);
}

#[test]
fn linear_over_rows_is_separable_and_batched() {
    let mut r = Rng::new(9);
    let rows = 5;
    let x = r.act8(&[rows, 16]);
    let w = r.tensor(&[4, 16], -127, 127);
    let b = r.tensor(&[4], -3000, 3000);
    let case = Case {
        name: "l".into(),
        op: Op::Linear {
            weight: 0,
            bias: Some(1),
            rq: Requant {
                m: 20_000,
                s: 18,
                lo: -128,
                hi: 127,
            },
            wide: false,
        },
        inputs: vec![x.clone()],
        consts: vec![w, b],
        out_shape: vec![rows, 4],
        out_kind: Kind::Act8,
    };
    let pkg = with_batch(&case, 0, 0);
    assert!(pkg.row_separable());
    let out = assert_rows_end_to_end(&pkg, &x, rows);
    assert_eq!(
        out,
        case.run_with_threads(1).unwrap(),
        "batched shapes, same bits"
    );
}

#[test]
fn a_fixed_size_input_takes_one_row() {
    let mut r = Rng::new(10);
    let x = r.act8(&[2, 3]);
    let case = Case {
        name: "relu".into(),
        op: Op::Relu,
        inputs: vec![x],
        consts: vec![],
        out_shape: vec![2, 3],
        out_kind: Kind::Act8,
    };
    let mut pkg = case.package();
    assert!(!pkg.takes_rows(), "no batch dimension");
    // the batch dimension on axis 1 of the input: rows are not contiguous blocks
    let inp = pkg.inputs[0].value as usize;
    let out = pkg.outputs[0].value as usize;
    pkg.values[inp].shape[1] = Dim::Batch;
    pkg.values[out].shape[1] = Dim::Batch;
    assert!(!pkg.takes_rows());
    let err = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vec![r.act8(&[2, 3])])
        .unwrap_err();
    assert!(
        err.to_string().contains("one row at a time"),
        "clear error: {err}"
    );
}

/// A `Reduce` case of `mode` over `axes` of an `act8` input `x` (identity requantization).
fn reduce_case(x: &Tensor, mode: ReduceMode, axes: &[u32], out_shape: Vec<usize>) -> Case {
    Case {
        name: "reduce".into(),
        op: Op::Reduce {
            mode,
            axes: axes.to_vec(),
            keepdims: false,
            rq: Requant {
                m: 1,
                s: 0,
                lo: -128,
                hi: 127,
            },
        },
        inputs: vec![x.clone()],
        consts: vec![],
        out_shape,
        out_kind: Kind::Act8,
    }
}

#[test]
fn reduce_off_the_batch_axis_is_separable_and_over_it_refused() {
    let mut r = Rng::new(11);
    let rows = 3;
    let x = r.act8(&[rows, 4, 5]);
    let case = reduce_case(&x, ReduceMode::Mean, &[1, 2], vec![rows]);
    let pkg = with_batch(&case, 0, 0);
    assert!(pkg.row_separable());
    let out = assert_rows_end_to_end(&pkg, &x, rows);
    assert_eq!(out, case.run_with_threads(1).unwrap(), "batched, same bits");
    // reducing the batch axis: the package is refused, naming the node
    let case = reduce_case(&x, ReduceMode::Max, &[0, 1], vec![5]);
    let mut pkg = case.package();
    pkg.values[pkg.inputs[0].value as usize].shape[0] = Dim::Batch;
    let err = pkg.validate().unwrap_err().to_string();
    assert!(
        err.contains("reduce") && err.contains("batch axis 0"),
        "{err}"
    );
}

#[test]
fn reduce_packages_the_chain_cannot_judge_are_refused() {
    let mut r = Rng::new(12);
    let max = vouch_semantics::MAX_REDUCE_SPAN;
    // the largest span is accepted, one more element is not
    let x = r.act8(&[1, max]);
    reduce_case(&x, ReduceMode::Sum, &[1], vec![1])
        .package()
        .validate()
        .unwrap();
    let x = r.act8(&[1, max + 1]);
    let err = reduce_case(&x, ReduceMode::Sum, &[1], vec![1])
        .package()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("one-step"), "{err}");
    // a non-adjacent pair of axes spans the rows between them
    let x = r.act8(&[2, 15, 16]);
    let err = reduce_case(&x, ReduceMode::Min, &[0, 2], vec![15])
        .package()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("spans 256"), "{err}");
    // axes out of order
    let x = r.act8(&[2, 3]);
    assert!(
        reduce_case(&x, ReduceMode::Min, &[1, 0], vec![])
            .package()
            .validate()
            .is_err()
    );
}

/// `Linear`s whose weight constants are equal read one packed matrix; ones that differ
/// anywhere (here: the same shape and the same first element) each read their own.
#[test]
fn linears_share_packed_weights_only_when_every_weight_is_equal() {
    let mut r = Rng::new(16);
    let rows = 4;
    let x = r.act8(&[rows, 5]);
    let rq = Requant {
        m: 20_000,
        s: 18,
        lo: -128,
        hi: 127,
    };
    let linear = |weight| Op::Linear {
        weight,
        bias: None,
        rq,
        wide: false,
    };
    let first = r.tensor(&[5, 5], -127, 127);
    let mut second = r.tensor(&[5, 5], -127, 127);
    second.data[0] = first.data[0];
    assert_ne!(first.data, second.data);
    let one = |w: &Tensor, input: &Tensor| Case {
        name: "linear".into(),
        op: linear(0),
        inputs: vec![input.clone()],
        consts: vec![w.clone()],
        out_shape: vec![rows, 5],
        out_kind: Kind::Act8,
    };
    let shape = vec![Dim::Batch, Dim::Fixed(5)];
    for (w1, w2) in [(&first, &second), (&first, &first)] {
        // the two Linears chained, against each run alone on the other's output
        let pkg = append(
            with_batch(&one(w1, &x), 0, 0),
            linear(1),
            vec![w2.clone()],
            false,
            shape.clone(),
        );
        let (out, trace) = run(&pkg, vec![x.clone()], 1);
        let y1 = one(w1, &x).run_with_threads(1).unwrap();
        assert_eq!(trace[0].data, y1.data, "the first Linear");
        let y2 = one(w2, &y1).run_with_threads(1).unwrap();
        assert_eq!(out.data, y2.data, "the second Linear reads its own weights");
    }
}
