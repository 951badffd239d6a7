"""Every op's VJPs against central finite differences in float64, driven by the op table.

For each op, CASES lists argument shapes (scalars, vectors, matrices and every broadcasting pair),
the attributes that change the math (axis as null, an int, a negative int, a list; keepdims both
ways), and the domain to draw values from (clear of kinks: the kinks are pinned by exact tests in
test_ops_kinks.py). A registered op with no cases, or an attribute no case sets, fails: an op is not
done until it is checked here.

The second half runs random graphs through the whole pipeline (graph text -> compile -> run) and
checks every param's gradient against finite differences of the loss.
"""

import zlib

import numpy as np
import pytest

from conftest import compile_text
import graphrun
from graphrun.engine.executor import unbroadcast
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
    "accuracy": [dict(shapes=((4, 3), (4,)), labels=[0, 2, 1, 2]),
                 dict(shapes=((1, 5), (1,)), labels=[4])],
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
    """Every case of every op, as a list (parametrize refuses a one-shot generator)."""
    return [pytest.param(name, case, id=f"{name}-{i}-{case['shapes']}-{case.get('attrs', {})}")
            for name in sorted(CASES) for i, case in enumerate(CASES[name])]


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
    rng = np.random.default_rng(zlib.crc32(f"{name} {case}".encode()))  # not hash(): PYTHONHASHSEED
    args = _args(rng, case)
    types = [Type(tuple(np.shape(a)), np.asarray(a).dtype) for a in args]
    out_type = op.infer(*types, **attrs)
    ans = op.forward(*args, **attrs)
    assert np.shape(ans) == out_type.shape, "infer and forward disagree on the shape"
    g = rng.uniform(-1.0, 1.0, np.shape(ans))
    for i in case.get("only_args", range(len(args))):
        vjp = op.vjp(i)
        if vjp is None:
            # labels have none; nor has an op with no gradient at all (accuracy: argmax is
            # piecewise constant), which nothing differentiates through
            assert np.asarray(args[i]).dtype == np.int64 or not any(op.vjps), \
                f"{name}: only labels go without a VJP"
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

class _RandomGraph:
    """A random graph over the whole op table, as text. Each value's shape is tracked, and whether
    it is positive (for log, sqrt, div, pow). Params are drawn with |x| in [0.2, 1.2], so that
    relu and abs see no kink within the finite-difference step."""

    def __init__(self, rng):
        self.rng = rng
        self.params, self.inputs, self.nodes = {}, {}, []
        self.shape, self.positive = {}, {}

    def pick(self, pred=lambda name: True):
        names = [n for n in self.shape if pred(n)]
        return names[self.rng.integers(len(names))] if names else None

    def param(self, shape, positive=False):
        name = f"p{len(self.params)}"
        r = self.rng
        v = r.uniform(0.2, 1.2, shape) * (1 if positive else r.choice([-1.0, 1.0], shape))
        self.params[name] = np.round(v, 3).tolist()
        self.shape[name], self.positive[name] = tuple(shape), positive
        return name

    def node(self, text, shape, positive=False):
        name = f"n{len(self.nodes)}"
        self.nodes.append(f"  {name}: {text}")
        self.shape[name], self.positive[name] = tuple(shape), positive
        return name

    def step(self, op):
        r, x = self.rng, self.pick()
        sx = self.shape[x]
        if op in ("neg", "square", "sin", "cos", "tanh", "abs", "relu"):
            return self.node(f"{{op: {op}, args: [{x}]}}", sx, op in ("square", "abs"))
        if op in ("exp", "sigmoid", "softplus"):
            t = self.node(f"{{op: tanh, args: [{x}]}}", sx) if op == "exp" else x  # keep exp tame
            return self.node(f"{{op: {op}, args: [{t}]}}", sx, True)
        if op in ("log", "sqrt"):
            x = self.pick(lambda n: self.positive[n]) or self.param(sx, positive=True)
            return self.node(f"{{op: {op}, args: [{x}]}}", self.shape[x], op == "sqrt")
        if op in ("add", "sub", "mul", "maximum", "minimum", "div", "pow"):
            if op in ("div", "pow"):
                x = self.pick(lambda n: self.positive[n]) or self.param(sx, positive=True)
            y = self.pick(lambda n: n != x and self._broadcasts(self.shape[x], self.shape[n])
                          and (op != "div" or self.positive[n]))
            if y is None or r.random() < 0.2:
                y = ["0.5", "2", "-1.5"][r.integers(3)] if op != "div" else "2"
            if r.random() < 0.1 and op not in ("div", "pow"):
                y = x  # mul(x, x), maximum(x, x): one value used twice
            shape = np.broadcast_shapes(self.shape[x], self.shape.get(y, ()))
            args = [x, y] if op in ("div", "pow") or r.random() < 0.5 else [y, x]
            return self.node(f"{{op: {op}, args: [{args[0]}, {args[1]}]}}", shape)
        if op == "matmul":
            if not sx:
                return None
            k = sx[-1]
            other = self.param([(k,), (k, 2), (3, k, 2)][r.integers(3)])
            so = self.shape[other]
            return self.node(f"{{op: matmul, args: [{x}, {other}]}}",
                             np.matmul(np.zeros(sx), np.zeros(so)).shape)
        if op == "transpose":
            perm = [int(a) - len(sx) * int(r.integers(2)) for a in r.permutation(len(sx))]
            return self.node(f"{{op: transpose, args: [{x}], axes: {perm}}}",
                             tuple(sx[a] for a in perm), self.positive[x])
        if op == "reshape":
            return self.node(f"{{op: reshape, args: [{x}], shape: [-1, 1]}}",
                             (int(np.prod(sx)), 1), self.positive[x])
        if op == "concat":
            if not sx:
                return None
            axis = int(r.integers(-len(sx), len(sx)))
            return self.node(f"{{op: concat, args: [{x}, {x}], axis: {axis}}}",
                             np.concatenate([np.zeros(sx)] * 2, axis=axis).shape, self.positive[x])
        if op in ("sum", "mean", "max", "logsumexp"):
            axis = None if not sx or r.random() < 0.3 else int(r.integers(-len(sx), len(sx)))
            keep = bool(r.integers(2))
            shape = np.sum(np.zeros(sx), axis=axis, keepdims=keep).shape
            return self.node(f"{{op: {op}, args: [{x}], axis: {'null' if axis is None else axis}, "
                             f"keepdims: {str(keep).lower()}}}", shape)
        if op in ("softmax", "log_softmax"):
            if not sx:
                return None
            axis = int(r.integers(-len(sx), len(sx)))
            return self.node(f"{{op: {op}, args: [{x}], axis: {axis}}}", sx, op == "softmax")
        if op == "mse":
            y = self.pick(lambda n: self._broadcasts(self.shape[x], self.shape[n])) or "0.5"
            return self.node(f"{{op: mse, args: [{x}, {y}]}}", ())
        if op in ("cross_entropy", "accuracy"):
            x = self.pick(lambda n: len(self.shape[n]) == 2)
            if x is None:
                return None
            n, c = self.shape[x]
            labels = f"y{len(self.inputs)}"
            self.inputs[labels] = f"{{value: {r.integers(0, c, n).tolist()}, dtype: int64}}"
            return self.node(f"{{op: {op}, args: [{x}, {labels}]}}", ())
        raise KeyError(op)

    @staticmethod
    def _broadcasts(a, b):
        try:
            np.broadcast_shapes(a, b)
            return True
        except ValueError:
            return False

    def text(self):
        """Every node without a consumer is summed into the loss."""
        used = {a for line in self.nodes for a in line.split("args: [")[1].split("]")[0].split(", ")}
        sinks = [n for n in self.shape if n.startswith("n") and n not in used]
        total = None
        for s in sinks:
            r = self.node(f"{{op: sum, args: [{s}]}}", ())
            total = r if total is None else self.node(f"{{op: add, args: [{total}, {r}]}}", ())
        lines = ["graphrun: 1"]
        if self.inputs:
            lines += ["inputs:"] + [f"  {k}: {v}" for k, v in self.inputs.items()]
        lines += ["params:"] + [f"  {k}: {v}" for k, v in self.params.items()]
        lines += ["nodes:"] + self.nodes + [f"loss: {total}"]
        return "\n".join(lines) + "\n"


def _random_graph(seed, n_nodes=14):
    rng = np.random.default_rng(seed)
    graph = _RandomGraph(rng)
    for shape in [(), (3,), (2, 3), (1, 3), (2, 1)]:
        graph.param(shape)
    ops = sorted(n for n in OPS if n not in FORWARD_ONLY)
    while len(graph.nodes) < n_nodes:
        graph.step(ops[rng.integers(len(ops))])
    # ops with no gradient (they add a constant to the loss) drawn from a generator of their own,
    # so that adding one to the table leaves the graphs above as they were
    graph.rng = np.random.default_rng([seed, 1])
    for op in sorted(FORWARD_ONLY):
        if graph.rng.random() < 0.5:
            graph.step(op)
    return graph.text(), list(graph.params)


FORWARD_ONLY = {name for name, op in OPS.items() if not any(op.vjps)}


@pytest.mark.parametrize("seed", range(40))
def test_pipeline_gradients_match_finite_differences(seed):
    text, params = _random_graph(seed)
    graph = compile_text(text)
    results = graphrun.run(graph)
    base = graph.param_values()

    def loss_at(name, flat_index, delta):
        moved = base[name].copy()
        moved.reshape(-1)[flat_index] += delta
        return graphrun.run(graph, params={name: moved}, gradients=False).loss

    eps = 1e-6
    scale = max(1.0, abs(results.loss))
    for name in params:
        numeric = np.zeros(base[name].size)
        for j in range(base[name].size):
            numeric[j] = (loss_at(name, j, eps) - loss_at(name, j, -eps)) / (2 * eps)
        np.testing.assert_allclose(np.reshape(results.grads[name], -1), numeric, rtol=1e-5,
                                   atol=1e-7 * scale, err_msg=f"d loss/d {name}\n{text}")


def test_pipeline_graphs_use_every_op():
    """The random graphs above really cover the table (a generator can silently narrow)."""
    used = set()
    for seed in range(40):
        text, _ = _random_graph(seed)
        used.update(op for op in OPS if f"{{op: {op}," in text)
    assert used == set(OPS)
