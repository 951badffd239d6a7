"""The graph stage's two ways to a Program (frontend/graph.py): `_straight`, one pass for a graph
in file order with nothing wrong, and `_checked`, the reference that finds and words every
problem. The straight pass must make the very Program the reference makes, and decline (None)
whenever there is anything at all to report, so that every problem is still the reference's.

The one pass (graph.Straight) is fed by the spec stage as it reads the file (`take`, no
NodeSpec made) or from the spec's nodes (`node`): both must make the same Program, and a decline
at any node must give back the very NodeSpecs the spec stage would have made."""

import glob
import os
from itertools import islice

import numpy as np
import pytest

import graphrun
from graphrun.errors import GraphError
from graphrun.frontend import graph as graph_stage, load, spec as spec_stage
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


LITERALS = [
    # literals first, between and last, attributes, an argument used twice
    "graphrun: 1\ninputs:\n  x: [1.0, -2.0, 3.0]\nparams:\n  w: 0.5\nnodes:\n"
    "  a: {op: mul, args: [2, x]}\n  b: {op: add, args: [a, 3.5]}\n  c: {op: mul, args: [b, b]}\n"
    "  d: {op: sum, args: [c], axis: 0}\n  e: {op: mul, args: [d, w]}\n  f: {op: add, args: [e, -1]}\n"
    "loss: f\n",
    "graphrun: 1\ninputs:\n  x: 2.0\nnodes:\n  y: {op: neg, args: [x]}\n  z: {op: add, args: [y, 1]}\n",
]
SAME_OPS = [
    # an op met again with other argument types, or without the attributes it had: `take`
    # answers from what was answered for the same op and argument types only
    "graphrun: 1\ninputs:\n  s: 2.0\n  t: 3.0\n  v: [1.0, 2.0]\n  m: [[1.0, 2.0], [3.0, 4.0]]\n"
    "nodes:\n  a: {op: add, args: [s, t]}\n  b: {op: add, args: [s, v]}\n"
    "  c: {op: add, args: [v, s]}\n  d: {op: add, args: [t, s]}\n  e: {op: neg, args: [s]}\n"
    "  f: {op: neg, args: [m]}\n  g: {op: sum, args: [m], axis: 0}\n  h: {op: sum, args: [m]}\n"
    "  i: {op: sum, args: [f], axis: 1}\n  j: {op: add, args: [b, c]}\n  k: {op: add, args: [a, j]}\n"
    "  l: {op: sum, args: [k]}\n  z: {op: add, args: [l, h]}\nloss: z\n",
]
FED = IN_ORDER + LITERALS + SAME_OPS
_TAKE = graph_stage.Straight.take


def _taking_at_most(k: int, taken: list):
    """Straight.take taking at most k nodes (then declining the next), recording in `taken` how
    many it took."""
    def take(self, entries, section=None):
        before = len(self.steps)
        declined = _TAKE(self, islice(entries, k), section)
        taken.append(len(self.steps) - before)
        return next(entries, None) if declined is None else declined
    return take


@pytest.mark.parametrize("graph", FED, ids=range(len(FED)))
def test_the_pass_fed_by_the_spec_stage_makes_the_reference_program(monkeypatch, graph):
    fed = []
    monkeypatch.setattr(graph_stage.Straight, "take", _taking_at_most(10**9, fed))
    by_spec, made = _compile(monkeypatch, graph, straight=True)
    assert made is not None and made != "unused"
    first = next(iter(_document(graph).data["nodes"].values()))
    assert any(fed) or type(first) is str, "the spec stage fed it (unless an expression is first)"
    reference, _ = _compile(monkeypatch, graph, straight=False)
    _same(by_spec, reference)


def _file(text) -> str:
    return text if os.path.exists(text) else "g.yaml"


def _document(text):
    raw = open(text, "rb").read() if os.path.exists(text) else text.encode()
    return load.load_bytes(raw, _file(text))


def _spec(text, monkeypatch=None, taken=None):
    document = _document(text)
    if monkeypatch is not None:
        monkeypatch.setattr(graph_stage.Straight, "take", _taking_at_most(taken, []))
    return spec_stage.build_spec(document.data, _file(text), source=document.source)


def _written_nodes_only(text) -> bool:
    data = _document(text).data
    return "blocks" not in data and "include" not in data and \
        all(type(body) is dict for body in data["nodes"].values())


WRITTEN_ONLY = [graph for graph in FED if _written_nodes_only(graph)]


def _program_of(spec, document):
    """The Program of the pass as the spec stage left it, else fed the spec's nodes."""
    straight = spec.straight
    if not straight:
        straight = graph_stage.Straight.start(spec.leaves, spec.loss is not None, None)
        assert all(map(straight.node, spec.nodes))
    return straight.program(spec, None, document.source)


def test_take_answers_a_node_like_one_before_it_without_written(monkeypatch):
    """A big file's nodes repeat a few ops on a few types: `written` (the op's checks and
    inference) is asked once for each, the rest taken from its answers."""
    asked = []
    written = graph_stage.Straight.written
    monkeypatch.setattr(graph_stage.Straight, "written",
                        lambda self, name, body: asked.append(name) or written(self, name, body))
    chain = "".join(f"  n{i}: {{op: {'neg' if i % 2 else 'mul'}, args: [n{i - 1}"
                    f"{', w' if i % 2 == 0 else ''}]}}\n" for i in range(1, 200))
    text = ("graphrun: 1\ninputs:\n  x: 0.5\nparams:\n  w: 1.5\nnodes:\n"
            f"  n0: {{op: neg, args: [x]}}\n{chain}")
    spec = spec_stage.build_spec(load.load_bytes(text.encode(), "g.yaml").data, "g.yaml")
    assert len(spec.straight.steps) == 200 and asked == ["n0", "n2"]  # neg, then mul


@pytest.mark.parametrize("graph", WRITTEN_ONLY, ids=range(len(WRITTEN_ONLY)))
def test_the_pass_fed_written_nodes_or_node_specs_makes_one_program(monkeypatch, graph):
    """Fed every node as written (no NodeSpec made), or the spec's NodeSpecs after declining at
    once or after k nodes: one Program."""
    document = _document(graph)
    whole = _spec(graph)
    assert whole.straight and not whole.nodes  # the spec stage fed it every node
    by_spec = _program_of(whole, document)
    for k in sorted({0, 1, 2, len(whole.straight.steps) - 1}):
        by_nodes = _program_of(_spec(graph, monkeypatch, k), document)
        _same(by_spec, by_nodes)


@pytest.mark.parametrize("graph", WRITTEN_ONLY, ids=range(len(WRITTEN_ONLY)))
def test_the_nodes_given_back_are_the_spec_stages(monkeypatch, graph):
    """A decline after k nodes: the spec's nodes are those the spec stage makes without the pass
    (names, ops, Refs and Consts with their paths), whatever k."""
    without = _spec(graph, monkeypatch, 0).nodes
    assert without
    for k in range(len(without) + 1):
        spec = _spec(graph, monkeypatch, k)
        nodes = tuple(spec.straight.node_specs()) if spec.straight else spec.nodes
        assert (spec.straight is False) == (k < len(without))
        assert nodes == without
        assert [tuple(map(repr, n.args)) for n in nodes] == \
            [tuple(map(repr, n.args)) for n in without]


@pytest.mark.parametrize("case", sorted(DECLINED))
@pytest.mark.parametrize("taken", [0, 1, 10**9])
def test_problems_after_a_decline_anywhere_are_the_references(monkeypatch, case, taken):
    monkeypatch.setattr(graph_stage.Straight, "take", _taking_at_most(taken, []))
    fast, _ = _compile(monkeypatch, DECLINED[case], straight=True)
    reference, _ = _compile(monkeypatch, DECLINED[case], straight=False)
    _same(fast, reference)


SPEC_PROBLEMS = [
    # a name defined twice, after nodes the pass took: the spec stage's own problem, worded as
    # always (its first definition noted)
    (HEAD + "  a: {op: neg, args: [x]}\n  w: {op: neg, args: [a]}\n", "name 'w' is defined twice"),
    (HEAD + "  a: {op: neg, args: [x]}\n  b.1: {op: neg, args: [a]}\n  b: tanh(a) * 2 + 1\n",
     "name 'b.1' is defined twice"),
    (HEAD + "  a: {op: neg, args: [x]}\n  b: tanh(a) * 2 + 1\n  b.1: {op: neg, args: [a]}\n",
     "name 'b.1' is defined twice"),
]


@pytest.mark.parametrize("text,words", SPEC_PROBLEMS)
def test_a_spec_problem_after_taken_nodes_is_worded_as_always(monkeypatch, text, words):
    fast, _ = _compile(monkeypatch, text, straight=True)
    monkeypatch.setattr(graph_stage.Straight, "take", _taking_at_most(0, []))
    reference, _ = _compile(monkeypatch, text, straight=False)
    assert isinstance(fast, GraphError) and words in str(fast)
    assert str(fast) == str(reference)
