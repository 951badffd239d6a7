"""executor: run a Program forward (a flat loop over its steps) and backward (the same loop reversed,
accumulating cotangents). The executor never names an op: everything comes from the op table.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from ..errors import NumericError, Problem
from ..frontend.graph import Program
from ..ops.table import OpError


@dataclass(frozen=True)
class Results:
    program: Program
    values: tuple  # slot -> array (leaves, literals and nodes); Python floats in a scalar program
    grads: Optional[tuple]  # slot -> d loss / d slot (zeros where the loss does not depend on it);
    # None for inputs, literals, and for everything when there is no loss

    @property
    def loss(self):
        p = self.program
        return None if p.loss is None else self.values[p.loss]


def unbroadcast(g, shape):
    """Sum a cotangent back to its argument's shape: over the leading axes broadcasting added, and
    over the axes where the argument had size 1. The one place broadcasting is undone; it also
    asserts that a VJP gave a shape that broadcasting explains (anything else is a bug in a rule,
    never silently reshaped)."""
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    if extra >= 0:
        axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
        if axes:
            g = np.sum(g, axis=axes, keepdims=True)
    if g.shape != tuple(shape):
        raise AssertionError(f"a VJP gave a cotangent that broadcasting does not explain for an "
                             f"argument of shape {tuple(shape)}")
    return g


@dataclass(frozen=True)
class Plan:
    """A program compiled once for running: flat tuples indexed by slot, no names, no dicts to
    look up per step. Reused by run, forward, backward, explain and gradcheck."""

    forward: tuple  # per step, program order: (forward fn, out slot, arg slots, attrs dict, step,
    #                 check: False when every use of the value lets nan/inf flow on, see Op.flows)
    backward: tuple  # per step, reversed: (out, arg slots, attrs, ((vjp, slot, shape), ...), step,
    #                  check: False when the op lets nan/inf in the cotangent flow to an argument's)


@dataclass(frozen=True)
class ScalarPlan:
    """The same program on Python floats (scalar_ops), for a program of float64 scalars only."""

    forward: tuple  # per step: (fn, out, a0, a1) with a1 = -1 for one argument
    backward: tuple  # per step, reversed: (out, a0, a1, vjp0 or None, vjp1 or None)


_NO_ATTRS: dict = {}  # shared by every step without attributes; never written to


def plan_for(program: Program) -> Plan:
    """The program's plan, compiled on first use and kept on the (immutable) program."""
    plan = program.__dict__.get("_plan")
    if plan is None:
        plan = program.__dict__["_plan"] = _compile(program)
    return plan


def scalar_plan_for(program: Program) -> Optional[ScalarPlan]:
    """The program's Python-float plan, or None unless every value is a float64 scalar and every
    op has a twin in scalar_ops. Compiled on first use and kept, like plan_for."""
    if "_scalar_plan" not in program.__dict__:
        program.__dict__["_scalar_plan"] = _compile_scalar(program)
    return program.__dict__["_scalar_plan"]


def _compile(program: Program) -> Plan:
    differentiable = program.differentiable
    types = program.types
    # A finite check is a pass over memory: skip it where a nan or inf would surely reach a value
    # that is checked later (the error path then runs again checking everything, to name the
    # first). A value needs its own check unless it is used, and only by ops that let it flow.
    needs_check = [True] * len(types)
    used = [False] * len(types)
    for step in program.steps:
        for a in step.args:
            needs_check[a] = (used[a] and needs_check[a]) or not step.op.flows
            used[a] = True
    fsteps, bsteps = [], []
    for step in program.steps:
        op = step.op
        attrs = dict(step.attrs) if step.attrs else _NO_ATTRS
        fsteps.append((op.forward, step.out, step.args, attrs, step, needs_check[step.out]))
        targets = []
        for i, slot in enumerate(step.args):
            if differentiable[slot]:
                vjp = op.vjp(i)
                if vjp is not None:
                    targets.append((vjp, slot, types[slot].shape))
        bsteps.append((step.out, step.args, attrs, tuple(targets), step,
                       not (op.flows and targets)))
    bsteps.reverse()
    return Plan(tuple(fsteps), tuple(bsteps))


def _compile_scalar(program: Program) -> Optional[ScalarPlan]:
    f64 = np.dtype("float64")
    for t in program.types:
        if t.shape or (t.dtype is not None and t.dtype != f64):
            return None
    differentiable = program.differentiable
    fsteps, bsteps = [], []
    for s in program.steps:
        pair = s.op.scalar
        if pair is None or s.attrs:
            return None
        fn, *vjps = pair
        a0, a1 = (s.args + (-1,))[:2]
        fsteps.append((fn, s.out, a0, a1))
        bsteps.append((s.out, a0, a1, vjps[0] if differentiable[a0] else None,
                       vjps[1] if a1 >= 0 and differentiable[a1] else None))
    bsteps.reverse()
    return ScalarPlan(tuple(fsteps), tuple(bsteps))


def _initial_values(program: Program, leaf_values) -> list:
    values: List = [None] * len(program.names)
    for i, leaf in enumerate(program.leaves):
        values[i] = leaf.materialize() if leaf_values is None else leaf_values[i]
    for slot, c in program.consts:
        values[slot] = c
    return values


def _check_leaves(program: Program, values, given: bool) -> None:
    """Leaves written in the file or generated by `init` are finite by construction (the loader
    refuses .nan and .inf, spec refuses what float32 cannot hold); arrays read from .npy files,
    or given by a caller, are checked."""
    for i, leaf in enumerate(program.leaves):
        if (given or leaf.file is not None) and not _finite(values[i]):
            _check_finite(program, i, values[i], "the value read", None)


def forward(program: Program, leaf_values: Optional[Sequence] = None, *,
            check_finite: bool = True, _every: bool = False) -> list:
    """All slot values. `leaf_values` overrides the leaves (gradcheck perturbs them)."""
    values = _initial_values(program, leaf_values)
    if check_finite:
        _check_leaves(program, values, leaf_values is not None)
    scalar = scalar_plan_for(program)
    if scalar is not None:
        floats = _scalar_forward(scalar, values)
        if floats is not None:
            return list(map(np.float64, floats))
    with np.errstate(all="ignore"):
        for fn, out, args, attrs, step, check in plan_for(program).forward:
            try:
                values[out] = fn(*[values[a] for a in args], **attrs)
            except OpError as e:
                path = program.paths[args[e.arg]] if e.arg is not None else step.path
                raise NumericError([Problem(f"node '{step.name}' ({step.op.name}): {e}", path)]) \
                    from None
            if check_finite and (check or _every) and not _finite(values[out]):
                if not _every:  # again, checking every value, to name the first that went bad
                    forward(program, leaf_values, _every=True)
                _check_finite(program, out, values[out], "forward", step)
    return values


def backward(program: Program, values: Sequence, *, check_finite: bool = True,
             _every: bool = False) -> list:
    """d loss / d slot for every param and node, by the chain rule in reverse program order."""
    scalar = scalar_plan_for(program)
    if scalar is not None:
        grads = _scalar_backward(program, scalar, [v if v is None else float(v) for v in values])
        if grads is not None:
            return [g if g is None else np.float64(g) for g in grads]
    plan = plan_for(program)
    n = len(program.names)
    cts: List = [None] * n
    loss = program.loss
    cts[loss] = np.ones(program.types[loss].shape, program.types[loss].dtype)
    checked = set()  # ids of cotangents already found finite (add's VJP passes g on as it is)
    with np.errstate(all="ignore"):
        for out, args, attrs, targets, step, check in plan.backward:
            g = cts[out]
            if g is None:
                continue  # the loss does not depend on this node
            # complete now: every use has added to it
            if check_finite and (check or _every) and id(g) not in checked:
                if not _finite(g):
                    if not _every:  # again, checking every cotangent, to name the first
                        backward(program, values, _every=True)
                    _blame(program, plan, values, cts, out)
                checked.add(id(g))
            arg_values = [values[a] for a in args]
            ans = values[out]
            for vjp, slot, shape in targets:
                c = vjp(g, ans, *arg_values, **attrs)
                if c.shape != shape:
                    c = unbroadcast(c, shape)
                # accumulate into a new array: a VJP may return g itself (add), so += would
                # corrupt another value's cotangent
                previous = cts[slot]
                cts[slot] = c if previous is None else previous + c
    grads: List = [None] * n
    for slot, differentiable in enumerate(program.differentiable):
        if differentiable:
            t = program.types[slot]
            g = cts[slot]
            grads[slot] = np.zeros(t.shape, t.dtype) if g is None else np.asarray(g, t.dtype)
            if check_finite and program.kinds[slot] == "param" and id(g) not in checked \
                    and not _finite(grads[slot]):
                if not _every:
                    backward(program, values, _every=True)
                _blame(program, plan, values, cts, slot)
    return grads


def _blame(program: Program, plan: Plan, values, cts, slot):
    """d loss / d slot is not finite: name the node whose VJP made it so (or the sum of the
    contributions, if each was finite), by recomputing the contributions to it. Error path only."""
    with np.errstate(all="ignore"):
        for out, args, attrs, targets, step, _ in plan.backward:
            g = cts[out]
            if g is None or slot not in args:
                continue
            for vjp, target, shape in targets:
                if target == slot:
                    c = vjp(g, values[out], *[values[a] for a in args], **attrs)
                    if np.shape(c) != shape:
                        c = unbroadcast(c, shape)
                    if not _finite(c):
                        _check_finite(program, slot, c, "backward", step)
    _check_finite(program, slot, cts[slot], "backward", None)


def run(program: Program, *, check_finite: bool = True,
        timings: Optional[dict] = None) -> Results:
    """Forward, then backward when the program has a loss. `timings`, when given, receives the
    seconds spent in "forward" and "backward".

    An all-scalar float64 program runs on Python floats end to end, and its Results hold Python
    floats (0-d values all the same: use np.asarray or np.shape, not .shape, on any value)."""
    timings = {} if timings is None else timings
    start = time.perf_counter()  # compiling the plan counts as forward
    scalar = scalar_plan_for(program)
    if scalar is not None:
        values = _initial_values(program, None)
        if check_finite:
            _check_leaves(program, values, False)
        floats = _scalar_forward(scalar, values)
        if floats is not None:
            timings["forward"] = time.perf_counter() - start
            start = time.perf_counter()
            cts = None if program.loss is None else _scalar_backward(program, scalar, floats)
            timings["backward"] = time.perf_counter() - start
            if program.loss is None or cts is not None:
                return Results(program, tuple(floats), None if cts is None else tuple(cts))
        start = time.perf_counter()
    values = forward(program, check_finite=check_finite)
    timings["forward"] = time.perf_counter() - start
    start = time.perf_counter()
    grads = backward(program, values, check_finite=check_finite) \
        if program.loss is not None else None
    timings["backward"] = time.perf_counter() - start
    return Results(program, tuple(values), None if grads is None else tuple(grads))


def _finite(x) -> bool:
    """True when x holds no nan or inf. One reduction instead of a boolean array: x . x (BLAS, the
    fastest pass over memory numpy has) or a sum is finite only if every element is; when it
    overflows, the elements are checked one by one."""
    if type(x) is np.ndarray and x.ndim:
        if x.dtype.kind != "f":
            return True  # integers (labels) have no nan or inf
        if x.flags.c_contiguous:
            flat = x.reshape(-1)
            quick = np.dot(flat, flat)
        else:  # a broadcast view (sum's VJP): no copy
            quick = x.sum()
        return math.isfinite(quick) or bool(np.isfinite(x).all())
    return math.isfinite(x)


def _scalar_forward(plan: ScalarPlan, values) -> Optional[list]:
    """Forward on Python floats; None when math raised or a value is not finite, so that the numpy
    path (the reference) runs instead and reports."""
    floats = [v if v is None else float(v) for v in values]  # node slots are still None
    try:
        for fn, out, a0, a1 in plan.forward:
            floats[out] = fn(floats[a0]) if a1 < 0 else fn(floats[a0], floats[a1])
    except (ArithmeticError, ValueError):
        return None
    return floats if math.isfinite(sum(floats)) else None


def _scalar_backward(program: Program, plan: ScalarPlan, floats) -> Optional[list]:
    """Backward on Python floats: d loss / d slot for params and nodes (0.0 where the loss does not
    depend on it), None for other slots; None as a whole when the numpy path must run instead."""
    cts: List = [None] * len(floats)
    cts[program.loss] = 1.0
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
            for c, d in zip(cts, program.differentiable)]


def _check_finite(program, slot, value, stage, step):
    if np.isfinite(value).all():
        return
    array = np.asarray(value)
    index = np.unravel_index(int(np.flatnonzero(~np.isfinite(array))[0]), array.shape)
    bad = array[index]
    where = "" if array.ndim == 0 else f" at index {list(int(i) for i in index)}"
    name = program.names[slot]
    if stage == "the value read":
        message = f"{program.kinds[slot]} '{name}' holds {float(bad)!r}{where}"
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
