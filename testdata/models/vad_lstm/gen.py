"""Voice-activity detector: an ONNX LSTM (layout 1, 20 frames of 10 log band energies, hidden 16, fixed-seed random recurrence) and a logistic head trained on its last state, written with onnx.helper.

input `frames` [N,20,10] (dynamic batch N), synthetic speech / background sequences
LSTM(hidden 16, forward, layout 1) -> Y_h [N,1,16] -> Flatten -> Gemm(16->1) -> Sigmoid
-> `speech` [N,1]. Shared data and training: ../rnn_vad.py.
Run: .venv/bin/python testdata/models/vad_lstm/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import rnn_vad  # noqa: E402

if __name__ == "__main__":
    rnn_vad.build(here, "LSTM", t=20, f=10, hid=16, dirs=1, scale_w=1.0, scale_r=0.8)
