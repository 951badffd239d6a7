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
EXAMPLES = ["simple", "neuron", "linreg", "classifier", "softmax_regression", "mlp", "three_layer",
            "logreg", "cnn"]


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


@pytest.mark.parametrize("maker,stem", [("make", "blobs"), ("make_bars", "bars")])
def test_example_data_is_made_by_its_committed_script(maker, stem):
    module = runpy.run_path(os.path.join(ROOT, "graphs", "data", "make_data.py"))
    X, y = module[maker]()
    np.testing.assert_array_equal(np.load(os.path.join(ROOT, "graphs", "data", f"{stem}_X.npy")),
                                  X)
    stored = np.load(os.path.join(ROOT, "graphs", "data", f"{stem}_y.npy"))
    assert stored.dtype == np.int64 and stored.tolist() == y.tolist()


def test_logreg_gradients_are_sigmoid_minus_target():
    doc = yaml.safe_load(run("logreg"))
    X = np.array([[0.5, 1.5], [1.0, 2.5], [2.0, 1.0], [-1.0, 0.5], [-0.5, -1.5], [1.5, -1.0],
                  [-2.0, -0.5], [0.0, 2.0]])
    y = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    z = X @ np.array([0.5, -0.25]) + 0.1
    s = 1 / (1 + np.exp(-z))
    loss = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    assert doc["loss"] == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(doc["gradients"]["w"], X.T @ (s - y) / 8, rtol=1e-14)
    assert doc["gradients"]["b"] == pytest.approx(np.sum(s - y) / 8, rel=1e-13)
    assert doc["values"]["correct"] == ((z > 0) == (y > 0.5)).tolist()
    assert "correct" not in doc["gradients"]  # bools carry no gradient


def _conv(x, w, b, padding):
    """conv2d written as the sum over the kernel's offsets (no graphrun code)."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    o, c, kh, kw = w.shape
    oh, ow = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    out = np.zeros((x.shape[0], o, oh, ow)) + b[None, :, None, None]
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nchw,oc->nohw", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    return out


def test_cnn_forward_by_hand_and_its_last_layers_gradients():
    doc = yaml.safe_load(run("cnn"))
    data = os.path.join(ROOT, "graphs", "data")
    X, y = np.load(os.path.join(data, "bars_X.npy")), np.load(os.path.join(data, "bars_y.npy"))

    def normal(seed, std, shape):
        return np.random.default_rng(seed).normal(0.0, std, shape)
    K1, K2, W = normal(11, 0.5, (2, 1, 3, 3)), normal(12, 0.5, (4, 2, 2, 2)), normal(13, 0.4, (16, 3))
    h1 = np.maximum(_conv(X, K1, np.full(2, 0.05), 1), 0)
    pool = h1.reshape(12, 2, 3, 2, 3, 2).max(axis=(3, 5))
    h2 = np.maximum(_conv(pool, K2, np.zeros(4), 0), 0)
    flat = h2.reshape(12, 16)
    logits = flat @ W
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(doc["values"]["logits"], logits, rtol=1e-12, atol=1e-15)
    assert doc["loss"] == pytest.approx(-np.mean(np.log(p[np.arange(12), y])), rel=1e-13)
    assert doc["values"]["acc"] == np.mean(np.argmax(logits, axis=1) == y)
    dlogits = (p - np.eye(3)[y]) / 12
    np.testing.assert_allclose(doc["gradients"]["W"], flat.T @ dlogits, rtol=1e-11, atol=1e-16)
    np.testing.assert_allclose(doc["gradients"]["b"], dlogits.sum(axis=0), rtol=1e-11)
    assert "acc" not in doc["gradients"]  # accuracy: forward only
    assert graphrun_gradcheck_ok("cnn")


def graphrun_gradcheck_ok(stem):
    """The conv layers' gradients against finite differences of the whole loss."""
    import graphrun
    return graphrun.gradcheck(os.path.join(ROOT, "graphs", f"{stem}.yaml")).ok
