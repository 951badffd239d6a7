"""An output that cannot be written is a usage error before any work (issue 17): the graph is not
even read (a broken graph file is not reported), nothing is written, and exit 2."""

import os

import pytest

from conftest import call

BROKEN = "graphrun: 1\nnodes:\n  u: {op: mull, args: [x]}\n"  # would be an error if compiled


@pytest.fixture
def broken(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(BROKEN)
    return str(path)


@pytest.mark.parametrize("output, what", [
    ("missing/out.yaml", "does not exist"),
    ("file.txt/out.yaml", "is not a folder"),
    ("file.txt/sub/", "is not a folder"),
])
def test_an_unwritable_output_is_reported_before_compiling(tmp_path, broken, output, what):
    (tmp_path / "file.txt").write_text("kept")
    target = str(tmp_path / output)
    code, out, err = call("run", broken, "-o", target)
    assert code == 2 and out == ""
    assert err.startswith("graphrun: error: cannot write ") and what in err
    assert "mull" not in err  # the graph was not read
    assert sorted(os.listdir(tmp_path)) == ["file.txt", "g.yaml"]
    assert (tmp_path / "file.txt").read_text() == "kept"


def test_several_graphs_into_a_folder_under_a_file(tmp_path, broken):
    (tmp_path / "file.txt").write_text("kept")
    other = tmp_path / "h.yaml"
    other.write_text(BROKEN)
    code, _, err = call("run", broken, str(other), "-o", str(tmp_path / "file.txt" / "out"))
    assert code == 2 and "is not a folder" in err and "mull" not in err


def test_a_folder_to_be_made_is_still_made(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\ninputs: {x: 2}\nnodes:\n  u: {op: neg, args: [x]}\n")
    code, _, err = call("run", str(graph), "-o", str(tmp_path / "new" / "deeper") + "/")
    assert code == 0, err
    assert os.listdir(tmp_path / "new" / "deeper") == ["g.results.yaml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_without_permission(tmp_path, broken):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = call("run", broken, "-o", str(locked / "out.yaml"))
    assert code == 2 and "no permission" in err


@pytest.mark.parametrize("argv", [
    ["train", "{graph}", "-o", "{missing}/t.yaml"],
    ["train", "{graph}", "-o", "{missing}/"],
    ["train", "{graph}", "--plot", "{missing}/loss.svg"],
    ["draw", "{graph}", "-o", "{missing}/g.mmd"],
    ["view", "{graph}", "-o", "{missing}/g.html"],
])
def test_other_commands_check_their_outputs_first(tmp_path, broken, argv):
    missing = str(tmp_path / "missing")
    code, out, err = call(*[a.format(graph=broken, missing=missing) for a in argv])
    assert code == 2 and out == ""
    assert "cannot write" in err and "does not exist" in err and "mull" not in err, err
    assert sorted(os.listdir(tmp_path)) == ["g.yaml"]
