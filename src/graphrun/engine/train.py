"""train: gradient descent over a compiled program, step for step as torch.optim.

Each step: the learning rate of the schedule, the step's batch, forward and backward, the loss (and
each reported node) recorded when the history logs the step, then the optimizer's update of every
param. Only params change; inputs never do.

- Batches (`train: {batch: ...}`): each epoch is a permutation of axis 0. One generator,
  numpy.random.default_rng(seed), is made when the run starts, and epoch e (counted from 1) takes
  its e-th `permutation(rows)` (so epoch 2 continues the generator's stream after epoch 1; a run
  resumed from trained params starts the stream again). Without shuffle, every epoch is
  0, 1, ..., rows - 1. The epoch is cut into batches of `size` rows in that order, the last one
  partial when size does not divide the rows (kept, as torch's drop_last=False). A batch's rows
  give its own program (frontend.graph.rebatched: every shape inferred again) and plan: at most two
  besides the full one.
- Divergence: the first step whose loss or any gradient (or any value on the way) is not finite
  stops the run with a NumericError at the node that produced it, naming the step and the learning
  rate, and how the loss went until then.
- `train(..., fast=True)` is the one door to the fast path: a program of float64 scalars (which
  has no batches) runs its steps as straight-line Python on floats (engine/scalar_step), with the
  optimizer on floats too (engine/optim: the same lines as on arrays). Whenever that path meets a
  math error or a number that is not finite, the step runs again on the numpy reference, whose
  answer (or located error) is the one given. `fast=False` runs the reference throughout.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, NamedTuple, Optional

import numpy as np

from ..errors import NumericError
from ..frontend.graph import Program, rebatched
from . import executor, optim
from .scalar_step import compile_step


class Record(NamedTuple):
    """One row of the history: the step (from 1), its learning rate, the loss before the step's
    update, and each reported node's value then (name -> float)."""

    step: int
    lr: float
    loss: float
    reported: Dict[str, float]


@dataclass
class Run:
    """What the engine's loop produced, by slot."""

    history: List[Record]
    values: list  # slot -> the trained value of each param (other entries are the leaves)
    first_loss: float
    last_loss: float
    best_loss: float
    best_step: int
    optimizer: object  # with its state after the last step
    grads: Optional[list] = None  # d loss / d slot of the last step (when asked for)


class Progress(NamedTuple):
    step: int
    steps: int
    loss: float
    seconds: float


def run(program: Program, leaves: list, settings, plans: dict, *, fast: bool = True,
        progress: Optional[Callable[[Progress], None]] = None, steps: Optional[int] = None,
        keep_grads: bool = False) -> Run:
    """Train the params of `program` from `leaves` (by slot) with `settings` (frontend.train).
    `plans` caches a plan per batch size (None: the full data) and is filled here. `steps` stops
    after that many steps of the run (explain shows one). `progress` is called about every 0.1 s."""
    full = plans.get(None)
    if full is None:
        full = plans[None] = executor.compile_plan(program)
    total = settings.steps if steps is None else min(steps, settings.steps)
    loop = _scalar_loop if fast and full.scalar is not None and settings.batch is None \
        else _numpy_loop
    return loop(program, leaves, settings, plans, total, progress, keep_grads)


def _plan(program, settings, plans, rows):
    plan = plans.get(rows)
    if plan is None:
        slots = [program.slots[name] for name in settings.batch.over]
        plan = plans[rows] = executor.compile_plan(rebatched(program, slots, rows))
    return plan


def batches(program: Program, settings, leaves):
    """Each step's batch: (rows or None for the full data, slot -> that batch's array of each
    batched input), forever, epoch after epoch as the module docstring says."""
    if settings.batch is None:
        while True:
            yield None, {}
    b = settings.batch
    slots = [program.slots[name] for name in b.over]
    n = settings.rows
    rng = np.random.default_rng(b.seed)
    while True:
        order = rng.permutation(n) if b.shuffle else None
        for start in range(0, n, b.size):
            stop = min(start + b.size, n)
            if order is None:
                take = slice(start, stop)  # views: no copy
            else:
                take = order[start:stop]
            rows = stop - start
            yield (None if rows == n else rows), {s: leaves[s][take] for s in slots}


class _Tracker:
    """The losses seen so far: the first, the last, the best; and the history rows."""

    __slots__ = ("settings", "report", "history", "first", "last", "best", "best_step")

    def __init__(self, settings, report):
        self.settings, self.report = settings, report
        self.history: List[Record] = []
        self.first = self.last = self.best = math.inf
        self.best_step = 0

    def diverged(self, error: NumericError, program, t, total, lr) -> NumericError:
        """The run's NumericError: the executor's problem, with the step, the learning rate and
        how the loss went."""
        first = error.problems[0]
        if t == 1:
            words = ("at step 1, before any update: the graph's own params already give it "
                     f"(lr {lr:g})")
            fix = None
        else:
            words = (f"training diverged at step {t} of {total} (lr {lr:g}): the loss went from "
                     f"{self.first:.6g} at step 1 to {self.last:.6g} at step {t - 1}")
            fix = "learning_rate"
        return NumericError([replace(first, message=f"{first.message}; {words}", fix=fix)]
                            + list(error.problems[1:]), program.source)

    def run(self, values, optimizer, grads) -> Run:
        return Run(self.history, values, self.first, self.last, self.best, self.best_step,
                   optimizer, grads)


def _numpy_loop(program, leaves, settings, plans, total, progress, keep_grads) -> Run:
    loss_slot, report = program.loss, [program.slots[n] for n in settings.report]
    params = list(program.params)
    values = list(leaves)
    for s in params:
        values[s] = np.array(leaves[s])  # owned and writeable: the updates are made in place
    optimizer = optim.make(settings, params, np.sqrt)
    lrs = optim.learning_rates(settings)
    feed = batches(program, settings, leaves)
    track = _Tracker(settings, report)
    logged = settings.logged
    start = next_report = time.perf_counter()
    grads = None
    for t in range(1, total + 1):
        lr = next(lrs)
        rows, batch = next(feed)
        plan = plans[None] if rows is None else _plan(program, settings, plans, rows)
        step_leaves = values
        if batch:
            step_leaves = list(values)
            for s, array in batch.items():
                step_leaves[s] = array
        try:
            computed = executor.forward(plan, step_leaves)
            grads = executor.backward(plan, computed)
        except NumericError as e:
            raise track.diverged(e, program, t, total, lr) from None
        loss = np.asarray(computed[loss_slot]).item()
        if t == 1:
            track.first = loss
        track.last = loss
        if loss < track.best:
            track.best, track.best_step = loss, t
        if logged(t):
            track.history.append(Record(t, lr, loss, {program.names[s]: np.asarray(computed[s])
                                                      .item() for s in report}))
        optimizer.step(values, grads, lr, t)
        if progress is not None:
            now = time.perf_counter()
            if now >= next_report:
                progress(Progress(t, total, loss, now - start))
                next_report = now + 0.1
    return track.run(values, optimizer, grads if keep_grads else None)


def _scalar_loop(program, leaves, settings, plans, total, progress, keep_grads) -> Run:
    plan = plans[None]
    step = plans.get("scalar step")
    if step is None:
        step = plans["scalar step"] = compile_step(plan.scalar)
    loss_slot, report = program.loss, [program.slots[n] for n in settings.report]
    report_names = [program.names[s] for s in report]
    params = list(program.params)
    v = [0.0 if x is None else float(x) for x in executor.initial_values(program, leaves)]
    c = [0.0] * len(v)
    optimizer = optim.make(settings, params, math.sqrt)
    lrs = optim.learning_rates(settings)
    track = _Tracker(settings, report)
    history = track.history
    log_every, last = settings.log_every, total
    first = best = math.inf
    best_step = 0
    loss = math.nan
    start = next_report = time.perf_counter()
    for t in range(1, total + 1):
        lr = next(lrs)
        try:
            step(v, c)
            check = sum(v) + sum(c)  # one finite check of every value and gradient at once
            ok = check - check == 0.0
        except (ArithmeticError, ValueError):
            ok = False
        if not ok:  # the reference runs this step: it names what went wrong, if anything did
            track.first, track.last = first, loss
            _reference_step(program, plan, v, c, track, t, total, lr)
        loss = v[loss_slot]
        if t == 1:
            first = loss
        if loss < best:
            best, best_step = loss, t
        if t % log_every == 0 or t == 1 or t == last:
            history.append(Record(t, lr, loss, dict(zip(report_names, [v[s] for s in report]))))
        optimizer.step(v, c, lr, t)
        if progress is not None:
            now = time.perf_counter()
            if now >= next_report:
                progress(Progress(t, total, loss, now - start))
                next_report = now + 0.1
    track.first, track.last, track.best, track.best_step = first, loss, best, best_step
    return track.run(v, optimizer, list(c) if keep_grads else None)


def _reference_step(program, plan, v, c, track, t, total, lr) -> None:
    """Step t on numpy from the floats in v: raise its located error, or write its values and
    gradients back into v and c (a spurious alarm: a finite sum that overflowed, say)."""
    leaves = [np.array(x) for x in v[:len(program.leaves)]]
    try:
        values = executor.forward(plan, leaves)
        grads = executor.backward(plan, values)
    except NumericError as e:
        raise track.diverged(e, program, t, total, lr) from None
    for s in range(len(v)):
        v[s] = float(np.reshape(values[s], ()))
        c[s] = 0.0 if grads[s] is None else float(np.reshape(grads[s], ()))


class TrainingResults:
    """A training run: the settings it used, its history, its trained params (by name), and the
    losses along the way. `text()` is the training results file (what `graphrun train` prints),
    `write(path)` writes it (big params as .npy sidecars), atomically."""

    def __init__(self, program: Program, settings, run: Run, seconds: float):
        self.program, self.settings, self.seconds = program, settings, seconds
        self._run = run

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def history(self) -> List[Record]:
        return self._run.history

    @property
    def params(self) -> Dict[str, np.ndarray]:
        """name -> the trained value of each param (a numpy array of the param's dtype)."""
        p = self.program
        return {p.names[s]: np.asarray(self._run.values[s], p.types[s].dtype) for s in p.params}

    @property
    def first_loss(self) -> float:
        return self._run.first_loss

    @property
    def last_loss(self) -> float:
        """The loss of the last step, before its update."""
        return self._run.last_loss

    @property
    def best(self):
        """(the lowest loss of any step, that step)."""
        return self._run.best_loss, self._run.best_step

    @property
    def steps(self) -> int:
        return self.settings.steps

    def summary(self) -> str:
        """One line for people: what ran, and how the loss went."""
        best, at = self.best
        s = self.settings
        what = f"{s.steps} step{'s' if s.steps != 1 else ''}" + \
            (f" ({s.epochs} epoch{'s' if s.epochs != 1 else ''})" if s.epochs else "")
        return (f"trained {self.name}: {what} of {s.optimizer}, lr {s.lr:g}, in "
                f"{self.seconds:.3g} s: loss {self.first_loss:.6g} at step 1, "
                f"{self.last_loss:.6g} at step {s.steps}; best {best:.6g} at step {at}")

    def text(self) -> str:
        from ..results.training import training_text
        return training_text(self)

    def write(self, path: str, *, sidecar_threshold: Optional[int] = None) -> None:
        from ..results.training import write_training
        from ..results.writer import SIDECAR_THRESHOLD
        write_training(path, self, SIDECAR_THRESHOLD if sidecar_threshold is None
                       else sidecar_threshold)

    def __repr__(self) -> str:
        return (f"<TrainingResults of {self.name!r}: {self.settings.steps} steps, loss "
                f"{self.first_loss:.6g} -> {self.last_loss:.6g}>")
