//! The linear-model fixtures `testdata/models/linear_*` (skl2onnx exports of scikit-learn
//! pipelines with default options): imported with their calibration rows, run by the integer
//! engine on the held-out `input.json` and compared with onnxruntime's outputs in
//! `expected.json`. Labels must agree on every row; probabilities and regression values
//! within the bound each test names (absolute for values below 1, relative above).
//! `cargo test -p vouch-quant --test linear -- --nocapture` prints the measured table.
#![allow(clippy::print_stdout)]

mod common;

use common::{check, dir};

/// Fixture `model` imported with its calibration rows, and those rows.
fn package(model: &str) -> (vouch_model::Package, Vec<vouch_quant::FTensor>) {
    let onnx = std::fs::read(dir(model).join("model.onnx")).unwrap();
    let g = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let cal = std::fs::read_to_string(dir(model).join("calibration.json")).unwrap();
    let cal = vouch_quant::calibration_from_json(&g, &serde_json::from_str(&cal).unwrap()).unwrap();
    (
        vouch_quant::import(&g, cal.clone(), model, [0; 32], |_| {}).unwrap(),
        cal,
    )
}

/// The features of a tabular input, read with one scale per feature (breast cancer's raw
/// features span 1e-3 to 4e3).
fn feature_scales(model: &str) -> usize {
    package(model).0.inputs[0].feature_scales.len()
}

/// The codec sends feature `k` of a row as the limbs `H` (element `k`) and `L` (element
/// `30 + k`) of `X = round(x / s_k) = 2^8 H + L`; the scales and limbs survive the package
/// bytes; a package whose scales or limbs do not fit its input is refused.
#[test]
fn feature_scales_are_the_codecs_and_the_packages() {
    let (pkg, cal) = package("linear_logreg_raw_bc");
    let fs = pkg.inputs[0].feature_scales.clone();
    assert_eq!(pkg.inputs[0].limb_bits, 8);
    let q = vouch_quant::quantize_inputs(&pkg, &cal);
    assert_eq!(q[0].shape, [cal[0].shape[0], 60]);
    for (j, &x) in cal[0].data.iter().enumerate() {
        let (r, k) = (j / 30, j % 30);
        let (h, l) = (q[0].data[r * 60 + k], q[0].data[r * 60 + 30 + k]);
        let want = (f64::from(x) / fs[k]).round();
        assert_eq!(f64::from(h) * 256.0 + f64::from(l), want, "element {j}");
        assert!(h.abs() <= 32767 && l.abs() <= 128, "element {j}: {h} {l}");
    }
    // the smallest feature (fractal dimension, about 0.1) keeps ten thousand steps (its small
    // weight gives it the coarsest limbs that keep its column exact, features.rs)
    let r9 = cal[0]
        .data
        .iter()
        .skip(9)
        .step_by(30)
        .fold(0f32, |m, v| m.max(v.abs()));
    assert!(f64::from(r9) / fs[9] > 10_000.0, "{r9} / {}", fs[9]);
    let back = vouch_model::Package::from_bytes(&pkg.to_bytes()).unwrap();
    assert_eq!(back.inputs[0].feature_scales, fs);
    assert_eq!(back.inputs[0].limb_bits, 8);
    let mut bad = pkg.clone();
    bad.inputs[0].feature_scales.pop();
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("feature scales"), "{e}");
    let mut bad = pkg.clone();
    bad.inputs[0].feature_scales[3] = 0.0;
    assert!(bad.validate().is_err());
    // one element per feature, or limbs past 14 bits, do not fit the 60-wide input
    for m in [0, 15] {
        let mut bad = pkg.clone();
        bad.inputs[0].limb_bits = m;
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("feature scales"), "limbs {m}: {e}");
    }
    // a one-scale input (iris) takes no limbs
    let (mut bad, _) = package("linear_logreg_iris");
    bad.inputs[0].limb_bits = 8;
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("limbs"), "{e}");
}

/// The limbs' arithmetic: `X = 2^m H + L` exactly, `|L| <= 2^(m-1)`, clamped at `±32767 2^m`,
/// NaN read as 0, halves rounded away from zero.
#[test]
fn limbs_split_exactly() {
    use vouch_task::codec::quantize_limbs;
    assert_eq!(quantize_limbs(1000.0, 0.001, 8), (3906, 64));
    assert_eq!(quantize_limbs(-1000.0, 0.001, 8), (-3906, -64));
    assert_eq!(quantize_limbs(0.5, 1.0, 8), (0, 1));
    assert_eq!(quantize_limbs(128.0, 1.0, 8), (1, -128));
    assert_eq!(quantize_limbs(1e30, 1.0, 8), (32767, 0));
    assert_eq!(quantize_limbs(-1e30, 1.0, 8), (-32767, 0));
    assert_eq!(quantize_limbs(f32::NAN, 1.0, 8), (0, 0));
    for i in -2000..2000 {
        let x = i as f32 * 0.37;
        let (h, l) = quantize_limbs(x, 0.01, 8);
        assert_eq!(h * 256 + l, (f64::from(x) / 0.01).round() as i32, "{x}");
        assert!(l.abs() <= 128, "{x}: {l}");
    }
}

/// StandardScaler + LogisticRegression: the scaler's `Mul` folds the per-feature input scales;
/// the probabilities go through the `2^16`-entry `Sigmoid` table of an output.
#[test]
fn standard_scaler_logistic_regression() {
    assert_eq!(feature_scales("linear_logreg_bc"), 30);
    check("linear_logreg_bc", 1e-3);
}

/// LogisticRegression on the raw features: the `Linear` folds them into its weight columns.
/// Its large weights on small features make it sensitive to the input step: 1.6e-3 measured
/// with one 16-bit element per feature (a float simulation put 8.8e-3 of logit error on the
/// inputs, 2.4e-3 on the weights); 4.6e-4 with two limbs per feature and each weight column's
/// largest value exact (features.rs).
#[test]
fn raw_feature_logistic_regression() {
    assert_eq!(feature_scales("linear_logreg_raw_bc"), 30);
    check("linear_logreg_raw_bc", 1e-3);
}

/// A linear SVM (hinge loss) after a StandardScaler: raw decision scores up to about 240. The
/// scaler folds into the `Linear` (4.8e-3 when its `Mul` and `Add` were requantized steps of
/// their own), and skl2onnx's `Concat(score · -1, score)` is one `Linear` of the stacked rows
/// (`lower/linear_stack.rs`), whose wide accumulator the `ArgMax` and the output read: 2.2e-3
/// measured (3.1e-3 when the `Linear`'s `act16` output fed the `Mul` by -1 and the `Concat`)
/// with one 16-bit element per feature; 2.1e-5 with two limbs per feature, whose binary
/// weights (a row and its negation) are then exact (features.rs).
#[test]
fn standard_scaler_linear_svm() {
    assert_eq!(feature_scales("linear_svc_bc"), 30);
    check("linear_svc_bc", 1e-4);
    every_mode("linear_svc_bc");
}

/// Multiclass LogisticRegression: the features' ranges are alike, one scale per tensor.
#[test]
fn multiclass_logistic_regression() {
    assert_eq!(feature_scales("linear_logreg_iris"), 0);
    check("linear_logreg_iris", 1e-3);
}

/// Ridge regression (ai.onnx.ml `LinearRegressor`).
#[test]
fn ridge_regression() {
    check("linear_ridge_diabetes", 1e-3);
}

/// SimpleImputer + StandardScaler + LogisticRegression on data with 5% missing values (JSON
/// `null`): the imputation is the client's first step, recorded in the package.
#[test]
fn imputer_then_logistic_regression() {
    let (pkg, cal) = package("linear_imputer_logreg_bc");
    assert!(pkg.inputs[0].imputation.is_some());
    assert!(
        cal[0].data.iter().any(|v| v.is_nan()),
        "the calibration has missing values"
    );
    check("linear_imputer_logreg_bc", 0.05);
}

/// A missing value (`null`) is read only where the package handles one: refused, naming the
/// input, for a model without an imputation or trees.
#[test]
fn a_missing_value_needs_a_model_that_handles_it() {
    let (pkg, _) = package("linear_logreg_bc");
    let row: Vec<serde_json::Value> = (0..30)
        .map(|i| {
            if i == 4 {
                serde_json::Value::Null
            } else {
                1.0.into()
            }
        })
        .collect();
    let input = serde_json::json!({ "X": [row] });
    let e = vouch_task::codec::package_inputs_from_json(&pkg, &input).unwrap_err();
    assert!(e.name == "X" && e.reason.contains("missing value"), "{e}");
    let (pkg, _) = package("linear_imputer_logreg_bc");
    let x = vouch_task::codec::package_inputs_from_json(&pkg, &input).unwrap();
    assert!(x[0].data[4].is_nan());
}

/// An SVC with the linear kernel after a StandardScaler (ai.onnx.ml `SVMClassifier`): the
/// support vectors and the scaler fold into one `Linear` of the raw features, whose wide
/// accumulator the label's `ArgMax` and the reversed scores `[-s, s]` (a `Select`) read; the
/// label is onnxruntime's (class 0 when the score is positive). 7.6e-4 measured (2.7e-3 with
/// the scaler's own `Mul` and `Add` steps and an `act16` score) with one 16-bit element per
/// feature, 2.7e-5 with two limbs per feature and exact weights.
#[test]
fn linear_kernel_svm_classifier() {
    assert_eq!(feature_scales("linear_svm_kernel_bc"), 30);
    check("linear_svm_kernel_bc", 1e-4);
}

/// An SVR with the linear kernel (ai.onnx.ml `SVMRegressor`).
#[test]
fn linear_kernel_svm_regressor() {
    check("linear_svr_diabetes", 1e-3);
}

/// A fixture's package takes every settlement mode: its ops (the `ai.onnx.ml` preprocessing
/// ones included) have the one-step verifier and the circuit.
fn every_mode(model: &str) {
    let (pkg, _) = package(model);
    for mode in vouch_task::Mode::ALL {
        vouch_task::modes::check_mode(&pkg, mode).unwrap_or_else(|e| panic!("{model}: {e}"));
    }
}

/// scikit-learn's default `Normalizer()` (l2, ai.onnx.ml `Normalizer` `L2`) on the raw
/// features, then LogisticRegression: the row's factor `1/√Σx²` is found twice (a coarse one,
/// then one of a norm near 1), each a `2^16`-entry table.
#[test]
fn l2_normalizer_logistic_regression() {
    check("linear_normalizer_logreg_bc", 1e-3);
    every_mode("linear_normalizer_logreg_bc");
}

/// StandardScaler, `Normalizer(norm="l1")` (mixed signs: `Σ |x|` as `Σ 2 relu(x) - x`),
/// LogisticRegression.
#[test]
fn scaler_l1_normalizer_logistic_regression() {
    check("linear_scaler_l1_logreg_bc", 1e-3);
    every_mode("linear_scaler_l1_logreg_bc");
}

/// `Normalizer(norm="max")` on the raw (non-negative) features, LogisticRegression.
#[test]
fn max_normalizer_logistic_regression() {
    check("linear_normalizer_max_logreg_bc", 1e-3);
    every_mode("linear_normalizer_max_logreg_bc");
}

/// StandardScaler, `Binarizer()` (ai.onnx.ml `Binarizer`, threshold 0), LogisticRegression: the
/// step is a `2^16`-entry table indexed by the scaled feature.
#[test]
fn binarizer_logistic_regression() {
    check("linear_binarizer_logreg_bc", 1e-3);
    every_mode("linear_binarizer_logreg_bc");
}

/// `post_transform` PROBIT on a `LinearClassifier`'s scores (set on skl2onnx's output, the
/// scores moved inside (0, 1)).
#[test]
fn probit_linear_classifier() {
    check("linear_probit_iris", 1e-3);
}

/// `post_transform` SOFTMAX_ZERO on a `LinearClassifier` with a fourth class whose coefficients
/// and intercept are 0 (set on skl2onnx's output): its score is always 0, its probability 0.
#[test]
fn softmax_zero_linear_classifier() {
    check("linear_softmax_zero_iris", 1e-3);
    every_mode("linear_softmax_zero_iris");
}

/// `post_transform` SOFTMAX_ZERO on skl2onnx's binary `LinearClassifier` (two rows of
/// coefficients, scores `[-s, s]`): onnxruntime's same softmax over the non-zero scores.
#[test]
fn softmax_zero_binary_linear_classifier() {
    check("linear_softmax_zero_bc", 1e-3);
    every_mode("linear_softmax_zero_bc");
}

/// An ai.onnx.ml `LabelEncoder` mapping the classes to themselves (keys out of order) after
/// the classifier's label: the identity, the label is the `ArgMax`.
#[test]
fn label_encoder_identity_after_the_label() {
    check("linear_label_encoder_iris", 1e-3);
}

/// LinearSVC on the raw features, converted with skl2onnx's default options (ai.onnx.ml
/// `LinearClassifier`, then the positive class's score column picked by an
/// `ArrayFeatureExtractor`, a `Select` of the wide scores). Like the raw-feature logistic
/// regression, its large weights on small features make it sensitive to the input step and
/// the weights' one 16-bit scale (a float simulation: 3.3e-3 from the inputs alone, 2.6e-3
/// from the weights alone): 3.9e-3 measured with one 16-bit element per feature, 2.3e-5 with
/// two limbs per feature and exact weights (features.rs).
#[test]
fn linear_svc_on_raw_features() {
    assert_eq!(feature_scales("linear_linearsvc_bc"), 30);
    check("linear_linearsvc_bc", 1e-4);
}
