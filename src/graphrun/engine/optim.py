"""optim: torch.optim's SGD, Adam and AdamW, and its StepLR and CosineAnnealingLR, formula for
formula (the algorithms torch documents, in the order its CPU implementation applies them).

One definition serves both paths. An optimizer's `step(values, grads, lr, t)` reads `grads[slot]`
and updates `values[slot]` for the params' slots, with arithmetic operators and `sqrt` only, so
the same lines run
- on numpy arrays (the reference): in place where torch works in place (`p -= lr * d` costs one
  temporary, as the same loop written by hand), and
- on Python floats (a graph of scalars, engine/train.py's fast path): `-=` on a list entry
  rebinds it.
A float64 array and a Python float take the same IEEE operations in the same order, so both paths
give the same bits. Nothing here allocates per step beyond the temporaries of the formulas.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np


def _copy(x):
    """A value the optimizer may change in place later (numpy scalars and floats are immutable)."""
    return x.copy() if isinstance(x, np.ndarray) else x


class SGD:
    """torch.optim.SGD: with weight_decay, d = g + weight_decay * p; with momentum, the buffer
    b = d on the first step, else b = momentum * b + (1 - dampening) * d, and d = d + momentum *
    b (nesterov) or d = b; then p = p - lr * d."""

    def __init__(self, slots: Sequence[int], momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0, sqrt=None):
        self.slots = tuple(slots)
        self.momentum, self.dampening = momentum, dampening
        self.nesterov, self.weight_decay = nesterov, weight_decay
        self.buffers = [None] * len(self.slots)  # the momentum buffers ("velocity"), by param

    def step(self, values, grads, lr: float, t: int) -> None:
        mu, wd = self.momentum, self.weight_decay
        keep = 1 - self.dampening
        for k, s in enumerate(self.slots):
            d = grads[s]
            if wd != 0:
                d = d + wd * values[s]
            if mu != 0:
                b = self.buffers[k]
                if b is None:  # torch starts the buffer at the first step's gradient
                    b = _copy(d)
                else:
                    b *= mu
                    b += keep * d
                self.buffers[k] = b
                d = d + mu * b if self.nesterov else b
            values[s] -= lr * d

    def state(self, k: int) -> dict:
        return {} if self.momentum == 0 else {"velocity": self.buffers[k]}


class Adam:
    """torch.optim.Adam (L2 weight decay: g = g + weight_decay * p) and, with `decoupled`,
    torch.optim.AdamW (p = p * (1 - lr * weight_decay) first). Then m = beta1 * m + (1 - beta1) * g,
    v = beta2 * v + (1 - beta2) * g * g, and with the bias corrections c1 = 1 - beta1^t,
    c2 = 1 - beta2^t: p = p - (lr / c1) * m / (sqrt(v) / sqrt(c2) + eps)."""

    def __init__(self, slots: Sequence[int], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled=False, sqrt=math.sqrt):
        self.slots = tuple(slots)
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay, self.decoupled = eps, weight_decay, decoupled
        self.sqrt = sqrt  # math.sqrt on floats, np.sqrt on arrays: both correctly rounded
        self.m = [None] * len(self.slots)  # first moments, by param
        self.v = [None] * len(self.slots)  # second moments

    def step(self, values, grads, lr: float, t: int) -> None:
        b1, b2, eps, wd, sqrt = self.beta1, self.beta2, self.eps, self.weight_decay, self.sqrt
        step_size = lr / (1 - b1 ** t)
        c2_sqrt = (1 - b2 ** t) ** 0.5  # as torch: a Python float's ** 0.5
        for k, s in enumerate(self.slots):
            g = grads[s]
            if wd != 0:
                if self.decoupled:
                    values[s] *= 1 - lr * wd
                else:
                    g = g + wd * values[s]
            m, v = self.m[k], self.v[k]
            if m is None:  # torch's zeros_like(param)
                m = np.zeros_like(values[s]) if isinstance(values[s], np.ndarray) else 0.0
                v = _copy(m)
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            self.m[k], self.v[k] = m, v
            values[s] -= step_size * m / (sqrt(v) / c2_sqrt + eps)

    def state(self, k: int) -> dict:
        return {"m": self.m[k], "v": self.v[k]}


def make(settings, slots: Sequence[int], sqrt=np.sqrt):
    """The optimizer the settings name, over the params at `slots`."""
    options = dict(settings.options)
    if settings.optimizer == "sgd":
        return SGD(slots, **options)
    return Adam(slots, tuple(options["betas"]), options["eps"], options["weight_decay"],
                decoupled=settings.optimizer == "adamw", sqrt=sqrt)


def bias_corrections(settings, t: int):
    """Adam's (1 - beta1^t, 1 - beta2^t) at step t, as Adam.step computes them."""
    b1, b2 = dict(settings.options)["betas"]
    return 1 - b1 ** t, 1 - b2 ** t


def learning_rates(settings) -> Iterator[float]:
    """The learning rate of each step, t = 1, 2, ...: torch's scheduler stepped once after each
    optimizer step, so step t uses the rate of the scheduler's epoch t - 1. The recursive forms
    torch computes (its get_lr), not the closed forms, so that the rates agree to the last bit."""
    schedule = dict(settings.schedule)
    kind, lr = schedule["kind"], settings.lr
    if kind == "constant":
        while True:
            yield lr
    if kind == "step":  # StepLR: times gamma at every step_size-th epoch
        size, gamma, epoch = schedule["step_size"], schedule["gamma"], 0
        while True:
            if epoch and epoch % size == 0:
                lr = lr * gamma
            yield lr
            epoch += 1
    # CosineAnnealingLR, recursively as torch.optim.lr_scheduler.CosineAnnealingLR.get_lr
    base, t_max, eta_min = lr, schedule["t_max"], schedule["eta_min"]
    yield lr
    epoch = 1
    while True:
        if (epoch - 1 - t_max) % (2 * t_max) == 0:
            lr = lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        else:
            lr = ((1 + math.cos(math.pi * epoch / t_max))
                  / (1 + math.cos(math.pi * (epoch - 1) / t_max)) * (lr - eta_min) + eta_min)
        yield lr
        epoch += 1
