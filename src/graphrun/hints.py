"""hints: the budget of did-you-mean work (errors.did_you_mean spends it). A module of its own,
importing nothing heavy, so that the CLI can open one budget around every command without
loading the error machinery (dataclasses and all: ~10 ms of `graphrun schema`'s 50 ms start).

The work is counted in what it costs (about 10 ns a unit: a character handled by difflib's
quick_ratio, or a character pair compared by its ratio, measured), never in comparisons: an 837 KB
file of 200-character near-miss names made 4 million comparisons of 200 x 200 characters (78 s).
A call that would pass its share gives no hint, at once."""

from __future__ import annotations

import contextlib
import contextvars

HINT_WORK_PER_CALL = 20_000_000  # about 0.2 s
HINT_WORK_PER_RUN = 200_000_000  # about 2 s for one command (`hint_budget`), however many calls
work_left: contextvars.ContextVar = contextvars.ContextVar("graphrun_hint_work", default=None)


@contextlib.contextmanager
def hint_budget(units: int = HINT_WORK_PER_RUN):
    """Share `units` of did-you-mean work among every call inside the block (the CLI runs each
    command in one). Outside any block, each call has HINT_WORK_PER_CALL."""
    token = work_left.set([units])
    try:
        yield
    finally:
        work_left.reset(token)
