"""graphrun schema: print the JSON Schema of graph files, for editors, SchemaStore and
check-jsonschema (e.g. `graphrun schema > graph.schema.json`)."""

from __future__ import annotations

from ..main import EXIT_OK
from ...frontend.schema_file import schema_text


def add_arguments(parser):
    pass


def execute(args, out, err) -> int:
    out.write(schema_text())
    return EXIT_OK
