"""scalar_step: one forward and backward pass of a scalar program as a straight-line Python
function, for training, where the same pass runs thousands of times.

engine/scalar.py interprets a ScalarPlan: per node a tuple to unpack and a twin to call, about
0.35 us a node. Training a scalar graph repeats the same plan every step, so here the plan is
written out once as Python source and compiled (one line per value and per contribution, about
0.1 us a node): `step(v, c)` fills `v` (slot -> value) and `c` (slot -> d loss / d slot).

It computes exactly what scalar.forward and scalar.backward compute: the same twins, the same
float operations in the same order (contributions summed in reverse program order, each value's
first contribution assigned, the rest added, as the executor accumulates them). The commonest
twins are written inline as the very expressions of ops/scalar.py (INLINE below:
tests/test_train_engine.py checks each against its twin, to the bit); any other twin is called.
Math errors (log(0), 1/0, exp overflow) raise as they would in the twin; the caller decides.
"""

from __future__ import annotations

from typing import Callable

from ..ops import OPS
from ..ops.scalar import twin

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
    "tanh": (None, "{g} * (1 - {ans} * {ans})"),
    "sigmoid": (None, "{g} * (1 - {ans}) * {ans}"),
    "relu": ("({0} if {0} > 0 else 0.0)", "({g} if {0} > 0 else 0.0)"),
}


def _templates() -> dict:
    """twin function -> its inline expression. Keyed by the function itself: a twin replaced
    later (a test planting a wrong one) is not in here, and is called as it is."""
    out = {}
    for name, texts in INLINE.items():
        fns = twin(OPS[name])
        if fns is None:
            continue
        for fn, text in zip(fns, texts):
            if text is not None:
                out[fn] = text
    return out


_BY_TWIN = _templates()


def compile_step(plan) -> Callable:
    """`step(v, c)` for a ScalarPlan: v holds every leaf and literal (floats) and receives every
    node's value; c receives d loss / d slot for every value the loss depends on (other entries
    are left as they are: keep them 0.0)."""
    lines, called = [], {}

    def call(fn, args) -> str:
        name = called.setdefault(fn, f"f{len(called)}")
        return f"{name}({', '.join(args)})"

    def expr(fn, args, **extra) -> str:
        text = _BY_TWIN.get(fn)
        if text is None:
            return call(fn, [*(extra[k] for k in ("g", "ans") if k in extra), *args])
        return text.format(*args, **extra)

    for fn, out, a0, a1 in plan.forward:
        args = [f"v[{a0}]"] + ([f"v[{a1}]"] if a1 >= 0 else [])
        lines.append(f"v[{out}] = {expr(fn, args)}")
    lines.append(f"c[{plan.loss}] = 1.0")
    reached = {plan.loss}
    for out, a0, a1, v0, v1 in plan.backward:
        if out not in reached:
            continue  # the loss does not depend on this node
        args = [f"v[{a0}]"] + ([f"v[{a1}]"] if a1 >= 0 else [])
        for slot, vjp in ((a0, v0), (a1, v1)):
            if vjp is None:
                continue  # an input or a literal: no gradient
            term = expr(vjp, args, g=f"c[{out}]", ans=f"v[{out}]")
            if slot in reached:
                lines.append(f"c[{slot}] = c[{slot}] + ({term})")
            else:
                lines.append(f"c[{slot}] = {term}")
                reached.add(slot)
    bound = "".join(f", {name}={name}" for name in called.values())
    source = f"def step(v, c{bound}):\n" + "".join(f"    {line}\n" for line in lines)
    namespace = {name: fn for fn, name in called.items()}
    exec(compile(source, "<graphrun: scalar step>", "exec"), namespace)
    return namespace["step"]
