"""The digits_logreg classifier written with skl2onnx's default ZipMap on.

Outputs `output_label` [N] int64 and `output_probability` (a sequence of maps, from ZipMap in the
ai.onnx.ml domain; omitted from expected.json). Used to test pruning of label post-processing.
Run: .venv/bin/python testdata/models/digits_logreg_zipmap/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "digits_logreg"))

from gen import generate  # noqa: E402

if __name__ == "__main__":
    generate(here, zipmap=True)
