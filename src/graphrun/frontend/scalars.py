"""scalars: what a plain (unquoted) YAML scalar means, by the YAML 1.2 core schema.

Shared by both readers of `load` (PyYAML's events and `fastyaml`), so that they cannot disagree
on it: `1e3` is a float, `017` is 17, `no`, `on`, `1:30` and `2001-12-14` are strings (PyYAML
alone would read YAML 1.1: a string, a boolean, 15, 90 and a date).
"""

from __future__ import annotations

import math

from .. import lazy_re

INT64_MAX = 2**63 - 1

_INT10 = lazy_re.compile(r"[-+]?[0-9]+\Z")
_INT8 = lazy_re.compile(r"0o[0-7]+\Z")
_INT16 = lazy_re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = lazy_re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
NONFINITE = lazy_re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
NULLS = {"", "~", "null", "Null", "NULL"}
NUMBER_START = set("0123456789+-.")  # every int, float, .inf or .nan starts so
BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
WORDS = NULLS | set(BOOLS)  # the plain scalars that are not strings, besides numbers


def resolve_plain(text: str):
    """A plain scalar's value; raises ValueError for non-finite or out-of-range numbers."""
    if text[:1] not in NUMBER_START:  # most scalars are names: settle them with one set lookup
        if text in NULLS:
            return None
        return BOOLS.get(text, text)
    if _INT10.match(text):
        digits = text.lstrip("+-").lstrip("0") or "0"  # int() refuses > 4300 digits, zeros too
        if len(digits) > 19:
            raise ValueError(f"integer {_short(text)} does not fit in int64")
        value = -int(digits, 10) if text[0] == "-" else int(digits, 10)
    elif _FLOAT.match(text):
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"number {_short(text)} overflows float64")
        return value
    elif _INT8.match(text):
        value = int(text[2:], 8)
    elif _INT16.match(text):
        value = int(text[2:], 16)
    elif NONFINITE.match(text):
        raise ValueError(f"non-finite number {text} is not allowed; graph values must be finite")
    else:
        return text
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ValueError(f"integer {_short(text)} does not fit in int64")
    return value


def resolve_nonfinite(text: str) -> float:
    """`.nan`, `.inf`, `-.inf`... as a float, for the results files that may hold them."""
    return float(text.replace(".", "", 1))


def _short(text: str) -> str:
    return text if len(text) <= 30 else f"{text[:12]}...{text[-12:]} ({len(text)} characters)"
