"""EZKL's full flow on one ONNX model, timed: settings, calibration, local SRS, setup, prove,
verify, EVM verifier. Prints one JSON line. Usage: ezkl_flow.py MODEL_DIR OUT_DIR"""
import asyncio, json, os, resource, sys, time

import ezkl
import numpy as np
import onnxruntime as ort

model_dir, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
onnx_path = os.path.join(model_dir, "model.onnx")
# EZKL (tract) needs explicit strides/pads/dilations on Conv and pools: write a copy with the
# ONNX defaults spelled out (same model, same semantics).
import onnx
from onnx import helper
m = onnx.load(onnx_path)
for n in m.graph.node:
    if n.op_type in ("Conv", "MaxPool", "AveragePool"):
        have = {a.name for a in n.attribute}
        k = next((list(a.ints) for a in n.attribute if a.name == "kernel_shape"), [1, 1])
        if "strides" not in have:
            n.attribute.append(helper.make_attribute("strides", [1] * len(k)))
        if "pads" not in have:
            n.attribute.append(helper.make_attribute("pads", [0] * (2 * len(k))))
        if "dilations" not in have and n.op_type == "Conv":
            n.attribute.append(helper.make_attribute("dilations", [1] * len(k)))
onnx_path = os.path.join(out, "model.onnx")
onnx.save(m, onnx_path)
inp = json.load(open(os.path.join(model_dir, "input.json")))
name = next(iter(inp))
row = np.array(inp[name][0], dtype=np.float32)[None]
cal = json.load(open(os.path.join(model_dir, "calibration.json")))
p = lambda f: os.path.join(out, f)
json.dump({"input_data": [row.flatten().tolist()]}, open(p("input.json"), "w"))
json.dump({"input_data": [np.array(cal[name], dtype=np.float32)[:16].flatten().tolist()]}, open(p("cal.json"), "w"))
res = {"model": os.path.basename(model_dir.rstrip("/"))}
t = time.time()
args = ezkl.PyRunArgs()
import onnx
dims = onnx.load(onnx_path).graph.input[0].type.tensor_type.shape.dim
args.variables = [(d.dim_param, 1) for d in dims if d.dim_param]
assert ezkl.gen_settings(onnx_path, p("settings.json"), py_run_args=args)
try:
    ezkl.calibrate_settings(p("cal.json"), onnx_path, p("settings.json"), "resources")
except Exception as e:  # calibration failure leaves default settings
    res["calibrate_error"] = str(e)
assert ezkl.compile_circuit(onnx_path, p("compiled.ezkl"), p("settings.json"))
settings = json.load(open(p("settings.json")))
logrows = settings["run_args"]["logrows"]
res["logrows"] = logrows
ezkl.gen_srs(p("kzg.srs"), logrows)
res["settings_calibrate_srs_s"] = time.time() - t
t = time.time()
ezkl.gen_witness(p("input.json"), p("compiled.ezkl"), p("witness.json"))
res["witness_s"] = time.time() - t
t = time.time()
ezkl.setup(p("compiled.ezkl"), p("vk.key"), p("pk.key"), p("kzg.srs"))
res["setup_s"] = time.time() - t
t = time.time()
ezkl.prove(p("witness.json"), p("compiled.ezkl"), p("pk.key"), p("proof.json"), p("kzg.srs"))
res["prove_s"] = time.time() - t
t = time.time()
res["verified"] = ezkl.verify(p("proof.json"), p("settings.json"), p("vk.key"), p("kzg.srs"))
res["verify_s"] = time.time() - t
proof = json.load(open(p("proof.json")))
hexproof = proof.get("hex_proof") or ""
res["proof_bytes"] = (len(hexproof) - 2) // 2 if hexproof else len(bytes(proof.get("proof", [])))
# Accuracy: EZKL's outputs vs the float model on this row.
w = json.load(open(p("witness.json")))
try:
    outs = [float(x) for x in np.array(w["pretty_elements"]["rescaled_outputs"][0], dtype=float).flatten()]
    sess = ort.InferenceSession(onnx_path)
    ref = sess.run(None, {name: row})[0].flatten()
    res["max_abs_err"] = float(np.max(np.abs(np.array(outs[: ref.size]) - ref)))
    res["argmax_agree"] = int(np.argmax(outs[: ref.size]) == np.argmax(ref))
except Exception as e:
    res["accuracy_error"] = str(e)
try:
    async def evm():
        return await ezkl.create_evm_verifier(p("vk.key"), p("settings.json"), p("Verifier.sol"), p("abi.json"), p("kzg.srs"))
    asyncio.run(evm())
    res["evm_verifier"] = os.path.exists(p("Verifier.sol"))
except Exception as e:
    res["evm_error"] = str(e)[:200]
res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
