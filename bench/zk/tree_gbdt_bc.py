"""The bench's tree model: GradientBoostingClassifier(n_estimators=100, max_depth=6) on
scikit-learn's breast-cancer data (30 features), exported with skl2onnx defaults (ZipMap off, as
testdata/models/trees.py does), written as a model directory the bench reads like
testdata/models/<m>: model.onnx, calibration.json, input.json, expected.json, labels.json.

Deterministic (fixed seed), so the bench generates it instead of committing it.
Usage: tree_gbdt_bc.py OUT_DIR
"""

import os
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
sys.path.insert(0, os.path.join(ROOT, "testdata/models"))

import common  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402


def main(out):
    os.makedirs(out, exist_ok=True)
    xtr, xte, ytr, yte = common.sklearn_split("bc")
    model = GradientBoostingClassifier(n_estimators=100, max_depth=6, random_state=common.SEED)
    model.fit(xtr, ytr)
    onx = to_onnx(
        model,
        xtr[:1],
        options={id(model): {"zipmap": False}},
        target_opset={"": common.OPSET, "ai.onnx.ml": common.ML_OPSET},
    )
    path = os.path.join(out, "model.onnx")
    common.save_model(onx, path)
    name = onx.graph.input[0].name
    outs = common.write_fixture(out, path, name, common.calibration_rows(xtr), xte, labels=yte.astype(np.int64))
    nodes = sum(est.tree_.node_count for est in model.estimators_.ravel())
    print(
        f"tree_gbdt_bc: {len(model.estimators_)} trees, {nodes} nodes, "
        f"test accuracy {common.accuracy(outs['label'], yte):.4f} on {len(yte)} rows, "
        f"model.onnx {os.path.getsize(path) / 1024:.0f} KiB",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(sys.argv[1])
