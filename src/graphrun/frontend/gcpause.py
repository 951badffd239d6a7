"""gcpause: the cyclic garbage collector paused while a command works (its own module, imported
by cli/main.py before any command runs, so it must import nothing heavy)."""

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
            gc.enable()
