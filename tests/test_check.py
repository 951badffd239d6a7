"""graphrun check: golden files compared by name, shape and value; --update; formats; the pytest
plugin."""

import io
import json
import os
import re
import shutil
import textwrap

import numpy as np
import pytest
import yaml

from graphrun.cli import main
from conftest import call

SIMPLE = textwrap.dedent("""\
    graphrun: 1
    name: chain-rule
    inputs: {x: 2}
    params: {w: 3, b: 4}
    nodes:
      u: {op: mul, args: [w, x]}
      v: {op: add, args: [u, b]}
      L: {op: square, args: [v]}
    loss: L
    """)


@pytest.fixture
def project(tmp_path, root):
    """A copy of the simple example and the repo's golden file for it."""
    (tmp_path / "graphs").mkdir()
    (tmp_path / "golden").mkdir()
    (tmp_path / "graphs" / "simple.yaml").write_text(SIMPLE)
    shutil.copy(f"{root}/tests/golden/simple.results.yaml", tmp_path / "golden")
    return tmp_path


def golden_line(path, section, name):
    """The 1-based line of `  name:` under `section:`, found by reading the file as text."""
    lines = open(path).read().splitlines()
    start = lines.index(f"{section}:")
    return next(i + 1 for i in range(start, len(lines)) if lines[i].startswith(f"  {name}:"))


def test_the_example_matches_its_golden_file(root):
    code, out, err = call("check", f"{root}/graphs/simple.yaml",
                          "--golden", f"{root}/tests/golden/simple.results.yaml")
    assert (code, err) == (0, "")
    assert "ok" in out and "1 graph checked: 1 ok" in out


def test_editing_a_param_fails_naming_the_entry_and_the_golden_line(project):
    graph = project / "graphs" / "simple.yaml"
    graph.write_text(SIMPLE.replace("w: 3", "w: 3.5"))
    golden = project / "golden" / "simple.results.yaml"
    code, out, err = call("check", str(graph), "--golden", str(golden))
    assert code == 1 and err == ""
    row = next(line for line in out.splitlines() if line.strip().startswith("gradients.w"))
    # d L / d w = 2 (w x + b) x = 2 * 11 * 2 = 44 now, 40 in the golden file
    assert row.split()[:5] == ["gradients.w", "40.0", "44.0", "4", "0.1"]
    assert row.endswith(f"{golden}:{golden_line(golden, 'gradients', 'w')}")
    assert "gradients.b" in out and "values.u" in out


def test_a_missing_golden_fails_and_says_how_to_create_it(project):
    graph, golden = project / "graphs" / "simple.yaml", project / "golden" / "new.yaml"
    code, out, _ = call("check", str(graph), "--golden", str(golden))
    assert code == 1 and "--update" in out and str(golden) in out
    assert not golden.exists()
    code, out, _ = call("check", str(graph), "--golden", str(golden), "--update")
    assert code == 0 and "created" in out
    assert golden.read_text() == call("run", str(graph))[1]
    assert call("check", str(graph), "--golden", str(golden))[0] == 0


def test_update_rewrites_a_differing_golden_and_leaves_a_matching_one_alone(project):
    graph, golden = project / "graphs" / "simple.yaml", project / "golden" / "simple.results.yaml"
    before = os.stat(golden).st_mtime_ns
    assert call("check", str(graph), "--golden", str(golden), "--update")[0] == 0
    assert os.stat(golden).st_mtime_ns == before  # matched: not rewritten
    graph.write_text(SIMPLE.replace("b: 4", "b: 5"))
    code, out, _ = call("check", str(graph), "--golden", str(golden), "--update")
    assert code == 0 and "updated" in out
    assert yaml.safe_load(golden.read_text())["gradients"]["b"] == 22.0  # 2 (3*2 + 5)
    assert call("check", str(graph), "--golden", str(golden))[0] == 0
    assert sorted(os.listdir(golden.parent)) == ["simple.results.yaml"]  # no temporary files


def test_entries_the_graph_no_longer_produces_and_new_ones_are_reported(project):
    graph, golden = project / "graphs" / "simple.yaml", project / "golden" / "simple.results.yaml"
    graph.write_text(SIMPLE.replace("  v: {op: add, args: [u, b]}\n  L: {op: square, args: [v]}",
                                    "  s: {op: add, args: [u, b]}\n  L: {op: square, args: [s]}"))
    code, out, _ = call("check", str(graph), "--golden", str(golden), "--format", "json")
    assert code == 1
    found = {(d["entry"], d["kind"]) for d in json.loads(out)["graphs"][0]["differences"]}
    assert {("values.v", "missing"), ("gradients.v", "missing"), ("values.s", "new"),
            ("gradients.s", "new")} <= found


def test_several_graphs_use_the_folder_naming_rule(project, root):
    shutil.copy(f"{root}/graphs/mlp.yaml", project / "graphs")
    shutil.copy(f"{root}/graphs/layers.yaml", project / "graphs")  # mlp includes it; no graph
    graphs, golden = project / "graphs", project / "golden"
    code, out, _ = call("check", str(graphs), "--golden", str(golden))
    assert code == 1 and f"{golden}/mlp.results.yaml" in out  # mlp has no golden yet
    assert call("check", str(graphs), "--golden", str(golden), "--update")[0] == 0
    assert sorted(os.listdir(golden)) == ["mlp.results.yaml", "simple.results.yaml"]
    code, out, _ = call("check", str(graphs / "mlp.yaml"), str(graphs / "simple.yaml"),
                        "--golden", str(golden))
    assert code == 0 and "2 ok" in out


def test_trouble_is_exit_2(project):
    graph, golden = project / "graphs" / "simple.yaml", project / "golden" / "simple.results.yaml"
    graph.write_text(SIMPLE.replace("op: square", "op: squar"))
    code, _, err = call("check", str(graph), "--golden", str(golden))
    assert code == 2 and f"{graph}:8:" in err and "did you mean 'square'" in err
    graph.write_text(SIMPLE)
    golden.write_text("graphrun: 1\nvalues:\n  u: [1.0, [2.0]]\n")
    code, _, err = call("check", str(graph), "--golden", str(golden))
    assert code == 2 and f"{golden}:3:12: error:" in err
    # several graphs need a folder
    code, _, err = call("check", str(graph), str(graph), "--golden", str(golden))
    assert code == 2 and "must be a folder" in err


def test_tolerance_from_the_graph_file_and_the_command_line(project):
    graph, golden = project / "graphs" / "simple.yaml", project / "golden" / "simple.results.yaml"
    graph.write_text(SIMPLE.replace("w: 3", "w: 3.000001"))  # relative changes around 1e-7
    assert call("check", str(graph), "--golden", str(golden))[0] == 1  # default: tight
    assert call("check", str(graph), "--golden", str(golden), "--rtol", "1e-5")[0] == 0
    graph.write_text(graph.read_text() + "tolerance: {rtol: 1.0e-5}\n")
    assert call("check", str(graph), "--golden", str(golden))[0] == 0
    assert call("check", str(graph), "--golden", str(golden), "--rtol", "0")[0] == 1  # CLI wins
    assert call("check", str(graph), "--golden", str(golden), "--rtol", "-1")[0] == 2


def test_nan_equals_nan(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\ninputs:\n  x: [-1.0, 4.0]\nnodes:\n  y: {op: log, args: [x]}\n")
    golden = tmp_path / "g.results.yaml"
    assert call("check", str(graph), "--golden", str(golden), "--update",
                "--allow-nonfinite")[0] == 0
    assert ": [.nan, " in golden.read_text()
    assert call("check", str(graph), "--golden", str(golden), "--allow-nonfinite")[0] == 0
    golden.write_text(golden.read_text().replace(".nan", "0.0"))
    code, out, _ = call("check", str(graph), "--golden", str(golden), "--allow-nonfinite",
                        "--atol", "10")
    assert code == 1 and re.search(r"values\.y\s+0\.0\s+\.nan", out)


def test_shapes_must_match_exactly(project):
    golden = project / "golden" / "simple.results.yaml"
    golden.write_text(golden.read_text().replace("u: 6.0", "u: [6.0]"))
    code, out, _ = call("check", str(project / "graphs" / "simple.yaml"), "--golden", str(golden))
    assert code == 1 and re.search(r"values\.u\s+shape \[1\]\s+shape \[\]", out)


def test_big_tensors_are_compared_in_full_through_their_sidecars(tmp_path):
    graph = tmp_path / "big.yaml"
    graph.write_text("graphrun: 1\nparams:\n  W: {init: normal, shape: [40, 30], seed: 3}\n"
                     "nodes:\n  t: {op: tanh, args: [W]}\n  L: {op: sum, args: [t]}\nloss: L\n")
    golden = tmp_path / "big.results.yaml"
    assert call("check", str(graph), "--golden", str(golden), "--update")[0] == 0
    (sidecar,) = (tmp_path / "big.results.arrays").glob("values.t.*.npy")
    array = np.load(sidecar)
    array[7, 11] += 1e-3
    np.save(sidecar, array)
    code, out, _ = call("check", str(graph), "--golden", str(golden), "--format", "json")
    (difference,) = json.loads(out)["graphs"][0]["differences"]
    assert code == 1 and difference["entry"] == "values.t"
    assert difference["index"] == [7, 11] and difference["count"] == 1
    assert difference["size"] == 1200


def test_json_format_is_one_document(project):
    graph, golden = project / "graphs" / "simple.yaml", project / "golden" / "simple.results.yaml"
    graph.write_text(SIMPLE.replace("x: 2", "x: 3"))
    code, out, err = call("check", str(graph), "--golden", str(golden), "--format", "json")
    document = json.loads(out)
    assert code == 1 and document["exit_code"] == 1 and document["ok"] is False
    (outcome,) = document["graphs"]
    assert outcome["status"] == "differs" and outcome["golden"] == str(golden)
    w = next(d for d in outcome["differences"] if d["entry"] == "gradients.w")
    # dL/dw = 2 (w x + b) x = 2 * 13 * 3 = 78
    # numbers are JSON numbers; the text written stays beside them
    assert (w["expected"], w["got"], w["abs_error"]) == (40.0, 78.0, 38.0)
    assert (w["expected_text"], w["got_text"]) == ("40.0", "78.0")
    # where the graph defines it: param 'w' on line 4 of SIMPLE
    assert w["graph_at"] == {"file": str(graph), "line": 4, "col": 10}
    assert outcome["summary"]["count"] == len(outcome["differences"])
    assert w["expected_at"] == {"file": str(golden), "line": golden_line(golden, "gradients", "w"),
                                "col": 3}


def test_github_format_is_one_annotation_per_graph_at_the_graph_line(project):
    graph, golden = project / "graphs" / "simple.yaml", project / "golden" / "simple.results.yaml"
    graph.write_text(SIMPLE.replace("b: 4", "b: 4.5"))
    code, out, _ = call("check", str(graph), "--golden", str(golden), "--format", "github")
    pattern = re.compile(r"::error file=([^,]+),line=(\d+),col=(\d+),title=([^:]*)::(.*)")
    (line,) = out.splitlines()
    found = pattern.fullmatch(line)
    assert code == 1 and found
    # 7 entries differ; the worst (furthest beyond its tolerance) is the loss, whose graph line
    # is `loss: L` (line 9), the file a pull request changes
    assert found.group(1, 2, 3) == (str(graph), "9", "1")
    assert found.group(4) == "graphrun check%3A 7 entries differ"
    assert found.group(5).startswith("worst: loss: expected 100.0, got 110.25")
    assert "7 entries differ" in found.group(5)
    # invalid graphs are annotated at their own line
    graph.write_text(SIMPLE.replace("args: [u, b]", "args: [u, bb]"))
    code, out, _ = call("check", str(graph), "--golden", str(golden), "--format", "github")
    assert code == 2 and out.startswith(f"::error file={graph},line=7,col=")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(project, monkeypatch):
    graph, golden = project / "graphs" / "simple.yaml", project / "golden" / "simple.results.yaml"
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = _Terminal()
    main(["check", str(graph), "--golden", str(golden)], terminal, io.StringIO())
    assert "\x1b[" in terminal.getvalue()
    assert "\x1b[" not in call("check", str(graph), "--golden", str(golden))[1]
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = _Terminal()
    main(["check", str(graph), "--golden", str(golden)], terminal, io.StringIO())
    assert "\x1b[" not in terminal.getvalue()


def test_updated_goldens_are_byte_identical_across_runs(tmp_path, root):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        assert call("check", f"{root}/graphs", "--golden", f"{folder}/", "--update",
                    "--sidecar-threshold", "10")[0] == 0
    names = sorted(os.listdir(first))
    assert names == sorted(os.listdir(second)) and "mlp.results.arrays" in names
    for dirpath, _, files in os.walk(first):
        for name in files:
            a = os.path.join(dirpath, name)
            b = os.path.join(second, os.path.relpath(a, first))
            assert open(a, "rb").read() == open(b, "rb").read()


def test_float32_results_match_their_golden_exactly(tmp_path):
    # float32 numbers are written as their shortest float32 text, which is not float64-exact:
    # the comparison must happen in float32 for a zero tolerance to pass
    graph = tmp_path / "f.yaml"
    graph.write_text("graphrun: 1\ninputs:\n  x: {value: [0.1, 0.7, 3.3], dtype: float32}\n"
                     "params:\n  w: {value: [0.3, 1.1, -2.2], dtype: float32}\n"
                     "nodes:\n  y: {op: mul, args: [w, x]}\n  t: {op: tanh, args: [y]}\n"
                     "  L: {op: sum, args: [t]}\nloss: L\n")
    golden = tmp_path / "f.results.yaml"
    assert call("check", str(graph), "--golden", str(golden), "--update")[0] == 0
    assert call("check", str(graph), "--golden", str(golden), "--rtol", "0", "--atol", "0")[0] == 0
    text = golden.read_text()
    first = text.split("t: [")[1].split(",")[0]
    golden.write_text(text.replace(f"t: [{first},", f"t: [{float(first) * (1 + 1e-4)!r},"))
    code, out, _ = call("check", str(graph), "--golden", str(golden))
    assert code == 1 and re.search(r"values\.t .* \[0\]", out)


def test_a_numeric_failure_is_trouble_at_the_node_line(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\ninputs:\n  x: [-1.0, 4.0]\nnodes:\n  y: {op: log, args: [x]}\n")
    code, out, err = call("check", str(graph), "--golden", str(tmp_path / "g.results.yaml"))
    assert code == 2 and err.startswith(f"{graph}:5:") and "ERROR" in out


# --- BLAS threads ------------------------------------------------------------------------------

def test_small_graphs_run_on_one_blas_thread_and_big_ones_keep_theirs(monkeypatch):
    from types import SimpleNamespace

    from graphrun import blas
    from graphrun.ops import Type

    if blas.threads() is None:
        pytest.skip("numpy here does not use OpenBLAS")
    monkeypatch.setattr(blas, "USER_SET", False)
    before = blas.limit(2)
    try:
        def program(*shapes):
            return SimpleNamespace(types=[Type(s, np.dtype("float64")) for s in shapes])
        with blas.one_thread_if_small(program((16, 32), (256, 1024))):
            assert blas.threads() == 1
        assert blas.threads() == 2
        with blas.one_thread_if_small(program((257, 1024))):
            assert blas.threads() == 2
        monkeypatch.setattr(blas, "USER_SET", True)  # OPENBLAS_NUM_THREADS set by the user
        with blas.one_thread_if_small(program((2, 2))):
            assert blas.threads() == 2
    finally:
        blas.limit(before)
