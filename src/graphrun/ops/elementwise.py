"""elementwise: ops applied element by element, with numpy broadcasting between arguments; the
comparisons (bool results, no gradient) and where."""

from __future__ import annotations

import math

import numpy as np

from .core import BOOL, Attr, Kink, OpError, Type, broadcast, dtype_words, elementwise, float_dtype, op
from .kinds import NUMBER, OPTIONAL_NUMBER, choice
from .samples import (ANY, AWAY_FROM_ZERO, INTEGERS, POSITIVE, Domain, binary, booleans, sample,
                      unary)


def _tie(g, win, tie):
    return 0.5 * g if tie else (g if win else 0.0)


def _extreme_vjp(pick_x):
    """VJP of maximum/minimum: the winner takes g; a tie splits it 0.5/0.5 (as PyTorch)."""
    def vjp(g, ans, x, y):
        return np.where(x == y, 0.5 * g, np.where(pick_x(x, y), g, 0))
    return vjp


def _sign_of_difference(x, y):
    return np.sign(np.subtract(x, y))


# ---------------------------------------------------------------------------------------------
# two arguments

op("add", doc="x + y",
   forward=np.add,
   vjps=(lambda g, ans, x, y: g,
         lambda g, ans, x, y: g),
   scalar=(lambda x, y: x + y, lambda g, ans, x, y: g, lambda g, ans, x, y: g),
   infer=elementwise, local=("1", "1"), flows=True, samples=binary())

op("sub", doc="x - y",
   forward=np.subtract,
   vjps=(lambda g, ans, x, y: g,
         lambda g, ans, x, y: -g),
   scalar=(lambda x, y: x - y, lambda g, ans, x, y: g, lambda g, ans, x, y: -g),
   infer=elementwise, local=("1", "-1"), flows=True, samples=binary())

op("mul", doc="x * y",
   forward=np.multiply,
   vjps=(lambda g, ans, x, y: g * y,
         lambda g, ans, x, y: g * x),
   scalar=(lambda x, y: x * y, lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x),
   infer=elementwise, local=("{1}", "{0}"), flows=True, samples=binary())

op("div", doc="x / y",
   forward=np.divide,
   vjps=(lambda g, ans, x, y: g / y,
         lambda g, ans, x, y: -g * ((x / y) / y)),  # as PyTorch; y * y would overflow sooner
   scalar=(lambda x, y: x / y, lambda g, ans, x, y: g / y,
           lambda g, ans, x, y: -g * ((x / y) / y)),
   infer=elementwise, local=("1/{1}", "-{0}/{1}^2"), samples=binary([ANY, AWAY_FROM_ZERO]))


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


op("pow", doc="x ** y",
   forward=np.power,
   vjps=(_pow_vjp_base, _pow_vjp_exponent),
   scalar=(math.pow,
           lambda g, ans, x, y: 0.0 if y == 0 else g * (y * math.pow(x, y - 1)),
           lambda g, ans, x, y: 0.0 if x == 0 and y >= 0 else g * (ans * math.log(x))),
   infer=elementwise, local=("{1}*{0}^({1}-1)", "{0}^{1}*log({0})"),
   # a negative base with integer exponents: x^y is not differentiable in y there (log x)
   samples=binary([POSITIVE, ANY]) + [
       sample(*shapes, domain=[AWAY_FROM_ZERO, INTEGERS], only_args=[0])
       for shapes in [((3,), (3,)), ((2, 3), ()), ((2, 1), (1, 3))]],
   edges=((0.0, 0.0), (0.0, 2.0), (2.0, 0.0)))

op("maximum", doc="the larger of x and y",
   forward=np.maximum,
   vjps=(_extreme_vjp(lambda x, y: x > y),
         _extreme_vjp(lambda x, y: y > x)),
   scalar=(lambda x, y: x if x >= y else y,
           lambda g, ans, x, y: _tie(g, x > y, x == y),
           lambda g, ans, x, y: _tie(g, y > x, x == y)),
   infer=elementwise, local=("[{0} > {1}] (0.5 on a tie)", "[{1} > {0}] (0.5 on a tie)"),
   kink=Kink("a tie in maximum", _sign_of_difference), samples=binary(), edges=((1.5, 1.5),))

op("minimum", doc="the smaller of x and y",
   forward=np.minimum,
   vjps=(_extreme_vjp(lambda x, y: x < y),
         _extreme_vjp(lambda x, y: y < x)),
   scalar=(lambda x, y: x if x <= y else y,
           lambda g, ans, x, y: _tie(g, x < y, x == y),
           lambda g, ans, x, y: _tie(g, y < x, x == y)),
   infer=elementwise, local=("[{0} < {1}] (0.5 on a tie)", "[{1} < {0}] (0.5 on a tie)"),
   kink=Kink("a tie in minimum", _sign_of_difference), samples=binary(), edges=((-0.5, -0.5),))


# ---------------------------------------------------------------------------------------------
# one argument

def _sigmoid(x):
    # PyTorch's form 1 / (1 + exp(-x)): for x < -709 exp(-x) overflows to inf and the result is
    # exactly 0 (as PyTorch), where the "stable" e / (1 + e) would give subnormal numbers
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(np.negative(x)))


def _sigmoid_scalar(x):
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:  # exactly 0, as the reference
        return 0.0


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


def _tanh_scalar(x):
    # as _tanh: from |x| = 5 on, rounded once from extended precision (math.tanh is an ulp off for
    # ~5% of inputs)
    if -TANH_EXACT_FROM < x < TANH_EXACT_FROM:
        return math.tanh(x)
    return float(np.tanh(np.longdouble(x)))


SOFTPLUS_THRESHOLD = 20  # PyTorch's default: softplus(x) = x above it (log1p(exp(x)) - x < 3e-9)


def _softplus(x):
    # exp only of x <= 20: no overflow for any x; log1p(exp(-1000)) = log1p(0) = 0
    return np.where(x > SOFTPLUS_THRESHOLD, x, np.log1p(np.exp(np.minimum(x, SOFTPLUS_THRESHOLD))))


def _softplus_vjp(g, ans, x):
    # PyTorch's softplus_backward: g * z / (z + 1) with z = exp(x); g itself above the threshold
    z = np.exp(np.minimum(x, SOFTPLUS_THRESHOLD))
    return np.where(x > SOFTPLUS_THRESHOLD, g, g * z / (z + 1))


def _softplus_vjp_scalar(g, ans, x):
    if x > SOFTPLUS_THRESHOLD:
        return g
    z = math.exp(x)
    return g * z / (z + 1)


op("neg", doc="-x",
   forward=np.negative, vjps=(lambda g, ans, x: -g,),
   scalar=(lambda x: -x, lambda g, ans, x: -g),
   infer=elementwise, local=("-1",), flows=True, samples=unary())

op("exp", doc="e ** x",
   forward=np.exp, vjps=(lambda g, ans, x: g * ans,),
   scalar=(math.exp, lambda g, ans, x: g * ans),
   infer=elementwise, local=("exp({0})",), samples=unary())

op("log", doc="the natural logarithm of x",
   forward=np.log, vjps=(lambda g, ans, x: g / x,),
   scalar=(math.log, lambda g, ans, x: g / x),
   infer=elementwise, local=("1/{0}",), samples=unary(POSITIVE))

op("sqrt", doc="the square root of x",
   forward=np.sqrt, vjps=(lambda g, ans, x: g / (2 * ans),),
   scalar=(math.sqrt, lambda g, ans, x: g / (2 * ans)),
   infer=elementwise, local=("1/(2*sqrt({0}))",), samples=unary(POSITIVE))

op("square", doc="x * x",
   forward=np.square, vjps=(lambda g, ans, x: g * (2 * x),),
   scalar=(lambda x: x * x, lambda g, ans, x: g * (2 * x)),
   infer=elementwise, local=("2{0}",), samples=unary())

op("abs", doc="|x|",
   forward=np.abs, vjps=(lambda g, ans, x: g * np.sign(x),),
   scalar=(abs, lambda g, ans, x: g * (1.0 if x > 0 else (-1.0 if x < 0 else 0.0))),
   infer=elementwise,
   local=("sign({0})",),  # sign(0) = 0: the subgradient 0 at the kink, as PyTorch
   kink=Kink("abs at 0", np.sign), samples=unary(AWAY_FROM_ZERO), edges=((0.0,),))

op("sin", doc="the sine of x",
   forward=np.sin, vjps=(lambda g, ans, x: g * np.cos(x),),
   scalar=(math.sin, lambda g, ans, x: g * math.cos(x)),
   infer=elementwise, local=("cos({0})",), samples=unary())

op("cos", doc="the cosine of x",
   forward=np.cos, vjps=(lambda g, ans, x: -g * np.sin(x),),
   scalar=(math.cos, lambda g, ans, x: -g * math.sin(x)),
   infer=elementwise, local=("-sin({0})",), samples=unary())

op("tanh", doc="the hyperbolic tangent of x",
   forward=_tanh, vjps=(lambda g, ans, x: g * (1 - ans * ans),),
   scalar=(_tanh_scalar, lambda g, ans, x: g * (1 - ans * ans)),
   infer=elementwise, local=("1 - tanh({0})^2",), samples=unary(),
   edges=((TANH_EXACT_FROM,), (-7.5,), (12.0,)))  # where extended precision takes over

op("sigmoid", doc="1 / (1 + e ** -x)",
   forward=_sigmoid, vjps=(lambda g, ans, x: g * (1 - ans) * ans,),
   scalar=(_sigmoid_scalar, lambda g, ans, x: g * (1 - ans) * ans),
   infer=elementwise, local=("sigmoid({0})*(1 - sigmoid({0}))",),
   samples=unary(Domain(-6.0, 6.0)), edges=((1000.0,), (-1000.0,)))

op("relu", doc="max(x, 0)",
   forward=lambda x: np.maximum(x, 0), vjps=(lambda g, ans, x: np.where(x > 0, g, 0),),
   scalar=(lambda x: x if x > 0 else 0.0, lambda g, ans, x: g if x > 0 else 0.0),
   infer=elementwise, local=("[{0} > 0]",),  # relu'(0) = 0, as PyTorch
   kink=Kink("relu at 0", np.sign), samples=unary(AWAY_FROM_ZERO), edges=((0.0,),))

op("leaky_relu", doc="x where x > 0, else slope * x (PyTorch's leaky_relu)",
   forward=lambda x, slope: np.where(x > 0, x, slope * x),
   vjps=(lambda g, ans, x, slope: np.where(x > 0, g, slope * g),),  # slope at 0, as PyTorch
   attrs={"slope": Attr(NUMBER, default=0.01, doc="the slope for x <= 0")},
   scalar=(lambda x, slope: x if x > 0 else slope * x,
           lambda g, ans, x, slope: g if x > 0 else slope * g),
   infer=elementwise, local=("[{0} > 0] + slope [{0} <= 0]",),
   kink=Kink("leaky_relu at 0", lambda x, slope: np.sign(x)),
   samples=unary(AWAY_FROM_ZERO) + unary(AWAY_FROM_ZERO, attrs={"slope": 0.2})
   + [sample((2, 3), domain=AWAY_FROM_ZERO, attrs={"slope": -1.5}),
      sample((), domain=AWAY_FROM_ZERO, attrs={"slope": 3})],
   edges=((0.0,),))

op("softplus", doc="log(1 + e ** x); x itself above 20",
   forward=_softplus, vjps=(_softplus_vjp,),
   scalar=(lambda x: x if x > SOFTPLUS_THRESHOLD else math.log1p(math.exp(x)),
           _softplus_vjp_scalar),
   infer=elementwise, local=("sigmoid({0}) (1 above 20)",),
   # both sides of the threshold at 20, where softplus(x) becomes x
   samples=unary(Domain(-6.0, 6.0)) + [sample((4,), domain=Domain(15.0, 19.0)),
                                        sample((4,), domain=Domain(21.0, 30.0))],
   edges=((1000.0,), (-1000.0,)))

op("log1p", doc="log(1 + x), exact for small x",
   forward=np.log1p, vjps=(lambda g, ans, x: g / (x + 1),),  # PyTorch: grad / (self + 1)
   scalar=(math.log1p, lambda g, ans, x: g / (x + 1)),
   infer=elementwise, local=("1/(1 + {0})",), samples=unary(Domain(-0.5, 2.0)))

op("expm1", doc="e ** x - 1, exact for small x",
   forward=np.expm1, vjps=(lambda g, ans, x: g * (ans + 1),),  # PyTorch: grad * (result + 1)
   scalar=(math.expm1, lambda g, ans, x: g * (ans + 1)),
   infer=elementwise, local=("exp({0})",), samples=unary())

op("reciprocal", doc="1 / x",
   forward=np.reciprocal,
   vjps=(lambda g, ans, x: -g * (ans * ans),),  # PyTorch: -grad * result^2
   scalar=(lambda x: 1.0 / x, lambda g, ans, x: -g * (ans * ans)),
   infer=elementwise, local=("-1/{0}^2",), samples=unary(AWAY_FROM_ZERO))


def _sign_scalar(x):
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


op("sign", doc="-1, 0 or 1, the sign of x",
   forward=np.sign,
   # zero everywhere, as PyTorch (not nan or inf at 0: the jump has no derivative to give)
   vjps=(lambda g, ans, x: np.zeros_like(ans),),
   scalar=(_sign_scalar, lambda g, ans, x: 0.0),
   infer=elementwise, local=("0",), kink=Kink("sign at 0", np.sign),
   samples=unary(AWAY_FROM_ZERO), edges=((0.0,),))


def _elu(x, alpha):
    # expm1, not exp - 1: elu(-1e-10) keeps its digits
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _elu_scalar(x, alpha):
    return x if x > 0 else alpha * math.expm1(x)


op("elu", doc="x where x > 0, else alpha * (e ** x - 1) (PyTorch's elu)",
   forward=_elu,
   # PyTorch's elu_backward: the x <= 0 branch at 0, so alpha * g there
   vjps=(lambda g, ans, x, alpha: np.where(x > 0, g, g * (alpha * np.exp(np.minimum(x, 0)))),),
   attrs={"alpha": Attr(NUMBER, default=1.0, doc="the scale of the negative part")},
   scalar=(_elu_scalar,
           lambda g, ans, x, alpha: g if x > 0 else g * (alpha * math.exp(x))),
   infer=elementwise, local=("[{0} > 0] + alpha exp({0}) [{0} <= 0]",),
   kink=Kink("elu at 0", lambda x, alpha: np.sign(x)),
   samples=unary(AWAY_FROM_ZERO) + unary(AWAY_FROM_ZERO, attrs={"alpha": 0.5})
   + [sample((3,), domain=AWAY_FROM_ZERO, attrs={"alpha": 2})],
   edges=((0.0,), (-1e-10,)))


# gelu, as PyTorch computes it (aten/src/ATen/native/cpu/Activation.cpp), constant for constant
SQRT1_2 = math.sqrt(0.5)
GELU_PDF = 2 / math.sqrt(math.pi) * SQRT1_2 * 0.5  # 1/sqrt(2 pi)
GELU_BETA = math.sqrt(2) * 2 / math.sqrt(math.pi) * 0.5  # sqrt(2/pi)
GELU_KAPPA = 0.044715
_ERF = np.vectorize(math.erf, otypes=[np.float64])  # numpy has no erf; libm's, element by element


def _erf(z):
    z = np.asarray(z)
    return _ERF(z).astype(z.dtype, copy=False)


# The tanh form uses graphrun's tanh (correctly rounded from |x| = 5, as PyTorch's): 1 + tanh
# cancels for x < -3, where numpy's one-ulp error would move the result by up to 1%

def _gelu(x, approximate):
    if approximate == "tanh":
        inner = GELU_BETA * (x + GELU_KAPPA * (x * x * x))
        return 0.5 * x * (1 + _tanh(inner))
    return x * 0.5 * (1 + _erf(x * SQRT1_2))


def _gelu_vjp(g, ans, x, approximate):
    if approximate == "tanh":
        x_sq = x * x
        t = _tanh(GELU_BETA * (x + GELU_KAPPA * (x_sq * x)))
        left = 0.5 * x
        right_derivative = left * (1 - t * t) * (GELU_BETA * (1 + 3 * GELU_KAPPA * x_sq))
        return g * (0.5 * (1 + t) + right_derivative)
    cdf = 0.5 * (1 + _erf(x * SQRT1_2))
    pdf = GELU_PDF * np.exp(x * x * -0.5)
    return g * (cdf + x * pdf)


# The twin's tanh form calls the reference's tanh: math.tanh can be an ulp off from it, and
# 1 + tanh cancels near x = -2, turning that ulp into many

def _gelu_scalar(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + float(_tanh(np.float64(GELU_BETA * (x + GELU_KAPPA * (x * x * x))))))
    return x * 0.5 * (1 + math.erf(x * SQRT1_2))


def _gelu_vjp_scalar(g, ans, x, approximate):
    if approximate == "tanh":
        t = float(_tanh(np.float64(GELU_BETA * (x + GELU_KAPPA * (x * x * x)))))
        right = 0.5 * x * (1 - t * t) * (GELU_BETA * (1 + 3 * GELU_KAPPA * x * x))
        return g * (0.5 * (1 + t) + right)
    return g * (0.5 * (1 + math.erf(x * SQRT1_2)) + x * (GELU_PDF * math.exp(x * x * -0.5)))


op("gelu", doc="x * Phi(x), Phi the standard normal CDF (PyTorch's gelu; approximate: tanh)",
   forward=_gelu, vjps=(_gelu_vjp,),
   attrs={"approximate": Attr(choice("none", "tanh"), default="none",
                              doc="none: the exact erf form; tanh: PyTorch's tanh approximation")},
   scalar=(_gelu_scalar, _gelu_vjp_scalar),
   infer=elementwise, local=("Phi({0}) + {0} phi({0})",),
   samples=unary(Domain(-3.0, 3.0)) + unary(Domain(-3.0, 3.0), attrs={"approximate": "tanh"})
   + [sample((4,), domain=Domain(-3.0, 3.0), attrs={"approximate": "none"})],
   edges=((0.0,), (-40.0,), (40.0,)))


def _silu_vjp(g, ans, x):
    s = _sigmoid(x)
    return g * (s * (1 + x * (1 - s)))  # PyTorch's silu_backward


op("silu", doc="x * sigmoid(x) (PyTorch's silu, also called swish)",
   forward=lambda x: x * _sigmoid(x), vjps=(_silu_vjp,),
   scalar=(lambda x: x * _sigmoid_scalar(x),
           lambda g, ans, x: g * (_sigmoid_scalar(x) * (1 + x * (1 - _sigmoid_scalar(x))))),
   infer=elementwise, local=("sigmoid({0}) (1 + {0} (1 - sigmoid({0})))",),
   samples=unary(Domain(-4.0, 4.0)), edges=((1000.0,), (-1000.0,)))


def _clip(x, min, max):
    # torch.clamp: max(x, min) first, then min(., max), so min > max gives max everywhere
    if min is not None:
        x = np.maximum(x, min)
    if max is not None:
        x = np.minimum(x, max)
    return x


def _inside(x, min, max):
    """Where clip lets the gradient through: min <= x <= max, bounds included (torch.clamp)."""
    inside = np.ones(np.shape(x), bool)
    if min is not None:
        inside &= np.asarray(x) >= min
    if max is not None:
        inside &= np.asarray(x) <= max
    return inside


def _clip_scalar(x, min, max):
    if min is not None and x < min:
        x = min
    if max is not None and x > max:
        x = max
    return x


def _clip_vjp_scalar(g, ans, x, min, max):
    return g if (min is None or x >= min) and (max is None or x <= max) else 0.0


op("clip", doc="x limited to [min, max] (PyTorch's clamp; either bound may be left out)",
   forward=_clip,
   vjps=(lambda g, ans, x, min, max: np.where(_inside(x, min, max), g, 0),),
   attrs={"min": Attr(OPTIONAL_NUMBER, default=None, doc="the lower bound; null: none"),
          "max": Attr(OPTIONAL_NUMBER, default=None, doc="the upper bound; null: none")},
   scalar=(_clip_scalar, _clip_vjp_scalar),
   infer=elementwise, local=("[min <= {0} <= max]",),
   kink=Kink("clip at a bound", lambda x, min, max:
             (np.asarray(x) >= (-np.inf if min is None else min)) * 1
             + (np.asarray(x) <= (np.inf if max is None else max)) * 2),
   samples=[sample((2, 3), attrs={"min": -0.5, "max": 0.5}), sample((4,), attrs={"min": 0.0}),
            sample((), attrs={"max": 0.25}), sample((2, 1, 3), attrs={"min": None, "max": 1}),
            sample((3,), attrs={"min": 1.0, "max": -1.0}), sample((3,)),
            sample((2, 3), attrs={"min": -1, "max": None})],
   edges=((0.0,), (-3.0,)))


# ---------------------------------------------------------------------------------------------
# comparisons (bool results, no gradient) and where

def _compare_infer(name, x, y):
    """Two numbers of any dtype (floats, int64 indices, bools) compared element by element:
    a bool result of the broadcast shape."""
    return Type(broadcast(x.shape, y.shape, op=name), BOOL)


for _name, _fn, _words in (("gt", np.greater, "x > y"), ("ge", np.greater_equal, "x >= y"),
                           ("lt", np.less, "x < y"), ("le", np.less_equal, "x <= y"),
                           ("eq", np.equal, "x == y"), ("ne", np.not_equal, "x != y")):
    op(_name, doc=f"{_words}, element by element: bool values, no gradient",
       forward=_fn, vjps=(None, None), infer=_compare_infer,
       local=("none (a comparison)", "none (a comparison)"), samples=binary())


def _where_infer(name, cond, a, b):
    if cond.dtype != BOOL:
        raise OpError(f"{name} expects a bool condition as argument 1, made by a comparison (gt, "
                      f"ge, lt, le, eq or ne: {{op: gt, args: [m, 0]}}); found "
                      f"{dtype_words(cond)}", arg=0, dtype=True)
    dtype = float_dtype([a, b], name)
    return Type(broadcast(cond.shape, a.shape, b.shape, op=name), dtype)


_T, _F = True, False

op("where", doc="a where cond is true, else b (numpy's where, PyTorch's where)",
   forward=np.where,
   vjps=(None,  # the condition has no gradient
         lambda g, ans, c, a, b: np.where(c, g, 0),
         lambda g, ans, c, a, b: np.where(c, 0, g)),
   infer=_where_infer, local=("none (the condition)", "[cond]", "[not cond]"),
   samples=[sample((3,), (3,), (3,), domain=[booleans(_T, _F, _T), ANY, ANY]),
            sample((2, 3), (2, 3), (), domain=[booleans(_T, _F, _F, _T, _T, _F), ANY, ANY]),
            sample((2, 1), (1, 3), (2, 3), domain=[booleans(_F, _T), ANY, ANY]),
            sample((), (4,), (4,), domain=[booleans(_T), ANY, ANY]),
            sample((2, 3), (3,), (2, 1), domain=[booleans(_T, _T, _F, _F, _T, _F), ANY, ANY])])
