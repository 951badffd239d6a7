"""compare: two sets of results, entry by entry: by name, shape and value with a tolerance.

An element matches when it is equal (NaN equals NaN, inf equals an inf of the same sign), or
when |got - expected| <= atol + rtol * |expected|. Integers and bools compare exactly; shapes must
match exactly, and so must the kind of value (a bool or an integer where a float was is a
difference of type). Floats compare in the lower precision of the two sides (a float32 result read back from
its shortest decimal text is float32-exact, not float64-exact).

Default tolerances are tight, because a graph's results are deterministic: float64 entries
rtol 1e-9, atol 1e-12 (room for a BLAS that sums in another order, nothing more); float32
entries rtol 1e-5, atol 1e-6. A graph file's `tolerance: {rtol, atol}` overrides them, and
`--rtol`/`--atol` on the command line override both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .reader import Entry, ResultSet
from .writer import float_text

DEFAULT_TOLERANCES = {"float64": (1e-9, 1e-12), "float32": (1e-5, 1e-6)}  # (rtol, atol)


@dataclass(frozen=True)
class Tolerance:
    """rtol and atol as given; None means 'from the next source' (finally the defaults)."""

    rtol: Optional[float] = None
    atol: Optional[float] = None
    rounding: float = 0.0  # added to rtol: room for numbers written rounded (`digits`)

    def over(self, fallback: "Tolerance") -> "Tolerance":
        """This tolerance, with what it leaves unset taken from `fallback`."""
        return Tolerance(fallback.rtol if self.rtol is None else self.rtol,
                         fallback.atol if self.atol is None else self.atol,
                         max(self.rounding, fallback.rounding))

    def for_digits(self, digits: Optional[int]) -> "Tolerance":
        """This tolerance with room for numbers rounded to `digits` significant digits.

        Rounding to d digits moves a number x by at most half a unit of its d-th digit, at most
        u/2 |x| with u = 10^(1-d) (and at most u/2 of the rounded number). With both sides
        rounded, |r_got - r_expected| <= |got - expected| + u/2 (|got| + |expected|), which is
        within atol (1 + u) + (rtol + 2u) |r_expected| whenever |got - expected| <= atol +
        rtol |expected| (for rtol <= 1). So rtol grows by 2u and atol by the factor 1 + u: two
        results within the tolerance before rounding are within it after, whichever sides were
        rounded (tests/test_outputs.py checks this on random numbers)."""
        if digits is None:
            return self
        return Tolerance(self.rtol, self.atol, max(self.rounding, 2 * 10.0 ** (1 - digits)))

    def resolved(self, dtype) -> Tuple[float, float]:
        rtol, atol = DEFAULT_TOLERANCES["float32" if dtype == np.float32 else "float64"]
        rtol = rtol if self.rtol is None else self.rtol
        atol = atol if self.atol is None else self.atol
        if not self.rounding:
            return rtol, atol
        return rtol + self.rounding, atol * (1 + self.rounding / 2)

    @classmethod
    def of_program(cls, program) -> "Tolerance":
        """The `tolerance:` written in a graph file (Program.tolerance)."""
        written = dict(program.tolerance or ())
        return cls(written.get("rtol"), written.get("atol"))


@dataclass(frozen=True)
class Difference:
    """One entry that does not match. `kind`: value, shape, type, missing (only in the expected
    results), new (only in the results compared)."""

    entry: str
    kind: str  # value, shape, type, missing, new
    expected: str  # text of the expected value (the worst element's, for a tensor)
    got: str
    message: str
    expected_number: Optional[float] = None  # the same as a number (None: not a finite number)
    got_number: Optional[float] = None
    score: float = float("inf")  # how far beyond its allowance: |error| / (atol + rtol |x|)
    abs_error: Optional[float] = None
    rel_error: Optional[float] = None
    index: Optional[Tuple[int, ...]] = None  # the worst element; () for a scalar
    count: int = 0  # elements that differ
    size: int = 0
    rtol: Optional[float] = None
    atol: Optional[float] = None
    expected_at: Optional[Tuple[str, int, int]] = None  # (file, line, col) of the entry
    got_at: Optional[Tuple[str, int, int]] = None


def compare(expected: ResultSet, got: ResultSet, tolerance: Tolerance = Tolerance(),
            expected_label: str = "the expected results",
            got_label: str = "the results") -> List[Difference]:
    """Every difference, in the expected file's order, then the entries only `got` has. Numbers
    written rounded (`digits` on either side) are compared with room for the rounding."""
    rounded = [d for d in (expected.digits, got.digits) if d is not None]
    tolerance = tolerance.for_digits(min(rounded) if rounded else None)
    differences = []
    for name, e in expected.entries.items():
        g = got.entries.get(name)
        where = _at(expected, e), (_at(got, g) if g is not None else None)
        if g is None:
            differences.append(Difference(
                name, "missing", _summary(e.value), "-",
                f"{name}: in {expected_label} but not in {got_label}",
                expected_number=_scalar_number(e.value), expected_at=where[0]))
            continue
        found = _compare_entry(name, e.value, g.value, tolerance)
        if found is not None:
            differences.append(Difference(**found, expected_at=where[0], got_at=where[1]))
    for name, g in got.entries.items():
        if name not in expected.entries:
            differences.append(Difference(
                name, "new", "-", _summary(g.value),
                f"{name}: in {got_label} but not in {expected_label}",
                got_number=_scalar_number(g.value), got_at=_at(got, g)))
    return differences


def _compare_entry(name, e, g, tolerance) -> Optional[dict]:
    if isinstance(e, str) or isinstance(g, str):
        if isinstance(e, str) and isinstance(g, str) and e == g:
            return None
        kind = "value" if isinstance(e, str) and isinstance(g, str) else "type"
        return dict(entry=name, kind=kind, expected=_summary(e), got=_summary(g),
                    message=f"{name}: expected {_summary(e)}, got {_summary(g)}")
    if e.ndim == 0 and g.ndim == 0 and e.dtype == g.dtype == np.float64:
        x, y = float(e), float(g)
        if x == y or x != x and y != y:  # the common case, kept cheap: equal, or both NaN
            return None
    if e.shape != g.shape:
        return dict(entry=name, kind="shape", expected=f"shape {list(e.shape)}",
                    got=f"shape {list(g.shape)}", size=int(g.size),
                    message=f"{name}: expected shape {list(e.shape)}, got {list(g.shape)}")
    kinds = _kind(e), _kind(g)
    if kinds[0] != kinds[1]:
        # a bool where a number was, or an int64 index where a float was: the op changed
        return dict(entry=name, kind="type", expected=_summary(e), got=_summary(g),
                    size=int(g.size), message=f"{name}: expected {_KIND_WORDS[kinds[0]]} "
                                              f"values, got {_KIND_WORDS[kinds[1]]} values")
    integers = kinds[0] != "f"
    common = np.float32 if np.float32 in (e.dtype, g.dtype) else np.float64
    rtol, atol = tolerance.resolved(common)
    if integers:
        bad = e != g
        a, b = e.astype(np.float64), g.astype(np.float64)
    else:
        a, b = _in(e, common), _in(g, common)
    with np.errstate(all="ignore"):
        diff = np.abs(b - a)
        if not integers:
            same = (a == b) | (np.isnan(a) & np.isnan(b))
            # within tolerance only between finite numbers: next to an inf the allowance is
            # inf too, and inf would "match" any number
            bad = ~(same | (diff <= atol + rtol * np.abs(a)) & np.isfinite(a) & np.isfinite(b))
        if not bad.any():
            return None
        # the worst element: the one furthest beyond its allowance (NaN against a number: inf)
        score = diff / (atol + rtol * np.abs(a))
        score = np.where(bad, np.nan_to_num(score, nan=np.inf, posinf=np.inf), -1.0)
        flat = int(np.argmax(score))
        worst = float(score.reshape(-1)[flat])
        index = tuple(int(i) for i in np.unravel_index(flat, a.shape)) if a.ndim else ()
        ea = a.reshape(-1)[flat]
        abs_error = float(diff.reshape(-1)[flat])
        abs_error = np.inf if np.isnan(abs_error) else abs_error
        rel_error = float(abs_error / abs(ea)) if ea != 0 else (0.0 if abs_error == 0 else np.inf)
    count, size = int(bad.sum()), int(bad.size)
    et, gt = _element(e.reshape(-1)[flat]), _element(g.reshape(-1)[flat])
    where = "" if not index else \
        f"{count} of {size} elements differ; worst at [{', '.join(map(str, index))}]: "
    rule = "exactly" if integers else f"rtol {rtol:g}, atol {atol:g}"
    message = (f"{name}: {where}expected {et}, got {gt} (abs error {_g(abs_error)}, "
               f"rel error {_g(rel_error)}; {rule})")
    return dict(entry=name, kind="value", expected=et, got=gt, message=message,
                expected_number=_number(e.reshape(-1)[flat]),
                got_number=_number(g.reshape(-1)[flat]), score=worst,
                abs_error=abs_error, rel_error=rel_error, index=index, count=count, size=size,
                rtol=None if integers else rtol, atol=None if integers else atol)


def _in(x: np.ndarray, common) -> np.ndarray:
    """x's numbers rounded to `common` (float32 when either side is), as float64; a finite
    number that `common` cannot hold keeps its float64 value: cast, 1e300 would become inf and
    match an inf, or 1e39."""
    wide = x.astype(np.float64)
    if common is np.float64:
        return wide
    with np.errstate(over="ignore"):
        narrow = wide.astype(common).astype(np.float64)
    return np.where(np.isfinite(narrow) | ~np.isfinite(wide), narrow, wide)


def _number(x):
    """An element as a JSON number: int for integers, float for finite floats, else None."""
    x = np.asarray(x)
    if x.dtype.kind == "b":
        return bool(x)
    if x.dtype.kind in "iu":
        return int(x)
    value = float(x)
    return value if value - value == 0.0 else None


def _scalar_number(value):
    return None if isinstance(value, str) or value.ndim else _number(value)


_KIND_WORDS = {"f": "floating-point", "i": "integer", "b": "bool"}


def _kind(a) -> str:
    """f, i or b: the kinds of value a results file tells apart (1.0, 1, true)."""
    k = a.dtype.kind
    return "i" if k == "u" else k


def _element(x) -> str:
    kind = np.asarray(x).dtype.kind
    if kind == "b":
        return "true" if x else "false"
    return str(int(x)) if kind in "iu" else float_text(x, np.asarray(x).dtype)


def _summary(value) -> str:
    if isinstance(value, str):
        return repr(value)
    if value.ndim == 0:
        return _element(value)
    return f"{value.dtype.name} tensor, shape {list(value.shape)}"


def _g(x: float) -> str:
    return f"{x:.3g}"


def _at(results: ResultSet, entry: Entry):
    return None if results.file is None or not entry.line else \
        (results.file, entry.line, entry.col)


# ---------------------------------------------------------------------------------------------
# text

def table(header, rows, indent: str = "  ") -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    rows = [list(header)] + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths)] + [row[-1]]
        lines.append(indent + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


MAX_ROWS = 10  # differences shown per graph in text; the rest are summarised


def worst_first(differences: List[Difference]) -> List[Difference]:
    """The differences ordered by how far each is beyond its allowance, worst first (an entry
    missing, new, of another shape or type first of all); ties keep file order."""
    return sorted(differences, key=lambda d: -d.score)


@dataclass(frozen=True)
class Summary:
    """What a set of differences comes to: how many, and the largest errors with their entries."""

    count: int
    max_abs_error: Optional[Tuple[float, str]]  # (error, entry)
    max_rel_error: Optional[Tuple[float, str]]

    def text(self) -> str:
        parts = [f"{label} {_g(e[0])} ({e[1]})" for label, e in
                 (("largest abs error", self.max_abs_error),
                  ("largest rel error", self.max_rel_error)) if e is not None]
        return "; ".join(parts)

    def json(self) -> dict:
        def pair(e):
            return None if e is None else {"entry": e[1], "error": _finite(e[0])}
        return {"count": self.count, "max_abs_error": pair(self.max_abs_error),
                "max_rel_error": pair(self.max_rel_error)}


def summarise(differences: List[Difference]) -> Summary:
    def largest(field):
        found = [(getattr(d, field), d.entry) for d in differences
                 if getattr(d, field) is not None]
        return max(found, key=lambda e: (e[0] != e[0], e[0])) if found else None
    return Summary(len(differences), largest("abs_error"), largest("rel_error"))


def _finite(x):
    return None if x is None or x != x or x in (float("inf"), float("-inf")) else x


def differences_table(differences: List[Difference], line_header: str = "golden line",
                      max_rows: Optional[int] = MAX_ROWS) -> str:
    """The worst `max_rows` differences (all with None or 0), worst first, and a line saying how
    many more there are."""
    header = ("entry", "expected", "got", "abs error", "rel error", "worst at", "differ",
              line_header)
    shown = worst_first(differences)
    rest = 0
    if max_rows and len(shown) > max_rows:
        shown, rest = shown[:max_rows], len(shown) - max_rows
    text = table(header, (_row(d) for d in shown))
    if rest:
        text += (f"  ... and {rest} more entr{'y' if rest == 1 else 'ies'} (--max-rows 0 "
                 "shows all; --format json lists every one)\n")
    return text


def markdown_table(differences: List[Difference], line_header: str = "golden line",
                   budget: int = 10**6) -> str:
    """The differences as a GitHub-flavoured Markdown table, worst first, cut (with a row
    saying so) before it passes `budget` characters."""
    header = ("entry", "expected", "got", "abs error", "rel error", "worst at", "differ",
              line_header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    size = sum(len(line) + 1 for line in lines)
    ordered = worst_first(differences)
    for i, d in enumerate(ordered):
        line = "| " + " | ".join(_markdown_cell(c) for c in _row(d)) + " |"
        if size + len(line) + 1 > budget:
            lines.append(f"| ... and {len(ordered) - i} more | | | | | | | |")
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


SUMMARY_NOTE = ("\n(The rest does not fit in the 1 MiB GitHub takes for a step's summary: "
                "`graphrun check --format json` lists every difference.)\n")


def _markdown_cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`" if text != "-" else "-"


def _row(d: Difference) -> List[str]:
    index = "-" if not d.index else "[" + ", ".join(map(str, d.index)) + "]"
    differ = f"{d.count}/{d.size}" if d.kind == "value" and d.size > 1 else "-"
    at = d.expected_at or d.got_at
    return [d.entry, d.expected, d.got, _cell(d.abs_error), _cell(d.rel_error), index, differ,
            f"{at[0]}:{at[1]}" if at else "-"]


def _cell(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.3g}"
