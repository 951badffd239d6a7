"""loss: ops that turn predictions and targets into one number (mse, cross_entropy), and accuracy,
the measure a classifier is watched by (it has no gradient)."""

from __future__ import annotations

import numpy as np

from .core import OpError, Type, broadcast, float_dtype, op, shape_str
from .reduce import log_softmax
from .samples import ANY, labels, sample


def _mse_infer(name, pred, target):
    dtype = float_dtype([pred, target], name)
    broadcast(pred.shape, target.shape, op=name)
    return Type((), dtype)


op("mse", doc="the mean of (pred - target) ** 2 over the broadcast shape",
   forward=lambda p, t: np.mean(np.square(np.subtract(p, t))),
   # PyTorch's mse_loss_backward: (2/n) * (p - t) * g
   vjps=(lambda g, ans, p, t: 2.0 / np.broadcast(p, t).size * np.subtract(p, t) * g,
         lambda g, ans, p, t: 2.0 / np.broadcast(p, t).size * np.subtract(t, p) * g),
   infer=_mse_infer, local=("2({0} - {1})/n", "-2({0} - {1})/n"),
   samples=[sample(*s) for s in [((2, 3), (2, 3)), ((2, 3), (3,)), ((), (4,)), ((3,), ()),
                                 ((3, 1), (1, 3)), ((), ())]])


def _cross_entropy_infer(name, logits, labels):
    dtype = float_dtype([logits], name)
    if len(logits.shape) != 2:
        raise OpError(f"{name} expects logits of shape (N, C); "
                      f"found {shape_str(logits.shape)}", arg=0)
    if labels.dtype != np.dtype("int64"):
        raise OpError(f"{name} expects int64 class labels as argument 2; found "
                      + ("a number literal" if labels.dtype is None else str(labels.dtype))
                      + " (write labels as {value: [...], dtype: int64})", arg=1)
    if labels.shape != logits.shape[:1]:
        raise OpError(f"shape mismatch: {name} logits {shape_str(logits.shape)} need "
                      f"labels of shape {shape_str(logits.shape[:1])}; found "
                      f"{shape_str(labels.shape)}", arg=1)
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


op("cross_entropy", doc="the mean over rows of -log_softmax(logits)[row, label]",
   forward=_cross_entropy, vjps=(_cross_entropy_vjp, None),  # labels are not differentiable
   infer=_cross_entropy_infer, local=("(softmax({0}) - onehot({1}))/N", "none (labels)"),
   samples=[sample((4, 3), (4,), domain=[ANY, labels(0, 2, 1, 2)]),
            sample((1, 5), (1,), domain=[ANY, labels(4)]),
            sample((3, 2), (3,), domain=[ANY, labels(1, 1, 1)])])


def _accuracy(logits, labels):
    # the fraction of rows whose largest logit is at the label; a tie goes to the first of the
    # tied classes (numpy's and PyTorch's argmax)
    _check_labels(labels, logits.shape[1])
    return np.asarray(np.mean(np.argmax(logits, axis=-1) == labels), logits.dtype)


# a measure to watch while training (`train: {report: [acc]}`), never to descend: argmax is
# piecewise constant, so neither argument gets a gradient (only_args=(): no VJP to check)
op("accuracy", doc="the fraction of rows whose largest logit is at the label",
   forward=_accuracy, vjps=(None, None),
   infer=_cross_entropy_infer, local=("none (argmax)", "none (labels)"),
   samples=[sample((4, 3), (4,), domain=[ANY, labels(0, 2, 1, 2)], only_args=()),
            sample((1, 5), (1,), domain=[ANY, labels(4)], only_args=())])
