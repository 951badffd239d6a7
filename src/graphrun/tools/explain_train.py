"""explain_train: the first update of training written out the way the lesson writes it.

    w ← w − lr · ∂L/∂w = 3 − 0.01 · 40 = 2.6

The step is the engine's own (engine/train.run for one step, on the numpy reference): the values
shown after `=` at the end of each update are what training computes; the lines before them show
the optimizer's formula with the numbers it used, and for momentum and Adam the state it keeps
(the velocity; m, v and the bias corrections). Numbers are written with %.6g, tensors as shape,
norm and first elements, as `graphrun explain` writes them.

Pure logic: `explain_training(...)` returns a TrainingExplanation, whose `text()` is the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from ..engine import optim
from ..engine import train as engine
from ..frontend.train import resolve
from .explain import number_text, title_line, value_text

_TORCH = {"sgd": "torch.optim.SGD", "adam": "torch.optim.Adam", "adamw": "torch.optim.AdamW"}


@dataclass(frozen=True)
class ParamStep:
    name: str
    before: np.ndarray
    grad: np.ndarray
    after: np.ndarray
    state: dict  # the optimizer's state for this param after the step


@dataclass(frozen=True)
class TrainingExplanation:
    program: object
    settings: object
    lr: float
    loss_before: float
    loss_after: float
    rows: Tuple[int, int]  # (rows in the first batch, rows of the data); (0, 0) without batches
    params: Tuple[ParamStep, ...]

    def text(self) -> str:
        return explanation_text(self)


def explain_training(graph, *, optimizer=None, lr=None) -> TrainingExplanation:
    """Run the first step of training `graph` (an api.Graph, its own params or those given with
    with_params) and collect what the text shows."""
    program = graph.program
    settings = resolve(program, optimizer=optimizer, lr=lr, need_steps=False)
    leaves = graph.leaf_values()
    plans = graph._train_plans
    plans.setdefault(None, graph.plan)
    run = engine.run(program, leaves, settings, plans, fast=False, steps=1, keep_grads=True)
    first = run.history[0]
    after = _loss_after(program, settings, plans, run.values, leaves)
    steps = tuple(ParamStep(program.names[s], np.asarray(leaves[s]), np.asarray(run.grads[s]),
                            np.asarray(run.values[s]), run.optimizer.state_of(k))
                  for k, s in enumerate(program.params))
    rows = (0, 0) if settings.batch is None else \
        (min(settings.batch.size, settings.rows), settings.rows)
    return TrainingExplanation(program, settings, first.lr, first.loss, after, rows, steps)


def _loss_after(program, settings, plans, values, leaves) -> float:
    """The loss of the same (first) batch with the updated params."""
    rows, batch = next(engine.batches(program, settings, leaves))
    step_leaves = list(values)
    for s, array in batch.items():
        step_leaves[s] = array
    plan = plans[None] if rows is None else engine._plan(program, settings, plans, rows)
    from ..engine.executor import forward
    return float(np.reshape(forward(plan, step_leaves)[program.loss], ()))


def _n(x) -> str:
    return value_text(x) if np.ndim(x) else number_text(x)


def _f(x) -> str:
    """A factor: a negative number in parentheses (0.05 · (-2))."""
    text = _n(x)
    return f"({text})" if text.startswith("-") else text


def _equation(target: str, symbolic: str, numbers: str, result, scalar: bool) -> List[str]:
    """`target ← symbolic = numbers = result` on one line for scalars, on three for tensors."""
    if scalar:
        return [f"{target} ← {symbolic} = {numbers} = {_n(result)}"]
    pad = " " * (len(target) + 1)
    return [f"{target} ← {symbolic}", f"{pad}= {numbers}", f"{pad}= {_n(result)}"]


def _sgd_lines(e: TrainingExplanation, p: ParamStep, loss: str) -> List[str]:
    o = dict(e.settings.options)
    scalar = p.before.ndim == 0
    grad = f"∂{loss}/∂{p.name}"
    lines, d, d_text = [], p.grad, grad
    if o["weight_decay"]:
        d = p.grad + o["weight_decay"] * p.before
        lines.append(f"g_{p.name} = {grad} + weight_decay · {p.name} = {_n(p.grad)} + "
                     f"{number_text(o['weight_decay'])} · {_f(p.before)} = {_n(d)}")
        d_text = f"g_{p.name}"
    if o["momentum"]:
        velocity = p.state["velocity"]
        lines.append(f"velocity_{p.name} ← {d_text} = {_n(velocity)}   (the first step starts "
                     "the velocity at the gradient, as torch)")
        if o["nesterov"]:
            nd = d + o["momentum"] * velocity
            lines.append(f"g_{p.name} ← {d_text} + momentum · velocity_{p.name} = {_n(d)} + "
                         f"{number_text(o['momentum'])} · {_f(velocity)} = {_n(nd)}")
            d, d_text = nd, f"g_{p.name}"
        else:
            d, d_text = velocity, f"velocity_{p.name}"
    return lines + _equation(p.name, f"{p.name} − lr · {d_text}",
                             f"{_n(p.before)} − {number_text(e.lr)} · {_f(d)}", p.after, scalar)


def _adam_lines(e: TrainingExplanation, p: ParamStep, loss: str) -> List[str]:
    o = dict(e.settings.options)
    b1, b2 = o["betas"]
    wd, eps = o["weight_decay"], o["eps"]
    scalar = p.before.ndim == 0
    name = p.name
    grad = f"∂{loss}/∂{name}"
    lines, g, g_text, start = [], p.grad, grad, p.before
    if wd and e.settings.optimizer == "adamw":
        start = p.before * (1 - e.lr * wd)
        lines.append(f"{name} ← {name} · (1 − lr · weight_decay) = {_f(p.before)} · (1 − "
                     f"{number_text(e.lr)} · {number_text(wd)}) = {_n(start)}   (decoupled "
                     "weight decay, first)")
    elif wd:
        g = p.grad + wd * p.before
        lines.append(f"g_{name} = {grad} + weight_decay · {name} = {_n(p.grad)} + "
                     f"{number_text(wd)} · {_f(p.before)} = {_n(g)}")
        g_text = f"g_{name}"
    m, v = p.state["m"], p.state["v"]
    c1, c2 = optim.bias_corrections(e.settings, 1)
    lines.append(f"m_{name} ← β1 · m_{name} + (1 − β1) · {g_text} = {number_text(b1)} · 0 + "
                 f"{number_text(1 - b1)} · {_f(g)} = {_n(m)}")
    lines.append(f"v_{name} ← β2 · v_{name} + (1 − β2) · ({g_text})² = {number_text(b2)} · 0 + "
                 f"{number_text(1 - b2)} · {_f(np.square(g))} = {_n(v)}")
    m_hat, v_hat = m / c1, v / c2
    lines.append(f"bias corrections at step 1: 1 − β1¹ = {number_text(c1)}, 1 − β2¹ = "
                 f"{number_text(c2)}: m̂ = m_{name} / {number_text(c1)} = {_n(m_hat)}, "
                 f"v̂ = v_{name} / {number_text(c2)} = {_n(v_hat)}")
    return lines + _equation(name, f"{name} − lr · m̂ / (√v̂ + ε)",
                             f"{_n(start)} − {number_text(e.lr)} · {_f(m_hat)} / "
                             f"({_n(np.sqrt(v_hat))} + {number_text(eps)})", p.after, scalar)


def explanation_text(e: TrainingExplanation) -> str:
    p = e.program
    loss = p.names[p.loss]
    s = e.settings
    title = title_line(p)
    options = ", ".join(f"{k} {_option(v)}" for k, v in s.options)
    lines = [title, "", f"the first step of training: {s.optimizer} ({_TORCH[s.optimizer]}: "
             f"{options}), lr {number_text(e.lr)}"]
    if e.rows[1]:
        lines.append(f"  on the first batch: {e.rows[0]} of the {e.rows[1]} rows of "
                     f"{', '.join(s.batch.over)} (epoch 1, batch 1 of {s.steps_per_epoch})")
    lines.append(f"  forward: {loss} = {number_text(e.loss_before)} (the loss before the update)")
    grads = [f"∂{loss}/∂{q.name} = {_n(q.grad)}" for q in e.params]
    if all(q.grad.ndim == 0 for q in e.params):
        lines.append("  backward: " + ", ".join(grads) + "   (graphrun explain shows how)")
    else:
        lines.append("  backward (graphrun explain shows how):")
        lines += [f"    {g}" for g in grads]
    lines += ["", "each param takes a step against its gradient:"]
    for q in e.params:
        body = _sgd_lines(e, q, loss) if s.optimizer == "sgd" else _adam_lines(e, q, loss)
        if len(body) > 1 and q.before.ndim == 0 or len(body) > 3:  # the state, then the update
            lines.append(f"  {q.name}:")
            body = ["  " + line for line in body]
        lines += ["  " + line for line in body]
    lines += ["", f"after the update: {loss} = {number_text(e.loss_after)} (was "
              f"{number_text(e.loss_before)})"]
    return "\n".join(lines) + "\n"


def _option(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, tuple):
        return "(" + ", ".join(number_text(x) for x in v) + ")"
    return number_text(v)
