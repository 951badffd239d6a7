"""Errors are values: each problem carries a document path (or a position), never a printed line.

Stages after `load` know nothing of YAML. They report a problem at a document path such as
("nodes", "v", "args", 1); the CLI resolves that path through the source map to FILE:LINE:COL.
The loader, which has no path for a bad byte or a stray tab, reports a position directly.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import Iterable, Optional, Tuple

Path = Tuple  # a document path: keys (str) and list indices (int)


@dataclass(frozen=True)
class Problem:
    """One problem in a graph file.

    `path` is where in the document it is; `at_key` points at the mapping key rather than its value
    (for unknown or duplicated keys). `pos` is an explicit 1-based (line, col) for problems found
    before there is a document (bad bytes, syntax errors).
    """

    message: str
    path: Path = ()
    at_key: bool = False
    pos: Optional[Tuple[int, int]] = None
    notes: Tuple[Tuple[str, Path], ...] = ()  # (message, path) pairs: "first defined here", ...


class GraphError(Exception):
    """One or more problems that make a graph file unusable (exit code 2)."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))


class NumericError(GraphError):
    """A non-finite number appeared while running a valid graph (exit code 2)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A "; did you mean 'x'?" suffix when a close match exists (ignoring case), else ''."""
    return _did_you_mean(str(word), tuple(sorted(set(map(str, choices)))))


@functools.lru_cache(maxsize=256)  # a file may misspell the same key a thousand times
def _did_you_mean(word: str, choices: tuple) -> str:
    by_lower = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    match = difflib.get_close_matches(word.lower(), by_lower, n=1, cutoff=0.6)
    return f"; did you mean '{by_lower[match[0]]}'?" if match else ""


def describe(value) -> str:
    """A short, user-facing description of a loaded YAML value, for 'found ...' in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"string {text!r}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
