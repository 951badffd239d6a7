"""outputs: what a results file holds, as a graph file's `outputs:` section (or `--outputs` on the
command line) selects it.

    outputs:
      values: [L, h]          # named values, in program order
      gradients: params       # a pattern: every param
      digits: 6               # optional: round what is written to 6 significant digits (lossy)

`values` and `gradients` each take one item or a list of items. An item is a pattern word, a name,
or a glob (`layer1_*`, matched with fnmatch's rules against the names it may select):

    nodes    every node                         (the default of `values`)
    params   every param                        (`params` and `nodes` are the default of `gradients`)
    inputs   every input (values only: inputs have no gradient)
    loss     the loss node
    none     nothing (alone)

A word wins over a value of the same name; select such a value with a glob that matches only it
(`[n]odes`). Whatever the order of the list, entries are written in program order, each once. An
unknown name or word, a glob that matches nothing, an input under `gradients`, and `gradients`
in a graph without a loss are errors at their line, with a did-you-mean where one helps.

Stages: `parse` (spec) turns the schema-valid section into an OutputsSpec of items with their
document paths; `parse_option` does the same for the text of `--outputs`, located in that text;
`resolve` (compiler) checks the items against the graph's names and gives the Selection, the
slots the writer writes.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import NamedTuple, Optional, Tuple

from ..errors import GraphError, Problem, did_you_mean

SECTIONS = ("values", "gradients")
WORDS = ("nodes", "params", "inputs", "loss", "none")
# which kinds of value each section may select
KINDS = {"values": ("input", "param", "node"), "gradients": ("param", "node")}
_GLOB = frozenset("*?[")
MAX_DIGITS = 17  # a float64 needs at most 17 significant digits to read back exactly


class Item(NamedTuple):
    text: str
    path: tuple  # document path, in `source`
    source: object


@dataclass(frozen=True)
class OutputsSpec:
    """The items of each section as written (None: not written, the default applies)."""

    values: Optional[Tuple[Item, ...]] = None
    gradients: Optional[Tuple[Item, ...]] = None
    digits: Optional[int] = None
    digits_at: Optional[Item] = None  # where `digits` was written, for its errors

    def over(self, below: "OutputsSpec") -> "OutputsSpec":
        """This spec, with what it leaves unwritten taken from `below` (a command line's
        `--outputs` over the file's section)."""
        return OutputsSpec(
            self.values if self.values is not None else below.values,
            self.gradients if self.gradients is not None else below.gradients,
            self.digits if self.digits is not None else below.digits,
            self.digits_at if self.digits is not None else below.digits_at)


@dataclass(frozen=True)
class Selection:
    """What the writer writes: value slots and gradient slots in program (slot) order, and the
    significant digits to round to (None: every digit)."""

    values: Tuple[int, ...]
    gradients: Tuple[int, ...]
    digits: Optional[int] = None


def parse(section, path: tuple = ("outputs",), source=None) -> OutputsSpec:
    """A schema-valid `outputs:` mapping -> OutputsSpec (None -> the default)."""
    if not section:
        return OutputsSpec()
    found = {}
    for key in SECTIONS:
        if key in section:
            value = section[key]
            where = path + (key,)
            found[key] = ((Item(value, where, source),) if isinstance(value, str) else
                          tuple(Item(v, where + (i,), source) for i, v in enumerate(value)))
    digits = section.get("digits")
    return OutputsSpec(found.get("values"), found.get("gradients"), digits,
                       Item(str(digits), path + ("digits",), source) if digits is not None
                       else None)


def resolve(spec: OutputsSpec, program) -> Optional[Selection]:
    """The Selection `spec` makes in a built Program (None when nothing was written: the writer's
    default, every node's value and every gradient). Raises GraphError with every problem, each
    in its own source (the graph file or the `--outputs` text)."""
    if spec.values is None and spec.gradients is None and spec.digits is None:
        return None
    problems = []
    has_loss = program.loss is not None
    if spec.gradients is not None and not has_loss and not _is_none(spec.gradients):
        first = spec.gradients[0]
        problems.append(Problem("outputs: this graph has no loss, so it has no gradients "
                                "(write gradients: none, or leave it out)", first.path[:-1]
                                if len(first.path) > 2 else first.path, at_key=True,
                                source=first.source))
    if spec.digits is not None and not 1 <= spec.digits <= MAX_DIGITS:
        problems.append(Problem(f"outputs: digits must be a whole number from 1 to {MAX_DIGITS}; "
                                f"found {spec.digits}", spec.digits_at.path,
                                source=spec.digits_at.source))
    chosen = {}
    for section in SECTIONS:
        items = getattr(spec, section)
        if items is None:
            chosen[section] = _default(program, section)
            continue
        slots = set()
        for item in items:
            slots |= _select(item, section, items, program, problems)
        chosen[section] = tuple(sorted(slots))
    if problems:
        raise GraphError(problems)
    return Selection(chosen["values"], chosen["gradients"] if has_loss else (), spec.digits)


def _is_none(items) -> bool:
    return len(items) == 1 and items[0].text == "none"


def _default(program, section) -> Tuple[int, ...]:
    nodes = tuple(step.out for step in program.steps)
    if section == "values":
        return nodes
    differentiable = program.differentiable
    return tuple(program.params) + tuple(s for s in nodes if differentiable[s])


def _select(item: Item, section: str, items, program, problems) -> set:
    """The slots one item selects (adding its problem, if it has one)."""
    text, names, kinds = item.text, program.names, program.kinds
    allowed = KINDS[section]

    def problem(message):
        problems.append(Problem(message, item.path, source=item.source))
        return set()

    where = f"outputs: {section}"
    if text == "none":
        if len(items) > 1:
            return problem(f"{where}: 'none' stands alone (it selects nothing)")
        return set()
    # a gradient exists for params and float nodes of ops that have one (not comparisons,
    # argmax, accuracy: Program.differentiable)
    has = (lambda s: True) if section == "values" else program.differentiable.__getitem__
    if text in ("nodes", "params", "inputs"):
        kind = text[:-1]
        if kind not in allowed:
            return problem(f"{where}: inputs have no gradient (they are not differentiated)")
        return {s for s, k in enumerate(kinds) if k == kind and has(s)}
    if text == "loss":
        if program.loss is None:
            return problem(f"{where}: this graph has no loss")
        return {program.loss}
    candidates = {names[s]: s for s, k in enumerate(kinds) if k in allowed and names[s]}
    if section == "gradients" and text in candidates and not has(candidates[text]):
        return problem(f"{where}: '{text}' has no gradient (a bool or integer value, or an op "
                       "without one)")
    candidates = {name: s for name, s in candidates.items() if has(s)}
    if _GLOB & set(text):
        matched = {s for name, s in candidates.items() if fnmatch.fnmatchcase(name, text)}
        if not matched:
            return problem(f"{where}: the pattern '{text}' matches no name of "
                           f"{'an input, param or node' if section == 'values' else 'a param or node'}")
        return matched
    slot = candidates.get(text)
    if slot is not None:
        return {slot}
    if text in program.slots and kinds[program.slots[text]] == "input":
        return problem(f"{where}: '{text}' is an input; inputs have no gradient")
    hint = did_you_mean(text, list(WORDS) + list(candidates))
    return problem(f"{where}: unknown name or pattern '{text}'{hint}"
                   + ("" if hint else f" (patterns: {', '.join(WORDS)}; or a name, or a glob "
                                      "such as 'h*')"))


# --- the command line's --outputs ---------------------------------------------------------------

class _OptionSource:
    """Where a path of the `--outputs` text is: that text's own source map, read as the value of
    an `outputs:` key (paths start with "outputs") and without the braces added around it."""

    file = "--outputs"

    def __init__(self, inner, shift: int):
        self.inner, self.shift = inner, shift

    def locate(self, path: tuple, at_key: bool = False):
        line, col = self.inner.locate(tuple(path[1:]) if path[:1] == ("outputs",) else path,
                                      at_key)
        return line, max(1, col - self.shift)


def parse_option(text: str) -> OutputsSpec:
    """The text of `--outputs` (the section's YAML, braces optional: `values: [L], gradients:
    params`) -> OutputsSpec. Raises GraphError located in that text (file `--outputs`)."""
    from .load import load_bytes
    from . import schema

    stripped = text.strip()
    shift = 0 if stripped.startswith("{") else 1
    wrapped = stripped if shift == 0 else "{" + stripped + "}"
    try:
        document = load_bytes(wrapped.encode("utf-8"), "--outputs")
    except GraphError as e:
        # positions found before there is a document: shift them back too
        raise GraphError([p if p.pos is None else
                          Problem(p.message, pos=(p.pos[0], max(1, p.pos[1] - shift)))
                          for p in e.problems],
                         _OptionSource(_Fixed(), shift)) from None
    source = _OptionSource(document.source, shift)
    data = document.data
    problems = [p for p in schema.check({"graphrun": 1, "nodes": {}, "outputs": data})]
    if type(data) is not dict:
        problems = [Problem("--outputs: expected the outputs section, e.g. "
                            "'values: [L], gradients: params'", ("outputs",))]
    if problems:
        raise GraphError(problems, source)
    return parse(data, ("outputs",), source)


class _Fixed:
    def locate(self, path, at_key=False):
        return 1, 1
