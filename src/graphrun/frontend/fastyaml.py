"""fastyaml: a narrow reader for the YAML graphrun files are written in. Exact, or it says no.

Why: PyYAML's C parser hands Python one event object per token, about a million for a
100,000-node graph file, and making them and building the document from them is most of such a
file's load time. But graph and results files are nearly always written in a few forms: block
mappings of one entry per line, plain scalars, and flow collections on one line
(`u: {op: mul, args: [w, x]}`). A section of such lines becomes JSON text through a handful of
whole-text string operations, and json's C scanner builds the objects.

Exact, or it says no: `read` returns None for whatever it cannot show it reads exactly as
`load`'s PyYAML reader does: anything outside the forms below, and anything that is an error
(a duplicate key, a number out of range, nesting too deep...). `load` then reads the text with
PyYAML, whose answer, positions and messages are the reference; a None costs time, never an
answer. For an accepted text, `positions` gives the same source map as the PyYAML reader, and
`Outline` (with `flow_item`) the same position of any one path, from the text alone.
tests/test_fastyaml.py holds both to it. The one exception is the caller's to ask for: a
top-level key it refuses whatever its value (`read`'s `read_only`) may keep its value UNREAD.

What is read (all else is refused):
- lines end in \\n or \\r\\n; no tab anywhere; the document is a block mapping at column 0;
- a key is a *name*: it starts with a letter, `_` or a non-ASCII character, and holds no space,
  no quote or backslash, and none of `,:[]{}#?`;
- an entry is `key: value`, or `key:` (null, or a block mapping on the lines below, the entries
  of one mapping at one indentation);
- a value is a flow collection on one line, or a plain scalar (the YAML 1.2 core schema of
  `scalars`) or a quoted scalar without escapes and on one line ('it''s' and "a\\tb" are
  refused); but a block mapping whose every line is `key: value` at one indentation is read in
  bulk, and its values are as in a flow collection:
- in a flow collection: names, JSON numbers (`0.5`, `-3`, `1e-3`; not `.5`, `+1`, `017`,
  `0x1F`), `true`/`false`/`null` in any of YAML's three spellings, `~`, and flow collections,
  after `, ` and `: `;
- comments fill a line or follow a space, and blank lines go anywhere.
As in YAML 1.2, U+0085, U+2028 and U+2029 are characters like any other, in names and comments
alike (a lone \\r, which breaks a line, is left to PyYAML).
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from typing import Optional

from .. import lazy_re
from .scalars import NONFINITE, NUMBER_START, WORDS, resolve_nonfinite, resolve_plain

# the first character, a letter, `_` or any non-ASCII one ([A-Za-z_\x80-\U0010ffff]), is written as
# what it is not, ASCII's other characters: a class with a range past U+FFFF makes `re` tabulate
# every code point, 8 ms at import (tests/test_fastyaml.py checks the two agree)
_NAME = "[^\x00-@\\[-^`{-\x7f][^ \t\r\n,:\\[\\]{}#?\"\\\\]*"
_KEY = lazy_re.compile(_NAME)

# A name in a value's or a key's place, in text where every token follows a space (see
# _json_text): before a separator or the end of its line. The bare words in a value's place are
# left out: json reads `true`, `false` and `null` itself.
_BARE_WORD = "(?:true|True|TRUE|false|False|FALSE|null|Null|NULL)(?=[,\\]}\\n]|\\Z)"
_NAME_TOKEN = lazy_re.compile(" ((?!" + _BARE_WORD + ")" + _NAME + ")(?=[,:\\]}\\n]|\\Z)")
_OTHER_WORDS = ((" True", " true"), (" TRUE", " true"), (" False", " false"),
                (" FALSE", " false"), (" Null", " null"), (" NULL", " null"), (" ~", " null"))
# every byte but the first letters of those words: deleted, they leave what could start one
_NOT_WORD_STARTS = bytes(set(range(256)) - set(b"TFN~"))
# every byte but brackets and line breaks: deleted from a text's UTF-8, they leave its brackets
# and line breaks (no other character's UTF-8 holds those bytes)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}\n"))
# What json would read differently: an integer beyond int64, a float beyond float64 (refused
# with some to spare: a number whose integer part has 19 digits, any exponent of three digits):
# the regex "(?<![.0-9])[0-9]{19}|[eE][-+]?[0-9]{3}", looked for in bytes where every digit is
# 0, E is e and + is - (the regex, with no literal to search for, took 1.2 s in a 64 MiB list of
# numbers; tests/test_fastyaml.py checks the two agree).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789E+", b"000000000e-")
_NINETEEN = b"0" * 19
_ZEROS = lazy_re.compile(b"0*")


def _big_number(encoded: bytes) -> bool:
    """Whether `encoded` (the UTF-8 of text between names) holds a number json would read
    differently (see above)."""
    digits = encoded.translate(_DIGITS_AS_ZERO)
    if b"e000" in digits or b"e-000" in digits:
        return True
    at = digits.find(_NINETEEN)  # the start of a run of 19 digits or more
    while at >= 0:
        if at == 0 or digits[at - 1] != 0x2E:  # not a fraction's digits: an integer part's
            return True
        at = digits.find(_NINETEEN, _ZEROS.match(digits, at).end())
    return False


_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")

_TOP_LEVEL = lazy_re.compile("\n(?=[^ \n])")  # a line break before a line at column 0
_COMMENT = lazy_re.compile("(?<=[ \n])#[^\n]*")
_TRAILING_SPACES = lazy_re.compile(" +(?=\n|\\Z)")
_BLANK_LINES = lazy_re.compile("\n\n+")
_FLOW_TOKEN = lazy_re.compile("[\\[\\]{}]|([^ ,:\\[\\]{}]+)(:?)")
_SPACES = lazy_re.compile(" *")
# a value that is a plain scalar with a space in it, as an expression is (`u: w * x`): not JSON,
# so a mapping holding one is read line by line, never in bulk
_SPACED_PLAIN = lazy_re.compile("\n *[^ \n]+: [^\\[{'\"\n][^\n]* ")

# Characters of a block mapping turned into JSON at a time: its intermediate strings then stay
# in the processor's cache (a 100,000-node file read in 0.38 s instead of 0.44-0.74 s with
# chunks of 1 MiB), and their memory is bounded whatever the file's size.
_CHUNK = 1 << 16

_NO = object()  # a part of the text that the fast reader refuses


def _not_yaml(name):
    raise ValueError(f"{name} is JSON's, not YAML's")


_DECODE = json.JSONDecoder(parse_constant=_not_yaml).decode  # NaN, Infinity, -Infinity


class _Unread:
    """The value of a top-level key that `read` was told is refused whatever its value."""

    def __repr__(self) -> str:
        return "<not read>"


UNREAD = _Unread()


def read(text: str, nonfinite: bool = False, max_depth: int = 64,
         max_collections: int = 1 << 62, read_only: Optional[frozenset] = None) -> Optional[dict]:
    """The document, or None if the text is not in the forms above or has any problem.
    `nonfinite`: `.nan` and `.inf` are floats (results files), not problems; `max_depth`: the
    levels of nesting allowed, the top-level mapping being the first; `max_collections`: the
    lists and mappings allowed in all, counted before any is made (TooManyCollections names the
    top-level entry that passes the limit). `read_only`: the top-level keys whose values are
    read (a graph file's: any other key is refused whatever its value); another key's value is
    then UNREAD, and nothing in it a problem, when it ends where the fast reader's lines say,
    as YAML reads it too: written on its line as one flow collection that ends there
    (`_on_its_line`), or on the lines below with every flow closed on its line and no quotes
    (`_lines_closed`). 64 MiB of one under `junk:` took 9-15 s to read, to be refused for its
    key alone."""
    if "\t" in text:
        return None
    if "\r" in text:  # CRLF only; a lone CR is a line break, and PyYAML's business
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    root = {}
    room = [max_collections - 1]  # (the top-level mapping is one)
    for head, body in _entries(text):  # one at a time: a refusal (a duplicate) ends it there
        if head is None:
            return None
        entry = _entry(_uncomment(head))
        if entry is None or entry[0] in root:
            return None
        key, value = entry
        body = _clean(body)
        if read_only is not None and key not in read_only and (
                _on_its_line(value, max_depth - 1) if value is not None and not body else
                value is None and _lines_closed(body, max_depth - 1)):
            root[key] = UNREAD
            continue
        try:
            if value is not None:
                value = _NO if body else _inline(value, max_depth - 1, nonfinite, room)
            elif body:
                value = _mapping(body, max_depth - 1, nonfinite, room)
        except TooManyCollections:
            raise TooManyCollections(key) from None
        if value is _NO:
            return None
        root[key] = value
    return root or None


def _on_its_line(value: str, budget: int) -> bool:
    """Whether `value` (after `key: `, no comment) is one flow collection that ends where its
    line does, nested at most `budget` deep: the first bracket closes at the end, so YAML reads
    every other line of the file as if it were not there (whatever is wrong inside it)."""
    close = {"[": "]", "{": "}"}.get(value[0])
    return close is not None and value[-1] == close and _closed(value[1:-1], budget - 1)


def _lines_closed(body: str, budget: int) -> bool:
    """Whether the lines below `key:` (cleaned) end where the next line at column 0 starts, as
    they do for the fast reader: every flow collection closed on the line it opens on (PyYAML
    reads a flow on over lines at any indentation); what else goes on over lines (a plain or
    block scalar) ends at a line less indented."""
    return bool(body) and _closed(body, budget)


def _closed(text: str, budget: int) -> bool:
    """No quotes in `text` (a quoted scalar may go on over lines, and hides brackets), so every
    bracket in it is one (a plain scalar in a flow holds none), and on each of its lines they
    are balanced and nested at most `budget` deep."""
    return "'" not in text and '"' not in text and \
        _fits(text.encode().translate(None, _NOT_BRACKETS), budget)


def _entries(text: str):
    """Yield (first line, the lines below it) of each entry at column 0, then (None, None) if
    the text is not a block mapping at column 0. A comment at column 0 belongs to the entry
    above it. A generator over the text, never a list of its parts: 7.4M top-level lines made
    2.2 GiB of them before the first duplicate among them was seen."""
    head = body = None
    start = 0
    for end in itertools.chain((m.start() for m in _TOP_LEVEL.finditer(text)), (len(text),)):
        part, start = text[start:end], end + 1  # as _TOP_LEVEL.split(text) would give them
        line, newline, rest = part.partition("\n")
        first = line.lstrip(" ")[:1]
        if first == "" or first == "#":  # a blank or comment line (indented: only the first)
            if head is not None:
                body.append("\n" + part)  # joined below: += here is quadratic
            elif _clean("\n" + part):
                yield None, None
                return
        elif line[0] == " ":
            yield None, None  # an indented first entry
            return
        else:
            if head is not None:
                yield head, "".join(body)
            head, body = line, [newline + rest]
    if head is not None:
        yield head, "".join(body)


def _uncomment(line: str) -> str:
    at = line.find(" #")
    return (line if at < 0 else line[:at]).rstrip(" ")


def _clean(body: str) -> str:
    """Lines below an entry ("\\n"-led) without comments, trailing spaces and blank lines."""
    if "#" in body:
        body = _COMMENT.sub("", body)
    if " \n" in body or body.endswith(" "):
        body = _TRAILING_SPACES.sub("", body)
    if "\n\n" in body:
        body = _BLANK_LINES.sub("\n", body)
    return body.rstrip("\n")


def _entry(line: str):
    """(key, value text or None) of a `key: value` or `key:` line; None if it is not one."""
    key, colon, value = line.partition(":")
    if not colon or not _KEY.fullmatch(key) or value[:1] not in ("", " "):
        return None
    return key, value.strip(" ") or None


def _inline(text: str, budget: int, nonfinite: bool, room: list):
    """A value written after `key: ` on its line (no comment, no trailing spaces). `budget`: the
    levels of nesting a collection written here may use."""
    first = text[0]
    if first == "[" or first == "{":
        return _flow(text, budget, room)
    if first == "'" or first == '"':  # a quoted scalar, if there is nothing to unescape
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != first or first in inner or (first == '"' and "\\" in inner):
            return _NO
        return inner
    # a plain scalar: it may not start with an indicator (`-x` may), hold `: ` or end in `:`
    if first in _INDICATORS and not (first == "-" and text[1:2] not in ("", " ")):
        return _NO
    if ": " in text or text[-1] == ":":
        return _NO
    if first in NUMBER_START or text in WORDS:
        try:
            return resolve_plain(text)
        except ValueError:
            if nonfinite and NONFINITE.match(text):
                return resolve_nonfinite(text)
            return _NO
    return text


def _flow(text: str, budget: int, room: list):
    """A flow collection written on one line."""
    json_text = _json_text(text, budget)
    if json_text is None:
        return _NO
    _spend(room, json_text.count("[") + json_text.count("{"))
    try:
        value = _DECODE(json_text)
    except ValueError:
        return _NO
    written = json_text.count('":') if "{" in json_text else 0
    if written and written != _count_keys(value):  # (no key written: none can be a duplicate)
        return _NO  # a duplicate key: json keeps the last one silently
    return value


def _mapping(body: str, budget: int, nonfinite: bool, room: list):
    """The block mapping of the lines below `key:` (cleaned; "\\n"-led), using up to `budget`
    levels of nesting, itself included. One `key: value` per line, all at one indentation, is
    read in bulk or not at all: a big file's sections are such, and going through them again
    line by line, should bulk reading fail, would nearly always end in a refusal all the same,
    seconds later (a duplicate key in the last of a million lines)."""
    indent = _SPACES.match(body, 1).end() - 1
    if budget < 1 or indent == 0:
        return _NO
    below = "\n" + " " * indent
    if (body.count("\n") == body.count(below) and below + " " not in body
            and ":\n" not in body and body[-1] != ":"):
        first = body.find(": ") + 2
        if _PLAIN_START.match(body, first):  # the first value: a plain string
            mapping = _plain_lines(body, indent, room)
            if mapping is not None:
                return mapping
        elif _NUMBER.match(body, first):  # a number: a section of scalar params, say
            mapping = _number_lines(body, indent, room)
            if mapping is not None:
                return mapping
        left = room[0]
        _spend(room, 1)  # the mapping itself
        mapping = _node_lines(body, indent, budget - 1, room)
        if mapping is not None:
            return mapping
        room[0] = left
        if not _SPACED_PLAIN.search(body):  # (a search of the text: after the nodes' regex)
            mapping = _bulk(body, below, budget - 1, room)
            if mapping is None:
                room[0] = left
                return _NO
            return mapping
    elif _NODE_BLOCK_START.match(body):
        mapping = _node_blocks(body, indent, budget - 1, room)
        if mapping is not None:
            return mapping
    return _block(body, budget, nonfinite, room)


# A plain scalar that is a string, as an expression is (`-x`, `tanh(h @ W) + b`): it does not
# start with an indicator, a digit, `+`, `.`, `~` or `-` before one of those (numbers, nulls).
_NOT_STARTING = "-?:,\\[\\]{}#&*!|>'\"%@`~0-9+. \n"
_PLAIN_STRING = f"(?:[^{_NOT_STARTING}]|-[^{_NOT_STARTING}])[^\n]*"
_PLAIN_START = lazy_re.compile(_PLAIN_STRING)
_PLAIN_LINES = {}  # indentation -> the regex of a `name: plain string` line


# A number as JSON writes it and json and YAML 1.2 read alike, short enough for an int64 or a
# float64 (as _big_number: an integer part of at most 18 digits, an exponent of at most 2).
_NUMBER_TEXT = "-?(?:0|[1-9][0-9]{0,17})(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]{1,2})?"
_NUMBER = lazy_re.compile(_NUMBER_TEXT + "$", re.MULTILINE)
_NUMBER_LINES = {}  # indentation -> the regex of a `name: number` line


def _number_lines(body: str, indent: int, room: list) -> Optional[dict]:
    """The block mapping whose every line is `name: number` (the params of a scalar graph), or
    None; by one regex, as _plain_lines (4.9M such lines took json 4.7 s to decode)."""
    return _scalar_lines(body, indent, _NUMBER_TEXT, _NUMBER_LINES, room, _numbers)


def _numbers(found: list) -> dict:
    """{name: number} of (name, number's text) pairs: the texts made numbers by json at once,
    each an int or a float as YAML 1.2 reads it (they are JSON's numbers), not one by one by
    int() and float() in Python."""
    return dict(zip(map(_FIRST, found), _DECODE("[" + ",".join(map(_SECOND, found)) + "]")))


_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)


def _plain_lines(body: str, indent: int, room: list) -> Optional[dict]:
    """The block mapping whose every line is `name: plain string` (an expression, mostly), or
    None: the lines of a graph written in expressions, read by one regex, not line by line
    (3.1M lines of `nK: -nJ` went through PyYAML: 30 s). Each line holds one `: `, its key's:
    a second one is not a plain scalar, and the line a problem for PyYAML to word."""
    if body.count(": ") != body.count("\n"):
        return None
    return _scalar_lines(body, indent, _PLAIN_STRING, _PLAIN_LINES, room, _strings)


def _strings(found) -> Optional[dict]:
    mapping = dict(found)
    return mapping if WORDS.isdisjoint(mapping.values()) else None  # a boolean, a null


def _scalar_lines(body: str, indent: int, value: str, patterns: dict, room: list, build):
    """The block mapping whose every line is `name: <value>` (`value`, a regex), or None (see
    _by_lines); `patterns` caches the line's regex by indentation."""
    pattern = patterns.get(indent)
    if pattern is None:
        pattern = patterns[indent] = re.compile(f"^ {{{indent}}}({_NAME}): ({value})$",
                                                re.MULTILINE)
    left = room[0]
    _spend(room, 1)  # the mapping itself (_bulk, the other way, spends it before _node_lines)
    mapping = _by_lines(body, pattern, 0, room, build)
    if mapping is None:
        room[0] = left
    return mapping


def _by_lines(body: str, pattern, collections: int, room: list, build,
              entry_start=None, per: int = 1) -> Optional[dict]:
    """The mapping of the matches of `pattern`, one for each entry of `body`: a line, or `per`
    lines starting where `entry_start` (a regex) finds a line break (each entry's `collections`
    taken from `room`); `build` makes the entries of a chunk's matches (a dict), a chunk at a
    time (its strings still in the processor's caches). None, with `room` as it was: a line
    that does not match, a duplicate key, or `build` saying None."""
    left = room[0]
    mapping = {}
    try:
        for found in _matched(body, pattern, room, collections, entry_start, per):
            entries = build(found)
            if entries is None:
                mapping = None
                break
            mapping.update(entries)
    except _NotTheseLines:
        mapping = None
    if mapping is None or len(mapping) * per != body.count("\n"):  # or a duplicate key
        room[0] = left
        return None
    return mapping


def _bulk(body: str, below: str, budget: int, room: list) -> Optional[dict]:
    """A block mapping whose every line is `key: value` (each line after `below`), read as one
    JSON object. Nothing here looks at a line on its own: a line that is not one `key: value`
    pair makes the JSON text invalid or the number of pairs differ from the number of lines, and
    a duplicate key (which json keeps silently, the last one) the number of keys."""
    _spend(room, 1)  # the mapping itself
    pieces = []
    lines = keys = inner = 0
    start = 0
    while start < len(body):  # the text is turned into JSON a chunk of lines at a time
        end = body.find(below, start + _CHUNK)
        end = len(body) if end < 0 else end
        chunk = body[start + len(below):end].replace(below, "\n ")
        start = end
        json_text = _json_text(" " + chunk, budget)
        if json_text is None:
            return None
        pieces.append(json_text.replace("\n", ","))
        lines += chunk.count("\n") + 1
        keys += json_text.count('":')
        inner += json_text.count("{")
        _spend(room, json_text.count("{") + json_text.count("["))  # before any is made
    pieces[0] = "{" + pieces[0]
    pieces[-1] += "}"
    try:
        mapping = _DECODE(",".join(pieces))
    except ValueError:
        return None
    return mapping if keys == _keys_in(mapping, inner) and len(mapping) == lines else None


def _node_lines(body: str, indent: int, budget: int, room: list) -> Optional[dict]:
    """The block mapping whose every line is a node as graphrun writes it, `name: {op: name, args:
    [name, ...]}`, or None (before _bulk is tried). Most lines of a big graph file are such, and
    matched by one regex they become the same dicts several times as fast as through JSON (a 64
    MiB chain's nodes: 2.9 s against 7.6 s). The regex's tuples are made a chunk of lines at a
    time."""
    if budget < 2:  # a node's mapping and its list of arguments
        return None
    pattern = _NODE_LINES.get(indent)
    if pattern is None:
        pattern = _NODE_LINES[indent] = re.compile(
            f"^ {{{indent}}}({_NAME}): {{op: ({_NAME}), args: \\[((?:{_NAME}, )*{_NAME})\\]}}$",
            re.MULTILINE)
    if not pattern.match(body, 1):  # (before reading the whole text)
        return None
    return _by_lines(body, pattern, 2, room, _nodes)


def _node_blocks(body: str, indent: int, budget: int, room: list) -> Optional[dict]:
    """The block mapping whose every entry is a node written as a block, `name:` above `op: name`
    and `args: [name, ...]` (the order of a graph written by hand), or None: read by one regex as
    _node_lines reads node lines (1.54M such nodes went line by line through _block: 27 s)."""
    if budget < 2:  # a node's mapping and its list of arguments
        return None
    inner = _SPACES.match(body, body.find("\n", 1) + 1).end() - body.find("\n", 1) - 1
    if inner <= indent:
        return None
    pattern = _NODE_BLOCKS.get((indent, inner))
    if pattern is None:
        pattern = _NODE_BLOCKS[indent, inner] = (re.compile(
            f"^ {{{indent}}}({_NAME}):\n {{{inner}}}op: ({_NAME})\n"
            f" {{{inner}}}args: \\[((?:{_NAME}, )*{_NAME})\\]$", re.MULTILINE),
            re.compile(f"\n {{{indent}}}(?! )"))
    left = room[0]
    _spend(room, 1)  # the mapping itself
    mapping = _by_lines(body, pattern[0], 2, room, _nodes, pattern[1], 3)
    if mapping is None:
        room[0] = left
    return mapping


def _nodes(found) -> Optional[dict]:
    """The nodes of a chunk's matches (name, op, the arguments' text), or None if an op or an
    argument is a bare word (a boolean or a null, not a name). The words are looked for among
    the strings made, all at once (a search of the text for each word was a tenth of a 64 MiB
    chain's load); hashing them here is not lost: their hashes are kept for the spec's lookups."""
    nodes = {name: {"op": op, "args": args.split(", ")} for name, op, args in found}
    if _WORDS_SET.isdisjoint(map(_SECOND, found)) and \
            _WORDS_SET.isdisjoint(itertools.chain.from_iterable(map(_ARGS, nodes.values()))):
        return nodes
    return None  # (a duplicate's bare word, in a value left out, fails the count all the same)


_ARGS = operator.itemgetter("args")


_NODE_BLOCK_START = lazy_re.compile(f"\n *{_NAME}:\n *op: ")  # a body's first lines, a node's
_NODE_BLOCKS = {}  # (indentation of the names, of op and args) -> (the regex, an entry's start)


class _NotTheseLines(Exception):
    pass


def _matched(body: str, pattern, room: list, collections: int, entry_start=None, per: int = 1):
    """The matches of `pattern` in `body`, a list for each chunk of its entries (lines, or
    entries of `per` lines, each starting at a line break `entry_start` finds), each entry's
    `collections` taken from `room`; _NotTheseLines unless there is one for every entry (each
    from its first line's start to its last line's end)."""
    start = 0
    while start < len(body):
        if entry_start is None:
            end = body.find("\n", start + _CHUNK)
        else:
            found = entry_start.search(body, start + _CHUNK)
            end = -1 if found is None else found.start()
        end = len(body) if end < 0 else end
        chunk, start = body[start:end], end
        found = pattern.findall(chunk)
        if len(found) * per != chunk.count("\n"):
            raise _NotTheseLines
        _spend(room, collections * len(found))
        yield found


_NODE_LINES = {}  # indentation -> the regex of a node's line
_WORDS = ("true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL")
_WORDS_SET = frozenset(_WORDS)


def _keys_in(mapping: dict, inner: int) -> int:
    """The keys of every mapping in `mapping`, which holds `inner` mappings at any depth. Usually
    they are its values, whose keys are counted without looking inside."""
    if not inner:
        return len(mapping)
    mappings = list(filter(_is_mapping, mapping.values()))
    if inner == len(mappings):
        return len(mapping) + sum(map(len, mappings))
    return _count_keys(mapping)


_is_mapping = dict.__instancecheck__  # json makes dicts, never subclasses


def _count_keys(value) -> int:
    """The keys of every mapping in a loaded value (iteratively)."""
    total, todo = 0, [value]
    while todo:
        item = todo.pop()
        if type(item) is dict:
            total += len(item)
            todo.extend(v for v in item.values() if type(v) is dict or type(v) is list)
        elif type(item) is list:
            todo.extend(v for v in item if type(v) is dict or type(v) is list)
    return total


def _json_text(text: str, budget: int) -> Optional[str]:
    """YAML flow text (one value, or `key: value` lines after "\\n ") as JSON text, the lines
    kept apart; None if it cannot be. Every name becomes a JSON string of itself; what is left
    between the names (brackets, separators, numbers and words) is checked here (nesting, the
    numbers json would read differently) and by json itself (everything else)."""
    if '"' in text or text.count(":") != text.count(": "):
        return None  # a quote json would read, or `a:b` (a scalar, to YAML)
    spaced = text.replace("[", "[ ").replace("{", "{ ")
    if "{ op: " in spaced:  # a node's two keys quoted as the split would, but in C (2 of the
        # 5 names of a chain's line: a sixth of a big file's load time)
        spaced = spaced.replace("{ op: ", '{"op": ').replace(", args: ", ',"args": ')
    parts = _name_split(spaced)
    between = "".join(parts[::2])
    if "'" in between:  # a quoted scalar, which json cannot read: then every bracket left here is
        return None  # a list's or a mapping's, and _spend's counts are exact
    encoded = between.encode()
    if not _fits(encoded.translate(None, _NOT_BRACKETS), budget) or _big_number(encoded):
        return None
    json_text = '"'.join(parts)
    if encoded.translate(None, _NOT_WORD_STARTS):  # (a search per word: 0.6 s in 64 MiB)
        for word, json_word in _OTHER_WORDS:
            if word in between:
                json_text = json_text.replace(word, json_word)
    return json_text


def _name_split(spaced: str) -> list:
    """_NAME_TOKEN.split(spaced). The regex tries a match at every space, most of a tensor's
    text (64 MiB of numbers: 0.7-1.1 s); where few spaces are followed by a character a name can
    start with (found in the bytes, all at once), a match is tried only there."""
    if not spaced.isascii():  # (then a byte is a character, and offsets agree)
        return _NAME_TOKEN.split(spaced)
    marked = spaced.encode().translate(_NAME_START_AS_A)
    if marked.count(b" A") > marked.count(b" ") >> 4:
        return _NAME_TOKEN.split(spaced)
    parts = []
    start = 0
    at = marked.find(b" A")
    while at >= 0:
        found = _NAME_TOKEN.match(spaced, at)
        if found is None:
            at = marked.find(b" A", at + 1)
            continue
        parts += (spaced[start:at], found.group(1))
        start = found.end()
        at = marked.find(b" A", start)
    parts.append(spaced[start:])
    return parts


# every byte a name's first character can be (see _NAME) as b"A", the others as they are
_NAME_START_AS_A = bytes(0x41 if b in b"_" or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A or b > 0x7F
                         else b for b in range(256))


class TooManyCollections(Exception):
    """The text holds more lists and mappings than `read` was allowed to make; `args[0]`, once
    `read` has it, the top-level key whose value passes the limit."""


def _spend(room: list, collections: int) -> None:
    """Take `collections` from the lists and mappings `read` may still make (room[0])."""
    room[0] -= collections
    if room[0] < 0:
        raise TooManyCollections()


def _fits(brackets: bytes, budget: int) -> bool:
    """Whether every line of `brackets` (only brackets and line breaks) is balanced and nested
    at most `budget` deep. Each round removes the innermost pairs; no recursion, no stack. A
    round reads all that is left, so a big text still deeply nested after a few rounds has its
    depths summed by numpy instead (64 MiB of 62-deep `[[[...]]]`: 18 s of rounds, 0.3 s)."""
    for _ in range(budget + 1):
        if len(brackets) == brackets.count(b"\n"):
            return True
        if len(brackets) > _ROUNDS_UP_TO:
            return _depths_fit(brackets, budget)
        shorter = brackets.replace(b"[]", b"\0").replace(b"{}", b"\0").replace(b"\0", b"")
        if len(shorter) == len(brackets):
            return False  # unbalanced, or a `[` closed by `}`
        brackets, budget = shorter, budget - 1
    return False


_ROUNDS_UP_TO = 1 << 20  # brackets beyond which _depths_fit sums instead of removing pairs
_STEP = bytes.maketrans(b"[{]}\n", b"\1\1\xff\xff\0")  # +1, -1 (as int8), 0


def _depths_fit(brackets: bytes, budget: int) -> bool:
    """_fits by running sums, a few MiB at a time: the depth never below 0 nor above `budget`,
    and 0 at each line break and at the end. A `[` closed by `}` passes here (json refuses it)."""
    import numpy as np  # here: only a text this big pays for it

    depth = 0
    for start in range(0, len(brackets), 1 << 22):
        part = brackets[start:start + (1 << 22)]
        steps = np.frombuffer(part.translate(_STEP), dtype=np.int8)
        depths = np.cumsum(steps, dtype=np.int64)
        depths += depth
        if depths.min() < 0 or depths.max() > budget:
            return False
        if depths[np.frombuffer(part, dtype=np.uint8) == 0x0A].any():
            return False  # a line left open
        depth = int(depths[-1])
    return depth == 0


def _block(body: str, budget: int, nonfinite: bool, room: list):
    """A block mapping of any shape (nested mappings, values json does not read), line by
    line."""
    _spend(room, 1)
    top = {}
    mapping, indent, enclosing = top, None, []
    pending = None  # a `key:` line's key: null, or the mapping on the lines below
    for line in body[1:].split("\n"):
        content = line.lstrip(" ")
        depth = len(line) - len(content)
        entry = _entry(content)
        if entry is None:
            return _NO
        if indent is None:
            indent = depth
        if pending is not None:
            if depth > indent:
                if len(enclosing) + 2 > budget:
                    return _NO
                enclosing.append((mapping, indent))
                _spend(room, 1)
                child = {}
                mapping[pending] = child
                mapping, indent = child, depth
            pending = None
        while depth < indent and enclosing:
            mapping, indent = enclosing.pop()
        key, value = entry
        if depth != indent or key in mapping:
            return _NO
        if value is None:
            pending = key
        else:
            value = _inline(value, budget - len(enclosing) - 1, nonfinite, room)
            if value is _NO:
                return _NO
        mapping[key] = value
    return top


def positions(text: str, root: dict):
    """(marks, offset of the top-level mapping) for a text `read` accepted, as the PyYAML reader
    records them (see load.SourceMap): the character offset where each value and each key
    starts. A block mapping starts at its first key; a null written as nothing, just after its
    key's colon. The inside of a flow collection is left for `flow_positions` to read when it is
    first asked for: its entry is (collection, None, its offset). (A value left UNREAD has no
    inside: no path leads into it.)"""
    marks = {id(root): (root, {}, {})}
    entry, indent, enclosing = marks[id(root)], 0, []
    pending = None  # (key, where its null would be) of a `key:` line
    root_offset = None
    end = 0
    for line in text.split("\n"):
        start, end = end, end + len(line) + 1
        if line[-1:] == "\r":
            line = line[:-1]
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            continue
        depth = len(line) - len(content)
        key_at = start + depth
        if root_offset is None:
            root_offset = key_at
        if pending is not None:
            key, null_at = pending
            if depth > indent:
                entry[1][key] = key_at
                enclosing.append((entry, indent))
                child = entry[0][key]
                entry = marks[id(child)] = (child, {}, {})
                indent = depth
            else:
                entry[1][key] = null_at
            pending = None
        while depth < indent:
            entry, indent = enclosing.pop()
        key, _, rest = content.partition(":")
        entry[2][key] = key_at
        value = rest.lstrip(" ")
        if not value or value[0] == "#":
            pending = key, key_at + len(key) + 1
            continue
        value_at = key_at + len(key) + 1 + len(rest) - len(value)
        entry[1][key] = value_at
        if value[0] == "[" or value[0] == "{":
            collection = entry[0][key]
            marks[id(collection)] = (collection, None, value_at)
    if pending is not None:
        entry[1][pending[0]] = pending[1]
    return marks, root_offset


class Outline:
    """Where the entries of a text `read` accepted are, found from the text alone: no document,
    and only the entries asked for (`positions` records every one, which took seconds and
    hundreds of MiB to locate a problem in a 64 MiB file). The forms `read` accepts make it
    exact: a line at a mapping's indentation that starts with a name is one of its entries,
    each key is there once, and a value is written on its key's line (or, for a block mapping,
    on the deeper lines below it). Offsets are `positions`' (tests/test_fastyaml.py compares
    every one with PyYAML's). A mapping is (where its lines start: the line break before the
    first, or 0; where they end; its indentation)."""

    def __init__(self, text: str):
        self.text = text
        first = _CONTENT_LINE.search(text)
        self.root_offset = 0 if first is None else first.end()
        self.root = (0, len(text), 0)
        self._children = {}  # the line break ending a `key:` line -> its block mapping or None
        self._cursors = {}  # a mapping's start -> where its last key was found

    def key(self, mapping, key: str) -> Optional[int]:
        """The offset of `key` in `mapping`, or None if it has no such key. Found by a search
        from where the mapping's previous key was (problems are located in document order, so
        the searches of a section's problems together read it about once)."""
        if not _KEY.fullmatch(key):
            return None  # (every key of the text is a name)
        start, end, indent = mapping
        needle = "\n" + " " * indent + key + ":"
        if start == 0 and self.text.startswith(needle[1:]):
            return 0
        cursor = self._cursors.get(start, start)
        at = self.text.find(needle, cursor, end)
        if at < 0 and cursor > start:
            at = self.text.find(needle, start, min(end, cursor + len(needle)))
        if at < 0:
            return None
        self._cursors[start] = at
        return at + 1 + indent

    def value(self, mapping, key_at: int, key: str):
        """(offset of the value of the key written at `key_at`, the block mapping it is or
        None): a value on the key's line, a block mapping at its first key, a null written as
        nothing just after the colon."""
        text = self.text
        colon = key_at + len(key) + 1
        line_end = text.find("\n", colon)
        line_end = len(text) if line_end < 0 else line_end
        rest = text[colon:line_end]
        if rest[-1:] == "\r":
            rest = rest[:-1]
        value = rest.lstrip(" ")
        if value and value[0] != "#":
            return colon + len(rest) - len(value), None
        if line_end not in self._children:
            self._children[line_end] = self._below(line_end, mapping[2])
        child = self._children[line_end]
        return (colon, None) if child is None else (child[0], child[1])

    def _below(self, line_end: int, indent: int):
        """(offset of its first key, the block mapping) on the lines after text[line_end], if
        the next line that is not blank or a comment is deeper than `indent`; else None."""
        below = _CONTENT_LINE.search(self.text, line_end)
        if below is None or below.end() - below.start() - 1 <= indent:
            return None
        end = _line_at_most(indent).search(self.text, below.end())
        end = len(self.text) if end is None else end.start()
        return below.end(), (line_end, end, below.end() - below.start() - 1)


# a line that is not blank and not a comment: the spaces before its first character
_CONTENT_LINE = lazy_re.compile("(?:\\A|\n) *(?=[^ \r\n#])")


def _line_at_most(indent: int):
    """A line break before a line indented `indent` spaces at most that is not blank or a
    comment: the end of a block mapping below a key indented `indent`."""
    return re.compile(f"\\n {{0,{indent}}}(?=[^ \\r\\n#])")


def flow_value(text: str, at: int):
    """The flow collection written at text[at], as `read` read it (its end found by counting
    brackets: none is inside a scalar in the forms `read` accepts)."""
    depth = 0
    for bracket in _BRACKET.finditer(text, at):
        depth += 1 if bracket.group() in "[{" else -1
        if depth == 0:
            return _flow(text[at:bracket.end()], 1 << 30, [1 << 62])
    return None


_BRACKET = lazy_re.compile("[\\[\\]{}]")


def flow_item(text: str, at: int, k: int) -> Optional[int]:
    """The offset of item `k` of the flow list written at text[at], found without recording
    every item's (a 4.2M-item list took 9.6 s in flow_positions to locate one): one regex match
    skips k items, when the items before it are scalars or flat collections; else None (ask
    flow_positions). flow_positions would record the same offset."""
    skip = re.compile(f"(?:{_FLAT_ITEM}){{{k}}}+ *") if k else _SPACES
    found = skip.match(text, at + 1)
    if found is None or text[found.end():found.end() + 1] in ("]", "}", ",", ""):
        return None
    return found.end()


# one item and its comma: a plain scalar (no quotes), or a collection holding none
_FLAT_ITEM = " *(?:\\[[^\\[\\]{}\"']*\\]|\\{[^\\[\\]{}\"']*\\}|[^ ,:\\[\\]{}\"']+) *,"


def flow_positions(value, text: str, at: int, marks: dict) -> None:
    """Record in `marks` the offsets inside the flow collection `value`, written at text[at]."""
    open_entries = []
    entry = None  # (collection, value offsets, key offsets or None) of the innermost open one
    key = None
    for token in _FLOW_TOKEN.finditer(text, at):
        bracket = token.group()
        if bracket == "]" or bracket == "}":
            entry = open_entries.pop()
            if entry is None:
                return
            continue
        if token.group(2):
            key = token.group(1)
            entry[2][key] = token.start()
            continue
        if entry is None:
            item = value
        elif entry[2] is None:
            item = entry[0][len(entry[1])]
            entry[1].append(token.start())
        else:
            item = entry[0][key]
            entry[1][key] = token.start()
        if bracket == "[" or bracket == "{":
            open_entries.append(entry)
            entry = marks[id(item)] = (item, [], None) if bracket == "[" else (item, {}, {})
