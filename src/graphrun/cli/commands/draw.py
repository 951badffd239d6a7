"""graphrun draw GRAPH: the graph as a Mermaid flowchart (default), Graphviz DOT, or SVG rendered by
Graphviz, with every node's value and gradient."""

from __future__ import annotations

from ...defaults import DRAW_FORMATS
from ...results.files import clash, files_read, write_text
from ..args import (UsageError, add_outside_argument, add_params_argument, check_outputs,
                    graph_options)
from ..main import EXIT_OK, EXIT_TROUBLE, cannot
from ...escaping import shown

# The API and the tools (numpy) are imported where they are used, once the arguments are parsed:
# `graphrun COMMAND --help` and a usage error answer in the interpreter's start-up time.


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml)")
    add_outside_argument(parser)
    parser.add_argument("--format", choices=DRAW_FORMATS, default="mermaid",
                        help="mermaid (GitHub renders it in Markdown; default), dot (Graphviz's "
                             "text) or svg (rendered by Graphviz's dot, which must be installed)")
    parser.add_argument("--allow-nonfinite", action="store_true",
                        help="draw nan and inf values instead of failing at the first")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the drawing to FILE (atomically) instead of stdout")
    add_params_argument(parser)


def execute(args, out, err) -> int:
    from ... import api
    from ...tools.draw import GraphvizFailed, GraphvizMissing
    check_outputs(args.output)  # before anything is compiled or run
    graph = api.compile(args.graph, **graph_options(args))
    if args.params is not None:
        graph = graph.with_params(api.trained_params(args.params, graph))
    problem = args.output and clash([args.output], files_read(graph) + _params(args))
    if problem:
        raise UsageError(problem)
    try:
        drawing = api.draw(graph, args.format, check_finite=not args.allow_nonfinite)
    except (GraphvizMissing, GraphvizFailed) as e:
        err.write(f"graphrun: error: {shown(str(e))}\n")  # it may quote Graphviz's output
        return EXIT_TROUBLE
    for warning in drawing.warnings:
        err.write(f"graphrun: warning: {shown(str(warning))}\n")
    if not args.output:
        out.write(drawing.text)
        return EXIT_OK
    try:
        write_text(args.output, drawing.text)
    except OSError as e:
        cannot(err, "write", args.output, e)
        return EXIT_TROUBLE
    return EXIT_OK


def _params(args) -> tuple:
    return () if args.params is None else (args.params,)
