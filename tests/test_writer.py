"""The results file: round trip through yaml.safe_load, determinism, .npy sidecars, reading back,
and `graphrun run` on several graphs."""

import hashlib
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import yaml

from graphrun.frontend.blocks import is_library_file

from conftest import run_text
from graphrun.errors import GraphError
from graphrun.results.reader import read_results
from conftest import call
from graphrun.results import files
from graphrun.results.writer import results_text, write_results

ODD = [1e-5, 1e16, -0.0, 5e-324, 1.7976931348623157e308, 0.1, -2.5e-310, 123456789.0]


def test_odd_floats_round_trip_through_safe_load():
    text = results_text(run_text(
        f"graphrun: 1\ninputs:\n  p: {ODD!r}\nnodes:\n  n: {{op: mul, args: [p, 1]}}\n"
        "  s: {op: mul, args: [p, 1]}\n"))
    loaded = yaml.safe_load(text)["values"]["n"]
    assert loaded == ODD and all(type(x) is float for x in loaded)
    assert math.copysign(1.0, loaded[2]) == -1.0  # -0.0 stays negative
    for line in text.splitlines()[3:]:
        for item in line.split(": ", 1)[1].strip("[]").split(", "):
            assert float(item) in ODD  # every item is a plain number a YAML 1.2 reader reads too


@pytest.mark.parametrize("value", ODD)
def test_odd_scalars_round_trip_through_safe_load(value):
    """A scalar graph's values take the writer's scalar path (not a tensor's): the same text."""
    text = results_text(run_text(
        f"graphrun: 1\ninputs:\n  p: {value!r}\nnodes:\n  n: {{op: mul, args: [p, 1]}}\n"))
    loaded = yaml.safe_load(text)["values"]["n"]
    assert type(loaded) is float and loaded == value
    assert math.copysign(1.0, loaded) == math.copysign(1.0, value)


def test_float32_values_read_back_exactly():
    values = [0.1, 3.4e38, 1e-45, -7.25, 16777217.0]
    text = results_text(run_text(
        f"graphrun: 1\ninputs:\n  q: {{value: {values!r}, dtype: float32}}\n"
        "nodes:\n  m: {op: neg, args: [q]}\n"))
    loaded = np.array(yaml.safe_load(text)["values"]["m"], dtype=np.float32)
    assert np.array_equal(loaded, -np.array(values, dtype=np.float32))


@pytest.mark.parametrize("name", ["true", "no", "null", "on", "y", "off", "FALSE", "Null",
                                  "falsey"])
def test_names_a_yaml_reader_could_misread_stay_strings(name):
    text = results_text(run_text(
        f'graphrun: 1\nname: "{name}"\nparams: {{a: 2}}\n'
        f"nodes:\n  {name}: {{op: square, args: [a]}}\nloss: \"{name}\"\n"))
    doc = yaml.safe_load(text)
    assert doc["graph"] == name and doc["values"] == {name: 4.0}
    assert doc["gradients"] == {"a": 4.0, name: 1.0}


def test_a_long_chain_round_trips():
    n = 3000
    nodes = "".join(f"  n{i}: {{op: mul, args: [{'p' if i == 0 else f'n{i - 1}'}, 0.999]}}\n"
                    for i in range(n))
    results = run_text(f"graphrun: 1\nparams: {{p: 1.5}}\nnodes:\n{nodes}loss: n{n - 1}\n")
    doc = yaml.safe_load(results_text(results))
    assert list(doc["values"]) == [f"n{i}" for i in range(n)]  # program order
    assert doc["values"][f"n{n - 1}"] == results.loss
    assert doc["gradients"]["p"] == pytest.approx(0.999 ** n, rel=1e-12)


BIG = ("graphrun: 1\nparams:\n  W: {init: normal, shape: [50, 40], seed: 5}\n  b: [1.0, 2.0]\n"
       "nodes:\n  t: {op: tanh, args: [W]}\n  s: {op: sum, args: [t]}\n"
       "  c: {op: mul, args: [b, s]}\n  L: {op: sum, args: [c]}\nloss: L\n")


def test_a_big_sidecar_s_summary_made_in_a_thread_is_the_one_made_in_line(tmp_path):
    # from writer._BESIDE elements the summary is computed beside the digest, in a thread
    from graphrun.results import writer
    n = writer._BESIDE + 3
    results = run_text(f"graphrun: 1\nparams:\n  W: {{init: normal, shape: [{n}], seed: 3}}\n"
                       "nodes:\n  t: {op: tanh, args: [W]}\n  L: {op: sum, args: [t]}\nloss: L\n")
    path = tmp_path / "r.results.yaml"
    write_results(str(path), results, threshold=1000)
    line = next(x for x in path.read_text().splitlines() if x.startswith("  t: {file: "))
    file = yaml.safe_load(line)["t"]["file"]
    assert line == "  t: " + writer.sidecar_entry(file, results.values["t"])  # computed here
    with pytest.raises(ZeroDivisionError):  # a failure in the thread is raised in the caller
        files.InThread(lambda: 1 / 0).result()


def test_one_array_under_two_names_is_hashed_once_and_named_by_its_bytes(tmp_path):
    # add's VJP hands the same gradient array to W and to a (the writer remembers its digest)
    results = run_text("graphrun: 1\nparams:\n  W: {init: normal, shape: [50, 40], seed: 2}\n"
                       "  b: {init: normal, shape: [40], seed: 3}\nnodes:\n"
                       "  a: {op: add, args: [W, b]}\n  t: {op: tanh, args: [a]}\n"
                       "  L: {op: sum, args: [t]}\nloss: L\n")
    assert results.grads["W"] is results.grads["a"]
    path = tmp_path / "r.results.yaml"
    write_results(str(path), results, threshold=100)
    doc = yaml.safe_load(path.read_text())
    for key in ("W", "a"):
        file = tmp_path / doc["gradients"][key]["file"]
        assert file.name.endswith(f".{hashlib.sha256(file.read_bytes()).hexdigest()[:16]}.npy")
    assert {k: v for k, v in doc["gradients"]["W"].items() if k != "file"} == \
        {k: v for k, v in doc["gradients"]["a"].items() if k != "file"}


def test_big_tensors_go_to_sidecars_with_a_summary(tmp_path):
    results = run_text(BIG)
    path = tmp_path / "big.results.yaml"
    write_results(str(path), results, threshold=1000)
    folder = tmp_path / "big.results.arrays"
    names = sorted(os.listdir(folder))
    assert [re.sub(r"\.[0-9a-f]{16}\.npy$", ".npy", n) for n in names] == \
        ["gradients.W.npy", "gradients.t.npy", "values.t.npy"]
    for name in names:  # each named by the first 16 hex digits of its bytes' SHA-256
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert name.endswith(f".{digest[:16]}.npy")
    doc = yaml.safe_load(path.read_text())
    entry = doc["values"]["t"]
    values_t = next(n for n in names if n.startswith("values.t."))
    t = results.values["t"]  # what was computed, bit for bit
    np.testing.assert_allclose(t, np.tanh(results.values["W"]), rtol=1e-15)
    assert entry["file"] == f"big.results.arrays/{values_t}"
    assert (entry["shape"], entry["dtype"]) == ([50, 40], "float64")
    assert (entry["min"], entry["max"]) == (t.min(), t.max())
    assert entry["mean"] == pytest.approx(t.mean(), rel=1e-12)
    assert entry["norm"] == pytest.approx(np.linalg.norm(t), rel=1e-12)
    assert np.array_equal(np.load(folder / values_t), t)
    assert doc["values"]["c"] == [float(np.sum(t)), 2 * float(np.sum(t))]  # small: inline
    back = read_results(str(path))
    assert np.array_equal(back.entries["values.t"].value, t)
    assert back.entries["values.t"].line == path.read_text().splitlines().index(
        [line for line in path.read_text().splitlines() if line.startswith("  t:")][0]) + 1


def test_stale_sidecars_are_removed(tmp_path):
    path = tmp_path / "big.results.yaml"
    write_results(str(path), run_text(BIG), threshold=10)
    assert not [n for n in os.listdir(tmp_path / "big.results.arrays")
                if n.startswith("values.c.")]  # 2 elements
    write_results(str(path), run_text(BIG), threshold=10**6)
    assert sorted(os.listdir(tmp_path)) == ["big.results.yaml"]
    assert "file:" not in path.read_text()


def test_a_failed_sidecar_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.npy"
    files.write_array(str(path), np.arange(3.0))
    before = path.read_bytes()
    assert np.array_equal(np.load(path), np.arange(3.0))

    def broken(fd):  # the data went into the temporary file; making it durable fails
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        files.write_array(str(path), np.arange(5.0))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["a.npy"]


def test_a_million_elements_are_read_from_the_sidecar_not_from_yaml(tmp_path):
    results = run_text("graphrun: 1\nparams:\n  W: {init: uniform, shape: [1000, 1000], seed: 1}\n"
                       "nodes:\n  L: {op: sum, args: [W]}\nloss: L\n")
    path = tmp_path / "m.results.yaml"
    write_results(str(path), results)
    assert path.stat().st_size < 1000  # the YAML holds the entry, not the numbers
    back = read_results(str(path))
    assert np.array_equal(back.entries["gradients.W"].value, np.ones((1000, 1000)))


def test_output_is_byte_identical_across_processes(tmp_path, root):
    outputs = []
    for run in ("one", "two"):
        folder = tmp_path / run
        proc = subprocess.run([sys.executable, "-m", "graphrun", "run", f"{root}/graphs",
                               "-o", str(folder), "--sidecar-threshold", "5"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        files = sorted(os.path.relpath(os.path.join(d, f), folder)
                       for d, _, fs in os.walk(folder) for f in fs)
        outputs.append({f: (folder / f).read_bytes() for f in files})
    assert outputs[0] == outputs[1]
    assert any(f.endswith(".npy") for f in outputs[0])


def test_reading_a_broken_results_file_names_the_line(tmp_path):
    path = tmp_path / "r.yaml"
    cases = {
        "values:\n  u: 1.0\n": (1, "not a graphrun results file"),
        "graphrun: 1\nvalues:\n  u: [1.0, [2.0]]\n": (3, "rectangular"),
        "graphrun: 1\nvalues:\n  u: {file: ../x.npy}\n": (3, "inside the results file's folder"),
        "graphrun: 1\nvalues:\n  u: {file: gone.npy}\n": (3, "does not exist"),
        "graphrun: 1\nvalues:\n  u: 1.0\n  u: 2.0\n": (4, "duplicate key"),
        "graphrun: 1\nvalues: &a\n  u: 1.0\n": (2, "anchors"),
    }
    for text, (line, message) in cases.items():
        path.write_text(text)
        with pytest.raises(GraphError) as info:
            read_results(str(path))
        (problem,) = info.value.problems
        assert problem.pos[0] == line and message in problem.message, text


def test_a_sidecar_that_disagrees_with_its_entry_is_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 3)))
    path = tmp_path / "r.yaml"
    path.write_text("graphrun: 1\nvalues:\n  u: {file: x.npy, shape: [3, 2], dtype: float64}\n")
    with pytest.raises(GraphError, match=r"holds shape \[2, 3\]; the entry says \[3, 2\]"):
        read_results(str(path))


# --- graphrun run with several graphs --------------------------------------------------------

def test_one_graph_to_stdout_is_unchanged(root):
    code, out, err = call("run", f"{root}/graphs/simple.yaml")
    assert (code, err) == (0, "")
    assert out == open(f"{root}/tests/golden/simple.results.yaml").read()


def test_a_folder_of_graphs_to_stdout_is_one_document_per_graph(root):
    code, out, err = call("run", f"{root}/graphs")
    assert (code, err) == (0, "")
    graphs = sorted(f for f in os.listdir(f"{root}/graphs") if f.endswith(".yaml")
                    and not is_library_file(f"{root}/graphs/{f}"))  # layers.yaml: blocks only
    documents = list(yaml.safe_load_all(out))
    assert len(documents) == len(graphs)
    assert [line for line in out.splitlines() if line.startswith("---")] == \
        [f"--- # {root}/graphs/{g}" for g in graphs]
    simple = documents[graphs.index("simple.yaml")]
    assert simple["gradients"]["w"] == 40.0


def test_several_graphs_into_a_folder(root, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("graphrun: 1\nnodes:\n  a: {op: nope, args: []}\n")
    out_dir = tmp_path / "out"
    code, out, err = call("run", f"{root}/graphs/simple.yaml", str(bad),
                          f"{root}/graphs/mlp.yaml", "-o", str(out_dir))
    assert code == 2 and out == "" and f"{bad}:3:" in err
    assert sorted(os.listdir(out_dir)) == ["mlp.results.yaml", "simple.results.yaml"]
    assert (out_dir / "simple.results.yaml").read_text() == \
        open(f"{root}/tests/golden/simple.results.yaml").read()


def test_two_graphs_with_one_stem_cannot_share_a_results_file(root, tmp_path):
    (tmp_path / "simple.yaml").write_text(open(f"{root}/graphs/simple.yaml").read())
    code, _, err = call("run", f"{root}/graphs/simple.yaml", str(tmp_path / "simple.yaml"),
                        "-o", str(tmp_path / "out"))
    assert code == 2 and "would both write" in err


def test_an_empty_folder_is_a_usage_error(tmp_path):
    code, _, err = call("run", str(tmp_path))
    assert code == 2 and "no graph files" in err


def test_one_graph_into_an_existing_folder_gets_the_documented_name(root, tmp_path):
    code, out, err = call("run", f"{root}/graphs/simple.yaml", "-o", str(tmp_path))
    assert (code, out, err) == (0, "", "")
    assert os.listdir(tmp_path) == ["simple.results.yaml"]


def test_several_graphs_cannot_go_to_one_file(root, tmp_path):
    target = tmp_path / "out.yaml"
    target.write_text("previous\n")
    code, _, err = call("run", f"{root}/graphs", "-o", str(target))
    assert code == 2 and "must be a folder" in err and target.read_text() == "previous\n"


def test_the_readme_s_sidecar_example_is_what_graphrun_writes(root, tmp_path):
    # within the documented tolerance, not byte for byte: another BLAS kernel changes the last bits
    # of h's numbers, and with them the digest that names its sidecar (docs/format.md)
    assert call(f"{root}/graphs/mlp.yaml", "-o", str(tmp_path / "mlp.results.yaml"),
                "--sidecar-threshold", "10")[0] == 0
    line = next(x for x in (tmp_path / "mlp.results.yaml").read_text().splitlines()
                if x.startswith("  h: "))  # in values
    readme = open(f"{root}/README.md", encoding="utf-8").read()
    shown = re.search(r"```yaml\n(  h: \{file: .*\})\n```", readme).group(1)
    entry = re.compile(r"  h: \{file: mlp\.results\.arrays/values\.h\.[0-9a-f]{16}\.npy, "
                       r"shape: \[6, 4\], dtype: float64, min: (\S+), max: (\S+), mean: (\S+), "
                       r"norm: (\S+)\}\Z")
    ours, theirs = entry.match(line), entry.match(shown)
    assert ours and theirs, (line, shown)
    assert np.allclose([float(v) for v in ours.groups()], [float(v) for v in theirs.groups()],
                       rtol=1e-9, atol=1e-12)
    name = line.split("file: ")[1].split(",")[0]
    assert os.path.exists(tmp_path / name)
    shown_name = shown.split("file: ")[1].split(",")[0]
    assert f"`out/{shown_name}`" in readme


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_printing_streams_the_same_text_in_bounded_pieces(monkeypatch, dtype):
    # what `graphrun run` prints goes out piece by piece (results/writer.py write_text): the
    # same text as results_text, no piece holding more than _PIECE elements of a tensor
    from graphrun.results import writer
    monkeypatch.setattr(writer, "_PIECE", 50)  # small, so that a test-sized tensor is "big"
    n = 3 * 7 * 11
    text = (f"graphrun: 1\ninputs:\n  x: {{init: uniform, shape: [3, 7, 11], seed: 4, "
            f"dtype: {dtype}}}\n  v: {{init: normal, shape: [{n}], seed: 5, dtype: {dtype}}}\n"
            "nodes:\n  y: {op: tanh, args: [x]}\n  w: {op: exp, args: [v]}\n"
            "  b: {op: gt, args: [v, 0.0]}\n  z: {op: mul, args: [w, 1.0e308]}\n")
    import graphrun
    from conftest import compile_text
    results = graphrun.run(compile_text(text), check_finite=False)
    whole = results_text(results)
    pieces = list(writer.pieces(results))
    assert "".join(pieces) == whole
    assert len(pieces) > 10
    assert max(piece.count(",") for piece in pieces) <= 50
    assert ".inf" in whole and "true" in whole  # non-finite and boolean tensors streamed too

    class Sink:
        def __init__(self):
            self.parts = []

        def write(self, piece):
            self.parts.append(piece)
    sink = Sink()
    results.print_to(sink)
    assert "".join(sink.parts) == whole
