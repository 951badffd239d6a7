"""The CLI as ruff and check-jsonschema users expect it: mistyped commands, stdin, --quiet,
--color, usage errors that name the subcommand's help, -o DIR/, folders everywhere, graph and
results files told apart; check's GitHub output within GitHub's limits and its step summary; stale
goldens; shards."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

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
def project(tmp_path):
    """graphs/ with three graphs and golden/ with their goldens."""
    graphs, golden = tmp_path / "graphs", tmp_path / "golden"
    graphs.mkdir()
    for i in range(3):
        (graphs / f"g{i}.yaml").write_text(SIMPLE.replace("x: 2", f"x: {i + 2}"))
    assert call("check", str(graphs), "--golden", f"{golden}/", "--update")[0] == 0
    return tmp_path


class _Stdin:
    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


# --- commands ------------------------------------------------------------------------------------

def test_a_mistyped_command_is_an_error_that_runs_nothing(root, monkeypatch):
    monkeypatch.chdir(root)
    code, out, err = call("valdate", "graphs/simple.yaml")
    assert (code, out) == (2, "")
    assert err == "graphrun: error: unknown command 'valdate'; did you mean 'validate'? " \
                  "(see 'graphrun --help')\n"
    code, out, err = call("chek", "graphs/", "--golden", "g/")
    assert (code, out) == (2, "") and "did you mean 'check'?" in err and "--golden" not in err
    code, _, err = call("frobnicate")
    assert code == 2 and "unknown command 'frobnicate' (commands: run, check" in err
    # a file that exists runs, whatever it is called; a graph file that is missing says so
    assert call("graphs/simple.yaml")[0] == 0
    code, _, err = call("nothere.yaml")
    assert code == 2 and err == "nothere.yaml:1:1: error: no such file\n"


def test_a_file_named_like_a_command_still_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chek").write_text(SIMPLE)
    code, out, _ = call("chek")
    assert code == 0 and "loss: 100.0" in out


def test_usage_errors_name_the_subcommands_help(root):
    code, _, err = call("check", f"{root}/graphs/simple.yaml", "--bogus", "1", "--golden", "x")
    assert code == 2
    assert err == "graphrun: error: unrecognized arguments: --bogus 1 " \
                  "(see 'graphrun check --help')\n"
    code, _, err = call("check", f"{root}/graphs/simple.yaml")
    assert code == 2 and "--golden (see 'graphrun check --help')" in err
    code, _, err = call("diff", "a")
    assert code == 2 and "(see 'graphrun diff --help')" in err


# --- stdin ---------------------------------------------------------------------------------------

def test_dash_reads_a_graph_from_stdin(root, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin(SIMPLE.encode()))
    code, out, err = call("-")
    assert (code, err) == (0, "") and out == open(f"{root}/tests/golden/simple.results.yaml").read()
    monkeypatch.setattr(sys, "stdin", _Stdin(SIMPLE.encode()))
    assert call("validate", "-") == (0, "1 graph valid\n", "")
    monkeypatch.setattr(sys, "stdin", _Stdin(SIMPLE.encode()))
    assert call("check", "-", "--golden", f"{root}/tests/golden/simple.results.yaml")[0] == 0
    monkeypatch.setattr(sys, "stdin", _Stdin(SIMPLE.replace("op: add", "op: ad").encode()))
    code, _, err = call("run", "-")
    assert code == 2 and err.startswith("<stdin>:7:11: error: unknown op 'ad'")
    code, _, err = call("run", "-", "-")
    assert code == 2 and "'-' (standard input) can be given once" in err


def test_dash_in_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "graphrun", "run", "-", "-o", f"{tmp_path}/"],
                          input=SIMPLE, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load((tmp_path / "stdin.results.yaml").read_text())["loss"] == 100.0


# --- quiet and colour ----------------------------------------------------------------------------

def test_quiet_prints_only_what_failed(project):
    graphs, golden = project / "graphs", project / "golden"
    assert call("check", str(graphs), "--golden", str(golden), "-q") == (0, "", "")
    assert call("validate", str(graphs), "--quiet") == (0, "", "")
    (graphs / "g1.yaml").write_text(SIMPLE.replace("w: 3", "w: 4"))
    code, out, _ = call("check", str(graphs), "--golden", str(golden), "-q")
    assert code == 1 and out.startswith(f"FAIL    {graphs}/g1.yaml: ") and "g0" not in out
    assert "graphs checked" not in out
    a = str(golden / "g0.results.yaml")
    assert call("diff", a, a, "-q") == (0, "", "")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("flag, env, terminal, coloured", [
    ("auto", {}, False, False), ("auto", {}, True, True),
    ("auto", {"NO_COLOR": "1"}, True, False), ("auto", {"FORCE_COLOR": "1"}, False, True),
    ("auto", {"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),  # NO_COLOR wins
    ("auto", {"FORCE_COLOR": ""}, False, False),  # empty means unset
    ("always", {"NO_COLOR": "1"}, False, True), ("never", {"FORCE_COLOR": "1"}, True, False),
])
def test_color(project, monkeypatch, flag, env, terminal, coloured):
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = _Terminal() if terminal else io.StringIO()
    main(["check", str(project / "graphs"), "--golden", str(project / "golden"), "--color", flag],
         out, io.StringIO())
    assert ("\x1b[" in out.getvalue()) == coloured


# --- outputs, folders, kinds of file ---------------------------------------------------------------

def test_dash_o_dir_slash_makes_the_folder_for_one_graph_and_for_several(project, root):
    target = project / "new" / "deeper"
    assert call(f"{root}/graphs/simple.yaml", "-o", f"{target}/") == (0, "", "")
    assert os.listdir(target) == ["simple.results.yaml"]
    target = project / "many"
    assert call("run", str(project / "graphs"), "-o", f"{target}/")[0] == 0
    assert sorted(os.listdir(target)) == ["g0.results.yaml", "g1.results.yaml", "g2.results.yaml"]
    # a file in a missing folder is still an error: only a name ending in / says "a folder"
    code, _, err = call(f"{root}/graphs/simple.yaml", "-o", str(project / "none" / "out.yaml"))
    assert code == 2 and "does not exist" in err and not (project / "none").exists()


def test_gradcheck_takes_folders(project):
    code, out, err = call("gradcheck", str(project / "graphs"), "-q")
    assert (code, out, err) == (0, "", "")
    code, out, _ = call("gradcheck", str(project / "graphs"))
    assert code == 0 and out.count("graphs/g") >= 3


def test_folders_take_only_graph_files(project):
    graphs = project / "graphs"
    (graphs / "ci.yaml").write_text("jobs: {test: {runs-on: ubuntu-latest}}\n")
    (graphs / "layers.yaml").write_text(
        "graphrun: 1\nblocks:\n  twice:\n    args: [x]\n    nodes:\n      y: x * 2\n"
        "    output: y\n")
    # validate checks a library of blocks too; run and check pass it by, and the CI config
    assert call("validate", str(graphs)) == (0, "4 graphs valid\n", "")
    code, out, _ = call("run", str(graphs))
    assert code == 0 and out.count("--- # ") == 3 and "layers" not in out
    code, _, err = call("validate", str(project / "golden"))
    assert code == 2 and "no graph files" in err


def test_graph_files_and_results_files_are_told_apart(project):
    graph, golden = project / "graphs" / "g0.yaml", project / "golden" / "g0.results.yaml"
    code, _, err = call("diff", str(graph), str(golden))
    assert code == 2
    assert err.startswith(f"{graph}:5:1: error: this is a graph file, not a results file")
    code, _, err = call("check", str(golden), "--golden", str(golden))
    assert code == 2
    assert err.startswith(f"{golden}:1:1: error: this is a results file, not a graph file")
    assert call("run", str(golden))[0] == 2
    # a golden that is a graph file is never written over
    other = project / "graphs" / "g1.yaml"
    before = other.read_text()
    code, out, err = call("check", str(graph), "--golden", str(other), "--update")
    assert code == 2 and "it is a graph file, not a results file" in err
    assert other.read_text() == before and out == ""


# --- GitHub ----------------------------------------------------------------------------------------

ANNOTATION = re.compile(r"::(error|notice) file=([^,]+),line=(\d+),col=(\d+)(?:,title=[^:]*)?::(.*)")


def test_github_annotations_stay_within_what_github_shows(tmp_path):
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    for i in range(15):
        (graphs / f"g{i:02d}.yaml").write_text(SIMPLE)
    golden = tmp_path / "golden"
    assert call("check", str(graphs), "--golden", f"{golden}/", "--update")[0] == 0
    for i in range(15):
        (graphs / f"g{i:02d}.yaml").write_text(SIMPLE.replace("x: 2", "x: 2.5"))
    code, out, _ = call("check", str(graphs), "--golden", str(golden), "--format", "github")
    lines = out.splitlines()
    assert code == 1 and len(lines) == 10 and all(ANNOTATION.fullmatch(x) for x in lines)
    assert "... and 6 more errors not shown here (GitHub shows 10 per step)" in lines[-1]
    # the nine shown are each one graph's worst entry, at the graph file's line of that node
    for i, line in enumerate(lines[:9]):
        m = ANNOTATION.fullmatch(line)
        assert m.group(2) == f"{graphs}/g{i:02d}.yaml"
        assert "entries differ from" in m.group(5)


def test_the_step_summary_is_appended_as_markdown(project, monkeypatch):
    graphs, golden = project / "graphs", project / "golden"
    (graphs / "g2.yaml").write_text(SIMPLE.replace("b: 4", "b: 5"))
    summary = project / "summary.md"
    summary.write_text("# earlier steps\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = call("check", str(graphs), "--golden", str(golden), "--format", "github")
    assert code == 1 and len(out.splitlines()) == 1
    text = summary.read_text()
    assert text.startswith("# earlier steps\n## graphrun check: 3 graphs checked: 2 ok, 1 differ")
    assert f"### `{graphs}/g2.yaml`" in text
    rows = [line for line in text.splitlines() if line.startswith("| `gradients.b`")]
    assert len(rows) == 1 and "`22.0`" in rows[0]  # g2 is now x: 2, b: 5: 2 (3 * 2 + 5)
    # without --format github nothing is written there
    before = summary.read_text()
    call("check", str(graphs), "--golden", str(golden))
    assert summary.read_text() == before


@pytest.mark.parametrize("where", ["folder", "device", "missing folder", "the graph",
                                   "a golden"])
def test_a_hostile_step_summary_is_an_error_and_nothing_is_written(project, monkeypatch, where):
    graphs, golden = project / "graphs", project / "golden"
    path = {"folder": str(project), "device": "/dev/null",
            "missing folder": str(project / "no" / "summary.md"),
            "the graph": str(graphs / "g0.yaml"),
            "a golden": str(golden / "g1.results.yaml")}[where]
    (graphs / "g1.yaml").write_text(SIMPLE.replace("w: 3", "w: 5"))
    snapshot = {p: open(p, "rb").read() for p in map(str, graphs.iterdir())}
    snapshot.update({str(p): p.read_bytes() for p in golden.iterdir()})
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", path)
    code, out, err = call("check", str(graphs), "--golden", str(golden), "--format", "github",
                          "--update")
    assert code == 2 and out == "" and err.startswith("graphrun: error: $GITHUB_STEP_SUMMARY: ")
    assert "nothing was run or written" in err
    assert {p: open(p, "rb").read() for p in snapshot} == snapshot  # not even --update's golden
    assert not (project / "no").exists()


# --- stale goldens, shards -------------------------------------------------------------------------

def test_stale_goldens_fail_a_folder_check_and_update_removes_them(project):
    graphs, golden = project / "graphs", project / "golden"
    (graphs / "g2.yaml").unlink()
    code, out, _ = call("check", str(graphs), "--golden", str(golden))
    assert code == 1
    assert f"FAIL    {golden}/g2.results.yaml: a golden file whose graph is gone" in out
    assert "2 graphs checked: 2 ok, 1 stale goldens" in out
    code, out, _ = call("check", str(graphs), "--golden", str(golden), "--format", "json")
    stale = [g for g in json.loads(out)["graphs"] if g["status"] == "stale"]
    assert [g["golden"] for g in stale] == [f"{golden}/g2.results.yaml"] and not stale[0]["graph"]
    # naming graph files is not a folder check: nothing is known to be stale
    assert call("check", str(graphs / "g0.yaml"), str(graphs / "g1.yaml"), "--golden",
                str(golden))[0] == 0
    code, out, _ = call("check", str(graphs), "--golden", str(golden), "--update")
    assert code == 0 and "1 stale goldens removed" in out
    assert sorted(os.listdir(golden)) == ["g0.results.yaml", "g1.results.yaml"]


def test_stale_goldens_with_their_sidecars_are_removed_and_nothing_else(tmp_path):
    graphs, golden = tmp_path / "graphs", tmp_path / "golden"
    graphs.mkdir()
    (graphs / "big.yaml").write_text(
        "graphrun: 1\nparams:\n  W: {init: normal, shape: [40, 30], seed: 3}\n"
        "nodes:\n  t: {op: tanh, args: [W]}\n  L: {op: sum, args: [t]}\nloss: L\n")
    (graphs / "keep.yaml").write_text(SIMPLE)
    assert call("check", str(graphs), "--golden", f"{golden}/", "--update")[0] == 0
    (golden / "big.results.arrays" / "mine.txt").write_text("not graphrun's")
    (golden / "notes.results.yaml").write_text("written by hand\n")  # not graphrun's either
    (graphs / "big.yaml").unlink()
    code, _, err = call("check", str(graphs), "--golden", str(golden), "--update")
    assert code == 2 and "notes.results.yaml" in err and "left alone" in err
    assert sorted(os.listdir(golden / "big.results.arrays")) == ["mine.txt"]
    assert (golden / "notes.results.yaml").exists()


def test_a_stale_golden_without_permission_is_an_error_and_nothing_is_written(project,
                                                                             monkeypatch):
    graphs, golden = project / "graphs", project / "golden"
    (graphs / "g2.yaml").unlink()
    (graphs / "g0.yaml").write_text(SIMPLE.replace("w: 3", "w: 6"))
    before = {p.name: p.read_bytes() for p in golden.iterdir()}
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if os.path.samefile(
        path, golden) else real(path, mode, **kw))
    code, out, err = call("check", str(graphs), "--golden", str(golden), "--update")
    assert code == 2 and out == ""
    assert "cannot remove the stale golden file" in err and "nothing was run or written" in err
    assert {p.name: p.read_bytes() for p in golden.iterdir()} == before


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to run the check as another user")
def test_a_stale_golden_folder_that_is_not_writable_for_a_real_user():
    folder = tempfile.mkdtemp()
    try:
        os.chmod(folder, 0o755)
        graphs, golden = os.path.join(folder, "graphs"), os.path.join(folder, "golden")
        os.mkdir(graphs)
        with open(os.path.join(graphs, "a.yaml"), "w") as f:
            f.write(SIMPLE)
        assert call("check", graphs, "--golden", golden + "/", "--update")[0] == 0
        shutil.copy(os.path.join(golden, "a.results.yaml"), os.path.join(golden, "b.results.yaml"))
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               sys.executable, "-m", "graphrun", "check", graphs, "--golden",
                               golden, "--update"], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, HOME=folder))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "no permission to change the folder" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert sorted(os.listdir(golden)) == ["a.results.yaml", "b.results.yaml"]
    finally:
        shutil.rmtree(folder)


def test_shards_split_the_graphs_between_ci_jobs(project):
    graphs, golden = project / "graphs", project / "golden"
    seen = []
    for i in (1, 2):
        code, out, _ = call("check", str(graphs), "--golden", str(golden), "--shard", f"{i}/2",
                            "--format", "json")
        assert code == 0
        seen += [g["graph"] for g in json.loads(out)["graphs"]]
    assert sorted(seen) == sorted(f"{graphs}/g{i}.yaml" for i in range(3))
    code, _, err = call("check", str(graphs), "--golden", str(golden), "--shard", "3/2")
    assert code == 2 and "expected I/N with 1 <= I <= N" in err


def test_text_shows_the_worst_rows_and_summarises_the_rest(tmp_path):
    nodes = "".join(f"  n{i}: {{op: mul, args: [{'w' if i == 0 else f'n{i - 1}'}, 1.0]}}\n"
                    for i in range(30))
    text = f"graphrun: 1\nparams: {{w: 3}}\nnodes:\n{nodes}loss: n29\n"
    path = tmp_path / "chain.yaml"
    path.write_text(text)
    golden = tmp_path / "chain.results.yaml"
    assert call("check", str(path), "--golden", str(golden), "--update")[0] == 0
    path.write_text(text.replace("w: 3", "w: 4"))
    code, out, _ = call("check", str(path), "--golden", str(golden))
    lines = out.splitlines()
    assert code == 1 and lines[0].startswith(f"FAIL    {path}: 31 entries differ from {golden}; "
                                             "largest abs error 1 (")
    rows = [x for x in lines if re.match(r"  (values|gradients|loss)", x)]
    assert len(rows) == 10
    assert "  ... and 21 more entries (--max-rows 0 shows all" in out
    code, out, _ = call("check", str(path), "--golden", str(golden), "--max-rows", "0")
    assert len([x for x in out.splitlines() if re.match(r"  (values|gradients|loss)", x)]) == 31
