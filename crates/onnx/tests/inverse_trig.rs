//! `Tan`, `Asin`, `Acos`, `Atanh`, `Acosh`, `Shrink` and `Swish` are functions of one argument:
//! one `Map` node each (the quantizer tabulates it), with the ONNX meaning in `f32`.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{A, imp, input, model, node};
use vouch_onnx::{FOp, ScalarFn};

fn lowered(op: &str, attrs: Vec<A<'_>>) -> ScalarFn {
    let m = model(
        24,
        vec![node(op, &["x"], &["y"], attrs)],
        vec![],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    match g.nodes.as_slice() {
        [n] => match n.op {
            FOp::Map { f } => f,
            ref other => panic!("{op}: {other:?}"),
        },
        other => panic!("{op}: {other:?}"),
    }
}

#[test]
fn each_is_one_map_with_its_attributes() {
    assert_eq!(lowered("Tan", vec![]), ScalarFn::Tan);
    assert_eq!(lowered("Asin", vec![]), ScalarFn::Asin);
    assert_eq!(lowered("Acos", vec![]), ScalarFn::Acos);
    assert_eq!(lowered("Atanh", vec![]), ScalarFn::Atanh);
    assert_eq!(lowered("Acosh", vec![]), ScalarFn::Acosh);
    assert_eq!(
        lowered("Shrink", vec![]),
        ScalarFn::Shrink {
            lambd: 0.5,
            bias: 0.0
        }
    );
    assert_eq!(
        lowered("Shrink", vec![A::F("lambd", 1.5), A::F("bias", 1.5)]),
        ScalarFn::Shrink {
            lambd: 1.5,
            bias: 1.5
        }
    );
    assert_eq!(lowered("Swish", vec![]), ScalarFn::Swish { alpha: 1.0 });
    assert_eq!(
        lowered("Swish", vec![A::F("alpha", 0.5)]),
        ScalarFn::Swish { alpha: 0.5 }
    );
}

#[test]
fn values_follow_the_onnx_definitions() {
    let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
    let shrink = ScalarFn::Shrink {
        lambd: 1.5,
        bias: 1.5,
    };
    let got: Vec<f32> = [-2.0, -1.0, 0.0, 1.0, 2.0]
        .iter()
        .map(|&x| shrink.apply(x))
        .collect();
    assert_eq!(got, [-0.5, 0.0, 0.0, 0.0, 0.5]);
    // x · σ(αx): σ(0.5 · 2) = 0.7310586
    assert!(close(
        ScalarFn::Swish { alpha: 0.5 }.apply(2.0),
        2.0 * 0.731_058_6
    ));
    assert!(close(
        ScalarFn::Acos.apply(0.0),
        std::f32::consts::FRAC_PI_2
    ));
    assert!(close(
        ScalarFn::Asin.apply(1.0),
        std::f32::consts::FRAC_PI_2
    ));
    assert!(close(ScalarFn::Tan.apply(std::f32::consts::FRAC_PI_4), 1.0));
    assert!(close(ScalarFn::Atanh.apply(0.5), 0.549_306_1));
    assert!(close(ScalarFn::Acosh.apply(1.0), 0.0));
    assert!(ScalarFn::Acosh.apply(0.5).is_nan() && ScalarFn::Asin.apply(1.5).is_nan());
}
