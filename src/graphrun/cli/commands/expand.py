"""graphrun expand GRAPH: the graph in the fully explicit form (one {op, args} node per operation,
no expressions, blocks or includes), which runs to byte-identical results."""

from __future__ import annotations

from ..main import EXIT_OK

# The API and the tools (numpy) are imported where they are used, once the arguments are parsed:
# `graphrun COMMAND --help` and a usage error answer in the interpreter's start-up time.


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml)")


def execute(args, out, err) -> int:
    from ... import api
    out.write(api.expand(args.graph))
    return EXIT_OK
