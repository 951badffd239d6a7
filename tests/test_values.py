"""Every value kind of format v1 (docs/format.md), and the dtype rules: numbers and nested lists,
{value, dtype}, {init, ...} with numpy's default_rng, {file: .npy} and .npz with a key; int64 only
where an op takes it (labels), float32 end to end, number literals as constants."""


import numpy as np
import pytest
import yaml

from conftest import call, compile_text, run_text
from graphrun.errors import GraphError


def run_file(tmp_path, text, name="g.yaml"):
    """Write a graph next to its data files and run it through the CLI: (exit code, out, err)."""
    path = tmp_path / name
    path.write_text(text)
    return call(str(path))


def leaf(results, name):
    return results.values[name]


def one_leaf(value_text, section="params"):
    """Run a graph whose only leaf is `p` written as `value_text`; returns (results, p's value)."""
    results = run_text(f"graphrun: 1\n{section}:\n  p: {value_text}\nnodes:\n"
                       "  s: {op: sum, args: [p]}\n" + ("loss: s\n" if section == "params" else ""))
    return results, leaf(results, "p")


def error_of(tmp_path, text):
    code, out, err = run_file(tmp_path, text)
    assert code == 2 and out == ""
    return err


# ---------------------------------------------------------------------------------------------
# numbers, lists, {value, dtype}

def test_a_number_is_a_float64_scalar():
    _, p = one_leaf("2")
    assert np.asarray(p).dtype == np.float64 and np.shape(p) == () and float(p) == 2.0


def test_a_nested_list_is_a_float64_tensor():
    _, p = one_leaf("[[1, 2.5, 3], [4, 5, -6e-1]]")
    assert p.dtype == np.float64
    np.testing.assert_array_equal(p, [[1, 2.5, 3], [4, 5, -0.6]])


def test_value_with_dtype_float32():
    _, p = one_leaf("{value: [0.1, 2], dtype: float32}")
    assert p.dtype == np.float32 and p.tolist() == [np.float32(0.1), 2.0]


def test_value_with_dtype_int64_for_labels():
    results = run_text("graphrun: 1\ninputs:\n  y: {value: [2, 0], dtype: int64}\n"
                       "params:\n  x: [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]\n"
                       "nodes:\n  L: {op: cross_entropy, args: [x, y]}\nloss: L\n")
    y = leaf(results, "y")
    assert y.dtype == np.int64 and y.tolist() == [2, 0]




@pytest.mark.parametrize("section,value,message", [
    ("params", "[[1, 2], [3]]", "ragged tensor"),
    ("inputs", "{value: [1, 2.5], dtype: int64}",
     "expected an integer for dtype int64; found number 2.5"),
    ("params", "{value: [1.0e39], dtype: float32}", "too large for float32"),
    ("params", "{init: normal, shape: [2], fill: 1}", "'fill' is for init: full"),
    ("params", "{init: full, shape: [2]}", "init: full needs a 'fill' value"),
    ("params", "{init: uniform, shape: [2], low: 2, high: 1}", "init: uniform needs low <= high"),
])
def test_a_bad_value_is_an_error_at_its_line(tmp_path, section, value, message):
    err = error_of(tmp_path, f"graphrun: 1\n{section}:\n  p: {value}\n"
                             "nodes:\n  s: {op: sum, args: [p]}\n")
    assert ":3:" in err and message in err, err


# ---------------------------------------------------------------------------------------------
# init: numpy's default_rng(seed), documented in docs/format.md

@pytest.mark.parametrize("text,expected", [
    ("{init: zeros, shape: [2, 3]}", lambda: np.zeros((2, 3))),
    ("{init: ones, shape: [4]}", lambda: np.ones(4)),
    ("{init: full, shape: [2], fill: 0.25}", lambda: np.full(2, 0.25)),
    ("{init: normal, shape: [3, 2], seed: 7}",
     lambda: np.random.default_rng(7).normal(0.0, 1.0, (3, 2))),
    ("{init: normal, shape: [5], seed: 3, mean: 1.5, std: 0.1}",
     lambda: np.random.default_rng(3).normal(1.5, 0.1, (5,))),
    ("{init: normal, shape: [2, 2]}",  # seed 0 when none is given
     lambda: np.random.default_rng(0).normal(0.0, 1.0, (2, 2))),
    ("{init: uniform, shape: [4], seed: 11, low: -2, high: 3}",
     lambda: np.random.default_rng(11).uniform(-2.0, 3.0, (4,))),
    ("{init: uniform, shape: [3]}", lambda: np.random.default_rng(0).uniform(0.0, 1.0, (3,))),
])
def test_init_is_numpys_default_rng(text, expected):
    _, p = one_leaf(text)
    assert p.dtype == np.float64
    np.testing.assert_array_equal(p, expected())


def test_init_numbers_are_pinned_across_machines_and_numpy_versions():
    # default_rng is PCG64 seeded through SeedSequence; numpy (NEP 19) may still change a
    # Generator's streams between versions, so these published digits (numpy's own documentation
    # shows default_rng(42)'s first draws) catch any such change before a golden file does
    _, p = one_leaf("{init: uniform, shape: [2], seed: 42}")
    assert p.tolist() == [0.7739560485559633, 0.4388784397520523]
    _, p = one_leaf("{init: normal, shape: [2], seed: 42}")
    assert p.tolist() == [0.30471707975443135, -1.0399841062404955]


def test_init_float32_is_the_float64_draw_rounded():
    _, p = one_leaf("{init: normal, shape: [3], seed: 5, dtype: float32}")
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p, np.random.default_rng(5).normal(0, 1, 3).astype(np.float32))


def test_init_same_seed_same_numbers_different_seed_different_numbers():
    _, a = one_leaf("{init: normal, shape: [4], seed: 1}")
    _, b = one_leaf("{init: normal, shape: [4], seed: 1}")
    _, c = one_leaf("{init: normal, shape: [4], seed: 2}")
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()


# ---------------------------------------------------------------------------------------------
# files

def test_npy_file_relative_to_the_graph_file(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "x.npy", np.arange(6.0).reshape(2, 3))
    monkeypatch.chdir("/")  # the working folder does not matter
    code, out, err = run_file(tmp_path, "graphrun: 1\nparams:\n  p: {file: data/x.npy}\nnodes:\n"
                                        "  s: {op: sum, args: [p]}\nloss: s\n")
    assert (code, err) == (0, "")
    doc = yaml.safe_load(out)
    assert doc["loss"] == 15.0 and doc["gradients"]["p"] == [[1.0] * 3] * 2


def test_npy_float32_file_keeps_float32(tmp_path):
    np.save(tmp_path / "x.npy", np.array([0.1, 0.2], dtype=np.float32))
    code, out, _ = run_file(tmp_path, "graphrun: 1\nparams:\n  p: {file: x.npy}\nnodes:\n"
                                      "  s: {op: sum, args: [p]}\nloss: s\n")
    doc = yaml.safe_load(out)
    assert code == 0 and doc["dtype"] == "float32"
    assert np.float32(doc["loss"]) == np.float32(0.1) + np.float32(0.2)


@pytest.mark.parametrize("stored", [np.int64, np.int32, np.uint8])
def test_integer_npy_file_is_int64_labels(tmp_path, stored):
    np.save(tmp_path / "y.npy", np.array([2, 0], dtype=stored))
    code, out, err = run_file(tmp_path, "graphrun: 1\ninputs:\n  y: {file: y.npy}\nparams:\n"
                                        "  x: [[1.0, 2.0, 3.0], [0.5, 0.0, 0.0]]\nnodes:\n"
                                        "  L: {op: cross_entropy, args: [x, y]}\nloss: L\n")
    assert (code, err) == (0, "")
    x = np.array([[1.0, 2.0, 3.0], [0.5, 0.0, 0.0]])
    logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    assert yaml.safe_load(out)["loss"] == pytest.approx(-(logp[0, 2] + logp[1, 0]) / 2, rel=1e-15)


def test_npz_member_by_key(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.full((2, 2), 3.0), y=np.array([1, 0]))
    code, out, err = run_file(tmp_path, "graphrun: 1\nparams:\n  p: {file: d.npz, key: X}\n"
                                        "nodes:\n  s: {op: sum, args: [p]}\nloss: s\n")
    assert (code, err) == (0, "") and yaml.safe_load(out)["loss"] == 12.0


def test_file_dtype_override(tmp_path):
    np.save(tmp_path / "x.npy", np.array([0.1, 0.2]))
    code, out, _ = run_file(tmp_path, "graphrun: 1\nparams:\n  p: {file: x.npy, dtype: float32}\n"
                                      "nodes:\n  s: {op: sum, args: [p]}\nloss: s\n")
    assert code == 0 and yaml.safe_load(out)["dtype"] == "float32"


FILE_GRAPH = ("graphrun: 1\ninputs:\n  y: {value: [0, 1], dtype: int64}\nparams:\n"
              "  p: {file: %s}\nnodes:\n  s: {op: sum, args: [p]}\nloss: s\n")


@pytest.mark.parametrize("make,entry,message", [
    (None, "missing.npy", "no such file: missing.npy"),
    (lambda d: np.save(d / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True),
     "o.npy", "it holds Python objects, which are never loaded"),
    (lambda d: (d / "p.npy").write_bytes(b"\x80\x04\x95 a pickle, not an array"),
     "p.npy", "cannot read p.npy as a numpy array file"),
    (lambda d: (d / "t.npy").write_bytes(b"\x93NUMPY\x01"), "t.npy",
     "cannot read t.npy as a numpy array file"),
    (lambda d: np.save(d / "c.npy", np.zeros(2, complex)), "c.npy", "holds complex128 data"),
    (lambda d: np.save(d / "e.npy", np.zeros((0, 2))), "e.npy", "empty array"),
    (lambda d: np.save(d / "i.npy", np.array([1, 2])), "i.npy",
     "a param is differentiated, so it must be float64 or float32; found int64"),
    (lambda d: np.savez(d / "z.npz", a=np.ones(2)), "z.npz", "say which array with 'key'"),
    (lambda d: np.savez(d / "z.npz", a=np.ones(2)), "z.npz, key: b", "has no array named 'b'"),
    (lambda d: (d / "bad.npz").write_bytes(b"not a zip"), "bad.npz, key: a",
     "cannot read bad.npz"),
])
def test_file_problems_are_errors_at_the_line(tmp_path, make, entry, message):
    if make:
        make(tmp_path)
    err = error_of(tmp_path, FILE_GRAPH % entry)
    assert err.startswith(f"{tmp_path / 'g.yaml'}:5:") and message in err, err
    assert "Traceback" not in err


def test_float_file_cannot_become_int64_labels(tmp_path):
    np.save(tmp_path / "y.npy", np.array([0.5, 1.0]))
    err = error_of(tmp_path, "graphrun: 1\ninputs:\n  y: {file: y.npy, dtype: int64}\n"
                             "nodes:\n  s: {op: sum, args: [y]}\n")
    assert ":3:" in err and "would cut off its fractions" in err


@pytest.mark.parametrize("data", [np.array(["ab", "c"]), np.array([1 + 2j, 3]),
                                  np.array([True, False])], ids=["strings", "complex", "bool"])
def test_a_dtype_never_converts_data_graphrun_does_not_read(tmp_path, data):
    # with `dtype:` the stored kind is still checked: no crash at run time, no silent loss of
    # an imaginary part
    np.save(tmp_path / "d.npy", data)
    err = error_of(tmp_path, "graphrun: 1\ninputs:\n  d: {file: d.npy, dtype: float64}\n"
                             "nodes:\n  s: {op: sum, args: [d]}\n")
    assert ":3:" in err and f"holds {data.dtype} data" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# int64 only where an op takes it

def test_int64_param_is_an_error_at_its_line(tmp_path):
    err = error_of(tmp_path, "graphrun: 1\nparams:\n  w: 1.0\n  p: {value: [1, 2], dtype: int64}\n"
                             "nodes:\n  s: {op: sum, args: [p]}\n  L: {op: mul, args: [s, w]}\n"
                             "loss: L\n")
    assert f"{tmp_path / 'g.yaml'}:4:" in err
    assert "a param is differentiated, so it must be float64 or float32; found int64" in err
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize("op", ["exp", "sum", "relu", "softmax"])
def test_int64_input_to_a_float_op_is_an_error_at_the_argument(tmp_path, op):
    err = error_of(tmp_path, "graphrun: 1\ninputs:\n  y: {value: [1, 2], dtype: int64}\n"
                             f"nodes:\n  s: {{op: {op}, args: [y]}}\n")
    assert ":5:" in err and f"{op} takes floating-point arguments; argument 1 is int64" in err


def test_labels_are_never_differentiated():
    results = run_text("graphrun: 1\ninputs:\n  y: {value: [1], dtype: int64}\n"
                       "params:\n  x: [[0.0, 1.0]]\nnodes:\n"
                       "  L: {op: cross_entropy, args: [x, y]}\nloss: L\n")
    assert "y" not in results.grads
    assert "y:" not in results.text().split("gradients:")[1]


def test_labels_out_of_range_are_an_error(tmp_path):
    err = error_of(tmp_path, "graphrun: 1\ninputs:\n  y: {value: [0, 3], dtype: int64}\n"
                             "params:\n  x: [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]\nnodes:\n"
                             "  L: {op: cross_entropy, args: [x, y]}\nloss: L\n")
    assert "label 3 at index 1 is out of range for 3 classes (expected 0..2)" in err


# ---------------------------------------------------------------------------------------------
# float32 end to end

FLOAT32_GRAPH = """
graphrun: 1
inputs:
  y: {value: [1, 0], dtype: int64}
  t: {value: [[0.5, 1.0, 2.0], [1.0, 1.5, 0.25]], dtype: float32}
params:
  x: {value: [[0.5, 1.0, 2.0], [1.0, 1.5, 0.25]], dtype: float32}
  w: {init: normal, shape: [3, 3], seed: 1, dtype: float32}
nodes:
  a: {op: pow, args: [x, 0.5]}
  b: {op: pow, args: [2, x]}
  c: {op: div, args: [1, x]}
  d: {op: sub, args: [0.5, x]}
  e: {op: maximum, args: [x, 1.0]}
  f: {op: mul, args: [x, 0.1]}
  g: {op: matmul, args: [x, w]}
  h: {op: cross_entropy, args: [g, y]}
  i: {op: mse, args: [x, 0.3]}
  j: {op: mse, args: [x, t]}
  k: {op: softplus, args: [x]}
  l: {op: sigmoid, args: [e]}
  m: {op: log_softmax, args: [d]}
  n: {op: logsumexp, args: [c]}
  o: {op: max, args: [f], axis: 1}
  q: {op: concat, args: [a, b], axis: 0}
  r: {op: transpose, args: [q]}
  s: {op: reshape, args: [r], shape: [-1]}
  u: {op: mean, args: [s]}
  parts: {op: concat, args: [k, l, m]}
  total: {op: sum, args: [parts]}
  t1: {op: add, args: [total, h]}
  t2: {op: add, args: [t1, i]}
  t3: {op: add, args: [t2, j]}
  t4: {op: add, args: [t3, n]}
  t5: {op: add, args: [t4, u]}
  om: {op: sum, args: [o]}
  L: {op: add, args: [t5, om]}
loss: L
"""


def test_float32_graph_computes_in_float32_end_to_end(monkeypatch):
    """Every value and every gradient is float32, and so is every intermediate cotangent: each VJP
    result is checked as the executor receives it (a float64 one would promote what follows)."""
    from graphrun.ops import Op
    original = Op.vjp
    promoted, seen = [], []

    def checked(self, i):
        vjp = original(self, i)
        if vjp is None:
            return None

        def wrapper(g, ans, *args, **attrs):
            c = vjp(g, ans, *args, **attrs)
            seen.append(self.name)
            if np.asarray(c).dtype != np.float32:
                promoted.append((self.name, i, np.asarray(c).dtype))
            return c
        return wrapper

    monkeypatch.setattr(Op, "vjp", checked)
    results = run_text(FLOAT32_GRAPH)
    p = results.program
    for slot, name in enumerate(p.names):
        if p.kinds[slot] in ("param", "node"):
            assert results.values[name].dtype == np.float32, name
            assert results.grads[name].dtype == np.float32, name
    assert promoted == []
    assert {"pow", "div", "matmul", "cross_entropy", "mse", "softplus", "concat"} <= set(seen)


def test_float32_results_say_so():
    text = run_text(FLOAT32_GRAPH).text()
    doc = yaml.safe_load(text)
    assert doc["dtype"] == "float32"
    assert list(doc)[:3] == ["graphrun", "graph", "dtype"]
    # float32 numbers are written in float32's shortest form, and read back exactly
    value = doc["values"]["f"]
    assert np.float32(value[0][0]) == np.float32(0.5) * np.float32(0.1)
    assert str(value[0][0]) == str(np.float32(0.5) * np.float32(0.1))


def test_float64_results_have_no_dtype_key():
    text = run_text("graphrun: 1\nparams: {x: 2}\nnodes:\n"
                                 "  L: {op: square, args: [x]}\nloss: L\n").text()
    assert "dtype" not in yaml.safe_load(text)


def test_float32_meeting_float64_is_mixed():
    text = run_text("graphrun: 1\nparams:\n  x: {value: 2, dtype: float32}\n"
                                 "  w: 3.0\nnodes:\n  a: {op: square, args: [x]}\n"
                                 "  L: {op: mul, args: [a, w]}\nloss: L\n").text()
    doc = yaml.safe_load(text)
    assert doc["dtype"] == "mixed" and doc["loss"] == 12.0


# ---------------------------------------------------------------------------------------------
# number literals are constants

def test_number_literals_are_constants_without_gradients():
    results = run_text("graphrun: 1\nparams:\n  v: [1.0, -2.0]\nnodes:\n"
                       "  a: {op: mul, args: [v, 0.5]}\n  b: {op: sub, args: [3, a]}\n"
                       "  c: {op: pow, args: [b, 2]}\n  L: {op: sum, args: [c]}\nloss: L\n")
    p = results.program
    assert [k for k in p.kinds if k == "const"] == ["const"] * 3
    assert all(results.slot_grads[s] is None for s, k in enumerate(p.kinds) if k == "const")
    # L = sum((3 - v/2)^2): dL/dv = -(3 - v/2)
    np.testing.assert_array_equal(results.grads["v"], [-2.5, -4.0])
    doc = yaml.safe_load(results.text())
    assert set(doc["gradients"]) == {"v", "a", "b", "c", "L"}


def test_number_literals_take_the_other_arguments_dtype():
    results = run_text("graphrun: 1\nparams:\n  v: {value: [1.0, 3.0], dtype: float32}\nnodes:\n"
                       "  a: {op: mul, args: [v, 0.1]}\n  b: {op: maximum, args: [a, 0.2]}\n"
                       "  L: {op: sum, args: [b]}\nloss: L\n")
    b = leaf(results, "b")
    assert b.dtype == np.float32
    assert b.tolist() == [np.float32(0.2), np.float32(3.0) * np.float32(0.1)]


@pytest.mark.parametrize("written, path", [
    ("[[1, 2], [3, 4], [5, 6, 7]]", (2,)),
    ("[[[1, 2], [3, 4]], [[5, 6], [7]]]", (1, 1)),
    ("[[[1, 2], [3, 4]], [[5, 6], 8]]", (1, 1)),
    ("[[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12, 13]]]", (1, 2)),
    ("[[[1], [2]], [[3], [4]], [[5], [6, 7]]]", (2, 1)),
    ("[1, [2]]", (0,)),  # a number among lists: the number is the misfit
    ("[[1, 2], [3, 4], 5, [6, 7]]", (2,)),
    ("[[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]], [[13, 14], [15]]]", (3, 1)),
    ("[[1, 2], [3, 4], [5, 6], [7], [8, 9, 10]]", (3,)),  # the first of two misfits
])
def test_a_ragged_tensor_is_located_at_its_first_misfit(written, path):
    # the spec walks a nested list a level at a time, making the path of the misfit from its
    # place in its level (spec._index): it must be the item's own path
    with pytest.raises(GraphError) as e:
        compile_text(f"graphrun: 1\ninputs:\n  x: {written}\nnodes:\n  y: {{op: neg, args: [x]}}\n")
    assert [p.path for p in e.value.problems] == [("inputs", "x") + path]


@pytest.mark.parametrize("written, path, found", [
    ("{value: 2.5, dtype: int64}", (), "number 2.5"),
    ("{value: [[1, 2], [3, 2.5], [4.5, 5]], dtype: int64}", (1, 1), "number 2.5"),
    ("{value: [[[1, 2]], [[3, 4]], [[5, 6.0]]], dtype: int64}", (2, 0, 1), "number 6.0"),
])
def test_a_non_integer_in_an_int64_tensor_is_the_first_one_at_its_place(written, path, found):
    with pytest.raises(GraphError) as e:
        compile_text(f"graphrun: 1\ninputs:\n  x: {written}\nnodes:\n  y: {{op: neg, args: [x]}}\n")
    assert [(p.path, found in p.message) for p in e.value.problems] == \
        [(("inputs", "x", "value") + path, True)]


@pytest.mark.parametrize("written, path, found", [
    ("{value: -1e39, dtype: float32}", (), "number -1e+39"),
    ("{value: [1.0, 1e39], dtype: float32}", (1,), "number 1e+39"),
    ("{value: [[1.0, 2], [3, -5e38], [4e38, 1]], dtype: float32}", (1, 1), "number -5e+38"),
])
def test_a_number_beyond_float32_is_named_at_its_place(written, path, found):
    with pytest.raises(GraphError) as e:
        compile_text(f"graphrun: 1\nparams:\n  x: {written}\nnodes:\n  y: {{op: neg, args: [x]}}\n")
    assert [(p.path, p.message) for p in e.value.problems] == \
        [(("params", "x", "value") + path, f"{found} is too large for float32 (beyond 3.4e38)")]


@pytest.mark.parametrize("written", ["3", "-2.5", "[1, 2.5]", "[[1, 2], [3, 4]]", "[[[1e300]]]",
                                     "[[0.1, 0.2, 0.3], [1, 2, 3]]", "{value: [7, -8], dtype: int64}",
                                     "{value: [[0.1, 3]], dtype: float32}",
                                     "{value: 9, dtype: int64}"])
def test_a_tensor_written_in_the_file_is_numpys_array_of_it(written):
    data = yaml.safe_load(f"x: {written}")["x"]
    value, dtype = (data["value"], data["dtype"]) if isinstance(data, dict) else (data, "float64")
    graph = compile_text(f"graphrun: 1\ninputs:\n  x: {written}\n  z: 1.5\n"
                         "nodes:\n  y: {op: neg, args: [z]}\n")
    array = graph.leaf_values()[graph.program.slot("x")]
    expected = np.array(value, dtype=dtype)
    assert array.dtype == expected.dtype and array.shape == expected.shape
    assert array.tobytes() == expected.tobytes() and array.flags.c_contiguous


@pytest.mark.parametrize("written, words", [
    ("[3, [1, 2]]", "expected a list of 2 here, like its neighbours; found a number"),
    ("[[1, 2, 3], 4, [5, 6, 7]]", "expected a list of 3 here, like its neighbours; found a number"),
    ("[[1, 2], [3, 4], [5]]", "expected a list of 2 items, like the first one at this depth; "
                              "found 1"),
])
def test_a_ragged_tensor_names_what_its_neighbours_are(written, words):
    with pytest.raises(GraphError) as e:
        compile_text(f"graphrun: 1\ninputs:\n  x: {written}\nnodes:\n  y: {{op: neg, args: [x]}}\n")
    assert [words in p.message for p in e.value.problems] == [True]


@pytest.mark.parametrize("size", [7, 10_001, (1 << 18) + 1])  # each way _finite reduces
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_finite_check_finds_one_bad_element_at_every_size(size, dtype):
    from graphrun.engine.executor import _finite
    x = np.ones(size, dtype)
    with np.errstate(all="ignore"):  # as the executor calls it
        assert _finite(x) and _finite(x.reshape(1, -1))
        big = x.copy()
        big[-1] = np.finfo(dtype).max  # x . x overflows: the elements are looked at one by one
        assert _finite(big)
        for bad in (np.nan, np.inf, -np.inf):
            y = x.copy()
            y[-1] = bad
            assert not _finite(y) and not _finite(y[::-1])  # contiguous, and a strided view
