"""samples: the cases an op's tests draw from, declared in its entry.

A Sample gives each argument a shape and a Domain to draw values from (clear of kinks: those are
pinned by exact tests in tests/test_ops_kinks.py, and by the entry's `edges`), and the attributes
to pass. tests/test_gradients.py checks every sample's VJPs against finite differences, in
float64, and that float32 stays float32; it also builds random graphs from the samples, feeding an
argument a value computed earlier when its Domain admits it. tests/test_scalar_ops.py draws the
points for the Python-float twins from the samples of scalars.

An op is not done until its samples cover broadcasting (for elementwise ops), every attribute
(set, and left at its default) and what each attribute's kind asks for (ops/kinds.py `coverage`).
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import numpy as np


class Domain(NamedTuple):
    """Values in [low, high]; with `signed`, |x| in [low, high] and either sign (clear of a kink at
    0); with `integer`, whole numbers (still floats); `labels`, exactly these int64 values (or
    bool values, when they are booleans: where's condition)."""

    low: float
    high: float
    signed: bool = False
    integer: bool = False
    labels: Optional[tuple] = None

    def draw(self, rng, shape, dtype=np.float64) -> np.ndarray:
        if self.labels is not None:
            return np.array(self.labels, dtype=self.dtype).reshape(shape)
        if self.integer:
            values = rng.integers(int(self.low), int(self.high) + 1, shape).astype(np.float64)
        elif self.signed:
            values = rng.uniform(self.low, self.high, shape) * rng.choice([-1.0, 1.0], shape)
        else:
            values = rng.uniform(self.low, self.high, shape)
        return values.astype(dtype)

    def admits(self, values) -> bool:
        """Whether values computed elsewhere lie in this domain (then a test may use them here)."""
        v = np.asarray(values)
        if self.dtype == np.bool_:  # a condition computed earlier (a comparison) will do
            return v.dtype == np.bool_
        if self.labels is not None or v.dtype.kind != "f" or not np.isfinite(v).all():
            return False
        size = np.abs(v) if self.signed else v
        inside = (size >= self.low) & (size <= self.high)
        return bool(inside.all() and (not self.integer or (v == np.round(v)).all()))

    @property
    def dtype(self):
        if self.labels is None:
            return np.dtype(np.float64)
        booleans = all(type(v) is bool for v in self.labels)
        return np.dtype(np.bool_) if booleans else np.dtype(np.int64)


ANY = Domain(-2.0, 2.0)
POSITIVE = Domain(0.5, 2.0)
AWAY_FROM_ZERO = Domain(0.5, 2.0, signed=True)  # |x| in [0.5, 2]: clear of a kink at 0
INTEGERS = Domain(-2, 3, integer=True)  # pow with a negative base: an integer exponent


def labels(*values: int) -> Domain:
    """Class labels (int64), exactly these: cross_entropy's second argument."""
    return Domain(0, max(values), labels=tuple(values))


def booleans(*values: bool) -> Domain:
    """Exactly these bool values: where's condition."""
    return Domain(0, 1, labels=tuple(bool(v) for v in values))


def indices(*values: int) -> Domain:
    """Indices (int64), exactly these, negative ones included: take's second argument."""
    return Domain(min(values), max(values), labels=tuple(values))


class Sample(NamedTuple):
    shapes: Tuple[tuple, ...]  # one shape per argument
    domains: Tuple[Domain, ...]  # one domain per argument
    attrs: dict  # as written in a file (lists, not tuples)
    only_args: Optional[Tuple[int, ...]] = None  # the arguments whose VJP is checked (None: all)


def sample(*shapes, domain=ANY, attrs=None, only_args=None) -> Sample:
    """One case: `domain` is one Domain for every argument, or a list with one per argument."""
    domains = tuple(domain) if isinstance(domain, list) else (domain,) * len(shapes)
    assert len(domains) == len(shapes), "one domain per argument"
    return Sample(tuple(tuple(s) for s in shapes), domains, dict(attrs or {}),
                  None if only_args is None else tuple(only_args))


# the broadcasting the format promises: scalar vs tensor, (3,1) vs (1,3), (2,1,3) vs (3,), ...
BROADCAST_PAIRS = (((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((), (2, 3)), ((2, 3), ()),
                   ((3, 1), (1, 3)), ((1, 3), (3, 1)), ((2, 1, 3), (3,)), ((3,), (2, 1, 3)),
                   ((4,), (2, 1)), ((2, 3), (1, 3)), ((2, 1), (2, 3)), ((1,), (2, 3)),
                   ((2, 1, 3), (1, 4, 1)))
UNARY_SHAPES = ((), (3,), (2, 3), (2, 1, 3))


def binary(domain=ANY, attrs=None):
    return [sample(*pair, domain=domain, attrs=attrs) for pair in BROADCAST_PAIRS]


def unary(domain=ANY, attrs=None):
    return [sample(s, domain=domain, attrs=attrs) for s in UNARY_SHAPES]
