"""gcpause: the cyclic garbage collector paused while a command works, and skipped as the process
ends (its own module, imported by cli/main.py before any command runs, so it must import nothing
heavy)."""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector. A large graph is millions of small objects that form no
    cycles; each full collection would walk all of them again, for nothing (seconds at 100,000
    nodes). Reference counting still frees whatever is dropped."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:  # (nobody else's frozen objects to thaw)
                # What was made while paused joins the oldest generation, unwalked: enabled as it
                # is, the next allocation's collection would walk all of it, counted as young
                # (0.6 s after loading a 1,000,000-node file). Nothing is lost: the oldest
                # generation is collected too, when it has grown by a quarter.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def skip_final_collections() -> None:
    """As the `graphrun` process ends: every object moves to the permanent generation, which the
    interpreter's last collections leave alone. They would walk every object numpy and graphrun
    made, to free memory the process is about to hand back anyway: 15-20 ms of a small graph's
    run, a tenth of it. Nothing graphrun writes waits for a collector: every file is closed (and
    renamed into place) by results/files.py, and the streams are flushed, before this."""
    gc.freeze()
