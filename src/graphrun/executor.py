"""executor: run a Program forward (a flat loop over its steps) and backward (the same loop reversed,
accumulating cotangents). The executor never names an op: everything comes from the op table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .errors import NumericError, Problem
from .graph import Program
from .ops import OpError


@dataclass(frozen=True)
class Results:
    program: Program
    values: tuple  # slot -> array (leaves, literals and nodes)
    grads: Optional[tuple]  # slot -> d loss / d slot (zeros where the loss does not depend on it);
    # None for inputs, literals, and for everything when there is no loss

    @property
    def loss(self):
        p = self.program
        return None if p.loss is None else self.values[p.loss]


def unbroadcast(g, shape):
    """Sum a cotangent back to its argument's shape: over the leading axes broadcasting added, and
    over the axes where the argument had size 1. The one place broadcasting is undone."""
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, d in enumerate(shape)
                                       if d == 1 and g.shape[i + extra] != 1)
    return np.sum(g, axis=axes).reshape(shape)


def forward(program: Program, leaf_values: Optional[Sequence] = None, *,
            check_finite: bool = True) -> list:
    """All slot values. `leaf_values` overrides the leaves (gradcheck perturbs them)."""
    values: List = [None] * len(program.names)
    for i, leaf in enumerate(program.leaves):
        values[i] = leaf.materialize() if leaf_values is None else leaf_values[i]
    for slot, c in program.consts:
        values[slot] = c
    if check_finite:
        for i in range(len(program.leaves)):
            _check_finite(program, i, values[i], "the value read", None)
    with np.errstate(all="ignore"):
        for step in program.steps:
            try:
                values[step.out] = step.op.forward(*[values[a] for a in step.args],
                                                   **dict(step.attrs))
            except OpError as e:
                path = program.paths[step.args[e.arg]] if e.arg is not None else step.path
                raise NumericError([Problem(f"node '{step.name}' ({step.op.name}): {e}", path)]) \
                    from None
            if check_finite:
                _check_finite(program, step.out, values[step.out], "forward", step)
    return values


def backward(program: Program, values: Sequence, *, check_finite: bool = True) -> list:
    """d loss / d slot for every param and node, by the chain rule in reverse program order."""
    n = len(program.names)
    cts: List = [None] * n
    loss = program.loss
    cts[loss] = np.ones(program.types[loss].shape, program.types[loss].dtype)
    differentiable = [kind in ("param", "node") for kind in program.kinds]
    with np.errstate(all="ignore"):
        for step in reversed(program.steps):
            g = cts[step.out]
            if g is None:
                continue  # the loss does not depend on this node
            args = [values[a] for a in step.args]
            ans = values[step.out]
            attrs = dict(step.attrs)
            for i, slot in enumerate(step.args):
                if not differentiable[slot]:
                    continue
                vjp = step.op.vjp(i)
                if vjp is None:
                    continue
                c = vjp(g, ans, *args, **attrs)
                shape = program.types[slot].shape
                if np.shape(c) != shape:
                    c = unbroadcast(c, shape)
                if check_finite:
                    _check_finite(program, slot, c, "backward", step)
                # accumulate into a new array: a VJP may return g itself (add), so += would
                # corrupt another value's cotangent
                cts[slot] = c if cts[slot] is None else cts[slot] + c
    grads = [None] * n
    for slot in range(n):
        if differentiable[slot]:
            t = program.types[slot]
            g = cts[slot]
            grads[slot] = np.zeros(t.shape, t.dtype) if g is None else np.asarray(g, t.dtype)
            if check_finite:
                _check_finite(program, slot, grads[slot], "backward", None)
    return grads


def run(program: Program, *, check_finite: bool = True) -> Results:
    values = forward(program, check_finite=check_finite)
    grads = backward(program, values, check_finite=check_finite) \
        if program.loss is not None else None
    return Results(program, tuple(values), None if grads is None else tuple(grads))


def _check_finite(program, slot, value, stage, step):
    if np.isfinite(value).all():
        return
    array = np.asarray(value)
    index = np.unravel_index(int(np.flatnonzero(~np.isfinite(array))[0]), array.shape)
    bad = array[index]
    where = "" if array.ndim == 0 else f" at index {list(int(i) for i in index)}"
    name = program.names[slot]
    if stage == "the value read":
        message = f"{program.kinds[slot]} '{name}' holds {bad!r}{where}"
    elif stage == "forward":
        message = f"node '{name}' ({step.op.name}): forward produced {float(bad)!r}{where}"
    elif step is None:
        message = (f"d loss/d '{name}' overflowed to {float(bad)!r}{where} in backward, "
                   "summing the gradients from its uses")
    else:
        message = (f"node '{step.name}' ({step.op.name}): backward produced {float(bad)!r}{where} "
                   f"in d loss/d '{name}'")
    path = program.paths[slot] if step is None else step.path
    raise NumericError([Problem(message + "; use --allow-nonfinite to write it anyway", path)])
