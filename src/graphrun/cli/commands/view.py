"""graphrun view GRAPH -o FILE: a page to step through (one self-contained HTML file): the graph
with every value and gradient, the forward and backward passes one step at a time with explain's
lines, and each param's paths to the loss."""

from __future__ import annotations

from ...defaults import DEFAULT_MAX_PATHS
from ...results.files import clash, files_read
from ..args import (UsageError, add_outside_argument, add_params_argument, check_outputs,
                    graph_options, whole_number)
from ..main import EXIT_OK, EXIT_TROUBLE, cannot

# The API and the tools (numpy) are imported where they are used, once the arguments are parsed:
# `graphrun COMMAND --help` and a usage error answer in the interpreter's start-up time.


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml)")
    add_outside_argument(parser)
    parser.add_argument("--allow-nonfinite", action="store_true",
                        help="show nan and inf values instead of failing at the first")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the page to FILE, e.g. graph.html (atomically); without it the "
                             "page goes to stdout when stdout is not a terminal")
    parser.add_argument("--max-paths", type=whole_number(1), default=DEFAULT_MAX_PATHS, metavar="N",
                        help="list a param's paths to the loss only when there are at most N "
                             f"(default {DEFAULT_MAX_PATHS}), as explain --param does")
    add_params_argument(parser)  # the page shows the trained params and the loss curve


def execute(args, out, err) -> int:
    from ... import api
    if not args.output and _is_terminal(out):
        raise UsageError("view writes an HTML page: name the file with -o FILE (for example "
                         "-o graph.html), or redirect stdout to a file")
    check_outputs(args.output)  # before anything is compiled or run
    graph = api.compile(args.graph, **graph_options(args))
    trained = () if args.params is None else (args.params,)
    problem = args.output and clash([args.output], files_read(graph) + trained)
    if problem:  # the page must never replace the graph, its data or the training file
        raise UsageError(problem)
    params = history = None
    if args.params is not None:
        params = api.trained_params(args.params, graph)
        history = api.read_results(args.params)
    page = api.view(graph, params=params, history=history, max_paths=args.max_paths,
                    check_finite=not args.allow_nonfinite)
    if not args.output:
        out.write(page.html)
        return EXIT_OK
    try:
        page.write(args.output)
    except OSError as e:
        cannot(err, "write", args.output, e)
        return EXIT_TROUBLE
    return EXIT_OK


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
