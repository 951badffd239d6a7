"""golden: run a graph and compare its results with a golden results file (`graphrun check`, the
pytest plugin and `graphrun.check` all come here).

Exit statuses are the CLI's; here an Outcome says what was found: match, differs, missing (no
golden file), updated / created (written with `update`), or error (the graph or the golden could
not be read; `error` holds the problems).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional

from ..errors import GraphError, Problem
from .compare import Difference, Tolerance, compare, differences_table
from .files import clash, files_read, results_outputs
from .reader import from_results, read_results
from .writer import SIDECAR_THRESHOLD, write_results

FAILED = ("differs", "missing")  # statuses that fail a check
RESULTS_SUFFIX = ".results.yaml"


def results_name(graph: str) -> str:
    """The documented name of a graph's results file: `graphs/mlp.yaml` -> `mlp.results.yaml`
    (what `run -o DIR` writes and where `check --golden DIR` and the pytest plugin look)."""
    return os.path.splitext(os.path.basename(graph))[0] + RESULTS_SUFFIX


def is_results_file(name: str) -> bool:
    return name.endswith((".results.yaml", ".results.yml"))


@dataclass
class Outcome:
    """What checking one graph found."""

    graph: str
    golden: str
    status: str  # match, differs, missing, updated, created, error
    differences: List[Difference] = field(default_factory=list)
    error: Optional[GraphError] = None
    entries: int = 0  # how many entries the graph's results have

    @property
    def ok(self) -> bool:
        return self.status in ("match", "updated", "created")

    def text(self, paint=lambda text, colour: text) -> str:
        """One line (and the differences table) for people; `paint(text, colour)` may colour."""
        if self.status == "match":
            return f"{paint('ok', 'green')}      {self.graph}\n"
        if self.status in ("updated", "created"):
            return f"{paint(self.status, 'yellow')} {self.graph}: wrote {self.golden}\n"
        if self.status == "missing":
            return f"{paint('FAIL', 'red')}    {self.graph}: {self.missing_hint()}\n"
        if self.status == "error":
            return (f"{paint('ERROR', 'red')}   {self.graph}: cannot be checked "
                    "(its errors are on stderr)\n")
        n = len(self.differences)
        return (f"{paint('FAIL', 'red')}    {self.graph}: {n} entr{'y' if n == 1 else 'ies'} "
                f"differ{'s' if n == 1 else ''} from {self.golden}\n"
                + differences_table(self.differences))

    def missing_hint(self) -> str:
        return (f"no golden file {self.golden}; create it with: graphrun check {self.graph} "
                f"--golden {self.golden} --update")


def check_graph(graph: str, golden: str, *, rtol: Optional[float] = None,
                atol: Optional[float] = None, update: bool = False,
                sidecar_threshold: int = SIDECAR_THRESHOLD,
                memory_budget: Optional[int] = None, check_finite: bool = True,
                compiled=None, params: Optional[str] = None) -> Outcome:
    """Run one graph file and compare it with its golden file (writing the golden with
    `update` when it differs or is missing). `rtol`/`atol` override the graph's `tolerance:`,
    which overrides the defaults. `compiled`: the graph already compiled (or the GraphError
    compiling it raised). A golden that would replace a file the graph reads is refused.
    `params` names a training results file whose params replace the graph's."""
    from .. import api

    try:
        if isinstance(compiled, GraphError):
            raise compiled
        compiled = compiled or api.compile(graph, memory_budget=memory_budget)
        reads = files_read(compiled) + (() if params is None else (params,))
        problem = update and clash(results_outputs(golden), reads)
        if problem:
            return Outcome(graph, golden, "error", error=_golden_error(golden, problem))
        values = None if params is None else api.trained_params(params, compiled)
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
    if update and outcome.status in FAILED:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(golden)), exist_ok=True)
            write_results(golden, results, sidecar_threshold)
        except OSError as e:
            return Outcome(graph, golden, "error", error=_golden_error(
                golden, f"cannot write the golden file: {getattr(e, 'strerror', None) or e}"))
        outcome.status = "updated" if outcome.status == "differs" else "created"
    return outcome


def _golden_error(golden: str, message: str) -> GraphError:
    from ..frontend.load import SourceMap
    return GraphError([Problem(message, pos=(1, 1))], SourceMap(golden))
