"""Each optimizer and schedule, step for step as torch.optim: against the formulas computed by hand
for a few steps, and against trajectories that real torch 2.13 produced (written out below; torch
itself is never imported here). And the fast path on Python floats against the numpy reference,
for every optimizer."""

import math

import numpy as np
import pytest

import graphrun
from conftest import compile_text

SIMPLE = """\
graphrun: 1
name: chain-rule
inputs: {x: 2}
params: {w: 3, b: 4}
nodes:
  u: {op: mul, args: [w, x]}
  v: {op: add, args: [u, b]}
  L: {op: square, args: [v]}
loss: L
"""

LINREG = """\
graphrun: 1
name: linreg
inputs:
  X: [[1.0, 2.0], [2.0, 0.5], [3.0, -1.0], [4.0, 1.5], [0.5, 3.0]]
  y: [5.0, 3.5, 2.0, 7.5, 6.0]
params:
  w: [1.0, 1.0]
  b: 0.5
nodes:
  Xw: {op: matmul, args: [X, w]}
  pred: {op: add, args: [Xw, b]}
  L: {op: mse, args: [pred, y]}
loss: L
"""


def with_train(text, section):
    return text + "train:\n" + "".join(f"  {line}\n" for line in section.strip().splitlines())


def simple_grads(w, b, x=2.0):
    """L = (w x + b)^2: dL/dw = 2 v x, dL/db = 2 v, with v = w x + b."""
    v = w * x + b
    return v * v, 2 * v * x, 2 * v


def test_sgd_is_the_lesson_step_w_minus_lr_times_the_gradient():
    # v = 2w + b shrinks by (1 - lr * 10) each step, so L = 100 * 0.81^(t-1) exactly
    result = graphrun.train(compile_text(SIMPLE), lr=0.01, steps=5)
    assert [r.loss for r in result.history] == [100.0, 81.0, 65.61, 53.1441, 43.046721]
    first = graphrun.train(compile_text(SIMPLE), lr=0.01, steps=1)
    assert float(first.params["w"]) == 3 - 0.01 * 40 and float(first.params["b"]) == 4 - 0.01 * 20


@pytest.mark.parametrize("momentum,dampening,nesterov,wd", [
    (0.9, 0.0, False, 0.0), (0.9, 0.25, False, 0.0), (0.8, 0.0, True, 0.0), (0.0, 0.0, False, 0.1),
    (0.7, 0.0, True, 0.05)])
def test_sgd_against_its_formula_by_hand(momentum, dampening, nesterov, wd):
    lr, steps = 0.01, 4
    section = (f"optimizer: sgd\nlr: {lr}\nsteps: {steps}\nmomentum: {momentum}\n"
               f"dampening: {dampening}\nnesterov: {str(nesterov).lower()}\nweight_decay: {wd}")
    result = graphrun.train(compile_text(with_train(SIMPLE, section)))
    w, b, bufs, losses = 3.0, 4.0, None, []
    for t in range(steps):
        loss, gw, gb = simple_grads(w, b)
        losses.append(loss)
        d = [gw + wd * w, gb + wd * b]
        if momentum:
            bufs = list(d) if bufs is None else \
                [momentum * bf + (1 - dampening) * di for bf, di in zip(bufs, d)]
            d = [di + momentum * bf for di, bf in zip(d, bufs)] if nesterov else bufs
        w, b = w - lr * d[0], b - lr * d[1]
    assert [r.loss for r in result.history] == pytest.approx(losses, rel=1e-14)
    assert float(result.params["w"]) == pytest.approx(w, rel=1e-14)
    assert float(result.params["b"]) == pytest.approx(b, rel=1e-14)


@pytest.mark.parametrize("optimizer,wd", [("adam", 0.0), ("adam", 0.1), ("adamw", 0.01),
                                          ("adamw", 0.3)])
def test_adam_and_adamw_against_their_formula_by_hand(optimizer, wd):
    lr, b1, b2, eps, steps = 0.05, 0.85, 0.99, 1e-6, 4
    section = (f"optimizer: {optimizer}\nlr: {lr}\nsteps: {steps}\nbetas: [{b1}, {b2}]\n"
               f"eps: {eps}\nweight_decay: {wd}")
    result = graphrun.train(compile_text(with_train(SIMPLE, section)))
    p = [3.0, 4.0]
    m, v, losses = [0.0, 0.0], [0.0, 0.0], []
    for t in range(1, steps + 1):
        loss, gw, gb = simple_grads(*p)
        losses.append(loss)
        g = [gw, gb]
        for k in range(2):
            if optimizer == "adamw":
                p[k] = p[k] * (1 - lr * wd)  # decoupled: the param shrinks first
            else:
                g[k] = g[k] + wd * p[k]  # L2: the penalty's gradient joins the loss's
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            m_hat, v_hat = m[k] / (1 - b1 ** t), v[k] / (1 - b2 ** t)
            p[k] = p[k] - lr * m_hat / (math.sqrt(v_hat) + eps)
    assert [r.loss for r in result.history] == pytest.approx(losses, rel=1e-13)
    assert [float(result.params[n]) for n in ("w", "b")] == pytest.approx(p, rel=1e-13)


def test_the_first_adam_step_is_lr_times_the_sign_of_the_gradient():
    """m̂ = g and v̂ = g² after one step, so each param moves by lr * g / (|g| + eps)."""
    result = graphrun.train(compile_text(SIMPLE), optimizer="adam", lr=0.01, steps=1)
    assert float(result.params["w"]) == pytest.approx(3 - 0.01 * 40 / (40 + 1e-8), rel=1e-15)
    assert float(result.params["b"]) == pytest.approx(4 - 0.01 * 20 / (20 + 1e-8), rel=1e-15)


# torch 2.13.0, float64, foreach=False, linreg's data, 6 steps: the losses before each step's
# update and the params after the last (printed by a script kept outside the repo)
TORCH_LINREG = {
    "sgd": ({"optimizer": "sgd", "lr": 0.05},
            [1.8, 0.5309600000000002, 0.26715389, 0.14933704554365, 0.08718117954287771,
             0.053673542993556436],
            {"w": [1.090776835864375, 1.56934185173275], "b": 0.6389995729147501}),
    "sgd_momentum": ({"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.1},
                     [1.8, 0.5309600000000002, 0.4437731308999998, 0.8759262549287499,
                      0.5847486004161804, 0.4683811867118954],
                     {"w": [0.6692552536109672, 1.9369631704786965], "b": 0.5631068773838556}),
    "sgd_nesterov_wd": ({"optimizer": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True,
                         "weight_decay": 0.1},
                        [1.8, 0.3558734999999996, 0.11289124397350019, 0.033169559374752425,
                         0.0696137538027785, 0.06222949985585433],
                        {"w": [1.0120994299986037, 1.7277347306610507], "b": 0.61318982262536}),
    "adam_wd": ({"optimizer": "adam", "lr": 0.1, "betas": [0.8, 0.95], "eps": 0.001,
                 "weight_decay": 0.2},
                [1.8, 0.999680554847162, 0.5985351060210669, 0.454715412230693,
                 0.3615777173607523, 0.24784581523886517],
                {"w": [1.1364483898031321, 1.5082248296948255], "b": 0.820647469411213}),
    "adamw": ({"optimizer": "adamw", "lr": 0.1, "weight_decay": 0.5},
              [1.8, 1.3112500022881246, 0.9678381069442482, 0.744032608202051,
               0.6042844822704657, 0.5094007184167696],
              {"w": [1.1440454941578637, 1.2462845969041538], "b": 0.8418421706186325}),
}


def _yaml(v):
    return str(v).lower() if isinstance(v, bool) else str(v)


@pytest.mark.parametrize("name", sorted(TORCH_LINREG))
def test_trajectories_torch_computed(name):
    options, losses, params = TORCH_LINREG[name]
    section = "".join(f"{k}: {_yaml(v)}\n" for k, v in options.items()) + "steps: 6"
    result = graphrun.train(compile_text(with_train(LINREG, section)))
    # torch fuses multiply-adds (FMA) where numpy rounds twice: the last bits may differ
    assert [r.loss for r in result.history] == pytest.approx(losses, rel=1e-13)
    for key, value in params.items():
        np.testing.assert_allclose(result.params[key], value, rtol=1e-13, atol=0)


# torch's StepLR(step_size=3, gamma=0.5) and CosineAnnealingLR(T_max=4, eta_min=0.01) from
# lr 0.1, the rate of each step with the scheduler stepped after each optimizer step: the same
# floats, to the last bit (the recursive forms torch computes, past T_max too)
TORCH_STEP_LR = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125]
TORCH_COSINE_LR = [0.1, 0.08681980515339464, 0.05500000000000001, 0.023180194846605363, 0.01,
                   0.023180194846605363, 0.05500000000000002, 0.08681980515339469,
                   0.10000000000000006, 0.0868198051533947, 0.05500000000000005,
                   0.023180194846605412, 0.01, 0.023180194846605363]


@pytest.mark.parametrize("schedule,expected", [
    ("{kind: step, step_size: 3, gamma: 0.5}", TORCH_STEP_LR),
    ("{kind: cosine, t_max: 4, eta_min: 0.01}", TORCH_COSINE_LR),
    ("{kind: constant}", [0.1] * 7),
])
def test_schedules_give_torchs_learning_rates_to_the_bit(schedule, expected):
    section = f"lr: 0.1\nsteps: {len(expected)}\nschedule: {schedule}"
    result = graphrun.train(compile_text(with_train(SIMPLE.replace("w: 3, b: 4", "w: 0.3, b: 0.4")
                                                    , section)))
    assert [r.lr for r in result.history] == expected


def test_cosine_by_default_anneals_over_all_the_steps():
    result = graphrun.train(compile_text(with_train(SIMPLE, "lr: 0.01\nschedule: {kind: cosine}")),
                            steps=5)
    closed = [0.01 * (1 + math.cos(math.pi * e / 5)) / 2 for e in range(5)]
    assert [r.lr for r in result.history] == pytest.approx(closed, rel=1e-12)
    assert result.settings.schedule == (("kind", "cosine"), ("t_max", 5), ("eta_min", 0.0))


def test_each_step_uses_its_schedules_rate():
    """The update of step t uses the rate the history records for step t."""
    section = "lr: 0.01\nsteps: 3\nschedule: {kind: step, step_size: 1, gamma: 0.5}"
    result = graphrun.train(compile_text(with_train(SIMPLE, section)))
    w, b = 3.0, 4.0
    for lr in (0.01, 0.005, 0.0025):
        _, gw, gb = simple_grads(w, b)
        w, b = w - lr * gw, b - lr * gb
    assert (float(result.params["w"]), float(result.params["b"])) == (w, b)


OPTIMIZERS = ["optimizer: sgd", "optimizer: sgd\nmomentum: 0.9\ndampening: 0.2",
              "optimizer: sgd\nmomentum: 0.9\nnesterov: true\nweight_decay: 0.01",
              "optimizer: adam", "optimizer: adam\nweight_decay: 0.1\neps: 1.0e-4",
              "optimizer: adamw", "optimizer: adamw\nweight_decay: 0.2\nbetas: [0.5, 0.9]"]
SCALAR_GRAPH = """graphrun: 1
inputs: {x: 0.3}
params: {a: 1.7, b: -0.4, c: 2.5}
nodes:
  m: {op: mul, args: [x, a]}
  s: {op: add, args: [m, b]}
  t: {op: tanh, args: [s]}
  r: {op: relu, args: [s]}
  q: {op: div, args: [t, c]}
  e: {op: exp, args: [q]}
  mx: {op: maximum, args: [e, r]}
  sp: {op: softplus, args: [mx]}
  d: {op: sub, args: [sp, 1.5]}
  sq: {op: square, args: [d]}
  n: {op: neg, args: [c]}
  L: {op: add, args: [sq, n]}
loss: L
"""


@pytest.fixture(params=["compiled", "interpreted"])
def scalar_path(request, monkeypatch):
    """Both fast paths of a scalar graph: the compiled loop, and executor.execute's interpreter
    (taken by runs shorter than COMPILED_FROM)."""
    from graphrun.engine import train
    monkeypatch.setattr(train, "COMPILED_FROM", 1 if request.param == "compiled" else 10**9)
    return request.param


@pytest.mark.parametrize("section", OPTIMIZERS)
@pytest.mark.parametrize("schedule", ["{kind: constant}", "{kind: cosine, t_max: 7}"])
def test_the_scalar_path_gives_the_numpy_reference_bits(section, schedule, scalar_path):
    """A graph of scalars trains on Python floats (fast=True) or on numpy (fast=False): the same
    history and params, bit for bit, for every optimizer (the twins of these ops compute the
    same float operations as numpy; the optimizer's lines are the same on both)."""
    text = with_train(SIMPLE.replace("x: 2", "x: 0.5"),
                      f"{section}\nlr: 0.02\nsteps: 30\nschedule: {schedule}")
    graph = compile_text(text)
    assert graph.plan.scalar is not None
    fast, reference = graphrun.train(graph), graphrun.train(graph, fast=False)
    assert fast.text() == reference.text()
    assert fast.history == reference.history


@pytest.mark.parametrize("section", OPTIMIZERS)
def test_the_scalar_path_agrees_with_numpy_on_ops_that_call_their_twins(section, scalar_path):
    """tanh, exp, softplus run their twins, which agree with numpy to an ulp or two."""
    graph = compile_text(with_train(SCALAR_GRAPH, f"{section}\nlr: 0.01\nsteps: 40"))
    fast, reference = graphrun.train(graph), graphrun.train(graph, fast=False)
    for a, b in zip(fast.history, reference.history):
        assert a.step == b.step and a.lr == b.lr
        assert a.loss == pytest.approx(b.loss, rel=1e-12)
    for name in fast.params:
        np.testing.assert_allclose(fast.params[name], reference.params[name], rtol=1e-12)


def test_only_params_change():
    graph = compile_text(LINREG)
    before = {n: graph.leaf_values()[graph.program.slot(n)].copy() for n in ("X", "y", "w", "b")}
    result = graphrun.train(graph, lr=0.05, steps=3, optimizer="adam")
    for name in ("X", "y", "w", "b"):  # the graph's own values stay as they were
        np.testing.assert_array_equal(graph.leaf_values()[graph.program.slot(name)], before[name])
    assert set(result.params) == {"w", "b"}
    assert not np.array_equal(result.params["w"], before["w"])


def test_float32_params_train_in_float32():
    graph = compile_text(LINREG.replace("w: [1.0, 1.0]", "w: {value: [1.0, 1.0], dtype: float32}")
                         .replace("X: [[", "X: {dtype: float32, value: [[")
                         .replace("3.0]]\n", "3.0]]}\n")
                         .replace("y: [5.0, 3.5, 2.0, 7.5, 6.0]",
                                  "y: {value: [5.0, 3.5, 2.0, 7.5, 6.0], dtype: float32}")
                         .replace("b: 0.5", "b: {value: 0.5, dtype: float32}"))
    for optimizer in ("sgd", "adam"):
        result = graphrun.train(graph, lr=0.05, steps=4, optimizer=optimizer)
        assert result.params["w"].dtype == np.float32 and result.params["b"].dtype == np.float32
        reference = graphrun.train(compile_text(LINREG), lr=0.05, steps=4, optimizer=optimizer)
        np.testing.assert_allclose(result.params["w"], reference.params["w"], rtol=1e-5)
