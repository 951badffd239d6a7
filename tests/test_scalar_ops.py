"""The Python-float twins of the op table (each entry's `scalar=`) must agree with the numpy
reference beside them, at points drawn from the entry's samples of scalars and at its edges (kinks,
0^0, overflow), with the samples' attributes."""

import math
import zlib

import numpy as np
import pytest

from conftest import compile_text
import graphrun
from graphrun import NumericError
from graphrun.ops import OPS

TWINNED = sorted(name for name, op in OPS.items() if op.scalar is not None)


def _points(op):
    """(point, attrs): 20 drawn from each sample whose arguments are all scalars, then the edges."""
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))  # not hash(): PYTHONHASHSEED
    points = []
    for s in op.samples:
        if all(shape == () for shape in s.shapes):
            attrs = {k: op.attrs[k].kind.normalise(v) for k, v in s.attrs.items()}
            points += [(tuple(float(d.draw(rng, ())) for d in s.domains), attrs)
                       for _ in range(20)]
    return points, [(point, {}) for point in op.edges]


def test_the_ops_of_scalar_chains_have_twins():
    # without a twin a scalar graph silently runs on numpy, several times slower
    assert {"add", "mul", "tanh", "sub", "div", "exp", "log"} <= set(TWINNED)


@pytest.mark.parametrize("name", TWINNED)
def test_scalar_twin_agrees_with_the_numpy_op(name):
    op = OPS[name]
    fn, *vjps = op.scalar
    assert len(vjps) == op.arity
    drawn, edges = _points(op)
    assert drawn, f"{name}: a twin needs a sample of scalars to be checked at"
    for point, attrs in drawn + edges:
        arrays = [np.float64(p) for p in point]
        with np.errstate(all="ignore"):
            expected = op.forward(*arrays, **attrs)
        got = fn(*point, **attrs)
        assert isinstance(got, (float, int)), (point, type(got))
        assert math.isclose(got, float(expected), rel_tol=4e-16 * 4, abs_tol=1e-300), (point,)
        for i, vjp in enumerate(vjps):
            # the same ans for both, so that only the VJP formulas are compared
            with np.errstate(all="ignore"):
                want = float(op.vjp(i)(np.float64(0.7), expected, *arrays, **attrs))
            have = vjp(0.7, float(expected), *point, **attrs)
            assert math.isclose(have, want, rel_tol=4e-16 * 8, abs_tol=1e-300), (point, i)


def test_an_op_whose_forward_or_vjps_are_replaced_has_no_twin():
    """A twin belongs to the reference it was written beside: an op rebuilt with another VJP (a
    test planting a wrong one) runs on numpy, so that the planted VJP is the one used."""
    import dataclasses
    mul = OPS["mul"]
    assert mul.scalar is not None
    assert dataclasses.replace(mul, vjps=(mul.vjps[1], mul.vjps[0])).scalar is None
    assert dataclasses.replace(mul, forward=np.add).scalar is None
    assert dataclasses.replace(mul, name="other").scalar == mul.scalar


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
