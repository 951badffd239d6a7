"""A file whose first nodes name enough unknown leaves or nodes to stop the graph stage
(errors.MAX_PROBLEMS) is answered by the spec stage without building the rest of its nodes
(spec._stop_at_unknown_names): with exactly the problems, positions and stopping place of the
whole check, which is run here beside it (the probe switched off)."""

import random

import pytest

from graphrun import api
from graphrun.errors import GraphError
from graphrun.frontend import spec


def answer(text: str, monkeypatch, probe) -> str:
    monkeypatch.setattr(spec, "_PROBE_EVERY", probe or 10**9)  # None: never probed
    try:
        api.compile_text(text, "g.yaml")
    except GraphError as e:
        return str(e)
    return "ok"


def file_of(rng: random.Random, n: int, unknown: float, tail: str = "", head: str = "") -> str:
    lines = ["graphrun: 1", "inputs:", "  x: 1.0", "  x_2: 2.0", "params:", "  w: 0.5", head,
             "nodes:"]
    for i in range(n):
        roll = rng.random()
        if roll < unknown:
            args = f"[u{i}]" if rng.random() < 0.5 else f"[x, n{i}x]"  # n5x: did you mean n5?
        elif roll < unknown + 0.05:
            args = f"[n{i + 3}]"  # a forward reference: no problem
        elif roll < unknown + 0.08:
            args = f"[n{i}]"  # a self-loop
        else:
            args = f"[{rng.choice(['x', 'w', 'x_2'])}]"
        op = "nope" if rng.random() < 0.03 else "neg"
        lines.append(f"  n{i}: {{op: {op}, args: {args}}}")
    return "\n".join(lines + [tail, ""])


CASES = [
    (1500, 0.9, "", ""),  # stops early
    (1500, 0.99, "", ""),
    (1500, 0.2, "", ""),  # too few in the first nodes: built in full
    (1500, 0.9, "  n1400: -x", ""),  # an expression further down: built in full
    (1500, 0.9, "  w: {op: neg, args: [x]}", ""),  # a node named as a param, further down
    (1500, 0.9, "train:\n  steps: 1", ""),  # a train section
    (1500, 0.9, "", "  w: [1, 2"),  # a broken leaf
]


@pytest.mark.parametrize("n, unknown, tail, head", CASES)
@pytest.mark.parametrize("seed", [1, 2])
def test_an_early_answer_is_the_whole_checks_answer(monkeypatch, n, unknown, tail, head, seed):
    text = file_of(random.Random(seed), n, unknown, tail, head)
    whole = answer(text, monkeypatch, None)
    for probe in (1, 7, 4096):
        assert answer(text, monkeypatch, probe) == whole
    assert whole != "ok"


@pytest.mark.parametrize("make", ["file_of", "expression_file"])
def test_the_early_answer_is_taken(monkeypatch, make):
    """Where it applies, the spec stage answers and the graph stage never runs: what makes a 64
    MiB file naming an unknown node (of nodes or of expressions) an answer of seconds."""
    text = globals()[make](random.Random(3), 3000, 0.95)  # defined below, with their tests
    from graphrun.frontend import graph

    def no_graph_stage(*args, **kwargs):
        raise AssertionError("the graph stage ran")

    whole = answer(text, monkeypatch, None)
    monkeypatch.setattr(graph, "_checked", no_graph_stage)
    assert answer(text, monkeypatch, 64) == whole
    assert "checking stopped here: 999 problems above" in whole


# ---------------------------------------------------------------------------------------------
# files with expressions: the rest of the file is checked for problems of the spec stage's own
# (each expression's nodes made, none of their names defined twice, MAX_NODES) before the
# answer is taken early; dotted names are looked for among every expression's nodes

def expression_file(rng: random.Random, n: int, unknown: float, tail: str = "") -> str:
    lines = ["graphrun: 1", "inputs:", "  x: 1.0", "  x_2: 2.0", "params:", "  w: 0.5",
             "nodes:"]
    for i in range(n):
        roll = rng.random()
        if roll < unknown:
            text = rng.choice([f"tanh(x * 2 + u{i})", "concat(x, x, zz)", f"x * n{i}x + 1",
                               "exp(((x))) * zz", f"n{i + 2}.1 + w",  # defined further down
                               f"n{i}.1 * nowhere.1", f"sum(x, axis=0) + x_3"])
        elif roll < unknown + 0.05:
            text = f"n{i + 3} * 2 + 1"  # a forward reference: no problem
        elif roll < unknown + 0.07:
            text = f"n{i} + 1"  # a self-loop
        elif roll < unknown + 0.12:
            lines.append(f"  n{i}: {{op: neg, args: [{rng.choice(['x', 'zz', 'w'])}]}}")
            continue
        else:
            text = rng.choice(["tanh(x * w + 1)", "x * 2", "-(x - w) ** 2", "x + x_2"])
        lines.append(f"  n{i}: {text}")
    return "\n".join(lines + [tail, ""])


EXPRESSION_CASES = [
    (1500, 0.9, ""),  # stops early
    (1500, 0.3, ""),  # too few
    (1500, 0.9, "  n1400: tanh(x"),  # a syntax error further down: its answer, not the names'
    (1500, 0.9, "  n1400.1: -x"),  # a name given twice, further down
    (1500, 0.9, "  n3.1: -x"),  # ... the first given by a node read already
    (1500, 0.9, "  q: tanhh(x)"),  # an unknown function further down
    (1500, 0.9, "  q: x + uu\n  uu: -x"),  # a name defined further down is no unknown name
]


@pytest.mark.parametrize("n, unknown, tail", EXPRESSION_CASES)
@pytest.mark.parametrize("seed", [1, 2])
def test_an_early_answer_in_a_file_of_expressions_is_the_whole_checks(monkeypatch, n, unknown,
                                                                      tail, seed):
    text = expression_file(random.Random(seed), n, unknown, tail)
    whole = answer(text, monkeypatch, None)
    for probe in (1, 7, 64, 4096):
        assert answer(text, monkeypatch, probe) == whole
    assert whole != "ok"


@pytest.mark.parametrize("limit", [1100, 2500, 2900])
def test_a_file_of_expressions_past_max_nodes_is_answered_as_the_spec_stage_does(monkeypatch,
                                                                                limit):
    monkeypatch.setattr(spec, "MAX_NODES", limit)
    text = expression_file(random.Random(5), 1500, 0.9)
    whole = answer(text, monkeypatch, None)
    assert answer(text, monkeypatch, 64) == whole
    assert ("the graph has more than" in whole) == (limit < 2900), whole




def test_where_the_check_stops_in_an_expression_is_its_first_node(monkeypatch):
    """Stopped just before a node written as a nested expression: the place is its first node's
    (the inner operation's token), as the graph stage says it, not the node's key."""
    lines = ["graphrun: 1", "inputs:", "  x: 1.0", "nodes:"]
    lines += [f"  n{i}: tanh(x) * zz{i}" for i in range(999)]  # the 999th problem: n998's
    lines += ["  last: tanh(x * 2) + 1"]  # last.1.1 (x * 2) is the first node not checked
    text = "\n".join(lines) + "\n"
    whole = answer(text, monkeypatch, None)
    assert whole.splitlines()[-1].startswith("g.yaml:1004:16: error: checking stopped here")
    for probe in (1, 999, 1000):
        assert answer(text, monkeypatch, probe) == whole
