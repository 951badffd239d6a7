"""scalar: a program made only of float64 scalars, run on Python floats.

A numpy ufunc call on a scalar costs several times the same arithmetic on Python floats, and a
graph of scalars (the micrograd lesson, long chains) is all call overhead. Each op may carry a
Python-float twin of its forward and VJPs in its table entry (`Op.scalar`), checked against the
reference by tests/test_scalar_ops.py. This module is private to the executor: only
`executor.execute` opens this door, and whenever math raises (log(0), exp overflow, 1/0) or a number
is not finite, it returns None and the numpy reference runs instead, whose answer (or error
message) is the one given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import numpy as np


_F64 = np.dtype("float64")


@dataclass(frozen=True)
class ScalarPlan:
    loss: Optional[int]
    differentiable: tuple
    # a tuple per field, an entry per step in program order: (twins: the op's (fn, vjp0, vjp1),
    # outs (a range when the outs follow one another), a0s, a1s with -1 for one argument).
    # Columns of shared objects rather than a tuple per step: 24 bytes a node instead of 150
    columns: tuple

    @property
    def forward(self):
        """per step: (fn, out, a0, a1)"""
        twins, outs, a0s, a1s = self.columns
        return ((t[0], out, a0, a1) for t, out, a0, a1 in zip(twins, outs, a0s, a1s))

    @property
    def backward(self):
        """per step, reversed: (out, a0, a1, vjp0 or None, vjp1 or None), None where the argument
        has no gradient"""
        d = self.differentiable
        return ((out, a0, a1, t[1] if d[a0] else None, t[2] if a1 >= 0 and d[a1] else None)
                for t, out, a0, a1 in zip(*map(reversed, self.columns)))


def compile_scalar(program) -> Optional[ScalarPlan]:
    """The plan, or None unless every value is a float64 scalar and every op has a twin."""
    for t in program.types:
        if t.shape or (t.dtype is not None and t.dtype != _F64):
            return None
    steps = program.steps
    if any(s.op.scalar is None or s.attrs or None in s.op.scalar for s in steps):
        return None  # (a twin without a VJP for an argument: the reference knows what to do)
    # each column a tuple made at once (lists copied would be 50 MiB more at a million nodes)
    twins = tuple(s.op.scalar for s in steps)
    a0s = tuple(s.args[0] if s.args else -1 for s in steps)
    a1s = tuple(s.args[1] if len(s.args) > 1 else -1 for s in steps)
    # the outs: in program order the node slots follow one another (frontend/graph._assemble)
    start = steps[0].out if steps else 0
    outs = range(start, start + len(steps))
    if any(s.out != out for s, out in zip(steps, outs)):
        outs = tuple(s.out for s in steps)
    return ScalarPlan(program.loss, program.differentiable, (twins, outs, a0s, a1s))


def forward(plan: ScalarPlan, values: list) -> Optional[list]:
    """Forward on Python floats, filling `values` (executor.initial_values': the leaves and the
    literals, then None for every node); None when math raised or a value is not finite."""
    floats = values  # converted in place (a million slots: no second list)
    for i, v in enumerate(floats):
        if v is not None:  # None: a node's slot
            floats[i] = float(v)
    try:
        for twin, out, a0, a1 in zip(*plan.columns):
            fn = twin[0]
            floats[out] = fn(floats[a0]) if a1 < 0 else fn(floats[a0], floats[a1])
    except (ArithmeticError, ValueError):
        return None
    return floats if math.isfinite(sum(floats)) else None


def backward(plan: ScalarPlan, floats) -> Optional[list]:
    """d loss / d slot for params and nodes (0.0 where the loss does not depend on it), None for
    other slots; None as a whole when the numpy path must run instead."""
    cts: List = [None] * len(floats)
    cts[plan.loss] = 1.0
    d = plan.differentiable
    try:
        for twin, out, a0, a1 in zip(*map(reversed, plan.columns)):
            g = cts[out]
            if g is None:
                continue
            ans = floats[out]
            if a1 < 0:
                if not d[a0]:
                    continue  # the argument is an input (or a literal): no gradient
                c = twin[1](g, ans, floats[a0])
                previous = cts[a0]
                cts[a0] = c if previous is None else previous + c
                continue
            x, y = floats[a0], floats[a1]
            if d[a0]:
                c = twin[1](g, ans, x, y)
                previous = cts[a0]
                cts[a0] = c if previous is None else previous + c
            if d[a1]:
                c = twin[2](g, ans, x, y)
                previous = cts[a1]
                cts[a1] = c if previous is None else previous + c
    except (ArithmeticError, ValueError):
        return None
    if not math.isfinite(sum(c for c in cts if c is not None)):
        return None
    for slot, d in enumerate(plan.differentiable):  # in place: no second million-slot list
        if not d:
            cts[slot] = None
        elif cts[slot] is None:
            cts[slot] = 0.0
    return cts
