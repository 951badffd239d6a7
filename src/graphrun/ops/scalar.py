"""scalar_ops: the same ops on Python floats, for graphs made only of float64 scalars.

A numpy ufunc call on a scalar costs ~0.3-1 us; the same arithmetic on Python floats ~0.05 us. A
graph of scalars (the micrograd lesson, long chains) is all call overhead, so the executor runs such
a graph with this table when every step's op is here. numpy's table in ops.py stays the reference:
- each entry computes the same formula as its ops.py twin (tests/test_scalar_ops.py checks them
  against each other at random points and at the kinks),
- where math would raise (log(0), exp overflow, 1/0) or a result is not finite, the executor drops
  this path and runs the graph through ops.py, whose answer (or error message) is the one given.
"""

from __future__ import annotations

import math

import numpy as np

from .table import OPS


def _sigmoid(x):
    # ops.py's (PyTorch's) form 1 / (1 + exp(-x)), which is exactly 0 once exp(-x) overflows
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:
        return 0.0


def _tanh(x):
    # as ops._tanh: from |x| = 5 on, rounded once from extended precision, to agree with PyTorch's
    # tanh where 1 - tanh^2 would magnify an ulp (math.tanh is an ulp off for ~5% of inputs)
    return math.tanh(x) if -5.0 < x < 5.0 else float(np.tanh(np.longdouble(x)))


def _softplus(x):
    return x if x > 20 else math.log1p(math.exp(x))  # ops.SOFTPLUS_THRESHOLD, as PyTorch


def _softplus_vjp(g, ans, x):
    if x > 20:
        return g
    z = math.exp(x)
    return g * z / (z + 1)


def _pow_base(g, ans, x, y):
    return 0.0 if y == 0 else g * (y * math.pow(x, y - 1))


def _pow_exponent(g, ans, x, y):
    return 0.0 if x == 0 and y >= 0 else g * (ans * math.log(x))


def _tie(g, win, tie):
    return 0.5 * g if tie else (g if win else 0.0)


# name -> (forward, vjp for each argument); the VJP signature is ops.py's: vjp(g, ans, *args)
SCALAR_OPS = {
    "add": (lambda x, y: x + y, lambda g, ans, x, y: g, lambda g, ans, x, y: g),
    "sub": (lambda x, y: x - y, lambda g, ans, x, y: g, lambda g, ans, x, y: -g),
    "mul": (lambda x, y: x * y, lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x),
    "div": (lambda x, y: x / y, lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ((x / y) / y)),
    "pow": (math.pow, _pow_base, _pow_exponent),
    "maximum": (lambda x, y: x if x >= y else y,
                lambda g, ans, x, y: _tie(g, x > y, x == y),
                lambda g, ans, x, y: _tie(g, y > x, x == y)),
    "minimum": (lambda x, y: x if x <= y else y,
                lambda g, ans, x, y: _tie(g, x < y, x == y),
                lambda g, ans, x, y: _tie(g, y < x, x == y)),
    "neg": (lambda x: -x, lambda g, ans, x: -g),
    "exp": (math.exp, lambda g, ans, x: g * ans),
    "log": (math.log, lambda g, ans, x: g / x),
    "sqrt": (math.sqrt, lambda g, ans, x: g / (2 * ans)),
    "square": (lambda x: x * x, lambda g, ans, x: g * (2 * x)),
    "abs": (abs, lambda g, ans, x: g * (1.0 if x > 0 else (-1.0 if x < 0 else 0.0))),
    "sin": (math.sin, lambda g, ans, x: g * math.cos(x)),
    "cos": (math.cos, lambda g, ans, x: -g * math.sin(x)),
    "tanh": (_tanh, lambda g, ans, x: g * (1 - ans * ans)),
    "sigmoid": (_sigmoid, lambda g, ans, x: g * (1 - ans) * ans),
    "relu": (lambda x: x if x > 0 else 0.0, lambda g, ans, x: g if x > 0 else 0.0),
    "softplus": (_softplus, _softplus_vjp),
}

# the Op objects these twins were written for: an op replaced in OPS later (a test planting a wrong
# VJP) has no twin, and runs through numpy
_TWINNED = {name: OPS[name] for name in SCALAR_OPS}


def twin(op):
    """(forward, *vjps) on Python floats for `op`, or None when it has none."""
    entry = SCALAR_OPS.get(op.name)
    return entry if entry is not None and _TWINNED[op.name] is op else None
