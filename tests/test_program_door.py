"""The graph stage's two ways to a Program (frontend/graph.py): `_straight`, one pass for a graph
in file order with nothing wrong, and `_checked`, the reference that finds and words every
problem. The straight pass must make the very Program the reference makes, and decline (None)
whenever there is anything at all to report, so that every problem is still the reference's."""

import glob
import os

import numpy as np
import pytest

import graphrun
from graphrun.errors import GraphError
from graphrun.frontend import graph as graph_stage
from test_gradients import _random_graph

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELDS = ("name", "description", "names", "types", "kinds", "consts", "loss",
          "tolerance", "estimated_bytes", "train", "outputs")


def _compile(monkeypatch, text_or_file, straight: bool):
    """(program or GraphError, what _straight returned: None, a Program, or "unused")."""
    seen = []
    original = graph_stage._straight

    def spy(*args):
        seen.append(original(*args) if straight else None)
        return seen[-1]

    monkeypatch.setattr(graph_stage, "_straight", spy)
    try:
        if os.path.exists(text_or_file):
            program = graphrun.compile(text_or_file)
        else:
            program = graphrun.compile_text(text_or_file, "g.yaml")
        program = getattr(program, "program", program)
    except GraphError as e:
        program = e
    finally:
        monkeypatch.setattr(graph_stage, "_straight", original)
    return program, (seen[0] if seen else "unused")


def _same(a, b):
    if isinstance(a, GraphError) or isinstance(b, GraphError):
        assert isinstance(a, GraphError) and isinstance(b, GraphError)
        assert [(p.message, p.path) for p in a.problems] == \
            [(p.message, p.path) for p in b.problems]
        return
    for field in FIELDS:
        assert getattr(a, field) == getattr(b, field), field
    # an expression's node's path holds its site in this compile's source: compared as written
    assert [step._replace(where=repr(step.where)) for step in a.steps] == \
        [step._replace(where=repr(step.where)) for step in b.steps]
    assert repr(list(a.paths)) == repr(list(b.paths))
    assert len(a.leaves) == len(b.leaves)
    for x, y in zip(a.leaves, b.leaves):
        assert x._replace(literal=None) == y._replace(literal=None)
        assert (x.literal is None) == (y.literal is None)
        if x.literal is not None:
            np.testing.assert_array_equal(x.literal, y.literal)


EXAMPLES = [path for path in sorted(glob.glob(os.path.join(ROOT, "graphs", "*.yaml")))
            if "\nnodes:" in open(path).read()]  # not a library of blocks
RANDOM = [_random_graph(seed).text() for seed in range(40)]
IN_ORDER = EXAMPLES + RANDOM + [
    # number literals among the arguments, and attributes written
    "graphrun: 1\ninputs:\n  x: [1.0, -2.0, 3.0]\nnodes:\n  a: {op: mul, args: [x, 2]}\n"
    "  b: {op: add, args: [3.5, a]}\n  c: {op: sum, args: [b], axis: 0}\n"
    "  d: {op: leaky_relu, args: [c], slope: 0.1}\nloss: d\n",
    # forward only: no loss
    "graphrun: 1\ninputs:\n  x: 2.0\nnodes:\n  y: {op: neg, args: [x]}\n",
]


@pytest.mark.parametrize("graph", IN_ORDER, ids=range(len(IN_ORDER)))
def test_the_straight_pass_makes_the_reference_program(monkeypatch, graph):
    fast, made = _compile(monkeypatch, graph, straight=True)
    reference, _ = _compile(monkeypatch, graph, straight=False)
    assert not isinstance(fast, GraphError), fast
    assert made is not None and made != "unused"  # the straight pass made it, not the reference
    _same(fast, reference)


HEAD = "graphrun: 1\ninputs:\n  x: [1.0, 2.0]\nparams:\n  w: 3.0\nnodes:\n"
DECLINED = {
    "out of file order": HEAD + "  b: {op: neg, args: [a]}\n  a: {op: mul, args: [w, x]}\n"
                                "  L: {op: sum, args: [b]}\nloss: L\n",
    "self-loop": HEAD + "  a: {op: add, args: [a, x]}\n",
    "unknown name": HEAD + "  a: {op: add, args: [q, x]}\n",
    "cycle": HEAD + "  a: {op: add, args: [b, x]}\n  b: {op: neg, args: [a]}\n",
    "arity": HEAD + "  a: {op: neg, args: [x, w]}\n",
    "unknown attribute": HEAD + "  a: {op: neg, args: [x], axis: 0}\n",
    "attribute misfit": HEAD + "  a: {op: sum, args: [x], axis: [0, [1]]}\n",
    "shapes": HEAD + "  a: {op: matmul, args: [x, w]}\n",
    "loss of two elements": HEAD + "  a: {op: mul, args: [w, x]}\nloss: a\n",
    "loss a leaf": HEAD + "  a: {op: mul, args: [w, x]}\nloss: w\n",
    "loss unknown": HEAD + "  a: {op: mul, args: [w, x]}\nloss: aa\n",
    "loss of bools": HEAD + "  a: {op: greater, args: [w, 1.0]}\nloss: a\n",
    "memory budget": "graphrun: 1\nparams:\n  w: {init: zeros, shape: [100000, 100000]}\n"
                     "nodes:\n  a: {op: sum, args: [w]}\nloss: a\n",
    "train without params": "graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  a: {op: neg, args: [x]}\n"
                            "loss: a\ntrain: {steps: 3, optimizer: {name: sgd, lr: 0.1}}\n",
}


@pytest.mark.parametrize("case", sorted(DECLINED))
def test_the_straight_pass_declines_what_the_reference_reports(monkeypatch, case):
    fast, made = _compile(monkeypatch, DECLINED[case], straight=True)
    reference, _ = _compile(monkeypatch, DECLINED[case], straight=False)
    _same(fast, reference)
    if case == "out of file order":  # nothing wrong: the reference orders it
        assert made is None and not isinstance(fast, GraphError)
    elif case == "train without params":  # the program is made, then its train section refused
        assert isinstance(fast, GraphError)
    else:
        assert isinstance(fast, GraphError) and made in (None, "unused"), case


BROKEN = [
    # each: a problem only the reference words, after nodes the straight pass accepts (so it
    # declines there, having made part of the program)
    ("graphrun: 1\ninputs: {x: 1.0}\nnodes:\n  a: {op: exp, args: [x]}\n  b: {op: neg, args: [nope]}\n",
     "unknown name 'nope'", (5, 23)),
    ("graphrun: 1\ninputs: {x: [1.0, 2.0], y: [1.0, 2.0, 3.0]}\nnodes:\n"
     "  a: {op: exp, args: [x]}\n  b: {op: add, args: [a, y]}\n", "cannot broadcast", (5, 11)),
    ("graphrun: 1\ninputs: {x: 1.0}\nnodes:\n  a: {op: exp, args: [x]}\n  b: {op: neg, args: [b]}\n",
     "self-loop", (5, 23)),
    ("graphrun: 1\ninputs: {x: 1.0}\nnodes:\n  a: {op: exp, args: [x, x]}\n", "exp takes 1 argument",
     (4, 22)),
    ("graphrun: 1\ninputs: {x: 1.0}\nnodes:\n  a: {op: exp, args: [x]}\n  b: {op: neg, args: [c]}\n"
     "  c: {op: neg, args: [b]}\n", "cycle: b -> c -> b", (5, 3)),
]


@pytest.mark.parametrize("text,words,pos", BROKEN)
def test_a_problem_after_accepted_nodes_is_the_reference_one(text, words, pos, monkeypatch):
    with pytest.raises(GraphError) as fast:
        graphrun.compile_text(text)
    monkeypatch.setattr(graph_stage, "_straight", lambda *args: None)
    with pytest.raises(GraphError) as reference:
        graphrun.compile_text(text)
    assert str(fast.value) == str(reference.value)
    assert words in str(fast.value)
    assert str(fast.value).startswith("<string>:%d:%d: error: " % pos)
