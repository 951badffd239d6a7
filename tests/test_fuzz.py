"""Random mutations of valid graphs never crash graphrun: every run ends in results (exit 0) or in
FILE:LINE:COL errors (exit 2), never in an internal error (exit 3) or a traceback.

Derandomized with fixed settings, so CI sees the same few hundred cases every time.
"""

import copy
import json
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


# --- results files, and strings that would forge lines ------------------------------------------

UNPRINTABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                         r"\ufeff\ufffe\ud800-\udfff]")
hostile_text = st.text(st.sampled_from("ab\n\r\t\x1b\x00\x07\x7f\x85\x9b\u2028\u2029\u202e"
                                       "\u2066\ufeff\ufffe\U0001f600:'\"\\ "), max_size=12)


def _results_text(tmp_path_factory, graph):
    """A results file graphrun wrote for `graph` (once per graph and session)."""
    base = tmp_path_factory.getbasetemp()
    source, golden = base / f"fuzz-{graph['name']}.yaml", base / f"fuzz-{graph['name']}.out.yaml"
    if not golden.exists():
        source.write_text(yaml.safe_dump(graph, sort_keys=False))
        code, _, err = call("run", str(source), "-o", str(golden))
        assert code == 0, err
    return source, golden.read_bytes()


@st.composite
def mutated_results(draw):
    text = draw(st.sampled_from(["scalar", "tensor"]))
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        edits.append((draw(st.floats(0, 1)),
                      draw(st.sampled_from(["insert", "delete", "truncate", "replace line"])),
                      draw(st.one_of(st.binary(min_size=1, max_size=6),
                                     hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                                     st.sampled_from([b"graphrun: true", b"dtype: 3", b"shape: [-1]",
                                                      b"{file: /dev/zero}", b"1e400", b".nan",
                                                      b"[[1, 2], [3]]", b"&a [*a]", b"!!binary"]))),
                      draw(st.integers(1, 8))))
    return text, edits


def _mutate(text: bytes, edits) -> bytes:
    for where, edit, piece, width in edits:
        at = int(where * len(text))
        if edit == "insert":
            text = text[:at] + piece + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + width:]
        elif edit == "truncate":
            text = text[:at]
        else:
            lines = text.split(b"\n")
            lines[int(where * (len(lines) - 1))] = b"  " + piece
            text = b"\n".join(lines)
    return text


def _one_line_each(err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    for line in err.splitlines():
        assert not UNPRINTABLE.search(line), ascii(line)


@settings(max_examples=120, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(mutated_results())
def test_mutated_results_files_never_crash_diff_or_check(tmp_path_factory, case):
    which, edits = case
    source, text = _results_text(tmp_path_factory, SCALAR_GRAPH if which == "scalar"
                                 else dict(TENSOR_GRAPH, name="tensor"))
    mutated = tmp_path_factory.getbasetemp() / "fuzz-mutated.results.yaml"
    mutated.write_bytes(_mutate(text, edits))
    golden = source.with_suffix(".out.yaml")
    code, _, err = call("diff", str(golden), str(mutated))
    assert code in (0, 1, 2), err
    _one_line_each(err)
    code, _, err = call("check", str(source), "--golden", str(mutated))
    assert code in (0, 1, 2), err
    _one_line_each(err)
    assert golden.read_bytes() == text  # what was read is never written


@settings(max_examples=120, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["name", "op", "arg", "key", "loss", "input", "description"]),
       hostile_text)
def test_hostile_strings_never_forge_or_hide_a_line(tmp_path_factory, where, text):
    quoted = json.dumps(text)  # a YAML double-quoted scalar: the file itself stays clean
    graph = {"name": "graphrun: 1\nname: %s\ninputs:\n  x: 1.0\nnodes:\n  y: {op: neg, args: [x]}\n",
             "op": "graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  y: {op: %s, args: [x]}\n",
             "arg": "graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  y: {op: neg, args: [%s]}\n",
             "key": "graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  y: {op: neg, args: [x], %s: 1}\n",
             "loss": "graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  y: {op: neg, args: [x]}\nloss: %s\n",
             "input": "graphrun: 1\ninputs:\n  %s: 1.0\nnodes:\n  y: {op: neg, args: [x]}\n",
             "description": "graphrun: 1\ndescription: %s\ninputs:\n  x: 1.0\nnodes:\n"
                            "  y: {op: neg, args: [x]}\n"}[where] % quoted
    path = tmp_path_factory.getbasetemp() / "fuzz-strings.yaml"
    path.write_bytes(graph.encode("utf-8", "surrogatepass"))
    out_path = tmp_path_factory.getbasetemp() / "fuzz-strings.out.yaml"
    if out_path.exists():
        out_path.unlink()
    code, _, err = call("run", str(path), "-o", str(out_path))
    assert code in (0, 2), err
    _one_line_each(err)
    if code == 2:
        assert all(ERROR_LINE.fullmatch(line + "\n") for line in err.splitlines()), err
    else:  # what graphrun wrote, it reads back
        code, _, err = call("check", str(path), "--golden", str(out_path))
        assert code == 0, err
