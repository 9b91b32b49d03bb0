"""Voice-activity detector reading every step: an ONNX LSTM (layout 1, 64 frames of 8 log band energies, hidden 8, fixed-seed random recurrence) and a logistic head trained on all 64 hidden states, written with onnx.helper.

input `frames` [N,64,8] (dynamic batch N), synthetic speech / background sequences
LSTM(hidden 8, forward, layout 1) -> Y [N,64,1,8] -> Flatten -> Gemm(512->1) -> Sigmoid
-> `speech` [N,1]. The importer unrolls the LSTM and puts its 64 steps' states end to end with
a `Concat` of 64 inputs (as in silero-vad's 16k_sequence export and ddddocr's OCR LSTMs), the
case the quantizer splits into a tree of `Concat`s of a bounded number of inputs.
Shared data and training: ../rnn_vad.py.
Run: .venv/bin/python testdata/models/vad_lstm_seq/gen.py
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))

import rnn_vad  # noqa: E402

if __name__ == "__main__":
    rnn_vad.build(here, "LSTM", t=64, f=8, hid=8, dirs=1, scale_w=1.0, scale_r=0.8, states=True)
