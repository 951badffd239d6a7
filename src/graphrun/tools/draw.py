"""draw: a graph as a Mermaid flowchart (GitHub renders it in Markdown), as Graphviz DOT, or as SVG
rendered from the DOT by Graphviz's `dot` when it is installed. Mermaid and DOT are written by
graphrun itself; only SVG needs a program of the system.

Every value is a node labelled with its name, op, value and gradient, numbers rounded for reading
(%.6g, as explain writes them; the results files keep every digit): a tensor of up to
SMALL_TENSOR elements shows its numbers, a bigger one its shape and norm. Inputs, params, number
literals and ops have shapes of their own (params are cylinders: the stored values training
changes) and classes; the loss has a thick border. Each argument is one edge, in argument order,
numbered from 1 when the op takes more than one (so `mul(x, x)` draws two edges, 1 and 2), and a
legend says what the numbers mean.

Mermaid refuses a diagram of more than 500 edges or 50,000 characters by default (its `maxEdges`
and `maxTextSize`, which a diagram cannot raise for itself); past either the Drawing carries a
warning that says so and what to use instead.

Pure logic but for `render_svg` (which runs `dot`): `draw(results, format)` returns a Drawing.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Tuple

import numpy as np

from ..engine.values import Results
from ..frontend.blocks import instances
from ..ops.table import shape_str
from .explain import arg_name, number_text
from ..defaults import DRAW_FORMATS as FORMATS  # in defaults.py: draw's --help shows them

SMALL_TENSOR = 12  # a tensor of at most this many elements shows its numbers on its node
ROW = 6  # numbers per line of a label
MERMAID_MAX_EDGES = 500  # Mermaid's defaults (config maxEdges, maxTextSize)
MERMAID_MAX_TEXT = 50_000


class GraphvizMissing(RuntimeError):
    """`dot` is not installed: SVG cannot be rendered (the message says what to install)."""


class GraphvizFailed(RuntimeError):
    """`dot` ran and failed."""


@dataclass(frozen=True)
class Box:
    id: str  # n<slot>: names stay in labels, so no name can clash with a keyword of either format
    kind: str  # "input", "param", "const" or "op"
    lines: Tuple[str, ...]
    loss: bool


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str  # the argument's position counted from 1, or "" for an op of one argument


@dataclass(frozen=True)
class Drawing:
    """A drawing's text in one format, and what a reader should know about it (warnings)."""

    format: str  # "mermaid", "dot" or "svg"
    text: str
    warnings: Tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.text

    # notebook display: Jupyter picks the richest of these its front end can show
    def _repr_markdown_(self) -> Optional[str]:
        if self.format == "svg":
            return None
        notes = "".join(f"> **warning:** {w}\n\n" for w in self.warnings)
        fence = "mermaid" if self.format == "mermaid" else "dot"
        return f"{notes}```{fence}\n{self.text}```\n"

    def _repr_svg_(self) -> Optional[str]:
        if self.format == "svg":
            return self.text
        if self.format == "dot" and shutil.which("dot"):
            return render_svg(self.text)
        return None


def draw(results: Results, format: str = "mermaid") -> Drawing:
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r} (expected one of: {', '.join(FORMATS)})")
    boxes, edges = _layout(results)
    legend = _legend(results.program)
    p = results.program
    groups = _groups(p)
    if format == "mermaid":
        title = p.name + (f": {p.description}" if p.description else "")
        text = mermaid(title, boxes, edges, legend, groups)
        return Drawing(format, text, mermaid_warnings(len(edges), len(text)))
    text = dot(p.name, boxes, edges, legend, groups)
    return Drawing(format, render_svg(text) if format == "svg" else text)


class Group(NamedTuple):
    """The boxes of one block instance (a Mermaid subgraph, a DOT cluster), and the instances
    called inside it."""

    title: str  # "h1: dense"
    ids: Tuple[str, ...]
    inner: tuple


def _member_ids(groups) -> set:
    ids, todo = set(), list(groups)
    while todo:
        group = todo.pop()
        ids.update(group.ids)
        todo.extend(group.inner)
    return ids


def _groups(program) -> tuple:
    """The block instances' groups, outermost first, in program order."""
    tree: dict = {}  # (instance, block) -> [ids, subtree]
    for step in program.steps:
        level = tree
        chain = instances(step.path)
        for i, key in enumerate(chain):
            entry = level.setdefault(key, [[], {}])
            if i == len(chain) - 1:
                entry[0].append(f"n{step.out}")
            level = entry[1]

    def build(level):
        return tuple(Group(f"{instance}: {block}", tuple(ids), build(inner))
                     for (instance, block), (ids, inner) in level.items())
    return build(tree)


def _layout(results: Results):
    p = results.program
    grads = results.slot_grads
    boxes: List[Box] = []
    step_of = {step.out: step for step in p.steps}
    for slot, name in enumerate(p.names):
        kind = p.kinds[slot]
        value = results.slot_values[slot]
        if kind == "const":
            boxes.append(Box(f"n{slot}", "const", (number_text(value),), False))
            continue
        head = name if kind in ("input", "param") else f"{name} = {_op_text(step_of[slot])}"
        lines = [head] if kind == "node" else [head, kind]
        lines += quantity_lines("value", value)
        if grads is not None and grads[slot] is not None:
            lines += quantity_lines("grad", grads[slot])
        boxes.append(Box(f"n{slot}", "op" if kind == "node" else kind, tuple(lines),
                         slot == p.loss))
    edges = []
    for step in p.steps:
        for i, slot in enumerate(step.args):
            edges.append(Edge(f"n{slot}", f"n{step.out}", str(i + 1) if len(step.args) > 1 else ""))
    return boxes, edges


def _legend(program) -> Optional[str]:
    """What the numbers on edges mean, with the graph's first op of several arguments as the
    example; None when no edge has a number."""
    for step in program.steps:
        if len(step.args) > 1:
            names = [arg_name(program, s) for s in step.args]
            which = ", ".join(f"{i} is {n}" for i, n in enumerate(names, 1))
            return (f"numbers on edges: argument positions, counted from 1 "
                    f"({step.name} = {step.op.name}({', '.join(names)}): {which})")
    return None


def _op_text(step) -> str:
    attrs = "".join(f", {k}={_attr_text(v)}" for k, v in step.attrs)
    return f"{step.op.name}({attrs[2:]})" if attrs else step.op.name


def _attr_text(value) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def quantity_lines(what: str, value) -> List[str]:
    """`value 6`; a small tensor's numbers, a row per line (`value (2,3)`, `[1, 2, 3]`, ...);
    a bigger one as shape and norm. Numbers are rounded for reading."""
    a = np.asarray(value)
    if a.ndim == 0:
        return [f"{what} {number_text(a)}"]
    if a.size <= SMALL_TENSOR and a.ndim <= 2:
        rows = a.reshape(1, -1) if a.ndim == 1 else a
        lines = []
        for row in rows:
            numbers = [number_text(x) for x in row]
            lines += ["[" + ", ".join(numbers[k:k + ROW]) + "]"
                      for k in range(0, len(numbers), ROW)]
        if a.ndim == 1 and len(lines) == 1:
            return [f"{what} {lines[0]}"]
        return [f"{what} {shape_str(a.shape)}"] + lines
    if a.dtype.kind in "iub":
        return [f"{what} {shape_str(a.shape)} {a.dtype}"]
    return [f"{what} {shape_str(a.shape)} norm {number_text(np.linalg.norm(a.reshape(-1)))}"]


# ---------------------------------------------------------------------------------------------
# Mermaid

# params are cylinders, `[(...)]`: a stadium `([...])` of several lines renders as a circle, which
# reads as a number literal
_MERMAID_SHAPES = {"input": ('[/"', '"/]'), "param": ('[("', '")]'), "const": ('(("', '"))'),
                   "op": ('["', '"]')}
_MERMAID_CLASSES = {
    "input": "fill:#e0f2fe,stroke:#0369a1,color:#0c4a6e",
    "param": "fill:#fef3c7,stroke:#b45309,color:#78350f",
    "const": "fill:#f3f4f6,stroke:#9ca3af,color:#374151",
    "op": "fill:#ffffff,stroke:#374151,color:#111827",
    "loss": "stroke:#b91c1c,stroke-width:3px",
    "legend": "fill:none,stroke:none,color:#4b5563",
}


def mermaid_escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: Mermaid's entity codes for the characters that
    would end the label or be read as HTML. '#' first: the codes themselves start with it."""
    text = text.replace("#", "#35;")
    for ch, code in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("&", "#amp;"),
                     ("|", "#124;"), ("`", "#96;")):
        text = text.replace(ch, code)
    return text


def mermaid(title: str, boxes, edges, legend: Optional[str] = None, groups=()) -> str:
    lines = ["flowchart LR", f"  %% {_one_line(title)}"]
    grouped = _member_ids(groups)
    by_id = {box.id: box for box in boxes}

    def define(box):
        left, right = _MERMAID_SHAPES[box.kind]
        label = "<br/>".join(mermaid_escape(line) for line in box.lines)
        lines.append(f"  {box.id}{left}{label}{right}")

    for box in boxes:
        if box.id not in grouped:
            define(box)
    counter = iter(range(len(boxes) + 1))

    def subgraphs(level):
        # Mermaid puts a node in the subgraph where it is first named: so an instance's boxes
        # are defined inside theirs (at the usual indent: Mermaid reads no meaning into it)
        for group in level:
            lines.append(f'  subgraph g{next(counter)}["{mermaid_escape(group.title)}"]')
            for i in group.ids:
                define(by_id[i])
            subgraphs(group.inner)
            lines.append("  end")
    subgraphs(groups)
    for edge in edges:
        label = f'|"{mermaid_escape(edge.label)}"|' if edge.label else ""
        lines.append(f"  {edge.source} -->{label} {edge.target}")
    if legend:
        lines.append(f'  legend["{mermaid_escape(legend)}"]')
    for kind, style in _MERMAID_CLASSES.items():
        if kind != "legend" or legend:
            lines.append(f"  classDef {kind} {style}")
    for kind in _MERMAID_SHAPES:
        ids = [b.id for b in boxes if b.kind == kind]
        if ids:
            lines.append(f"  class {','.join(ids)} {kind}")
    loss = [b.id for b in boxes if b.loss]
    if loss:
        lines.append(f"  class {loss[0]} loss")
    if legend:
        lines.append("  class legend legend")
    return "\n".join(lines) + "\n"


def mermaid_warnings(n_edges: int, n_chars: int) -> Tuple[str, ...]:
    """What Mermaid will refuse to render with its default settings, and what to use instead."""
    instead = ("use --format dot (or svg, rendered by Graphviz), or `graphrun view GRAPH` for a "
               "page that shows a graph of any size")
    found = []
    if n_edges > MERMAID_MAX_EDGES:
        found.append(f"this drawing has {n_edges} edges, more than the {MERMAID_MAX_EDGES} "
                     f"Mermaid draws by default (maxEdges): GitHub and Mermaid's own tools show "
                     f"'Edge limit exceeded' instead of the graph")
    if n_chars > MERMAID_MAX_TEXT:
        found.append(f"this drawing is {n_chars} characters long, more than the "
                     f"{MERMAID_MAX_TEXT} Mermaid reads by default (maxTextSize): it shows "
                     f"'Maximum text size in diagram exceeded' instead of the graph")
    if not found:
        return ()
    return tuple(found[:-1]) + (f"{found[-1]}; {instead} (a diagram cannot raise these limits "
                                f"for itself: they are settings of the site that renders it)",)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# DOT

_DOT_STYLES = {
    "input": 'shape=parallelogram, style=filled, fillcolor="#e0f2fe", color="#0369a1"',
    "param": 'shape=cylinder, style=filled, fillcolor="#fef3c7", color="#b45309"',
    "const": 'shape=circle, style=filled, fillcolor="#f3f4f6", color="#9ca3af"',
    "op": 'shape=box, style=filled, fillcolor="#ffffff", color="#374151"',
}


def dot_escape(text: str) -> str:
    """Text safe inside a double-quoted DOT string: backslashes and quotes escaped, line breaks
    as DOT's own \\n."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def dot(name: str, boxes, edges, legend: Optional[str] = None, groups=()) -> str:
    lines = [f'digraph "{dot_escape(name)}" {{', "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", '
             'fontsize=9];']
    if legend:  # the graph's own label, at the bottom
        lines.append(f'  label="{dot_escape(legend)}"; labelloc=b; fontname="Helvetica"; '
                     'fontsize=9;')
    for box in boxes:
        label = "\\n".join(dot_escape(line) for line in box.lines)
        style = _DOT_STYLES[box.kind]
        if box.loss:
            style = style.replace('color="#374151"', 'color="#b91c1c", penwidth=3')
        lines.append(f'  {box.id} [label="{label}", {style}];')
    counter = iter(range(len(boxes) + 1))

    def clusters(level, indent):  # a node named inside a cluster is drawn in it
        for group in level:
            lines.append(f"{indent}subgraph cluster_{next(counter)} {{")
            lines.append(f'{indent}  label="{dot_escape(group.title)}"; style="rounded,dashed"; '
                         'color="#6b7280";')
            lines.extend(f"{indent}  {i};" for i in group.ids)
            clusters(group.inner, indent + "  ")
            lines.append(f"{indent}}}")
    clusters(groups, "  ")
    for edge in edges:
        label = f' [label="{dot_escape(edge.label)}"]' if edge.label else ""
        lines.append(f"  {edge.source} -> {edge.target}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# SVG, by Graphviz

GRAPHVIZ_HINT = ("install Graphviz, which provides it (Debian/Ubuntu: apt-get install graphviz; "
                 "macOS: brew install graphviz; conda: conda install graphviz), or write DOT "
                 "text with --format dot, or see the graph in a browser with `graphrun view`")


def render_svg(dot_text: str) -> str:
    """SVG from DOT text, by Graphviz's `dot -Tsvg`. Raises GraphvizMissing when `dot` is not on
    PATH, GraphvizFailed when it fails."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing(f"--format svg needs Graphviz's `dot` program, which is not "
                              f"installed (not found on PATH); {GRAPHVIZ_HINT}")
    done = subprocess.run([program, "-Tsvg"], input=dot_text.encode("utf-8"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        why = " ".join(done.stderr.decode("utf-8", "replace").split()) or \
            f"exit status {done.returncode}"
        raise GraphvizFailed(f"Graphviz's dot failed to render the drawing: {why}")
    return done.stdout.decode("utf-8")
