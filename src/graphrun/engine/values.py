"""values: what a run produced, by name.

`Results` keeps the run's values and gradients by slot (the executor's numbering, what the writer
and the tools read) and hands them out by name: `results.values["u"]`, `results.grads["w"]`,
`results.loss`. Every value handed out is a numpy array of the graph's dtype (a 0-d array for a
scalar), whichever path ran; the loss is a Python float.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator, Optional

import numpy as np

from ..errors import did_you_mean


class Named(Mapping):
    """A read-only mapping name -> numpy array over some of a program's slots."""

    __slots__ = ("_program", "_by_slot", "_slots", "_what")

    def __init__(self, program, by_slot, slots, what: str):
        self._program, self._by_slot, self._what = program, by_slot, what
        self._slots = {program.names[s]: s for s in slots}

    def __getitem__(self, name: str) -> np.ndarray:
        slot = self._slots.get(name)
        if slot is None:
            raise KeyError(self._missing(name))
        return np.asarray(self._by_slot[slot], self._program.types[slot].dtype)

    def _missing(self, name) -> str:
        p = self._program
        if name in p.slots:
            kind = p.kinds[p.slots[name]]
            return f"'{name}' is {'an' if kind == 'input' else 'a'} {kind}: it has no {self._what}"
        return f"no {self._what} named {name!r}{did_you_mean(name, self._slots)}"

    def __iter__(self) -> Iterator[str]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {self[k]!r}" for k in self) + "}"


class Results:
    """The values (every leaf and node) and, with a loss, the gradients (every param and node;
    zeros where the loss does not depend on it) of one run."""

    __slots__ = ("program", "slot_values", "slot_grads")

    def __init__(self, program, slot_values, slot_grads):
        self.program = program
        # slot -> array or Python float (a scalar path): the executor's own new lists, kept
        # as they are (a copy would be 13 MiB each at a million slots); never changed
        self.slot_values = slot_values
        self.slot_grads = slot_grads

    @property
    def loss(self) -> Optional[float]:
        """The loss as a Python float, or None for a graph without one."""
        p = self.program
        return None if p.loss is None else float(np.reshape(self.slot_values[p.loss], ()))

    @property
    def values(self) -> Named:
        """name -> value of every input, param and node."""
        p = self.program
        return Named(p, self.slot_values, [s for s, n in enumerate(p.names) if n], "value")

    @property
    def grads(self) -> Optional[Named]:
        """name -> d loss / d name for every param and node; None without a loss."""
        if self.slot_grads is None:
            return None
        p = self.program
        return Named(p, self.slot_grads, [s for s, d in enumerate(p.differentiable) if d],
                     "gradient")

    def text(self) -> str:
        """The results file, every tensor inline: what `graphrun run` prints."""
        from ..results.writer import results_text
        return results_text(self)

    def print_to(self, stream) -> None:
        """Write text() to `stream` (a text file) as it is made, a few MiB at a time."""
        from ..results.writer import write_text
        write_text(self, stream)

    def write(self, path, *, sidecar_threshold: Optional[int] = None) -> None:
        """Write the results file (tensors of more than `sidecar_threshold` elements, default
        1,000, as .npy sidecars) and its sidecars as one atomic change (results/files.py). A path
        that is (or leads to) a file the graph reads is refused with ValueError."""
        import os

        from ..results.files import clash, files_read, results_outputs
        from ..results.writer import SIDECAR_THRESHOLD, write_results
        path = os.fspath(path)
        problem = clash(results_outputs(path), files_read(self.program))
        if problem:
            raise ValueError(problem)
        write_results(path, self, SIDECAR_THRESHOLD if sidecar_threshold is None
                      else sidecar_threshold)

    def __repr__(self) -> str:
        loss = "" if self.program.loss is None else f", loss={self.loss!r}"
        return f"<Results of {self.program.name!r}{loss}>"

    def _repr_html_(self) -> str:
        """A notebook shows the values and gradients as a table (tools/view)."""
        from ..tools.view import results_html
        return results_html(self)
