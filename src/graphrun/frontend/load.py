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

import array
import bisect
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from .. import lazy_re
from . import fastyaml, reading
from ..errors import GraphError, Problem
from .gcpause import gc_paused

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64  # a graph needs ~5 levels plus a tensor's rank; numpy caps rank at 64
# Lists and mappings in one file, counted before they are made: each costs Python ~60-110 bytes,
# and 64 MiB of `[[[[...]]]]` is 33M of them (3.6 GiB). A million-node graph holds 2M; at this
# limit a document stays near 1 GiB (bench/README.md, "Dense files").
MAX_COLLECTIONS = 10_000_000
# Keys and values (scalars, lists, mappings) that PyYAML, the reader of the forms fastyaml does
# not read (block sequences `- item`, tabs, anchors, escapes...), is asked for in one file: it
# hands over one event object for each (~1.7 us), and a problem's position costs a second pass,
# so 64 MiB of `- a` lines took 59 s to be told its key is unknown. At this limit a file is
# answered within ~9 s (bench/README.md, "Dense files"); yaml.safe_dump writes a node of a graph
# as about 10 such values, so 250,000 nodes in that style still read. The forms graphrun writes
# have no such limit (fastyaml reads them).
MAX_GENERAL_VALUES = 2_500_000


class SourceMap:
    """Where each document path was written: 1-based (line, col) of values and of mapping keys.

    Positions are kept per container (character offsets, beside the data they describe) rather than
    per document path: building a path tuple for each of a million values costs more than parsing
    them. And as a position is only ever needed for an error (or a report), none is recorded as
    the document is built (that would cost every run a sixth of its load time): a text the fast
    reader read is located from the text alone, path by path (fastyaml.Outline); any other is
    read again when the first position is asked for, recording them all. The source map holds
    the text only, not the document: a run does not keep a big document alive through it."""

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
        self.read_only = None
        self.read_fast = False  # whether the fast reader read the text (then it is outlined)
        self._kept = None
        self._line_starts = None
        self._outline = None

    def keep(self, root) -> None:
        """Hold `root`, the document as read from this text and not changed since (a caller that
        has found problems and holds it anyway): positions are then recorded from it, without
        reading 64 MiB again to locate one problem."""
        if self.read_fast and self.marks is None:
            self._kept = root

    def locate(self, path: tuple, at_key: bool = False) -> Tuple[int, int]:
        """The position of `path`, or of its nearest ancestor that has one; (1, 1) at worst."""
        if self.read_fast:  # from the text alone: no document, no other entry's position
            return self.position(self._outlined(path, at_key))
        return self.position(self._offset(path, at_key)[0])

    def _outlined(self, path: tuple, at_key: bool) -> int:
        """_offset's answer for a text the fast reader read, found in its text (fastyaml.Outline):
        its block mappings key by key, then inside a flow collection as _offset does."""
        if self._outline is None:
            self._outline = fastyaml.Outline(self.text)
        outline = self._outline
        offset, mapping = outline.root_offset, outline.root
        for depth, part in enumerate(path):
            if mapping is None:  # a flow collection, a scalar or a null
                return self._in_flow(offset, path[depth:], at_key)
            key_at = outline.key(mapping, part) if type(part) is str else None
            if key_at is None:
                return offset
            if at_key and depth == len(path) - 1:
                return key_at
            offset, mapping = outline.value(mapping, key_at, part)
        return offset

    def _in_flow(self, at: int, path: tuple, at_key: bool) -> int:
        """The offset of `path` inside what is written at text[at] on a block mapping's line:
        through lists' items by fastyaml.flow_item while it answers (a 64 MiB list is not read
        to locate one of its items), else as _offset does, in the innermost collection reached."""
        text, offset = self.text, at
        for depth, part in enumerate(path):
            first = text[offset:offset + 1]  # nothing: a null at the end of the text
            if first != "[" and first != "{":
                return offset  # a scalar or a null: the walk stops here
            if first == "[" and type(part) is int and part >= 0:
                item = fastyaml.flow_item(text, offset, part)
                if item is not None:
                    offset = item
                    continue
            value = fastyaml.flow_value(text, offset)  # this collection only, not its line
            marks = {id(value): (value, None, offset)}
            return _walk(text, marks, offset, value, path[depth:], at_key)[0]
        return offset

    def scalar(self, path: tuple) -> Optional[Tuple[int, int, str]]:
        """(line, col, style) of the scalar at `path`: where its text starts (at its quote or
        block indicator, if any) and how it was written: "plain", "single-quoted",
        "double-quoted", "literal" or "folded". None if `path` names no string in the document."""
        offset, value = self._offset(path)
        if type(value) is not str:
            return None
        return (*self.position(offset), _STYLES.get(self.text[offset:offset + 1], "plain"))

    def scalar_position(self, path: tuple, offset_in_value: int) -> Tuple[int, int]:
        """The position of the character `offset_in_value` of the string at `path`, in the file,
        for every scalar style over one line or several: through a quoted scalar's escapes
        (`\\x41`, `''`), its line breaks folded to spaces, its escaped line breaks (`\\` at a
        line's end) and blank lines, a block scalar's indentation and folding. A space or line
        break that folding made is at its line break; an offset outside the value, or a text
        that does not read as the value, is at the scalar's start."""
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
        return _walk(self.text, self.marks, self.root_offset, self.root, path, at_key)

    def _record_marks(self) -> None:
        """Read the text again, recording every position. The data read is an equal copy of the
        document; it becomes `root` here, as the marks are keyed by its containers' ids."""
        if self._kept is not None:
            self.root, self._kept = self._kept, None
            with gc_paused():
                self.marks, self.root_offset = fastyaml.positions(self.text, self.root)
            return
        copy = SourceMap(self.file, self.text)
        copy.read_only = self.read_only
        with gc_paused():
            self.root = _read(copy, [], nonfinite=self.nonfinite, record=True, fast=self.fast)
        self.marks, self.root_offset = copy.marks, copy.root_offset

    def position(self, offset: int) -> Tuple[int, int]:
        """Character offset -> 1-based (line, col). Lines end at \n, \r\n or \r (YAML 1.2)."""
        starts = self._line_starts
        if starts is None:
            starts = self._line_starts = _line_starts(self.text)
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1


def _walk(text: str, marks: dict, offset: int, node, path: tuple, at_key: bool):
    """(offset of `path` from `node`, written at `offset`, or of its nearest ancestor that has one;
    the value at `path`, or None if the walk stopped short), through `marks` (see SourceMap)."""
    for depth, part in enumerate(path):
        entry = marks.get(id(node))
        if entry is None:
            return offset, None
        if entry[1] is None:  # a flow collection the fast reader has not looked inside yet
            at = None
            if type(node) is list and type(part) is int and 0 <= part < len(node):
                at = fastyaml.flow_item(text, entry[2], part)  # without the others
            if at is not None:
                offset, node = at, node[part]
                if type(node) in (list, dict) and id(node) not in marks:
                    marks[id(node)] = (node, None, at)  # its inside: when asked
                continue
            fastyaml.flow_positions(node, text, entry[2], marks)
            entry = marks[id(node)]
        _, values, keys = entry
        try:
            if at_key and keys is not None and depth == len(path) - 1:
                return keys[part], None
            offset, node = values[part], node[part]
        except (KeyError, IndexError, TypeError):
            return offset, None
    return offset, node


def _line_starts(text: str) -> array.array:
    """The offset of each line's first character, 8 bytes a line (a list of ints took 315 MiB
    for 7.4M lines). Text of ASCII and \n alone (nearly every big file) is searched by numpy,
    as bytes, which are its characters then."""
    starts = array.array("q", [0])
    if text.isascii() and "\r" not in text:
        import numpy as np  # here: a file with no problem never locates one
        data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        starts.frombytes((np.flatnonzero(data == 10) + 1).astype(np.int64).tobytes())
    else:
        starts.extend(m.end() for m in _BREAK.finditer(text))
    return starts


_BREAK = lazy_re.compile("\r\n|[\r\n]")
_STYLES = {"'": "single-quoted", '"': "double-quoted", "|": "literal", ">": "folded"}


def _raw_offset(text: str, start: int, style: str, value: str, k: int) -> int:
    """Where value[k] was written, for the scalar written at text[start] (see scalar_position);
    `start` when the text does not read as `value` (a form not modelled here)."""
    if style in ("literal", "folded"):
        at = _block_offset(text, start, style == "folded", value, k)
    else:
        first = start + (style != "plain")  # after the quote
        special = "\r\n" + {"double-quoted": "\\", "single-quoted": "'"}.get(style, "")
        if text[first:first + k + 1] == value[:k + 1] and \
                not any(c in special for c in set(text[first:first + k + 1])):
            return first + k  # as written up to k, on the first line (nearly always)
        at = _flow_offset(text, first, style, value, k)
    return start if at is None else at


def _line_end(text: str, at: int) -> int:
    """The offset just after the line break at text[at] (\r\n, \r or \n)."""
    return at + 2 if text.startswith("\r\n", at) else at + 1


def _flow_offset(text: str, at: int, style: str, value: str, k: int) -> Optional[int]:
    """value[k]'s place in a plain or quoted scalar whose text starts at text[at] (after its
    quote), over one line or several: a line break folds to a space, or to a line break per
    blank line after it, with the whitespace around it; an escaped line break (double-quoted
    `\\` at a line's end) to nothing but a line break per blank line; `\\x41`, `\\n`, ... are one
    character, as `''` is (single-quoted). A folded space or line break is at its break; None
    when the text does not read as `value`."""
    double, single = style == "double-quoted", style == "single-quoted"
    n, size = 0, len(text)  # value[n] is read next, at text[at]
    while at < size:
        ch = text[at]
        if ch == " " or ch == "\t":
            run = at
            while run < size and text[run] in " \t":
                run += 1
            if run < size and text[run] not in "\r\n":  # not a line's trailing whitespace
                if k < n + run - at:
                    return at + k - n
                n += run - at
            at = run
            continue
        if ch == "\r" or ch == "\n" or (double and ch == "\\" and
                                       text[at + 1:at + 2] in ("\r", "\n")):
            brk = at
            at = _line_end(text, at + (ch == "\\"))
            blank = 0
            while True:  # the next line's indentation, and the blank lines below
                while at < size and text[at] in " \t":
                    at += 1
                if at < size and text[at] in "\r\n":
                    blank += 1
                    at = _line_end(text, at)
                else:
                    break
            made = blank if ch == "\\" or blank else 1
            if k < n + made:
                return brk
            n += made
            continue
        if n == k:
            return at if value[k] == ch or ch == "\\" or ch == "'" else None
        if double and ch == "\\":
            at += {"x": 4, "u": 6, "U": 10}.get(text[at + 1:at + 2], 2)
        elif (double and ch == '"') or (single and ch == "'" and text[at + 1:at + 2] != "'"):
            return None  # the closing quote, before value[k]
        else:
            at += 2 if single and ch == "'" else 1
        n += 1
    return None


_HEADER = lazy_re.compile(r"[|>]([1-9]?)[-+]?([1-9]?)")


def _block_offset(text: str, start: int, folded: bool, value: str, k: int) -> Optional[int]:
    """value[k]'s place in a literal (|) or folded (>) block scalar whose indicator is at
    text[start]: its lines are the file's lines below the indicator, less the block's
    indentation; in a folded block a line break between two lines of text that do not start
    with a space folds to a space, or to a line break per blank line between them. None when
    the text does not read as `value`."""
    size = len(text)
    at = start
    while at < size and text[at] not in "\r\n":  # the header: indicators and a comment
        at += 1
    indent = None
    n, previous, blanks = 0, None, 0  # value[n] is read next; the last line of text's content
    breaks = []  # where the line breaks since the last line of text are: its own, the blanks'
    while at < size:
        first = at = _line_end(text, at)  # the next line, read up to its break
        while at < size and text[at] not in "\r\n":
            at += 1
        line = text[first:at]
        if indent is None:
            if not line.strip(" "):
                blanks += 1
                breaks.append(at)
                continue
            indent = len(line) - len(line.lstrip(" "))  # the first line of text's
            header = _HEADER.match(text, start)
            if header is not None and (header.group(1) or header.group(2)):  # indicated
                body = value.lstrip("\n")
                while indent > 0 and not body.startswith(line[indent:]):
                    indent -= 1  # its first line starts with spaces of the value's own
        content = line[indent:]
        if not content and not line.strip(" "):
            blanks += 1
            breaks.append(at)
            continue
        if previous is None:
            made = blanks  # the blank lines above the first line of text
        elif folded and previous[:1] not in (" ", "\t") and content[:1] not in (" ", "\t"):
            made = blanks if blanks else 1  # folded: a space, or the blank lines' breaks
        else:
            made = blanks + 1
        if k < n + made:  # a line break the block keeps, or a space folded: at its break
            return breaks[len(breaks) - made + k - n]  # (folded: the first break is trimmed)
        n += made
        if k < n + len(content):
            return first + indent + k - n if value[k] == content[k - n] else None
        n += len(content)
        previous, blanks, breaks = content, 0, [at]
    return None


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


def load_file(filename: str, *, read_only: Optional[frozenset] = None) -> Document:
    """Read and load a graph file; every problem is raised as a GraphError (a PartialDocument
    when the rest of the document can still be checked). `read_only`: see load_bytes."""
    try:
        raw = reading.read_bytes(filename, MAX_BYTES)  # a regular file, or an OSError
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "is a directory, expected a graph file"
    except OSError as e:
        problem = f"cannot read the file: {e.strerror}"
    else:
        return load_bytes(raw, filename, read_only=read_only)
    raise GraphError([Problem(problem, pos=(1, 1))], SourceMap(filename))


def load_bytes(raw: bytes, filename: str = "<string>", *, nonfinite: bool = False,
               positions_now: bool = False, fast: bool = True,
               read_only: Optional[frozenset] = None) -> Document:
    """Load YAML text with the discipline above. `nonfinite` lets .nan and .inf through as
    floats: results files may hold them (run --allow-nonfinite); graph files never do.
    `positions_now` records every position as the text is read, for a caller that will ask for
    all of them (a results file's reader); otherwise they are read when first asked for.
    `fast=False` reads with PyYAML alone: the reference the fast reader is tested against.
    `read_only`: the top-level keys whose values are read; another's value may be left as
    fastyaml.UNREAD (when, fastyaml.read says): for a caller that refuses such a key whatever
    its value (a graph file's schema)."""
    try:
        return _load(raw, filename, nonfinite, positions_now, fast, read_only)
    except PartialDocument:
        raise
    except GraphError as e:  # the problems' positions are in this file
        raise GraphError(e.problems, SourceMap(filename)) from None


def _load(raw, filename, nonfinite, positions_now, fast, read_only=None) -> Document:
    if len(raw) > MAX_BYTES:
        raise GraphError([Problem(f"file is larger than the {MAX_BYTES // 2**20} MiB limit; "
                                  "keep big tensors in .npy files", pos=(1, 1))])
    source = SourceMap(filename, _decode(raw))
    _check_characters(source)
    source.nonfinite, source.fast, source.read_only = nonfinite, fast, read_only
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


def reread(source: SourceMap) -> dict:
    """The document of `source.text` read again, as it was read the first time (for a caller
    that let parts of it go and needs it whole again: the compiler, on a problem)."""
    with gc_paused():
        copy = SourceMap(source.file, source.text)
        copy.read_only = source.read_only
        return _read(copy, [], nonfinite=source.nonfinite, record=False, fast=source.fast)


def _read(source: SourceMap, problems: list, nonfinite: bool, record: bool, fast: bool):
    """The one door: the document of source.text, from the fast reader when it vouches for its
    answer, from PyYAML otherwise (which raises or lists the problems). `record`: fill
    source.marks and source.root_offset too."""
    if fast:
        try:
            root = fastyaml.read(source.text, nonfinite=nonfinite, max_depth=MAX_DEPTH,
                                 max_collections=MAX_COLLECTIONS,
                                 read_only=source.read_only)
        except fastyaml.TooManyCollections as e:
            outline = fastyaml.Outline(source.text)
            raise GraphError([too_many_collections(
                source.position(outline.key(outline.root, e.args[0])))]) from None
        source.read_fast = root is not None
        if root is not None:
            if record:
                source.marks, source.root_offset = fastyaml.positions(source.text, root)
            return root
    from .load_pyyaml import build  # here: PyYAML (15 ms to import) only for what needs it
    return build(source, problems, nonfinite=nonfinite, record=record)


def too_many_general_values(pos, source: SourceMap, block_sequence: Optional[int]) -> Problem:
    """The problem of a file PyYAML reads that holds more than MAX_GENERAL_VALUES keys and
    values, at the top-level entry passing the limit (`pos`), naming the first of the two forms
    that make big files go to PyYAML, when the file has one: a block sequence (the offset of the
    first, `block_sequence`, as the events found it), a tab (fastyaml refuses a text with one)."""
    tab = source.text.find("\t")
    found = ""
    if block_sequence is not None:
        found = f" (a block sequence `- item`, first at line {source.position(block_sequence)[0]})"
    elif tab >= 0:
        found = f" (a tab, first at line {source.position(tab)[0]})"
    return Problem(f"the file holds more than {MAX_GENERAL_VALUES:,} keys and values written in "
                   f"forms only the general YAML reader reads{found}, the limit, this entry "
                   "passing it; write a big graph in graphrun's own forms (one entry per line, "
                   "lists in brackets `[a, b]`, no tabs), or keep big tensors in .npy files "
                   "(`file:`)", pos=pos)


def too_many_collections(pos) -> Problem:
    """The problem of a file holding more than MAX_COLLECTIONS lists and mappings, at the
    top-level entry whose value passes the limit (both readers say the same). The fast reader
    counts a flow value or a chunk of lines at once, so within the entry that passes the limit
    a syntax error PyYAML would reach first is not looked for: the answer is still an error."""
    return Problem(f"the file holds more than {MAX_COLLECTIONS:,} lists and mappings, the limit, "
                   "this entry passing it; keep big tensors in .npy files (`file:`)", pos=pos)


def _decode(raw: bytes) -> str:
    other = _other_encoding(raw)
    if other is not None:
        raise GraphError([Problem(f"this file is {other} text; graph files must be UTF-8: save "
                                  "it as UTF-8", pos=(1, 1))])
    if raw.startswith(b"\xef\xbb\xbf"):  # a byte-order mark at the start is allowed, and skipped
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start].decode("utf-8")
        where = SourceMap("", before).position(len(before))
        byte = raw[e.start]
        raise GraphError([Problem(f"invalid UTF-8: byte 0x{byte:02x} is not valid here; graph "
                                  "files must be UTF-8 text", pos=where)]) from None


# How YAML 1.2 (5.2, "Character Encodings") tells the encodings apart: a byte-order mark, or else
# the NUL bytes around an ASCII first character. UTF-32's marks are tested before UTF-16's, whose
# little-endian mark (FF FE) begins UTF-32's (FF FE 00 00).
_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian, with a byte-order mark)"),
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian, with a byte-order mark)"),
    (b"\xfe\xff", "UTF-16 (big-endian, with a byte-order mark)"),
    (b"\xff\xfe", "UTF-16 (little-endian, with a byte-order mark)"),
)
_UNMARKED = (
    (lazy_re.compile(b"\\x00\\x00\\x00[^\\x00]"), "UTF-32 (big-endian)"),
    (lazy_re.compile(b"[^\\x00]\\x00\\x00\\x00"), "UTF-32 (little-endian)"),
    (lazy_re.compile(b"\\x00[^\\x00]"), "UTF-16 (big-endian)"),
    (lazy_re.compile(b"[^\\x00]\\x00"), "UTF-16 (little-endian)"),
)


def _other_encoding(raw: bytes) -> Optional[str]:
    """The name of the encoding `raw` is in when that is plainly UTF-16 or UTF-32, else None."""
    for mark, name in _ENCODINGS:
        if raw.startswith(mark):
            return name
    for pattern, name in _UNMARKED:
        if pattern.match(raw):
            return name
    return None


# What YAML allows in a stream (PyYAML's own check, done here so that both parsers report the
# character's line and column the same way): tab, line breaks and printable characters,
# [\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]. Written as the few
# characters it refuses: a class with a range past U+FFFF makes `re` tabulate every code point,
# 8 ms at import (tests/test_load.py checks the two agree).
_NOT_PRINTABLE = lazy_re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


_BOM = lazy_re.compile("\ufeff")


_PRINTABLE_ASCII = bytes([9, 10, 13, *range(32, 127)])


def _check_characters(source: SourceMap) -> None:
    text = source.text
    if text.isascii() and not text.encode("ascii").translate(None, _PRINTABLE_ASCII):
        return  # (in C, a quarter of the regex's time: nearly every big file is ASCII)
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


def __getattr__(name):
    """The PyYAML half's names (PythonLoader, _yaml12_text, ...), from load_pyyaml on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    from . import load_pyyaml
    try:
        return getattr(load_pyyaml, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
