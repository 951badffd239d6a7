"""blocks: the sugar of a graph file (expressions, blocks, includes) turned into the NodeSpecs the
explicit form gives, so that nothing after spec knows the sugar was there.

- An expression (frontend/expr.py) becomes one node per operation: the whole expression is the
  node the file names; each operation nested in it is a node of its own named after its place,
  `<owner>.<i>` for the i-th argument (from 1) of the owner's operation, recursively:
  `h: tanh(X @ W1 + b1)` gives h.1.1 = X @ W1, h.1 = h.1.1 + b1, h = tanh(h.1). The names are
  outside the names a file may give ([A-Za-z_][A-Za-z0-9_]*: they hold a dot), depend only on the
  node's own name and expression, and each operator is one op of the table (expr.OPERATORS).
- A block is a named subgraph: `args`, `nodes`, `output`. A call `h1: dense(X, W1, b1)` makes
  its nodes, each block node n named `<call>.n` (h1.z), except the output, which is the call's
  node itself (h1). Inside a block, names are its args and its nodes only. A block's expressions
  are parsed and checked once, into a template of Protos; each call instantiates it.
- `include: [layers.yaml]` brings the blocks of another file (a library: `graphrun: 1`, `blocks`,
  maybe `include` and `description`, no nodes), relative to the including file and inside the
  folder of the graph being compiled.

Problems come with their place: a token of an expression (sites.py), in the file it is in.
"""

from __future__ import annotations

import os
from typing import Dict, List, NamedTuple, Optional, Tuple

from .. import lazy_re
from ..errors import GraphError, Note, Problem, did_you_mean
from ..ops import OPS
from . import expr, reading, spec
from .expr import BinOp, Call, ExprError, Index, List as ListLit, Name, Neg, Number, Slice, Word
from .sites import At, Call as CallSite, Site, scalar_position

MAX_BLOCK_DEPTH = 64  # blocks calling blocks calling blocks ...
LIBRARY_KEYS = ("graphrun", "description", "blocks", "include")


class Proto(NamedTuple):
    """A node to make: its name in the space it was written in (a block's, or the graph's), the
    op, its arguments (("ref", name, origin), ("arg", k), ("const", value)), its attributes as
    a NodeSpec holds them, where it was written, and the block calls it came through."""

    local: str
    op: str
    args: tuple
    attrs: tuple
    site: Site
    calls: tuple = ()


class Block:
    """A block as written, and its template once built (None while broken)."""

    def __init__(self, name, body, source, path, origin):
        self.name, self.body, self.source, self.path = name, body, source, path
        self.origin = origin  # (source, path) of the include line that brought it, or None
        self.args: Tuple[str, ...] = tuple(body.get("args") or ())
        self.output: str = body.get("output", "")
        self.protos: Optional[List[Proto]] = None
        self.state = "new"  # new, building, built, broken


class Library:
    """The blocks a graph can call: its own and its includes'. `complete` is False when some
    include could not be read: a call of an unknown name is then no new problem."""

    def __init__(self):
        self.blocks: Dict[str, Block] = {}
        self.complete = True
        self.files: List[str] = []  # the files included, each once (real paths)
        self.broken: set = set()  # block names whose problems are reported already
        # expression text -> its template (`_template_of`), while the library has no block: a
        # file repeats its expressions, and each is then parsed and lowered once
        self.templates: dict = {}
        self.template_room = _TEMPLATE_ROOM  # arguments the templates may still hold

    def __contains__(self, name):
        return name in self.blocks or name in self.broken


class LibraryFile(GraphError):
    """The file is a library of blocks (it has `blocks` and no `nodes`): nothing to run."""


def is_library(data) -> bool:
    return type(data) is dict and "blocks" in data and "nodes" not in data


def is_library_file(path: str) -> bool:
    """Whether `path` is a library of blocks, not a graph (folder scans skip it). A file that
    cannot be read is not one: compiling it says why."""
    from .load import MAX_BYTES, load_file

    try:
        if b"blocks" not in reading.read_bytes(path, MAX_BYTES):
            return False
        return is_library(load_file(path).data)
    except (GraphError, OSError):
        return False


# ---------------------------------------------------------------------------------------------
# the library: blocks and includes

def build_library(data: dict, source, broken_blocks=frozenset(), *, root: Optional[str] = None,
                  complete: bool = True, allow_outside: bool = False) -> Tuple[Library, list]:
    """The blocks `data` defines and includes, each checked and made a template; (library,
    problems). `root` is the folder includes must stay in (the graph file's), unless
    `allow_outside`."""
    library = Library()
    library.complete = complete
    library.broken |= set(broken_blocks)
    problems: list = []
    file = getattr(source, "file", "<string>")
    root = None if allow_outside else root or os.path.dirname(os.path.abspath(file))
    _gather(data, source, None, library, problems, root, [os.path.realpath(file)], {})
    for block in list(library.blocks.values()):
        _template(block, library, problems, ())
    return library, problems


def _gather(data, source, origin, library, problems, root, chain, loaded):
    for name, body in (data.get("blocks") or {}).items():
        path = ("blocks", name)
        if name in OPS:
            problems.append(Problem(f"block '{name}' has the name of an op; name it otherwise",
                                    path, at_key=True, source=source))
            library.broken.add(name)
            continue
        first = library.blocks.get(name)
        if first is not None:
            where = origin or (source, path)
            problems.append(Problem(
                f"block '{name}' is defined twice", where[1], at_key=origin is None,
                source=where[0],
                notes=(Note(f"'{name}' defined here", first.path, first.source),
                       Note(f"and '{name}' defined here", path, source))))
            library.broken.add(name)
            continue
        library.blocks[name] = Block(name, body, source, path, origin)
    base = os.path.dirname(os.path.abspath(getattr(source, "file", "<string>")))
    for i, entry in enumerate(data.get("include") or ()):
        here = (source, ("include", i))
        included = _include(entry, base, root, here, chain, loaded, library, problems)
        if included is not None:
            document, real = included
            chain.append(real)
            _gather(document.data, document.source, here, library, problems, root, chain, loaded)
            chain.pop()


def _include(entry, base, root, here, chain, loaded, library, problems):
    """(document, real path) of an include entry to read now; None when it is read already or
    cannot be (a problem, at the include line, says why)."""
    from . import schema
    from .load import load_file

    source, path = here

    def problem(message, notes=()):
        problems.append(Problem(message, path, source=source, notes=notes))
        library.complete = False

    if not entry.endswith((".yaml", ".yml")):
        return problem(f"include {entry!r}: expected a graph file name ending in .yaml or .yml")
    if "\0" in entry:
        return problem(f"include {entry!r}: a file name cannot hold a NUL character")
    full = os.path.normpath(os.path.join(base, entry))
    real = os.path.realpath(full)
    real_root = os.path.realpath(root or base)
    if root is not None and not reading.inside(full, root):
        problems.append(Problem(f"include {entry!r} is outside the graph's folder ({root}): "
                                "includes stay in the folder tree of the graph file", path,
                                source=source, fix="allow_outside"))
        library.complete = False
        return None
    if real in chain:
        names = [os.path.relpath(p, real_root) for p in chain[chain.index(real):]]
        return problem("include cycle: " + " -> ".join(names + [os.path.relpath(real,
                                                                                  real_root)]))
    if real in loaded:
        return None  # a diamond: its blocks are here already
    if not os.path.exists(real):  # one that is not a regular file: the reading door says why
        return problem(f"include {entry!r}: no such file (looked in {full})")
    loaded[real] = True
    library.files.append(real)
    try:
        document = load_file(full)
    except GraphError as e:
        document = getattr(e, "document", None)
        problems.extend(_included_from(e.problems, here))
        library.complete = False
        if document is None:
            return None
    if type(document.data) is not dict:
        return None
    found = schema.check(document.data)
    if found:
        problems.extend(_included_from(
            [Problem(p.message, p.path, p.at_key, p.pos, p.notes, document.source)
             for p in found], here))
        library.complete = False
        return None
    other = [k for k in document.data if k not in LIBRARY_KEYS]
    if other:
        return problem(f"{entry} is not a library of blocks: it has "
                       + ", ".join(repr(k) for k in other)
                       + "; an included file holds only graphrun, description, blocks and "
                         "include")
    return document, real


def _included_from(found, here):
    source, path = here
    note = Note("in the file included here", path, source)
    return [Problem(p.message, p.path, p.at_key, p.pos, p.notes + (note,), p.source, p.fix)
            for p in found]


def _template(block: Block, library: Library, problems: list, chain: tuple):
    """The block's Protos (built once); None when the block is broken."""
    if block.state == "built":
        return block.protos
    if block.state in ("broken",):
        return None
    block.state = "building"
    before = len(problems)
    protos = _build_block(block, library, problems, chain + (block.name,))
    if len(problems) > before or protos is None:
        block.state = "broken"
        library.broken.add(block.name)
        return None
    block.protos, block.state = protos, "built"
    return protos


def _build_block(block, library, problems, chain):
    source, path, body = block.source, block.path, block.body
    nodes = body.get("nodes") or {}
    args = block.args
    ok = True
    for i, arg in enumerate(args):
        if arg in args[:i]:
            problems.append(Problem(f"block '{block.name}' names the argument '{arg}' twice",
                                    path + ("args", i), source=source))
            ok = False
        if arg in nodes:
            problems.append(Problem(
                f"name '{arg}' is defined twice in block '{block.name}': as an argument and "
                f"as a node", path + ("nodes", arg), at_key=True, source=source,
                notes=(Note(f"'{arg}' is an argument here", path + ("args", i), source),)))
            ok = False
    if block.output not in nodes:
        hint = did_you_mean(block.output, nodes)
        what = "an argument" if block.output in args else "no node of the block"
        problems.append(Problem(f"block '{block.name}': output '{block.output}' is {what}; "
                                f"the output must be one of its nodes{hint}",
                                path + ("output",), source=source))
        ok = False
    if not ok:
        return None
    known = set(nodes)

    def resolve(name, at, doc):
        if name in args:
            return ("arg", args.index(name))
        if name in known:
            return ("ref", name, None)
        names = list(args) + list(nodes)
        raise _Unknown(f"unknown name '{name}' in block '{block.name}'"
                       f"{did_you_mean(name, names)} (a block uses only its args "
                       f"{', '.join(args) or '(none)'} and its own nodes: pass the value as "
                       f"an argument)", at)

    protos = []
    for name, node in nodes.items():
        doc = path + ("nodes", name)
        if type(node) is str:
            made = _lower_text(node, name, source, doc, resolve, library, problems, chain)
        else:
            made = _explicit(node, name, source, doc, resolve, problems)
        if made is not None:
            protos.extend(made)
    return protos


class _Unknown(Exception):
    def __init__(self, message, at):
        super().__init__(message)
        self.message, self.at = message, at


def _explicit(node, name, source, doc, resolve, problems):
    """An `{op, args}` node of a block: checked here once, not per instance."""
    node_attrs = spec.node_attrs
    site = Site(source, doc)
    op = OPS.get(node["op"])
    if op is None:
        hint = did_you_mean(node["op"], OPS)
        problems.append(Problem(f"unknown op '{node['op']}'{hint}", doc + ("op",), source=source))
        return None
    bad = _arity_problem(op, len(node["args"]))
    if bad:
        problems.append(Problem(bad, doc + ("args",), source=source))
        return None
    args = []
    for i, arg in enumerate(node["args"]):
        if type(arg) is str:
            try:
                args.append(resolve(arg, None, doc))
            except _Unknown as e:
                problems.append(Problem(e.message, doc + ("args", i), source=source))
                return None
        else:
            args.append(("const", float(arg)))
    written = {k: v for k, v in node.items() if k not in ("op", "args")}
    for key, value in written.items():
        message = _attr_problem(op, key, value)
        if message:
            problems.append(Problem(message, doc + (key,), at_key=key not in op.attrs,
                                    source=source))
            return None
    missing = [k for k in op.required if k not in written]
    if missing:
        problems.append(Problem(f"{op.name} needs the attribute '{missing[0]}'", doc,
                                at_key=True, source=source))
        return None
    return [Proto(name, op.name, tuple(args), node_attrs(op, written), site)]


def _arity_problem(op, n) -> str:
    if op.variadic:
        return "" if n >= 1 else f"{op.name} takes at least 1 argument; found {n}"
    if n == op.arity:
        return ""
    return f"{op.name} takes {op.arity} argument{'s' if op.arity != 1 else ''}; found {n}"


def _attr_problem(op, key, value) -> str:
    attr = op.attrs.get(key)
    if attr is None:
        takes = f"it takes {', '.join(op.attrs)}" if op.attrs else "it takes none"
        return f"{op.name} takes no attribute '{key}' ({takes}){did_you_mean(key, op.attrs)}"
    if not attr.kind.fits(value):
        return f"{op.name}: {attr.kind.misfit(key, value)}"
    return ""


# ---------------------------------------------------------------------------------------------
# expressions -> Protos

def _lower_text(text, owner, source, doc, resolve, library, problems, chain):
    """The Protos of the expression `text` of node `owner` (written at `doc` in `source`); None
    after adding its problem."""
    try:
        tree = expr.parse(text)
        return _Lowering(owner, source, doc, resolve, library, chain, problems).node(tree)
    except (ExprError, _Unknown) as e:
        problems.append(_problem(e, text, source, doc))
        return None
    except _Silent:
        return None


def _problem(e, text, source, doc) -> Problem:
    """The problem `e` (ExprError or _Unknown) of the expression `text` at `doc`, at its place."""
    if 0 < len(text) <= e.at:  # the end of the expression: just after its last character
        line, col = scalar_position(source, doc, len(text) - 1)
        pos = (line, col + 1)
    else:
        pos = scalar_position(source, doc, e.at)
    return Problem(e.message, doc, pos=pos, source=source)


class _Silent(Exception):
    """The expression calls a block whose problems are reported already."""


def _start(tree) -> int:
    """The offset of a tree's first token."""
    while True:
        kind = type(tree)
        if kind is BinOp:
            tree = tree.left
        elif kind is Index:
            tree = tree.value
        else:
            return tree.at


class _Lowering:
    def __init__(self, owner, source, doc, resolve, library, chain, problems):
        self.owner, self.source, self.doc = owner, source, doc
        self.resolve, self.library, self.chain = resolve, library, chain
        self.problems = problems  # a block built on the way reports its own problems here
        self.protos: List[Proto] = []

    def node(self, tree):
        result = self.value(tree, self.owner, True)
        if result != ("ref", self.owner, None) or \
                not any(p.local == self.owner for p in self.protos):
            raise ExprError("an expression must compute something; a name or a number alone "
                            "is not an operation (use the name itself, or make a constant an "
                            "input)", _start(tree))
        return self.protos

    def value(self, tree, name, root=False):
        """The argument `tree` gives its user: a reference, a block argument or a literal; an
        operation becomes Protos, the last of them named `name`."""
        kind = type(tree)
        if kind is Name:
            return self.resolve(tree.text, tree.at, self.doc)
        if kind is Number:
            return ("const", float(tree.value))
        if kind is BinOp:
            if tree.op == "**" and type(tree.right) is Number and tree.right.value == 2:
                return self.op(expr.SQUARE, tree.at, [tree.left], {}, name, root)
            return self.op(expr.OPERATORS[tree.op], tree.at, [tree.left, tree.right], {}, name,
                           root)
        if kind is Neg:
            return self.op(expr.NEGATE, tree.at, [tree.operand], {}, name, root)
        if kind is Call:
            if tree.func in OPS:
                entry = OPS[tree.func]
                bad = _arity_problem(entry, len(tree.args))
                if bad:
                    if tree.args and len(tree.args) > (entry.arity or 0) and entry.attrs and \
                            not entry.variadic:
                        bad += f" (attributes are keywords: {tree.func}(x, " \
                               f"{next(iter(entry.attrs))}=...))"
                    raise ExprError(bad, tree.at)
                return self.op(tree.func, tree.at, list(tree.args), tree.keywords, name, root)
            if tree.func in self.library:
                return self.call(tree, name)
            if not self.library.complete:
                raise _Silent()
            names = list(OPS) + list(self.library.blocks)
            raise ExprError(f"unknown function '{tree.func}'{did_you_mean(tree.func, names)}"
                            " (a function is an op of the table or a block)", tree.at)
        if kind is Index:
            return self.index(tree, name, root)
        if kind is Word or kind is ListLit:
            raise ExprError("true, false, null, strings and lists are attribute values: write "
                            "them as keywords, as in sum(x, axis=[0, 1])", tree.at)
        raise ExprError("not an expression", getattr(tree, "at", 0))  # pragma: no cover

    def op(self, op_name, at, operands, keywords, name, root):
        entry = OPS[op_name]
        args = [self.value(t, f"{name}.{i}") for i, t in enumerate(operands, 1)]
        written, attrs_at = {}, {}
        for keyword in keywords:
            value = _literal(keyword.value)
            message = _attr_problem(entry, keyword.key, value)
            if message:  # an unknown attribute at its key, a misfit at its value
                raise ExprError(message, keyword.at if keyword.key not in entry.attrs else
                                _start(keyword.value))
            written[keyword.key] = value
            attrs_at[keyword.key] = (keyword.at, _start(keyword.value))
        for key in entry.required:
            if key not in written:
                raise ExprError(f"{op_name} needs the attribute '{key}' ({op_name}(x, {key}=...))",
                                at)
        node_attrs = spec.node_attrs
        site = Site(self.source, self.doc, at, tuple(_start(t) for t in operands), attrs_at, root)
        self.protos.append(Proto(name, op_name, tuple(args), node_attrs(entry, written), site))
        return ("ref", name, None)

    def call(self, tree, name):
        """A block call: the block's template, instantiated into this space."""
        block = self.library.blocks.get(tree.func)
        if block is None or tree.func in self.library.broken:
            raise _Silent()  # a broken block (or one defined twice): its problems are reported
        if tree.func in self.chain:
            cycle = list(self.chain[self.chain.index(tree.func):]) + [tree.func]
            raise ExprError(f"block '{tree.func}' calls itself: {' -> '.join(cycle)}", tree.at)
        if len(self.chain) >= MAX_BLOCK_DEPTH:
            raise ExprError(f"blocks are nested deeper than {MAX_BLOCK_DEPTH} calls", tree.at)
        bound: list = [None] * len(block.args)
        for i, t in enumerate(tree.args):
            if i >= len(block.args):
                raise ExprError(f"block '{block.name}' takes {len(block.args)} argument"
                                f"{'s' if len(block.args) != 1 else ''} "
                                f"({', '.join(block.args)}); found {len(tree.args)}", tree.at)
            bound[i] = (t, i)
        for j, keyword in enumerate(tree.keywords, len(tree.args)):
            if keyword.key not in block.args:
                raise ExprError(f"block '{block.name}' has no argument '{keyword.key}' (its "
                                f"args: {', '.join(block.args)})"
                                f"{did_you_mean(keyword.key, block.args)}", keyword.at)
            k = block.args.index(keyword.key)
            if bound[k] is not None:
                raise ExprError(f"argument '{keyword.key}' of block '{block.name}' is given "
                                "twice", keyword.at)
            bound[k] = (keyword.value, j)
        missing = [a for a, b in zip(block.args, bound) if b is None]
        if missing:
            raise ExprError(f"block '{block.name}' needs the argument '{missing[0]}' (its args: "
                            f"{', '.join(block.args)})", tree.at)
        protos = _template(block, self.library, self.problems, self.chain)
        if protos is None:
            raise _Silent()
        operands = [t for t, _ in sorted(bound, key=lambda b: b[1])]
        site = Site(self.source, self.doc, tree.at, tuple(_start(t) for t in operands))
        here = CallSite(site, block.name, name)
        bindings = []
        for (t, j) in bound:
            value = self.value(t, f"{name}.{j + 1}")
            if value[0] == "ref" and value[2] is None and type(t) is Name:
                value = ("ref", value[1], (site, j))  # an unknown name is the call's problem
            bindings.append(value)
        self.protos.extend(instantiate(block, protos, name, bindings, here))
        return ("ref", name, None)

    def index(self, tree, name, root):
        """x[...]: the op of the table that indexing maps to (docs/format.md)."""
        items = []
        for item in tree.items:
            if type(item) is Slice:
                parts = [_index_int(p) for p in (item.start, item.stop, item.step)]
                items.append(":".join("" if p is None else str(p) for p in parts[:2])
                             + ("" if parts[2] is None else f":{parts[2]}"))
            else:
                items.append(_index_int(item))
        op_name, attr = _subscript_op()
        if op_name is None:
            raise ExprError("indexing x[...] needs the op 'index' in the op table, which this "
                            "graphrun does not have yet", tree.at)
        keywords = (expr.Keyword(attr, tree.at, _Literal(items, tree.at)),)
        return self.op(op_name, tree.at, [tree.value], keywords, name, root)


class _Literal(NamedTuple):
    value: object
    at: int
    depth: int = 1


def _subscript_op():
    """(op, attribute) that x[...] becomes: the table's `index` op, its one attribute taking the
    items as numpy's basic indexing writes them (an integer, or "start:stop:step" text)."""
    entry = OPS.get("index")
    if entry is None or len(entry.attrs) != 1:
        return None, None
    return "index", next(iter(entry.attrs))


def _index_int(tree):
    if tree is None:
        return None
    if type(tree) is Number and type(tree.value) is int:
        return tree.value
    raise ExprError("an index is an integer literal (or start:stop:step of them)",
                    getattr(tree, "at", 0))


def _literal(tree):
    """An attribute's value from its tree: numbers, true/false/null, strings, lists of them."""
    kind = type(tree)
    if kind is Number or kind is Word or kind is _Literal:
        return tree.value
    if kind is ListLit:
        return [_literal(item) for item in tree.items]
    raise ExprError("an attribute's value is a literal: a number, true, false, null, a string "
                    "or a list of them", _start(tree))


def instantiate(block: Block, protos, scope: str, bindings, here: CallSite) -> List[Proto]:
    """The block's Protos in the caller's space: each block node n becomes `<scope>.n`, the
    output `<scope>`; the block's args become the call's arguments."""
    output = block.output
    prefix = scope + "."

    def rename(local):
        if local == output:
            return scope
        return prefix + local

    out = []
    for proto in protos:
        args = []
        for arg in proto.args:
            kind = arg[0]
            if kind == "arg":
                args.append(bindings[arg[1]])
            elif kind == "ref":
                args.append(("ref", rename(arg[1]), None))
            else:
                args.append(arg)
        calls = tuple(CallSite(c.site, c.block, rename(c.instance)) for c in proto.calls)
        out.append(Proto(rename(proto.local), proto.op, tuple(args), proto.attrs, proto.site,
                         calls + (here,)))
    return out


# ---------------------------------------------------------------------------------------------
# a graph's own nodes

_OPERAND = r"([A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|[1-9][0-9]*))*" \
           r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
# one operation on names and numbers, the line most graphs are made of: `a * b`, `tanh(a)`,
# `f(a, b)`. Read by a regular expression into exactly the NodeSpec the general path makes
# (tests/test_expr.py compares the two), at a fraction of its cost
_BINARY = lazy_re.compile(r"\s*" + _OPERAND + r"\s*(\*\*|[-+*/@])\s*" + _OPERAND + r"\s*\Z")
_CALL = lazy_re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\(\s*" + _OPERAND + r"\s*(?:,\s*" + _OPERAND
                   + r"\s*)?\)\s*\Z")
_NUMBER_START = frozenset("0123456789.")


def _simple(name, text, source, library, path_of):
    """The NodeSpecs of a one-operation expression, or None to take the general path."""
    Const, NodeSpec, Ref = spec.Const, spec.NodeSpec, spec.Ref
    match = _BINARY.match(text)
    if match is not None:
        a, symbol, b = match.group(1, 2, 3)
        op = expr.OPERATORS[symbol]
        operands = ((a, match.start(1)), (b, match.start(3)))
        if symbol == "**" and b[0] in _NUMBER_START and float(b) == 2:
            op, operands = expr.SQUARE, operands[:1]
        op_at = match.start(2)
    else:
        match = _CALL.match(text)
        if match is None:
            return None
        op, a, b = match.group(1, 2, 3)
        entry = OPS.get(op)
        if entry is None or entry.required or (entry.arity or 0) != (1 if b is None else 2) \
                or op in library:
            return None
        operands = ((a, match.start(2)),) if b is None else ((a, match.start(2)),
                                                               (b, match.start(3)))
        op_at = match.start(1)
    path = ("nodes", name, At(Site(source, ("nodes", name), op_at,
                                   tuple(at for _, at in operands), None, True)))
    args = []
    for i, (word, _) in enumerate(operands):
        if word[0] in _NUMBER_START:
            value = float(word)
            if value == _INF:
                return None
            args.append(Const(value, path + ("args", i)))
        else:
            args.append(Ref(word, None))  # spec.arg_path: path + ("args", i), when asked
    return [NodeSpec(name, op, tuple(args), (), path)]


_INF = float("inf")


def plain(library: Library) -> bool:
    """Whether an expression's nodes depend on its text alone (and its owner's name): no block
    to call, none broken, no include missing."""
    return not library.blocks and not library.broken and library.complete


_OWNER = "\0"  # the owner a template is lowered for: no name a file gives holds it
_TEMPLATE_ROOM = 400_000  # arguments held by one library's templates, at most (~30 MiB)


def _template_of(text: str, library: Library):
    """The expression's nodes for any owner (a plain library's): a tuple of (suffix of the
    node's name, op, args, attrs, op_at, args_at, attrs_at, root, shared) per node, in the order
    the general path makes them; each arg a Ref as made, ("gen", suffix) for a node of this
    expression, or ("const", value); `shared`: every arg is a Ref, the tuple used as it is.
    Its problem (an ExprError: the general path's, whose words name no owner) is raised."""
    found = library.templates.get(text)
    if found is not None:
        return found
    protos = _Lowering(_OWNER, None, None, _as_written, library, (), []).node(expr.parse(text))
    Ref = spec.Ref
    made, size = [], 0
    for proto in protos:
        args, shared = [], True
        for arg in proto.args:
            kind = arg[0]
            if kind == "ref":
                if arg[1][:1] == _OWNER:
                    args.append(("gen", arg[1][1:]))
                    shared = False
                else:
                    args.append(Ref(arg[1], None))
            else:
                args.append(("const", arg[1]))
                shared = False
        site = proto.site
        made.append((proto.local[1:], proto.op, tuple(args), proto.attrs, site.op_at,
                     site.args_at, site.attrs_at, site.root, shared))
        size += len(args) + 1
    template = tuple(made)
    if size <= library.template_room:
        library.template_room -= size
        library.templates[text] = template
    return template


def _as_written(word, at, doc):
    return ("ref", word, None)


def _instance(template, name: str, source) -> list:
    """The NodeSpecs of `template` for the node `name` written in `source`: what the general
    path makes of the same text (tests/test_expr.py compares the two)."""
    Const, NodeSpec, Ref = spec.Const, spec.NodeSpec, spec.Ref
    doc = ("nodes", name)
    specs = []
    for suffix, op, args, attrs, op_at, args_at, attrs_at, root, shared in template:
        path = ("nodes", name, At(Site(source, doc, op_at, args_at, attrs_at, root), ()))
        if not shared:
            made = []
            for i, arg in enumerate(args):
                if type(arg) is Ref:
                    made.append(arg)
                elif arg[0] == "gen":
                    made.append(Ref(name + arg[1], None))
                else:
                    made.append(Const(arg[1], path + ("args", i)))
            args = tuple(made)
        specs.append(NodeSpec(name + suffix, op, args, attrs, path))
    return specs


def generated_names(name: str, text: str, source, library: Library):
    """The names of the nodes `name: text` stands for, in order (the node's own among them),
    without making them; None when it has a problem. For a plain library."""
    template = library.templates.get(text)  # (a text _simple reads is never made one)
    if template is not None:
        return tuple([name + entry[0] for entry in template])
    if _simple(name, text, source, library, None) is not None:
        return (name,)
    try:
        template = _template_of(text, library)
    except (ExprError, _Unknown):
        return None
    return tuple([name + entry[0] for entry in template])


def expand_node(name: str, text: str, source, library: Library, problems: list, *,
                fast: bool = True):
    """The NodeSpecs of the expression node `name: text`; None after adding its problem (or
    when it calls a block whose problems are reported already: then its name is broken).
    `fast=False` takes the general path for every expression (what the fast one is tested
    against); else a one-operation line is read by a regular expression (`_simple`), and with a
    plain library each text is parsed and lowered once, into a template (`_template_of`)."""
    Const, NodeSpec, Ref = spec.Const, spec.NodeSpec, spec.Ref

    if fast:
        specs = _simple(name, text, source, library, None)
        if specs is not None:
            return specs
        if plain(library):
            try:
                template = _template_of(text, library)
            except (ExprError, _Unknown) as e:  # as the general path words and places it
                problems.append(_problem(e, text, source, ("nodes", name)))
                return None
            return _instance(template, name, source)
    doc = ("nodes", name)

    def resolve(word, at, _doc):
        return ("ref", word, None)

    protos = _lower_text(text, name, source, doc, resolve, library, problems, ())
    if protos is None:
        return None
    specs = []
    for proto in protos:
        path = ("nodes", name, At(proto.site, proto.calls))
        args = []
        for i, arg in enumerate(proto.args):
            kind = arg[0]
            if kind == "ref":
                origin = arg[2]
                where = None if origin is None else \
                    ("nodes", name, At(origin[0]), "args", origin[1])  # None: arg_path's
                args.append(Ref(arg[1], where))
            else:
                args.append(Const(arg[1], path + ("args", i)))
        specs.append(NodeSpec(proto.local, proto.op, tuple(args), proto.attrs, path))
    return specs


def instances(path) -> tuple:
    """The block instances a node's path says it belongs to, outermost first: ((instance,
    block), ...), e.g. (("h1", "dense"),) for h1.z. Empty for a node the graph itself writes."""
    for part in path:
        if type(part) is At:
            return tuple((call.instance, call.block) for call in reversed(part.calls))
    return ()
