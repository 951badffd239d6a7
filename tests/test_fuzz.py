"""Random mutations of valid graphs never crash graphrun: every run ends in results (exit 0) or in
FILE:LINE:COL errors (exit 2), never in an internal error (exit 3) or a traceback.

Derandomized with fixed settings, so CI sees the same few hundred cases every time.
"""

import copy
import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import call

SCALAR_GRAPH = {
    "graphrun": 1,
    "name": "chain",
    "inputs": {"x": 2},
    "params": {"w": 3, "b": 4.5},
    "nodes": {"u": {"op": "mul", "args": ["w", "x"]},
              "v": {"op": "add", "args": ["u", "b"]},
              "t": {"op": "tanh", "args": ["v"]},
              "L": {"op": "square", "args": ["t"]}},
    "loss": "L",
}
TENSOR_GRAPH = {
    "graphrun": 1,
    "inputs": {"x": [[1.0, 2.0], [3.0, 4.0]], "y": {"value": [1, 0], "dtype": "int64"}},
    "params": {"W": {"init": "normal", "shape": [2, 3], "seed": 1, "std": 0.5},
               "c": {"value": [0.1, 0.2, 0.3], "dtype": "float32"}},
    "nodes": {"h": {"op": "matmul", "args": ["x", "W"]},
              "z": {"op": "add", "args": ["h", "c"]},
              "r": {"op": "reshape", "args": ["z"], "shape": [3, 2]},
              "s": {"op": "sum", "args": ["r"], "axis": 0, "keepdims": False},
              "p": {"op": "cross_entropy", "args": ["z", "y"]},
              "q": {"op": "mean", "args": ["s"]},
              "L": {"op": "add", "args": ["p", "q"]}},
    "loss": "L",
}
ERROR_LINE = re.compile(r"[^\n]+:\d+:\d+: (error|warning|note): [^\n]+\n")

junk = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                 st.lists(st.integers(-3, 3), max_size=3), st.just({}), st.just([[1, 2], [3]]),
                 st.sampled_from(["L", "u", "x", "W", "h", "mull", "w", "-1", "1e400", "{"]))


def _places(data, path=()):
    """Every (container, key) in a nested document."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield data, key
            yield from _places(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield data, i
            yield from _places(value, path + (i,))


@st.composite
def mutated_graph(draw):
    data = copy.deepcopy(draw(st.sampled_from([SCALAR_GRAPH, TENSOR_GRAPH])))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_places(data))
        container, key = places[draw(st.integers(0, len(places) - 1))]
        action = draw(st.sampled_from(["delete", "swap", "rename", "cycle", "junk key"]))
        if action == "delete":
            del container[key]
        elif action == "swap":
            container[key] = copy.deepcopy(draw(junk))  # st.just gives the same object each time
        elif action == "rename" and isinstance(container[key], str):
            container[key] = container[key] + draw(st.sampled_from(["x", "", "_", "1"]))
        elif action == "cycle":
            nodes = data.get("nodes")
            if isinstance(nodes, dict) and nodes:
                names = list(nodes)
                first = nodes[names[0]]
                if isinstance(first, dict):
                    first["args"] = [names[-1]]
        elif action == "junk key" and isinstance(container, dict):
            container[draw(st.sampled_from(["argz", "opp", "axis", "nodes", "1bad", "x"]))] = \
                copy.deepcopy(draw(junk))
    text = yaml.safe_dump(data, sort_keys=False).encode("utf-8")
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "truncate"]))
        if edit == "insert":
            text = text[:at] + draw(st.binary(min_size=1, max_size=4)) + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)):]
        else:
            text = text[:at]
    return text


@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_graph())
def test_mutated_graphs_never_crash(tmp_path_factory, text):
    graph = tmp_path_factory.getbasetemp() / "fuzz.yaml"
    graph.write_bytes(text)
    code, out, err = call("run", str(graph))
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith(f"{graph}:")
        assert ERROR_LINE.fullmatch(err) or all(
            ERROR_LINE.fullmatch(line + "\n") for line in err.splitlines()), \
            err
    assert "Traceback" not in err
