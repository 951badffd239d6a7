"""What results hold: the `outputs:` section and `--outputs` (names, patterns, globs, digits), how
`check` compares exactly that, and the reader's fast path for files in the writer's form."""

import json
import os
import textwrap

import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st

import graphrun
from graphrun.results import reader
from graphrun.results.compare import Tolerance, compare
from graphrun.results.reader import Entry, ResultSet, read_results
from graphrun.results.writer import round_significant, write_results
from conftest import call, run_text

MLP = textwrap.dedent("""\
    graphrun: 1
    name: mlp
    inputs:
      X: [[1.0, 2.0], [3.0, -1.0]]
    params:
      W: [[0.5, -0.25], [0.125, 1.0]]
      b: [0.1, -0.2]
    nodes:
      h1_pre: {op: matmul, args: [X, W]}
      h1: {op: add, args: [h1_pre, b]}
      h2: {op: tanh, args: [h1]}
      L: {op: sum, args: [h2]}
    loss: L
    """)


def graph(tmp_path, outputs="", text=MLP, name="g.yaml"):
    path = tmp_path / name
    path.write_text(text + (textwrap.dedent(outputs) if outputs else ""))
    return path


def results_of(path, *options):
    code, out, err = call("run", str(path), *options)
    assert code == 0, err
    return yaml.safe_load(out)


def test_by_default_everything_is_written(tmp_path):
    doc = results_of(graph(tmp_path))
    assert list(doc["values"]) == ["h1_pre", "h1", "h2", "L"]
    assert list(doc["gradients"]) == ["W", "b", "h1_pre", "h1", "h2", "L"]


def test_names_patterns_and_globs_select_in_program_order(tmp_path):
    doc = results_of(graph(tmp_path, """\
        outputs:
          values: [L, "h1*", inputs]
          gradients: params
        """))
    assert list(doc) == ["graphrun", "graph", "loss", "values", "gradients"]
    assert list(doc["values"]) == ["X", "h1_pre", "h1", "L"]  # slot order, whatever the list's
    assert list(doc["gradients"]) == ["W", "b"]
    doc = results_of(graph(tmp_path, "outputs: {values: none, gradients: [loss, h2, W]}\n"))
    assert doc["values"] == {} and list(doc["gradients"]) == ["W", "h2", "L"]
    X, W, b = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[0.5, -0.25], [0.125, 1.0]]), \
        np.array([0.1, -0.2])
    assert doc["loss"] == np.tanh(X @ W + b).sum()  # [[0.85, 1.55], [1.475, -1.95]]


@pytest.mark.parametrize("outputs, line_col, message", [
    ("outputs: {values: [L, h2x]}\n", "14:23",
     "outputs: values: unknown name or pattern 'h2x'; did you mean 'h2'?"),
    ("outputs: {values: [L, qq]}\n", "14:23",
     "outputs: values: unknown name or pattern 'qq' (patterns: nodes, params, inputs, loss, "
     "none; or a name, or a glob such as 'h*')"),
    ("outputs: {gradients: parms}\n", "14:22",
     "outputs: gradients: unknown name or pattern 'parms'; did you mean 'params'?"),
    ("outputs: {gradients: [X]}\n", "14:23",
     "outputs: gradients: 'X' is an input; inputs have no gradient"),
    ("outputs: {gradients: [inputs]}\n", "14:23",
     "outputs: gradients: inputs have no gradient (they are not differentiated)"),
    ("outputs: {values: ['z*']}\n", "14:20",
     "outputs: values: the pattern 'z*' matches no name of an input, param or node"),
    ("outputs: {values: [none, L]}\n", "14:20", "outputs: values: 'none' stands alone"),
    ("outputs: {valeus: [L]}\n", "14:11",
     "unknown key 'valeus' in 'outputs'; did you mean 'values'?"),
    ("outputs: {digits: 0}\n", "14:19", "expected an integer >= 1; found integer 0"),
    ("outputs: {values: 3}\n", "14:19", "expected a string or a list; found integer 3"),
])
def test_mistakes_are_errors_at_their_line(tmp_path, outputs, line_col, message):
    path = graph(tmp_path, outputs)
    code, out, err = call("run", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"{path}:{line_col}: error: {message}"), err


def test_gradients_need_a_loss(tmp_path):
    text = "graphrun: 1\nparams: {w: 3}\nnodes:\n  u: {op: square, args: [w]}\n"
    path = graph(tmp_path, "outputs: {gradients: params}\n", text=text)
    code, _, err = call("run", str(path))
    assert code == 2 and f"{path}:5:11: error: outputs: this graph has no loss" in err
    path = graph(tmp_path, "outputs: {gradients: none}\n", text=text)
    assert call("run", str(path))[0] == 0


def test_the_command_line_overrides_the_section_key_by_key(tmp_path):
    path = graph(tmp_path, "outputs: {values: [L], gradients: params}\n")
    doc = results_of(path, "--outputs", "values: [h2]")
    assert list(doc["values"]) == ["h2"] and list(doc["gradients"]) == ["W", "b"]
    doc = results_of(path, "--outputs", "{gradients: none, digits: 3}")
    assert list(doc["values"]) == ["L"] and doc["gradients"] == {} and doc["digits"] == 3


@pytest.mark.parametrize("option, expected", [
    ("values: [hh]", "--outputs:1:10: error: outputs: values: unknown name or pattern 'hh'"),
    ("gradient: params", "--outputs:1:1: error: unknown key 'gradient' in 'outputs'; did you "
                         "mean 'gradients'?"),
    ("values: [L", "--outputs:1:"),
    ("digits: 99", "--outputs:1:9: error: expected an integer <= 17; found integer 99"),
])
def test_a_bad_command_line_selection_is_located_in_its_text(tmp_path, option, expected):
    code, out, err = call("run", str(graph(tmp_path)), "--outputs", option)
    assert code == 2 and out == "" and err.startswith(expected), err
    assert "Traceback" not in err


def test_the_api_takes_a_selection_too(tmp_path):
    compiled = graphrun.compile(graph(tmp_path), outputs={"values": "L", "gradients": ["W"]})
    doc = yaml.safe_load(graphrun.run(compiled).text())
    assert list(doc["values"]) == ["L"] and list(doc["gradients"]) == ["W"]
    assert set(graphrun.run(compiled).values) >= {"X", "h1", "L"}  # the API still has everything


def test_goldens_hold_the_selection_and_check_compares_exactly_that(tmp_path):
    path = graph(tmp_path)
    golden = tmp_path / "g.results.yaml"
    assert call("check", str(path), "--golden", str(golden), "--update")[0] == 0
    path.write_text(MLP + "outputs: {values: [L], gradients: params}\n")
    code, out, _ = call("check", str(path), "--golden", str(golden), "--format", "json")
    differences = json.loads(out)["graphs"][0]["differences"]
    assert code == 1 and {d["entry"] for d in differences} == \
        {"values.h1_pre", "values.h1", "values.h2", "gradients.h1_pre", "gradients.h1",
         "gradients.h2", "gradients.L"}
    assert {d["kind"] for d in differences} == {"missing"}
    assert call("check", str(path), "--golden", str(golden), "--update")[0] == 0
    assert list(yaml.safe_load(golden.read_text())["values"]) == ["L"]
    assert call("check", str(path), "--golden", str(golden))[0] == 0
    # a selection on the command line is compared the same way
    code, out, _ = call("check", str(path), "--golden", str(golden), "--outputs", "values: [h2]")
    assert code == 1 and "values.h2" in out and "values.L" in out


def test_rounded_goldens(tmp_path):
    path = graph(tmp_path, "outputs: {digits: 4}\n")
    golden = tmp_path / "g.results.yaml"
    assert call("check", str(path), "--golden", str(golden), "--update")[0] == 0
    doc = yaml.safe_load(golden.read_text())
    assert doc["digits"] == 4
    full = results_of(graph(tmp_path, name="full.yaml"))
    for section in ("values", "gradients"):
        for name, value in doc[section].items():
            expected = np.vectorize(lambda x: float(f"{x:.4g}"))(np.array(full[section][name]))
            assert np.array_equal(np.array(value), expected), name
    # the default tolerance is tight, but the rounding cannot break it
    assert call("check", str(path), "--golden", str(golden))[0] == 0
    assert call("check", str(path), "--golden", str(golden), "--rtol", "0", "--atol", "0")[0] == 0
    # a real change still shows: b from 0.1 to 0.11 moves h1 by ~10%
    path.write_text(path.read_text().replace("b: [0.1, -0.2]", "b: [0.11, -0.2]"))
    code, out, _ = call("check", str(path), "--golden", str(golden))
    assert code == 1 and "values.h1 " in out
    # dropping the rounding is a difference too: the golden no longer holds what is written
    path.write_text(MLP)
    code, out, _ = call("check", str(path), "--golden", str(golden), "--format", "json")
    (d,) = json.loads(out)["graphs"][0]["differences"]
    assert code == 1 and (d["entry"], d["kind"]) == ("digits", "missing")


@settings(max_examples=300, deadline=None)
@given(x=st.floats(-1e6, 1e6, allow_nan=False).filter(lambda v: abs(v) > 1e-300),
       change=st.floats(-1.0, 1.0), digits=st.integers(1, 17),
       rtol=st.sampled_from([0.0, 1e-9, 1e-5, 0.01]), atol=st.sampled_from([0.0, 1e-12, 1e-6]),
       rounded=st.sampled_from(["expected", "got", "both"]))
def test_rounding_never_breaks_a_tolerance(x, change, digits, rtol, atol, rounded):
    """Two numbers within the tolerance stay within it after either or both are rounded."""
    y = x + change * (atol + rtol * abs(x))  # at most the allowance away
    if not abs(y - x) <= atol + rtol * abs(x):
        return  # the float arithmetic above went past the edge
    e = round_significant(x, digits) if rounded in ("expected", "both") else x
    g = round_significant(y, digits) if rounded in ("got", "both") else y
    sides = [ResultSet(None, {"graph": Entry("g"), "loss": Entry(np.array(v))}) for v in (e, g)]
    for side, was in zip(sides, ("expected", "got")):
        if rounded in (was, "both"):
            side.entries["digits"] = Entry(str(digits))
    if rounded != "both":  # the side written unrounded says the same digits, as check's does
        for side in sides:
            side.entries["digits"] = Entry(str(digits))
    assert compare(*sides, Tolerance(rtol, atol)) == []


@pytest.mark.parametrize("digits", [1, 2, 6, 12])
def test_rounding_at_a_rounding_boundary(digits):
    """The worst case: two numbers a hair apart on either side of a rounding boundary round a
    whole unit apart (10^(1-d) of their size), and must still match."""
    unit = 10.0 ** (1 - digits)
    boundary = 1 + unit / 2
    e, g = (round_significant(boundary + s * unit * 1e-3, digits) for s in (-1, 1))
    assert g - e == pytest.approx(unit)
    sides = [ResultSet(None, {"digits": Entry(str(digits)), "loss": Entry(np.array(v))})
             for v in (e, g)]
    assert compare(*sides, Tolerance(1e-9, 0.0)) == []


def test_tolerance_for_digits_is_twice_the_rounding():
    assert Tolerance().for_digits(6).resolved(np.float64) == (1e-9 + 2e-5, 1e-12 * (1 + 1e-5))
    assert Tolerance().for_digits(None).resolved(np.float64) == (1e-9, 1e-12)


# --- the reader's fast path ----------------------------------------------------------------------

def _same(a, b):
    assert list(a.entries) == list(b.entries)
    for key in a.entries:
        x, y = a.entries[key], b.entries[key]
        assert (x.line, x.col) == (y.line, y.col), key
        if isinstance(x.value, str):
            assert x.value == y.value
        else:
            assert x.value.dtype == y.value.dtype and x.value.shape == y.value.shape, key
            assert np.array_equal(x.value, y.value, equal_nan=True), key


FILES = [
    MLP,
    MLP.replace("[0.1, -0.2]", "{value: [0.1, -0.2], dtype: float32}").replace(
        "[[0.5, -0.25], [0.125, 1.0]]", "{value: [[0.5, -0.25], [0.125, 1.0]], dtype: float32}")
    .replace("[[1.0, 2.0], [3.0, -1.0]]", "{value: [[1.0, 2.0], [3.0, -1.0]], dtype: float32}"),
    "graphrun: 1\nname: '123'\ninputs:\n  x: [-1.0, 0.0, 4.0]\n"
    "nodes:\n  y: {op: log, args: [x]}\n  'n': {op: neg, args: [y]}\n",
    "graphrun: 1\nparams:\n  W: {init: normal, shape: [40, 30], seed: 3}\n"
    "nodes:\n  t: {op: tanh, args: [W]}\n  L: {op: sum, args: [t]}\nloss: L\n"
    "outputs: {values: [t, inputs], digits: 5}\n",
    "graphrun: 1\ninputs:\n  X: {value: [[1.0, 2.0, 0.5]], dtype: float64}\n"
    "  y: {value: [2], dtype: int64}\noutputs: {values: [inputs, p]}\n"
    "nodes:\n  p: {op: log_softmax, args: [X]}\n",
]


@pytest.mark.parametrize("text", FILES)
def test_the_fast_path_reads_what_the_loader_reads(tmp_path, text):
    results = run_text(text.replace("'n'", "n") if "log" not in text else text) \
        if "log, args" not in text else graphrun.run(
            graphrun.compile_text(text, "t.yaml"), check_finite=False)
    path = str(tmp_path / "r.results.yaml")
    write_results(path, results, threshold=100)
    raw = open(path, "rb").read()
    assert reader._written_entries(raw, str(tmp_path)) is not None  # the writer's form is fast
    _same(read_results(path), read_results(path, fast=False))


@pytest.mark.parametrize("edit, fast", [
    (lambda t: t.replace("values:\n", "# a comment\nvalues:\n"), False),
    (lambda t: t.replace("\n", "\r\n"), False),
    (lambda t: t.replace("values:\n", "\nvalues:\n"), False),
    (lambda t: t.replace("  L: ", "  'L': "), False),
    (lambda t: t.replace("  L: ", "  L:\t"), False),
    (lambda t: t + "  L: 1.0\n", False),  # a duplicate key: the loader's error
    (lambda t: t.replace("  h2: [[", "  h2: [[1e400, "), False),  # beyond float64: an error
    (lambda t: t.replace("  h2: [[", "  h2: [[1, "), False),  # ragged: an error
    (lambda t: t.replace("  h2: [[", "  h2: [[true, "), False),
    (lambda t: t.replace("graph: mlp", "graph: 1e3"), False),  # YAML reads 1000.0
    (lambda t: t.replace("graph: mlp", "graph: null"), False),
    (lambda t: t.replace("  h2: [", "  h2:   ["), True),  # JSON and YAML alike skip spaces
])
def test_a_hand_edited_file_reads_as_the_loader_reads_it(tmp_path, edit, fast):
    path = tmp_path / "r.results.yaml"
    write_results(str(path), run_text(MLP), threshold=100)
    path.write_bytes(edit(path.read_text()).encode())
    assert (reader._written_entries(path.read_bytes(), str(tmp_path)) is not None) == fast
    try:
        slow = read_results(str(path), fast=False)
    except graphrun.GraphError as e:
        with pytest.raises(graphrun.GraphError) as fast:
            read_results(str(path))
        assert str(fast.value) == str(e)
    else:
        _same(read_results(str(path)), slow)


def test_every_example_golden_is_read_by_the_fast_path_as_the_loader_reads_it(root):
    import glob
    goldens = [f for f in sorted(glob.glob(f"{root}/tests/golden/*.results.yaml"))
               if not f.endswith(".train.results.yaml")]
    assert len(goldens) >= 5
    for golden in goldens:
        raw = open(golden, "rb").read()
        assert reader._written_entries(raw, os.path.dirname(golden)) is not None, golden
        _same(read_results(golden), read_results(golden, fast=False))


def test_a_deep_list_goes_to_the_loader(tmp_path):
    path = tmp_path / "r.results.yaml"
    deep = "[" * 70 + "1.0" + "]" * 70
    path.write_text(f"graphrun: 1\ngraph: g\nvalues:\n  u: {deep}\n")
    assert reader._written_entries(path.read_bytes(), str(tmp_path)) is None
    with pytest.raises(graphrun.GraphError) as error:
        read_results(str(path))
    assert "deeper than 64 levels" in str(error.value)
