"""Training: `graphrun.train` against the same training loop written by hand, in the same process
and the same run (ratios, never absolute goals).

- Tensor graphs: the 3-layer tanh MLP of bench_mlp.py (batch 256, width 1024, cross_entropy),
  SGD and Adam, float64 and float32, against numpy by hand (bench_mlp.by_hand for forward and
  backward, then the optimizer's update in place, as one writes it). Both start every run from
  copies of the same params; runs alternate, and the ratio is the median of the per-pair ratios.
  Target: a step within 1.05x of the hand-written one.
- Scalar graphs: graphs/simple.yaml and a 1,000-node scalar chain (bench_scalar.py's), SGD,
  against a micrograd-style engine (bench_scalar.Value) running the same SGD loop, and against the
  loop on Python floats written by hand. graphrun's time includes compiling the graph's step for
  the fast path (a freshly compiled graph each run); the steady state (the step cached on the
  graph) is shown beside it. Target: at least 10x micrograd's steps per second.

Every pair is checked to compute the same trajectory first: a benchmark of wrong code measures
nothing.

    python bench/bench_train.py [--steps 20] [--scalar-steps 2000]
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_mlp import by_hand, graph_text as mlp_text  # noqa: E402
from bench_scalar import A, B, X, Value, chain_graph_text  # noqa: E402
from common import median_time, paired_times, table, threads_note  # noqa: E402

import graphrun  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER = ("W1", "b1", "W2", "b2", "W3", "b3")


# ---------------------------------------------------------------------------------------------
# tensor graphs

def hand_sgd(env, start, lr, steps):
    params = [start[k].copy() for k in ORDER]
    for _ in range(steps):
        _, grads = by_hand(env["X"], env["y"], *params)
        for p, g in zip(params, grads):
            p -= lr * g
    return params


def hand_adam(env, start, lr, steps, b1=0.9, b2=0.999, eps=1e-8):
    params = [start[k].copy() for k in ORDER]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        _, grads = by_hand(env["X"], env["y"], *params)
        step_size, c2 = lr / (1 - b1 ** t), (1 - b2 ** t) ** 0.5
        for p, g, mk, vk in zip(params, grads, m, v):
            mk *= b1
            mk += (1 - b1) * g
            vk *= b2
            vk += (1 - b2) * g * g
            p -= step_size * mk / (np.sqrt(vk) / c2 + eps)
    return params


def tensor_rows(args):
    rows = []
    for dtype in ("float64", "float32"):
        graph = graphrun.compile_text(mlp_text(args.batch, args.width, dtype), "mlp-bench.yaml")
        start = graph.param_values()
        env = {n: graph.leaf_values()[graph.program.slot(n)] for n in ("X", "y")}
        for optimizer, hand, lr in (("sgd", hand_sgd, 0.1), ("adam", hand_adam, 1e-3)):
            def run_graphrun():
                return graphrun.train(graph, optimizer=optimizer, lr=lr, steps=args.steps)

            def run_hand():
                return hand(env, start, lr, args.steps)

            got, want = run_graphrun().params, run_hand()
            # float32: the hand-written backward rounds in another order, and Adam divides by
            # sqrt(v), which magnifies that where a gradient is near 0
            tol = dict(rtol=1e-3, atol=2e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-12)
            for name, w in zip(ORDER, want):
                np.testing.assert_allclose(got[name], w, **tol, err_msg=name)
            t_hand, t_gr, ratio = paired_times(run_hand, run_graphrun, args.repeat)
            rows.append([f"mlp {args.batch}x{args.width} {dtype} {optimizer}",
                         f"{t_hand / args.steps * 1e3:.1f} ms", f"{t_gr / args.steps * 1e3:.1f} ms",
                         f"{ratio:.3f}x"])
    return rows


# ---------------------------------------------------------------------------------------------
# scalar graphs

def micrograd_simple(steps, lr):
    x, w, b = Value(2.0), Value(3.0), Value(4.0)
    for _ in range(steps):
        v = w * x + b
        loss = v * v
        w.grad = b.grad = x.grad = 0.0
        loss.backward()
        w.data -= lr * w.grad
        b.data -= lr * b.grad
    return w.data, b.data


def python_simple(steps, lr):
    x, w, b = 2.0, 3.0, 4.0
    for _ in range(steps):
        v = w * x + b
        g = 2 * v
        w, b = w - lr * (g * x), b - lr * g
    return w, b


def micrograd_chain(n, steps, lr):
    a, b = Value(A), Value(B)
    for _ in range(steps):
        v = Value(X)
        for i in range(n):
            k = i % 3
            v = v * a if k == 0 else (v + b if k == 1 else v.tanh())
        a.grad = b.grad = 0.0
        v.backward()
        a.data -= lr * a.grad
        b.data -= lr * b.grad
    return a.data, b.data


def python_chain(n, steps, lr):
    a, b = A, B
    vals = [X] * (n + 1)
    for _ in range(steps):
        v = X
        for i in range(n):
            k = i % 3
            v = v * a if k == 0 else (v + b if k == 1 else math.tanh(v))
            vals[i + 1] = v
        g, ga, gb = 1.0, 0.0, 0.0
        for i in range(n - 1, -1, -1):
            k = i % 3
            if k == 0:
                ga += g * vals[i]
                g = g * a
            elif k == 1:
                gb += g
            else:
                g = g * (1 - vals[i + 1] * vals[i + 1])
        a, b = a - lr * ga, b - lr * gb
    return a, b


def scalar_rows(args):
    rows = []
    lr = 0.001
    cases = [("graphs/simple.yaml", lambda: open(os.path.join(ROOT, "graphs", "simple.yaml"))
              .read(), micrograd_simple, python_simple, ("w", "b"), args.scalar_steps),
             ("chain of 1,000 scalars", lambda: chain_graph_text(1000),
              lambda s, r: micrograd_chain(1000, s, r), lambda s, r: python_chain(1000, s, r),
              ("a", "b"), args.chain_steps)]
    for title, text, micrograd, python, names, steps in cases:
        def fresh():  # compiling the step for the fast path is part of the run
            return graphrun.train(graphrun.compile_text(text(), "bench.yaml"), lr=lr,
                                  steps=steps)

        cached = graphrun.compile_text(text(), "bench.yaml")

        def steady():
            return graphrun.train(cached, lr=lr, steps=steps)

        got = fresh().params
        for want in (micrograd(steps, lr), python(steps, lr)):
            assert all(math.isclose(float(got[n]), w, rel_tol=1e-9) for n, w in zip(names, want))
        t_mg = median_time(lambda: micrograd(steps, lr), args.repeat)
        t_py = median_time(lambda: python(steps, lr), args.repeat)
        t_fresh = median_time(fresh, args.repeat)
        t_steady = median_time(steady, args.repeat)
        rate = lambda t: f"{steps / t:,.0f}"  # noqa: E731
        rows.append([title, rate(t_mg), rate(t_py), rate(t_fresh), rate(t_steady),
                     f"{t_mg / t_fresh:.1f}x", f"{t_mg / t_steady:.1f}x"])
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=10, help="steps per timed tensor run")
    ap.add_argument("--scalar-steps", type=int, default=20000)
    ap.add_argument("--chain-steps", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--only", choices=("tensor", "scalar"))
    args = ap.parse_args(argv)
    if args.only != "scalar":
        print(table(tensor_rows(args), ["workload (one SGD or Adam step)", "numpy by hand",
                                        "graphrun", "time ratio (median of pairs)"]))
        print(f"\n{threads_note()}\n")
    if args.only != "tensor":
        print(table(scalar_rows(args), ["workload (SGD, steps/s)", "micrograd", "python floats",
                                        "graphrun", "graphrun (step cached)", "vs micrograd",
                                        "cached vs micrograd"]))


if __name__ == "__main__":
    main()
