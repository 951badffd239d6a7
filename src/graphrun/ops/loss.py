"""loss: ops that turn predictions and targets into one number (mse, l1_loss, huber, the binary
cross-entropies, cross_entropy, nll_loss) and accuracy, the measure a classifier is watched by
(it has no gradient).

Losses refuse silent broadcasting (PyTorch's mse_loss warns on it): prediction and target must
have the same shape (a number literal target, one value for every element, is fine), and the
class losses take logits (N, C) with labels (N,). A (3, 1) prediction against a (3,) target
would otherwise compare every prediction with every target, (3, 3), and give a plausible wrong
number.
"""

from __future__ import annotations

import numpy as np

from .core import Attr, Kink, OpError, Type, dtype_words, float_dtype, op, shape_str
from .kinds import NUMBER
from .reduce import log_softmax
from .samples import ANY, Domain, labels, sample


def _squeezed(shape):
    return tuple(d for d in shape if d != 1)


def _fix(pred, target, names) -> str:
    """How to make two shapes the same, in words a learner can act on."""
    p, t = pred.shape, target.shape
    if _squeezed(p) == _squeezed(t):
        # (3, 1) against (3,): an axis of size 1 on one side
        one, other = (p, t) if len(p) > len(t) else (t, p)
        which = names[0] if one is p else names[1]
        axes = [i for i, d in enumerate(one) if d == 1]
        axis = axes[-1] if len(one) == len(other) + 1 else axes
        return (f"; squeeze the {which} ({{op: squeeze, args: [...], axis: {axis}}}) or "
                f"reshape the other side to {list(one)} ({{op: reshape, args: [...], shape: "
                f"{list(one)}}})")
    return f"; reshape one side to the other's shape ({{op: reshape, args: [...], shape: {list(p)}}})"


def matching(name, pred, target, names=("pred", "target")) -> np.dtype:
    """The rule of the elementwise losses: both float, of one shape (or a literal target)."""
    dtype = float_dtype([pred, target], name)
    if pred.dtype is None or target.dtype is None or pred.shape == target.shape:
        return dtype
    try:
        hidden = shape_str(np.broadcast_shapes(pred.shape, target.shape))
        why = f" (broadcasting would compare every pair, {hidden}, and give a wrong number)"
    except ValueError:
        why = ""
    raise OpError(f"shape mismatch: {name} compares {names[0]} {shape_str(pred.shape)} with "
                  f"{names[1]} {shape_str(target.shape)} element by element, so their shapes "
                  f"must be equal{why}{_fix(pred, target, names)}", arg=1)


def _mean_loss_infer(name, pred, target, **attrs):
    return Type((), matching(name, pred, target))


def _n(p, t):
    return np.broadcast(p, t).size  # a literal target counts as one value per element


def _elementwise_samples(domains=(ANY, ANY), attrs=None):
    # equal shapes, scalars among them (a number literal target comes from the random graphs)
    return [sample(*s, domain=list(domains), attrs=attrs)
            for s in [((2, 3), (2, 3)), ((4,), (4,)), ((), ()), ((2, 1, 3), (2, 1, 3))]]


op("mse", doc="the mean of (pred - target) ** 2; pred and target of one shape",
   forward=lambda p, t: np.mean(np.square(np.subtract(p, t))),
   # PyTorch's mse_loss_backward: (2/n) * (p - t) * g
   vjps=(lambda g, ans, p, t: 2.0 / _n(p, t) * np.subtract(p, t) * g,
         lambda g, ans, p, t: 2.0 / _n(p, t) * np.subtract(t, p) * g),
   infer=_mean_loss_infer, local=("2({0} - {1})/n", "-2({0} - {1})/n"),
   samples=_elementwise_samples())


op("l1_loss", doc="the mean of |pred - target|; pred and target of one shape",
   forward=lambda p, t: np.mean(np.abs(np.subtract(p, t))),
   # PyTorch: sign(p - t) g / n, 0 where p == t (abs'(0) = 0)
   vjps=(lambda g, ans, p, t: np.sign(np.subtract(p, t)) * (g / _n(p, t)),
         lambda g, ans, p, t: np.sign(np.subtract(t, p)) * (g / _n(p, t))),
   infer=_mean_loss_infer, local=("sign({0} - {1})/n", "-sign({0} - {1})/n"),
   kink=Kink("l1_loss where pred == target", lambda p, t: np.sign(np.subtract(p, t))),
   samples=_elementwise_samples((ANY, Domain(2.5, 3.0))))


def _huber_infer(name, pred, target, delta):
    if not delta > 0:
        raise OpError(f"{name}: delta must be positive (PyTorch's rule); found {delta!r}",
                      attr="delta")
    return _mean_loss_infer(name, pred, target)


def _huber(p, t, delta):
    d = np.abs(np.subtract(p, t))
    return np.mean(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)))


def _huber_vjp(sign):
    def vjp(g, ans, p, t, delta):
        # PyTorch's huber_loss_backward: the difference, clipped to [-delta, delta], times g / n
        x = np.subtract(p, t)
        return sign * np.clip(x, -delta, delta) * (g / _n(p, t))
    return vjp


op("huber", doc="the mean Huber loss: 0.5 d^2 where |d| < delta, else delta (|d| - delta/2), "
                "d = pred - target (PyTorch's huber_loss)",
   forward=_huber, vjps=(_huber_vjp(1.0), _huber_vjp(-1.0)),
   attrs={"delta": Attr(NUMBER, default=1.0, doc="where the square turns into a line "
                                                   "(positive)")},
   infer=_huber_infer, local=("clip({0} - {1}, -delta, delta)/n",
                              "-clip({0} - {1}, -delta, delta)/n"),
   samples=_elementwise_samples() + _elementwise_samples(attrs={"delta": 0.5}))


# ---------------------------------------------------------------------------------------------
# binary cross-entropies

def _binary_infer(name, x, target):
    for i, t in enumerate((x, target)):
        if t.dtype is not None and t.dtype.kind != "f":
            word = ("the logits" if "logits" in name else "the probabilities") if i == 0 \
                else "the targets"
            raise OpError(f"{name} takes float {word} as argument {i + 1}; found {t.dtype}"
                          + (" (targets are 0.0 or 1.0, floats, as in PyTorch: write them as "
                             "floats, or make them with one_hot)" if i == 1 else ""), arg=i,
                          dtype=True)
    names = ("logits" if "logits" in name else "p", "target")
    return Type((), matching(name, x, target, names))


def _log_sigmoid_neg(x):
    """-log sigmoid(x) = log(1 + e^-x), without overflow: max(-x, 0) + log1p(e^-|x|)."""
    return np.maximum(np.negative(x), 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(np.negative(x)))


op("binary_cross_entropy_with_logits",
   doc="the mean of -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), stable for any logit",
   forward=lambda x, t: np.mean((1 - t) * x + _log_sigmoid_neg(x)),
   # PyTorch: (sigmoid(x) - t) g / n for the logits, -x g / n for the target
   vjps=(lambda g, ans, x, t: (_sigmoid(x) - t) * (g / _n(x, t)),
         lambda g, ans, x, t: np.negative(x) * (g / _n(x, t))),
   infer=_binary_infer, local=("(sigmoid({0}) - {1})/n", "-{0}/n"),
   samples=_elementwise_samples((Domain(-4.0, 4.0), Domain(0.0, 1.0))))

LOG_FLOOR = -100.0  # PyTorch clamps each log at -100: a probability of exactly 0 or 1 is finite
# PyTorch's floor of p (1 - p) in the gradient: 1e-12 as a float32 constant, to the bit
BCE_EPSILON = float(np.float32(1e-12))


def _check_probabilities(p):
    bad = (np.asarray(p) < 0) | (np.asarray(p) > 1) | np.isnan(p)
    if np.any(bad):
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {list(at)}" if np.ndim(p) else ""
        raise OpError(f"binary_cross_entropy takes probabilities in [0, 1]; found "
                      f"{float(np.asarray(p)[at])!r}{where} (for logits use "
                      "binary_cross_entropy_with_logits)", arg=0)


def _bce(p, t):
    _check_probabilities(p)
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), LOG_FLOOR)
        log_q = np.maximum(np.log1p(np.negative(p)), LOG_FLOOR)
    return np.mean((t - 1) * log_q - t * log_p)


def _bce_vjp_p(g, ans, p, t):
    # PyTorch: g (p - t) / max(p (1 - p), 1e-12) / n
    return (g / _n(p, t)) * np.subtract(p, t) / np.maximum((1 - p) * p, BCE_EPSILON)


def _bce_vjp_t(g, ans, p, t):
    # PyTorch's binary_cross_entropy_target_backward: (log(1 - p) - log p) g / n, *unclamped*
    # (infinite at p = 0 or 1, where the forward is clamped): followed so that gradients agree
    with np.errstate(divide="ignore"):
        return (g / _n(p, t)) * (np.log1p(np.negative(p)) - np.log(p))


op("binary_cross_entropy",
   doc="the mean of -(t log p + (1 - t) log(1 - p)) for probabilities p, each log clamped at "
       "-100 (as PyTorch)",
   forward=_bce, vjps=(_bce_vjp_p, _bce_vjp_t), infer=_binary_infer,
   local=("({0} - {1})/({0}(1 - {0}))/n", "(log(1 - {0}) - log {0})/n"),
   samples=_elementwise_samples((Domain(0.05, 0.95), Domain(0.0, 1.0))))


# ---------------------------------------------------------------------------------------------
# class losses: logits or log-probabilities (N, C) and int64 labels (N,)

def _class_infer(name, logits, labels, what="logits"):
    dtype = float_dtype([logits], name)
    if len(logits.shape) != 2:
        raise OpError(f"{name} expects {what} of shape (N, C); "
                      f"found {shape_str(logits.shape)}", arg=0)
    if labels.dtype != np.dtype("int64"):
        raise OpError(f"{name} expects int64 class labels as argument 2; found "
                      + dtype_words(labels) + " (write labels as {value: [...], dtype: int64})",
                      arg=1, dtype=True)
    if labels.shape != logits.shape[:1]:
        fix = ""
        if _squeezed(labels.shape) == _squeezed(logits.shape[:1]):
            fix = " (squeeze the labels: {op: squeeze, args: [...]})"
        raise OpError(f"shape mismatch: {name} {what} {shape_str(logits.shape)} need "
                      f"labels of shape {shape_str(logits.shape[:1])}; found "
                      f"{shape_str(labels.shape)}{fix}", arg=1)
    return Type((), dtype)


def _check_labels(labels, c):
    if labels.size and (labels.min() < 0 or labels.max() >= c):
        bad = int(np.flatnonzero((labels < 0) | (labels >= c))[0])
        raise OpError(f"label {int(labels[bad])} at index {bad} is out of range for {c} classes "
                      f"(expected 0..{c - 1})", arg=1)


def _cross_entropy(logits, labels):
    n, c = logits.shape
    _check_labels(labels, c)
    return -np.mean(log_softmax(logits, axis=-1)[np.arange(n), labels])


def _cross_entropy_vjp(g, ans, logits, labels):
    # PyTorch's chain, step by step: nll_loss puts c = -g/N at each label, then log_softmax's
    # backward gives onehot*c - exp(log_softmax)*c (= (softmax - onehot) * g/N)
    n = logits.shape[0]
    c = -(g / n)
    out = -(np.exp(log_softmax(logits, axis=-1)) * c)
    rows = np.arange(n)
    out[rows, labels] += c  # out is a fresh array
    return out


_CLASS_SAMPLES = [sample((4, 3), (4,), domain=[ANY, labels(0, 2, 1, 2)]),
                  sample((1, 5), (1,), domain=[ANY, labels(4)]),
                  sample((3, 2), (3,), domain=[ANY, labels(1, 1, 1)])]

op("cross_entropy", doc="the mean over rows of -log_softmax(logits)[row, label]",
   forward=_cross_entropy, vjps=(_cross_entropy_vjp, None),  # labels are not differentiable
   infer=_class_infer, local=("(softmax({0}) - onehot({1}))/N", "none (labels)"),
   samples=_CLASS_SAMPLES)


def _nll_loss(logp, labels):
    n, c = logp.shape
    _check_labels(labels, c)
    return -np.mean(logp[np.arange(n), labels])


def _nll_loss_vjp(g, ans, logp, labels):
    n = logp.shape[0]
    out = np.zeros(logp.shape, np.result_type(logp, g))
    out[np.arange(n), labels] = -(g / n)  # each row has one label: no index repeats within a row
    return out


op("nll_loss", doc="the mean over rows of -logp[row, label] (PyTorch's nll_loss: give it "
                   "log_softmax)",
   forward=_nll_loss, vjps=(_nll_loss_vjp, None),
   infer=lambda name, logp, labels: _class_infer(name, logp, labels, "log-probabilities"),
   local=("-onehot({1})/N", "none (labels)"), samples=_CLASS_SAMPLES)


def _accuracy(logits, labels):
    # the fraction of rows whose largest logit is at the label; a tie goes to the first of the
    # tied classes (numpy's and PyTorch's argmax)
    _check_labels(labels, logits.shape[1])
    return np.asarray(np.mean(np.argmax(logits, axis=-1) == labels), logits.dtype)


# a measure to watch while training (`train: {report: [acc]}`), never to descend: argmax is
# piecewise constant, so neither argument gets a gradient (the op has none: Op.differentiable)
op("accuracy", doc="the fraction of rows whose largest logit is at the label (no gradient)",
   forward=_accuracy, vjps=(None, None), infer=_class_infer,
   local=("none (a count)", "none (labels)"), samples=_CLASS_SAMPLES)
