"""pipeline: the stages joined once, so that the CLI and every command share one way in.

load (text -> data + source map) -> schema -> spec -> graph (-> Program).

A file with a schema error still has its valid parts checked: the entries a problem is about are
left out, names they define count as "known but broken" (no error for using them), and spec and
graph checks run on the rest. So one run reports every independent problem, and never one that
only follows from another.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from ..run import executor
from . import schema
from ..errors import GraphError
from .graph import Program, build_program
from .load import Document, SourceMap, gc_paused, load_file
from .spec import build_spec


@dataclass(frozen=True)
class Compiled:
    """A checked, ordered program and the source map that points its paths back at the file."""

    program: Program
    source: SourceMap


def compile(filename: str, *, memory_budget: Optional[int] = None,
            timings: Optional[dict] = None) -> Compiled:
    """Load and check a graph file. Raises GraphError (with `.source` set) on any problem.
    `timings`, when given, receives the seconds spent in load, validate and build."""
    timings = {} if timings is None else timings
    with gc_paused():
        start = time.perf_counter()
        try:
            document, problems = load_file(filename), []
        except GraphError as e:
            document, problems = getattr(e, "document", None), list(e.problems)
            if document is None:  # nothing loaded: the problems point at the bytes themselves
                e.source = SourceMap(filename)
                raise
        timings["load"] = time.perf_counter() - start
        return _check(document, problems, memory_budget, timings)


def compile_document(document: Document, *, memory_budget: Optional[int] = None,
                     timings: Optional[dict] = None) -> Compiled:
    """Check a loaded document (schema, spec, graph). Raises GraphError on any problem."""
    return _check(document, [], memory_budget, {} if timings is None else timings)


def _check(document: Document, problems: list, memory_budget, timings) -> Compiled:
    """Each stage checks what the problems found so far leave standing; all are raised at once."""
    try:
        start = time.perf_counter()
        data, broken = _without(document.data, problems)
        if data is not None:
            found = _leave_unknown_ops_to_the_graph(data, schema.check(data))
            problems += found
            data, more = _without(data, found)
            broken |= more
        timings["validate"] = time.perf_counter() - start
        start = time.perf_counter()
        spec = None
        for _ in range(3):  # spec problems are about single entries: leave those out, go again
            if data is None:
                break
            try:
                spec = build_spec(data, document.source.file)
                break
            except GraphError as e:
                problems += e.problems
                data, more = _without(data, e.problems)
                broken |= more
        if spec is not None:
            try:
                program = build_program(spec, memory_budget, broken=frozenset(broken))
            except GraphError as e:
                problems += e.problems
        if problems:
            raise GraphError(problems)
        timings["build"] = time.perf_counter() - start
        return Compiled(program, document.source)
    except GraphError as e:
        e.source = document.source
        raise


def run(compiled: Compiled, **options) -> executor.Results:
    """executor.run on a compiled graph (same options), its errors located through the compiled
    source map: a non-finite value is reported at its node's line."""
    try:
        return executor.run(compiled.program, **options)
    except GraphError as e:
        e.source = compiled.source
        raise


def _leave_unknown_ops_to_the_graph(data, problems) -> list:
    """Drop the schema's 'unknown op' for a node that has no other problem: the graph stage says
    the same, and keeping the node lets it check the node's references too."""
    by_node = {}
    for p in problems:
        if p.path[:1] == ("nodes",) and len(p.path) >= 2:
            by_node.setdefault(p.path[1], []).append(p)
    return [p for p in problems
            if not (len(p.path) == 3 and p.path[0] == "nodes" and p.path[2] == "op"
                    and not p.at_key and len(by_node[p.path[1]]) == 1
                    and type(data["nodes"][p.path[1]]["op"]) is str)]


_TOP_KEYS = ("graphrun", "name", "description", "inputs", "params", "nodes", "loss", "tolerance")
_HARMLESS = ("name", "description", "tolerance", "loss")  # no other check depends on these


def _without(data: dict, problems) -> tuple:
    """(data without the entries `problems` are about, the names those entries defined). data
    is None when a problem is about the document's structure: nothing more can be checked
    soundly then."""
    if not problems:
        return data, set()
    drop = {section: set() for section in schema.SECTIONS}
    drop_keys = set()  # top-level keys no graph check depends on, or unknown ones
    for p in problems:
        path = p.path
        if p.pos is not None and not path:
            continue  # a duplicate key: its value was dropped as it was read
        if len(path) >= 2 and path[0] in drop:
            drop[path[0]].add(path[1])
        elif path and (path[0] in _HARMLESS or path[0] not in _TOP_KEYS):
            drop_keys.add(path[0])
        else:
            return None, set()
    if not isinstance(data.get("nodes"), dict):  # e.g. misspelt: reported as an unknown key
        return None, set()
    kept = {key: value for key, value in data.items() if key not in drop_keys}
    for section, names in drop.items():
        if names and isinstance(kept.get(section), dict):
            kept[section] = {k: v for k, v in kept[section].items() if k not in names}
    defined = {name for section in schema.SECTIONS for name in (kept.get(section) or {})}
    broken = {name for names in drop.values() for name in names if name not in defined}
    return kept, broken
