"""load: graph file bytes -> plain data + a source map (document path -> line:col).

PyYAML is used only as an event parser. We build the document ourselves, in a flat loop, so that:
- nothing is ever constructed from a tag (no `!!python/...`, no `!!binary`; every tag is refused),
- anchors and aliases are refused (alias bombs, self-referential lists),
- nesting depth is checked as the parser goes, before anything recurses,
- duplicate keys are errors (PyYAML silently keeps the last),
- plain scalars are resolved by the YAML 1.2 core schema (`1e3` is a float, `no` a string, `017` is 17),
- every key and value gets its 1-based line and column.
"""

from __future__ import annotations

import gc
import math
import re
from dataclasses import dataclass, field
from typing import Dict, Tuple

import yaml

from .errors import GraphError, Problem

try:  # the C parser when PyYAML was built with libyaml; the pure-Python one otherwise
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64  # a graph needs ~5 levels plus a tensor's rank; numpy caps rank at 64
INT64_MAX = 2**63 - 1

_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_INT8 = re.compile(r"0o[0-7]+\Z")
_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_NONFINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


@dataclass
class SourceMap:
    """Where each document path was written: 1-based (line, col) of values and of mapping keys."""

    file: str
    values: Dict[tuple, Tuple[int, int]] = field(default_factory=dict)
    keys: Dict[tuple, Tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: tuple, at_key: bool = False) -> Tuple[int, int]:
        """The position of `path`, or of its nearest ancestor that has one; (1, 1) at worst."""
        path = tuple(path)
        if at_key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            if path in self.keys:
                return self.keys[path]
            path = path[:-1]
        return self.values.get((), (1, 1))


@dataclass(frozen=True)
class Document:
    data: dict
    source: SourceMap


def load_file(filename: str) -> Document:
    """Read and load a graph file; every problem is raised as a GraphError."""
    try:
        with open(filename, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise GraphError([Problem("no such file", pos=(1, 1))]) from None
    except IsADirectoryError:
        raise GraphError([Problem("is a directory, expected a graph file", pos=(1, 1))]) from None
    except OSError as e:
        raise GraphError([Problem(f"cannot read the file: {e.strerror}", pos=(1, 1))]) from None
    return load_bytes(raw, filename)


def load_bytes(raw: bytes, filename: str = "<string>") -> Document:
    if len(raw) > MAX_BYTES:
        raise GraphError([Problem(f"file is larger than the {MAX_BYTES // 2**20} MiB limit; "
                                  "keep big tensors in .npy files", pos=(1, 1))])
    text = _decode(raw)
    source = SourceMap(filename)
    # Building a large document makes many small objects; the cyclic collector would walk them
    # again and again for nothing (none of them can form a cycle).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        data = _build(text, source)
    finally:
        if gc_was_enabled:
            gc.enable()
    return Document(data, source)


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        col = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        raise GraphError([Problem(f"invalid UTF-8: byte 0x{raw[e.start]:02x} is not valid here; "
                                  "graph files must be UTF-8 text", pos=(line, col))]) from None


def _pos(mark) -> Tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def resolve_plain(text: str):
    """A plain (unquoted) scalar under the YAML 1.2 core schema; raises ValueError for non-finite
    or out-of-range numbers."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT10.match(text):
        value = int(text, 10)
    elif _INT8.match(text):
        value = int(text[2:], 8)
    elif _INT16.match(text):
        value = int(text[2:], 16)
    elif _FLOAT.match(text):
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"number {text} overflows float64")
        return value
    elif _NONFINITE.match(text):
        raise ValueError(f"non-finite number {text} is not allowed")
    else:
        return text
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ValueError(f"integer {text} does not fit in int64")
    return value


def _build(text: str, source: SourceMap):
    """Build the document from parser events with an explicit stack (no recursion)."""
    values, keys = source.values, source.keys
    problems = []
    # A frame: [container, path, pending key (mappings) or next index (sequences), key position]
    stack = []
    root = None
    documents = 0
    parser = _Loader(text)
    try:
        while True:
            event = parser.get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent or kind is yaml.MappingStartEvent \
                    or kind is yaml.SequenceStartEvent or kind is yaml.AliasEvent:
                pos = _pos(event.start_mark)
                if kind is yaml.AliasEvent:
                    raise GraphError([Problem(
                        f"aliases (*{event.anchor}) are not allowed; write the value out", pos=pos)])
                if event.anchor is not None:
                    raise GraphError([Problem(
                        f"anchors (&{event.anchor}) are not allowed; write the value out", pos=pos)])
                if event.tag is not None and not (kind is yaml.ScalarEvent and event.tag == "!"):
                    raise GraphError([Problem(
                        f"tags are not allowed (found {event.tag!r}); write a plain value", pos=pos)])
                if kind is yaml.ScalarEvent:
                    if event.style in ("", None) and event.tag is None:
                        try:
                            value = resolve_plain(event.value)
                        except ValueError as e:
                            problems.append(Problem(str(e), pos=pos))
                            value = None
                    else:
                        value = event.value
                    container = None
                else:
                    value = container = {} if kind is yaml.MappingStartEvent else []
                if not stack:  # the document's root
                    root, path = value, ()
                    values[()] = pos
                else:
                    frame = stack[-1]
                    parent = frame[0]
                    if type(parent) is list:
                        path = frame[1] + (len(parent),)
                        parent.append(value)
                        values[path] = pos
                    elif frame[2] is _NO_KEY:  # this scalar is a key
                        if container is not None:
                            raise GraphError([Problem(
                                "a mapping key must be a plain name, not a list or mapping", pos=pos)])
                        key = event.value  # keys are names: kept as written, never resolved
                        key_path = frame[1] + (key,)
                        if key_path in keys and key in parent:
                            first = keys[key_path]
                            problems.append(Problem(
                                f"duplicate key '{key}' (first defined at line {first[0]})", pos=pos))
                            key = _Duplicate()  # keep parsing; the value goes nowhere
                        else:
                            keys[key_path] = pos
                        frame[2] = key
                        continue
                    else:
                        key = frame[2]
                        frame[2] = _NO_KEY
                        if type(key) is _Duplicate:
                            path = None
                        else:
                            parent[key] = value
                            path = frame[1] + (key,)
                            values[path] = pos
                if container is not None:
                    if len(stack) >= MAX_DEPTH:
                        raise GraphError([Problem(
                            f"nesting is deeper than {MAX_DEPTH} levels", pos=pos)])
                    stack.append([container, path if path is not None else ("<dup>",), _NO_KEY])
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                stack.pop()
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise GraphError([Problem(
                        "a graph file holds exactly one YAML document; found a second one",
                        pos=_pos(event.start_mark))])
            elif kind is yaml.StreamEndEvent:
                break
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = e.problem or e.context or "invalid YAML"
        raise GraphError(problems + [Problem(f"invalid YAML: {what}",
                                             pos=_pos(mark) if mark else (1, 1))]) from None
    except yaml.reader.ReaderError as e:  # control characters and the like
        before = text[: e.position]
        pos = (before.count("\n") + 1, e.position - (before.rfind("\n") + 1) + 1)
        code = ord(e.character) if isinstance(e.character, str) else e.character
        raise GraphError(problems + [Problem(
            f"control character U+{code:04X} is not allowed in a graph file", pos=pos)]) from None
    except yaml.YAMLError as e:
        raise GraphError(problems + [Problem(f"invalid YAML: {e}", pos=(1, 1))]) from None
    finally:
        parser.dispose()
    if problems:
        raise GraphError(problems)
    if documents == 0 or root is None:
        raise GraphError([Problem("the file is empty; expected a graph (a mapping with "
                                  "'graphrun: 1' and 'nodes')", pos=(1, 1))])
    if type(root) is not dict:
        raise GraphError([Problem("expected a mapping at the top level (graphrun, nodes, ...); "
                                  f"found {'a list' if type(root) is list else 'a single value'}",
                                  pos=values[()])])
    return root


class _Duplicate:
    """Stands in for a duplicated key so that its value is parsed and then dropped."""


_NO_KEY = object()
