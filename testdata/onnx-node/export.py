"""Exports the allowlisted ONNX backend test cases to target/onnx-node/<suite>/<case>/.

Each exported case is laid out as in the onnx repository:
    model.onnx
    test_data_set_<i>/input_<j>.pb, output_<j>.pb   (serialized TensorProto)

Suites:
  node               onnx.backend.test.case.node.collect_testcases(): the onnx wheel ships the
                     generators (not the data), so the cases are generated here with
                     np.random seeded, which makes every export byte-identical
  pytorch-converted  copied from onnx/backend/test/data/pytorch-converted/ in the wheel
  pytorch-operator   copied from onnx/backend/test/data/pytorch-operator/ in the wheel

Lists (one `suite/case` per line, sorted, no comments):
  allowlist.txt             every case whose nodes all use supported ops (default domain;
                            Constant counts as supported), with no training mode, whose
                            inputs are all float32 tensors and whose outputs are float32
                            tensors (or int64 from ArgMax, or bool: compared exactly)
  excluded.txt              cases of supported ops vouch does not run, with the reason
                            (`--write-allowlist` leaves them out of both lists)
  allowlist_int_params.txt  the same, except that some inputs are int64 tensors that are op
                            parameters (Reshape shape, Squeeze/Unsqueeze axes, Pad pads and
                            axes, Reduce* axes, Resize sizes; the int32 sequence_lens of
                            LSTM, GRU and RNN) fed at run time; a runner can
                            bind them as constants

Usage (any python3; the script re-runs itself under the repo's venv from scripts/pyenv.sh):
  python3 testdata/onnx-node/export.py                    export the listed cases
  python3 testdata/onnx-node/export.py --write-allowlist  rescan every case, rewrite both lists
  python3 testdata/onnx-node/export.py --stats            the conformance ratio (below)

The conformance ratio (--stats) is over the float-typed ai.onnx cases of the node suite of the
onnx wheel in use: the generated node cases whose nodes are all in the ai.onnx domain and
whose every fed input and expected output is a float32 tensor. It prints how many of them are
allowlisted (either list), and the same for the wider set whose inputs alone are float32
(outputs of any type: bools, ArgMax indices), with the ops the rest need most.
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# Run under the repo's pinned venv: re-exec through scripts/pyenv.sh when started elsewhere.
if os.path.realpath(sys.prefix) != os.path.realpath(os.path.join(ROOT, ".venv")):
    py = subprocess.check_output([os.path.join(ROOT, "scripts", "pyenv.sh")], text=True).strip()
    os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, numpy_helper  # noqa: E402

OUT = os.path.join(ROOT, "target", "onnx-node")
ALLOWLIST = os.path.join(HERE, "allowlist.txt")
ALLOWLIST_INT = os.path.join(HERE, "allowlist_int_params.txt")
EXCLUDED = os.path.join(HERE, "excluded.txt")
DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
DATA_SUITES = ["pytorch-converted", "pytorch-operator"]
SEED = 0

SUPPORTED_OPS = {
    "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "ArgMax", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
    "BatchNormalization", "Flatten", "Reshape", "Transpose", "Concat", "Squeeze", "Unsqueeze",
    "Cast", "Identity", "Dropout", "Clip", "Pad",
    # Elementwise functions of one argument (tabulated as a 256-entry Lut).
    "HardSigmoid", "HardSwish", "Exp", "Log", "Sqrt", "Reciprocal", "Abs", "Neg", "Floor",
    "Ceil", "Round", "Sign", "Elu", "Selu", "Celu", "ThresholdedRelu", "Softplus", "Softsign",
    "Mish", "Gelu", "Erf", "Sin", "Cos", "Atan", "Sinh", "Cosh", "Asinh", "Tan", "Asin", "Acos",
    "Atanh", "Acosh", "Shrink", "Swish",
    # n-ary sums (a chain of Adds).
    "Sum", "Mean",
    # Reductions over any axes, n-ary extrema, PRelu.
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "Max", "Min", "PRelu",
    # Per-axis index selection of computed tensors (constant indices, sizes and repeats).
    "Slice", "Gather", "Split", "Expand", "Tile",
    # Lowered into the ops above: normalizations, and Pow by a constant exponent (a table).
    "InstanceNormalization", "LRN", "Pow", "LayerNormalization", "RMSNormalization",
    # Lowered into the ops above: Resize/Upsample (a Select, or a Linear by the interpolation
    # matrix per axis), ConvTranspose (a Conv over a zero-stuffed input: Pad, Select).
    "Resize", "Upsample", "ConvTranspose",
    # Lowered into the ops above: LSTM, GRU and RNN unrolled over their static sequence length
    # (per gate a Linear of the inputs, per step a Select, a Linear of the state, the gate
    # activations, Mul, Add; Concat for Y).
    "LSTM", "GRU", "RNN",
    # Comparisons and logic ops (bools as 0/1), Where, CastLike (as Cast); Shape,
    # ConstantOfShape, Mod, Size and Range fold to constants.
    "Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Not",
    "Where", "CastLike", "Shape", "ConstantOfShape", "Mod", "Size", "Range",
    # Lowered into the ops above: SpaceToDepth/DepthToSpace (Reshape, Transpose, Reshape),
    # LpNormalization (p 1 or 2: ReduceSum, a Pow table, Mul).
    "SpaceToDepth", "DepthToSpace", "LpNormalization",
    # LpPool: a Pow table of |x|, AveragePool counting the pads, Mul, a Pow table of 1/p.
    "LpPool",
    # GroupNormalization: Reshape to [N, G, -1], InstanceNormalization, Reshape, Mul, Add.
    "GroupNormalization",
    # Lowered into the ops above: Attention as its function body (heads by Reshape/Transpose,
    # MatMul, Softmax; masks known at import as a Where by the row minimum minus a margin).
    "Attention",
    # Pre-quantized models: the float meaning of the quantization (constant quantization
    # parameters; DynamicQuantizeLinear only inside onnxruntime's dynamic quantization pattern).
    "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
    "MatMulInteger", "DynamicQuantizeLinear",
    # Not an op to run but a value (PyTorch's exporter writes weights and shapes with it).
    "Constant",
}
# Ops whose int64 inputs are parameters (shape / axes / pads), not data: op -> input slots.
INT_PARAM_OPS = {
    "Reshape": {1}, "Squeeze": {1}, "Unsqueeze": {1}, "Pad": {1, 3},
    "ReduceSum": {1}, "ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1},
    "Slice": {1, 2, 3, 4}, "Gather": {1}, "Split": {1}, "Expand": {1}, "Tile": {1},
    "Resize": {3},
    # sequence_lens (int32 in ONNX), bound as a constant: every row must run the whole sequence
    "LSTM": {4}, "GRU": {4}, "RNN": {4},
}


# ---------------------------------------------------------------- case sources


def node_cases():
    """Yields (name, model, data_sets) for the generated node suite; data as TensorProto lists."""
    import warnings

    np.random.seed(SEED)
    from onnx.backend.test.case import node

    # Some generators divide by zero on purpose (inf/nan expectations): keep stderr quiet.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    for case in sorted(cases, key=lambda c: c.name):
        sets = []
        for inputs, outputs in case.data_sets:
            sets.append(
                (
                    [_to_proto(v, case.model.graph.input, j) for j, v in enumerate(inputs)],
                    [_to_proto(v, case.model.graph.output, j) for j, v in enumerate(outputs)],
                )
            )
        yield case.name, case.model, sets


def _to_proto(value, value_infos, j):
    if isinstance(value, TensorProto):
        return value
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray) and j < len(value_infos):
        if value_infos[j].type.HasField("tensor_type"):
            return numpy_helper.from_array(value, value_infos[j].name)
    return None  # sequences, maps, optionals: not exportable as a plain tensor


def data_cases(suite):
    """Yields (name, model, data_sets) for a suite shipped as data in the wheel."""
    base = os.path.join(DATA, suite)
    for name in sorted(os.listdir(base)):
        d = os.path.join(base, name)
        if not os.path.isfile(os.path.join(d, "model.onnx")):
            continue
        model = onnx.load(os.path.join(d, "model.onnx"))
        sets = []
        for ds in sorted(x for x in os.listdir(d) if x.startswith("test_data_set_")):
            sets.append((_load_pbs(os.path.join(d, ds), "input"), _load_pbs(os.path.join(d, ds), "output")))
        yield name, model, sets


def _load_pbs(d, prefix):
    out = []
    j = 0
    while os.path.exists(os.path.join(d, f"{prefix}_{j}.pb")):
        t = TensorProto()
        try:
            with open(os.path.join(d, f"{prefix}_{j}.pb"), "rb") as f:
                t.ParseFromString(f.read())
        except Exception:  # noqa: BLE001 - not a TensorProto (sequence/optional)
            t = None
        out.append(t)
        j += 1
    return out


def all_cases():
    for name, model, sets in node_cases():
        yield "node", name, model, sets
    for suite in DATA_SUITES:
        for name, model, sets in data_cases(suite):
            yield suite, name, model, sets


# ---------------------------------------------------------------- classification


def _dtype(t):
    if t is None:
        return None
    try:
        return numpy_helper.to_array(t).dtype
    except Exception:  # noqa: BLE001 - unsupported element type
        return None


def classify(model, sets):
    """Returns "float", "int_params" or None (not allowed)."""
    graph = model.graph
    ops = set()
    for node in graph.node:
        if node.domain not in ("", "ai.onnx"):
            return None
        ops.add(node.op_type)
        for a in node.attribute:
            if a.name == "training_mode" and a.i != 0:
                return None
            if a.name == "is_test" and a.i == 0:  # opset < 7 BatchNormalization / Dropout
                return None
            if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                return None
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type not in (
                TensorProto.FLOAT, TensorProto.INT64
            ):
                return None
    if not ops - {"Constant"} or not ops <= SUPPORTED_OPS:
        return None
    if not sets:
        return None
    init_names = {i.name for i in graph.initializer}
    runtime_inputs = [vi for vi in graph.input if vi.name not in init_names]
    for init in graph.initializer:
        if init.data_type not in (TensorProto.FLOAT, TensorProto.INT64):
            return None
    kind = "float"
    for inputs, outputs in sets:
        if len(inputs) != len(runtime_inputs) or len(outputs) != len(graph.output):
            return None
        for vi, t in zip(runtime_inputs, inputs):
            dt = _dtype(t)
            if dt == np.float32:
                continue
            if dt in (np.int64, np.int32) and _is_param_input(graph, vi.name):
                kind = "int_params"
                continue
            return None
        argmax_outs = {o for n in graph.node if n.op_type == "ArgMax" for o in n.output}
        for vi, t in zip(graph.output, outputs):
            dt = _dtype(t)
            if dt in (np.float32, np.bool_) or (dt == np.int64 and vi.name in argmax_outs):
                continue
            return None
    return kind


def _is_param_input(graph, name):
    """True when every consumer of `name` reads it in a parameter slot of INT_PARAM_OPS: the
    shape of a Reshape, the axes of a Squeeze, Unsqueeze or Reduce* (input 1), the pads (input
    1) or axes (input 3) of a Pad."""
    uses = [(n, i) for n in graph.node for i, x in enumerate(n.input) if x == name]
    return bool(uses) and all(i in INT_PARAM_OPS.get(n.op_type, ()) for n, i in uses)


# ---------------------------------------------------------------- commands


def write_allowlists():
    lists = {"float": [], "int_params": []}
    total = 0
    excluded = {ln.split("#", 1)[0].strip() for ln in read_list(EXCLUDED)}
    for suite, name, model, sets in all_cases():
        total += 1
        kind = classify(model, sets)
        if kind and f"{suite}/{name}" not in excluded:
            lists[kind].append(f"{suite}/{name}")
    for path, key in ((ALLOWLIST, "float"), (ALLOWLIST_INT, "int_params")):
        with open(path, "w") as f:
            f.write("".join(line + "\n" for line in sorted(lists[key])))
    for key, lines in lists.items():
        per = {}
        for line in lines:
            s = line.split("/", 1)[0]
            per[s] = per.get(s, 0) + 1
        print(f"{key}: {len(lines)} cases {per}")
    print(f"scanned {total} cases")


def _float_typed(model, sets, outputs_too):
    """Whether a case is float-typed: every node in the ai.onnx domain, every fed input (and,
    with `outputs_too`, every expected output) of every data set a float32 tensor."""
    if not sets or any(n.domain not in ("", "ai.onnx") for n in model.graph.node):
        return False
    for inputs, outputs in sets:
        tensors = list(inputs) + (list(outputs) if outputs_too else [])
        if not inputs or any(_dtype(t) != np.float32 for t in tensors):
            return False
    return True


def stats():
    """Prints the conformance ratio over the float-typed node cases (module doc)."""
    allowed = set(read_list(ALLOWLIST)) | set(read_list(ALLOWLIST_INT))
    excluded = {ln.split("#", 1)[0].strip() for ln in read_list(EXCLUDED)}
    rows = {True: [0, 0, 0, {}], False: [0, 0, 0, {}]}
    for name, model, sets in node_cases():
        key = f"node/{name}"
        for outputs_too, row in rows.items():
            if not _float_typed(model, sets, outputs_too):
                continue
            row[0] += 1
            if key in allowed:
                row[1] += 1
                continue
            if key in excluded:
                row[2] += 1
                continue
            ops = {n.op_type for n in model.graph.node} - SUPPORTED_OPS
            for op in ops or {"(supported ops; not allowlisted)"}:
                row[3][op] = row[3].get(op, 0) + 1
    print(f"onnx {onnx.__version__}")
    for outputs_too, (total, listed, excl, gaps) in rows.items():
        what = "inputs and outputs float32" if outputs_too else "inputs float32"
        print(
            f"float-typed ai.onnx node cases ({what}): {total}; allowlisted {listed} "
            f"({100.0 * listed / max(total, 1):.1f}%), in excluded.txt {excl}"
        )
        top = sorted(gaps.items(), key=lambda kv: (-kv[1], kv[0]))[:15]
        print("  ops the other cases need (cases):", ", ".join(f"{op} {n}" for op, n in top))


def read_list(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def export(out):
    wanted = set(read_list(ALLOWLIST)) | set(read_list(ALLOWLIST_INT))
    if os.path.exists(out):
        shutil.rmtree(out)
    copied = {}
    for suite, name, model, sets in all_cases():
        key = f"{suite}/{name}"
        if key not in wanted:
            continue
        wanted.discard(key)
        d = os.path.join(out, suite, name)
        os.makedirs(d)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(model.SerializeToString())
        for i, (inputs, outputs) in enumerate(sets):
            ds = os.path.join(d, f"test_data_set_{i}")
            os.makedirs(ds)
            for prefix, tensors in (("input", inputs), ("output", outputs)):
                for j, t in enumerate(tensors):
                    with open(os.path.join(ds, f"{prefix}_{j}.pb"), "wb") as f:
                        f.write(t.SerializeToString())
        copied[suite] = copied.get(suite, 0) + 1
    if wanted:
        print(f"error: {len(wanted)} listed cases not found: {sorted(wanted)[:10]}", file=sys.stderr)
        sys.exit(1)
    per = ", ".join(f"{s} {n}" for s, n in sorted(copied.items()))
    print(f"copied {sum(copied.values())} cases ({per}) to {out}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write-allowlist", action="store_true", help="rescan and rewrite the lists")
    p.add_argument("--stats", action="store_true", help="print the conformance ratio")
    p.add_argument("--out", default=OUT, help="output directory (default: %(default)s)")
    args = p.parse_args()
    if args.write_allowlist:
        write_allowlists()
    elif args.stats:
        stats()
    else:
        export(args.out)


if __name__ == "__main__":
    main()
