"""reduce: reductions over axes (sum, mean, max, logsumexp) and normalisations along one axis
(softmax, log_softmax)."""

from __future__ import annotations

import numpy as np

from .core import Attr, Kink, OpError, Type, float_dtype, norm_axes, op
from .kinds import AXIS, BOOL, ONE_AXIS
from .samples import sample

REDUCE_ATTRS = {
    "axis": Attr(AXIS, default=None, doc="the axes to reduce over: an integer, a list, or null "
                                         "for every axis (negative counts from the end)"),
    "keepdims": Attr(BOOL, default=False, doc="keep the reduced axes, with size 1"),
}


def _reduce_infer(name, x, axis, keepdims):
    dtype = float_dtype([x], name)
    axes = norm_axes(axis, len(x.shape), name)
    if keepdims:
        shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    else:
        shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    return Type(shape, dtype)


def _reduced():
    """Every kind of axis, negative axes and keepdims, on a 3-D, a 1-D and a 0-D argument."""
    out = [sample((2, 3, 4), attrs=dict(axis=axis, keepdims=keepdims))
           for axis in (None, 0, 1, -1, -3, [0, 2], [-1, 0], [0, 1, 2])
           for keepdims in (False, True)]
    return out + [sample((5,), attrs=dict(axis=0)), sample((5,), attrs=dict(axis=-1)),
                  sample(()), sample((), attrs=dict(keepdims=True)), sample((2, 3))]


def _expand(g, ndim, axis, keepdims):
    """Reinsert the axes a reduction removed, so that g broadcasts against its input."""
    if keepdims or axis is None:
        return g  # keepdims kept them; a full reduction left a scalar, which broadcasts
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return np.expand_dims(g, tuple(a % ndim for a in axes))


def _reduced_size(x, axis):
    if axis is None:
        return x.size
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([x.shape[a] for a in axes]))


op("sum", doc="the sum over axis",
   forward=lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
   vjps=(lambda g, ans, x, axis, keepdims:
         np.broadcast_to(_expand(g, x.ndim, axis, keepdims), x.shape),),
   attrs=REDUCE_ATTRS, infer=_reduce_infer, local=("1",), flows=True, samples=_reduced())

op("mean", doc="the mean over axis",
   forward=lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
   vjps=(lambda g, ans, x, axis, keepdims:
         np.broadcast_to(_expand(g, x.ndim, axis, keepdims) / _reduced_size(x, axis), x.shape),),
   attrs=REDUCE_ATTRS, infer=_reduce_infer, local=("1/n",), flows=True, samples=_reduced())


def _max_vjp(g, ans, x, axis, keepdims):
    # ties share the gradient evenly (as PyTorch's amax)
    a = _expand(ans, x.ndim, axis, keepdims)
    mask = x == a
    count = np.sum(mask, axis=axis, keepdims=True).astype(x.dtype)
    return _expand(g, x.ndim, axis, keepdims) * mask / count


op("max", doc="the largest element over axis (PyTorch's amax)",
   forward=lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
   vjps=(_max_vjp,), attrs=REDUCE_ATTRS, infer=_reduce_infer, local=("[{0} == max] / ties",),
   kink=Kink("a tie in max", lambda x, axis, keepdims:
             np.asarray(x) == np.max(x, axis=axis, keepdims=True)),
   samples=_reduced())


def _logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # an all -inf slice stays -inf instead of becoming nan
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


op("logsumexp", doc="log of the sum of e ** x over axis, computed without overflow",
   forward=_logsumexp,
   vjps=(lambda g, ans, x, axis, keepdims:
         _expand(g, x.ndim, axis, keepdims) * np.exp(x - _expand(ans, x.ndim, axis, keepdims)),),
   attrs=REDUCE_ATTRS, infer=_reduce_infer, local=("softmax({0})",), samples=_reduced())


# ---------------------------------------------------------------------------------------------
# along one axis

ALONG_AXIS_ATTRS = {"axis": Attr(ONE_AXIS, default=-1, doc="the axis to normalise along "
                                                          "(negative counts from the end)")}


def _along_axis_infer(name, x, axis):
    dtype = float_dtype([x], name)
    if len(x.shape) == 0:
        raise OpError(f"{name} needs an argument with at least one axis; found a scalar", arg=0)
    norm_axes(axis, len(x.shape), name)
    return Type(x.shape, dtype)


def _along_axis():
    return [sample((2, 3)), sample((2, 3), attrs=dict(axis=0)),
            sample((2, 3), attrs=dict(axis=-2)), sample((4,)), sample((4,), attrs=dict(axis=0)),
            sample((2, 3, 4), attrs=dict(axis=1)), sample((2, 3, 4), attrs=dict(axis=-3))]


def _softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis):
    # (x - max) - log(sum(exp(x - max))), as PyTorch: x - logsumexp(x) would lose the digits of a
    # small result next to a large max (1000 - 1000.000000002)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


op("softmax", doc="e ** x / the sum of e ** x along axis",
   forward=_softmax,
   vjps=(lambda g, ans, x, axis: ans * (g - np.sum(g * ans, axis=axis, keepdims=True)),),
   attrs=ALONG_AXIS_ATTRS, infer=_along_axis_infer,
   local=("{ans} * ({g} - sum({g} * {ans}))",), samples=_along_axis())

op("log_softmax", doc="log(softmax(x)) along axis, computed without overflow",
   forward=log_softmax,
   vjps=(lambda g, ans, x, axis: g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True),),
   attrs=ALONG_AXIS_ATTRS, infer=_along_axis_infer, local=("{g} - softmax({0}) * sum({g})",),
   samples=_along_axis())
