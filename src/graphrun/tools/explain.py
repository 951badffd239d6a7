"""explain: the backward pass written out the way the lesson writes it by hand.

For every value the loss depends on, in reverse program order, its gradient as the chain rule builds
it: dL/dx = dL/dc · ∂c/∂x summed over the users c of x. The two symbols differ on purpose: dL/dx is
the gradient (the loss's total derivative: all of x's blame), ∂c/∂x is the user's local derivative
(its other arguments held fixed), written symbolically from the op table's `local` text and, for
scalars, with the numbers put in. When the user is the loss itself, dL/dL = 1 is left out:
`dL/dv = ∂L/∂v = 2v = 2 · 10 = 20`, the lesson's line. Each use's contribution is listed when a
value is used more than once, with their sum; the unbroadcast step when a gradient is summed back
to a smaller shape. `--param NAME` writes instead every path from the loss down to that param, with
the contribution of each path: the path contributions add up to the gradient. Arguments are
counted from 1, as in every message of graphrun.

Pure logic: `explain(...)` returns data, `explanation_text`/`explanation_json` return text; the
pieces (`forward_lines`, `entry_lines`, `path_lines`) are what `graphrun view` shows step by step.
Numbers in the text are rounded for reading (%.6g); the exact values are in `graphrun run`'s output
and in the json, which keeps every float.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, replace
from typing import List, Optional, Tuple

import numpy as np

from ..errors import GraphError, Problem, did_you_mean
from ..escaping import shown
from ..engine.executor import backward, contribution, forward, summed_axes
from ..frontend.blocks import instances
from ..frontend.graph import Program, Step, reaches_loss
from ..ops.table import shape_str
from ..defaults import DEFAULT_MAX_PATHS  # in defaults.py: explain's and view's --help show it

SHOWN_ELEMENTS = 4  # elements of a tensor shown in a summary
MAX_FACTORS = 12  # a longer path is written as its ends and its number of factors


@dataclass(frozen=True)
class Use:
    """One use of a value as argument `arg` of the node `consumer`, and what it contributes."""

    consumer: str  # the node that uses the value
    step: int  # its index in program.steps
    op: str
    arg: int  # argument index in the consumer's args (0-based)
    upstream: np.ndarray  # d loss / d consumer
    local: str  # the local derivative d consumer / d value, symbolically
    local_value: Optional[np.ndarray]  # ... and numerically, when it is a single number
    broadcast_shape: Optional[tuple]  # the VJP's shape when it had to be summed back
    contribution: np.ndarray  # d loss / d consumer * d consumer / d value, in the value's shape


@dataclass(frozen=True)
class Entry:
    """The gradient of one param or node, and the uses it is summed from."""

    name: str
    kind: str  # "param" or "node"
    gradient: np.ndarray
    uses: Tuple[Use, ...]  # empty for the loss itself


@dataclass(frozen=True)
class Path:
    """One path from a param up to the loss: edges (consumer, arg) from the param upwards."""

    slots: Tuple[int, ...]  # param, ..., loss
    edges: Tuple[Tuple[int, int], ...]  # (step index, argument index), param end first
    contribution: np.ndarray


@dataclass(frozen=True)
class Explanation:
    program: Program
    values: tuple
    entries: Tuple[Entry, ...]  # reverse program order; params right after their first consumer
    unreached: Tuple[str, ...]  # params and nodes the loss does not depend on (gradient 0)
    param: Optional[str] = None  # --param
    path_count: int = 0  # how many paths lead from `param` to the loss
    paths: Tuple[Path, ...] = ()  # empty when path_count exceeds the cap
    max_paths: int = DEFAULT_MAX_PATHS

    @property
    def loss(self) -> str:
        return self.program.names[self.program.loss]

    def text(self) -> str:
        """The explanation for people (what `graphrun explain` prints)."""
        return explanation_text(self)

    def json(self) -> str:
        """The same for tools, as a JSON document."""
        return explanation_json(self)

    def _repr_html_(self) -> str:
        """A notebook shows the text, as `graphrun explain` prints it."""
        return f"<pre>{html.escape(self.text())}</pre>"

    def gradient(self, name: str) -> np.ndarray:
        return next(e.gradient for e in self.entries if e.name == name)


def explain(graph, param: Optional[str] = None, max_paths: int = DEFAULT_MAX_PATHS, *,
            leaves: Optional[list] = None, check_finite: bool = True) -> Explanation:
    """Run a compiled graph (api.Graph) and explain its backward pass, from the contributions the
    backward pass records. `leaves` (by slot) replaces the graph's own leaf values. Raises
    GraphError (no loss, unknown param), and NumericError for nan or inf unless `check_finite`
    is False."""
    program = graph.program
    if program.loss is None:
        raise GraphError([Problem("this graph has no loss, so there is no backward pass to explain "
                                  "(add 'loss: NAME' naming a node with one element)", ())],
                         program.source)
    if param is not None:
        _check_param(program, param)
    plan = graph.plan
    values = forward(plan, graph.leaf_values() if leaves is None else leaves,
                     check_finite=check_finite)
    record = []
    grads = backward(plan, values, record=record, check_finite=check_finite)
    reaches = reaches_loss(program)
    entries, unreached = _entries(program, values, grads, reaches, record)
    result = Explanation(program, tuple(values), entries, unreached, max_paths=max_paths)
    return result if param is None else for_param(result, param, max_paths)


def for_param(e: Explanation, param: str, max_paths: int = DEFAULT_MAX_PATHS) -> Explanation:
    """The same explanation, with every path from the loss down to `param` (none listed when
    there are more than `max_paths`: only their number)."""
    program = e.program
    _check_param(program, param)
    reaches = reaches_loss(program)
    start = program.slot(param)
    count = _count_paths(program, start, reaches)
    paths = () if count > max_paths else tuple(_paths(program, e.values, start, reaches))
    return replace(e, param=param, path_count=count, paths=paths, max_paths=max_paths)


def _check_param(program, name):
    params = [program.names[s] for s in program.params]
    if name in params:
        return
    if name in program.slots:
        kind = program.kinds[program.slots[name]]
        why = ("an input: inputs get no gradient" if kind == "input"
               else "a node, not a param")
        message = f"'{name}' is {why}"
    else:
        message = f"no param named '{name}'{did_you_mean(name, params)}"
    known = ", ".join(params) if params else "none"
    raise GraphError([Problem(f"param {name}: {message} (params: {known})", ())],
                     program.source)


def _differentiable(program, step: Step, i: int) -> bool:
    return program.differentiable[step.args[i]] and step.op.vjp(i) is not None


def _local_value(upstream, value):
    """The local derivative d consumer / d value of a scalar step, from what backward recorded:
    contribution / upstream (None when the upstream gradient is 0, which says nothing)."""
    if np.size(upstream) != 1 or np.size(value) != 1:
        return None
    g = np.reshape(upstream, ())
    if g == 0:
        return None
    return np.reshape(value, ()) / g


def _entries(program, values, grads, reaches, record):
    uses: List[List[Use]] = [[] for _ in program.names]
    # the record is in backward order; uses are listed in program order
    for c in sorted(record, key=lambda c: (c.step, c.arg)):
        step = program.steps[c.step]
        local_value = None
        if np.size(values[step.out]) == 1 and np.size(values[c.slot]) == 1:
            local_value = _local_value(c.upstream, c.value)
        uses[c.slot].append(Use(step.name, c.step, step.op.name, c.arg, c.upstream,
                                local_symbol(program, step, c.arg), local_value, c.vjp_shape,
                                c.value))
    first_use = {}
    for index, step in enumerate(program.steps):
        for slot in step.args:
            if program.kinds[slot] == "param" and reaches[slot]:
                first_use.setdefault(slot, index)
    params_after = {}
    for slot, index in first_use.items():
        params_after.setdefault(index, []).append(slot)
    entries = []
    for index in range(len(program.steps) - 1, -1, -1):
        out = program.steps[index].out
        if reaches[out]:
            entries.append(Entry(program.names[out], "node", grads[out], tuple(uses[out])))
        for slot in sorted(params_after.get(index, ())):
            entries.append(Entry(program.names[slot], "param", grads[slot], tuple(uses[slot])))
    unreached = tuple(program.names[s] for s in program.params + tuple(st.out for st in
                                                                       program.steps)
                      if not reaches[s])
    return tuple(entries), unreached


TIMES = " · "  # the product of the chain rule's factors (an op's own formula keeps its `*`)


def local_symbol(program, step: Step, i: int, g: str = "g") -> str:
    """The op table's local-derivative text for argument i, with the argument names filled in
    (and `g` for the incoming gradient, in the texts that are a whole VJP)."""
    names = [arg_name(program, slot) for slot in step.args]

    def fill(k, match, template):
        text = names[k]
        before = template[:match.start()][-1:]
        # a number written next to a factor or after a sign would read as something else: 2{0}
        # filled with 3 would read "23"
        if program.kinds[step.args[k]] == "const" and match.group(0) != template and (
                before.isalnum() or before != "" and before in "-^" or text.startswith("-")):
            return f"({text})"
        return text
    return _fill(step, i, g, fill)


def substituted(program, step: Step, i: int, values) -> Optional[str]:
    """The local derivative of argument i with the numbers of this run put in, as the lesson
    writes `2v = 2 · 10`; None unless every value it names is a single number (and for the texts
    that are a whole VJP)."""
    if is_whole_vjp(step, i):
        return None
    slots = list(step.args) + [step.out]
    if any(np.size(values[s]) != 1 for s in slots):
        return None

    def fill(k, match, template):
        text = number_text(values[step.args[k]])
        return _number_in(text, match, template)
    return _fill(step, i, "g", fill, ans=lambda match, template: _number_in(
        number_text(values[step.out]), match, template))


def _number_in(text, match, template) -> str:
    """A number put where a name was: after a factor it is multiplied (`2v` -> `2 · 10`); a
    negative number is bracketed unless it stands alone or fills a pair of brackets."""
    before = template[:match.start()][-1:]
    after = template[match.end():match.end() + 1]
    if text.startswith("-") and not (before in ("", "(") and after in ("", ")", ",")):
        text = f"({text})"
    return f"{TIMES}{text}" if before.isalnum() or before == ")" else text


def _fill(step: Step, i: int, g: str, fill, ans=None) -> str:
    texts = step.op.local
    template = texts[min(i, len(texts) - 1)] if texts else "?"

    def replace_one(match):
        key = match.group(1)
        if key == "ans":
            return step.name if ans is None else ans(match, template)
        if key == "g":
            return f"({g})" if _top_level(g, " ") or g.startswith("-") else g
        k = int(key)
        if k >= len(step.args):
            return "?"
        return fill(k, match, template)
    return re.sub(r"\{(\d+|ans|g)\}", replace_one, template)


def is_whole_vjp(step: Step, i: int) -> bool:
    texts = step.op.local
    return bool(texts) and "{g}" in texts[min(i, len(texts) - 1)]


def chain_text(program, step: Step, i: int, upstream: str) -> str:
    """upstream · local derivative, or the op's own VJP text applied to upstream."""
    if is_whole_vjp(step, i):
        return local_symbol(program, step, i, upstream)
    return f"{_factor(upstream)}{TIMES}{_factor(local_symbol(program, step, i))}"


def arg_name(program, slot) -> str:
    """A value's name, or the number a literal holds."""
    if program.kinds[slot] != "const":
        return program.names[slot]
    k = slot - len(program.leaves)  # literals take the slots right after the leaves, in order
    if 0 <= k < len(program.consts) and program.consts[k][0] == slot:
        return number_text(program.consts[k][1])
    return number_text(dict(program.consts)[slot])


def _count_paths(program, start, reaches) -> int:
    """Paths from `start` to the loss (a value used twice by one node counts twice)."""
    count = [0] * len(program.names)
    count[start] = 1
    for step in program.steps:
        if reaches[step.out]:
            count[step.out] = sum(count[slot] for i, slot in enumerate(step.args)
                                  if _differentiable(program, step, i))
    return count[program.loss]


def _paths(program, values, start, reaches):
    """Every path from `start` to the loss, depth first in program order, without recursion; each
    with its contribution: the loss's seed pushed down through the VJPs of that path alone."""
    consumers = [[] for _ in program.names]  # slot -> (step index, arg index), reaching the loss
    for index, step in enumerate(program.steps):
        if reaches[step.out]:
            for i, slot in enumerate(step.args):
                if _differentiable(program, step, i):
                    consumers[slot].append((index, i))
    # only edges that lie on some path from start: the DFS below never meets a dead end
    from_start = [False] * len(program.names)
    from_start[start] = True
    for step in program.steps:
        if any(from_start[s] for s in step.args):
            from_start[step.out] = True
    stack = [(start, ())]
    loss_type = program.types[program.loss]
    while stack:
        slot, edges = stack.pop()
        if slot == program.loss:
            c = np.ones(loss_type.shape, loss_type.dtype)
            for index, i in reversed(edges):
                step = program.steps[index]
                c = contribution(step, i, c, values, program.types[step.args[i]].shape)[0]
            slots = (start,) + tuple(program.steps[index].out for index, _ in edges)
            yield Path(slots, edges, c)
            continue
        for index, i in reversed(consumers[slot]):  # reversed: the stack pops them in order
            out = program.steps[index].out
            if from_start[out]:
                stack.append((out, edges + ((index, i),)))


# ---------------------------------------------------------------------------------------------
# text

def number_text(x) -> str:
    """A number for people: %.6g, integers without a decimal point. A one-element tensor (a
    local derivative of shape (1, 1), say) is its one number."""
    x = np.asarray(x).reshape(-1)[0]
    if x.dtype.kind in "iub":
        return str(int(x))
    return f"{float(x) + 0.0:.6g}"  # + 0.0: -0.0 is written 0


def value_text(value) -> str:
    """A number, or a tensor as shape, norm and its first few elements."""
    a = np.asarray(value)
    if a.ndim == 0:
        return number_text(a)
    flat = a.reshape(-1)
    head = ", ".join(number_text(v) for v in flat[:SHOWN_ELEMENTS])
    more = ", ..." if flat.size > SHOWN_ELEMENTS else ""
    if a.dtype.kind in "iub":
        return f"{shape_str(a.shape)} {a.dtype} [{head}{more}]"
    return f"{shape_str(a.shape)} norm {number_text(np.linalg.norm(flat))} [{head}{more}]"


def _factor(text: str) -> str:
    """A factor in a product: negative numbers and compound expressions in parentheses."""
    return f"({text})" if text.startswith("-") or _top_level(text, " ") else text


def _top_level(text: str, chars: str) -> bool:
    """Whether one of `chars` occurs outside every (...) and [...] of `text` (a sum or a product
    written with spaces, e.g. "1 - tanh(h)^2", as opposed to "(a - b)/N")."""
    depth = 0
    for k, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if depth == 0 and ch in chars and (ch == " " or 0 < k < len(text) - 1 and
                                           text[k - 1] == " " == text[k + 1]):
            return True
    return False


def _sum_text(texts) -> str:
    out = texts[0]
    for t in texts[1:]:
        out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return out


def _unbroadcast_text(use: Use, to_shape) -> str:
    axes = summed_axes(use.broadcast_shape, to_shape)
    which = f"axis {axes[0]}" if len(axes) == 1 else "axes " + ", ".join(map(str, axes))
    return (f"summed over {which}: {shape_str(use.broadcast_shape)} -> {shape_str(to_shape)} "
            "(unbroadcast)")


def _distinct(parts) -> list:
    """The parts of an equation, a part equal to the one before it left out."""
    kept = [parts[0]]
    for part in parts[1:]:
        if part != kept[-1]:
            kept.append(part)
    return kept


def _chained(parts) -> str:
    return " = ".join(_distinct(parts))


def _use_terms(e: Explanation, name: str, use: Use):
    """(the chain rule's symbols, the rest of the equation) for one use."""
    p, loss = e.program, e.loss
    step = p.steps[use.step]
    scalar = use.local_value is not None and np.ndim(use.upstream) == 0
    if step.out == p.loss:
        # the loss itself uses the value: dL/dL = 1 is left out, and the local derivative is the
        # whole contribution (the lesson's `∂L/∂v = 2v = 2 · 10 = 20`)
        symbol = local_symbol(p, step, use.arg, "1")
        if not scalar:
            return f"∂{loss}/∂{name}", symbol
        parts = [symbol, substituted(p, step, use.arg, e.values) or symbol,
                 value_text(use.contribution)]
        return f"∂{loss}/∂{name}", _chained(parts)
    chain = f"d{loss}/d{use.consumer}{TIMES}∂{use.consumer}/∂{name}"
    if scalar:
        up = number_text(use.upstream)
        parts = [chain_text(p, step, use.arg, up),
                 f"{_factor(up)}{TIMES}{_factor(number_text(use.local_value))}",
                 value_text(use.contribution)]
        return chain, _chained(parts)
    upstream = number_text(use.upstream) if np.ndim(use.upstream) == 0 else \
        f"d{loss}/d{use.consumer}"
    return chain, chain_text(p, step, use.arg, upstream)


def _via(e: Explanation, use: Use) -> str:
    """Which use: `via sq (mul, argument 1)`, arguments counted from 1."""
    n_args = len(e.program.steps[use.step].args)
    return f"via {use.consumer} ({use.op}" + (f", argument {use.arg + 1})" if n_args > 1 else ")")


def entry_lines(e: Explanation, entry: Entry) -> List[str]:
    """The chain rule for one value's gradient: one line, or one per use and their sum (what
    `graphrun explain` prints for it, without the indent)."""
    loss = e.loss
    left = f"d{loss}/d{entry.name}"
    shape = np.shape(entry.gradient)
    if not entry.uses:
        return [f"{left} = {value_text(entry.gradient)}   (the loss itself: backward starts here)"]
    lines = []
    if len(entry.uses) == 1:
        use = entry.uses[0]
        chain, rest = _use_terms(e, entry.name, use)
        scalar = use.local_value is not None and np.ndim(use.upstream) == 0
        lines.append(f"{left} = {chain} = {rest}")
        indent = " " * (len(left) + 1)
        if use.broadcast_shape is not None:
            lines.append(f"{indent}  {_unbroadcast_text(use, shape)}")
        if not scalar or use.broadcast_shape is not None:
            lines.append(f"{indent}= {value_text(entry.gradient)}")
        return lines
    lines.append(f"{left}: {entry.name} is used {len(entry.uses)} times; the contributions add up")
    for use in entry.uses:
        chain, rest = _use_terms(e, entry.name, use)
        scalar = use.local_value is not None and np.ndim(use.upstream) == 0
        lines.append(f"  {_via(e, use)}: {chain} = {rest}")
        if use.broadcast_shape is not None:
            lines.append(f"      {_unbroadcast_text(use, shape)}")
        if not scalar or use.broadcast_shape is not None:
            lines.append(f"      = {value_text(use.contribution)}")
    if np.ndim(entry.gradient) == 0:
        total = _sum_text([value_text(u.contribution) for u in entry.uses])
        lines.append(f"  {left} = {total} = {value_text(entry.gradient)}")
    else:
        lines.append(f"  {left} = the sum of the {len(entry.uses)} contributions = "
                     f"{value_text(entry.gradient)}")
    return lines


def forward_lines(program, values) -> List[Tuple[int, str]]:
    """(slot, line) for every leaf, then every node in program order: `u = mul(w, x) = 6`."""
    lines = []
    for slot, leaf in enumerate(program.leaves):
        lines.append((slot, f"{leaf.name} = {value_text(values[slot])}   ({leaf.kind})"))
    for step in program.steps:
        args = [arg_name(program, s) for s in step.args]
        args += [f"{k}={v}" for k, v in step.attrs]
        chain = instances(step.path)  # a block instance's node says which
        where = "   (in " + " > ".join(f"{i}: {b}" for i, b in chain) + ")" if chain else ""
        lines.append((step.out, f"{step.name} = {step.op.name}({', '.join(args)}) = "
                                f"{value_text(values[step.out])}{where}"))
    return lines


def path_lines(e: Explanation) -> List[str]:
    """Every path from the loss down to `e.param`, each with its contribution, and their sum
    (what `graphrun explain --param NAME` prints before any step by step, without the indent of
    its first line)."""
    lines = path_heading(e)
    if e.paths:
        for number, path in enumerate(e.paths, 1):
            lines += ["  " + line for line in one_path_lines(e, number, path)]
        lines.append("  " + paths_total(e))
    return lines


def path_heading(e: Explanation) -> List[str]:
    """`paths from L down to w: 1 path`, and what stands instead of the paths when there are
    none or too many."""
    loss, name = e.loss, e.param
    s = "" if e.path_count == 1 else "s"
    lines = [f"paths from {loss} down to {name}: {e.path_count} path{s}"]
    if e.path_count == 0:
        lines.append(f"  {name} does not lead to {loss}: d{loss}/d{name} = "
                     f"{value_text(_gradient_of(e, name))}")
    elif not e.paths:
        lines.append(f"  that is more than the cap of {e.max_paths} (--max-paths); instead, the "
                     f"chain rule step by step over the values between {name} and {loss}:")
    return lines


def one_path_lines(e: Explanation, number: int, path: Path) -> List[str]:
    """`path 1: w -> u -> v -> L` and its product of local derivatives, from the loss down."""
    p = e.program
    names = [p.names[slot] for slot in path.slots]
    hops = [names[0]]
    for (index, i), out_name in zip(path.edges, names[1:]):
        step = p.steps[index]
        repeated = sum(1 for a in step.args if a == step.args[i]) > 1
        hops.append(f"-(argument {i + 1})-> {out_name}" if repeated else f"-> {out_name}")
    if len(hops) > MAX_FACTORS + 1:
        hops = hops[:4] + ["-> ..."] + hops[-3:] + [f"({len(hops)} values)"]
    # the chain from the loss down: ∂ loss/∂ top · ... · ∂ first/∂ param, all local derivatives
    factors = [f"∂{names[k + 1]}/∂{names[k]}" for k in range(len(names) - 2, -1, -1)]
    if len(factors) > MAX_FACTORS:
        parts = [TIMES.join(factors[:3] + ["..."] + factors[-3:]) + f" ({len(factors)} factors)"]
    else:
        parts = [TIMES.join(factors), _path_symbol(p, path)]
        numbers = [_local_number(e, index, i) for index, i in reversed(path.edges)]
        if all(n is not None for n in numbers):
            parts.append(TIMES.join(_factor(n) for n in numbers))
    parts = _distinct(parts + [value_text(path.contribution)])
    line = "  " + " = ".join(parts)
    if len(line) <= 98:
        return [f"path {number}: {' '.join(hops)}", line]
    return [f"path {number}: {' '.join(hops)}", "  " + parts[0]] + [f"    = {x}" for x in parts[1:]]


def paths_total(e: Explanation) -> str:
    """The paths' contributions added up: the gradient."""
    loss, name = e.loss, e.param
    total = _gradient_of(e, name)
    if len(e.paths) == 1:
        return f"the one path is the whole gradient: d{loss}/d{name} = {value_text(total)}"
    if np.ndim(total) == 0:
        return (f"d{loss}/d{name} = " + _sum_text([value_text(q.contribution) for q in e.paths])
                + f" = {value_text(total)}")
    return (f"d{loss}/d{name} = the sum of the {len(e.paths)} path contributions = "
            f"{value_text(total)}")


def _path_symbol(program, path: Path) -> str:
    """The local derivatives along a path, from the loss down, as one expression."""
    symbolic = None
    for index, i in reversed(path.edges):
        step = program.steps[index]
        if is_whole_vjp(step, i):
            symbolic = local_symbol(program, step, i, "1" if symbolic is None else symbolic)
        elif symbolic is None:
            symbolic = local_symbol(program, step, i)
        else:
            left = f"({symbolic})" if _top_level(symbolic, "+-") else symbolic
            symbolic = f"{left}{TIMES}{_factor(local_symbol(program, step, i))}"
    return symbolic


def _local_number(e: Explanation, index, i) -> Optional[str]:
    """The recorded local derivative of edge (step index, argument i), as text."""
    for entry in e.entries:
        for use in entry.uses:
            if use.step == index and use.arg == i:
                return None if use.local_value is None else number_text(use.local_value)
    return None


def _gradient_of(e: Explanation, name: str):
    for entry in e.entries:
        if entry.name == name:
            return entry.gradient
    t = e.program.types[e.program.slot(name)]
    return np.zeros(t.shape, t.dtype)


def _on_paths(e: Explanation) -> set:
    """Names between the param and the loss (both included)."""
    p = e.program
    start = p.slot(e.param)
    from_start = [False] * len(p.names)
    from_start[start] = True
    for step in p.steps:
        if any(from_start[s] for s in step.args):
            from_start[step.out] = True
    return {p.names[s] for s in range(len(p.names)) if from_start[s]}


def backward_heading(loss: str) -> List[str]:
    """What the two symbols mean: d for the gradient, ∂ for a node's local derivative."""
    return ["backward, in reverse program order",
            f"(the gradient d{loss}/d(value) is the sum over the value's users of "
            f"d{loss}/d(user) · ∂(user)/∂(value),",
            " where ∂(user)/∂(value) is the user's local derivative, its other arguments held "
            "fixed):"]


def title_line(p: Program) -> str:
    """`graph NAME: DESCRIPTION`, the first line of an explanation: both strings come from the
    file, so they are shown escaped (one line; no escape sequence reaches the terminal)."""
    return f"graph {shown(p.name)}" + (f": {shown(p.description)}" if p.description else "")


def explanation_text(e: Explanation) -> str:
    p = e.program
    lines = [title_line(p), "", "forward, in program order:"]
    lines += ["  " + line for _, line in forward_lines(p, e.values)]
    lines.append("")
    entries = e.entries
    if e.param is not None:
        lines += path_lines(e)
        if e.paths or e.path_count == 0:
            return "\n".join(lines) + "\n"
        keep = _on_paths(e)
        entries = tuple(entry for entry in entries if entry.name in keep)
        lines.append("")
    lines += backward_heading(e.loss)
    for entry in entries:
        lines += ["  " + line for line in entry_lines(e, entry)]
    if e.unreached and e.param is None:
        lines.append(f"  not on any path to {e.loss} (gradient 0): {', '.join(e.unreached)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# json

def _json_value(value):
    a = np.asarray(value)
    if a.ndim == 0:
        return _json_number(a)
    flat = a.reshape(-1)
    out = {"shape": list(a.shape), "dtype": str(a.dtype),
           "first": [_json_number(v) for v in flat[:SHOWN_ELEMENTS]]}
    if a.dtype.kind == "f":
        out["norm"] = _json_number(np.linalg.norm(flat))
    return out


def _json_number(x):
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        return int(x)
    x = float(x)
    return x if np.isfinite(x) else repr(x)  # JSON has no nan/inf: written as text


def explanation_json(e: Explanation) -> str:
    p = e.program
    doc = {
        "graph": p.name,
        "loss": e.loss,
        "forward": [{"name": s.name, "op": s.op.name,
                     "args": [arg_name(p, a) for a in s.args],
                     "value": _json_value(e.values[s.out])} for s in p.steps],
        "backward": [{
            "name": entry.name, "kind": entry.kind, "gradient": _json_value(entry.gradient),
            "uses": [{
                "consumer": u.consumer, "op": u.op, "argument": u.arg + 1,
                "upstream": _json_value(u.upstream), "local": u.local,
                "local_value": None if u.local_value is None else _json_value(u.local_value),
                "unbroadcast_from": None if u.broadcast_shape is None else list(u.broadcast_shape),
                "contribution": _json_value(u.contribution)} for u in entry.uses]}
            for entry in e.entries],
        "unreached": list(e.unreached),
    }
    if e.param is not None:
        doc["param"] = e.param
        doc["path_count"] = e.path_count
        doc["paths"] = None if e.path_count and not e.paths else [{
            "nodes": [p.names[s] for s in path.slots],
            "arguments": [i + 1 for _, i in path.edges],  # counted from 1
            "locals": [local_symbol(p, p.steps[index], i) for index, i in path.edges],
            "contribution": _json_value(path.contribution)} for path in e.paths]
        doc["gradient"] = _json_value(_gradient_of(e, e.param))
    return json.dumps(doc, indent=2) + "\n"
