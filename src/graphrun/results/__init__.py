"""results: what a run produced, as files and as named entries: the writer (results YAML and .npy
sidecars as text and arrays, what `outputs:` selects), files (every file graphrun writes: atomic,
never over an input, a device or a link, the YAML and its sidecars as one), the reader (results
files read back), compare (entry by entry with tolerances, and the tables), golden (a graph
checked against its golden file, stale goldens).

May import: errors, frontend.load (the one YAML discipline), frontend.recognise, engine (the
Results type), blas.
"""

import os

# elements; bigger tensors go to .npy files when writing to a file. Here, not in writer.py, so that
# the CLI's arguments (their --help says the default) need no numpy.
SIDECAR_THRESHOLD = 1000
RESULTS_SUFFIX = ".results.yaml"


def results_name(graph: str) -> str:
    """The documented name of a graph's results file: `graphs/mlp.yaml` -> `mlp.results.yaml`
    (what `run -o DIR` writes and where `check --golden DIR` and the pytest plugin look). A graph
    read from stdin (`-`) is `stdin.results.yaml`. Here, beside SIDECAR_THRESHOLD, for the same
    reason: `graphrun run -o DIR/` needs it without golden.py's imports (compare, reader)."""
    if graph == "-":
        return "stdin" + RESULTS_SUFFIX
    return os.path.splitext(os.path.basename(graph))[0] + RESULTS_SUFFIX
