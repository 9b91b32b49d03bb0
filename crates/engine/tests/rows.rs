//! Several rows are the rows run one by one, end to end (`docs/semantics.md` sections 1 and
//! 8.5), whether or not the package is row-separable: the engine runs a separable package on
//! batched shapes and any other package row by row.

use vouch_engine::vectors::{Case, Rng};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Dim, Kind, Op, Package, ReduceMode, Requant};

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

#[test]
fn transpose_moving_the_batch_axis_runs_row_by_row() {
    let mut r = Rng::new(7);
    let rows = 3;
    let x = r.act8(&[rows, 2, 5]);
    let case = Case {
        name: "t".into(),
        op: Op::Transpose {
            perm: vec![1, 0, 2],
        },
        inputs: vec![x.clone()],
        consts: vec![],
        out_shape: vec![2, rows, 5],
        out_kind: Kind::Act8,
    };
    let pkg = with_batch(&case, 0, 1);
    assert!(pkg.takes_rows());
    assert!(!pkg.row_separable(), "the batch axis moves");
    let out = assert_rows_end_to_end(&pkg, &x, rows);
    assert_eq!(out.shape, vec![2, rows, 5], "declared shape at {rows} rows");
    // a batched transpose would interleave the rows: the definition does not
    let batched = case.run_with_threads(1).unwrap();
    assert_ne!(
        out.data, batched.data,
        "row by row differs from a batched transpose"
    );
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
