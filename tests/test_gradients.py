"""Every op's VJPs against central finite differences in float64, driven by the op table.

Each entry's samples (ops/samples.py) give the argument shapes (scalars, vectors, matrices and
every broadcasting pair), the attributes that change the math, and the domain to draw values from
(clear of kinks: the kinks are pinned by exact tests in test_ops_kinks.py). A registered op with
no samples, or an attribute no sample sets (or one that misses what its kind asks for: a negative
axis, keepdims both ways, ...), fails: an op is not done until it is checked here. No op is named
in this file.

The second half builds random graphs from the same samples, runs them through the whole pipeline
(graph text -> compile -> run) and checks every param's gradient against finite differences of
the loss.
"""

import zlib
from typing import NamedTuple

import numpy as np
import pytest

from conftest import compile_text
import graphrun
from graphrun.ops import OPS, REQUIRED, Type
from graphrun.ops.kinds import text
from graphrun.ops.linalg import MATMUL_PAIRS
from graphrun.ops.samples import BROADCAST_PAIRS, Sample
from graphrun.engine.executor import unbroadcast


class Case(NamedTuple):
    """One sample of one op (test_ops_shapes.py reads these too)."""

    name: str
    index: int
    sample: Sample


CASES = {name: [Case(name, i, s) for i, s in enumerate(OPS[name].samples)] for name in sorted(OPS)}


def _cases():
    """Every sample of every op, as a list (parametrize refuses a one-shot generator)."""
    return [pytest.param(case, id=f"{case.name}-{case.index}-{case.sample.shapes}-"
                                  f"{case.sample.attrs}")
            for cases in CASES.values() for case in cases]


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_has_samples(name):
    assert OPS[name].samples, f"{name}: each op in the table needs samples for these tests"


@pytest.mark.parametrize("name", sorted(n for n in OPS if OPS[n].attrs))
def test_every_attribute_is_exercised(name):
    """Each attribute of each op is set by some sample, to values that fit its kind and try what
    the kind asks for; left at its default by another; and no sample sets an undeclared one."""
    op = OPS[name]
    for s in op.samples:
        assert set(s.attrs) <= set(op.attrs), f"{name}: a sample sets an undeclared attribute"
        assert set(op.required) <= set(s.attrs), f"{name}: a sample leaves out a required one"
    for key, attr in op.attrs.items():
        written = [s.attrs[key] for s in op.samples if key in s.attrs]
        assert written, f"{name}: no sample sets '{key}'"
        assert all(attr.kind.fits(v) for v in written), f"{name}: '{key}' is no {attr.kind}"
        for what, holds in attr.kind.coverage:
            assert any(holds(v) for v in written), f"{name}: no sample gives '{key}' {what}"
        if attr.default is not REQUIRED:
            assert any(key not in s.attrs for s in op.samples), \
                f"{name}: no sample leaves '{key}' at its default"
            assert any(v != attr.default for v in written), \
                f"{name}: no sample gives '{key}' a value other than its default"


def test_every_broadcasting_pair_is_exercised():
    """The pairs the format promises: scalar vs tensor, (3,1) vs (1,3), (2,1,3) vs (3,)."""
    for pair in [((), (2, 3)), ((3, 1), (1, 3)), ((2, 1, 3), (3,))]:
        assert pair in BROADCAST_PAIRS and pair[::-1] in BROADCAST_PAIRS + (((2, 3), ()),)
    assert ((5, 2, 3), (3, 4)) in MATMUL_PAIRS and ((3,), (3, 4)) in MATMUL_PAIRS \
        and ((2, 3), (3,)) in MATMUL_PAIRS


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


def _normalised(name, attrs):
    """Attributes as written in a file -> as the spec hands them to ops (by their kinds)."""
    declared = OPS[name].attrs
    return {k: declared[k].kind.normalise(v) for k, v in attrs.items()}


def _attrs(case):
    return _normalised(case.name, case.sample.attrs)


def _args(rng, case, dtype=np.float64):
    s = case.sample
    return [d.draw(rng, shape, dtype) for shape, d in zip(s.shapes, s.domains)]


def _rng(case):
    return np.random.default_rng(zlib.crc32(f"{case.name} {case.index}".encode()))  # not hash()


@pytest.mark.parametrize("case", _cases())
def test_vjp_matches_finite_differences(case):
    name, op = case.name, OPS[case.name]
    attrs = _attrs(case)
    rng = _rng(case)
    args = _args(rng, case)
    types = [Type(tuple(np.shape(a)), np.asarray(a).dtype) for a in args]
    out_type = op.infer(*types, **attrs)
    ans = op.forward(*args, **attrs)
    assert np.shape(ans) == out_type.shape, "infer and forward disagree on the shape"
    g = rng.uniform(-1.0, 1.0, np.shape(ans))
    only = case.sample.only_args
    for i in range(len(args)) if only is None else only:
        vjp = op.vjp(i)
        if vjp is None:
            # labels, indices and conditions, or every argument of an op without a gradient
            # (comparisons, argmax, accuracy: its result is never differentiated)
            assert np.asarray(args[i]).dtype.kind in "ib" or not op.differentiable, \
                f"{name}: only labels, indices and conditions go without a VJP"
            continue
        analytic = vjp(g, ans, *args, **attrs)
        if np.shape(analytic) != np.shape(args[i]):
            analytic = unbroadcast(np.asarray(analytic), np.shape(args[i]))
        numeric = _numeric_vjp(lambda *a: op.forward(*a, **attrs), args, i, g)
        assert np.isfinite(numeric).all(), "a sample outside the op's domain checks nothing"
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8,
                                   err_msg=f"{name} d/d arg {i}")


@pytest.mark.parametrize("case", _cases())
def test_float32_stays_float32(case):
    """float32 graphs compute in float32: no forward and no VJP may promote to float64. (A
    comparison gives bools, argmax int64 and one_hot, which takes no float, the dtype it is
    told: each what its shape rule says, which test_ops_shapes.py checks.)"""
    op, attrs = OPS[case.name], _attrs(case)
    args = _args(np.random.default_rng(0), case, np.float32)
    ans = op.forward(*args, **attrs)
    out = op.infer(*[Type(np.shape(a), np.asarray(a).dtype) for a in args], **attrs).dtype
    takes_floats = any(np.asarray(a).dtype.kind == "f" for a in args)
    assert np.asarray(ans).dtype == (np.float32 if out.kind == "f" and takes_floats else out)
    g = np.ones(np.shape(ans), np.float32)
    for i in range(len(args)):
        vjp = op.vjp(i)
        if vjp is not None:
            c = vjp(g, ans, *args, **attrs)
            assert np.asarray(c).dtype == np.float32, \
                f"{case.name} VJP {i} gave {np.asarray(c).dtype}"


# ---------------------------------------------------------------------------------------------
# the whole pipeline: random graphs, written as text, against finite differences of the loss

KINK_MARGIN = 1e-3  # a node is kept only if its op's kink branch holds under moves this large


class _RandomGraph:
    """A random graph over the whole op table, as text, built from the entries' samples alone.

    A node takes one sample of its op. Each argument is a value made earlier (a param or a node)
    when one has the sample's shape and lies in the sample's domain, else a fresh param drawn from
    that domain; a number literal now and then for a scalar; an input for an argument that is not
    differentiated (labels, or outside the sample's only_args). Every value is computed as the
    graph grows, with the op table's forward, so a node whose value is not finite, or that sits
    within KINK_MARGIN of its op's kink, is not kept. The finite-difference step (1e-6) then stays
    clear of every kink and outside no domain."""

    def __init__(self, rng):
        self.rng = rng
        self.values = {}  # name -> value, of every param, input and node
        self.params, self.inputs, self.nodes = {}, {}, []
        self.moving = []  # the names finite differences move: params and float nodes, in order
        self.fixed = []  # nodes of other dtypes (bool, int64) or of ops without a gradient
        self.uses = []  # per node kept: its argument names (nodes are n0, n1, ...; params p..)

    def _candidates(self, shape, domain):
        """The values made earlier that an argument of this shape and domain may take."""
        return [n for n in self.moving
                if np.shape(self.values[n]) == shape and domain.admits(self.values[n])]

    def _sample(self, op):
        """One of the op's samples, most often one that some value made earlier fits."""
        fitting = [s for s in op.samples
                   if any(self._candidates(shape, d) for shape, d in zip(s.shapes, s.domains))]
        pool = fitting if fitting and self.rng.random() < 0.9 else op.samples
        return pool[self.rng.integers(len(pool))]

    def _condition(self, shape):
        """A bool argument (where's condition): a bool node made earlier, as a graph file gets
        one (inputs are never bool); None while there is none of this shape."""
        made = [n for n in self.fixed if np.shape(self.values[n]) == shape
                and np.asarray(self.values[n]).dtype == np.bool_]
        return made[self.rng.integers(len(made))] if made else None

    def _argument(self, shape, domain, differentiable, fresh):
        if domain.dtype == np.bool_:
            name = self._condition(shape)
            return (name, None if name is None else self.values[name])
        r = self.rng.random()
        if shape == () and domain.labels is None and r < 0.1:
            value = float(np.round(domain.draw(self.rng, ()), 3))
            return repr(value), value
        if differentiable:
            candidates = self._candidates(shape, domain)
            nodes = [n for n in candidates if n.startswith("n")]
            if nodes and self.rng.random() < 0.9:  # nodes and the newest ones: deep chains
                candidates = nodes
            if candidates and r < 0.9:
                newest = candidates[len(candidates) // 2:]
                pool = newest if self.rng.random() < 0.5 else candidates
                name = pool[self.rng.integers(len(pool))]
                return name, self.values[name]
        value = domain.draw(self.rng, shape)
        if domain.labels is None:
            value = np.round(value, 3)
        kind = "p" if differentiable else "x"
        name = f"{kind}{len(self.params) + len(self.inputs) + len(fresh)}"
        fresh[name] = (value, differentiable, domain)
        return name, value

    def step(self, op) -> bool:
        """Add a node of `op`; False when the one tried was not kept."""
        s = self._sample(op)
        fresh = {}
        names, args = [], []
        for i, (shape, domain) in enumerate(zip(s.shapes, s.domains)):
            differentiable = op.vjp(i) is not None and (s.only_args is None or i in s.only_args)
            previous = names[-1] if names else None
            moves = previous in self.moving or (previous in fresh and fresh[previous][1])
            if (differentiable and moves and self.rng.random() < 0.3
                    and np.shape(args[-1]) == shape and domain.admits(args[-1])):
                name, value = previous, args[-1]  # one value used twice: mul(x, x)
            else:
                name, value = self._argument(shape, domain, differentiable, fresh)
                if name is None:
                    return False  # no condition of this shape yet
            names.append(name)
            args.append(value)
        attrs = _normalised(op.name, s.attrs)
        with np.errstate(all="ignore"):
            out = np.asarray(op.forward(*args, **attrs))
            if not np.isfinite(out).all() or self._near_kink(op, names, args, attrs, fresh):
                return False
        for name, (value, differentiable, domain) in fresh.items():
            if differentiable:
                self.params[name] = value
                self.moving.append(name)
            else:
                self.inputs[name] = value
            self.values[name] = value
        node = f"n{len(self.nodes)}"
        written = "".join(f", {k}: {text(v)}" for k, v in s.attrs.items())
        self.nodes.append(f"  {node}: {{op: {op.name}, args: [{', '.join(names)}]{written}}}")
        self.values[node] = out
        (self.moving if op.differentiable and out.dtype.kind == "f" else self.fixed).append(node)
        self.uses.append(names)
        return True

    def _near_kink(self, op, names, args, attrs, fresh) -> bool:
        if op.kink is None:
            return False
        center = op.kink.branch(*args, **attrs)
        moving = set(self.moving) | {n for n, (_, d, _) in fresh.items() if d}
        for _ in range(8):
            # each value moves as one, however many arguments it is (maximum(x, x) is no tie to
            # break); literals and inputs do not move
            noise = {n: self.rng.uniform(-KINK_MARGIN, KINK_MARGIN, np.shape(a))
                     for n, a in zip(names, args) if n in moving}
            moved = [a + noise[n] if n in noise else a for n, a in zip(names, args)]
            if not np.array_equal(center, op.kink.branch(*moved, **attrs)):
                return True
        return False

    def text(self):
        """Every node without a consumer that has a gradient is summed into the loss (a bool or
        int64 sink, or one of an op without a gradient, is left as a value of its own)."""
        used = {a for names in self.uses for a in names}
        sinks = [f"n{i}" for i in range(len(self.nodes))
                 if f"n{i}" not in used and f"n{i}" in self.moving]
        lines, total = [], None
        for k, sink in enumerate(sinks):
            lines.append(f"  s{k}: {{op: sum, args: [{sink}]}}")
            if total is not None:
                lines.append(f"  t{k}: {{op: add, args: [{total}, s{k}]}}")
            total = f"s{k}" if total is None else f"t{k}"
        out = ["graphrun: 1"]
        if self.inputs:
            out += ["inputs:"] + [f"  {k}: {{value: {v.tolist()}, dtype: {v.dtype}}}"
                                  for k, v in self.inputs.items()]
        out += ["params:"] + [f"  {k}: {v.tolist()}" for k, v in self.params.items()]
        out += ["nodes:"] + self.nodes + lines + [f"loss: {total}"]
        return "\n".join(out) + "\n"


def _random_graph(seed, n_nodes=14):
    rng = np.random.default_rng(seed)
    graph = _RandomGraph(rng)
    ops = [OPS[name] for name in sorted(OPS)]
    while len(graph.nodes) < n_nodes:
        graph.step(ops[rng.integers(len(ops))])
    return graph


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_pipeline_gradients_match_finite_differences(seed):
    random_graph = _random_graph(seed)
    text, params = random_graph.text(), list(random_graph.params)
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


def test_pipeline_graphs_use_every_op_and_compose():
    """The random graphs above really cover the table and chain its ops (a generator can silently
    narrow): every op appears; many arguments are earlier nodes' values, not fresh params, in
    chains several nodes deep; values feed several nodes, and some nodes take one value twice."""
    used, args, from_nodes, twice, shared, depths = set(), 0, 0, 0, 0, []
    for seed in SEEDS:
        graph = _random_graph(seed)
        text = graph.text()
        used.update(op for op in OPS if f"{{op: {op}," in text)
        depth, consumers = {}, {}
        for k, names in enumerate(graph.uses):
            # inputs (labels, indices: never a computed value) do not count either way
            args += sum(n not in graph.inputs for n in names)
            from_nodes += sum(n in depth for n in names)
            twice += len(set(names)) < len(names)
            depth[f"n{k}"] = 1 + max([depth.get(n, 0) for n in names])
            for n in set(names):
                consumers[n] = consumers.get(n, 0) + 1
        shared += sum(c > 1 for c in consumers.values())
        depths.append(max(depth.values()))
    assert used == set(OPS)
    assert from_nodes / args > 0.35, f"only {from_nodes} of {args} arguments are nodes' values"
    assert np.mean(depths) >= 3 and max(depths) >= 5, depths
    # bounds well below what the generator gives (twice 7-18, shared ~155, as ops are added):
    # they catch a generator that stops reusing values, not the reshuffle a new op brings
    assert twice >= 5 and shared >= 100, (twice, shared)
