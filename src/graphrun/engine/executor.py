"""executor: the reference interpreter. Forward is a flat loop over a Plan's steps; backward is the
same loop reversed, accumulating cotangents. The executor never names an op: everything comes from
the op table.

- `compile_plan(program)` makes the Plan once: flat tuples indexed by slot, no names, no dicts to
  look up per step (the numpy steps made on first use). The compiled graph holds it
  (api.Graph.plan).
- `forward(plan, leaves)` and `backward(plan, values)` run on numpy: the reference. `backward` can
  record every contribution it folds (step, argument, incoming cotangent, contribution, the VJP's
  own shape when it was summed back), which explain and gradcheck read instead of calling the
  VJPs again.
- `execute(plan, leaves)` is the one door to a faster path: a program made only of float64 scalars
  runs on Python floats (run/scalar.py) unless `fast=False`. Either way the values it returns are
  numpy arrays or Python floats by slot; api.Results hands every value out as a numpy array.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cached_property
from typing import List, NamedTuple, Optional, Sequence

import numpy as np

from .. import blas
from ..errors import NumericError, Problem
from ..frontend.graph import Program
from ..ops import OpError
from . import scalar


def summed_axes(from_shape, to_shape) -> tuple:
    """The axes of a cotangent of `from_shape` that are summed to give `to_shape`: the leading
    axes broadcasting added, and those where the argument had size 1."""
    extra = len(from_shape) - len(to_shape)
    return tuple(range(extra)) + tuple(extra + i for i, d in enumerate(to_shape)
                                       if d == 1 and from_shape[extra + i] != 1)


def unbroadcast(g, shape):
    """Sum a cotangent back to its argument's shape (over summed_axes). The one place
    broadcasting is undone; it also asserts that a VJP gave a shape that broadcasting explains
    (anything else is a bug in a rule, never silently reshaped)."""
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra >= 0:
        axes = summed_axes(g.shape, shape)
        if axes:
            g = np.sum(g, axis=axes, keepdims=True)
            if extra:
                g = g.reshape(g.shape[extra:])  # the leading axes, summed to size 1, go
    if g.shape != tuple(shape):
        raise AssertionError(f"a VJP gave a cotangent that broadcasting does not explain for an "
                             f"argument of shape {tuple(shape)}")
    return g


class Contribution(NamedTuple):
    """One term of the chain rule: argument `arg` of program step `step` receives `value` (in the
    argument's shape) from the cotangent `upstream` of the step's result. `vjp_shape` is the VJP's
    own shape when broadcasting made it bigger and it was summed back (None otherwise)."""

    step: int
    arg: int
    slot: int
    upstream: object
    value: object
    vjp_shape: Optional[tuple]


def contribution(step, i: int, g, values, shape):
    """Argument i's share of the cotangent g of the step's result, and the VJP's own shape when
    it was summed back to `shape`: the one place a VJP is applied."""
    c = step.op.vjp(i)(g, values[step.out], *[values[a] for a in step.args], **dict(step.attrs))
    if np.shape(c) == shape:
        return c, None
    return unbroadcast(c, shape), np.shape(c)


@dataclass(frozen=True)
class Plan:
    """A program compiled once for running. The numpy steps are made when first used: a program
    the Python-float path runs never needs them (they would be a third of a big chain's memory)."""

    program: Program
    scalar: Optional[scalar.ScalarPlan]  # the Python-float path, when the program allows it
    steps: Optional[tuple] = None  # (forward, backward) given, as a training step's; else made

    @cached_property
    def _numpy(self) -> tuple:
        return self.steps if self.steps is not None else _numpy_steps(self.program)

    @cached_property
    def small(self) -> bool:
        """Whether every value is small enough to run on one BLAS thread (blas.SMALL)."""
        return max((math.prod(t.shape) for t in self.program.types), default=0) <= blas.SMALL

    @property
    def forward(self) -> tuple:
        """per step, program order: (forward fn, out slot, arg slots, attrs dict, step, check:
        False when every use of the value lets nan/inf flow on, see Op.flows)"""
        return self._numpy[0]

    @property
    def backward(self) -> tuple:
        """per step, reversed: (out, arg slots, attrs, ((vjp, slot, shape, i), ...), step,
        check: False when nan/inf in the cotangent would flow on, index)"""
        return self._numpy[1]


_NO_ATTRS: dict = {}  # shared by every step without attributes; never written to


def compile_plan(program: Program) -> Plan:
    return Plan(program, scalar.compile_scalar(program))


def _numpy_steps(program: Program) -> tuple:
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
    for index, step in enumerate(program.steps):
        op = step.op
        attrs = dict(step.attrs) if step.attrs else _NO_ATTRS
        fsteps.append((op.forward, step.out, step.args, attrs, step, needs_check[step.out]))
        targets = []
        for i, slot in enumerate(step.args):
            if differentiable[slot]:
                vjp = op.vjp(i)
                if vjp is not None:
                    targets.append((vjp, slot, types[slot].shape, i))
        bsteps.append((step.out, step.args, attrs, tuple(targets), step,
                       not (op.flows and targets), index))
    bsteps.reverse()
    return tuple(fsteps), tuple(bsteps)


def initial_values(program: Program, leaves: Sequence) -> list:
    """Slot values before the first step: the leaves, then the number literals."""
    values: List = [None] * len(program.names)
    values[:len(leaves)] = leaves
    for slot, c in program.consts:
        values[slot] = c
    return values


def check_leaves(program: Program, leaves, which) -> None:
    """Raise NumericError for the first non-finite leaf among the slots `which`."""
    with np.errstate(all="ignore"):  # x . x of a huge finite value overflows: no warning, a check
        for i in which:
            if not _finite(leaves[i]):
                _check_finite(program, i, leaves[i], "the value read", None)


def execute(plan: Plan, leaves, *, gradients: bool = True, check_finite: bool = True,
            fast: bool = True, timings: Optional[dict] = None, floats: Optional[Sequence] = None):
    """(values, grads) by slot: forward, then backward when the program has a loss and
    `gradients` is True (grads None otherwise). The one door to the Python-float path: taken when `fast` and the plan allows it,
    and left for the reference whenever that path meets a math error or a non-finite number (the
    reference then gives the answer, or names the problem). `timings` receives the seconds of
    "forward" and "backward". `leaves`: the leaves' arrays by slot, or a function giving them
    (called only when the numpy path runs); `floats`: the same leaves as Python floats, which the
    Python-float path reads instead when given."""
    timings = {} if timings is None else timings
    program = plan.program
    backward_too = gradients and program.loss is not None
    start = time.perf_counter()
    if fast and plan.scalar is not None:
        given = floats if floats is not None else _arrays(leaves)
        floats = scalar.forward(plan.scalar, initial_values(program, given))
        del given
        if floats is not None:
            timings["forward"] = time.perf_counter() - start
            start = time.perf_counter()
            grads = scalar.backward(plan.scalar, floats) if backward_too else None
            timings["backward"] = time.perf_counter() - start
            if not backward_too or grads is not None:
                return floats, grads
        start = time.perf_counter()
    leaves = _arrays(leaves)
    # BLAS threads sized to the work: a graph of small tensors on one thread (a second would
    # only spin beside it, and take a core from another process), a bigger one on them all
    with blas.one_thread_if(plan.small):
        values = forward(plan, leaves, check_finite=check_finite)
        timings["forward"] = time.perf_counter() - start
        start = time.perf_counter()
        grads = backward(plan, values, check_finite=check_finite) if backward_too else None
        timings["backward"] = time.perf_counter() - start
    return values, grads


def _arrays(leaves) -> Sequence:
    return leaves() if callable(leaves) else leaves


def forward(plan: Plan, leaves: Sequence, *, check_finite: bool = True,
            _every: bool = False) -> list:
    """Every slot's value, on numpy."""
    program = plan.program
    values = initial_values(program, leaves)
    with np.errstate(all="ignore"):
        for fn, out, args, attrs, step, check in plan.forward:
            try:
                values[out] = fn(*[values[a] for a in args], **attrs)
            except OpError as e:
                path = program.paths[args[e.arg]] if e.arg is not None else step.path
                raise NumericError([Problem(f"node '{step.name}' ({step.op.name}): {e}", path)],
                                   program.source) from None
            if check_finite and (check or _every) and not _finite(values[out]):
                if not _every:  # again, checking every value, to name the first that went bad
                    forward(plan, leaves, _every=True)
                _check_finite(program, out, values[out], "forward", step)
    return values


def backward(plan: Plan, values: Sequence, *, check_finite: bool = True,
             record: Optional[list] = None, _every: bool = False) -> list:
    """d loss / d slot for every param and node (zeros where the loss does not depend on it; None
    for inputs and literals), by the chain rule in reverse program order. With `record` (a list),
    every Contribution is appended to it as it is folded in."""
    program = plan.program
    n = len(program.names)
    cts: List = [None] * n
    loss = program.loss
    cts[loss] = np.ones(program.types[loss].shape, program.types[loss].dtype)
    checked = set()  # ids of cotangents already found finite (add's VJP passes g on as it is)
    with np.errstate(all="ignore"):
        for out, args, attrs, targets, step, check, index in plan.backward:
            g = cts[out]
            if g is None:
                continue  # the loss does not depend on this node
            # complete now: every use has added to it
            if check_finite and (check or _every) and id(g) not in checked:
                if not _finite(g):
                    if not _every:  # again, checking every cotangent, to name the first
                        backward(plan, values, _every=True)
                    _blame(program, values, cts, out, record)
                checked.add(id(g))
            arg_values = [values[a] for a in args]
            ans = values[out]
            for vjp, slot, shape, i in targets:
                c = vjp(g, ans, *arg_values, **attrs)
                vjp_shape = None
                if c.shape != shape:
                    vjp_shape = c.shape
                    c = unbroadcast(c, shape)
                if record is not None:
                    record.append(Contribution(index, i, slot, g, c, vjp_shape))
                # accumulate into a new array: a VJP may return g itself (add), so += would
                # corrupt another value's cotangent
                previous = cts[slot]
                cts[slot] = c if previous is None else previous + c
    grads: List = [None] * n
    with np.errstate(all="ignore"):
        for slot, differentiable in enumerate(program.differentiable):
            if differentiable:
                t = program.types[slot]
                g = cts[slot]
                grads[slot] = np.zeros(t.shape, t.dtype) if g is None else np.asarray(g, t.dtype)
                if check_finite and program.kinds[slot] == "param" and id(g) not in checked \
                        and not _finite(grads[slot]):
                    if not _every:
                        backward(plan, values, _every=True)
                    _blame(program, values, cts, slot, record)
    return grads


def _blame(program: Program, values, cts, slot, record):
    """d loss / d slot is not finite: name the node whose contribution made it so (or the sum of
    the contributions, if each was finite). `record` holds the contributions when the caller kept
    them; otherwise they are recomputed (error path only)."""
    if record is None:
        record = []
        with np.errstate(all="ignore"):
            for index, step in enumerate(program.steps):
                g = cts[step.out]
                for i, a in enumerate(step.args):
                    if a == slot and g is not None and step.op.vjp(i) is not None:
                        c, _ = contribution(step, i, g, values, program.types[slot].shape)
                        record.append(Contribution(index, i, a, g, c, None))
    for c in record:
        if c.slot == slot and not _finite(np.asarray(c.value)):
            _check_finite(program, slot, c.value, "backward", program.steps[c.step])
    _check_finite(program, slot, cts[slot], "backward", None)


def _finite(x) -> bool:
    """True when x holds no nan or inf. One reduction instead of a boolean array: x . x (BLAS, the
    fastest pass over memory numpy has) or a sum is finite only if every element is; when it
    overflows, the elements are checked one by one."""
    if type(x) is np.ndarray and x.ndim:
        if x.dtype.kind != "f":
            return True  # integers (labels) have no nan or inf
        if x.flags.c_contiguous:
            flat = x.reshape(-1)
            if _DOT_THREADED < flat.size <= blas.SMALL:  # on one thread: a second wakes to
                with blas.one_thread():  # share a pass too short to pay for it (see below)
                    quick = np.dot(flat, flat)
            else:
                quick = np.dot(flat, flat)
        else:  # a broadcast view (sum's VJP): no copy
            quick = x.sum()
        return math.isfinite(quick) or bool(np.isfinite(x).all())
    return math.isfinite(x)


# OpenBLAS's ddot uses every thread past this length (its interface/dot.c). Up to blas.SMALL
# elements a second thread slows the pass (0.4 ms against 4 ms at 2^18 on a loaded machine);
# past it the pass is memory-bound and two threads halve it (2^20: 0.26 against 0.59 ms, 2^22:
# 1.7 against 3.4 ms, idle), as they do the matmuls beside it: bench/README.md, goal 3.
_DOT_THREADED = 10_000


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
    raise NumericError([Problem(message, path, fix="allow_nonfinite")], program.source)
