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
    # a tuple per field, an entry per step in program order: (fns, outs (a range when the outs
    # follow one another), a0s, a1s with -1 for one argument, vjp0s, vjp1s with None where the
    # argument has no gradient). Columns of shared objects rather than a tuple per step: 40 bytes
    # a node instead of 150
    columns: tuple

    @property
    def forward(self):
        """per step: (fn, out, a0, a1)"""
        fns, outs, a0s, a1s, _, _ = self.columns
        return zip(fns, outs, a0s, a1s)

    @property
    def backward(self):
        """per step, reversed: (out, a0, a1, vjp0 or None, vjp1 or None)"""
        _, outs, a0s, a1s, v0s, v1s = self.columns
        return zip(reversed(outs), reversed(a0s), reversed(a1s), reversed(v0s), reversed(v1s))


def compile_scalar(program) -> Optional[ScalarPlan]:
    """The plan, or None unless every value is a float64 scalar and every op has a twin."""
    for t in program.types:
        if t.shape or (t.dtype is not None and t.dtype != _F64):
            return None
    steps = program.steps
    if any(s.op.scalar is None or s.attrs for s in steps):
        return None
    differentiable = program.differentiable
    # each column a tuple made at once (lists copied would be 50 MiB more at a million nodes)
    fns = tuple(s.op.scalar[0] for s in steps)
    a0s = tuple(s.args[0] if s.args else -1 for s in steps)
    a1s = tuple(s.args[1] if len(s.args) > 1 else -1 for s in steps)
    v0s = tuple(s.op.scalar[1] if differentiable[a0] else None for s, a0 in zip(steps, a0s))
    v1s = tuple(s.op.scalar[2] if a1 >= 0 and differentiable[a1] else None
                for s, a1 in zip(steps, a1s))
    # the outs: in program order the node slots follow one another (frontend/graph._assemble)
    start = steps[0].out if steps else 0
    outs = range(start, start + len(steps))
    if any(s.out != out for s, out in zip(steps, outs)):
        outs = tuple(s.out for s in steps)
    columns = (fns, outs, a0s, a1s, v0s, v1s)
    return ScalarPlan(program.loss, differentiable, columns)


def forward(plan: ScalarPlan, values: list) -> Optional[list]:
    """Forward on Python floats, filling `values` (executor.initial_values': the leaves and the
    literals, then None for every node); None when math raised or a value is not finite."""
    floats = values  # converted in place (a million slots: no second list)
    for i, v in enumerate(floats):
        if v is not None:  # None: a node's slot
            floats[i] = float(v)
    try:
        for fn, out, a0, a1 in plan.forward:
            floats[out] = fn(floats[a0]) if a1 < 0 else fn(floats[a0], floats[a1])
    except (ArithmeticError, ValueError):
        return None
    return floats if math.isfinite(sum(floats)) else None


def backward(plan: ScalarPlan, floats) -> Optional[list]:
    """d loss / d slot for params and nodes (0.0 where the loss does not depend on it), None for
    other slots; None as a whole when the numpy path must run instead."""
    cts: List = [None] * len(floats)
    cts[plan.loss] = 1.0
    try:
        for out, a0, a1, v0, v1 in plan.backward:
            g = cts[out]
            if g is None:
                continue
            ans = floats[out]
            if a1 < 0:
                if v0 is None:
                    continue  # the argument is an input (or a literal): no gradient
                c = v0(g, ans, floats[a0])
                previous = cts[a0]
                cts[a0] = c if previous is None else previous + c
                continue
            x, y = floats[a0], floats[a1]
            if v0 is not None:
                c = v0(g, ans, x, y)
                previous = cts[a0]
                cts[a0] = c if previous is None else previous + c
            if v1 is not None:
                c = v1(g, ans, x, y)
                previous = cts[a1]
                cts[a1] = c if previous is None else previous + c
    except (ArithmeticError, ValueError):
        return None
    if not math.isfinite(sum(c for c in cts if c is not None)):
        return None
    return [(0.0 if c is None else c) if d else None
            for c, d in zip(cts, plan.differentiable)]
