"""report: the output formats of check, diff and validate (text, json, github) and colour.

Nothing here prints: each function returns text (or a JSON-ready dict) that a command writes to
the stream it was given.

- text: a table a person reads at a glance; colour by `--color auto|always|never` (auto: on a
  terminal, or when FORCE_COLOR is set; never when NO_COLOR is set, which wins).
- json: one JSON document (strict JSON: no NaN; non-finite numbers become null, their text is
  kept beside them).
- github: `::error file=F,line=L,col=C::message` workflow commands, which GitHub shows on the
  pull request's diff at that line. GitHub shows at most 10 annotations of each level (error,
  warning, notice) per step and drops the rest silently, so at most 10 of each are printed, the
  10th saying how many more there were; the full table goes to $GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING, List, Optional

from ..escaping import shown
from .main import FIX_WORDS

if TYPE_CHECKING:  # annotations only: check, diff and validate parse arguments with no numpy
    from ..errors import GraphError
    from ..results.compare import Difference

FORMATS = ("text", "json", "github")
COLOURS = ("auto", "always", "never")
_COLOURS = {"red": "31", "green": "32", "yellow": "33", "bold": "1"}
ANNOTATIONS_PER_LEVEL = 10  # what GitHub shows of each level per step (error, warning, notice)
SUMMARY_BYTES = 1024 * 1024  # GitHub refuses a step summary larger than this


def add_format_argument(parser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text (default): for people; json: one JSON document on stdout; "
                             "github: ::error annotations for GitHub Actions")


def use_colour(stream, choice: str = "auto") -> bool:
    """Whether to colour `stream`: `--color always|never` decides; with auto, never when NO_COLOR
    is set (https://no-color.org), always when FORCE_COLOR is (https://force-color.org), else
    only on a terminal. An empty variable counts as unset, as both conventions say."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, colour: str, on: bool) -> str:
    return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m" if on else text


def position(where) -> Optional[dict]:
    return None if where is None else {"file": where[0], "line": where[1], "col": where[2]}


def difference_dict(d: Difference, graph_at=None) -> dict:
    """A difference for --format json: numbers as JSON numbers (null when not a finite number:
    `expected_text`/`got_text` keep what was written, `.nan`, a shape, a name)."""
    document = {"entry": d.entry, "kind": d.kind, "expected": d.expected_number,
                "got": d.got_number, "expected_text": d.expected, "got_text": d.got,
                "abs_error": _finite(d.abs_error), "rel_error": _finite(d.rel_error),
                "index": None if d.index is None else list(d.index), "count": d.count,
                "size": d.size, "rtol": d.rtol, "atol": d.atol, "message": d.message,
                "expected_at": position(d.expected_at), "got_at": position(d.got_at)}
    if graph_at is not None:
        document["graph_at"] = position(graph_at)
    return document


def _finite(x: Optional[float]) -> Optional[float]:
    return None if x is None or not math.isfinite(x) else x


def _message(row) -> str:
    return row.message + (FIX_WORDS[row.fix] if row.fix is not None else "")


def problem_dicts(error: GraphError) -> List[dict]:
    return [{"file": row.file, "line": row.line, "col": row.col, "message": _message(row),
             "notes": [{"line": nl, "col": nc, "message": n} for _, nl, nc, n in row.notes]}
            for row in error.located()]


def problems_github(error: GraphError) -> List[tuple]:
    """Every problem as an error annotation, its notes as notices (see `github`)."""
    found = []
    for row in error.located():
        found.append((row.severity, row.file, row.line, row.col, _message(row), None))
        found += [("notice", f, nl, nc, note, None) for f, nl, nc, note in row.notes]
    return found


def github(annotations: List[tuple]) -> str:
    """Annotations (level, file, line, col, message, title) as workflow commands, at most
    ANNOTATIONS_PER_LEVEL of each level: past that GitHub drops them without a word, so the
    last one shown says how many more there are and where to find them."""
    by_level = {}
    for a in annotations:
        by_level.setdefault(a[0], []).append(a)
    keep = set()
    extra = {}
    for level, items in by_level.items():
        if len(items) <= ANNOTATIONS_PER_LEVEL:
            keep.update(map(id, items))
        else:
            keep.update(map(id, items[:ANNOTATIONS_PER_LEVEL - 1]))
            extra[level] = (items[ANNOTATIONS_PER_LEVEL - 1], len(items) - ANNOTATIONS_PER_LEVEL + 1)
    lines = []
    for a in annotations:
        if id(a) in keep:
            lines.append(annotation(*a))
    for level, (first, more) in extra.items():
        lines.append(annotation(level, first[1], first[2], first[3],
                                f"... and {more} more {level}s not shown here (GitHub shows "
                                f"{ANNOTATIONS_PER_LEVEL} per step): see the job summary or "
                                "the log", "graphrun: more"))
    return "".join(lines)


def annotation(level: str, file: str, line: int, col: int, message: str,
               title: Optional[str] = None) -> str:
    """One GitHub Actions workflow command, escaped as GitHub documents it."""
    fields = [("file", file), ("line", line), ("col", col)]
    if title:
        fields.append(("title", title))
    props = ",".join(f"{k}={_escape(str(v), True)}" for k, v in fields)
    return f"::{level} {props}::{_escape(message, False)}\n"


def _escape(text: str, prop: bool) -> str:
    """GitHub's own escaping of a workflow command's property (`prop`) or message: %25, %0D,
    %0A, and %3A, %2C in a property, which the runner turns back into the file's own name. What
    that escaping has no word for (ESC, the other controls, bidi overrides) is shown escaped, so
    an annotation is one line and never drives the terminal of whoever reads the log."""
    text = shown(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


# Text for people (--format text): every string that came from a user's file or a path, in an
# outcome of check or a difference of diff, shown escaped (escaping.shown) before the results
# modules format it into lines, so that one graph is one line and no name drives the terminal.
# json and github keep the strings as they are (each format escapes them its own way).

def shown_at(where):
    return None if where is None else (shown(where[0]),) + tuple(where[1:])


def shown_difference(d: Difference) -> Difference:
    from dataclasses import replace
    return replace(d, entry=shown(d.entry), expected=shown(d.expected), got=shown(d.got),
                   message=shown(d.message), expected_at=shown_at(d.expected_at),
                   got_at=shown_at(d.got_at))


def shown_outcome(o):
    """An outcome of check (results/golden.Outcome) with its file names and differences shown
    escaped, for its text."""
    from dataclasses import replace
    return replace(o, graph=shown(o.graph), golden=shown(o.golden),
                   differences=[shown_difference(d) for d in o.differences],
                   graph_at={k: shown_at(v) for k, v in o.graph_at.items()})


def markdown_code(text: str) -> str:
    """A file name in a Markdown table cell (the job summary): one line, as a code span whose
    fence is longer than any run of backticks inside (CommonMark), `|` escaped for the table."""
    text = shown(text).replace("|", "\\|")
    longest = run = 0
    for c in text:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    if not longest:
        return f"`{text}`"
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def json_text(document: dict) -> str:
    return json.dumps(document, indent=2, allow_nan=False) + "\n"
