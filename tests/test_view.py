"""graphrun view without a browser: what the page holds (explain's lines, step by step; each param's
paths), that it needs no network, that the same file gives the same bytes, the layout's promises,
the command line, and the notebook display of the API's objects. tests/test_view_browser.py opens
the page in a real browser."""

import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import graphrun
from graphrun.cli import main
from graphrun.tools import layout as layouts, view as tool
from graphrun.tools.explain import explain, explanation_text

from conftest import ROOT, call, compile_text

SIMPLE = os.path.join(ROOT, "graphs", "simple.yaml")

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


def page_data(page_html):
    text = re.search(r'<script type="application/json" id="graphrun-data">(.*?)</script>',
                     page_html, re.S).group(1)
    return json.loads(text)


def explain_sections(text):
    """From `graphrun explain`'s text: the forward lines, and the backward entries (each the
    lines of one value's gradient), split on the indent explain gives them."""
    lines = text.splitlines()
    start = lines.index("forward, in program order:") + 1
    forward = [line[2:] for line in lines[start:lines.index("", start)]]
    back = lines[lines.index("backward, in reverse program order") + 3:]
    entries = []
    for line in back:
        if line.startswith("  not on any path"):
            break
        if not line.startswith("   "):
            entries.append([line[2:]])
        else:
            entries[-1].append(line[2:])
    return forward, entries


@pytest.mark.parametrize("graph", ["simple", "reuse", "mlp", "neuron"])
def test_every_step_shows_the_line_explain_prints(tmp_path, graph):
    path = SIMPLE if graph == "simple" else os.path.join(ROOT, "graphs", f"{graph}.yaml")
    if graph == "reuse":
        path = tmp_path / "reuse.yaml"
        path.write_text(REUSE)
    code, out, err = call("view", str(path), "-o", str(tmp_path / "page.html"))
    assert (code, out, err) == (0, "", "")
    data = page_data((tmp_path / "page.html").read_text(encoding="utf-8"))
    forward, entries = explain_sections(call("explain", str(path))[1])
    steps = data["steps"]
    assert steps[0]["phase"] == "start" and steps[0]["node"] is None
    assert [s["lines"] for s in steps if s["phase"] == "forward"] == [[line] for line in forward]
    assert [s["lines"] for s in steps if s["phase"] == "backward"] == entries
    # the highlighted node is the one the line is about
    names = [data["nodes"][s["node"]]["name"] for s in steps[1:]]
    assert names == [line.split(" = ")[0] for line in forward] + \
        [entry[0].split(" ")[0].split(":")[0][len("dL/d"):] for entry in entries]


def test_the_lesson_step_by_step():
    """graphs/simple.yaml: forward x, w, b, u, v, L; then back L, v, b, u, w with the lesson's
    numbers; the edges in play are the arguments going forward and the uses going back."""
    data = page_data(graphrun.view(SIMPLE).html)
    nodes = data["nodes"]
    steps = data["steps"]
    assert [(s["phase"], nodes[s["node"]]["name"]) for s in steps[1:]] == \
        [("forward", n) for n in "xwbuvL"] + [("backward", n) for n in "Lvbuw"]
    assert steps[8]["lines"] == ["dL/dv = ∂L/∂v = 2v = 2 · 10 = 20"]
    assert steps[11]["lines"] == ["dL/dw = dL/du · ∂u/∂w = 20 · x = 20 · 2 = 40"]
    u = next(n for n in nodes if n["name"] == "u")
    assert steps[4]["node"] == u["slot"] and steps[4]["edges"] == ["e0-1", "e0-2"]
    assert steps[11]["edges"] == ["e0-1"]  # w's one use: argument 1 of u
    # a value is shown from its forward step, a gradient from its backward step
    assert [(n["name"], n["f"], n["b"]) for n in nodes] == [
        ("x", 1, None), ("w", 2, 11), ("b", 3, 9), ("u", 4, 10), ("v", 5, 8), ("L", 6, 7)]
    assert nodes[1]["value"]["short"] == "3" and nodes[1]["grad"]["short"] == "40"


def test_param_paths_and_their_sum(tmp_path):
    graph = compile_text(REUSE)
    data = page_data(graphrun.view(graph).html)
    s = next(n for n in data["nodes"] if n["name"] == "s")
    info = data["params"][str(s["slot"])]
    text = explanation_text(explain(graph, param="s"))
    assert [p["lines"][0] for p in info["paths"]] == [
        "path 1: s -(argument 1)-> sq -> y -> z -> m -> L",
        "path 2: s -(argument 2)-> sq -> y -> z -> m -> L", "path 3: s -> t -> L"]
    for p in info["paths"]:
        for line in p["lines"]:
            assert "  " + line in text
    assert info["total"] == "dL/ds = 7 + 7 + 0.0706508 = 14.0707"
    assert info["paths"][2]["edges"] == ["e4-1", "e5-2"]  # s -> t (tanh), t -> L (argument 2)
    # the products add up to the gradient, computed independently
    products = [float(p["lines"][-1].split(" = ")[-1]) for p in info["paths"]]
    assert sum(products) == pytest.approx(float(graphrun.run(graph).grads["s"]), rel=1e-5)
    # every edge on some path is highlighted with the paths, and no other
    assert sorted(info["edges"]) == sorted({e for p in info["paths"] for e in p["edges"]})


def test_too_many_paths_fall_back_to_the_steps():
    levels = 8
    nodes = "\n".join(f"  x{i + 1}: {{op: add, args: [x{i}, x{i}]}}" for i in range(levels))
    graph = compile_text(f"graphrun: 1\nparams: {{x0: 1}}\nnodes:\n{nodes}\nloss: x{levels}\n")
    data = page_data(graphrun.view(graph, max_paths=100).html)
    info = data["params"]["0"]
    assert info["paths"] == [] and info["total"] is None
    assert info["heading"][0] == "paths from x8 down to x0: 256 paths"
    assert "more than the cap of 100" in info["heading"][1]
    assert info["steps"][-1] == "  dx8/dx0 = 128 + 128 = 256"
    assert len(info["edges"]) == 2 * levels
    data = page_data(graphrun.view(graph, max_paths=256).html)
    assert len(data["params"]["0"]["paths"]) == 256


def test_the_same_file_gives_the_same_bytes(tmp_path):
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    assert call("view", SIMPLE, "-o", str(first))[0] == 0
    assert call("view", SIMPLE, "-o", str(second))[0] == 0
    assert first.read_bytes() == second.read_bytes()
    # and in another process, with another hash seed (nothing may depend on set order)
    env = dict(os.environ, PYTHONHASHSEED="12345")
    other = subprocess.run([sys.executable, "-m", "graphrun", "view", SIMPLE], env=env,
                           stdout=subprocess.PIPE, check=True).stdout
    assert other == first.read_bytes()


def test_the_page_needs_no_network():
    page = graphrun.view(os.path.join(ROOT, "graphs", "mlp.yaml")).html
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")
    # the SVG namespace is a name, never fetched; nothing else names a place on the web
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"]
    for fetching in ("<link", "<img", "<iframe", " src=", "@import", "url(http", "fetch(",
                     "XMLHttpRequest", "<base"):
        assert fetching not in page
    assert "<style>" in page and "</script>" in page


def test_names_cannot_break_out_of_the_page(tmp_path):
    graph = compile_text('graphrun: 1\nname: "</script><b>x</b>"\ndescription: "a & <i>b</i>"\n'
                         'params: {w: 1}\nnodes:\n  L: {op: square, args: [w]}\nloss: L\n')
    page = graphrun.view(graph).html
    assert "<b>x</b>" not in page and "<i>b</i>" not in page
    assert page.count("</script>") == 2  # the data's and the code's own
    assert page_data(page)["graph"] == "</script><b>x</b>"


def test_layout_every_edge_points_right_and_boxes_never_overlap(tmp_path):
    for name in ("simple", "neuron", "linreg", "mlp", "classifier", "softmax_regression"):
        program = graphrun.compile(os.path.join(ROOT, "graphs", f"{name}.yaml")).program
        g = layouts.layout(program, lambda s: 30 if program.kinds[s] == "const" else 58)
        for step in program.steps:
            for a in step.args:
                assert g.x[a] < g.x[step.out], name
        columns = {}
        for slot in range(len(program.names)):
            columns.setdefault(g.x[slot], []).append((g.y[slot], g.heights[slot]))
        for boxes in columns.values():
            boxes.sort()
            for (y0, h0), (y1, _) in zip(boxes, boxes[1:]):
                assert y0 + h0 + layouts.GAP_Y <= y1, name
        assert all(0 <= v and v + h <= g.height for v, h in zip(g.y, g.heights))


def test_layout_keeps_a_chain_straight_and_leaves_beside_their_user():
    """500 nodes, each using a literal: one row of nodes, each literal in the column before its
    user (not 500 literals in column 0)."""
    nodes = "\n".join(f"  x{i + 1}: {{op: add, args: [x{i}, 0.5]}}" for i in range(500))
    program = compile_text(f"graphrun: 1\nparams: {{x0: 1}}\nnodes:\n{nodes}\nloss: x500\n").program
    g = layouts.layout(program, lambda s: 30 if program.kinds[s] == "const" else 58)
    chain = [program.slot(f"x{i}") for i in range(1, 501)]
    assert len({g.y[s] for s in chain}) == 1
    for step in program.steps:
        const = step.args[1]
        assert g.layer[const] == g.layer[step.out] - 1
    assert g.width == 2 * layouts.MARGIN + 501 * layouts.BOX_WIDTH + 500 * layouts.GAP_X


def test_view_on_stdout_only_when_it_is_not_a_terminal(tmp_path):
    code, out, err = call("view", SIMPLE)
    assert code == 0 and out.startswith("<!DOCTYPE html>") and err == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    terminal, errors = Terminal(), io.StringIO()
    assert main(["view", SIMPLE], terminal, errors) == 2
    assert terminal.getvalue() == ""
    assert errors.getvalue() == ("graphrun: error: view writes an HTML page: name the file with "
                                 "-o FILE (for example -o graph.html), or redirect stdout to a "
                                 "file\n")


def test_view_reports_a_broken_graph_and_an_unwritable_file(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("graphrun: 1\nnodes:\n  L: {op: squar, args: [w]}\n")
    code, out, err = call("view", str(broken), "-o", str(tmp_path / "p.html"))
    assert code == 2 and out == "" and err.startswith(f"{broken}:3:")
    assert "Traceback" not in err and not (tmp_path / "p.html").exists()
    code, _, err = call("view", SIMPLE, "-o", str(tmp_path / "no" / "p.html"))
    assert code == 2 and err.startswith("graphrun: error: cannot write ")


def test_a_graph_without_a_loss_steps_forward_only():
    graph = compile_text("graphrun: 1\ninputs: {x: 1.5}\nnodes:\n  y: {op: neg, args: [x]}\n"
                         "  z: {op: exp, args: [y]}\n")
    data = page_data(graphrun.view(graph).html)
    assert [s["phase"] for s in data["steps"]] == ["start", "forward", "forward", "forward"]
    assert data["steps"][-1]["lines"] == ["z = exp(y) = 0.22313"]
    assert data["params"] == {} and all(n["grad"] is None for n in data["nodes"])


def test_results_of_another_run_are_what_the_page_shows():
    graph = graphrun.compile(SIMPLE)
    results = graphrun.run(graph, params={"w": 2.6})
    data = page_data(graphrun.view(results).html)
    by_name = {n["name"]: n for n in data["nodes"]}
    assert by_name["L"]["value"]["short"] == "84.64"  # (2.6 * 2 + 4)^2
    assert by_name["w"]["grad"]["short"] == "36.8"  # 2 * 9.2 * 2
    assert "loss L = 84.64" in graphrun.view(results).html


def test_small_tensors_come_as_tables_and_big_ones_as_a_summary():
    data = page_data(graphrun.view(os.path.join(ROOT, "graphs", "mlp.yaml")).html)
    results = graphrun.run(graphrun.compile(os.path.join(ROOT, "graphs", "mlp.yaml")))
    by_name = {n["name"]: n for n in data["nodes"]}
    w1 = results.values["W1"]
    assert by_name["W1"]["value"]["table"] == [[f"{x:.6g}" for x in row] for row in w1]
    assert by_name["h"]["value"]["table"] == [[f"{x:.6g}" for x in row]
                                              for row in results.values["h"]]  # 24 elements
    big = graphrun.view(compile_text(
        "graphrun: 1\nparams: {w: {init: ones, shape: [7, 7]}}\nnodes:\n"
        "  L: {op: sum, args: [w]}\nloss: L\n")).html
    w = page_data(big)["nodes"][0]
    assert w["value"]["table"] is None and w["value"]["text"] == "(7,7) norm 7 [1, 1, 1, 1, ...]"


def test_a_training_history_draws_its_loss_curve():
    """Gradient descent on the lesson's graph, by hand through the API: w = 3 - lr*40 first."""
    graph = graphrun.compile(SIMPLE)
    params, rows = graph.param_values(), []
    for step in range(1, 31):
        results = graphrun.run(graph, params=params)
        rows.append(tool.HistoryRow(step, 0.01, results.loss))
        params = {k: v - 0.01 * results.grads[k] for k, v in params.items()}
    assert float(params["w"]) < 3 and rows[1].loss == pytest.approx((2.6 * 2 + 3.8) ** 2)
    page = tool.view(graph, history=rows).html
    history = page_data(page)["history"]
    assert [r["loss"] for r in history["rows"][:2]] == ["100", "81"]
    xs = [p[0] for p in history["points"]]
    ys = [p[1] for p in history["points"]]
    assert xs == sorted(xs) and ys == sorted(ys)  # the loss only falls: the curve only goes down
    assert 'id="history-slider"' in page and 'max="29"' in page
    assert "(log scale)" in page  # 100 down to under 1: more than two decades


def test_history_rows_read_mappings_and_objects():
    from collections import namedtuple
    Row = namedtuple("Row", "step lr loss accuracy")
    assert tool.history_rows([{"step": 1, "lr": 0.1, "loss": 2.5, "reported": {"acc": 0.5}},
                              Row(2, 0.1, 2.0, 0.75)]) == [
        tool.HistoryRow(1, 0.1, 2.5, (("acc", 0.5),)),
        tool.HistoryRow(2, 0.1, 2.0, (("accuracy", 0.75),))]


def test_the_api_objects_display_themselves_in_a_notebook():
    graph = graphrun.compile(SIMPLE)
    html = graph._repr_html_()
    assert "<b>chain-rule</b>" in html and "<code>mul(w, x)</code>" in html and "loss L" in html
    results = graphrun.run(graph)
    html = results._repr_html_()
    assert "loss L = 100" in html and "<tr><td><b>w</b></td><td>param</td><td>3</td><td>40</td>" \
        in html
    html = graphrun.explain(graph)._repr_html_()
    assert html.startswith("<pre>graph chain-rule") and "∂L/∂v = 2v = 2 · 10 = 20" in html
    page = graphrun.view(graph)
    frame = page._repr_html_()
    assert frame.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') and 'sandbox="allow-scripts"' \
        in frame
    import html as html_module
    assert html_module.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1)) == page.html


def test_page_write_is_atomic(tmp_path):
    target = tmp_path / "page.html"
    target.write_text("old")
    graphrun.view(SIMPLE).write(target)
    assert target.read_text(encoding="utf-8") == graphrun.view(SIMPLE).html
    assert os.listdir(tmp_path) == ["page.html"]


def test_the_readme_notebook_cells_show_real_outputs():
    """The README's "lesson as notebook cells": each output is what the cell really displays."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()

    def output(name):  # from the marker to the next cell (or the end of the section)
        start = readme.index(f"<!-- output: {name} -->\n") + len(f"<!-- output: {name} -->\n")
        end = min(i for i in (readme.find("```python", start), readme.find("\n## ", start))
                  if i >= 0)
        return readme[start:end].strip("\n") + "\n"
    graph = graphrun.compile(SIMPLE)
    assert output("graph") == graph._repr_html_()
    assert output("results") == graphrun.run(graph)._repr_html_()
    assert output("explain") == "```text\n" + graphrun.explain(graph).text() + "```\n"
    assert output("view").startswith(f"`{graphrun.view(graph)!r}`")


def test_the_page_never_replaces_the_graph(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\nparams: {w: 1}\nnodes:\n  L: {op: square, args: [w]}\nloss: L\n")
    before = graph.read_bytes()
    code, out, err = call("view", str(graph), "-o", str(graph))
    assert (code, out) == (2, "") and "refusing to write" in err and "nothing was run" in err
    assert graph.read_bytes() == before


@pytest.mark.parametrize("command", ["view", "explain", "draw"])
def test_allow_nonfinite_is_a_flag_the_message_can_name(command, tmp_path):
    """log(0) = -inf: the error names --allow-nonfinite, and each of these commands has it."""
    graph = os.path.join(ROOT, "tests", "hostile", "log_zero.yaml")
    code, out, err = call(command, graph)
    assert code == 2 and out == "" and "use --allow-nonfinite" in err
    code, out, err = call(command, graph, "--allow-nonfinite")
    assert (code, err) == (0, "") and "-inf" in out
    if command == "view":
        by_name = {n["name"]: n for n in page_data(out)["nodes"]}
        assert by_name["u"]["value"]["table"] == [["0", "-inf"]]
        assert by_name["w"]["grad"]["text"] == "(2,) norm inf [1, inf]"


def test_a_training_run_displays_itself_as_its_curve_and_params():
    rows = [tool.HistoryRow(1, 0.01, 100.0), tool.HistoryRow(2, 0.01, 81.0)]
    html = tool.training_html(rows, {"w": np.float64(2.6), "b": np.array([3.8, 1.5])})
    assert '<svg class="curve"' in html and 'points="30,30 350,120"' in html
    assert "step 1: loss 100; step 2: loss 81 (lr 0.01)" in html
    assert "<tr><td><b>w</b></td><td>2.6</td></tr>" in html
    assert "<td>3.8</td><td>1.5</td>" in html


def test_a_training_run_has_a_page_with_its_trained_params_and_curve():
    """What graphrun.train returns (engine/train's TrainingResults: its program, history records
    and trained params by name) and a training results file read back (history.<step>.<column>
    entries) both give the page its loss curve; the graph is shown at the trained params."""
    from collections import namedtuple
    from graphrun.results.reader import Entry, ResultSet
    Record = namedtuple("Record", "step lr loss reported")
    graph = graphrun.compile(SIMPLE)

    class Training:  # the attributes the train issue's TrainingResults has
        program = graph.program
        history = [Record(1, 0.01, 100.0, {}), Record(2, 0.01, 81.0, {})]
        params = {"w": np.float64(2.6), "b": np.float64(3.8)}
    data = page_data(graphrun.view(Training()).html)
    assert [r["loss"] for r in data["history"]["rows"]] == ["100", "81"]
    by_name = {n["name"]: n for n in data["nodes"]}
    assert by_name["w"]["value"]["short"] == "2.6" and by_name["L"]["value"]["short"] == "81"
    read_back = ResultSet("t.yaml", {
        "graph": Entry("chain-rule"), "history.1.lr": Entry(np.float64(0.01)),
        "history.1.loss": Entry(np.float64(100.0)), "history.2.lr": Entry(np.float64(0.01)),
        "history.2.loss": Entry(np.float64(81.0)), "history.2.acc": Entry(np.float64(0.5)),
        "params.w": Entry(np.float64(2.6))})
    assert tool.history_rows(read_back) == [tool.HistoryRow(1, 0.01, 100.0),
                                            tool.HistoryRow(2, 0.01, 81.0, (("acc", 0.5),))]
    page = graphrun.view(graph, params={"w": 2.6, "b": 3.8}, history=read_back).html
    assert page_data(page)["history"]["rows"][1]["reported"] == [["acc", "0.5"]]
    assert "loss L = 81" in page


def test_view_params_shows_a_real_training_file(tmp_path):
    """`graphrun view GRAPH --params TRAINED`: the graph at the trained params, with the loss curve
    of the file `graphrun train` wrote; the page never replaces that file."""
    graph = os.path.join(ROOT, "graphs", "simple.yaml")
    trained = tmp_path / "trained.yaml"
    assert call("train", graph, "--lr", "0.01", "--steps", "3", "-o", str(trained), "--quiet")[0] == 0
    page = tmp_path / "page.html"
    code, _, err = call("view", graph, "--params", str(trained), "-o", str(page))
    assert (code, err) == (0, "")
    data = page_data(page.read_text())
    assert [r["step"] for r in data["history"]["rows"]] == [1, 2, 3]
    w = graphrun.read_results(trained).entries["params.w"].value
    by_name = {n["name"]: n for n in data["nodes"]}
    assert float(by_name["w"]["value"]["short"]) == pytest.approx(float(w), rel=1e-5)
    before = trained.read_bytes()
    code, _, err = call("view", graph, "--params", str(trained), "-o", str(trained))
    assert code == 2 and "refusing to write" in err and trained.read_bytes() == before
