"""gradcheck: the backward pass against central finite differences, in float64.

For every param element (a seeded random sample of `max_elements` of a bigger tensor), the loss is
run forward at param ± eps and (L+ - L-) / 2eps is compared with d loss/d param from `backward`.
A float32 graph is checked in float64: its float leaves are cast and its types widened.

When something disagrees, each node's VJP is checked on its own, at the values of this run, with a
random cotangent: the culprit is named (op, node, argument, worst element, both numbers), not dumped
as a Jacobian.

Points at or near a kink (relu or abs at 0, a tie in maximum/minimum or in a max reduction) have no
derivative to check: an element whose ± eps runs take a different branch of some kink is skipped,
and said to be skipped.

Pure logic: `gradcheck(compiled, ...)` returns a Report; `report_text(report)` returns its text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional, Tuple

import numpy as np

from ..errors import GraphError, Problem, locate
from ..escaping import shown
from ..engine.executor import compile_plan, contribution, execute, forward
from .explain import reaches_loss
from ..frontend.graph import Program
from ..ops.table import Type, shape_str
# the defaults, in defaults.py: gradcheck's --help shows them without this module's imports
from ..defaults import (GRADCHECK_ATOL as DEFAULT_ATOL, GRADCHECK_EPS as DEFAULT_EPS,
                        GRADCHECK_MAX_ELEMENTS as DEFAULT_MAX_ELEMENTS,
                        GRADCHECK_RTOL as DEFAULT_RTOL, GRADCHECK_SEED as DEFAULT_SEED)

ROUNDING_ULPS = 16  # rounding allowed in each side of a finite difference, in units of its size

FLOAT64 = np.dtype("float64")

@dataclass(frozen=True)
class Element:
    """One compared element: where, backward's number and the finite-difference number."""

    index: tuple
    backward: float
    numeric: float
    noise: float = 0.0  # the rounding error the finite difference may carry (see _noise)

    def excess(self, rtol, atol) -> float:
        """|backward - numeric| over the tolerance: > 1 is a disagreement."""
        return abs(self.backward - self.numeric) / (atol + self.noise + rtol * abs(self.numeric))


@dataclass(frozen=True)
class ParamCheck:
    name: str
    shape: tuple
    checked: int  # elements compared
    sampled: bool  # a random sample of the elements, not all of them
    failures: Tuple[Element, ...]
    worst: Optional[Element]  # the largest |backward - numeric| relative to the tolerance
    skipped: Tuple[Tuple[tuple, str], ...]  # (index, why) of elements at or near a kink
    # (index, why) of elements whose finite difference has no digits at this eps: not checked,
    # and not ok (an eps of 1e-320 must not pass every gradient as "agrees")
    unresolved: Tuple[Tuple[tuple, str], ...] = ()


@dataclass(frozen=True)
class Culprit:
    """A node whose VJP disagrees with finite differences on its own."""

    node: str
    op: str
    arg: int
    arg_name: str
    path: tuple  # the node's document path
    worst: Optional[Element]  # None when the VJP raised
    error: str = ""  # the exception a VJP raised
    where: str = ""  # "scalar_ops" for the Python-float twin of the op, "" for the op table


@dataclass(frozen=True)
class Report:
    file: str
    graph: str
    eps: float
    rtol: float
    atol: float
    seed: int
    params: Tuple[ParamCheck, ...]
    culprits: Tuple[Culprit, ...]
    backward_error: str = ""  # the whole backward pass raised
    source: object = None  # the graph file's source map, where the culprits' paths point

    @property
    def ok(self) -> bool:
        return not self.backward_error and not any(p.failures or p.unresolved
                                                   for p in self.params)

    def problems(self) -> Tuple[Problem, ...]:
        """Each culprit as a Problem at its node."""
        return tuple(Problem(_culprit_message(c), c.path, source=self.source)
                     for c in self.culprits)

    def text(self) -> str:
        return report_text(self)

    def _repr_html_(self) -> str:
        """A notebook shows the text, as `graphrun gradcheck` prints it."""
        import html
        return f"<pre>{html.escape(self.text())}</pre>"


def gradcheck(graph, *, eps: float = DEFAULT_EPS, rtol: float = DEFAULT_RTOL,
              atol: float = DEFAULT_ATOL, max_elements: int = DEFAULT_MAX_ELEMENTS,
              seed: int = DEFAULT_SEED) -> Report:
    """Check d loss/d param of a compiled graph. Raises GraphError when the graph has no loss and
    NumericError when its forward or backward pass is not finite at the given point."""
    if not (isinstance(eps, (int, float)) and 0 < eps < float("inf")):
        raise ValueError(f"eps must be a finite number > 0; found {eps!r}")
    program = float64_program(graph.program)
    source = program.source
    if program.loss is None:
        raise GraphError([Problem("this graph has no loss, so there is no gradient to check "
                                  "(add 'loss: NAME' naming a node with one element)", ())],
                         source)
    plan = compile_plan(program)
    rng = np.random.default_rng(seed)
    leaves = [_float64(x) for x in graph.leaf_values()]
    values = forward(plan, leaves)
    failure = None
    try:  # the gradients `run` gives, through the same door (the scalar path where it is taken)
        grads = execute(plan, leaves)[1]
    except GraphError:
        raise
    except Exception as e:  # a VJP that raises: found below, among the culprits
        grads, failure = None, e
    checks = []
    for slot in program.params:
        if grads is None:
            break
        checks.append(_check_param(plan, leaves, values, grads[slot], slot, eps, rtol, atol,
                                   max_elements, rng))
    report = Report(source.file, program.name, eps, rtol, atol, seed, tuple(checks), (),
                    "" if failure is None else f"{type(failure).__name__}: {failure}", source)
    if report.ok or failure is None and not any(p.failures for p in report.params):
        return report  # nothing disagrees (what could not be checked is said): no culprit
    culprits = tuple(_culprits(plan, values, eps, rtol, atol, max_elements, rng))
    if failure is not None and not culprits:
        raise failure  # no op is to blame: a bug in graphrun itself (the CLI says so, exit 3)
    return replace(report, culprits=culprits)


def float64_program(program: Program) -> Program:
    """The same program with every floating-point type widened to float64."""
    types = tuple(Type(t.shape, FLOAT64) if t.dtype is not None and t.dtype.kind == "f" else t
                  for t in program.types)
    return replace(program, types=types)


def _float64(a):
    a = np.asarray(a)
    return a.astype(FLOAT64) if a.dtype.kind == "f" else a


def _noise(sides, eps) -> float:
    """The rounding error in (f+ - f-) / 2eps: each side is off by a few ulps of its size, and
    the difference divides that by 2eps (a loss of 1e6 carries ~1e-4 at eps = 1e-6). Without this
    allowance a large loss would fail a correct gradient near 0."""
    return ROUNDING_ULPS * np.finfo(FLOAT64).eps * max(abs(sides[0]), abs(sides[1])) / (2 * eps)


def _sample(size, max_elements, rng):
    if size <= max_elements:
        return range(size), False
    return sorted(rng.choice(size, max_elements, replace=False).tolist()), True


def kink_steps(program) -> tuple:
    """The steps with a kink that the loss depends on (a kink elsewhere changes nothing)."""
    reaches = reaches_loss(program)
    return tuple(s for s in program.steps if s.op.kink is not None and reaches[s.out])


def _branches(steps, values):
    """The branch each kink step takes at these values (see Op.kink)."""
    return [s.op.kink[1](*[values[a] for a in s.args], **dict(s.attrs)) for s in steps]


def _crossed(program, steps, runs) -> str:
    """Which kink the runs (lists of branches) do not agree on, in words; '' when none."""
    for k, step in enumerate(steps):
        first = runs[0][k]
        if any(not np.array_equal(first, run[k]) for run in runs[1:]):
            line = locate(Problem("", step.path, source=program.source)).line
            return f"{step.op.kink[0]} in node '{step.name}' (line {line})"
    return ""


def _check_param(plan, leaves, values, grad, slot, eps, rtol, atol, max_elements, rng):
    program = plan.program
    base = leaves[slot]
    indices, sampled = _sample(base.size, max_elements, rng)
    kinks = kink_steps(program)
    center = _branches(kinks, values)
    checked, failures, skipped, unresolved, worst = 0, [], [], [], None
    for j in indices:
        index = tuple(int(i) for i in np.unravel_index(j, base.shape))
        losses, runs, steps = [], [center], []
        for delta in (eps, -eps):
            moved = base.copy()
            moved.reshape(-1)[j] += delta
            steps.append(float(moved.reshape(-1)[j]))
            trial = list(leaves)
            trial[slot] = moved
            v = forward(plan, trial, check_finite=False)
            losses.append(float(np.sum(v[program.loss])))
            runs.append(_branches(kinks, v))
        why = _crossed(program, kinks, runs)
        why = why and f"at or near a kink: {why}"
        if why:
            skipped.append((index, why))
            continue
        if not all(np.isfinite(losses)):  # no number to compare: not checked, not ok
            unresolved.append((index, f"the loss is not finite within eps ({losses[0]!r}, "
                                      f"{losses[1]!r})"))
            continue
        backward = float(np.asarray(grad).reshape(-1)[j])
        step = steps[0] - steps[1]  # the step float64 took: 2 eps, unless eps is below x's ulp
        lost = _lost(step, eps, backward, losses, atol, _at(program.names[slot], index),
                     float(base.reshape(-1)[j]))
        if lost:
            unresolved.append((index, lost))
            continue
        element = Element(index, backward, (losses[0] - losses[1]) / step,
                          _noise(losses, step / 2))
        checked += 1
        if worst is None or element.excess(rtol, atol) > worst.excess(rtol, atol):
            worst = element
        if element.excess(rtol, atol) > 1:
            failures.append(element)
    return ParamCheck(program.names[slot], base.shape, checked, sampled, tuple(failures), worst,
                      tuple(skipped), tuple(unresolved))


def _lost(step, eps, backward, losses, atol, name, x) -> str:
    """Why the finite difference of this element has no digits to compare at this eps ('' when
    it has): the step is lost in x's rounding, or the loss cannot register a change of the
    size the gradient says (its rounding error is larger than the gradient, and the gradient is
    not negligible, beyond atol)."""
    if step == 0 or abs(step - 2 * eps) > eps:
        return (f"eps {eps:g} is below the resolution of {name} = {x!r} in float64 "
                f"({name} ± eps is {'itself' if step == 0 else 'not 2 eps apart'})")
    if abs(backward) > atol and _noise(losses, step / 2) >= abs(backward):
        return (f"the loss ({max(map(abs, losses)):.3g}) cannot show a change of "
                f"{abs(backward) * step:.2g} (backward {backward!r} times 2 eps): its rounding "
                "error is larger")
    return ""


def _culprits(plan, values, eps, rtol, atol, max_elements, rng):
    """Each node's VJP against finite differences of <g, op(args)>, on its own: the op table's,
    and for a step of float64 scalars also its Python-float twin in scalar_ops, which the executor
    runs instead on graphs made only of such steps."""
    program = plan.program
    on_twins = plan.scalar is not None  # the executor runs this program on the twins
    for step in program.steps:
        args = [values[a] for a in step.args]
        attrs = dict(step.attrs)
        ans = values[step.out]
        for i, slot in enumerate(step.args):
            if not program.differentiable[slot] or step.op.vjp(i) is None:
                continue
            g = rng.standard_normal(np.shape(ans))
            name = program.names[slot]
            shape = program.types[slot].shape
            for where in ("", "scalar_ops") if on_twins else ("",):
                try:
                    if where:  # the Python-float twin, on the same point and cotangent
                        vjp = step.op.scalar[1 + i]
                        analytic = np.asarray(vjp(float(g), float(ans), *map(float, args)),
                                              FLOAT64)
                    else:
                        analytic = np.asarray(contribution(step, i, g, values, shape)[0], FLOAT64)
                except Exception as e:  # noqa: BLE001 - a broken VJP is what we look for
                    yield Culprit(step.name, step.op.name, i, name, step.path, None,
                                  f"{type(e).__name__}: {e}", where)
                    continue
                worst = _worst_element(step, args, attrs, i, g, analytic, eps, rtol, atol,
                                       max_elements, rng)
                if worst is not None and worst.excess(rtol, atol) > 1:
                    yield Culprit(step.name, step.op.name, i, name, step.path, worst, "", where)


def _worst_element(step, args, attrs, i, g, analytic, eps, rtol, atol, max_elements, rng):
    kink = step.op.kink
    center = kink[1](*args, **attrs) if kink else None
    x = np.asarray(args[i])
    indices, _ = _sample(x.size, max_elements, rng)
    worst = None
    with np.errstate(all="ignore"):
        for j in indices:
            sides = []
            crossed = False
            for delta in (eps, -eps):
                moved = x.astype(FLOAT64)  # a copy
                moved.reshape(-1)[j] += delta
                trial = list(args)
                trial[i] = moved
                sides.append(float(np.sum(g * step.op.forward(*trial, **attrs))))
                if kink and not np.array_equal(center, kink[1](*trial, **attrs)):
                    crossed = True
            if crossed or not all(np.isfinite(sides)):
                continue
            index = tuple(int(k) for k in np.unravel_index(j, x.shape))
            element = Element(index, float(analytic.reshape(-1)[j]),
                              (sides[0] - sides[1]) / (2 * eps), _noise(sides, eps))
            if worst is None or element.excess(rtol, atol) > worst.excess(rtol, atol):
                worst = element
    return worst


# ---------------------------------------------------------------------------------------------
# text

def _at(name: str, index: tuple) -> str:
    return name if not index else f"{name}[{','.join(map(str, index))}]"


def _num(x: float) -> str:
    return repr(float(x))


def _pair(name: str, e: Element) -> str:
    return (f"{_at(name, e.index)}: backward {_num(e.backward)}, numeric {_num(e.numeric)} "
            f"(off by {abs(e.backward - e.numeric):.2g})")


def report_text(report: Report) -> str:
    # the file's and the graph's names come from the user: shown escaped, one line
    lines = [f"{shown(report.file)} ({shown(report.graph)}): backward against central "
             f"differences in float64, eps {report.eps:g}, rtol {report.rtol:g}, atol {report.atol:g}"]
    width = max([len(p.name) for p in report.params], default=0)
    for p in report.params:
        total = math.prod(p.shape)
        head = f"  {p.name.ljust(width)} {shape_str(p.shape)}:"
        if p.sampled:
            head += f" a sample of {p.checked + len(p.skipped)} of {total} elements " \
                    f"(seed {report.seed}),"
        if p.failures:
            lines.append(f"{head} {len(p.failures)} of {p.checked} DISAGREE; worst "
                         + _pair(p.name, max(p.failures, key=lambda e: e.excess(report.rtol,
                                                                                 report.atol))))
        elif p.checked:
            lines.append(f"{head} {p.checked} agree; worst {_pair(p.name, p.worst)}")
        else:
            lines.append(f"{head} no element checked")
        for index, why in p.skipped:
            lines.append(f"    skipped {_at(p.name, index)}: {why}")
        for index, why in p.unresolved:
            lines.append(f"    not checked {_at(p.name, index)}: {why}")
    if report.backward_error:
        lines.append(f"  the backward pass failed: {shown(str(report.backward_error))}")
    if report.ok:
        checked = sum(p.checked for p in report.params)
        skipped = sum(len(p.skipped) for p in report.params)
        lines.append(f"ok: {checked} element{'s' if checked != 1 else ''} agree"
                     + (f", {skipped} skipped at kinks" if skipped else ""))
        if not checked:  # every element at a kink: ok, but nothing was compared
            lines[-1] += " (no element could be compared)"
        return "\n".join(lines) + "\n"
    failed = sum(len(p.failures) for p in report.params)
    lost = sum(len(p.unresolved) for p in report.params)
    lines.append(f"FAILED: {failed} element{'s disagree' if failed != 1 else ' disagrees'}"
                 if failed else "FAILED")
    if lost:
        lines.append(f"{lost} element{'s' if lost != 1 else ''} could not be checked: at eps "
                     f"{report.eps:g} the finite difference has no digits to compare; choose "
                     "another eps (1e-6 suits values near 1)")
    lines += [locate(problem).text() for problem in report.problems()]
    if not report.culprits and (failed or report.backward_error):
        lines.append("every node's VJP agrees with finite differences on its own: the difference "
                     "comes from the whole graph (try another eps, or a looser rtol/atol)")
    return "\n".join(lines) + "\n"


def _culprit_message(c: Culprit) -> str:
    what = f"argument {c.arg + 1} ('{c.arg_name}')"  # counted from 1, as shape errors
    if c.where:
        what += f" in {c.where} (its Python-float twin, used for graphs of scalars)"
    if c.worst is None:
        return f"node '{c.node}' ({c.op}): the VJP of {what} raised {c.error}"
    return (f"node '{c.node}' ({c.op}): the VJP of {what} disagrees with finite differences "
            f"(checked on its own, for a random cotangent): worst at {_pair(c.arg_name, c.worst)}")
