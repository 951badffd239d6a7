"""results: results as named arrays, what `check` and `diff` compare.

Either straight from a run (`from_results`), or read back from a results file (`read_results`):
its YAML, plus the .npy sidecars its big-tensor entries name (read with numpy, never through
YAML). Each entry read from a file keeps the line and column it was written at, so a difference
can point at the golden file's line.

Entry names: `graph` (the graph's name, a string), `loss`, `values.<node>`, `gradients.<name>`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import yaml

from .errors import GraphError, Problem
from .load import SourceMap, resolve_plain
from .writer import sections

try:  # the C parser when PyYAML was built with libyaml
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader

SECTIONS = ("values", "gradients")
_NONFINITE = {".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan, ".inf": math.inf,
              ".Inf": math.inf, ".INF": math.inf, "+.inf": math.inf, "+.Inf": math.inf,
              "+.INF": math.inf, "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf}
_FLOAT_DTYPES = {"float64": np.float64, "float32": np.float32}
MAX_DEPTH = 66  # a results file: section, entry, and a tensor's rank (numpy caps it at 64)


@dataclass(frozen=True)
class Entry:
    value: object  # a numpy array, or a str for `graph`
    line: int = 0  # 1-based position in the file it was read from; 0 for fresh results
    col: int = 0


@dataclass(frozen=True)
class ResultSet:
    file: Optional[str]  # the results file read, or None for the results of a run
    entries: Dict[str, Entry]  # in file order


def from_results(results) -> ResultSet:
    """The entries of a run, in the order the writer writes them."""
    p = results.program
    entries = {"graph": Entry(p.name)}
    if p.loss is not None:
        entries["loss"] = Entry(np.asarray(results.values[p.loss]))
    for section, slots, values in sections(results):
        for s in slots:
            entries[f"{section}.{p.names[s]}"] = Entry(np.asarray(values[s]))
    return ResultSet(None, entries)


def read_results(path: str) -> ResultSet:
    """Read a results file and its sidecars. Raises GraphError (with `.source`) on any problem."""
    try:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8-sig")
        except FileNotFoundError:
            raise GraphError([Problem("no such results file", pos=(1, 1))]) from None
        except IsADirectoryError:
            raise GraphError([Problem("is a directory, expected a results file",
                                      pos=(1, 1))]) from None
        except (OSError, UnicodeDecodeError) as e:
            raise GraphError([Problem(f"cannot read the results file: {e}", pos=(1, 1))]) \
                from None
        data, keys = _parse(text)
        return ResultSet(path, _entries(data, keys, os.path.dirname(os.path.abspath(path))))
    except GraphError as e:
        e.source = SourceMap(path)
        raise


def _entries(data, keys, folder) -> Dict[str, Entry]:
    if type(data) is not dict or data.get("graphrun") != 1:
        raise GraphError([Problem("not a graphrun results file: expected a mapping that starts "
                                  "with 'graphrun: 1'", pos=keys.get(("graphrun",), (1, 1)))])
    problems = []
    float_dtype = _FLOAT_DTYPES.get(data.get("dtype"), np.float64)
    entries = {}
    if "graph" in data:
        entries["graph"] = Entry(str(data["graph"]), *keys[("graph",)])
    if "loss" in data:
        entries["loss"] = _entry(data["loss"], keys[("loss",)], folder, float_dtype, problems)
    for section in SECTIONS:
        body = data.get(section)
        if body is None:
            continue
        if type(body) is not dict:
            problems.append(Problem(f"'{section}' must be a mapping of names to tensors",
                                    pos=keys[(section,)]))
            continue
        for name, value in body.items():
            entries[f"{section}.{name}"] = _entry(value, keys[(section, name)], folder,
                                                  float_dtype, problems)
    if problems:
        raise GraphError(problems)
    return entries


def _entry(value, pos, folder, float_dtype, problems) -> Entry:
    try:
        array = _sidecar(value, folder) if type(value) is dict else _array(value, float_dtype)
    except ValueError as e:
        problems.append(Problem(str(e), pos=pos))
        array = np.zeros(0)
    return Entry(array, *pos)


def _array(value, float_dtype) -> np.ndarray:
    if type(value) is float:  # the common case, kept cheap
        return np.array(value, dtype=float_dtype)
    try:
        array = np.array(value)
    except (ValueError, OverflowError):
        array = None
    if array is None or array.dtype.kind not in "if":
        raise ValueError("expected a number or a rectangular nested list of numbers")
    return array.astype(float_dtype) if array.dtype.kind == "f" else array


def _sidecar(entry: dict, folder: str) -> np.ndarray:
    """The array in the .npy file a sidecar entry names, checked against the entry's shape and
    dtype."""
    file = entry.get("file")
    if type(file) is not str or not file.endswith(".npy"):
        raise ValueError("a tensor written as a mapping needs 'file: <name>.npy'")
    parts = file.replace("\\", "/").split("/")
    if os.path.isabs(file) or ".." in parts:
        raise ValueError(f"sidecar file {file!r} must be a path inside the results file's folder")
    try:
        array = np.load(os.path.join(folder, *parts), allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"sidecar file {file} does not exist") from None
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"cannot read sidecar file {file}: {e}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "if":
        raise ValueError(f"sidecar file {file} does not hold a numeric array")
    shape, dtype = entry.get("shape"), entry.get("dtype")
    if shape is not None and list(array.shape) != shape:
        raise ValueError(f"sidecar file {file} holds shape {list(array.shape)}; "
                         f"the entry says {shape}")
    if dtype is not None and array.dtype.name != dtype:
        raise ValueError(f"sidecar file {file} holds {array.dtype.name}; the entry says {dtype}")
    return array


def _parse(text: str) -> Tuple[object, Dict[tuple, Tuple[int, int]]]:
    """The document, and the (line, col) of every key in the top two levels. YAML 1.2 scalars
    (as graph files) plus .nan/.inf, which results may hold; no anchors, aliases or tags."""
    keys = {}
    stack = []  # frames: [container, path (None below the top two levels), pending key]
    root = None
    documents = 0
    loader = _Loader(text)
    try:
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.StreamEndEvent:
                break
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _problem("a results file holds one YAML document; found a second",
                                   event)
                continue
            if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                stack.pop()
                continue
            if kind not in (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent):
                if kind is yaml.AliasEvent:
                    raise _problem("aliases are not allowed in a results file", event)
                continue
            if event.anchor is not None or event.tag not in (None, "!"):
                raise _problem("anchors and tags are not allowed in a results file", event)
            scalar = kind is yaml.ScalarEvent
            value = _scalar(event) if scalar else {} if kind is yaml.MappingStartEvent else []
            path = None
            if not stack:
                root, path = value, ()
            else:
                frame = stack[-1]
                parent = frame[0]
                if type(parent) is list:
                    parent.append(value)
                elif frame[2] is _NO_KEY:
                    if not scalar:
                        raise _problem("a mapping key must be a plain name", event)
                    key = event.value
                    if key in parent:
                        raise _problem(f"duplicate key '{key}'", event)
                    if frame[1] is not None and len(frame[1]) < 2:
                        keys[frame[1] + (key,)] = _pos(event)
                    frame[2] = key
                    continue
                else:
                    parent[frame[2]] = value
                    if frame[1] is not None and len(frame[1]) < 2:
                        path = frame[1] + (frame[2],)
                    frame[2] = _NO_KEY
            if not scalar:
                if len(stack) >= MAX_DEPTH:
                    raise _problem(f"nesting is deeper than {MAX_DEPTH} levels", event)
                stack.append([value, path, _NO_KEY])
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise GraphError([Problem(f"invalid YAML: {e.problem or e.context}",
                                  pos=(mark.line + 1, mark.column + 1) if mark else (1, 1))]) \
            from None
    except yaml.YAMLError as e:
        raise GraphError([Problem(f"invalid YAML: {e}", pos=(1, 1))]) from None
    finally:
        loader.dispose()
    return root, keys


def _scalar(event):
    if event.style not in ("", None) or event.tag == "!":
        return event.value
    text = event.value
    if text in _NONFINITE:
        return _NONFINITE[text]
    try:
        return resolve_plain(text)
    except ValueError as e:
        raise _problem(str(e), event) from None


def _pos(event) -> Tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


def _problem(message: str, event) -> GraphError:
    return GraphError([Problem(message, pos=_pos(event))])


_NO_KEY = object()
