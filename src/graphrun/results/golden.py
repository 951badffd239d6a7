"""golden: run a graph and compare its results with a golden results file (`graphrun check`, the
pytest plugin and `graphrun.check` all come here).

Exit statuses are the CLI's; here an Outcome says what was found: match, differs, missing (no
golden file), updated / created (written with `update`), stale (a golden file whose graph is
gone), removed (a stale golden removed with `update`), or error (the graph or the golden could
not be read; `error` holds the problems).

A golden holds what the graph's `outputs:` selects (and `--outputs` over it), and `check` compares
exactly that: an entry the golden has and the selection does not is a difference, like one the
graph no longer produces.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Tuple

from .. import blas
from ..errors import GraphError, Problem
from .compare import (MAX_ROWS, Difference, Summary, Tolerance, compare, differences_table,
                      summarise, worst_first)
from .files import clash, files_read, remove_results, results_outputs
from .reader import from_results, read_results
from .writer import SIDECAR_THRESHOLD, write_results

FAILED = ("differs", "missing", "stale")  # statuses that fail a check
WROTE = ("updated", "created", "removed")  # statuses of an update that changed a file
from . import RESULTS_SUFFIX, results_name  # noqa: E402,F401 (defined where the CLI reads them)


def is_results_file(name: str) -> bool:
    return name.endswith((".results.yaml", ".results.yml"))


@dataclass
class Outcome:
    """What checking one graph (or finding one stale golden) found."""

    graph: str  # the graph file ("" for a stale golden: its graph is gone)
    golden: str
    status: str  # match, differs, missing, updated, created, stale, removed, error
    differences: List[Difference] = field(default_factory=list)
    error: Optional[GraphError] = None
    entries: int = 0  # how many entries the graph's results have
    # where each differing entry is defined in the graph file: entry -> (file, line, col)
    graph_at: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("match",) + WROTE

    @property
    def summary(self) -> Summary:
        return summarise(self.differences)

    @property
    def worst(self) -> Optional[Difference]:
        return worst_first(self.differences)[0] if self.differences else None

    def headline(self) -> str:
        """One line saying what was found (no table)."""
        if self.status == "match":
            return f"{self.graph}: matches {self.golden}"
        if self.status in ("updated", "created"):
            return f"{self.graph}: wrote {self.golden}"
        if self.status == "removed":
            return f"{self.golden}: removed (its graph is gone)"
        if self.status == "missing":
            return f"{self.graph}: {self.missing_hint()}"
        if self.status == "stale":
            return f"{self.golden}: {self.stale_hint()}"
        if self.status == "error":
            return f"{self.graph}: cannot be checked"
        n = len(self.differences)
        text = (f"{self.graph}: {n} entr{'y' if n == 1 else 'ies'} differ{'s' if n == 1 else ''} "
                f"from {self.golden}")
        extra = self.summary.text()
        return text + (f"; {extra}" if extra else "")

    def text(self, paint=lambda text, colour: text, max_rows: Optional[int] = MAX_ROWS) -> str:
        """One line (and the worst differences) for people; `paint(text, colour)` may colour."""
        if self.status == "match":
            return f"{paint('ok', 'green')}      {self.graph}\n"
        if self.status in WROTE:
            return f"{paint(self.status, 'yellow')} {self.headline()}\n"
        if self.status in ("missing", "stale"):
            return f"{paint('FAIL', 'red')}    {self.headline()}\n"
        if self.status == "error":
            return (f"{paint('ERROR', 'red')}   {self.graph}: cannot be checked "
                    "(its errors are on stderr)\n")
        return (f"{paint('FAIL', 'red')}    {self.headline()}\n"
                + differences_table(self.differences, max_rows=max_rows))

    def missing_hint(self) -> str:
        return (f"no golden file {self.golden}; create it with: graphrun check {self.graph} "
                f"--golden {self.golden} --update")

    def stale_hint(self) -> str:
        return ("a golden file whose graph is gone (no graph file makes it); remove it, or "
                "rerun with --update to remove it")


def golden_problem(golden: str) -> Optional[str]:
    """Why `golden` must not be (re)written as a golden: it holds a graph (or a block library),
    which --update would replace; None otherwise."""
    from ..frontend.recognise import GRAPH, LIBRARY, text_kind
    from ..frontend.reading import read_bytes
    try:
        head = read_bytes(golden, 1 << 20).decode("utf-8", errors="replace")
    except OSError:
        return None
    if text_kind(head) in (GRAPH, LIBRARY) and "graphrun" in head:
        return (f"refusing to write the golden file {golden}: it is a graph file, not a results "
                "file (name the golden results file, e.g. <graph stem>.results.yaml; nothing "
                "was run or written)")
    return None


def check_graph(graph: str, golden: str, *, rtol: Optional[float] = None,
                atol: Optional[float] = None, update: bool = False,
                sidecar_threshold: int = SIDECAR_THRESHOLD,
                memory_budget: Optional[int] = None, check_finite: bool = True,
                compiled=None, outputs=None, params: Optional[str] = None,
                allow_outside: bool = False) -> Outcome:
    """Run one graph file and compare it with its golden file (writing the golden with
    `update` when it differs or is missing). `rtol`/`atol` override the graph's `tolerance:`,
    which overrides the defaults. `compiled`: the graph already compiled (or the GraphError
    compiling it raised). `outputs` overrides the graph's `outputs:` (as `api.compile` takes
    it). A golden that would replace a file the graph reads is refused. `params` names a
    training results file whose params replace the graph's. `allow_outside` as api.compile."""
    from .. import api

    try:
        if isinstance(compiled, GraphError):
            raise compiled
        compiled = compiled or api.compile(graph, memory_budget=memory_budget, outputs=outputs,
                                           allow_outside=allow_outside)
        reads = files_read(compiled) + (() if params is None else (params,))
        problem = update and (clash(results_outputs(golden), reads) or golden_problem(golden))
        if problem:
            return Outcome(graph, golden, "error", error=_golden_error(golden, problem))
        values = None if params is None else api.trained_params(params, compiled)
        with blas.one_thread_if_small(compiled.program):
            results = api.run(compiled, params=values, check_finite=check_finite)
    except GraphError as e:
        return Outcome(graph, golden, "error", error=e)
    fresh = from_results(results)
    outcome = Outcome(graph, golden, "match", entries=len(fresh.entries))
    if not os.path.exists(golden):
        outcome.status = "missing"
    else:
        try:
            expected = read_results(golden)
        except GraphError as e:
            if not update:
                return Outcome(graph, golden, "error", error=e)
            outcome.status = "differs"  # an unreadable golden is rewritten by --update
        else:
            tolerance = Tolerance(rtol, atol).over(Tolerance.of_program(compiled.program))
            outcome.differences = compare(expected, fresh, tolerance, "the golden file",
                                          "the graph's results")
            outcome.status = "differs" if outcome.differences else "match"
            outcome.graph_at = {d.entry: graph_position(compiled.program, d.entry)
                                for d in outcome.differences}
    if update and outcome.status in FAILED:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(golden)), exist_ok=True)
            write_results(golden, results, sidecar_threshold)
        except OSError as e:
            return Outcome(graph, golden, "error", error=_golden_error(
                golden, f"cannot write the golden file: {getattr(e, 'strerror', None) or e}"))
        outcome.status = "updated" if outcome.status == "differs" else "created"
    return outcome


def graph_position(program, entry: str) -> Tuple[str, int, int]:
    """Where an entry's value is defined in the graph file: the key of its node (or input, or
    param), the `loss:` key, the `name:` key; line 1 for what the graph no longer defines."""
    source = program.source
    file = getattr(source, "file", None) or "<graph>"
    section, _, name = entry.partition(".")
    if entry in ("loss", "graph"):
        path = ("loss",) if entry == "loss" else ("name",)
    elif name in program.slots:
        path = program.paths[program.slots[name]]
    else:
        return file, 1, 1
    try:
        line, col = source.locate(path, at_key=True)
    except Exception:  # a source without positions (a graph built in memory)
        return file, 1, 1
    return file, line, col


def stale_goldens(folder: str, expected: Iterable[str], training: bool = False) -> List[str]:
    """The results files directly in `folder` that no graph makes (`expected`: the golden paths
    of the graphs there are), sorted: training results files (`*.train.results.yaml`) with
    `training`, the others without (one folder may hold both)."""
    from .training import SUFFIX
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    wanted = {os.path.normcase(os.path.abspath(p)) for p in expected}
    return sorted(os.path.join(folder, n) for n in names
                  if is_results_file(n) and n.endswith(SUFFIX) == training
                  and os.path.isfile(os.path.join(folder, n))
                  and os.path.normcase(os.path.abspath(os.path.join(folder, n))) not in wanted)


def stale_problem(goldens: List[str]) -> Optional[str]:
    """Why the stale goldens cannot be removed (a folder that is not writable), before anything
    is written; None when they can."""
    for golden in goldens:
        folder = os.path.dirname(os.path.abspath(golden))
        if not os.access(folder, os.W_OK | os.X_OK):
            return (f"cannot remove the stale golden file {golden}: no permission to change "
                    f"the folder {folder} (nothing was run or written)")
    return None


def check_stale(golden: str, update: bool) -> Outcome:
    """A stale golden: reported, or with `update` removed (with its sidecars)."""
    if not update:
        return Outcome("", golden, "stale")
    try:
        remove_results(golden)
    except OSError as e:
        return Outcome("", golden, "error", error=_golden_error(
            golden, f"cannot remove the stale golden file: {getattr(e, 'strerror', None) or e}"))
    return Outcome("", golden, "removed")


def _golden_error(golden: str, message: str) -> GraphError:
    from ..frontend.load import SourceMap
    return GraphError([Problem(message, pos=(1, 1))], SourceMap(golden))
