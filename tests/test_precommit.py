"""The pre-commit hook (.pre-commit-hooks.yaml), through pre-commit itself, in a git repository
made for the test: graph files are checked, other YAML is left alone, results files are skipped,
and a changed .npy checks the graphs that read it."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml

GOOD = textwrap.dedent("""\
    graphrun: 1
    params: {w: 3}
    nodes:
      u: {op: square, args: [w]}
    loss: u
    """)
USES_DATA = textwrap.dedent("""\
    graphrun: 1
    inputs:
      X: {file: data/x.npy}
    params:
      w: [1.0, 2.0]
    nodes:
      y: {op: matmul, args: [X, w]}
      L: {op: sum, args: [y]}
    loss: L
    """)


def _pre_commit():
    """pre-commit, installed into this environment if need be; the test is skipped (saying how
    to run it) when it cannot be had, e.g. offline."""
    try:
        import pre_commit  # noqa: F401
        return
    except ImportError:
        pass
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pre-commit"],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip("pre-commit is not installed and could not be installed (offline?): "
                    "pip install pre-commit, then run this test again")
    import importlib
    importlib.invalidate_caches()


@pytest.fixture
def repo(tmp_path, root):
    _pre_commit()
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (hook,) = yaml.safe_load(open(f"{root}/.pre-commit-hooks.yaml"))
    command = hook["entry"].split()
    assert command[0] == "graphrun"
    # the shipped hook as it is (files, exclude, arguments), run by this environment's graphrun
    # (language: python would build a virtualenv from the repository's last commit)
    local = dict(hook, language="system",
                 entry=" ".join([sys.executable, "-m", "graphrun"] + command[1:]))
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (tmp_path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    graphs = tmp_path / "graphs"
    (graphs / "data").mkdir(parents=True)
    (graphs / "good.yaml").write_text(GOOD)
    (graphs / "uses_data.yaml").write_text(USES_DATA)
    np.save(graphs / "data" / "x.npy", np.ones((3, 2)))
    (graphs / "ci.yaml").write_text("jobs: {test: {runs-on: ubuntu-latest}}\n")  # not a graph
    (tmp_path / "golden").mkdir()
    (tmp_path / "golden" / "good.results.yaml").write_text("not: [even, results\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(git + ["init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(git + ["add", "-A"], cwd=tmp_path, check=True)
    return tmp_path


def _run(repo, *files):
    env = dict(os.environ, PRE_COMMIT_HOME=str(repo / ".cache"), PRE_COMMIT_COLOR="never")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--files", *files],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)


def test_graph_files_are_checked_and_other_yaml_is_left_alone(repo):
    proc = _run(repo, "graphs/good.yaml", "graphs/ci.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "graphrun validate" in proc.stdout and "Passed" in proc.stdout
    (repo / "graphs" / "good.yaml").write_text(GOOD.replace("op: square", "op: squar"))
    proc = _run(repo, "graphs/good.yaml", "graphs/ci.yaml")
    assert proc.returncode == 1 and "Failed" in proc.stdout
    assert "graphs/good.yaml:4:11: error: unknown op 'squar'; did you mean 'square'?" \
        in proc.stdout
    assert "ci.yaml" not in proc.stdout  # never read as a graph


def test_results_files_are_skipped(repo):
    proc = _run(repo, "golden/good.results.yaml")
    assert proc.returncode == 0 and "Skipped" in proc.stdout, proc.stdout


def test_a_changed_npy_checks_the_graphs_that_read_it(repo):
    proc = _run(repo, "graphs/data/x.npy")
    assert proc.returncode == 0 and "Passed" in proc.stdout, proc.stdout + proc.stderr
    np.save(repo / "graphs" / "data" / "x.npy", np.ones((3, 5)))  # no longer (3, 2) @ (2,)
    proc = _run(repo, "graphs/data/x.npy")
    assert proc.returncode == 1, proc.stdout
    assert "graphs/uses_data.yaml:7:" in proc.stdout and "matmul" in proc.stdout
    assert "good.yaml" not in proc.stdout  # it reads no .npy
