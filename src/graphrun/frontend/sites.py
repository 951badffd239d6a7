"""sites: where a node that graphrun generated was written.

A node written as an expression (`h: tanh(X @ W1 + b1)`) becomes several nodes (h.1.1, h.1, h),
and a block call (`h1: dense(X, W1, b1)`) the block's nodes, scoped (h1.z, h1). Their document
paths hold an `At` after the owning node's entry: ("nodes", "h", At(site, calls), "args", 1). Every
stage after this one treats the path as any other (the compiler drops node "h" for a problem in
it); when a problem is finally located (errors.locate), the At says where it is: the token in the
expression (exact for every YAML scalar style, via SourceMap.scalar_position), in the file the
expression is in (a block may be in an included file), with a note at each block call it was made
through, innermost first, the way a traceback reads.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import NamedTuple, Optional, Tuple

from ..errors import Note


_NO_ATTRS = MappingProxyType({})  # one for every site without attributes (64 B a node)


class Site:
    """Where one generated node is written: a token of an expression (op_at, the offset of its
    operator or function name, args_at of each argument's first token, attrs_at (key, value)
    offsets by attribute), or, with op_at None, an explicit `{op, args}` node of a block at
    `doc`. `root`: the node is the whole expression of a node the file names (its key is the
    node's key). Compared by identity: one per place written."""

    __slots__ = ("source", "doc", "op_at", "args_at", "attrs_at", "root")

    def __init__(self, source, doc: tuple, op_at: Optional[int] = None, args_at: tuple = (),
                 attrs_at: Optional[dict] = None, root: bool = False):
        self.source, self.doc, self.op_at = source, doc, op_at
        self.args_at, self.attrs_at, self.root = args_at, attrs_at or _NO_ATTRS, root

    def position(self, suffix: tuple = (), at_key: bool = False) -> Tuple[int, int]:
        """(line, col) of what `suffix` names under this node: ("args", i) its i-th argument,
        (attribute,) an attribute's value (its key with at_key), anything else the operator."""
        if self.op_at is None:
            return self.source.locate(self.doc + suffix, at_key)
        offset = self.op_at
        if not suffix:
            if at_key and self.root:
                return self.source.locate(self.doc, True)
        elif suffix[0] == "args" and len(suffix) > 1 and type(suffix[1]) is int \
                and 0 <= suffix[1] < len(self.args_at):
            offset = self.args_at[suffix[1]]
        elif suffix[0] in self.attrs_at:
            key_at, value_at = self.attrs_at[suffix[0]]
            offset = key_at if at_key else value_at
        return scalar_position(self.source, self.doc, offset)

    def __repr__(self):
        return f"<site {getattr(self.source, 'file', '?')} {self.doc} @{self.op_at}>"


class Call(NamedTuple):
    """A block call a generated node was made through: the call's site (op_at: the block's
    name), the block's name and the instance's (the call's node: h1 for h1: dense(...))."""

    site: Site
    block: str
    instance: str = ""


class Pinned(NamedTuple):
    """A place already found: a source that answers every path with one position (for notes
    pointing into an expression)."""

    file: str
    line: int
    col: int

    def locate(self, path=(), at_key=False) -> Tuple[int, int]:
        return self.line, self.col


class At(NamedTuple):
    """The path element of a generated node: its site and the block calls it was made through,
    innermost first. errors.locate asks it where a problem (or a note) at a path through it is."""

    site: Site
    calls: Tuple[Call, ...] = ()

    def _suffix(self, path) -> tuple:
        return tuple(path[path.index(self) + 1:])

    def relocate(self, problem):
        """The problem at its real place: the site's file and position, with the calls as
        notes."""
        line, col = self.site.position(self._suffix(problem.path), problem.at_key)
        return replace(problem, path=(), at_key=False, pos=(line, col), source=self.site.source,
                       notes=self.call_notes() + tuple(problem.notes))

    def relocate_note(self, note: Note) -> Note:
        line, col = self.site.position(self._suffix(note.path), True)
        return Note(note.message, (), Pinned(_file(self.site.source), line, col))

    def call_notes(self) -> tuple:
        notes = []
        for call in self.calls:
            line, col = call.site.position()
            notes.append(Note(f"in block '{call.block}', called here", (),
                              Pinned(_file(call.site.source), line, col)))
        return tuple(notes)


def _file(source) -> str:
    return getattr(source, "file", None) or "<graph>"


def scalar_position(source, doc: tuple, offset: int) -> Tuple[int, int]:
    """The position of character `offset` of the string at `doc` (frontend/load.py's
    SourceMap.scalar_position: exact for every scalar style)."""
    return source.scalar_position(doc, offset)
