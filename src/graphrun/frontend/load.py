"""load: graph file bytes -> plain data + a source map (document path -> line:col).

PyYAML is used only as an event parser. We build the document ourselves, in a flat loop, so that:
- nothing is ever constructed from a tag (no `!!python/...`, no `!!binary`; every tag is refused),
- anchors and aliases are refused (alias bombs, self-referential lists),
- nesting depth is checked as the parser goes, before anything recurses,
- duplicate keys are errors (PyYAML silently keeps the last),
- plain scalars are resolved by the YAML 1.2 core schema (`1e3` is a float, `no` a string,
  `017` is 17),
- every key and value gets its 1-based line and column.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import math
import re
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import yaml

from ..errors import GraphError, Problem, describe

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64  # a graph needs ~5 levels plus a tensor's rank; numpy caps rank at 64


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

INT64_MAX = 2**63 - 1

_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_INT8 = re.compile(r"0o[0-7]+\Z")
_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_NONFINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
_NULLS = {"", "~", "null", "Null", "NULL"}
_NUMBER_START = set("0123456789+-.")  # every int, float, .inf or .nan starts so
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_WORDS = _NULLS | set(_BOOLS)  # the plain scalars that are not strings, besides numbers


class SourceMap:
    """Where each document path was written: 1-based (line, col) of values and of mapping keys.

    Positions are kept per container (character offsets, beside the data they describe) rather than
    per document path: building a path tuple for each of a million values costs more than parsing
    them. And as a position is only ever needed for an error (or a report), a loaded document's
    positions are recorded when the first one is asked for, by reading the text again: recording
    them as the document is built would cost every run a sixth of its load time."""

    def __init__(self, file: str, text: str = "", root=None):
        self.file = file
        self.text = text
        self.root = root
        # id(container) -> (container, value offsets, key offsets): for a mapping, dicts by key;
        # for a list, a list and None. The container is held so that its id is never reused.
        # None until recorded (see _record_marks).
        self.marks: Optional[Dict[int, tuple]] = {}
        self.root_offset = 0
        self.nonfinite = False  # how the text was loaded, to read it again the same way
        self._line_starts = None

    def locate(self, path: tuple, at_key: bool = False) -> Tuple[int, int]:
        """The position of `path`, or of its nearest ancestor that has one; (1, 1) at worst."""
        if self.marks is None:
            self._record_marks()
        offset, node = self.root_offset, self.root
        for depth, part in enumerate(path):
            entry = self.marks.get(id(node))
            if entry is None:
                break
            _, values, keys = entry
            try:
                if at_key and keys is not None and depth == len(path) - 1:
                    return self.position(keys[part])
                offset, node = values[part], node[part]
            except (KeyError, IndexError, TypeError):
                break
        return self.position(offset)

    def _record_marks(self) -> None:
        """Read the text again, recording every position. The data read is an equal copy of the
        document; it replaces `root` here, as the marks are keyed by its containers' ids."""
        copy = SourceMap(self.file, self.text)
        with gc_paused():
            self.root = _build(copy, [], nonfinite=self.nonfinite, record=True)
        self.marks = copy.marks

    def position(self, offset: int) -> Tuple[int, int]:
        """Character offset -> 1-based (line, col), counting line breaks as the YAML parser does."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in _BREAK.finditer(self.text)]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1


_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


@dataclass(frozen=True)
class Document:
    data: dict
    source: SourceMap


class PartialDocument(GraphError):
    """Problems found while loading (duplicate keys, bad literals) that leave the rest of the
    document checkable: `document` is what was read."""

    def __init__(self, problems, document: Document):
        super().__init__(problems, document.source)
        self.document = document


def load_file(filename: str) -> Document:
    """Read and load a graph file; every problem is raised as a GraphError (a PartialDocument
    when the rest of the document can still be checked)."""
    try:
        with open(filename, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "is a directory, expected a graph file"
    except OSError as e:
        problem = f"cannot read the file: {e.strerror}"
    else:
        return load_bytes(raw, filename)
    raise GraphError([Problem(problem, pos=(1, 1))], SourceMap(filename))


def load_bytes(raw: bytes, filename: str = "<string>", *, nonfinite: bool = False,
               positions_now: bool = False) -> Document:
    """Load YAML text with the discipline above. `nonfinite` lets .nan and .inf through as
    floats: results files may hold them (run --allow-nonfinite); graph files never do.
    `positions_now` records every position as the text is read, for a caller that will ask for
    all of them (a results file's reader); otherwise they are read when first asked for."""
    try:
        return _load(raw, filename, nonfinite, positions_now)
    except PartialDocument:
        raise
    except GraphError as e:  # the problems' positions are in this file
        raise GraphError(e.problems, SourceMap(filename)) from None


def _load(raw, filename, nonfinite, positions_now) -> Document:
    if len(raw) > MAX_BYTES:
        raise GraphError([Problem(f"file is larger than the {MAX_BYTES // 2**20} MiB limit; "
                                  "keep big tensors in .npy files", pos=(1, 1))])
    source = SourceMap(filename, _decode(raw))
    _check_characters(source)
    problems = []
    with gc_paused():
        source.root = _build(source, problems, nonfinite=nonfinite, record=positions_now)
    if not positions_now:
        source.marks, source.nonfinite = None, nonfinite  # recorded when first needed
    document = Document(source.root, source)
    if problems:  # duplicate keys and bad literals: the rest of the document can still be checked
        raise PartialDocument(problems, document)
    return document


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector. A large graph is millions of small objects that form no
    cycles; each full collection would walk all of them again, for nothing (seconds at 100,000
    nodes). Reference counting still frees whatever is dropped."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):  # a byte-order mark at the start is allowed, and skipped
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start].decode("utf-8")
        where = SourceMap("", before).position(len(before))
        byte = raw[e.start]
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        what = ("a UTF-16 byte-order mark: save the file as UTF-8" if utf16
                else "graph files must be UTF-8 text")
        raise GraphError([Problem(f"invalid UTF-8: byte 0x{byte:02x} is not valid here; {what}",
                                  pos=where)]) from None


# What YAML allows in a stream (PyYAML's own check, done here so that both parsers report the
# character's line and column the same way): tab, line breaks and printable characters.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


_BOM = re.compile("\ufeff")


def _check_characters(source: SourceMap) -> None:
    text = source.text
    bad = _NOT_PRINTABLE.search(text)
    if bad is None:
        bad = _BOM.search(text)
        if bad is None:
            return
        what = "a byte-order mark (U+FEFF) is only allowed at the very start of the file"
    else:
        code = ord(bad.group())
        what = ("a NUL byte (U+0000): this looks like a binary file, not YAML text" if code == 0
                else f"control character U+{code:04X} is not allowed in a graph file")
    raise GraphError([Problem(what, pos=source.position(bad.start()))])


def resolve_plain(text: str):
    """A plain (unquoted) scalar under the YAML 1.2 core schema; raises ValueError for non-finite
    or out-of-range numbers."""
    if text[:1] not in _NUMBER_START:  # most scalars are names: settle them with one set lookup
        if text in _NULLS:
            return None
        return _BOOLS.get(text, text)
    if _INT10.match(text):
        if len(text.lstrip("+-").lstrip("0")) > 19:  # before int(): it refuses > 4300 digits
            raise ValueError(f"integer {_short(text)} does not fit in int64")
        value = int(text, 10)
    elif _FLOAT.match(text):
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"number {_short(text)} overflows float64")
        return value
    elif _INT8.match(text):
        value = int(text[2:], 8)
    elif _INT16.match(text):
        value = int(text[2:], 16)
    elif _NONFINITE.match(text):
        raise ValueError(f"non-finite number {text} is not allowed; graph values must be finite")
    else:
        return text
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ValueError(f"integer {_short(text)} does not fit in int64")
    return value


def _short(text: str) -> str:
    return text if len(text) <= 30 else f"{text[:12]}...{text[-12:]} ({len(text)} characters)"


_SURROGATE = re.compile("[\ud800-\udfff]")
_SCALAR, _MAPPING, _SEQUENCE = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_ALIAS, _DOCUMENT = yaml.AliasEvent, yaml.DocumentStartEvent
_MAPPING_END, _SEQUENCE_END = yaml.MappingEndEvent, yaml.SequenceEndEvent


def _build(source: SourceMap, problems: list, end=None, nonfinite=False, record=False):
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
    parser = _Loader(source.text if end is None else source.text[:end])
    get_event = parser.get_event
    try:
        while True:
            event = get_event()
            kind = type(event)
            if kind is _SCALAR or kind is _MAPPING or kind is _SEQUENCE:
                offset = event.start_mark.index
                if event.anchor is not None or event.tag is not None:
                    _refuse(event, source)
                if kind is _SCALAR:
                    text = event.value
                    if keys is not None and pending is _NO_KEY:  # a key: a name, as written
                        first = keys.get(text)
                        if first is None:
                            keys[text] = offset
                            pending = text
                        else:
                            problems.append(Problem(
                                f"duplicate key '{text}' (first defined at line "
                                f"{source.position(first)[0]})", pos=source.position(offset)))
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
                    elif text[:1] in _NUMBER_START or text in _WORDS:  # plain: "" or None style
                        try:
                            value = resolve_plain(text)
                        except ValueError as e:
                            value = None
                            if nonfinite and _NONFINITE.match(text):
                                value = float(text.replace(".", "", 1))  # "-.inf" -> -inf
                            else:
                                problems.append(Problem(
                                    str(e), _path_here(stack, container, keys, pending),
                                    pos=source.position(offset)))
                    else:  # a plain name, the most common scalar
                        value = text
                elif keys is not None and pending is _NO_KEY:
                    raise GraphError([Problem("a mapping key must be a plain name, not a list or "
                                              "mapping", pos=source.position(offset))])
                else:
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
                    f"aliases (*{event.anchor}) are not allowed; write the value out",
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
            raise GraphError(problems + [_syntax_problem(e, source)]) from None
        too_deep = e.problem_mark.index
    except _TooDeep as e:
        raise GraphError([Problem(f"nesting is deeper than {MAX_DEPTH} levels",
                                  pos=source.position(e.offset))]) from None
    except yaml.YAMLError as e:
        raise GraphError(problems + [Problem(f"invalid YAML: {e}", pos=(1, 1))]) from None
    finally:
        parser.dispose()
    if too_deep is not None:
        # A scanner looks ahead (for `key:` after `[`), so on `[[[[...` it gives up on nesting
        # ahead of the events, at a level that depends on the parser. Up to that point the text
        # is nested deeper than MAX_DEPTH, so the events find the same first too-deep level in it
        # on every parser.
        if end is None:
            problems.clear()
            _build(source, problems, end=too_deep, nonfinite=nonfinite, record=record)
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


def _path_here(stack, container, keys, pending) -> tuple:
    """The document path of the value being read (worked out only for a problem): each open
    collection holds the next one as its last entry. () when the value goes nowhere."""
    if container is None or pending is _DUPLICATE:
        return ()
    chain = [entry[0] for entry in stack[1:]] + [container]
    path = [next(reversed(parent)) if type(parent) is dict else len(parent) - 1
            for parent in chain[:-1]]
    return tuple(path) + ((pending,) if keys is not None else (len(container),))


def _refuse(event, source: SourceMap):
    """Anchors and tags are refused: an anchor is only there to be aliased (shared values, alias
    bombs), and a tag asks for a constructor (`!!python/object`) or a type graphrun does not
    have."""
    pos = source.position(event.start_mark.index)
    if event.anchor is not None:
        raise GraphError([Problem(f"anchors (&{event.anchor}) are not allowed; write the value out",
                                  pos=pos)])
    tag = event.tag
    if tag.startswith("tag:yaml.org,2002:"):
        tag = "!!" + tag[len("tag:yaml.org,2002:"):]
    raise GraphError([Problem(f"tags are not allowed (found '{tag}'); write a plain value",
                              pos=pos)])


def _syntax_problem(error, source: SourceMap) -> Problem:
    mark = error.problem_mark or error.context_mark
    what = error.problem or error.context or "invalid YAML"
    if mark is None:
        return Problem(f"invalid YAML: {what}", pos=(1, 1))
    pos = source.position(mark.index)
    if source.text[mark.index:mark.index + 1] == "\t":
        what = "a tab character here; YAML indentation must use spaces"
    elif error.context and error.problem:
        what = f"{error.problem} ({error.context}" + (
            f" at line {error.context_mark.line + 1})" if error.context_mark else ")")
    return Problem(f"invalid YAML: {what}", pos=pos)


_NO_KEY = object()  # a mapping frame waiting for its next key
_DUPLICATE = object()  # stands in for a duplicated key: its value is parsed, then dropped
