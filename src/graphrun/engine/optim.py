"""optim: torch.optim's SGD, Adam and AdamW, and its StepLR and CosineAnnealingLR, formula for
formula (the algorithms torch documents, in the order its CPU implementation applies them).

Each update is written once, as Python source for one param (`_sgd`, `_adam` below), the param's
value, gradient and state being names the caller chooses, and the options constants in the text.
The same lines serve both paths:
- on numpy arrays (the reference) they are compiled into `Optimizer.step`: augmented assignments
  work in place where torch does (`p -= lr * d` costs one temporary, as the loop written by hand);
- on Python floats (a graph of scalars) engine/scalar_step.py writes them into its training loop,
  where `-=` on a list entry rebinds it.
A float64 array and a Python float take the same IEEE operations in the same order, so both paths
give the same bits. Constants are written with repr(), which reads back as the same float.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, List, Optional, Sequence

import numpy as np


def _sgd(o: dict, value: str, grad: str, state: Callable[[int], str]) -> List[str]:
    """torch.optim.SGD: with weight_decay, d = g + weight_decay * p; with momentum, the buffer
    (the velocity) b = d on the first step, else b = momentum * b + (1 - dampening) * d, and
    d = d + momentum * b (nesterov) or d = b; then p = p - lr * d."""
    mu, tau, wd = o["momentum"], o["dampening"], o["weight_decay"]
    lines = [f"d = {grad}"]
    if wd != 0:
        lines.append(f"d = d + {wd!r} * {value}")
    if mu != 0:
        b = state(0)
        lines += [f"if {b} is None:",  # torch starts the buffer at the first step's gradient
                  f"    {b} = copy(d)",
                  "else:",
                  f"    {b} *= {mu!r}",
                  f"    {b} += {1 - tau!r} * d"]
        lines.append(f"d = d + {mu!r} * {b}" if o["nesterov"] else f"d = {b}")
    lines.append(f"{value} -= lr * d")
    return lines


def _adam(o: dict, decoupled: bool, value: str, grad: str,
          state: Callable[[int], str]) -> List[str]:
    """torch.optim.Adam (L2 weight decay: g = g + weight_decay * p) and, `decoupled`,
    torch.optim.AdamW (p = p * (1 - lr * weight_decay) first). Then m = beta1 * m +
    (1 - beta1) * g, v = beta2 * v + (1 - beta2) * g * g, and with the bias corrections of the
    step's prelude: p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""
    (b1, b2), eps, wd = o["betas"], o["eps"], o["weight_decay"]
    m, v = state(0), state(1)
    lines = [f"d = {grad}"]
    if wd != 0:
        lines.append(f"{value} *= 1 - lr * {wd!r}" if decoupled else f"d = d + {wd!r} * {value}")
    return lines + [f"{m} *= {b1!r}",
                    f"{m} += {1 - b1!r} * d",
                    f"{v} *= {b2!r}",
                    f"{v} += {1 - b2!r} * d * d",
                    f"{value} -= step_size * {m} / (sqrt({v}) / c2_sqrt + {eps!r})"]


def _adam_prelude(o: dict) -> List[str]:
    """What Adam computes once per step: its step size and sqrt(1 - beta2^t), as torch does (a
    Python float's ** 0.5)."""
    b1, b2 = o["betas"]
    return [f"step_size = lr / (1 - {b1!r} ** t)", f"c2_sqrt = (1 - {b2!r} ** t) ** 0.5"]


STATE = {"sgd": ("velocity",), "adam": ("m", "v"), "adamw": ("m", "v")}
# each state entry's name in a training results file: torch's state_dict keys
STATE_KEYS = {"velocity": "momentum_buffer", "m": "exp_avg", "v": "exp_avg_sq"}


def state_keys(settings) -> tuple:
    """The training results file's sections of the optimizer's state the settings keep (none
    for SGD without momentum)."""
    if settings.optimizer == "sgd" and dict(settings.options)["momentum"] == 0:
        return ()
    return tuple(STATE_KEYS[name] for name in STATE[settings.optimizer])


class Optimizer:
    """The update the settings name, over the params at `slots`, with its state per param
    (SGD's velocity, None until the first step; Adam's m and v, zeros of the param's shape), or
    the state `start` gives (param k's entries, in state_names order: a resumed run's), copied:
    the updates work on it in place."""

    def __init__(self, settings, slots: Sequence[int], values, arrays: bool = True,
                 start: Optional[Sequence[Sequence]] = None):
        self.name, self.options = settings.optimizer, dict(settings.options)
        self.slots = tuple(slots)
        self.state_names = STATE[self.name] if self._stateful() else ()
        self.state: List[list] = []
        for k, s in enumerate(self.slots):
            if start is not None:
                self.state.append([np.array(x, dtype=np.asarray(values[s]).dtype) if arrays
                                   else float(x) for x in start[k]])
            elif self.name == "sgd":
                self.state.append([None] * len(self.state_names))
            else:
                zero = np.zeros_like(values[s]) if arrays else 0.0
                self.state.append([zero, np.copy(zero) if arrays else 0.0])
        self.sqrt = np.sqrt if arrays else math.sqrt
        self.copy = np.array if arrays else float  # float() of a float is that float
        self.step = self._compile()

    def _stateful(self) -> bool:
        return self.name != "sgd" or self.options["momentum"] != 0

    def lines(self, value: Callable[[int], str], grad: Callable[[int], str],
              state: Callable[[int, int], str]) -> List[str]:
        """The source of one step of the update for every param: value(slot), grad(slot) and
        state(k, j) name the param's value, its gradient and its state's j-th entry."""
        out = _adam_prelude(self.options) if self.name != "sgd" else []
        for k, s in enumerate(self.slots):
            def named(j, k=k):
                return state(k, j)
            if self.name == "sgd":
                out += _sgd(self.options, value(s), grad(s), named)
            else:
                out += _adam(self.options, self.name == "adamw", value(s), grad(s), named)
        return out

    def _compile(self):
        """step(values, grads, lr, t): the update of every param, in place for arrays."""
        body = self.lines(lambda s: f"values[{s}]", lambda s: f"grads[{s}]",
                          lambda k, j: f"state[{k}][{j}]")
        source = ("def step(values, grads, lr, t, state=state, sqrt=sqrt, copy=copy):\n"
                  + "".join(f"    {line}\n" for line in body))
        namespace = {"state": self.state, "sqrt": self.sqrt, "copy": self.copy}
        exec(compile(source, f"<graphrun: {self.name} update>", "exec"), namespace)
        return namespace["step"]

    def state_of(self, k: int) -> dict:
        """The k-th param's state, by name (velocity; m and v)."""
        return dict(zip(self.state_names, self.state[k]))


def bias_corrections(settings, t: int):
    """Adam's (1 - beta1^t, 1 - beta2^t) at step t, as its prelude computes them."""
    b1, b2 = dict(settings.options)["betas"]
    return 1 - b1 ** t, 1 - b2 ** t


def learning_rates(settings) -> Iterator[float]:
    """The learning rate of each step of the run, t = start + 1, start + 2, ...: torch's
    scheduler stepped once after each optimizer step, so step t uses the rate of the scheduler's
    epoch t - 1. The recursive forms torch computes (its get_lr), not the closed forms, so that
    the rates agree to the last bit. Each rate is made from the one before and t alone, so a
    resumed run (start > 0) goes on from the rate of step start (Settings.resumed_lr, its file's
    last history row), and its rates are a straight run's, bit for bit."""
    schedule = dict(settings.schedule)
    kind, base = schedule["kind"], settings.lr
    if kind == "constant":
        while True:
            yield base
    if settings.start:
        lr, t = settings.resumed_lr, settings.start + 1
    else:
        lr, t = base, 2
        yield lr
    if kind == "step":  # StepLR: times gamma at every step_size-th epoch
        size, gamma = schedule["step_size"], schedule["gamma"]
        while True:
            if (t - 1) % size == 0:
                lr = lr * gamma
            yield lr
            t += 1
    # CosineAnnealingLR, recursively as torch.optim.lr_scheduler.CosineAnnealingLR.get_lr
    t_max, eta_min = schedule["t_max"], schedule["eta_min"]
    while True:
        epoch = t - 1
        if (epoch - 1 - t_max) % (2 * t_max) == 0:
            lr = lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        else:
            lr = ((1 + math.cos(math.pi * epoch / t_max))
                  / (1 + math.cos(math.pi * (epoch - 1) / t_max)) * (lr - eta_min) + eta_min)
        yield lr
        t += 1
