"""schemas/graph.schema.json is generated from the op table (ops/schema.py), and the copies agree:
the committed file and the generator; each attribute kind's JSON-Schema fragment and its fast
predicate; the per-op rules editors see and the graph stage, which words each of them once."""

import io
import json
import os
import subprocess
import sys

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, compile_text
from graphrun import GraphError
from graphrun.cli import main
from graphrun.frontend import schema
from graphrun.ops import OPS
from graphrun.ops import kinds
from graphrun.ops import schema as generator

COMMAND = "python -m graphrun.ops.schema > schemas/graph.schema.json"


def test_the_committed_schema_is_the_one_the_table_generates():
    with open(os.path.join(ROOT, "schemas", "graph.schema.json"), encoding="utf-8") as f:
        committed = f.read()
    assert committed == generator.text(), f"the op table changed: run `{COMMAND}`"
    assert schema.schema_text() == committed  # what `graphrun schema` prints and graphrun checks


def test_the_one_command_writes_it():
    proc = subprocess.run([sys.executable, "-m", "graphrun.ops.schema"], capture_output=True,
                          text=True, check=True)
    assert proc.stdout == generator.text() and proc.stderr == ""


def test_per_op_rules_are_the_only_allof():
    """graphrun checks a file against the schema without the node's `allOf` (its graph stage
    checks the per-op rules): only they may live there."""
    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "allOf":
                    yield path
                yield from walk(v, path + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, path + (i,))
    full = json.loads(schema.schema_text())
    assert list(walk(full, ())) == [("definitions", "node")]
    rules = full["definitions"]["node"]["allOf"]
    assert [r["if"]["properties"]["op"]["const"] for r in rules] == sorted(OPS)
    assert list(walk(schema.schema(), ())) == []  # what graphrun checks: the rest
    del full["definitions"]["node"]["allOf"]
    assert schema.schema() == full


# ---------------------------------------------------------------------------------------------
# kinds: the fragment and the predicate say the same

PROBES = [None, True, False, 0, 1, -1, -2, 3, 2.0, 0.5, -1e300, "x", "none", "tanh", "", [],
          [0], [0, 1], [-1, 2], [-1, -1], [-2], [1.0], [True], [None], [[0]], ["a"], {}, {"a": 1}]
KINDS = [k for k in vars(kinds).values() if isinstance(k, kinds.Kind)] + \
    [kinds.choice("none", "tanh")]


def _valid(fragment, value):
    return schema.validator_class()(fragment).is_valid(value)  # graphrun's own type checker


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_kinds_predicate_is_its_schema_fragment(kind):
    for value in PROBES:
        assert kind.fits(value) == _valid(kind.schema, value), (kind, value)
        if kind.fits(value):
            assert kind.fits(kind.normalise(value)), "a normalised value still fits"
            assert kind.fits(tuple(value) if isinstance(value, list) else value)


@pytest.mark.parametrize("kind", [k for k in KINDS if k.within is not None], ids=lambda k: k.name)
def test_a_kind_is_within_the_kind_it_names(kind):
    assert kind.within.includes(kind)
    for value in PROBES:
        if kind.fits(value):
            assert kind.within.fits(value), (kind, value)


def test_a_misfit_is_worded_by_the_kind():
    assert kinds.ONE_AXIS.misfit("axis", (0, 1)) == "axis must be one integer; found [0, 1]"
    assert kinds.ONE_AXIS.misfit("axis", None) == "axis must be one integer; found null"


# ---------------------------------------------------------------------------------------------
# the per-op rules: editors see them; graphrun words each of them once, in the graph stage

HEADER = "graphrun: 1\nparams:\n  w: [[1.0, 2.0], [3.0, 4.0]]\nnodes:\n"


EDITOR = jsonschema.Draft7Validator(json.loads(schema.schema_text()))


def _editor_errors(node: dict) -> list:
    """What an editor reports: plain draft-07 jsonschema on the committed schema."""
    document = {"graphrun": 1, "params": {"w": 1.0}, "nodes": {"u": node}}
    return [e.message for e in EDITOR.iter_errors(document)]


@pytest.mark.parametrize("node", [
    {"op": "relu", "args": ["w"], "axis": 0},  # an attribute the op does not take
    {"op": "reshape", "args": ["w"]},  # a required one left out
    {"op": "softmax", "args": ["w"], "axis": [0, 1]},  # one axis where a list is given
    {"op": "add", "args": ["w"]},  # too few arguments
    {"op": "concat", "args": []},
])
def test_editors_see_the_per_op_rules(node):
    assert _editor_errors(node)


@pytest.mark.parametrize("name", sorted(OPS))
def test_editors_accept_every_sample(name):
    op = OPS[name]
    for s in op.samples:
        node = {"op": name, "args": ["w"] * len(s.shapes), **s.attrs}
        assert _editor_errors(node) == [], node
        assert schema._node_fits(node), f"{node} takes jsonschema's slow path"


@pytest.mark.parametrize("node,message", [
    ("{op: relu, args: [w], axis: 0}", "relu takes no attribute 'axis' (it takes none)"),
    ("{op: reshape, args: [w]}", "reshape needs the attribute 'shape'"),
    ("{op: softmax, args: [w], axis: [0, 1]}",
     "node 'u': softmax: axis must be one integer; found [0, 1]"),
    ("{op: add, args: [w]}", "add takes 2 arguments; found 1"),
    ("{op: concat, args: []}", "concat takes at least 1 argument; found 0"),
])
def test_graphrun_words_a_per_op_problem_once(tmp_path, node, message):
    path = tmp_path / "g.yaml"
    path.write_text(HEADER + f"  u: {node}\n")
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", str(path)], out, err) == 2
    assert [line.partition(": error: ")[2] for line in err.getvalue().splitlines()
            if ": error: " in line] == [message]


ATTR_NAMES = sorted({key for op in OPS.values() for key in op.attrs})
VALUES = st.sampled_from([v for v in PROBES if not isinstance(v, dict)]
                         + [-3, [2, 0, 1], [-1, 0], [1, -1], 0.01, 1.5])
NODES = st.builds(lambda op, n, attrs: {"op": op, "args": ["w"] * n, **attrs},
                  st.sampled_from(sorted(OPS)), st.integers(0, 3),
                  st.dictionaries(st.sampled_from(ATTR_NAMES), VALUES, max_size=3))

GRAPH_STAGE_WORDS = ("takes no attribute", "needs the attribute", " must be ", " argument")


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(NODES)
def test_the_graph_stage_reports_whatever_a_per_op_rule_rejects(node):
    """A node that only a per-op rule rejects (graphrun's schema check passes it) is reported by
    the graph stage, in its words: no per-op rule goes unchecked."""
    document = {"graphrun": 1, "params": {"w": [[1.0, 2.0], [3.0, 4.0]]}, "nodes": {"u": node}}
    if _editor_errors(node) == [] or schema.check(document):
        return
    with pytest.raises(GraphError) as e:
        compile_text(json.dumps(document))
    assert any(word in p.message for p in e.value.problems for word in GRAPH_STAGE_WORDS), \
        [p.message for p in e.value.problems]


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(NODES)
def test_the_fast_path_accepts_only_nodes_graphruns_schema_accepts(node):
    """Over every attribute name of the table (tests/test_load.py tries the first four)."""
    if schema._node_fits(node):
        document = {"graphrun": 1, "params": {"w": 1.0}, "nodes": {"u": node}}
        assert schema.validator().is_valid(document), node
