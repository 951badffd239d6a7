"""graphrun check GRAPH... --golden PATH: run graphs and compare their results with golden files.

Golden files: for one graph, PATH is the golden results file itself (unless PATH is an existing
folder or ends in '/'). For several graphs, or a folder of graphs, PATH is a folder holding
`<graph file stem>.results.yaml` for each graph (graphs/mlp.yaml -> PATH/mlp.results.yaml),
the name `graphrun run -o DIR` writes.

Exit 0 when every graph matches, 1 when anything differs or a golden is missing, 2 on trouble (an
invalid graph, a numeric failure, an unreadable golden). `--update` (re)writes, atomically, the
goldens that differ or are missing, and exits 0; it compiles every graph first and refuses, before
anything runs, a golden that would replace a file a graph reads (results/files.py).

With --train, each graph is trained as its train section says and its training results (history
and params) are compared with a golden training results file (a folder holds
`<graph file stem>.train.results.yaml` for each graph, the name `graphrun train -o DIR` writes).
"""

from __future__ import annotations

import os
from typing import List

from ... import api
from ...errors import GraphError
from ...results.files import clash, files_read, results_outputs
from ...results.golden import FAILED, Outcome, results_name
from ...results.training import training_name
from ..args import (UsageError, add_budget_argument, add_params_argument, add_sidecar_argument,
                    add_tolerance_arguments, graph_files, results_paths)
from ..main import EXIT_DIFFERENT, EXIT_OK, EXIT_TROUBLE, report
from ..report import (add_format_argument, annotation, difference_dict, json_text, paint,
                      problem_dicts, problems_github, use_colour)

HELP = "run graphs and compare their results with golden results files (exit 1 on a difference)"


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
    add_params_argument(parser)
    parser.add_argument("--train", action="store_true",
                        help="train each graph (its train section) and compare the training "
                             "results, history and params, with golden training results files")


def golden_paths(paths, graphs, golden: str, name=results_name) -> List[str]:
    """The golden file of each graph, by the naming rule above."""
    folder = (len(graphs) > 1 or any(os.path.isdir(p) for p in paths) or os.path.isdir(golden)
              or golden.endswith(("/", os.sep)))
    if not folder:
        return [golden]
    if os.path.exists(golden) and not os.path.isdir(golden):
        raise UsageError(f"--golden {golden} is a file; with several graphs it must be a folder "
                         "(holding <graph file stem>.results.yaml for each graph)")
    return results_paths(graphs, golden, name)


def exit_code(outcomes: List[Outcome]) -> int:
    statuses = {o.status for o in outcomes}
    if "error" in statuses:
        return EXIT_TROUBLE
    return EXIT_DIFFERENT if statuses & set(FAILED) else EXIT_OK


def _compile_before_updating(graphs, goldens, memory_budget=None, params=None) -> list:
    """Each graph compiled (or the GraphError compiling it raised), before any golden is written,
    and a usage error if a golden would replace a file one of the graphs reads (or the --params
    file)."""
    compiled = []
    for graph in graphs:
        try:
            compiled.append(api.compile(graph, memory_budget=memory_budget))
        except GraphError as e:
            compiled.append(e)
    reads = [f for graph, c in zip(graphs, compiled)
             for f in ((graph,) if isinstance(c, GraphError) else files_read(c))]
    reads += [] if params is None else [params]
    problem = clash([o for golden in goldens for o in results_outputs(golden)], reads)
    if problem:
        raise UsageError(problem)
    return compiled


def execute(args, out, err) -> int:
    graphs = graph_files(args.graphs)
    goldens = golden_paths(args.graphs, graphs, args.golden,
                           training_name if args.train else results_name)
    if args.train and args.allow_nonfinite:
        raise UsageError("--allow-nonfinite does not go with --train: training stops at the "
                         "first value that is not finite")
    compiled = (_compile_before_updating(graphs, goldens, args.memory_budget, args.params)
                if args.update else [None] * len(graphs))
    outcomes = []
    for i, (g, golden) in enumerate(zip(graphs, goldens)):
        options = dict(rtol=args.rtol, atol=args.atol, update=args.update,
                       sidecar_threshold=args.sidecar_threshold, memory_budget=args.memory_budget,
                       compiled=compiled[i], params=args.params)
        if args.train:
            outcomes.append(api.check_training(g, golden, **options))
        else:
            outcomes.append(api.check(g, golden, check_finite=not args.allow_nonfinite,
                                      **options))
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
            out.write(o.text(lambda text, c: paint(text, c, colour)))
        out.write(summary(outcomes) + "\n")
    return code


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
            "message": o.missing_hint() if o.status == "missing" else None}


def outcome_github(o: Outcome) -> str:
    if o.error is not None:
        return problems_github(o.error)
    if o.status == "missing":
        return annotation("error", o.graph, 1, 1, o.missing_hint())
    if o.status != "differs":
        return ""
    lines = []
    for d in o.differences:
        file, line, col = d.expected_at or (o.golden, 1, 1)
        lines.append(annotation("error", file, line, col, f"{o.graph}: {d.message}"))
    return "".join(lines)
