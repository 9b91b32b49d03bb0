//! `SpaceToDepth` and `DepthToSpace` lower to `Reshape`, `Transpose`, `Reshape` (the
//! permutation of their mode); `LpNormalization` to a row sum, a `Pow` table and a `Mul`;
//! `LpPool` to `Pow` tables around an `AveragePool` that counts the padding.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::{Error, FGraph, FOp};

fn one(op: &str, attrs: Vec<A<'_>>, dims: &[i64]) -> Result<FGraph, Error> {
    imp(&model(
        28,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            node(op, &["r"], &["y"], attrs),
        ],
        vec![],
        vec![input("x", dims)],
        &["y"],
    ))
}

fn perm(g: &FGraph) -> Vec<usize> {
    g.nodes
        .iter()
        .find_map(|n| match &n.op {
            FOp::Transpose { perm } => Some(perm.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn space_and_depth_are_a_rank_6_transpose_in_either_mode() {
    let crd = || vec![A::I("blocksize", 2), A::S("mode", "CRD")];
    let g = one("DepthToSpace", vec![A::I("blocksize", 2)], &[-1, 8, 2, 3]).unwrap();
    assert_eq!(ops(&g), ["Relu", "Reshape", "Transpose", "Reshape"]);
    assert_eq!(perm(&g), [0, 3, 4, 1, 5, 2]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(4), Fixed(6)]);
    let g = one("DepthToSpace", crd(), &[-1, 8, 2, 3]).unwrap();
    assert_eq!(perm(&g), [0, 1, 4, 2, 5, 3]);
    let g = one("SpaceToDepth", vec![A::I("blocksize", 2)], &[-1, 2, 4, 6]).unwrap();
    assert_eq!(perm(&g), [0, 3, 5, 1, 2, 4]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(8), Fixed(2), Fixed(3)]);
    let g = one("SpaceToDepth", crd(), &[-1, 2, 4, 6]).unwrap();
    assert_eq!(perm(&g), [0, 1, 3, 5, 2, 4]);
    // sizes that do not divide, and an unknown mode
    let bad = one("SpaceToDepth", vec![A::I("blocksize", 4)], &[-1, 2, 4, 6]);
    assert!(matches!(bad, Err(Error::Shape { .. })), "{bad:?}");
    let bad = one(
        "DepthToSpace",
        vec![A::I("blocksize", 2), A::S("mode", "XYZ")],
        &[-1, 8, 2, 3],
    );
    assert!(matches!(bad, Err(Error::BadAttribute { .. })), "{bad:?}");
}

#[test]
fn lp_normalization_is_a_row_sum_a_table_and_a_product() {
    let g = one("LpNormalization", vec![A::I("p", 2)], &[-1, 3]).unwrap();
    assert_eq!(ops(&g), ["Relu", "Mul", "Reduce", "Map", "Mul"]);
    let g = one(
        "LpNormalization",
        vec![A::I("p", 1), A::I("axis", 1)],
        &[-1, 3],
    )
    .unwrap();
    // |x| of a computed tensor is a Max of x and -x
    assert!(ops(&g).ends_with(&["Reduce".to_owned(), "Map".to_owned(), "Mul".to_owned()]));
    let bad = one("LpNormalization", vec![A::I("p", 3)], &[-1, 3]);
    match bad {
        Err(e @ Error::UnsupportedForm { .. }) => assert!(e.to_string().contains("p = 3"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn lp_pool_is_an_average_of_powers_to_the_one_over_p() {
    let g = one(
        "LpPool",
        vec![A::I("p", 3), A::Is("kernel_shape", &[2, 2])],
        &[-1, 1, 4, 4],
    )
    .unwrap();
    let names = ops(&g);
    // |x| of a computed tensor (a Max of x and -x), then x^3, the pool, x4 and the cube root
    assert!(
        names.ends_with(&["Map", "AveragePool", "Mul", "Map"].map(String::from)),
        "{names:?}"
    );
    let pool = g
        .nodes
        .iter()
        .find(|n| matches!(n.op, FOp::AveragePool { .. }))
        .unwrap();
    assert!(matches!(
        pool.op,
        FOp::AveragePool {
            count_include_pad: true,
            kernel: [2, 2],
            ..
        }
    ));
    let maps: Vec<_> = g
        .nodes
        .iter()
        .filter_map(|n| match n.op {
            FOp::Map { f } => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(
        maps,
        [
            vouch_onnx::ScalarFn::Pow { exponent: 3.0 },
            vouch_onnx::ScalarFn::Pow {
                exponent: 1.0 / 3.0
            }
        ]
    );
    // an even p needs no |x|
    let g = one(
        "LpPool",
        vec![A::Is("kernel_shape", &[2, 2])],
        &[-1, 1, 4, 4],
    )
    .unwrap();
    assert_eq!(ops(&g), ["Relu", "Map", "AveragePool", "Mul", "Map"]);
    let bad = one(
        "LpPool",
        vec![A::I("p", 0), A::Is("kernel_shape", &[2])],
        &[-1, 1, 4],
    );
    assert!(matches!(bad, Err(Error::UnsupportedForm { .. })), "{bad:?}");
}
