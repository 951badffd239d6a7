"""Goal 4: a 1,000,000-element tensor in ({file: x.npy}) and out (the .npy sidecar), through the
CLI as a user runs it, plus reading the results back (`graphrun diff` of the results with itself,
which loads every sidecar in full).

    python bench/bench_io.py [--elements 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_frontend import STAGES, run_once  # noqa: E402
from common import table  # noqa: E402

import subprocess  # noqa: E402
import time  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        np.save(os.path.join(folder, "x.npy"),
                np.random.default_rng(0).standard_normal(args.elements))
        graph = os.path.join(folder, "big.yaml")
        with open(graph, "w") as f:
            f.write("graphrun: 1\nparams:\n  x: {file: x.npy}\nnodes:\n"
                    "  y: {op: mul, args: [x, 2.0]}\n  s: {op: sum, args: [y]}\nloss: s\n")
        out = os.path.join(folder, "big.results.yaml")
        runs = [run_once(graph, out, True) for _ in range(args.repeat)]
        diffs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "graphrun", "diff", out, out],
                                  capture_output=True, text=True)
            diffs.append(time.perf_counter() - start)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        stages = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in STAGES}
        sidecars = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(folder)
                       for f in fs if f.endswith(".npy") and f != "x.npy")
        print(table([[f"{args.elements:,} elements in and out",
                      f"{statistics.median(r['wall'] for r in runs):.2f} s",
                      *(f"{stages[k]:.3f}" for k in STAGES),
                      f"{os.path.getsize(out)} B + {sidecars / 2**20:.1f} MiB .npy",
                      f"{statistics.median(diffs):.2f} s"]],
                    ["workload", "run wall (process)", *STAGES, "results", "diff wall"]))


if __name__ == "__main__":
    main()
