"""graphrun validate and graphrun schema; the example graphs carry their schema line; the
pre-commit hook."""

import json
import os
import re

import yaml

from graphrun.frontend.schema import schema_text
from conftest import call

CYCLE = "graphrun: 1\nnodes:\n  a: {op: neg, args: [b]}\n  b: {op: neg, args: [a]}\n"


def test_the_examples_are_valid(root):
    code, out, err = call("validate", f"{root}/graphs")
    n = len([f for f in os.listdir(f"{root}/graphs") if f.endswith((".yaml", ".yml"))])
    assert (code, err) == (0, "") and out == f"{n} graphs valid\n"


def test_invalid_graphs_are_exit_2_at_their_lines(root, tmp_path):
    cycle, shapes = tmp_path / "cycle.yaml", tmp_path / "shapes.yaml"
    cycle.write_text(CYCLE)
    shapes.write_text("graphrun: 1\ninputs: {a: [1.0, 2.0], b: [1.0, 2.0, 3.0]}\n"
                      "nodes:\n  c: {op: add, args: [a, b]}\n")
    code, out, err = call("validate", f"{root}/graphs/simple.yaml", str(cycle), str(shapes))
    assert code == 2 and out == "2 of 3 graphs invalid\n"
    assert f"{cycle}:3:3: error: cycle: a -> b -> a" in err
    assert re.search(rf"^{re.escape(str(shapes))}:4:\d+: error: .*shape", err, re.M)


def test_the_memory_budget_is_checked(root):
    code, _, err = call("validate", f"{root}/graphs/mlp.yaml", "--memory-budget", "100")
    assert code == 2 and "memory" in err


def test_json_format(tmp_path, root):
    cycle = tmp_path / "cycle.yaml"
    cycle.write_text(CYCLE)
    code, out, _ = call("validate", f"{root}/graphs/simple.yaml", str(cycle), "--format", "json")
    document = json.loads(out)
    assert code == 2 and document["ok"] is False and document["exit_code"] == 2
    ok, bad = document["graphs"]
    assert ok == {"graph": f"{root}/graphs/simple.yaml", "ok": True, "problems": [],
                  "warnings": []}
    (problem,) = bad["problems"]
    assert (problem["file"], problem["line"], problem["col"]) == (str(cycle), 3, 3)
    assert problem["notes"][0]["line"] == 4


def test_github_format(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\nparams: {w: 1}\nnodes:\n  u: {op: mull, args: [w]}\n")
    code, out, _ = call("validate", str(graph), "--format", "github")
    (line,) = out.splitlines()
    match = re.fullmatch(r"::error file=([^,]+),line=(\d+),col=(\d+)::(.*)", line)
    assert code == 2 and match.group(1, 2) == (str(graph), "4")
    assert "did you mean 'mul'" in match.group(4)


def test_schema_prints_the_json_schema(root):
    code, out, err = call("schema")
    assert (code, err) == (0, "")
    assert json.loads(out) == json.load(open(f"{root}/schemas/graph.schema.json"))
    assert out == schema_text()


def test_every_example_graph_names_its_schema(root):
    examples = [f for f in os.listdir(f"{root}/graphs") if f.endswith((".yaml", ".yml"))]
    assert examples
    for name in examples:
        first = open(f"{root}/graphs/{name}").readline().rstrip("\n")
        assert first == "# yaml-language-server: $schema=../schemas/graph.schema.json", name


def test_the_pre_commit_hook_runs_validate(root):
    (hook,) = yaml.safe_load(open(f"{root}/.pre-commit-hooks.yaml"))
    assert hook["id"] == "graphrun-validate" and hook["entry"] == "graphrun validate --changed"
    assert hook["language"] == "python"
    assert re.search(hook["files"], "graphs/simple.yaml")
    assert re.search(hook["files"], "graphs/data/blobs_X.npy")  # data a graph reads, too
    assert re.search(hook["exclude"], "graphs/simple.results.yaml")
    # (tests/test_precommit.py runs it through pre-commit itself)
