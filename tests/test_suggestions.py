"""Did-you-mean by meaning: the names people bring from PyTorch, numpy and the lessons
(ops/synonyms.py) are answered before spelling distance is tried, a wrong number of arguments says
what that number means elsewhere (min of two values is minimum), and an int64 or bool argument
where a float belongs says where it came from."""

import re

import pytest

from conftest import compile_text
from graphrun import GraphError
from graphrun.ops import OPS
from graphrun.ops import synonyms


def _messages(node, params="  x: [[1.0, 2.0], [3.0, 4.0]]\n  y: [[1.0, 0.0], [0.0, 1.0]]\n"):
    text = "graphrun: 1\nparams:\n" + params + f"nodes:\n  u: {node}\n"
    with pytest.raises(GraphError) as e:
        compile_text(text)
    return [p.message for p in e.value.problems]


@pytest.mark.parametrize("name,words", [
    ("clamp", "did you mean 'clip'? (PyTorch's clamp)"),
    ("unsqueeze", "did you mean 'expand_dims'? (PyTorch's unsqueeze)"),
    ("bce", "did you mean 'binary_cross_entropy_with_logits'? (it takes logits; "
            "'binary_cross_entropy' takes probabilities)"),
    ("linear", "use the expression x @ W + b (a node `h: x @ W + b`, or {op: matmul, args: "
               "[x, W]} then {op: add, args: [xW, b]}) (graphrun has no layer op)"),
    ("dense", "use the expression x @ W + b"),
    ("gather", "did you mean 'take_along_axis'? (PyTorch's gather)"),
    ("index_select", "did you mean 'take'?"),
    ("cat", "did you mean 'concat'?"),
    ("view", "did you mean 'reshape'?"),
    ("permute", "use 'transpose' with axes"),
    ("expand", "did you mean 'broadcast_to'?"),
    ("amax", "use 'max' (the reduction)"),
    ("swish", "did you mean 'silu'?"),
    ("mse_loss", "did you mean 'mse'?"),
    ("smooth_l1_loss", "did you mean 'huber'?"),
    ("greater", "did you mean 'gt'?"),
    ("Clamp", "did you mean 'clip'?"),  # case does not matter
])
def test_unknown_ops_are_answered_by_meaning(name, words):
    (message,) = _messages(f"{{op: {name}, args: [x]}}")
    assert message == f"unknown op '{name}'; {words}" or message.startswith(
        f"unknown op '{name}'; {words}"), message


def test_spelling_distance_still_answers_what_the_synonyms_do_not():
    assert _messages("{op: mull, args: [x, y]}") == ["unknown op 'mull'; did you mean 'mul'?"]
    assert _messages("{op: sigmod, args: [x]}") == ["unknown op 'sigmod'; did you mean 'sigmoid'?"]
    (message,) = _messages("{op: qqq, args: [x]}")
    assert message.startswith("unknown op 'qqq' (known ops: abs, accuracy, add,")


def test_the_names_the_issue_found_missing_are_ops_now():
    """The 25 names a learner writes first (issue 14) are ops, or answered by meaning."""
    for name in ("where clip min argmax index slice stack expand_dims squeeze var std norm "
                 "leaky_relu gelu binary_cross_entropy log1p expm1 sign reciprocal").split():
        assert name in OPS, name
    for name in ("gather", "clamp", "unsqueeze", "bce", "linear", "dense"):
        assert synonyms.unknown_op(name) is not None, name


def test_every_synonym_names_ops_of_the_table():
    for name, (suggestion, _) in synonyms.NAMES.items():
        assert name not in OPS, f"{name} is an op: no synonym needed"
        quoted = re.findall(r"'([a-z_0-9]+)'", suggestion)
        assert quoted or "expression" in suggestion, name
        for op in quoted:
            assert op in OPS, (name, op)
    for (op, _), hint in synonyms.BY_ARITY.items():
        assert op in OPS and all(o in OPS for o in re.findall(r"'([a-z_0-9]+)'", hint))


@pytest.mark.parametrize("node,words", [
    ("{op: min, args: [x, y]}", "min takes 1 argument; found 2 (for the smaller of two values, "
                                "element by element, use 'minimum')"),
    ("{op: max, args: [x, y]}", "max takes 1 argument; found 2 (for the larger of two values, "
                                "element by element, use 'maximum')"),
    ("{op: minimum, args: [x]}", "minimum takes 2 arguments; found 1 (for the smallest element "
                                 "use the reduction 'min')"),
    ("{op: sum, args: [x, y]}", "sum takes 1 argument; found 2 (to add two values use 'add')"),
])
def test_min_of_two_values_is_minimum(node, words):
    assert _messages(node) == [words]


def test_an_int64_or_bool_argument_says_where_it_came_from():
    (message,) = _graph_messages("  am: {op: argmax, args: [x], axis: 1}\n"
                                 "  u: {op: mul, args: [am, 2.0]}\n")
    assert message == ("node 'u': mul takes floating-point arguments; argument 1 is int64 (node "
                       "'am' holds the int64 indices argmax gives, which have no gradient: compare "
                       "them with 'eq', pick with 'take', or make floats with 'one_hot')")
    (message,) = _graph_messages("  c: {op: gt, args: [x, 0]}\n  u: {op: mean, args: [c]}\n")
    assert message == ("node 'u': mean takes floating-point arguments; argument 1 is bool (node "
                       "'c' holds the bool values gt gives: choose between floats with 'where')")


def _graph_messages(nodes):
    with pytest.raises(GraphError) as e:
        compile_text("graphrun: 1\nparams:\n  x: [[1.0, 2.0], [3.0, 4.0]]\nnodes:\n" + nodes)
    return [p.message for p in e.value.problems]
