"""files: every file graphrun writes goes through here, and nothing a user owns is ever lost.

The rules (docs/format.md, "How files are written"):

- An output never replaces an input. `clash(outputs, inputs)`, called before anything runs,
  compares every path a command will write with every file it reads, through symbolic links
  (realpath) and hard links (device and inode); an input inside an output folder (a sidecar
  folder) counts too, and so does a graph read from standard input (`-`: the file on fd 0).
- A regular file is replaced atomically: a temporary file in the same folder, fsync, rename, so a
  failure or an interrupt leaves the previous file byte-identical and no temporary file behind. A
  symbolic link is followed: the file it points to is written, the link stays a link. What exists
  and is not a regular file (a character device such as /dev/null, a FIFO), and an open file
  named through /proc/self/fd/N or /dev/fd/N (/dev/stdout), is written through: opened (to
  append) and written, never renamed over or unlinked. A block device is refused (writing
  through it would overwrite a disk); a folder is an error, as before. What this process may
  not write is not written: an existing file that is read-only for it (or another user's: a
  rename would need only the folder's permission), and a descriptor it opened for reading only
  (`-o /dev/stdin` with `< g.yaml` would append to g.yaml).
- A results file and its sidecars change together or not at all. A sidecar is named by its
  content (`values.h.<first 16 hex digits of the SHA-256 of the .npy file>.npy`), so a rerun
  names the same files and stays byte-identical (a sidecar already there with exactly the bytes
  its name says is kept as it is; anything else at its name, a file with other bytes, a link, a
  folder, is not graphrun's and is never replaced: the write fails, changing nothing); the new
  sidecars are renamed in first, then the
  YAML, and only then are the previous YAML's sidecars that the new one does not name removed.
  An interrupt before the YAML's rename removes the sidecars this write created (the previous pair
  is untouched); after it, the new pair is complete. The renames and removals of the commit are
  never cut in half by SIGINT or SIGTERM: a signal arriving then is delivered right after.
- graphrun deletes only what it can prove it wrote: a sidecar this very write created (when it
  is interrupted or fails), or a stale sidecar, which must be named by the previous results file
  (a file that starts with `graphrun: 1` then `graph: `, as graphrun writes it: a graph file
  starts with `graphrun: 1` too, never with `graph:`), lie directly in a sidecar
  folder that is a real folder (never through a link), be a regular file with a sidecar's name
  (`values.`, `gradients.` or, in a training results file, `params.` ... `.npy`) and, when its
  name carries a digest, hold exactly the bytes of that digest. The sidecar folder is removed
  only when empty.
- Concurrent writers of one results file take turns for the commit: an exclusive flock on the
  folder of the results file, held from just before the YAML's rename to the end of the clean-up
  (no lock file); a reader holds the shared one while it reads the YAML and its sidecars. Each
  writer checks, holding the lock, that its sidecars are still there (another writer's clean-up
  may have removed a file both wrote), so the last commit leaves a complete pair.
- SIGTERM is raised as `Terminated`, a KeyboardInterrupt (exit code 143 where SIGINT's is 130;
  SIGHUP likewise, as `Hangup`, 129),
  while graphrun writes (or for the whole CLI process), so that the same clean-up runs.
"""

from __future__ import annotations

import errno
import io
import os
import re
from .. import lazy_re
import signal
import stat
import time
import threading
import _thread
from contextlib import contextmanager

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms of `--version`)
if TYPE_CHECKING:  # numpy, hashlib: imported where used (`graphrun --version` imports this
    # module for sigterm_as_interrupt, and must stay instant)
    from typing import Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple, Union

    import numpy as np

    # render(folder, sidecars) -> the text, a str or an iterable of str pieces; it names each
    # sidecar by `sidecars[file name] = array`, as its text is made (the writer streams a big
    # results file instead of holding it twice, and each sidecar is written as soon as named)
    Render = Callable[[Optional[str], Dict[str, np.ndarray]], Union[str, Iterable[str]]]

try:
    import fcntl
except ImportError:  # Windows: no flock; a single writer is still safe
    fcntl = None

SIDECAR_SUFFIX = ".arrays"
RESULTS_MAGIC = b"graphrun: 1\n"  # the first line of every results file graphrun writes
# ... and its second line's start: a graph file also begins `graphrun: 1`, never with `graph:`
_PROOF = RESULTS_MAGIC + b"graph: "
_DIGITS = 16  # hex digits of the SHA-256 in a sidecar's name: 64 bits, no accidental collision


def _encoded(text) -> Iterator[bytes]:
    """The UTF-8 chunks of a text given whole or in pieces."""
    for piece in ([text] if isinstance(text, str) else text):
        yield piece.encode("utf-8")


# --- an output never replaces an input ----------------------------------------------------------

def files_read(compiled) -> Tuple[str, ...]:
    """The files a compiled graph (an api.Graph, or its Program) reads: the graph file, the files
    it includes, then the .npy/.npz files its `file:` leaves name (absolute paths), each once."""
    program = getattr(compiled, "program", compiled)
    data = (leaf.file[0] for leaf in program.leaves if leaf.file is not None)
    includes = getattr(program.source, "includes", ())  # the files its `include:` brought in
    return tuple(dict.fromkeys((program.source.file, *includes, *data)))


def results_outputs(path: str) -> Tuple[str, str]:
    """What writing the results file `path` may write: the file and its sidecar folder."""
    return path, sidecar_folder(_realpath(path))


def unwritable(path: str, made: bool = False) -> Optional[str]:
    """Why the output `path` cannot be written (its folder missing, not a folder, or not ours to
    write in), asked before any work so that a typo costs no run; None when it can. `made`: `path`
    is a folder that the command creates (with its parents) when missing."""
    if not made and _names_an_open_file(path):
        try:
            _check_open_for_writing(path)
        except OSError as e:
            return f"cannot write {path}: {e.strerror}; nothing was run"
        return None  # an open file: written through by the writer
    if not made and os.path.exists(path):
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None  # a device, a FIFO or a folder: written through, or refused, by the writer
        try:
            _check_writable(path)
        except OSError as e:
            return f"cannot write {path}: {e.strerror}; nothing was run"
    folder = os.path.abspath(path) if made else os.path.dirname(os.path.abspath(path))
    while made and not os.path.lexists(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)  # the nearest existing one, where the first is made
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.lexists(folder) else "does not exist"
        return f"cannot write {path}: the output folder {folder} {what}; nothing was run"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write {path}: no permission to write in {folder}; nothing was run"
    return None


def clash(outputs: Iterable[str], inputs: Iterable[str]) -> Optional[str]:
    """Why writing `outputs` would replace a file the command reads, or write one file twice; None
    when it would not. An output is a file or a folder (anything inside it is at risk)."""
    written: Dict[object, str] = {}  # real path, and (device, inode), -> the output writing it
    outs = [_Identity(path) for path in outputs]
    for out in outs:
        found = out.same_as(written)
        if found:
            return f"{found[0]} and {out.path} would both be written{found[1]}; " \
                   "nothing was run or written"
        written[out.real] = out.path
        if out.inode is not None:
            written[out.inode] = out.path
    for out in outs:  # an output inside another (a folder), whichever came first
        found = out.inside(written)
        if found:
            return f"{found[0]} and {out.path} would both be written{found[1]}; " \
                   "nothing was run or written"
    for path in inputs:
        source = _Identity(path)
        found = source.same_as(written) or source.inside(written)
        if found:
            return (f"refusing to write {found[0]}: it would replace {path}, which this command "
                    f"reads{found[1]}; choose another output (nothing was run or written)")
    return None


def _realpath(path: str) -> str:
    """os.path.realpath, which raises where a link cannot be read (another process's
    /proc/N/fd/M: EACCES): then the path as given, made absolute."""
    try:
        return os.path.realpath(path)
    except OSError:
        return os.path.abspath(path)


# how an input read from standard input is named: the command line's `-`, and the graph's
# source name (cli/args.py STDIN, STDIN_NAME)
_STANDARD_INPUT = ("-", "<stdin>")
_STDIN_FD = "/proc/self/fd/0"


class _Identity:
    """A path as the file system sees it: its real path, and its (device, inode) if it exists."""

    def __init__(self, path: str):
        self.path = path
        if path in _STANDARD_INPUT and not os.path.lexists(path):
            # a graph read from standard input (`graphrun run - -o g.yaml < g.yaml`): the file
            # that fd 0 is, by its inode, and by its name where /proc tells it
            self.real = _realpath(_STDIN_FD) if os.path.exists(_STDIN_FD) else path
            try:
                st = os.fstat(0)
                self.inode = (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None
            except OSError:
                self.inode = None
            return
        self.real = _realpath(path)
        try:
            st = os.stat(path)
            self.inode = (st.st_dev, st.st_ino)
        except OSError:
            self.inode = None

    def same_as(self, written: dict) -> Optional[Tuple[str, str]]:
        """(the output that is this very file, a note on how, for messages), or None."""
        if self.real in written:
            out = written[self.real]
            plain = os.path.abspath(out) == os.path.abspath(self.path)
            return out, "" if plain else f" (through a link: both are {self.real})"
        if self.inode is not None and self.inode in written:
            return written[self.inode], " (they are hard links to one file)"
        return None

    def inside(self, written: dict) -> Optional[Tuple[str, str]]:
        """(the output folder this file lies in, a note), or None."""
        folder, parent = self.real, os.path.dirname(self.real)
        while parent != folder:  # up to the root
            folder, parent = parent, os.path.dirname(parent)
            if folder in written:
                return written[folder], f" (it lies inside {folder})"
        return None


# --- writing one file ---------------------------------------------------------------------------

def write_text(path: str, text: str) -> None:
    """Write `text` to `path`: atomically for a regular file, through for a device or FIFO."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str, data: bytes) -> None:
    """Write `data` (a plot's PNG) to `path` as write_text writes text."""
    with sigterm_as_interrupt():
        target, through = _target(path)
        if through:
            _write_through(target, data)
        else:
            _replace(target, data)


def write_array(path: str, array: np.ndarray) -> None:
    """Write `array` as a .npy file, atomically (format 1.0, C order: the same array always gives
    the same bytes)."""
    with sigterm_as_interrupt():
        _replace(path, npy_bytes(array))


def npy_bytes(array: np.ndarray) -> List:
    """The .npy file of `array` as chunks (header, data) whose concatenation is the file."""
    import numpy as np

    array = np.ascontiguousarray(array)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
    return [header.getvalue(), memoryview(array).cast("B") if array.size else b""]


def _target(path: str) -> Tuple[str, bool]:
    """(the file to write, whether to write through it rather than replace it)."""
    if _names_an_open_file(path):
        _check_open_for_writing(path)
        return path, True
    try:
        mode = os.stat(path).st_mode  # follows links
    except FileNotFoundError:  # a new file, or a link to one: written where the link points
        if path.endswith(("/", os.sep)):
            raise  # names a folder, which does not exist (realpath would drop the '/')
        return _realpath(path), False
    if stat.S_ISREG(mode):
        _check_writable(path)
        return _realpath(path), False
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if stat.S_ISBLK(mode):
        raise OSError(errno.EINVAL, "is a block device: graphrun writes to regular files, "
                                    "character devices and FIFOs, never over a disk", path)
    return path, True  # opened by its own name: the kernel follows links (even /proc/self/fd/1)


def _check_writable(path: str) -> None:
    """Refuse to replace an existing regular file that this process may not write (read-only,
    or another user's): renaming over it needs only the folder's permission, but its owner
    said it is not to be changed, as open(path, "w") would respect. (Root may write anything.)"""
    if not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is read-only for this user: it is not "
                              "replaced (make it writable, or write elsewhere)", path)


def _check_open_for_writing(path: str) -> None:
    """Refuse to write through /proc/self/fd/N or /dev/fd/N (/dev/stdin) when this process
    opened N for reading only: that is an input (`< g.yaml`), never an output; opening it
    again for writing would append to it."""
    fd = _own_descriptor(path)
    if fd is None or fcntl is None:
        return
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        return  # not open: the open itself fails with its own message
    if flags & os.O_ACCMODE == os.O_RDONLY:
        raise OSError(errno.EBADF, f"it is file descriptor {fd} of this process (standard "
                      "input?), open for reading only: an input is never written", path)


def _own_descriptor(path: str) -> Optional[int]:
    """N when `path` leads through links to this process's /proc/self/fd/N or /dev/fd/N."""
    for _ in range(40):
        path = os.path.abspath(path)
        match = _OWN_FD.search(path)
        if match:
            pid = match.group(1)
            if pid is None or pid in ("self", "thread-self") or pid == str(os.getpid()):
                return int(match.group(2))
            return None
        try:
            path = os.path.join(os.path.dirname(path), os.readlink(path))
        except OSError:
            return None
    return None


_OWN_FD = lazy_re.compile(r"/(?:proc/(self|thread-self|[0-9]+)/fd|dev/fd)/([0-9]+)\Z")


_OPEN_FILE = lazy_re.compile(r"/(?:proc/(?:self|thread-self|[0-9]+)/fd|dev/fd)/[0-9]+\Z")


def _names_an_open_file(path: str) -> bool:
    """Whether `path` is, or leads through links to, /proc/self/fd/N or /dev/fd/N, as /dev/stdout
    does on Linux: an open file (a pipe, a terminal, the file a shell's `>>` appends to), to be
    written through, never replaced."""
    for _ in range(40):  # the kernel's own limit on a chain of links
        path = os.path.abspath(path)
        if _OPEN_FILE.search(path):
            return True
        try:
            path = os.path.join(os.path.dirname(path), os.readlink(path))
        except OSError:  # not a link (or not there)
            return False
    return False


def _write_through(path: str, data) -> None:
    """Write `data` (bytes, or an iterable of bytes chunks) into the open file or device."""
    # no O_CREAT, no O_TRUNC: the target exists and is not ours to truncate or replace;
    # O_APPEND: an open file (`>> log`) is added to, never overwritten from its start
    fd = _open_for_writing(path)
    try:
        for chunk in _chunks(data):
            view = memoryview(chunk)
            while view:  # unbuffered: an interrupted write leaves nothing to flush into a pipe
                view = view[os.write(fd, view[:1 << 20]):]
    finally:
        os.close(fd)


def _chunks(data):
    return [data] if isinstance(data, (bytes, bytearray, memoryview)) else data


FIFO_WAIT = 5.0  # seconds a FIFO may take to get a reader (`graphrun ... -o p & cat p`)


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _open_for_writing(path: str) -> int:
    """Open what `path` names for writing through it. Non-blocking first: a FIFO that nobody
    reads would block a plain open forever (ENXIO says so); wait a little for its reader, then
    refuse. Once open, writes block as usual."""
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0)
    nonblock = getattr(os, "O_NONBLOCK", 0)
    deadline = time.monotonic() + FIFO_WAIT
    while True:
        try:
            fd = os.open(path, flags | nonblock)
            break
        except OSError as e:
            if e.errno == errno.ENXIO and not _is_fifo(path):  # /dev/tty with no terminal
                raise OSError(errno.ENXIO, "no such device (a terminal this process does "
                                           "not have?)", path) from None
            if e.errno != errno.ENXIO or time.monotonic() > deadline:
                if e.errno == errno.ENXIO:
                    raise OSError(errno.ENXIO, f"it is a FIFO that no process reads (waited "
                                               f"{FIFO_WAIT:g} s for a reader)", path) from None
                raise
            time.sleep(0.05)
    if nonblock:
        os.set_blocking(fd, True)
    return fd


def _replace(path: str, data) -> None:
    """Write `data` (bytes, or an iterable of chunks) to a temporary file beside `path`, then
    rename it into place."""
    made: List[str] = []
    try:
        tmp = _prepare(path, data, made)
        os.replace(tmp, path)
        made.clear()
    finally:
        _discard_all(made)


def _prepare(path: str, data, made: List[str], sync: bool = True) -> str:
    """A temporary file beside `path` holding `data`, fsynced (unless not `sync`: then the
    caller fsyncs it, see _Syncs): renaming it over `path` is the whole write. Its name is added
    to `made` as it is created, for the caller to discard if the rename does not happen."""
    fd, tmp = _temporary(path, made)
    with os.fdopen(fd, "wb") as f:
        for chunk in _chunks(data):
            f.write(chunk)
        f.flush()
        if sync:
            os.fsync(f.fileno())
    return tmp


def _temporary(path: str, made: List[str], mode: Optional[int] = None) -> Tuple[int, str]:
    """(an open descriptor, the name) of a new empty temporary file beside `path`, with `mode`
    (by default _mode(path)), its name added to `made` as it is created."""
    mode = _mode(path) if mode is None else mode
    folder = _output_folder(path)
    with _signals_deferred():  # the file and the record of its name appear together
        fd, tmp = _create_unused(os.path.join(folder, _temporary_prefix(path)))
        made.append(tmp)
    try:
        os.fchmod(fd, mode)  # the descriptor stays writable whatever the mode
    except BaseException:
        os.close(fd)
        raise
    return fd, tmp


def _mode(path: str) -> int:
    """The mode of the file `path` replaces: its own, or a new file's. (Reading the umask sets it
    for a moment: done in the caller's thread, never in a writing thread.)"""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


_NAME_MAX = 255  # bytes in one file name on every common file system (ext4, APFS, NTFS in UTF-16)


_EXCLUSIVE = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
    | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _create_unused(prefix: str) -> Tuple[int, str]:
    """(fd, name) of a new file `<prefix><8 random characters>.tmp`, readable and writable by its
    owner only: tempfile.mkstemp's exclusive create, without importing tempfile (with shutil,
    random and their modules: ~5 ms of every run that writes a file)."""
    for _ in range(100):
        name = f"{prefix}{os.urandom(4).hex()}.tmp"
        try:
            return os.open(name, _EXCLUSIVE, 0o600), name
        except FileExistsError:
            continue  # taken: another name
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", prefix)


def _temporary_prefix(path: str) -> str:
    """`.<name>.` (the temporary file of out.yaml is .out.yaml.k3j9_x.tmp, easy to place), or
    `.graphrun.` when the output's own name is so long that the temporary one would pass the
    file system's limit: a name that can be written must not fail for want of a temporary one."""
    name = os.path.basename(path)
    if len(os.fsencode(name)) + 2 + 8 + 4 > _NAME_MAX:  # dots, _create_unused's 8 characters, .tmp
        return ".graphrun."
    return "." + name + "."


def _output_folder(path: str) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):  # not made: a missing output folder is the caller's mistake
        raise FileNotFoundError(f"the output folder {folder} does not exist")
    return folder


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _discard_all(temporaries: List[str]) -> None:
    """Remove the temporary files (created here, under names no one else uses) not renamed."""
    for tmp in temporaries:
        _discard(tmp)


class _Syncs:
    """Files written and fsynced side by side, each in a thread started as soon as its data is
    known: the disk writes one while the next is being made (the main thread hashes the next
    sidecar meanwhile: writes, hashing and fsync all release the GIL), and concurrent fsyncs
    share the file system's journal commits (ext4 commits a group at once), where one after
    another each waits for its own (22 files of 2 MiB: 72 ms against 160 ms here;
    bench/README.md, issue 17). `wait()` returns once every file is on disk, or raises the
    first failure."""

    def __init__(self):
        self.running: List[InThread] = []
        self.errors: List[BaseException] = []

    def sync(self, path: str) -> None:
        """fsync the written file `path`, in a thread."""
        self.run(self._sync, path)

    def run(self, job, *args) -> None:
        """`job(*args)` in a thread."""
        if len(self.running) >= _SYNC_THREADS:
            self._finish(self.running.pop(0))
        self.running.append(InThread(job, *args))

    def _finish(self, job: InThread) -> None:
        job.wait()
        if job.error is not None:  # raised again by wait(), once every file is done
            self.errors.append(job.error)

    @staticmethod
    def _sync(path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def wait(self) -> None:
        while self.running:
            self._finish(self.running.pop(0))
        if self.errors:
            raise self.errors[0]


class InThread:
    """`function(*args)` run in a new thread; `result()` waits for it and returns its value (or
    raises its error there). Started through _thread, which returns at once, where
    threading.Thread.start waits until the new thread runs: on a busy machine a scheduler's
    latency, 1-3 ms a thread (36 threads made 100 ms of the MLP's 165 ms write at load 3)."""

    def __init__(self, function, *args):
        self.value, self.error = None, None
        self._done = _thread.allocate_lock()
        self._done.acquire()  # released by the thread when it ends
        _thread.start_new_thread(self._run, (function, args))

    def _run(self, function, args) -> None:
        try:
            self.value = function(*args)
        except BaseException as e:  # handed to the caller's thread
            self.error = e
        finally:
            self._done.release()

    def wait(self) -> None:
        with self._done:  # an interrupt (Ctrl-C) while waiting is raised here, as usual
            pass

    def result(self):
        self.wait()
        if self.error is not None:
            raise self.error
        return self.value


_SYNC_THREADS = 16  # fsyncs in flight at once (each a thread blocked in the kernel)


def _fsync_folder(folder: str) -> None:
    """Make the renames in `folder` durable (best effort: not every file system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- a results file and its sidecars ------------------------------------------------------------

def sidecar_folder(path: str) -> str:
    """The folder of the sidecars of the results file `path`: x.results.yaml -> x.results.arrays."""
    stem, ext = os.path.splitext(path)
    folder = (stem if ext in (".yaml", ".yml") else path) + SIDECAR_SUFFIX
    parent, name = os.path.split(folder)
    if len(os.fsencode(name)) <= _NAME_MAX:
        return folder
    # a results file whose name is near the limit: its folder's name is cut short and made its
    # own by a digest of the whole name (the same on every run)
    import hashlib
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:_DIGITS]
    keep = os.fsencode(name)[:_NAME_MAX - 1 - _DIGITS - len(SIDECAR_SUFFIX)]
    return os.path.join(parent, os.fsdecode(keep) + "." + digest + SIDECAR_SUFFIX)


def sidecar_name(stem: str, array: np.ndarray, digest: Optional[str] = None) -> str:
    """`<stem>.<digest>.npy`, the digest the first hex digits of the SHA-256 of the .npy file
    (`digest`: npy_digest(array), when already known).

    The digest makes the name safe where names are not what they seem: a stem too long for one
    file name (a 240-character node name) is cut short, and `values.A.*` and `values.a.*`, one
    file on a case-insensitive file system (macOS, Windows), can only meet when their digests,
    and so their bytes, are the same."""
    stem = stem[:_NAME_MAX - 1 - _DIGITS - len(".npy")]  # names are ASCII: a character a byte
    return f"{stem}.{npy_digest(array) if digest is None else digest}.npy"


def npy_digest(array: np.ndarray) -> str:
    """The first hex digits of the SHA-256 of the .npy file of `array`."""
    import hashlib
    digest = hashlib.sha256()
    for chunk in npy_bytes(array):
        digest.update(chunk)
    return digest.hexdigest()[:_DIGITS]


_SIDECAR = lazy_re.compile(r"(?:values|gradients|params)\.[^/\\]+\.npy\Z")  # params: training
_DIGEST = lazy_re.compile(rf"\.([0-9a-f]{{{_DIGITS}}})\.npy\Z")
# a sidecar entry as the writers write it: `  name: {file: folder/file.npy, shape: [...` (a
# results file) or `  name: {file: folder/file.npy}` (a training results file's param)
_ENTRY = lazy_re.compile(r'^  \S.*?: \{file: ("(?:[^"\\\n]|\\.)*"|[^\s",{}]+)(?:, shape: \[|\}$)',
                    re.M)


def write_results(path: str, render: Render) -> None:
    """Write a results file and its sidecars by the rules above. `render(folder)` gives the YAML
    text and its sidecars ({file name: array}), the text naming each `folder/<file name>`;
    `render(None)` the text with every tensor inline (for a device or a FIFO)."""
    with sigterm_as_interrupt():
        target, through = _target(path)
        if through:
            _write_through(target, _encoded(render(None, {})))
            return
        transaction = _Transaction(target, sidecar_folder(target))
        transaction.commit(render(os.path.basename(transaction.folder), transaction.sidecars))


class _Sidecars(dict):
    """{file name: array}, as a render names each sidecar (`sidecars[name] = array`); each new
    name starts its write at once (the same name again is the same bytes: written once)."""

    def __init__(self, start: Callable[[str, "np.ndarray"], None]):
        super().__init__()
        self._start = start

    def __setitem__(self, name: str, array) -> None:
        if name not in self:
            self._start(name, array)
        super().__setitem__(name, array)


class _Transaction:
    """One write of a results file and its sidecars: new sidecars, then the YAML, then clean-up.
    Each sidecar is written (and fsynced, in a thread) as soon as the text names it, while the
    rest of the text is made; nothing is renamed until every file is on disk."""

    def __init__(self, target: str, folder: str):
        self.target, self.folder = target, folder
        self.sidecars = _Sidecars(self._start)  # {file name: array}, filled by the render
        self.parent = _output_folder(target)
        self.created: List[str] = []  # sidecar names this write brought into existence
        self.made_folder = False
        self.pending: List[Tuple[str, str]] = []  # (sidecar name, its temporary file) being written
        self.made: List[str] = []  # temporary files of sidecars not yet renamed into place
        self.syncs = _Syncs()
        # the writing threads create the temporary files (a create waits while the file system
        # commits another file's fsync: 10-20 ms of the MLP's write, off the caller's thread);
        # the lock makes "abandoned, or the file recorded in made" one or the other
        self.lock = threading.Lock()
        self.abandoned = False

    def commit(self, text) -> None:
        """`text`: a str or its pieces, encoded into the temporary file as they come (and naming
        the sidecars, which are written meanwhile)."""
        committed = False
        made: List[str] = []  # the YAML's temporary file until it is renamed into place
        try:
            tmp = _prepare(self.target, _encoded(text), made, sync=False)
            self.syncs.sync(tmp)
            self._settle()
            with _locked(self.parent):
                for name, array in self.sidecars.items():  # another writer's clean-up may have
                    if not os.path.lexists(os.path.join(self.folder, name)):  # removed one
                        self._start(name, array)
                self._settle()
                previous = named_sidecars(self.target, os.path.basename(self.folder)) \
                    if os.path.isdir(self.folder) else set()
                with _signals_deferred():
                    os.replace(tmp, self.target)
                    made.clear()
                    committed = True
                    _fsync_folder(self.parent)
                    self._remove_stale(previous - set(self.sidecars))
        except BaseException:
            self._abandon()
            if not committed:
                self._roll_back()
            raise
        finally:
            _discard_all(made)

    def _start(self, name: str, array: np.ndarray) -> None:
        """Start writing the sidecar `name` to a temporary file in its folder (made if missing)."""
        if not os.path.isdir(self.folder):
            try:
                with _signals_deferred():  # made, and known to be made, in one step
                    os.mkdir(self.folder)
                    self.made_folder = True
            except FileExistsError:
                if not os.path.isdir(self.folder):
                    raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder "
                                             "(it is where the sidecars go)", self.folder) \
                        from None
        path = os.path.join(self.folder, name)
        if _already_there(path, name):
            return  # this very sidecar, byte for byte (a rerun): nothing to write or replace
        slot = [name, None]  # and the temporary file, once the thread has made it
        self.pending.append(slot)
        self.syncs.run(self._write, path, _mode(path), npy_bytes(array), slot)

    def _write(self, path: str, mode: int, chunks, slot: list) -> None:
        """In a thread: the sidecar `path` written to a temporary file beside it, and fsynced."""
        with self.lock:
            if self.abandoned:
                return
            fd, slot[1] = _temporary(path, self.made, mode)
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def _settle(self) -> None:
        """Wait until every file started is on disk, then rename each sidecar into place."""
        self.syncs.wait()
        for name, tmp in self.pending:
            path = os.path.join(self.folder, name)
            with _signals_deferred():  # renamed in, and known to be this write's, in one step
                existed = os.path.lexists(path)
                os.replace(tmp, path)
                self.made.remove(tmp)
                if not existed:
                    self.created.append(name)
        if self.pending:
            self.pending.clear()
            _fsync_folder(self.folder)

    def _abandon(self) -> None:
        """On a failure: nothing waits for the files being written; their temporary files go
        (and a thread that has not made its file yet makes none)."""
        self.syncs.running.clear()
        with self.lock:
            self.abandoned = True
            _discard_all(self.made)
            self.made.clear()
        self.pending.clear()

    def _remove_stale(self, names: Set[str]) -> None:
        """Remove the previous sidecars this write no longer names, by the proof above (and
        that no other results file sharing the folder names)."""
        _remove_proven(self.folder, names - named_by_sharers(self.target, self.folder))
        if not self.sidecars:
            _remove_if_empty(self.folder)

    def _roll_back(self) -> None:
        """Remove the sidecars this write created, unless the results file now names them (a
        concurrent writer committed the same arrays), and the folder if this write made it."""
        if not self.created and not self.made_folder:
            return
        try:
            with _locked(self.parent), _signals_deferred():
                keep = named_sidecars(self.target, os.path.basename(self.folder)) \
                    | named_by_sharers(self.target, self.folder)
                for name in self.created:
                    if name not in keep:
                        _discard(os.path.join(self.folder, name))
                if self.made_folder:
                    _remove_if_empty(self.folder)
        except OSError:
            pass  # the original failure is the one to report


def _already_there(path: str, name: str) -> bool:
    """Whether the sidecar `path` already holds the bytes its name's digest says (True: it stays
    as it is); False when nothing is there. Anything else at that name (a link, a folder, a file
    with other bytes) is not a file graphrun wrote, so it is never replaced: OSError."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    digest = _DIGEST.search(name)
    try:
        if stat.S_ISREG(st.st_mode) and digest and _file_digest(path) == digest.group(1):
            return True
    except FileNotFoundError:
        return False  # removed meanwhile (a concurrent writer's clean-up): written afresh
    shown = os.path.join(os.path.basename(os.path.dirname(path)), name)
    raise FileExistsError(errno.EEXIST, f"{shown} is where a sidecar goes, and graphrun did not "
                          "write it (its bytes are not the ones its name says); it is left alone: "
                          "move it away, or write the results elsewhere", path)


def _remove_proven(folder: str, names: Set[str]) -> None:
    """Remove the sidecars `names` in `folder` that pass the proof above (a real folder, regular
    files, the bytes their digest names)."""
    if not names or not _real_folder(folder):
        return
    for name in sorted(names):
        path = os.path.join(folder, name)
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            digest = _DIGEST.search(name)
            if digest and _file_digest(path) != digest.group(1):
                continue  # not the bytes graphrun wrote under this name
            os.unlink(path)
        except OSError:
            continue


def remove_results(path: str) -> None:
    """Remove a results file graphrun wrote (a stale golden, `check --update`) and the sidecars
    it names, by the same proof as above: a file that does not start with `graphrun: 1` and
    `graph: ` is refused (OSError). The YAML goes first: an interrupt then leaves sidecars nothing names,
    never a YAML naming a missing sidecar."""
    with sigterm_as_interrupt():
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file: graphrun removes only results "
                                        "files it wrote", path)
        with open(path, "rb") as f:
            if f.read(len(_PROOF)) != _PROOF:
                raise OSError(errno.EINVAL, "does not start with 'graphrun: 1' and 'graph:': "
                                            "not a results file graphrun wrote, so it is left "
                                            "alone", path)
        folder = sidecar_folder(path)
        names = named_sidecars(path, os.path.basename(folder))
        os.unlink(path)
        _fsync_folder(os.path.dirname(os.path.abspath(path)))
        _remove_proven(folder, names - named_by_sharers(path, folder))
        _remove_if_empty(folder)


# --- text added to a file another program reads (GitHub's $GITHUB_STEP_SUMMARY) ----------------

def append_problem(path: str, inputs: Iterable[str] = ()) -> Optional[str]:
    """Why text cannot be appended to `path` (checked before anything runs); None when it can: a
    regular file, or a new one in an existing folder, that is none of the files the command
    reads."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(path))
        if path.endswith(("/", os.sep)) or not os.path.isdir(folder):
            return f"{path}: its folder does not exist"
        return None
    except OSError as e:
        return f"{path}: {e.strerror or e}"
    if stat.S_ISDIR(mode):
        return f"{path} is a folder, not a file"
    if not stat.S_ISREG(mode):
        return f"{path} is not a regular file (a device, a FIFO or a socket)"
    if not os.access(path, os.W_OK):
        return f"{path}: no permission to write it"
    problem = clash([path], inputs)
    if problem:
        return problem
    return None


def append_text(path: str, text: str) -> None:
    """Append `text` to the regular file `path` (made if missing) in one write where the system
    allows, as GitHub's step summary file expects; the caller checked it with append_problem."""
    data = memoryview(text.encode("utf-8"))
    with sigterm_as_interrupt():
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOCTTY", 0),
                     0o666)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # changed since it was checked
                raise OSError(errno.EINVAL, "not a regular file", path)
            with _signals_deferred():
                while data:
                    data = data[os.write(fd, data):]
        finally:
            os.close(fd)


def named_by_sharers(results_file: str, folder: str) -> Set[str]:
    """The sidecars that the other results files whose sidecar folder is also `folder` name:
    `a.yaml`, `a.yml` and `a` all keep theirs in `a.arrays`, so the clean-up after writing one
    must not remove what another still names (its pair would lose its arrays)."""
    stem, ext = os.path.splitext(results_file)
    if ext not in (".yaml", ".yml"):
        stem = results_file
    names: Set[str] = set()
    for other in (stem + ".yaml", stem + ".yml", stem):
        if other != results_file and os.path.lexists(other) and sidecar_folder(other) == folder:
            names |= named_sidecars(other, os.path.basename(folder))
    return names


def named_sidecars(results_file: str, folder_name: str) -> Set[str]:
    """The sidecar file names (in the folder `folder_name` beside it) that the results file names,
    when it is a regular file that graphrun wrote (it starts with `graphrun: 1`, `graph: `);
    else none."""
    try:
        with open(results_file, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode) or \
                    f.read(len(_PROOF)) != _PROOF:
                return set()
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return set()
    prefix = folder_name + "/"
    names = set()
    for match in _ENTRY.finditer(text):
        file = match.group(1)
        if file.startswith('"'):
            try:
                import json
                file = json.loads(file)
            except ValueError:
                continue
        if file.startswith(prefix) and _SIDECAR.match(file[len(prefix):]):
            names.add(file[len(prefix):])
    return names


def _real_folder(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)  # a link to a folder is not one of ours
    except OSError:
        return False


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)  # only ever removes an empty folder
    except OSError:
        pass


def _file_digest(path: str) -> str:
    import hashlib
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:_DIGITS]


@contextmanager
def _locked(folder: str, shared: bool = False) -> Iterator[None]:
    """Hold a flock on `folder` (a directory fd: no lock file to leave behind): exclusive for a
    writer's commit, shared for a reader (`read_locked`)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        fd = -1  # an unreadable folder cannot be locked: still correct for a single writer
    try:
        if fd >= 0 and fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            except OSError:
                pass  # a file system without flock (some network ones): as above
        yield
    finally:
        if fd >= 0:
            os.close(fd)


def read_locked(folder: str):
    """A shared flock on a results file's folder, for reading the file and its sidecars as one:
    a writer commits (renames its YAML in, removes the sidecars no longer named) holding the
    exclusive one, so a reader never sees a YAML whose sidecars were just removed."""
    return _locked(folder, shared=True)


# --- signals ------------------------------------------------------------------------------------

class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like SIGINT's KeyboardInterrupt so that the same clean-up runs."""

    exit_code = 128 + signal.SIGTERM  # 143, the shell's convention (SIGINT: 130)


def _raise_terminated(signum, frame):
    raise Terminated()


def _in_main_thread() -> bool:
    # where Python runs handlers (by ident: current_thread() would make a _DummyThread for
    # each of InThread's threads, which threading never forgets)
    return _thread.get_ident() == threading.main_thread().ident


class Hangup(Terminated):
    """SIGHUP (the terminal went away, `nohup` not used): handled as SIGTERM is."""

    exit_code = 128 + getattr(signal, "SIGHUP", 1)  # 129


def _raise_hangup(signum, frame):
    raise Hangup()


# the signals that end graphrun with its clean-up run (SIGINT is Python's KeyboardInterrupt)
_ENDING = {signal.SIGTERM: _raise_terminated}
if hasattr(signal, "SIGHUP"):  # not on Windows
    _ENDING[signal.SIGHUP] = _raise_hangup


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Raise SIGTERM as `Terminated` (SIGHUP as `Hangup`) inside the block, where their default
    action (killing the process at once) would leave a temporary file behind. A handler the
    program installed (or SIG_IGN, as under `nohup`) is its own, and kept."""
    if not _in_main_thread():
        yield
        return
    installed = [signum for signum in _ENDING if signal.getsignal(signum) is signal.SIG_DFL]
    for signum in installed:
        signal.signal(signum, _ENDING[signum])
    try:
        yield
    finally:
        for signum in installed:
            signal.signal(signum, signal.SIG_DFL)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Run a short critical section to its end: a SIGINT or SIGTERM arriving meanwhile is
    delivered just after it. (Installing a handler first delivers a signal already pending.)"""
    if not _in_main_thread():
        yield
        return
    caught: List[int] = []
    previous = {}
    try:
        for signum in (signal.SIGINT, *_ENDING):
            previous[signum] = signal.signal(signum, lambda n, _: caught.append(n))
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if caught:
            signal.raise_signal(caught[0])
