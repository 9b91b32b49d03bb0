//! Functions of one argument quantize to a `Lut` whose output scale fits the table
//! (`docs/semantics.md` section 5): checked on the edges a table must handle — a pole
//! (`ln 0 = -inf` saturates), a domain error (`ln` of a negative is NaN, stored as 0), and the
//! values in between within half an input step through `f` plus half an output step.

use vouch_engine::{Engine, Options};
use vouch_model::{Kind, Op};
use vouch_onnx::{Dim, FGraph, FNode, FOp, Operand, ScalarFn, ValueInfo};
use vouch_quant::{FTensor, Precision};

fn one_node(f: ScalarFn) -> FGraph {
    let info = |name: &str| ValueInfo {
        name: name.to_owned(),
        shape: vec![Dim::Batch, Dim::Fixed(6)],
        imputation: None,
        integer: None,
        grid: None,
        declared_range: None,
    };
    FGraph {
        values: vec![info("x"), info("y")],
        consts: vec![],
        nodes: vec![FNode {
            name: f.onnx_name().to_owned(),
            op: FOp::Map { f },
            inputs: vec![Operand::Value(0)],
            output: 1,
        }],
        inputs: vec![0],
        outputs: vec![1],
        ..Default::default()
    }
}

fn run(f: ScalarFn, precision: Precision, x: &[f32]) -> (vouch_model::Package, Vec<f64>) {
    let g = one_node(f);
    let cal = vec![FTensor {
        shape: vec![1, x.len()],
        data: x.to_vec(),
    }];
    let pkg = vouch_quant::import_at(&g, cal.clone(), "t", [0; 32], precision, |_| {}).unwrap();
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(&pkg, &cal))
        .unwrap();
    let y = vouch_quant::dequantize(&pkg, 0, &out.outputs[0]);
    (pkg, y)
}

#[test]
fn log_saturates_at_zero_and_stores_nan_as_zero() {
    let x = [-2.0, -0.5, 0.0, 0.5, 1.0, 4.0];
    let (pkg, y) = run(ScalarFn::Log, Precision::Int8, &x);
    let lut = pkg
        .nodes
        .iter()
        .find_map(|n| match n.op {
            Op::Lut { table } => Some(table),
            _ => None,
        })
        .expect("a Lut node");
    let table = &pkg.consts[lut as usize].data;
    assert_eq!(table.len(), 256);
    assert_eq!(table[128], -128, "ln 0 = -inf saturates");
    assert!(
        table[..128].iter().all(|&t| t == 0),
        "ln of a negative is NaN: 0"
    );
    let out = &pkg.values[pkg.outputs[0].value as usize];
    assert_eq!(out.kind, Kind::Act8);
    let s_z = out.scale;
    assert_eq!((y[0], y[1]), (0.0, 0.0));
    assert!(
        (y[2] + 128.0 * s_z).abs() < 1e-12,
        "ln 0 is the lowest step: {}",
        y[2]
    );
    // x = 0.5, 1, 4: within half an input step through ln plus half an output step
    let s_x = 4.0 / 127.0;
    for (i, &v) in x.iter().enumerate().skip(3) {
        let want = f64::from(v).ln();
        let slope = 1.0 / (f64::from(v) - s_x / 2.0);
        let bound = slope * s_x / 2.0 + s_z / 2.0 + 1e-9;
        assert!(
            (y[i] - want).abs() <= bound,
            "ln {v}: {} vs {want} (bound {bound})",
            y[i]
        );
    }
}

#[test]
fn a_table_covers_its_range_at_either_precision() {
    let x = [-3.0, -1.0, -0.2, 0.0, 0.7, 3.0];
    for precision in [Precision::Int8, Precision::Int16] {
        for f in [
            ScalarFn::HardSwish,
            ScalarFn::Elu { alpha: 1.0 },
            ScalarFn::Exp,
            ScalarFn::Gelu { tanh: false },
        ] {
            let (pkg, y) = run(f, precision, &x);
            let s_z = pkg.values[pkg.outputs[0].value as usize].scale;
            for (&v, &got) in x.iter().zip(&y) {
                let want = f64::from(f.apply(v));
                // exp has the steepest slope here (e^3): half an input step through it
                let bound = 20.1 * (3.0 / 127.0) / 2.0 + s_z / 2.0;
                assert!(
                    (got - want).abs() <= bound,
                    "{f:?} at {precision:?}: f({v}) = {got}, want {want}"
                );
            }
        }
    }
}

/// The table of the package's one `Lut` and its output kind.
fn lut(pkg: &vouch_model::Package) -> (Vec<i32>, Kind) {
    let t = pkg
        .nodes
        .iter()
        .find_map(|n| match n.op {
            Op::Lut { table } => Some(table),
            _ => None,
        })
        .expect("a Lut node");
    let out = &pkg.values[pkg.outputs[0].value as usize];
    (pkg.consts[t as usize].data.clone(), out.kind)
}

/// A map at 16 bits is a `2^16`-entry table; a step (`x > 0`) is exactly `0` or `1` at scale
/// 1, so values a few thousandths from 0 fall on their side; at 8 bits it is the ordinary
/// 256-entry table.
#[test]
fn a_fine_step_is_exact_on_either_side_of_zero() {
    let x = [-3.0, -2e-3, 0.0, 2e-3, 0.5, 3.0];
    let step = ScalarFn::Greater { than: 0.0 };
    let (pkg, y) = run(step, Precision::Int16, &x);
    let (table, kind) = lut(&pkg);
    assert_eq!((table.len(), kind), (65_536, Kind::Act16));
    assert!(table.iter().all(|&t| t == 0 || t == 1));
    assert_eq!(y, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let (pkg, _) = run(step, Precision::Int8, &x);
    assert_eq!(lut(&pkg).0.len(), 256);
}

/// `e^x` at 16 bits on exponents up to 0 keeps each value within about `1e-3` of its size (the
/// 8-bit table of these inputs is off by up to a tenth), at an `act16` output scale no
/// coarser than twice the calibrated largest value: the window's positive half saturates.
#[test]
fn a_fine_exp_is_relative_and_saturates_past_its_calibration() {
    let x = [-12.0, -5.0, -1.0, -0.3, -0.01, 0.0];
    let (pkg, y) = run(ScalarFn::Exp, Precision::Int16, &x);
    let (table, kind) = lut(&pkg);
    assert_eq!((table.len(), kind), (65_536, Kind::Act16));
    let s_z = pkg.values[pkg.outputs[0].value as usize].scale;
    assert!(s_z <= 2.0 / 32767.0 + 1e-12, "{s_z}");
    assert_eq!(table.last(), Some(&32767), "e^24 saturates");
    for (&v, &got) in x.iter().zip(&y) {
        let want = f64::from(v).exp();
        let bound = want * 1e-3 + s_z / 2.0;
        assert!((got - want).abs() <= bound, "e^{v}: {got} vs {want}");
    }
    let (_, coarse) = run(ScalarFn::Exp, Precision::Int8, &x);
    let worst = coarse
        .iter()
        .zip(&x)
        .map(|(g, &v)| (g - f64::from(v).exp()).abs())
        .fold(0f64, f64::max);
    assert!(worst > 1e-2, "the 8-bit table is coarse: {worst}");
}
