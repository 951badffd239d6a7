"""graph: a GraphSpec checked as a whole (references, op names, arity, attributes, cycles, shapes,
the loss, the memory budget) and ordered into a Program, the flat form every later stage runs.

networkx lives here and nowhere else: after this stage nothing walks a DAG again.
"""

from __future__ import annotations

import collections
import math
import os
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, NamedTuple, Optional, Tuple

from ..errors import GraphError, Note, Problem, did_you_mean, full, stopped_here
from ..ops import synonyms
from ..ops.table import OPS, Op, OpError, Type, shape_str
from .spec import Const, GraphSpec, LeafSpec, NodeSpec, Ref, arg_path, node_attrs

if TYPE_CHECKING:
    from .train import TrainSpec

_new_tuple = tuple.__new__  # a NamedTuple made without its Python-level __new__ (as in spec.py)


class Step(NamedTuple):
    """One operation of the program: out = op.forward(*slots[args], **attrs). (A NamedTuple: as
    immutable as a frozen dataclass, and cheaper to make 100,000 of.)"""

    name: str
    op: Op
    out: int  # slot of the result
    args: Tuple[int, ...]  # slots of the arguments, in the node's own argument order
    attrs: Tuple[Tuple[str, object], ...]  # written attributes, normalised (lists -> tuples)
    where: Optional[tuple]  # the node's document path; None for ("nodes", name): see `path`

    @property
    def path(self) -> tuple:
        """The node's document path, for errors (made when asked for, as NodeSpec's)."""
        return ("nodes", self.name) if self.where is None else self.where


@dataclass(frozen=True)
class Program:
    """A checked graph in run order. Slots number every value: leaves, then number literals,
    then nodes in program order."""

    name: str
    description: str
    names: Tuple[str, ...]  # slot -> name ("" for a number literal)
    types: Tuple[Type, ...]  # slot -> static type
    kinds: Tuple[str, ...]  # slot -> "input", "param", "const" or "node"
    paths: "SlotPaths"  # slot -> document path
    leaves: Tuple[LeafSpec, ...]  # leaf i lives in slot i
    consts: Tuple[Tuple[int, float], ...]  # (slot, value) of every number literal
    steps: Tuple[Step, ...]
    loss: Optional[int]  # slot of the loss, or None for a forward-only graph
    tolerance: Tuple[Tuple[str, float], ...]
    estimated_bytes: int
    source: object = None  # the file's source map: where every path above points
    train: Optional[TrainSpec] = None  # the train section, checked against the graph
    outputs: object = None  # what results files hold (frontend/outputs.Selection); None: all


    @cached_property
    def slots(self) -> dict:
        """name -> slot, for every named value (leaves and nodes)."""
        return {name: slot for slot, name in enumerate(self.names) if name}

    def slot(self, name: str) -> int:
        """The slot of a named value; KeyError with a did-you-mean for a name the graph lacks."""
        slot = self.slots.get(name)
        if slot is None:
            raise KeyError(f"no value named {name!r}{did_you_mean(name, self.slots)}")
        return slot

    @cached_property
    def params(self) -> Tuple[int, ...]:
        """The params' slots (made once: a pass over every slot, 0.2 s at a million)."""
        return tuple(i for i, k in enumerate(self.kinds) if k == "param")

    @cached_property
    def differentiable(self) -> Tuple[bool, ...]:
        """slot -> whether d loss / d slot is computed: for params and for float nodes of ops
        with a gradient; not for inputs, number literals, bool or int64 values (comparisons,
        argmax) and the results of ops without a gradient (accuracy, one_hot)."""
        out = [kind == "param" for kind in self.kinds]
        for step in self.steps:
            out[step.out] = _has_gradient(step.op, self.types[step.out])
        return tuple(out)

    @cached_property
    def warnings(self) -> Tuple[Problem, ...]:
        """Problems of severity "warning", printed and never changing an exit status: each
        param the loss does not depend on (its gradient is 0 for every value). Found from the
        program's structure when first asked for (the CLI's run and validate ask)."""
        return unreached_params(self)


def build_program(spec: GraphSpec, memory_budget: Optional[int] = None, *,
                  broken: frozenset = frozenset(), source=None) -> Program:
    """Check the whole graph and order it. Raises GraphError listing every independent problem.
    `broken` names entries an earlier stage already found fault with: using them is no new error."""
    program = None if broken else _straight(spec, memory_budget, source)
    if program is None:
        if spec.straight:  # the nodes the spec stage gave it, as NodeSpecs
            spec = replace(spec, nodes=tuple(spec.straight.node_specs()), straight=None)
        program = _checked(spec, memory_budget, broken, source)
    if program.train is not None:
        from .train import check_train  # here: a graph without a train section never loads it
        problems = check_train(program)
        if problems:
            raise GraphError(problems)
    return program


def _checked(spec: GraphSpec, memory_budget, broken, source) -> Program:
    """The reference: every check, each problem found and worded, then the program."""
    problems = []
    leaves = {leaf.name: leaf for leaf in spec.leaves}
    nodes = {node.name: node for node in spec.nodes}
    # every name, for did-you-mean: made for the first unknown name (1M entries otherwise)
    all_names = _AllNames(leaves, nodes, broken)

    bad = set()  # nodes whose op, arity, attributes or references have a problem
    for node in spec.nodes:
        if full(problems):  # enough to print: the rest would only add more of them
            raise GraphError(problems + [stopped_here(len(problems), node.path)])
        if not _check_node(node, leaves, nodes, all_names, broken, problems):
            bad.add(node.name)

    # the leaves first: one of 2**63 elements is too big even to infer shapes from
    try:
        _check_leaf_budget(spec, memory_budget)
    except GraphError as e:
        raise GraphError(problems + list(e.problems)) from None
    order = _order(spec, nodes, problems)
    types = {name: leaf.type for name, leaf in leaves.items()}
    inferred = {}  # (op, argument types, attrs) -> Type or OpError: a chain repeats a few of them
    for node in order:
        name = node.name
        if name in bad:
            continue
        arg_types = tuple([_LITERAL if type(arg) is Const else types.get(arg.name)
                           for arg in node.args])
        if None in arg_types:
            continue  # an argument already has a problem of its own
        key = (node.op, arg_types, node.attrs)
        result = inferred.get(key)
        if result is None:
            try:
                result = OPS[node.op].infer(*arg_types, **dict(node.attrs))
            except OpError as e:
                result = e
            inferred[key] = result
        if type(result) is Type:
            types[name] = result
        else:
            problems.append(Problem(f"node '{name}': {result}{_source_hint(node, result, nodes)}",
                                    _error_path(node, result)))

    loss = _check_loss(spec, leaves, nodes, types, broken, problems)
    if problems or broken:  # broken entries' problems are the caller's, raised with these
        raise GraphError(problems)
    del leaves, nodes, all_names, inferred  # 60 MiB at a million nodes, not needed from here
    held = [types]  # _assemble takes the only reference, to free the dict when done with it
    del types
    return _assemble(spec, order, held, loss, memory_budget, source)


def _straight(spec: GraphSpec, memory_budget, source) -> Optional[Program]:
    """The program made in one pass (Straight), or None: `_checked` then finds and words every
    problem. The spec stage made it already while reading the file when it could (`spec.straight`,
    the nodes never made into NodeSpecs), else it is made here from the spec's nodes (unless the
    spec stage's pass declined a node as written: this one would decline it too)."""
    straight = spec.straight
    if straight is False:  # the spec stage's pass declined a node as written
        return None
    if straight is None:
        straight = Straight.start(spec.leaves, spec.loss is not None, memory_budget)
        if straight is None or not all(map(straight.node, spec.nodes)):
            return None
    return straight.program(spec, memory_budget, source)


class Straight:
    """The program of a graph as nearly every big file is written, made a node at a time in one
    pass that checks as it goes: each node names only leaves and nodes above it (file order is
    then program order, and there is no cycle, self-loop or unknown name), has a known op with a
    fitting arity and attributes, and infers a type; the loss is a float node of one element;
    the budget holds. A False from `node` or `written` at the first thing that is not so (this
    pass words nothing): `_checked` then finds and words every problem, from the NodeSpecs of the
    nodes taken so far (`node_specs`).

    The spec stage feeds it the nodes as the file writes them (`take`), so that a big file's
    nodes are never made into NodeSpecs and Refs, nor their names put into a second dict: at a
    million nodes this replaces a pass of the spec and one of the graph stage, most of whose
    cost was memory traffic (bench/README.md). Slots while it runs: the leaves', then the nodes'
    in order; a number literal's is -1 - its index, all of them moved to just after the leaves
    at the end (slots: leaves, literals, nodes)."""

    __slots__ = ("leaves", "slot_of", "one", "types", "fitting", "inferred", "seen", "steps",
                 "literals")

    def __init__(self, leaves, names: Optional[dict] = None):
        """`names`: a dict holding exactly the leaves' names, taken over as the dict of every
        name's slot (the spec stage's: one dict of a million names, not two)."""
        self.leaves = leaves
        self.slot_of = {} if names is None else names
        for slot, leaf in enumerate(leaves):
            self.slot_of[leaf.name] = slot
        # each distinct type as one object, so that a node's argument types are told apart by
        # their ids (hashing a Type hashes its numpy dtype: most of the time when done per node)
        self.one = {_LITERAL: _LITERAL}
        self.types = [self.one.setdefault(leaf.type, leaf.type) for leaf in leaves]
        self.fitting = {}  # (op as written, arity, attrs) -> Op, for combinations _check_op passes
        self.inferred = {}  # (op as written, ids of the argument types, attrs) -> Type
        # (op as written, *ids of the argument types) -> (Op, Type): what `written` answered for
        # a node of that op and those argument types, one or two of them, no attribute (`take`)
        self.seen = {}
        self.steps = []
        self.literals = []  # the Consts among the arguments, in the order met

    @classmethod
    def start(cls, leaves, backward: bool, memory_budget,
              names: Optional[dict] = None) -> Optional["Straight"]:
        """A Straight over `leaves`, or None if they alone pass the budget (one of 2**63
        elements is too big even to infer shapes from; the reference words it)."""
        estimated, _ = estimate_bytes([leaf.type for leaf in leaves],
                                      [leaf.kind for leaf in leaves], backward)
        budget = default_memory_budget() if memory_budget is None else memory_budget
        return None if estimated > budget else cls(leaves, names)

    def take(self, entries, section: Optional[dict] = None) -> Optional[tuple]:
        """Take each (name, body) of `entries` (an iterator over the nodes section's items) as
        `written` takes it, until one it declines: that pair is returned, the rest left in
        `entries` (None: every one taken). `section`: the section itself, each entry taken then
        let go in it (set to None), as the spec stage's `consume` asks.

        A node without attributes of one or two arguments, all names above it, whose op and
        argument types a node taken before had (nearly every node of a big file) is taken
        here in a few lookups; any other goes through `written`. Either way the same Step: the
        answer here is the one `written` gave for the same op and argument types."""
        slot_of, types, steps, seen = self.slot_of, self.types, self.steps, self.seen
        add_type, add_step = types.append, steps.append
        for name, body in entries:
            if type(body) is dict and len(body) == 2:
                args = body["args"]
                try:
                    if len(args) == 1:
                        slots = (slot_of[args[0]],)
                        known = seen.get((body["op"], id(types[slots[0]])))
                    elif len(args) == 2:
                        slots = (slot_of[args[0]], slot_of[args[1]])
                        known = seen.get((body["op"], id(types[slots[0]]), id(types[slots[1]])))
                    else:
                        known = None
                except (KeyError, TypeError):  # a number, a name not above, an unhashable op
                    known = None
                if known is not None:
                    out = len(types)
                    if slot_of.setdefault(name, out) is not out:  # a name defined twice
                        return name, body
                    add_type(known[1])
                    add_step(_new_tuple(Step, (name, known[0], out, slots, (), None)))
                    if section is not None:
                        section[name] = None
                    continue
            if type(body) is not dict or not self.written(name, body):
                return name, body
            if section is not None:
                section[name] = None
        return None

    def written(self, name: str, body: dict) -> bool:
        """Take the node `name` as the file writes it (`body`: a schema-valid mapping with op and
        args): the node the spec stage would make of it (spec.build_spec), taken as `node` takes
        it, without making it."""
        args = body["args"]
        attrs = node_attrs(OPS.get(body["op"]), body) if len(body) > 2 else ()
        slot_of = self.slot_of
        try:
            slots = tuple([slot_of[a] for a in args])  # KeyError: not above, or a number
        except KeyError:
            slots = self._slots_of(name, args)
            if slots is None:
                return False
        if not self._take(name, body["op"], slots, attrs, None):
            return False
        if not attrs and 0 < len(slots) < 3 and min(slots) >= 0:  # (no literal among them)
            types = self.types
            self.seen[(body["op"], *[id(types[a]) for a in slots])] = (self.steps[-1].op,
                                                                        types[-1])
        return True

    def _slots_of(self, name, args) -> Optional[tuple]:
        """The slots of a written node's arguments when one is not a name above it: a number
        literal (given its slot), or None for a name that is not (yet) defined."""
        slots = []
        for i, a in enumerate(args):
            if type(a) is str:
                slot = self.slot_of.get(a)
                if slot is None:
                    return None
            else:  # a number literal, as the spec makes it
                slot = -1 - len(self.literals)
                self.literals.append(Const(float(a), ("nodes", name, "args", i)))
            slots.append(slot)
        return tuple(slots)

    def node(self, node) -> bool:
        """Take a NodeSpec (False: this pass declines)."""
        slots = []
        for arg in node.args:
            if type(arg) is Const:
                slots.append(-1 - len(self.literals))
                self.literals.append(arg)
            else:
                slot = self.slot_of.get(arg.name)
                if slot is None:  # unknown, further down, or the node itself
                    return False
                slots.append(slot)
        return self._take(node.name, node.op, tuple(slots), node.attrs, node.where)

    def _take(self, name, op_name, slots, attrs, where) -> bool:
        types = self.types
        try:
            op = self.fitting.get((op_name, len(slots), attrs))
            if op is None:
                op = OPS.get(op_name)
                if op is None or not _check_op(_new_tuple(NodeSpec, (name, op_name, slots, attrs,
                                                                     where)), op, []):
                    return False
                self.fitting[(op_name, len(slots), attrs)] = op
            arg_types = [types[a] if a >= 0 else _LITERAL for a in slots]
            key = (op_name, tuple(map(id, arg_types)), attrs)
            result = self.inferred.get(key)
            if result is None:
                try:
                    result = op.infer(*arg_types, **dict(attrs))
                except OpError:
                    return False
                result = self.inferred[key] = self.one.setdefault(result, result)
        except TypeError:  # an attribute value that cannot be a key (a list): the reference's
            return False
        out = len(types)
        if self.slot_of.setdefault(name, out) is not out:  # a name defined twice
            return False
        types.append(result)
        self.steps.append(_new_tuple(Step, (name, op, out, slots, attrs, where)))
        return True

    def node_specs(self) -> list:
        """The NodeSpecs of the nodes taken, as the spec stage makes them (for the reference)."""
        names = [leaf.name for leaf in self.leaves] + [step.name for step in self.steps]
        literals = self.literals
        return [_new_tuple(NodeSpec, (step.name, step.op.name, tuple([
            _new_tuple(Ref, (names[a], None)) if a >= 0 else literals[-1 - a]
            for a in step.args]), step.attrs, step.where)) for step in self.steps]

    def program(self, spec: GraphSpec, memory_budget, source) -> Optional[Program]:
        """The Program of the nodes taken (None: the loss or the budget is not as it must be)."""
        leaves, literals, types = self.leaves, self.literals, self.types
        steps = self.steps
        loss = None
        if spec.loss is not None:
            loss = self.slot_of.get(spec.loss)
            if loss is None or loss < len(leaves) or math.prod(types[loss].shape) != 1 \
                    or types[loss].dtype.kind != "f":
                return None
        self.slot_of.clear()  # 84 MiB at a million names, not needed from here (nor by node_specs)
        if literals:  # their slots go between the leaves' and the nodes'
            first, moved = len(leaves), len(literals)
            steps = [step._replace(out=step.out + moved, args=tuple([
                first - 1 - a if a < 0 else a + moved if a >= first else a for a in step.args]))
                for step in steps]
            types = types[:first] + [_LITERAL] * moved + types[first:]
            loss = None if loss is None else loss + moved
        try:
            return _program(spec, tuple(steps), literals, tuple(types), loss, memory_budget,
                            source)
        except GraphError:
            return None


def stop_at_unknown_names(leaves, nodes, node_names, next_node) -> None:
    """Raise what _checked raises for a graph whose first nodes (`nodes`, in file order) hold so
    many unknown names that it stops before the node named `next_node`: the same problems and
    where it stopped, without the rest of the spec (which the spec stage then need not build:
    1.7M nodes of unknown names took 5 s to build). For a spec stage that has found no problem
    of its own and knows there will be none after these nodes (no expressions, no names
    defined twice); `node_names`: every node's name (an expression's nodes' too); `next_node`:
    the name of the node written after these, or the path of the first node it stands for."""
    leaves = {leaf.name: leaf for leaf in leaves}
    all_names = _AllNames(leaves, node_names, frozenset())
    problems = []
    for node in nodes:
        if full(problems):  # as _checked stops
            raise GraphError(problems + [stopped_here(len(problems), node.path)])
        _check_node(node, leaves, node_names, all_names, frozenset(), problems)
    if not full(problems):  # the caller counted wrong: a bug, never a user's answer
        raise AssertionError("stop_at_unknown_names: these nodes do not stop the check")
    after = ("nodes", next_node) if type(next_node) is str else next_node
    raise GraphError(problems + [stopped_here(len(problems), after)])


def _source_hint(node, error: OpError, nodes) -> str:
    """Where a wrongly typed argument came from, when its maker explains it: argmax's int64
    indices, a comparison's bools (ops/synonyms.py FROM)."""
    if not error.dtype or error.arg is None or error.arg >= len(node.args):
        return ""
    arg = node.args[error.arg]
    maker = nodes.get(arg.name) if type(arg) is not Const else None
    words = None if maker is None else synonyms.FROM.get(maker.op)
    return "" if words is None else f" (node '{arg.name}' holds {words.format(op=maker.op)})"


def reaches_loss(program: Program) -> list:
    """slot -> whether d loss / d slot flows back from the loss (through differentiable values
    and arguments that have a VJP). One tight pass in reverse program order."""
    diff = program.differentiable
    reached = [False] * len(diff)
    reached[program.loss] = diff[program.loss]
    for step in reversed(program.steps):
        if reached[step.out]:
            vjp = step.op.vjp
            for i, a in enumerate(step.args):
                if diff[a] and vjp(i) is not None:
                    reached[a] = True
    return reached


def unreached_params(program: Program) -> tuple:
    """A warning for each param the loss does not depend on: its gradient is 0 for every value,
    which is rarely what was meant (a param used only through a comparison or argmax, or by no
    node on the loss's side)."""
    if program.loss is None or not program.params:
        return ()
    reached = reaches_loss(program)
    missed = [s for s in program.params if not reached[s]]
    if not missed:
        return ()
    # what the loss's value depends on at all, gradient or not
    feeds = [False] * len(program.names)
    feeds[program.loss] = True
    for step in reversed(program.steps):
        if feeds[step.out]:
            for a in step.args:
                feeds[a] = True
    used = {a for step in program.steps for a in step.args}
    warnings = []
    for slot in missed:
        name = program.names[slot]
        if feeds[slot]:
            why = f"it reaches the loss only through {_blocker(program, slot, feeds)}"
        elif slot in used:
            why = "the nodes that use it do not lead to the loss"
        else:
            why = "no node uses it"
        warnings.append(Problem(f"param '{name}': the loss does not depend on it, so its "
                                f"gradient is 0 for every value ({why})", program.paths[slot],
                                at_key=True, severity="warning", source=program.source))
    return tuple(warnings)


def _blocker(program, slot, feeds) -> str:
    """The first node, in program order, on the way from `slot` to the loss, where the values
    stop carrying a gradient, in words."""
    made = {slot}
    diff = program.differentiable
    for step in program.steps:
        uses = [i for i, a in enumerate(step.args) if a in made]
        if not uses:
            continue
        made.add(step.out)
        if not feeds[step.out]:
            continue
        op, t = step.op, program.types[step.out]
        if not op.differentiable:
            return f"node '{step.name}' ({op.name}), which has no gradient"
        if not diff[step.out]:
            return f"node '{step.name}' ({op.name}), whose {t.dtype} values carry no gradient"
        if all(op.vjp(i) is None for i in uses):
            return f"node '{step.name}' ({op.name}), which has no gradient for that argument"
    return "ops without a gradient"

def rebatched(program: Program, slots, rows: int) -> Program:
    """The program with the leaves in `slots` cut to `rows` rows along axis 0 (a minibatch), every
    node's type inferred again by the op table's rules, as build_program infers them: the shapes
    are checked again, never assumed. Raises GraphError at each node whose op cannot take the
    batch's shapes (and at the loss, should it no longer be one element)."""
    types = list(program.types)
    for slot in slots:
        t = types[slot]
        types[slot] = Type((rows,) + t.shape[1:], t.dtype)
    problems = []
    for step in program.steps:
        arg_types = [types[a] for a in step.args]
        if None in arg_types:
            types[step.out] = None  # an argument already failed
            continue
        try:
            types[step.out] = step.op.infer(*arg_types, **dict(step.attrs))
        except OpError as e:
            types[step.out] = None
            where = step.path + (("args", e.arg) if e.arg is not None and e.arg < len(step.args)
                                 else (e.attr,) if e.attr is not None else ("op",))
            problems.append(Problem(f"node '{step.name}': with a batch of {rows} rows: {e}", where,
                                    notes=(Note("the batch size is set here",
                                                ("train", "batch", "size")),)))
    loss = program.loss
    if loss is not None and types[loss] is not None and math.prod(types[loss].shape) != 1:
        problems.append(Problem(f"with a batch of {rows} rows the loss has shape "
                                f"{shape_str(types[loss].shape)}; the loss must have exactly one "
                                "element", ("loss",)))
    if problems:
        raise GraphError(problems)
    return replace(program, types=tuple(types))


_LITERAL = Type((), None)  # a number literal's type: it takes the other arguments' dtype


def _has_gradient(op: Op, t: Type) -> bool:
    return op.differentiable and t.dtype is not None and t.dtype.kind == "f"


_HINT_WORK = 200_000  # name comparisons spent on did-you-mean suggestions, at most


class _AllNames:
    """The leaves', nodes' and broken entries' names, listed when first asked for."""

    def __init__(self, leaves, nodes, broken):
        self._parts = (leaves, nodes, broken)

    def __len__(self) -> int:
        return sum(map(len, self._parts))

    @cached_property
    def names(self) -> list:
        leaves, nodes, broken = self._parts
        return list(leaves) + list(nodes) + sorted(broken)


def _check_node(node, leaves, nodes, all_names, broken, problems) -> bool:
    op = OPS.get(node.op)
    if op is None:
        problems.append(Problem(unknown_op_message(node.op), node.path + ("op",)))
        ok = False
    else:
        ok = _check_op(node, op, problems)
    for i, arg in enumerate(node.args):
        if type(arg) is Const:
            continue
        if arg.name == node.name:
            problems.append(Problem(f"node '{node.name}' uses itself as an argument (a self-loop)",
                                    arg_path(node, i)))
            ok = False
        elif arg.name not in leaves and arg.name not in nodes:
            ok = False
            if arg.name in broken:
                continue  # its own problem is reported already
            # a suggestion compares with every name: bound the total work
            hint = did_you_mean(arg.name, all_names.names) \
                if len(problems) * len(all_names) < _HINT_WORK else ""
            problems.append(Problem(f"unknown name '{arg.name}'{hint}", arg_path(node, i)))
    return ok


def _check_op(node, op: Op, problems) -> bool:
    """A node's checks against its op (arity, attributes): they depend on nothing but the op,
    the number of arguments and the attributes written (so _straight checks each combination
    once)."""
    ok = True
    n = len(node.args)
    if n < op.min_arity or (not op.variadic and n > op.arity):
        if op.variadic:
            want = "at least 1 argument"
        elif op.min_arity < op.arity:
            want = f"{op.min_arity} to {op.arity} arguments"
        else:
            want = f"{op.arity} argument{'s' if op.arity != 1 else ''}"
        hint = synonyms.BY_ARITY.get((node.op, n))
        problems.append(Problem(f"{node.op} takes {want}; found {n}"
                                + (f" ({hint})" if hint else ""), node.path + ("args",)))
        ok = False
    if node.attrs or op.attrs:
        ok = _check_attrs(node, op, problems) and ok
    return ok


def unknown_op_message(name: str) -> str:
    """"unknown op 'clamp'; did you mean 'clip'? (PyTorch's clamp)": what people call the op
    (ops/synonyms.py) before spelling distance, and the known ops when neither helps."""
    known = synonyms.unknown_op(name)
    if known is not None:
        suggestion, why = known
        single = suggestion.count("'") == 2 and suggestion.startswith("'") \
            and suggestion.endswith("'")
        text = f"did you mean {suggestion}?" if single else f"use {suggestion}"
        return f"unknown op '{name}'; {text}" + (f" ({why})" if why else "")
    hint = did_you_mean(name, OPS)
    return f"unknown op '{name}'{hint}" + ("" if hint else f" (known ops: {', '.join(sorted(OPS))})")


def _check_attrs(node, op, problems) -> bool:
    ok = True
    written = dict(node.attrs)
    for key, value in written.items():
        attr = op.attrs.get(key)
        if attr is None:
            takes = (f"it takes {', '.join(op.attrs)}" if op.attrs else "it takes none")
            problems.append(Problem(f"{node.op} takes no attribute '{key}' ({takes})",
                                    node.path + (key,), at_key=True))
            ok = False
        elif not attr.kind.fits(value):  # e.g. a list of axes where the op takes one axis
            problems.append(Problem(f"node '{node.name}': {node.op}: "
                                    f"{attr.kind.misfit(key, value)}", node.path + (key,)))
            ok = False
    for key in op.required:
        if key not in written:
            problems.append(Problem(f"{node.op} needs the attribute '{key}'", node.path,
                                    at_key=True))
            ok = False
    return ok


def _order(spec, nodes, problems):
    """Program order (NodeSpecs): a topological order of the nodes, ties broken by file order.
    Each cycle is reported once, in full, with every node's line."""
    position = {}
    in_file_order = True
    for i, node in enumerate(spec.nodes):
        for arg in node.args:
            if type(arg) is not Const and arg.name in nodes and arg.name not in position \
                    and arg.name != node.name:
                in_file_order = False  # an argument defined further down
        position[node.name] = i
    if in_file_order:
        # file order is already topological, and then it is the order ties-by-file-order gives
        return spec.nodes
    import networkx as nx  # here, not at the top: importing it costs more than most runs take

    edges = [(arg.name, node.name) for node in spec.nodes for arg in node.args
             if type(arg) is not Const and arg.name in nodes and arg.name != node.name]
    dag = nx.DiGraph()
    dag.add_nodes_from(position)
    dag.add_edges_from(edges)
    try:
        by_position = nx.lexicographical_topological_sort(dag, key=position.__getitem__)
        return [nodes[n] for n in by_position]
    except nx.NetworkXUnfeasible:
        pass
    cyclic = [c for c in nx.strongly_connected_components(dag) if len(c) > 1]
    cyclic.sort(key=lambda c: min(position[n] for n in c))
    for component in cyclic:
        start = min(component, key=position.__getitem__)
        cycle = [u for u, _ in nx.find_cycle(dag.subgraph(component), source=start)]
        first = cycle.index(min(cycle, key=position.__getitem__))
        cycle = cycle[first:] + cycle[:first]
        text = " -> ".join(cycle + [cycle[0]])
        problems.append(Problem(f"cycle: {text}", nodes[cycle[0]].path, at_key=True,
                                notes=tuple(Note(f"'{n}' is part of the cycle", nodes[n].path)
                                            for n in cycle[1:])))
    # what is not on a cycle can still be ordered, so its shapes are checked too (what depends on
    # a cycle has no type then, and is skipped)
    on_cycle = set().union(*cyclic)
    acyclic = dag.subgraph(n for n in dag if n not in on_cycle)
    by_position = nx.lexicographical_topological_sort(acyclic, key=position.__getitem__)
    return [nodes[n] for n in by_position]


def _error_path(node, error: OpError):
    if error.arg is not None and error.arg < len(node.args):
        return arg_path(node, error.arg)
    if error.attr is not None:
        return node.path + (error.attr,)
    return node.path + ("op",)


def _check_loss(spec, leaves, nodes, types, broken, problems):
    if spec.loss is None or spec.loss in broken:
        return None
    path = ("loss",)
    if spec.loss in leaves:
        problems.append(Problem(f"loss '{spec.loss}' is {leaves[spec.loss].kind} '{spec.loss}'; "
                                "the loss must be a node", path))
        return None
    if spec.loss not in nodes:
        problems.append(Problem(f"loss names no node: '{spec.loss}'"
                                f"{did_you_mean(spec.loss, nodes)}", path))
        return None
    t = types.get(spec.loss)
    if t is not None and math.prod(t.shape) != 1:
        problems.append(Problem(f"loss '{spec.loss}' has shape {shape_str(t.shape)}; the loss must "
                                "have exactly one element (reduce it with sum or mean)", path))
    elif t is not None and t.dtype.kind != "f":
        # (a float loss of an op without a gradient, accuracy, runs: every param gets zeros, and
        # the warnings say so)
        problems.append(Problem(f"loss '{spec.loss}' holds {t.dtype} values, which have no "
                                f"gradient, so backward cannot start there (keep '{spec.loss}' as "
                                "a value to read, and make the loss a float op, such as "
                                "cross_entropy)", path))
    return spec.loss


def _assemble(spec, ordered, held, loss, memory_budget, source) -> Program:
    """Number the slots (leaves, then number literals, then nodes in program order) and make the
    steps. `held` holds the only reference to the dict of every leaf's and node's type by name:
    taken out here, it becomes the name -> slot map (one dict of every name at a time instead of
    two, each 84 MiB at a million nodes), freed before the other slot tuples are made."""
    types = held.pop()
    # tuples made at once, not lists copied (each list is 13 MiB at a million nodes)
    literals = [arg for node in ordered for arg in node.args if type(arg) is Const]
    first_node = len(spec.leaves) + len(literals)
    leaves = spec.leaves
    slot_types = tuple(chain((leaf.type for leaf in leaves), (_LITERAL,) * len(literals),
                             (types[node.name] for node in ordered)))
    slot_of = types
    del types
    # every key is there already: the dict is not grown
    for slot, name in enumerate(chain((leaf.name for leaf in leaves), ("",) * len(literals),
                                      (node.name for node in ordered))):
        if name:
            slot_of[name] = slot
    literal_slots = iter(range(len(leaves), first_node))  # literals in the order met here
    # the out slot is slot_of's int: one object shared with the args that name it
    steps = tuple(Step(node.name, OPS[node.op], slot_of[node.name],
                       tuple([next(literal_slots) if type(a) is Const else slot_of[a.name]
                              for a in node.args]), node.attrs, node.where)
                  for node in ordered)
    loss = None if loss is None else slot_of[loss]
    del slot_of
    return _program(spec, steps, literals, slot_types, loss, memory_budget, source)


def _program(spec, steps, literals, slot_types, loss, memory_budget, source) -> Program:
    """The Program of `steps` (in program order) over the spec's leaves and the number literals
    `literals` (in the order their slots were given), every slot's type in `slot_types`."""
    leaves = spec.leaves
    names = tuple(chain((leaf.name for leaf in leaves), ("",) * len(literals),
                        (step.name for step in steps)))
    kinds = tuple(chain((leaf.kind for leaf in leaves), ("const",) * len(literals),
                        ("node",) * len(steps)))
    paths = SlotPaths(leaves, tuple(arg.path for arg in literals), steps)
    consts = tuple((len(leaves) + i, arg.value) for i, arg in enumerate(literals))
    estimated = _check_budget(spec, memory_budget, names, kinds, slot_types, paths,
                              loss is not None)
    return Program(spec.name, spec.description, names, slot_types, kinds, paths, leaves,
                   consts, steps, loss, spec.tolerance, estimated, source, spec.train)


class SlotPaths:
    """slot -> document path, as a tuple of them would be, each made when asked for (errors
    only): leaves' and nodes' paths are their (section, name) unless written elsewhere."""

    __slots__ = ("_leaves", "_literals", "_steps")

    def __init__(self, leaves, literal_paths, steps):
        self._leaves, self._literals, self._steps = leaves, literal_paths, steps

    def __len__(self) -> int:
        return len(self._leaves) + len(self._literals) + len(self._steps)

    def __getitem__(self, slot: int) -> tuple:
        if slot < 0:
            slot += len(self)
        if not 0 <= slot < len(self):
            raise IndexError(slot)
        if slot < len(self._leaves):
            return self._leaves[slot].path
        slot -= len(self._leaves)
        if slot < len(self._literals):
            return self._literals[slot]
        return self._steps[slot - len(self._literals)].path


def _check_leaf_budget(spec, memory_budget) -> None:
    """The budget checked on the leaves alone, before any shape is inferred from them."""
    leaves = spec.leaves
    _check_budget(spec, memory_budget, [leaf.name for leaf in leaves],
                  [leaf.kind for leaf in leaves], [leaf.type for leaf in leaves],
                  [leaf.path for leaf in leaves], spec.loss is not None)


def _check_budget(spec, memory_budget, names, kinds, types, paths, backward) -> int:
    """The estimated bytes of a run, refused (at the largest value) when over the budget."""
    estimated, largest = estimate_bytes(types, kinds, backward)
    budget = default_memory_budget() if memory_budget is None else memory_budget
    if estimated > budget:
        t = types[largest]
        what = f"{kinds[largest]} '{names[largest]}'" if names[largest] else "a literal"
        raise GraphError([Problem(
            f"this graph needs about {_human(estimated)} of memory to run; the budget is "
            f"{_human(budget)}; the largest value is {what}, of shape {shape_str(t.shape)} "
            f"{t.dtype} ({_human(math.prod(t.shape) * t.dtype.itemsize)})",
            _shape_path(spec, paths[largest]), fix="memory_budget")])
    return estimated


def _shape_path(spec, path):
    """Where a value's size is written: an init leaf's `shape`, else the value or node itself."""
    leaf = next((leaf for leaf in spec.leaves if leaf.path == path), None)
    return path + ("shape",) if leaf is not None and leaf.init is not None else path


def estimate_bytes(types, kinds, backward: bool) -> Tuple[int, int]:
    """(bytes, slot of the largest value): values of every slot, plus a gradient for every param
    and node when there is a loss. Exact integers: a shape of [10**10, 10**10] must not wrap.
    Slots are counted by (type, kind) first: a large graph has many slots and few types."""
    total, largest, largest_size = 0, None, -1
    for (t, kind), count in collections.Counter(zip(types, kinds)).items():
        if t.dtype is None:
            continue
        size = math.prod(t.shape) * t.dtype.itemsize
        if size > largest_size:
            largest, largest_size = t, size
        total += count * size * (2 if backward and (kind == "node" or kind == "param") else 1)
    return total, (0 if largest is None else list(types).index(largest))


def default_memory_budget() -> int:
    """Most (80%) of the memory available now; 4 GiB when the system will not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 * 8 // 10
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * 8 // 10
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def _human(n: int) -> str:
    if n >= 1024 ** 6:  # from absurd shapes; an exact int may be too big for a float
        return f"10^{int(math.log10(n))} bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
