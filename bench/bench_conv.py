"""A small CNN forward + backward through graphrun, against the same numpy written by hand, in the
same process: a batch of 64 28x28 one-channel images through two conv layers (3x3, padding 1,
with bias), relu, 2x2 max pools, a linear layer to 10 classes and cross_entropy. Prints medians,
the ratio (median of alternating pairs), and the absolute time against the issue's bar (well
under a second).

    python bench/bench_conv.py [--batch 64] [--side 28] [--channels 8 16] [--dtype float64|float32]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import paired_times, table, threads_note  # noqa: E402

import graphrun  # noqa: E402

CLASSES = 10


def graph_text(batch, side, c1, c2, dtype):
    flat = c2 * (side // 4) ** 2
    return f"""graphrun: 1
name: cnn-bench
inputs:
  X: {{init: normal, shape: [{batch}, 1, {side}, {side}], seed: 1, dtype: {dtype}}}
  y: {{value: {[i % CLASSES for i in range(batch)]}, dtype: int64}}
params:
  K1: {{init: normal, shape: [{c1}, 1, 3, 3], seed: 2, std: 0.3, dtype: {dtype}}}
  c1: {{init: zeros, shape: [{c1}], dtype: {dtype}}}
  K2: {{init: normal, shape: [{c2}, {c1}, 3, 3], seed: 3, std: 0.1, dtype: {dtype}}}
  c2: {{init: zeros, shape: [{c2}], dtype: {dtype}}}
  W: {{init: normal, shape: [{flat}, {CLASSES}], seed: 4, std: 0.03, dtype: {dtype}}}
  b: {{init: zeros, shape: [{CLASSES}], dtype: {dtype}}}
nodes:
  conv1: {{op: conv2d, args: [X, K1, c1], padding: 1}}
  h1: {{op: relu, args: [conv1]}}
  p1: {{op: max_pool2d, args: [h1], kernel: 2}}
  conv2: {{op: conv2d, args: [p1, K2, c2], padding: 1}}
  h2: {{op: relu, args: [conv2]}}
  p2: {{op: max_pool2d, args: [h2], kernel: 2}}
  flat: {{op: flatten, args: [p2], start_axis: 1}}
  z: {{op: matmul, args: [flat, W]}}
  logits: {{op: add, args: [z, b]}}
  L: {{op: cross_entropy, args: [logits, y]}}
loss: L
"""


# ---------------------------------------------------------------------------------------------
# the same math by hand: im2col (a copy per kernel offset), one matmul per conv, col2im; each
# pool as four strided slices (what the op table does too: the ratio is graphrun's overhead)

def im2col(xp):
    n, c, hp, wp = xp.shape
    oh, ow = hp - 2, wp - 2
    cols = np.empty((n, c, 3, 3, oh, ow), xp.dtype)
    for i in range(3):
        for j in range(3):
            cols[:, :, i, j] = xp[:, :, i:i + oh, j:j + ow]
    return cols.reshape(n, c * 9, oh * ow)


def conv(x, w, b):
    n, _, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = im2col(xp)
    out = np.matmul(w.reshape(w.shape[0], -1), cols).reshape(n, w.shape[0], h, wd)
    return out + b[:, None, None], cols


def conv_back(g, cols, w, x_shape):
    n, o, h, wd = g.shape
    g3 = g.reshape(n, o, h * wd)
    dw = np.tensordot(g3, cols, axes=([0, 2], [0, 2])).reshape(w.shape)
    db = g.sum(axis=(0, 2, 3))
    dcols = np.matmul(w.reshape(o, -1).T, g3).reshape(n, w.shape[1], 3, 3, h, wd)
    dxp = np.zeros((n, w.shape[1], h + 2, wd + 2), g.dtype)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i:i + h, j:j + wd] += dcols[:, :, i, j]
    return dxp[:, :, 1:-1, 1:-1], dw, db


OFFSETS = [(0, 0), (0, 1), (1, 0), (1, 1)]  # a 2x2 window, row-major


def pool(x):
    parts = [x[:, :, i::2, j::2] for i, j in OFFSETS]
    out, first = parts[0], np.zeros(parts[0].shape, np.int64)
    for k, part in enumerate(parts[1:], start=1):
        larger = part > out  # ties keep the first, as max_pool2d's index
        out = np.where(larger, part, out)
        first = np.where(larger, k, first)
    return out, first


def pool_back(g, first, shape):
    out = np.zeros(shape, g.dtype)
    for k, (i, j) in enumerate(OFFSETS):
        out[:, :, i::2, j::2] = np.where(first == k, g, 0)
    return out


def by_hand(X, y, K1, c1, K2, c2, W, b):
    n = X.shape[0]
    rows = np.arange(n)
    a1, cols1 = conv(X, K1, c1)
    h1 = np.maximum(a1, 0)
    p1, first1 = pool(h1)
    a2, cols2 = conv(p1, K2, c2)
    h2 = np.maximum(a2, 0)
    p2, first2 = pool(h2)
    flat = p2.reshape(n, -1)
    logits = flat @ W + b
    m = logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=1, keepdims=True)) + m
    loss = -np.mean((logits - lse)[rows, y])
    d = np.exp(logits - lse)
    d[rows, y] -= 1.0
    d /= n
    dW, db = flat.T @ d, d.sum(axis=0)
    dp2 = (d @ W.T).reshape(p2.shape)
    dh2 = pool_back(dp2, first2, h2.shape) * (a2 > 0)
    dp1, dK2, dc2 = conv_back(dh2, cols2, K2, p1.shape)
    dh1 = pool_back(dp1, first1, h1.shape) * (a1 > 0)
    _, dK1, dc1 = conv_back(dh1, cols1, K1, X.shape)
    return loss, (dK1, dc1, dK2, dc2, dW, db)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--side", type=int, default=28)
    ap.add_argument("--channels", type=int, nargs=2, default=[8, 16])
    ap.add_argument("--dtype", default="both", choices=["float64", "float32", "both"])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    rows = []
    for dtype in (["float64", "float32"] if args.dtype == "both" else [args.dtype]):
        text = graph_text(args.batch, args.side, *args.channels, dtype)
        graph = graphrun.compile_text(text, "cnn-bench.yaml")
        first = graphrun.run(graph)  # the leaves are made once (as in a CLI run) and kept
        env = {name: first.values[name] for name in graph.params + graph.inputs}
        names = ("K1", "c1", "K2", "c2", "W", "b")

        def run_graphrun():
            return graphrun.run(graph).grads

        def run_hand():
            return by_hand(env["X"], env["y"], *(env[k] for k in names))

        # same numbers first: a benchmark of wrong code measures nothing
        grads = run_graphrun()
        loss, hand_grads = run_hand()
        assert first.loss == float(loss) or abs(first.loss - float(loss)) < 1e-5
        for name, g in zip(names, hand_grads):
            got = grads[name]
            assert got.dtype == g.dtype, (name, got.dtype, g.dtype)
            np.testing.assert_allclose(got, g, rtol=1e-3 if dtype == "float32" else 1e-9,
                                       atol=1e-5 if dtype == "float32" else 1e-12)
        t_hand, t_gr, ratio = paired_times(run_hand, run_graphrun, args.repeat)
        rows.append([f"cnn {args.batch}x1x{args.side}x{args.side} -> {args.channels[0]} -> "
                     f"{args.channels[1]} {dtype}", f"{t_hand * 1e3:.1f} ms",
                     f"{t_gr * 1e3:.1f} ms", f"{ratio:.3f}x"])
    print(table(rows, ["workload (forward+backward)", "numpy by hand", "graphrun",
                       "time ratio (median of pairs)"]))
    print(f"\n{threads_note()}")


if __name__ == "__main__":
    main()
