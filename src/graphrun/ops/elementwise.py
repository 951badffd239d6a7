"""elementwise: ops applied element by element, with numpy broadcasting between arguments."""

from __future__ import annotations

import math

import numpy as np

from .core import Attr, Kink, elementwise, op
from .kinds import NUMBER
from .samples import ANY, AWAY_FROM_ZERO, INTEGERS, POSITIVE, Domain, binary, sample, unary


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
