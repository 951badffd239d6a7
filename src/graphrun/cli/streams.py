"""streams: standard output and standard error as the CLI writes them, whatever they turn out to be.

A stream can be closed before graphrun starts (`>&-`: Python then has None for it), full
(`> /dev/full`), a pipe whose reader has gone (`| head -1`), or unable to encode a character
(`PYTHONIOENCODING=ascii`, `LANG=C`). None of these is a bug in graphrun, so none may end in a
traceback or exit 3:

- a character the stream's encoding cannot represent is written as a backslash escape
  (`errors="backslashreplace"`), never an exception;
- a failed write to standard output raises `StreamError`, which the CLI answers with one line on
  standard error and exit 2 ("cannot write to standard output: No space left on device") or, for
  a pipe whose reader has gone, quietly with 141 (128 + SIGPIPE, what the shell reports for a
  program killed by SIGPIPE, as `cat` and `grep` are);
- standard error that cannot be written is given up on silently: there is nowhere left to say
  so, and the exit status still tells.

`Guarded` wraps any text stream (a real one, or the StringIO a test passes to `main`); `install`
sets up the process's own streams for the console script and, at exit, makes sure Python's final
flush cannot print "Exception ignored ... BrokenPipeError".
"""

from __future__ import annotations

import errno
import os
import signal
import sys

EXIT_BROKEN_PIPE = 128 + getattr(signal, "SIGPIPE", 13)  # 141


class StreamError(Exception):
    """A write to standard output failed (the stream, not graphrun, is at fault)."""

    def __init__(self, name: str, error: OSError):
        self.name, self.error = name, error
        self.broken_pipe = isinstance(error, BrokenPipeError) or error.errno == errno.EPIPE
        super().__init__(f"cannot write to {name}: {error.strerror or error}")


class Guarded:
    """A text stream whose failures are `StreamError` (standard output) or ignored (standard
    error, `quiet=True`). Everything else is the wrapped stream's (isatty, encoding, ...)."""

    def __init__(self, stream, name: str, quiet: bool = False):
        self._stream, self._name, self._quiet = stream, name, quiet
        self.failed = False

    def write(self, text: str) -> int:
        if self.failed:  # one failure is reported once; later writes go nowhere
            return len(text)
        try:
            if self._stream is None:
                raise OSError(errno.EBADF, "it is closed")
            return self._stream.write(text)
        except UnicodeEncodeError:  # a stream not set up by `install` (a test's, an embedder's)
            encoding = getattr(self._stream, "encoding", None) or "ascii"
            safe = text.encode(encoding, "backslashreplace").decode(encoding, "replace")
            return self._write_checked(safe)
        except (OSError, ValueError) as e:  # ValueError: write to a closed file object
            return self._failed(e)

    def _write_checked(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError) as e:
            return self._failed(e)

    def flush(self) -> None:
        if self.failed or self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as e:
            self._failed(e)

    def _failed(self, e) -> int:
        self.failed = True
        if self._quiet:
            return 0
        if not isinstance(e, OSError):
            e = OSError(errno.EBADF, "it is closed")
        raise StreamError(self._name, e) from None

    def isatty(self) -> bool:
        try:
            return bool(self._stream is not None and self._stream.isatty())
        except (OSError, ValueError):
            return False

    def __getattr__(self, name):
        return getattr(self._stream, name)


def guard(out, err):
    """`out` and `err` as Guarded streams (unchanged if they already are)."""
    if not isinstance(out, Guarded):
        out = Guarded(out, "standard output")
    if not isinstance(err, Guarded):
        err = Guarded(err, "standard error", quiet=True)
    return out, err


def install() -> None:
    """The process's own streams: characters that cannot be encoded are escaped."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (OSError, ValueError):
                pass


def finish(status: int) -> int:
    """Flush the process's streams before the interpreter does: a failure here is the stream's,
    answered as `StreamError` is, and fds 1 and 2 then point at /dev/null so that the
    interpreter's own flush at exit has nothing to fail on."""
    for name, stream in (("standard output", sys.stdout), ("standard error", sys.stderr)):
        if stream is None:
            continue
        try:
            stream.flush()
        except (OSError, ValueError) as e:
            _silence(stream)
            if name == "standard output" and status == 0:
                broken = isinstance(e, BrokenPipeError)
                if not broken:
                    Guarded(sys.stderr, "standard error", quiet=True).write(
                        f"graphrun: error: cannot write to standard output: "
                        f"{getattr(e, 'strerror', None) or e}\n")
                    Guarded(sys.stderr, "standard error", quiet=True).flush()
                status = EXIT_BROKEN_PIPE if broken else 2
    return status


def _silence(stream) -> None:
    """Point the stream's file descriptor at /dev/null (its buffered text is dropped)."""
    try:
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
