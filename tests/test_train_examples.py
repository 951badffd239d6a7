"""The examples train as the README says: the lesson's first steps, linear regression to the
least-squares solution, the classifier to full training accuracy; their training goldens hold;
minibatches are cut as documented."""

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

import graphrun
from conftest import ROOT, call, compile_text


def graph_path(name):
    return os.path.join(ROOT, "graphs", f"{name}.yaml")


def test_the_lesson_w_takes_a_step_of_lr_times_40_and_b_of_lr_times_20():
    graph = graphrun.compile(graph_path("simple"))
    for lr in (0.01, 0.001, 0.02):
        first = graphrun.train(graph, lr=lr, steps=1)
        assert float(first.params["w"]) == 3 - lr * 40
        assert float(first.params["b"]) == 4 - lr * 20
    result = graphrun.train(graph, lr=0.01, steps=3)
    assert [(r.step, r.lr, r.loss) for r in result.history] == \
        [(1, 0.01, 100.0), (2, 0.01, 81.0), (3, 0.01, 65.61)]


def test_the_readme_command_works_without_a_train_section():
    code, out, err = call("train", graph_path("simple"), "--lr", "0.01", "--steps", "100")
    assert code == 0, err
    assert "  step2: {lr: 0.01, loss: 81.0}\n" in out
    assert "trained chain-rule: 100 steps of sgd, lr 0.01" in err


def test_linreg_reaches_the_least_squares_solution():
    graph = graphrun.compile(graph_path("linreg"))
    result = graphrun.train(graph)  # its train section: SGD, lr 0.05, momentum 0.9, 500 steps
    leaves = {name: graph.leaf_values()[graph.program.slot(name)] for name in ("X", "y")}
    design = np.column_stack([leaves["X"], np.ones(len(leaves["y"]))])
    solution, *_ = np.linalg.lstsq(design, leaves["y"], rcond=None)
    np.testing.assert_allclose(result.params["w"], solution[:2], rtol=1e-11)
    np.testing.assert_allclose(result.params["b"], solution[2], rtol=1e-10)
    best = np.mean((design @ solution - leaves["y"]) ** 2)
    assert graphrun.run(graph, params=result.params).loss == pytest.approx(best, rel=1e-12)


def test_linreg_trains_as_the_readmes_five_line_loop():
    graph = graphrun.compile(graph_path("linreg"))
    params = graph.param_values()
    for _ in range(1000):
        results = graphrun.run(graph, params=params)
        params = {name: value - 0.05 * results.grads[name] for name, value in params.items()}
    plain = dataclasses.replace(graphrun.training_settings(graph, steps=1000),
                                options=(("momentum", 0.0), ("dampening", 0.0),
                                         ("nesterov", False), ("weight_decay", 0.0)))
    trained = graphrun.train(graph, settings=plain).params
    for name in params:  # the same float operations: the same bits
        np.testing.assert_array_equal(trained[name], params[name])


def test_the_classifier_reaches_full_training_accuracy_with_accuracy_reported():
    graph = graphrun.compile(graph_path("classifier"))
    result = graphrun.train(graph)
    assert result.settings.report == ("acc",)
    assert result.history[-1].reported["acc"] >= 0.95
    # on all the data, with the trained params
    assert float(graphrun.run(graph, params=result.params).values["acc"]) >= 0.95
    assert result.history[-1].loss < result.history[0].loss / 100


@pytest.mark.parametrize("stem", ["linreg", "classifier"])
def test_example_training_matches_its_golden(stem):
    golden = os.path.join(ROOT, "tests", "golden", f"{stem}.train.results.yaml")
    code, out, err = call("check", "--train", graph_path(stem), "--golden", golden)
    assert code == 0, out + err
    assert out.startswith("ok ")


def test_training_results_are_byte_identical_across_processes(tmp_path):
    """The same run, in this process and in a fresh one: the same bytes."""
    here = graphrun.train(graphrun.compile(graph_path("classifier"))).text()
    out = subprocess.run([sys.executable, "-m", "graphrun", "train", graph_path("classifier"),
                          "-q"], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "123"}).stdout
    assert out == here


# ---------------------------------------------------------------------------------------------
# minibatches

DATA = """\
graphrun: 1
inputs:
  X: [[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0]]
  y: [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0]
params:
  w: [0.5]
  b: 0.0
nodes:
  Xw: {op: matmul, args: [X, w]}
  pred: {op: add, args: [Xw, b]}
  L: {op: mse, args: [pred, y]}
  n: {op: sum, args: [y]}
loss: L
"""


def test_each_epoch_is_a_permutation_from_default_rng_and_the_last_batch_is_kept():
    section = "train: {lr: 0.01, epochs: 3, batch: {size: 3, over: [X, y], seed: 7}, report: [n]}\n"
    result = graphrun.train(compile_text(DATA + section))
    assert result.settings.steps == 9  # 7 rows: batches of 3, 3 and 1, three times
    y = np.arange(7) * 2.0 + 1
    sums = []
    for epoch in (1, 2, 3):  # epoch e: default_rng([seed, e]), a function of the seed and e
        order = np.random.default_rng([7, epoch]).permutation(7)
        sums += [y[order[i:i + 3]].sum() for i in (0, 3, 6)]
    # the sum of a batch's labels, recorded beside the loss, tells which rows the batch held
    assert [r.reported["n"] for r in result.history] == sums


def test_a_step_with_batches_is_gradient_descent_on_that_batch():
    section = "train: {lr: 0.01, steps: 4, batch: {size: 3, over: [X, y], shuffle: false}}\n"
    result = graphrun.train(compile_text(DATA + section))
    X, y = np.arange(7.0)[:, None], np.arange(7) * 2.0 + 1
    w, b = np.array([0.5]), 0.0
    losses = []
    for rows in (slice(0, 3), slice(3, 6), slice(6, 7), slice(0, 3)):  # in order, without shuffle
        err = X[rows] @ w + b - y[rows]
        losses.append(np.mean(err ** 2))
        gw, gb = X[rows].T @ (2 * err / len(err)), np.sum(2 * err / len(err))
        w, b = w - 0.01 * gw, b - 0.01 * gb
    assert [r.loss for r in result.history] == pytest.approx(losses, rel=1e-14)
    np.testing.assert_allclose(result.params["w"], w, rtol=1e-14)


def test_batches_make_a_program_for_each_batch_size_and_no_more():
    graph = compile_text(DATA + "train: {lr: 0.01, epochs: 2, batch: {size: 3, over: [X, y]}}\n")
    graphrun.train(graph)
    sizes = sorted(k for k in graph._train_plans if isinstance(k, int))
    assert sizes == [1, 3]  # the full batches and the last one; the full data has its own
    plan = graph._train_plans[3]
    assert plan.program.types[plan.program.slot("pred")].shape == (3,)


def test_a_batch_of_all_rows_uses_the_graphs_own_plan():
    graph = compile_text(DATA + "train: {lr: 0.01, steps: 2, batch: {size: 7, over: [X, y]}}\n")
    graphrun.train(graph)
    assert [k for k in graph._train_plans if isinstance(k, int)] == []
