"""The Python-float twin of the op table (scalar_ops) must agree with ops.py, its reference."""

import math

import numpy as np
import pytest

from conftest import compile_text
import graphrun
from graphrun import NumericError
from graphrun.ops import OPS
from graphrun.ops.scalar import SCALAR_OPS

DOMAIN = {"log": (0.1, 3.0), "sqrt": (0.1, 3.0), "pow": (0.1, 3.0), "div": (0.5, 3.0)}
KINKS = {"relu": [(0.0,)], "abs": [(0.0,)], "maximum": [(1.5, 1.5)], "minimum": [(-0.5, -0.5)],
         "pow": [(0.0, 0.0), (0.0, 2.0), (2.0, 0.0)], "sigmoid": [(1000.0,), (-1000.0,)],
         "softplus": [(1000.0,), (-1000.0,)]}


def _points(name, arity):
    rng = np.random.default_rng(len(name))
    low, high = DOMAIN.get(name, (-3.0, 3.0))
    points = [tuple(rng.uniform(low, high, arity)) for _ in range(20)]
    return points + KINKS.get(name, [])


@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
def test_scalar_twin_agrees_with_the_numpy_op(name):
    fn, *vjps = SCALAR_OPS[name]
    op = OPS[name]
    assert len(vjps) == op.arity
    for point in _points(name, op.arity):
        arrays = [np.float64(p) for p in point]
        with np.errstate(all="ignore"):
            expected = op.forward(*arrays)
        got = fn(*point)
        assert type(got) in (float, int) or isinstance(got, float)
        assert math.isclose(got, float(expected), rel_tol=4e-16 * 4, abs_tol=1e-300), (point,)
        for i, vjp in enumerate(vjps):
            # the same ans for both, so that only the VJP formulas are compared
            with np.errstate(all="ignore"):
                want = float(op.vjp(i)(np.float64(0.7), expected, *arrays))
            have = vjp(0.7, float(expected), *point)
            assert math.isclose(have, want, rel_tol=4e-16 * 8, abs_tol=1e-300), (point, i)


SCALAR_GRAPH = """
graphrun: 1
inputs: {x: 0.3}
params: {a: 1.7, b: -0.4, c: 2.5}
nodes:
  m: {op: mul, args: [x, a]}
  s: {op: add, args: [m, b]}
  t: {op: tanh, args: [s]}
  r: {op: relu, args: [s]}
  q: {op: div, args: [t, c]}
  p: {op: pow, args: [c, 2]}
  e: {op: exp, args: [q]}
  mx: {op: maximum, args: [e, r]}
  sp: {op: softplus, args: [mx]}
  sg: {op: sigmoid, args: [p]}
  L1: {op: mul, args: [sp, sg]}
  L: {op: add, args: [L1, m]}
  unused: {op: square, args: [b]}
loss: L
"""


def test_a_scalar_program_runs_on_the_scalar_path_and_matches_numpy():
    graph = compile_text(SCALAR_GRAPH)
    assert graph.plan.scalar is not None
    fast = graphrun.run(graph)
    assert type(fast.slot_values[graph.program.slot("L")]) is float  # it took the scalar path
    reference = graphrun.run(graph, fast=False)  # the public switch: numpy throughout
    assert type(reference.slot_values[graph.program.slot("L")]) is not float
    for name in fast.values:
        assert type(fast.values[name]) is np.ndarray  # one type, whatever path ran
        assert fast.values[name].dtype == reference.values[name].dtype, name
        assert math.isclose(fast.values[name], reference.values[name], rel_tol=1e-14), name
    for name in fast.grads:
        assert math.isclose(fast.grads[name], reference.grads[name], rel_tol=1e-14,
                            abs_tol=1e-300), name
    assert fast.grads["unused"] == 0.0


def test_tensor_programs_do_not_take_the_scalar_path():
    graph = compile_text("""
graphrun: 1
params: {w: [1.0, 2.0]}
nodes:
  s: {op: sum, args: [w]}
loss: s
""")
    assert graph.plan.scalar is None


@pytest.mark.parametrize("body,expected", [
    ("y: {op: log, args: [z]}", "node 'y' (log): forward produced -inf"),
    ("y: {op: div, args: [x, z]}", "node 'y' (div): forward produced inf"),
    ("y: {op: exp, args: [big]}", "node 'y' (exp): forward produced inf"),
    ("y: {op: sqrt, args: [z]}", "node 'y' (sqrt): backward produced inf"),
])
def test_math_errors_fall_back_to_the_numpy_path_and_its_message(body, expected):
    graph = compile_text(f"""
graphrun: 1
params: {{x: 1.0, z: 0.0, big: 1000.0}}
nodes:
  {body}
loss: y
""")
    with pytest.raises(NumericError) as e:
        graphrun.run(graph)
    assert expected in str(e.value)
    # with non-finite values allowed, the numpy path (the reference for nan and inf) writes them
    results = graphrun.run(graph, check_finite=False)
    assert not math.isfinite(results.values["y"]) or \
        not all(np.isfinite(g) for g in results.grads.values())


def test_allowing_nonfinite_values_changes_no_finite_number():
    # --allow-nonfinite must not switch a finite scalar graph to another path (a different last
    # digit from math.tanh against numpy's tanh would make the two runs differ)
    graph = compile_text(SCALAR_GRAPH)
    default, allowed = graphrun.run(graph), graphrun.run(graph, check_finite=False)
    assert default.slot_values == allowed.slot_values and default.slot_grads == allowed.slot_grads
