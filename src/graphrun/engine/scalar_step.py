"""scalar_step: one forward and backward pass of a scalar program as a straight-line Python
function, for training, where the same pass runs thousands of times.

engine/scalar.py interprets a ScalarPlan: per node a tuple to unpack and a twin to call, about
0.35 us a node. Training a scalar graph repeats the same plan every step, so here the plan is
written out once as Python source and compiled (one line per value and per contribution, about
0.1 us a node): `step(v, c)` fills `v` (slot -> value) and `c` (slot -> d loss / d slot).

It computes exactly what scalar.forward and scalar.backward compute: the same twins, the same
float operations in the same order (contributions summed in reverse program order, each value's
first contribution assigned, the rest added, as the executor accumulates them). The commonest
twins are written inline as the very expressions of their op entries' (INLINE below:
tests/test_train_engine.py checks each against its twin, to the bit); any other twin is called.
Math errors (log(0), 1/0, exp overflow) raise as they would in the twin; the caller decides.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from ..ops import OPS

# what the inline expressions call: C functions all (no Python frame is pushed for them)
_INLINE_NAMES = {"tanh": math.tanh, "np_tanh": np.tanh, "longdouble": np.longdouble}

# op -> (forward, VJP per argument): the twin's own expression, {0} {1} the arguments, {g} the
# incoming gradient, {ans} the node's value; None: call the twin
INLINE = {
    "add": ("{0} + {1}", "{g}", "{g}"),
    "sub": ("{0} - {1}", "{g}", "-{g}"),
    "mul": ("{0} * {1}", "{g} * {1}", "{g} * {0}"),
    "div": ("{0} / {1}", "{g} / {1}", "-{g} * (({0} / {1}) / {1})"),
    "neg": ("-{0}", "-{g}"),
    "square": ("{0} * {0}", "{g} * (2 * {0})"),
    "exp": (None, "{g} * {ans}"),
    "log": (None, "{g} / {0}"),
    "sqrt": (None, "{g} / (2 * {ans})"),
    # the twin rounds tanh from extended precision from |x| = 5 on (ops/elementwise.py)
    "tanh": ("(tanh({0}) if -5.0 < {0} < 5.0 else float(np_tanh(longdouble({0}))))",
             "{g} * (1 - {ans} * {ans})"),
    "sigmoid": (None, "{g} * (1 - {ans}) * {ans}"),
    "relu": ("({0} if {0} > 0 else 0.0)", "({g} if {0} > 0 else 0.0)"),
}


def _templates() -> dict:
    """twin function -> its inline expression. Keyed by the function itself: a twin replaced
    later (a test planting a wrong one) is not in here, and is called as it is."""
    out = {}
    for name, texts in INLINE.items():
        fns = OPS[name].scalar
        if fns is None:
            continue
        for fn, text in zip(fns, texts):
            if text is not None:
                out[fn] = text
    return out


_BY_TWIN = _templates()


LOCALS_UP_TO = 250  # slots: a smaller program keeps its values in local variables (see below)


def step_lines(plan, val=lambda s: f"v[{s}]", ct=lambda s: f"c[{s}]"):
    """(the source lines of one forward and backward pass, the twins they call by name, the
    slots whose d loss / d slot the lines assign): each value's line, then the contributions.
    val(slot) and ct(slot) name a value and its cotangent in the source."""
    lines, called = [], {}

    def expr(fn, args, **extra) -> str:
        text = _BY_TWIN.get(fn)
        if text is not None:
            return text.format(*args, **extra)
        name = called.setdefault(fn, f"f{len(called)}")
        return f"{name}({', '.join([*(extra[k] for k in ('g', 'ans') if k in extra), *args])})"

    for fn, out, a0, a1 in plan.forward:
        args = [val(a0)] + ([val(a1)] if a1 >= 0 else [])
        lines.append(f"{val(out)} = {expr(fn, args)}")
    lines.append(f"{ct(plan.loss)} = 1.0")
    reached = {plan.loss: None}  # in the order assigned
    for out, a0, a1, v0, v1 in plan.backward:
        if out not in reached:
            continue  # the loss does not depend on this node
        args = [val(a0)] + ([val(a1)] if a1 >= 0 else [])
        for slot, vjp in ((a0, v0), (a1, v1)):
            if vjp is None:
                continue  # an input or a literal: no gradient
            term = expr(vjp, args, g=ct(out), ans=val(out))
            if slot in reached:
                lines.append(f"{ct(slot)} = {ct(slot)} + ({term})")
            else:
                lines.append(f"{ct(slot)} = {term}")
                reached[slot] = None
    return lines, {name: fn for fn, name in called.items()}, tuple(reached)


def _function(name, params, body, namespace):
    bound = "".join(f", {k}={k}" for k in namespace)
    source = f"def {name}({params}{bound}):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(source, f"<graphrun: scalar {name}>", "exec"), namespace)
    return namespace[name]


def compile_step(plan) -> Callable:
    """`step(v, c)` for a ScalarPlan: v holds every leaf and literal (floats) and receives every
    node's value; c receives d loss / d slot for every value the loss depends on (other entries
    are left as they are: keep them 0.0)."""
    lines, called, _ = step_lines(plan)
    return _function("step", "v, c", lines, dict(called, **_INLINE_NAMES))


def compile_loop(plan, optimizer, report: Sequence[int], log_every: int,
                 constant_lr: bool) -> Callable:
    """The whole training loop on Python floats, as one function:

        loop(v, c, st, lrs, rows, begin, end, fallback, progress, clock)
            -> (first loss, last loss, best loss, its step)

    Steps begin to end (1 to the run's steps; a resumed run's go on from the steps it resumes
    from). Each step: the rate from `lrs` (or lrs itself, a float, when `constant_lr`); the pass
    (step_lines); one finite check of every value and gradient (a sum, finite only if each term
    is); `fallback(t, lr, first, last)` when the pass raised or the check failed (it raises the
    reference's located error, or writes the reference's numbers into v and c); the history row
    appended to `rows` when the step is logged; the optimizer's update (optim.Optimizer.lines;
    its state in `st`, the run's optimizer.state); `progress(t, end, loss, seconds)` about
    every 0.1 s. v and c hold the last step's values and gradients at the end.

    A program of up to LOCALS_UP_TO slots keeps its values and cotangents in local variables
    (twice as fast as list entries), written back to v and c around `fallback` and at the end.
    A bigger one works on the lists: past 255 locals each access takes an extra instruction, and
    from a frame of thousands of locals CPython 3.11 may allocate a new stack chunk for every
    call of a twin written in Python (ten microseconds each)."""
    n = len(plan.differentiable)
    local = n <= LOCALS_UP_TO
    val = (lambda s: f"v{s}") if local else (lambda s: f"v[{s}]")
    ct = (lambda s: f"c{s}") if local else (lambda s: f"c[{s}]")
    lines, called, reached = step_lines(plan, val, ct)
    if local:
        values = list(range(n))
        cts = list(dict.fromkeys([*reached, *optimizer.slots]))
        fill = [f"{val(s)} = v[{s}]" for s in values] + [f"{ct(s)} = c[{s}]" for s in cts]
        spill = [f"v[{s}] = {val(s)}" for s in values] + [f"c[{s}] = {ct(s)}" for s in cts]
        nodes = [s for s, d in enumerate(plan.differentiable) if d and s not in optimizer.slots]
        terms = [val(s) for s in nodes] + [ct(s) for s in reached]  # leaves are finite
        check = " + ".join(terms)
    else:
        fill = spill = []
        check = "sum(v) + sum(c)"
    reported = "".join(f"{val(s)}, " for s in report)
    body = ["first = best = inf", "best_step = 0", "loss = nan",
            "start = next_report = clock()"] + fill + [
            "for t in range(begin, end + 1):",
            "    lr = lrs" if constant_lr else "    lr = next(lrs)",
            "    try:"]
    body += [f"        {line}" for line in lines]
    body += [f"        check = {check}",
             "        ok = check - check == 0.0",
             "    except (ArithmeticError, ValueError):",
             "        ok = False",
             "    if not ok:"]
    body += ["        " + line for line in spill]
    body += ["        fallback(t, lr, first, loss)"]
    body += ["        " + line for line in fill]
    body += [f"    loss = {val(plan.loss)}",
             "    if t == begin:",
             "        first = loss",
             "    if loss < best:",
             "        best = loss",
             "        best_step = t",
             f"    if t % {log_every} == 0 or t == begin or t == end:",
             f"        rows.append((t, lr, loss, ({reported})))"]
    body += ["    " + line for line in optimizer.lines(val, ct, lambda k, j: f"st[{k}][{j}]")]
    body += ["    if progress is not None:",
             "        now = clock()",
             "        if now >= next_report:",
             "            progress(t, end, loss, now - start)",
             "            next_report = now + 0.1"]
    body += spill + ["return first, loss, best, best_step"]
    namespace = dict(called, **_INLINE_NAMES, sqrt=optimizer.sqrt, copy=optimizer.copy,
                     inf=math.inf, nan=math.nan)
    return _function("loop", "v, c, st, lrs, rows, begin, end, fallback, progress, clock", body,
                     namespace)
