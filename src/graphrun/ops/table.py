"""ops: the op table. One entry per op: forward, one VJP per argument, shape rule, attributes.

Conventions (the vocabulary of every rule below):
- forward(*args, **attrs) -> ans, with numpy semantics and numpy broadcasting.
- a VJP is vjp(g, ans, *args, **attrs) -> the cotangent for its argument. It may return an array
  of the *broadcast* shape: the executor sums it back to the argument's shape (unbroadcast), in one
  place, for every op. `None` in place of a VJP means "not differentiable" (labels).
- infer(*types, **attrs) -> Type: the output's shape and dtype from the arguments', before anything
  runs. It raises OpError naming what was expected and what was found.
- `local` holds the local derivative of each argument as text, for `explain`: names are the
  argument names ({0}, {1}, ...) and {ans}. Where the chain rule is not a plain product (matmul,
  softmax, ...), the text is the whole VJP, with {g} for the incoming gradient.
- Kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, maximum/minimum ties split the gradient 0.5/0.5,
  ties in a max reduction share it evenly, d pow(x, 0)/dx = 0 at x = 0.

Adding an op is one `_op(...)` call below; tests/test_gradients.py checks every entry's VJPs
against central finite differences, driven by this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Optional, Tuple

import numpy as np


class Type(NamedTuple):
    """A value's static type. dtype None is a number literal: it takes the other arguments' dtype
    (numpy's rule for Python scalars)."""

    shape: Tuple[int, ...]
    dtype: Optional[np.dtype]


class OpError(Exception):
    """An op cannot take these arguments or attributes. `arg` is the index of the argument at
    fault, `attr` the attribute at fault, when there is one."""

    def __init__(self, message: str, arg: Optional[int] = None, attr: Optional[str] = None):
        super().__init__(message)
        self.arg = arg
        self.attr = attr


REQUIRED = object()  # default of an attribute that must be given


@dataclass(frozen=True)
class Op:
    name: str
    forward: Callable
    vjps: Tuple[Optional[Callable], ...]
    infer: Callable
    local: Tuple[str, ...] = ()
    attrs: dict = field(default_factory=dict)
    variadic: bool = False  # any number (>= 1) of arguments; vjps[0](i) makes the i-th VJP
    # nan or inf always flows through: one in any argument makes the result non-finite, and one
    # in g makes every VJP's result non-finite. The executor then leaves the check to a later
    # value (tests/test_ops_kinks.py proves the claim for every op that makes it)
    flows: bool = False
    # where the op is not differentiable: (the kink in words, a function of the op's arguments
    # whose value changes exactly when a point crosses the kink); gradcheck skips points near it
    kink: Optional[Tuple[str, Callable]] = None

    @property
    def arity(self) -> Optional[int]:
        return None if self.variadic else len(self.vjps)

    def vjp(self, i: int) -> Optional[Callable]:
        return self.vjps[0](i) if self.variadic else self.vjps[i]


OPS: dict = {}


def _op(name, forward, *vjps, infer, local=(), attrs=None, variadic=False, flows=False,
        kink=None):
    OPS[name] = Op(name, forward, tuple(vjps), infer, tuple(local), dict(attrs or {}), variadic,
                   flows, kink)


def shape_str(shape) -> str:
    return "(" + ",".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# ---------------------------------------------------------------------------------------------
# shape and dtype rules

FLOATS = (np.dtype("float64"), np.dtype("float32"))


def _float_dtype(types, op):
    dtypes = []
    for i, t in enumerate(types):
        if t.dtype is None:
            continue
        if t.dtype not in FLOATS:
            raise OpError(f"{op} takes floating-point arguments; argument {i + 1} is {t.dtype}", arg=i)
        dtypes.append(t.dtype)
    return np.result_type(*dtypes) if dtypes else np.dtype("float64")


def _broadcast(*shapes, op="op"):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise OpError(f"shape mismatch: {op} cannot broadcast "
                      + " with ".join(shape_str(s) for s in shapes)) from None


def _elementwise(op):
    def infer(*types):
        dtype = _float_dtype(types, op)  # the more basic problem first
        return Type(_broadcast(*(t.shape for t in types), op=op), dtype)
    return infer


def _norm_axes(axis, ndim, op, attr="axis"):
    """axis (None, int or list) -> a sorted tuple of non-negative axes, checked against ndim."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if not axes:
        # numpy reads axis=() as "reduce nothing", PyTorch's dim=[] as "reduce everything"
        raise OpError(f"{op}: axis [] names no axis; write axis: null to reduce over every "
                      "axis", attr=attr)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise OpError(f"{op}: {attr} {a} is out of range for a {ndim}-D argument "
                          f"(expected {-ndim}..{ndim - 1})" if ndim else
                          f"{op}: {attr} {a} given for a 0-D (scalar) argument", attr=attr)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise OpError(f"{op}: {attr} {list(axes)} repeats an axis", attr=attr)
    return tuple(sorted(out))


def _reduce_infer(op):
    def infer(x, axis=None, keepdims=False):
        dtype = _float_dtype([x], op)
        axes = _norm_axes(axis, len(x.shape), op)
        if keepdims:
            shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        else:
            shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        return Type(shape, dtype)
    return infer


def _single_axis(axis, op):
    if not isinstance(axis, int):
        raise OpError(f"{op}: axis must be one integer; found "
                      + ("null" if axis is None else str(list(axis))), attr="axis")


def _along_axis_infer(op):
    def infer(x, axis=-1):
        dtype = _float_dtype([x], op)
        _single_axis(axis, op)
        if len(x.shape) == 0:
            raise OpError(f"{op} needs an argument with at least one axis; found a scalar", arg=0)
        _norm_axes(axis, len(x.shape), op)
        return Type(x.shape, dtype)
    return infer


def _matmul_infer(a, b):
    dtype = _float_dtype([a, b], "matmul")
    sa, sb = a.shape, b.shape
    for i, s in enumerate((sa, sb)):
        if len(s) == 0:
            raise OpError("matmul needs arguments with at least one axis; "
                          f"argument {i + 1} is a scalar (use mul)", arg=i)
    a2 = (1,) + sa if len(sa) == 1 else sa
    b2 = sb + (1,) if len(sb) == 1 else sb
    if a2[-1] != b2[-2]:
        raise OpError(f"shape mismatch: matmul {shape_str(sa)} @ {shape_str(sb)}: "
                      f"{a2[-1]} columns against {b2[-2]} rows")
    try:
        batch = tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
    except ValueError:
        raise OpError(f"shape mismatch: matmul {shape_str(sa)} @ {shape_str(sb)}: batch shapes "
                      f"{shape_str(a2[:-2])} and {shape_str(b2[:-2])} do not broadcast") from None
    shape = batch + (a2[-2],) * (len(sa) > 1) + (b2[-1],) * (len(sb) > 1)
    return Type(shape, dtype)


def _transpose_infer(x, axes=None):
    dtype = _float_dtype([x], "transpose")
    n = len(x.shape)
    if axes is None:
        return Type(tuple(reversed(x.shape)), dtype)
    if len(axes) != n:
        raise OpError(f"transpose: axes {list(axes)} has {len(axes)} entries for a {n}-D argument",
                      attr="axes")
    norm = [a % n if -n <= a < n else None for a in axes]
    if None in norm or sorted(norm) != list(range(n)):
        raise OpError(f"transpose: axes {list(axes)} is not a permutation of 0..{n - 1}", attr="axes")
    return Type(tuple(x.shape[a] for a in norm), dtype)


def _reshape_infer(x, shape=REQUIRED):
    dtype = _float_dtype([x], "reshape")
    size = int(np.prod(x.shape, dtype=np.int64))
    if sum(1 for d in shape if d == -1) > 1:
        raise OpError(f"reshape: shape {list(shape)} has more than one -1", attr="shape")
    if any(d == 0 or d < -1 for d in shape):
        raise OpError(f"reshape: shape {list(shape)} has a dimension that is not positive "
                      "(only one -1 is allowed)", attr="shape")
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if -1 in shape:
        if size % known:
            raise OpError(f"reshape: cannot reshape {shape_str(x.shape)} ({size} elements) "
                          f"into {list(shape)}", attr="shape")
        shape = tuple(size // known if d == -1 else d for d in shape)
    elif known != size:
        raise OpError(f"reshape: cannot reshape {shape_str(x.shape)} ({size} elements) into "
                      f"{shape_str(shape)} ({known} elements)", attr="shape")
    return Type(tuple(shape), dtype)


def _concat_infer(*xs, axis=0):
    dtype = _float_dtype(xs, "concat")
    _single_axis(axis, "concat")
    first = xs[0].shape
    if len(first) == 0:
        raise OpError("concat needs arguments with at least one axis; argument 1 is a scalar", arg=0)
    (ax,) = _norm_axes(axis, len(first), "concat")
    total = 0
    for i, x in enumerate(xs):
        s = x.shape
        if len(s) != len(first) or any(d != e for j, (d, e) in enumerate(zip(s, first)) if j != ax):
            raise OpError(f"shape mismatch: concat along axis {axis}: argument {i + 1} is "
                          f"{shape_str(s)}, argument 1 is {shape_str(first)}", arg=i)
        total += s[ax]
    return Type(first[:ax] + (total,) + first[ax + 1:], dtype)


def _mse_infer(pred, target):
    dtype = _float_dtype([pred, target], "mse")
    _broadcast(pred.shape, target.shape, op="mse")
    return Type((), dtype)


def _labels_infer(op):
    """The shape rule of ops of (logits (N, C), int64 labels (N,)) -> a scalar of logits' dtype."""
    def infer(logits, labels):
        dtype = _float_dtype([logits], op)
        if len(logits.shape) != 2:
            raise OpError(f"{op} expects logits of shape (N, C); "
                          f"found {shape_str(logits.shape)}", arg=0)
        if labels.dtype != np.dtype("int64"):
            raise OpError(f"{op} expects int64 class labels as argument 2; found "
                          + ("a number literal" if labels.dtype is None else str(labels.dtype))
                          + " (write labels as {value: [...], dtype: int64})", arg=1)
        if labels.shape != logits.shape[:1]:
            raise OpError(f"shape mismatch: {op} logits {shape_str(logits.shape)} need "
                          f"labels of shape {shape_str(logits.shape[:1])}; found "
                          f"{shape_str(labels.shape)}", arg=1)
        return Type((), dtype)
    return infer


# ---------------------------------------------------------------------------------------------
# helpers shared by rules

def _expand(g, ndim, axis, keepdims):
    """Reinsert the axes a reduction removed, so that g broadcasts against its input."""
    if keepdims or axis is None:
        return g  # keepdims kept them; a full reduction left a scalar, which broadcasts
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return np.expand_dims(g, tuple(a % ndim for a in axes))


def _sigmoid(x):
    # PyTorch's form 1 / (1 + exp(-x)): for x < -709 exp(-x) overflows to inf and the result is
    # exactly 0 (as PyTorch), where the "stable" e / (1 + e) would give subnormal numbers
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(np.negative(x)))


_WIDE = np.longdouble if np.finfo(np.longdouble).nmant > 52 else None  # x87 extended on x86
TANH_EXACT_FROM = 5.0  # |x| from which tanh is recomputed in extended precision (see _tanh)


def _tanh(x):
    # PyTorch's tanh is (almost always) correctly rounded; numpy's float64 tanh is an ulp off for
    # ~20% of inputs. That is harmless where 1 - tanh^2 is large, but once |x| > 10 the gradient
    # 1 - tanh(x)^2 turns one ulp near 1 into a 1e-7..100% relative difference. So elements with
    # |x| >= 5 (where 1 - tanh^2 < 2e-4) are recomputed in extended precision and rounded once:
    # the correctly rounded result, at a cost only where it matters
    out = np.tanh(x)
    if _WIDE is None or out.dtype != np.float64:
        return out
    far = np.abs(x) >= TANH_EXACT_FROM
    if far.any():
        out = np.array(out)  # np.tanh of a 0-d argument gives a numpy scalar
        out[far] = np.tanh(np.asarray(x, _WIDE)[far])
    return out


SOFTPLUS_THRESHOLD = 20  # PyTorch's default: softplus(x) = x above it (log1p(exp(x)) - x < 3e-9)


def _softplus(x):
    # exp only of x <= 20: no overflow for any x; log1p(exp(-1000)) = log1p(0) = 0
    return np.where(x > SOFTPLUS_THRESHOLD, x, np.log1p(np.exp(np.minimum(x, SOFTPLUS_THRESHOLD))))


def _softplus_vjp(g, ans, x):
    # PyTorch's softplus_backward: g * z / (z + 1) with z = exp(x); g itself above the threshold
    z = np.exp(np.minimum(x, SOFTPLUS_THRESHOLD))
    return np.where(x > SOFTPLUS_THRESHOLD, g, g * z / (z + 1))


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # an all -inf slice stays -inf instead of becoming nan
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    # (x - max) - log(sum(exp(x - max))), as PyTorch: x - logsumexp(x) would lose the digits of a
    # small result next to a large max (1000 - 1000.000000002)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _check_labels(labels, c):
    if labels.size and (labels.min() < 0 or labels.max() >= c):
        bad = int(np.flatnonzero((labels < 0) | (labels >= c))[0])
        raise OpError(f"label {int(labels[bad])} at index {bad} is out of range for {c} classes "
                      f"(expected 0..{c - 1})", arg=1)


def _cross_entropy(logits, labels):
    n, c = logits.shape
    _check_labels(labels, c)
    return -np.mean(_log_softmax(logits, axis=-1)[np.arange(n), labels])


def _accuracy(logits, labels):
    # the fraction of rows whose largest logit is at the label; a tie goes to the first of the
    # tied classes (numpy's and PyTorch's argmax)
    _check_labels(labels, logits.shape[1])
    return np.asarray(np.mean(np.argmax(logits, axis=-1) == labels), logits.dtype)


def _cross_entropy_vjp(g, ans, logits, labels):
    # PyTorch's chain, step by step: nll_loss puts c = -g/N at each label, then log_softmax's
    # backward gives onehot*c - exp(log_softmax)*c (= (softmax - onehot) * g/N)
    n = logits.shape[0]
    c = -(g / n)
    out = -(np.exp(_log_softmax(logits, axis=-1)) * c)
    rows = np.arange(n)
    out[rows, labels] += c  # out is a fresh array
    return out


# A number literal arrives as a Python float, which numpy treats as "weak" (it takes the other
# argument's dtype). The pow rules keep it a Python float (y - 1, float(log)), so that a float32
# graph stays float32: np.subtract(0.5, 1) would be a float64 scalar and promote everything.

def _pow_vjp_base(g, ans, x, y):
    # d/dx x^y = y x^(y-1); 0 where y == 0, even at x == 0 (as PyTorch)
    return g * np.where(y == 0, 0.0, y * np.power(x, y - 1))


def _pow_vjp_exponent(g, ans, x, y):
    # d/dy x^y = x^y log x; 0 where x == 0 and y >= 0 (as PyTorch)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_x = np.log(x) if isinstance(x, np.ndarray) else float(np.log(x))
        return g * np.where((x == 0) & (np.asarray(y) >= 0), 0.0, ans * log_x)


def _extreme_vjp(pick_x):
    """VJP of maximum/minimum: the winner takes g; a tie splits it 0.5/0.5 (as PyTorch)."""
    def vjp(g, ans, x, y):
        return np.where(x == y, 0.5 * g, np.where(pick_x(x, y), g, 0))
    return vjp


def _max_vjp(g, ans, x, axis=None, keepdims=False):
    # ties share the gradient evenly (as PyTorch's amax)
    a = _expand(ans, x.ndim, axis, keepdims)
    mask = x == a
    count = np.sum(mask, axis=axis, keepdims=True).astype(x.dtype)
    return _expand(g, x.ndim, axis, keepdims) * mask / count


def _reduced_size(x, axis):
    if axis is None:
        return x.size
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([x.shape[a] for a in axes]))


def _matmul_2d(g, a, b):
    """g, a, b with 1-D operands promoted the way numpy.matmul promotes them: a to (1, n),
    b to (n, 1), and g given back the axes that promotion removed from the result."""
    if b.ndim == 1:
        g, b = g[..., None], b[:, None]
    if a.ndim == 1:
        g, a = g[..., None, :], a[None, :]
    return g, a, b


def _matmul_vjp_a(g, ans, a, b):
    g2, a2, b2 = _matmul_2d(g, a, b)
    da = g2 @ np.swapaxes(b2, -1, -2)
    return da[..., 0, :] if a.ndim == 1 else da


def _matmul_vjp_b(g, ans, a, b):
    g2, a2, b2 = _matmul_2d(g, a, b)
    db = np.swapaxes(a2, -1, -2) @ g2
    return db[..., 0] if b.ndim == 1 else db


def _concat_vjp(i):
    def vjp(g, ans, *xs, axis=0):
        ax = axis % g.ndim
        start = sum(x.shape[ax] for x in xs[:i])
        index = [slice(None)] * g.ndim
        index[ax] = slice(start, start + xs[i].shape[ax])
        return g[tuple(index)]
    return vjp


# ---------------------------------------------------------------------------------------------
# the table

_op("add", np.add,
    lambda g, ans, x, y: g,
    lambda g, ans, x, y: g,
    infer=_elementwise("add"), local=("1", "1"), flows=True)
_op("sub", np.subtract,
    lambda g, ans, x, y: g,
    lambda g, ans, x, y: -g,
    infer=_elementwise("sub"), local=("1", "-1"), flows=True)
_op("mul", np.multiply,
    lambda g, ans, x, y: g * y,
    lambda g, ans, x, y: g * x,
    infer=_elementwise("mul"), local=("{1}", "{0}"), flows=True)
_op("div", np.divide,
    lambda g, ans, x, y: g / y,
    lambda g, ans, x, y: -g * ((x / y) / y),  # as PyTorch; y * y would overflow sooner
    infer=_elementwise("div"), local=("1/{1}", "-{0}/{1}^2"))
_op("pow", np.power, _pow_vjp_base, _pow_vjp_exponent,
    infer=_elementwise("pow"), local=("{1}*{0}^({1}-1)", "{0}^{1}*log({0})"))
_op("maximum", np.maximum,
    _extreme_vjp(lambda x, y: x > y),
    _extreme_vjp(lambda x, y: y > x),
    infer=_elementwise("maximum"), local=("[{0} > {1}] (0.5 on a tie)", "[{1} > {0}] (0.5 on a tie)"),
    kink=("a tie in maximum", lambda x, y: np.sign(np.subtract(x, y))))
_op("minimum", np.minimum,
    _extreme_vjp(lambda x, y: x < y),
    _extreme_vjp(lambda x, y: y < x),
    infer=_elementwise("minimum"), local=("[{0} < {1}] (0.5 on a tie)", "[{1} < {0}] (0.5 on a tie)"),
    kink=("a tie in minimum", lambda x, y: np.sign(np.subtract(x, y))))

_op("neg", np.negative, lambda g, ans, x: -g, infer=_elementwise("neg"), local=("-1",),
    flows=True)
_op("exp", np.exp, lambda g, ans, x: g * ans, infer=_elementwise("exp"), local=("exp({0})",))
_op("log", np.log, lambda g, ans, x: g / x, infer=_elementwise("log"), local=("1/{0}",))
_op("sqrt", np.sqrt, lambda g, ans, x: g / (2 * ans), infer=_elementwise("sqrt"),
    local=("1/(2*sqrt({0}))",))
_op("square", np.square, lambda g, ans, x: g * (2 * x), infer=_elementwise("square"),
    local=("2{0}",))
_op("abs", np.abs, lambda g, ans, x: g * np.sign(x), infer=_elementwise("abs"),
    local=("sign({0})",),  # sign(0) = 0: the subgradient 0 at the kink, as PyTorch
    kink=("abs at 0", np.sign))
_op("sin", np.sin, lambda g, ans, x: g * np.cos(x), infer=_elementwise("sin"), local=("cos({0})",))
_op("cos", np.cos, lambda g, ans, x: -g * np.sin(x), infer=_elementwise("cos"),
    local=("-sin({0})",))
_op("tanh", _tanh, lambda g, ans, x: g * (1 - ans * ans), infer=_elementwise("tanh"),
    local=("1 - tanh({0})^2",))
_op("sigmoid", _sigmoid, lambda g, ans, x: g * (1 - ans) * ans, infer=_elementwise("sigmoid"),
    local=("sigmoid({0})*(1 - sigmoid({0}))",))
_op("relu", lambda x: np.maximum(x, 0), lambda g, ans, x: np.where(x > 0, g, 0),
    infer=_elementwise("relu"), local=("[{0} > 0]",),  # relu'(0) = 0, as PyTorch
    kink=("relu at 0", np.sign))
_op("softplus", _softplus, _softplus_vjp, infer=_elementwise("softplus"),
    local=("sigmoid({0}) (1 above 20)",))

_op("matmul", np.matmul, _matmul_vjp_a, _matmul_vjp_b, infer=_matmul_infer,
    local=("{g} @ {1}^T", "{0}^T @ {g}"), flows=True)
_op("transpose", lambda x, axes=None: np.transpose(x, axes),
    lambda g, ans, x, axes=None:
        np.transpose(g, None if axes is None else np.argsort([a % x.ndim for a in axes])),
    infer=_transpose_infer, local=("{g} transposed back",), attrs={"axes": None}, flows=True)
_op("reshape", lambda x, shape: np.reshape(x, shape),
    lambda g, ans, x, shape: np.reshape(g, x.shape),
    infer=_reshape_infer, local=("{g} reshaped back to the shape of {0}",),
    attrs={"shape": REQUIRED}, flows=True)
_op("concat", lambda *xs, axis=0: np.concatenate(xs, axis=axis), _concat_vjp,
    infer=_concat_infer, local=("the slice of {g} this argument filled",), attrs={"axis": 0}, variadic=True)

_op("sum", lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
    lambda g, ans, x, axis=None, keepdims=False:
        np.broadcast_to(_expand(g, x.ndim, axis, keepdims), x.shape),
    infer=_reduce_infer("sum"), local=("1",), attrs={"axis": None, "keepdims": False},
    flows=True)
_op("mean", lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
    lambda g, ans, x, axis=None, keepdims=False:
        np.broadcast_to(_expand(g, x.ndim, axis, keepdims) / _reduced_size(x, axis), x.shape),
    infer=_reduce_infer("mean"), local=("1/n",), attrs={"axis": None, "keepdims": False},
    flows=True)
_op("max", lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
    _max_vjp, infer=_reduce_infer("max"), local=("[{0} == max] / ties",),
    attrs={"axis": None, "keepdims": False},
    kink=("a tie in max", lambda x, axis=None, keepdims=False:
          np.asarray(x) == np.max(x, axis=axis, keepdims=True)))

_op("softmax", _softmax,
    lambda g, ans, x, axis=-1: ans * (g - np.sum(g * ans, axis=axis, keepdims=True)),
    infer=_along_axis_infer("softmax"), local=("{ans} * ({g} - sum({g} * {ans}))",), attrs={"axis": -1})
_op("log_softmax", _log_softmax,
    lambda g, ans, x, axis=-1: g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True),
    infer=_along_axis_infer("log_softmax"), local=("{g} - softmax({0}) * sum({g})",), attrs={"axis": -1})
_op("logsumexp", _logsumexp,
    lambda g, ans, x, axis=None, keepdims=False:
        _expand(g, x.ndim, axis, keepdims) * np.exp(x - _expand(ans, x.ndim, axis, keepdims)),
    infer=_reduce_infer("logsumexp"), local=("softmax({0})",),
    attrs={"axis": None, "keepdims": False})

_op("mse", lambda p, t: np.mean(np.square(np.subtract(p, t))),
    # PyTorch's mse_loss_backward: (2/n) * (p - t) * g
    lambda g, ans, p, t: 2.0 / np.broadcast(p, t).size * np.subtract(p, t) * g,
    lambda g, ans, p, t: 2.0 / np.broadcast(p, t).size * np.subtract(t, p) * g,
    infer=_mse_infer, local=("2({0} - {1})/n", "-2({0} - {1})/n"))
_op("cross_entropy", _cross_entropy, _cross_entropy_vjp, None,
    infer=_labels_infer("cross_entropy"), local=("(softmax({0}) - onehot({1}))/N", "none (labels)"))
# a measure to watch, never to descend: argmax is piecewise constant, so it has no gradient
_op("accuracy", _accuracy, None, None,
    infer=_labels_infer("accuracy"), local=("none (argmax)", "none (labels)"))
