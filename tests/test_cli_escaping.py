"""Strings from a user's files reach the terminal escaped (escaping.shown), one problem one line:
file names in check's status lines, diff's, run's `--- # GRAPH` separators and the messages
saying a write failed; a graph's `name:` and `description:` in explain, explain --train,
gradcheck and train's summary. `--format github` uses GitHub's own escaping (%25, %0D, %0A, and
%3A, %2C in properties), and what that has no escape for (ESC) is shown escaped too; the job
summary's Markdown cells are one line each. Results YAML is not this file's concern: the writer
quotes what it writes."""

import errno
import io
import shutil
import textwrap

import pytest
import yaml

from conftest import ROOT, call
from graphrun.cli.main import cannot
from graphrun.cli.report import annotation, markdown_code

RED = "a\x1b[31mRED"          # a terminal colour in a file name
INJECTED = "injected\n: 1"     # a newline that would forge a second line
CLEAR = "\x1b[2J"              # clears the terminal: as a graph's name
DESCRIPTION = "desc\nsecond: line\x1b[1m"

NAMED = textwrap.dedent("""\
    graphrun: 1
    name: "\\e[2J"
    description: "desc\\nsecond: line\\e[1m"
    inputs:
      X: [[1.0, 2.0], [2.0, 0.5], [3.0, -1.0]]
      y: [5.0, 3.5, 2.0]
    params:
      w: [1.0, 1.0]
      b: 0.5
    nodes:
      Xw: {op: matmul, args: [X, w]}
      pred: {op: add, args: [Xw, b]}
      L: {op: mse, args: [pred, y]}
    loss: L
    train: {optimizer: sgd, lr: 0.05, steps: 3}
    """)


def raw(text: str) -> bool:
    """Whether `text` holds a control character a terminal acts on (a newline aside)."""
    return any(not c.isprintable() and c != "\n" for c in text)


@pytest.fixture
def folder(tmp_path):
    graphs = tmp_path / "g"
    graphs.mkdir()
    shutil.copy(f"{ROOT}/graphs/simple.yaml", graphs / f"{RED}.yaml")
    shutil.copy(f"{ROOT}/graphs/neuron.yaml", graphs / f"{INJECTED}.yaml")
    (graphs / "named.yaml").write_text(NAMED)
    (tmp_path / "gold").mkdir()
    return tmp_path


def lines_of(text: str) -> list:
    return text.splitlines()


def check(folder, *more):
    return call("check", str(folder / "g"), "--golden", str(folder / "gold"), *more)


def test_check_status_lines_show_file_names_escaped(folder):
    red, injected = (str(folder / "g" / f"{n}.yaml") for n in (RED, INJECTED))
    shown_red, shown_injected = (s.replace("\x1b", "\\x1b").replace("\n", "\\n")
                                 for s in (red, injected))
    # missing: FAIL, with the command that creates it
    code, out, err = check(folder)
    assert code == 1 and not raw(out + err)
    assert len(lines_of(out)) == 4  # a line per graph, and the summary
    assert f"FAIL    {shown_red}: no golden file " in out and f"FAIL    {shown_injected}: " in out
    # created (wrote)
    code, out, err = check(folder, "--update")
    assert code == 0 and not raw(out + err) and len(lines_of(out)) == 4
    assert f"created {shown_red}: wrote " in out and "RED.results.yaml" in out
    # ok
    code, out, err = check(folder)
    assert code == 0 and not raw(out + err) and len(lines_of(out)) == 4
    assert f"ok      {shown_injected}\n" in out
    # differs, with the golden's lines in the table; then updated
    (folder / "g" / f"{RED}.yaml").write_text(
        (folder / "g" / f"{RED}.yaml").read_text().replace("x: 2", "x: 3"))
    code, out, err = check(folder)
    assert code == 1 and not raw(out + err)
    assert f"FAIL    {shown_red}: " in out and "RED.results.yaml:" in out
    code, out, err = check(folder, "--update")
    assert code == 0 and not raw(out + err) and f"updated {shown_red}: wrote " in out
    # stale, then removed
    (folder / "gold" / f"st{CLEAR}ale.results.yaml").write_text(
        (folder / "gold" / "named.results.yaml").read_text())
    code, out, err = check(folder)
    assert code == 1 and not raw(out + err) and "st\\x1b[2Jale.results.yaml: a golden file" in out
    code, out, err = check(folder, "--update")
    assert code == 0 and not raw(out + err) and "st\\x1b[2Jale.results.yaml: removed" in out
    # ERROR
    (folder / "g" / f"{INJECTED}.yaml").write_text("graphrun: 1\nnodes:\n  u: {op: nope}\n")
    code, out, err = check(folder)
    assert code == 2 and not raw(out + err)
    assert f"ERROR   {shown_injected}: cannot be checked" in out
    assert all(line.startswith(shown_injected + ":") for line in lines_of(err))


def test_check_github_annotations_use_githubs_escaping(folder):
    code, out, err = check(folder, "--format", "github")
    assert code == 1 and not raw(out + err)
    lines = lines_of(out)
    assert len(lines) == 3 and all(line.startswith("::error file=") for line in lines)
    injected = next(line for line in lines if "injected" in line)
    # the property: %0A and %3A, which the runner reads back as the file's own name
    assert f"::error file={folder}/g/injected%0A%3A 1.yaml,line=1,col=1," in injected
    assert "::no golden file " in injected and "injected%0A: 1.results.yaml" in injected
    red = next(line for line in lines if "RED" in line)
    assert "a\\x1b[31mRED.yaml" in red  # GitHub has no escape for ESC


def test_annotation_escapes_as_github_documents():
    line = annotation("error", "d/a,b:c\n%\x1b.yaml", 3, 4, "50% of\r\nit \x1b[2J", "t: x")
    assert line == ("::error file=d/a%2Cb%3Ac%0A%25\\x1b.yaml,line=3,col=4,title=t%3A x::"
                    "50%25 of%0D%0Ait \\x1b[2J\n")


def test_the_job_summary_has_one_line_per_graph(folder, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = check(folder, "--format", "github")
    text = summary.read_text()
    assert code == 1 and not raw(text)
    rows = [line for line in lines_of(text) if line.startswith("| ")]
    assert len(rows) == 4  # the header, a row per graph
    assert all(line.count(" | ") == 3 for line in rows)


def test_markdown_code_keeps_a_cell_whole():
    assert markdown_code("a|b") == "`a\\|b`"
    assert markdown_code("x`y\n") == "`` x`y\\n ``"
    assert markdown_code("``") == "``` `` ```"


def test_run_separators_show_file_names_escaped(folder):
    code, out, err = call("run", str(folder / "g"))
    assert (code, err) == (0, "") and not raw(out)
    separators = [line for line in lines_of(out) if line.startswith("--- # ")]
    assert len(separators) == 3 and "a\\x1b[31mRED.yaml" in separators[0]
    assert separators[1].endswith("injected\\n: 1.yaml")
    assert len(list(yaml.safe_load_all(out))) == 3  # the stream is still three documents


@pytest.mark.parametrize("argv", [["explain"], ["explain", "--train"]])
def test_explain_shows_the_graphs_name_and_description_escaped(folder, argv):
    code, out, err = call(*argv, str(folder / "g" / "named.yaml"))
    assert (code, err) == (0, "") and not raw(out)
    assert lines_of(out)[0] == "graph \\x1b[2J: desc\\nsecond: line\\x1b[1m"


def test_gradcheck_shows_file_and_graph_names_escaped(folder):
    code, out, err = call("gradcheck", str(folder / "g"))
    assert (code, err) == (0, "") and not raw(out)
    heads = [line for line in lines_of(out) if "backward against central" in line]
    assert len(heads) == 3
    assert heads[1].startswith(f"{folder}/g/injected\\n: 1.yaml (neuron): ")
    assert heads[2].startswith(f"{folder}/g/named.yaml (\\x1b[2J): ")


def test_train_summary_shows_the_name_and_the_files_written_escaped(folder):
    target = folder / f"out{CLEAR}\n.yaml"
    code, out, err = call("train", str(folder / "g" / "named.yaml"), "-o", str(target))
    assert code == 0 and not raw(err) and len(lines_of(err)) == 1
    assert err.startswith("trained \\x1b[2J: 3 steps of sgd")
    assert err.rstrip("\n").endswith("; wrote " + str(target).replace("\x1b", "\\x1b")
                                      .replace("\n", "\\n"))
    assert target.exists()


def test_diff_shows_file_names_escaped(folder):
    check(folder, "--update")
    a = folder / "gold" / f"{RED}.results.yaml"
    b = folder / f"{INJECTED}.results.yaml"
    b.write_text(a.read_text())
    code, out, err = call("diff", str(a), str(b))
    assert (code, err) == (0, "") and not raw(out) and len(lines_of(out)) == 1
    assert out.startswith(f"ok {folder}/gold/a\\x1b[31mRED.results.yaml and "
                          f"{folder}/injected\\n")
    b.write_text(a.read_text().replace("40.0", "41.0"))
    code, out, err = call("diff", str(a), str(b))
    assert code == 1 and not raw(out)
    assert lines_of(out)[0].startswith(f"FAIL {folder}/injected\\n: 1.results.yaml: 1 entry "
                                       "differs from ")
    assert "line in " + str(a).replace("\x1b", "\\x1b") in out


def test_a_failed_write_is_one_line():
    err = io.StringIO()
    cannot(err, "write", f"out{CLEAR}.yaml",
           FileExistsError(errno.EEXIST, f"x\n{CLEAR}.npy is where a sidecar goes"))
    assert err.getvalue() == ("graphrun: error: cannot write out\\x1b[2J.yaml: x\\n\\x1b[2J.npy "
                              "is where a sidecar goes\n")
