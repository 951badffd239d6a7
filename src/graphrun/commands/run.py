"""graphrun run GRAPH: run a graph forward (and backward when it has a loss); print or write the
results YAML."""

from __future__ import annotations

import time

from .. import pipeline
from ..cli import EXIT_OK, EXIT_TROUBLE, parse_size
from ..executor import run as run_program
from ..writer import results_text, write_atomic

HELP = "run a graph forward and backward and write its values and gradients as YAML"


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the results to FILE (atomically) instead of stdout")
    parser.add_argument("--allow-nonfinite", action="store_true",
                        help="write nan/inf values as .nan/.inf instead of failing")
    parser.add_argument("--memory-budget", type=parse_size, metavar="SIZE",
                        help="refuse graphs that need more memory than SIZE (e.g. 2GiB); "
                             "default: 80%% of the available memory")
    parser.add_argument("--timings", action="store_true",
                        help="print the time of each stage to stderr")


def execute(args, out, err) -> int:
    timings = {}
    compiled = pipeline.compile(args.graph, memory_budget=args.memory_budget, timings=timings)
    start = time.perf_counter()
    results = run_program(compiled.program, check_finite=not args.allow_nonfinite)
    timings["run"] = time.perf_counter() - start
    start = time.perf_counter()
    text = results_text(results)
    if args.output:
        try:
            write_atomic(args.output, text)
        except OSError as e:
            err.write(f"graphrun: error: cannot write {args.output}: "
                      f"{getattr(e, 'strerror', None) or e}\n")
            return EXIT_TROUBLE
    else:
        out.write(text)
    timings["write"] = time.perf_counter() - start
    if args.timings:
        err.write("timings: " + " ".join(f"{k}={timings.get(k, 0.0):.3f}" for k in
                                         ("load", "validate", "build", "run", "write")) + "\n")
    return EXIT_OK
