//! A reduction along an axis longer than the one-step span (or of a large stride) is a tree of
//! `Reduce` stages (`vouch_onnx` `reduce_tree`): its float reference equals the direct sum,
//! mean and max of ONNX's definition; `GlobalMaxPool` is the maximum over the spatial axes.

#![allow(clippy::unwrap_used, missing_docs)]

mod one_node;

use one_node::ints;

/// `n` irregular values in about `[-1, 1]`.
fn data(n: usize) -> Vec<f32> {
    (0..n)
        .map(|k| ((k * 37 + 11) % 101) as f32 / 50.0 - 1.0 + (k % 7) as f32 * 0.01)
        .collect()
}

#[test]
fn a_tree_of_stages_is_the_reduction() {
    // [2, 512, 3] over axis 1: moved last, 512 = 4 x 128
    let (n, d, c) = (2, 512, 3);
    let x = data(n * d * c);
    for (op, f) in [
        (
            "ReduceSum",
            (|v: &[f64]| v.iter().sum()) as fn(&[f64]) -> f64,
        ),
        ("ReduceMean", |v| v.iter().sum::<f64>() / v.len() as f64),
        ("ReduceMax", |v| v.iter().copied().fold(f64::MIN, f64::max)),
    ] {
        let (shape, y) = one_node::run(
            11,
            op,
            &["x"],
            vec![ints("axes", &[1])],
            vec![],
            &[n, d, c],
            &x,
        );
        assert_eq!(shape, [n, 1, c], "{op}");
        for b in 0..n {
            for j in 0..c {
                let col: Vec<f64> = (0..d).map(|k| f64::from(x[(b * d + k) * c + j])).collect();
                let got = f64::from(y[b * c + j]);
                assert!(
                    (got - f(&col)).abs() < 1e-3,
                    "{op} [{b}, {j}]: {got} vs {}",
                    f(&col)
                );
            }
        }
    }
}

#[test]
fn global_max_pool_is_the_spatial_maximum() {
    let (n, ch, l) = (2, 3, 600);
    let x = data(n * ch * l);
    let (shape, y) = one_node::run(13, "GlobalMaxPool", &["x"], vec![], vec![], &[n, ch, l], &x);
    assert_eq!(shape, [n, ch, 1]);
    for (i, row) in x.chunks(l).enumerate() {
        let want = row.iter().copied().fold(f32::MIN, f32::max);
        assert_eq!(y[i], want, "row {i}");
    }
}
