"""The CLI as users meet it: through main(argv, stdout, stderr) and through a real subprocess."""

import os
import subprocess
import sys

import yaml

from conftest import call




def test_simple_matches_its_golden_file(root):
    code, out, err = call(f"{root}/graphs/simple.yaml")
    assert (code, err) == (0, "")
    with open(f"{root}/tests/golden/simple.results.yaml") as f:
        assert out == f.read()


def test_results_contract_keys_and_numbers(root):
    code, out, _ = call("run", f"{root}/graphs/simple.yaml")
    doc = yaml.safe_load(out)
    assert code == 0
    assert list(doc) == ["graphrun", "graph", "loss", "values", "gradients"]
    assert doc["graph"] == "chain-rule" and doc["loss"] == 100.0
    assert doc["values"] == {"u": 6.0, "v": 10.0, "L": 100.0}
    assert list(doc["gradients"].items()) == [("w", 40.0), ("b", 20.0), ("u", 20.0),
                                              ("v", 20.0), ("L", 1.0)]


def test_output_file_is_written_and_stdout_stays_empty(root, tmp_path):
    target = tmp_path / "out.yaml"
    code, out, err = call(f"{root}/graphs/simple.yaml", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert yaml.safe_load(target.read_text())["gradients"]["w"] == 40.0
    assert os.listdir(tmp_path) == ["out.yaml"]


def test_missing_output_folder_is_trouble_and_writes_nothing(root, tmp_path):
    code, out, err = call(f"{root}/graphs/simple.yaml", "-o", str(tmp_path / "no" / "out.yaml"))
    assert code == 2 and "does not exist" in err and "Traceback" not in err


def test_a_bad_graph_is_reported_at_its_line_and_leaves_the_old_output(tmp_path):
    graph = tmp_path / "bad.yaml"
    graph.write_text("graphrun: 1\nparams: {w: 3}\nnodes:\n  u: {op: mull, args: [w, w]}\n")
    target = tmp_path / "out.yaml"
    target.write_text("previous\n")
    code, out, err = call(str(graph), "-o", str(target))
    assert code == 2 and out == ""
    assert err.startswith(f"{graph}:4:")
    assert "mull" in err and "did you mean 'mul'" in err
    assert target.read_text() == "previous\n"
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml", "out.yaml"]


def test_no_arguments_and_bad_flags_are_usage_errors():
    assert call()[0] == 2
    code, _, err = call("run", "--no-such-flag", "x.yaml")
    assert code == 2 and "error" in err


def test_missing_graph_file():
    code, _, err = call("no-such-graph.yaml")
    assert code == 2 and "no-such-graph.yaml:1:1: error: no such file" in err


def test_python_dash_m_in_a_real_process(root):
    proc = subprocess.run([sys.executable, "-m", "graphrun", "graphs/simple.yaml"], cwd=root,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(proc.stdout)["gradients"] == {"w": 40.0, "b": 20.0, "u": 20.0,
                                                        "v": 20.0, "L": 1.0}


def test_an_invalid_graph_in_a_real_process_has_no_traceback(tmp_path):
    graph = tmp_path / "cycle.yaml"
    graph.write_text("graphrun: 1\nnodes:\n  a: {op: neg, args: [b]}\n  b: {op: neg, args: [a]}\n")
    proc = subprocess.run([sys.executable, "-m", "graphrun", str(graph)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "cycle: a -> b -> a" in proc.stderr and "Traceback" not in proc.stderr
