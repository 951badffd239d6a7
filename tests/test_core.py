"""The core pipeline on the graphs every autodiff engine must get right."""

import numpy as np
import pytest

from conftest import compile_text, run_text
from graphrun import GraphError, compile, run


def grads_by_name(results):
    return dict(results.grads)


def values_by_name(results):
    return dict(results.values)


def test_chain_rule_lesson(root):
    results = run(compile(f"{root}/graphs/simple.yaml"))
    v, g = values_by_name(results), grads_by_name(results)
    assert (float(v["u"]), float(v["v"]), float(v["L"])) == (6.0, 10.0, 100.0)
    assert float(results.loss) == 100.0
    assert {k: float(x) for k, x in g.items()} == {"w": 40.0, "b": 20.0, "u": 20.0, "v": 20.0,
                                                    "L": 1.0}


def test_reuse_mul_x_x_counts_both_uses():
    # a DiGraph keeps one edge for mul(x, x); the argument list keeps two, and d(x*x)/dx = 2x
    g = grads_by_name(run_text("""
graphrun: 1
params: {x: 3}
nodes:
  y: {op: mul, args: [x, x]}
loss: y
"""))
    assert float(g["x"]) == 6.0


def test_diamond_sums_both_paths():
    # L = a*b with a = 2x, b = x + 1: dL/dx = 2b + a = 2(x+1) + 2x
    x = 1.5
    g = grads_by_name(run_text(f"""
graphrun: 1
params: {{x: {x}}}
nodes:
  a: {{op: mul, args: [x, 2]}}
  b: {{op: add, args: [x, 1]}}
  L: {{op: mul, args: [a, b]}}
loss: L
"""))
    assert float(g["x"]) == 2 * (x + 1) + 2 * x


def test_unused_param_gets_zeros_of_its_shape():
    results = run_text("""
graphrun: 1
params:
  w: 2
  unused: [[1, 2, 3], [4, 5, 6]]
nodes:
  L: {op: square, args: [w]}
  side: {op: exp, args: [unused]}
loss: L
""")
    g = grads_by_name(results)
    assert g["unused"].shape == (2, 3) and not g["unused"].any()
    assert g["side"].shape == (2, 3) and not g["side"].any()
    assert float(g["w"]) == 4.0


@pytest.mark.parametrize("n", [5000])
def test_deep_chain_has_no_recursion_limit(n):
    # x_{i+1} = x_i * 1.0001: far deeper than Python's recursion limit (1000)
    lines = ["graphrun: 1", "params: {x0: 1.0}", "nodes:"]
    lines += [f"  x{i + 1}: {{op: mul, args: [x{i}, 1.0001]}}" for i in range(n)]
    lines.append(f"loss: x{n}")
    results = run_text("\n".join(lines) + "\n")
    g = grads_by_name(results)
    assert np.isclose(float(results.loss), 1.0001 ** n, rtol=1e-12)
    assert np.isclose(float(g["x0"]), 1.0001 ** n, rtol=1e-12)
    assert float(g["x2500"]) == pytest.approx(1.0001 ** (n - 2500), rel=1e-12)


def test_nodes_written_in_any_order_run_in_dependency_order():
    results = run_text("""
graphrun: 1
params: {a: 2}
nodes:
  c: {op: mul, args: [b, b]}
  b: {op: add, args: [a, 1]}
loss: c
""")
    assert [s.name for s in results.program.steps] == ["b", "c"]
    assert float(grads_by_name(results)["a"]) == 6.0


def test_forward_only_graph_has_no_gradients():
    results = run_text("""
graphrun: 1
inputs: {x: [1, 2, 3]}
nodes:
  y: {op: sum, args: [x]}
""")
    assert results.grads is None
    assert float(values_by_name(results)["y"]) == 6.0


def test_accumulation_never_mutates_a_shared_cotangent():
    # add's VJP returns g itself for both args; an in-place += would double-count into b
    g = grads_by_name(run_text("""
graphrun: 1
params: {a: 1.0, b: 1.0}
nodes:
  s: {op: add, args: [a, a]}
  t: {op: add, args: [s, b]}
  L: {op: mul, args: [t, 3]}
loss: L
"""))
    assert (float(g["a"]), float(g["b"]), float(g["s"])) == (6.0, 3.0, 3.0)


def test_broadcast_gradients_are_summed_to_each_shape():
    results = run_text("""
graphrun: 1
params:
  col: [[1], [2], [3]]
  row: [[10, 20]]
  s: 2
nodes:
  m: {op: mul, args: [col, row]}
  n: {op: mul, args: [m, s]}
  L: {op: sum, args: [n]}
loss: L
""")
    g = grads_by_name(results)
    assert g["col"].shape == (3, 1) and g["col"].ravel().tolist() == [60.0, 60.0, 60.0]
    assert g["row"].shape == (1, 2) and g["row"].ravel().tolist() == [12.0, 12.0]
    assert float(g["s"]) == float(np.sum(np.array([[1], [2], [3]]) * np.array([[10, 20]])))


def test_run_twice_gives_the_same_numbers():
    text = """
graphrun: 1
params:
  W: {init: normal, shape: [3, 3], seed: 7}
nodes:
  h: {op: tanh, args: [W]}
  L: {op: sum, args: [h]}
loss: L
"""
    a, b = run_text(text), run_text(text)
    assert all(np.array_equal(x, y) for x, y in zip(a.grads, b.grads) if x is not None)


def test_loss_must_be_a_single_element():
    with pytest.raises(GraphError) as e:
        compile_text("""
graphrun: 1
params: {w: [1, 2]}
nodes:
  h: {op: square, args: [w]}
loss: h
""")
    assert "exactly one element" in str(e.value)


def test_unbroadcast_sums_what_broadcasting_added_and_refuses_anything_else():
    from graphrun.engine.executor import unbroadcast

    g = unbroadcast(np.ones((4, 2, 3)), (2, 1))
    assert g.shape == (2, 1) and g.ravel().tolist() == [12.0, 12.0]
    assert unbroadcast(np.arange(6.0).reshape(2, 3), ()).item() == 15.0
    with pytest.raises(AssertionError):  # a transposed cotangent is a bug, never reshaped away
        unbroadcast(np.ones((3, 2)), (2, 3))
    with pytest.raises(AssertionError):
        unbroadcast(np.ones(3), (2, 3))


def test_the_schemas_op_list_is_the_op_table():
    # editors complete op names from the schema; the table is what runs: they must not drift
    from graphrun.frontend import schema
    from graphrun.ops import OPS

    assert sorted(schema.schema()["definitions"]["node"]["properties"]["op"]["enum"]) == sorted(OPS)
