"""load_pyyaml: the PyYAML half of load.py (imported only when the fast reader refuses a text, or
for positions it does not keep): PyYAML as an event parser, and the document built from its events
in a flat loop, with the discipline load.py's docstring lists. `build` is load._read's second
reader; everything here was load.py's, and load.py hands these names out as its own."""

from __future__ import annotations

import itertools

import yaml

from .. import lazy_re
from ..errors import GraphError, Problem, describe, full, stopped_here
from . import load
from .load import MAX_DEPTH, SourceMap, too_many_collections, too_many_general_values
from .scalars import NONFINITE, NUMBER_START, WORDS, resolve_nonfinite, resolve_plain


class PythonLoader(yaml.SafeLoader):
    """The pure-Python parser, with flow nesting capped in its scanner: the scanner looks up to
    1,024 characters ahead, and at every level of `[[[[...` it does work for all levels below, so a
    file of 100,000 `[` would take it seconds to reach the depth check on the events."""

    def fetch_flow_collection_start(self, TokenClass):
        if self.flow_level > MAX_DEPTH:
            raise _ScannerTooDeep(self.get_mark().index)
        super().fetch_flow_collection_start(TokenClass)


class _TooDeep(Exception):
    """The events reached a collection MAX_DEPTH + 1 levels deep, at `offset`."""

    def __init__(self, offset):
        self.offset = offset


class _ScannerTooDeep(_TooDeep):
    """A scanner gave up on nesting at `offset`, ahead of the events (see _build)."""


try:  # the C parser when PyYAML was built with libyaml; the pure-Python one otherwise
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    _Loader = PythonLoader


_SURROGATE = lazy_re.compile("[\ud800-\udfff]")
_SCALAR, _MAPPING, _SEQUENCE = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_ALIAS, _DOCUMENT = yaml.AliasEvent, yaml.DocumentStartEvent
_MAPPING_END, _SEQUENCE_END = yaml.MappingEndEvent, yaml.SequenceEndEvent


def _stop(problems: list, source: SourceMap, offset: int):
    """Raise the problems found so far, and where reading stopped (errors.MAX_PROBLEMS): 6.7M
    duplicate keys took 69 s and 4.1 GiB to list."""
    raise GraphError(problems + [stopped_here(len(problems), pos=source.position(offset))])


def build(source: SourceMap, problems: list, end=None, nonfinite=False, record=False):
    """Build the document from parser events with an explicit stack (no recursion). This loop
    runs once per event (a million for a 100,000-node file), so the open collection's state is
    kept in local variables. `record`: record the offset of every value in source.marks (keys'
    offsets are always kept while their mapping is open, to name a duplicate's first line)."""
    marks = source.marks
    container = offsets = keys = None  # the open collection, its value and key offsets (keys:
    pending = _NO_KEY  # None for a list); the key waiting for its value, in a mapping
    stack = []  # the enclosing collections' (container, offsets, keys)
    root = None
    documents = 0
    too_deep = None  # where a scanner gave up on nesting
    room = load.MAX_COLLECTIONS  # lists and mappings still allowed
    values = load.MAX_GENERAL_VALUES  # keys, scalars, lists and mappings still allowed
    block_sequence = None  # the offset of the first block sequence, for that limit's message
    text, restore = _yaml12_text(source.text if end is None else source.text[:end])
    parser = _Loader(text)
    get_event = parser.get_event
    try:
        while True:
            event = get_event()
            kind = type(event)
            if kind is _SCALAR or kind is _MAPPING or kind is _SEQUENCE:
                offset = event.start_mark.index
                values -= 1
                if values < 0:
                    raise GraphError(problems + [too_many_general_values(
                        _limit_position(stack, keys, pending, source, offset), source,
                        block_sequence)])
                if event.anchor is not None or event.tag is not None:
                    _refuse(event, source, restore)
                if kind is _SCALAR:
                    text = event.value
                    if restore is not None:
                        text = text.translate(restore)
                    if keys is not None and pending is _NO_KEY:  # a key: a name, as written
                        first = keys.get(text)
                        if first is None:
                            keys[text] = offset
                            pending = text
                        else:
                            problems.append(Problem(
                                f"duplicate key '{text}' (first defined at line "
                                f"{source.position(first)[0]})", pos=source.position(offset)))
                            if full(problems):  # enough to print: stop reading (errors.py)
                                _stop(problems, source, offset)
                            pending = _DUPLICATE  # keep parsing; the value goes nowhere
                        continue
                    if event.style:  # quoted or a block scalar: a string, as written
                        value = text
                        if event.style == '"' and _SURROGATE.search(text):
                            problems.append(Problem(
                                "a lone surrogate escape (\\ud800-\\udfff) is not a character; "
                                "write the character itself",
                                _path_here(stack, container, keys, pending),
                                pos=source.position(offset)))
                            if full(problems):
                                _stop(problems, source, offset)
                    elif text[:1] in NUMBER_START or text in WORDS:  # plain: "" or None style
                        try:
                            value = resolve_plain(text)
                        except ValueError as e:
                            value = None
                            if nonfinite and NONFINITE.match(text):
                                value = resolve_nonfinite(text)  # "-.inf" -> -inf
                            else:
                                problems.append(Problem(
                                    str(e), _path_here(stack, container, keys, pending),
                                    pos=source.position(offset)))
                                if full(problems):
                                    _stop(problems, source, offset)
                    else:  # a plain name, the most common scalar
                        value = text
                elif keys is not None and pending is _NO_KEY:
                    raise GraphError([Problem("a mapping key must be a plain name, not a list or "
                                              "mapping", pos=source.position(offset))])
                else:
                    if block_sequence is None and kind is _SEQUENCE and not event.flow_style:
                        block_sequence = offset
                    room -= 1
                    if room < 0:
                        raise GraphError(problems + [too_many_collections(
                            _limit_position(stack, keys, pending, source, offset))])
                    value = {} if kind is _MAPPING else []
                # the value goes into the open collection
                if keys is not None:
                    if pending is not _DUPLICATE:
                        container[pending] = value
                        if record:
                            offsets[pending] = offset
                    pending = _NO_KEY
                elif container is not None:
                    container.append(value)
                    if record:
                        offsets.append(offset)
                else:
                    root = value
                    source.root_offset = offset
                if kind is not _SCALAR:  # and it is the open collection now
                    if len(stack) >= MAX_DEPTH:
                        raise _TooDeep(offset)
                    stack.append((container, offsets, keys))
                    container, offsets, keys = value, [] if record else None, None
                    if kind is _MAPPING:
                        offsets, keys = {} if record else None, {}
                    if record:
                        marks[id(value)] = (value, offsets, keys)
            elif kind is _MAPPING_END or kind is _SEQUENCE_END:
                container, offsets, keys = stack.pop()
                pending = _NO_KEY
            elif kind is _ALIAS:
                raise GraphError([Problem(
                    f"aliases (*{_restored(event.anchor, restore)}) are not allowed; "
                    "write the value out",
                    pos=source.position(event.start_mark.index))])
            elif kind is _DOCUMENT:
                documents += 1
                if documents > 1:
                    raise GraphError([Problem(
                        "a graph file holds exactly one YAML document; found a second one",
                        pos=source.position(event.start_mark.index))])
            elif kind is yaml.StreamEndEvent:
                break
    except _ScannerTooDeep as e:
        too_deep = e.offset
    except yaml.MarkedYAMLError as e:
        if not (end is None and "maximum nesting depth" in str(e.problem)):  # libyaml >= 0.2.6
            raise GraphError(problems + [_syntax_problem(e, source, restore)]) from None
        too_deep = e.problem_mark.index
    except _TooDeep as e:
        raise GraphError([Problem(f"nesting is deeper than {MAX_DEPTH} levels",
                                  pos=source.position(e.offset))]) from None
    except yaml.YAMLError as e:
        raise GraphError(problems + [Problem(f"invalid YAML: {_restored(str(e), restore)}",
                                             pos=(1, 1))]) from None
    finally:
        parser.dispose()
    if too_deep is not None:
        # A scanner looks ahead (for `key:` after `[`), so on `[[[[...` it gives up on nesting
        # ahead of the events, at a level that depends on the parser. Up to that point the text
        # is nested deeper than MAX_DEPTH, so the events find the same first too-deep level in it
        # on every parser.
        if end is None:
            problems.clear()
            build(source, problems, end=too_deep, nonfinite=nonfinite, record=record)
        raise GraphError([Problem(f"nesting is deeper than {MAX_DEPTH} levels",
                                  pos=source.position(too_deep))])
    if problems and type(root) is not dict:
        raise GraphError(problems)
    if documents == 0 or root is None:
        raise GraphError([Problem("the file is empty; expected a graph (a mapping with "
                                  "'graphrun: 1' and 'nodes')", pos=(1, 1))])
    if type(root) is not dict:
        raise GraphError([Problem("expected a mapping at the top level (graphrun, nodes, ...); "
                                  f"found {'a list' if type(root) is list else describe(root)}",
                                  pos=source.position(source.root_offset))])
    return root


def _limit_position(stack, keys, pending, source, offset) -> tuple:
    """Where a limit is passed (too_many_collections, too_many_general_values): at the top-level
    key being read, as the fast reader says it (the root's key offsets are kept while it is open;
    its frame is stack[1] unless it is the open collection); at the value at `offset` when there
    is no such key (a duplicate's value, a list at the top)."""
    root_keys = keys if len(stack) == 1 else stack[1][2]
    key = pending if len(stack) == 1 else next(reversed(root_keys or {}), None)
    at = root_keys.get(key) if root_keys and type(key) is str else None
    return source.position(offset if at is None else at)


def _path_here(stack, container, keys, pending) -> tuple:
    """The document path of the value being read (worked out only for a problem): each open
    collection holds the next one as its last entry. () when the value goes nowhere."""
    if container is None or pending is _DUPLICATE:
        return ()
    chain = [entry[0] for entry in stack[1:]] + [container]
    path = [next(reversed(parent)) if type(parent) is dict else len(parent) - 1
            for parent in chain[:-1]]
    return tuple(path) + ((pending,) if keys is not None else (len(container),))


def _refuse(event, source: SourceMap, restore):
    """Anchors and tags are refused: an anchor is only there to be aliased (shared values, alias
    bombs), and a tag asks for a constructor (`!!python/object`) or a type graphrun does not
    have."""
    pos = source.position(event.start_mark.index)
    if event.anchor is not None:
        raise GraphError([Problem(f"anchors (&{_restored(event.anchor, restore)}) are not "
                                  "allowed; write the value out", pos=pos)])
    tag = _restored(event.tag, restore)
    if tag.startswith("tag:yaml.org,2002:"):
        tag = "!!" + tag[len("tag:yaml.org,2002:"):]
    raise GraphError([Problem(f"tags are not allowed (found '{tag}'); write a plain value",
                              pos=pos)])


def _syntax_problem(error, source: SourceMap, restore) -> Problem:
    mark = error.problem_mark or error.context_mark
    what = error.problem or error.context or "invalid YAML"
    if mark is None:
        return Problem(f"invalid YAML: {_restored(what, restore)}", pos=(1, 1))
    pos = source.position(mark.index)
    if source.text[mark.index:mark.index + 1] == "\t":
        what = "a tab character here; YAML indentation must use spaces"
    elif error.context and error.problem:
        # the line counted as everywhere else (PyYAML's own count takes U+2028 for a break)
        what = f"{error.problem} ({error.context}" + (
            f" at line {source.position(error.context_mark.index)[0]})"
            if error.context_mark else ")")
    return Problem(f"invalid YAML: {_restored(what, restore)}", pos=pos)


# PyYAML's scanners (libyaml's and the Python one alike) read U+0085, U+2028 and U+2029 as line
# breaks, as YAML 1.1 did: in a plain scalar, a key or a comment they end the line (so the rest of
# it is read as a new line at column 1, and a valid file fails), and in a quoted or flow scalar
# they are folded (U+0085 into a space). YAML 1.2 and editors read them as characters. So PyYAML
# is given a text in which each of them is swapped for a private-use character that the text
# neither holds nor can make with an escape; one character for one, so every offset stays, and
# what PyYAML reads (values, keys, names in messages) is swapped back.
_NOT_BREAKS = lazy_re.compile("[\x85\u2028\u2029]")
_HEX_ESCAPE = lazy_re.compile(r"\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")
_PRIVATE_USE = (range(0xE000, 0xF900), range(0xF0000, 0xFFFFE), range(0x100000, 0x10FFFE))


def _yaml12_text(text: str):
    """(text for PyYAML, the table that swaps back what it reads, or None if nothing was swapped)."""
    found = sorted(set(_NOT_BREAKS.findall(text)))
    if not found:
        return text, None
    taken = set(text) | {chr(int(a or b, 16)) for a, b in _HEX_ESCAPE.findall(text)}
    stand_ins = []
    for c in itertools.chain(*_PRIVATE_USE):
        if len(stand_ins) == len(found):
            break
        if chr(c) not in taken:
            stand_ins.append(chr(c))
    swap = dict(zip(map(ord, found), stand_ins))
    return text.translate(swap), {ord(v): k for k, v in swap.items()}


def _restored(text, restore):
    return text if restore is None or text is None else text.translate(restore)


_NO_KEY = object()  # a mapping frame waiting for its next key
_DUPLICATE = object()  # stands in for a duplicated key: its value is parsed, then dropped
