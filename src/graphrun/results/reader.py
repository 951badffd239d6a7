"""results: results as named arrays, what `check` and `diff` compare.

Either straight from a run (`from_results`), or read back from a results file (`read_results`):
its YAML, plus the .npy sidecars its big-tensor entries name (read with numpy, never through
YAML). Each entry read from a file keeps the line and column it was written at, so a difference
can point at the golden file's line.

Entry names: `graph` (the graph's name, a string), `loss`, `values.<node>`, `gradients.<name>`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from ..errors import GraphError, Problem
from ..frontend.load import SourceMap, load_bytes
from .writer import sections

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


def from_results(results) -> ResultSet:
    """The entries of a run, in the order the writer writes them."""
    p = results.program
    entries = {"graph": Entry(p.name)}
    if p.loss is not None:
        entries["loss"] = Entry(np.asarray(results.slot_values[p.loss]))
    for section, slots, values in sections(results):
        for s in slots:
            entries[f"{section}.{p.names[s]}"] = Entry(np.asarray(values[s]))
    return ResultSet(None, entries)


def read_results(path: str) -> ResultSet:
    """Read a results file and its sidecars. Raises GraphError (located in the file) on any
    problem."""
    try:
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise GraphError([Problem("no such results file", pos=(1, 1))]) from None
        except IsADirectoryError:
            raise GraphError([Problem("is a directory, expected a results file",
                                      pos=(1, 1))]) from None
        except OSError as e:
            raise GraphError([Problem(f"cannot read the results file: {e}", pos=(1, 1))]) \
                from None
        # the graph files' loader (safe, positions, no duplicate keys), with .nan/.inf allowed;
        # positions recorded as it reads: every entry's line is looked up
        document = load_bytes(raw, path, nonfinite=True, positions_now=True)
        # sidecars lie beside the file itself: a results file written through a link has them
        # beside the file the link points to
        return ResultSet(path, _entries(document.data, document.source,
                                        os.path.dirname(os.path.realpath(path))))
    except GraphError as e:  # every position is in this file
        raise GraphError(e.problems, SourceMap(path)) from None


def _entries(data, source, folder) -> Dict[str, Entry]:
    def keys(path):
        return source.locate(path, at_key=True)

    if data.get("graphrun") != 1:
        raise GraphError([Problem("not a graphrun results file: expected a mapping that starts "
                                  "with 'graphrun: 1'", pos=keys(("graphrun",)))])
    if "history" in data or "params" in data:  # a training results file (results/training)
        from .training import training_entries
        return training_entries(data, source, folder)
    problems = []
    float_dtype = _FLOAT_DTYPES.get(data.get("dtype"), np.float64)
    entries = {}
    if "graph" in data:
        entries["graph"] = Entry(str(data["graph"]), *keys(("graph",)))
    if "loss" in data:
        entries["loss"] = _entry(data["loss"], keys(("loss",)), folder, float_dtype, problems)
    for section in SECTIONS:
        body = data.get(section)
        if body is None:
            continue
        if type(body) is not dict:
            problems.append(Problem(f"'{section}' must be a mapping of names to tensors",
                                    pos=keys((section,))))
            continue
        for name, value in body.items():
            entries[f"{section}.{name}"] = _entry(value, keys((section, name)), folder,
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
