"""Shape and dtype inference: every node's type is known before anything runs, and a mismatch is
reported at the node's line, through the CLI, naming what was expected and what was found."""


import numpy as np
import pytest

from conftest import call, compile_text
from graphrun import GraphError
from graphrun.ops import OPS, OpError, Type
from graphrun.frontend.spec import LeafSpec

HEADER = """graphrun: 1
inputs:
  y: {value: [0, 1], dtype: int64}
  y3: {value: [0, 1, 2], dtype: int64}
params:
  a: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
  v: [1.0, 2.0, 3.0, 4.0]
  s: 2.0
  t: [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]
nodes:
  ok: {op: sum, args: [a]}
"""
NODE_LINE = HEADER.count("\n") + 1  # the bad node is the line after the header


def cli_error(tmp_path, node):
    path = tmp_path / "g.yaml"
    path.write_text(HEADER + f"  bad: {node}\n")
    code, out, err = call(str(path))
    assert code == 2 and out == "", err
    lines = err.splitlines()
    assert len(lines) == 1, lines
    location, _, message = lines[0].partition(": error: ")
    assert location.startswith(f"{path}:{NODE_LINE}:"), lines[0]
    return message


@pytest.mark.parametrize("node,message", [
    ("{op: add, args: [a, v]}", "node 'bad': shape mismatch: add cannot broadcast (2,3) with (4,)"),
    ("{op: maximum, args: [t, v]}",
     "node 'bad': shape mismatch: maximum cannot broadcast (1,2,3) with (4,)"),
    # losses compare element by element: no broadcasting (the issue "silent wrong answer")
    ("{op: mse, args: [a, v]}", "node 'bad': shape mismatch: mse compares pred (2,3) with target "
     "(4,) element by element, so their shapes must be equal; reshape one side to the other's "
     "shape ({op: reshape, args: [...], shape: [2, 3]})"),
    ("{op: matmul, args: [a, a]}",
     "node 'bad': shape mismatch: matmul (2,3) @ (2,3): 3 columns against 2 rows"),
    ("{op: matmul, args: [v, a]}",
     "node 'bad': shape mismatch: matmul (4,) @ (2,3): 4 columns against 2 rows"),
    ("{op: matmul, args: [a, s]}",
     "node 'bad': matmul needs arguments with at least one axis; argument 2 is a scalar (use mul)"),
    ("{op: reshape, args: [a], shape: [4, 2]}",
     "node 'bad': reshape: cannot reshape (2,3) (6 elements) into (4,2) (8 elements)"),
    ("{op: reshape, args: [a], shape: [-1, 4]}",
     "node 'bad': reshape: cannot reshape (2,3) (6 elements) into [-1, 4]"),
    ("{op: reshape, args: [a], shape: [-1, -1]}",
     "node 'bad': reshape: shape [-1, -1] has more than one -1"),
    ("{op: sum, args: [a], axis: 2}",
     "node 'bad': sum: axis 2 is out of range for a 2-D argument (expected -2..1)"),
    ("{op: max, args: [a], axis: [0, -3]}",
     "node 'bad': max: axis -3 is out of range for a 2-D argument (expected -2..1)"),
    ("{op: mean, args: [a], axis: [1, -1]}", "node 'bad': mean: axis [1, -1] repeats an axis"),
    ("{op: logsumexp, args: [s], axis: 0}",
     "node 'bad': logsumexp: axis 0 given for a 0-D (scalar) argument"),
    ("{op: sum, args: [a], axis: []}",
     "node 'bad': sum: axis [] names no axis; write axis: null to reduce over every axis"),
    ("{op: softmax, args: [a], axis: -3}",
     "node 'bad': softmax: axis -3 is out of range for a 2-D argument (expected -2..1)"),
    ("{op: log_softmax, args: [a], axis: [0, 1]}",
     "node 'bad': log_softmax: axis must be one integer; found [0, 1]"),
    ("{op: softmax, args: [s]}",
     "node 'bad': softmax needs an argument with at least one axis; found a scalar"),
    ("{op: transpose, args: [a], axes: [0, 0]}",
     "node 'bad': transpose: axes [0, 0] is not a permutation of 0..1"),
    ("{op: transpose, args: [a], axes: [1, 0, 2]}",
     "node 'bad': transpose: axes [1, 0, 2] has 3 entries for a 2-D argument"),
    ("{op: concat, args: [a, v]}",
     "node 'bad': shape mismatch: concat along axis 0: argument 2 is (4,), argument 1 is (2,3)"),
    ("{op: concat, args: [a, t], axis: 1}",
     "node 'bad': shape mismatch: concat along axis 1: argument 2 is (1,2,3), argument 1 is (2,3)"),
    ("{op: concat, args: [a, a], axis: 2}",
     "node 'bad': concat: axis 2 is out of range for a 2-D argument (expected -2..1)"),
    ("{op: concat, args: [s, s]}",
     "node 'bad': concat needs arguments with at least one axis; argument 1 is a scalar"),
    ("{op: cross_entropy, args: [v, y]}",
     "node 'bad': cross_entropy expects logits of shape (N, C); found (4,)"),
    ("{op: cross_entropy, args: [a, y3]}",
     "node 'bad': shape mismatch: cross_entropy logits (2,3) need labels of shape (2,); "
     "found (3,)"),
    ("{op: cross_entropy, args: [a, v]}",
     "node 'bad': cross_entropy expects int64 class labels as argument 2; found float64 "
     "(write labels as {value: [...], dtype: int64})"),
    ("{op: cross_entropy, args: [a, 1]}",
     "node 'bad': cross_entropy expects int64 class labels as argument 2; found a number literal "
     "(write labels as {value: [...], dtype: int64})"),
    ("{op: cross_entropy, args: [y, y]}",
     "node 'bad': cross_entropy takes floating-point arguments; argument 1 is int64"),
    ("{op: add, args: [a, y]}", "node 'bad': add takes floating-point arguments; argument 2 is int64"),
])
def test_mismatch_is_reported_at_the_node_line(tmp_path, node, message):
    assert cli_error(tmp_path, node) == message


def test_shapes_flow_through_the_graph_before_anything_runs(monkeypatch):
    """A mismatch three nodes downstream is found without computing a single value."""
    def refuse(self):
        raise AssertionError("a leaf was materialized before the graph was checked")
    monkeypatch.setattr(LeafSpec, "materialize", refuse)
    with pytest.raises(GraphError) as e:
        compile_text(HEADER + "  h: {op: matmul, args: [a, t]}\n"  # (2,3) @ (1,2,3): 3 vs 2
                     "  z: {op: matmul, args: [v, v]}\n  bad: {op: add, args: [z, a]}\n")
    assert [p.message for p in e.value.problems] == [
        "node 'h': shape mismatch: matmul (2,3) @ (1,2,3): 3 columns against 2 rows"]
    program = compile_text(HEADER + "  h: {op: transpose, args: [t], axes: [0, 2, 1]}\n"
                           "  m: {op: matmul, args: [t, h]}\n"
                           "  r: {op: reshape, args: [m], shape: [-1, 2]}\n"
                           "  c: {op: concat, args: [r, r], axis: -1}\n"
                           "  l: {op: cross_entropy, args: [c, y]}\n").program
    types = dict(zip(program.names, program.types))
    assert types["h"] == Type((1, 3, 2), np.dtype("float64"))
    assert types["m"].shape == (1, 2, 2) and types["r"].shape == (2, 2)
    assert types["c"].shape == (2, 4) and types["l"] == Type((), np.dtype("float64"))


def test_every_op_infers_the_shape_and_dtype_forward_produces():
    """infer() against forward() on float64 and float32 arguments, for every case of the
    finite-difference table (which covers every op)."""
    from test_gradients import CASES, _args, _attrs
    for name, cases in CASES.items():
        for case in cases:
            for dtype in (np.float64, np.float32):
                args = _args(np.random.default_rng(0), case, dtype)
                types = [Type(np.shape(a), np.asarray(a).dtype) for a in args]
                t = OPS[name].infer(*types, **_attrs(case))
                out = np.asarray(OPS[name].forward(*args, **_attrs(case)))
                assert (t.shape, t.dtype) == (out.shape, out.dtype), (name, case, dtype)


def test_literals_have_no_dtype_of_their_own():
    t = OPS["mul"].infer(Type((2,), np.dtype("float32")), Type((), None))
    assert t == Type((2,), np.dtype("float32"))
    with pytest.raises(OpError):
        OPS["add"].infer(Type((2,), np.dtype("int64")), Type((), None))
