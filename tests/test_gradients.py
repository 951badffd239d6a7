"""Every op's VJPs against central finite differences in float64, driven by the op table.

For each op, CASES lists argument shapes (covering scalars, vectors, matrices and broadcasting
pairs), attributes that change the math, and the domain to draw values from. A registered op with
no cases fails `test_every_op_has_cases`: an op is not done until it is checked here.
"""

import numpy as np
import pytest

from graphrun.executor import unbroadcast
from graphrun.ops import OPS, Type

BROADCAST_PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((), (2, 3)), ((2, 3), ()),
                   ((3, 1), (1, 3)), ((2, 1, 3), (3,)), ((4,), (2, 1)), ((2, 3), (1, 3))]
UNARY_SHAPES = [(), (3,), (2, 3)]

# domain: (low, high) for every argument, or a list of them per argument
POSITIVE = (0.5, 2.0)
ANY = (-2.0, 2.0)
AWAY_FROM_ZERO = "away"  # |x| in [0.5, 2], random sign: clear of kinks at 0


def binary(domain=ANY):
    return [dict(shapes=s, domain=domain) for s in BROADCAST_PAIRS]


def unary(domain=ANY):
    return [dict(shapes=(s,), domain=domain) for s in UNARY_SHAPES]


def reductions():
    out = []
    for axis in (None, 0, -1, 1, (0, 2), (-1, 0)):
        for keepdims in (False, True):
            out.append(dict(shapes=((2, 3, 4),), attrs=dict(axis=axis, keepdims=keepdims)))
    out.append(dict(shapes=((5,),), attrs=dict(axis=0)))
    out.append(dict(shapes=((),), attrs={}))
    return out


MATMUL_PAIRS = [((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
                ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
                ((2, 1, 2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,))]

CASES = {
    "add": binary(), "sub": binary(), "mul": binary(),
    "div": binary([ANY, AWAY_FROM_ZERO]),
    "pow": binary([POSITIVE, ANY]),
    "maximum": binary(), "minimum": binary(),
    "neg": unary(), "exp": unary(), "log": unary(POSITIVE), "sqrt": unary(POSITIVE),
    "square": unary(), "abs": unary(AWAY_FROM_ZERO), "sin": unary(), "cos": unary(),
    "tanh": unary(), "sigmoid": unary((-6.0, 6.0)), "relu": unary(AWAY_FROM_ZERO),
    "softplus": unary((-6.0, 6.0)),
    "matmul": [dict(shapes=s) for s in MATMUL_PAIRS],
    "transpose": [dict(shapes=((2, 3),)), dict(shapes=((2, 3, 4),), attrs=dict(axes=(1, 0, 2))),
                  dict(shapes=((2, 3, 4),), attrs=dict(axes=(-1, 0, 1)))],
    "reshape": [dict(shapes=((2, 3),), attrs=dict(shape=(3, 2))),
                dict(shapes=((2, 3),), attrs=dict(shape=(-1,))),
                dict(shapes=((6,),), attrs=dict(shape=(1, -1, 2)))],
    "concat": [dict(shapes=((2, 3), (4, 3))), dict(shapes=((2, 3), (2, 1)), attrs=dict(axis=-1)),
               dict(shapes=((1, 2), (3, 2), (2, 2)), attrs=dict(axis=0)), dict(shapes=((3,),))],
    "sum": reductions(), "mean": reductions(), "max": reductions(),
    "softmax": [dict(shapes=((2, 3),)), dict(shapes=((2, 3),), attrs=dict(axis=0)),
                dict(shapes=((4,),)), dict(shapes=((2, 3, 4),), attrs=dict(axis=1))],
    "log_softmax": [dict(shapes=((2, 3),)), dict(shapes=((2, 3),), attrs=dict(axis=0)),
                    dict(shapes=((4,),)), dict(shapes=((2, 3, 4),), attrs=dict(axis=-2))],
    "logsumexp": [dict(shapes=((2, 3),)), dict(shapes=((2, 3),), attrs=dict(axis=1)),
                  dict(shapes=((2, 3, 4),), attrs=dict(axis=(0, 2), keepdims=True)),
                  dict(shapes=((4,),), attrs=dict(axis=0, keepdims=False))],
    "mse": [dict(shapes=s) for s in [((2, 3), (2, 3)), ((2, 3), (3,)), ((), (4,)), ((3,), ())]],
    "cross_entropy": [dict(shapes=((4, 3), (4,)), labels=[0, 2, 1, 2]),
                      dict(shapes=((1, 5), (1,)), labels=[4])],
}


def test_every_op_has_cases():
    assert sorted(CASES) == sorted(OPS), "each op in the table needs finite-difference cases"


def _draw(rng, shape, domain):
    if domain == AWAY_FROM_ZERO:
        return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return rng.uniform(domain[0], domain[1], shape)


def _cases():
    for name in sorted(CASES):
        for i, case in enumerate(CASES[name]):
            yield pytest.param(name, case, id=f"{name}-{i}-{case['shapes']}-{case.get('attrs', {})}")


def _numeric_vjp(f, args, i, g, eps=1e-6):
    """d <g, f(args)> / d args[i] by central differences."""
    x = np.array(args[i], dtype=np.float64)
    out = np.zeros_like(x)
    flat = out.reshape(-1)
    for j in range(x.size):
        plus, minus = x.copy().reshape(-1), x.copy().reshape(-1)
        plus[j] += eps
        minus[j] -= eps
        a_plus, a_minus = list(args), list(args)
        a_plus[i], a_minus[i] = plus.reshape(x.shape), minus.reshape(x.shape)
        flat[j] = (np.sum(g * f(*a_plus)) - np.sum(g * f(*a_minus))) / (2 * eps)
    return out


@pytest.mark.parametrize("name,case", _cases())
def test_vjp_matches_finite_differences(name, case):
    op = OPS[name]
    attrs = case.get("attrs", {})
    rng = np.random.default_rng(abs(hash((name, str(case)))) % 2**32)
    shapes = case["shapes"]
    domains = case.get("domain", ANY)
    domains = domains if isinstance(domains, list) else [domains] * len(shapes)
    args = [_draw(rng, s, d) for s, d in zip(shapes, domains)]
    if "labels" in case:
        args[1] = np.array(case["labels"], dtype=np.int64)
    types = [Type(tuple(np.shape(a)), np.asarray(a).dtype) for a in args]
    out_type = op.infer(*types, **attrs)
    ans = op.forward(*args, **attrs)
    assert np.shape(ans) == out_type.shape, "infer and forward disagree on the shape"
    g = rng.uniform(-1.0, 1.0, np.shape(ans))
    for i in range(len(args)):
        vjp = op.vjp(i)
        if vjp is None:
            continue
        analytic = vjp(g, ans, *args, **attrs)
        if np.shape(analytic) != np.shape(args[i]):
            analytic = unbroadcast(np.asarray(analytic), np.shape(args[i]))
        numeric = _numeric_vjp(lambda *a: op.forward(*a, **attrs), args, i, g)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8,
                                   err_msg=f"{name} d/d arg {i}")


@pytest.mark.parametrize("name", sorted(n for n in OPS if n != "cross_entropy"))
def test_float32_stays_float32(name):
    """float32 graphs compute in float32: no VJP may promote to float64."""
    case = CASES[name][0]
    attrs = case.get("attrs", {})
    rng = np.random.default_rng(0)
    domains = case.get("domain", ANY)
    domains = domains if isinstance(domains, list) else [domains] * len(case["shapes"])
    args = [_draw(rng, s, d).astype(np.float32) for s, d in zip(case["shapes"], domains)]
    ans = op_forward = OPS[name].forward(*args, **attrs)
    assert np.asarray(op_forward).dtype == np.float32
    g = np.ones(np.shape(ans), np.float32)
    for i in range(len(args)):
        c = OPS[name].vjp(i)(g, ans, *args, **attrs)
        assert np.asarray(c).dtype == np.float32, f"{name} VJP {i} gave {np.asarray(c).dtype}"
