"""The public API, by name, as the README shows it: compile, run with new leaf values, results by
name, located errors for a Python caller, and the tools' objects."""

import os

import numpy as np
import pytest

import graphrun
from conftest import compile_text

SIMPLE = """\
graphrun: 1
name: chain-rule
inputs: {x: 2}
params: {w: 3, b: 4}
nodes:
  u: {op: mul, args: [w, x]}
  v: {op: add, args: [u, b]}
  L: {op: square, args: [v]}
loss: L
"""


def test_the_lesson_by_name():
    results = graphrun.run(compile_text(SIMPLE))
    assert results.loss == 100.0 and type(results.loss) is float
    assert {n: float(v) for n, v in results.values.items()} == \
        {"x": 2.0, "w": 3.0, "b": 4.0, "u": 6.0, "v": 10.0, "L": 100.0}
    assert {n: float(g) for n, g in results.grads.items()} == \
        {"w": 40.0, "b": 20.0, "u": 20.0, "v": 20.0, "L": 1.0}


def test_the_graph_names_its_parts(root):
    graph = graphrun.compile(os.path.join(root, "graphs", "simple.yaml"))
    assert (graph.name, graph.params, graph.inputs, graph.nodes, graph.loss) == \
        ("chain-rule", ("w", "b"), ("x",), ("u", "v", "L"), "L")
    assert graph.shape("w") == () and graph.dtype("x") == np.float64
    assert "chain-rule" in repr(graph)


def test_every_value_is_a_numpy_array_whichever_path_ran():
    graph = compile_text(SIMPLE)
    for fast in (True, False):
        results = graphrun.run(graph, fast=fast)
        for mapping in (results.values, results.grads):
            for name, value in mapping.items():
                assert type(value) is np.ndarray and value.dtype == np.float64, (fast, name)
    assert graph.plan.scalar is not None  # the fast run above did take the scalar path


def test_new_leaf_values_by_name_change_the_run():
    graph = compile_text(SIMPLE)
    results = graphrun.run(graph, params={"w": 2.6}, inputs={"x": 1.0})
    assert results.loss == (2.6 * 1.0 + 4) ** 2
    assert float(results.grads["w"]) == pytest.approx(2 * (2.6 + 4) * 1.0)
    assert graphrun.run(graph).loss == 100.0  # the graph's own values are untouched


@pytest.mark.parametrize("call,message", [
    (dict(params={"ww": 1.0}), "no param named 'ww'; did you mean 'w'? (params: w, b)"),
    (dict(params={"x": 1.0}), "'x' is an input, not a param (params: w, b)"),
    (dict(inputs={"w": 1.0}), "'w' is a param, not an input (inputs: x)"),
    (dict(params={"w": [1.0, 2.0]}), "params['w']: expected shape (); found shape (2,)"),
    (dict(params={"w": np.float32(1.0)}), "expected float64; found float32 (cast it"),
    (dict(params={"w": np.array(1.0, np.float32)}), "expected float64; found float32"),
    (dict(params={"w": float("nan")}), "params['w']: holds a value that is not finite"),
    (dict(params={"w": "three"}), "expected float64 numbers; found <U5 data"),
])
def test_new_leaf_values_are_checked(call, message):
    with pytest.raises(ValueError) as e:
        graphrun.run(compile_text(SIMPLE), **call)
    assert message in str(e.value)


def test_labels_never_lose_fractions():
    graph = compile_text("""\
graphrun: 1
inputs:
  y: {value: [0, 1], dtype: int64}
params: {z: [[1.0, 2.0], [3.0, 4.0]]}
nodes:
  L: {op: cross_entropy, args: [z, y]}
loss: L
""")
    with pytest.raises(ValueError, match="expected int64 numbers; found float64"):
        graphrun.run(graph, inputs={"y": [0.0, 1.5]})
    assert graphrun.run(graph, inputs={"y": [1, 0]}).loss > 0


def test_asking_for_a_name_that_is_not_there_suggests_one():
    results = graphrun.run(compile_text(SIMPLE))
    with pytest.raises(KeyError, match="no gradient named 'ww'; did you mean 'w'"):
        results.grads["ww"]
    with pytest.raises(KeyError, match="'x' is an input: it has no gradient"):
        results.grads["x"]
    with pytest.raises(KeyError, match="no value named 'q'"):
        results.values["q"]


def test_a_python_caller_gets_located_sorted_problems(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("graphrun: 1\nparams: {w: 3}\nnodes:\n  u: {op: mull, args: [w, x]}\n"
                    "loss: l\n")
    with pytest.raises(graphrun.GraphError) as e:
        graphrun.compile(path)
    assert str(e.value).splitlines() == [
        f"{path}:4:11: error: unknown op 'mull'; did you mean 'mul'?",
        f"{path}:4:27: error: unknown name 'x'",
        f"{path}:5:7: error: loss names no node: 'l'",
    ]
    assert [(p.line, p.col) for p in e.value.located()] == [(4, 11), (4, 27), (5, 7)]


def test_a_numeric_error_is_located_and_names_the_python_fix():
    graph = compile_text("graphrun: 1\nparams: {z: [1.0, 0.0]}\nnodes:\n"
                         "  u: {op: log, args: [z]}\n  L: {op: sum, args: [u]}\nloss: L\n",
                         "g.yaml")
    with pytest.raises(graphrun.NumericError) as e:
        graphrun.run(graph)
    assert str(e.value) == ("g.yaml:4:6: error: node 'u' (log): forward produced -inf at index "
                            "[1]; pass check_finite=False to keep it anyway")
    assert "--" not in str(e.value)  # a library message names no command-line flag
    assert np.isneginf(graphrun.run(graph, check_finite=False).values["u"][1])


def test_forward_only_runs_have_no_gradients():
    results = graphrun.run(compile_text(SIMPLE), gradients=False)
    assert results.grads is None and results.loss == 100.0


def test_gradient_descent_reaches_the_least_squares_solution(root):
    """The README's loop, on graphs/linreg.yaml, against numpy.linalg.lstsq."""
    graph = graphrun.compile(os.path.join(root, "graphs", "linreg.yaml"))
    params = graph.param_values()
    for _ in range(2000):
        results = graphrun.run(graph, params=params)
        params = {name: value - 0.05 * results.grads[name] for name, value in params.items()}
    X, y = (graphrun.run(graph).values[n] for n in ("X", "y"))
    A = np.c_[X, np.ones(len(X))]
    solution = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[params["w"], params["b"]], solution, rtol=1e-7)


def test_the_tools_return_objects_whose_text_the_cli_prints(root, tmp_path):
    from conftest import call
    path = os.path.join(root, "graphs", "simple.yaml")
    graph = graphrun.compile(path)
    assert graphrun.explain(graph).text() == call("explain", path)[1]
    assert graphrun.gradcheck(graph).text() == call("gradcheck", path)[1]
    assert graphrun.draw(graph).text == call("draw", path)[1]
    assert graphrun.run(graph).text() == call(path)[1]
    golden = tmp_path / "simple.results.yaml"
    graphrun.run(graph).write(golden)
    assert golden.read_text() == call(path)[1]
    outcome = graphrun.check(path, golden)
    assert outcome.ok and outcome.status == "match"
    assert graphrun.diff(golden, golden) == []
    assert graphrun.read_results(golden).entries["gradients.w"].value == 40.0
