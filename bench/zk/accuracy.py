"""vouch's output accuracy on row 0 of MODEL_DIR/input.json against the float ONNX model
(onnxruntime), the same row and metric as EZKL's: max |dequantized - float| and argmax agreement.
Usage: accuracy.py MODEL_DIR INFER.json   (INFER.json: `vouch infer` output on that input)"""
import json, os, sys

import numpy as np
import onnxruntime as ort

model_dir, infer = sys.argv[1], sys.argv[2]
inp = json.load(open(os.path.join(model_dir, "input.json")))
name = next(iter(inp))
row = np.array(inp[name][0], dtype=np.float32)[None]
sess = ort.InferenceSession(os.path.join(model_dir, "model.onnx"))
outs = json.load(open(infer))["outputs"]
# a classifier with a label and probabilities (the tree model) is compared on its probabilities
key = "probabilities" if "probabilities" in outs else None
ref = sess.run([key] if key else None, {name: row})[0].flatten()
got = np.array((outs[key] if key else next(iter(outs.values())))[0], dtype=float).flatten()
print(json.dumps({"max_abs_err": float(np.max(np.abs(got[: ref.size] - ref))),
                  "argmax_agree": int(np.argmax(got[: ref.size]) == np.argmax(ref))}))
