"""schema: the loaded document checked against schemas/graph.schema.json (draft-07).

jsonschema is the source of truth for what is valid; this module only turns its errors into
Problems a person can act on: at the offending key or value, saying what was expected and what was
found, with a did-you-mean for misspelt keys. The schema is generated from the op table
(ops/schema.py); its per-op rules (the node's `allOf`: how many arguments, which attributes) are
for editors. graphrun checks the rest of it here, and the graph stage checks what the per-op rules
say, wording each problem with the op's name (tests/test_op_schema.py checks it misses none).
"""

from __future__ import annotations

import itertools
import json
import re
from functools import lru_cache

from .. import lazy_re
from ..errors import Problem, describe, did_you_mean, stopped_here
from ..ops import OPS, attribute_kinds
from ..ops.schema import NODE_NAME
from .schema_file import schema_text  # noqa: F401 (graphrun schema's, without the op table)


@lru_cache(maxsize=1)
def schema() -> dict:
    """The schema graphrun checks a file against: schemas/graph.schema.json without its per-op
    rules, which the graph stage checks (evaluating one if/then per op would also cost 0.5 ms for
    each node the fast path leaves to jsonschema)."""
    full = json.loads(schema_text())
    del full["definitions"]["node"]["allOf"]
    return full


def _is_integer(checker, value):
    # jsonschema counts 2.0 as an integer; a shape of [2.0, 3] is a mistake worth naming
    return type(value) is int


def _is_number(checker, value):
    return type(value) in (int, float)


@lru_cache(maxsize=1)
def validator_class():
    """Draft-07 with graphrun's integer and number. jsonschema is imported here, the first time a
    file has entries the fast path cannot prove valid: 0.1 s that a file the fast path accepts
    whole never pays."""
    import jsonschema
    from jsonschema import Draft7Validator

    checker = Draft7Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number})
    return jsonschema.validators.extend(Draft7Validator, type_checker=checker)


@lru_cache(maxsize=1)
def validator():
    return validator_class()(schema())


# jsonschema takes milliseconds to explain one bad entry: 200,000 of them took 110 s. The first
# FIRST_ENTRIES unproven entries of each section (and of the top level) are checked first; when
# they have MAX_PROBLEMS problems, checking stops there (in document order: always the same place).
FIRST_ENTRIES = 500
MAX_PROBLEMS = 500


def check(data) -> list:
    """All schema problems in `data`, as Problems (empty when valid), in document order; or,
    in a file with very many, those of its first entries and one saying where checking stopped."""
    if type(data) is dict and type(data.get("graphrun")) is float:
        # JSON Schema holds 1.0 equal to 1; graphrun writes and reads the integer, as results do
        return [Problem(f"expected 1; found {describe(data['graphrun'])} (the format version is "
                        "the integer 1)", ("graphrun",))] + check({**data, "graphrun": 1})
    # Very many unproven entries: their first ones first, before even trying to prove the rest
    # (2M nodes of an unknown op took seconds in _proves alone, and in the fast check of each
    # entry); a valid file leaves few.
    first, stopped_at = _first_entries(data)
    data_left = first  # every unproven entry, when none was cut
    if stopped_at:
        problems = _problems(first, data)
        if len(problems) >= MAX_PROBLEMS:
            return problems + [stopped_here(len(problems), stopped_at[0])]
        data_left = _unproven(data)
    if _proves(schema(), data_left):
        return []  # valid, and jsonschema not even imported: most files end here
    return _problems(data_left, data)


def _problems(data_left, data) -> list:
    problems = []
    for error in validator().iter_errors(data_left):
        problems.extend(_explain(error))
    return sorted(_dedupe(problems), key=_document_order(data))


def _first_entries(data):
    """(`data` with the top level cut to its first FIRST_ENTRIES unknown keys, and each section
    to its first FIRST_ENTRIES unproven entries; the paths of the first entries left out). A
    section's entries are tried only until one past those."""
    if type(data) is not dict:
        return data, []
    reduced = data
    first, cut = dict(reduced), []
    if len(reduced) > FIRST_ENTRIES:  # a mapping of a million top-level keys
        known = schema()["properties"]
        others = [k for k in reduced if k not in known]
        kept = set(others[:FIRST_ENTRIES])
        first = {k: v for k, v in reduced.items() if k in known or k in kept}
        if len(others) > FIRST_ENTRIES:
            cut.append((others[FIRST_ENTRIES],))
    for section in SECTIONS:
        entries = reduced.get(section)
        if type(entries) is dict:
            unproven = _unproven_entries(section, entries)
            first[section] = dict(itertools.islice(unproven, FIRST_ENTRIES))
            after = next(unproven, None)
            if after is not None:
                cut.append((section, after[0]))
    rank = {k: i for i, k in enumerate(reduced)}
    cut.sort(key=lambda path: rank[path[0]])  # where checking stopped: the first place cut
    return first, cut


class _Unknown(Exception):
    """A keyword the small checker below does not evaluate: jsonschema judges the document."""


_TYPES = {"object": lambda v: type(v) is dict, "array": lambda v: type(v) is list,
          "string": lambda v: type(v) is str, "integer": lambda v: type(v) is int,
          "number": lambda v: type(v) is int or type(v) is float,
          "boolean": lambda v: type(v) is bool, "null": lambda v: v is None}
_NOTES = frozenset(("description", "default", "title", "$schema", "$id", "definitions",
                    "examples", "$comment"))


def _proves(root: dict, data) -> bool:
    """Whether `data` is valid under `root` by a small draft-07 checker of the keywords graphrun's
    schema uses (with graphrun's integer and number, as validator()). Only an answer of True is
    used, and only True skips jsonschema (and its import); any keyword it does not know, or an
    enum/const comparison jsonschema makes differently (1 == 1.0 == true), makes it give up, so
    every message still comes from jsonschema (tests/test_load.py compares the two)."""
    def valid(schema, v) -> bool:
        if schema is True:
            return True
        if schema is False:
            return False
        for key, rule in schema.items():
            if key in _NOTES or key in ("then", "else"):
                continue
            if not keyword(schema, key, rule, v):
                return False
        return True

    def same(a, b) -> bool:
        if type(a) is not type(b) or type(a) not in (str, int, float, bool, type(None)):
            raise _Unknown  # a list, a mapping, or 1 against 1.0: jsonschema's equality
        return a == b

    def keyword(schema, key, rule, v) -> bool:
        if key == "type":
            return any(_TYPES[t](v) for t in ([rule] if type(rule) is str else rule))
        if key == "$ref":
            if not rule.startswith("#/") or "~" in rule or "%" in rule:
                raise _Unknown
            target = root
            for step in rule[2:].split("/"):
                target = target[step]
            return valid(target, v)
        if key == "enum":
            return any(same(v, e) for e in rule)
        if key == "const":
            return same(v, rule)
        if key == "if":
            branch = schema.get("then" if valid(rule, v) else "else", True)
            return valid(branch, v)
        if key == "not":
            return not valid(rule, v)
        if key == "anyOf":
            return any(valid(s, v) for s in rule)
        if key == "allOf":
            return all(valid(s, v) for s in rule)
        kind = type(v)
        if key in ("properties", "additionalProperties", "required", "propertyNames"):
            if kind is not dict:
                return True
            if key == "required":
                return all(name in v for name in rule)
            if key == "properties":
                return all(valid(s, v[name]) for name, s in rule.items() if name in v)
            if key == "propertyNames":
                return all(valid(rule, name) for name in v)
            if "patternProperties" in schema:
                raise _Unknown
            known = schema.get("properties", {})
            return all(valid(rule, item) for name, item in v.items() if name not in known)
        if key in ("items", "minItems", "maxItems"):
            if kind is not list:
                return True
            if key == "minItems":
                return len(v) >= rule
            if key == "maxItems":
                return len(v) <= rule
            if type(rule) is not dict and type(rule) is not bool:
                raise _Unknown  # a tuple of schemas
            return all(valid(rule, item) for item in v)
        if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if kind is not int and kind is not float:
                return True
            return {"minimum": v >= rule, "maximum": v <= rule, "exclusiveMinimum": v > rule,
                    "exclusiveMaximum": v < rule}[key]
        if key == "pattern":
            return kind is not str or re.search(rule, v) is not None
        raise _Unknown

    try:
        return valid(root, data)
    except (_Unknown, RecursionError):
        return False


def _document_order(data):
    """A sort key: the position of a problem's path in `data`, entry by entry.

    jsonschema visits a section's entries (additionalProperties) by iterating a set of names, so
    its order changes with PYTHONHASHSEED and with the entries the fast path leaves out; the
    document's own order changes with neither. Problems at the same path keep jsonschema's order
    (the schema's keyword order), as sorted() is stable."""
    indexes = {}  # id(mapping) -> {key: position}, built once per mapping a problem is in

    def key(problem):
        ranks, node = [], data
        for step in problem.path:
            if type(node) is dict:
                index = indexes.get(id(node))
                if index is None:
                    index = indexes[id(node)] = {k: i for i, k in enumerate(node)}
                ranks.append(index.get(step, len(index)))
                node = node.get(step)
            elif type(node) is list and type(step) is int:
                ranks.append(step)
                node = node[step] if 0 <= step < len(node) else None
            else:
                break
        return ranks

    return key


# jsonschema costs ~70 us per node, most of a 100,000-node file's run time. So entries of the three
# big sections that a fast check *proves* valid are left out of what jsonschema sees. The fast
# check accepts only an obviously valid subset (anything else, jsonschema judges and explains), and
# leaving entries out changes nothing else: each section's schema is per entry (propertyNames and
# additionalProperties only; tests/test_load.py checks that this stays so).
SECTIONS = ("inputs", "params", "nodes")


def _is_name(text: str) -> bool:
    """The schema's name pattern, [A-Za-z_][A-Za-z0-9_]*, four times faster than the regex (an
    ASCII identifier is exactly that; keywords are identifiers too)."""
    return text.isascii() and text.isidentifier()


def _is_node_name(text: str) -> bool:
    """A node's name: a name, or a dotted one as graphrun gives generated nodes (h.1, h1.z)."""
    return text.isascii() and (text.isidentifier() or _NODE_NAME.match(text) is not None)


_NODE_NAME = lazy_re.compile(NODE_NAME)


def _unproven(data):
    """`data` without the section entries the fast check proves valid (a shallow copy)."""
    if type(data) is not dict:
        return data
    reduced = dict(data)
    for section in SECTIONS:
        entries = data.get(section)
        if type(entries) is dict:
            reduced[section] = dict(_unproven_entries(section, entries))
    return reduced


def _unproven_entries(section: str, entries: dict):
    """The (name, entry) pairs of a section that the fast check does not prove valid."""
    if section == "nodes":
        return _unproven_nodes(entries)
    return ((name, entry) for name, entry in entries.items()
            if not (type(name) is str and _is_name(name) and _value_fits(entry)))


def _unproven_nodes(entries: dict):
    """_unproven_entries of the nodes: a node of one or two arguments named by identifiers, and
    no attribute, as nearly every node of a big file is, is proven here inline, any other by
    _node_fits (one call per node, and one more per argument, were most of the time: 1.73M
    nodes in 1.1-1.9 s)."""
    ops = OPS
    for name, body in entries.items():
        if type(name) is str and name.isascii() and name.isidentifier() and \
                type(body) is dict and len(body) == 2:
            op, args = body.get("op"), body.get("args")
            if type(op) is str and op in ops and type(args) is list:
                if len(args) == 1:
                    arg = args[0]
                    if type(arg) is str and arg.isascii() and arg.isidentifier():
                        continue
                elif len(args) == 2:
                    arg, other = args
                    if type(arg) is str and arg.isascii() and arg.isidentifier() and \
                            type(other) is str and other.isascii() and other.isidentifier():
                        continue
        if not (type(name) is str and _is_node_name(name) and _node_fits(body)):
            yield name, body


_ATTRIBUTES = attribute_kinds()  # name -> the widest kind ops give it: the schema's node rule


def _node_fits(body) -> bool:
    """A node with an op of the table, names or numbers as arguments, and attributes of names
    some op takes, each fitting the widest kind ops give it (whether its own op takes it is the
    graph stage's check, as it is jsonschema's here: see schema())."""
    if type(body) is not dict:
        return type(body) is str  # an expression: frontend/blocks.py checks it
    op, args = body.get("op"), body.get("args")
    if type(op) is not str or op not in OPS or type(args) is not list:
        return False
    for arg in args:
        kind = type(arg)
        if kind is str:
            if not _is_node_name(arg):
                return False
        elif kind is not float and kind is not int:
            return False
    if len(body) > 2:
        for key, value in body.items():
            if key != "op" and key != "args":
                attr = _ATTRIBUTES.get(key)
                if attr is None or not attr.fits(value):
                    return False
    return True


def _value_fits(value) -> bool:
    """A number or a nested list of numbers with no empty list (the `tensor` schema). Checked a
    depth at a time, all of its items at once (by `set(map(type, ...))`, in C: a 64 MiB matrix
    of 5.6M rows took 3-4 s item by item)."""
    kind = type(value)
    if kind is not list:
        return kind is float or kind is int
    lists = [value]
    while True:
        if not all(lists):  # an empty list
            return False
        kinds = set(map(type, itertools.chain.from_iterable(lists)))
        if kinds <= _NUMBERS:
            return True
        if not kinds <= _NUMBERS_OR_LIST:
            return False
        items = itertools.chain.from_iterable(lists)
        lists = list(items) if kinds == _LIST else [v for v in items if type(v) is list]


_NUMBERS = frozenset((int, float))
_NUMBERS_OR_LIST = frozenset((int, float, list))
_LIST = frozenset((list,))


def top_level_keys() -> frozenset:
    """The keys a graph file may have at its top level: any other is a problem whatever its
    value (the loader need not read it, load.load_bytes `read_only`)."""
    return frozenset(schema()["properties"])


def op_names() -> frozenset:
    """The op names a node may have: the op table's (the schema's enum is generated from it)."""
    return frozenset(OPS)


def _dedupe(problems):
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.at_key, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "number": "a number",
               "integer": "an integer", "boolean": "true or false", "null": "null"}


def _expected_types(types) -> str:
    if isinstance(types, str):
        types = [types]
    return " or ".join(_TYPE_WORDS.get(t, t) for t in types)


def _where(path) -> str:
    """A short name for the place a path points at: "node 'v'", "param 'w'", "the graph"."""
    if len(path) >= 2 and path[0] in ("nodes", "inputs", "params"):
        kind = {"nodes": "node", "inputs": "input", "params": "param"}[path[0]]
        return f"{kind} '{path[1]}'"
    return "the graph" if not path else "'" + "/".join(str(p) for p in path) + "'"


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _explain(error) -> list:
    """Turn one jsonschema error into Problems (a conditional schema may hold several)."""
    path = tuple(error.absolute_path)
    keyword = error.validator
    value = error.instance

    if keyword in ("if", "then", "else", "anyOf", "oneOf", "allOf") and error.context:
        # report the most specific failure underneath, preferring a branch whose type the value
        # has ('my-w' in args is a bad name, not "expected a number")
        typed = [e for e in error.context if e.validator != "type"]
        inside = [e for e in error.context if len(e.absolute_path) > len(path)]
        if not typed and inside:  # a branch took the value's type and failed inside it: that
            return _explain(_best_match(inside))  # item (`axis: [0, true]`: the `true`)
        if not typed and keyword in ("anyOf", "oneOf"):  # no branch takes this type at all
            wanted = [e.validator_value for e in error.context]
            names = ["a name" if e.schema.get("pattern", "").startswith("^[A-Za-z_]") else
                     _expected_types(e.validator_value) for e in error.context]
            if all(isinstance(w, str) for w in wanted):
                return [Problem(f"expected {' or '.join(dict.fromkeys(names))}; found "
                                f"{describe(value)}", path)]
        best = _best_match(typed or error.context)
        return _explain(best)

    if keyword == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in value if k not in error.schema.get("properties", {})]
        problems = []
        for k in extra:
            hint = did_you_mean(k, allowed) or f" (expected one of: {', '.join(allowed)})"
            problems.append(Problem(f"unknown key '{k}' in {_where(path)}{hint}", path + (k,),
                                    at_key=True))
        return problems
    if keyword == "required":
        known = error.schema.get("properties", {})
        unknown = [k for k in value if k not in known]
        # a misspelt key ('argz' for 'args') is reported once, at the misspelling, with the fix
        missing = [k for k in error.validator_value if k not in value
                   and not (unknown and "additionalProperties" in error.schema
                            and did_you_mean(k, unknown))]
        return [Problem(f"{_where(path)} is missing the required key '{k}'", path, at_key=bool(path))
                for k in missing]
    if keyword == "propertyNames":
        return [Problem(f"bad name {value!r}: names start with a letter or '_' and hold only "
                        "letters, digits and '_'", path + (value,), at_key=True)]
    if keyword == "pattern" and error.schema.get("pattern", "").startswith("^[A-Za-z_]"):
        # a key of the mapping at `path` (propertyNames), or a name in a value's place
        key = "propertyNames" in error.relative_schema_path
        return [Problem(f"bad name {value!r}: names start with a letter or '_' and hold only "
                        "letters, digits and '_'", path + (value,) if key else path,
                        at_key=key)]
    if keyword == "pattern":
        return [Problem(f"expected a file name ending in .npy or .npz; found {describe(value)}", path)]
    if keyword == "type":
        return [Problem(f"expected {_expected_types(error.validator_value)}; found {describe(value)}",
                        path)]
    if keyword == "const":
        return [Problem(f"expected {error.validator_value!r}; found {describe(value)}"
                        + (" (this graphrun reads format version 1)" if path == ("graphrun",) else ""),
                        path)]
    if keyword == "enum":
        choices = [str(c) for c in error.validator_value]
        what = path[-1] if path and isinstance(path[-1], str) else "value"
        if not isinstance(value, str):
            return [Problem(f"expected {_a(what)} {what} name (one of: {', '.join(choices)}); "
                            f"found {describe(value)}", path)]
        hint = did_you_mean(value, choices)
        return [Problem(f"unknown {what} '{value}'{hint}"
                        + ("" if hint else f" (expected one of: {', '.join(choices)})"), path)]
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    if keyword in bounds:
        what = "an integer" if error.schema.get("type") == "integer" else "a number"
        return [Problem(f"expected {what} {bounds[keyword]} {error.validator_value}; found "
                        f"{describe(value)}", path)]
    if keyword in ("minItems", "maxItems"):
        low, high = error.schema.get("minItems"), error.schema.get("maxItems")
        if low == 1 and high is None:
            return [Problem("expected a non-empty list; found an empty list", path)]
        want = f"{low}" if low == high else f"at least {low}" if high is None else \
            f"at most {high}" if low is None else f"{low} to {high}"
        return [Problem(f"expected a list of {want} items; found {describe(value)}", path)]
    return [Problem(f"{error.message}", path)]


def _best_match(errors):
    from jsonschema.exceptions import best_match
    return best_match(errors)
