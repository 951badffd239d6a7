"""core: what an op entry is made of, the registry it goes into, and the shape helpers the rules
share. The entries themselves live in the modules by kind (elementwise, linalg, shape, reduce,
loss); ops/table.py gathers them.

The vocabulary of every entry:
- forward(*args, **attrs) -> ans, with numpy semantics and numpy broadcasting.
- a VJP is vjp(g, ans, *args, **attrs) -> the cotangent for its argument. It may return an array
  of the *broadcast* shape: the executor sums it back to the argument's shape (unbroadcast), in one
  place, for every op. `None` in place of a VJP means "not differentiable" (labels). A variadic
  op gives one VJP maker, vjps[0](i) -> the i-th argument's VJP.
- infer(name, *types, **attrs) -> Type: the output's shape and dtype from the arguments', before
  anything runs (the op's name comes first, so that one rule serves many ops and its messages name
  the op). It raises OpError naming what was expected and what was found. Attribute values reach
  it already checked against their kinds (the graph stage does that).
- optional: how many trailing arguments a call may leave out (layer_norm's weight and bias,
  conv2d's bias); rules and VJPs then get only the arguments given.
- An op whose every VJP is None (comparisons, argmax, accuracy) has no gradient: its result is
  not differentiated (Op.differentiable), nor is a bool or int64 result of any op.
- train_attrs: for an op that trains otherwise than it evaluates (dropout), train_attrs(attrs,
  step, position) -> the attributes step `step` (from 1) of a training run gives it, from those
  written in the file; `position` is its index among the program's steps (so that two such nodes
  draw apart). engine/train.py applies it; every other run uses the attributes as written.
- attrs: name -> Attr(kind, default, doc). Rules are written without defaults: the entry's Attr
  is the one place a default lives, and the Op fills it in for every call that leaves it out.
- `local` holds the local derivative of each argument as text, for `explain`: names are the
  argument names ({0}, {1}, ...) and {ans}. Where the chain rule is not a plain product (matmul,
  softmax, ...), the text is the whole VJP, with {g} for the incoming gradient.
- Kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, maximum/minimum ties split the gradient 0.5/0.5,
  ties in a max reduction share it evenly, d pow(x, 0)/dx = 0 at x = 0.
- scalar: an optional twin on Python floats, (forward, *vjps) with the same signatures, for graphs
  made only of float64 scalars (a numpy call on a scalar costs ~0.5 us, the same arithmetic on
  floats ~0.05 us). It computes the same formula as the reference beside it; where math raises or a
  result is not finite, the executor runs the graph through the reference instead.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Optional, Tuple

import numpy as np

from .kinds import Kind


class Type(NamedTuple):
    """A value's static type. dtype None is a number literal: it takes the other arguments' dtype
    (numpy's rule for Python scalars)."""

    shape: Tuple[int, ...]
    dtype: Optional[np.dtype]


class OpError(Exception):
    """An op cannot take these arguments or attributes. `arg` is the index of the argument at
    fault, `attr` the attribute at fault, when there is one; `dtype` says the argument's dtype is
    what is wrong (the graph stage then says where an int64 or bool value came from)."""

    def __init__(self, message: str, arg: Optional[int] = None, attr: Optional[str] = None,
                 dtype: bool = False):
        super().__init__(message)
        self.arg = arg
        self.attr = attr
        self.dtype = dtype


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()  # default of an attribute that must be given


class Attr(NamedTuple):
    """An attribute an op takes: its kind, its default (or REQUIRED) and a short doc."""

    kind: Kind
    default: object = REQUIRED
    doc: str = ""


class Kink(NamedTuple):
    """Where an op is not differentiable: the kink in words, and a function of the op's arguments
    (and attributes) whose value changes exactly when a point crosses the kink; gradcheck skips
    points near it."""

    words: str
    branch: Callable


class Twin(NamedTuple):
    """A Python-float twin, (forward, *vjps), and the reference (forward, vjps) it was written
    beside: an Op whose forward or VJPs are replaced (a test planting a wrong VJP) has no twin."""

    fns: tuple
    of: tuple


class Registry(dict):
    """A plain dict filled at import time, whose failed lookup lists what exists."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def __missing__(self, key):
        raise KeyError(f"no {self.what} {key!r}; known {self.what}s: {', '.join(sorted(self))}")


@dataclass(frozen=True)
class Op:
    """One op of the table, as op(...) registers it: its rules take the defaults of the
    attributes a call leaves out, and infer has the op's name bound."""

    name: str
    forward: Callable
    vjps: Tuple[Optional[Callable], ...]
    infer: Callable  # infer(*types, **attrs), the op's name already bound
    local: Tuple[str, ...] = ()
    attrs: dict = field(default_factory=dict)  # name -> Attr, in the order the op declares them
    variadic: bool = False  # any number (>= 1) of arguments; vjps[0](i) makes the i-th VJP
    optional: int = 0  # trailing arguments that may be left out (rules get only those given)
    # nan or inf always flows through: one in any argument makes the result non-finite, and one
    # in g makes every VJP's result non-finite. The executor then leaves the check to a later
    # value (tests/test_ops_kinks.py proves the claim for every op that makes it)
    flows: bool = False
    kink: Optional[Kink] = None
    train_attrs: Optional[Callable] = None  # train_attrs(attrs, step, position) -> attrs
    twin: Optional[Twin] = None
    samples: tuple = ()  # Samples (ops/samples.py): what tests/test_gradients.py checks
    # scalar points where a convention or an overflow decides the result (a kink, 0^0, exp(1000)):
    # the twin must agree with the reference there too (tests/test_scalar_ops.py)
    edges: Tuple[tuple, ...] = ()
    doc: str = ""  # one line, for the schema and for people reading the table
    # derived from the above (so dataclasses.replace keeps them true)
    scalar: Optional[tuple] = field(init=False, repr=False, compare=False)
    required: Tuple[str, ...] = field(init=False, repr=False, compare=False)
    arity: Optional[int] = field(init=False, repr=False, compare=False)  # None: variadic
    min_arity: int = field(init=False, repr=False, compare=False)  # 1 for a variadic op
    # False when no argument has a VJP: the result carries no gradient (comparisons, argmax)
    differentiable: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        t = self.twin
        twinned = t is not None and t.of[0] is self.forward and t.of[1] == self.vjps
        object.__setattr__(self, "scalar", t.fns if twinned else None)
        object.__setattr__(self, "required",
                           tuple(k for k, a in self.attrs.items() if a.default is REQUIRED))
        object.__setattr__(self, "arity", None if self.variadic else len(self.vjps))
        object.__setattr__(self, "min_arity",
                           1 if self.variadic else len(self.vjps) - self.optional)
        object.__setattr__(self, "differentiable",
                           self.variadic or any(v is not None for v in self.vjps))

    def vjp(self, i: int) -> Optional[Callable]:
        return self.vjps[0](i) if self.variadic else self.vjps[i]


OPS = Registry("op")


def op(name: str, *, forward: Callable, vjps: tuple, infer: Callable, attrs: Optional[dict] = None,
       scalar: Optional[tuple] = None, local: tuple = (), kink: Optional[Kink] = None,
       flows: bool = False, variadic: bool = False, optional: int = 0,
       train_attrs: Optional[Callable] = None, samples=(), edges=(), doc: str = "") -> Op:
    """Register one op: everything about it, in one call (see the module docstring)."""
    if name in OPS:
        raise ValueError(f"op {name!r} is registered twice")
    attrs = dict(attrs or {})
    defaults = {k: a.default for k, a in attrs.items() if a.default is not REQUIRED}
    fill = functools.partial(_with_defaults, defaults=defaults)
    forward = fill(forward)
    if variadic:
        (maker,) = vjps
        vjps = (lambda i: fill(maker(i)),)
    else:
        vjps = tuple(fill(v) for v in vjps)
    twin = None if scalar is None else Twin(tuple(fill(f) for f in scalar), (forward, vjps))
    entry = Op(name, forward, vjps, infer=fill(functools.partial(infer, name)), local=tuple(local),
               attrs=attrs, variadic=variadic, optional=optional, flows=flows,
               kink=None if kink is None else Kink(kink.words, fill(kink.branch)),
               train_attrs=train_attrs, twin=twin,
               samples=tuple(samples), edges=tuple(edges), doc=doc)
    OPS[name] = entry
    return entry


def _with_defaults(fn, defaults):
    """fn, with the table's default for every attribute a call leaves out."""
    if fn is None or not defaults:
        return fn

    @functools.wraps(fn)
    def call(*args, **attrs):
        return fn(*args, **(defaults if not attrs else {**defaults, **attrs}))
    return call


def shape_str(shape) -> str:
    return "(" + ",".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# ---------------------------------------------------------------------------------------------
# shape and dtype helpers shared by the rules

FLOATS = (np.dtype("float64"), np.dtype("float32"))
INT64 = np.dtype("int64")
BOOL = np.dtype("bool")


def dtype_words(t: Type) -> str:
    """How a message names an argument's dtype: "int64", "a number literal"."""
    return "a number literal" if t.dtype is None else str(t.dtype)


def int64_arg(types, i, op, what):
    """Check that argument i is int64 (class labels, indices), wording the fix."""
    t = types[i]
    if t.dtype != INT64:
        raise OpError(f"{op} expects int64 {what} as argument {i + 1}; found {dtype_words(t)} "
                      "(write them as {value: [...], dtype: int64})", arg=i, dtype=True)


def float_dtype(types, op):
    dtypes = []
    for i, t in enumerate(types):
        if t.dtype is None:
            continue
        if t.dtype not in FLOATS:
            raise OpError(f"{op} takes floating-point arguments; argument {i + 1} is {t.dtype}",
                          arg=i, dtype=True)
        dtypes.append(t.dtype)
    return np.result_type(*dtypes) if dtypes else np.dtype("float64")


def broadcast(*shapes, op="op"):
    """numpy's broadcasting rule in exact integers (np.broadcast_shapes refuses sizes beyond
    int64 as if they did not match, and this runs before the memory budget sees them)."""
    out = []
    for sizes in itertools.zip_longest(*(reversed(s) for s in shapes), fillvalue=1):
        big = {d for d in sizes if d != 1}
        if len(big) > 1:
            raise OpError(f"shape mismatch: {op} cannot broadcast "
                          + " with ".join(shape_str(s) for s in shapes))
        out.append(big.pop() if big else 1)
    return tuple(reversed(out))


def elementwise(op, *types, **attrs):
    """The shape rule of elementwise ops: float arguments, broadcast together (whatever the
    attributes: gelu's approximate or clip's bounds change values, not shapes)."""
    dtype = float_dtype(types, op)  # the more basic problem first
    return Type(broadcast(*(t.shape for t in types), op=op), dtype)


def norm_axes(axis, ndim, op, attr="axis"):
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
