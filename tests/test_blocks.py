"""Blocks and includes: a block call makes the block's nodes, scoped; problems inside a block are
at the block's line with the call site as a note (in another file too); a block that calls
itself is refused with the cycle; includes are relative, confined, and their problems are at
the include line; a library file is not a graph."""

import os

import numpy as np
import pytest

import graphrun
from conftest import ROOT, call, compile_text
from graphrun.errors import GraphError

DENSE = """\
blocks:
  dense:
    args: [x, W, b]
    nodes:
      z: x @ W + b
      out: tanh(z)
    output: out
"""
LEAVES = """\
graphrun: 1
inputs: {X: [[1.0, 2.0], [3.0, -1.0]]}
params:
  W1: [[0.5, -1.0, 2.0], [1.5, 0.5, -0.5]]
  b1: [0.1, 0.2, 0.3]
  W2: [[1.0], [-2.0], [0.5]]
  b2: [0.25]
"""


def located(error):
    return [row.text() for row in error.located()]


def problems(text, name="g.yaml"):
    with pytest.raises(GraphError) as e:
        compile_text(text, name)
    return located(e.value)


def test_a_call_makes_the_blocks_nodes_named_after_the_call():
    graph = compile_text(LEAVES + DENSE + "nodes:\n  h1: dense(X, W1, b1)\n"
                         "  h2: dense(h1, W=W2, b=b2)\n  L: sum(h2)\nloss: L\n")
    assert graph.nodes == ("h1.z.1", "h1.z", "h1", "h2.z.1", "h2.z", "h2", "L")
    results = graphrun.run(graph)
    X, W1, b1 = (graph.leaf_values()[graph.program.slot(n)] for n in ("X", "W1", "b1"))
    h1 = np.tanh(X @ W1 + b1)
    np.testing.assert_array_equal(results.values["h1"], h1)
    np.testing.assert_array_equal(results.values["h1.z"], X @ W1 + b1)
    # the same graph written out by hand gives the same bytes
    by_hand = compile_text(LEAVES + "nodes:\n  h1.z.1: X @ W1\n  h1.z: h1.z.1 + b1\n"
                           "  h1: tanh(h1.z)\n  h2.z.1: h1 @ W2\n  h2.z: h2.z.1 + b2\n"
                           "  h2: tanh(h2.z)\n  L: sum(h2)\nloss: L\n")
    assert graphrun.run(by_hand).text().replace("graph: test", "") == \
        results.text().replace("graph: test", "")


def test_a_call_inside_an_expression_and_blocks_calling_blocks():
    text = LEAVES + """\
blocks:
  affine:
    args: [x, W, b]
    nodes:
      y: x @ W + b
    output: y
  layer:
    args: [x, W, b]
    nodes:
      a: affine(x, W, b)
      out: tanh(a)
    output: out
nodes:
  L: sum(layer(X, W1, b1) * 2)
loss: L
"""
    graph = compile_text(text)
    assert graph.nodes == ("L.1.1.a.y.1", "L.1.1.a", "L.1.1", "L.1", "L")
    assert graphrun.run(graph).loss == pytest.approx(
        2 * np.tanh(np.array([[1.0, 2.0], [3.0, -1.0]]) @ np.array([[0.5, -1.0, 2.0],
                                                                    [1.5, 0.5, -0.5]])
                    + [0.1, 0.2, 0.3]).sum(), rel=1e-15)


def test_shapes_are_checked_per_instance_at_the_blocks_line_with_the_call_as_a_note():
    found = problems(LEAVES + DENSE + "nodes:\n  h1: dense(X, W1, b1)\n  h2: dense(X, W2, b2)\n",
                     "g.yaml")
    assert found == ["g.yaml:12:12: error: node 'h2.z.1': shape mismatch: matmul (2,2) @ (3,1): "
                     "2 columns against 3 rows\ng.yaml:17:7: note: in block 'dense', called here"]


def test_a_problem_two_calls_deep_names_both_calls_innermost_first():
    text = LEAVES + """\
blocks:
  inner:
    args: [x, M]
    nodes:
      y: x @ M
    output: y
  outer:
    args: [x, M]
    nodes:
      y: inner(x * 2, M)
    output: y
nodes:
  u: outer(X, W2)
"""
    assert problems(text) == [
        "g.yaml:12:12: error: node 'u': shape mismatch: matmul (2,2) @ (3,1): 2 columns against "
        "3 rows\ng.yaml:17:10: note: in block 'inner', called here\n"
        "g.yaml:20:6: note: in block 'outer', called here"]
    graph = compile_text(text.replace("outer(X, W2)", "outer(X, W1)"))
    assert graph.nodes == ("u.y.1", "u")


def test_an_error_at_run_time_inside_a_block_is_at_its_line_with_the_call_as_a_note():
    text = "graphrun: 1\ninputs: {x: [1.0, 0.0]}\nblocks:\n  lg:\n    args: [v]\n    nodes:\n" \
           "      out: 2 * log(v)\n    output: out\nnodes:\n  u: lg(x)\n  L: sum(u)\nloss: L\n"
    with pytest.raises(GraphError) as e:
        graphrun.run(compile_text(text, "g.yaml"))
    assert located(e.value) == ["g.yaml:7:16: error: node 'u.out.2' (log): forward produced -inf at "
                                "index [1]; pass check_finite=False to keep it anyway\n"
                                "g.yaml:10:6: note: in block 'lg', called here"]


def test_a_name_from_outside_the_block_is_refused_at_its_token():
    found = problems(LEAVES + "blocks:\n  bad:\n    args: [x]\n    nodes:\n      y: x @ W1\n"
                     "    output: y\nnodes:\n  u: bad(X)\n")
    assert found == ["g.yaml:12:14: error: unknown name 'W1' in block 'bad' (a block uses only "
                     "its args x and its own nodes: pass the value as an argument)"]


def test_an_unknown_name_passed_to_a_block_is_the_calls_problem_once():
    found = problems(LEAVES + DENSE + "nodes:\n  h: dense(X, Wx, b1)\n")
    assert len(found) == 1 and found[0].startswith("g.yaml:16:15: error: unknown name 'Wx'")


@pytest.mark.parametrize("call_text,expected", [
    ("dense(X, W1)", "16:6: error: block 'dense' needs the argument 'b' (its args: x, W, b)"),
    ("dense(X, W1, b1, b1)", "16:6: error: block 'dense' takes 3 arguments (x, W, b); found 4"),
    ("dense(X, W1, c=b1)", "16:19: error: block 'dense' has no argument 'c' (its args: x, W, b)"),
    ("dense(X, W1, b1, W=W1)", "16:23: error: argument 'W' of block 'dense' is given twice"),
    ("dens(X, W1, b1)", "16:6: error: unknown function 'dens'; did you mean 'dense'?"),
])
def test_block_calls_are_checked(call_text, expected):
    found = problems(LEAVES + DENSE + f"nodes:\n  h: {call_text}\n")
    assert found[0].startswith(f"g.yaml:{expected}"), found


def test_a_block_that_calls_itself_is_refused_with_the_cycle():
    text = LEAVES + "blocks:\n  a:\n    args: [x]\n    nodes:\n      y: tanh(b(x))\n" \
                    "    output: y\n  b:\n    args: [x]\n    nodes:\n      y: a(x) * 2\n" \
                    "    output: y\n  c:\n    args: [x]\n    nodes:\n      y: c(x)\n    output: y\n" \
                    "nodes:\n  u: a(X)\n  v: c(X)\n  w: u + v\n"
    assert problems(text) == [
        "g.yaml:17:10: error: block 'a' calls itself: a -> b -> a",
        "g.yaml:22:10: error: block 'c' calls itself: c -> c"]


@pytest.mark.parametrize("block,expected", [
    ("  tanh:\n    args: [x]\n    nodes: {y: x * 2}\n    output: y\n",
     "9:3: error: block 'tanh' has the name of an op"),
    ("  d:\n    args: [x]\n    nodes: {y: x * 2}\n    output: x\n",
     "12:13: error: block 'd': output 'x' is an argument; the output must be one of its nodes"),
    ("  d:\n    args: [x, x]\n    nodes: {y: x * 2}\n    output: y\n",
     "10:15: error: block 'd' names the argument 'x' twice"),
    ("  d:\n    args: [x]\n    nodes: {x: x * 2}\n    output: x\n",
     "11:13: error: name 'x' is defined twice in block 'd'"),
    ("  d:\n    args: [x]\n    nodes: {y: {op: mull, args: [x, 2]}}\n    output: y\n",
     "11:21: error: unknown op 'mull'; did you mean 'mul'?"),
    ("  d:\n    args: [x]\n    nodes: {y: {op: neg, args: [x, 2]}}\n    output: y\n",
     "11:32: error: neg takes 1 argument; found 2"),
])
def test_a_block_is_checked_once_where_it_is_written(block, expected):
    found = problems(LEAVES + "blocks:\n" + block + "nodes:\n  u: X * 2\n")
    assert found[0].startswith(f"g.yaml:{expected}"), found
    assert len(found) == 1


# ---------------------------------------------------------------------------------------------
# includes

@pytest.fixture
def tree(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "layers.yaml").write_text("graphrun: 1\n" + DENSE)
    return tmp_path


def write(path, text):
    path.write_text(text)
    return str(path)


def test_an_include_brings_blocks_relative_to_the_including_file(tree):
    (tree / "lib" / "more.yaml").write_text("graphrun: 1\ninclude: [layers.yaml]\nblocks:\n"
                                            "  twice:\n    args: [x, W, b]\n    nodes:\n"
                                            "      y: dense(dense(x, W, b), W, b)\n"
                                            "    output: y\n")
    graph = write(tree / "g.yaml", LEAVES + "include: [lib/layers.yaml, lib/more.yaml]\n"
                  "nodes:\n  h: dense(X, W1, b1)\n  L: sum(h)\nloss: L\n")  # a diamond: fine
    assert graphrun.compile(graph).nodes == ("h.z.1", "h.z", "h", "L")
    files = graphrun.compile(graph).source.includes
    assert files == (str(tree / "lib" / "layers.yaml"), str(tree / "lib" / "more.yaml"))


def test_an_output_never_replaces_an_included_file(tree):
    graph = write(tree / "g.yaml", LEAVES + "include: [lib/layers.yaml]\nnodes:\n"
                  "  h: dense(X, W1, b1)\n")
    code, out, err = call("run", graph, "-o", str(tree / "lib" / "layers.yaml"))
    assert code == 2 and "refusing to write" in err and "layers.yaml" in err
    assert (tree / "lib" / "layers.yaml").read_text() == "graphrun: 1\n" + DENSE


@pytest.mark.parametrize("entry,words", [
    ("lib/nope.yaml", "include 'lib/nope.yaml': no such file"),
    ("../outside.yaml", "include '../outside.yaml' is outside the graph's folder"),
    ("lib/layers.txt", "expected a graph file name ending in .yaml or .yml"),
    ("g.yaml", "include cycle: g.yaml -> g.yaml"),
])
def test_include_problems_are_at_the_include_line(tree, entry, words):
    (tree.parent / "outside.yaml").write_text("graphrun: 1\n" + DENSE)
    graph = write(tree / "g.yaml", LEAVES + f"include: [{entry}]\nnodes:\n  h: X * 2\n")
    with pytest.raises(GraphError) as e:
        graphrun.compile(graph)
    first = located(e.value)[0]
    assert first.startswith(f"{graph}:8:11: error: ") and words in first, first


def test_an_include_cycle_through_two_files_is_named(tree):
    (tree / "lib" / "a.yaml").write_text("graphrun: 1\ninclude: [b.yaml]\n" + DENSE)
    (tree / "lib" / "b.yaml").write_text("graphrun: 1\ninclude: [a.yaml]\nblocks: {}\n")
    graph = write(tree / "g.yaml", LEAVES + "include: [lib/a.yaml]\nnodes:\n  h: dense(X, W1, b1)\n")
    with pytest.raises(GraphError) as e:
        graphrun.compile(graph)
    assert located(e.value) == [f"{tree}/lib/b.yaml:2:11: error: include cycle: lib/a.yaml -> "
                                "lib/b.yaml -> lib/a.yaml"]


def test_a_block_defined_twice_is_at_the_include_line(tree):
    graph = write(tree / "g.yaml", LEAVES + DENSE + "include: [lib/layers.yaml]\nnodes:\n"
                  "  h: dense(X, W1, b1)\n")
    with pytest.raises(GraphError) as e:
        graphrun.compile(graph)
    assert located(e.value) == [
        f"{graph}:15:11: error: block 'dense' is defined twice\n"
        f"{graph}:9:3: note: 'dense' defined here\n"
        f"{tree}/lib/layers.yaml:3:3: note: and 'dense' defined here"]


def test_a_problem_in_an_included_file_is_in_that_file_with_the_include_as_a_note(tree):
    (tree / "lib" / "layers.yaml").write_text("graphrun: 1\n" + DENSE.replace("x @ W + b",
                                                                                "x @ Wq + b"))
    graph = write(tree / "g.yaml", LEAVES + "include: [lib/layers.yaml]\nnodes:\n"
                  "  h: dense(X, W1, b1)\n  L: sum(h)\n")
    with pytest.raises(GraphError) as e:
        graphrun.compile(graph)
    assert located(e.value) == [f"{tree}/lib/layers.yaml:6:14: error: unknown name 'Wq' in block "
                                "'dense'; did you mean 'W'? (a block uses only its args x, W, b "
                                "and its own nodes: pass the value as an argument)"]


def test_an_included_file_that_is_a_graph_is_refused(tree):
    (tree / "lib" / "graph.yaml").write_text("graphrun: 1\nnodes:\n  u: {op: neg, args: [1]}\n")
    graph = write(tree / "g.yaml", LEAVES + "include: [lib/graph.yaml]\nnodes:\n  h: X * 2\n")
    with pytest.raises(GraphError) as e:
        graphrun.compile(graph)
    assert located(e.value)[0].startswith(f"{graph}:8:11: error: lib/graph.yaml is not a library "
                                          "of blocks: it has 'nodes'")


# ---------------------------------------------------------------------------------------------
# library files

LAYERS = os.path.join(ROOT, "graphs", "layers.yaml")


def test_a_library_file_is_valid_but_not_runnable():
    assert call("validate", LAYERS) == (0, "1 graph valid\n", "")
    code, out, err = call("run", LAYERS)
    assert code == 2 and "is a library of blocks" in err


def test_folder_scans_pass_a_library_by_and_validate_checks_it(tmp_path):
    code, out, err = call("check", os.path.join(ROOT, "graphs"), "--golden",
                          os.path.join(ROOT, "tests", "golden"))
    assert code == 0 and "layers" not in out, out + err
    (tmp_path / "layers.yaml").write_text("graphrun: 1\n" + DENSE.replace("tanh(z)", "tanh(zz)"))
    code, out, err = call("validate", str(tmp_path))
    assert code == 2 and "unknown name 'zz'" in err
    assert call("run", str(tmp_path))[0] == 2  # a folder with no graph at all


# ---------------------------------------------------------------------------------------------
# draw and explain group an instance's nodes

def test_draw_groups_each_instance(tmp_path):
    graph = write(tmp_path / "g.yaml", LEAVES + DENSE + "nodes:\n  h1: dense(X, W1, b1)\n"
                  "  h2: dense(h1, W2, b2)\n  L: sum(h2)\nloss: L\n")
    code, mermaid, _ = call("draw", graph)
    assert code == 0
    assert '  subgraph g0["h1: dense"]' in mermaid and '  subgraph g1["h2: dense"]' in mermaid
    code, dot, _ = call("draw", graph, "--format", "dot")
    assert 'subgraph cluster_0 {' in dot and 'label="h1: dense"' in dot


def test_explain_names_the_instance_of_each_node(tmp_path):
    graph = write(tmp_path / "g.yaml", LEAVES + DENSE + "nodes:\n  h1: dense(X, W1, b1)\n"
                  "  L: sum(h1)\nloss: L\n")
    code, out, _ = call("explain", graph)
    assert code == 0 and "(in h1: dense)" in out


def test_the_three_layer_example_is_backpropagation_by_hand():
    """graphs/three_layer.yaml (two calls of layers.yaml's dense_tanh) against numpy by hand."""
    graph = graphrun.compile(os.path.join(ROOT, "graphs", "three_layer.yaml"))
    leaf = {name: graph.leaf_values()[graph.program.slot(name)]
            for name in graph.inputs + graph.params}
    X, t = leaf["X"], leaf["t"]
    W1, b1, W2, b2, W3, b3 = (leaf[n] for n in ("W1", "b1", "W2", "b2", "W3", "b3"))
    h1 = np.tanh(X @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    pred = h2 @ W3 + b3
    d_pred = 2 * (pred - t) / pred.size
    d_z2 = (d_pred @ W3.T) * (1 - h2 ** 2)
    d_z1 = (d_z2 @ W2.T) * (1 - h1 ** 2)
    want = {"W3": h2.T @ d_pred, "b3": d_pred.sum(), "W2": h1.T @ d_z2, "b2": d_z2.sum(0),
            "W1": X.T @ d_z1, "b1": d_z1.sum(0)}
    results = graphrun.run(graph)
    assert results.loss == pytest.approx(np.mean((pred - t) ** 2), rel=1e-14)
    np.testing.assert_allclose(results.values["h2"], h2, rtol=1e-14)
    for name, value in want.items():
        np.testing.assert_allclose(results.grads[name], value, rtol=1e-12, atol=1e-15)


def test_the_pytest_plugin_collects_a_graph_with_blocks_and_passes_its_library_by(tmp_path):
    import subprocess
    import sys

    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "layers.yaml").write_text("graphrun: 1\n" + DENSE)
    graph = write(tmp_path / "graphs" / "net.yaml", LEAVES + "include: [layers.yaml]\nnodes:\n"
                  "  h: dense(X, W1, b1)\n  L: sum(h)\nloss: L\n")
    assert call("check", str(tmp_path / "graphs"), "--golden", str(tmp_path / "golden"),
                "--update")[0] == 0
    assert os.listdir(tmp_path / "golden") == ["net.results.yaml"]  # no golden for a library
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["graphs"]\ngraphrun_golden = "golden"\n')
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "graphrun.pytest_plugin",
                           "-p", "no:cacheprovider", "-v"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "graphs/net.yaml::golden PASSED" in proc.stdout and "layers" not in proc.stdout
    assert call("run", graph)[0] == 0
