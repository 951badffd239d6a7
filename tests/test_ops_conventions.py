"""The numbers the ops of issue 14 must give exactly: PyTorch's conventions at their kinks and
edges, numpy's indexing, the losses' shape rules, and the layers against loops written out by
hand. Everything runs through the pipeline (graph text -> run).

Expected numbers come from the math, from PyTorch's documented choices (torch.clamp passes the
gradient at a bound, torch.sign's derivative is 0, torch.var divides by n - 1, max_pool2d sends
a window's gradient to its first largest element, ...) or from a straightforward loop in this
file, never from graphrun's own output.
"""

import math

import numpy as np
import pytest
import yaml

import graphrun
from conftest import call, compile_text, run_text
from graphrun import GraphError, NumericError


def _run(params, nodes, loss="L", inputs=""):
    text = "graphrun: 1\n"
    if inputs:
        text += "inputs:\n" + inputs
    text += "params:\n" + params + "nodes:\n" + nodes + (f"loss: {loss}\n" if loss else "")
    results = run_text(text)
    return dict(results.values), (dict(results.grads) if results.grads is not None else None)


def _grad(op_line, x, weights=None):
    """(value, d sum(w * op(x)) / dx) for a param x (w = 1 unless given)."""
    nodes = f"  y: {op_line}\n"
    if weights is None:
        nodes += "  L: {op: sum, args: [y]}\n"
        inputs = ""
    else:
        nodes += "  wy: {op: mul, args: [y, w]}\n  L: {op: sum, args: [wy]}\n"
        inputs = f"  w: {weights}\n"
    v, g = _run(f"  x: {x}\n", nodes, inputs=inputs)
    return v["y"], g["x"]


def _error(text):
    with pytest.raises(GraphError) as e:
        compile_text(text)
    return [p.message for p in e.value.problems]


# ---------------------------------------------------------------------------------------------
# elementwise

def test_clip_passes_the_gradient_at_its_bounds_as_torch_clamp():
    v, g = _grad("{op: clip, args: [x], min: -0.5, max: 0.5}", "[-1.0, -0.5, 0.0, 0.5, 1.0]")
    assert v.tolist() == [-0.5, -0.5, 0.0, 0.5, 0.5]
    assert g.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]  # min <= x <= max: bounds included


def test_clip_with_one_bound_none_or_crossed_bounds():
    v, g = _grad("{op: clip, args: [x], min: 0.0}", "[-1.0, 0.0, 2.0]")
    assert (v.tolist(), g.tolist()) == ([0.0, 0.0, 2.0], [0.0, 1.0, 1.0])
    v, g = _grad("{op: clip, args: [x], max: 1}", "[-1.0, 1.0, 2.0]")
    assert (v.tolist(), g.tolist()) == ([-1.0, 1.0, 1.0], [1.0, 1.0, 0.0])
    v, g = _grad("{op: clip, args: [x]}", "[-3.0, 3.0]")  # numpy 2: no bound is x itself
    assert (v.tolist(), g.tolist()) == ([-3.0, 3.0], [1.0, 1.0])
    # min > max: torch.clamp gives max everywhere, and no element is inside
    v, g = _grad("{op: clip, args: [x], min: 1.0, max: -1.0}", "[-2.0, 0.0, 2.0]")
    assert (v.tolist(), g.tolist()) == ([-1.0, -1.0, -1.0], [0.0, 0.0, 0.0])


def test_sign_has_derivative_zero_everywhere():
    v, g = _grad("{op: sign, args: [x]}", "[-2.0, 0.0, 3.0]")
    assert (v.tolist(), g.tolist()) == ([-1.0, 0.0, 1.0], [0.0, 0.0, 0.0])


def test_elu_takes_the_negative_branch_at_zero():
    v, g = _grad("{op: elu, args: [x], alpha: 0.5}", "[-1.0, 0.0, 2.0]")
    np.testing.assert_allclose(v, [0.5 * math.expm1(-1.0), 0.0, 2.0], rtol=1e-15)
    np.testing.assert_allclose(g, [0.5 * math.exp(-1.0), 0.5, 1.0], rtol=1e-15)
    v, _ = _grad("{op: elu, args: [x]}", "[-1.0e-10]")
    assert v[0] == pytest.approx(math.expm1(-1e-10), rel=1e-15)  # exp(x) - 1 loses 7 digits


def test_gelu_exact_and_tanh_forms():
    xs = [-2.0, -0.5, 0.0, 1.0, 3.0]
    v, g = _grad("{op: gelu, args: [x]}", str(xs))
    phi = [0.5 * (1 + math.erf(x / math.sqrt(2))) for x in xs]
    pdf = [math.exp(-x * x / 2) / math.sqrt(2 * math.pi) for x in xs]
    np.testing.assert_allclose(v, [x * p for x, p in zip(xs, phi)], rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(g, [p + x * d for x, p, d in zip(xs, phi, pdf)], rtol=1e-14)
    v, g = _grad("{op: gelu, args: [x], approximate: tanh}", str(xs))
    k = math.sqrt(2 / math.pi)

    def tanh_gelu(x):
        return 0.5 * x * (1 + math.tanh(k * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(v, [tanh_gelu(x) for x in xs], rtol=1e-14, atol=1e-300)
    numeric = [(tanh_gelu(x + 1e-6) - tanh_gelu(x - 1e-6)) / 2e-6 for x in xs]
    np.testing.assert_allclose(g, numeric, rtol=1e-8)
    assert "unknown approximate 'erf' (expected one of: none, tanh)" in \
        _error("graphrun: 1\nparams: {x: 1.0}\nnodes:\n  y: {op: gelu, args: [x], "
               "approximate: erf}\n")[0]


def test_silu_log1p_expm1_reciprocal_closed_forms():
    xs = [-2.0, 0.0, 0.5, 3.0]
    v, g = _grad("{op: silu, args: [x]}", str(xs))
    s = [1 / (1 + math.exp(-x)) for x in xs]
    np.testing.assert_allclose(v, [x * si for x, si in zip(xs, s)], rtol=1e-15)
    np.testing.assert_allclose(g, [si * (1 + x * (1 - si)) for x, si in zip(xs, s)], rtol=1e-15)
    v, g = _grad("{op: log1p, args: [x]}", "[1.0e-20, 0.5]")
    assert v.tolist() == [1e-20, math.log1p(0.5)] and g.tolist() == [1.0, 1 / 1.5]
    v, g = _grad("{op: expm1, args: [x]}", "[1.0e-20, 2.0]")
    assert v.tolist() == [1e-20, math.expm1(2.0)] and g.tolist() == [1.0, math.exp(2.0)]
    v, g = _grad("{op: reciprocal, args: [x]}", "[-4.0, 0.5]")
    assert v.tolist() == [-0.25, 2.0] and g.tolist() == [-1 / 16, -4.0]


# ---------------------------------------------------------------------------------------------
# comparisons and where

def test_comparisons_give_bools_without_gradients_and_where_chooses():
    v, g = _run("  x: [1.0, -2.0, 3.0]\n  a: [10.0, 20.0, 30.0]\n",
                "  pos: {op: gt, args: [x, 0]}\n  eq: {op: eq, args: [x, x]}\n"
                "  y: {op: where, args: [pos, a, x]}\n  L: {op: sum, args: [y]}\n")
    assert v["pos"].dtype == np.bool_ and v["pos"].tolist() == [True, False, True]
    assert v["eq"].tolist() == [True, True, True]
    assert v["y"].tolist() == [10.0, -2.0, 30.0]
    assert g["a"].tolist() == [1.0, 0.0, 1.0] and g["x"].tolist() == [0.0, 1.0, 0.0]
    assert "pos" not in g and "eq" not in g  # no gradient: not even zeros


def test_bool_and_int64_values_are_written_as_yaml_booleans_and_integers(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\nparams:\n  x: [[1.0, 5.0], [7.0, 2.0]]\nnodes:\n"
                     "  big: {op: ge, args: [x, 5]}\n  am: {op: argmax, args: [x], axis: 1}\n"
                     "  one: {op: lt, args: [1.0, 2.0]}\n  L: {op: sum, args: [x]}\nloss: L\n")
    code, out, err = call(str(graph))
    assert (code, err) == (0, "")
    assert "  big: [[false, true], [true, false]]\n" in out and "  am: [1, 0]\n" in out
    assert "  one: true\n" in out
    doc = yaml.safe_load(out)
    assert set(doc["gradients"]) == {"x", "L"}  # nothing for the bool and int64 nodes
    # the results file reads back with its kinds, and `check` compares them exactly
    golden = tmp_path / "g.results.yaml"
    assert call("check", str(graph), "--golden", str(golden), "--update")[0] == 0
    assert call("check", str(graph), "--golden", str(golden))[0] == 0
    golden.write_text(golden.read_text().replace("big: [[false, true]", "big: [[true, true]"))
    code, out, _ = call("check", str(graph), "--golden", str(golden))
    assert code == 1 and "values.big" in out and "true" in out and "false" in out
    golden.write_text(golden.read_text().replace("big: [[true, true], [true, false]]",
                                                 "big: [[0, 1], [1, 0]]")
                      .replace("am: [1, 0]", "am: [1.0, 0.0]"))
    code, out, _ = call("check", str(graph), "--golden", str(golden))
    assert code == 1 and "values.am" in out and "values.big" in out  # a change of kind
    golden.write_text(golden.read_text().replace("big: [[0, 1], [1, 0]]",
                                                 "big: [[false, 1], [true, false]]"))
    code, _, err = call("check", str(graph), "--golden", str(golden))
    assert code == 2 and "numbers or booleans, not both" in err


def test_explain_draw_and_gradcheck_take_bool_and_int64_values(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\ninputs:\n  y: {value: [1, 0], dtype: int64}\nparams:\n"
                     "  x: [[1.0, 5.0], [7.0, 2.0]]\nnodes:\n"
                     "  pos: {op: gt, args: [x, 3]}\n  m: {op: where, args: [pos, x, 0]}\n"
                     "  am: {op: argmax, args: [m], axis: 1}\n"
                     "  acc: {op: accuracy, args: [m, y]}\n"
                     "  L: {op: cross_entropy, args: [m, y]}\nloss: L\n")
    code, out, err = call("explain", str(graph))
    assert code == 0 and "dL/dx" in out, err
    code, out, err = call("draw", str(graph))
    assert code == 0 and "am = argmax(axis=1)" in out, err
    code, out, err = call("gradcheck", str(graph))
    assert code == 0 and "ok:" in out, (out, err)


# ---------------------------------------------------------------------------------------------
# reductions

def test_min_ties_share_evenly_and_prod_handles_zeros():
    _, g = _grad("{op: min, args: [x], axis: 1}", "[[1.0, 1.0, 3.0], [2.0, 0.0, 5.0]]")
    assert g.tolist() == [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]]
    v, g = _grad("{op: prod, args: [x], axis: 1}", "[[2.0, 0.0, 3.0], [0.0, 4.0, 0.0], "
                 "[2.0, -1.0, 4.0]]")
    assert v.tolist() == [0.0, 0.0, -8.0]
    assert g.tolist() == [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [-4.0, 8.0, -2.0]]


def test_var_and_std_divide_by_n_minus_one_like_torch():
    xs = [1.0, 2.0, 3.0, 4.0]
    v, g = _grad("{op: var, args: [x]}", str(xs))
    assert float(v) == pytest.approx(5 / 3, rel=1e-15)  # numpy's default (n) gives 1.25
    np.testing.assert_allclose(g, [2 * (x - 2.5) / 3 for x in xs], rtol=1e-15)
    v, g = _grad("{op: var, args: [x], correction: 0}", str(xs))
    assert float(v) == 1.25
    v, g = _grad("{op: std, args: [x]}", str(xs))
    assert float(v) == pytest.approx(math.sqrt(5 / 3), rel=1e-15)
    np.testing.assert_allclose(g, [(x - 2.5) / (3 * math.sqrt(5 / 3)) for x in xs], rtol=1e-14)
    assert "var: correction 1 needs more than 1 element to reduce; found 1" in \
        _error("graphrun: 1\nparams: {x: [[1.0], [2.0]]}\nnodes:\n"
               "  v: {op: var, args: [x], axis: 1}\n")[0]
    for op in ("var", "std"):  # a negative correction is refused as such, not as "needs more"
        assert f"{op}: correction must be 0 or more (it divides by n - correction); found -1" in \
            _error(f"graphrun: 1\nparams: {{x: [1.0, 2.0]}}\nnodes:\n"
                   f"  v: {{op: {op}, args: [x], correction: -1}}\n")[0]
    with pytest.raises(NumericError, match="node 's' \\(std\\): backward produced nan"):
        _run("  x: [2.0, 2.0]\n", "  s: {op: std, args: [x]}\n", loss="s")  # 0/0, as PyTorch


def test_norm_conventions_at_zero_and_at_ties():
    v, g = _grad("{op: norm, args: [x], axis: 1}", "[[0.0, 0.0], [3.0, -4.0]]")
    assert v.tolist() == [0.0, 5.0]
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.6, -0.8]], rtol=1e-15)  # x g / norm; 0 at 0
    v, g = _grad("{op: norm, args: [x], ord: 1}", "[0.0, -2.0, 3.0]")
    assert float(v) == 5.0 and g.tolist() == [0.0, -1.0, 1.0]
    v, g = _grad("{op: norm, args: [x], ord: inf}", "[3.0, -3.0, 1.0]")
    assert float(v) == 3.0 and g.tolist() == [0.5, -0.5, 0.0]


def test_argmax_and_argmin_give_the_first_index_of_a_tie_as_int64():
    v, _ = _run("  x: [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]\n",
                "  a: {op: argmax, args: [x], axis: 1}\n  b: {op: argmin, args: [x]}\n"
                "  c: {op: argmax, args: [x], axis: -1, keepdims: true}\n", loss=None)
    assert v["a"].dtype == np.int64 and v["a"].tolist() == [1, 0]
    assert v["b"].tolist() == 5  # of the flattened x, as numpy and PyTorch
    assert v["c"].tolist() == [[1], [0]]


# ---------------------------------------------------------------------------------------------
# shapes and indexing

def test_shape_ops_move_gradients_back():
    v, g = _grad("{op: broadcast_to, args: [x], shape: [2, -1, 3]}", "[[1.0], [2.0]]")
    assert v.shape == (2, 2, 3) and g.tolist() == [[6.0], [6.0]]
    v, g = _grad("{op: squeeze, args: [x]}", "[[[1.0, 2.0]]]")
    assert v.shape == (2,) and g.shape == (1, 1, 2)
    v, _ = _grad("{op: flatten, args: [x], start_axis: 1}", "[[[1.0, 2.0], [3.0, 4.0]]]")
    assert v.tolist() == [[1.0, 2.0, 3.0, 4.0]]
    v, _ = _grad("{op: flatten, args: [x]}", "2.0")
    assert v.tolist() == [2.0]  # a scalar flattens to (1,), as torch.flatten
    v, _ = _grad("{op: expand_dims, args: [x], axis: -1}", "[1.0, 2.0]")
    assert v.tolist() == [[1.0], [2.0]]
    assert "squeeze: axis 1 of (2,3) has size 3, not 1" in \
        _error("graphrun: 1\nparams: {x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]}\nnodes:\n"
               "  s: {op: squeeze, args: [x], axis: 1}\n")[0]


def test_stack_gives_each_argument_its_slice():
    v, g = _run("  a: [1.0, 2.0]\n  b: [3.0, 4.0]\n",
                "  s: {op: stack, args: [a, b, a], axis: -1}\n  w: {op: mul, args: [s, c]}\n"
                "  L: {op: sum, args: [w]}\n", inputs="  c: [[1.0, 10.0, 100.0], [1.0, 10.0, "
                "100.0]]\n")
    assert v["s"].tolist() == [[1.0, 3.0, 1.0], [2.0, 4.0, 2.0]]
    assert g["a"].tolist() == [101.0, 101.0] and g["b"].tolist() == [10.0, 10.0]


X = np.arange(24.0).reshape(2, 3, 4)


@pytest.mark.parametrize("written,numpy_index", [
    ("0", 0), ("[1, \"1:3\"]", (1, slice(1, 3))), ("[\":\", \":\", -1]", (slice(None),) * 2 + (-1,)),
    ("[\"...\", \"::-2\"]", (Ellipsis, slice(None, None, -2))), ("[null, 0]", (None, 0)),
    ("\"-1:\"", slice(-1, None)), ("[0, \"2\", \"1::2\"]", (0, 2, slice(1, None, 2))),
    ("[-2, null, \"::2\"]", (-2, None, slice(None, None, 2))),
])
def test_index_is_numpys_basic_indexing(written, numpy_index):
    w = np.random.default_rng(1).uniform(-1, 1, X[numpy_index].shape)
    v, g = _grad(f"{{op: index, args: [x], index: {written}}}", str(X.tolist()),
                 weights=str(w.tolist()))
    np.testing.assert_array_equal(v, X[numpy_index])
    expected = np.zeros_like(X)
    expected[numpy_index] = w  # the cotangent back at the places it was taken from
    np.testing.assert_array_equal(g, expected)


def test_expressions_index_through_the_index_op():
    """x[0], x[:, 1:3] in an expression (frontend/blocks.py) are the index op with these entries."""
    text = (f"graphrun: 1\nparams:\n  x: {X.tolist()}\nnodes:\n  a: x[0]\n  b: x[:, 1:3]\n"
            "  c: x[-1, ::2, 3]\n  L: sum(a) + sum(b) + sum(c)\nloss: L\n")
    results = run_text(text)
    for name, expected in (("a", X[0]), ("b", X[:, 1:3]), ("c", X[-1, ::2, 3])):
        np.testing.assert_array_equal(results.values[name], expected)
    steps = {s.name: s for s in results.program.steps}
    assert steps["b"].op.name == "index" and dict(steps["b"].attrs)["index"] == (":", "1:3")
    counts = np.zeros_like(X)
    counts[0] += 1
    counts[:, 1:3] += 1
    counts[-1, ::2, 3] += 1
    np.testing.assert_array_equal(results.grads["x"], counts)


def test_slice_is_index_with_numbers():
    a, _ = _grad("{op: slice, args: [x], slices: [[1, null], null, [null, null, -1]]}",
                 str(X.tolist()))
    np.testing.assert_array_equal(a, X[1:, :, ::-1])
    b, _ = _grad("{op: index, args: [x], index: [\"1:\", \":\", \"::-1\"]}", str(X.tolist()))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("index,words", [
    ("[0, 0, 0, 0]", "indexes 4 axes of a 3-D argument"), ("[5]", "index 5 is out of range"),
    ("[\"3:1\"]", "'3:1' selects nothing along axis 0"), ("[\"a:b\"]", "is not an index entry"),
    ("[\"...\", \"...\"]", "more than one '...'"), ("[\"::0\"]", "a slice step of 0"),
])
def test_index_errors_are_found_before_running(index, words):
    (message,) = _error(f"graphrun: 1\nparams: {{x: {X.tolist()}}}\nnodes:\n"
                        f"  y: {{op: index, args: [x], index: {index}}}\n")
    assert words in message, message


def test_take_scatter_adds_repeated_indices():
    v, g = _run("  x: [10.0, 20.0, 30.0]\n", "  t: {op: take, args: [x, i]}\n"
                "  L: {op: sum, args: [t]}\n", inputs="  i: {value: [1, 1, -1, 1], dtype: int64}\n")
    assert v["t"].tolist() == [20.0, 20.0, 30.0, 20.0]
    assert g["x"].tolist() == [0.0, 3.0, 1.0]  # three uses of element 1 add up
    v, g = _run("  x: [[1.0, 2.0], [3.0, 4.0]]\n", "  t: {op: take, args: [x, i], axis: 1}\n"
                "  L: {op: sum, args: [t]}\n", inputs="  i: {value: [[0, 0]], dtype: int64}\n")
    assert v["t"].tolist() == [[[1.0, 1.0]], [[3.0, 3.0]]] and g["x"].tolist() == [[2.0, 0.0],
                                                                                   [2.0, 0.0]]


def test_take_along_axis_picks_per_row_and_accumulates():
    v, g = _run("  x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]\n",
                "  t: {op: take_along_axis, args: [x, i], axis: 1}\n  L: {op: sum, args: [t]}\n",
                inputs="  i: {value: [[2, 2], [0, 1]], dtype: int64}\n")
    assert v["t"].tolist() == [[3.0, 3.0], [4.0, 5.0]]
    assert g["x"].tolist() == [[0.0, 0.0, 2.0], [1.0, 1.0, 0.0]]
    assert "take_along_axis needs indices with as many axes as x" in _error(
        "graphrun: 1\ninputs: {i: {value: [1, 0], dtype: int64}}\nparams: {x: [[1.0, 2.0]]}\n"
        "nodes:\n  t: {op: take_along_axis, args: [x, i], axis: 1}\n")[0]


def test_one_hot_and_its_label_range():
    v, _ = _run("  w: 1.0\n", "  o: {op: one_hot, args: [y], classes: 3}\n"
                "  L: {op: mul, args: [w, w]}\n", inputs="  y: {value: [2, 0], dtype: int64}\n")
    assert v["o"].dtype == np.float64 and v["o"].tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(GraphError, match="label 3 at index \\[1\\] is out of range for 3"):
        _run("  w: 1.0\n", "  o: {op: one_hot, args: [y], classes: 3}\n"
             "  L: {op: mul, args: [w, w]}\n", inputs="  y: {value: [2, 3], dtype: int64}\n")


# ---------------------------------------------------------------------------------------------
# losses

def test_the_issues_silent_wrong_answer_is_an_error_and_squeeze_gives_the_intended_mse():
    text = ("graphrun: 1\ninputs: {t: [1.0, 2.0, 2.0]}\nparams: {p: [[2.0], [3.0], [4.0]]}\n"
            "nodes:\n  L: {op: mse, args: [p, t]}\nloss: L\n")
    (message,) = _error(text)
    assert "mse compares pred (3,1) with target (3,)" in message and "squeeze" in message
    fixed = text.replace("  L: {op: mse, args: [p, t]}",
                         "  q: {op: squeeze, args: [p], axis: 1}\n  L: {op: mse, args: [q, t]}")
    # (1 + 1 + 4) / 3; broadcasting would have printed 24 / 9 = 2.6666666666666665
    assert run_text(fixed).loss == 2.0
    # a number literal target is one value for every element
    v, g = _grad("{op: mse, args: [x, 0.5]}", "[1.0, 2.0]")
    assert float(v) == 1.25 and g.tolist() == [0.5, 1.5]


def test_l1_loss_and_huber_at_their_kinks():
    _, g = _run("  p: [1.0, 2.0, 0.0]\n", "  L: {op: l1_loss, args: [p, t]}\n",
                inputs="  t: [1.0, 0.0, 3.0]\n")
    assert g["p"].tolist() == [0.0, 1 / 3, -1 / 3]  # 0 at a tie
    v, g = _run("  p: [0.5, 1.0, 3.0, -3.0]\n", "  L: {op: huber, args: [p, t]}\n",
                inputs="  t: [0.0, 0.0, 0.0, 0.0]\n")
    # 0.5 d^2 inside, delta (|d| - delta/2) outside; at |d| = delta both are 0.5
    assert float(v["L"]) == pytest.approx((0.125 + 0.5 + 2.5 + 2.5) / 4, rel=1e-15)
    assert g["p"].tolist() == [0.125, 0.25, 0.25, -0.25]
    assert "huber: delta must be positive" in _error(
        "graphrun: 1\nparams: {p: 1.0, t: 2.0}\nnodes:\n  L: {op: huber, args: [p, t], "
        "delta: 0}\n")[0]


def test_binary_cross_entropy_with_logits_is_exact_at_1000():
    v, g = _run("  z: [1000.0, -1000.0, 0.0, 1000.0]\n",
                "  L: {op: binary_cross_entropy_with_logits, args: [z, t]}\n",
                inputs="  t: [0.0, 1.0, 1.0, 1.0]\n")
    # -log(1 - sigmoid(1000)) = 1000, -log(sigmoid(-1000)) = 1000, log 2, 0
    assert float(v["L"]) == pytest.approx((2000 + math.log(2)) / 4, rel=1e-15)
    assert g["z"].tolist() == [0.25, -0.25, -0.125, 0.0]


def test_binary_cross_entropy_clamps_its_logs_at_minus_100_as_torch():
    v, g = _run("  p: [0.0, 1.0, 0.25]\n", "  L: {op: binary_cross_entropy, args: [p, t]}\n",
                inputs="  t: [1.0, 0.0, 1.0]\n")
    assert float(v["L"]) == pytest.approx((100 + 100 - math.log(0.25)) / 3, rel=1e-15)
    # (p - t) / max(p (1 - p), 1e-12) / n, PyTorch's floor (a float32 1e-12)
    eps = float(np.float32(1e-12))
    np.testing.assert_allclose(g["p"], [-1 / eps / 3, 1 / eps / 3, (0.25 - 1) / (0.25 * 0.75) / 3],
                               rtol=1e-15)
    with pytest.raises(GraphError, match="probabilities in \\[0, 1\\]; found 1.5"):
        _run("  p: [0.5, 1.5]\n", "  L: {op: binary_cross_entropy, args: [p, t]}\n",
             inputs="  t: [1.0, 0.0]\n")


def test_nll_loss_of_log_softmax_is_cross_entropy_and_accuracy_has_no_gradient():
    inputs = "  y: {value: [2, 0, 1], dtype: int64}\n"
    params = "  x: [[0.5, -1.0, 2.0], [0.0, 0.0, 1.0], [3.0, 1.0, 1.0]]\n"
    v, g = _run(params, "  lp: {op: log_softmax, args: [x]}\n  L: {op: nll_loss, args: [lp, y]}\n"
                "  acc: {op: accuracy, args: [x, y]}\n", inputs=inputs)
    v2, g2 = _run(params, "  L: {op: cross_entropy, args: [x, y]}\n", inputs=inputs)
    assert float(v["L"]) == pytest.approx(float(v2["L"]), rel=1e-15)
    np.testing.assert_allclose(g["x"], g2["x"], rtol=1e-15, atol=1e-17)
    assert float(v["acc"]) == 1 / 3 and "acc" not in g  # row 0 only: argmax 2 == label 2


def test_class_losses_refuse_labels_of_shape_n_1():
    (message,) = _error("graphrun: 1\ninputs: {y: {value: [[0], [1]], dtype: int64}}\nparams: "
                        "{x: [[1.0, 2.0], [3.0, 4.0]]}\nnodes:\n  L: {op: nll_loss, args: [x, y]}\n")
    assert "labels of shape (2,); found (2,1)" in message and "squeeze" in message


# ---------------------------------------------------------------------------------------------
# layers

def test_layer_norm_normalises_the_last_axes_and_applies_weight_and_bias():
    x = np.array([[1.0, 2.0, 3.0, 6.0], [-1.0, 0.0, 0.0, 5.0]])
    v, g = _run(f"  x: {x.tolist()}\n  w: [1.0, 2.0, 0.5, -1.0]\n  b: [0.0, 1.0, 0.0, 0.0]\n",
                "  y: {op: layer_norm, args: [x, w, b], eps: 0.0001}\n  L: {op: sum, args: [y]}\n")
    mean = x.mean(axis=1, keepdims=True)
    y = (x - mean) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-4)  # biased variance
    np.testing.assert_allclose(v["y"], y * [1.0, 2.0, 0.5, -1.0] + [0.0, 1.0, 0.0, 0.0],
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(g["w"], y.sum(axis=0), rtol=1e-14, atol=1e-14)
    assert g["b"].tolist() == [2.0, 2.0, 2.0, 2.0]
    assert "layer_norm normalises over the last axes" in _error(
        f"graphrun: 1\nparams: {{x: {x.tolist()}}}\nnodes:\n"
        "  y: {op: layer_norm, args: [x], axis: 0}\n")[0]


def test_dropout_is_the_identity_unless_training_and_deterministic_for_a_seed():
    x = "[" + ", ".join(["1.0"] * 1000) + "]"
    v, g = _grad("{op: dropout, args: [x], p: 0.25}", x)
    assert (v == 1.0).all() and (g == 1.0).all()
    v, g = _grad("{op: dropout, args: [x], p: 0.25, training: true, seed: 4}", x)
    kept = v != 0
    assert set(np.unique(v)) == {0.0, 4 / 3} and 0.2 < 1 - kept.mean() < 0.3
    np.testing.assert_array_equal(g, np.where(kept, 4 / 3, 0.0))  # the forward's own mask
    again, _ = _grad("{op: dropout, args: [x], p: 0.25, training: true, seed: 4}", x)
    other, _ = _grad("{op: dropout, args: [x], p: 0.25, training: true, seed: 5}", x)
    np.testing.assert_array_equal(again, v)
    assert (other != v).any()
    v, g = _grad("{op: dropout, args: [x], p: 1, training: true}", "[1.0, 2.0]")
    assert v.tolist() == [0.0, 0.0] and g.tolist() == [0.0, 0.0]


def _conv_by_loops(x, w, b, stride, padding, G):
    """y = conv2d(x, w, b) and the gradients of sum(G * y), one multiply-add at a time."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    y, dxp, dw, db = np.zeros((n, o, oh, ow)), np.zeros_like(xp), np.zeros_like(w), np.zeros(o)
    for i in range(n):
        for j in range(o):
            for r in range(oh):
                for s in range(ow):
                    rows, cols = slice(r * stride, r * stride + kh), slice(s * stride,
                                                                          s * stride + kw)
                    y[i, j, r, s] = np.sum(xp[i, :, rows, cols] * w[j]) + b[j]
                    dxp[i, :, rows, cols] += G[i, j, r, s] * w[j]
                    dw[j] += G[i, j, r, s] * xp[i, :, rows, cols]
                    db[j] += G[i, j, r, s]
    return y, dxp[:, :, padding:padding + h, padding:padding + wd], dw, db


def test_conv2d_is_the_cross_correlation_written_as_loops():
    rng = np.random.default_rng(7)
    x, w, b = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    for stride, padding in ((1, 0), (2, 1)):
        oh, ow = (6 + 2 * padding - 3) // stride + 1, (5 + 2 * padding - 2) // stride + 1
        G = rng.uniform(-1, 1, (2, 4, oh, ow))
        v, g = _run(f"  x: {x.tolist()}\n  w: {w.tolist()}\n  b: {b.tolist()}\n",
                    f"  y: {{op: conv2d, args: [x, w, b], stride: {stride}, padding: {padding}}}\n"
                    "  Gy: {op: mul, args: [y, G]}\n  L: {op: sum, args: [Gy]}\n",
                    inputs=f"  G: {G.tolist()}\n")
        y, dx, dw, db = _conv_by_loops(x, w, b, stride, padding, G)
        for got, want in ((v["y"], y), (g["x"], dx), (g["w"], dw), (g["b"], db)):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_max_pool2d_sends_a_windows_gradient_to_its_first_largest_element():
    v, g = _grad("{op: max_pool2d, args: [x], kernel: 2}",
                 "[[[[1.0, 3.0, 2.0, 2.0], [3.0, 0.0, 2.0, 2.0]]]]")
    assert v.tolist() == [[[[3.0, 2.0]]]]
    assert g.tolist() == [[[[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]  # first, row-major
    v, g = _grad("{op: max_pool2d, args: [x], kernel: 2, stride: 1}",
                 "[[[[1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]]]")
    assert v.tolist() == [[[[5.0, 5.0]]]] and g.tolist() == [[[[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]]]]


def test_avg_pool2d_spreads_the_gradient_over_each_window():
    v, g = _grad("{op: avg_pool2d, args: [x], kernel: [1, 2], stride: 1}",
                 "[[[[1.0, 3.0, 5.0]]]]")
    assert v.tolist() == [[[[2.0, 4.0]]]] and g.tolist() == [[[[0.5, 1.0, 0.5]]]]


def test_conv2d_and_pool_shape_errors():
    head = "graphrun: 1\nparams:\n  x: {init: zeros, shape: [1, 2, 4, 4]}\n"
    assert "a 5x5 kernel does not fit in 4x4" in _error(
        head + "  w: {init: zeros, shape: [3, 2, 5, 5]}\nnodes:\n"
        "  y: {op: conv2d, args: [x, w]}\n")[0]
    assert "conv2d: stride must be positive; found [0, 0]" in _error(
        head + "  w: {init: zeros, shape: [3, 2, 3, 3]}\nnodes:\n"
        "  y: {op: conv2d, args: [x, w], stride: 0}\n")[0]
    assert "the bias must have one value per output channel, (3,); found (2,)" in _error(
        head + "  w: {init: zeros, shape: [3, 2, 3, 3]}\n  b: [0.0, 0.0]\nnodes:\n"
        "  y: {op: conv2d, args: [x, w, b]}\n")[0]
    assert "max_pool2d expects an input of shape (N, C, H, W); found (2,)" in _error(
        "graphrun: 1\nparams: {v: [1.0, 2.0]}\nnodes:\n  y: {op: max_pool2d, args: [v], "
        "kernel: 2}\n")[0]
    assert "layer_norm takes 1 to 3 arguments; found 4" in _error(
        "graphrun: 1\nparams: {v: [1.0, 2.0]}\nnodes:\n  y: {op: layer_norm, args: [v, v, v, v]}\n")[0]
