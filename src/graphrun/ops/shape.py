"""shape: ops that move elements around without changing them (transpose, reshape, concat)."""

from __future__ import annotations

import numpy as np

from .core import REQUIRED, Attr, OpError, Type, float_dtype, norm_axes, op, shape_str
from .kinds import ONE_AXIS, PERMUTATION, SHAPE
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
    size = int(np.prod(x.shape, dtype=np.int64))
    if sum(1 for d in shape if d == -1) > 1:
        raise OpError(f"{name}: shape {list(shape)} has more than one -1", attr="shape")
    if any(d == 0 or d < -1 for d in shape):
        raise OpError(f"{name}: shape {list(shape)} has a dimension that is not positive "
                      "(only one -1 is allowed)", attr="shape")
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
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
