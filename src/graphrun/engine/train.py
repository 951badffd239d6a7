"""train: gradient descent over a compiled program, step for step as torch.optim.

Each step: the learning rate of the schedule, the step's batch, forward and backward, the loss (and
each reported node) recorded when the history logs the step, then the optimizer's update of every
param. Only params change; inputs never do.

- Batches (`train: {batch: ...}`): each epoch is a permutation of axis 0: epoch e (counted from
  1) is numpy.random.default_rng([seed, e]).permutation(rows), as dropout's masks are drawn
  from default_rng([seed, step, position]). So step t's batch is a function of (seed, t) alone:
  a resumed run starts at its step's place in its epoch, with nothing stored but the step (and
  costs nothing to get there); a run from trained params alone (`--params`) starts at epoch 1
  again. Without shuffle, every epoch is 0, 1, ..., rows - 1. The epoch is cut into batches of `size` rows in that order, the last one
  partial when size does not divide the rows (kept, as torch's drop_last=False). A batch's rows
  give its own program (frontend.graph.rebatched: every shape inferred again) and plan: at most two
  besides the full one.
- Resuming (Settings.start, the steps the file took, and Settings.resumed_lr, its last step's
  rate): the step numbers, the schedule (optim.learning_rates), the batches and dropout's masks
  (by step) go on from step start + 1, and the optimizer from the state it had (run's `state`),
  so that k steps resumed for k more are 2k steps, bit for bit.
- Divergence: the first step whose loss or any gradient (or any value on the way) is not finite
  stops the run with a NumericError at the node that produced it, naming the step and the learning
  rate, and how the loss went until then.
- `run(..., fast=True)` is the one door to the fast paths: a program of float64 scalars (which
  has no batches) runs its steps as one compiled loop of straight-line Python on floats
  (engine/scalar_step), the optimizer's lines on floats too (engine/optim: the same lines as on
  arrays); a short run goes through executor.execute, which interprets the scalar plan. Whenever
  a fast path meets a math error or a number that is not finite, the step runs again on the numpy
  reference, whose answer (or located error) is the one given. `fast=False` runs the reference
  throughout.
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
from .scalar_step import compile_loop


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

    rows: list  # the history as (step, lr, loss, reported values) tuples: cheap to record
    report: tuple  # the names of the reported nodes
    values: list  # slot -> the trained value of each param (other entries are the leaves)
    first_loss: float
    last_loss: float
    best_loss: float
    best_step: int
    optimizer: object  # with its state after the last step
    grads: Optional[list] = None  # d loss / d slot of the last step (when asked for)

    @property
    def history(self) -> List[Record]:
        names = self.report
        return [Record(t, lr, loss, dict(zip(names, values)))
                for t, lr, loss, values in self.rows]


class Progress(NamedTuple):
    """What a progress callback is given: the step done, the run's steps, that step's loss and
    the seconds since the run started."""

    step: int
    steps: int
    loss: float
    seconds: float


COMPILED_FROM = 256  # steps: a shorter run of a scalar graph is interpreted (see run)


def run(program: Program, leaves: list, settings, plans: dict, *, fast: bool = True,
        progress: Optional[Callable[[Progress], None]] = None, steps: Optional[int] = None,
        keep_grads: bool = False, state: Optional[list] = None) -> Run:
    """Train the params of `program` from `leaves` (by slot) with `settings` (frontend.train).
    `plans` caches a plan per batch size (None: the full data) and the compiled loops, and is
    filled here. `steps` stops after that many steps of the run (explain shows one).
    `progress` is called about every 0.1 s (its step counted within this run). `state`: the
    optimizer's state to go on from (a resumed run's: per param, its entries in
    optim.Optimizer.state_names order), with the run's first step settings.start + 1.

    A graph of scalars (fast) runs as one compiled loop on floats (scalar_step.compile_loop)
    when the run is long enough to pay for compiling it (about 70 us a node, what ~250 steps
    save), or when that loop is compiled already; otherwise each step goes through
    executor.execute, whose own fast path interprets the scalar plan."""
    full = plans.get(None)
    if full is None:
        full = plans[None] = executor.compile_plan(program)
    total = settings.steps if steps is None else min(steps, settings.steps)
    if fast and full.scalar is not None and settings.batch is None and \
            (total >= COMPILED_FROM or _loop_key(program, settings) in plans):
        return _compiled_loop(program, leaves, settings, plans, total, progress, keep_grads,
                              state)
    return _loop(program, leaves, settings, plans, total, progress, keep_grads, fast, state)


def _trained_otherwise(plan) -> tuple:
    """The positions of the plan's steps whose op trains otherwise than it evaluates (dropout:
    Op.train_attrs)."""
    return tuple(k for k, entry in enumerate(plan.forward) if entry[4].op.train_attrs is not None)


def _in_training(plan, hooks, t):
    """The plan as step t of a training run runs it: the steps at `hooks` with the attributes
    their op's train_attrs gives for the step (dropout: the mask on, a new one each step)."""
    forward, backward = list(plan.forward), list(plan.backward)
    last = len(backward) - 1
    for k in hooks:
        fn, out, args, attrs, step, check = forward[k]
        attrs = step.op.train_attrs(dict(step.attrs), t, k)
        forward[k] = (fn, out, args, attrs, step, check)
        b_out, b_args, _, targets, b_step, b_check, index = backward[last - k]
        backward[last - k] = (b_out, b_args, attrs, targets, b_step, b_check, index)
    return replace(plan, steps=(tuple(forward), tuple(backward)))


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
    done, position = divmod(settings.start, settings.steps_per_epoch)  # a resumed run's place
    epoch, first = done + 1, position * b.size
    while True:
        order = np.random.default_rng([b.seed, epoch]).permutation(n) if b.shuffle else None
        for start in range(first, n, b.size):
            stop = min(start + b.size, n)
            if order is None:
                take = slice(start, stop)  # views: no copy
            else:
                take = order[start:stop]
            rows = stop - start
            yield (None if rows == n else rows), {s: leaves[s][take] for s in slots}
        epoch, first = epoch + 1, 0


class _Tracker:
    """The losses seen so far: the first, the last, the best; and the history rows."""

    __slots__ = ("names", "rows", "first", "last", "best", "best_step", "start")

    def __init__(self, settings):
        self.names = tuple(settings.report)
        self.start = settings.start
        self.rows: list = []
        self.first = self.last = self.best = math.inf
        self.best_step = 0

    def diverged(self, error: NumericError, program, t, total, lr) -> NumericError:
        """The run's NumericError: the executor's problem, with the step, the learning rate and
        how the loss went."""
        first, begin = error.problems[0], self.start + 1
        if t == begin:
            words = (f"at step {t}, before any update: the graph's own params already give it "
                     f"(lr {lr:g})" if t == 1 else
                     f"at step {t}, the first of this resumed run, before any of its updates: the "
                     f"params it resumes from already give it (lr {lr:g})")
            fix = None
        else:
            words = (f"training diverged at step {t} of {self.start + total} (lr {lr:g}): the "
                     f"loss went from {self.first:.6g} at step {begin} to {self.last:.6g} at "
                     f"step {t - 1}")
            fix = "learning_rate"
        return NumericError([replace(first, message=f"{first.message}; {words}", fix=fix)]
                            + list(error.problems[1:]), program.source)

    def run(self, values, optimizer, grads) -> Run:
        return Run(self.rows, self.names, values, self.first, self.last, self.best,
                   self.best_step, optimizer, grads)


def _loop(program, leaves, settings, plans, total, progress, keep_grads, fast, state) -> Run:
    """The steps in Python, each through executor.execute (numpy, or its interpreted scalar
    path), the optimizer compiled for arrays."""
    loss_slot, report = program.loss, [program.slots[n] for n in settings.report]
    params = list(program.params)
    values = list(leaves)
    for s in params:
        values[s] = np.array(leaves[s])  # owned and writeable: the updates are made in place
    optimizer = optim.Optimizer(settings, params, values, start=state)
    lrs = optim.learning_rates(settings)
    feed = batches(program, settings, leaves)
    track = _Tracker(settings)
    logged = settings.logged
    start = next_report = time.perf_counter()
    grads = None
    trained_otherwise = {}  # batch rows -> _trained_otherwise(its plan), found once
    begin = settings.start + 1
    for t in range(begin, begin + total):
        lr = next(lrs)
        rows, batch = next(feed)
        plan = plans[None] if rows is None else _plan(program, settings, plans, rows)
        hooks = trained_otherwise.get(rows)
        if hooks is None:
            hooks = trained_otherwise[rows] = _trained_otherwise(plan)
        if hooks:
            plan = _in_training(plan, hooks, t)
        step_leaves = values
        if batch:
            step_leaves = list(values)
            for s, array in batch.items():
                step_leaves[s] = array
        try:
            computed, grads = executor.execute(plan, step_leaves, fast=fast)
        except NumericError as e:
            raise track.diverged(e, program, t, total, lr) from None
        loss = _number(computed[loss_slot])
        if t == begin:
            track.first = loss
        track.last = loss
        if loss < track.best:
            track.best, track.best_step = loss, t
        if logged(t):
            track.rows.append((t, lr, loss, tuple(_number(computed[s]) for s in report)))
        optimizer.step(values, grads, lr, t)
        if not keep_grads or t < begin + total - 1:
            # let this step's arrays go before the next is computed, as a loop by hand does:
            # holding them would double the memory the step touches
            computed = grads = step_leaves = None
        if progress is not None:
            now = time.perf_counter()
            if now >= next_report:
                progress(Progress(t - begin + 1, total, loss, now - start))
                next_report = now + 0.1
    return track.run(values, optimizer, grads if keep_grads else None)


def _number(x) -> float:
    """A one-element value (an array, a numpy scalar or a float) as a Python float."""
    return x if type(x) is float else np.asarray(x).item()


def _loop_key(program, settings) -> tuple:
    """What a compiled loop depends on besides the plan (the rate and the steps are arguments)."""
    return ("scalar loop", settings.optimizer, settings.options,
            tuple(program.slots[n] for n in settings.report), settings.log_every,
            dict(settings.schedule)["kind"] == "constant")


def _compiled_loop(program, leaves, settings, plans, total, progress, keep_grads,
                   state) -> Run:
    """The steps as straight-line Python on floats (scalar_step.compile_loop), compiled once per
    graph and optimizer settings; a step it cannot vouch for runs on the reference."""
    plan = plans[None]
    params = list(program.params)
    v = [0.0 if x is None else float(x) for x in executor.initial_values(program, leaves)]
    c = [0.0] * len(v)
    optimizer = optim.Optimizer(settings, params, v, arrays=False, start=state)
    key = _loop_key(program, settings)
    report, constant = key[3], key[5]
    compiled = plans.get(key)
    if compiled is None:
        compiled = plans[key] = compile_loop(plan.scalar, optimizer, report, settings.log_every,
                                             constant)
    track = _Tracker(settings)

    def fallback(t, lr, first, last):
        track.first, track.last = first, last
        _reference_step(program, plan, v, c, track, t, total, lr)

    def report_progress(t, last, loss, seconds):
        progress(Progress(t - settings.start, total, loss, seconds))

    first, last, best, best_step = compiled(
        v, c, optimizer.state, settings.lr if constant else optim.learning_rates(settings),
        track.rows, settings.start + 1, settings.start + total, fallback,
        None if progress is None else report_progress, time.perf_counter)
    track.first, track.last, track.best, track.best_step = first, last, best, best_step
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
        self._history: Optional[List[Record]] = None

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def history(self) -> List[Record]:
        """One Record per recorded step (made when first asked for: recording stays cheap)."""
        if self._history is None:
            self._history = self._run.history
        return self._history

    @property
    def params(self) -> Dict[str, np.ndarray]:
        """name -> the trained value of each param (a numpy array of the param's dtype)."""
        p = self.program
        return {p.names[s]: np.asarray(self._run.values[s], p.types[s].dtype) for s in p.params}

    @property
    def state(self) -> Dict[str, Dict[str, np.ndarray]]:
        """The optimizer's state after the run, as the training results file holds it: section
        (torch's names: momentum_buffer; exp_avg, exp_avg_sq) -> param name -> a numpy array of
        the param's shape and dtype. Empty for SGD without momentum."""
        p, optimizer = self.program, self._run.optimizer
        out: Dict[str, Dict[str, np.ndarray]] = {}
        for j, key in enumerate(optim.state_keys(self.settings)):
            out[key] = {p.names[s]: np.asarray(optimizer.state[k][j], p.types[s].dtype)
                        for k, s in enumerate(optimizer.slots)}
        return out

    @property
    def steps_taken(self) -> int:
        """The steps the params have taken, counting those of the runs this one resumes."""
        return self.settings.last

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
        resumed = f" resumed at step {s.start + 1}" if s.start else ""
        return (f"trained {self.name}: {what}{resumed} of {s.optimizer}, lr {s.lr:g}, in "
                f"{self.seconds:.3g} s: loss {self.first_loss:.6g} at step {s.start + 1}, "
                f"{self.last_loss:.6g} at step {s.last}; best {best:.6g} at step {at}")

    def text(self) -> str:
        from ..results.training import training_text
        return training_text(self)

    def write(self, path, *, sidecar_threshold: Optional[int] = None) -> None:
        """Write the training results file (params of more than `sidecar_threshold` elements,
        default 1,000, as .npy sidecars) as one atomic change (results/files.py). A path that is
        (or leads to) a file the graph reads is refused with ValueError."""
        import os

        from ..results.files import clash, files_read, results_outputs
        from ..results.training import write_training
        from ..results.writer import SIDECAR_THRESHOLD
        path = os.fspath(path)
        problem = clash(results_outputs(path), files_read(self.program))
        if problem:
            raise ValueError(problem)
        write_training(path, self, SIDECAR_THRESHOLD if sidecar_threshold is None
                       else sidecar_threshold)

    def __repr__(self) -> str:
        return (f"<TrainingResults of {self.name!r}: {self.settings.steps} steps, loss "
                f"{self.first_loss:.6g} -> {self.last_loss:.6g}>")
