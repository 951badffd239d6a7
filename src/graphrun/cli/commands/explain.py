"""graphrun explain GRAPH: the backward pass step by step, the way the chain rule is written by
hand."""

from __future__ import annotations

from ...frontend import compiler as pipeline
from ..main import EXIT_OK
from ...errors import GraphError
from ...tools.explain import DEFAULT_MAX_PATHS, explain, explanation_json, explanation_text
from .gradcheck import whole_number

HELP = "explain the backward pass step by step (the chain rule, node by node)"


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml) with a loss")
    parser.add_argument("--param", metavar="NAME",
                        help="show only the paths from the loss down to this param, with the "
                             "contribution of each path")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people (default), json for tools")
    parser.add_argument("--max-paths", type=whole_number(1), default=DEFAULT_MAX_PATHS, metavar="N",
                        help="with --param, list the paths only when there are at most N "
                             f"(default {DEFAULT_MAX_PATHS})")


def execute(args, out, err) -> int:
    compiled = pipeline.compile(args.graph)
    try:
        explanation = explain(compiled.program, args.param, args.max_paths)
    except GraphError as e:
        e.source = compiled.source
        raise
    out.write(explanation_json(explanation) if args.format == "json"
              else explanation_text(explanation))
    return EXIT_OK
