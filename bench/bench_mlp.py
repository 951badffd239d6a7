"""Goal 1: a tensor graph (3-layer tanh MLP with cross_entropy) forward + backward through graphrun,
against the same numpy calls written by hand, in the same process. Prints medians, the ratio, and
peak memory of each.

    python bench/bench_mlp.py [--batch 256] [--width 1024] [--dtype float64|float32]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import paired_times, peak_bytes, table, threads_note  # noqa: E402

import graphrun  # noqa: E402

CLASSES = 10


def graph_text(batch, width, dtype):
    return f"""graphrun: 1
name: mlp-bench
inputs:
  X: {{init: normal, shape: [{batch}, {width}], seed: 1, dtype: {dtype}}}
  y: {{value: {[i % CLASSES for i in range(batch)]}, dtype: int64}}
params:
  W1: {{init: normal, shape: [{width}, {width}], seed: 2, std: 0.03, dtype: {dtype}}}
  b1: {{init: zeros, shape: [{width}], dtype: {dtype}}}
  W2: {{init: normal, shape: [{width}, {width}], seed: 3, std: 0.03, dtype: {dtype}}}
  b2: {{init: zeros, shape: [{width}], dtype: {dtype}}}
  W3: {{init: normal, shape: [{width}, {CLASSES}], seed: 4, std: 0.03, dtype: {dtype}}}
  b3: {{init: zeros, shape: [{CLASSES}], dtype: {dtype}}}
nodes:
  z1: {{op: matmul, args: [X, W1]}}
  a1: {{op: add, args: [z1, b1]}}
  h1: {{op: tanh, args: [a1]}}
  z2: {{op: matmul, args: [h1, W2]}}
  a2: {{op: add, args: [z2, b2]}}
  h2: {{op: tanh, args: [a2]}}
  z3: {{op: matmul, args: [h2, W3]}}
  logits: {{op: add, args: [z3, b3]}}
  L: {{op: cross_entropy, args: [logits, y]}}
loss: L
"""


def by_hand(X, y, W1, b1, W2, b2, W3, b3):
    """The same math as the graph, straight-line numpy: forward, then every gradient."""
    n = X.shape[0]
    rows = np.arange(n)
    z1 = X @ W1
    a1 = z1 + b1
    h1 = np.tanh(a1)
    z2 = h1 @ W2
    a2 = z2 + b2
    h2 = np.tanh(a2)
    z3 = h2 @ W3
    logits = z3 + b3
    m = np.max(logits, axis=-1, keepdims=True)
    lse = np.log(np.sum(np.exp(logits - m), axis=-1, keepdims=True)) + m
    loss = -np.mean((logits - lse)[rows, y])
    p = np.exp(logits - lse)
    p[rows, y] -= 1.0
    d_logits = p / n
    d_b3 = d_logits.sum(axis=0)
    d_W3 = h2.T @ d_logits
    d_h2 = d_logits @ W3.T
    d_a2 = d_h2 * (1 - h2 * h2)
    d_b2 = d_a2.sum(axis=0)
    d_W2 = h1.T @ d_a2
    d_h1 = d_a2 @ W2.T
    d_a1 = d_h1 * (1 - h1 * h1)
    d_b1 = d_a1.sum(axis=0)
    d_W1 = X.T @ d_a1
    return loss, (d_W1, d_b1, d_W2, d_b2, d_W3, d_b3)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--dtype", default="both", choices=["float64", "float32", "both"])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--threads", type=int, nargs="*", default=[],
                    help="BLAS thread counts to run at, both sides alike (default: as it is)")
    args = ap.parse_args(argv)
    rows = []
    from graphrun import blas
    for threads, dtype in [(t, d) for t in (args.threads or [None])
                           for d in (["float64", "float32"] if args.dtype == "both"
                                     else [args.dtype])]:
        if threads is not None:
            blas.limit(threads)
        text = graph_text(args.batch, args.width, dtype)
        graph = graphrun.compile_text(text, "mlp-bench.yaml")
        first = graphrun.run(graph)  # the leaves are made once (as in a CLI run) and kept
        env = {name: first.values[name] for name in graph.params + graph.inputs}

        def run_graphrun():
            return graphrun.run(graph).grads

        def run_hand():
            return by_hand(*(env[k] for k in ("X", "y", "W1", "b1", "W2", "b2", "W3", "b3")))

        # same numbers first: a benchmark of wrong code measures nothing
        grads = run_graphrun()
        loss, hand_grads = run_hand()
        for name, g in zip(("W1", "b1", "W2", "b2", "W3", "b3"), hand_grads):
            got = grads[name]
            assert got.dtype == g.dtype, (name, got.dtype, g.dtype)
            np.testing.assert_allclose(got, g, rtol=1e-4 if dtype == "float32" else 1e-10,
                                       atol=1e-6 if dtype == "float32" else 1e-12)
        t_hand, t_gr, ratio = paired_times(run_hand, run_graphrun, args.repeat)
        m_hand, m_gr = peak_bytes(run_hand), peak_bytes(run_graphrun)
        rows.append([f"mlp {args.batch}x{args.width} {dtype}"
                     + ("" if threads is None else f", {threads} thread{'s' * (threads > 1)}"), f"{t_hand * 1e3:.1f} ms",
                     f"{t_gr * 1e3:.1f} ms", f"{ratio:.3f}x",
                     f"{m_hand / 2**20:.1f} MiB", f"{m_gr / 2**20:.1f} MiB", f"{m_gr / m_hand:.2f}x"])
    print(table(rows, ["workload (forward+backward)", "numpy by hand", "graphrun", "time ratio (median of pairs)",
                       "peak by hand", "peak graphrun", "memory ratio"]))
    print(f"\n{threads_note()}")


if __name__ == "__main__":
    main()
