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


def test_the_early_answer_is_taken(monkeypatch):
    """Where it applies, the spec stage answers and the graph stage never runs."""
    text = file_of(random.Random(3), 3000, 0.95)
    from graphrun.frontend import graph

    def no_graph_stage(*args, **kwargs):
        raise AssertionError("the graph stage ran")

    whole = answer(text, monkeypatch, None)
    monkeypatch.setattr(graph, "_checked", no_graph_stage)
    assert answer(text, monkeypatch, 64) == whole
    assert "checking stopped here: 999 problems above" in whole
