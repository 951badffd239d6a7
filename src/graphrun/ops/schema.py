"""schema: schemas/graph.schema.json, generated from the op table. Regenerate it with

    python -m graphrun.ops.schema > schemas/graph.schema.json

and commit the result (tests/test_op_schema.py fails while the committed file differs).

The document's shape (inputs, params, leaves, init, files, tolerance; docs/format.md) is written out
below; the train section comes from frontend/train.py's vocabulary; the node definition comes from
the table: the op names, every attribute name with its
widest kind (table.attribute_kinds), and one draft-07 if/then rule per op under the node's `allOf`,
with the op's arity, the attributes it takes (each with its kind, default and doc) and the ones it
needs. Editors read those rules and flag `axis` on `relu`. graphrun itself checks the file without
them (frontend/schema.py drops the node's `allOf`, and nothing else in the schema may use one): its
graph stage checks the same things, wording each problem with the op's name.
"""

from __future__ import annotations

import json
import sys

from .core import REQUIRED
from .table import OPS, attribute_kinds


NODE_NAME = "^[A-Za-z_][A-Za-z0-9_]*(\\.([A-Za-z_][A-Za-z0-9_]*|[1-9][0-9]*))*$"


def document() -> dict:
    """The whole JSON Schema of graph files, as a dict."""
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://github.com/graphrun/graphrun/schemas/graph.schema.json",
        "title": "graphrun graph file, format 1",
        "description": "A computation graph: leaf values (inputs, params) and operation nodes. "
                       "See docs/format.md. Generated from the op table by "
                       "`python -m graphrun.ops.schema`: edit that, not this file.",
        "type": "object",
        "required": ["graphrun"],
        "additionalProperties": False,
        # a file with `blocks` and no `nodes` is a library of blocks (docs/format.md); any other
        # needs `nodes`. The `then` lists the same keys as the document, so that a misspelt key
        # ('nodez') is reported once, as unknown, with its did-you-mean
        "if": {"not": {"required": ["blocks"]}},
        "then": {"required": ["nodes"], "properties": {},  # filled in below: every key
                 "additionalProperties": False},
        "properties": {
            "graphrun": {"description": "Format version.", "const": 1},
            "name": {"description": "The graph's name; default: the file's stem.",
                     "type": "string"},
            "description": {"type": "string"},
            "inputs": {"description": "Data leaves: no gradient is written for them.",
                       "$ref": "#/definitions/leaves"},
            "params": {"description": "Learned leaves: d loss / d param is written for each.",
                       "$ref": "#/definitions/leaves"},
            "nodes": {
                "description": "Operations, in any order; the DAG decides the order: each an "
                               "expression or an explicit {op, args} node.",
                "type": "object",
                "propertyNames": {"$ref": "#/definitions/node_name"},
                # if/then/else rather than anyOf: a mapping's problems are the node's alone
                "additionalProperties": {"if": {"type": "string"},
                                         "then": {"$ref": "#/definitions/expression"},
                                         "else": {"$ref": "#/definitions/node"}},
            },
            "loss": {"description": "A node with exactly one element; backward starts at "
                                    "d loss / d loss = 1.", "$ref": "#/definitions/name"},
            "train": {"description": "How `graphrun train` trains the params "
                                     "(docs/format.md); command-line flags override it.",
                      "$ref": "#/definitions/train"},
            "tolerance": {
                "description": "Tolerances for comparing this graph's results with golden "
                               "results.",
                "type": "object",
                "additionalProperties": False,
                "properties": {"rtol": {"type": "number", "minimum": 0},
                               "atol": {"type": "number", "minimum": 0}},
            },
            "blocks": {
                "description": "Reusable subgraphs: a call name(args...) in an expression "
                               "makes a block's nodes.",
                "type": "object",
                "propertyNames": {"$ref": "#/definitions/name"},
                "additionalProperties": {"$ref": "#/definitions/block"},
            },
            "include": {
                "description": "Files whose blocks this file can call, relative to it (and "
                               "inside the graph file's folder).",
                "type": "array",
                "items": {"type": "string"},
            },
            "outputs": outputs(),
        },
        "definitions": {
            "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            # a node's name; the dotted ones are the names graphrun gives the nodes an
            # expression or a block call makes (h.1, h1.z), as `graphrun expand` writes them
            "node_name": {"type": "string", "pattern": NODE_NAME},
            "expression": {
                "description": "An expression, e.g. tanh(X @ W1 + b1): names, numbers, "
                               "+ - * / ** @, unary -, parentheses, calls of ops (attributes as "
                               "keywords: sum(h, axis=0)) and of blocks. See docs/format.md.",
                "type": "string",
            },
            "block": {
                "type": "object",
                "required": ["args", "nodes", "output"],
                "additionalProperties": False,
                "properties": {
                    "description": {"type": "string"},
                    "args": {"description": "The block's arguments, in call order.",
                             "type": "array", "items": {"$ref": "#/definitions/name"}},
                    "nodes": {"$ref": "#/properties/nodes"},
                    "output": {"description": "The node whose value the call gives.",
                               "$ref": "#/definitions/name"},
                },
            },
            "leaves": {
                "type": "object",
                "propertyNames": {"$ref": "#/definitions/name"},
                "additionalProperties": {"$ref": "#/definitions/value"},
            },
            "tensor": {
                "description": "A number or a rectangular nested list of numbers.",
                "type": ["number", "array"],
                "minItems": 1,
                "items": {"$ref": "#/definitions/tensor"},
            },
            "dtype": {"enum": ["float64", "float32", "int64"]},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "value": {
                "if": {"type": "object"},
                "then": {
                    "if": {"required": ["init"]},
                    "then": {"$ref": "#/definitions/init"},
                    "else": {
                        "if": {"required": ["file"]},
                        "then": {"$ref": "#/definitions/file"},
                        "else": {"$ref": "#/definitions/literal"},
                    },
                },
                "else": {"$ref": "#/definitions/tensor"},
            },
            "literal": {
                "type": "object",
                "required": ["value"],
                "additionalProperties": False,
                "properties": {"value": {"$ref": "#/definitions/tensor"},
                               "dtype": {"$ref": "#/definitions/dtype"}},
            },
            "init": {
                "type": "object",
                "required": ["init", "shape"],
                "additionalProperties": False,
                "properties": {
                    "init": {"enum": ["zeros", "ones", "full", "normal", "uniform"]},
                    "shape": {"$ref": "#/definitions/shape"},
                    "dtype": {"enum": ["float64", "float32"]},
                    "seed": {"type": "integer", "minimum": 0},
                    "fill": {"type": "number"},
                    "mean": {"type": "number"},
                    "std": {"type": "number", "minimum": 0},
                    "low": {"type": "number"},
                    "high": {"type": "number"},
                },
            },
            "file": {
                "type": "object",
                "required": ["file"],
                "additionalProperties": False,
                "properties": {"file": {"type": "string", "pattern": "\\.(npy|npz)$"},
                               "key": {"type": "string"},
                               "dtype": {"$ref": "#/definitions/dtype"}},
            },
            "train": train_section(),
            "node": node(),
            "selection": {
                "description": "A pattern (nodes, params, inputs, loss, none), a name, a glob "
                               "such as 'h*', or a list of them.",
                "type": ["string", "array"],
                "minItems": 1,
                "items": {"type": "string"},
            },
        },
    }
    schema["then"]["properties"] = {key: True for key in schema["properties"]}
    return schema


def outputs() -> dict:
    """The `outputs:` section (frontend/outputs.py): what results files hold."""
    return {
        "description": "What results files (and goldens) hold; default: every node's value and "
                       "every gradient, every digit.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "values": {"description": "Whose values are written; default: nodes.",
                       "$ref": "#/definitions/selection"},
            "gradients": {"description": "Whose gradients are written; default: [params, "
                                         "nodes].", "$ref": "#/definitions/selection"},
            "digits": {"description": "Round every number written to this many significant "
                                      "digits (lossy; check widens its tolerance to match).",
                       "type": "integer", "minimum": 1, "maximum": 17},
        },
    }


def train_section() -> dict:
    """The train section's definition: frontend/train.py's vocabulary (the optimizers, the
    schedules, their options), which the checks and the settings read too."""
    from ..frontend.train import schema
    return schema()


def node() -> dict:
    """The node definition, from the op table."""
    properties = {
        "op": {"description": "An op of the op table (docs/ops.md).", "enum": sorted(OPS)},
        "args": {"type": "array",
                 "items": {"anyOf": [{"$ref": "#/definitions/node_name"},
                                     {"type": "number"}]}},
    }
    properties.update((key, kind.schema) for key, kind in attribute_kinds().items())
    return {"type": "object", "required": ["op", "args"], "additionalProperties": False,
            "properties": properties, "allOf": [_rule(OPS[name]) for name in sorted(OPS)]}


def _rule(entry) -> dict:
    """What one op allows: its number of arguments and its attributes."""
    args = {"minItems": 1} if entry.variadic else {"minItems": entry.min_arity,
                                                  "maxItems": entry.arity}
    properties = {"op": True, "args": args}
    for key, attr in entry.attrs.items():
        fragment = {"description": attr.doc, **attr.kind.schema}
        if attr.default is not REQUIRED:
            fragment["default"] = attr.default
        properties[key] = fragment
    then = {"description": f"{entry.name}: {entry.doc}", "properties": properties}
    if entry.required:
        then["required"] = list(entry.required)
    then["additionalProperties"] = False
    return {"if": {"properties": {"op": {"const": entry.name}}, "required": ["op"]},
            "then": then}


def text() -> str:
    """The schema as the committed file holds it: short objects and lists of scalars on one line,
    two-space indents, a newline at the end."""
    return _dump(document(), 0) + "\n"


WIDTH = 100


def _dump(value, indent: int, prefix: int = 0) -> str:
    one = json.dumps(value, ensure_ascii=False)
    scalars = isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value)
    if not isinstance(value, (dict, list)) or not value or scalars \
            or indent + prefix + len(one) <= WIDTH:
        return one
    inner = " " * (indent + 2)
    if isinstance(value, list):
        items = [inner + _dump(v, indent + 2) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = []
    for k, v in value.items():
        key = json.dumps(k, ensure_ascii=False) + ": "
        items.append(inner + key + _dump(v, indent + 2, len(key)))
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


if __name__ == "__main__":
    sys.stdout.write(text())
