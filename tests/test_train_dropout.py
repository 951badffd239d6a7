"""dropout in a training run (the hook of Op.train_attrs, applied by engine/train.py): each step
drops with a mask of its own, numpy's default_rng([seed, step, position]) as docs/ops.md says,
the backward pass of the step uses the same mask, and every other run (run, check, the results
of a training run's params) passes x through."""

import numpy as np
import pytest

import graphrun
from conftest import compile_text

X = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 1.0]])
Y = np.array([1.0, -1.0])
W = np.array([0.1, 0.2, -0.1, 0.3])
GRAPH = f"""graphrun: 1
inputs:
  x: {X.tolist()}
  y: {Y.tolist()}
params:
  w: {W.tolist()}
nodes:
  d: {{op: dropout, args: [x], p: 0.5, seed: 3}}
  z: {{op: matmul, args: [d, w]}}
  L: {{op: mse, args: [z, y]}}
loss: L
train: {{optimizer: sgd, lr: 0.1, steps: 3}}
"""


def _by_hand(steps, lr=0.1, p=0.5, seed=3, position=0):
    """SGD on mse(dropout(x) @ w, y), the mask of step t drawn as documented."""
    w, losses = W.copy(), []
    for t in range(1, steps + 1):
        keep = np.random.default_rng([seed, t, position]).random(X.shape) >= p
        d = X * keep / (1 - p)
        r = d @ w - Y
        losses.append(np.mean(r * r))
        w = w - lr * (2 / len(Y)) * (d.T @ r)
    return losses, w


def test_each_training_step_drops_with_its_own_mask_and_descends_through_it():
    results = graphrun.train(compile_text(GRAPH))
    losses, w = _by_hand(3)
    np.testing.assert_allclose([r.loss for r in results.history], losses, rtol=1e-14)
    np.testing.assert_allclose(results.params["w"], w, rtol=1e-14)
    assert len(set(np.round(losses, 12))) == 3  # a new mask each step


def test_training_is_deterministic_and_evaluation_passes_x_through():
    graph = compile_text(GRAPH)
    first, again = graphrun.train(graph), graphrun.train(graph)
    np.testing.assert_array_equal(first.params["w"], again.params["w"])
    evaluated = graphrun.run(graph, params=first.params)
    np.testing.assert_array_equal(evaluated.values["d"], X)  # not training: x itself
    assert evaluated.loss == pytest.approx(np.mean((X @ first.params["w"] - Y) ** 2), rel=1e-14)


def test_a_dropout_written_training_false_stays_off_while_training():
    results = graphrun.train(compile_text(GRAPH.replace("seed: 3}", "seed: 3, training: false}")))
    w = W.copy()
    for _ in range(3):
        r = X @ w - Y
        w = w - 0.1 * (2 / len(Y)) * (X.T @ r)
    np.testing.assert_allclose(results.params["w"], w, rtol=1e-14)


def test_two_dropout_nodes_draw_different_masks_in_one_step():
    text = GRAPH.replace("  z: {op: matmul, args: [d, w]}",
                         "  e: {op: dropout, args: [x], p: 0.5, seed: 3}\n"
                         "  de: {op: sub, args: [d, e]}\n  z: {op: matmul, args: [de, w]}")
    results = graphrun.train(compile_text(text), steps=1)
    keep_d = np.random.default_rng([3, 1, 0]).random(X.shape) >= 0.5
    keep_e = np.random.default_rng([3, 1, 1]).random(X.shape) >= 0.5
    assert (keep_d != keep_e).any()
    r = (X * keep_d * 2 - X * keep_e * 2) @ W - Y
    assert results.history[0].loss == pytest.approx(np.mean(r * r), rel=1e-14)
