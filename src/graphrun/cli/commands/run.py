"""graphrun run GRAPH...: run graphs forward (and backward when they have a loss); print or write
their results YAML.

One graph (a file, or `-` for standard input) prints its results to stdout, or writes them to
`-o FILE` (or into `-o DIR` as `<stem>.results.yaml`; `-o DIR/` names a folder, created when
missing). `--outputs` selects what the results hold, over the graph's `outputs:` section. Several graphs, or a folder of them (its *.yaml and *.yml files, sorted,
results files excluded), run in one process: to stdout as one YAML document per graph (each
after a `--- # GRAPH` line), or with `-o DIR` one `DIR/<graph file stem>.results.yaml` per graph.
Tensors with more than --sidecar-threshold elements are written to .npy sidecars when writing to
a file (see results/writer.py); stdout gets every tensor inline. When results are written, every
graph is compiled first, and an output that would replace a file a graph reads is refused before
anything runs (results/files.py).
"""

from __future__ import annotations

import os
import time

from ..args import (STDIN, UsageError, add_budget_argument, add_outputs_argument,
                    add_outside_argument, graph_options,
                    add_params_argument, add_sidecar_argument, compile_graph, graph_files,
                    outputs_option, results_name, results_paths)
from ..main import EXIT_OK, EXIT_TROUBLE, cannot, report, warn
from ...escaping import shown

# The API and the results modules (numpy) are imported where they are used, once the arguments are
# parsed: `graphrun run --bogus` answers in the interpreter's start-up time (cli/main.py).


def add_arguments(parser):
    parser.add_argument("graphs", nargs="+", metavar="GRAPH",
                        help="a graph file (.yaml), several, a folder of them, or - "
                             "(standard input)")
    parser.add_argument("-o", "--output", metavar="FILE|DIR",
                        help="write the results to FILE (atomically) instead of stdout; for "
                             "several graphs a folder DIR that gets one <stem>.results.yaml each")
    parser.add_argument("--allow-nonfinite", action="store_true",
                        help="write nan/inf values as .nan/.inf instead of failing")
    add_outputs_argument(parser)
    add_budget_argument(parser)
    add_outside_argument(parser)
    add_sidecar_argument(parser)
    parser.add_argument("--timings", action="store_true",
                        help="print the time of each stage to stderr")
    add_params_argument(parser)


def execute(args, out, err) -> int:
    from ...errors import GraphError
    from ...results.files import unwritable

    args.outputs_spec = outputs_option(args)
    single = len(args.graphs) == 1 and (args.graphs[0] == STDIN
                                        or not os.path.isdir(args.graphs[0]))
    graphs = graph_files(args.graphs)
    folder = args.output and (not single or os.path.isdir(args.output)
                              or args.output.endswith(("/", os.sep)))
    if not single and args.output and os.path.exists(args.output) \
            and not os.path.isdir(args.output):
        raise UsageError(f"-o {args.output} is a file; with several graphs it must be a "
                         "folder (it gets one <graph file stem>.results.yaml per graph)")
    problem = args.output and unwritable(args.output, made=folder)
    if problem:  # before anything is compiled or run
        raise UsageError(problem)
    if single:
        target = args.output
        if folder:
            # `-o out/` names a folder even before it exists: made once the graph compiled
            target = os.path.join(target, results_name(graphs[0]))
        (compiled,) = _compile_before_writing(graphs, [target], args)
        if target and target != args.output and not _made(args.output, err):
            return EXIT_TROUBLE
        return _run_one(graphs[0], target, args, out, err, prepared=compiled)
    targets = [None] * len(graphs)
    if args.output:
        targets = results_paths(graphs, args.output)
    compiled = _compile_before_writing(graphs, targets, args)
    if args.output and not _made(args.output, err):
        return EXIT_TROUBLE
    status = EXIT_OK
    for i, (graph, target) in enumerate(zip(graphs, targets)):
        try:
            status = max(status, _run_one(graph, target, args, out, err,
                                          header=f"--- # {shown(graph)}\n", prepared=compiled[i]))
        except GraphError as e:
            report(e, err)
            status = EXIT_TROUBLE
        compiled[i] = None  # its arrays go once it has run
    return status


def _made(folder: str, err) -> bool:
    """Make the output folder (and its parents) if missing; False (said on `err`) if it cannot
    be made."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        cannot(err, "create", folder, e)
        return False
    return True


def _compile_before_writing(graphs, targets, args) -> list:
    """When results are to be written: each graph compiled, as (Graph or its GraphError,
    timings), before anything runs, and a usage error if an output would replace a file one of
    the graphs reads (or the --params file). [None, ...] when everything goes to stdout (compiled
    one by one)."""
    from ...errors import GraphError
    from ...results.files import clash, files_read, results_outputs

    if not any(targets):
        return [None] * len(graphs)
    compiled = []
    for graph in graphs:
        timings = {}
        try:
            compiled.append((compile_graph(graph, **graph_options(args),
                                           timings=timings, outputs=args.outputs_spec), timings))
        except GraphError as e:
            compiled.append((e, timings))
    reads = [f for graph, (c, _) in zip(graphs, compiled)
             for f in ((graph,) if isinstance(c, GraphError) else files_read(c))]
    reads += [] if args.params is None else [args.params]
    problem = clash([o for t in targets if t for o in results_outputs(t)], reads)
    if problem:
        raise UsageError(problem)
    return compiled


def _run_one(graph, target, args, out, err, header="", prepared=None) -> int:
    from ... import api
    from ...errors import GraphError

    compiled, timings = prepared or (None, {})
    if compiled is None:
        compiled = compile_graph(graph, **graph_options(args), timings=timings,
                                 outputs=args.outputs_spec)
    elif isinstance(compiled, GraphError):
        raise compiled
    warn(compiled, err)
    params = None if args.params is None else api.trained_params(args.params, compiled)
    results = api.run(compiled, params=params, check_finite=not args.allow_nonfinite,
                      timings=timings)
    start = time.perf_counter()
    if target:
        try:
            results.write(target, sidecar_threshold=args.sidecar_threshold)
        except OSError as e:
            cannot(err, "write", target, e)
            return EXIT_TROUBLE
    else:
        out.write(header)
        results.print_to(out)  # streamed: a big tensor's text is never all in memory at once
    timings["write"] = time.perf_counter() - start
    if args.timings:
        err.write("timings: " + " ".join(f"{k}={timings.get(k, 0.0):.3f}" for k in
                                         ("load", "validate", "build", "forward", "backward",
                                          "write")) + "\n")
    return EXIT_OK
