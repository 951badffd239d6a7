"""graphrun explain GRAPH: the backward pass step by step, the way the chain rule is written by
hand."""

from __future__ import annotations

from ... import api
from ...tools.explain import DEFAULT_MAX_PATHS
from ..args import whole_number
from ..main import EXIT_OK

HELP = "explain the backward pass step by step (the chain rule, node by node)"


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml) with a loss")
    parser.add_argument("--param", metavar="NAME",
                        help="show only the paths from the loss down to this param, with the "
                             "contribution of each path")
    parser.add_argument("--allow-nonfinite", action="store_true",
                        help="explain a run that produces nan or inf instead of failing at the first")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people (default), json for tools")
    parser.add_argument("--max-paths", type=whole_number(1), default=DEFAULT_MAX_PATHS, metavar="N",
                        help="with --param, list the paths only when there are at most N "
                             f"(default {DEFAULT_MAX_PATHS})")


def execute(args, out, err) -> int:
    explanation = api.explain(api.compile(args.graph), param=args.param,
                              max_paths=args.max_paths, check_finite=not args.allow_nonfinite)
    out.write(explanation.json() if args.format == "json" else explanation.text())
    return EXIT_OK
