//! The tree-ensemble fixtures `testdata/models/tree_*` (skl2onnx exports of scikit-learn
//! trees, forests and boosting): imported with their calibration rows, run by the integer
//! engine on the held-out `input.json` and compared with onnxruntime's outputs recorded in
//! `expected.json` by the generator. Labels must agree on every row, raw-score outputs
//! (regression values, the summed leaf probabilities of trees and forests) within 1e-3
//! relative, and no tree decision may differ from the float model's on the calibration rows.
//! `cargo test -p vouch-quant --test trees -- --nocapture` prints the measured table.
#![allow(clippy::print_stdout)]

mod common;

use common::{dir, measure};

fn check(model: &str, rel_bound: f64) {
    let m = measure(model);
    println!(
        "{model}: {} held-out rows, label agreement {}, max relative error {:.2e}, \
         differing decisions {} of {} on calibration rows",
        m.rows,
        m.label_agreement
            .map_or("-".into(), |a| format!("{:.4}", a)),
        m.rel_err,
        m.differing,
        m.walks
    );
    assert!(m.walks > 0, "{model}: no tree decisions compared");
    assert_eq!(
        m.differing, 0,
        "{model}: decisions differ from the float model"
    );
    if let Some(a) = m.label_agreement {
        assert_eq!(a, 1.0, "{model}: labels differ from onnxruntime's");
    }
    assert!(
        m.rel_err <= rel_bound,
        "{model}: error {} above {rel_bound}",
        m.rel_err
    );
}

#[test]
fn decision_tree_binary() {
    check("tree_dt_bc", 1e-3);
}

#[test]
fn random_forest_binary() {
    check("tree_rf_bc", 1e-3);
}

#[test]
fn random_forest_multiclass() {
    check("tree_rf_iris", 1e-3);
}

#[test]
fn gradient_boosting_regressor() {
    check("tree_gbr_diabetes", 1e-3);
}

/// Probabilities through the `2^16`-entry `Sigmoid` table of an output (semantics version 4).
#[test]
fn gradient_boosting_binary() {
    check("tree_gb_bc", 1e-3);
}

/// Probabilities through the fine softmax of a 16-bit output (`Reduce`, `Lut`s of `2^16`
/// entries and `Mul`, docs/semantics.md section 5); the scores and labels are exact.
#[test]
fn gradient_boosting_multiclass() {
    check("tree_gb_iris", 1e-3);
}

/// A `StandardScaler` before the trees (ai.onnx.ml `Scaler`): its thresholds move onto the raw
/// features, the Scaler disappears, the decisions stay exact.
#[test]
fn scaler_then_gradient_boosting() {
    let onnx = std::fs::read(dir("tree_scaler_gb_bc").join("model.onnx")).unwrap();
    let g = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let ops: Vec<String> = g
        .nodes
        .iter()
        .map(|n| format!("{:?}", n.op.family()))
        .collect();
    assert_eq!(
        ops,
        ["Tree", "Reduce", "Activation"],
        "the Scaler's Mul and Add are gone"
    );
    check("tree_scaler_gb_bc", 1e-3);
}

/// XGBoost through onnxmltools: `BRANCH_LT` splits, a `LOGISTIC` post-transform.
#[test]
fn xgboost_binary() {
    check("tree_xgb_bc", 1e-3);
}

/// XGBoost multiclass: one tree per class per round, `SOFTMAX`.
#[test]
fn xgboost_multiclass() {
    check("tree_xgb_iris", 1e-3);
}

/// LightGBM through onnxmltools: `BRANCH_LEQ` with missing values tracked, and the converter's
/// label `Cast` and probabilities `Mul` by one after the trees.
#[test]
fn lightgbm_binary() {
    check("tree_lgb_bc", 1e-3);
}

/// LightGBM multiclass.
#[test]
fn lightgbm_multiclass() {
    check("tree_lgb_iris", 1e-3);
}

/// CatBoost's own ONNX export: oblivious trees as `BRANCH_GT` splits, a `ZipMap` output.
#[test]
fn catboost_binary() {
    check("tree_cb_bc", 1e-3);
}

/// CatBoost multiclass.
#[test]
fn catboost_multiclass() {
    check("tree_cb_iris", 1e-3);
}

/// SimpleImputer + GradientBoosting on data with 5% missing values (JSON `null`): the trees
/// read the imputed features, and every decision is still the float model's.
#[test]
fn imputer_then_gradient_boosting() {
    check("tree_imputer_gb_bc", 1e-3);
}

/// The opset-5 `TreeEnsemble` (ai.onnx.ml 5): a RandomForest regressor's trees.
#[test]
fn opset5_tree_ensemble_regressor() {
    check("tree_v5_rf_diabetes", 1e-3);
}

/// The opset-5 `TreeEnsemble`: a zero-init GradientBoosting classifier's raw score.
#[test]
fn opset5_tree_ensemble_scores() {
    check("tree_v5_gb_bc", 1e-3);
}

/// `post_transform` PROBIT on a regressor's scores (set on skl2onnx's output, scores inside
/// (0, 1)): onnxruntime's probit as a `2^16`-entry table over the rescaled scores.
#[test]
fn probit_regressor() {
    check("tree_probit_rf_bc", 1e-3);
}

/// PROBIT on a 3-class forest's scores: the label is the `ArgMax` of the raw scores.
#[test]
fn probit_multiclass() {
    check("tree_probit_rf_iris", 1e-3);
}

/// `post_transform` SOFTMAX_ZERO on a 3-class forest (set on skl2onnx's output): a class no
/// reached leaf weighs scores exactly 0 in float and in the integer sum, and stays out of the
/// softmax (66 of the 114 held-out scores are zero).
#[test]
fn softmax_zero_multiclass() {
    check("tree_softmax_zero_rf_iris", 1e-3);
}

/// LightGBM with a categorical feature (onnxmltools: chains of `BRANCH_EQ` tests sharing their
/// true child, unfolded at import): the decisions stay exact.
#[test]
fn lightgbm_categorical() {
    check("tree_lgb_cat_bc", 1e-3);
}

/// Opset-5 set-membership roots (`BRANCH_MEMBER`, sets of one to three categories): chains of
/// `BRANCH_EQ` tests sharing their true child, unfolded at import.
#[test]
fn opset5_membership_splits() {
    check("tree_v5_member_bc", 1e-3);
}

/// scikit-learn's HistGradientBoostingClassifier (skl2onnx, with the generator's workaround for
/// its missing-value flags): onnxruntime's `LOGISTIC` binary form.
#[test]
fn hist_gradient_boosting_binary() {
    check("tree_hgb_bc", 1e-3);
}

/// HistGradientBoostingClassifier on data with 5% missing values: each branch's learned
/// missing-value direction (`nodes_missing_value_tracks_true`), the code -1 of a NaN.
#[test]
fn hist_gradient_boosting_missing_values() {
    check("tree_hgb_nan_bc", 1e-3);
}
