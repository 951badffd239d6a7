"""Every op's VJPs against central finite differences in float64, driven by the op table.

For each op, CASES lists argument shapes (scalars, vectors, matrices and every broadcasting pair),
the attributes that change the math (axis as null, an int, a negative int, a list; keepdims both
ways), and the domain to draw values from (clear of kinks: the kinks are pinned by exact tests in
test_ops_kinks.py). A registered op with no cases, or an attribute no case sets, fails: an op is not
done until it is checked here.

The second half runs random graphs through the whole pipeline (graph text -> compile -> run) and
checks every param's gradient against finite differences of the loss.
"""

import itertools

import numpy as np
import pytest

from conftest import compile_text
from graphrun import forward, run
from graphrun.executor import unbroadcast
from graphrun.ops import OPS, REQUIRED, Type

BROADCAST_PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((), (2, 3)), ((2, 3), ()),
                   ((3, 1), (1, 3)), ((1, 3), (3, 1)), ((2, 1, 3), (3,)), ((3,), (2, 1, 3)),
                   ((4,), (2, 1)), ((2, 3), (1, 3)), ((2, 1), (2, 3)), ((1,), (2, 3)),
                   ((2, 1, 3), (1, 4, 1))]
UNARY_SHAPES = [(), (3,), (2, 3), (2, 1, 3)]

# domain: (low, high) for every argument, or a list of them per argument
POSITIVE = (0.5, 2.0)
ANY = (-2.0, 2.0)
AWAY_FROM_ZERO = "away"  # |x| in [0.5, 2], random sign: clear of kinks at 0
INTEGER_EXPONENT = "integers"  # pow with a negative base: the exponent an integer in [-2, 3]


def binary(domain=ANY):
    return [dict(shapes=s, domain=domain) for s in BROADCAST_PAIRS]


def unary(domain=ANY):
    return [dict(shapes=(s,), domain=domain) for s in UNARY_SHAPES]


def reductions():
    """Every kind of axis, negative axes and keepdims, on a 3-D, a 1-D and a 0-D argument."""
    out = []
    for axis in (None, 0, 1, -1, -3, [0, 2], [-1, 0], [0, 1, 2]):
        for keepdims in (False, True):
            out.append(dict(shapes=((2, 3, 4),), attrs=dict(axis=axis, keepdims=keepdims)))
    out += [dict(shapes=((5,),), attrs=dict(axis=0)), dict(shapes=((5,),), attrs=dict(axis=-1)),
            dict(shapes=((),), attrs={}), dict(shapes=((),), attrs=dict(keepdims=True)),
            dict(shapes=((2, 3),), attrs={})]
    return out


def along_axis():
    return [dict(shapes=((2, 3),)), dict(shapes=((2, 3),), attrs=dict(axis=0)),
            dict(shapes=((2, 3),), attrs=dict(axis=-2)), dict(shapes=((4,),)),
            dict(shapes=((4,),), attrs=dict(axis=0)),
            dict(shapes=((2, 3, 4),), attrs=dict(axis=1)),
            dict(shapes=((2, 3, 4),), attrs=dict(axis=-3))]


MATMUL_PAIRS = [((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
                ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
                ((2, 1, 2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)),
                ((1, 2, 3), (4, 3, 2)), ((1, 3), (3, 1))]

CASES = {
    "add": binary(), "sub": binary(), "mul": binary(),
    "div": binary([ANY, AWAY_FROM_ZERO]),
    # a negative base with integer exponents: x^y is not differentiable in y there (log x)
    "pow": binary([POSITIVE, ANY]) + [dict(shapes=s, domain=[AWAY_FROM_ZERO, INTEGER_EXPONENT],
                                           only_args=[0])
                                      for s in [((3,), (3,)), ((2, 3), ()), ((2, 1), (1, 3))]],
    "maximum": binary(), "minimum": binary(),
    "neg": unary(), "exp": unary(), "log": unary(POSITIVE), "sqrt": unary(POSITIVE),
    "square": unary(), "abs": unary(AWAY_FROM_ZERO), "sin": unary(), "cos": unary(),
    "tanh": unary(), "sigmoid": unary((-6.0, 6.0)), "relu": unary(AWAY_FROM_ZERO),
    # both sides of the threshold at 20, where softplus(x) becomes x
    "softplus": unary((-6.0, 6.0)) + [dict(shapes=((4,),), domain=(15.0, 19.0)),
                                      dict(shapes=((4,),), domain=(21.0, 30.0))],
    "matmul": [dict(shapes=s) for s in MATMUL_PAIRS],
    "transpose": [dict(shapes=((2, 3),)), dict(shapes=((3,),)), dict(shapes=((),)),
                  dict(shapes=((2, 3, 4),)),
                  dict(shapes=((2, 3, 4),), attrs=dict(axes=[1, 0, 2])),
                  dict(shapes=((2, 3, 4),), attrs=dict(axes=[-1, 0, 1])),
                  dict(shapes=((2, 3),), attrs=dict(axes=None))],
    "reshape": [dict(shapes=((2, 3),), attrs=dict(shape=[3, 2])),
                dict(shapes=((2, 3),), attrs=dict(shape=[-1])),
                dict(shapes=((6,),), attrs=dict(shape=[1, -1, 2])),
                dict(shapes=((),), attrs=dict(shape=[1, 1])),
                dict(shapes=((1, 1),), attrs=dict(shape=[]))],
    "concat": [dict(shapes=((2, 3), (4, 3))), dict(shapes=((2, 3), (2, 1)), attrs=dict(axis=-1)),
               dict(shapes=((1, 2), (3, 2), (2, 2)), attrs=dict(axis=0)), dict(shapes=((3,),)),
               dict(shapes=((2, 1, 3), (2, 2, 3)), attrs=dict(axis=1)),
               dict(shapes=((2, 3, 1), (2, 3, 2)), attrs=dict(axis=-1))],
    "sum": reductions(), "mean": reductions(), "max": reductions(), "logsumexp": reductions(),
    "softmax": along_axis(), "log_softmax": along_axis(),
    "mse": [dict(shapes=s) for s in [((2, 3), (2, 3)), ((2, 3), (3,)), ((), (4,)), ((3,), ()),
                                     ((3, 1), (1, 3)), ((), ())]],
    "cross_entropy": [dict(shapes=((4, 3), (4,)), labels=[0, 2, 1, 2]),
                      dict(shapes=((1, 5), (1,)), labels=[4]),
                      dict(shapes=((3, 2), (3,)), labels=[1, 1, 1])],
}


def test_every_op_has_cases():
    assert sorted(CASES) == sorted(OPS), "each op in the table needs finite-difference cases"


@pytest.mark.parametrize("name", sorted(n for n in OPS if OPS[n].attrs))
def test_every_attribute_is_exercised(name):
    """Each attribute of each op is set by some case, and an axis is also given negative."""
    cases = CASES[name]
    for attr, default in OPS[name].attrs.items():
        written = [c["attrs"][attr] for c in cases if attr in c.get("attrs", {})]
        assert written, f"{name}: no case sets '{attr}'"
        if attr == "axis":
            flat = [a for w in written if w is not None for a in ([w] if isinstance(w, int) else w)]
            assert any(a < 0 for a in flat), f"{name}: no case gives a negative axis"
        if attr == "keepdims":
            assert set(written) == {False, True}, f"{name}: keepdims must be tried both ways"
        if default is not REQUIRED:
            assert any(attr not in c.get("attrs", {}) for c in cases), \
                f"{name}: no case leaves '{attr}' at its default"


def test_every_broadcasting_pair_is_exercised():
    """The pairs the format promises: scalar vs tensor, (3,1) vs (1,3), (2,1,3) vs (3,)."""
    for pair in [((), (2, 3)), ((3, 1), (1, 3)), ((2, 1, 3), (3,))]:
        assert pair in BROADCAST_PAIRS and pair[::-1] in BROADCAST_PAIRS + [((2, 3), ())]
    assert ((5, 2, 3), (3, 4)) in MATMUL_PAIRS and ((3,), (3, 4)) in MATMUL_PAIRS \
        and ((2, 3), (3,)) in MATMUL_PAIRS


def _draw(rng, shape, domain):
    if domain == AWAY_FROM_ZERO:
        return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == INTEGER_EXPONENT:
        return rng.integers(-2, 4, shape).astype(np.float64)
    return rng.uniform(domain[0], domain[1], shape)


def _cases():
    for name in sorted(CASES):
        for i, case in enumerate(CASES[name]):
            yield pytest.param(name, case, id=f"{name}-{i}-{case['shapes']}-{case.get('attrs', {})}")


def _numeric_vjp(f, args, i, g, eps=1e-6):
    """d <g, f(args)> / d args[i] by central differences."""
    x = np.array(args[i], dtype=np.float64)
    out = np.zeros_like(x)
    flat = out.reshape(-1)
    for j in range(x.size):
        plus, minus = x.copy().reshape(-1), x.copy().reshape(-1)
        plus[j] += eps
        minus[j] -= eps
        a_plus, a_minus = list(args), list(args)
        a_plus[i], a_minus[i] = plus.reshape(x.shape), minus.reshape(x.shape)
        flat[j] = (np.sum(g * f(*a_plus)) - np.sum(g * f(*a_minus))) / (2 * eps)
    return out


def _attrs(case):
    """The attributes as the spec hands them to ops: lists frozen to tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in case.get("attrs", {}).items()}


def _args(rng, case, dtype=np.float64):
    shapes = case["shapes"]
    domains = case.get("domain", ANY)
    domains = domains if isinstance(domains, list) else [domains] * len(shapes)
    args = [_draw(rng, s, d).astype(dtype) for s, d in zip(shapes, domains)]
    if "labels" in case:
        args[1] = np.array(case["labels"], dtype=np.int64)
    return args


@pytest.mark.parametrize("name,case", _cases())
def test_vjp_matches_finite_differences(name, case):
    op = OPS[name]
    attrs = _attrs(case)
    rng = np.random.default_rng(abs(hash((name, str(case)))) % 2**32)
    args = _args(rng, case)
    types = [Type(tuple(np.shape(a)), np.asarray(a).dtype) for a in args]
    out_type = op.infer(*types, **attrs)
    ans = op.forward(*args, **attrs)
    assert np.shape(ans) == out_type.shape, "infer and forward disagree on the shape"
    g = rng.uniform(-1.0, 1.0, np.shape(ans))
    for i in case.get("only_args", range(len(args))):
        vjp = op.vjp(i)
        if vjp is None:
            assert np.asarray(args[i]).dtype == np.int64, f"{name}: only labels go without a VJP"
            continue
        analytic = vjp(g, ans, *args, **attrs)
        if np.shape(analytic) != np.shape(args[i]):
            analytic = unbroadcast(np.asarray(analytic), np.shape(args[i]))
        numeric = _numeric_vjp(lambda *a: op.forward(*a, **attrs), args, i, g)
        assert np.isfinite(numeric).all(), "a case outside the op's domain checks nothing"
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8,
                                   err_msg=f"{name} d/d arg {i}")


@pytest.mark.parametrize("name,case", _cases())
def test_float32_stays_float32(name, case):
    """float32 graphs compute in float32: no forward and no VJP may promote to float64."""
    attrs = _attrs(case)
    args = _args(np.random.default_rng(0), case, np.float32)
    ans = OPS[name].forward(*args, **attrs)
    assert np.asarray(ans).dtype == np.float32
    g = np.ones(np.shape(ans), np.float32)
    for i in range(len(args)):
        vjp = OPS[name].vjp(i)
        if vjp is not None:
            c = vjp(g, ans, *args, **attrs)
            assert np.asarray(c).dtype == np.float32, f"{name} VJP {i} gave {np.asarray(c).dtype}"


# ---------------------------------------------------------------------------------------------
# the whole pipeline: random graphs, written as text, against finite differences of the loss

SMOOTH_UNARY = ["neg", "exp", "square", "sin", "cos", "tanh", "sigmoid", "softplus"]
SMOOTH_BINARY = ["add", "sub", "mul"]
SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]


def _random_graph(rng):
    """(graph text, param names). Smooth ops only, so that finite differences are exact enough;
    nodes reuse earlier values (diamonds, mul(x, x)), literals and broadcasting."""
    params = {f"p{i}": rng.uniform(-1, 1, SHAPES[rng.integers(len(SHAPES))]).round(3)
              for i in range(3)}
    names = list(params)
    shapes = {k: v.shape for k, v in params.items()}
    nodes = []
    for i in range(12):
        kind = rng.integers(8)
        x = names[rng.integers(len(names))]
        if kind < 3:
            op = SMOOTH_UNARY[rng.integers(len(SMOOTH_UNARY))]
            if op == "exp":
                op = "tanh"  # keep values small along chains
            body, shape = f"{{op: {op}, args: [{x}]}}", shapes[x]
        elif kind < 6:
            y = names[rng.integers(len(names))]
            if rng.random() < 0.2:
                y = "0.5"
            try:
                shape = np.broadcast_shapes(shapes[x], shapes.get(y, ()))
            except ValueError:
                continue
            op = SMOOTH_BINARY[rng.integers(len(SMOOTH_BINARY))]
            body = f"{{op: {op}, args: [{x}, {y}]}}"
        elif kind == 6 and shapes[x]:
            axis = int(rng.integers(-len(shapes[x]), len(shapes[x])))
            op = ["softmax", "log_softmax"][rng.integers(2)]
            body, shape = f"{{op: {op}, args: [{x}], axis: {axis}}}", shapes[x]
        else:
            op = ["sum", "mean", "logsumexp"][rng.integers(3)]
            body, shape = f"{{op: {op}, args: [{x}]}}", ()
        name = f"n{i}"
        nodes.append(f"  {name}: {body}")
        names.append(name)
        shapes[name] = tuple(shape)
    total = [n for n in names if n.startswith("n")]
    lines = ["graphrun: 1", "params:"]
    lines += [f"  {k}: {v.tolist()}" for k, v in params.items()]
    lines += ["nodes:"] + nodes
    prev = None
    for i, n in enumerate(total):
        lines.append(f"  r{i}: {{op: sum, args: [{n}]}}")
        if prev is not None:
            lines.append(f"  s{i}: {{op: add, args: [{prev}, r{i}]}}")
            prev = f"s{i}"
        else:
            prev = f"r{i}"
    lines.append(f"loss: {prev}")
    return "\n".join(lines) + "\n", list(params)


@pytest.mark.parametrize("seed", range(25))
def test_pipeline_gradients_match_finite_differences(seed):
    text, params = _random_graph(np.random.default_rng(seed))
    program = compile_text(text).program
    results = run(program)
    base = [leaf.materialize() for leaf in program.leaves]

    def loss_at(slot, flat_index, delta):
        values = [np.array(v, dtype=np.float64) for v in base]
        values[slot].reshape(-1)[flat_index] += delta
        return float(forward(program, values)[program.loss].reshape(()))

    eps = 1e-6
    for name in params:
        slot = program.slot(name)
        numeric = np.zeros(base[slot].size)
        for j in range(base[slot].size):
            numeric[j] = (loss_at(slot, j, eps) - loss_at(slot, j, -eps)) / (2 * eps)
        np.testing.assert_allclose(results.grads[slot].reshape(-1), numeric, rtol=1e-5,
                                   atol=1e-7, err_msg=f"d loss/d {name}\n{text}")


def test_pipeline_graphs_cover_every_smooth_op():
    """The random graphs above really use what they claim to (a generator can silently narrow)."""
    used = set()
    for seed in range(25):
        text, _ = _random_graph(np.random.default_rng(seed))
        used.update(op for op in itertools.chain(SMOOTH_UNARY, SMOOTH_BINARY, ["softmax",
                    "log_softmax", "sum", "mean", "logsumexp"]) if f"op: {op}," in text)
    assert used >= set(SMOOTH_UNARY + SMOOTH_BINARY) - {"exp"}
