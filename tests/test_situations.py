"""Hostile situations, each one row of a table: the command (run in a subprocess, as a user runs
it, so that a crash, a traceback or a stray file counts), the streams and environment it runs
with, and what must hold afterwards: the exit code, a pattern every stderr line must fit, words
stderr must hold, and the files of the folder before and after (byte-identical where the command
failed; never a temporary file left).

The classes (issue 10): broken or odd output streams (closed, full, a pipe with no reader, an
encoding that cannot represent a character), strings from the file that would forge or hide
lines in a message, YAML 1.2 line counting, encodings other than UTF-8, names that must read
back (long names, long output names, names unlike each other only in case, file names that are
not UTF-8), huge numbers of problems, and SIGHUP.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from graphrun.errors import hint_budget, did_you_mean, shown
from graphrun.results import files

GRAPH = "graphrun: 1\ninputs:\n  x: 2.0\nparams:\n  w: 3.0\nnodes:\n  y: {op: mul, args: [w, x]}\nloss: y\n"
TENSOR = ("graphrun: 1\ninputs:\n  x: {init: normal, shape: [40, 40], seed: 1}\n"
          "nodes:\n  %s: {op: neg, args: [x]}\n  %s: {op: tanh, args: [x]}\n")
UNICODE = "graphrun: 1\nname: \"\u00e9\u2603\"\ninputs:\n  x: 1.0\nnodes:\n  y: {op: neg, args: [x]}\n"


def hostile_op(text: str) -> str:
    """A graph whose op is `text`, written as YAML escapes (so the file itself is clean)."""
    return f'graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  y: {{op: "{text}", args: [x]}}\n'


FORGED = r"neg\n/etc/passwd:1:1: error: forged\e[2J\e]0;title\a\u202eevil\ufeff\ufffe\x85\x7f\x9b"
LINE = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe]*")
ERROR_LINE = re.compile(r"\S.*:\d+:\d+: (error|warning|note): .*|graphrun: (error|note): .*")

# name: files (name -> text or bytes), argv (after `graphrun`), how stdout is given ("pipe",
# "full", "closed", "no reader", "closed both"), extra environment, exit code, words stderr holds
SITUATIONS = {
    "stdout full": dict(files={"g.yaml": GRAPH}, argv=["g.yaml"], stdout="full", code=2,
                        words=["cannot write to standard output", "No space left"]),
    "stdout closed": dict(files={"g.yaml": GRAPH}, argv=["g.yaml"], stdout="closed", code=2,
                          words=["cannot write to standard output", "closed"]),
    "stdout and stderr closed": dict(files={"g.yaml": GRAPH}, argv=["g.yaml"],
                                     stdout="closed both", code=2, words=[]),
    "stdout a pipe with no reader": dict(files={"g.yaml": GRAPH}, argv=["g.yaml"],
                                         stdout="no reader", code=141, words=[], quiet=True),
    "error with stdout a pipe with no reader": dict(
        files={"g.yaml": hostile_op("negg")}, argv=["g.yaml"], stdout="no reader", code=2,
        words=["unknown op 'negg'"]),
    "stderr full, graph invalid": dict(files={"g.yaml": hostile_op("negg")}, argv=["g.yaml"],
                                       stderr="full", code=2, words=[]),
    "ascii stdout, non-ASCII results": dict(files={"g.yaml": UNICODE}, argv=["g.yaml"],
                                            env={"PYTHONIOENCODING": "ascii"}, code=0, words=[],
                                            stdout_has="\\xe9\\u2603"),
    "ascii stderr, non-ASCII message": dict(files={"g.yaml": hostile_op("n\\u00e9gg")},
                                            argv=["g.yaml"], env={"PYTHONIOENCODING": "ascii"},
                                            code=2, words=["unknown op 'n\\xe9gg'"]),
    "C locale": dict(files={"g.yaml": hostile_op("n\\u00e9gg")}, argv=["g.yaml"],
                     env={"LC_ALL": "C", "LANG": "C"}, code=2, words=["unknown op"]),
    "forged lines and terminal escapes in an op": dict(
        files={"g.yaml": hostile_op(FORGED)}, argv=["g.yaml"], code=2,
        words=["unknown op 'neg\\n/etc/passwd:1:1: error: forged\\x1b[2J", "\\u202eevil",
               "\\ufeff\\ufffe\\x85\\x7f\\x9b"], lines=1),
    "forged lines in a check golden": dict(
        files={"g.yaml": GRAPH, "golden.yaml": "graphrun: 1\nvalues:\n  \"y\\n/x:1:1: error: "
               "forged\\e[2J\": 6.0\n"},
        argv=["check", "g.yaml", "--golden", "golden.yaml"], code=(1, 2), words=[]),
    "file name not UTF-8 and with ESC": dict(files={b"bad\xff\x1b.yaml": "graphrun: 1\nnodes: 3\n"},
                                             argv=[b"bad\xff\x1b.yaml"], code=2,
                                             words=["bad\\xff\\x1b.yaml:2:8: error: "]),
    "output name not UTF-8 reads back": dict(
        files={b"in\xfe.yaml": GRAPH}, argv=["check", b"in\xfe.yaml", "--golden", b"out\xfe.yaml",
                                             "--update"], code=0, words=[],
        then=["check", b"in\xfe.yaml", "--golden", b"out\xfe.yaml"]),
    "LS, PS and NEL in comments": dict(
        files={"g.yaml": "graphrun: 1\n# a \u2028 b \u2029 c \x85 d\ninputs:\n  x: 1.0  # \u2028\n"
               "nodes:\n  y: {op: neg, args: [x]}\n"}, argv=["g.yaml"], code=0, words=[]),
    "LS, PS and NEL in a string do not shift lines": dict(
        files={"g.yaml": "graphrun: 1\ndescription: \"a\u2028b\u2029c\x85d\"\ninputs:\n  x: 1.0\n"
               "nodes:\n  y: {op: negg, args: [x]}\n"},
        argv=["g.yaml"], code=2, words=["g.yaml:6:11: error: unknown op 'negg'"]),
    "UTF-32 little-endian with a BOM": dict(files={"g.yaml": GRAPH.encode("utf-32")},
                                             argv=["g.yaml"], code=2,
                                             words=["g.yaml:1:1: error: ", "UTF-32 (little-endian"]),
    "UTF-32 big-endian": dict(files={"g.yaml": GRAPH.encode("utf-32-be")}, argv=["g.yaml"],
                              code=2, words=["UTF-32 (big-endian)"]),
    "UTF-16 big-endian": dict(files={"g.yaml": GRAPH.encode("utf-16-be")}, argv=["g.yaml"],
                              code=2, words=["UTF-16 (big-endian)"]),
    "a 240-character node name, written to sidecars, reads back": dict(
        files={"g.yaml": TENSOR % ("n" * 240, "m" * 250)},
        argv=["check", "g.yaml", "--golden", "out.yaml", "--update", "--sidecar-threshold", "10"],
        code=0, words=[], then=["check", "g.yaml", "--golden", "out.yaml"]),
    "a 250-byte output name": dict(
        files={"g.yaml": TENSOR % ("a", "b")},
        argv=["g.yaml", "-o", "o" * 245 + ".yaml", "--sidecar-threshold", "10"], code=0,
        words=[], then=["check", "g.yaml", "--golden", "o" * 245 + ".yaml"]),
    "a 255-byte output name": dict(
        files={"g.yaml": TENSOR % ("a", "b")},
        argv=["g.yaml", "-o", "o" * 250 + ".yaml", "--sidecar-threshold", "10"], code=0,
        words=[], then=["check", "g.yaml", "--golden", "o" * 250 + ".yaml"]),
    "a failing run keeps the previous output": dict(
        files={"g.yaml": hostile_op(FORGED), "out.yaml": "previous\n"},
        argv=["g.yaml", "-o", "out.yaml"], code=2, words=["unknown op"], unchanged=True),
    "a full stdout keeps every file": dict(files={"g.yaml": GRAPH, "out.yaml": "previous\n"},
                                           argv=["g.yaml"], stdout="full", code=2,
                                           words=["cannot write"], unchanged=True),
    # each stage stops at 1000 problems (errors.MAX_PROBLEMS); two stages may find more
    "many problems: the first 1000 shown, then how many more": dict(
        files={"g.yaml": "graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n"
               + "".join(f"  n{i}: {{op: neg, args: [u{i}]}}\n" for i in range(900)) * 2},
        argv=["g.yaml"], code=2, words=["800 more problems not shown"], lines=1001),
    "very many problems in one stage: it stops, and says where": dict(
        files={"g.yaml": "graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n"
               + "".join(f"  n{i}: {{op: neg, args: [u{i}]}}\n" for i in range(3000))},
        argv=["g.yaml"], code=2,
        words=["g.yaml:1004:3: error: checking stopped here: 999 problems above"], lines=1000),
    "many unknown top-level keys: checking stops": dict(
        files={"g.yaml": "graphrun: 1\n" + "".join(f"k{i}: 1\n" for i in range(5000))},
        argv=["g.yaml"], code=2, words=["checking stopped here"]),
}


def _write(folder, name, content):
    path = os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else name.encode())
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode("utf-8"))


def _snapshot(folder):
    """Every file under `folder` (bytes names) -> its bytes."""
    found = {}
    for parent, _, names in os.walk(os.fsencode(folder)):
        for name in names:
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, os.fsencode(folder))] = f.read()
    return found


def _graphrun(argv, cwd, stdout="pipe", stderr="pipe", env=None):
    """Run the CLI as a user does; (exit code, stdout bytes, stderr bytes)."""
    environment = dict(os.environ, **(env or {}))
    streams, closing, preexec = {}, [], None
    if stdout == "full" or stderr == "full":
        full = open("/dev/full", "wb")
        closing.append(full)
    streams["stdout"] = {"pipe": subprocess.PIPE, "full": full if stdout == "full" else None,
                         }.get(stdout, subprocess.PIPE)
    streams["stderr"] = full if stderr == "full" else subprocess.PIPE
    if stdout == "no reader":
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader has gone before a byte is written
        streams["stdout"] = write_end
        closing.append(write_end)
    if stdout in ("closed", "closed both"):
        streams["stdout"] = None
        both = stdout == "closed both"

        def preexec():
            os.close(1)
            if both:
                os.close(2)
    process = subprocess.Popen([sys.executable, "-m", "graphrun", *argv], cwd=cwd,
                               env=environment, preexec_fn=preexec, **streams)
    out, err = process.communicate(timeout=120)
    for f in closing:
        f.close() if hasattr(f, "close") else os.close(f)
    return process.returncode, out or b"", err or b""


@pytest.mark.parametrize("name", SITUATIONS)
def test_situation(tmp_path, name):
    s = SITUATIONS[name]
    for file, content in s["files"].items():
        _write(tmp_path, file, content)
    before = _snapshot(tmp_path)
    code, out, err = _graphrun(s["argv"], tmp_path, s.get("stdout", "pipe"),
                               s.get("stderr", "pipe"), s.get("env"))
    text = err.decode("utf-8", "replace")
    codes = s["code"] if isinstance(s["code"], tuple) else (s["code"],)
    assert code in codes, text
    assert "Traceback" not in text and "internal error" not in text, text
    lines = text.splitlines()
    for line in lines:  # one problem a line, nothing that drives a terminal or hides text
        assert LINE.fullmatch(line), ascii(line)
        assert ERROR_LINE.fullmatch(line) or not line.startswith(("graphrun:", "g.yaml")), line
    for word in s["words"]:
        assert word in text, text
    if s.get("quiet"):
        assert text == ""
    if "lines" in s:
        assert len(lines) == s["lines"], text[:2000]
    if "stdout_has" in s:
        assert s["stdout_has"] in out.decode("ascii"), out
    after = _snapshot(tmp_path)
    assert not [f for f in after if f.endswith(b".tmp")], sorted(after)
    if s.get("unchanged") or code not in (0, 1):
        assert after == before
    if "then" in s:  # what graphrun wrote, it reads back
        code, out, err = _graphrun(s["then"], tmp_path)
        assert code == 0, err.decode("utf-8", "replace")


def test_sighup_leaves_the_previous_output_or_the_new_one_and_no_temporary_file(tmp_path):
    _write(tmp_path, "g.yaml", "graphrun: 1\ninputs:\n  x: {init: normal, shape: [700, 700], "
                               "seed: 1}\nnodes:\n  y: {op: tanh, args: [x]}\n")
    _write(tmp_path, "out.yaml", "previous\n")
    process = subprocess.Popen([sys.executable, "-m", "graphrun", "g.yaml", "-o", "out.yaml",
                                "--sidecar-threshold", "1000000000"], cwd=tmp_path,
                               stderr=subprocess.PIPE)
    time.sleep(1.0)  # somewhere in the run or its write: either end must be clean
    process.send_signal(signal.SIGHUP)
    _, err = process.communicate(timeout=120)
    text = (tmp_path / "out.yaml").read_text()
    assert process.returncode in (0, 129), err
    assert b"Traceback" not in err
    if process.returncode == 129:
        assert text == "previous\n"
    else:
        assert text.startswith("graphrun: 1\n")
    assert sorted(os.listdir(tmp_path)) == ["g.yaml", "out.yaml"]


def test_sighup_is_raised_as_hangup_inside_a_write():
    with pytest.raises(files.Hangup) as raised:
        with files.sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(1)  # the handler runs at the next bytecode
    assert raised.value.exit_code == 129
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL


# --- the single places: escaping, sidecar names, did-you-mean's work --------------------------

@pytest.mark.parametrize("raw, seen", [
    ("a\nb", "a\\nb"), ("\x1b[2J", "\\x1b[2J"), ("\u202e", "\\u202e"), ("\ufeff\ufffe", "\\ufeff\\ufffe"),
    ("\x85\x9b\x7f", "\\x85\\x9b\\x7f"), ("\u2028\u2029", "\\u2028\\u2029"), ("\ud800", "\\ud800"),
    ("bad\udcff", "bad\\xff"), ("\U000e0001", "\\U000e0001"), ("caf\u00e9 \u2603", "caf\u00e9 \u2603"),
    ("already 'a\\nb'", "already 'a\\nb'"),
])
def test_shown_escapes_what_is_not_printable_and_nothing_else(raw, seen):
    assert shown(raw) == seen
    assert shown(raw).isprintable()


def test_sidecar_names_of_a_and_A_meet_only_when_their_bytes_are_the_same():
    ones, twos = np.ones(5), np.full(5, 2.0)
    names = [files.sidecar_name("values.A", ones), files.sidecar_name("values.a", twos),
             files.sidecar_name("values.a", ones)]
    assert names[0].lower() != names[1].lower()  # different bytes: different on any file system
    assert names[0].lower() == names[2].lower()  # the same bytes: one file serves both
    long = files.sidecar_name("gradients." + "n" * 300, ones)
    assert len(long) <= 255 and long.endswith(names[0][-21:])


def test_a_long_results_name_gets_a_sidecar_folder_that_fits():
    folder = files.sidecar_folder("/tmp/" + "o" * 250 + ".yaml")
    assert len(os.path.basename(folder)) <= 255
    assert folder == files.sidecar_folder("/tmp/" + "o" * 250 + ".yaml")  # the same every run
    assert folder != files.sidecar_folder("/tmp/" + "o" * 251 + ".yaml")


def test_did_you_mean_stops_when_its_work_runs_out():
    names = ["ab" * 100 + str(i) for i in range(300)]
    with hint_budget(50_000_000):
        hints = [did_you_mean("ab" * 100 + "x" + str(i), names) for i in range(60)]
    assert hints[0]  # the first calls get their hint
    assert hints[-1] == ""  # the budget was spent long before the last
    with hint_budget(50_000_000):
        assert [did_you_mean("ab" * 100 + "x" + str(i), names) for i in range(60)] == hints
    assert did_you_mean("mull", ["mul", "add"]) == "; did you mean 'mul'?"
