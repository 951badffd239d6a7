"""schema_file: the text of schemas/graph.schema.json, the one copy there is (its own module so
that `graphrun schema` reads it without importing jsonschema or the op table)."""

from __future__ import annotations

import os


def schema_text() -> str:
    """The JSON Schema: schemas/graph.schema.json.

    Installed (`pip install .` or `-e .`), that folder is the package `graphrun.schemas`; run from a
    source checkout with PYTHONPATH=src, it is read from the checkout. (Read beside the package's
    __init__.py, not through importlib.resources, whose readers import zipfile and half a dozen
    other modules: ~5 ms of every run of a graph.)"""
    try:
        from .. import schemas
    except ImportError:
        folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                              "schemas")
    else:
        folder = os.path.dirname(schemas.__file__)
    with open(os.path.join(folder, "graph.schema.json"), encoding="utf-8") as f:
        return f.read()
