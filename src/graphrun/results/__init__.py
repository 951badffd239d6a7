"""results: what a run produced, as files and as named entries: the writer (results YAML and .npy
sidecars as text and arrays, what `outputs:` selects), files (every file graphrun writes: atomic,
never over an input, a device or a link, the YAML and its sidecars as one), the reader (results
files read back), compare (entry by entry with tolerances, and the tables), golden (a graph
checked against its golden file, stale goldens).

May import: errors, frontend.load (the one YAML discipline), frontend.recognise, engine (the
Results type), blas.
"""

# elements; bigger tensors go to .npy files when writing to a file. Here, not in writer.py, so that
# the CLI's arguments (their --help says the default) need no numpy.
SIDECAR_THRESHOLD = 1000
