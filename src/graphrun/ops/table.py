"""table: the op table, gathered. Each module below registers its ops into OPS as it is imported,
so importing this module (or the `ops` package) fills the table; nothing else adds to it.

Adding an op is one `op(...)` call in the module of its kind, plus a row in docs/ops.md; then
`python -m graphrun.ops.schema > schemas/graph.schema.json` (the tests say so when it is due).
"""

from .core import OPS, REQUIRED, Attr, Kink, Op, OpError, Type, shape_str
from .kinds import widest
from . import elementwise, linalg, shape, index, reduce, loss, nn  # noqa: F401  (they fill OPS)

__all__ = ["OPS", "REQUIRED", "Attr", "Kink", "Op", "OpError", "Type", "shape_str",
           "attribute_kinds"]


def attribute_kinds() -> dict:
    """Every attribute name an op takes -> the widest kind ops give it, by name: what a node's
    attribute is checked against before its op is known to take it (the schema's node-level
    rule and its fast path), so that a value of the wrong type is worded the same whatever the
    op. Which op takes what, with which kind, is the graph stage's check."""
    kinds = {}
    for entry in OPS.values():
        for key, attr in entry.attrs.items():
            kinds.setdefault(key, []).append(attr.kind)
    return {key: widest(kinds[key]) for key in sorted(kinds)}
