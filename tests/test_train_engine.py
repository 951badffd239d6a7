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


def _bits(x):
    return np.float64(x).tobytes()


@pytest.mark.parametrize("name", sorted(scalar_step.INLINE))
def test_each_inline_expression_is_its_twin_to_the_bit(name):
    fns = OPS[name].scalar
    texts = scalar_step.INLINE[name]
    assert len(texts) == len(fns)
    rng = np.random.default_rng(len(name))
    arity = len(fns) - 1
    points = [tuple(rng.uniform(-3, 3, arity)) for _ in range(200)]
    points += [(0.0,) * arity, (-0.0,) * arity, (1e300,) * arity, (-2.5,) * arity]
    points += [(x,) * arity for x in (5.0, -5.0, 4.999999999, 7.3, -12.0, 19.1)]  # tanh's wide
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
            assert _bits(eval(expr, dict(scalar_step._INLINE_NAMES), env)) == _bits(want), \
                (name, i, point)


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
    import dataclasses
    mul = OPS["mul"]
    forward, vjp_x, vjp_y = mul.scalar
    planted = mul.twin._replace(fns=(forward, lambda g, ans, x, y: 3 * g * y, vjp_y))
    monkeypatch.setitem(OPS, "mul", dataclasses.replace(mul, twin=planted))
    graph = compile_text("graphrun: 1\ninputs: {x: 2}\nparams: {w: 3}\nnodes:\n"
                         "  u: {op: mul, args: [w, x]}\nloss: u\n")
    p = graph.program
    v = [0.0 if x is None else float(x) for x in initial_values(p, graph.leaf_values())]
    c = [0.0] * len(v)
    scalar_step.compile_step(graph.plan.scalar)(v, c)
    assert c[p.slot("w")] == 3 * 1.0 * 2.0


def test_a_param_the_loss_does_not_depend_on_keeps_its_value(compiled):
    result = graphrun.train(compile_text(GRAPH), lr=0.1, steps=5, optimizer="adam")
    assert float(result.params["unused"]) == 1.0  # its gradient is 0: Adam's step is 0 / eps


@pytest.fixture
def compiled(monkeypatch):
    """Every run of a scalar graph takes the compiled loop, however short."""
    from graphrun.engine import train
    monkeypatch.setattr(train, "COMPILED_FROM", 1)


def test_a_sum_that_overflows_sends_the_step_to_the_reference_which_goes_on(compiled):
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


def test_a_math_error_on_the_fast_path_is_the_references_located_error(compiled):
    graph = compile_text("graphrun: 1\nparams: {w: 2.0}\nnodes:\n  l: {op: log, args: [w]}\n"
                         "  L: {op: square, args: [l]}\nloss: L\n")
    with pytest.raises(graphrun.NumericError) as e:  # w steps to a negative number, log fails
        graphrun.train(graph, lr=10.0, steps=5)
    assert "test.yaml:4:6: error: node 'l' (log): forward produced nan" in str(e.value)
    assert "training diverged at step 2 of 5 (lr 10)" in str(e.value)


def _loops(graph):
    return [k for k in graph._train_plans if isinstance(k, tuple) and k[0] == "scalar loop"]


def test_a_long_run_of_a_scalar_graph_compiles_its_loop_and_a_short_one_interprets():
    from graphrun.engine import train
    scalar_graph = compile_text(GRAPH)
    short = graphrun.train(scalar_graph, lr=0.001, steps=train.COMPILED_FROM - 1)
    assert _loops(scalar_graph) == []
    long = graphrun.train(scalar_graph, lr=0.001, steps=train.COMPILED_FROM)
    assert len(_loops(scalar_graph)) == 1
    assert long.history[:-1] == short.history  # both ways: the same bits
    graphrun.train(scalar_graph, lr=0.02, steps=3)  # compiled already: taken for a short run
    assert len(_loops(scalar_graph)) == 1
    graphrun.train(scalar_graph, lr=0.02, steps=train.COMPILED_FROM, optimizer="adam")
    assert len(_loops(scalar_graph)) == 2


def test_the_fast_path_is_taken_for_scalar_graphs_only(monkeypatch):
    from graphrun.engine import train
    monkeypatch.setattr(train, "COMPILED_FROM", 1)
    tensors = compile_text("graphrun: 1\nparams: {w: [1.0, 2.0]}\nnodes:\n"
                           "  s: {op: sum, args: [w]}\n  L: {op: square, args: [s]}\nloss: L\n")
    graphrun.train(tensors, lr=0.01, steps=2)
    assert _loops(tensors) == []
    reference = compile_text(GRAPH)
    graphrun.train(reference, lr=0.01, steps=2, fast=False)
    assert _loops(reference) == []


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_loop_on_lists_gives_the_bits_of_the_loop_on_locals(monkeypatch, optimizer):
    from graphrun.engine import train
    monkeypatch.setattr(train, "COMPILED_FROM", 1)
    """A program of more than LOCALS_UP_TO slots keeps its values in lists: the same float
    operations, so the same bits."""
    text = GRAPH + "train: {lr: 0.01, steps: 25, momentum: 0.9}\n" if optimizer == "sgd" else \
        GRAPH + "train: {lr: 0.01, steps: 25, optimizer: adam, weight_decay: 0.1}\n"
    on_locals = graphrun.train(compile_text(text))
    monkeypatch.setattr(scalar_step, "LOCALS_UP_TO", 0)
    on_lists = graphrun.train(compile_text(text))
    assert on_lists.text() == on_locals.text()
    reference = graphrun.train(compile_text(text), fast=False)
    for a, b in zip(on_lists.history, reference.history):
        assert a.loss == pytest.approx(b.loss, rel=1e-13)
