"""compiler: the front-end stages joined once: load (text -> data + source map) -> schema -> spec ->
graph (-> Program). The API's `compile` and `compile_text` are the only callers.

A file with a schema error still has its valid parts checked: the entries a problem is about are
left out, names they define count as "known but broken" (no error for using them), and spec and
graph checks run on the rest. So one run reports every independent problem, and never one that
only follows from another.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Optional

from . import blocks, outputs as outputs_section, schema
from ..errors import GraphError, Problem, full, stopped
from .graph import Program, build_program
from .load import Document, PartialDocument, gc_paused, load_bytes, load_file, reread
from .outputs import OutputsSpec
from .spec import build_spec


def compile_file(filename: str, *, memory_budget: Optional[int] = None,
                 timings: Optional[dict] = None,
                 outputs: Optional[OutputsSpec] = None, allow_outside: bool = False) -> Program:
    """Load and check a graph file. Raises GraphError (every problem, located in the file).
    `timings`, when given, receives the seconds spent in load, validate and build. `outputs`
    (from `--outputs`) overrides what the file's `outputs:` section says, key by key.
    `allow_outside` lets `file:` and `include:` name files outside the graph's folder tree."""
    return _compile(lambda: load_file(filename, read_only=schema.top_level_keys()), memory_budget,
                    timings, outputs, allow_outside)


def compile_bytes(raw: bytes, filename: str, *, memory_budget: Optional[int] = None,
                  timings: Optional[dict] = None,
                  outputs: Optional[OutputsSpec] = None, allow_outside: bool = False) -> Program:
    """The same for a graph's text in memory; `filename` names it in messages, and its folder is
    where `file:` paths are looked up."""
    return _compile(lambda: load_bytes(raw, filename, read_only=schema.top_level_keys()),
                    memory_budget, timings, outputs, allow_outside)


def _compile(load, memory_budget, timings, outputs=None, allow_outside=False) -> Program:
    timings = {} if timings is None else timings
    with gc_paused():
        start = time.perf_counter()
        try:
            loaded, problems = [load()], []
        except PartialDocument as e:
            loaded, problems = [e.document], list(e.problems)
        timings["load"] = time.perf_counter() - start
        return _check(loaded, problems, memory_budget, timings, outputs, allow_outside)


# A results file read as a graph would be a list of unknown keys; it is one mistake, said once.
_RESULTS_KEYS = ("graph", "values", "gradients")


def _not_a_results_file(data) -> list:
    if type(data) is dict and "nodes" not in data and any(k in data for k in _RESULTS_KEYS):
        return [Problem("this is a results file, not a graph file (`graphrun diff A B` compares "
                        "two results files; `graphrun check GRAPH --golden RESULTS` a graph "
                        "with its golden)", pos=(1, 1))]
    return []


def _check(loaded: list, problems: list, memory_budget, timings,
           outputs: Optional[OutputsSpec] = None, allow_outside: bool = False) -> Program:
    """Each stage checks what the problems found so far leave standing; all are raised at once.
    `loaded` holds the Document, taken out here: this frame holds the only reference to the
    document, which is let go once the spec is built (at a million nodes it is 600 MiB that the
    program, the run and the writer need no more)."""
    document: Document = loaded.pop()
    source, top = document.source, document.data
    del document
    start = time.perf_counter()
    if not problems:
        results = _not_a_results_file(top)
        if results:
            raise GraphError(results, source)
    _stop_if_full(problems, source)
    data, broken = _without(top, problems)
    if data is not None:
        found = schema.check(data)
        if stopped(found):  # the entries after it are unchecked: nothing later may read them
            raise GraphError(_deduplicated(problems + found), source)
        found = _leave_unknown_ops_to_the_graph(data, found)
        problems += found
        _stop_if_full(problems, source)
        data, more = _without(data, found)
        broken |= more
    timings["validate"] = time.perf_counter() - start
    start = time.perf_counter()
    library = None
    if data is not None and ("blocks" in data or "include" in data or "include" in top):
        # blocks and includes: their problems are in the files they are in; a call of a broken
        # block (or, when an include is broken, of an unknown name) is no new problem
        library, found = blocks.build_library(
            data, source, {name for section, name in broken if section == "blocks"},
            complete="include" in data or "include" not in top,
            allow_outside=allow_outside)
        problems += found
        source.includes = tuple(library.files)  # read by this graph: never an output
    if blocks.is_library(top):
        if problems:
            raise GraphError(_deduplicated(problems), source)
        raise blocks.LibraryFile([Problem(
            "this file is a library of blocks (it has blocks and no nodes): there is nothing to "
            "run; a graph uses its blocks with include: [...]", ("blocks",), at_key=True)],
            source)
    broken = {name for section, name in broken if section != "blocks"}
    spec = None
    # With nothing found so far (a big file nearly always), the spec takes each node's entry out
    # of the document as it goes (half of a big file's memory would be the two at once), until
    # its first problem; if it had taken any, the text is read again, whole, to go on as below.
    consume = not problems
    if problems:
        source.keep(top)  # as read: to locate the problems without reading the text again
    for _ in range(3):  # spec problems are about single entries: leave those out, go again
        if data is None:
            break
        try:
            spec = build_spec(data, source.file, source=source, library=library,
                              allow_outside=allow_outside, consume=consume,
                              memory_budget=memory_budget)
            break
        except GraphError as e:
            problems += e.problems
            if stopped(e.problems):  # at a limit: nothing after it was read
                raise GraphError(_deduplicated(problems), source) from None
            _stop_if_full(problems, source)
            if consume:
                nodes = data.get("nodes")
                if type(nodes) is dict and next(iter(nodes.values()), ()) is None:
                    data = top = reread(source)  # some entries were let go: read them again
                source.keep(top)
                consume = False
            data, more = _without(data, e.problems)
            broken |= {name for section, name in more if section != "blocks"}
    data = top = None  # the document: everything later reads the spec
    program = None
    if spec is not None:
        try:
            program = build_program(spec, memory_budget, broken=frozenset(broken | spec.broken),
                                    source=source)
        except GraphError as e:
            problems += e.problems
    if program is not None:
        chosen = spec.outputs if outputs is None else outputs.over(spec.outputs)
        try:
            selection = outputs_section.resolve(chosen, program)
        except GraphError as e:
            problems += e.problems
        else:
            if selection is not None:
                program = dataclasses.replace(program, outputs=selection)
    if problems:
        raise GraphError(_deduplicated(problems), source)
    timings["build"] = time.perf_counter() - start
    return program


def _stop_if_full(problems, source) -> None:
    """A stage that found enough problems to print (errors.MAX_PROBLEMS) ends the checking: the
    next stages would only find more, or the same ones again."""
    if full(problems):
        raise GraphError(_deduplicated(problems), source)


def _deduplicated(problems) -> list:
    """Problems once each: a block argument bound to an unknown name is that name's problem once,
    however often the block uses the argument."""
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.at_key, p.pos, p.message, id(p.source))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


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


_TOP_KEYS = ("graphrun", "name", "description", "inputs", "params", "nodes", "loss", "tolerance",
             "train", "blocks", "include", "outputs")
# no other check depends on these (a broken include: calls of unknown names are then no problem)
_HARMLESS = ("name", "description", "tolerance", "loss", "train", "include", "outputs")
_ENTRIES = schema.SECTIONS + ("blocks",)  # sections whose entries are checked one by one


def _without(data: dict, problems) -> tuple:
    """(data without the entries `problems` are about, the (section, name) of those entries
    that are no longer defined). data is None when a problem is about the document's structure:
    nothing more can be checked soundly then."""
    if not problems:
        return data, set()
    drop = {section: set() for section in _ENTRIES}
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
    if not isinstance(data.get("nodes"), dict) and not blocks.is_library(data):
        return None, set()  # e.g. misspelt: reported as an unknown key
    kept = {key: value for key, value in data.items() if key not in drop_keys}
    for section, names in drop.items():
        if names and isinstance(kept.get(section), dict):
            kept[section] = {k: v for k, v in kept[section].items() if k not in names}
    defined = {(section, name) for section in _ENTRIES for name in _names(kept, section)}
    names = {name for section in schema.SECTIONS for name in _names(kept, section)}
    broken = {(section, name) for section, dropped in drop.items() for name in dropped
              if (section, name) not in defined
              and (section == "blocks" or name not in names)}
    return kept, broken


def _names(data: dict, section: str):
    """The names a section defines: its keys when it is a mapping (a section written as a list,
    or as anything else, is the schema's problem, and defines nothing)."""
    body = data.get(section)
    return body.keys() if isinstance(body, dict) else ()
