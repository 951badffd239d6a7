"""The graph stage's one pass in file order (graph._in_file_order) is a shortcut for graphs it
finds nothing to say about: the program it gives must be the reference checks' program, and a
graph it cannot vouch for must go to the reference checks (so problems keep their order, words
and positions)."""

import glob
import os

import pytest

from graphrun import GraphError, compile, compile_text
from graphrun.frontend import graph

GRAPHS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "graphs", "*.yaml")))


def _reference_only(monkeypatch):
    monkeypatch.setattr(graph, "_in_file_order", lambda spec, leaves: None)


def _fields(program):
    # document paths by repr: an expression's node's path holds its site, one object per compile
    steps = [(s.name, s.op.name, s.out, s.args, s.attrs, repr(s.where)) for s in program.steps]
    return (program.names, program.types, program.kinds, steps, program.loss, program.consts,
            program.estimated_bytes, repr(tuple(program.paths)))


@pytest.mark.parametrize("path", GRAPHS, ids=os.path.basename)
def test_one_pass_gives_the_reference_program(path, monkeypatch):
    try:
        fast = compile(path).program
    except GraphError:
        pytest.skip("not a graph that compiles")
    _reference_only(monkeypatch)
    assert _fields(compile(path).program) == _fields(fast)


ARGUMENT_BELOW = """graphrun: 1
inputs: {x: 1.0}
nodes:
  b: {op: neg, args: [a]}
  a: {op: exp, args: [x]}
  c: {op: add, args: [b, 2]}
"""


def test_a_file_not_in_run_order_is_ordered_as_the_reference_orders_it(monkeypatch):
    fast = compile_text(ARGUMENT_BELOW).program
    assert [s.name for s in fast.steps] == ["a", "b", "c"]
    _reference_only(monkeypatch)
    assert _fields(compile_text(ARGUMENT_BELOW).program) == _fields(fast)


BROKEN = [
    # each: a problem only the reference checks word, after nodes the one pass accepts
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
        compile_text(text)
    _reference_only(monkeypatch)
    with pytest.raises(GraphError) as reference:
        compile_text(text)
    assert str(fast.value) == str(reference.value)
    assert words in str(fast.value)
    assert str(fast.value).startswith("<string>:%d:%d: error: " % pos)
