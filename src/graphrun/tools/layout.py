"""layout: where each value of a program sits in a left-to-right picture, computed from the DAG's
layers, deterministically (the same program always gives the same integers).

- Layers (columns): a node's layer is its longest path from the leaves (one more than its
  deepest argument), so every edge points right. A leaf (input, param, literal) sits in the
  column just before its first user, not in a far-away column 0 of its own: a literal used at
  step 400 of a chain stays beside it.
- Order within a column: program order first (slot order: leaves in file order, literals,
  nodes in program order), then a few sweeps that sort each column by the mean position of its
  neighbours (the barycentre heuristic, which removes most crossings), ties kept in program
  order. Pure arithmetic on small integers and their means: no randomness, no hashing.
- Coordinates: columns of boxes of fixed width; within a column, boxes keep their order and
  never overlap, each node level with its arguments (a chain is one straight row) and each leaf
  level with the place it enters its user (nodes are placed first, leaves fit around them: the
  priority method of layered drawing); all integers.

No library: a layered layout of a DAG whose order is already known is about a hundred lines, and
the page must be byte-identical for the same file (Graphviz would be a system dependency, a
JavaScript layout engine would have to be inlined and would lay out in the browser, not in the
file, for no gain at the sizes a page can show).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Tuple

BOX_WIDTH = 184
GAP_X = 64  # between columns: room for the edges
GAP_Y = 22  # between boxes of one column
MARGIN = 24
SWEEPS = 4  # barycentre passes: down, up, down, up


@dataclass(frozen=True)
class Layout:
    layer: Tuple[int, ...]  # slot -> column
    x: Tuple[int, ...]  # slot -> left edge of its box
    y: Tuple[int, ...]  # slot -> top edge of its box
    heights: Tuple[int, ...]  # slot -> height of its box
    width: int  # of the whole picture
    height: int


def layers(program) -> List[int]:
    """slot -> column: longest path from the leaves; each leaf just before its first user."""
    n = len(program.names)
    layer = [0] * n
    for step in program.steps:
        layer[step.out] = 1 + max((layer[a] for a in step.args), default=0)
    first_user = [None] * n
    for step in program.steps:
        for a in step.args:
            if program.kinds[a] != "node":
                user = layer[step.out]
                first_user[a] = user if first_user[a] is None else min(first_user[a], user)
    for slot in range(n):
        if program.kinds[slot] != "node" and first_user[slot] is not None:
            layer[slot] = first_user[slot] - 1
    return layer


def layout(program, height_of: Callable[[int], int]) -> Layout:
    """The picture's coordinates; `height_of(slot)` is the height of a value's box."""
    n = len(program.names)
    layer = layers(program)
    columns: List[List[int]] = [[] for _ in range(max(layer, default=0) + 1)]
    for slot in range(n):  # slot order: program order
        columns[layer[slot]].append(slot)
    # neighbours as (slot, offset): an argument enters its user at a port of its own, spread
    # down the user's left side in argument order, so w of mul(w, x) is placed above x
    preds: List[List[Tuple[int, float]]] = [[] for _ in range(n)]
    succs: List[List[Tuple[int, float]]] = [[] for _ in range(n)]
    for step in program.steps:
        k = len(step.args)
        for i, a in enumerate(step.args):
            preds[step.out].append((a, 0.0))
            succs[a].append((step.out, 0.9 * (2 * (i + 1) / (k + 1) - 1)))
    _sweep(columns, preds, succs)

    heights = [height_of(slot) for slot in range(n)]
    y = _place(program, columns, preds, succs, heights)
    x = [MARGIN + layer[slot] * (BOX_WIDTH + GAP_X) for slot in range(n)]
    width = 2 * MARGIN + len(columns) * BOX_WIDTH + max(len(columns) - 1, 0) * GAP_X
    height = MARGIN + max((y[s] + heights[s] for s in range(n)), default=0)
    return Layout(tuple(layer), tuple(x), tuple(y), tuple(heights), width, height)


def _place(program, columns, preds, succs, heights) -> List[int]:
    """slot -> top edge: each column in its order, a node level with its arguments (the nodes
    among them, so a chain is one straight row), a leaf level with the port of the user it
    feeds. Nodes (ops) go first and leaves fit around them (the priority method of layered
    drawing); within a column the order never changes and boxes never overlap."""
    n = len(heights)
    is_node = [kind == "node" for kind in program.kinds]
    # a first guess: every column centred on the tallest
    column_heights = [sum(heights[s] for s in col) + GAP_Y * (len(col) - 1) for col in columns]
    tallest = max(column_heights, default=0)
    y = [0] * n
    for c, col in enumerate(columns):
        top = (tallest - column_heights[c]) // 2
        for slot in col:
            y[slot] = top
            top += heights[slot] + GAP_Y

    def port(slot, offset):
        """Where an edge at `offset` (-0.9 .. 0.9, from layout's sweep) meets the box's left."""
        return y[slot] + round(heights[slot] * (offset + 1) / 2)

    # left to right: each node level with its arguments (nodes among them, if any)
    for col in columns[1:]:
        desired = {}
        for slot in col:
            near = [a for a, _ in preds[slot] if is_node[a]] or [a for a, _ in preds[slot]]
            if near and is_node[slot]:  # centre on centre: a chain stays on one row
                mids = [y[a] + heights[a] // 2 for a in near]
                desired[slot] = sum(mids) // len(mids) - heights[slot] // 2
        _settle(col, y, heights, desired, [is_node[s] for s in col])
    # right to left: each leaf level with the ports it feeds; nodes stay where they are
    for col in reversed(columns[:-1]):
        desired = {}
        for slot in col:
            if not is_node[slot] and succs[slot]:
                ports = [port(u, o) for u, o in succs[slot]]
                desired[slot] = sum(ports) // len(ports) - heights[slot] // 2
        fixed = [is_node[s] or s not in desired for s in col]
        _settle(col, y, heights, desired, fixed, keep_fixed=True)
    low = min(y, default=0)
    return [MARGIN + v - low for v in y]


def _settle(col, y, heights, desired, first, keep_fixed=False) -> None:
    """Move the boxes of one column towards their desired tops without reordering or overlapping
    them: the boxes marked `first` are placed first (as near their wish as the boxes already
    placed allow), then the others fit in. With `keep_fixed`, the `first` boxes do not move."""
    placed = [False] * len(col)
    order = [k for k in range(len(col)) if first[k]] + [k for k in range(len(col)) if not first[k]]
    for k in order:
        slot = col[k]
        lo, hi = float("-inf"), float("inf")
        room = 0
        for j in range(k - 1, -1, -1):  # the nearest placed box above, and what lies between
            if placed[j]:
                lo = y[col[j]] + heights[col[j]] + GAP_Y + room
                break
            room += heights[col[j]] + GAP_Y
        room = 0
        for j in range(k + 1, len(col)):
            if placed[j]:
                hi = y[col[j]] - GAP_Y - room - heights[slot]
                break
            room += heights[col[j]] + GAP_Y
        want = y[slot] if (keep_fixed and first[k]) else desired.get(slot, y[slot])
        y[slot] = int(min(max(want, lo), hi)) if lo <= hi else int(lo)
        placed[k] = True


def _sweep(columns: List[List[int]], preds, succs) -> None:
    """Reorder each column by the barycentre of its neighbours, alternately those on the left
    (arguments) and on the right (users). A position is a value's index in its column measured
    from the column's middle, doubled so that it stays an integer (a port's offset stays within
    one of it)."""
    position = {}

    def measure(col):
        for k, slot in enumerate(col):
            position[slot] = 2 * k - (len(col) - 1)

    for col in columns:
        measure(col)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        order = range(1, len(columns)) if down else range(len(columns) - 2, -1, -1)
        neighbours = preds if down else succs
        for c in order:
            col = columns[c]

            def key(item):
                k, slot = item
                near = neighbours[slot]
                # the mean position of the neighbours; a value without any keeps its place
                centre = (sum(position[s] + offset for s, offset in near) / len(near) if near
                          else position[slot])
                return (centre, k)
            col[:] = [slot for _, slot in sorted(enumerate(col), key=key)]
            measure(col)
