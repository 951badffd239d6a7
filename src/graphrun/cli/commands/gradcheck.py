"""graphrun gradcheck GRAPH...: every param's gradient against central finite differences."""

from __future__ import annotations

import argparse

from ...frontend import compiler as pipeline
from ..main import EXIT_DIFFERENT, EXIT_OK, EXIT_TROUBLE, report
from ...errors import GraphError
from ...tools.gradcheck import (DEFAULT_ATOL, DEFAULT_EPS, DEFAULT_MAX_ELEMENTS, DEFAULT_RTOL,
                         DEFAULT_SEED, gradcheck, report_text)

HELP = "check every param's gradient against central finite differences (in float64)"


def _number(low, inclusive):
    def parse(text):
        try:
            x = float(text)
        except ValueError:
            x = float("nan")
        if not (x >= low if inclusive else x > low) or x == float("inf"):
            raise argparse.ArgumentTypeError(
                f"expected a number {'>=' if inclusive else '>'} {low:g}; found {text!r}")
        return x
    return parse


def whole_number(low):
    """An argparse type: a whole number >= low."""
    def parse(text):
        try:
            n = int(text)
        except ValueError:
            n = low - 1
        if n < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}; found {text!r}")
        return n
    return parse


def add_arguments(parser):
    parser.add_argument("graphs", metavar="GRAPH", nargs="+",
                        help="graph files (.yaml) with a loss")
    parser.add_argument("--eps", type=_number(0, False), default=DEFAULT_EPS, metavar="E",
                        help=f"the finite-difference step (default {DEFAULT_EPS:g})")
    parser.add_argument("--rtol", type=_number(0, True), default=DEFAULT_RTOL, metavar="R",
                        help=f"relative tolerance (default {DEFAULT_RTOL:g})")
    parser.add_argument("--atol", type=_number(0, True), default=DEFAULT_ATOL, metavar="A",
                        help=f"absolute tolerance (default {DEFAULT_ATOL:g})")
    parser.add_argument("--max-elements", type=whole_number(1), default=DEFAULT_MAX_ELEMENTS,
                        metavar="N",
                        help="check a random sample of N elements of a bigger param "
                             f"(default {DEFAULT_MAX_ELEMENTS})")
    parser.add_argument("--seed", type=whole_number(0), default=DEFAULT_SEED, metavar="S",
                        help=f"seed of that sample (default {DEFAULT_SEED})")


def execute(args, out, err) -> int:
    status = EXIT_OK
    for graph in args.graphs:
        compiled = None
        try:
            compiled = pipeline.compile(graph)
            result = gradcheck(compiled, eps=args.eps, rtol=args.rtol, atol=args.atol,
                               max_elements=args.max_elements, seed=args.seed)
        except GraphError as e:
            if compiled is not None:
                e.source = compiled.source
            report(e, err)
            status = EXIT_TROUBLE
            continue
        out.write(report_text(result))
        if not result.ok:
            status = max(status, EXIT_DIFFERENT)
    return status
