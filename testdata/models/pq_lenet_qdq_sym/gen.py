"""The pre-quantized fixture pq_lenet_qdq_sym: see ../prequant.py.
Run: .venv/bin/python testdata/models/pq_lenet_qdq_sym/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import prequant  # noqa: E402

if __name__ == "__main__":
    prequant.build(here, "lenet_qdq_sym")
