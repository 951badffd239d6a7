"""graphrun expand GRAPH: the graph in the fully explicit form (one {op, args} node per operation,
no expressions, blocks or includes), which runs to byte-identical results."""

from __future__ import annotations

from ... import api
from ..main import EXIT_OK


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml)")


def execute(args, out, err) -> int:
    out.write(api.expand(args.graph))
    return EXIT_OK
