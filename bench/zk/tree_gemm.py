"""A tensor-op (GEMM) form of a binary ai.onnx.ml TreeEnsembleClassifier, for EZKL, which reads
no ai.onnx.ml op. EZKL's documentation converts trees with hummingbird-ml; that package needs
PyTorch (gigabytes from PyPI), so this script writes hummingbird's GEMM strategy (Nakandala et
al., OSDI 2020) directly with onnx.helper, from the ONNX file:

    cond  = (X · A) <= B                 A [F, T·I] one-hot feature of each internal node, B thresholds
    leaf  = (cond_t · C_t) == D_t        C [T, I, L] +1 left subtree / -1 right subtree, D [T, 1, L]
    score = base + Σ_t leaf_t · E_t      E [T, L, 1] leaf values
    probabilities = [1 - σ(score), σ(score)]

(T trees padded to I internal nodes and L leaves; a padded leaf has D = -1 and never matches.)
Only the form skl2onnx writes for a binary GradientBoostingClassifier is handled (every branch
BRANCH_LEQ, one score, LOGISTIC); anything else is refused. The script checks that onnxruntime
gives the same probabilities (within 1e-5) on every row of the model directory's input.json,
and prints the largest difference.

Usage: tree_gemm.py MODEL_DIR OUT_DIR   (OUT_DIR gets model.onnx and copies of the JSON files)
"""

import json
import os
import shutil
import sys
from collections import defaultdict

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def convert(model):
    (node,) = [n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier"]
    a = attrs(node)
    if a["post_transform"] != b"LOGISTIC" or set(a["class_ids"]) != {0} or len(a["classlabels_int64s"]) != 2:
        sys.exit("tree_gemm.py: only a binary one-score LOGISTIC classifier is handled")
    if set(a["nodes_modes"]) != {b"BRANCH_LEQ", b"LEAF"} or any(a.get("nodes_missing_value_tracks_true", [])):
        sys.exit("tree_gemm.py: only BRANCH_LEQ without missing-value tracking is handled")
    n_features = model.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    trees = defaultdict(dict)
    for k in range(len(a["nodes_nodeids"])):
        trees[a["nodes_treeids"][k]][a["nodes_nodeids"][k]] = (
            a["nodes_modes"][k], a["nodes_featureids"][k], a["nodes_values"][k],
            a["nodes_truenodeids"][k], a["nodes_falsenodeids"][k])
    weight = defaultdict(float)
    for t, n, w in zip(a["class_treeids"], a["class_nodeids"], a["class_weights"]):
        weight[(t, n)] += w
    ids = sorted(trees)
    inner = {t: [n for n, v in sorted(trees[t].items()) if v[0] != b"LEAF"] for t in ids}
    leaves = {t: [n for n, v in sorted(trees[t].items()) if v[0] == b"LEAF"] for t in ids}
    T, I, L = len(ids), max(max(len(v) for v in inner.values()), 1), max(len(v) for v in leaves.values())
    A = np.zeros((n_features, T * I), np.float32)
    B = np.zeros((T * I,), np.float32)
    C = np.zeros((T, I, L), np.float32)
    D = np.full((T, 1, L), -1.0, np.float32)
    E = np.zeros((T, L, 1), np.float32)
    for ti, t in enumerate(ids):
        pos = {n: i for i, n in enumerate(inner[t])}
        for n in inner[t]:
            _, f, v, _, _ = trees[t][n]
            A[f, ti * I + pos[n]] = 1.0
            B[ti * I + pos[n]] = v
        for li, leaf in enumerate(leaves[t]):
            E[ti, li, 0] = weight[(t, leaf)]
        # walk from the root, recording each leaf's ancestors and sides
        root = min(trees[t])
        stack = [(root, [])]
        lpos = {n: i for i, n in enumerate(leaves[t])}
        while stack:
            n, path = stack.pop()
            mode, _, _, yes, no = trees[t][n]
            if mode == b"LEAF":
                for anc, left in path:
                    C[ti, pos[anc], lpos[n]] = 1.0 if left else -1.0
                D[ti, 0, lpos[n]] = float(sum(1 for _, left in path if left))
                continue
            stack.append((yes, path + [(n, True)]))
            stack.append((no, path + [(n, False)]))
    base = np.array([a["base_values"][0]], np.float32)
    init = [numpy_helper.from_array(x, name) for x, name in
            [(A, "A"), (B, "B"), (C, "C"), (D, "D"), (E, "E"), (base, "base"),
             (np.array([-1, T, I], np.int64), "shape"), (np.array([0], np.int64), "axis0"),
             (np.array([1.0], np.float32), "one")]]
    nodes = [
        helper.make_node("MatMul", ["X", "A"], ["xa"]),
        helper.make_node("LessOrEqual", ["xa", "B"], ["le"]),
        helper.make_node("Cast", ["le"], ["cond"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["cond", "shape"], ["cond3"]),
        helper.make_node("Transpose", ["cond3"], ["cond_t"], perm=[1, 0, 2]),
        helper.make_node("MatMul", ["cond_t", "C"], ["paths"]),
        helper.make_node("Equal", ["paths", "D"], ["hit"]),
        helper.make_node("Cast", ["hit"], ["leaf"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["leaf", "E"], ["per_tree"]),
        helper.make_node("ReduceSum", ["per_tree", "axis0"], ["sum"], keepdims=0),
        helper.make_node("Add", ["sum", "base"], ["score"]),
        helper.make_node("Sigmoid", ["score"], ["p1"]),
        helper.make_node("Sub", ["one", "p1"], ["p0"]),
        helper.make_node("Concat", ["p0", "p1"], ["probabilities"], axis=1),
    ]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", n_features])
    y = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2])
    g = helper.make_graph(nodes, "tree_gemm", [x], [y], init)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m, (T, I, L)


def main(src, out):
    os.makedirs(out, exist_ok=True)
    model = onnx.load(os.path.join(src, "model.onnx"))
    gemm, (T, I, L) = convert(model)
    path = os.path.join(out, "model.onnx")
    onnx.save(gemm, path)
    for f in ("input.json", "calibration.json", "expected.json", "labels.json"):
        if os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), os.path.join(out, f))
    inp = json.load(open(os.path.join(src, "input.json")))
    name = next(iter(inp))
    x = np.array(inp[name], np.float32)
    want = ort.InferenceSession(os.path.join(src, "model.onnx")).run(["probabilities"], {name: x})[0]
    got = ort.InferenceSession(path).run(None, {"X": x})[0]
    diff = float(np.max(np.abs(got - want)))
    print(f"tree_gemm: {T} trees padded to {I} internal nodes and {L} leaves; "
          f"max |gemm - onnx-ml| over {len(x)} rows {diff:.2e}", file=sys.stderr)
    if diff > 1e-5:
        sys.exit("tree_gemm.py: the GEMM form differs from the ONNX-ML model")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
