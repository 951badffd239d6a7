"""results: what a run produced, as files and as named entries: the writer (results YAML and .npy
sidecars, atomic), the reader (results files read back), compare (entry by entry with tolerances).

May import: errors, frontend.load (the one YAML discipline), run (the Results type).
"""
