"""results: results as named arrays, what `check` and `diff` compare.

Either straight from a run (`from_results`), or read back from a results file (`read_results`):
its YAML, plus the .npy sidecars its big-tensor entries name (read with numpy, never through
YAML). Each entry read from a file keeps the line and column it was written at, so a difference
can point at the golden file's line.

Entry names: `graph` (the graph's name, a string), `digits` (the significant digits the numbers
were rounded to, as text, when they were), `loss`, `values.<node>`, `gradients.<name>`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from .. import lazy_re
from ..errors import GraphError, Problem, describe
from ..frontend import reading
from ..frontend.load import MAX_BYTES, MAX_DEPTH, SourceMap, load_bytes
from ..frontend.scalars import resolve_plain
from .files import read_locked
from .writer import digits_of, sections

SECTIONS = ("values", "gradients")
_FLOAT_DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass(frozen=True)
class Entry:
    value: object  # a numpy array, or a str for `graph`
    line: int = 0  # 1-based position in the file it was read from; 0 for fresh results
    col: int = 0


@dataclass(frozen=True)
class ResultSet:
    file: Optional[str]  # the results file read, or None for the results of a run
    entries: Dict[str, Entry]  # in file order

    @property
    def digits(self) -> Optional[int]:
        """The significant digits the numbers were rounded to, or None (every digit)."""
        entry = self.entries.get("digits")
        return None if entry is None else int(entry.value)


def from_results(results) -> ResultSet:
    """The entries of a run, in the order the writer writes them."""
    p = results.program
    entries = {"graph": Entry(p.name)}
    digits = digits_of(results)
    if digits is not None:
        entries["digits"] = Entry(str(digits))
    if p.loss is not None:
        entries["loss"] = Entry(np.asarray(results.slot_values[p.loss]))
    for section, slots, values in sections(results):
        for s in slots:
            entries[f"{section}.{p.names[s]}"] = Entry(np.asarray(values[s]))
    return ResultSet(None, entries)


def read_results(path: str, fast: bool = True) -> ResultSet:
    """Read a results file and its sidecars. Raises GraphError (located in the file) on any
    problem. A file exactly as the writer writes it is read line by line (`fast`, below); any
    other goes through the graph files' loader."""
    # sidecars lie beside the file itself: a results file written through a link has them
    # beside the file the link points to
    try:
        folder = os.path.dirname(os.path.realpath(path))
    except ValueError:  # a NUL in the path: reading it says so, located
        folder = ""
    with read_locked(folder):  # the YAML and its sidecars as one writer committed them
        return _read_results(path, folder, fast)


def _read_results(path: str, folder: str, fast: bool) -> ResultSet:
    try:
        try:
            raw = reading.read_bytes(path, MAX_BYTES)  # the loader refuses more than the cap
        except FileNotFoundError:
            raise GraphError([Problem("no such results file", pos=(1, 1))]) from None
        except IsADirectoryError:
            raise GraphError([Problem("is a directory, expected a results file",
                                      pos=(1, 1))]) from None
        except OSError as e:
            raise GraphError([Problem(f"cannot read the results file: {e.strerror or e}",
                                      pos=(1, 1))]) from None
        entries = _written_entries(raw, folder) if fast else None
        if entries is not None:
            return ResultSet(path, entries)
        # the graph files' loader (safe, positions, no duplicate keys), with .nan/.inf allowed;
        # positions recorded as it reads: every entry's line is looked up
        document = load_bytes(raw, path, nonfinite=True, positions_now=True)
        return ResultSet(path, _entries(document.data, document.source, folder))
    except GraphError as e:  # every position is in this file
        raise GraphError(e.problems, SourceMap(path)) from None


# --- the fast path: a file exactly as the writer writes it ---------------------------------------
#
# Reading a golden through the YAML loader costs ~5 us per number (a 16x32 tensor: 3 ms), most of
# `graphrun check`'s time on small graphs. The writer's output is a fixed, line-oriented form:
# `key: value` lines at the top, `  name: value` lines under `values:` and `gradients:`, each
# value a number, a flow list of numbers (JSON, with YAML's .nan/.inf) or a sidecar mapping. A
# file in exactly that form is read line by line here, to the same entries and positions the
# loader gives (tests/test_outputs.py compares both on many files); anything else, even one
# comment or blank line, goes to the loader, which has the messages.

_NAME = r'(?:[A-Za-z_][A-Za-z0-9_./\-]*|"(?:[^"\\\n]|\\.)*")'
_TOP_ORDER = ("graphrun", "graph", "dtype", "digits", "loss", "values", "gradients")
# `key: value`, or a section's bare `key:`; never `key:value`, which YAML reads as one plain scalar
_TOP = lazy_re.compile(rf"({'|'.join(_TOP_ORDER)}):(?: (.+))?\Z")
_ITEM = lazy_re.compile(rf"  ({_NAME}): (.+)\Z")
_SUMMARY = r"(?:, (min|max|mean|norm): (-?(?:[0-9][0-9.e+-]*|\.inf|\.nan)))"
_SIDECAR_ENTRY = lazy_re.compile(rf"\{{file: ({_NAME}), shape: \[([0-9, ]*)\], "
                            rf"dtype: (float64|float32|int64|bool)((?:{_SUMMARY})*)\}}\Z")
_SUMMARY_ITEM = lazy_re.compile(_SUMMARY)
_SHAPE = lazy_re.compile(r"(?:(?:0|[1-9][0-9]{0,17})(?:, (?:0|[1-9][0-9]{0,17}))*)?\Z")
_INT64 = 2 ** 63
_NONFINITE = lazy_re.compile(r"(?<![\w.])(-?)\.(inf|nan)\b")
_CONTROL = lazy_re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]")  # anything but \n: the loader's business
_AMBIGUOUS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf", "~"}


def _written_entries(raw: bytes, folder: str) -> Optional[Dict[str, Entry]]:
    """The entries of a results file in the writer's exact form, or None for any other file."""
    if len(raw) > MAX_BYTES or not raw.startswith(b"graphrun: 1\n") or not raw.endswith(b"\n") \
            or _CONTROL.search(raw):
        return None
    try:
        lines = raw.decode("utf-8").split("\n")[:-1]
    except UnicodeDecodeError:
        return None
    float_dtype = np.float64
    entries: Dict[str, Entry] = {}
    section, last = None, -1
    for number, line in enumerate(lines, 1):
        if line.startswith("  "):
            match = _ITEM.match(line)
            if section is None or match is None:
                return None
            name = _name(match.group(1))
            key = f"{section}.{name}"
            if name is None or key in entries:
                return None  # a duplicate: the loader's error
            value = _value(match.group(2), float_dtype, folder)
            if value is None:
                return None
            entries[key] = Entry(value, number, 3)
            continue
        match = _TOP.match(line)
        if match is None or _TOP_ORDER.index(match.group(1)) <= last:
            return None  # in the writer's order, each once
        key, text = match.groups()
        last, section = _TOP_ORDER.index(key), None
        if key in SECTIONS:
            if text is None:
                section = key
            elif text != "{}":
                return None
        elif text is None:
            return None  # `loss:` alone is null: the loader's error
        elif key == "graphrun":
            if text != "1":
                return None
        elif key == "graph":
            name = _name(text) if re.fullmatch(_NAME, text) else None
            if name is None:
                return None
            entries["graph"] = Entry(name, number, 1)
        elif key == "dtype":
            if text not in ("float32", "mixed"):
                return None
            float_dtype = _FLOAT_DTYPES.get(text, np.float64)
        elif key == "digits":
            if not re.fullmatch(r"[1-9][0-9]?", text) or int(text) > 17:
                return None
            entries["digits"] = Entry(text, number, 1)
        else:  # loss
            value = _value(text, float_dtype, folder)
            if value is None:
                return None
            entries["loss"] = Entry(value, number, 1)
    return entries


def _name(text: str) -> Optional[str]:
    """A name as YAML reads it, for the forms where that is certain; None otherwise."""
    if text.startswith('"'):
        if "\\u" in text or "\\/" in text:
            return None  # escapes where YAML and JSON may part: the loader decides
        try:
            name = json.loads(text)
        except ValueError:
            return None
        return None if any(c in name for c in "\u0085\u2028\u2029") else name
    return None if text.lower() in _AMBIGUOUS else text


def _value(text: str, float_dtype, folder) -> Optional[np.ndarray]:
    """A number, a flow list of numbers or a sidecar entry, exactly as the loader path reads it;
    None for any text where JSON (which parses it here) and YAML 1.2 might part, errors included:
    the loader reads those."""
    if text.startswith("{"):
        return _sidecar_value(text, folder)
    if len(text) - len(text.lstrip("[")) > MAX_DEPTH:  # the depth: past it, the loader's error
        return None
    if "N" in text or "I" in text:  # JSON's own NaN and Infinity are strings to YAML
        return None
    nonfinite = 0
    if ".inf" in text or ".nan" in text:  # rare: the regex costs as much as the parse
        text, nonfinite = _NONFINITE.subn(lambda m: m.group(1) + (
            "Infinity" if m.group(2) == "inf" else "NaN"), text)
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if type(parsed) is float:  # the common case, kept cheap: a lone float is no integer
        if parsed - parsed != 0.0 and not nonfinite:
            return None  # a literal beyond float64 (1e400): the loader's error
        array = np.array(parsed)
    else:
        try:
            array = np.array(parsed)
        except (ValueError, OverflowError):
            return None  # ragged, or an integer beyond int64
        if array.dtype.kind not in "ifb" or array.size == 0:
            return None
        if array.dtype.kind != "b" and ("true" in text or "false" in text) and \
                _has_bool(parsed):
            return None  # [true, 2]: the loader's error
        # one reduction settles the common case: every number finite and below 2^63
        if array.dtype.kind == "f" and not np.abs(array).max() < _INT64:
            finite = np.isfinite(array)
            if np.count_nonzero(~finite) != nonfinite:
                return None  # a literal beyond float64 (1e400): the loader's error
            # numpy makes [1.5, 18446744073709551615] floats; YAML refuses the integer
            if not (np.abs(array[finite]) < _INT64).all() and _int_beyond_int64(text):
                return None
    if array.dtype.kind == "f":
        try:
            array = narrowed(array, float_dtype)
        except ValueError:
            return None  # beyond float32: the loader's path words it
    return array


def _int_beyond_int64(text: str) -> bool:
    """Whether the JSON `text` holds an integer literal outside int64 (asked only when a float
    array holds a number that big: rare)."""
    def checked(literal):
        if not -_INT64 <= int(literal) < _INT64:
            raise OverflowError
        return 0

    try:
        json.loads(text, parse_int=checked)
    except OverflowError:
        return True
    except ValueError:  # more digits than int() takes: beyond int64 too
        return True
    return False


def _sidecar_value(text: str, folder) -> Optional[np.ndarray]:
    """A sidecar entry in the writer's form, read as the loader path reads it; None otherwise."""
    match = _SIDECAR_ENTRY.match(text)
    if match is None:
        return None
    file = _name(match.group(1))
    dims = match.group(2)
    if file is None or not _SHAPE.match(dims):
        return None  # not the canonical `shape: [6, 4]`
    shape = [int(d) for d in dims.split(", ")] if dims else []
    seen = set()
    for field, number in _SUMMARY_ITEM.findall(match.group(4)):
        # a summary is not read, but YAML resolves it: a duplicate key, 1e400 or an integer
        # beyond int64 is the loader's error
        if field in seen:
            return None
        seen.add(field)
        if number not in (".inf", "-.inf", ".nan"):
            try:
                resolve_plain(number)
            except ValueError:
                return None
    try:
        return _sidecar({"file": file, "shape": shape, "dtype": match.group(3)}, folder)
    except ValueError:
        return None  # the loader's path words the problem, at its line


def narrowed(array: np.ndarray, float_dtype) -> np.ndarray:
    """A float64 array in `float_dtype`; ValueError when a finite number is beyond its range
    (cast, 1e39 would become inf in float32, and match an inf, or another number as big). Every
    reader of results files (results/training.py too) narrows through here."""
    if float_dtype is np.float64:
        return array
    with np.errstate(over="ignore"):
        out = array.astype(float_dtype)
    overflow = np.isfinite(array) & ~np.isfinite(out)
    if overflow.any():
        raise ValueError(f"number {float(array[overflow].flat[0])!r} is beyond the range of "
                         f"{np.dtype(float_dtype).name} (at most "
                         f"{float(np.finfo(float_dtype).max):.8g}), the dtype this results file "
                         "says")
    return out


def version_problem(data, source, what: str = "results file") -> Optional[Problem]:
    """Why `data` is not in this graphrun's results format (`graphrun: 1`), located at what was
    found; None when it is. (`true == 1` in Python: not a version.)"""
    if "graphrun" not in data:
        return Problem(f"not a graphrun {what}: expected 'graphrun: 1' (the format version) as "
                       "its first key; it has no 'graphrun' key", pos=(1, 1))
    version = data["graphrun"]
    if type(version) is int and version == 1:
        return None
    return Problem(f"not a graphrun {what} of this version: expected 'graphrun: 1' (the "
                   f"format version this graphrun reads); found {describe(version)}",
                   pos=source.locate(("graphrun",)))


def _entries(data, source, folder) -> Dict[str, Entry]:
    def keys(path):
        return source.locate(path, at_key=True)

    if type(data) is dict and "nodes" in data and not any(s in data for s in SECTIONS):
        raise GraphError([Problem("this is a graph file, not a results file (`graphrun check "
                                  "GRAPH --golden RESULTS` compares a graph with its golden; "
                                  "`graphrun run GRAPH -o RESULTS` writes its results)",
                                  pos=keys(("nodes",)))])
    problem = version_problem(data, source)
    if problem is not None:
        raise GraphError([problem])
    if "history" in data or "params" in data:  # a training results file (results/training)
        from .training import training_entries
        return training_entries(data, source, folder)
    problems = []
    dtype = data.get("dtype", "float64")
    if type(dtype) is not str or dtype not in ("float64", "float32", "mixed"):
        problems.append(Problem("'dtype' must be float32 or mixed (written only when not "
                                f"float64); found {describe(dtype)}",
                                pos=source.locate(("dtype",), False)))
        dtype = "float64"
    float_dtype = _FLOAT_DTYPES.get(dtype, np.float64)
    entries = {}
    if "graph" in data:
        if type(data["graph"]) is str:
            entries["graph"] = Entry(data["graph"], *keys(("graph",)))
        else:
            problems.append(Problem("'graph' must be the graph's name, a string; found "
                                    f"{describe(data['graph'])}", pos=source.locate(("graph",))))
    if "digits" in data:
        digits = data["digits"]
        if type(digits) is not int or not 1 <= digits <= 17:
            problems.append(Problem("'digits' must be a whole number from 1 to 17 (the "
                                    "significant digits the numbers were rounded to); found "
                                    f"{describe(digits)}", pos=source.locate(("digits",))))
        else:
            entries["digits"] = Entry(str(digits), *keys(("digits",)))
    if "loss" in data:
        entries["loss"] = _entry(data["loss"], ("loss",), source, folder, float_dtype, problems)
    for section in SECTIONS:
        body = data.get(section)
        if body is None:
            continue
        if type(body) is not dict:
            problems.append(Problem(f"'{section}' must be a mapping of names to tensors; found "
                                    f"{describe(body)}", pos=source.locate((section,))))
            continue
        for name, value in body.items():
            entries[f"{section}.{name}"] = _entry(value, (section, name), source, folder,
                                                  float_dtype, problems)
    if problems:
        raise GraphError(problems)
    return entries


def _entry(value, path, source, folder, float_dtype, problems) -> Entry:
    """An entry at its key's position (where a difference points); a problem with its value at
    the value, or at the element of a list that is to blame."""
    try:
        array = _sidecar(value, folder) if type(value) is dict else _array(value, float_dtype)
    except ValueError as e:
        where = tensor_problem(value) if type(value) is list else None
        if where is not None:
            problems.append(Problem(where[1], pos=source.locate(path + where[0])))
        else:
            problems.append(Problem(str(e), pos=source.locate(path)))
        array = np.zeros(0)
    return Entry(array, *source.locate(path, at_key=True))


def _array(value, float_dtype) -> np.ndarray:
    if type(value) is float:  # the common case, kept cheap
        return narrowed(np.array(value), float_dtype)
    try:
        array = np.array(value)
    except (ValueError, OverflowError):
        array = None
    if array is None or array.dtype.kind not in "ifb":
        raise ValueError("expected a number, true or false, or a rectangular nested list of "
                         f"them; found {describe(value)}")
    if array.dtype.kind != "b" and type(value) is list and _has_bool(value):
        # numpy would read [true, 2] as [1, 2]: a bool value (a comparison's) is never a number
        raise ValueError("expected numbers or booleans, not both in one tensor")
    return narrowed(array.astype(np.float64), float_dtype) if array.dtype.kind == "f" \
        else array


def tensor_problem(value: list, bools: bool = True) -> Optional[Tuple[tuple, str]]:
    """The first thing that keeps the nested list `value` from being a tensor of numbers (or,
    with `bools`, of booleans; never both): (its index path inside `value`, a message saying what
    was expected and what was found); None when there is none. Only asked once a list has been
    refused, so that the error points at the element to blame rather than at the whole value."""
    shape = []  # the first element's shape at each depth: what the others must match
    v = value
    while type(v) is list:
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    first = None  # "number" or "boolean": the first element's kind, which the others must share
    stack = [((), value)]
    while stack:
        path, v = stack.pop()
        depth = len(path)
        if type(v) is list:
            if depth >= len(shape) or shape[depth] != len(v) or not v and depth + 1 < len(shape):
                want = (f"a list of {shape[depth]} item{'s' if shape[depth] != 1 else ''}, as "
                        "the first at its depth" if depth < len(shape) else
                        "a number" + (" or a boolean" if bools else ""))
                return path, f"expected {want} (a tensor is a rectangular nested list); " \
                             f"found {describe(v)}"
            stack.extend((path + (i,), x) for i, x in reversed(list(enumerate(v))))
            continue
        if depth < len(shape):
            return path, (f"expected a list of {shape[depth]} "
                          f"item{'s' if shape[depth] != 1 else ''}, as the first at its depth (a "
                          f"tensor is a rectangular nested list); found {describe(v)}")
        kind = "boolean" if type(v) is bool else "number" if type(v) in (int, float) else None
        if kind is None or kind == "boolean" and not bools:
            return path, (f"expected a number{' or a boolean' if bools else ''}; found "
                          f"{describe(v)}")
        if first is None:
            first = kind
        elif kind != first:
            return path, (f"expected a {first}, as the tensor's first element is (a tensor "
                          f"holds numbers or booleans, not both); found {describe(v)}")
    return None


def _has_bool(value) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is list:
            stack.extend(v)
        elif type(v) is bool:
            return True
    return False


def _sidecar(entry: dict, folder: str) -> np.ndarray:
    """The array in the .npy file a sidecar entry names, checked against the entry's shape and
    dtype (and against the memory there is) before its data is read."""
    from ..frontend.graph import default_memory_budget

    file = entry.get("file")
    if type(file) is not str or not file.endswith(".npy"):
        raise ValueError("a tensor written as a mapping needs 'file: <name>.npy'")
    parts = file.replace("\\", "/").split("/")
    if os.path.isabs(file) or ".." in parts:
        raise ValueError(f"sidecar file {file!r} must be a path inside the results file's folder")
    shape, dtype = entry.get("shape"), entry.get("dtype")

    def expected(header):
        stored = header.dtype
        if stored.kind not in "ifb" or stored.itemsize > 8:
            raise ValueError(f"it holds {stored} data, not a numeric or bool array")
        if shape is not None and list(header.shape) != shape:
            raise ValueError(f"it holds shape {list(header.shape)}; the entry says {shape}")
        if dtype is not None and stored.newbyteorder("=").name != dtype:
            raise ValueError(f"it holds {stored.name}; the entry says {_shown(dtype)}")

    try:
        return reading.read_npy(os.path.join(folder, *parts), max_bytes=default_memory_budget(),
                                check=expected)
    except FileNotFoundError:
        raise ValueError(f"sidecar file {file} does not exist") from None
    except MemoryError:
        raise ValueError(f"sidecar file {file}: not enough memory to read it") from None
    except (OSError, ValueError) as e:
        words = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ValueError(f"cannot read sidecar file {file}: {words}") from None


def _shown(value) -> str:
    return repr(value) if type(value) is str else describe(value)
