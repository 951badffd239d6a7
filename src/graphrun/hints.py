"""hints: did-you-mean suggestions and the budget of their work (errors.did_you_mean). A module of
its own, importing nothing heavy, so that the CLI can open one budget around every command, and
answer a mistyped command or choice, without loading the error machinery (dataclasses and all:
~10 ms of a 50 ms start).

The work is counted in what it costs (about 10 ns a unit: a character handled by difflib's
quick_ratio, or a character pair compared by its ratio, measured), never in comparisons: an 837 KB
file of 200-character near-miss names made 4 million comparisons of 200 x 200 characters (78 s).
A call that would pass its share gives no hint, at once."""

from __future__ import annotations

import contextlib
import contextvars

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms of a start)
if TYPE_CHECKING:
    from typing import Iterable, Optional, Tuple

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


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A "; did you mean 'x'?" suffix when a close match exists (ignoring case), else '' (also
    when finding one would cost more than the work left: see HINT_WORK_PER_CALL)."""
    left = work_left.get()
    if left is not None and left[0] <= 0:
        return ""  # before anything else: even sorting the choices costs
    choices = tuple(choices)
    budget = min(HINT_WORK_PER_CALL, left[0]) if left is not None else HINT_WORK_PER_CALL
    least = _CALL + _CHOICE * len(choices)  # what a call costs whatever it finds
    if least > budget:  # no hint, found at once: sorting 1.7M names to find none took 7 s
        if left is not None:
            left[0] -= least
        return ""
    key = (str(word), tuple(sorted(set(map(str, choices)))))
    found = _hints.get(key)
    if found is None:
        hint, spent = _closest(*key, budget)
        spent += _CALL + _CHOICE * len(choices)
        if hint is None:  # out of work: no hint now, and none remembered
            if left is not None:
                left[0] -= spent
            return ""
        if len(_hints) >= 256:  # a file may misspell the same key a thousand times
            _hints.pop(next(iter(_hints)))
        found = _hints[key] = (hint, spent)
    if left is not None:  # a remembered hint costs what it first cost: runs stay the same
        left[0] -= found[1]
    return found[0]


_CALL, _CHOICE = 500, 100  # the work of a call and of each choice, however short (measured)
_hints: dict = {}


def _closest(word: str, choices: tuple, budget: int) -> Tuple[Optional[str], int]:
    """(the hint, the work spent), as difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    ignoring case finds it; the hint is None if `budget` ran out first."""
    by_lower = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    w = word.lower()
    spent = (len(w) + _CHOICE) * len(by_lower) + sum(map(len, by_lower))  # the quick ratios
    if spent > budget:
        return None, 0
    import difflib  # here: only a mistake needs it, and a run of a good graph makes none

    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(w)  # its analysis is made once, for every choice
    best = None
    for x in by_lower:
        matcher.set_seq1(x)
        if matcher.real_quick_ratio() < 0.6 or matcher.quick_ratio() < 0.6:
            continue
        spent += len(w) * len(x)
        if spent > budget:
            return None, spent
        score = matcher.ratio()
        if score >= 0.6 and (best is None or (score, x) > best):  # ties: as get_close_matches
            best = (score, x)
    return (f"; did you mean '{by_lower[best[1]]}'?" if best else ""), spent
