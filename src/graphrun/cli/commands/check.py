"""graphrun check GRAPH... --golden PATH: run graphs and compare their results with golden files.

Golden files: for one graph, PATH is the golden results file itself (unless PATH is an existing
folder or ends in '/'). For several graphs, or a folder of graphs, PATH is a folder holding
`<graph file stem>.results.yaml` for each graph (graphs/mlp.yaml -> PATH/mlp.results.yaml),
the name `graphrun run -o DIR` writes. When every GRAPH is a folder, a results file in the golden
folder that none of their graphs makes is stale (its graph is gone): a failure, which `--update`
removes (with its sidecars).

Exit 0 when every graph matches, 1 when anything differs, a golden is missing or stale, 2 on
trouble (an invalid graph, a numeric failure, an unreadable golden, a bad $GITHUB_STEP_SUMMARY).
`--update` (re)writes, atomically, the goldens that differ or are missing, removes the stale ones,
and exits 0; it compiles every graph first and refuses, before anything runs, a golden that would
replace a file a graph reads (results/files.py), and stale goldens it has no permission to remove.

`--format github` prints one annotation per failing graph, at the graph file's line of its worst
entry (the file a pull request changes), and appends the full tables to $GITHUB_STEP_SUMMARY as
Markdown when that is set; the path is checked before anything runs.

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

from typing import TYPE_CHECKING

from ...results import results_name
from ..args import (STDIN, UsageError, add_budget_argument, add_max_rows_argument,
                    add_outside_argument, graph_options,
                    add_outputs_argument, add_params_argument, add_sidecar_argument,
                    add_tolerance_arguments, compile_graph, graph_files, outputs_option,
                    parse_shard, results_paths, shard)
from ..main import EXIT_DIFFERENT, EXIT_OK, EXIT_TROUBLE, report
from ..report import (SUMMARY_BYTES, add_format_argument, difference_dict, github, json_text,
                      markdown_code, paint, problem_dicts, problems_github, shown_outcome,
                      use_colour)

if TYPE_CHECKING:
    from ...results.golden import Outcome

# The API and the results modules (numpy) are imported where they are used, once the arguments are
# parsed: `graphrun check --bogus` answers in the interpreter's start-up time (cli/main.py).


def add_arguments(parser):
    parser.add_argument("graphs", nargs="+", metavar="GRAPH",
                        help="graph files (.yaml), folders of them, or - (standard input)")
    parser.add_argument("--golden", required=True, metavar="PATH",
                        help="the golden results file (one graph), or a folder of "
                             "<graph file stem>.results.yaml files")
    parser.add_argument("--update", action="store_true",
                        help="write the goldens that differ or are missing, remove stale ones, "
                             "and exit 0")
    add_tolerance_arguments(parser)
    parser.add_argument("--allow-nonfinite", action="store_true",
                        help="let graphs produce nan/inf (compared as values: nan equals nan)")
    add_outputs_argument(parser)
    parser.add_argument("--shard", type=parse_shard, metavar="I/N",
                        help="check only shard I of N (every N-th graph from the I-th, in "
                             "sorted order): one CI job per shard")
    add_budget_argument(parser)
    add_outside_argument(parser)
    add_sidecar_argument(parser)
    add_max_rows_argument(parser)
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
    from ...results.golden import FAILED
    statuses = {o.status for o in outcomes}
    if "error" in statuses:
        return EXIT_TROUBLE
    return EXIT_DIFFERENT if statuses & set(FAILED) else EXIT_OK


def _compile_all(graphs, options, outputs) -> list:
    """Each graph compiled (or the GraphError compiling it raised), before anything is run or
    written."""
    from ...errors import GraphError
    compiled = []
    for graph in graphs:
        try:
            compiled.append(compile_graph(graph, **options, outputs=outputs))
        except GraphError as e:
            compiled.append(e)
    return compiled


def _reads(graphs, compiled) -> list:
    from ...errors import GraphError
    from ...results.files import files_read
    return [f for graph, c in zip(graphs, compiled)
            for f in ((graph,) if c is None or isinstance(c, GraphError) else files_read(c))]


def execute(args, out, err) -> int:
    from ... import api
    from ...errors import GraphError
    from ...results.files import append_problem, append_text, clash, results_outputs
    from ...results.golden import check_stale, golden_problem, stale_goldens, stale_problem
    from ...results.training import training_name

    outputs = outputs_option(args)
    if args.train and args.allow_nonfinite:
        raise UsageError("--allow-nonfinite does not go with --train: training stops at the "
                         "first value that is not finite")
    if args.train and outputs is not None:
        raise UsageError("--outputs does not go with --train: a training results file holds "
                         "the history and the params")
    listed = graph_files(args.graphs)
    goldens = golden_paths(args.graphs, listed, args.golden,
                           training_name if args.train else results_name)
    stale = []
    if all(os.path.isdir(p) for p in args.graphs) and os.path.isdir(args.golden) and \
            (args.shard is None or args.shard[0] == 1):  # one shard reports them, not each
        stale = stale_goldens(args.golden, goldens, training=args.train)
    pairs = shard(list(zip(listed, goldens)), args.shard)
    graphs, goldens = [g for g, _ in pairs], [g for _, g in pairs]
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY") if args.format == "github" else None
    # what has to be known before anything runs: the files read, to refuse writing over them
    upfront = args.update or bool(summary_file) or STDIN in graphs
    compiled = (_compile_all(graphs, graph_options(args), outputs) if upfront
                else [None] * len(graphs))
    reads = _reads(graphs, compiled) + ([] if args.params is None else [args.params])
    if args.update:
        problem = (clash([o for golden in goldens for o in results_outputs(golden)], reads)
                   or next(filter(None, map(golden_problem, goldens)), None)
                   or stale_problem(stale))
        if problem:
            raise UsageError(problem)
    if summary_file:
        problem = append_problem(summary_file, reads + goldens + stale)
        if problem:
            raise UsageError(f"$GITHUB_STEP_SUMMARY: {problem} (nothing was run or written)")
    outcomes = []
    for i, (graph, golden) in enumerate(zip(graphs, goldens)):
        prepared = compiled[i]
        if prepared is None:
            try:
                prepared = compile_graph(graph, **graph_options(args), outputs=outputs)
            except GraphError as e:
                prepared = e
        options = dict(rtol=args.rtol, atol=args.atol, update=args.update,
                       sidecar_threshold=args.sidecar_threshold, memory_budget=args.memory_budget,
                       compiled=prepared, params=args.params)
        if args.train:
            outcomes.append(api.check_training(graph, golden, **options))
        else:
            outcomes.append(api.check(graph, golden, check_finite=not args.allow_nonfinite,
                                      **options))
        compiled[i] = prepared = None  # its arrays go once it has run
    outcomes += [check_stale(golden, args.update) for golden in stale]
    code = exit_code(outcomes)
    if args.format == "json":
        out.write(json_text({"command": "check", "ok": code == EXIT_OK, "exit_code": code,
                             "graphs": [outcome_dict(o) for o in outcomes]}))
    elif args.format == "github":
        out.write(github([a for o in outcomes for a in outcome_github(o)]))
        if summary_file:
            append_text(summary_file, markdown_summary(outcomes, summary_file))
    else:
        colour = use_colour(out, args.color)
        for o in outcomes:
            if o.error is not None:
                report(o.error, err)
            if args.quiet and o.ok:
                continue
            out.write(shown_outcome(o).text(lambda text, c: paint(text, c, colour),
                                            max_rows=args.max_rows))
        if not args.quiet:
            out.write(summary(outcomes) + "\n")
    return code


WORDS = {"match": "ok", "differs": "differ", "missing": "missing a golden",
         "updated": "updated", "created": "created", "stale": "stale goldens",
         "removed": "stale goldens removed", "error": "in error"}


def summary(outcomes: List[Outcome]) -> str:
    counts = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    graphs = sum(1 for o in outcomes if o.graph)
    parts = [f"{counts[s]} {WORDS[s]}" for s in WORDS if s in counts]
    return f"{graphs} graph{'s' if graphs != 1 else ''} checked: {', '.join(parts)}"


def outcome_dict(o: Outcome) -> dict:
    return {"graph": o.graph or None, "golden": o.golden, "status": o.status,
            "entries": o.entries, "summary": o.summary.json(),
            "differences": [difference_dict(d, o.graph_at.get(d.entry))
                            for d in o.differences],
            "problems": problem_dicts(o.error) if o.error is not None else [],
            "message": (o.missing_hint() if o.status == "missing" else
                        o.stale_hint() if o.status == "stale" else None)}


def outcome_github(o: Outcome) -> list:
    """The annotations of one outcome (report.github prints them within GitHub's limits): one
    per failing graph, at the graph file's line of its worst entry."""
    if o.error is not None:
        return problems_github(o.error)
    if o.status == "missing":
        return [("error", o.graph, 1, 1, o.missing_hint(), "graphrun check: no golden file")]
    if o.status == "stale":
        return [("error", o.golden, 1, 1, o.stale_hint(), "graphrun check: stale golden")]
    if o.status != "differs":
        return []
    worst = o.worst
    file, line, col = o.graph_at.get(worst.entry) or (o.graph, 1, 1)
    n = len(o.differences)
    title = f"graphrun check: {n} entr{'y' if n == 1 else 'ies'} differ{'s' if n == 1 else ''}"
    return [("error", file, line, col, f"worst: {worst.message}; {o.headline()}", title)]


def markdown_summary(outcomes: List[Outcome], path: str) -> str:
    """The job summary: a line per failing graph, then each one's full table (worst first),
    within what GitHub takes of one step (SUMMARY_BYTES, counting what the file holds)."""
    from ...results.compare import SUMMARY_NOTE, markdown_table
    try:
        used = os.path.getsize(path)
    except OSError:
        used = 0
    budget = max(0, SUMMARY_BYTES - used - 4096)  # room for the headings and the cut note
    failing = [o for o in outcomes if not o.ok]
    lines = [f"## graphrun check: {summary(outcomes)}", ""]
    if failing:
        lines += ["| graph | golden | status | what |", "|---|---|---|---|"]
        for o in failing:
            what = shown_outcome(o).headline().split(": ", 1)[-1].replace("|", "/")
            lines.append(f"| {markdown_code(o.graph or '-')} | {markdown_code(o.golden)} | "
                         f"{o.status} | {what} |")
        lines.append("")
    text = "\n".join(lines) + "\n"
    for o in failing:
        if not o.differences:
            continue
        seen = shown_outcome(o)  # its strings as people read them: one line each
        section = f"### {markdown_code(o.graph)}\n\n{seen.headline()}\n\n"
        room = budget - len(text.encode("utf-8")) - len(section.encode("utf-8"))
        if room < 200:
            text += SUMMARY_NOTE
            break
        text += section + markdown_table(seen.differences, budget=room) + "\n"
    return text
