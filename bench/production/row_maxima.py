"""Per-row largest magnitude of every intermediate value of a surveyed model, under onnxruntime.

    .venv/bin/python bench/production/row_maxima.py MODEL_REL OUT.json [CAL_ROWS] [HELD_ROWS]

MODEL_REL is a path under bench/out/production/models/ (run the survey once to fetch it). The
rows are the survey's own (seed 0 calibration, seed 1 held-out; a longer set starts with a
shorter one's images), so `cal[v][:4]` are the 4 calibration images' maxima of value `v` and
`held[v]` the held-out images'. What it is for: which values a range rule would clip on
held-out rows and how much it widens the others (docs/architecture.md, "Calibrated ranges
from the rows' maxima").
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).parent))
import survey  # noqa: E402

root = Path(__file__).resolve().parents[2]
rel, out = sys.argv[1], sys.argv[2]
ncal = int(sys.argv[3]) if len(sys.argv) > 3 else 32
nheld = int(sys.argv[4]) if len(sys.argv) > 4 else 16
model = onnx.load(str(root / "bench/out/production/models" / rel))
info = survey.describe(model)
rec = survey.recipe_for(rel)
cal = survey.make_inputs(info, rec, ncal, seed=0)
held = survey.make_inputs(info, rec, nheld, seed=1)
names = []
for n in model.graph.node:
    if n.op_type not in ("Constant", "Shape"):
        names += [o for o in n.output if o and o not in names]
have = {o.name for o in model.graph.output}
model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in names
                          if n not in have)
so = ort.SessionOptions()
so.intra_op_num_threads, so.log_severity_level = 2, 4
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
order = [o.name for o in sess.get_outputs()]
res = {"order": order}
for tag, feeds, n in (("cal", cal, ncal), ("held", held, nheld)):
    rows = {k: [] for k in order}
    for r in range(n):
        for k, v in zip(order, sess.run(None, {k: v[r:r + 1] for k, v in feeds.items()})):
            v = np.asarray(v)
            rows[k].append(float(np.max(np.abs(v))) if v.size and v.dtype.kind == "f" else 0.0)
    res[tag] = rows
Path(out).write_text(json.dumps(res))
