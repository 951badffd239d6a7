"""ops: the op table. One entry per op declares everything about it: forward, one VJP per
argument, the shape rule, its attributes (kind, default, doc), the optional Python-float twin, the
explain text, the kink, the nan-flow claim, the samples its tests draw from, a line of doc.

core (the entry, the registry, shared shape helpers), kinds (attribute kinds), samples (test
domains), the entries by kind (elementwise, linalg, shape, reduce, loss), table (all of them
gathered), schema (schemas/graph.schema.json, generated from the table).

May import: errors, numpy. Everything else reads the table; nothing here knows of files or runs.
"""

from .table import OPS, REQUIRED, Attr, Kink, Op, OpError, Type, attribute_kinds, shape_str

__all__ = ["OPS", "REQUIRED", "Attr", "Kink", "Op", "OpError", "Type", "attribute_kinds",
           "shape_str"]
