"""writer: Results -> results YAML text (+ .npy sidecars for big tensors).

What is written is what the graph's `outputs:` selects (Program.outputs, frontend/outputs.py;
by default every node's value and every gradient), in slot order, rounded to `digits` significant
digits when the selection says so (the file then says `digits: N`).

The text is emitted directly (not through yaml.dump): keys in program order, tensors as flow lists,
floats as the shortest text that round-trips, written so that both YAML 1.2 readers and PyYAML's
YAML 1.1 `safe_load` read back the same numbers (PyYAML needs a '.' in `1.0e-05`).

A tensor with more than `threshold` elements, written to a file, goes to a .npy sidecar in the
folder `<results file without .yaml>.arrays/`, named by its content (e.g.
`out/mlp.results.arrays/values.h.1f0c9b1d3e5a7c42.npy`); its YAML entry holds the file name,
shape, dtype and summary numbers (min, max, mean, norm) so a text diff still says something, and
`graphrun check`/`diff` compare the full arrays. How the files are written (atomically, the YAML
and its sidecars together, never over an input) is files.py's job.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .. import lazy_re
from ..engine.values import Results
from .. import blas
from . import SIDECAR_THRESHOLD, files  # noqa: F401 (the threshold: the CLI's default)

FORMAT_VERSION = 1

_PLAIN = lazy_re.compile(r"[A-Za-z_][A-Za-z0-9_./\-]*\Z")
# words some YAML reader would take for something other than a string
_AMBIGUOUS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf"}
_LONGEST_AMBIGUOUS = max(map(len, _AMBIGUOUS))  # a longer name is none of them, in any case
_F64 = np.dtype(np.float64)


def sections(results: Results) -> List[Tuple[str, Iterable[int], Sequence]]:
    """(section, slots, slot -> value) of the results file after the loss: by default the values
    of the nodes in program order, then the gradients of the params and of the nodes; a graph's
    `outputs:` (Program.outputs, frontend/outputs.py) selects fewer or others, always in slot
    order. The one definition of what a results file holds, shared by the writer and
    `results.from_results`. The slots are to be iterated once (a million slots: no lists)."""
    p = results.program
    selection = p.outputs
    if selection is None:
        # the nodes' slots are the last ones, in program order (Program's numbering)
        node_slots = range(len(p.names) - len(p.steps), len(p.names))
        # bool and int64 nodes (comparisons, argmax) and forward-only ops have no gradient
        differentiable = p.differentiable
        value_slots = node_slots
        grad_slots = chain(p.params, (s for s in node_slots if differentiable[s]))
    else:
        value_slots, grad_slots = selection.values, selection.gradients
    out = [("values", value_slots, results.slot_values)]
    if results.slot_grads is not None:
        out.append(("gradients", grad_slots, results.slot_grads))
    return out


def digits_of(results: Results) -> Optional[int]:
    """The significant digits a results file is rounded to (`outputs: {digits: N}`), or None."""
    selection = results.program.outputs
    return None if selection is None else selection.digits


def round_significant(value, digits: int):
    """`value` rounded to `digits` significant digits (what `outputs: {digits: N}` writes),
    through decimal text so that the number written is exactly the rounded decimal: a float
    for a Python float, else an array of the same dtype. Integers are left as they are."""
    if type(value) is float:
        return float(f"{value:.{digits}g}")
    array = np.asarray(value)
    if array.dtype.kind != "f":
        return value
    flat = [float(f"{x:.{digits}g}") for x in array.astype(np.float64).ravel().tolist()]
    return np.array(flat, dtype=np.float64).reshape(array.shape).astype(array.dtype)


def results_text(results: Results) -> str:
    """The whole results file with every tensor inline (what `graphrun run` prints)."""
    return render(results)[0]


def render(results: Results, threshold: Optional[int] = None,
           folder: str = "") -> Tuple[str, Dict[str, np.ndarray]]:
    """The results text and the sidecars it refers to ({file name under `folder`: array}).
    With `threshold` None every tensor is inline."""
    sidecars: Dict[str, np.ndarray] = {}
    return "".join(pieces(results, threshold, folder, sidecars)), sidecars


def write_text(results: Results, stream) -> None:
    """The results text with every tensor inline, written to `stream` piece by piece: what
    `graphrun run` prints. A tensor of any size costs a few MiB of text at a time, not ~100
    bytes per element at once (2^27 elements took 16.5 GB as one string; issue 17)."""
    for piece in pieces(results):
        stream.write(piece)


def pieces(results: Results, threshold: Optional[int] = None, folder: str = "",
           sidecars: Optional[Dict[str, np.ndarray]] = None) -> Iterator[str]:
    """The results text in pieces (4,096 lines, or a part of a big tensor's line), filling
    `sidecars` as render says."""
    p = results.program
    lines = [f"graphrun: {FORMAT_VERSION}", f"graph: {quote(p.name)}"]
    dtype = float_dtype(results)
    if dtype != "float64":
        lines.append(f"dtype: {dtype}")
    digits = digits_of(results)
    if digits is not None:
        lines.append(f"digits: {digits}")

    def rounded(value):
        return value if digits is None else round_significant(value, digits)

    if p.loss is not None:
        lines.append(f"loss: {tensor_text(rounded(results.slot_values[p.loss]))}")
    sidecars = {} if sidecars is None else sidecars
    # id(array) -> (array, digest, summary): one array can be written under two names (add's
    # VJP hands its gradient on to each argument, so the MLP's a1 and z1 share one): hashed once
    known = {}

    def text(section, name, value):
        if type(value) is float or np.ndim(value) == 0 or np.size(value) <= threshold:
            return tensor_text(value)
        array = np.ascontiguousarray(value)
        if id(array) not in known:
            # a big array's summary is computed in a thread while its digest is computed here:
            # both release the GIL, so two cores take half the time (the MLP's: ~20 of ~110 ms)
            summary = files.InThread(summary_fields, array) if array.size >= _BESIDE else None
            digest = files.npy_digest(array)
            known[id(array)] = array, digest, summary.result() if summary \
                else summary_fields(array)
        _, digest, summary = known[id(array)]
        file = files.sidecar_name(f"{section}.{name}", array, digest)
        sidecars[file] = array
        return sidecar_entry(f"{folder}/{file}" if folder else file, array, summary)

    names = p.names
    for section, slots, values in sections(results):
        lines.append(f"{section}:")
        empty = True
        for s in slots:
            empty = False
            value = values[s] if digits is None else rounded(values[s])
            if type(value) is float and value - value == 0.0:  # finite: a scalar graph's values
                entry = repr(value)  # (_repr_float64 inline: a call per value is a tenth of this)
                if "e" in entry and "." not in entry:
                    entry = _repr_float64(value)
            elif threshold is None:
                if np.size(value) > _PIECE:  # its text goes out as it is made
                    yield "\n".join(lines) + "\n"
                    lines.clear()
                    yield f"  {quote(names[s])}: "
                    yield from tensor_pieces(value)
                    yield "\n"
                    continue
                entry = tensor_text(value)
            else:
                entry = text(section, p.names[s], value)
            lines.append(f"  {quote(names[s])}: {entry}")
            if len(lines) >= 4096:  # joined as it goes: millions of line objects at once would
                yield "\n".join(lines) + "\n"  # be several times the text's memory
                lines.clear()
        if empty:  # nothing was flushed since the header
            lines[-1] = f"{section}: {{}}"
    if lines:
        yield "\n".join(lines) + "\n"


_PIECE = 1 << 16  # elements of a tensor's text made at a time (a few MiB)


def float_dtype(results: Results) -> str:
    """The precision of the numbers written, for the results' `dtype` key (docs/format.md):
    "float64" (the default, then not written), "float32", or "mixed" when a float32 graph meets
    a float64 leaf and numpy promotes part of it."""
    p = results.program
    dtypes = {t.dtype for t, d in zip(p.types, p.differentiable) if d}
    floats = {d for d in dtypes if d is not None and d.kind == "f"}
    if np.dtype(np.float32) not in floats:
        return "float64"
    return "float32" if len(floats) == 1 else "mixed"


def sidecar_entry(file: str, array: np.ndarray, summary: Optional[List[str]] = None) -> str:
    """`{file: ..., shape: [...], dtype: ..., min: ..., max: ..., mean: ..., norm: ...}`
    (`summary`: summary_fields(array), when already computed)."""
    fields = [f"file: {quote(file)}", f"shape: [{', '.join(map(str, array.shape))}]",
              f"dtype: {array.dtype.name}"]
    return "{" + ", ".join(fields + (summary_fields(array) if summary is None else summary)) + "}"


def summary_fields(array: np.ndarray) -> List[str]:
    """The summary numbers of a sidecar's entry (none for an empty array)."""
    if not array.size:
        return []
    wide = array.astype(np.float64, copy=False)
    with np.errstate(all="ignore"), blas.one_thread():
        return [f"min: {tensor_text(array.min())}", f"max: {tensor_text(array.max())}",
                f"mean: {float_text(np.mean(wide))}",
                f"norm: {float_text(np.sqrt(np.dot(wide.ravel(), wide.ravel())))}"]


_BESIDE = 1 << 16  # elements from which a summary pays for its thread (~0.1 ms to start)


def write_results(path: str, results: Results, threshold: int = SIDECAR_THRESHOLD) -> None:
    """Write the results file `path` and its sidecars (tensors of more than `threshold`
    elements); files.write_results says how nothing is lost on the way."""
    def render_pieces(folder, sidecars):  # the text in pieces, encoded into the file as they
        return pieces(results, None if folder is None else threshold, folder or "",  # are made
                      sidecars)
    files.write_results(path, render_pieces)


def quote(text: str) -> str:
    """A YAML scalar for a string: plain when no reader could misread it, else double-quoted."""
    # an ASCII identifier (most names) fits _PLAIN: tested first, as it is much faster
    if (text.isascii() and text.isidentifier() or _PLAIN.match(text)) \
            and (len(text) > _LONGEST_AMBIGUOUS or text.lower() not in _AMBIGUOUS):
        return text
    out = json.dumps(text, ensure_ascii=False)
    if out.isprintable():
        return out
    # what JSON leaves raw and a reader must not meet raw: line breaks to YAML (U+0085, U+2028,
    # U+2029), DEL, C1, U+FEFF, U+FFFE, bidi controls; a lone surrogate (a file name's byte that
    # is not UTF-8) has no escape YAML reads, so it reads back as U+FFFD
    return _UNPRINTABLE.sub(_escaped, out)


_UNPRINTABLE = lazy_re.compile(r"[^ -~]")  # every character but printable ASCII: _escaped decides


def _escaped(match) -> str:
    c = match.group()
    if "\ud800" <= c <= "\udfff":
        return "\ufffd"
    if c.isprintable():
        return c
    return f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"


def float_text(x, dtype=np.float64) -> str:
    """The shortest text that reads back as exactly x, in x's own precision."""
    x = dtype.type(x) if hasattr(dtype, "type") else np.float64(x)
    if not np.isfinite(x):
        return ".nan" if np.isnan(x) else (".inf" if x > 0 else "-.inf")
    text = repr(float(x)) if x.dtype == np.float64 else str(x)
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    elif "." not in text and "e" not in text:
        text += ".0"
    return text


def tensor_text(value) -> str:
    """A number, or nested flow lists for a tensor."""
    kind = type(value)
    if kind is float or kind is np.float64 or \
            kind is np.ndarray and value.ndim == 0 and value.dtype == _F64:  # the common case, fast
        x = float(value)
        if x - x == 0.0:  # finite
            return _repr_float64(x)
    array = np.asarray(value)
    if array.dtype.kind == "b":  # comparisons: YAML's own booleans
        return _nested(array, _bool_text) if array.ndim else _bool_text(array)
    if array.dtype.kind in "iu":
        return _nested(array, str) if array.ndim else str(int(array))
    if array.ndim == 0:
        return float_text(array, array.dtype)
    return _nested(array, _format(array))


def tensor_pieces(value) -> Iterator[str]:
    """tensor_text(value), in pieces of at most _PIECE elements each."""
    array = np.asarray(value)
    if array.ndim == 0 or array.size <= _PIECE:
        yield tensor_text(array)
        return
    yield from _nested_pieces(array, _format(array))


def _format(array):
    """The text of one element of `array` (of ndim >= 1)."""
    kind, dtype = array.dtype.kind, array.dtype
    if kind == "b":
        return _bool_text
    if kind in "iu":
        return str
    if dtype == np.float64 and np.isfinite(array).all():
        return _repr_float64

    def fmt(x):
        return float_text(x, dtype)
    return fmt


def _bool_text(x) -> str:
    return "true" if x else "false"


def _repr_float64(x):
    text = repr(x)
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}.0e{exponent}"
    return text


def _nested(array, fmt) -> str:
    if array.ndim == 1:
        items = array.tolist() if fmt is _repr_float64 else array
        return "[" + ", ".join(map(fmt, items)) + "]"
    return "[" + ", ".join(_nested(sub, fmt) for sub in array) + "]"


def _nested_pieces(array, fmt) -> Iterator[str]:
    """_nested(array, fmt) in pieces of at most _PIECE elements: the same text, joined."""
    if array.size <= _PIECE:
        yield _nested(array, fmt)
        return
    yield "["
    if array.ndim == 1:
        for start in range(0, len(array), _PIECE):
            part = array[start:start + _PIECE]
            items = part.tolist() if fmt is _repr_float64 else part
            yield (", " if start else "") + ", ".join(map(fmt, items))
    else:
        for i, sub in enumerate(array):
            if i:
                yield ", "
            yield from _nested_pieces(sub, fmt)
    yield "]"
