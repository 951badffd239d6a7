"""kinds: what an op attribute's value may be. Each kind knows four things, so that no other module
keeps its own copy of them:

- `schema`: its JSON-Schema fragment (ops/schema.py writes it into schemas/graph.schema.json);
- `fits(value)`: an exact, fast predicate with the same answer as that fragment on loaded data
  (the schema's fast path and the graph stage use it; tests/test_op_schema.py checks the two agree).
  It also accepts tuples where the fragment takes lists: the spec hands attributes on normalised;
- `normalise(value)`: the value as ops receive it (lists become tuples, numbers floats);
- `words`: how messages describe it ("axis must be one integer; found null").

`within` names a wider kind that accepts every value of this one: where ops give one attribute
name different kinds, the schema's node-level check uses the widest (see ops/schema.py).
`coverage` lists what the samples of an op with such an attribute must try
(tests/test_gradients.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple


def _same(value):
    return value


def _tuple(value):
    return tuple(value) if type(value) is list else value


@dataclass(frozen=True, repr=False, eq=False)  # a kind is itself: compared by identity
class Kind:
    name: str
    schema: dict
    fits: Callable[[object], bool]
    words: str
    normalise: Callable = _same
    within: Optional["Kind"] = None
    # (what, predicate): some sample of every op with an attribute of this kind sets a value the
    # predicate holds for
    coverage: Tuple[Tuple[str, Callable[[object], bool]], ...] = field(default=())

    def __repr__(self):
        return f"<kind {self.name}>"

    def misfit(self, attr: str, value) -> str:
        """The message for a value that does not fit: "axis must be one integer; found null"."""
        return f"{attr} must be {self.words}; found {text(value)}"

    def includes(self, other: "Kind") -> bool:
        """Whether every value of `other` fits this kind (through `within`)."""
        while other is not None:
            if other is self:
                return True
            other = other.within
        return False


def text(value) -> str:
    """A normalised attribute value as a YAML reader would write it: null, true, [0, 1], 0.5,
    "1:3" (strings quoted: a slice's colons would end a flow mapping's key)."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) in (list, tuple):
        return "[" + ", ".join(text(v) for v in value) + "]"
    return repr(value) if type(value) is not str else json.dumps(value)


# Exact types, as the schema's checker counts them (frontend/schema.py): True is not an integer,
# 2.0 is not an integer, a bool is not a number.

def _is_int(v):
    return type(v) is int


def _is_number(v):
    return type(v) is int or type(v) is float


def _is_ints(v):
    return (type(v) is list or type(v) is tuple) and all(type(i) is int for i in v)


def _axes_of(v):
    return () if v is None else (v,) if type(v) is int else tuple(v)


def _negative_axis(v):
    return any(a < 0 for a in _axes_of(v))


_INTS = {"type": "array", "items": {"type": "integer"}}

AXIS = Kind(
    "axis", {"anyOf": [{"type": "null"}, {"type": "integer"}, _INTS]},
    lambda v: v is None or _is_int(v) or _is_ints(v),
    "null, an integer or a list of integers", _tuple,
    coverage=(("null", lambda v: v is None), ("one integer", _is_int),
              ("a list of integers", lambda v: type(v) in (list, tuple)),
              ("a negative axis", _negative_axis)))

ONE_AXIS = Kind(
    "one axis", {"type": "integer"}, _is_int, "one integer", within=AXIS,
    coverage=(("a negative axis", _negative_axis),))

OPTIONAL_ONE_AXIS = Kind(
    "optional axis", {"anyOf": [{"type": "null"}, {"type": "integer"}]},
    lambda v: v is None or _is_int(v), "null or one integer", within=AXIS,
    coverage=(("null", lambda v: v is None), ("one integer", _is_int),
              ("a negative axis", _negative_axis)))

BOOL = Kind(
    "boolean", {"type": "boolean"}, lambda v: type(v) is bool, "true or false",
    coverage=(("true", lambda v: v is True), ("false", lambda v: v is False)))

SHAPE = Kind(
    "shape", {"type": "array", "items": {"type": "integer", "minimum": -1}},
    lambda v: _is_ints(v) and all(i >= -1 for i in v),
    "a list of sizes (integers, one -1 allowed)", _tuple,
    coverage=(("a -1 (an inferred size)", lambda v: -1 in v), ("an empty shape", lambda v: not v)))

PERMUTATION = Kind(
    "permutation", {"anyOf": [{"type": "null"}, _INTS]},
    lambda v: v is None or _is_ints(v), "null or a list of integers", _tuple,
    coverage=(("null", lambda v: v is None), ("a negative axis", _negative_axis)))

OPTIONAL_NUMBER = Kind(
    "optional number", {"anyOf": [{"type": "null"}, {"type": "number"}]},
    lambda v: v is None or _is_number(v), "null or a number",
    lambda v: v if v is None else float(v),
    coverage=(("null", lambda v: v is None), ("a number", _is_number)))

NUMBER = Kind("number", {"type": "number"}, _is_number, "a number", float, within=OPTIONAL_NUMBER)

INT = Kind("integer", {"type": "integer"}, _is_int, "an integer", within=NUMBER)


def _pair(v):
    return (v, v) if type(v) is int else _tuple(v)


# conv2d's and the pools' sizes, as PyTorch writes them: one integer for both spatial axes, or
# [height, width]. The schema says only "integers"; how many and how large is the op's check, so
# that its message names the op and the attribute
OPTIONAL_PAIR = Kind(
    "optional pair", {"anyOf": [{"type": "null"}, {"type": "integer"}, _INTS]},
    lambda v: v is None or _is_int(v) or _is_ints(v),
    "null, an integer or a list of two integers", lambda v: v if v is None else _pair(v),
    coverage=(("null", lambda v: v is None), ("one integer", _is_int),
              ("a list [height, width]", lambda v: type(v) is list)))

PAIR = Kind(
    "pair", {"anyOf": [{"type": "integer"}, _INTS]},
    lambda v: _is_int(v) or _is_ints(v), "an integer or a list of two integers", _pair,
    within=OPTIONAL_PAIR,
    coverage=(("one integer", _is_int), ("a list [height, width]", lambda v: type(v) is list)))


def _is_index_item(v):
    return v is None or type(v) is int or type(v) is str


def _index_has(predicate):
    def holds(v):
        items = v if type(v) in (list, tuple) else (v,)
        return any(predicate(i) for i in items)
    return holds


# numpy's basic indexing, one entry per axis: an integer (picks one element and drops the axis),
# a slice "start:stop:step" (each part optional), "..." (the axes not named) or null (a new axis
# of size 1); a single entry may be written alone. Which strings are slices is the op's check
# (ops/index.py), so that a typo is reported at the node with the op's words
INDEX = Kind(
    "index", {"anyOf": [{"type": ["integer", "string"]},
                        {"type": "array", "items": {"type": ["integer", "string", "null"]}}]},
    lambda v: type(v) is int or type(v) is str or
    (type(v) in (list, tuple) and all(_is_index_item(i) for i in v)),
    "an integer, a slice such as \"1:3\", or a list of them (one per axis)", _tuple,
    coverage=(("an integer alone", lambda v: type(v) is int),
              ("a slice alone", lambda v: type(v) is str),
              ("a negative integer", _index_has(lambda i: type(i) is int and i < 0)),
              ("a slice with a step", _index_has(lambda i: type(i) is str and i.count(":") == 2)),
              ("'...'", _index_has(lambda i: i == "...")),
              ("null (a new axis)", lambda v: type(v) in (list, tuple) and None in v)))


def _is_slice_entry(v):
    return v is None or (type(v) in (list, tuple) and all(i is None or type(i) is int for i in v))


# the same slices as numbers, one [start, stop] or [start, stop, step] per axis (null: open)
SLICES = Kind(
    "slices", {"type": "array", "items": {"anyOf": [
        {"type": "null"}, {"type": "array", "items": {"type": ["integer", "null"]}}]}},
    lambda v: type(v) in (list, tuple) and all(_is_slice_entry(e) for e in v),
    "a list with one [start, stop, step] (or null) per axis",
    lambda v: tuple(e if e is None else tuple(e) for e in v),
    coverage=(("null for a whole axis", lambda v: None in v),
              ("a negative step", lambda v: any(e is not None and len(e) == 3 and e[2] is not None
                                                and e[2] < 0 for e in v)),
              ("a null bound", lambda v: any(e is not None and None in e for e in v))))

# norm's order: PyTorch's vector norms 1, 2 and inf (a string: JSON has no infinity). The schema's
# enum takes 2.0 for 2, as jsonschema compares numbers by value
NORM_ORD = Kind(
    "norm order", {"enum": [1, 2, "inf"]},
    lambda v: (type(v) in (int, float) and v in (1, 2)) or (type(v) is str and v == "inf"),
    "1, 2 or \"inf\"", lambda v: v if type(v) is str else int(v),
    coverage=(("1", lambda v: v == 1), ("'inf'", lambda v: v == "inf")))


def choice(*options: str) -> Kind:
    """One of some strings, e.g. gelu's approximate: choice("none", "tanh")."""
    allowed = frozenset(options)
    return Kind(f"one of {', '.join(options)}", {"enum": list(options)},
                lambda v: type(v) is str and v in allowed, "one of: " + ", ".join(options),
                coverage=tuple((repr(o), lambda v, o=o: v == o) for o in options))


def widest(kinds) -> Kind:
    """A kind that accepts what any of `kinds` accepts: the one that includes the others (one
    axis is within axis), else any of them."""
    kinds = list(dict.fromkeys(kinds))
    for kind in kinds:
        if all(kind.includes(other) for other in kinds):
            return kind
    return Kind(" or ".join(k.name for k in kinds), {"anyOf": [k.schema for k in kinds]},
                lambda v: any(k.fits(v) for k in kinds), " or ".join(k.words for k in kinds),
                coverage=tuple(c for k in kinds for c in k.coverage))
