"""graphrun run GRAPH...: run graphs forward (and backward when they have a loss); print or write
their results YAML.

One graph prints its results to stdout, or writes them to `-o FILE` (or into `-o DIR` as
`<stem>.results.yaml`). Several graphs, or a folder of them (its *.yaml and *.yml files, sorted,
results files excluded), run in one process: to stdout as one YAML document per graph (each
after a `--- # GRAPH` line), or with `-o DIR` one `DIR/<graph file stem>.results.yaml` per graph.
Tensors with more than --sidecar-threshold elements are written to .npy sidecars when writing to
a file (see writer.py); stdout gets every tensor inline. When results are written, every graph is
compiled first, and an output that would replace a file a graph reads is refused before anything
runs (results/files.py).
"""

from __future__ import annotations

import argparse
import os
import time

from ...frontend import compiler as pipeline
from ..main import EXIT_OK, EXIT_TROUBLE, UsageError, parse_size, report
from ...errors import GraphError
from ...results.files import clash, files_read, results_outputs
from ...results.writer import SIDECAR_THRESHOLD, results_text, write_results

HELP = "run graphs forward and backward and write their values and gradients as YAML"
RESULTS_SUFFIX = ".results.yaml"
GRAPH_EXTENSIONS = (".yaml", ".yml")


def add_arguments(parser):
    parser.add_argument("graphs", nargs="+", metavar="GRAPH",
                        help="a graph file (.yaml), several, or a folder of them")
    parser.add_argument("-o", "--output", metavar="FILE|DIR",
                        help="write the results to FILE (atomically) instead of stdout; for "
                             "several graphs a folder DIR that gets one <stem>.results.yaml each")
    parser.add_argument("--allow-nonfinite", action="store_true",
                        help="write nan/inf values as .nan/.inf instead of failing")
    add_budget_argument(parser)
    add_sidecar_argument(parser)
    parser.add_argument("--timings", action="store_true",
                        help="print the time of each stage to stderr")


def add_budget_argument(parser):
    parser.add_argument("--memory-budget", type=parse_size, metavar="SIZE",
                        help="refuse graphs that need more memory than SIZE (e.g. 2GiB); "
                             "default: 80%% of the available memory")


def add_sidecar_argument(parser):
    parser.add_argument("--sidecar-threshold", type=_count, default=SIDECAR_THRESHOLD,
                        metavar="N",
                        help="in results files, write tensors of more than N elements as .npy "
                             f"files in <results>.arrays/ (default: {SIDECAR_THRESHOLD})")


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of elements; found {text!r}")
    return int(text)


def graph_files(paths) -> list:
    """The graph files named: files as given; a folder's *.yaml/*.yml files, sorted, without
    results files (so `-o` into the same folder is never read back as a graph)."""
    files = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        found = sorted(os.path.normpath(os.path.join(path, f)) for f in os.listdir(path)
                       if f.endswith(GRAPH_EXTENSIONS) and not is_results_file(f)
                       and os.path.isfile(os.path.join(path, f)))
        if not found:
            raise UsageError(f"no graph files (*.yaml, *.yml) in the folder {path}")
        files += found
    return files


def is_results_file(name: str) -> bool:
    return name.endswith((".results.yaml", ".results.yml"))


def results_name(graph: str) -> str:
    """The documented name of a graph's results file: `graphs/mlp.yaml` -> `mlp.results.yaml`."""
    return os.path.splitext(os.path.basename(graph))[0] + RESULTS_SUFFIX


def results_paths(graphs, folder: str) -> list:
    """`folder/<stem>.results.yaml` for each graph; two graphs with one stem are a usage error."""
    paths, seen = [], {}
    for graph in graphs:
        path = os.path.join(folder, results_name(graph))
        if path in seen:
            raise UsageError(f"{seen[path]} and {graph} would both write {path}; "
                             "give the graph files different names")
        seen[path] = graph
        paths.append(path)
    return paths


def execute(args, out, err) -> int:
    single = len(args.graphs) == 1 and not os.path.isdir(args.graphs[0])
    graphs = graph_files(args.graphs)
    if single:
        target = args.output
        if target and (os.path.isdir(target) or target.endswith(("/", os.sep))):
            # `-o out/` names a folder even before it exists (writing says if it does not)
            target = os.path.join(target, results_name(graphs[0]))
        (compiled,) = _compile_before_writing(graphs, [target], args)
        return _run_one(graphs[0], target, args, out, err, prepared=compiled)
    targets = [None] * len(graphs)
    if args.output:
        if os.path.exists(args.output) and not os.path.isdir(args.output):
            raise UsageError(f"-o {args.output} is a file; with several graphs it must be a "
                             "folder (it gets one <graph file stem>.results.yaml per graph)")
        targets = results_paths(graphs, args.output)
    compiled = _compile_before_writing(graphs, targets, args)
    if args.output:
        try:
            os.makedirs(args.output, exist_ok=True)
        except OSError as e:
            err.write(f"graphrun: error: cannot create {args.output}: "
                      f"{getattr(e, 'strerror', None) or e}\n")
            return EXIT_TROUBLE
    status = EXIT_OK
    for i, (graph, target) in enumerate(zip(graphs, targets)):
        try:
            status = max(status, _run_one(graph, target, args, out, err,
                                          header=f"--- # {graph}\n", prepared=compiled[i]))
        except GraphError as e:
            report(e, err)
            status = EXIT_TROUBLE
        compiled[i] = None  # its arrays go once it has run
    return status


def _compile_before_writing(graphs, targets, args) -> list:
    """When results are to be written: each graph compiled, as (Compiled or its GraphError,
    timings), before anything runs, and a usage error if an output would replace a file one of
    the graphs reads. [None, ...] when everything goes to stdout (compiled one by one)."""
    if not any(targets):
        return [None] * len(graphs)
    compiled = []
    for graph in graphs:
        timings = {}
        try:
            compiled.append((pipeline.compile(graph, memory_budget=args.memory_budget,
                                              timings=timings), timings))
        except GraphError as e:
            compiled.append((e, timings))
    reads = [f for graph, (c, _) in zip(graphs, compiled)
             for f in ((graph,) if isinstance(c, GraphError) else files_read(c))]
    problem = clash([o for t in targets for o in results_outputs(t)], reads)
    if problem:
        raise UsageError(problem)
    return compiled


def _run_one(graph, target, args, out, err, header="", prepared=None) -> int:
    compiled, timings = prepared or (None, {})
    if compiled is None:
        compiled = pipeline.compile(graph, memory_budget=args.memory_budget, timings=timings)
    elif isinstance(compiled, GraphError):
        raise compiled
    results = pipeline.run(compiled, check_finite=not args.allow_nonfinite, timings=timings)
    start = time.perf_counter()
    if target:
        try:
            write_results(target, results, args.sidecar_threshold)
        except OSError as e:
            err.write(f"graphrun: error: cannot write {target}: "
                      f"{getattr(e, 'strerror', None) or e}\n")
            return EXIT_TROUBLE
    else:
        out.write(header + results_text(results))
    timings["write"] = time.perf_counter() - start
    if args.timings:
        err.write("timings: " + " ".join(f"{k}={timings.get(k, 0.0):.3f}" for k in
                                         ("load", "validate", "build", "forward", "backward", "write")) + "\n")
    return EXIT_OK
