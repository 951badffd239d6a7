"""reading: the one door through which graphrun reads a user's file.

Every file graphrun reads because a user or a graph named it (a graph, an include, a `file:`
array, a results or golden file, a `--params` file, a sidecar) is opened here, so that one rule
holds for all of them:

- Only a regular file is read. A FIFO would block forever, `/dev/zero` or `/dev/urandom` never
  ends, a terminal waits for a person: the path is stat'ed before it is opened, and the opened
  descriptor is fstat'ed again (opened non-blocking, so that a FIFO swapped in between cannot
  block the open itself), so a race cannot slip one in.
- Each kind of file has a size cap, and no more than it is ever read (`read_bytes`): graphs,
  includes, results and goldens and `--params` files 64 MiB (the loader's MAX_BYTES); an
  array's data what its header promises, which the memory budget has passed (a `file:` leaf's
  shape is in the graph's estimate) or `max_bytes` bounds (a sidecar: the memory available).
- A `.npy` array (or an `.npz` member) is checked whole before any of its data is read: the
  header's shape (whole numbers >= 0, multiplied as exact integers), its dtype, and the bytes
  the header promises against the bytes the file (or the zip member) holds (`NpyHeader`); then
  exactly that many bytes are read, in native byte order (`read_npy`).
- A path a graph names (`file:`, `include:`) stays inside the graph's folder tree, by real path
  (a symbolic link that leads outside is outside), unless the caller allows more (`inside`).

Problems are raised as `Unreadable` (an OSError whose `strerror` is a sentence for the user); the
caller knows which line named the file and puts the problem there.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from typing import Callable, NamedTuple, Optional, Tuple

# numpy, zipfile and ast are imported where arrays are read: a graph file is read through this
# module too, and `graphrun --version` imports none of them


class Unreadable(OSError):
    """A file graphrun will not read; `strerror` says why, in words for the user."""

    def __init__(self, message: str):
        super().__init__(errno.EINVAL, message)

    def __str__(self) -> str:
        return self.strerror


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _check_regular(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory")
    what = next((words for test, words in _KINDS if test(mode)), "not a regular file")
    raise Unreadable(f"it is {what}, not a regular file; graphrun reads only regular files")


def _check_name(path: str) -> None:
    if "\0" in path:  # os.stat would raise ValueError
        raise Unreadable("its name holds a NUL character, which no file name can")


def open_regular(path: str):
    """The file at `path` opened for reading in binary, if it is a regular file (through
    symbolic links); else IsADirectoryError or Unreadable. FileNotFoundError as open gives it."""
    _check_name(path)
    _check_regular(os.stat(path).st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        _check_regular(os.fstat(fd).st_mode)  # what was opened, not what was stat'ed
        if flags & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str, limit: int) -> bytes:
    """At most `limit + 1` bytes of a regular file: a caller that gets more than `limit` knows
    the file is over its cap without reading the rest."""
    with open_regular(path) as f:
        return f.read(limit + 1)


def inside(path: str, root: str) -> bool:
    """Whether `path` lies in the folder tree of `root`, both by real path: a symbolic link (the
    file, or a folder on the way) that leads outside is outside. The one rule for what a graph
    may name (`include:`, `file:`). Unreadable for a name no file can have."""
    _check_name(path)
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    try:
        return os.path.commonpath([real, real_root]) == real_root
    except ValueError:  # another drive (Windows)
        return False


# ---------------------------------------------------------------------------------------------
# .npy arrays and .npz members

_MAGIC = b"\x93NUMPY"
_HEADER_LENGTH = {1: "<H", 2: "<I", 3: "<I"}
MAX_HEADER = 10000  # as numpy's own limit: a header is a short dict literal
# deflate never expands data by more than about 1032:1; a member that declares more is not
# what it claims (a zip bomb's declared size, or damage)
MAX_DEFLATE_RATIO = 1100


class NpyHeader(NamedTuple):
    shape: Tuple[int, ...]
    dtype: object  # the numpy dtype as stored (its byte order too)
    fortran: bool
    offset: int  # where the data starts
    size: int  # the bytes the file (or member) holds

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _header_from(f, size: int) -> NpyHeader:
    """The header of the .npy data read from `f` (at its start), checked against `size`, the
    bytes there are: ValueError saying what is wrong."""
    import ast
    import struct
    import warnings

    import numpy as np

    head = f.read(8)
    if len(head) < 8 or not head.startswith(_MAGIC):
        raise ValueError("it is not a .npy array file (it does not start with \\x93NUMPY)")
    major, minor = head[6], head[7]
    if major not in _HEADER_LENGTH or minor != 0:
        raise ValueError(f"unsupported .npy format version {major}.{minor}")
    form = _HEADER_LENGTH[major]
    raw = f.read(struct.calcsize(form))
    if len(raw) < struct.calcsize(form):
        raise ValueError("the file ends inside its header")
    length = struct.unpack(form, raw)[0]
    if length > MAX_HEADER:
        raise ValueError(f"its header is {length} bytes long; a .npy header is at most "
                         f"{MAX_HEADER}")
    text = f.read(length)
    if len(text) < length:
        raise ValueError("the file ends inside its header")
    offset = 8 + struct.calcsize(form) + length
    try:
        d = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, RecursionError, MemoryError, UnicodeDecodeError):
        raise ValueError("its header is not a Python dict literal, as a .npy header is") \
            from None
    if type(d) is not dict or set(d) != {"descr", "fortran_order", "shape"}:
        raise ValueError("its header does not have exactly the keys descr, fortran_order and "
                         "shape")
    shape, fortran = d["shape"], d["fortran_order"]
    if type(shape) is not tuple or not all(type(n) is int for n in shape):
        raise ValueError(f"its header's shape is not a tuple of whole numbers: {_short(shape)}")
    if any(n < 0 for n in shape):
        raise ValueError(f"its header's shape {_short(shape)} has a negative size")
    if type(fortran) is not bool:
        raise ValueError(f"its header's fortran_order is not true or false: {_short(fortran)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dtype = np.lib.format.descr_to_dtype(d["descr"])
    except Exception:  # noqa: BLE001 - numpy raises many kinds for a malformed descr
        raise ValueError(f"its header's descr is not a dtype: {_short(d['descr'])}") from None
    if dtype.hasobject:
        raise ValueError("it holds Python objects, which are never loaded")
    header = NpyHeader(tuple(shape), dtype, fortran, offset, size)
    have = size - offset
    if header.nbytes > have:
        raise ValueError(f"it is truncated: its header says shape {_short(shape)} "
                         f"{dtype.name} ({_count(header.nbytes)} of data), but the file holds "
                         f"{_count(max(have, 0))} after the header")
    return header


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _count(n: int) -> str:
    return f"{n} byte{'s' if n != 1 else ''}"


def npz_member(z, key: str):
    """The zip member (ZipInfo) holding array `key` (KeyError when there is none), checked to be
    one this reader can read honestly: ValueError otherwise."""
    import zipfile
    info = z.getinfo(key if key.endswith(".npy") else key + ".npy")
    if info.flag_bits & 0x1:
        raise ValueError(f"its member {info.filename!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(f"its member {info.filename!r} is compressed with method "
                         f"{info.compress_type}; graphrun reads members stored or deflated, as "
                         "numpy.savez and savez_compressed write them")
    if info.compress_type == zipfile.ZIP_DEFLATED and \
            info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 4096:
        raise ValueError(f"its member {info.filename!r} declares {_count(info.file_size)} from "
                         f"{_count(info.compress_size)} of deflated data, more than deflate can "
                         "produce (a damaged file, or a zip bomb)")
    return info


def npy_header(path: str, key: Optional[str] = None) -> NpyHeader:
    """The checked header of the .npy file at `path`, or of member `key` of the .npz archive
    there. Raises FileNotFoundError, IsADirectoryError, Unreadable (not a regular file), KeyError
    (no such member) or ValueError (anything wrong with the bytes)."""
    with open_regular(path) as f:
        if key is None:
            return _header_from(f, os.fstat(f.fileno()).st_size)
        with _zip(f) as z:
            info = npz_member(z, key)
            with z.open(info) as member:
                return _header_from(member, info.file_size)


def read_npy(path: str, key: Optional[str] = None, max_bytes: Optional[int] = None,
             check: Optional[Callable[[NpyHeader], None]] = None):
    """The array in the .npy file (or .npz member) at `path`, checked whole first (npy_header),
    in native byte order. `max_bytes` caps its data, and `check(header)` may refuse it
    (ValueError), before any data is read. Raises as npy_header."""
    with open_regular(path) as f:
        if key is None:
            return _data(f, _header_from(f, os.fstat(f.fileno()).st_size), max_bytes, check)
        with _zip(f) as z:
            info = npz_member(z, key)
            with z.open(info) as member:
                return _data(member, _header_from(member, info.file_size), max_bytes, check)


MAX_MEMBERS = 100000  # an .npz holds an array per member; zipfile makes an object per member


def _zip(f):
    import struct
    import zipfile
    try:
        end = zipfile._EndRecData(f)  # the directory's size, before zipfile reads all of it
    except (AttributeError, OSError, struct.error):
        end = None  # another Python's zipfile: it reads the directory itself
    if end is not None and end[4] > MAX_MEMBERS:
        raise ValueError(f"it is an archive of {end[4]} members; graphrun reads .npz archives "
                         f"of at most {MAX_MEMBERS}")
    try:
        return zipfile.ZipFile(f)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, struct.error) as e:
        raise ValueError(f"it is not a readable .npz (zip) archive: {e}") from None


def _data(f, header: NpyHeader, max_bytes, check):
    import zipfile

    import numpy as np

    n = header.nbytes
    if check is not None:
        check(header)
    if max_bytes is not None and n > max_bytes:
        raise ValueError(f"its array of shape {_short(header.shape)} {header.dtype.name} holds "
                         f"{_count(n)}, more than the {_count(max_bytes)} there is memory for")
    try:
        raw = f.read(n)
    except (zipfile.BadZipFile, EOFError, OSError) as e:  # a CRC that does not match, ...
        raise ValueError(f"its data cannot be read: {e}") from None
    if len(raw) < n:
        raise ValueError(f"it is truncated: its header promises {_count(n)} of data; "
                         f"the file holds {_count(len(raw))}")
    dtype = header.dtype
    array = np.frombuffer(raw, dtype=dtype).reshape(header.shape,
                                                    order="F" if header.fortran else "C")
    native = dtype.newbyteorder("=")
    array = array.astype(native, copy=dtype != native)
    # (np.ascontiguousarray would make a 0-d array one of shape (1,))
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)
