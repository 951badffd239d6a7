"""index: ops that pick elements: numpy's basic indexing (index, slice), integer indices (take,
take_along_axis; their gradients scatter-add, so repeated indices accumulate) and one_hot.

The attribute forms (docs/ops.md, "Indexing"), each entry one axis, from the first:
- index: [0, ":", "1:3", "::-1", "...", null]: an integer picks one element and drops the axis
  (negative counts from the end), a string "start:stop:step" slices (each part optional), "..."
  stands for the axes not named, null inserts a new axis of size 1. `x[0, 1:3]` is
  `index: [0, "1:3"]`; a single entry may be written alone (`index: 0`).
- slices: [[0, 2], null, [null, null, -1]]: the same slices as numbers, [start, stop] or
  [start, stop, step] (null: open), null for a whole axis; the axes keep their number.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import lazy_re
from .core import REQUIRED, Attr, OpError, Type, float_dtype, int64_arg, norm_axes, op, \
    shape_str
from .kinds import INDEX, INT, ONE_AXIS, OPTIONAL_ONE_AXIS, SLICES, choice, text
from .samples import ANY, indices, labels, sample

_SLICE = lazy_re.compile(r"\s*(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(-?\d+)?\s*)?")
_INTEGER = lazy_re.compile(r"\s*-?\d+\s*")


def _entry(item):
    """One written entry -> a numpy index entry (int, slice, Ellipsis or None)."""
    if item is None or type(item) is int:
        return item
    if item.strip() == "...":
        return Ellipsis
    if item.isascii() and _INTEGER.fullmatch(item):
        return int(item)
    match = _SLICE.fullmatch(item) if item.isascii() else None
    if match is None:
        raise OpError(f"index: {item!r} is not an index entry (expected an integer, "
                      "'start:stop:step' with any part left out, '...' or null)", attr="index")
    start, stop, step = (None if m is None else int(m) for m in match.groups())
    return slice(start, stop, step)


@functools.lru_cache(maxsize=1024)
def parse_index(index) -> tuple:
    """The attribute `index` (normalised: a tuple, or one entry) -> a numpy index tuple."""
    items = index if type(index) is tuple else (index,)
    return tuple(_entry(item) for item in items)


def _slices_index(slices) -> tuple:
    out = []
    for axis, entry in enumerate(slices):
        if entry is None:
            out.append(slice(None))
        elif len(entry) in (2, 3):
            out.append(slice(*entry))
        else:
            raise OpError(f"slices: entry {axis} is {text(entry)}; expected [start, stop], "
                          "[start, stop, step] or null", attr="slices")
    return tuple(out)


def _probe(shape):
    """An array of this shape that costs nothing (every element is the same byte): indexing it
    gives the result's shape without allocating the argument."""
    return np.broadcast_to(np.zeros((), np.int8), shape)


def _indexed_shape(name, shape, index, attr):
    """The shape x[index] has, with graphrun's checks first: numpy's errors in graphrun's words,
    and an empty result refused (no value in a graph has a size-0 axis)."""
    if sum(1 for i in index if i is Ellipsis) > 1:
        raise OpError(f"{name}: {attr} has more than one '...'", attr=attr)
    used = [i for i in index if i is not None and i is not Ellipsis]
    if len(used) > len(shape):
        raise OpError(f"{name}: {attr} {text(_written(index))} indexes {len(used)} axes of a "
                      f"{len(shape)}-D argument {shape_str(shape)}", attr=attr)
    # which axis each entry names: entries before '...' from the front, after it from the back
    split = next((k for k, i in enumerate(index) if i is Ellipsis), len(index))
    front = [i for i in index[:split] if i is not None]
    back = [i for i in index[split + 1:] if i is not None]
    axes = list(enumerate(front)) + [(len(shape) - len(back) + k, i) for k, i in enumerate(back)]
    for axis, item in axes:
        size = shape[axis]
        if type(item) is int and not -size <= item < size:
            raise OpError(f"{name}: index {item} is out of range for axis {axis} of "
                          f"{shape_str(shape)} (expected {-size}..{size - 1})", attr=attr)
        if type(item) is slice:
            if item.step == 0:
                raise OpError(f"{name}: a slice step of 0 at axis {axis}", attr=attr)
            if len(range(*item.indices(size))) == 0:
                raise OpError(f"{name}: {_slice_text(item)} selects nothing along axis {axis} "
                              f"of {shape_str(shape)}", attr=attr)
    try:
        return _probe(shape)[index].shape
    except IndexError as e:  # a case the checks above do not word: still the user's index
        raise OpError(f"{name}: {attr} {text(_written(index))} does not index "
                      f"{shape_str(shape)}: {e}", attr=attr) from None


def _slice_text(s: slice) -> str:
    parts = ["" if v is None else str(v) for v in (s.start, s.stop, s.step)]
    return "'" + ":".join(parts if s.step is not None else parts[:2]) + "'"


def _written(index):
    return tuple("..." if i is Ellipsis else _slice_text(i)[1:-1] if type(i) is slice else i
                 for i in index)


def _index_infer(name, x, index):
    dtype = float_dtype([x], name)
    return Type(_indexed_shape(name, x.shape, parse_index(index), "index"), dtype)


def _scatter(g, x, index):
    """The VJP of basic indexing: g put back where its elements came from, zeros elsewhere (basic
    indexing never picks an element twice, so assignment is enough)."""
    out = np.zeros(np.shape(x), np.result_type(g))
    out[index] = g
    return out


op("index", doc="x[index], numpy's basic indexing: integers, slices, '...', new axes",
   forward=lambda x, index: np.asarray(x)[parse_index(index)],
   vjps=(lambda g, ans, x, index: _scatter(g, x, parse_index(index)),),
   attrs={"index": Attr(INDEX, default=REQUIRED,
                        doc="one entry per axis: an integer, \"start:stop:step\", \"...\" or "
                            "null (a new axis); x[0, 1:3] is [0, \"1:3\"]")},
   infer=_index_infer, local=("{g} put back at the indexed places, 0 elsewhere",), flows=True,
   samples=[sample((4, 3), attrs=dict(index=0)), sample((4, 3), attrs=dict(index=[-1, "1:3"])),
            sample((4, 3), attrs=dict(index="::2")),
            sample((2, 3, 4), attrs=dict(index=["...", "::-2"])),
            sample((2, 3, 4), attrs=dict(index=[1, None, ":", -2])),
            sample((5,), attrs=dict(index=["-4:-1:2"])),
            sample((3, 4), attrs=dict(index=[":", "1"]))])


def _slice_infer(name, x, slices):
    dtype = float_dtype([x], name)
    index = _slices_index(slices)
    if len(index) > len(x.shape):
        raise OpError(f"{name}: slices has {len(index)} entries for a {len(x.shape)}-D argument "
                      f"{shape_str(x.shape)}", attr="slices")
    return Type(_indexed_shape(name, x.shape, index, "slices"), dtype)


op("slice", doc="x[start:stop:step, ...] with the slices written as numbers; no axis is dropped",
   forward=lambda x, slices: np.asarray(x)[_slices_index(slices)],
   vjps=(lambda g, ans, x, slices: _scatter(g, x, _slices_index(slices)),),
   attrs={"slices": Attr(SLICES, default=REQUIRED,
                         doc="one [start, stop] or [start, stop, step] per axis from the first "
                             "(null: open), or null for a whole axis")},
   infer=_slice_infer, local=("{g} put back at the sliced places, 0 elsewhere",), flows=True,
   samples=[sample((4, 3), attrs=dict(slices=[[1, 3]])),
            sample((4, 3), attrs=dict(slices=[None, [None, None, -1]])),
            sample((2, 3, 4), attrs=dict(slices=[[0, 1], [-2, None], [None, None, 2]])),
            sample((5,), attrs=dict(slices=[[-1, 0, -2]]))])


# ---------------------------------------------------------------------------------------------
# integer indices

def _check_range(indices, size, what="index", arg=1):
    """Indices must lie in -size..size-1 (numpy's rule; found when the graph runs)."""
    bad = (indices < -size) | (indices >= size)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" (at {list(at)} of the indices)" if indices.ndim else ""
        raise OpError(f"{what} {int(indices[at])}{where} is out of range for an axis of size "
                      f"{size} (expected {-size}..{size - 1})", arg=arg)


def _take_infer(name, x, idx, axis):
    dtype = float_dtype([x], name)
    int64_arg([x, idx], 1, name, "indices")
    if axis is None:
        return Type(idx.shape, dtype)
    (ax,) = norm_axes(axis, len(x.shape), name)
    return Type(x.shape[:ax] + idx.shape + x.shape[ax + 1:], dtype)


def _take(x, idx, axis):
    x = np.asarray(x)
    _check_range(idx, x.size if axis is None else x.shape[axis])
    return np.take(x, idx, axis=axis)


def _take_vjp(g, ans, x, idx, axis):
    # scatter-add: an index that appears twice receives both gradients (np.add.at, unbuffered)
    out = np.zeros(np.shape(x), np.result_type(g))
    if axis is None:
        np.add.at(out.reshape(-1), idx, g)
    else:
        np.add.at(out, (slice(None),) * (axis % out.ndim) + (idx,), g)
    return out


op("take", doc="the elements of x at integer indices along axis (numpy's take; PyTorch's "
               "index_select)",
   forward=_take, vjps=(_take_vjp, None), infer=_take_infer,
   attrs={"axis": Attr(OPTIONAL_ONE_AXIS, default=None,
                       doc="the axis the indices pick along; null: x flattened (numpy's "
                           "default)")},
   local=("{g} added at each index (repeats accumulate)", "none (indices)"),
   samples=[sample((4, 3), (2,), domain=[ANY, indices(0, -1)], attrs=dict(axis=0)),
            sample((2, 5), (2, 2), domain=[ANY, indices(1, 1, 4, 0)], attrs=dict(axis=1)),
            sample((2, 3, 2), (3,), domain=[ANY, indices(2, 0, 2)], attrs=dict(axis=-2)),
            sample((3,), (), domain=[ANY, indices(2)], attrs=dict(axis=0)),
            sample((2, 3), (4,), domain=[ANY, indices(5, 0, 5, -6)]),
            sample((2, 3), (2,), domain=[ANY, indices(1, 1)], attrs=dict(axis=None))])


def _along_index(shape, idx, axis):
    """numpy's take_along_axis as a fancy index: idx along `axis`, aranges along the others
    (each broadcast against idx)."""
    out = []
    for d in range(len(shape)):
        if d == axis:
            out.append(idx)
        else:
            view = [1] * len(shape)
            view[d] = shape[d]
            out.append(np.arange(shape[d]).reshape(view))
    return tuple(out)


def _take_along_axis_infer(name, x, idx, axis):
    dtype = float_dtype([x], name)
    int64_arg([x, idx], 1, name, "indices")
    if len(idx.shape) != len(x.shape):
        raise OpError(f"{name} needs indices with as many axes as x: x is {shape_str(x.shape)}, "
                      f"the indices {shape_str(idx.shape)} (add axes with expand_dims)", arg=1)
    (ax,) = norm_axes(axis, len(x.shape), name)
    shape = []
    for d, (n, k) in enumerate(zip(x.shape, idx.shape)):
        if d == ax:
            shape.append(k)
        elif n == k or 1 in (n, k):
            shape.append(max(n, k))
        else:
            raise OpError(f"shape mismatch: {name}: the indices {shape_str(idx.shape)} do not "
                          f"broadcast against x {shape_str(x.shape)} at axis {d}", arg=1)
    return Type(tuple(shape), dtype)


def _take_along_axis(x, idx, axis):
    x = np.asarray(x)
    ax = axis % x.ndim
    _check_range(idx, x.shape[ax])
    return x[_along_index(x.shape, idx, ax)]


def _take_along_axis_vjp(g, ans, x, idx, axis):
    out = np.zeros(np.shape(x), np.result_type(g))
    np.add.at(out, _along_index(out.shape, idx, axis % out.ndim), g)
    return out


op("take_along_axis", doc="x picked along axis by indices of x's rank (numpy's "
                          "take_along_axis; PyTorch's gather, with broadcasting)",
   forward=_take_along_axis, vjps=(_take_along_axis_vjp, None), infer=_take_along_axis_infer,
   attrs={"axis": Attr(ONE_AXIS, default=REQUIRED, doc="the axis the indices pick along (no "
                                                        "default, as numpy and torch.gather)")},
   local=("{g} added at each index (repeats accumulate)", "none (indices)"),
   samples=[sample((3, 4), (3, 1), domain=[ANY, indices(0, 3, -1)], attrs=dict(axis=1)),
            sample((3, 4), (3, 2), domain=[ANY, indices(1, 1, 0, 2, 3, 3)], attrs=dict(axis=-1)),
            sample((3, 4), (2, 4), domain=[ANY, indices(0, 2, 1, 1, 2, 2, 0, 0)],
                   attrs=dict(axis=0)),
            sample((1, 4), (3, 2), domain=[ANY, indices(0, 1, 2, 3, 3, 3)], attrs=dict(axis=1)),
            sample((2, 3, 2), (2, 1, 2), domain=[ANY, indices(0, 2, 1, 1)], attrs=dict(axis=1))])


def _one_hot_infer(name, labels, classes, dtype):
    int64_arg([labels], 0, name, "class labels")
    if classes < 1:
        raise OpError(f"{name}: classes must be at least 1; found {classes}", attr="classes")
    return Type(labels.shape + (classes,), np.dtype(dtype))


def _one_hot(labels, classes, dtype):
    bad = (labels < 0) | (labels >= classes)
    if bad.any():  # PyTorch refuses negative labels too
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {list(at)}" if labels.ndim else ""
        raise OpError(f"label {int(labels[at])}{where} is out of range for {classes} classes "
                      f"(expected 0..{classes - 1})", arg=0)
    return (labels[..., None] == np.arange(classes)).astype(dtype)


op("one_hot", doc="1 at each label's class, 0 elsewhere: labels (...) -> (..., classes) "
                  "floats",
   forward=_one_hot, vjps=(None,), infer=_one_hot_infer,
   attrs={"classes": Attr(INT, default=REQUIRED, doc="the number of classes (the new last axis)"),
          "dtype": Attr(choice("float64", "float32"), default="float64",
                        doc="the result's float type (PyTorch gives int64; graphrun's arithmetic "
                            "takes floats)")},
   local=("none (labels)",),
   samples=[sample((4,), domain=labels(0, 2, 1, 2), attrs=dict(classes=3)),
            sample((2, 2), domain=labels(0, 1, 1, 0), attrs=dict(classes=2, dtype="float32")),
            sample((), domain=labels(4), attrs=dict(classes=5, dtype="float64"))])
