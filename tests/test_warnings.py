"""A param the loss does not depend on (its gradient is 0 for every value) is reported as a
warning at its line: on stderr as FILE:LINE:COL: warning: ..., by `run` and `validate` (text, json
and github formats), never changing the exit status; to a Python caller as Problems of severity
"warning" on the compiled program."""

import json

from conftest import call, compile_text

GRAPH = """graphrun: 1
params:
  w: [1.0, -2.0]
  v: [1.0, 3.0]
  unused: 0.5
nodes:
  pos: {op: gt, args: [w, 0]}
  y: {op: where, args: [pos, v, 0]}
  L: {op: sum, args: [y]}
loss: L
"""
W_LINE = ("g.yaml:3:3: warning: param 'w': the loss does not depend on it, so its gradient is 0 "
          "for every value (it reaches the loss only through node 'pos' (gt), which has no "
          "gradient)")
UNUSED_LINE = ("g.yaml:5:3: warning: param 'unused': the loss does not depend on it, so its "
               "gradient is 0 for every value (no node uses it)")


def _write(tmp_path, text=GRAPH):
    path = tmp_path / "g.yaml"
    path.write_text(text)
    return path


def test_run_warns_on_stderr_and_exits_0(tmp_path):
    path = _write(tmp_path)
    code, out, err = call(str(path))
    assert code == 0 and out.startswith("graphrun: 1\n")
    assert err.splitlines() == [f"{tmp_path}/{W_LINE}", f"{tmp_path}/{UNUSED_LINE}"]
    assert "  w: [0.0, 0.0]\n" in out  # the zeros the warning is about


def test_validate_shows_warnings_in_every_format(tmp_path):
    path = _write(tmp_path)
    code, out, err = call("validate", str(path))
    assert (code, out) == (0, "1 graph valid\n")
    assert err.splitlines() == [f"{tmp_path}/{W_LINE}", f"{tmp_path}/{UNUSED_LINE}"]
    code, out, _ = call("validate", str(path), "--format", "json")
    (graph,) = json.loads(out)["graphs"]
    assert code == 0 and graph["ok"] is True and graph["problems"] == []
    assert [(w["line"], w["col"]) for w in graph["warnings"]] == [(3, 3), (5, 3)]
    code, out, _ = call("validate", str(path), "--format", "github")
    assert code == 0 and out.startswith(f"::warning file={tmp_path}/g.yaml,line=3,col=3::param 'w'")


def test_a_warning_never_hides_an_error_or_changes_its_status(tmp_path):
    path = _write(tmp_path, GRAPH.replace("loss: L", "loss: LL"))
    code, _, err = call("validate", str(path))
    assert code == 2 and "error: loss names no node: 'LL'" in err and ": warning: " not in err


def test_what_is_not_warned_about():
    # every param reaches the loss; a graph without a loss has no gradients to warn about
    for text in (GRAPH.replace("{op: where, args: [pos, v, 0]}", "{op: mul, args: [w, v]}")
                 .replace("  unused: 0.5\n", ""),
                 GRAPH.replace("loss: L\n", "")):
        assert compile_text(text).program.warnings == ()


def test_python_callers_see_the_warnings_as_problems():
    graph = compile_text(GRAPH, "g.yaml")
    assert [(p.severity, p.path) for p in graph.program.warnings] == [
        ("warning", ("params", "w")), ("warning", ("params", "unused"))]


def test_a_param_used_only_by_nodes_off_the_loss_path_is_named():
    text = GRAPH.replace("  unused: 0.5\n", "  side: 0.5\n").replace(
        "  L: {op: sum, args: [y]}\n", "  L: {op: sum, args: [y]}\n  s2: {op: square, args: [side]}\n")
    messages = [p.message for p in compile_text(text).program.warnings]
    assert messages[1] == ("param 'side': the loss does not depend on it, so its gradient is 0 "
                           "for every value (the nodes that use it do not lead to the loss)")
