"""schema_file: the text of schemas/graph.schema.json, the one copy there is (its own module so
that `graphrun schema` reads it without importing jsonschema or the op table)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def schema_text() -> str:
    """The JSON Schema: schemas/graph.schema.json.

    Installed (`pip install .` or `-e .`), that folder is the package `graphrun.schemas`; run from a
    source checkout with PYTHONPATH=src, it is read from the checkout."""
    try:
        folder = resources.files("graphrun.schemas")
    except ModuleNotFoundError:
        folder = Path(__file__).resolve().parents[3] / "schemas"
    return folder.joinpath("graph.schema.json").read_text("utf-8")
