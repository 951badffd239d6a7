"""table: the op table, gathered. Each module below registers its ops into OPS as it is imported,
so importing this module (or the `ops` package) fills the table; nothing else adds to it.

Adding an op is one `op(...)` call in the module of its kind, plus a row in docs/ops.md; then
`python -m graphrun.ops.schema > schemas/graph.schema.json` (the tests say so when it is due).
"""

from .core import OPS, REQUIRED, Attr, Kink, Op, OpError, Type, shape_str
from . import elementwise, linalg, shape, reduce, loss  # noqa: F401  (they fill OPS)

__all__ = ["OPS", "REQUIRED", "Attr", "Kink", "Op", "OpError", "Type", "shape_str"]
