"""reduce: reductions over axes (sum, mean, max, min, prod, var, std, norm, logsumexp), the
index searches (argmax, argmin) and normalisations along one axis (softmax, log_softmax)."""

from __future__ import annotations

import math

import numpy as np

from .core import FLOATS, INT64, Attr, Kink, OpError, Type, float_dtype, norm_axes, op
from .kinds import AXIS, BOOL, INT, NORM_ORD, ONE_AXIS, OPTIONAL_ONE_AXIS
from .samples import Domain, sample

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
    return math.prod(x.shape[a] for a in axes)


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


def _min_vjp(g, ans, x, axis, keepdims):
    return _max_vjp(g, ans, x, axis, keepdims)  # the same rule: the mask picks ties of the min


op("min", doc="the smallest element over axis (PyTorch's amin; minimum compares two values)",
   forward=lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
   vjps=(_min_vjp,), attrs=REDUCE_ATTRS, infer=_reduce_infer, local=("[{0} == min] / ties",),
   kink=Kink("a tie in min", lambda x, axis, keepdims:
             np.asarray(x) == np.min(x, axis=axis, keepdims=True)),
   samples=_reduced())


def _last(x, axis):
    """x with the reduced axes moved to the end and flattened into one: (kept..., n)."""
    axes = tuple(range(x.ndim)) if axis is None else \
        tuple(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis))
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, kept + list(axes))
    return moved.reshape(moved.shape[:len(kept)] + (-1,)), kept, axes


def _prod_vjp(g, ans, x, axis, keepdims):
    # the product of every other element, as exclusive prefix times suffix products: exact
    # where x holds zeros (g * ans / x would give 0/0), the case PyTorch's prod_backward handles
    flat, kept, axes = _last(np.asarray(x), axis)
    ones = np.ones(flat.shape[:-1] + (1,), flat.dtype)
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (before * after).reshape([x.shape[a] for a in kept] + [x.shape[a] for a in axes])
    others = np.transpose(others, np.argsort(kept + list(axes)))
    return _expand(g, x.ndim, axis, keepdims) * others


op("prod", doc="the product over axis",
   forward=lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
   vjps=(_prod_vjp,), attrs=REDUCE_ATTRS, infer=_reduce_infer,
   local=("the product of the other elements",), samples=_reduced())

VAR_ATTRS = {**REDUCE_ATTRS,
             "correction": Attr(INT, default=1, doc="divide by n - correction: 1 (the "
                                                    "default, as PyTorch) is the sample "
                                                    "variance, 0 numpy's default")}


def _var_infer(name, x, axis, keepdims, correction):
    out = _reduce_infer(name, x, axis, keepdims)
    axes = norm_axes(axis, len(x.shape), name)
    n = math.prod(x.shape[a] for a in axes)  # exact: an int64 product can wrap
    if correction < 0:
        raise OpError(f"{name}: correction must be 0 or more (it divides by n - correction); "
                      f"found {correction}", attr="correction")
    if n - correction <= 0:
        # PyTorch gives inf or nan here, with a warning: never what was meant
        raise OpError(f"{name}: correction {correction} needs more than {correction} "
                      f"element{'s' if correction != 1 else ''} to reduce; found {n}"
                      + (" (write correction: 0 for the population variance)"
                         if correction > 0 and n > 0 else ""), attr="correction")
    return out


def _var(x, axis, keepdims, correction):
    return np.var(x, axis=axis, keepdims=keepdims, ddof=correction)


def _var_vjp(g, ans, x, axis, keepdims, correction):
    # PyTorch's var_backward: (2 / (n - correction)) * g * (x - mean)
    n = _reduced_size(x, axis)
    centred = x - np.mean(x, axis=axis, keepdims=True)
    return (2.0 / (n - correction)) * _expand(g, x.ndim, axis, keepdims) * centred


def _std_vjp(g, ans, x, axis, keepdims, correction):
    # PyTorch's std_backward: var_backward(g / (2 std)); 0/0 (nan) where every element is equal,
    # as PyTorch, which graphrun reports as a numeric failure at the node
    return _var_vjp(g / (2 * ans), ans, x, axis, keepdims, correction)


def _var_samples():
    out = [sample((2, 3, 4), attrs=dict(axis=axis, keepdims=keepdims))
           for axis in (None, 1, -1, [0, 2]) for keepdims in (False, True)]
    return out + [sample((5,), attrs=dict(correction=0)), sample((2, 3), attrs=dict(axis=0)),
                  sample((4, 3), attrs=dict(axis=-2, correction=2)), sample((3,))]


op("var", doc="the variance over axis, divided by n - correction (PyTorch's var: correction 1)",
   forward=_var, vjps=(_var_vjp,), attrs=VAR_ATTRS, infer=_var_infer,
   local=("2({0} - mean)/(n - correction)",), samples=_var_samples())

op("std", doc="the standard deviation over axis: sqrt(var) (PyTorch's std: correction 1)",
   forward=lambda x, axis, keepdims, correction: np.sqrt(_var(x, axis, keepdims, correction)),
   vjps=(_std_vjp,), attrs=VAR_ATTRS, infer=_var_infer,
   local=("({0} - mean)/((n - correction) std)",), samples=_var_samples())


NORM_ATTRS = {"ord": Attr(NORM_ORD, default=2, doc="2: the Euclidean (Frobenius) norm, 1: the "
                                                    "sum of |x|, \"inf\": the largest |x|"),
              **REDUCE_ATTRS}


def _norm(x, ord, axis, keepdims):
    a = np.abs(x)
    if ord == 1:
        return np.sum(a, axis=axis, keepdims=keepdims)
    if ord == "inf":
        return np.max(a, axis=axis, keepdims=keepdims)
    return np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))


def _norm_vjp(g, ans, x, ord, axis, keepdims):
    # PyTorch's norm_backward: ord 2: x g / norm, 0 where the norm is 0; ord 1: sign(x) g;
    # inf: sign(x) g shared evenly by the elements of the largest |x|
    g = _expand(g, x.ndim, axis, keepdims)
    if ord == 1:
        return np.sign(x) * g
    n = _expand(ans, x.ndim, axis, keepdims)
    if ord == "inf":
        mask = np.abs(x) == n
        count = np.sum(mask, axis=axis, keepdims=True).astype(x.dtype)
        return np.sign(x) * (g / count) * mask
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n == 0, 0, g / n)
    return x * scale


def _norm_branch(x, ord, axis, keepdims):
    """Where the norm has a kink: an element at 0 (ord 1, and ord 2 at a zero norm), a tie for
    the largest |x| (inf)."""
    if ord == "inf":
        a = np.abs(x)
        return np.sign(x) * (a == np.max(a, axis=axis, keepdims=True))
    return np.sign(x) if ord == 1 else np.sum(np.abs(x), axis=axis) == 0


def _norm_samples():
    out = [sample((2, 3, 4), attrs=dict(ord=ord, axis=axis, keepdims=keepdims), domain=AWAY)
           for ord in (1, "inf") for axis, keepdims in ((None, False), (-1, True), ([0, 2], False))]
    return out + [sample((2, 3), domain=AWAY), sample((3,), attrs=dict(axis=0), domain=AWAY),
                  sample((2, 3, 4), attrs=dict(axis=1, keepdims=True), domain=AWAY),
                  sample((4,), attrs=dict(ord=2)), sample((), domain=AWAY)]


AWAY = Domain(0.5, 2.0, signed=True)

op("norm", doc="the vector norm over axis (PyTorch's linalg.vector_norm): ord 2, 1 or inf",
   forward=_norm, vjps=(_norm_vjp,), attrs=NORM_ATTRS, infer=lambda name, x, ord, axis, keepdims:
   _reduce_infer(name, x, axis, keepdims),
   local=("{0}/norm (ord 2), sign({0}) (ord 1)",),
   kink=Kink("norm at 0 (or a tie for the largest |x|)", _norm_branch), samples=_norm_samples())


ARG_ATTRS = {
    "axis": Attr(OPTIONAL_ONE_AXIS, default=None, doc="the axis to search along; null: the "
                                                      "flattened argument (an index into it)"),
    "keepdims": Attr(BOOL, default=False, doc="keep the searched axis, with size 1"),
}


def _arg_infer(name, x, axis, keepdims):
    if x.dtype is not None and x.dtype not in FLOATS:
        raise OpError(f"{name} takes a floating-point argument; argument 1 is {x.dtype}", arg=0,
                      dtype=True)
    shape = _reduce_infer(name, Type(x.shape, np.dtype("float64")), axis, keepdims).shape
    return Type(shape, INT64)


def _arg(fn):
    def forward(x, axis, keepdims):
        # ties: the first index, as numpy and PyTorch; int64 on every platform
        return np.asarray(fn(x, axis=axis, keepdims=keepdims), np.int64)
    return forward


def _arg_samples():
    return [sample((2, 3, 4), attrs=dict(axis=axis, keepdims=keepdims))
            for axis in (None, 0, -1) for keepdims in (False, True)] + \
        [sample((5,)), sample(()), sample((3, 4), attrs=dict(axis=1))]


op("argmax", doc="the index of the largest element along axis (int64, no gradient; ties: the "
                 "first)",
   forward=_arg(np.argmax), vjps=(None,), attrs=ARG_ATTRS, infer=_arg_infer,
   local=("none (an index)",), samples=_arg_samples())

op("argmin", doc="the index of the smallest element along axis (int64, no gradient; ties: the "
                 "first)",
   forward=_arg(np.argmin), vjps=(None,), attrs=ARG_ATTRS, infer=_arg_infer,
   local=("none (an index)",), samples=_arg_samples())


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
