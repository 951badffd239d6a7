"""graphrun validate GRAPH...: every check short of computing (syntax, schema, references, cycles,
arity, shapes, the loss, the memory budget). Exit 0 when all are valid, 2 otherwise. This is what
the pre-commit hook in .pre-commit-hooks.yaml runs."""

from __future__ import annotations

from ... import api
from ...errors import GraphError
from ...frontend.blocks import LibraryFile
from ..args import add_budget_argument, graph_files
from ..main import EXIT_OK, EXIT_TROUBLE, report
from ..report import add_format_argument, json_text, paint, problem_dicts, problems_github, \
    use_colour

HELP = "check graph files without running them (exit 2 when one is invalid)"


def add_arguments(parser):
    parser.add_argument("graphs", nargs="+", metavar="GRAPH",
                        help="graph files (.yaml), or folders of them")
    add_budget_argument(parser)
    add_format_argument(parser)


def execute(args, out, err) -> int:
    graphs = graph_files(args.graphs, libraries=True)
    errors = {}
    warnings = {}  # graph -> its warnings, as a GraphError (never changing the exit status)
    for graph in graphs:
        try:
            compiled = api.compile(graph, memory_budget=args.memory_budget)
        except LibraryFile:
            pass  # a library of blocks whose blocks are all valid
        except GraphError as e:
            errors[graph] = e
        else:
            if compiled.program.warnings:
                warnings[graph] = GraphError(compiled.program.warnings)
    code = EXIT_TROUBLE if errors else EXIT_OK
    if args.format == "json":
        out.write(json_text({"command": "validate", "ok": not errors, "exit_code": code,
                             "graphs": [{"graph": g, "ok": g not in errors,
                                         "problems": problem_dicts(errors[g]) if g in errors
                                         else [],
                                         "warnings": problem_dicts(warnings[g]) if g in warnings
                                         else []} for g in graphs]}))
    elif args.format == "github":
        out.write("".join(problems_github(e) for e in errors.values()))
        out.write("".join(problems_github(w) for w in warnings.values()))
    else:
        for g in graphs:
            if g in errors or g in warnings:
                report(errors.get(g) or warnings[g], err)
        n, bad = len(graphs), len(errors)
        colour = use_colour(out)
        out.write(paint(f"{bad} of {n} graph{'s' if n != 1 else ''} invalid", "red", colour)
                  if bad else
                  paint(f"{n} graph{'s' if n != 1 else ''} valid", "green", colour))
        out.write("\n")
    return code
