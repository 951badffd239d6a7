"""draw: a graph as a Mermaid flowchart (GitHub renders it in Markdown) or as Graphviz DOT, written
as text by graphrun itself (no system binary).

Every value is a node labelled with its name, op, value and gradient (scalars in full, tensors as
shape and norm). Inputs, params, number literals and ops have shapes and classes of their own; the
loss has a thick border. Each argument is one edge, in argument order, labelled with its index when
the op takes more than one (so `mul(x, x)` draws two edges, 0 and 1).

Pure logic: `draw(results, format)` returns a Drawing (its `.text`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, NamedTuple, Tuple

import numpy as np

from ..engine.values import Results
from ..frontend.blocks import instances
from ..ops.table import shape_str
from ..results.writer import float_text

FORMATS = ("mermaid", "dot")


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
    label: str  # the argument index, or "" for an op of one argument


@dataclass(frozen=True)
class Drawing:
    """A drawing's text in one format."""

    format: str  # "mermaid" or "dot"
    text: str

    def __str__(self) -> str:
        return self.text


def draw(results: Results, format: str = "mermaid") -> Drawing:
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r} (expected one of: {', '.join(FORMATS)})")
    boxes, edges = _layout(results)
    p = results.program
    groups = _groups(p)
    if format == "mermaid":
        title = p.name + (f": {p.description}" if p.description else "")
        return Drawing(format, mermaid(title, boxes, edges, groups))
    return Drawing(format, dot(p.name, boxes, edges, groups))


class Group(NamedTuple):
    """The boxes of one block instance (a Mermaid subgraph, a DOT cluster), and the instances
    called inside it."""

    title: str  # "h1: dense"
    ids: Tuple[str, ...]
    inner: tuple


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
            boxes.append(Box(f"n{slot}", "const", (quantity(value),), False))
            continue
        head = name if kind in ("input", "param") else f"{name} = {_op_text(step_of[slot])}"
        lines = [head] if kind == "node" else [head, kind]
        lines.append(f"value {quantity(value)}")
        if grads is not None and grads[slot] is not None:
            lines.append(f"grad {quantity(grads[slot])}")
        boxes.append(Box(f"n{slot}", "op" if kind == "node" else kind, tuple(lines),
                         slot == p.loss))
    edges = []
    for step in p.steps:
        for i, slot in enumerate(step.args):
            edges.append(Edge(f"n{slot}", f"n{step.out}", str(i) if len(step.args) > 1 else ""))
    return boxes, edges


def _op_text(step) -> str:
    attrs = "".join(f", {k}={_attr_text(v)}" for k, v in step.attrs)
    return f"{step.op.name}({attrs[2:]})" if attrs else step.op.name


def _attr_text(value) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def quantity(value) -> str:
    """A scalar in full (the shortest text that reads back exactly); a tensor as shape and norm."""
    a = np.asarray(value)
    if a.ndim == 0:
        return str(int(a)) if a.dtype.kind in "iub" else float_text(a, a.dtype)
    if a.dtype.kind in "iub":
        return f"{shape_str(a.shape)} {a.dtype}"
    return f"{shape_str(a.shape)} norm {float(np.linalg.norm(a.reshape(-1))):.6g}"


# ---------------------------------------------------------------------------------------------
# Mermaid

_MERMAID_SHAPES = {"input": ('[/"', '"/]'), "param": ('(["', '"])'), "const": ('(("', '"))'),
                   "op": ('["', '"]')}
_MERMAID_CLASSES = {
    "input": "fill:#e0f2fe,stroke:#0369a1,color:#0c4a6e",
    "param": "fill:#fef3c7,stroke:#b45309,color:#78350f",
    "const": "fill:#f3f4f6,stroke:#9ca3af,color:#374151",
    "op": "fill:#ffffff,stroke:#374151,color:#111827",
    "loss": "stroke:#b91c1c,stroke-width:3px",
}


def mermaid_escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: Mermaid's entity codes for the characters that
    would end the label or be read as HTML. '#' first: the codes themselves start with it."""
    text = text.replace("#", "#35;")
    for ch, code in (('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("&", "#amp;"),
                     ("|", "#124;"), ("`", "#96;")):
        text = text.replace(ch, code)
    return text


def mermaid(title: str, boxes, edges, groups=()) -> str:
    lines = ["flowchart LR", f"  %% {_one_line(title)}"]
    for box in boxes:
        left, right = _MERMAID_SHAPES[box.kind]
        label = "<br/>".join(mermaid_escape(line) for line in box.lines)
        lines.append(f"  {box.id}{left}{label}{right}")
    counter = iter(range(len(boxes) + 1))

    def subgraphs(level, indent):  # a box named inside a subgraph is drawn in it
        for group in level:
            lines.append(f'{indent}subgraph g{next(counter)}["{mermaid_escape(group.title)}"]')
            lines.extend(f"{indent}  {i}" for i in group.ids)
            subgraphs(group.inner, indent + "  ")
            lines.append(f"{indent}end")
    subgraphs(groups, "  ")
    for edge in edges:
        label = f'|"{mermaid_escape(edge.label)}"|' if edge.label else ""
        lines.append(f"  {edge.source} -->{label} {edge.target}")
    for kind, style in _MERMAID_CLASSES.items():
        lines.append(f"  classDef {kind} {style}")
    for kind in _MERMAID_SHAPES:
        ids = [b.id for b in boxes if b.kind == kind]
        if ids:
            lines.append(f"  class {','.join(ids)} {kind}")
    loss = [b.id for b in boxes if b.loss]
    if loss:
        lines.append(f"  class {loss[0]} loss")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# DOT

_DOT_STYLES = {
    "input": 'shape=parallelogram, style=filled, fillcolor="#e0f2fe", color="#0369a1"',
    "param": 'shape=box, style="rounded,filled", fillcolor="#fef3c7", color="#b45309"',
    "const": 'shape=circle, style=filled, fillcolor="#f3f4f6", color="#9ca3af"',
    "op": 'shape=box, style=filled, fillcolor="#ffffff", color="#374151"',
}


def dot_escape(text: str) -> str:
    """Text safe inside a double-quoted DOT string: backslashes and quotes escaped, line breaks
    as DOT's own \\n."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def dot(name: str, boxes, edges, groups=()) -> str:
    lines = [f'digraph "{dot_escape(name)}" {{', "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", '
             'fontsize=9];']
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
