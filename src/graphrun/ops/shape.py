"""shape: ops that move elements around without changing them (transpose, reshape, concat,
expand_dims, squeeze, stack, broadcast_to, flatten)."""

from __future__ import annotations

import math

import numpy as np

from .core import REQUIRED, Attr, OpError, Type, float_dtype, norm_axes, op, shape_str
from .kinds import AXIS, ONE_AXIS, PERMUTATION, SHAPE
from .samples import sample


def _transpose_infer(name, x, axes):
    dtype = float_dtype([x], name)
    n = len(x.shape)
    if axes is None:
        return Type(tuple(reversed(x.shape)), dtype)
    if len(axes) != n:
        raise OpError(f"{name}: axes {list(axes)} has {len(axes)} entries for a {n}-D argument",
                      attr="axes")
    norm = [a % n if -n <= a < n else None for a in axes]
    if None in norm or sorted(norm) != list(range(n)):
        raise OpError(f"{name}: axes {list(axes)} is not a permutation of 0..{n - 1}",
                      attr="axes")
    return Type(tuple(x.shape[a] for a in norm), dtype)


def _transpose_vjp(g, ans, x, axes):
    return np.transpose(g, None if axes is None else np.argsort([a % x.ndim for a in axes]))


op("transpose", doc="x with its axes permuted",
   forward=lambda x, axes: np.transpose(x, axes), vjps=(_transpose_vjp,),
   attrs={"axes": Attr(PERMUTATION, default=None,
                       doc="a permutation of x's axes (negative entries allowed); null reverses "
                           "them")},
   infer=_transpose_infer, local=("{g} transposed back",), flows=True,
   samples=[sample((2, 3)), sample((3,)), sample(()), sample((2, 3, 4)),
            sample((2, 3, 4), attrs=dict(axes=[1, 0, 2])),
            sample((2, 3, 4), attrs=dict(axes=[-1, 0, 1])),
            sample((2, 3), attrs=dict(axes=None))])


def _reshape_infer(name, x, shape):
    dtype = float_dtype([x], name)
    size = math.prod(x.shape)  # exact integers: numpy's int64 product wraps
    if sum(1 for d in shape if d == -1) > 1:
        raise OpError(f"{name}: shape {list(shape)} has more than one -1", attr="shape")
    if any(d == 0 or d < -1 for d in shape):
        raise OpError(f"{name}: shape {list(shape)} has a dimension that is not positive "
                      "(only one -1 is allowed)", attr="shape")
    known = math.prod(d for d in shape if d != -1)
    if -1 in shape:
        if size % known:
            raise OpError(f"{name}: cannot reshape {shape_str(x.shape)} ({size} elements) "
                          f"into {list(shape)}", attr="shape")
        shape = tuple(size // known if d == -1 else d for d in shape)
    elif known != size:
        raise OpError(f"{name}: cannot reshape {shape_str(x.shape)} ({size} elements) into "
                      f"{shape_str(shape)} ({known} elements)", attr="shape")
    return Type(tuple(shape), dtype)


op("reshape", doc="x's elements in a new shape",
   forward=lambda x, shape: np.reshape(x, shape),
   vjps=(lambda g, ans, x, shape: np.reshape(g, x.shape),),
   attrs={"shape": Attr(SHAPE, default=REQUIRED, doc="the new shape; at most one -1, inferred")},
   infer=_reshape_infer, local=("{g} reshaped back to the shape of {0}",), flows=True,
   samples=[sample((2, 3), attrs=dict(shape=[3, 2])), sample((2, 3), attrs=dict(shape=[-1])),
            sample((6,), attrs=dict(shape=[1, -1, 2])), sample((), attrs=dict(shape=[1, 1])),
            sample((1, 1), attrs=dict(shape=[]))])


def _concat_infer(name, *xs, axis):
    dtype = float_dtype(xs, name)
    first = xs[0].shape
    if len(first) == 0:
        raise OpError(f"{name} needs arguments with at least one axis; argument 1 is a scalar",
                      arg=0)
    (ax,) = norm_axes(axis, len(first), name)
    total = 0
    for i, x in enumerate(xs):
        s = x.shape
        if len(s) != len(first) or any(d != e for j, (d, e) in enumerate(zip(s, first)) if j != ax):
            raise OpError(f"shape mismatch: {name} along axis {axis}: argument {i + 1} is "
                          f"{shape_str(s)}, argument 1 is {shape_str(first)}", arg=i)
        total += s[ax]
    return Type(first[:ax] + (total,) + first[ax + 1:], dtype)


def _concat_vjp(i):
    def vjp(g, ans, *xs, axis):
        ax = axis % g.ndim
        start = sum(x.shape[ax] for x in xs[:i])
        index = [slice(None)] * g.ndim
        index[ax] = slice(start, start + xs[i].shape[ax])
        return g[tuple(index)]
    return vjp


op("concat", doc="the arguments joined along an axis",
   forward=lambda *xs, axis: np.concatenate(xs, axis=axis), vjps=(_concat_vjp,), variadic=True,
   attrs={"axis": Attr(ONE_AXIS, default=0,
                       doc="the axis to join along (negative counts from the end)")},
   infer=_concat_infer, local=("the slice of {g} this argument filled",),
   samples=[sample((2, 3), (4, 3)), sample((2, 3), (2, 1), attrs=dict(axis=-1)),
            sample((1, 2), (3, 2), (2, 2), attrs=dict(axis=0)), sample((3,)),
            sample((2, 1, 3), (2, 2, 3), attrs=dict(axis=1)),
            sample((2, 3, 1), (2, 3, 2), attrs=dict(axis=-1))])


def _expand_dims_infer(name, x, axis):
    dtype = float_dtype([x], name)
    n = len(x.shape) + 1
    (ax,) = norm_axes(axis, n, name)  # the new axis counts among the result's
    return Type(x.shape[:ax] + (1,) + x.shape[ax:], dtype)


op("expand_dims", doc="x with a new axis of size 1 (PyTorch's unsqueeze)",
   forward=lambda x, axis: np.expand_dims(x, axis),
   vjps=(lambda g, ans, x, axis: np.reshape(g, x.shape),),
   attrs={"axis": Attr(ONE_AXIS, default=REQUIRED,
                       doc="where the new axis goes, in the result (negative counts from the "
                           "end: -1 appends)")},
   infer=_expand_dims_infer, local=("{g} without the new axis",), flows=True,
   samples=[sample((2, 3), attrs=dict(axis=0)), sample((2, 3), attrs=dict(axis=-1)),
            sample((), attrs=dict(axis=0)), sample((3,), attrs=dict(axis=1)),
            sample((2, 3), attrs=dict(axis=-2))])


def _squeeze_infer(name, x, axis):
    dtype = float_dtype([x], name)
    if axis is None:
        return Type(tuple(d for d in x.shape if d != 1), dtype)
    axes = norm_axes(axis, len(x.shape), name)
    for a in axes:
        if x.shape[a] != 1:
            # numpy refuses this; PyTorch silently leaves the axis, which hides the mistake
            raise OpError(f"{name}: axis {a} of {shape_str(x.shape)} has size {x.shape[a]}, "
                          "not 1", attr="axis")
    return Type(tuple(d for i, d in enumerate(x.shape) if i not in axes), dtype)


op("squeeze", doc="x without axes of size 1 (all of them, or those named)",
   forward=lambda x, axis: np.squeeze(x, axis),
   vjps=(lambda g, ans, x, axis: np.reshape(g, x.shape),),
   attrs={"axis": Attr(AXIS, default=None, doc="the axes of size 1 to remove: an integer, a "
                                               "list, or null for every axis of size 1")},
   infer=_squeeze_infer, local=("{g} with the removed axes put back",), flows=True,
   samples=[sample((2, 1, 3)), sample((1, 3, 1), attrs=dict(axis=0)),
            sample((1, 3, 1), attrs=dict(axis=-1)), sample((1, 3, 1), attrs=dict(axis=[0, 2])),
            sample((1,), attrs=dict(axis=None)), sample((2, 3))])


def _stack_infer(name, *xs, axis):
    dtype = float_dtype(xs, name)
    first = xs[0].shape
    for i, x in enumerate(xs):
        if x.shape != first:
            raise OpError(f"shape mismatch: {name} needs arguments of one shape; argument {i + 1} "
                          f"is {shape_str(x.shape)}, argument 1 is {shape_str(first)}", arg=i)
    (ax,) = norm_axes(axis, len(first) + 1, name)
    return Type(first[:ax] + (len(xs),) + first[ax:], dtype)


def _stack_vjp(i):
    def vjp(g, ans, *xs, axis):
        return np.take(g, i, axis=axis)
    return vjp


op("stack", doc="the arguments stacked along a new axis",
   forward=lambda *xs, axis: np.stack(xs, axis=axis), vjps=(_stack_vjp,), variadic=True,
   attrs={"axis": Attr(ONE_AXIS, default=0, doc="where the new axis goes, in the result "
                                                "(negative counts from the end)")},
   infer=_stack_infer, local=("the slice of {g} this argument filled",),
   samples=[sample((2, 3), (2, 3)), sample((3,), (3,), (3,), attrs=dict(axis=-1)),
            sample((), ()), sample((2, 3), (2, 3), attrs=dict(axis=1)), sample((4,)),
            sample((2, 3), (2, 3), attrs=dict(axis=-3))])


def _broadcast_to_infer(name, x, shape):
    dtype = float_dtype([x], name)
    if len(shape) < len(x.shape):
        raise OpError(f"{name}: cannot broadcast {shape_str(x.shape)} to {list(shape)}, which has "
                      "fewer axes", attr="shape")
    offset = len(shape) - len(x.shape)
    out = []
    for i, d in enumerate(shape):
        if d == -1:  # PyTorch's expand: -1 keeps the size of the axis x has there
            if i < offset:
                raise OpError(f"{name}: shape {list(shape)} has -1 at axis {i}, where "
                              f"{shape_str(x.shape)} has no axis to keep", attr="shape")
            d = x.shape[i - offset]
        elif d < 1:
            raise OpError(f"{name}: shape {list(shape)} has a size that is not positive",
                          attr="shape")
        if i >= offset and x.shape[i - offset] not in (1, d):
            raise OpError(f"{name}: cannot broadcast {shape_str(x.shape)} to {list(shape)}: axis "
                          f"{i - offset} has size {x.shape[i - offset]}, not 1 or {d}",
                          attr="shape")
        out.append(d)
    return Type(tuple(out), dtype)


def _broadcast_to(x, shape):
    offset = len(shape) - np.ndim(x)
    return np.broadcast_to(x, tuple(np.shape(x)[i - offset] if d == -1 else d
                                    for i, d in enumerate(shape)))


op("broadcast_to", doc="x repeated along axes to a larger shape (PyTorch's expand)",
   forward=_broadcast_to,
   vjps=(lambda g, ans, x, shape: g,),  # summed back to x's shape by the executor (unbroadcast)
   attrs={"shape": Attr(SHAPE, default=REQUIRED,
                        doc="the result's shape; -1 keeps the size x has at that axis")},
   infer=_broadcast_to_infer, local=("{g} summed over the repeated axes",), flows=True,
   samples=[sample((3,), attrs=dict(shape=[2, 3])), sample((2, 1), attrs=dict(shape=[2, 4])),
            sample((), attrs=dict(shape=[3])), sample((2, 1), attrs=dict(shape=[3, -1, 2])),
            sample((), attrs=dict(shape=[]))])


def _flatten_infer(name, x, start_axis):
    dtype = float_dtype([x], name)
    shape = x.shape or (1,)  # PyTorch: a scalar flattens to (1,)
    (ax,) = norm_axes(start_axis, len(shape), name, attr="start_axis")
    return Type(shape[:ax] + (math.prod(shape[ax:]),), dtype)


def _flatten(x, start_axis):
    shape = np.shape(x) or (1,)
    ax = start_axis % len(shape)
    return np.reshape(x, shape[:ax] + (-1,))


op("flatten", doc="x with the axes from start_axis on merged into one (PyTorch's flatten)",
   forward=_flatten, vjps=(lambda g, ans, x, start_axis: np.reshape(g, np.shape(x)),),
   attrs={"start_axis": Attr(ONE_AXIS, default=0, doc="the first axis merged; the axes before it "
                                                      "stay (1 keeps a batch axis)")},
   infer=_flatten_infer, local=("{g} reshaped back to the shape of {0}",), flows=True,
   samples=[sample((2, 3, 4)), sample((2, 3, 4), attrs=dict(start_axis=1)),
            sample((2, 3, 4), attrs=dict(start_axis=-1)), sample(()), sample((5,))])
