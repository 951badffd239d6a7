"""A coverage-guided fuzzer (atheris) for the CLI, in-process: graph files and results files made
of arbitrary bytes (seeded from graphs/ and tests/hostile/), run through `run`, `validate`,
`diff` and `check`. Any exit code but 0, 1 and 2, any traceback, and any stderr line holding a
character that is not printable (a forged line, a terminal escape) is a crash that atheris
reports with the input that caused it.

    pip install atheris
    python fuzz/fuzz_cli.py -atheris_runs=20000 -max_len=4096 fuzz/corpus   # a longer run
    python fuzz/fuzz_cli.py -runs=300 -seed=1                               # a short, seeded one

(fuzz/corpus is made from the seeds on the first run; `-max_total_time=1200` for 20 minutes.)
CI runs the Hypothesis twin of this, tests/test_fuzz.py, derandomized, in a few seconds.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile

import atheris

with atheris.instrument_imports():  # the CLI imports lazily: what it will need, imported here
    import graphrun.api  # noqa: F401
    import graphrun.results.golden  # noqa: F401
    from graphrun.cli import main
    from graphrun.cli.commands import check, diff, run, validate  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = tempfile.mkdtemp(prefix="graphrun-fuzz-")
GRAPH = os.path.join(WORK, "g.yaml")
RESULTS = os.path.join(WORK, "g.results.yaml")
OUT = os.path.join(WORK, "out.yaml")
UNPRINTABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                         r"\ufeff\ufffe\ud800-\udfff]")


def _call(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    text = err.getvalue()
    if code not in (0, 1, 2) or "Traceback" in text or "internal error" in text:
        raise RuntimeError(f"graphrun {' '.join(argv)} -> {code}\n{text}")
    for line in text.splitlines():
        if UNPRINTABLE.search(line):
            raise RuntimeError(f"an unescaped character in {ascii(line)}")
    return code


def test_one_input(data: bytes) -> None:
    """The first byte picks what the rest is: a graph file, or a results file."""
    if not data:
        return
    kind, body = data[0] % 2, data[1:]
    if kind == 0:
        with open(GRAPH, "wb") as f:
            f.write(body)
        _call("validate", GRAPH)
        if os.path.exists(OUT):
            os.unlink(OUT)
        if _call("run", GRAPH, "-o", OUT) == 0:
            _call("check", GRAPH, "--golden", OUT)  # what graphrun wrote, it reads back
    else:
        with open(RESULTS, "wb") as f:
            f.write(body)
        _call("diff", RESULTS, RESULTS)
        _call("check", os.path.join(ROOT, "graphs", "simple.yaml"), "--golden", RESULTS)


def _seed_corpus(folder: str) -> None:
    """graphs/*.yaml and tests/hostile/*.yaml as graph inputs, tests/golden/* as results."""
    os.makedirs(folder, exist_ok=True)
    if os.listdir(folder):
        return
    sources = [(0, os.path.join(ROOT, "graphs")), (0, os.path.join(ROOT, "tests", "hostile")),
               (1, os.path.join(ROOT, "tests", "golden"))]
    for kind, where in sources:
        for name in sorted(os.listdir(where)) if os.path.isdir(where) else []:
            path = os.path.join(where, name)
            if name.endswith((".yaml", ".yml")) and os.path.isfile(path):
                with open(path, "rb") as f, open(os.path.join(folder, f"{kind}-{name}"), "wb") as g:
                    g.write(bytes([kind]) + f.read())


if __name__ == "__main__":
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    for folder in corpus:
        _seed_corpus(folder)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
