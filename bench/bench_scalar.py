"""Goal 2: scalar chain graphs (alternating mul/add/tanh, with two shared params), forward +
backward per node, at 1k/10k/100k nodes: graphrun's executor against straight-line Python floats
and a tiny micrograd-style engine written here, in the same process.

    python bench/bench_scalar.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import median_time, table  # noqa: E402

import graphrun  # noqa: E402

X, A, B = 0.5, 0.9, 0.1


def chain_graph_text(n):
    """n nodes: x -> mul a -> add b -> tanh -> mul a -> ...; every mul and add shares a and b, so
    their gradients accumulate n/3 contributions each."""
    lines = ["graphrun: 1", f"name: chain{n}", f"inputs: {{x: {X}}}", f"params: {{a: {A}, b: {B}}}",
             "nodes:"]
    previous = "x"
    for i in range(n):
        op, other = (("mul", ", a"), ("add", ", b"), ("tanh", ""))[i % 3]
        lines.append(f"  n{i}: {{op: {op}, args: [{previous}{other}]}}")
        previous = f"n{i}"
    lines.append(f"loss: {previous}")
    return "\n".join(lines) + "\n"


def straight_python(n):
    """The chain by hand on Python floats: forward into a list, backward by the chain rule."""
    vals = [X] * (n + 1)
    v = X
    for i in range(n):
        k = i % 3
        v = v * A if k == 0 else (v + B if k == 1 else math.tanh(v))
        vals[i + 1] = v
    g, ga, gb = 1.0, 0.0, 0.0
    for i in range(n - 1, -1, -1):
        k = i % 3
        if k == 0:
            ga += g * vals[i]
            g = g * A
        elif k == 1:
            gb += g
        else:
            g = g * (1 - vals[i + 1] * vals[i + 1])
    return vals[n], ga, gb


class Value:
    """micrograd's idea in a few lines: a scalar with a closure per op for its backward step."""

    __slots__ = ("data", "grad", "_prev", "_backward")

    def __init__(self, data, prev=()):
        self.data, self.grad, self._prev, self._backward = data, 0.0, prev, None

    def __mul__(self, other):
        out = Value(self.data * other.data, (self, other))

        def backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __add__(self, other):
        out = Value(self.data + other.data, (self, other))

        def backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = backward
        return out

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # iterative topological sort (the recursive one fails past ~1,000 nodes)
            v, done = stack.pop()
            if done:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((p, False) for p in v._prev)
        self.grad = 1.0
        for v in reversed(order):
            if v._backward:
                v._backward()


def micrograd(n):
    x, a, b = Value(X), Value(A), Value(B)
    v = x
    for i in range(n):
        k = i % 3
        v = v * a if k == 0 else (v + b if k == 1 else v.tanh())
    v.backward()
    return v.data, a.grad, b.grad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    rows = []
    for n in map(int, args.sizes.split(",")):
        graph = graphrun.compile_text(chain_graph_text(n), "chain.yaml")

        def run_graphrun():
            return graphrun.run(graph)

        results = run_graphrun()
        ref = straight_python(n)
        got = (results.loss, float(results.grads["a"]), float(results.grads["b"]))
        assert all(math.isclose(g, r, rel_tol=1e-9) for g, r in zip(got, ref)), (got, ref)
        assert all(math.isclose(g, r, rel_tol=1e-9) for g, r in zip(micrograd(n), ref))
        t_py = median_time(lambda: straight_python(n), args.repeat)
        t_mg = median_time(lambda: micrograd(n), args.repeat)
        t_gr = median_time(run_graphrun, args.repeat)
        per = lambda t: f"{t / n * 1e6:.3f} us"  # noqa: E731
        rows.append([f"chain {n}", per(t_py), per(t_mg), per(t_gr), f"{t_gr / t_mg:.2f}x",
                     f"{t_gr / t_py:.1f}x"])
    print(table(rows, ["workload (fwd+bwd per node)", "python floats", "micrograd (gc off)",
                       "graphrun", "vs micrograd", "vs python"]))


if __name__ == "__main__":
    main()
