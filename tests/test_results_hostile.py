"""Results and golden files are as hostile as graph files: every problem in one is an error at the
line and column of what is to blame, saying what was expected and what was found, and the reader's
fast path (a file in the writer's exact form, read line by line) reads exactly what the YAML 1.2
loader reads, or leaves the file to it. Issue 10, "Results and golden files read by diff/check".

The differential test at the end edits valid results files at random (seeded, so every run tries
the same files) and asserts that the two readers agree on each: the same entries, or the same
error."""

import os
import random
import re

import numpy as np
import pytest

import graphrun
from graphrun.errors import GraphError
from graphrun.results import reader
from graphrun.results.reader import read_results
from graphrun.results.writer import write_results
from conftest import ROOT, call

LINREG = os.path.join(ROOT, "graphs", "linreg.yaml")
SIMPLE = os.path.join(ROOT, "graphs", "simple.yaml")
GOOD = "graphrun: 1\ngraph: g\nloss: 1.0\nvalues:\n  u: [1.0, 2.0]\n  k: [1, 2]\n"


def diff(tmp_path, text):
    """`graphrun diff` of a good file against `text`: (exit code, stderr, the path of `text`)."""
    a, b = tmp_path / "a.results.yaml", tmp_path / "b.results.yaml"
    a.write_text(GOOD)
    b.write_bytes(text.encode("utf-8"))
    code, _, err = call("diff", str(a), str(b))
    assert "Traceback" not in err and "internal error" not in err, err
    return code, err, str(b)


def both(tmp_path, text):
    """What the fast path and the loader make of `text`: each the entries (name -> (value, line,
    col)) or the error's text."""
    path = tmp_path / "r.results.yaml"
    path.write_bytes(text.encode("utf-8"))
    out = []
    for fast in (True, False):
        try:
            results = read_results(str(path), fast=fast)
        except GraphError as e:
            out.append(str(e))
        else:
            out.append({k: (e.value if isinstance(e.value, str) else
                            (e.value.dtype.str, e.value.shape, e.value.tobytes()), e.line, e.col)
                        for k, e in results.entries.items()})
    return out


def fast_reads(text, folder=".") -> bool:
    return reader._written_entries(text.encode("utf-8"), folder) is not None


# --- 1. the fast path reads YAML as YAML reads it -----------------------------------------------

@pytest.mark.parametrize("good, bad", [
    ("graph: g\n", "graph:g\n"),
    ("loss: 1.0\n", "loss:1.0\n"),
    ("graph: g\n", "graph: g\ndtype:float32\n"),
    ("graph: g\n", "graph: g\ndigits:5\n"),
    ("  u: [1.0, 2.0]\n", "  u:[1.0, 2.0]\n"),
])
def test_a_key_without_a_space_after_its_colon_is_not_a_key(tmp_path, good, bad):
    # `graph:g` is one plain scalar to YAML, not the key graph: the file is not a mapping there
    text = GOOD.replace(good, bad)
    assert fast_reads(GOOD) and not fast_reads(text)
    fast, slow = both(tmp_path, text)
    assert fast == slow and "invalid YAML" in fast
    code, err, b = diff(tmp_path, text)
    assert code == 2 and re.match(rf"{re.escape(b)}:\d+:\d+: error: invalid YAML", err), err


def test_a_bare_key_is_null_not_an_empty_value(tmp_path):
    for text in ("graphrun: 1\ngraph: g\nloss:\n", "graphrun: 1\nvalues: \n  u: 1.0\n"):
        assert not fast_reads(text)
        fast, slow = both(tmp_path, text)
        assert fast == slow


# --- 2. integers beyond int64 -------------------------------------------------------------------

@pytest.mark.parametrize("value, number, col", [
    ("[1, 18446744073709551615]", "18446744073709551615", 10),
    ("[1.5, 18446744073709551615]", "18446744073709551615", 12),
    ("[-1.0, -9223372036854775809]", "-9223372036854775809", 13),
    ("[[0.5, 2.0], [9223372036854775808, 1.0]]", "9223372036854775808", 20),
])
def test_an_integer_beyond_int64_in_a_list_is_an_error_at_the_number(tmp_path, value, number,
                                                                      col):
    text = f"graphrun: 1\ngraph: g\nvalues:\n  u: {value}\n"
    assert not fast_reads(text)  # numpy would make the list floats; YAML refuses the integer
    fast, slow = both(tmp_path, text)
    assert fast == slow
    code, err, b = diff(tmp_path, text)
    assert code == 2 and err == f"{b}:4:{col}: error: integer {number} does not fit in int64\n"


def test_the_loss_too_and_int64_s_own_ends_are_numbers(tmp_path):
    text = "graphrun: 1\nloss: [0.5, 18446744073709551615]\n"
    code, err, b = diff(tmp_path, text)
    assert code == 2 and err == f"{b}:2:13: error: integer 18446744073709551615 does not fit " \
                                "in int64\n"
    # the ends of int64 fit: beside a float, read as floats, by both paths
    text = "graphrun: 1\nloss: [0.5, -9223372036854775808, 9223372036854775807]\n"
    assert fast_reads(text)
    fast, slow = both(tmp_path, text)
    assert fast == slow and fast["loss"][0][0] == "<f8"


# --- 3. training results: a boolean is not a number ---------------------------------------------

@pytest.fixture
def trained(tmp_path):
    path = tmp_path / "t.train.results.yaml"
    code, _, err = call("train", LINREG, "-o", str(path))
    assert code == 0, err
    return path


def _with_w(path, value):
    text = re.sub(r"(?m)^  w: .*$", f"  w: {value}", path.read_text(), count=1)
    path.write_text(text)
    line = text.splitlines().index(f"  w: {value}") + 1
    return line


@pytest.mark.parametrize("value, col, found", [
    ("[true, 2.0]", 7, "boolean true"),
    ("[1.0, false]", 12, "boolean false"),
    ("true", 6, "boolean true"),
    ("{value: [2.0, true], dtype: float64}", 20, "boolean true"),
])
@pytest.mark.parametrize("how", ["--params", "--resume", "diff"])
def test_a_boolean_in_a_trained_param_is_not_a_number(tmp_path, trained, value, col, found,
                                                      how):
    good = str(tmp_path / "good.train.results.yaml")
    with open(good, "w") as f:
        f.write(trained.read_text())
    line = _with_w(trained, value)
    if how == "diff":
        code, _, err = call("diff", good, str(trained))
    else:
        code, _, err = call("train", LINREG, how, str(trained), "-o",
                            str(tmp_path / "out.train.results.yaml"))
    assert code == 2 and "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith(f"{trained}:{line}:{col}: error: expected a number") and \
        first.endswith(f"found {found}"), err
    assert not os.path.exists(tmp_path / "out.train.results.yaml")


def test_a_dtype_that_is_not_a_name_is_an_error_not_a_crash(tmp_path, trained):
    line = _with_w(trained, "{value: [1.0, 2.0], dtype: [float32]}")
    code, _, err = call("train", LINREG, "--params", str(trained))
    assert code == 2 and err.startswith(f"{trained}:{line}:6: error: expected a number") and \
        "found a list of 1 item as its 'dtype'" in err, err


# --- 4. where: at the value, saying what was found ----------------------------------------------

@pytest.mark.parametrize("version, found", [
    ("2", "integer 2"), ("true", "boolean true"), ("1.0", "number 1.0"), ('"1"', "string '1'"),
])
def test_a_wrong_version_is_an_error_at_the_version(tmp_path, version, found):
    text = GOOD.replace("graphrun: 1", f"graphrun: {version}")
    code, err, b = diff(tmp_path, text)
    assert code == 2 and err.startswith(f"{b}:1:11: error: not a graphrun results file") and \
        "expected 'graphrun: 1'" in err and err.endswith(f"found {found}\n"), err


def test_a_training_file_of_another_version_is_an_error_at_the_version(tmp_path, trained):
    trained.write_text(trained.read_text().replace("graphrun: 1\n", "graphrun: 2\n", 1))
    for argv in (("train", LINREG, "--params", str(trained)),
                 ("train", LINREG, "--resume", str(trained)),
                 ("run", SIMPLE, "--params", str(trained))):
        code, _, err = call(*argv)
        assert code == 2 and err.startswith(f"{trained}:1:11: error: not a graphrun training "
                                            "results file") and "found integer 2" in err, err


@pytest.mark.parametrize("value, col, words", [
    ('"a"', 6, "found string 'a'"),  # the value itself
    ("[1.0, [2.0]]", 12, "found a list of 1 item"),  # the element to blame
    ('[1.0, "x"]', 12, "found string 'x'"),
    ("[[1.0, 2.0], [3.0]]", 19, "expected a list of 2 items"),
    ("[true, 2]", 13, "expected a boolean, as the tensor's first element is"),
    ("[1, null]", 10, "found null"),
    ("{file: gone.npy}", 6, "does not exist"),
])
def test_a_bad_value_is_an_error_at_the_value(tmp_path, value, col, words):
    text = f"graphrun: 1\ngraph: g\nvalues:\n  u: {value}\n"
    code, err, b = diff(tmp_path, text)
    assert code == 2 and err.startswith(f"{b}:4:{col}: error: ") and words in err, err


@pytest.mark.parametrize("line, col, words", [
    ("graph: 12", 8, "'graph' must be the graph's name, a string; found integer 12"),
    ("digits: true", 9, "found boolean true"),
    ("digits: 40", 9, "found integer 40"),
    ("values: [1.0]", 9, "'values' must be a mapping of names to tensors; found a list"),
])
def test_a_bad_top_level_value_is_an_error_at_it(tmp_path, line, col, words):
    text = f"graphrun: 1\n{line}\n"
    code, err, b = diff(tmp_path, text)
    assert code == 2 and err.startswith(f"{b}:2:{col}: error: ") and words in err, err


# --- more of the same class, found by the differential test below -------------------------------

@pytest.mark.parametrize("value", [
    "[.inf, 1e400]",  # .inf in the list let a literal beyond float64 through as inf
    "[NaN, 1.0]",  # JSON's words: strings to YAML
    "Infinity",
    "[1.0, -Infinity]",
])
def test_numbers_json_reads_and_yaml_does_not_are_errors(tmp_path, value):
    text = f"graphrun: 1\nvalues:\n  u: {value}\n"
    assert not fast_reads(text)
    fast, slow = both(tmp_path, text)
    assert fast == slow and "error" in fast


def _with_sidecar(tmp_path, threshold=2):
    results = graphrun.run(graphrun.compile_text(
        "graphrun: 1\ninputs:\n  x: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]\n"
        "nodes:\n  u: {op: reshape, args: [x], shape: [2, 3]}\n", "t.yaml"))
    path = tmp_path / "r.results.yaml"
    write_results(str(path), results, threshold=threshold)
    text = path.read_text()
    assert "{file: " in text and fast_reads(text, str(tmp_path))
    return text


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("shape: [2, 3]", "shape: [2,3]"),  # was a ValueError: exit 3
    lambda t: t.replace("shape: [2, 3]", "shape: [02, 3]"),
    lambda t: t.replace("min: 1.0", "min: 1e400"),  # a summary YAML refuses
    lambda t: t.replace("min: 1.0", "min: 99999999999999999999"),
    lambda t: t.replace("max: 6.0", "min: 6.0"),  # a duplicate key
])
def test_a_hand_edited_sidecar_entry_reads_as_the_loader_reads_it(tmp_path, edit):
    text = edit(_with_sidecar(tmp_path))
    assert not fast_reads(text, str(tmp_path))
    fast, slow = both(tmp_path, text)
    assert fast == slow


# --- the differential test ----------------------------------------------------------------------

BASE = """graphrun: 1
name: base
inputs:
  x: [-1.0, 0.0, 4.0]
  k: {value: [[1, 2, 3], [4, 5, 6]], dtype: int64}
  f: {value: [0.5, 1.5], dtype: float32}
params:
  w: 3
  W: {init: normal, shape: [3, 4], seed: 1}
nodes:
  lg: {op: log, args: [x]}
  c: {op: gt, args: [x, w]}
  m: {op: mul, args: [W, w]}
  "yes": {op: sum, args: [m]}
  L: {op: add, args: ["yes", w]}
loss: L
outputs: {values: [inputs, lg, c, m, "yes", L], gradients: [w, W]}
"""
TOKENS = [
    "18446744073709551615", "-9223372036854775809", "9223372036854775807", "9223372036854775808",
    "1e400", "-1e400", "NaN", "Infinity", "-Infinity", ".inf", "-.inf", "+.inf", ".nan", "-.nan",
    ".NaN", ".Inf", "true", "True", "false", "null", "~", "+1", "0x10", "0o7", "017", "1_000",
    "1.", ".5", "1e3", "1E3", "-0", "-0.0", "1:30", '"1.0"', "'1.0'", "[]", "{}", "[1]",
    "[true, 2]", "[1, [2]]", '"a"', "yes", "no", "y", "1e-400", "3.5e38", "1e39",
    "123456789012345678901234567890", '"\\u00e9"', '"\\/"', '"\\x41"', '"\\N"', '"\\t"', "é",
    "\u0085", "\u2028", "\ufeff", "\x80", "#", " #c", ": ", ":", ",", "-", "? ", "&a ", "*a",
    "!!str ", "|", ">", "float32", "float64", "mixed", "int64", "bool", "0", "17", "18", "2",
    "graph", "graphrun", "values", "gradients", "loss", "digits", "dtype",
]
CHARS = list(" :-.,[]{}\"'#e0123456789tnfaINx") + ["\t", "\r", "\n", "\\"]


def _mutated(text, rng):
    for _ in range(rng.randint(1, 3)):
        i, op = rng.randrange(len(text)), rng.random()
        if op < 0.25:
            text = text[:i] + text[i + 1:]
        elif op < 0.45:
            text = text[:i] + rng.choice(CHARS) + text[i:]
        elif op < 0.55:
            text = text[:i] + rng.choice(CHARS) + text[i + 1:]
        elif op < 0.85:  # a token (a run between YAML's separators) replaced by a hostile one
            a, b = rng.choice([m.span() for m in re.finditer(r"[^\s,\[\]{}:]+", text)])
            text = text[:a] + rng.choice(TOKENS) + text[b:]
        else:  # a line duplicated or two swapped
            lines = text.split("\n")
            j, k = rng.randrange(len(lines)), rng.randrange(len(lines))
            if rng.random() < 0.5:
                lines.insert(k, lines[j])
            else:
                lines[j], lines[k] = lines[k], lines[j]
            text = "\n".join(lines)
    return text


def test_both_readers_agree_on_randomly_edited_results_files(tmp_path):
    """For 1,000 random edits of valid results files (inline and with sidecars; float64, float32,
    mixed; with digits), the fast path and the loader give the same entries (values, dtypes,
    shapes, positions) or the same error. Seeded: the same files every run."""
    results = graphrun.run(graphrun.compile_text(BASE, "base.yaml"), check_finite=False)
    bases = []
    for name, threshold in (("a", 10), ("b", 10 ** 6)):
        write_results(str(tmp_path / f"{name}.results.yaml"), results, threshold=threshold)
        text = (tmp_path / f"{name}.results.yaml").read_text()
        assert fast_reads(text, str(tmp_path))
        bases += [text, text.replace("graph: base\n", "graph: base\ndtype: float32\n"),
                  text.replace("graph: base\n", "graph: base\ndigits: 5\n"),
                  text.replace("graph: base\n", "graph: base\ndtype: mixed\ndigits: 17\n")]
    rng = random.Random(20261203)
    read_fast = 0
    disagree = []
    for _ in range(1000):
        text = _mutated(rng.choice(bases), rng)
        read_fast += fast_reads(text, str(tmp_path))
        fast, slow = both(tmp_path, text)
        if fast != slow:
            disagree.append(text)
    assert not disagree, disagree[:3]
    assert read_fast > 80  # the edits that keep the writer's form still take the fast path
