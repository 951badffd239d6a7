"""graphrun gradcheck GRAPH...: every param's gradient against central finite differences. Takes
files, folders (their graph files) and `-` (standard input), as run and check do; with -q only
the graphs that disagree are printed."""

from __future__ import annotations

from ...defaults import (GRADCHECK_ATOL as DEFAULT_ATOL, GRADCHECK_EPS as DEFAULT_EPS,
                        GRADCHECK_MAX_ELEMENTS as DEFAULT_MAX_ELEMENTS,
                        GRADCHECK_RTOL as DEFAULT_RTOL, GRADCHECK_SEED as DEFAULT_SEED)
from ..args import add_outside_argument, compile_graph, graph_files, graph_options, number, \
    whole_number
from ..main import EXIT_DIFFERENT, EXIT_OK, EXIT_TROUBLE, report

# The API and the tools (numpy) are imported where they are used, once the arguments are parsed:
# `graphrun COMMAND --help` and a usage error answer in the interpreter's start-up time.


def add_arguments(parser):
    parser.add_argument("graphs", metavar="GRAPH", nargs="+",
                        help="graph files (.yaml) with a loss, folders of them, or - "
                             "(standard input)")
    add_outside_argument(parser)
    parser.add_argument("--eps", type=number(0, False), default=DEFAULT_EPS, metavar="E",
                        help=f"the finite-difference step (default {DEFAULT_EPS:g})")
    parser.add_argument("--rtol", type=number(0, True), default=DEFAULT_RTOL, metavar="R",
                        help=f"relative tolerance (default {DEFAULT_RTOL:g})")
    parser.add_argument("--atol", type=number(0, True), default=DEFAULT_ATOL, metavar="A",
                        help=f"absolute tolerance (default {DEFAULT_ATOL:g})")
    parser.add_argument("--max-elements", type=whole_number(1), default=DEFAULT_MAX_ELEMENTS,
                        metavar="N",
                        help="check a random sample of N elements of a bigger param "
                             f"(default {DEFAULT_MAX_ELEMENTS})")
    parser.add_argument("--seed", type=whole_number(0), default=DEFAULT_SEED, metavar="S",
                        help=f"seed of that sample (default {DEFAULT_SEED})")


def execute(args, out, err) -> int:
    from ... import api
    from ...errors import GraphError
    status = EXIT_OK
    for graph in graph_files(args.graphs):
        try:
            result = api.gradcheck(compile_graph(graph, **graph_options(args)), eps=args.eps,
                                   rtol=args.rtol, atol=args.atol,
                                   max_elements=args.max_elements, seed=args.seed)
        except GraphError as e:
            report(e, err)
            status = EXIT_TROUBLE
            continue
        if not (args.quiet and result.ok):
            out.write(result.text())
        if not result.ok:
            status = max(status, EXIT_DIFFERENT)
    return status
