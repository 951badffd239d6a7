"""pipeline: the stages joined once, so that the CLI and every command share one way in.

load (text -> data + source map) -> schema -> spec -> graph (-> Program).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from . import schema
from .errors import GraphError
from .graph import Program, build_program
from .load import Document, SourceMap, load_file
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
    start = time.perf_counter()
    try:
        document = load_file(filename)
    except GraphError as e:
        e.source = SourceMap(filename)
        raise
    timings["load"] = time.perf_counter() - start
    return compile_document(document, memory_budget=memory_budget, timings=timings)


def compile_document(document: Document, *, memory_budget: Optional[int] = None,
                     timings: Optional[dict] = None) -> Compiled:
    timings = {} if timings is None else timings
    try:
        start = time.perf_counter()
        problems = schema.check(document.data)
        if problems:
            raise GraphError(problems)
        timings["validate"] = time.perf_counter() - start
        start = time.perf_counter()
        spec = build_spec(document.data, document.source.file)
        program = build_program(spec, memory_budget)
        timings["build"] = time.perf_counter() - start
        return Compiled(program, document.source)
    except GraphError as e:
        e.source = document.source
        raise
