"""What a million-node graph is made lean by (issue 17, goal 4), checked to change no answer: the
Python-float path reads leaves as floats, paths are made when asked for, and a results file is
streamed into its temporary file instead of joined whole."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import graphrun
from graphrun import api
from graphrun.errors import NumericError
from graphrun.results import files
from graphrun.results.reader import read_results
from conftest import chain_lines


def chain(n: int, x: float = 0.3) -> str:
    return "\n".join(chain_lines(n, x) + [""])


def test_a_scalar_graph_runs_on_floats_without_an_array_per_leaf():
    graph = api.compile_text(chain(30))
    fast = api.run(graph)
    assert graph._leaves is None  # no 0-d array was made for any leaf
    reference = api.run(api.compile_text(chain(30)), fast=False)
    for name in ("x", "p0", "n0", "n29"):
        assert isinstance(fast.values[name], np.ndarray)  # the public contract: numpy
        assert fast.values[name] == pytest.approx(reference.values[name], rel=1e-12)
    for name in ("p0", "p28", "n0"):
        assert isinstance(fast.grads[name], np.ndarray)
        assert fast.grads[name] == pytest.approx(reference.grads[name], rel=1e-12)


def test_the_reference_still_runs_and_names_the_node_when_the_float_path_gives_up():
    text = ("graphrun: 1\ninputs:\n  x: 0.0\nparams:\n  w: 2.0\nnodes:\n"
            "  u: {op: mul, args: [w, x]}\n  L: {op: log, args: [u]}\nloss: L\n")
    graph = api.compile_text(text, "g.yaml")
    with pytest.raises(NumericError) as fast:
        api.run(graph)
    with pytest.raises(NumericError) as reference:
        api.run(api.compile_text(text, "g.yaml"), fast=False)
    assert str(fast.value) == str(reference.value) and "'L'" in str(fast.value)
    assert graph._leaves is not None  # made for the reference, as before


def test_given_params_and_leaves_generated_or_read_run_as_before(tmp_path):
    graph = api.compile_text(chain(9))
    assert api.run(graph, params={"p0": 2.0}).values["n0"] == pytest.approx(0.6)
    np.save(tmp_path / "x.npy", np.array(0.5))
    text = chain(9).replace("  x: 0.3", "  x: {file: x.npy}")
    (tmp_path / "g.yaml").write_text(text)
    from_file = api.run(api.compile(tmp_path / "g.yaml"))
    assert from_file.values["n0"] == pytest.approx(0.25)  # x (0.5) * p0 (0.5)
    # a 0-d .npy file is read as a 0-d array (it was made one of shape (1,))
    assert api.compile(tmp_path / "g.yaml").leaf_values()[0].shape == ()


def test_paths_made_when_asked_are_those_of_the_file():
    text = chain(6) + "  e: n5 * p0\n"
    text = text.replace("loss: n5\n", "") + "loss: e\n"
    program = api.compile_text(text).program
    paths = program.paths
    assert len(paths) == len(program.names)
    for slot, (name, kind) in enumerate(zip(program.names, program.kinds)):
        section = {"input": "inputs", "param": "params", "node": "nodes"}[kind]
        if name == "e":  # made from an expression: its path says where in it
            assert paths[slot][:2] == (section, name) and len(paths[slot]) == 3
        else:
            assert paths[slot] == (section, name)
    assert paths[-1] == paths[len(paths) - 1] and list(paths)[-1] == paths[-1]
    with pytest.raises(IndexError):
        paths[len(paths)]
    step = program.steps[0]
    assert step.path == ("nodes", step.name) and step.where is None


def test_an_error_at_a_node_points_where_it_always_did():
    text = chain(6).replace("  n4: {op: add, args: [n3, p4]}", "  n4: {op: add, args: [n3, q]}")
    with pytest.raises(graphrun.GraphError) as e:
        api.compile_text(text, "g.yaml")
    line = text.splitlines().index("  n4: {op: add, args: [n3, q]}") + 1
    assert str(e.value).startswith(f"g.yaml:{line}:"), str(e.value)


def test_a_results_file_in_many_pieces_is_the_text_byte_for_byte(tmp_path):
    results = api.run(api.compile_text(chain(5000)))  # 15,000 lines: four pieces
    target = tmp_path / "r.results.yaml"
    results.write(target)
    assert target.read_text() == results.text()
    assert read_results(str(target)).file == str(target)


def test_a_failure_while_streaming_leaves_the_previous_pair_and_no_temporary(tmp_path,
                                                                             monkeypatch):
    big = ("graphrun: 1\nparams:\n  W: {init: normal, shape: [8, 5], seed: SEED}\n"
           "nodes:\n  t: {op: tanh, args: [W]}\n  L: {op: sum, args: [t]}\nloss: L\n")
    target = tmp_path / "out" / "r.results.yaml"
    target.parent.mkdir()
    api.run(api.compile_text(big.replace("SEED", "1"))).write(target, sidecar_threshold=10)
    before = {p: open(os.path.join(d, p), "rb").read() if os.path.isfile(os.path.join(d, p))
              else None for d, _, names in os.walk(target.parent) for p in names}
    real = files._encoded

    def full_disk(text):
        chunks = real(text)
        yield next(chunks)  # the first piece reaches the temporary file
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(files, "_encoded", full_disk)
    results = api.run(api.compile_text(big.replace("SEED", "2")))
    with pytest.raises(OSError, match="No space left"):
        results.write(target, sidecar_threshold=10)
    after = {p: open(os.path.join(d, p), "rb").read() if os.path.isfile(os.path.join(d, p))
             else None for d, _, names in os.walk(target.parent) for p in names}
    assert after == before  # the previous YAML and sidecars, byte for byte; no .tmp file
