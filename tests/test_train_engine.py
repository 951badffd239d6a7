"""The training engine's fast path for graphs of scalars: the straight-line step it compiles
computes what the interpreter computes, its inline expressions are the twins' own, and whatever
it cannot vouch for goes to the numpy reference."""

import math

import numpy as np
import pytest

import graphrun
from conftest import compile_text
from graphrun.engine import scalar, scalar_step
from graphrun.engine.executor import initial_values
from graphrun.ops import OPS
from graphrun.ops.scalar import SCALAR_OPS, twin


def _bits(x):
    return np.float64(x).tobytes()


@pytest.mark.parametrize("name", sorted(scalar_step.INLINE))
def test_each_inline_expression_is_its_twin_to_the_bit(name):
    fns = twin(OPS[name])
    texts = scalar_step.INLINE[name]
    assert len(texts) == len(fns)
    rng = np.random.default_rng(len(name))
    arity = len(fns) - 1
    points = [tuple(rng.uniform(-3, 3, arity)) for _ in range(200)]
    points += [(0.0,) * arity, (-0.0,) * arity, (1e300,) * arity, (-2.5,) * arity]
    if arity == 2:
        points += [(1.5, 1.5), (0.0, 2.0), (3.0, -0.0)]
    for point in points:
        if name in ("log", "sqrt") and point[0] <= 0 or name == "div" and point[1] == 0:
            continue
        try:
            ans = fns[0](*point)
        except OverflowError:  # exp(1e300): the twin raises, and so does the step (the caller
            continue  # then runs the reference)
        env = {"v": [*point, ans], "c": [0.7]}
        for i, (fn, text) in enumerate(zip(fns, texts)):
            if text is None:
                continue
            operands = [f"v[{k}]" for k in range(arity)]
            expr = text.format(*operands, g="c[0]", ans=f"v[{arity}]")
            want = fn(*point) if i == 0 else fn(0.7, env["v"][arity], *point)
            assert _bits(eval(expr, {}, env)) == _bits(want), (name, i, point)


GRAPH = """\
graphrun: 1
inputs: {x: 0.3}
params: {a: 1.7, b: -0.4, c: 2.5, unused: 1.0}
nodes:
  m: {op: mul, args: [x, a]}
  s: {op: add, args: [m, b]}
  t: {op: tanh, args: [s]}
  r: {op: relu, args: [s]}
  q: {op: div, args: [t, c]}
  e: {op: exp, args: [q]}
  mx: {op: maximum, args: [e, r]}
  sp: {op: softplus, args: [mx]}
  k: {op: mul, args: [sp, sp]}
  d: {op: sub, args: [k, 1.5]}
  L: {op: square, args: [d]}
  off: {op: neg, args: [unused]}
loss: L
"""


def test_the_compiled_step_computes_what_the_interpreter_computes():
    graph = compile_text(GRAPH)
    plan = graph.plan.scalar
    leaves = graph.leaf_values()
    floats = scalar.forward(plan, initial_values(graph.program, leaves))
    grads = scalar.backward(plan, floats)
    v = [0.0 if x is None else float(x) for x in initial_values(graph.program, leaves)]
    c = [0.0] * len(v)
    scalar_step.compile_step(plan)(v, c)
    assert [_bits(x) for x in v] == [_bits(x) for x in floats]
    for slot, g in enumerate(grads):
        if g is not None:  # the loss does not depend on 'unused' or 'off': 0.0, as interpreted
            assert _bits(c[slot]) == _bits(g), graph.program.names[slot]


def test_a_replaced_twin_is_called_not_inlined(monkeypatch):
    """A twin planted by a test (a wrong VJP) is what the compiled step runs."""
    forward, vjp_x, vjp_y = SCALAR_OPS["mul"]
    monkeypatch.setitem(SCALAR_OPS, "mul", (forward, lambda g, ans, x, y: 3 * g * y, vjp_y))
    graph = compile_text("graphrun: 1\ninputs: {x: 2}\nparams: {w: 3}\nnodes:\n"
                         "  u: {op: mul, args: [w, x]}\nloss: u\n")
    p = graph.program
    v = [0.0 if x is None else float(x) for x in initial_values(p, graph.leaf_values())]
    c = [0.0] * len(v)
    scalar_step.compile_step(graph.plan.scalar)(v, c)
    assert c[p.slot("w")] == 3 * 1.0 * 2.0


def test_a_param_the_loss_does_not_depend_on_keeps_its_value():
    result = graphrun.train(compile_text(GRAPH), lr=0.1, steps=5, optimizer="adam")
    assert float(result.params["unused"]) == 1.0  # its gradient is 0: Adam's step is 0 / eps


def test_a_sum_that_overflows_sends_the_step_to_the_reference_which_goes_on():
    """Values near the top of float64 make the one-sum finite check overflow, though each is
    finite: the reference runs those steps, and the run goes on as on numpy throughout."""
    graph = compile_text("graphrun: 1\ninputs: {big: 1.0e308}\nparams: {w: 0.5}\nnodes:\n"
                         "  h: {op: add, args: [big, big]}\n  z: {op: sub, args: [big, h]}\n"
                         "  y: {op: mul, args: [w, w]}\n  L: {op: add, args: [y, 0.0]}\nloss: L\n")
    with pytest.raises(graphrun.NumericError):  # big + big overflows: a real error
        graphrun.train(graph, lr=0.1, steps=3)
    graph = compile_text("graphrun: 1\ninputs: {big: 1.0e308}\nparams: {w: 0.5}\nnodes:\n"
                         "  h: {op: mul, args: [big, 0.9]}\n  y: {op: mul, args: [w, w]}\n"
                         "  L: {op: add, args: [y, 0.0]}\nloss: L\n")
    fast, reference = graphrun.train(graph, lr=0.1, steps=4), \
        graphrun.train(graph, lr=0.1, steps=4, fast=False)
    assert fast.text() == reference.text()
    assert math.isinf(sum([1.0e308, 0.9e308]))  # why the fast check could not vouch for it


def test_a_math_error_on_the_fast_path_is_the_references_located_error():
    graph = compile_text("graphrun: 1\nparams: {w: 2.0}\nnodes:\n  l: {op: log, args: [w]}\n"
                         "  L: {op: square, args: [l]}\nloss: L\n")
    with pytest.raises(graphrun.NumericError) as e:  # w steps to a negative number, log fails
        graphrun.train(graph, lr=10.0, steps=5)
    assert "test.yaml:4:6: error: node 'l' (log): forward produced nan" in str(e.value)
    assert "training diverged at step 2 of 5 (lr 10)" in str(e.value)


def test_the_fast_path_is_taken_for_scalar_graphs_only():
    scalar_graph = compile_text(GRAPH)
    graphrun.train(scalar_graph, lr=0.01, steps=2)
    assert "scalar step" in scalar_graph._train_plans
    tensors = compile_text("graphrun: 1\nparams: {w: [1.0, 2.0]}\nnodes:\n"
                           "  s: {op: sum, args: [w]}\n  L: {op: square, args: [s]}\nloss: L\n")
    graphrun.train(tensors, lr=0.01, steps=2)
    assert "scalar step" not in tensors._train_plans
    reference = compile_text(GRAPH)
    graphrun.train(reference, lr=0.01, steps=2, fast=False)
    assert "scalar step" not in reference._train_plans
