"""graphrun validate GRAPH...: every check short of computing (syntax, schema, references, cycles,
arity, shapes, the loss, the memory budget). Exit 0 when all are valid, 2 otherwise.

`--changed FILE...` is what the pre-commit hook in .pre-commit-hooks.yaml runs on the files a
commit changes: of those, the graph files are validated (frontend/recognise.py: other YAML, results
files and block libraries are left alone), and a changed .npy/.npz file validates every graph
under the current folder that reads it (its shape or dtype may no longer fit).
"""

from __future__ import annotations

import os

from ...frontend.recognise import GRAPH, LIBRARY, MAX_BYTES, file_kind
from ...results.files import files_read
from ..args import (GRAPH_EXTENSIONS, add_budget_argument, add_outside_argument, compile_graph,
                    graph_files, graph_options)
from ..main import EXIT_OK, EXIT_TROUBLE, report
from ..report import (add_format_argument, github, json_text, paint, problem_dicts,
                      problems_github, use_colour)

DATA_EXTENSIONS = (".npy", ".npz")


def add_arguments(parser):
    parser.add_argument("graphs", nargs="+", metavar="GRAPH",
                        help="graph files (.yaml), folders of them, or - (standard input)")
    parser.add_argument("--changed", action="store_true",
                        help="the arguments are changed files (a pre-commit hook's): validate "
                             "the graph files among them and the graphs under the current "
                             "folder that read a changed .npy/.npz; skip other files")
    add_budget_argument(parser)
    add_outside_argument(parser)
    add_format_argument(parser)


def changed_graphs(paths) -> list:
    """The graphs to validate when `paths` changed (see the module docstring), sorted, each
    once."""
    from ...errors import GraphError

    graphs = {os.path.normpath(p) for p in paths
              if p.endswith(GRAPH_EXTENSIONS) and file_kind(p) in (GRAPH, LIBRARY)}
    data = {os.path.realpath(p): os.path.basename(p) for p in paths
            if p.endswith(DATA_EXTENSIONS)}
    for graph in (_graphs_under(os.curdir) if data else ()):
        if graph in graphs or not _mentions(graph, data.values()):
            continue  # a graph that reads x.npy names it in a `file:` value
        try:
            reads = files_read(compile_graph(graph))
        except GraphError:
            graphs.add(graph)  # it names the file and is broken now: validating says why
            continue
        if any(os.path.realpath(f) in data for f in reads[1:]):
            graphs.add(graph)
    return sorted(graphs)


def _mentions(graph: str, names) -> bool:
    from ...frontend.reading import read_bytes
    try:
        text = read_bytes(graph, MAX_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    return any(name in text for name in names)


def _graphs_under(folder: str):
    """Every graph file under `folder`, skipping hidden folders (.git, .venv) and the
    conventional homes of installed code."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and d not in ("node_modules", "__pycache__", "venv"))
        for name in sorted(files):
            path = os.path.normpath(os.path.join(root, name))
            if name.endswith(GRAPH_EXTENSIONS) and file_kind(path) == GRAPH:
                yield path


def execute(args, out, err) -> int:
    from ...errors import GraphError  # here, not above: parsing imports nothing heavy
    from ...frontend.blocks import LibraryFile

    graphs = changed_graphs(args.graphs) if args.changed else \
        graph_files(args.graphs, libraries=True)
    errors = {}
    warnings = {}  # graph -> its warnings, as a GraphError (never changing the exit status)
    for graph in graphs:
        try:
            compiled = compile_graph(graph, **graph_options(args))
        except LibraryFile:
            pass  # a library of blocks whose blocks are all valid
        except GraphError as e:
            errors[graph] = e
        else:
            if compiled.program.warnings:
                warnings[graph] = GraphError(compiled.program.warnings)
    code = EXIT_TROUBLE if errors else EXIT_OK
    if args.format == "json":
        out.write(json_text({"command": "validate", "ok": not errors, "exit_code": code,
                             "graphs": [{"graph": g, "ok": g not in errors,
                                         "problems": problem_dicts(errors[g]) if g in errors
                                         else [],
                                         "warnings": problem_dicts(warnings[g]) if g in warnings
                                         else []} for g in graphs]}))
    elif args.format == "github":
        out.write(github([a for e in errors.values() for a in problems_github(e)]
                         + [a for w in warnings.values() for a in problems_github(w)]))
    else:
        for g in graphs:
            if g in errors or g in warnings:
                report(errors.get(g) or warnings[g], err)
        if args.quiet:
            return code
        n, bad = len(graphs), len(errors)
        colour = use_colour(out, args.color)
        out.write(paint(f"{bad} of {n} graph{'s' if n != 1 else ''} invalid", "red", colour)
                  if bad else
                  paint(f"{n} graph{'s' if n != 1 else ''} valid", "green", colour))
        out.write("\n")
    return code
