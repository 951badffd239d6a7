"""The schema's small checker (frontend/schema.py `_proves`): when it calls a document valid,
jsonschema agrees, on every YAML file in the repository and on seeded mutations of each; and it
proves the example graphs valid, so their runs never import jsonschema."""

import copy
import glob
import os
import random

import pytest

from graphrun.errors import GraphError
from graphrun.frontend import load, schema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = sorted(glob.glob(os.path.join(ROOT, "graphs", "*.yaml"))
               + glob.glob(os.path.join(ROOT, "tests", "hostile", "*.yaml"))
               + glob.glob(os.path.join(ROOT, "docs", "**", "*.yaml"), recursive=True))
ODD = [None, True, False, 0, 1, -1, 2.0, 1.5, -0.5, "", "x", "x.npy", "zeros", "float32", "a b",
       "1a", "\u00e9", "h.1", "h.", "def",
       [], [1], [[1, 2], [3]], {}, {"op": "add"}, {"init": "zeros", "shape": [2]}, {"file": "a.npy"}]


def documents():
    for path in FILES:
        try:
            yield os.path.relpath(path, ROOT), load.load_file(path).data
        except GraphError:
            continue


def mutations(data, rng, count=60):
    """Copies of `data` with one place changed: a value replaced, a key added or dropped."""
    places = []
    stack = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                places.append(path + (k,))
                stack.append((v, path + (k,)))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                places.append(path + (i,))
                stack.append((v, path + (i,)))
    for _ in range(count if places else 0):
        doc = copy.deepcopy(data)
        path = rng.choice(places)
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        how = rng.random()
        if how < 0.6:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD))
        elif how < 0.8 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(["extra", "dtype", "seed", "axis", "init", "op"])] = \
                copy.deepcopy(rng.choice(ODD))
        yield doc


def agrees(data) -> bool:
    """The small checker says valid only where jsonschema does (on what jsonschema is shown)."""
    left = schema._unproven(data)
    return not schema._proves(schema.schema(), left) or schema.validator().is_valid(left)


@pytest.mark.parametrize("name, data", list(documents()), ids=lambda x: x if isinstance(x, str) else "")
def test_valid_only_where_jsonschema_says_so(name, data):
    rng = random.Random(f"{name}-17")
    assert agrees(data)
    for doc in mutations(data, rng):
        assert agrees(doc)


def test_the_example_graphs_are_proven_without_jsonschema():
    for path in sorted(glob.glob(os.path.join(ROOT, "graphs", "*.yaml"))):
        data = load.load_file(path).data
        assert schema._proves(schema.schema(), schema._unproven(data)), path


def test_it_gives_up_on_what_it_does_not_know():
    assert not schema._proves({"uniqueItems": True}, [1, 1])  # a keyword it does not evaluate
    assert not schema._proves({"enum": [1]}, 1.0)  # jsonschema's 1 == 1.0: left to jsonschema
    assert schema._proves({"type": "integer", "minimum": 0}, 3)
    assert not schema._proves({"type": "integer"}, 2.0)  # graphrun's integer, as validator()
    assert not schema._proves({"type": "number"}, True)


NAMES = ["x", "h.1", "_a9", "1a", "a b", "", "h.", "\u00e9", "def", "x\n"]
ARGUMENTS = NAMES + [2.0, -1, True, None, [], {}]
NODE_FORMS = [(name, {"op": op, "args": args}) for name in NAMES[:4] for op in ("neg", "mul", "mull", 3)
              for bad in ARGUMENTS for args in ([bad], [bad, "x"], ["x", bad], ["x", "x", bad])] + [
    ("n", {"op": "neg"}), ("n", {"args": ["x"]}), ("n", {"op": "neg", "args": "x"}),
    ("n", {"op": "neg", "args": ["x"], "axis": 0}), ("n", {"op": "neg", "args": ["x"], "mode": 1}),
    ("n", "x + 1"), ("n", None), (1, {"op": "neg", "args": ["x"]})]


@pytest.mark.parametrize("name, node", NODE_FORMS, ids=range(len(NODE_FORMS)))
def test_a_node_is_proven_exactly_when_jsonschema_finds_it_valid(name, node):
    """The nodes' inline check (one or two identifier arguments, no attribute) and _node_fits
    behind it: a node proven is valid, and one of the forms below valid is proven."""
    proven = not list(schema._unproven_entries("nodes", {name: node}))
    assert proven == schema.validator().is_valid({"graphrun": 1, "nodes": {name: node}})
