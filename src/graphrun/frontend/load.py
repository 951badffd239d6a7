"""load: graph file bytes -> plain data + a source map (document path -> line:col).

Two readers behind one door (`_read`), with the same answers:
- `fastyaml`, for the forms graphrun files are nearly always written in (block mappings of one
  entry per line, one-line flow collections): several times faster on a big file, and it refuses
  (returns None) whatever it cannot show it reads exactly as the second one does, errors included;
- PyYAML, used only as an event parser: we build the document ourselves, in a flat loop. It is the
  reference, and the reader of everything else.
Either way:
- nothing is ever constructed from a tag (no `!!python/...`, no `!!binary`; every tag is refused),
- anchors and aliases are refused (alias bombs, self-referential lists),
- nesting depth is checked as the parser goes, before anything recurses,
- duplicate keys are errors (PyYAML silently keeps the last),
- plain scalars are resolved by the YAML 1.2 core schema (`scalars`: `1e3` is a float, `no` a
  string, `017` is 17),
- lines are counted the YAML 1.2 way: \n, \r\n and \r break lines; U+0085, U+2028 and U+2029
  are characters like any other (PyYAML's scanner, C and Python alike, takes them for line
  breaks, as YAML 1.1 did; see _yaml12_text),
- every key and value gets its 1-based line and column.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import yaml

from . import fastyaml, reading
from ..errors import GraphError, Problem, describe
from .gcpause import gc_paused
from .scalars import NONFINITE, NUMBER_START, WORDS, resolve_nonfinite, resolve_plain

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

class SourceMap:
    """Where each document path was written: 1-based (line, col) of values and of mapping keys.

    Positions are kept per container (character offsets, beside the data they describe) rather than
    per document path: building a path tuple for each of a million values costs more than parsing
    them. And as a position is only ever needed for an error (or a report), a loaded document's
    positions are recorded when the first one is asked for, by reading the text again: recording
    them as the document is built would cost every run a sixth of its load time. Until then the
    source map holds the text only, not the document: a run does not keep a big document alive
    through it."""

    def __init__(self, file: str, text: str = "", root=None):
        self.file = file
        self.text = text
        self.root = root
        # id(container) -> (container, value offsets, key offsets): for a mapping, dicts by key;
        # for a list, a list and None; (container, None, its offset) for a flow collection whose
        # inside fastyaml reads when first asked. The container is held so that its id is never
        # reused. None until recorded (see _record_marks).
        self.marks: Optional[Dict[int, tuple]] = {}
        self.root_offset = 0
        self.nonfinite = False  # how the text was loaded, to read it again the same way
        self.fast = True
        self._line_starts = None

    def locate(self, path: tuple, at_key: bool = False) -> Tuple[int, int]:
        """The position of `path`, or of its nearest ancestor that has one; (1, 1) at worst."""
        return self.position(self._offset(path, at_key)[0])

    def scalar(self, path: tuple) -> Optional[Tuple[int, int, str]]:
        """(line, col, style) of the scalar at `path`: where its text starts (at its quote or
        block indicator, if any) and how it was written: "plain", "single-quoted",
        "double-quoted", "literal" or "folded". None if `path` names no string in the document."""
        offset, value = self._offset(path)
        if type(value) is not str:
            return None
        return (*self.position(offset), _STYLES.get(self.text[offset:offset + 1], "plain"))

    def scalar_position(self, path: tuple, offset_in_value: int) -> Tuple[int, int]:
        """The position of the character `offset_in_value` of the string at `path`, in the file.
        Exact for plain and single-quoted scalars on one line and for literal block scalars, and
        at every non-blank character of a folded block or a plain or single-quoted scalar over
        several lines; a double-quoted scalar is mapped through its escapes on one line. Where
        none of that holds (a double-quoted scalar over several lines, an offset outside the
        value), the position of the scalar's start."""
        offset, value = self._offset(path)
        if type(value) is not str or not 0 <= offset_in_value < len(value):
            return self.position(offset)
        style = _STYLES.get(self.text[offset:offset + 1], "plain")
        return self.position(_raw_offset(self.text, offset, style, value, offset_in_value))

    def _offset(self, path: tuple, at_key: bool = False):
        """(offset of `path`, or of its nearest ancestor that has one; the value at `path`, or
        None if the walk stopped short)."""
        if self.marks is None:
            self._record_marks()
        offset, node = self.root_offset, self.root
        for depth, part in enumerate(path):
            entry = self.marks.get(id(node))
            if entry is None:
                return offset, None
            if entry[1] is None:  # a flow collection the fast reader has not looked inside yet
                fastyaml.flow_positions(node, self.text, entry[2], self.marks)
                entry = self.marks[id(node)]
            _, values, keys = entry
            try:
                if at_key and keys is not None and depth == len(path) - 1:
                    return keys[part], None
                offset, node = values[part], node[part]
            except (KeyError, IndexError, TypeError):
                return offset, None
        return offset, node

    def _record_marks(self) -> None:
        """Read the text again, recording every position. The data read is an equal copy of the
        document; it becomes `root` here, as the marks are keyed by its containers' ids."""
        copy = SourceMap(self.file, self.text)
        with gc_paused():
            self.root = _read(copy, [], nonfinite=self.nonfinite, record=True, fast=self.fast)
        self.marks, self.root_offset = copy.marks, copy.root_offset

    def position(self, offset: int) -> Tuple[int, int]:
        """Character offset -> 1-based (line, col). Lines end at \n, \r\n or \r (YAML 1.2)."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in _BREAK.finditer(self.text)]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1


_BREAK = re.compile("\r\n|[\r\n]")
_STYLES = {"'": "single-quoted", '"': "double-quoted", "|": "literal", ">": "folded"}


def _raw_offset(text: str, start: int, style: str, value: str, k: int) -> int:
    """Where value[k] was written, for the scalar written at text[start] (see scalar_position)."""
    if style == "double-quoted":  # through the escapes, on the scalar's first line only
        at = start + 1
        for _ in range(k):
            if text[at] == "\\":
                at += {"x": 4, "u": 6, "U": 10}.get(text[at + 1], 2)
            else:
                at += 1
            if text[at - 1] in "\r\n":
                return start
        return at if text[at] not in "\r\n" else start
    if style in ("literal", "folded"):
        at = text.find("\n", start) + 1  # the block's text starts below its indicator
        if style == "literal":  # its lines are the file's lines, less their indentation
            line = value.count("\n", 0, k)
            col = k - (value.rfind("\n", 0, k) + 1)
            for _ in range(line):
                at = text.find("\n", at) + 1
            end = text.find("\n", at)
            raw = text[at:len(text) if end < 0 else end].rstrip("\r")
            return at + len(raw) - len(value.split("\n")[line]) + col
    else:
        at = start + (style == "single-quoted")
    # Plain, single-quoted, folded: folding turns line breaks and indentation into spaces (or
    # back into line breaks), and '' into '; every other character is written as it is read.
    for c in value[:k]:
        if c == " " or c == "\n":
            if text[at] == c:
                at += 1
            continue
        while text[at] in " \r\n":
            at += 1
        at += 2 if c == "'" and style == "single-quoted" else 1
    if value[k] not in " \n":
        while text[at] in " \r\n":
            at += 1
    return at


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
        raw = reading.read_bytes(filename, MAX_BYTES)  # a regular file, or an OSError
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
               positions_now: bool = False, fast: bool = True) -> Document:
    """Load YAML text with the discipline above. `nonfinite` lets .nan and .inf through as
    floats: results files may hold them (run --allow-nonfinite); graph files never do.
    `positions_now` records every position as the text is read, for a caller that will ask for
    all of them (a results file's reader); otherwise they are read when first asked for.
    `fast=False` reads with PyYAML alone: the reference the fast reader is tested against."""
    try:
        return _load(raw, filename, nonfinite, positions_now, fast)
    except PartialDocument:
        raise
    except GraphError as e:  # the problems' positions are in this file
        raise GraphError(e.problems, SourceMap(filename)) from None


def _load(raw, filename, nonfinite, positions_now, fast) -> Document:
    if len(raw) > MAX_BYTES:
        raise GraphError([Problem(f"file is larger than the {MAX_BYTES // 2**20} MiB limit; "
                                  "keep big tensors in .npy files", pos=(1, 1))])
    source = SourceMap(filename, _decode(raw))
    _check_characters(source)
    source.nonfinite, source.fast = nonfinite, fast
    problems = []
    with gc_paused():
        root = _read(source, problems, nonfinite=nonfinite, record=positions_now, fast=fast)
    if positions_now:
        source.root = root
    else:
        source.marks = None  # recorded when first needed
    document = Document(root, source)
    if problems:  # duplicate keys and bad literals: the rest of the document can still be checked
        raise PartialDocument(problems, document)
    return document


def _read(source: SourceMap, problems: list, nonfinite: bool, record: bool, fast: bool):
    """The one door: the document of source.text, from the fast reader when it vouches for its
    answer, from PyYAML otherwise (which raises or lists the problems). `record`: fill
    source.marks and source.root_offset too."""
    if fast:
        root = fastyaml.read(source.text, nonfinite=nonfinite, max_depth=MAX_DEPTH)
        if root is not None:
            if record:
                source.marks, source.root_offset = fastyaml.positions(source.text, root)
            return root
    return _build(source, problems, nonfinite=nonfinite, record=record)


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
    text, restore = _yaml12_text(source.text if end is None else source.text[:end])
    parser = _Loader(text)
    get_event = parser.get_event
    try:
        while True:
            event = get_event()
            kind = type(event)
            if kind is _SCALAR or kind is _MAPPING or kind is _SEQUENCE:
                offset = event.start_mark.index
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
_NOT_BREAKS = re.compile("[\x85\u2028\u2029]")
_HEX_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")
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
