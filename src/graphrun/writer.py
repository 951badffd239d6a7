"""writer: Results -> results YAML text, and the atomic write of any text file.

The text is emitted directly (not through yaml.dump): keys in program order, tensors as flow lists,
floats as the shortest text that round-trips, written so that both YAML 1.2 readers and PyYAML's
YAML 1.1 `safe_load` read back the same numbers (PyYAML needs a '.' in `1.0e-05`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile

import numpy as np

from .executor import Results

FORMAT_VERSION = 1

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
# words some YAML reader would take for something other than a string
_AMBIGUOUS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf"}


def results_text(results: Results) -> str:
    p = results.program
    lines = [f"graphrun: {FORMAT_VERSION}", f"graph: {quote(p.name)}"]
    if p.loss is not None:
        lines.append(f"loss: {tensor_text(results.values[p.loss])}")
    node_slots = [s.out for s in p.steps]
    lines.append("values:" if node_slots else "values: {}")
    lines.extend(f"  {quote(p.names[s])}: {tensor_text(results.values[s])}" for s in node_slots)
    if results.grads is not None:
        lines.append("gradients:")
        for s in list(p.params) + node_slots:
            lines.append(f"  {quote(p.names[s])}: {tensor_text(results.grads[s])}")
    return "\n".join(lines) + "\n"


def quote(text: str) -> str:
    """A YAML scalar for a string: plain when no reader could misread it, else double-quoted."""
    if _PLAIN.match(text) and text.lower() not in _AMBIGUOUS:
        return text
    out = json.dumps(text, ensure_ascii=False)
    # YAML treats these as line breaks even inside quotes; JSON leaves them raw
    return out.replace("\u0085", "\\N").replace("\u2028", "\\L").replace("\u2029", "\\P")


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
    array = np.asarray(value)
    if array.dtype.kind in "iub":
        return _nested(array, str) if array.ndim else str(int(array))
    dtype = array.dtype
    if array.ndim == 0:
        return float_text(array, dtype)
    if dtype == np.float64 and np.isfinite(array).all():
        fmt = _repr_float64
    else:
        def fmt(x):
            return float_text(x, dtype)
    return _nested(array, fmt)


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


def write_atomic(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, renamed into place: a
    failure leaves the previous file byte-identical and no temporary file behind."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the output folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
