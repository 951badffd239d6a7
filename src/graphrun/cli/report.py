"""report: the output formats of check, diff and validate (text, json, github) and colour.

Nothing here prints: each function returns text (or a JSON-ready dict) that a command writes to
the stream it was given.

- text: a table a person reads at a glance; colour only on a terminal, never when NO_COLOR is set.
- json: one JSON document (strict JSON: no NaN; non-finite errors become null).
- github: `::error file=F,line=L,col=C::message` workflow commands, which GitHub shows on the
  pull request's diff at that line.
"""

from __future__ import annotations

import json
import math
import os
from typing import List, Optional

from ..errors import GraphError
from ..results.compare import Difference
from .main import FIX_WORDS

FORMATS = ("text", "json", "github")
_COLOURS = {"red": "31", "green": "32", "yellow": "33", "bold": "1"}


def add_format_argument(parser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text (default): for people; json: one JSON document on stdout; "
                             "github: ::error annotations for GitHub Actions")


def use_colour(stream) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, colour: str, on: bool) -> str:
    return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m" if on else text


def difference_dict(d: Difference) -> dict:
    def at(where):
        return None if where is None else {"file": where[0], "line": where[1], "col": where[2]}
    return {"entry": d.entry, "kind": d.kind, "expected": d.expected, "got": d.got,
            "abs_error": _finite(d.abs_error), "rel_error": _finite(d.rel_error),
            "index": None if d.index is None else list(d.index), "count": d.count,
            "size": d.size, "rtol": d.rtol, "atol": d.atol, "message": d.message,
            "expected_at": at(d.expected_at), "got_at": at(d.got_at)}


def _finite(x: Optional[float]) -> Optional[float]:
    return None if x is None or not math.isfinite(x) else x


def _message(row) -> str:
    return row.message + (FIX_WORDS[row.fix] if row.fix is not None else "")


def problem_dicts(error: GraphError) -> List[dict]:
    return [{"file": row.file, "line": row.line, "col": row.col, "message": _message(row),
             "notes": [{"line": nl, "col": nc, "message": n} for _, nl, nc, n in row.notes]}
            for row in error.located()]


def problems_github(error: GraphError) -> str:
    lines = []
    for row in error.located():
        lines.append(annotation(row.severity, row.file, row.line, row.col, _message(row)))
        lines += [annotation("notice", f, nl, nc, note) for f, nl, nc, note in row.notes]
    return "".join(lines)


def annotation(level: str, file: str, line: int, col: int, message: str) -> str:
    """One GitHub Actions workflow command, escaped as GitHub documents it."""
    props = ",".join(f"{k}={_escape(str(v), True)}" for k, v in
                     (("file", file), ("line", line), ("col", col)))
    return f"::{level} {props}::{_escape(message, False)}\n"


def _escape(text: str, prop: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def json_text(document: dict) -> str:
    return json.dumps(document, indent=2, allow_nan=False) + "\n"
