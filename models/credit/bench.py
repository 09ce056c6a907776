"""Single-row latency of the credit scorecard in onnxruntime (Python), for comparison with the Node worker.

    python bench.py --model artifacts/credit-scorecard.onnx --vectors artifacts/parity-vectors.json --iterations 20000 --warmup 1000

Scores one row at a time ([1, 19] float32), cycling through the parity vectors, one thread, sequential execution;
times each `run` with perf_counter_ns and prints one JSON line with percentiles in microseconds.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def main() -> None:
    here = Path(__file__).resolve().parent / "artifacts"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=here / "credit-scorecard.onnx")
    ap.add_argument("--vectors", type=Path, default=here / "parity-vectors.json")
    ap.add_argument("--iterations", type=int, default=20000)
    ap.add_argument("--warmup", type=int, default=1000)
    args = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(str(args.model), so, providers=["CPUExecutionProvider"])
    rows = [np.asarray([v], dtype=np.float32) for v in json.loads(args.vectors.read_text())["vectors"]]

    for i in range(args.warmup):
        session.run(None, {"features": rows[i % len(rows)]})
    times = np.empty(args.iterations, dtype=np.int64)
    for i in range(args.iterations):
        feed = {"features": rows[i % len(rows)]}
        start = time.perf_counter_ns()
        session.run(None, feed)
        times[i] = time.perf_counter_ns() - start

    us = times / 1000.0
    print(json.dumps({
        "runtime": "onnxruntime-python",
        "version": ort.__version__,
        "iterations": args.iterations,
        "p50_us": round(float(np.percentile(us, 50)), 2),
        "p90_us": round(float(np.percentile(us, 90)), 2),
        "p99_us": round(float(np.percentile(us, 99)), 2),
        "mean_us": round(float(us.mean()), 2),
    }))


if __name__ == "__main__":
    main()
