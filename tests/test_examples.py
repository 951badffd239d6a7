"""The example graphs a learner runs from the README: each runs, matches its golden results file byte
for byte, and the small ones agree with the formulas in their comments.

The golden files were checked against PyTorch (float64, every value and gradient, max relative
error 5e-15) before they were committed; the closed-form tests below check the lessons by hand.
"""

import glob
import math
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import call
from graphrun.frontend.blocks import is_library_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = sorted(glob.glob(os.path.join(ROOT, "graphs", "*.yaml")))
GRAPHS = [f for f in FILES if not is_library_file(f)]  # layers.yaml is a library of blocks
EXAMPLES = ["simple", "neuron", "linreg", "classifier", "softmax_regression", "mlp", "three_layer"]


def run(stem):
    code, out, err = call(os.path.join(ROOT, "graphs", f"{stem}.yaml"))
    assert (code, err) == (0, "")
    return out


def test_every_example_is_here_and_every_graph_has_a_golden():
    stems = [os.path.splitext(os.path.basename(g))[0] for g in GRAPHS]
    assert set(EXAMPLES) <= set(stems)
    for stem in stems:
        assert os.path.exists(os.path.join(ROOT, "tests", "golden", f"{stem}.results.yaml")), stem


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.basename(p))
def test_example_starts_with_the_schema_line(path):
    with open(path) as f:
        assert f.readline() == "# yaml-language-server: $schema=../schemas/graph.schema.json\n"


@pytest.mark.parametrize("stem", EXAMPLES)
def test_example_matches_its_golden_file(stem):
    """Within the documented tolerance, as `graphrun check` compares: the goldens were made on
    another machine, whose BLAS may sum in another order (docs/format.md, "What is identical")."""
    graph = os.path.join(ROOT, "graphs", f"{stem}.yaml")
    golden = os.path.join(ROOT, "tests", "golden", f"{stem}.results.yaml")
    code, out, err = call("check", graph, "--golden", golden)
    assert (code, err) == (0, ""), out


@pytest.mark.parametrize("stem", EXAMPLES)
def test_example_is_byte_identical_across_processes(stem):
    """Byte-identity is promised for reruns on one machine with the same versions: two fresh
    processes print the same bytes."""
    graph = os.path.join(ROOT, "graphs", f"{stem}.yaml")
    outputs = [subprocess.run([sys.executable, "-m", "graphrun", graph], capture_output=True,
                              check=True).stdout for _ in range(2)]
    assert outputs[0] == outputs[1] and outputs[0].startswith(b"graphrun: 1\n")


def test_neuron_is_the_sigmoid_chain_rule():
    doc = yaml.safe_load(run("neuron"))
    x, w, b, t = np.array([1.0, -2.0, 0.5]), np.array([0.5, -0.25, 1.0]), 0.1, 1.0
    z = w @ x + b
    a = 1 / (1 + math.exp(-z))
    dz = 2 * (a - t) * a * (1 - a)
    assert doc["values"]["a"] == pytest.approx(a, rel=1e-15)
    assert doc["loss"] == pytest.approx((a - t) ** 2, rel=1e-14)
    np.testing.assert_allclose(doc["gradients"]["w"], dz * x, rtol=1e-14)
    assert doc["gradients"]["b"] == pytest.approx(dz, rel=1e-14)


def test_linreg_gradients_are_the_normal_equations():
    doc = yaml.safe_load(run("linreg"))
    X = np.array([[1.0, 2.0], [2.0, 0.5], [3.0, -1.0], [4.0, 1.5], [0.5, 3.0]])
    y = np.array([5.0, 3.5, 2.0, 7.5, 6.0])
    r = X @ np.array([1.0, 1.0]) + 0.5 - y  # the residuals: [-1.5, -0.5, 0.5, -1.5, -2]
    assert doc["loss"] == pytest.approx(np.mean(r ** 2), rel=1e-15)  # 1.8
    np.testing.assert_allclose(doc["gradients"]["w"], 2 / 5 * X.T @ r, rtol=1e-15)  # [-3.2, -4.8]
    assert doc["gradients"]["b"] == pytest.approx(2 / 5 * r.sum(), rel=1e-15)  # -2


@pytest.mark.parametrize("stem,logits_node", [("classifier", "logits"),
                                              ("softmax_regression", "logits"), ("mlp", "logits")])
def test_classifier_logit_gradients_are_softmax_minus_onehot(stem, logits_node):
    doc = yaml.safe_load(run(stem))
    logits = np.array(doc["values"][logits_node])
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    labels = {"classifier": np.load(os.path.join(ROOT, "graphs", "data", "blobs_y.npy")),
              "softmax_regression": np.array([0, 1, 2, 0]), "mlp": np.array([0, 1, 2, 1, 0, 2])}
    onehot = np.eye(logits.shape[1])[labels[stem]]
    np.testing.assert_allclose(doc["gradients"][logits_node], (p - onehot) / len(logits),
                               rtol=1e-12, atol=1e-16)
    assert doc["loss"] == pytest.approx(-np.mean(np.log(p[onehot == 1])), rel=1e-14)


def test_classifier_data_is_made_by_its_committed_script():
    module = runpy.run_path(os.path.join(ROOT, "graphs", "data", "make_data.py"))
    X, y = module["make"]()
    np.testing.assert_array_equal(np.load(os.path.join(ROOT, "graphs", "data", "blobs_X.npy")), X)
    stored = np.load(os.path.join(ROOT, "graphs", "data", "blobs_y.npy"))
    assert stored.dtype == np.int64 and stored.tolist() == y.tolist()
