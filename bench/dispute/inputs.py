"""Calibration rows and the disputed input for the detector, made as the production survey
makes them (bench/production/survey.py: text rendered on tinted pages, nudenet's recipe,
seed 0 for calibration, seed 1 for the held-out row).

Usage: python inputs.py MODEL.onnx OUT_DIR [--cal-rows N]
Writes OUT_DIR/calibration.json (N rows) and OUT_DIR/input.json (one row).
"""

import argparse
import json
import sys
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "production"))
import survey  # noqa: E402  (the survey's own input makers, not a copy)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--cal-rows", type=int, default=4)
    a = ap.parse_args()
    info = survey.describe(onnx.load(a.model))
    rec = survey.recipe_for("nudenet/nudenet/320n.onnx")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cal = survey.make_inputs(info, rec, a.cal_rows, seed=0)
    held = survey.make_inputs(info, rec, 1, seed=1)
    (out / "calibration.json").write_text(json.dumps(survey.to_json(cal)))
    (out / "input.json").write_text(json.dumps(survey.to_json(held)))
    print({k: list(v.shape) for k, v in held.items()}, file=sys.stderr)


if __name__ == "__main__":
    main()
