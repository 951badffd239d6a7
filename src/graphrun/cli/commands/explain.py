"""graphrun explain GRAPH: the backward pass step by step, the way the chain rule is written by
hand; with --train, the first update of training the same way (w ← w − lr · ∂L/∂w = ...)."""

from __future__ import annotations

from ...defaults import DEFAULT_MAX_PATHS
from ..args import (UsageError, add_optimizer_arguments, add_outside_argument,
                    add_params_argument, graph_options, whole_number)
from ..main import EXIT_OK

# The API and the tools (numpy) are imported where they are used, once the arguments are parsed:
# `graphrun COMMAND --help` and a usage error answer in the interpreter's start-up time.


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml) with a loss")
    add_outside_argument(parser)
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
    add_params_argument(parser)
    parser.add_argument("--train", action="store_true",
                        help="explain the first update of training instead: each param's step, "
                             "with the optimizer's state (the train section's settings)")
    add_optimizer_arguments(parser)


def execute(args, out, err) -> int:
    from ... import api
    graph = api.compile(args.graph, **graph_options(args))
    if args.params is not None:
        graph = graph.with_params(api.trained_params(args.params, graph))
    if args.train:
        if args.param is not None or args.format != "text":
            raise UsageError("--train explains every param's first update, as text: it takes "
                             "no --param or --format")
        try:
            out.write(api.explain_training(graph, optimizer=args.optimizer, lr=args.lr).text())
        except ValueError as e:
            raise UsageError(f"{args.graph}: {e}") from None
        return EXIT_OK
    if args.optimizer is not None or args.lr is not None:
        raise UsageError("--optimizer and --lr go with --train")
    explanation = api.explain(graph, param=args.param, max_paths=args.max_paths,
                              check_finite=not args.allow_nonfinite)
    out.write(explanation.json() if args.format == "json" else explanation.text())
    return EXIT_OK
