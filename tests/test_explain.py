"""graphrun explain: the chain rule written out, checked against numbers worked out by hand.

The golden files were read line by line against the hand computation in each test's docstring;
the assertions beside them check the same numbers independently of the golden text.
"""

import json
import os

import numpy as np
import pytest

import graphrun
from graphrun.errors import GraphError
from graphrun.tools.explain import explain, explanation_text

from conftest import call, compile_text

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")

# Reuse and broadcasting: s is used three times (twice by one node), b (3,) is broadcast over the
# rows of a (2,3) tensor, and the scalar sq over all of it.
REUSE = """\
graphrun: 1
name: reuse-broadcast
description: L = mean(X * s^2 + b) + tanh(s)
inputs:
  X: [[1, 2, 3], [4, 5, 6]]
params:
  b: [0.5, -1, 2]
  s: 2
nodes:
  sq: {op: mul, args: [s, s]}
  y: {op: mul, args: [X, sq]}
  z: {op: add, args: [y, b]}
  m: {op: mean, args: [z]}
  t: {op: tanh, args: [s]}
  L: {op: add, args: [m, t]}
loss: L
"""




def golden(name):
    with open(os.path.join(GOLDEN, name), encoding="utf-8") as f:
        return f.read()


def test_the_lesson_reads_as_written_by_hand(root):
    """x=2, w=3, b=4: u=6, v=10, L=100; the lesson's lines: ∂L/∂v = 2v = 2 · 10 = 20, ∂L/∂u =
    ∂L/∂b = 20 · 1 = 20, ∂L/∂w = 20 · x = 40. The gradient is written d (dL/dv), a node's local
    derivative ∂ (∂v/∂u), so no line reads as circular; dL/dL = 1 is left out where the user is
    the loss itself."""
    code, out, err = call("explain", f"{root}/graphs/simple.yaml")
    assert (code, err) == (0, "")
    assert out == golden("explain_simple.txt")
    lines = [line.strip() for line in out.splitlines()]
    backward_part = lines[lines.index("backward, in reverse program order") + 3:]
    assert backward_part == [
        "dL/dL = 1   (the loss itself: backward starts here)",
        "dL/dv = ∂L/∂v = 2v = 2 · 10 = 20",
        "dL/db = dL/dv · ∂v/∂b = 20 · 1 = 20",
        "dL/du = dL/dv · ∂v/∂u = 20 · 1 = 20",
        "dL/dw = dL/du · ∂u/∂w = 20 · x = 20 · 2 = 40",
    ]
    # a local derivative is never written with the gradient's symbol
    assert not any("dL/dL ·" in line for line in backward_part)


def test_reuse_and_broadcasting():
    """mean(4X + b) = 14 + 0.5 = 14.5; dL/dz = 1/6 everywhere; dL/db sums two rows: 1/3 each;
    dL/dsq = sum(X)/6 = 3.5; dL/ds = 3.5*s + 3.5*s + (1 - tanh(2)^2) = 7 + 7 + 0.0706508."""
    e = explain(compile_text(REUSE))
    text = explanation_text(e)
    assert text == golden("explain_reuse_broadcast.txt")
    assert "dL/dsq = dL/dy · ∂y/∂sq = dL/dy · X" in text
    assert "summed over axes 0, 1: (2,3) -> () (unbroadcast)" in text
    assert "summed over axis 0: (2,3) -> (3,) (unbroadcast)" in text
    assert "via sq (mul, argument 1): dL/dsq · ∂sq/∂s = 3.5 · s = 3.5 · 2 = 7" in text
    assert "via sq (mul, argument 2): dL/dsq · ∂sq/∂s = 3.5 · s = 3.5 · 2 = 7" in text
    assert "via t (tanh): dL/dt · ∂t/∂s = 1 · (1 - tanh(s)^2) = 1 · 0.0706508 = 0.0706508" in text
    assert "dL/dm = ∂L/∂m = 1" in text  # the loss's own local derivative: no dL/dL factor
    assert "dL/ds = 7 + 7 + 0.0706508 = 14.0707" in text
    np.testing.assert_allclose(e.gradient("b"), [1 / 3] * 3)
    np.testing.assert_allclose(e.gradient("s"), 14 + 1 - np.tanh(2) ** 2)


def test_param_paths_add_up_to_the_gradient():
    e = explain(compile_text(REUSE), param="s")
    assert e.path_count == 3
    contributions = [float(p.contribution) for p in e.paths]
    np.testing.assert_allclose(contributions, [7, 7, 1 - np.tanh(2) ** 2])
    text = explanation_text(e)
    assert "path 1: s -(argument 1)-> sq -> y -> z -> m -> L" in text
    assert "path 2: s -(argument 2)-> sq -> y -> z -> m -> L" in text
    # along a path every factor is a local derivative: all ∂
    assert "    ∂L/∂m · ∂m/∂z · ∂z/∂y · ∂y/∂sq · ∂sq/∂s = 1 · 1/n · 1 · X · s = 7" in text
    assert "path 3: s -> t -> L" in text
    assert "dL/ds = 7 + 7 + 0.0706508 = 14.0707" in text
    assert "backward, in reverse" not in text  # only the paths


@pytest.mark.parametrize("param", ["W1", "b1", "W2", "b2"])
def test_tensor_paths_add_up_to_the_backward_gradient(root, param):
    from graphrun import compile
    graph = compile(f"{root}/graphs/mlp.yaml")
    e = explain(graph, param=param)
    grads = graphrun.run(graph).grads
    total = sum(p.contribution for p in e.paths)
    np.testing.assert_allclose(total, grads[param], rtol=1e-12, atol=1e-15)


def test_a_diamond_has_two_paths():
    """a = 3w, b = w^2, L = a + b at w = 2: the paths give 3 and 2w = 4, the gradient 7."""
    e = explain(compile_text("""\
graphrun: 1
params: {w: 2}
nodes:
  a: {op: mul, args: [w, 3]}
  b: {op: square, args: [w]}
  L: {op: add, args: [a, b]}
loss: L
"""), param="w")
    assert [float(p.contribution) for p in e.paths] == [3.0, 4.0]
    text = explanation_text(e)
    assert "∂L/∂a · ∂a/∂w = 1 · 3 = 3" in text
    assert "∂L/∂b · ∂b/∂w = 1 · 2w = 1 · 4 = 4" in text
    assert "dL/dw = 3 + 4 = 7" in text


def test_too_many_paths_is_said_and_falls_back_to_the_steps():
    """Each level adds a value to itself: 2^20 paths from x0, and a gradient of 2^20."""
    levels = 20
    nodes = "\n".join(f"  x{i + 1}: {{op: add, args: [x{i}, x{i}]}}" for i in range(levels))
    graph = compile_text(f"graphrun: 1\nparams: {{x0: 1}}\nnodes:\n{nodes}\nloss: x{levels}\n")
    e = explain(graph, param="x0", max_paths=100)
    assert e.path_count == 2 ** levels and e.paths == ()
    text = explanation_text(e)
    assert f"paths from x{levels} down to x0: {2 ** levels} paths" in text
    assert "more than the cap of 100 (--max-paths)" in text
    assert f"dx{levels}/dx0 = 524288 + 524288 = 1.04858e+06" in text


def test_unreached_values_are_named_once():
    text = explanation_text(explain(compile_text("""\
graphrun: 1
params: {w: 2, unused: 5}
nodes:
  L: {op: square, args: [w]}
  after: {op: neg, args: [L]}
loss: L
""")))
    assert "not on any path to L (gradient 0): unused, after" in text


def test_json_for_tools(root):
    code, out, _ = call("explain", f"{root}/graphs/simple.yaml", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["loss"] == "L"
    grads = {entry["name"]: entry["gradient"] for entry in doc["backward"]}
    assert grads == {"L": 1.0, "v": 20.0, "b": 20.0, "u": 20.0, "w": 40.0}
    w = next(entry for entry in doc["backward"] if entry["name"] == "w")
    # arguments counted from 1, as in the text and in every message
    assert w["uses"] == [{"consumer": "u", "op": "mul", "argument": 1, "upstream": 20.0, "local": "x",
                          "local_value": 2.0, "unbroadcast_from": None, "contribution": 40.0}]
    code, out, _ = call("explain", f"{root}/graphs/mlp.yaml", "--format", "json", "--param", "b1")
    doc = json.loads(out)
    assert doc["path_count"] == 1 and doc["gradient"]["shape"] == [4]


def test_mistakes_are_reported(root, tmp_path):
    code, _, err = call("explain", f"{root}/graphs/simple.yaml", "--param", "ww")
    assert code == 2 and "no param named 'ww'; did you mean 'w'?" in err
    code, _, err = call("explain", f"{root}/graphs/simple.yaml", "--param", "x")
    assert code == 2 and "'x' is an input: inputs get no gradient" in err
    graph = tmp_path / "forward.yaml"
    graph.write_text("graphrun: 1\ninputs: {x: 1}\nnodes:\n  y: {op: neg, args: [x]}\n")
    code, _, err = call("explain", str(graph))
    assert code == 2 and err.startswith(f"{graph}:1:1: error: this graph has no loss")
    assert "Traceback" not in err


def test_no_loss_is_a_graph_error():
    with pytest.raises(GraphError):
        explain(compile_text("graphrun: 1\ninputs: {x: 1}\nnodes:\n  y: {op: neg, args: [x]}\n"))


def test_number_literals_are_written_into_the_local_derivatives():
    """x = 1.5: d/dx of 2x, x^3, 1 - x through a/(-4), b and c^2 (c = -0.5):
    -0.25 * 2 + 3 * 1.5^2 + 2c * (-1) = -0.5 + 6.75 + 1 = 7.25."""
    text = explanation_text(explain(compile_text("""\
graphrun: 1
params: {x: 1.5}
nodes:
  a: {op: mul, args: [x, 2]}
  b: {op: pow, args: [x, 3]}
  c: {op: sub, args: [1, x]}
  d: {op: div, args: [a, -4]}
  e: {op: square, args: [c]}
  s1: {op: add, args: [b, d]}
  L: {op: add, args: [s1, e]}
loss: L
""")))
    assert "dL/da = dL/dd · ∂d/∂a = 1 · 1/(-4) = 1 · (-0.25) = -0.25" in text
    assert "via b (pow, argument 1): dL/db · ∂b/∂x = 1 · 3*x^(3-1) = 1 · 6.75 = 6.75" in text
    assert "via c (sub, argument 2): dL/dc · ∂c/∂x = (-1) · (-1) = 1" in text
    assert "dL/dx = -0.5 + 6.75 + 1 = 7.25" in text


def test_a_value_the_loss_uses_twice_names_each_argument():
    """L = f * f at f = e + 2, e = tanh(d): each use by L contributes f (its local derivative, the
    other argument held fixed), and together 2f; no dL/dL factor, arguments counted from 1."""
    e = explain(compile_text("""\
graphrun: 1
params: {d: 0.5}
nodes:
  e: {op: tanh, args: [d]}
  f: {op: sub, args: [e, -2]}
  L: {op: mul, args: [f, f]}
loss: L
"""))
    f = np.tanh(0.5) + 2
    text = explanation_text(e)
    assert f"via L (mul, argument 1): ∂L/∂f = f = {f:.6g}" in text
    assert f"via L (mul, argument 2): ∂L/∂f = f = {f:.6g}" in text
    assert f"dL/df = {f:.6g} + {f:.6g} = {2 * f:.6g}" in text
    np.testing.assert_allclose(e.gradient("d"), 2 * f * (1 - np.tanh(0.5) ** 2))


def test_numbers_put_into_the_loss_local_derivative():
    """L = c^2 at c = -0.5: the lesson's form, with the negative number bracketed; L = w * k with
    a negative k: the local derivative is the other argument."""
    text = explanation_text(explain(compile_text(
        "graphrun: 1\nparams: {c: -0.5}\nnodes:\n  L: {op: square, args: [c]}\nloss: L\n")))
    assert "  dL/dc = ∂L/∂c = 2c = 2 · (-0.5) = -1\n" in text
    text = explanation_text(explain(compile_text(
        "graphrun: 1\nparams: {w: 2, k: -0.25}\nnodes:\n  L: {op: mul, args: [w, k]}\nloss: L\n")))
    assert "  dL/dw = ∂L/∂w = k = -0.25\n" in text and "  dL/dk = ∂L/∂k = w = 2\n" in text


def test_json_paths_count_arguments_from_1():
    doc = json.loads(explain(compile_text(REUSE), param="s").json())
    assert [p["arguments"][0] for p in doc["paths"]] == [1, 2, 1]
    assert [p["nodes"] for p in doc["paths"]][0] == ["s", "sq", "y", "z", "m", "L"]


def test_the_readme_examples_are_what_explain_prints(root):
    with open(f"{root}/README.md", encoding="utf-8") as f:
        readme = f.read()
    for argv in (["graphs/simple.yaml"], ["graphs/simple.yaml", "--param", "w"]):
        command = "$ graphrun explain " + " ".join(argv) + "\n...\n"
        block = readme[readme.index(command) + len(command):]
        block = block[:block.index("```")]
        out = call("explain", *[f"{root}/{a}" if a.endswith(".yaml") else a for a in argv])[1]
        assert out.endswith(block)
