"""results: what a run produced, as files and as named entries: the writer (results YAML and .npy
sidecars as text and arrays), files (every file graphrun writes: atomic, never over an input, a
device or a link, the YAML and its sidecars as one), the reader (results files read back), compare
(entry by entry with tolerances).

May import: errors, frontend.load (the one YAML discipline), run (the Results type).
"""
