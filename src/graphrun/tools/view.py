"""view: a page to step through, one self-contained HTML file (no network: CSS, JS and data inline).

The page shows the graph (laid out by tools/layout.py), each node with its value and gradient, and a
step control (buttons, arrow keys, a slider) that walks the forward pass in program order, then the
backward pass in reverse, highlighting the node and the edges in play and showing that step's line:
the very text `graphrun explain` prints for it (tools/explain.py's forward_lines and entry_lines,
read from the contributions the backward pass records). Clicking a param highlights every path
from it to the loss, with each path's product, and the line that adds them up to its gradient
(explain's path lines). Small tensors show their numbers as a heat-mapped table, bigger ones a
summary. With a training history, a loss curve and a slider over the recorded steps.

Everything on the page is computed here, in Python, from graphrun's own numbers; the browser only
shows and hides. The HTML is deterministic: the same file gives byte-identical pages (no
timestamps, no random ids, integer coordinates, JSON in a fixed order).

The SVG is drawn here too, so the page reads without JavaScript (every value and gradient shown)
and a notebook can show the same picture; the script adds the stepping, the paths and pan/zoom.
A layered picture of a long chain is long (500 columns), so the stage pans and zooms (drag, wheel,
buttons, keys) and follows the step; a scrolling page would lose the step and the panel.

A training run meets this module in one place, `history_rows` (any records with step, lr, loss
and reported values): `view(graph, leaves=trained, history=history_rows(t.history))` is its page,
`training_html(history_rows(t.history), t.params)` its notebook display.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from importlib import resources
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .. import __version__
from ..engine.executor import forward
from ..ops.table import shape_str
from . import layout as layouts
from .explain import (DEFAULT_MAX_PATHS, Explanation, arg_name, backward_heading, entry_lines,
                      explain, for_param, forward_lines, number_text, one_path_lines, path_heading,
                      paths_total, reaches_loss, value_text)

SMALL_TABLE = 48  # a tensor of at most this many elements is shown as a table of its numbers
NAME_CHARS = 22  # characters of a line that fit in a box (12px monospace)
BOX_HEIGHT = 58
CONST_HEIGHT = 30


@dataclass(frozen=True)
class HistoryRow:
    """One recorded step of a training run: its number (from 1), learning rate, loss before the
    update, and the other reported nodes."""

    step: int
    lr: float
    loss: float
    reported: Tuple[Tuple[str, float], ...] = ()


def history_rows(records) -> List[HistoryRow]:
    """HistoryRows from a training history: each record a mapping or an object with `step`,
    `lr` and `loss`; its other numeric fields (or a `reported` mapping) are the reported nodes.
    A training results file read back (results/reader's ResultSet, whose entries are named
    `history.<step>.<column>`) is read row by row. The one place the page meets the training
    results' own types."""
    if hasattr(records, "entries"):
        records = _rows_of_entries(records.entries)
    rows = []
    for record in records:
        fields = dict(record) if isinstance(record, dict) else dict(vars(record)) \
            if hasattr(record, "__dict__") else record._asdict()
        reported = dict(fields.pop("reported", None) or {})
        step, lr, loss = fields.pop("step"), fields.pop("lr"), fields.pop("loss")
        for name, value in fields.items():
            if np.size(value) == 1 and np.asarray(value).dtype.kind in "iuf":
                reported.setdefault(name, value)
        rows.append(HistoryRow(int(step), float(lr), float(loss),
                               tuple((k, float(v)) for k, v in reported.items())))
    return rows


def _rows_of_entries(entries) -> List[dict]:
    """`history.<step>.<column>` entries (in file order) as one mapping per step."""
    rows: dict = {}
    for name, entry in entries.items():
        parts = name.split(".", 2)
        if len(parts) == 3 and parts[0] == "history" and parts[1].isdigit():
            row = rows.setdefault(int(parts[1]), {"step": int(parts[1])})
            row[parts[2]] = float(np.reshape(entry.value, -1)[0])
    return list(rows.values())


@dataclass(frozen=True)
class Page:
    """A page to step through: `.html` is the whole file."""

    title: str
    html: str
    steps: int = 0  # the forward and backward steps the page walks through

    def write(self, path) -> None:
        """Write the page atomically (a failure leaves any previous file as it was), through the
        project's one writer (results/files.py)."""
        from ..results.files import write_text
        write_text(str(path), self.html)

    def _repr_html_(self) -> str:
        # its own document in an iframe: the page's styles, keys and script stay its own
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="'
                f'{html.escape(self.title)}" style="width:100%;height:640px;border:1px solid '
                f'#d1d5db;border-radius:6px" sandbox="allow-scripts"></iframe>')

    def __repr__(self) -> str:
        return (f"<Page {self.title!r}: {self.steps} steps; .write(path) saves it, a notebook "
                f"shows it>")


def view(graph, *, leaves: Optional[list] = None, max_paths: int = DEFAULT_MAX_PATHS,
         history: Optional[Sequence[HistoryRow]] = None, check_finite: bool = True) -> Page:
    """The page of a compiled graph (api.Graph), run with its own leaf values or `leaves` (by
    slot); `history` adds a training run's loss curve. NumericError for nan or inf unless
    `check_finite` is False."""
    program = graph.program
    leaves = graph.leaf_values() if leaves is None else leaves
    if program.loss is None:
        explanation = grads = None
        values = forward(graph.plan, leaves, check_finite=check_finite)
    else:
        explanation = explain(graph, max_paths=max_paths, leaves=leaves,
                              check_finite=check_finite)
        values = explanation.values
        grads = _grads(explanation)
    return build(program, values, grads, explanation, history=history, max_paths=max_paths)


def _grads(e: Explanation) -> list:
    """slot -> gradient, from the explanation's entries (zeros where the loss does not reach)."""
    p = e.program
    grads: List = [None] * len(p.names)
    for slot, differentiable in enumerate(p.differentiable):
        if differentiable:
            t = p.types[slot]
            grads[slot] = np.zeros(t.shape, t.dtype)
    for entry in e.entries:
        grads[p.slot(entry.name)] = entry.gradient
    return grads


# ---------------------------------------------------------------------------------------------
# the page's data: steps, nodes, paths

def _edge_id(step_index: int, arg: int) -> str:
    return f"e{step_index}-{arg + 1}"


def build(program, values, grads, explanation: Optional[Explanation], *,
          history: Optional[Sequence[HistoryRow]] = None,
          max_paths: int = DEFAULT_MAX_PATHS) -> Page:
    then = (" then the backward pass hands the blame back from the loss, in reverse."
            if explanation else " this graph has no loss, so there is no backward pass.")
    steps = [{"phase": "start", "node": None, "edges": [], "near": [], "lines": [
        "before the forward pass.",
        "Step on (→, Next or the slider) to see the inputs and params, then each node computed "
        "from its arguments, in program order;" + then]}]
    computed_at = [0] * len(program.names)  # literals are known from the start
    step_of = {step.out: (index, step) for index, step in enumerate(program.steps)}
    for slot, line in forward_lines(program, values):
        computed_at[slot] = len(steps)
        if slot in step_of:
            index, step = step_of[slot]
            edges = [_edge_id(index, i) for i in range(len(step.args))]
            near = list(dict.fromkeys(step.args))
        else:
            edges, near = [], []
        steps.append({"phase": "forward", "node": slot, "edges": edges, "near": near,
                      "lines": [line]})
    blamed_at: List[Optional[int]] = [None] * len(program.names)
    if explanation is not None:
        first_backward = len(steps)
        for slot, differentiable in enumerate(program.differentiable):
            if differentiable:
                blamed_at[slot] = first_backward  # gradient 0 unless an entry says otherwise
        for entry in explanation.entries:
            slot = program.slot(entry.name)
            blamed_at[slot] = len(steps)
            steps.append({"phase": "backward", "node": slot,
                          "edges": [_edge_id(u.step, u.arg) for u in entry.uses],
                          "near": list(dict.fromkeys(program.steps[u.step].out
                                                     for u in entry.uses)),
                          "lines": entry_lines(explanation, entry)})

    geometry = layouts.layout(program, lambda s: CONST_HEIGHT if program.kinds[s] == "const"
                              else BOX_HEIGHT)
    nodes = [_node_data(program, slot, step_of.get(slot, (None, None))[1], values, grads,
                        geometry, computed_at[slot], blamed_at[slot])
             for slot in range(len(program.names))]
    params = {}
    if explanation is not None:
        for slot in program.params:
            params[str(slot)] = _paths_data(explanation, program.names[slot], max_paths)
    caption = {"start": "", "forward": "forward, in program order: each node computed from its "
                                       "arguments (the edges in blue)",
               "backward": (" ".join(line.strip() for line in backward_heading(
                   program.names[program.loss]))[:-1] + "; the edges in red carry the blame back"
                   if explanation else "")}
    unreached = ""
    if explanation is not None and explanation.unreached:
        unreached = (f"not on any path to {explanation.loss} (gradient 0): "
                     f"{', '.join(explanation.unreached)}")
    data = {"graph": program.name, "loss": program.loss,
            "steps": steps, "nodes": nodes, "params": params, "caption": caption,
            "unreached": unreached, "width": geometry.width, "height": geometry.height,
            "history": _history_data(history) if history else None}
    return Page(program.name, _html(program, values, geometry, nodes, data, history),
                len(steps) - 1)


def _node_data(program, slot, step, values, grads, geometry, computed_at, blamed_at) -> dict:
    """What the page knows of one value: its name, op, numbers, box, and the steps at which its
    value and its gradient become known."""
    kind = program.kinds[slot]
    value = values[slot]
    grad = None if grads is None else grads[slot]
    op = None
    if step is not None:
        op = f"{step.op.name}({', '.join(arg_name(program, a) for a in step.args)}" + \
            "".join(f", {k}={v}" for k, v in step.attrs) + ")"
    return {
        "slot": slot, "name": program.names[slot] or number_text(value), "kind": kind, "op": op,
        "shape": shape_str(np.shape(value)), "dtype": str(program.types[slot].dtype),
        "loss": slot == program.loss,
        "x": geometry.x[slot], "y": geometry.y[slot], "h": geometry.heights[slot],
        "f": computed_at, "b": blamed_at,
        "value": _quantity_data(value),
        "grad": None if grad is None else _quantity_data(grad),
    }


def _quantity_data(value) -> dict:
    a = np.asarray(value)
    out = {"text": value_text(a), "short": short_text(a), "table": None}
    if a.size <= SMALL_TABLE:
        rows = a.reshape(1, 1) if a.ndim == 0 else a.reshape(-1, a.shape[-1])
        out["table"] = [[number_text(x) for x in row] for row in rows]
    return out


def short_text(value) -> str:
    """A value on one short line: a number, or shape and norm."""
    a = np.asarray(value)
    if a.ndim == 0 or a.size == 1:
        return number_text(a)
    if a.dtype.kind in "iub":
        return f"{shape_str(a.shape)} {a.dtype}"
    return f"{shape_str(a.shape)} norm {number_text(np.linalg.norm(a.reshape(-1)))}"


def _paths_data(e: Explanation, name: str, max_paths: int) -> dict:
    """Every path from the param `name` to the loss, with explain's lines for each, and the line
    that adds them up; past `max_paths`, the values between them and the step-by-step lines."""
    ep = for_param(e, name, max_paths)
    p = e.program
    on_nodes, on_edges = _between(p, p.slot(name))
    out = {"name": name, "heading": path_heading(ep), "paths": [], "total": None,
           "nodes": on_nodes, "edges": on_edges, "steps": []}
    for number, path in enumerate(ep.paths, 1):
        out["paths"].append({"edges": [_edge_id(index, i) for index, i in path.edges],
                             "lines": one_path_lines(ep, number, path)})
    if ep.paths:
        out["total"] = paths_total(ep)
    elif ep.path_count:
        keep = {p.names[s] for s in on_nodes}
        for entry in e.entries:
            if entry.name in keep:
                out["steps"] += entry_lines(e, entry)
    return out


def _between(program, start) -> Tuple[List[int], List[str]]:
    """The values and edges on some path from `start` to the loss (through differentiable
    arguments only)."""
    reaches = reaches_loss(program)
    on = [False] * len(program.names)
    on[start] = True
    edges = []
    for index, step in enumerate(program.steps):
        if not reaches[step.out]:
            continue
        for i, a in enumerate(step.args):
            if on[a] and program.differentiable[a] and step.op.vjp(i) is not None:
                on[step.out] = True
                edges.append(_edge_id(index, i))
    return [s for s in range(len(program.names)) if on[s]], edges


def _history_data(history: Sequence[HistoryRow]) -> dict:
    rows = [{"step": r.step, "lr": number_text(r.lr), "loss": number_text(r.loss),
             "reported": [[k, number_text(v)] for k, v in r.reported]} for r in history]
    return {"rows": rows, "points": [list(p) for p in _curve_points(history)]}


# ---------------------------------------------------------------------------------------------
# the loss curve

CURVE_W, CURVE_H, CURVE_PAD = 380, 150, 30


def _curve_points(history: Sequence[HistoryRow]) -> List[Tuple[int, int]]:
    """(x, y) of each recorded loss in the curve's box: steps left to right, the loss on a log
    scale when it is positive and spans more than two decades (descent usually does)."""
    steps = [r.step for r in history]
    losses = [float(r.loss) for r in history]
    ys = _scaled(losses)
    lo, hi = min(steps), max(steps)
    span = (hi - lo) or 1
    inner_w, inner_h = CURVE_W - 2 * CURVE_PAD, CURVE_H - 2 * CURVE_PAD
    return [(CURVE_PAD + round((s - lo) * inner_w / span),
             CURVE_PAD + round((1 - y) * inner_h)) for s, y in zip(steps, ys)]


def _log_scale(losses) -> bool:
    finite = [x for x in losses if np.isfinite(x)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 100


def _scaled(losses) -> List[float]:
    """Each loss as a fraction of the curve's height (0 at the lowest, 1 at the highest)."""
    xs = [float(np.log10(x)) for x in losses] if _log_scale(losses) else list(losses)
    lo, hi = min(xs), max(xs)
    return [0.5 if hi == lo else (x - lo) / (hi - lo) for x in xs]


def _curve_svg(history: Sequence[HistoryRow]) -> str:
    points = _curve_points(history)
    losses = [r.loss for r in history]
    line = " ".join(f"{x},{y}" for x, y in points)
    scale = "log scale" if _log_scale(losses) else "linear scale"
    bottom = CURVE_H - CURVE_PAD
    return (f'<svg id="curve" viewBox="0 0 {CURVE_W} {CURVE_H}" width="{CURVE_W}" '
            f'height="{CURVE_H}" role="img" aria-label="loss curve">'
            f'<line class="axis" x1="{CURVE_PAD}" y1="{bottom}" x2="{CURVE_W - CURVE_PAD}" '
            f'y2="{bottom}"/><line class="axis" x1="{CURVE_PAD}" y1="{CURVE_PAD}" '
            f'x2="{CURVE_PAD}" y2="{bottom}"/>'
            f'<text class="tick" x="{CURVE_PAD + 4}" y="{CURVE_PAD - 8}">loss '
            f'{_esc(number_text(max(losses)))} ({scale})</text>'
            f'<text class="tick" x="{CURVE_PAD + 4}" y="{bottom - 4}">'
            f'{_esc(number_text(min(losses)))}</text>'
            f'<text class="tick" x="{CURVE_PAD}" y="{CURVE_H - 8}">step {history[0].step}</text>'
            f'<text class="tick end" x="{CURVE_W - CURVE_PAD}" y="{CURVE_H - 8}">step '
            f'{history[-1].step}</text>'
            f'<polyline class="loss-line" points="{line}"/>'
            f'<circle id="curve-marker" r="4" cx="{points[0][0]}" cy="{points[0][1]}"/></svg>')


# ---------------------------------------------------------------------------------------------
# HTML and SVG

def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _fit(text: str, chars: int = NAME_CHARS) -> str:
    return text if len(text) <= chars else text[:chars - 1] + "…"


def graph_svg(program, geometry, nodes) -> str:
    """The graph as SVG: one <path> per argument edge, one <g> per value, at integer
    coordinates. Every node shows its value and gradient (the script hides what a step has not
    computed yet)."""
    W = layouts.BOX_WIDTH
    parts = [f'<svg id="graph" xmlns="http://www.w3.org/2000/svg" role="img" '
             f'aria-label="the graph {_esc(program.name)}">',
             '<defs>' + "".join(
                 f'<marker id="arrow{suffix}" viewBox="0 0 10 10" refX="9" refY="5" '
                 f'markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
                 f'orient="auto-start-reverse">'
                 f'<path d="M0,0L10,5L0,10z" class="arrow{suffix}"/></marker>'
                 for suffix in ("", "-f", "-b", "-p")) + '</defs>',
             f'<g id="viewport"><rect id="backdrop" x="0" y="0" width="{geometry.width}" '
             f'height="{geometry.height}"/>']
    for index, step in enumerate(program.steps):
        target = step.out
        n = len(step.args)
        tx, ty0, th = geometry.x[target], geometry.y[target], geometry.heights[target]
        for i, a in enumerate(step.args):
            sx = geometry.x[a] + W - (3 if program.kinds[a] == "const" else 0)
            sy = geometry.y[a] + geometry.heights[a] // 2
            ty = ty0 + th * (i + 1) // (n + 1)
            dx = max(24, (tx - sx) // 2)
            d = f"M{sx},{sy}C{sx + dx},{sy} {tx - dx},{ty} {tx},{ty}"
            label = (f'<text class="edge-label" x="{tx - 12}" y="{ty - 4}">{i + 1}</text>'
                     if n > 1 else "")
            # an edge across many columns (a param every step uses) is drawn faintly until it
            # is in play: hundreds of them would hide the rest
            long = " long" if geometry.layer[target] - geometry.layer[a] > 2 else ""
            parts.append(f'<g class="edge{long}" id="{_edge_id(index, i)}" data-arg="{i + 1}">'
                         f'<path d="{d}"/>{label}</g>')
    for node in nodes:
        parts.append(_node_svg(node))
    parts.append("</g></svg>")
    return "".join(parts)


def _node_svg(node: dict) -> str:
    W = layouts.BOX_WIDTH
    x, y, h = node["x"], node["y"], node["h"]
    kind = node["kind"]
    classes = f"node {'op' if kind == 'node' else kind}" + (" loss" if node["loss"] else "") + \
        " computed blamed"  # what the page shows without its script: everything
    head = f'<g class="{classes}" data-slot="{node["slot"]}" data-name="{_esc(node["name"])}" ' \
           f'tabindex="-1"><title>{_esc(_tooltip(node))}</title>'
    if kind == "const":
        cx, cy = x + W - 18, y + h // 2
        return (head + f'<circle class="shape" cx="{cx}" cy="{cy}" r="15"/>'
                f'<text class="const-text" x="{cx}" y="{cy + 4}">{_esc(_fit(node["name"], 5))}'
                f'</text></g>')
    if kind == "input":
        shape = (f'<polygon class="shape" points="{x + 10},{y} {x + W},{y} {x + W - 10},{y + h} '
                 f'{x},{y + h}"/>')
    elif kind == "param":  # a cylinder: the stored values training changes
        r = 6
        shape = (f'<path class="shape" d="M{x},{y + r}a{W // 2},{r} 0 0 1 {W},0v{h - 2 * r}'
                 f'a{W // 2},{r} 0 0 1 -{W},0z"/><path class="rim" d="M{x},{y + r}'
                 f'a{W // 2},{r} 0 0 0 {W},0"/>')
    else:
        shape = f'<rect class="shape" x="{x}" y="{y}" width="{W}" height="{h}" rx="4"/>'
    top = y + (20 if kind == "param" else 17)
    title = node["name"] + (f" = {node['op']}" if node["op"] else "")
    badge = "" if kind == "node" else (f'<text class="badge" x="{x + W - 14}" y="{top}">'
                                       f'{kind}</text>')
    name_chars = NAME_CHARS - 5 if badge else NAME_CHARS
    lines = [f'<text class="name" x="{x + 12}" y="{top}">{_esc(_fit(title, name_chars))}</text>',
             badge,
             f'<text class="val" x="{x + 12}" y="{top + 17}">'
             f'{_esc(_fit("value " + node["value"]["short"]))}</text>',
             f'<text class="val-pending" x="{x + 12}" y="{top + 17}">value ?</text>']
    if node["grad"] is not None:
        lines += [f'<text class="grad" x="{x + 12}" y="{top + 34}">'
                  f'{_esc(_fit("grad " + node["grad"]["short"]))}</text>',
                  f'<text class="grad-pending" x="{x + 12}" y="{top + 34}">grad ?</text>']
    return head + shape + "".join(lines) + "</g>"


def _tooltip(node: dict) -> str:
    text = node["name"] + (f" = {node['op']}" if node["op"] else f" ({node['kind']})")
    text += f"\nvalue {node['value']['text']}"
    if node["grad"] is not None:
        text += f"\ngrad {node['grad']['text']}"
    return text


def _json_for_script(data) -> str:
    """JSON that cannot end the <script> it sits in."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _html(program, values, geometry, nodes, data, history) -> str:
    loss = ""
    if program.loss is not None:
        loss = (f'<span class="loss-value">loss {_esc(program.names[program.loss])} = '
                f'{_esc(number_text(values[program.loss]))}</span>')
    description = f'<p class="description">{_esc(program.description)}</p>' \
        if program.description else ""
    training = ""
    if history:
        training = ('<section id="training"><h2>training</h2>' + _curve_svg(history) +
                    f'<input id="history-slider" type="range" min="0" max="{len(history) - 1}" '
                    f'value="0" aria-label="recorded training step"><pre id="history-line">'
                    f'</pre></section>')
    last = len(data["steps"]) - 1
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="graphrun {_esc(__version__)}">
<title>{_esc(program.name)}: graphrun view</title>
<style>
{_asset("view.css")}</style>
</head>
<body data-phase="start" data-step="0">
<header><h1>{_esc(program.name)}</h1>{description}{loss}</header>
<main>
<section id="stage" aria-label="the graph: drag to pan, wheel or +/- to zoom">
{graph_svg(program, geometry, nodes)}
<div id="zoom"><button id="zoom-in" title="zoom in (+)">+</button>
<button id="zoom-out" title="zoom out (-)">−</button>
<button id="zoom-fit" title="fit the graph (0)">fit</button></div>
</section>
<aside id="panel">
<div id="controls">
<button id="first" title="first step (Home)">« first</button>
<button id="prev" title="previous step (←)">◀ prev</button>
<button id="next" title="next step (→)">next ▶</button>
<button id="last" title="last step (End)">last »</button>
<input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
<div id="step-label">step 0 of {last}</div>
</div>
<pre id="line"></pre>
<p id="caption"></p>
<section id="paths" hidden><pre id="paths-heading"></pre><ol id="path-list"></ol>
<pre id="paths-total"></pre><pre id="paths-steps"></pre></section>
<section id="details"></section>
{training}
<footer>
<p class="legend"><span class="swatch input"></span>input <span class="swatch param"></span>param
<span class="swatch const"></span>literal <span class="swatch op"></span>op
<span class="swatch loss"></span>loss</p>
<p>Numbers on edges: argument positions, counted from 1. Keys: → / ← step, Home / End, Esc clears
a selection, + / − / 0 zoom. Click a node for its numbers; click a param for its paths to the
loss.</p>
<p>Numbers are rounded for reading; <code>graphrun run</code> writes every digit. Made by graphrun
{_esc(__version__)}.</p>
</footer>
</aside>
</main>
<script type="application/json" id="graphrun-data">{_json_for_script(data)}</script>
<script>
{_asset("view.js")}</script>
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------
# notebook display of the API's objects (their _repr_html_ call these)

def _quantity_html(value) -> str:
    a = np.asarray(value)
    if a.size > SMALL_TABLE or a.ndim == 0:
        return _esc(value_text(a))
    rows = a.reshape(-1, a.shape[-1])
    body = "".join("<tr>" + "".join(f"<td>{_esc(number_text(x))}</td>" for x in row) + "</tr>"
                   for row in rows)
    return f'<span>{_esc(shape_str(a.shape))}</span><table class="numbers">{body}</table>'


def results_html(results) -> str:
    """A run's values and gradients as a table (small tensors' numbers, bigger ones' summary),
    one row per line."""
    p = results.program
    grads = results.slot_grads
    head = f"<p><b>{_esc(p.name)}</b>"
    if p.loss is not None:
        head += f": loss {_esc(p.names[p.loss])} = {_esc(number_text(results.loss))}"
    rows = []
    for slot, name in enumerate(p.names):
        if not name:
            continue
        grad = "" if grads is None or grads[slot] is None else _quantity_html(grads[slot])
        rows.append(f"<tr><td><b>{_esc(name)}</b></td><td>{_esc(p.kinds[slot])}</td>"
                    f"<td>{_quantity_html(results.slot_values[slot])}</td><td>{grad}</td></tr>")
    return "\n".join([head + "</p>", "<table>", "<thead><tr><th>name</th><th>kind</th>"
                      "<th>value</th><th>gradient</th></tr></thead>", "<tbody>"] + rows +
                     ["</tbody>", "</table>", "<p><small>numbers rounded for reading: "
                      "<code>results.text()</code> has every digit</small></p>"]) + "\n"


def graph_html(program) -> str:
    """A compiled graph: every value with its kind, op, shape and dtype, and the loss; one row
    per line."""
    rows = []
    ops = {step.out: step for step in program.steps}
    for slot, name in enumerate(program.names):
        if not name:
            continue
        step = ops.get(slot)
        op = "" if step is None else \
            f"{step.op.name}({', '.join(arg_name(program, a) for a in step.args)})"
        t = program.types[slot]
        rows.append(f"<tr><td><b>{_esc(name)}</b></td><td>{_esc(program.kinds[slot])}</td>"
                    f"<td><code>{_esc(op)}</code></td><td>{_esc(shape_str(t.shape))}</td>"
                    f"<td>{_esc(t.dtype)}</td></tr>")
    loss = "no loss (forward only)" if program.loss is None else \
        f"loss {_esc(program.names[program.loss])}"
    desc = f": {_esc(program.description)}" if program.description else ""
    return "\n".join([f"<p><b>{_esc(program.name)}</b>{desc} ({loss})</p>", "<table>",
                      "<thead><tr><th>name</th><th>kind</th><th>op</th><th>shape</th>"
                      "<th>dtype</th></tr></thead>", "<tbody>"] + rows +
                     ["</tbody>", "</table>"]) + "\n"


def training_html(history: Sequence[HistoryRow], params=None) -> str:
    """A training run in a notebook: the loss curve, the first and last recorded steps, and the
    trained params (a mapping name -> value)."""
    first, last = history[0], history[-1]
    out = [_curve_svg(history).replace('id="curve"', 'class="curve"').replace(
               ' id="curve-marker"', ""),
           f"<p>step {first.step}: loss {_esc(number_text(first.loss))}; step {last.step}: loss "
           f"{_esc(number_text(last.loss))} (lr {_esc(number_text(last.lr))})</p>"]
    if params:
        rows = "".join(f"<tr><td><b>{_esc(k)}</b></td><td>{_quantity_html(v)}</td></tr>"
                       for k, v in params.items())
        out.append(f"<table><thead><tr><th>param</th><th>trained value</th></tr></thead>"
                   f"<tbody>{rows}</tbody></table>")
    style = ("<style>.curve .axis{stroke:#9ca3af}.curve .tick{font-size:10px;fill:#6b7280}"
             ".curve .tick.end{text-anchor:end}.curve .loss-line{fill:none;stroke:#dc2626;"
             "stroke-width:1.5}</style>")
    return style + "".join(out)


def text_html(text: str) -> str:
    """Text for people (explain's, gradcheck's) as a preformatted block."""
    return f"<pre>{_esc(text)}</pre>"
