"""graphrun check GRAPH... --golden PATH: run graphs and compare their results with golden files.

Golden files: for one graph, PATH is the golden results file itself (unless PATH is an existing
folder or ends in '/'). For several graphs, or a folder of graphs, PATH is a folder holding
`<graph file stem>.results.yaml` for each graph (graphs/mlp.yaml -> PATH/mlp.results.yaml),
the name `graphrun run -o DIR` writes.

Exit 0 when every graph matches, 1 when anything differs or a golden is missing, 2 on trouble (an
invalid graph, a numeric failure, an unreadable golden). `--update` (re)writes, atomically, the
goldens that differ or are missing, and exits 0; it compiles every graph first and refuses, before
anything runs, a golden that would replace a file a graph reads (results/files.py).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import List, Optional

from ...frontend import compiler as pipeline
from ..main import EXIT_DIFFERENT, EXIT_OK, EXIT_TROUBLE, UsageError, report
from ...results.compare import Difference, Tolerance, compare
from ...errors import GraphError, Problem
from ...frontend.load import SourceMap
from ..report import (add_format_argument, annotation, difference_dict, differences_table,
                      json_text, paint, problem_dicts, problems_github, use_colour)
from ...results.files import clash, files_read, results_outputs
from ...results.reader import from_results, read_results
from ...results.writer import SIDECAR_THRESHOLD, write_results
from .run import add_budget_argument, add_sidecar_argument, graph_files, results_paths

HELP = "run graphs and compare their results with golden results files (exit 1 on a difference)"

FAILED = ("differs", "missing")  # statuses that make the exit code 1


def add_arguments(parser):
    parser.add_argument("graphs", nargs="+", metavar="GRAPH",
                        help="graph files (.yaml), or folders of them")
    parser.add_argument("--golden", required=True, metavar="PATH",
                        help="the golden results file (one graph), or a folder of "
                             "<graph file stem>.results.yaml files")
    parser.add_argument("--update", action="store_true",
                        help="write the goldens that differ or are missing, and exit 0")
    add_tolerance_arguments(parser)
    parser.add_argument("--allow-nonfinite", action="store_true",
                        help="let graphs produce nan/inf (compared as values: nan equals nan)")
    add_budget_argument(parser)
    add_sidecar_argument(parser)
    add_format_argument(parser)


def add_tolerance_arguments(parser):
    parser.add_argument("--rtol", type=_tolerance, metavar="R",
                        help="relative tolerance (default: the graph's `tolerance:`, else 1e-9 "
                             "for float64 and 1e-5 for float32)")
    parser.add_argument("--atol", type=_tolerance, metavar="A",
                        help="absolute tolerance (default: the graph's `tolerance:`, else 1e-12 "
                             "for float64 and 1e-6 for float32)")


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0; found {text!r}")
    return value


@dataclass
class Outcome:
    """What checking one graph found."""

    graph: str
    golden: str
    status: str  # match, differs, missing, updated, created, error
    differences: List[Difference] = field(default_factory=list)
    error: Optional[GraphError] = None
    entries: int = 0  # how many entries the graph's results have


def golden_paths(paths, graphs, golden: str) -> List[str]:
    """The golden file of each graph, by the naming rule above."""
    folder = (len(graphs) > 1 or any(os.path.isdir(p) for p in paths) or os.path.isdir(golden)
              or golden.endswith(("/", os.sep)))
    if not folder:
        return [golden]
    if os.path.exists(golden) and not os.path.isdir(golden):
        raise UsageError(f"--golden {golden} is a file; with several graphs it must be a folder "
                         "(holding <graph file stem>.results.yaml for each graph)")
    return results_paths(graphs, golden)


def check_graph(graph: str, golden: str, tolerance: Tolerance = Tolerance(), *,
                update: bool = False, sidecar_threshold: int = SIDECAR_THRESHOLD,
                memory_budget: Optional[int] = None, allow_nonfinite: bool = False,
                compiled=None) -> Outcome:
    """Run one graph and compare it with its golden file (writing the golden with `update`).
    `compiled`: the graph already compiled (or the GraphError compiling it raised)."""
    try:
        if isinstance(compiled, GraphError):
            raise compiled
        compiled = compiled or pipeline.compile(graph, memory_budget=memory_budget)
        problem = update and clash(results_outputs(golden), files_read(compiled))
        if problem:
            return Outcome(graph, golden, "error", error=_golden_error(golden, problem))
        results = pipeline.run(compiled, check_finite=not allow_nonfinite)
        program = compiled.program
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
            tolerance = tolerance.over(Tolerance.of_program(program))
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
    error = GraphError([Problem(message, pos=(1, 1))])
    error.source = SourceMap(golden)
    return error


def _compile_before_updating(graphs, goldens, memory_budget=None) -> list:
    """Each graph compiled (or the GraphError compiling it raised), before any golden is written,
    and a usage error if a golden would replace a file one of the graphs reads."""
    compiled = []
    for graph in graphs:
        try:
            compiled.append(pipeline.compile(graph, memory_budget=memory_budget))
        except GraphError as e:
            compiled.append(e)
    reads = [f for graph, c in zip(graphs, compiled)
             for f in ((graph,) if isinstance(c, GraphError) else files_read(c))]
    problem = clash([o for golden in goldens for o in results_outputs(golden)], reads)
    if problem:
        raise UsageError(problem)
    return compiled


def exit_code(outcomes: List[Outcome]) -> int:
    statuses = {o.status for o in outcomes}
    if "error" in statuses:
        return EXIT_TROUBLE
    return EXIT_DIFFERENT if statuses & set(FAILED) else EXIT_OK


def execute(args, out, err) -> int:
    graphs = graph_files(args.graphs)
    goldens = golden_paths(args.graphs, graphs, args.golden)
    tolerance = Tolerance(args.rtol, args.atol)
    compiled = (_compile_before_updating(graphs, goldens, args.memory_budget) if args.update
                else [None] * len(graphs))
    outcomes = []
    for i, (g, golden) in enumerate(zip(graphs, goldens)):
        outcomes.append(check_graph(g, golden, tolerance, update=args.update,
                                    sidecar_threshold=args.sidecar_threshold,
                                    memory_budget=args.memory_budget,
                                    allow_nonfinite=args.allow_nonfinite, compiled=compiled[i]))
        compiled[i] = None  # its arrays go once it has run
    code = exit_code(outcomes)
    if args.format == "json":
        out.write(json_text({"command": "check", "ok": code == EXIT_OK, "exit_code": code,
                             "graphs": [outcome_dict(o) for o in outcomes]}))
    elif args.format == "github":
        out.write("".join(outcome_github(o) for o in outcomes))
    else:
        colour = use_colour(out)
        for o in outcomes:
            if o.error is not None:
                report(o.error, err)
            out.write(outcome_text(o, colour))
        out.write(summary(outcomes) + "\n")
    return code


def missing_hint(o: Outcome) -> str:
    return (f"no golden file {o.golden}; create it with: graphrun check {o.graph} "
            f"--golden {o.golden} --update")


def outcome_text(o: Outcome, colour: bool = False) -> str:
    if o.status == "match":
        return f"{paint('ok', 'green', colour)}      {o.graph}\n"
    if o.status in ("updated", "created"):
        return f"{paint(o.status, 'yellow', colour)} {o.graph}: wrote {o.golden}\n"
    if o.status == "missing":
        return f"{paint('FAIL', 'red', colour)}    {o.graph}: {missing_hint(o)}\n"
    if o.status == "error":
        return (f"{paint('ERROR', 'red', colour)}   {o.graph}: cannot be checked "
                "(its errors are on stderr)\n")
    n = len(o.differences)
    return (f"{paint('FAIL', 'red', colour)}    {o.graph}: {n} entr{'y' if n == 1 else 'ies'} "
            f"differ{'s' if n == 1 else ''} from {o.golden}\n" + differences_table(o.differences))


def summary(outcomes: List[Outcome]) -> str:
    counts = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    words = {"match": "ok", "differs": "differ", "missing": "missing a golden",
             "updated": "updated", "created": "created", "error": "in error"}
    parts = [f"{counts[s]} {words[s]}" for s in words if s in counts]
    return f"{len(outcomes)} graph{'s' if len(outcomes) != 1 else ''} checked: {', '.join(parts)}"


def outcome_dict(o: Outcome) -> dict:
    return {"graph": o.graph, "golden": o.golden, "status": o.status, "entries": o.entries,
            "differences": [difference_dict(d) for d in o.differences],
            "problems": problem_dicts(o.error) if o.error is not None else [],
            "message": missing_hint(o) if o.status == "missing" else None}


def outcome_github(o: Outcome) -> str:
    if o.error is not None:
        return problems_github(o.error)
    if o.status == "missing":
        return annotation("error", o.graph, 1, 1, missing_hint(o))
    if o.status != "differs":
        return ""
    lines = []
    for d in o.differences:
        file, line, col = d.expected_at or (o.golden, 1, 1)
        lines.append(annotation("error", file, line, col, f"{o.graph}: {d.message}"))
    return "".join(lines)

