"""The pytest plugin, through pytest itself (a subprocess in a project folder, as a user runs it),
serial and under pytest-xdist."""

import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

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
INI = '[tool.pytest.ini_options]\ntestpaths = ["graphs"]\ngraphrun_golden = "golden"\n'


@pytest.fixture
def project(tmp_path, root):
    """graphs/simple.yaml with its golden in golden/, and a pyproject.toml that configures the
    plugin."""
    (tmp_path / "graphs").mkdir()
    (tmp_path / "golden").mkdir()
    (tmp_path / "graphs" / "simple.yaml").write_text(SIMPLE)
    shutil.copy(f"{root}/tests/golden/simple.results.yaml", tmp_path / "golden")
    (tmp_path / "pyproject.toml").write_text(INI)
    return tmp_path


def _pytest(folder, *args):
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "graphrun.pytest_plugin",
                           "-p", "no:cacheprovider", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)


def _xdist():
    try:
        import xdist  # noqa: F401
    except ImportError:
        pytest.skip("pytest-xdist is not installed (it is in the test extra: "
                    "pip install -e '.[test]')")
    return ["-p", "xdist.plugin", "-n", "2"]


def test_the_plugin_is_registered_as_a_pytest_entry_point():
    from importlib.metadata import entry_points

    assert any(e.value == "graphrun.pytest_plugin" for e in entry_points(group="pytest11"))


def test_the_plugin_does_nothing_until_configured(project):
    (project / "pyproject.toml").unlink()
    proc = _pytest(project, "graphs")
    assert proc.returncode == 5 and "no tests ran" in proc.stdout  # 5: nothing collected


def test_every_graph_is_collected_and_a_missing_golden_fails_with_the_command_that_makes_it(
        project):
    (project / "graphs" / "new.yaml").write_text(SIMPLE)
    proc = _pytest(project, "-v")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "graphs/simple.yaml::golden PASSED" in proc.stdout
    assert "graphs/new.yaml::golden FAILED" in proc.stdout
    assert "no golden file golden/new.results.yaml; create it with: pytest --graphrun-update " \
           "graphs/new.yaml" in proc.stdout
    assert not (project / "golden" / "new.results.yaml").exists()  # nothing written unasked
    # a graph named on the command line is collected too
    proc = _pytest(project, "graphs/new.yaml")
    assert proc.returncode == 1 and "1 failed" in proc.stdout
    proc = _pytest(project, "--graphrun-update")
    assert proc.returncode == 0, proc.stdout
    assert "graphrun: 1 created, 0 updated, 1 unchanged" in proc.stdout
    assert (project / "golden" / "new.results.yaml").exists()
    assert _pytest(project).returncode == 0


def test_a_difference_fails_with_the_table_and_update_accepts_it(project):
    (project / "graphs" / "simple.yaml").write_text(SIMPLE.replace("w: 3", "w: 2"))
    proc = _pytest(project)
    assert proc.returncode == 1
    # L = (2*2 + 4)^2 = 64; dL/dw = 2 (w x + b) x = 32
    assert "graphs/simple.yaml: 8 entries differ from golden/simple.results.yaml" in proc.stdout
    assert re.search(r"gradients\.w\s+40\.0\s+32\.0", proc.stdout)
    assert "largest abs error 36 (loss)" in proc.stdout and "--graphrun-update" in proc.stdout
    proc = _pytest(project, "--graphrun-update")
    assert proc.returncode == 0 and "graphrun: 0 created, 1 updated, 0 unchanged" in proc.stdout
    assert _pytest(project).returncode == 0


def test_the_golden_folder_can_be_given_on_the_command_line(project):
    (project / "pyproject.toml").unlink()
    (project / "graphs" / "simple.yaml").write_text(SIMPLE.replace("x: 2", "x: 1"))
    proc = _pytest(project, "graphs", "--graphrun-golden", "golden")
    assert proc.returncode == 1 and "graphs/simple.yaml::golden" in proc.stdout
    assert re.search(r"gradients\.w\s+40\.0\s+14\.0", proc.stdout)  # 2 (3*1 + 4) * 1


def test_an_invalid_graph_is_a_failing_item_with_its_located_errors(project):
    (project / "graphs" / "bad.yaml").write_text(SIMPLE.replace("op: square", "op: squar"))
    proc = _pytest(project, "-v")
    assert proc.returncode == 1
    assert "graphs/bad.yaml::golden FAILED" in proc.stdout
    assert "graphs/bad.yaml:8:11: error: unknown op 'squar'; did you mean 'square'?" in proc.stdout
    assert "Traceback" not in proc.stdout


def test_files_that_are_not_graphs_are_not_collected(project):
    graphs = project / "graphs"
    (graphs / "ci.yaml").write_text("jobs:\n  test:\n    runs-on: ubuntu-latest\n")
    (graphs / "layers.yaml").write_text("graphrun: 1\nblocks:\n  dense: {}\n")  # a library
    (graphs / "out.yaml").write_text("graphrun: 1\ngraph: g\nvalues:\n  u: 1.0\n")  # results
    (graphs / "simple.results.yaml").write_text("graphrun: 1\ngraph: g\nvalues: {}\n")
    (graphs / "notes.txt").write_text("graphrun: 1\nnodes: {}\n")
    # a broken graph that misspells `nodes` is still a graph: it fails rather than vanishing
    (graphs / "typo.yaml").write_text(SIMPLE.replace("nodes:", "node:"))
    proc = _pytest(project, "-v")
    collected = sorted(re.findall(r"^(\S+)::\w+ (?:PASSED|FAILED)", proc.stdout, re.M))
    assert collected == ["graphs/simple.yaml", "graphs/typo.yaml"], proc.stdout


def test_a_stale_golden_fails_on_a_full_run_and_update_removes_it(project):
    shutil.copy(project / "golden" / "simple.results.yaml", project / "golden" / "old.results.yaml")
    proc = _pytest(project, "-v")
    assert proc.returncode == 1
    assert "golden/old.results.yaml::stale FAILED" in proc.stdout
    assert "golden/old.results.yaml: a golden file whose graph is gone" in proc.stdout
    # naming a path is not a full run: nothing is known to be stale then
    assert _pytest(project, "graphs/simple.yaml").returncode == 0
    proc = _pytest(project, "--graphrun-update")
    assert proc.returncode == 0 and "1 removed" in proc.stdout
    assert sorted(os.listdir(project / "golden")) == ["simple.results.yaml"]
    assert _pytest(project).returncode == 0


def test_graphs_that_would_share_a_golden_both_fail(project):
    (project / "graphs" / "more").mkdir()
    (project / "graphs" / "more" / "simple.yaml").write_text(SIMPLE)
    proc = _pytest(project)
    assert proc.returncode == 1 and "2 failed" in proc.stdout
    assert "need different file names" in proc.stdout


def test_the_options_of_check(project):
    graph = project / "graphs" / "simple.yaml"
    graph.write_text(SIMPLE.replace("w: 3", "w: 3.000001"))  # relative changes around 1e-7
    assert _pytest(project).returncode == 1  # the default tolerance is tight
    assert _pytest(project, "--graphrun-rtol", "1e-5").returncode == 0
    (project / "pyproject.toml").write_text(INI + 'graphrun_rtol = "1e-5"\n')
    assert _pytest(project).returncode == 0
    assert _pytest(project, "--graphrun-rtol", "0").returncode == 1  # the command line wins
    # nan: an error unless allowed
    graph.write_text("graphrun: 1\ninputs:\n  x: [-1.0, 4.0]\nnodes:\n  y: {op: log, args: [x]}\n")
    proc = _pytest(project)
    assert proc.returncode == 1
    assert "graphs/simple.yaml:5:6: error: node 'y' (log): forward produced nan at index [0]; " \
           "use --graphrun-allow-nonfinite to keep it anyway" in proc.stdout
    proc = _pytest(project, "--graphrun-allow-nonfinite", "--graphrun-update")
    assert proc.returncode == 0 and "1 updated" in proc.stdout
    assert _pytest(project, "--graphrun-allow-nonfinite").returncode == 0


def test_under_xdist_results_counts_and_failures_are_the_same(project):
    xdist = _xdist()
    for i in range(6):
        (project / "graphs" / f"g{i}.yaml").write_text(SIMPLE.replace("w: 3", f"w: {i}"))
    proc = _pytest(project, *xdist)
    assert proc.returncode == 1 and "6 failed, 1 passed" in proc.stdout, proc.stdout
    proc = _pytest(project, *xdist, "--graphrun-update")
    assert proc.returncode == 0, proc.stdout
    assert "graphrun: 6 created, 0 updated, 1 unchanged" in proc.stdout  # from both workers
    assert _pytest(project, *xdist).returncode == 0


def test_each_xdist_worker_keeps_blas_to_its_share_of_the_cores(project):
    xdist = _xdist()
    (project / "pyproject.toml").write_text(INI.replace('["graphs"]', '["graphs", "checks"]'))
    (project / "checks").mkdir()
    (project / "checks" / "test_threads.py").write_text(textwrap.dedent("""\
        import os
        import numpy
        from graphrun import blas

        def test_threads():
            share = max(1, blas.cores() // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
            assert os.environ["OPENBLAS_NUM_THREADS"] == str(share)
            assert blas.threads() in (share, None)  # None: a numpy without OpenBLAS
        """))
    proc = _pytest(project, *xdist)
    assert proc.returncode == 0 and "2 passed" in proc.stdout, proc.stdout
