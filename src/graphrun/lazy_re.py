"""lazy_re: module-level regular expressions compiled when first used, not at import.

Why: graphrun's modules hold about 55 patterns, most of them for what a run rarely meets (a
problem's wording, a results file's odd forms); compiled at import they took 8 ms of every
process, a quarter of what `graphrun graphs/simple.yaml` adds to `import numpy` (bench/README.md,
"Start-up"). A pattern here behaves as the compiled one (`match`, `sub`, `pattern`, ...): the
first attribute asked for compiles it, and each attribute is then kept on the object, so later
uses cost what a compiled pattern's do."""

from __future__ import annotations

import re


class Pattern:
    """re.compile(pattern, flags), made on first use."""

    def __init__(self, pattern, flags: int = 0):
        self._source = pattern, flags

    def __getattr__(self, name: str):  # only for what is not yet kept on the object
        if name.startswith("__"):
            raise AttributeError(name)  # (copy and pickle look for such names)
        value = getattr(re.compile(*self._source), name)
        setattr(self, name, value)
        return value


def compile(pattern, flags: int = 0) -> Pattern:  # noqa: A001 - as re.compile
    return Pattern(pattern, flags)
