"""recognise: which kind of graphrun file a YAML file is, from its top-level keys, without loading
it (the pytest plugin, folders given to the CLI and the pre-commit hook sort files with this).

    graph     declares `graphrun:` and has `nodes:`, or has none of the keys below (a graph
              with a mistake, `node:` for `nodes:`, is still a graph: checking it says what is
              wrong, rather than leaving it out in silence)
    library   declares `graphrun:` and has `blocks:` but no `nodes:` (a file of blocks that
              graphs include)
    results   a `*.results.yaml` / `*.results.yml` name, or declares `graphrun:` and has `graph:`,
              `values:` or `gradients:` but no `nodes:` (what `graphrun run -o` writes)
    other     any other file: no `graphrun:` key at the top level (a CI config, a docker-compose
              file), or not readable as text

A top-level key is one written at the start of a line (`nodes:`, `"nodes":`), as every graph file
is written; a file written as one flow mapping (`{graphrun: 1, nodes: ...}`) is recognised by its
`graphrun` key alone.
"""

from __future__ import annotations

import re
from .. import lazy_re

GRAPH, LIBRARY, RESULTS, OTHER = "graph", "library", "results", "other"
MAX_BYTES = 64 * 2**20  # the loader's limit on a graph file
_KEY = lazy_re.compile(r"""^(?:"([^"\n]*)"|'([^'\n]*)'|([A-Za-z_][A-Za-z0-9_-]*))[ \t]*:(?:[ \t]|$)""",
                  re.M)
_FLOW_KEY = lazy_re.compile(r"""^[ \t]*\{[ \t\n]*["']?graphrun["']?[ \t]*:""", re.M)
_RESULTS_KEYS = ("graph", "values", "gradients")


def is_results_name(name: str) -> bool:
    return name.endswith((".results.yaml", ".results.yml"))


def file_kind(path: str) -> str:
    """GRAPH, LIBRARY, RESULTS or OTHER for the file `path` (see the module docstring)."""
    if is_results_name(path):
        return RESULTS
    from .reading import read_bytes
    try:
        raw = read_bytes(path, MAX_BYTES)  # a FIFO or a device is no graphrun file
    except OSError:
        return OTHER
    return text_kind(raw.decode("utf-8", errors="replace"))


def text_kind(text: str) -> str:
    """The kind of a file's text (see the module docstring)."""
    text = text[1:] if text.startswith("\ufeff") else text  # a byte-order mark
    keys = {a or b or c for a, b, c in _KEY.findall(text)}
    if "graphrun" not in keys:
        return GRAPH if _FLOW_KEY.search(text) else OTHER
    if "nodes" in keys:
        return GRAPH
    if "blocks" in keys:
        return LIBRARY
    if any(k in keys for k in _RESULTS_KEYS):
        return RESULTS
    return GRAPH
