"""What each kind of invocation imports, asserted on sys.modules in a fresh interpreter (never by
timing it): `--version`, `--help`, `schema` and usage errors import nothing heavy; a graph whose
file the fast paths read (graphs/simple.yaml, graphs/mlp.yaml) imports numpy and neither PyYAML
nor jsonschema nor networkx; a file that needs them still gets them."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from graphrun.cli.main import COMMANDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAVY = ("numpy", "yaml", "jsonschema", "networkx", "graphrun.api", "graphrun.results.golden",
         "graphrun.frontend.load")

PROBE = textwrap.dedent("""\
    import io, json, sys
    from graphrun.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    code = main(sys.argv[1:], out, err)
    print(json.dumps({"code": code, "out": out.getvalue()[:200], "err": err.getvalue(),
                      "modules": sorted(m for m in sys.modules)}))
    """)


def imported(*argv, cwd=ROOT):
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=cwd, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def heavy(result):
    return [m for m in HEAVY if m in result["modules"]]


@pytest.mark.parametrize("argv, code", [
    (["--version"], 0),
    (["--help"], 0),
    (["run", "--help"], 0),
    (["valdate", "graphs/simple.yaml"], 2),     # a mistyped command
    (["run", "--bogus", "graphs/simple.yaml"], 2),  # an unknown flag of a command
    (["check", "--bogus", "graphs"], 2),
    (["diff", "a.yaml"], 2),  # a missing argument
    (["validate", "--bogus", "graphs"], 2),
    (["check", "--help"], 0),
    (["--bogus"], 2),
    (["schema"], 0),
])
def test_small_commands_import_nothing_heavy(argv, code):
    result = imported(*argv)
    assert result["code"] == code, result["err"]
    assert heavy(result) == []
    # and no command's module other than the one named
    commands = [m for m in result["modules"] if m.startswith("graphrun.cli.commands.")]
    named = argv[0] in ("run", "schema", "check", "diff", "validate")
    assert commands == ([f"graphrun.cli.commands.{argv[0]}"] if named else [])


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["schema"], ["run", "--bogus", "x"]])
def test_the_smallest_commands_do_not_import_typing(argv):
    # cli/main.py and results/files.py name their annotations' types only for a type checker
    assert "typing" not in imported(*argv)["modules"]


@pytest.mark.parametrize("argv", [["valdate", "graphs/simple.yaml"],
                                  ["train", "--optimizer", "adamm", "graphs/simple.yaml"]])
def test_a_did_you_mean_does_not_load_the_error_machinery(argv):
    result = imported(*argv)
    assert result["code"] == 2 and "did you mean" in result["err"], result["err"]
    assert [m for m in ("graphrun.errors", "dataclasses") if m in result["modules"]] == []


def test_schema_does_not_load_the_error_machinery():
    # it runs inside the CLI's did-you-mean budget (hints.py), not errors.py and its dataclasses
    result = imported("schema")
    assert result["out"].startswith("{")
    assert "graphrun.hints" in result["modules"]
    assert [m for m in ("graphrun.errors", "dataclasses") if m in result["modules"]] == []


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("argv, code", [(["--help"], 0), (["--bogus", "graphs/simple.yaml"], 2),
                                        ([], 2)])  # its help, an unknown flag, no arguments
def test_no_command_imports_anything_heavy_to_parse(command, argv, code):
    # every command's --help shows its defaults (defaults.py) and its usage errors come before
    # anything is imported for the work
    if command == "schema" and argv == []:
        argv, code = ["extra"], 2  # schema takes no arguments: give it one too many
    result = imported(command, *argv)
    assert result["code"] == code, result["err"]
    assert code == 0 or f"graphrun {command} --help" in result["err"]  # a usage error, not a run
    assert heavy(result) == []
    commands = [m for m in result["modules"] if m.startswith("graphrun.cli.commands.")]
    assert commands == [f"graphrun.cli.commands.{command}"]
    work = ("graphrun.tools.", "graphrun.engine", "graphrun.ops", "graphrun.frontend.train",
            "graphrun.errors")  # errors.py (dataclasses and all) comes with a problem to tell
    tools = [m for m in result["modules"] if m.startswith(work)]
    assert tools == []


def test_schema_prints_the_schema_file():
    result = imported("schema")
    with open(os.path.join(ROOT, "schemas", "graph.schema.json"), encoding="utf-8") as f:
        assert result["out"] == f.read()[:200]


@pytest.mark.parametrize("graph", ["graphs/simple.yaml", "graphs/mlp.yaml", "graphs/cnn.yaml"])
def test_a_plain_run_imports_numpy_only(graph, tmp_path):
    for output in (str(tmp_path / "out.yaml"), str(tmp_path / "folder") + "/"):
        result = imported(graph, "-o", output)
        assert result["code"] == 0, result["err"]
        assert "numpy" in result["modules"]
        assert [m for m in ("yaml", "jsonschema", "networkx", "graphrun.results.golden",
                            "graphrun.results.reader", "tempfile")
                if m in result["modules"]] == []  # results/files.py makes its temporary files


def test_what_a_file_needs_is_still_imported(tmp_path):
    # out of dependency order: networkx orders it; a misspelt key: jsonschema words the error; a
    # form the fast reader leaves to PyYAML (an anchor): PyYAML reads it and says why not
    unordered = tmp_path / "unordered.yaml"
    unordered.write_text("graphrun: 1\ninputs: {x: 2}\nnodes:\n  v: {op: neg, args: [u]}\n"
                         "  u: {op: mul, args: [x, x]}\n")
    result = imported(str(unordered))
    assert result["code"] == 0, result["err"]
    assert "networkx" in result["modules"]
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text("graphrun: 1\ninputs: {x: 2}\nnodez:\n  u: {op: neg, args: [x]}\n")
    result = imported(str(misspelt))
    assert result["code"] == 2
    assert "misspelt.yaml:3:1: error:" in result["err"] and "nodes" in result["err"]
    assert "jsonschema" in result["modules"]  # its position: from the fast reader's text
    anchored = tmp_path / "anchored.yaml"
    anchored.write_text("graphrun: 1\ninputs: {x: &a 2}\nnodes:\n  u: {op: neg, args: [x]}\n")
    result = imported(str(anchored))
    assert result["code"] == 2 and "anchors (&a) are not allowed" in result["err"]
    assert "yaml" in result["modules"]


@pytest.mark.parametrize("columns", [None, "50", "0", "-3", "wide"])
def test_help_is_as_wide_as_argparse_makes_it(columns, monkeypatch):
    # cli/main.py finds the width itself (argparse's way would import shutil for every run)
    import shutil

    from graphrun.cli.main import _terminal_columns
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _terminal_columns() == shutil.get_terminal_size().columns


@pytest.mark.parametrize("graph, trains", [("graphs/simple.yaml", False), ("graphs/mlp.yaml", False),
                                           ("graphs/linreg.yaml", True)])
def test_the_train_section_machinery_loads_only_for_a_graph_with_one(graph, trains, tmp_path):
    result = imported(graph, "-o", str(tmp_path / "out.yaml"))
    assert result["code"] == 0, result["err"]
    assert ("graphrun.frontend.train" in result["modules"]) == trains
