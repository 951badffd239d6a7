"""Errors are values: each problem carries where it is (a document path in a source, or a position),
never a printed line.

Stages after `load` know nothing of YAML. They report a problem at a document path such as
("nodes", "v", "args", 1) in a source (the loaded file's source map, handed along as an opaque
object with `.file` and `.locate(path, at_key)`). The source is bound when the error is made
(`GraphError(problems, source)`), never patched on later; `error.located()` resolves every path to
FILE:LINE:COL, sorted, for the CLI and for a Python caller alike (`str(error)` is those lines).

A problem that a caller can get past by changing how graphrun is called names that change as a
`fix` key; the words for it depend on who is reading (`--allow-nonfinite` on the command line,
`check_finite=False` in Python), so the CLI and the API each supply their own (see FIX_WORDS).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, List, NamedTuple, Optional, Tuple

from .escaping import shown  # noqa: F401 (errors.shown: the one escaping of file strings)
from .hints import did_you_mean, hint_budget  # noqa: F401 (errors.did_you_mean, .hint_budget)

Path = Tuple  # a document path: keys (str) and list indices (int)


class Note(NamedTuple):
    """A related place, shown under its problem: "'b' is part of the cycle", "first defined here".
    `source` None means the problem's own source."""

    message: str
    path: Path
    source: object = None


@dataclass(frozen=True)
class Problem:
    """One problem in a graph (or results) file.

    `path` is where in the document it is; `at_key` points at the mapping key rather than its value
    (for unknown or duplicated keys). `pos` is an explicit 1-based (line, col) for problems found
    before there is a document (bad bytes, syntax errors). `source` is the file the path or position
    is in. `fix` names a way of calling graphrun that gets past the problem (FIX_WORDS).
    `severity` is "error" or "warning" (a warning never changes the exit status).
    """

    message: str
    path: Path = ()
    at_key: bool = False
    pos: Optional[Tuple[int, int]] = None
    notes: Tuple[Note, ...] = ()
    source: object = None
    fix: Optional[str] = None
    severity: str = "error"


# the words for each fix, for a Python caller, appended to the message; the CLI has its own
# (cli/main.py)
FIX_WORDS = {
    "allow_nonfinite": "; pass check_finite=False to keep it anyway",
    "memory_budget": " (raise memory_budget=..., or shrink the largest tensors)",
    "learning_rate": "; try a smaller learning rate (lr=...)",
    "allow_outside": "; pass allow_outside=True to read it anyway",
}


class Located(NamedTuple):
    """A problem resolved to its place: what the CLI prints and a Python caller can read."""

    file: str
    line: int
    col: int
    severity: str
    message: str
    notes: Tuple[Tuple[str, int, int, str], ...]  # (file, line, col, message)
    fix: Optional[str]

    def text(self, fix_words: dict = FIX_WORDS) -> str:
        """FILE:LINE:COL: error: message (and a line per note)."""
        message = self.message
        if self.fix is not None:
            message += fix_words[self.fix]
        lines = [f"{self.file}:{self.line}:{self.col}: {self.severity}: {message}"]
        lines += [f"{f}:{line}:{col}: note: {note}" for f, line, col, note in self.notes]
        return "\n".join(lines)


class GraphError(Exception):
    """One or more problems that make a graph file unusable (exit code 2).

    `source` is bound into every problem that has none of its own: the code that raises knows which
    file its paths are in."""

    def __init__(self, problems: Iterable[Problem], source=None):
        problems = tuple(problems)
        if source is not None:
            problems = tuple(p if p.source is not None else replace(p, source=source)
                             for p in problems)
        self.problems = problems
        super().__init__(self.problems)

    def located(self, limit: Optional[int] = None) -> List[Located]:
        """Every problem at FILE:LINE:COL, sorted by file (in the order files first appear) and
        then by position; with `limit`, only the first `limit` problems found (locating one can
        take a while: 200,000 of them, seconds), sorted so."""
        problems = self.problems if limit is None else self.problems[:limit]
        rows = [locate(p) for p in problems]
        order = {}
        for row in rows:
            order.setdefault(row.file, len(order))
        return sorted(rows, key=lambda r: (order[r.file], r.line, r.col))

    @property
    def errors(self) -> Tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    def __str__(self) -> str:
        return "\n".join(row.text() for row in self.located())


class NumericError(GraphError):
    """A non-finite number appeared while running a valid graph (exit code 2)."""


def locate(p: Problem) -> Located:
    """The problem at its FILE:LINE:COL (the one place a path becomes a position), every string
    in it shown escaped (`shown`)."""
    located = _located(p)
    notes = tuple((shown(f), line, col, shown(m)) for f, line, col, m in located.notes)
    return located._replace(file=shown(located.file), message=shown(located.message),
                            notes=notes)


def _located(p: Problem) -> Located:
    p = _relocated(p)
    source = p.source
    if p.pos is not None or source is None:
        line, col = p.pos or (1, 1)
    else:
        line, col = source.locate(p.path, p.at_key)
    file = getattr(source, "file", None) or "<graph>"
    notes = []
    for note in p.notes:
        note = _relocated_note(note)
        message, path = note[0], note[1]
        where = (note[2] if len(note) > 2 else None) or source
        nline, ncol = where.locate(path, True) if where is not None else (1, 1)
        notes.append((getattr(where, "file", None) or file, nline, ncol, message))
    return Located(file, line, col, p.severity, p.message, tuple(notes), p.fix)


def _relocated(p: Problem) -> Problem:
    """A path may pass through a stand-in for text written elsewhere (frontend/sites.py: a token
    of an expression, a node of a block, maybe in an included file): it says where that is."""
    for part in p.path:
        relocate = getattr(part, "relocate", None)
        if relocate is not None:
            return relocate(p)
    return p


def _relocated_note(note):
    for part in note[1]:
        relocate = getattr(part, "relocate_note", None)
        if relocate is not None:
            return relocate(note)
    return note


# Problems one check collects before it stops, and how many the CLI prints (cli/main.py report):
# a stage that has found this many stops its per-entry work there, rather than
# build (and locate, and hint) millions that nobody reads: 2.2M unknown names took 51 s and 3.3
# GiB. Each stage that stops says where, with `stopped_here`; later stages are not run.
MAX_PROBLEMS = 1000


def full(problems) -> bool:
    """Whether `problems` (a list, or a count) leaves room only for `stopped_here`'s: stop
    looking for more (so the stage's last problem, where it stopped, is among those printed)."""
    return (problems if type(problems) is int else len(problems)) >= MAX_PROBLEMS - 1


def stopped_here(count: int, path: Path = (), at_key: bool = True,
                 pos: Optional[Tuple[int, int]] = None) -> Problem:
    """The last problem of a check that stopped early (see MAX_PROBLEMS), at the first entry it
    did not check."""
    return Problem(f"{_STOPPED}{count} problems above; fix those first", path, at_key=at_key,
                   pos=pos)


def stopped_by_limit(reason: str, path: Path = (), at_key: bool = True) -> Problem:
    """The last problem of a check that stopped at a size limit, at the entry that passes it."""
    return Problem(f"{_STOPPED}{reason}", path, at_key=at_key)


_STOPPED = "checking stopped here: "


def stopped(problems) -> bool:
    """Whether a check's `problems` end where it stopped early (`stopped_here`): what follows
    that place was not checked, so no later stage may run on it."""
    return bool(problems) and problems[-1].message.startswith(_STOPPED)


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
