"""The accuracy op: a measure to watch while training, with no gradient."""

import numpy as np
import pytest

import graphrun
from conftest import compile_text

GRAPH = """\
graphrun: 1
inputs:
  y: {value: [0, 2, 1, 1], dtype: int64}
params:
  z: [[2.0, 1.0, 0.0], [0.0, 1.0, 3.0], [1.0, 1.0, 0.5], [5.0, -1.0, 0.0]]
nodes:
  acc: {op: accuracy, args: [z, y]}
  L: {op: cross_entropy, args: [z, y]}
loss: L
"""


def test_accuracy_is_the_fraction_of_rows_whose_largest_logit_is_the_label():
    results = graphrun.run(compile_text(GRAPH))
    # row 0: argmax 0 = label 0; row 1: 2 = 2; row 2: a tie of 0 and 1 goes to 0, label 1; row 3: 0
    assert float(results.values["acc"]) == 0.5
    assert results.values["acc"].dtype == np.float64 and results.values["acc"].shape == ()


def test_accuracy_gives_no_gradient_to_its_arguments():
    graph = compile_text(GRAPH.replace("loss: L", "loss: acc"))
    results = graphrun.run(graph)
    assert float(results.values["acc"]) == 0.5
    assert not np.any(results.grads["z"])  # argmax is piecewise constant: nothing flows back


def test_accuracy_in_float32_stays_float32():
    graph = compile_text(GRAPH.replace("params:\n  z: ", "params:\n  z: {dtype: float32, value: ")
                         .replace("0.0]]\n", "0.0]]}\n"))
    assert graphrun.run(graph).values["acc"].dtype == np.float32


@pytest.mark.parametrize("labels,message", [
    ("{value: [0, 3, 1, 1], dtype: int64}",
     "node 'acc' (accuracy): label 3 at index 1 is out of range for 3 classes (expected 0..2)"),
])
def test_a_label_out_of_range_is_named(labels, message):
    graph = compile_text(GRAPH.replace("{value: [0, 2, 1, 1], dtype: int64}", labels)
                         .replace("  L: {op: cross_entropy, args: [z, y]}\n", "")
                         .replace("loss: L\n", ""))
    with pytest.raises(graphrun.GraphError) as e:
        graphrun.run(graph)
    assert message in str(e.value)


def test_accuracy_checks_its_shapes_like_cross_entropy():
    with pytest.raises(graphrun.GraphError) as e:
        compile_text(GRAPH.replace("{value: [0, 2, 1, 1], dtype: int64}", "[0.0, 2.0, 1.0, 1.0]"))
    assert "accuracy expects int64 class labels as argument 2; found float64" in str(e.value)
