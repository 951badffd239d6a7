"""linalg: products that contract axes (matmul)."""

from __future__ import annotations

import numpy as np

from .core import OpError, Type, float_dtype, op, shape_str
from .samples import sample


def _matmul_infer(name, a, b):
    dtype = float_dtype([a, b], name)
    sa, sb = a.shape, b.shape
    for i, s in enumerate((sa, sb)):
        if len(s) == 0:
            raise OpError(f"{name} needs arguments with at least one axis; "
                          f"argument {i + 1} is a scalar (use mul)", arg=i)
    a2 = (1,) + sa if len(sa) == 1 else sa
    b2 = sb + (1,) if len(sb) == 1 else sb
    if a2[-1] != b2[-2]:
        raise OpError(f"shape mismatch: {name} {shape_str(sa)} @ {shape_str(sb)}: "
                      f"{a2[-1]} columns against {b2[-2]} rows")
    try:
        batch = tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
    except ValueError:
        raise OpError(f"shape mismatch: {name} {shape_str(sa)} @ {shape_str(sb)}: batch shapes "
                      f"{shape_str(a2[:-2])} and {shape_str(b2[:-2])} do not broadcast") from None
    shape = batch + (a2[-2],) * (len(sa) > 1) + (b2[-1],) * (len(sb) > 1)
    return Type(shape, dtype)


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


# 1-D on either side, batches on either side, and batches that broadcast against each other
MATMUL_PAIRS = (((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
                ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
                ((2, 1, 2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)),
                ((1, 2, 3), (4, 3, 2)), ((1, 3), (3, 1)))

op("matmul", doc="the matrix product a @ b, as numpy.matmul (1-D operands, batches)",
   forward=np.matmul, vjps=(_matmul_vjp_a, _matmul_vjp_b), infer=_matmul_infer,
   local=("{g} @ {1}^T", "{0}^T @ {g}"), flows=True,
   samples=[sample(*pair) for pair in MATMUL_PAIRS])
