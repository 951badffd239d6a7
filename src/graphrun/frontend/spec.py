"""spec: schema-valid data -> a frozen GraphSpec.

Leaves become LeafSpecs that know their shape and dtype but allocate nothing yet (an `init` of
shape [100000, 100000] must be refused by the memory budget before it exists; a `.npy` file's
shape is read from its header). Nodes become NodeSpecs whose args are Refs (names) or Consts
(number literals). Every spec keeps its document path, so later stages can point at the file.
"""

from __future__ import annotations

import math
import operator
import os
from itertools import chain, compress, count, islice, repeat
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Optional, Tuple, Union

import numpy as np

from ..errors import (GraphError, Note, Problem, describe, full, stopped_by_limit,
                      stopped_here)
from ..ops import OPS, Type
from . import blocks, reading
from .outputs import OutputsSpec, parse as parse_outputs

if TYPE_CHECKING:
    from .train import TrainSpec

DTYPES = {"float64": np.dtype("float64"), "float32": np.dtype("float32"),
          "int64": np.dtype("int64")}

INIT_KEYS = {"zeros": (), "ones": (), "full": ("fill",), "normal": ("mean", "std"),
             "uniform": ("low", "high")}


# NamedTuples rather than frozen dataclasses for the specs made once per argument and per node:
# as immutable, and several times cheaper to create 100,000 of


class Ref(NamedTuple):
    """An argument naming a leaf or a node. `path` is None for an argument of a node written
    out (`args: [...]`): its path is the node's and ("args", i), made only for an error
    (arg_path); a path tuple for each of a million arguments would be 120 MiB."""

    name: str
    path: Optional[tuple]


class Const(NamedTuple):
    """A number literal argument."""

    value: float
    path: tuple


Arg = Union[Ref, Const]


def arg_path(node, i: int) -> tuple:
    """The document path of argument i of `node` (a NodeSpec)."""
    path = node.args[i].path
    return node.path + ("args", i) if path is None else path


class LeafSpec(NamedTuple):
    """A NamedTuple too: a scalar chain has a param per node or two, and a frozen dataclass with
    its instance dict and a 0-d array took 500 bytes each (340 MiB at a million nodes)."""

    name: str
    kind: str  # "input" or "param"
    type: Type
    # a value written in the file: an array, or a Python float for a float64 scalar (made an
    # array by materialize)
    literal: Optional[Union[np.ndarray, float]] = None
    init: Optional[tuple] = None  # (kind, seed, sorted (key, value) pairs) for generated values
    file: Optional[Tuple[str, Optional[str]]] = None  # (absolute path, npz key)

    @property
    def path(self) -> tuple:
        """The leaf's document path, (section, name), made when asked for (errors only): a
        tuple held for each of a million leaves would be 40 MiB."""
        return (_SECTION_OF[self.kind], self.name)

    def materialize(self, source=None) -> np.ndarray:
        """The leaf's array, allocated now (after the memory budget was checked); the compiled
        graph keeps it (api.Graph). Problems are raised in `source`, the file the leaf is in."""
        if self.literal is not None:
            return np.array(self.literal) if type(self.literal) is float else self.literal
        if self.init is not None:
            try:
                array = _generate(self.type, *self.init)
            except (MemoryError, OverflowError, ValueError) as e:  # numbers numpy refuses
                raise GraphError([Problem(
                    f"init: {self.init[0]} cannot make this value: "
                    + (f"not enough memory ({e}); the memory budget let it through: a smaller "
                       "budget refuses such a graph before it runs" if isinstance(e, MemoryError)
                       else str(e)), self.path)], source) from None
            if not np.isfinite(array).all():  # e.g. fill: 1e300 as float32
                raise GraphError([Problem(
                    f"init: {self.init[0]} gives values that are not finite in "
                    f"{self.type.dtype}; choose smaller numbers", self.path)], source)
            return array
        return _read_array(self, source)


class NodeSpec(NamedTuple):
    name: str
    op: str
    args: Tuple[Arg, ...]
    attrs: Tuple[Tuple[str, object], ...]  # only the attributes written in the file
    where: Optional[tuple]  # the document path; None for ("nodes", name), made when asked for

    @property
    def path(self) -> tuple:
        """The node's document path (a tuple held for each of a million nodes: 60 MiB)."""
        return ("nodes", self.name) if self.where is None else self.where


@dataclass(frozen=True)
class GraphSpec:
    name: str
    description: str
    leaves: Tuple[LeafSpec, ...]
    nodes: Tuple[NodeSpec, ...]
    loss: Optional[str]
    tolerance: Tuple[Tuple[str, float], ...]  # (("atol", 0.0), ("rtol", 1e-9)) as written
    outputs: OutputsSpec = OutputsSpec()  # the `outputs:` section as written
    train: Optional[TrainSpec] = None  # the train section, when there is one
    # nodes left out as calls of a block whose own problems are reported: using them is no new
    # problem
    broken: frozenset = frozenset()
    # the graph stage's one pass (graph.Straight), fed every node as the file writes it; then
    # `nodes` is empty, and made from it only if the reference is needed. False: it declined a
    # node as written, which the graph stage's pass would decline again
    straight: object = None


# Nodes in one graph, after expressions are expanded. Checking a graph holds every node's spec,
# step and types at once: ~0.9 KiB a node written `{op: ..., args: [...]}`, ~1.2 KiB one written
# as an expression (bench/README.md, "Dense files"); 64 MiB of `aN: -x` lines is 5.6M nodes.
MAX_NODES = 2_000_000


def _too_many_nodes(path) -> Problem:
    return stopped_by_limit(f"the graph has more than {MAX_NODES:,} nodes, the limit (each costs "
                            "the checks about 1 KiB), this one passing it", path)


def build_spec(data: dict, filename: str, *, source=None, library=None,
               allow_outside: bool = False, consume: bool = False,
               memory_budget: Optional[int] = None) -> GraphSpec:
    """Turn a schema-valid document into a GraphSpec; raises GraphError with every problem found.
    A node written as an expression becomes the nodes it stands for (frontend/blocks.py: its
    positions are in `source`, its block calls are to `library`'s blocks). `file:` values stay
    in the graph file's folder tree unless `allow_outside`. `consume`: each entry of `nodes` is
    let go (set to None in `data`) once read, so that the document shrinks as the spec grows;
    from the first problem on, none is (the first node's entry is then None only if some were
    let go, and a caller whose document is whole need not read it again). With no problem in
    the leaves, each node is given to the graph stage's one pass (graph.Straight, under
    `memory_budget`) as it is read, until it declines one: the nodes it took are then made
    NodeSpecs, and the rest as always."""
    problems = []
    base = os.path.dirname(os.path.abspath(filename))
    root = None if allow_outside else base
    leaves = []
    # name -> its first definition: a written node's key itself (a path tuple for each of a
    # million nodes was 100 MiB), else the path (a leaf's, or a node an expression gives)
    defined = {}
    for section, kind in (("inputs", "input"), ("params", "param")):
        for name, value in (data.get(section) or {}).items():
            path = (section, name)
            if problems and full(problems):  # enough to print (errors.MAX_PROBLEMS)
                raise GraphError(problems + [stopped_here(len(problems), path)])
            if _check_unique(name, path, defined, problems):
                leaf = _leaf(name, kind, value, path, base, problems, root)
                if leaf is not None:
                    leaves.append(leaf)
    nodes = []
    broken = set()
    section = data["nodes"]
    if len(section) > MAX_NODES:  # as written: refused before any is read
        raise GraphError(problems + [_too_many_nodes(("nodes", next(islice(section, MAX_NODES,
                                                                            None))))])
    # a file of nodes whose names are unknown stops the graph stage after MAX_PROBLEMS of them:
    # looked for in its first nodes, so as not to build the rest (_stop_at_unknown_names)
    probe = [_PROBE_EVERY, 0, 0] if consume and data.get("train") is None else None
    straight = None
    if not problems:
        from .graph import Straight  # (graph imports this module)
        # `defined` is taken over as its dict of every name's slot, and made as it was again
        # should it decline
        straight = Straight.start(leaves, data.get("loss") is not None, memory_budget, defined)
    entries = iter(section.items())
    if straight:
        declined = straight.take(entries, section if consume else None)
        if declined is not None:
            nodes = straight.node_specs()  # declined: the nodes so far as they would have been
            defined.update((leaf.name, leaf.path) for leaf in leaves)
            defined.update((node.name, node.name) for node in nodes)
            # a node as written that it declined, the graph stage's pass would decline again
            # (the same nodes before it, in the same order): the reference's, then
            straight = False if type(declined[1]) is dict else None
            entries = chain((declined,), entries)
    for name, body in entries:
        if problems and full(problems):
            raise GraphError(problems + [stopped_here(len(problems), ("nodes", name))])
        if probe is not None and len(nodes) >= probe[0]:
            probe = _stop_at_unknown_names(probe, leaves, nodes, section, defined, library, name,
                                           problems, source)
        if consume and not problems:
            section[name] = None  # a value replaced, not a key removed: the loop goes on
        if defined.setdefault(name, name) is not name:  # _check_unique's test, inline: per node
            _check_unique(name, ("nodes", name), defined, problems)
            continue
        if type(body) is str:  # an expression
            if library is None:
                from .blocks import Library
                library = Library()
            before = len(problems)
            made = blocks.expand_node(name, body, source, library, problems)
            if made is None:
                if len(problems) == before:
                    broken.add(name)
                continue
            for node in made:
                if node.name == name or _check_unique(node.name, node.path, defined, problems):
                    nodes.append(node)
            if len(nodes) > MAX_NODES:  # an expression may stand for many nodes
                raise GraphError(problems + [_too_many_nodes(("nodes", name))])
            continue
        # each name and op as the one string object defined (a leaf's or node's key, the op
        # table's name), not the document's copy of it: the copies go with the document
        # (tuple.__new__ makes the NamedTuples: their own __new__ is a Python-level call, and
        # these are made for each of millions of nodes and arguments)
        args = tuple([_new_tuple(Ref, (d if type(d := defined.get(a, a)) is str else
                                       _defined(a, d), None)) if type(a) is str else
                      Const(float(a), ("nodes", name, "args", i))
                      for i, a in enumerate(body["args"])])
        attrs = _attrs(body) if len(body) > 2 else ()  # op and args are always there
        op = OPS.get(body["op"])
        nodes.append(_new_tuple(NodeSpec, (name, body["op"] if op is None else op.name, args,
                                           attrs, None)))
    train = None
    if data.get("train") is not None:
        from .train import build_train  # here: a graph without a train section never loads it
        train = build_train(data["train"], problems)
    if problems:
        raise GraphError(problems)
    stem = os.path.splitext(os.path.basename(filename))[0]
    # a file name's bytes that are not UTF-8 (surrogate escapes) cannot be written as YAML text
    stem = stem.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return GraphSpec(name=data.get("name", stem), description=data.get("description", ""),
                     leaves=tuple(leaves), nodes=tuple(nodes), loss=data.get("loss"),
                     tolerance=tuple(sorted((data.get("tolerance") or {}).items())), train=train,
                     broken=frozenset(broken), outputs=parse_outputs(data.get("outputs")),
                     straight=straight)


_new_tuple = tuple.__new__


_PROBE_EVERY = 4096  # nodes
_PROBE_UP_TO = 65536  # nodes: a file whose unknown names are fewer is built in full


def _stop_at_unknown_names(probe, leaves, nodes, section, defined, library, next_node,
                           problems, source):
    """When the nodes read so far name MAX_PROBLEMS unknown leaves or nodes (none defined
    anywhere in the file, an expression's nodes included), and the rest of the file can add no
    problem of the spec's own (`_rest_of`: no node named as a leaf, no expression with a problem
    or giving a name twice), raise what the graph stage would (graph.py: stop_at_unknown_names);
    or, should the rest pass MAX_NODES, what the spec stage itself would. Else the probe for
    next time, or None. `probe`: [the node count at which to look, the nodes counted so far, the
    unknown names among them (a bound from below: a dotted name may be an expression's node
    further down)]."""
    if problems or (library is not None and not blocks.plain(library)):
        return None
    _, counted, unknown = probe
    unknown += sum(1 for node in nodes[counted:] for arg in node.args
                   if type(arg) is Ref and arg.name not in defined and arg.name not in section)
    if full(unknown) and not any(leaf.name in section for leaf in leaves):
        names = _rest_of(nodes, section, defined, leaves, library, source)
        if names is not None:
            leaf_names = {leaf.name for leaf in leaves}
            found = sum(1 for node in nodes for arg in node.args if type(arg) is Ref and
                        arg.name not in names and arg.name not in leaf_names)
            if full(found):
                from .graph import stop_at_unknown_names  # (graph imports this module)
                body = section[next_node]
                after = ("nodes", next_node)  # the first node after these, where _checked stops
                if type(body) is str:
                    after = blocks.expand_node(next_node, body, source, library, [])[0].path
                stop_at_unknown_names(leaves, nodes, names, after)
        return None  # the rest has a problem of its own, or the names are defined further down
    if len(nodes) >= _PROBE_UP_TO:
        return None
    return [len(nodes) + _PROBE_EVERY, len(nodes), unknown]


def _rest_of(nodes, section, defined, leaves, library, source) -> Optional[dict]:
    """Every node's name (as a dict, in no particular order), when the nodes of `section` not
    read yet (those not let go) add no problem of the spec stage's: each expression's nodes made
    without a problem, none of their names defined twice. None if one does. Raises the spec
    stage's answer if the nodes pass MAX_NODES (checked where build_spec checks it: after an
    expression)."""
    names = dict.fromkeys(section)
    leaf_names = {leaf.name for leaf in leaves}
    for name, first in defined.items():  # the names the expressions read so far gave
        if type(first) is tuple and len(first) > 2:
            if name in names:
                return None  # written as a node further down: defined twice
            names[name] = None
    count = len(nodes)
    plain_library = blocks.Library() if library is None else library
    for name, body in section.items():
        if body is None:  # read already, and let go
            continue
        if type(body) is not str:
            count += 1
            continue
        made = blocks.generated_names(name, body, source, plain_library)
        if made is None:
            return None
        for given in made:
            if given != name:
                if given in names or given in leaf_names:
                    return None  # defined twice: the spec stage's problem
                names[given] = None
        count += len(made)
        if count > MAX_NODES:
            raise GraphError([_too_many_nodes(("nodes", name))])
    return names


def _defined(name: str, path: tuple) -> str:
    """`name` as the string its leaf was defined with (`path`, its definition in `defined`, as
    a written node's is the string itself)."""
    return path[1] if len(path) == 2 else name


def _attrs(body) -> tuple:
    """A node's attributes: its keys other than op and args (see node_attrs)."""
    return node_attrs(OPS.get(body["op"]), body)


def node_attrs(op, written) -> tuple:
    """The attributes written for a node of `op` (a mapping; its keys op and args are not
    attributes). Those the op declares come in the table's order, normalised by their kind; any
    other key is kept as written (lists frozen), so that the graph stage can say which op does
    not take it. A default is not written in: Step attrs say what the file says, and the op
    fills in the rest. An expression's node gets its attributes here too, the same way."""
    declared = op.attrs if op is not None else {}
    attrs = []
    for key, attr in declared.items():
        if key in written:
            value = written[key]
            attrs.append((key, attr.kind.normalise(value) if attr.kind.fits(value) else
                          _freeze(value)))  # the graph stage words the misfit
    for key, value in written.items():
        if key not in declared and key != "op" and key != "args":
            attrs.append((key, _freeze(value)))
    return tuple(attrs)


def _freeze(value):
    return tuple(value) if isinstance(value, list) else value


_SECTION_WORD = {"inputs": "an input", "params": "a param", "nodes": "a node"}
_SECTION_OF = {"input": "inputs", "param": "params"}  # a leaf's kind -> its section


def _check_unique(name, path, defined, problems) -> bool:
    first = defined.setdefault(name, path)
    if first is path:
        return True
    if type(first) is str:  # a written node's (see build_spec)
        first = ("nodes", first)
    if len(path) > 2:  # a name an expression gives (frontend/blocks.py), written too
        problems.append(Problem(
            f"name '{name}' is defined twice: written as a node, and given by the expression "
            f"of node '{path[1]}'; names must be unique across inputs, params and nodes", path,
            notes=(Note(f"'{name}' written here", first),)))
        return False
    problems.append(Problem(
        f"name '{name}' is defined twice: as {_SECTION_WORD[first[0]]} and as "
        f"{_SECTION_WORD[path[0]]}; names must be unique across inputs, params and nodes",
        path, at_key=True, notes=(Note(f"'{name}' first defined here", first),)))
    return False


_SCALAR = Type((), DTYPES["float64"])


def _leaf(name, kind, value, path, base, problems, root) -> Optional[LeafSpec]:
    if type(value) is float or type(value) is int:  # the common case in scalar graphs, fast
        return _new_tuple(LeafSpec, (name, kind, _SCALAR, float(value), None, None))
    if isinstance(value, dict):
        if "init" in value:
            return _init_leaf(name, kind, value, path, problems)
        if "file" in value:
            return _file_leaf(name, kind, value, path, base, problems, root)
        dtype = DTYPES[value.get("dtype", "float64")]
        array = _tensor(value["value"], dtype, path + ("value",), problems)
    else:
        dtype = DTYPES["float64"]
        array = _tensor(value, dtype, path, problems)
    if array is None:
        return None
    if not _check_param_dtype(kind, dtype, path + (("dtype",) if isinstance(value, dict) else ()),
                              problems):
        return None
    return LeafSpec(name, kind, Type(array.shape, dtype), literal=array)


def _check_param_dtype(kind, dtype, path, problems) -> bool:
    if kind == "param" and dtype.kind != "f":
        problems.append(Problem(f"a param is differentiated, so it must be float64 or float32; "
                                f"found {dtype} (int64 is for inputs such as class labels)", path))
        return False
    return True


def _tensor(value, dtype, path, problems) -> Optional[np.ndarray]:
    """A number or rectangular nested list -> an array, with the path of the first ragged part.
    The array is made from the innermost level, flat, then shaped: numpy's walk of a nested list
    took 1.9 s for 5.6M rows of two, the flat list 0.3 s."""
    found = _shape_of(value, path, problems)
    if found is None:
        return None
    shape, items = found
    if dtype.kind == "i" and any(map(operator.is_not, map(type, items), repeat(int))):
        at = _first(map(operator.is_not, map(type, items), repeat(int)))
        problems.append(Problem(f"expected an integer for dtype int64; found {describe(items[at])}",
                                path + _index(at, shape)))
        return None
    with np.errstate(over="ignore"):  # float32's overflow: the problem below says which number
        array = np.array(items, dtype=dtype).reshape(shape)
    if dtype == np.float32 and not np.all(np.isfinite(array)):
        at = int(np.flatnonzero(~np.isfinite(array.ravel()))[0])
        problems.append(Problem(f"{describe(items[at])} is too large for float32 (beyond "
                                "3.4e38)", path + _index(at, shape)))
        return None
    return array


def _shape_of(value, path, problems) -> Optional[tuple]:
    """(The shape of a nested list, its numbers in row-major order), walking level by level (no
    recursion); None if ragged. Each level is a flat list of the items at that depth; an item's
    path is made only for a problem, from its place in the level (a 5.6M-row matrix made a path
    tuple for each of 11M items)."""
    shape = []
    level = [value]
    while True:
        kinds = set(map(type, level))
        if list not in kinds:
            return tuple(shape), level
        if len(kinds) > 1:  # (the first of each found in C: by a generator, 1 s at 5.6M rows)
            at = _first(map(operator.is_not, map(type, level), repeat(list)))
            other = level[_first(map(operator.is_, map(type, level), repeat(list)))]
            problems.append(Problem(f"ragged tensor: expected a list of {len(other)} here, like its "
                                    f"neighbours; found a number", path + _index(at, shape)))
            return None
        lengths = set(map(len, level))
        if len(lengths) > 1:
            expected = len(level[0])
            at = _first(map(expected.__ne__, map(len, level)))
            problems.append(Problem(f"ragged tensor: expected a list of {expected} items, like the "
                                    f"first one at this depth; found {len(level[at])}",
                                    path + _index(at, shape)))
            return None
        shape.append(lengths.pop())
        level = list(chain.from_iterable(level))


def _first(truths) -> int:
    """The index of the first true one of `truths` (an iterator holding one)."""
    return next(compress(count(), truths))


def _index(flat: int, shape) -> tuple:
    """The indices of item `flat` of a level whose items fill `shape`, in row-major order."""
    index = []
    for size in reversed(shape):
        flat, i = divmod(flat, size)
        index.append(i)
    return tuple(reversed(index))


def _init_leaf(name, kind, value, path, problems) -> Optional[LeafSpec]:
    init = value["init"]
    allowed = INIT_KEYS[init]
    for key in ("fill", "mean", "std", "low", "high"):
        if key in value and key not in allowed:
            owner = next(k for k, v in INIT_KEYS.items() if key in v)
            problems.append(Problem(f"'{key}' is for init: {owner}, not init: {init}"
                                    + (f" (init: {init} takes {', '.join(allowed)})" if allowed
                                       else ""), path + (key,), at_key=True))
            return None
    if init == "full" and "fill" not in value:
        problems.append(Problem("init: full needs a 'fill' value", path, at_key=True))
        return None
    if init == "uniform" and value.get("low", 0.0) > value.get("high", 1.0):
        problems.append(Problem(f"init: uniform needs low <= high; found low {value.get('low', 0.0)}"
                                f", high {value.get('high', 1.0)}", path + ("low",)))
        return None
    if init == "uniform" and not math.isfinite(float(value.get("high", 1.0))
                                               - float(value.get("low", 0.0))):
        # numpy draws low + (high - low) u: the range itself must be a float64
        problems.append(Problem(f"init: uniform needs high - low within float64 (at most "
                                f"{np.finfo(np.float64).max:.4g}); found low "
                                f"{value.get('low', 0.0)}, high {value.get('high', 1.0)}",
                                path + ("high" if "high" in value else "low",)))
        return None
    dtype = DTYPES[value.get("dtype", "float64")]
    options = tuple(sorted((k, float(value[k])) for k in allowed if k in value))
    return LeafSpec(name, kind, Type(tuple(value["shape"]), dtype),
                    init=(init, value.get("seed", 0), options))


def _generate(type_: Type, init, seed, options) -> np.ndarray:
    """Documented, machine-independent values: numpy's default_rng(seed) (PCG64), in float64,
    then cast to the leaf's dtype."""
    o = dict(options)
    shape = type_.shape
    if init == "zeros":
        out = np.zeros(shape)
    elif init == "ones":
        out = np.ones(shape)
    elif init == "full":
        out = np.full(shape, o["fill"])
    elif init == "normal":
        out = np.random.default_rng(seed).normal(o.get("mean", 0.0), o.get("std", 1.0), shape)
    else:
        out = np.random.default_rng(seed).uniform(o.get("low", 0.0), o.get("high", 1.0), shape)
    with np.errstate(over="ignore"):  # a value beyond float32 is refused by the caller
        return out.astype(type_.dtype, copy=False)


def _file_leaf(name, kind, value, path, base, problems, root) -> Optional[LeafSpec]:
    rel = value["file"]
    full = os.path.normpath(os.path.join(base, rel))
    key = value.get("key")
    where = path + ("file",)
    if full.endswith(".npz") and key is None:
        problems.append(Problem(f"{rel} is an .npz archive: say which array with 'key'", where))
        return None
    try:
        if root is not None and not reading.inside(full, root):
            problems.append(Problem(
                f"file {rel!r} is outside the graph's folder ({root}): data files stay in the "
                "folder tree of the graph file (a link that leads outside counts as outside)",
                where, fix="allow_outside"))
            return None
        header = reading.npy_header(full, key)
    except FileNotFoundError:
        problems.append(Problem(f"no such file: {rel} (looked in {full})", where))
        return None
    except IsADirectoryError:
        problems.append(Problem(f"{rel} is a directory, expected a .npy or .npz file", where))
        return None
    except KeyError:
        problems.append(Problem(f"{rel} has no array named '{key}'", path + ("key",)))
        return None
    except (OSError, ValueError) as e:
        problems.append(Problem(f"cannot read {rel} as a numpy array file: {e}", where))
        return None
    shape, stored = header.shape, header.dtype
    if stored.kind not in "fiu" or stored.itemsize > 8:  # strings, bools, complex, float128
        problems.append(Problem(f"{rel} holds {stored} data; graphrun reads float64, "
                                "float32 and integer arrays", where))
        return None
    if "dtype" in value:
        dtype = DTYPES[value["dtype"]]
        if dtype.kind == "i" and stored.kind not in "iu":
            problems.append(Problem(f"{rel} holds {stored} data; dtype: int64 would cut off "
                                    "its fractions (save the labels as integers)",
                                    path + ("dtype",)))
            return None
    elif stored.kind == "f" and stored.itemsize in (4, 8):
        dtype = DTYPES[f"float{stored.itemsize * 8}"]  # in native byte order, whatever stored
    elif stored.kind in "iu":
        dtype = DTYPES["int64"]  # uint64 values beyond int64 are refused as they are read
    else:
        problems.append(Problem(f"{rel} holds {stored} data; graphrun reads float64, "
                                "float32 and integer arrays", where))
        return None
    if not _check_param_dtype(kind, dtype, where, problems):
        return None
    if any(d == 0 for d in shape):
        problems.append(Problem(f"{rel} holds an empty array of shape {shape}", where))
        return None
    return LeafSpec(name, kind, Type(tuple(shape), dtype), file=(full, key))


def _read_array(leaf: LeafSpec, source) -> np.ndarray:
    """A file leaf's array, read now (its header was checked when the graph was compiled; the
    file may have changed since), in the leaf's dtype."""
    full, key = leaf.file
    where = leaf.path + ("file",)
    rel = os.path.basename(full)

    def same(header):
        if header.shape != leaf.type.shape:
            raise ValueError(f"it changed since the graph was compiled: it holds shape "
                             f"{header.shape} now, not {leaf.type.shape}")

    try:
        array = reading.read_npy(full, key, check=same)
    except MemoryError:
        raise GraphError([Problem(f"not enough memory to read {rel}", where)], source) from None
    except (OSError, KeyError, ValueError) as e:
        words = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise GraphError([Problem(f"cannot read {rel} as a numpy array file: {words}", where)],
                         source) from None
    if array.dtype == np.uint64 and leaf.type.dtype == np.int64 and array.size and \
            array.max() > np.iinfo(np.int64).max:
        raise GraphError([Problem(
            f"{rel} holds uint64 values up to {int(array.max())}, beyond int64 (at most "
            f"{np.iinfo(np.int64).max}); labels and indices are int64", where)], source)
    return array.astype(leaf.type.dtype, copy=False)
