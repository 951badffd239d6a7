"""graphrun gradcheck: agrees on every example graph, names a planted wrong VJP with its line, skips
kinks and says so, checks float32 graphs in float64."""

import dataclasses
import glob
import re

import pytest

from graphrun.frontend.blocks import is_library_file

from graphrun import ops
from graphrun.frontend import schema
from conftest import call




def test_every_example_graph_passes(root):
    graphs = [g for g in sorted(glob.glob(f"{root}/graphs/*.yaml")) if not is_library_file(g)]
    assert graphs
    code, out, err = call("gradcheck", *graphs)
    assert (code, err) == (0, ""), out + err
    assert out.count("\nok: ") == len(graphs)


@pytest.fixture
def wrong_mul(monkeypatch):
    """A test-only op: mul whose VJP for its first argument is twice the truth. Registered in the
    op table (and allowed by the schema's list of op names) for this test only."""
    mul = ops.OPS["mul"]
    planted = dataclasses.replace(mul, name="wrong_mul",
                                  vjps=(lambda g, ans, x, y: 2 * g * y, mul.vjps[1]))
    monkeypatch.setitem(ops.OPS, "wrong_mul", planted)
    op_names = schema.schema()["definitions"]["node"]["properties"]["op"]
    monkeypatch.setitem(op_names, "enum", op_names["enum"] + ["wrong_mul"])
    return planted


def test_a_wrong_vjp_is_named_with_its_line(tmp_path, wrong_mul):
    graph = tmp_path / "planted.yaml"
    graph.write_text("""\
graphrun: 1
inputs: {x: [1.0, 2.0]}
params:
  w: [3.0, -1.0]
  b: 0.5
nodes:
  u: {op: wrong_mul, args: [w, x]}
  v: {op: add, args: [u, b]}
  L: {op: sum, args: [v]}
loss: L
""")
    code, out, err = call("gradcheck", str(graph))
    assert (code, err) == (1, "")
    # d L / d w = x = [1, 2]; the planted VJP says 2x = [2, 4]
    assert re.search(r"w \(2,\): 2 of 2 DISAGREE; worst w\[1\]: backward 4\.0, numeric 2\.0", out)
    assert re.search(r"b \(\): 1 agree", out)
    culprits = [line for line in out.splitlines() if ": error: " in line]
    assert len(culprits) == 1
    assert culprits[0].startswith(f"{graph}:7:")  # the line of node u
    assert "node 'u' (wrong_mul)" in culprits[0] and "argument 1 ('w')" in culprits[0]
    numbers = re.search(r"backward (\S+), numeric (\S+) ", culprits[0])
    backward, numeric = float(numbers.group(1)), float(numbers.group(2))
    assert backward == pytest.approx(2 * numeric, rel=1e-6)


def test_a_vjp_that_raises_is_named(tmp_path, monkeypatch, wrong_mul):
    def broken(g, ans, x, y):
        raise ValueError("no")
    monkeypatch.setitem(ops.OPS, "wrong_mul", dataclasses.replace(wrong_mul, vjps=(broken,
                                                                                 broken)))
    graph = tmp_path / "raises.yaml"
    graph.write_text("graphrun: 1\nparams: {w: 3.0}\nnodes:\n  L: {op: wrong_mul, args: [w, w]}\n"
                     "loss: L\n")
    code, out, _ = call("gradcheck", str(graph))
    assert code == 1
    assert f"{graph}:4:" in out and "the VJP of argument 1 ('w') raised ValueError: no" in out


def test_a_wrong_scalar_twin_is_named(root, monkeypatch):
    """Graphs of float64 scalars run on scalar_ops' Python-float twins: a wrong twin is found and
    named as such (d L/d w = 2v * x = 40; the planted twin says 3 * 40)."""
    mul = ops.OPS["mul"]
    forward_fn, vjp_x, vjp_y = mul.scalar
    planted = mul.twin._replace(fns=(forward_fn, lambda g, ans, x, y: 3 * g * y, vjp_y))
    monkeypatch.setitem(ops.OPS, "mul", dataclasses.replace(mul, twin=planted))
    code, out, _ = call("gradcheck", f"{root}/graphs/simple.yaml")
    assert code == 1 and "w (): 1 of 1 DISAGREE; worst w: backward 120.0, numeric 40.0" in out
    culprits = [line for line in out.splitlines() if ": error: " in line]
    assert len(culprits) == 1 and culprits[0].startswith(f"{root}/graphs/simple.yaml:13:")
    assert "node 'u' (mul): the VJP of argument 1 ('w') in scalar_ops" in culprits[0]


def test_kinks_are_skipped_and_said_to_be(tmp_path):
    graph = tmp_path / "kinks.yaml"
    graph.write_text("""\
graphrun: 1
params:
  a: [0.0, 1.5, -2.0]
  c: 2.0
  d: 2.0
  m: [[1.0, 3.0, 3.0], [0.5, 0.25, 0.0]]
  e: [0.0, 2.0]
nodes:
  r: {op: relu, args: [a]}
  s: {op: sum, args: [r]}
  t: {op: maximum, args: [c, d]}
  mx: {op: max, args: [m], axis: 1}
  ms: {op: sum, args: [mx]}
  ab: {op: abs, args: [e]}
  sa: {op: sum, args: [ab]}
  u: {op: add, args: [s, t]}
  u2: {op: add, args: [u, sa]}
  L: {op: add, args: [u2, ms]}
loss: L
""")
    code, out, err = call("gradcheck", str(graph))
    assert (code, err) == (0, ""), out
    skipped = [line.strip() for line in out.splitlines() if line.strip().startswith("skipped")]
    assert skipped == [
        "skipped a[0]: at or near a kink: relu at 0 in node 'r' (line 9)",
        "skipped c: at or near a kink: a tie in maximum in node 't' (line 11)",
        "skipped d: at or near a kink: a tie in maximum in node 't' (line 11)",
        "skipped m[0,1]: at or near a kink: a tie in max in node 'mx' (line 12)",
        "skipped m[0,2]: at or near a kink: a tie in max in node 'mx' (line 12)",
        "skipped e[0]: at or near a kink: abs at 0 in node 'ab' (line 14)",
    ]
    assert "a (3,): 2 agree" in out and "m (2,3): 4 agree" in out
    assert out.endswith("ok: 7 elements agree, 6 skipped at kinks\n")


def test_a_tie_that_perturbation_keeps_is_checked(tmp_path):
    """maximum(w, w) stays a tie under any perturbation of w: its gradient 0.5 + 0.5 = 1 is
    checked, not skipped."""
    graph = tmp_path / "tie.yaml"
    graph.write_text("graphrun: 1\nparams: {w: 1.5}\nnodes:\n  L: {op: maximum, args: [w, w]}\n"
                     "loss: L\n")
    code, out, _ = call("gradcheck", str(graph))
    assert code == 0 and "w (): 1 agree; worst w: backward 1.0" in out and "skipped" not in out


def test_a_large_loss_does_not_fail_small_gradients(tmp_path):
    """L = w^2 + z^2 + sum(sin(q)) at w = 1000: the loss is 1e6, so each finite difference carries
    a rounding error near 1e-4 at eps 1e-6, more than atol and rtol * cos(0.3) allow. The check
    allows for it (and still fails a wrong VJP: see test_a_wrong_vjp_is_named_with_its_line)."""
    graph = tmp_path / "large.yaml"
    graph.write_text("""\
graphrun: 1
params: {w: 1000.0, z: 0.0, q: [0.3, 0.7]}
nodes:
  a: {op: square, args: [w]}
  b: {op: square, args: [z]}
  c: {op: sin, args: [q]}
  d: {op: sum, args: [c]}
  s: {op: add, args: [a, b]}
  L: {op: add, args: [s, d]}
loss: L
""")
    code, out, _ = call("gradcheck", str(graph))
    assert code == 0, out
    assert "q (2,): 2 agree" in out


def test_float32_graphs_are_checked_in_float64(tmp_path):
    """In float32, a step of 1e-6 is below the precision of the loss: the check only passes at
    this tolerance because it runs in float64."""
    graph = tmp_path / "f32.yaml"
    graph.write_text("""\
graphrun: 1
params:
  w: {value: [0.3, -1.2, 2.5], dtype: float32}
nodes:
  t: {op: tanh, args: [w]}
  e: {op: exp, args: [t]}
  L: {op: sum, args: [e]}
loss: L
""")
    code, out, _ = call("gradcheck", str(graph), "--rtol", "1e-7", "--atol", "1e-9")
    assert code == 0, out
    assert "w (3,): 3 agree" in out


def test_big_params_are_sampled_with_a_seed(tmp_path):
    graph = tmp_path / "big.yaml"
    graph.write_text("""\
graphrun: 1
params:
  W: {init: normal, shape: [30, 40], seed: 3}
nodes:
  S: {op: sin, args: [W]}
  L: {op: sum, args: [S]}
loss: L
""")
    first = call("gradcheck", str(graph), "--max-elements", "10", "--seed", "7")
    again = call("gradcheck", str(graph), "--max-elements", "10", "--seed", "7")
    other = call("gradcheck", str(graph), "--max-elements", "10", "--seed", "8")
    assert first[0] == 0 and first == again
    assert "W (30,40): a sample of 10 of 1200 elements (seed 7), 10 agree" in first[1]
    assert first[1] != other[1]


def test_trouble_is_exit_2_and_the_other_graphs_still_run(root, tmp_path):
    forward_only = tmp_path / "forward.yaml"
    forward_only.write_text("graphrun: 1\ninputs: {x: 1}\nnodes:\n  y: {op: neg, args: [x]}\n")
    code, out, err = call("gradcheck", str(forward_only), f"{root}/graphs/simple.yaml")
    assert code == 2
    assert f"{forward_only}:1:1: error: this graph has no loss" in err
    assert "(chain-rule)" in out and "ok: 2 elements agree" in out
    for flag, value in (("--eps", "0"), ("--rtol", "-1"), ("--max-elements", "0"),
                        ("--eps", "abc")):
        code, _, err = call("gradcheck", f"{root}/graphs/simple.yaml", flag, value)
        assert code == 2 and "error" in err and "Traceback" not in err


def test_the_report_displays_itself_in_a_notebook(root):
    import graphrun
    report = graphrun.gradcheck(graphrun.compile(f"{root}/graphs/simple.yaml"))
    assert report.ok and report._repr_html_() == f"<pre>{report.text()}</pre>"
