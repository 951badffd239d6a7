"""escaping: strings from a user's file made safe to print on one line (errors.shown). A module of
its own, importing nothing, so that the CLI's usage errors can escape a file name without loading
the error machinery (dataclasses and all: ~9 ms of a 50 ms start)."""

from __future__ import annotations


def shown(text: str) -> str:
    """`text` safe to print on one line of a terminal: every character that is not printable is
    a backslash escape. Strings from a file reach messages raw or quoted; this is the one place
    they are made harmless, at rendering (`locate`), so no message site can forget: a newline
    cannot forge a second `FILE:LINE:COL: error:` line, ESC cannot drive the terminal, U+202E
    cannot reverse what follows, U+FEFF, U+FFFE and lone surrogates cannot break an encoder. A
    byte of a file name that is not UTF-8 (Python's surrogate escape) is shown as that byte,
    \\xff. Text already escaped (a repr) is left as it is: backslashes are not doubled."""
    if text.isprintable():  # nearly always: one pass in C
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    n = ord(c)
    if 0xDC80 <= n <= 0xDCFF:  # os.fsdecode's stand-in for the byte n - 0xDC00
        return f"\\x{n - 0xDC00:02x}"
    if n < 0x100:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, f"\\x{n:02x}")
    return f"\\u{n:04x}" if n <= 0xFFFF else f"\\U{n:08x}"
