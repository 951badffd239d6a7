"""graphrun draw: the Mermaid and DOT text parsed back: one node per value (leaves, number literals
and nodes), one edge per argument, in argument order; labels escaped."""

import os
import re

import pytest
import yaml

import graphrun
from graphrun.frontend.blocks import is_library_file

from conftest import call
from graphrun.tools.draw import dot_escape, mermaid_escape

# id, opening of the shape, "label", closing; edges with an optional "index" label
MERMAID_NODE = re.compile(r'^  (n\d+)(\[/|\(\[|\(\(|\[)"([^"]*)"(/\]|\]\)|\)\)|\])$')
MERMAID_EDGE = re.compile(r'^  (n\d+) -->(?:\|"(\d+)"\|)? (n\d+)$')
DOT_NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
DOT_EDGE = re.compile(r'^  (n\d+) -> (n\d+)(?: \[label="(\d+)"\])?;$')
SHAPES = {"[/": "input", "([": "param", "((": "const", "[": "op"}

REUSE = """\
graphrun: 1
inputs: {x: [1.0, 2.0, 3.0]}
params: {w: 0.5}
nodes:
  sq: {op: mul, args: [x, x]}
  sc: {op: mul, args: [sq, w]}
  s: {op: sum, args: [sc], axis: 0}
  L: {op: mul, args: [s, 2]}
loss: L
"""




def expected(graph_file):
    """From the YAML itself: the names and kinds of every value, and every (argument, node, index)
    edge in argument order (a number literal is a value of its own)."""
    doc = yaml.safe_load(graphrun.expand(graph_file))  # one {op, args} node per operation
    kinds = {name: "input" for name in doc.get("inputs", {})}
    kinds.update({name: "param" for name in doc.get("params", {})})
    kinds.update({name: "op" for name in doc["nodes"]})
    edges, literals = [], 0
    for name, node in doc["nodes"].items():
        for i, arg in enumerate(node["args"]):
            if not isinstance(arg, str):
                literals += 1
                arg = repr(float(arg))
            edges.append((arg, name, i if len(node["args"]) > 1 else None))
    return kinds, literals, edges


def parse_mermaid(text):
    names, kinds, edges = {}, {}, []
    for line in text.splitlines():
        node, edge = MERMAID_NODE.match(line), MERMAID_EDGE.match(line)
        if node:
            first = node.group(3).split("<br/>")[0]
            names[node.group(1)] = first.split(" = ")[0]
            kinds[names[node.group(1)]] = SHAPES[node.group(2)]
        elif edge:
            edges.append((edge.group(1), edge.group(3), edge.group(2)))
    return names, kinds, edges


def parse_dot(text):
    names, kinds, edges = {}, {}, []
    for line in text.splitlines():
        node, edge = DOT_NODE.match(line), DOT_EDGE.match(line)
        if node:
            first = node.group(2).split("\\n")[0]
            names[node.group(1)] = first.split(" = ")[0]
            shape = re.search(r"shape=(\w+)", node.group(3)).group(1)
            style = re.search(r'style="?([\w,]+)', node.group(3)).group(1)
            kind = {"parallelogram": "input", "circle": "const"}.get(shape)
            kinds[names[node.group(1)]] = kind or ("param" if "rounded" in style else "op")
        elif edge:
            edges.append((edge.group(1), edge.group(2), edge.group(3)))
    return names, kinds, edges


def graph_files(root, tmp_path):
    reuse = tmp_path / "reuse.yaml"
    reuse.write_text(REUSE)
    return sorted(f"{root}/graphs/{f}" for f in os.listdir(f"{root}/graphs")
                  if f.endswith(".yaml") and not is_library_file(f"{root}/graphs/{f}")) \
        + [str(reuse)]


@pytest.mark.parametrize("fmt,parse", [("mermaid", parse_mermaid), ("dot", parse_dot)])
def test_one_node_per_value_and_one_edge_per_argument(root, tmp_path, fmt, parse):
    for graph in graph_files(root, tmp_path):
        code, out, err = call("draw", graph, "--format", fmt)
        assert (code, err) == (0, "")
        names, kinds, edges = parse(out)
        want_kinds, literals, want_edges = expected(graph)
        consts = {k: v for k, v in kinds.items() if v == "const"}
        assert len(names) == len(want_kinds) + literals, graph
        assert {k: v for k, v in kinds.items() if v != "const"} == want_kinds
        assert len(consts) == literals
        got = [(names[a], names[b], None if i is None else int(i)) for a, b, i in edges]
        assert got == want_edges, graph


def test_mul_x_x_draws_two_edges(root, tmp_path):
    graph = tmp_path / "reuse.yaml"
    graph.write_text(REUSE)
    code, out, _ = call("draw", str(graph))
    names, _, edges = parse_mermaid(out)
    into_sq = [(names[a], i) for a, b, i in edges if names[b] == "sq"]
    assert into_sq == [("x", "0"), ("x", "1")]


def test_labels_show_value_and_gradient(root):
    code, out, _ = call("draw", f"{root}/graphs/simple.yaml")
    assert code == 0 and out.startswith("flowchart LR\n")
    assert '(["w<br/>param<br/>value 3.0<br/>grad 40.0"])' in out
    assert '[/"x<br/>input<br/>value 2.0"/]' in out  # inputs have no gradient
    assert '["v = add<br/>value 10.0<br/>grad 20.0"]' in out
    code, out, _ = call("draw", f"{root}/graphs/mlp.yaml", "--format", "dot")
    label = re.search(r'label="(W1\\n[^"]*)"', out).group(1)
    assert label.startswith("W1\\nparam\\nvalue (2,4) norm ") and "\\ngrad (2,4) norm " in label


def test_escaping():
    assert mermaid_escape('say "hi" <b> & #1 |x|') == \
        "say #quot;hi#quot; #lt;b#gt; #amp; #35;1 #124;x#124;"
    assert dot_escape('a "quoted" back\\slash\nnext') == 'a \\"quoted\\" back\\\\slash\\nnext'


def test_a_name_with_quotes_stays_one_dot_string(tmp_path):
    graph = tmp_path / "q.yaml"
    graph.write_text('graphrun: 1\nname: \'say "hi" \\ bye\'\ndescription: "a\\nb <i>"\n'
                     'params: {w: 1}\nnodes:\n  L: {op: square, args: [w]}\nloss: L\n')
    code, out, _ = call("draw", str(graph), "--format", "dot")
    assert code == 0 and out.splitlines()[0] == 'digraph "say \\"hi\\" \\\\ bye" {'
    code, out, _ = call("draw", str(graph))
    assert out.splitlines()[1] == '  %% say "hi" \\ bye: a b <i>'  # a comment: one line


def test_output_file_is_written_atomically(root, tmp_path):
    target = tmp_path / "simple.mmd"
    code, out, err = call("draw", f"{root}/graphs/simple.yaml", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert target.read_text() == call("draw", f"{root}/graphs/simple.yaml")[1]
    assert os.listdir(tmp_path) == ["simple.mmd"]
    code, _, err = call("draw", f"{root}/graphs/simple.yaml", "-o", str(tmp_path / "no" / "x"))
    assert code == 2 and "does not exist" in err


def test_forward_only_graphs_draw_values(tmp_path):
    graph = tmp_path / "f.yaml"
    graph.write_text("graphrun: 1\ninputs: {x: 1.5}\nnodes:\n  y: {op: neg, args: [x]}\n")
    code, out, _ = call("draw", str(graph))
    assert code == 0 and '["y = neg<br/>value -1.5"]' in out and "grad" not in out


def test_the_readme_picture_is_what_draw_writes(root):
    with open(f"{root}/README.md", encoding="utf-8") as f:
        readme = f.read()
    block = re.search(r"```mermaid\n(.*?)```", readme, re.S).group(1)
    assert block == call("draw", f"{root}/graphs/simple.yaml")[1]
