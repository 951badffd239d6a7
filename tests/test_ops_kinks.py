"""The numbers every op must give exactly: PyTorch's kink conventions, closed-form derivatives, and
stable results for huge logits. Everything runs through the pipeline (graph text -> run), so the
executor's unbroadcasting and accumulation are part of what is pinned.

The expected numbers come from the math (or, for the conventions, from PyTorch's documented
choices: relu'(0) = 0, abs'(0) = 0, maximum/minimum ties split 0.5/0.5, amax ties share evenly,
d pow(x, 0)/dx = 0), never from graphrun's own output.
"""

import math

import numpy as np
import pytest

from conftest import run_text


def _run(params, nodes, loss, inputs=""):
    text = "graphrun: 1\n"
    if inputs:
        text += "inputs:\n" + inputs
    text += "params:\n" + params + "nodes:\n" + nodes + f"loss: {loss}\n"
    results = run_text(text)
    return dict(results.values), dict(results.grads)


def _grad(op_line, x, extra_params=""):
    """d sum(op(x)) / dx for a param x."""
    _, g = _run(f"  x: {x}\n{extra_params}", f"  y: {op_line}\n  L: {{op: sum, args: [y]}}\n", "L")
    return g


# ---------------------------------------------------------------------------------------------
# kinks

def test_relu_derivative_is_zero_at_zero():
    g = _grad("{op: relu, args: [x]}", "[-1.0, 0.0, 2.0]")
    assert g["x"].tolist() == [0.0, 0.0, 1.0]


def test_abs_derivative_is_zero_at_zero():
    g = _grad("{op: abs, args: [x]}", "[-1.5, 0.0, 2.0]")
    assert g["x"].tolist() == [-1.0, 0.0, 1.0]


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_the_gradient(op):
    v, g = _run("  x: [1.0, 2.0, 3.0]\n  y: [1.0, 5.0, 0.0]\n",
                f"  m: {{op: {op}, args: [x, y]}}\n  L: {{op: sum, args: [m]}}\n", "L")
    x_wins = [0.5, 0.0, 1.0] if op == "maximum" else [0.5, 1.0, 0.0]
    assert g["x"].tolist() == x_wins
    assert g["y"].tolist() == [1.0 - w for w in x_wins]


def test_maximum_of_a_value_with_itself_gives_it_the_whole_gradient():
    # both halves of the tie land on x: 0.5 + 0.5
    g = _grad("{op: maximum, args: [x, x]}", "[1.0, -2.0]")
    assert g["x"].tolist() == [1.0, 1.0]


def test_maximum_tie_with_a_literal_gives_half():
    g = _grad("{op: maximum, args: [x, 0]}", "[0.0, 1.0, -1.0]")
    assert g["x"].tolist() == [0.5, 1.0, 0.0]


def test_max_reduction_ties_share_evenly():
    g = _grad("{op: max, args: [x]}", "[[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]]")
    third = 1.0 / 3.0
    assert g["x"].tolist() == [[0.0, third, third], [third, 0.0, 0.0]]


def test_max_reduction_ties_share_evenly_per_slice():
    g = _grad("{op: max, args: [x], axis: 1}", "[[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]")
    assert g["x"].tolist() == [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]
    g = _grad("{op: max, args: [x], axis: 0, keepdims: true}", "[[1.0, 3.0], [1.0, 0.0]]")
    assert g["x"].tolist() == [[0.5, 1.0], [0.5, 0.0]]


def test_pow_zero_exponent_has_zero_gradient_even_at_zero():
    v, g = _run("  x: [0.0, 2.0, -3.0]\n",
                "  y: {op: pow, args: [x, 0]}\n  L: {op: sum, args: [y]}\n", "L")
    assert v["y"].tolist() == [1.0, 1.0, 1.0]  # 0^0 = 1, as PyTorch and numpy
    assert g["x"].tolist() == [0.0, 0.0, 0.0]


def test_pow_zero_exponent_tensor_has_zero_gradients_at_zero():
    # d/dx x^y = 0 where y == 0; d/dy x^y = x^y log x = 0 where x == 0 and y >= 0 (as PyTorch)
    v, g = _run("  x: [0.0, 0.0, 2.0]\n  y: [0.0, 2.0, 0.0]\n",
                "  z: {op: pow, args: [x, y]}\n  L: {op: sum, args: [z]}\n", "L")
    assert v["z"].tolist() == [1.0, 0.0, 1.0]
    assert g["x"].tolist() == [0.0, 0.0, 0.0]
    assert g["y"].tolist() == [0.0, 0.0, math.log(2.0)]


def test_pow_with_negative_base_and_integer_exponent():
    g = _grad("{op: pow, args: [x, 3]}", "[-2.0, 0.0]")
    assert g["x"].tolist() == [12.0, 0.0]


# ---------------------------------------------------------------------------------------------
# closed forms

X = [-2.0, -0.5, 0.0, 0.25, 1.5]


def _closed(op, fprime, xs=X):
    g = _grad(f"{{op: {op}, args: [x]}}", str(xs))["x"]
    want = np.array([fprime(x) for x in xs])
    # a few ulps: numpy's and Python's libm may differ in the last digit of tanh, exp, ...
    np.testing.assert_allclose(g, want, rtol=1e-14, atol=1e-300)


def test_tanh_derivative_is_one_minus_tanh_squared():
    _closed("tanh", lambda x: 1 - math.tanh(x) ** 2)


def test_sigmoid_derivative_is_s_times_one_minus_s():
    def s(x):
        return 1 / (1 + math.exp(-x))
    _closed("sigmoid", lambda x: s(x) * (1 - s(x)))


def test_softplus_derivative_is_sigmoid():
    _closed("softplus", lambda x: 1 / (1 + math.exp(-x)))


@pytest.mark.parametrize("op,fprime,xs", [
    ("exp", math.exp, X), ("sin", math.cos, X), ("cos", lambda x: -math.sin(x), X),
    ("square", lambda x: 2 * x, X), ("neg", lambda x: -1.0, X),
    ("log", lambda x: 1 / x, [0.25, 1.0, 3.0]), ("sqrt", lambda x: 0.5 / math.sqrt(x), [0.25, 4.0]),
])
def test_elementwise_closed_forms(op, fprime, xs):
    _closed(op, fprime, xs)


def test_div_gradients():
    _, g = _run("  x: [3.0, -1.0]\n  y: [2.0, 4.0]\n",
                "  z: {op: div, args: [x, y]}\n  L: {op: sum, args: [z]}\n", "L")
    assert g["x"].tolist() == [0.5, 0.25]
    assert g["y"].tolist() == [-3.0 / 4.0, 1.0 / 16.0]


def test_softmax_gradient_is_its_jacobian():
    # d/dx_j sum_i w_i softmax_i = s_j (w_j - sum_i w_i s_i)
    x, w = np.array([0.5, -1.0, 2.0]), np.array([1.0, -2.0, 0.5])
    _, g = _run(f"  x: {x.tolist()}\n", "  s: {op: softmax, args: [x]}\n"
                f"  ws: {{op: mul, args: [s, w]}}\n  L: {{op: sum, args: [ws]}}\n", "L",
                inputs=f"  w: {w.tolist()}\n")
    s = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(g["x"], s * (w - (w * s).sum()), rtol=1e-14)


def test_log_softmax_and_logsumexp_gradients_are_softmax():
    x = np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 1.0]])
    s = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    g = _grad("{op: logsumexp, args: [x], axis: 1}", str(x.tolist()))
    np.testing.assert_allclose(g["x"], s, rtol=1e-14)
    # d/dx sum_j log_softmax_j = 1 - C * softmax
    g = _grad("{op: log_softmax, args: [x]}", str(x.tolist()))
    np.testing.assert_allclose(g["x"], 1 - 3 * s, rtol=1e-14)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    x = np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 1.0]])
    v, g = _run(f"  x: {x.tolist()}\n", "  L: {op: cross_entropy, args: [x, y]}\n", "L",
                inputs="  y: {value: [2, 0], dtype: int64}\n")
    s = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    onehot = np.array([[0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(g["x"], (s - onehot) / 2, rtol=1e-14, atol=1e-17)
    np.testing.assert_allclose(float(v["L"]), -np.log(s[[0, 1], [2, 0]]).mean(), rtol=1e-14)


def test_mse_gradients():
    _, g = _run("  p: [1.0, 2.0, 4.0]\n", "  L: {op: mse, args: [p, t]}\n", "L",
                inputs="  t: [0.0, 2.0, 1.0]\n")
    assert g["p"].tolist() == [2 / 3, 0.0, 2.0]


def test_matmul_gradients():
    a, b = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]])
    _, g = _run(f"  a: {a.tolist()}\n  b: {b.tolist()}\n",
                "  c: {op: matmul, args: [a, b]}\n  L: {op: sum, args: [c]}\n", "L")
    np.testing.assert_array_equal(g["a"], np.ones((3, 3)) @ b.T)
    np.testing.assert_array_equal(g["b"], a.T @ np.ones((3, 3)))


# ---------------------------------------------------------------------------------------------
# stability: huge logits give finite, correct numbers

BIG = "[[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, 999.0]]"


def test_softmax_at_plus_minus_1000():
    v, g = _run(f"  x: {BIG}\n", "  s: {op: softmax, args: [x]}\n"
                "  t: {op: mul, args: [s, w]}\n  L: {op: sum, args: [t]}\n", "L",
                inputs="  w: [1.0, 2.0, 3.0]\n")
    e = 1 / (2 + math.exp(-1))
    np.testing.assert_allclose(v["s"], [[1, 0, 0], [1 / 3] * 3, [e, e, e * math.exp(-1)]],
                               rtol=1e-15)
    assert np.isfinite(g["x"]).all()


def test_log_softmax_at_plus_minus_1000():
    v, _ = _run(f"  x: {BIG}\n", "  s: {op: log_softmax, args: [x]}\n"
                "  L: {op: sum, args: [s]}\n", "L")
    lse = math.log(2 + math.exp(-1))
    np.testing.assert_allclose(v["s"], [[0, -2000, -1000], [-math.log(3)] * 3,
                                        [-lse, -lse, -1 - lse]], rtol=1e-15)


def test_log_softmax_keeps_the_digits_of_a_small_result_next_to_a_large_max():
    # log_softmax([1000, 980])[0] = -log(1 + e^-20) = -2.06e-9: x - logsumexp(x) would give
    # 1000 - 1000.000000002, whose last digit is worth 1.1e-13 (5e-5 relative). What is left is
    # the rounding of the sum 1 + 2.06e-9 (1.1e-16, 5e-8 relative), exactly as in PyTorch.
    v, _ = _run("  x: [1000.0, 980.0]\n", "  s: {op: log_softmax, args: [x]}\n"
                "  L: {op: sum, args: [s]}\n", "L")
    np.testing.assert_allclose(v["s"][0], -math.log1p(math.exp(-20)), rtol=1e-7)


def test_logsumexp_at_plus_minus_1000():
    v, g = _run(f"  x: {BIG}\n", "  l: {op: logsumexp, args: [x], axis: 1}\n"
                "  L: {op: sum, args: [l]}\n", "L")
    np.testing.assert_allclose(v["l"], [1000, -1000 + math.log(3),
                                        1000 + math.log(2 + math.exp(-1))], rtol=1e-15)
    # exp(x - logsumexp) (PyTorch's formula): x - lse near 1000 carries 1e-13 of rounding
    np.testing.assert_allclose(g["x"].sum(axis=1), [1, 1, 1], rtol=1e-12)
    np.testing.assert_allclose(g["x"][0], [1, 0, 0], rtol=1e-15, atol=0)


@pytest.mark.parametrize("x,s,sp", [(1000.0, 1.0, 1000.0), (-1000.0, 0.0, 0.0),
                                    (30.0, 1 / (1 + math.exp(-30)), 30.0),
                                    (-30.0, 1 / (1 + math.exp(30)), math.log1p(math.exp(-30)))])
def test_sigmoid_and_softplus_at_large_inputs(x, s, sp):
    v, g = _run(f"  x: {x}\n", "  s: {op: sigmoid, args: [x]}\n  p: {op: softplus, args: [x]}\n"
                "  L: {op: add, args: [s, p]}\n", "L")
    assert float(v["s"]) == pytest.approx(s, rel=1e-15, abs=0)
    assert float(v["p"]) == pytest.approx(sp, rel=1e-15, abs=0)
    assert np.isfinite(g["x"])


@pytest.mark.parametrize("x", ["[-720.0, -1000.0]", "-720.0"])  # tensors, and a scalar graph
def test_sigmoid_underflows_to_exactly_zero_like_pytorch(x):
    # 1 / (1 + exp(720)): exp overflows to inf and the result is 0, not a subnormal number
    v, _ = _run(f"  x: {x}\n", "  s: {op: sigmoid, args: [x]}\n"
                "  L: {op: sum, args: [s]}\n", "L")
    assert np.all(v["s"] == 0.0)


def test_softplus_is_x_above_pytorchs_threshold():
    v, g = _run("  x: [20.5, 25.0]\n", "  p: {op: softplus, args: [x]}\n"
                "  L: {op: sum, args: [p]}\n", "L")
    assert v["p"].tolist() == [20.5, 25.0]
    assert g["x"].tolist() == [1.0, 1.0]


def test_cross_entropy_with_huge_logits():
    v, g = _run(f"  x: {BIG}\n", "  L: {op: cross_entropy, args: [x, y]}\n", "L",
                inputs="  y: {value: [1, 2, 2], dtype: int64}\n")
    # rows: -log_softmax = 2000, log 3, 1 + log(2 + e^-1)
    want = (2000 + math.log(3) + 1 + math.log(2 + math.exp(-1))) / 3
    assert float(v["L"]) == pytest.approx(want, rel=1e-15)
    e = 1 / (2 + math.exp(-1))
    np.testing.assert_allclose(g["x"], np.array([[1, -1, 0], [1 / 3, 1 / 3, -2 / 3],
                                                 [e, e, e * math.exp(-1) - 1]]) / 3,
                               rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("op", ["neg", "exp", "log", "sqrt", "square", "abs", "sin", "cos", "tanh",
                                "sigmoid", "relu", "softplus"])
def test_unary_op_of_an_input_in_a_scalar_graph(op):
    # an all-scalar graph runs on Python floats; an input has no gradient to receive
    v, g = _run("  w: 2.0\n", f"  u: {{op: {op}, args: [x]}}\n  L: {{op: mul, args: [u, w]}}\n",
                "L", inputs="  x: 0.5\n")
    assert "x" not in g
    assert float(g["w"]) == float(v["u"])


def _tanh_correctly_rounded(x):
    from decimal import Decimal, localcontext
    with localcontext() as ctx:
        ctx.prec = 50
        e = (2 * Decimal(x)).exp()
        return float((e - 1) / (e + 1))


def test_tanh_is_correctly_rounded_so_its_gradient_agrees_with_pytorch():
    # PyTorch's tanh is (almost always) correctly rounded. Near |x| = 10..19, 1 - tanh^2 is
    # 1e-9..1e-16 and one ulp of tanh (1.1e-16) moves it by 1e-7..100%: where |x| >= 5 the
    # forward must round the way PyTorch does for the gradients to agree
    rng = np.random.default_rng(3)
    xs = rng.uniform(5, 19, 400) * rng.choice([-1, 1], 400)
    v, g = _run(f"  x: {xs.tolist()}\n", "  t: {op: tanh, args: [x]}\n"
                "  L: {op: sum, args: [t]}\n", "L")
    exact = np.array([_tanh_correctly_rounded(x) for x in xs])
    assert np.mean(v["t"] == exact) >= 0.99
    np.testing.assert_array_equal(g["x"], 1 - v["t"] * v["t"])
    s, gs = _run("  x: 11.3\n", "  t: {op: tanh, args: [x]}\n", "t")  # the scalar path too
    assert float(s["t"]) == _tanh_correctly_rounded(11.3)


# Op.flows: the executor skips the finite check of a value whose every use is by such an op, and of
# the cotangent of such an op's node, trusting a later check to see the nan or inf. Prove the claim.
FLOWS_SHAPES = {"matmul": [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((5, 2, 3), (3, 4))],
                "transpose": [((2, 3),)], "reshape": [((2, 3),)], "neg": [((2, 3),)],
                "sum": [((2, 3),)], "mean": [((2, 3),)], "expand_dims": [((2, 3),)],
                "squeeze": [((2, 1, 3),)], "broadcast_to": [((2, 1),)], "flatten": [((2, 3, 2),)],
                "index": [((4, 3),)], "slice": [((4, 3),)]}
# (index and slice pick the last element, where the poison goes)
FLOWS_ATTRS = {"reshape": {"shape": (3, 2)}, "expand_dims": {"axis": 1}, "squeeze": {"axis": 1},
               "broadcast_to": {"shape": (3, 2, 4)}, "flatten": {"start_axis": 1},
               "index": {"index": (-1,)}, "slice": {"slices": ((2, None), (None, None, -2))}}


def _flows_cases():
    from graphrun.ops import OPS
    for name, op in sorted(OPS.items()):
        if not op.flows:
            continue
        shapes = FLOWS_SHAPES.get(name, [((2, 3), (2, 3)), ((2, 1), (1, 3)), ((), (2, 3))])
        for arg_shapes in shapes:
            for bad in (np.inf, -np.inf, np.nan):
                yield pytest.param(name, arg_shapes, bad, id=f"{name}-{arg_shapes}-{bad}")


def test_every_op_that_claims_flows_is_covered():
    from graphrun.ops import OPS
    assert {n for n, op in OPS.items() if op.flows} <= {c.values[0] for c in _flows_cases()}


@pytest.mark.parametrize("name,shapes,bad", list(_flows_cases()))
def test_nonfinite_flows_through_ops_that_claim_it(name, shapes, bad):
    from graphrun.engine.executor import unbroadcast
    from graphrun.ops import OPS
    op, attrs = OPS[name], FLOWS_ATTRS.get(name, {})
    rng = np.random.default_rng(0)
    # zeros included: inf * 0 must still come out non-finite
    args = [np.where(rng.random(s) < 0.3, 0.0, rng.uniform(-2, 2, s)) for s in shapes]
    ans = op.forward(*args, **attrs)
    with np.errstate(all="ignore"):
        for i in range(len(args)):  # nan or inf in any argument reaches the result
            poisoned = [a.copy() for a in args]
            poisoned[i].reshape(-1)[-1] = bad
            assert not np.isfinite(op.forward(*poisoned, **attrs)).all(), (name, i)
        g = rng.uniform(-1, 1, np.shape(ans))
        g = np.where(rng.random(np.shape(ans)) < 0.3, 0.0, g)
        g.reshape(-1)[0] = bad
        for i in range(len(args)):  # nan or inf in g reaches every argument's cotangent
            c = np.asarray(op.vjp(i)(g, ans, *args, **attrs))
            assert not np.isfinite(unbroadcast(c, np.shape(args[i]))).all(), (name, i)


def test_a_skipped_check_still_names_the_first_bad_node():
    from graphrun import NumericError
    # y overflows; its only use (add) lets inf flow, so only L is checked in the fast path, and
    # the error path must still name y
    with pytest.raises(NumericError) as e:
        _run("  x: [1.0e200, 2.0]\n", "  y: {op: mul, args: [x, x]}\n"
             "  z: {op: add, args: [y, 1.0]}\n  L: {op: sum, args: [z]}\n", "L")
    assert "node 'y' (mul): forward produced inf at index [0]" in str(e.value)
    # backward: sqrt's VJP at 0 is inf, reaching the param's gradient through mul and sum
    with pytest.raises(NumericError) as e:
        _run("  w: [0.0, 1.0]\n", "  r: {op: sqrt, args: [w]}\n"
             "  m: {op: mul, args: [r, 2.0]}\n  L: {op: sum, args: [m]}\n", "L")
    assert "node 'r' (sqrt): backward produced inf" in str(e.value)
