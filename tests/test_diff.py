"""graphrun diff A B: two results files compared like check does."""

import json
import re

import numpy as np

from graphrun.results.writer import write_results
from conftest import run_text
from conftest import call

A = "graphrun: 1\ngraph: g\nloss: 1.0\nvalues:\n  u: [1.0, 2.0, 3.0]\n  k: [1, 2, 3]\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_identical_files_match(tmp_path):
    a, b = write(tmp_path, "a.yaml", A), write(tmp_path, "b.yaml", A)
    code, out, err = call("diff", a, b)
    assert (code, err) == (0, "") and "match" in out


def test_a_difference_is_exit_1_with_a_table(tmp_path):
    a = write(tmp_path, "a.yaml", A)
    b = write(tmp_path, "b.yaml", A.replace("[1.0, 2.0, 3.0]", "[1.0, 2.5, 3.0]"))
    code, out, _ = call("diff", a, b)
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("values.u"))
    # entry, expected, got, abs error, rel error, worst at, differ, line in A
    assert code == 1 and row == ["values.u", "2.0", "2.5", "0.5", "0.25", "[1]", "1/3", f"{a}:5"]


def test_tolerances_on_the_command_line(tmp_path):
    a = write(tmp_path, "a.yaml", A)
    b = write(tmp_path, "b.yaml", A.replace("2.0, 3.0", "2.0000001, 3.0"))
    assert call("diff", a, b)[0] == 1
    assert call("diff", a, b, "--rtol", "1e-6")[0] == 0
    assert call("diff", a, b, "--atol", "1e-6")[0] == 0


def test_integers_compare_exactly_and_shapes_must_match(tmp_path):
    a = write(tmp_path, "a.yaml", A)
    b = write(tmp_path, "b.yaml", A.replace("[1, 2, 3]", "[1, 2, 4]"))
    code, out, _ = call("diff", a, b, "--atol", "100", "--format", "json")
    (d,) = json.loads(out)["differences"]
    assert code == 1
    assert (d["entry"], d["expected"], d["got"], d["index"]) == ("values.k", "3", "4", [2])
    b = write(tmp_path, "b.yaml", A.replace("[1.0, 2.0, 3.0]", "[[1.0, 2.0, 3.0]]"))
    (d,) = json.loads(call("diff", a, b, "--format", "json")[1])["differences"]
    assert (d["kind"], d["expected"], d["got"]) == ("shape", "shape [3]", "shape [1, 3]")


def test_nan_equals_nan_but_not_a_number(tmp_path):
    a = write(tmp_path, "a.yaml", A.replace("3.0]", ".nan]"))
    assert call("diff", a, write(tmp_path, "b.yaml", A.replace("3.0]", ".nan]")))[0] == 0
    code, out, _ = call("diff", a, write(tmp_path, "c.yaml", A), "--format", "json")
    (d,) = json.loads(out)["differences"]
    assert code == 1 and d["abs_error"] is None and (d["expected"], d["got"]) == (".nan", "3.0")


def test_missing_and_new_entries(tmp_path):
    a = write(tmp_path, "a.yaml", A)
    b = write(tmp_path, "b.yaml", A.replace("  k: [1, 2, 3]\n", "  m: 2.0\n"))
    code, out, _ = call("diff", a, b, "--format", "json")
    kinds = {d["entry"]: d["kind"] for d in json.loads(out)["differences"]}
    assert code == 1 and kinds == {"values.k": "missing", "values.m": "new"}


def test_inline_and_sidecar_forms_of_the_same_results_match(tmp_path):
    results = run_text("graphrun: 1\nparams:\n  W: {init: normal, shape: [30, 40], seed: 2}\n"
                       "nodes:\n  t: {op: tanh, args: [W]}\n  L: {op: sum, args: [t]}\nloss: L\n")
    write_results(str(tmp_path / "inline.yaml"), results, threshold=10**9)
    write_results(str(tmp_path / "split.yaml"), results, threshold=10)
    assert "file:" in (tmp_path / "split.yaml").read_text()
    assert call("diff", str(tmp_path / "inline.yaml"), str(tmp_path / "split.yaml"))[0] == 0
    (sidecar,) = (tmp_path / "split.arrays").glob("gradients.t.*.npy")
    array = np.load(sidecar)
    array[29, 39] = -array[29, 39]
    np.save(sidecar, array)
    code, out, _ = call("diff", str(tmp_path / "inline.yaml"), str(tmp_path / "split.yaml"),
                        "--format", "json")
    (d,) = json.loads(out)["differences"]
    assert code == 1 and (d["entry"], d["index"]) == ("gradients.t", [29, 39])


def test_unreadable_files_are_exit_2(tmp_path):
    a = write(tmp_path, "a.yaml", A)
    code, _, err = call("diff", a, str(tmp_path / "none.yaml"))
    assert code == 2 and f"{tmp_path}/none.yaml:1:1: error: no such results file" in err
    bad = write(tmp_path, "bad.yaml", "graphrun: 1\nvalues:\n  u: [1.0,\n")
    code, out, _ = call("diff", a, bad, "--format", "json")
    assert code == 2 and json.loads(out)["problems"][0]["file"] == bad


def test_github_annotations_point_at_b(tmp_path):
    a = write(tmp_path, "a.yaml", A)
    b = write(tmp_path, "b.yaml", "# changed\n" + A.replace("loss: 1.0", "loss: 2.0"))
    code, out, _ = call("diff", a, b, "--format", "github")
    (line,) = out.splitlines()
    match = re.fullmatch(r"::error file=([^,]+),line=(\d+),col=(\d+)::(.*)", line)
    assert code == 1 and match.group(1, 2, 3) == (b, "4", "1")
    assert match.group(4).startswith("loss: expected 1.0, got 2.0")
