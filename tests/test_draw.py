"""graphrun draw: the Mermaid and DOT text parsed back: one node per value (leaves, number literals
and nodes), one edge per argument, in argument order and numbered from 1; labels escaped and
rounded for reading; small tensors' numbers on their nodes; Mermaid's limits warned about; SVG
through Graphviz when it is installed, and a clear message when it is not."""

import os
import re
import shutil

import numpy as np
import pytest
import yaml

import graphrun
from conftest import call
from graphrun.frontend.blocks import is_library_file
from graphrun.tools.draw import dot_escape, mermaid_escape
from graphrun.tools.explain import number_text

# id, opening of the shape, "label", closing; edges with an optional "position" label
MERMAID_NODE = re.compile(r'^  (n\d+)(\[/|\[\(|\(\(|\[)"([^"]*)"(/\]|\)\]|\)\)|\])$')
MERMAID_EDGE = re.compile(r'^  (n\d+) -->(?:\|"(\d+)"\|)? (n\d+)$')
DOT_NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
DOT_EDGE = re.compile(r'^  (n\d+) -> (n\d+)(?: \[label="(\d+)"\])?;$')
SHAPES = {"[/": "input", "[(": "param", "((": "const", "[": "op"}

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
    """From the YAML itself: the names and kinds of every value, and every (argument, node,
    position counted from 1) edge in argument order (a number literal is a value of its own)."""
    doc = yaml.safe_load(graphrun.expand(graph_file))  # one {op, args} node per operation
    kinds = {name: "input" for name in doc.get("inputs", {})}
    kinds.update({name: "param" for name in doc.get("params", {})})
    kinds.update({name: "op" for name in doc["nodes"]})
    edges, literals = [], 0
    for name, node in doc["nodes"].items():
        for i, arg in enumerate(node["args"]):
            if not isinstance(arg, str):
                literals += 1
                arg = number_text(float(arg))  # as the drawing writes it
            edges.append((arg, name, i + 1 if len(node["args"]) > 1 else None))
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
            style = re.search(r'style=("[^"]*"|\w+)', node.group(3)).group(1).strip('"')
            kind = {"parallelogram": "input", "circle": "const", "cylinder": "param"}.get(shape)
            kinds[names[node.group(1)]] = kind or ("op" if shape == "box" and style == "filled"
                                                   else "unknown")
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
    assert into_sq == [("x", "1"), ("x", "2")]


def test_labels_show_value_and_gradient(root):
    code, out, _ = call("draw", f"{root}/graphs/simple.yaml")
    assert code == 0 and out.startswith("flowchart LR\n")
    assert '[("w<br/>param<br/>value 3<br/>grad 40")]' in out  # a param is a cylinder
    assert '[/"x<br/>input<br/>value 2"/]' in out  # inputs have no gradient
    assert '["v = add<br/>value 10<br/>grad 20"]' in out
    # a small tensor shows its numbers, a row per line; a bigger one its shape and norm
    graph = graphrun.compile(f"{root}/graphs/mlp.yaml")
    results = graphrun.run(graph)
    code, out, _ = call("draw", f"{root}/graphs/mlp.yaml", "--format", "dot")
    label = re.search(r'label="(W1\\n[^"]*)"', out).group(1).split("\\n")
    w1, g1 = results.values["W1"], results.grads["W1"]
    rows = ["[" + ", ".join(number_text(x) for x in row) + "]" for row in w1]
    grad_rows = ["[" + ", ".join(number_text(x) for x in row) + "]" for row in g1]
    assert label == ["W1", "param", "value (2,4)"] + rows + ["grad (2,4)"] + grad_rows
    label = re.search(r'label="(h = tanh\\n[^"]*)"', out).group(1).split("\\n")
    norm = number_text(np.linalg.norm(results.values["h"]))
    assert label[1] == f"value (6,4) norm {norm}"  # 24 elements: more than SMALL_TENSOR


def test_numbers_are_rounded_for_reading(tmp_path):
    """0.35 * 3 is 1.0499999999999998 in float64: the drawing says 1.05, the results keep it."""
    graph = tmp_path / "r.yaml"
    graph.write_text("graphrun: 1\nparams: {w: 0.35}\nnodes:\n  y: {op: mul, args: [w, 3]}\n"
                     "  L: {op: square, args: [y]}\nloss: L\n")
    code, out, _ = call("draw", str(graph))
    assert code == 0 and '["y = mul<br/>value 1.05<br/>grad 2.1"]' in out
    assert "1.0499999999999998" in call("run", str(graph))[1]


def test_a_legend_says_what_the_edge_numbers_are(root, tmp_path):
    code, out, _ = call("draw", f"{root}/graphs/simple.yaml")
    assert ('  legend["numbers on edges: argument positions, counted from 1 '
            '(u = mul(w, x): 1 is w, 2 is x)"]') in out
    code, out, _ = call("draw", f"{root}/graphs/simple.yaml", "--format", "dot")
    assert ('label="numbers on edges: argument positions, counted from 1 (u = mul(w, x): '
            '1 is w, 2 is x)"; labelloc=b;') in out
    graph = tmp_path / "one.yaml"  # no op of several arguments: no numbers, no legend
    graph.write_text("graphrun: 1\nparams: {w: 2}\nnodes:\n  L: {op: square, args: [w]}\n"
                     "loss: L\n")
    for fmt in ("mermaid", "dot"):
        out = call("draw", str(graph), "--format", fmt)[1]
        assert "legend" not in out and "numbers on edges" not in out


def chain(tmp_path, n):
    """x0 -> x1 = mul(x0, w) ... : n nodes, each with two arguments (w and a literal alternate)."""
    nodes = "\n".join(f"  x{i + 1}: {{op: {'mul' if i % 2 else 'add'}, args: [x{i}, "
                       f"{'w' if i % 2 else '0.5'}]}}" for i in range(n))
    graph = tmp_path / f"chain{n}.yaml"
    graph.write_text(f"graphrun: 1\nparams: {{x0: 1, w: 1.0001}}\nnodes:\n{nodes}\n"
                     f"loss: x{n}\n")
    return str(graph)


def test_past_mermaids_edge_limit_a_warning_says_what_to_do(tmp_path):
    code, out, err = call("draw", chain(tmp_path, 250))  # 500 edges: exactly at the limit
    assert (code, err) == (0, "")
    assert len(re.findall(r"-->", out)) == 500
    code, out, err = call("draw", chain(tmp_path, 251))
    assert code == 0 and len(re.findall(r"-->", out)) == 502
    assert err.startswith("graphrun: warning: this drawing has 502 edges, more than the 500 "
                          "Mermaid draws by default (maxEdges)")
    assert "--format dot" in err and "graphrun view" in err and err.count("\n") == 1
    code, out, err = call("draw", chain(tmp_path, 251), "--format", "dot")
    assert (code, err) == (0, "")  # DOT has no such limit
    drawing = graphrun.draw(chain(tmp_path, 251))
    assert len(drawing.warnings) == 1 and "Edge limit exceeded" in drawing.warnings[0]
    assert drawing._repr_markdown_().startswith("> **warning:** this drawing has 502 edges")


def test_mermaids_text_limit_is_warned_about_too(tmp_path):
    code, out, err = call("draw", chain(tmp_path, 600))
    assert len(out) > 50_000 and "maxTextSize" in err and "maxEdges" in err


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz's dot is not installed (apt-get install graphviz): the real "
                           "SVG render is not checked here; .ci/run installs it")
def test_svg_is_rendered_by_graphviz(root):
    code, out, err = call("draw", f"{root}/graphs/simple.yaml", "--format", "svg")
    assert (code, err) == (0, "")
    assert out.startswith("<?xml") and "<svg" in out and out.rstrip().endswith("</svg>")
    for text in ("w", "param", "value 3", "grad 40", "L = square"):
        assert f">{text}</text>" in out
    assert graphrun.draw(f"{root}/graphs/simple.yaml", "svg")._repr_svg_() == out


def test_svg_without_graphviz_says_what_to_install(root, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    code, out, err = call("draw", f"{root}/graphs/simple.yaml", "--format", "svg",
                          "-o", str(tmp_path / "g.svg"))
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith("graphrun: error: --format svg needs Graphviz's `dot` program, which "
                          "is not installed")
    assert "apt-get install graphviz" in err and "--format dot" in err
    assert not (tmp_path / "g.svg").exists()


def test_drawings_display_themselves_in_a_notebook(root):
    mermaid = graphrun.draw(f"{root}/graphs/simple.yaml")
    assert mermaid._repr_markdown_() == f"```mermaid\n{mermaid.text}```\n"
    assert mermaid._repr_svg_() is None
    dot = graphrun.draw(f"{root}/graphs/simple.yaml", "dot")
    assert dot._repr_markdown_() == f"```dot\n{dot.text}```\n"


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
