"""ops: the op table. One entry per op declares everything about it: forward, one VJP per
argument, the shape rule, its attributes, the explain text, the kink, the nan-flow claim.

May import: errors, numpy. Everything else reads the table; nothing here knows of files or runs.
"""

from .table import OPS, REQUIRED, Op, OpError, Type, shape_str

__all__ = ["OPS", "REQUIRED", "Op", "OpError", "Type", "shape_str"]
