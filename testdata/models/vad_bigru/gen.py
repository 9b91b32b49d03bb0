"""Voice-activity detector: a bidirectional ONNX GRU (linear_before_reset = 1 as PyTorch exports it, layout 1, 16 frames of 8 log band energies, hidden 16, fixed-seed random recurrence) and a logistic head trained on both last states, written with onnx.helper.

input `frames` [N,16,8] (dynamic batch N), synthetic speech / background sequences
GRU(hidden 16, bidirectional, layout 1) -> Y_h [N,2,16] -> Flatten -> Gemm(32->1) -> Sigmoid
-> `speech` [N,1]. Shared data and training: ../rnn_vad.py.
Run: .venv/bin/python testdata/models/vad_bigru/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import rnn_vad  # noqa: E402

if __name__ == "__main__":
    rnn_vad.build(here, "GRU", t=16, f=8, hid=16, dirs=2, scale_w=1.0, scale_r=0.8)
