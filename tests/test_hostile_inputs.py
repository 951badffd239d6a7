"""Hostile inputs (issue 10, "crashes and hangs on user input" and "decide and document"): each
situation through the real CLI (in-process with conftest.call, or as a process with a timeout
where a hang is what could go wrong), checking the exit code, the message at its FILE:LINE:COL,
and that the files a failed command would have written are left byte-identical.

The classes: what is not a regular file (FIFOs, devices, folders) is refused before it is read;
.npy/.npz data is checked whole (header, shape, size, zip members) before the run; results and
golden files are as hostile as graph files; numbers from the user never overflow into a crash;
float32 results are compared without turning out-of-range numbers into matching infs; gradcheck
never says ok when its finite differences have no digits; and a graph reads only files in its
own folder tree unless allowed more.
"""

import copy
import io
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphrun
from graphrun.errors import GraphError
from conftest import ROOT, call

SIMPLE = os.path.join(ROOT, "graphs", "simple.yaml")
DATA_GRAPH = ("graphrun: 1\ninputs:\n  x: {file: %s}\nparams:\n  w: 2.0\nnodes:\n"
              "  y: {op: mul, args: [x, w]}\n  L: {op: sum, args: [y]}\nloss: L\n")
PREVIOUS = b"previous results\n"


def graph_with(folder, data, name="g.yaml"):
    path = folder / name
    path.write_text(DATA_GRAPH % data)
    return str(path)


def run_keeping(path, *extra):
    """`graphrun run PATH -o out.yaml` over an output that exists: (code, stderr), after
    checking that a failure left that output byte-identical and nothing beside it."""
    folder = os.path.dirname(path)
    out = os.path.join(folder, "out", "results.yaml")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as f:
        f.write(PREVIOUS)
    code, stdout, err = call("run", path, "-o", out, *extra)
    if code != 0:
        with open(out, "rb") as f:
            assert f.read() == PREVIOUS
        assert os.listdir(os.path.dirname(out)) == ["results.yaml"]
        assert stdout == ""
    assert "Traceback" not in err and "internal error" not in err
    return code, err


def npy(header: str, data: bytes = b"", version=(1, 0)) -> bytes:
    """A .npy file with this header text (padded as numpy pads it) and data."""
    form = "<H" if version[0] == 1 else "<I"
    size = struct.calcsize(form)
    text = header.encode("latin-1")
    pad = 64 - (10 + size - 2 + len(text) + 1) % 64
    text = text + b" " * (pad % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(form, len(text)) + text + data


def process(*argv, stdin=None, timeout=60):
    """graphrun as a process (a hang is a timeout, a crash an exit code)."""
    return subprocess.run([sys.executable, "-m", "graphrun", *argv], capture_output=True,
                          stdin=stdin, timeout=timeout, text=True)


# ---------------------------------------------------------------------------------------------
# 1. one door: only regular files are read, each kind within its cap

@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.npy"
    os.mkfifo(path)
    return path


def test_a_fifo_as_a_data_file_is_refused_at_its_line_without_blocking(tmp_path, fifo):
    graph = graph_with(tmp_path, "pipe.npy")
    proc = process("run", graph)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{graph}:3:13: error: cannot read pipe.npy as a numpy array "
                                  "file: it is a FIFO (named pipe), not a regular file")


def test_a_fifo_as_the_graph_file_is_refused(tmp_path):
    graph = tmp_path / "g.yaml"
    os.mkfifo(graph)
    proc = process("run", str(graph))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{graph}:1:1: error: cannot read the file: it is a FIFO")


def test_a_fifo_as_an_include_is_refused(tmp_path):
    os.mkfifo(tmp_path / "lib.yaml")
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\ninclude: [lib.yaml]\ninputs:\n  x: 1\nnodes:\n  y: x + 1\n")
    proc = process("run", str(graph))
    assert proc.returncode == 2, proc.stderr
    assert "it is a FIFO" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_results_files_is_refused_at_once(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    proc = process("diff", device, device)  # read whole, this was killed by the OOM killer
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{device}:1:1: error: cannot read the results file: it is "
                                  "a character device, not a regular file")


def test_a_fifo_as_a_golden_or_a_params_file_is_refused(tmp_path, fifo):
    for argv in (["check", SIMPLE, "--golden", str(fifo)], ["run", SIMPLE, "--params", str(fifo)]):
        proc = process(*argv)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "it is a FIFO (named pipe), not a regular file" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_folder_as_a_data_file_is_an_error_at_its_line(tmp_path):
    (tmp_path / "d.npy").mkdir()
    code, err = run_keeping(graph_with(tmp_path, "d.npy"))
    assert code == 2 and ":3:13: error: d.npy is a directory" in err


def test_standard_input_is_read_only_up_to_the_size_cap():
    with open("/dev/zero", "rb") as zero:
        proc = process("run", "-", stdin=zero)
    assert proc.returncode == 2
    assert proc.stderr.startswith("<stdin>:1:1: error: file is larger than the 64 MiB limit")


# ---------------------------------------------------------------------------------------------
# 2. .npy and .npz data checked whole before the run

def test_a_truncated_npy_is_an_error_at_the_file_line(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6.0))
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(raw[:-5])
    code, err = run_keeping(graph_with(tmp_path, "a.npy"))
    assert code == 2
    assert err.endswith(":3:13: error: cannot read a.npy as a numpy array file: it is truncated: "
                        "its header says shape (6,) float64 (48 bytes of data), but the file "
                        "holds 43 bytes after the header\n")


def test_big_endian_data_gives_the_same_results_as_little_endian(tmp_path):
    values = np.linspace(-1.5, 2.25, 12).reshape(3, 4)
    outputs = []
    for order in ("<f8", ">f8", "<f4", ">f4"):
        folder = tmp_path / order.replace("<", "le").replace(">", "be")
        folder.mkdir()
        np.save(folder / "x.npy", values.astype(order))
        code, out, err = call("run", graph_with(folder, "x.npy"))
        assert code == 0, err
        outputs.append(out)
    assert outputs[0] == outputs[1] and outputs[2] == outputs[3]


def test_fortran_order_data_is_read_in_its_order(tmp_path):
    values = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "f.npy", np.asfortranarray(values))
    assert np.asfortranarray(values).flags.f_contiguous
    graph = graphrun.compile(graph_with(tmp_path, "f.npy"))
    assert np.array_equal(graphrun.run(graph).values["x"], values)


@pytest.mark.parametrize("header, words", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }", "has a negative size"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,), }", "not a tuple of whole"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (True, 2), }", "not a tuple of whole"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': 3, }", "not a tuple of whole"),
    ("{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }", "fortran_order is not"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }",
     "it is truncated: its header says shape (1099511627776,) float64 (8796093022208 bytes"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, "
     "4611686018427387904), }", "it is truncated"),  # beyond int64: exact integers
    ("{'descr': '<f9', 'fortran_order': False, 'shape': (3,), }", "descr is not a dtype"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", "Python objects"),
    ("{'descr': '<f8', 'shape': (3,), }", "exactly the keys"),
    ("__import__('os').system('touch /tmp/graphrun-pwned')", "not a Python dict literal"),
    ("(" * 5000, "not a Python dict literal"),
])
def test_a_hostile_npy_header_is_an_error_at_the_file_line(tmp_path, header, words):
    (tmp_path / "h.npy").write_bytes(npy(header, b"\0" * 24))
    code, err = run_keeping(graph_with(tmp_path, "h.npy"))
    assert code == 2, err
    first = err.splitlines()[0]
    assert ":3:13: error: cannot read h.npy as a numpy array file: " in first and words in first
    assert len(err.splitlines()) == 1  # one problem, one line
    assert not os.path.exists("/tmp/graphrun-pwned")


@pytest.mark.parametrize("raw, words", [
    (b"", "it is not a .npy array file"),
    (b"x: [1, 2]\n", "it is not a .npy array file"),
    (b"\x93NUMPY\x09\x00", "unsupported .npy format version 9.0"),
    (b"\x93NUMPY\x01\x00\xff\xff", "its header is 65535 bytes long"),
    (b"\x93NUMPY\x01\x00\x40\x00{'descr'", "ends inside its header"),
])
def test_a_file_that_is_not_an_npy_is_an_error(tmp_path, raw, words):
    (tmp_path / "h.npy").write_bytes(raw)
    code, err = run_keeping(graph_with(tmp_path, "h.npy"))
    assert code == 2 and words in err.splitlines()[0], err


def test_unsigned_labels_that_do_not_fit_int64_are_refused_and_those_that_fit_work(tmp_path):
    text = ("graphrun: 1\ninputs:\n  y: {file: y.npy, dtype: int64}\n  z: [[1.0, 2.0], [3.0, 4.0]]"
            "\nnodes:\n  L: {op: cross_entropy, args: [z, y]}\n")
    graph = tmp_path / "g.yaml"
    graph.write_text(text)
    np.save(tmp_path / "y.npy", np.array([1, 0], dtype=np.uint64))
    code, out, err = call("run", str(graph))
    assert code == 0, err
    np.save(tmp_path / "y.npy", np.array([1, 2**63 + 5], dtype=np.uint64))
    code, err = run_keeping(str(graph))
    assert code == 2
    assert err.startswith(f"{graph}:3:13: error: y.npy holds uint64 values up to "
                          f"{2**63 + 5}, beyond int64")


def _npz(path, members):
    """An .npz archive of (name, bytes, compression) members, written by zipfile."""
    with zipfile.ZipFile(path, "w") as z:
        for name, raw, compression in members:
            z.writestr(zipfile.ZipInfo(name), raw, compress_type=compression)


def _patch_member(path, name, **fields):
    """Rewrite fields of a member's local and central headers (what a hostile tool writes)."""
    raw = bytearray(path.read_bytes())
    encoded = name.encode()
    for signature, offsets in ((b"PK\x03\x04", {"flags": 6, "method": 8, "size": 22}),
                               (b"PK\x01\x02", {"flags": 8, "method": 10, "size": 24})):
        at = raw.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if raw[name_at:name_at + len(encoded)] == encoded:
                for field, value in fields.items():
                    form = "<I" if field == "size" else "<H"
                    struct.pack_into(form, raw, at + offsets[field], value)
            at = raw.find(signature, at + 4)
    path.write_bytes(bytes(raw))


def _npz_graph(folder):
    path = folder / "g.yaml"
    path.write_text("graphrun: 1\ninputs:\n  x: {file: d.npz, key: x}\nnodes:\n"
                    "  y: {op: neg, args: [x]}\n")
    return str(path)


def _saved(values) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, values)
    return buffer.getvalue()


def test_npz_members_stored_and_deflated_are_read(tmp_path):
    values = np.arange(4.0)
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        _npz(tmp_path / "d.npz", [("x.npy", _saved(values), compression)])
        code, out, err = call("run", _npz_graph(tmp_path))
        assert code == 0 and '"y": [-0.0, -1.0, -2.0, -3.0]' in out.replace("y:", '"y":'), err


@pytest.mark.parametrize("damage, words", [
    ("encrypted", "its member 'x.npy' is encrypted"),
    ("bzip2", "is compressed with method 12"),
    ("bomb", "more than deflate can produce"),
    ("truncated", "it is truncated"),
    ("crc", "its data cannot be read"),
    ("missing", "has no array named 'x'"),
    ("not a zip", "it is not a readable .npz (zip) archive"),
])
def test_a_hostile_npz_is_an_error_at_its_line(tmp_path, damage, words):
    path = tmp_path / "d.npz"
    raw = _saved(np.arange(1000.0))
    if damage == "bzip2":
        _npz(path, [("x.npy", raw, zipfile.ZIP_BZIP2)])
    elif damage == "missing":
        _npz(path, [("other.npy", raw, zipfile.ZIP_STORED)])
    elif damage == "not a zip":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "truncated":
        _npz(path, [("x.npy", raw[:-100], zipfile.ZIP_DEFLATED)])
    elif damage == "crc":
        _npz(path, [("x.npy", raw, zipfile.ZIP_STORED)])
        data = bytearray(path.read_bytes())
        data[data.find(b"NUMPY") + 200] ^= 0xFF  # inside the data: the CRC no longer matches
        path.write_bytes(bytes(data))
    else:
        _npz(path, [("x.npy", raw, zipfile.ZIP_DEFLATED)])
        if damage == "encrypted":
            _patch_member(path, "x.npy", flags=1)
        else:  # a member that declares 2 GiB from a few hundred bytes
            _patch_member(path, "x.npy", size=2**31)
    graph = _npz_graph(tmp_path)
    code, err = run_keeping(graph)
    assert code == 2, err
    first = err.splitlines()[0]
    assert first.startswith(f"{graph}:3:") and words in first, first


# ---------------------------------------------------------------------------------------------
# 3. results and golden files are as hostile as graph files

RESULTS = "graphrun: 1\ngraph: g\nloss: 1.0\nvalues:\n  L: 1.0\n"


def diff(tmp_path, text, other=RESULTS):
    a, b = tmp_path / "a.results.yaml", tmp_path / "b.results.yaml"
    a.write_text(text)
    b.write_text(other)
    code, out, err = call("diff", str(a), str(b))
    assert "Traceback" not in err and "internal error" not in err
    return code, err, str(a)


@pytest.mark.parametrize("version", ["true", "1.0", '"1"', "[1]", "2"])
def test_the_version_must_be_the_integer_1(tmp_path, version):
    code, err, a = diff(tmp_path, RESULTS.replace("graphrun: 1", f"graphrun: {version}"))
    assert code == 2 and err.startswith(f"{a}:1:11: error: not a graphrun results file"), err


@pytest.mark.parametrize("version", ["1.0", "1e0", "true", '"1"'])
def test_a_graph_whose_version_is_not_the_integer_1_is_refused_at_the_version(tmp_path, version):
    graph = tmp_path / "g.yaml"
    graph.write_text(open(SIMPLE).read().replace("graphrun: 1\n", f"graphrun: {version}\n"))
    line = graph.read_text().splitlines().index(f"graphrun: {version}") + 1
    code, out, err = call("run", str(graph))
    assert code == 2 and out == "", err
    assert err.startswith(f"{graph}:{line}:11: error: expected 1; found "), err


def test_a_params_file_whose_version_is_true_is_refused(tmp_path):
    trained = tmp_path / "t.yaml"
    trained.write_text("graphrun: true\ngraph: chain-rule\nparams:\n  w: 1.0\n  b: 2.0\n")
    code, out, err = call("run", SIMPLE, "--params", str(trained))
    assert code == 2 and err.startswith(f"{trained}:1:11: error: not a graphrun training results file")


@pytest.mark.parametrize("dtype", ["3", "[float32]", "{a: 1}", "true", "float16"])
def test_a_results_dtype_that_is_not_a_dtype_word_is_an_error_at_its_line(tmp_path, dtype):
    code, err, a = diff(tmp_path, RESULTS.replace("graph: g\n", f"graph: g\ndtype: {dtype}\n"))
    assert code == 2 and err.startswith(f"{a}:3:8: error: 'dtype' must be float32 or mixed"), err


def _sidecar_results(tmp_path, raw, name="values.h.npy"):
    folder = tmp_path / "a.results.arrays"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(raw)
    return (f"graphrun: 1\ngraph: g\nvalues:\n  h: {{file: a.results.arrays/{name}, shape: [2, "
            "3], dtype: float64}\n")


@pytest.mark.parametrize("make, words", [
    (lambda: b"PK\x05\x06" + b"\0" * 18, "it is not a .npy array file"),  # an (empty) zip
    (lambda: b"not an array\n", "it is not a .npy array file"),
    (lambda: npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }"),
     "it is truncated"),
    (lambda: _saved(np.zeros((3, 2))), "holds shape [3, 2]; the entry says [2, 3]"),
    (lambda: _saved(np.zeros((2, 3), np.float32)), "holds float32; the entry says 'float64'"),
    (lambda: _saved(np.array([["a", "b", "c"]] * 2)), "not a numeric or bool array"),
])
def test_a_hostile_sidecar_is_an_error_at_its_entry(tmp_path, make, words):
    text = _sidecar_results(tmp_path, make())
    code, err, a = diff(tmp_path, text, text)
    assert code == 2, err
    first = err.splitlines()[0]
    assert first.startswith(f"{a}:4:6: error: cannot read sidecar file") or \
        first.startswith(f"{a}:4:6: error: sidecar"), first
    assert words in first, first


def test_a_sidecar_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    text = _sidecar_results(tmp_path, b"")
    os.remove(tmp_path / "a.results.arrays" / "values.h.npy")
    os.mkfifo(tmp_path / "a.results.arrays" / "values.h.npy")
    (tmp_path / "a.results.yaml").write_text(text)
    proc = process("diff", str(tmp_path / "a.results.yaml"), str(tmp_path / "a.results.yaml"))
    assert proc.returncode == 2 and "it is a FIFO (named pipe)" in proc.stderr, proc.stderr


# ---------------------------------------------------------------------------------------------
# 4. numbers from the user

def test_init_uniform_beyond_float64_is_an_error_at_its_line(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\nparams:\n  w: {init: uniform, shape: [3], low: -1e308, "
                     "high: 1e308}\nnodes:\n  L: {op: sum, args: [w]}\nloss: L\n")
    code, err = run_keeping(str(graph))
    assert code == 2
    assert err.startswith(f"{graph}:3:53: error: init: uniform needs high - low within float64")


def test_init_normal_beyond_float64_is_an_error_not_a_crash(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\nparams:\n  w: {init: normal, shape: [50], mean: 1.7e308, "
                     "std: 1e308}\nnodes:\n  L: {op: sum, args: [w]}\nloss: L\n")
    code, err = run_keeping(str(graph))
    assert code == 2 and f"{graph}:3:6: error: init: normal gives values that are not finite" \
        in err


@pytest.mark.parametrize("size, words", [
    ("1" + "0" * 400, "expected a size up to 9223372036854775807 bytes"),
    ("9223372036854775808", "expected a size up to 9223372036854775807 bytes"),
    ("8388608TiB", "expected a size up to"),
    ("1." + "0" * 5000 + "GiB", "expected a size such as 2GiB"),
    ("1e9", "expected a size such as 2GiB"),
])
def test_a_memory_budget_beyond_any_machine_is_a_usage_error(size, words):
    code, out, err = call("run", SIMPLE, "--memory-budget", size)
    assert code == 2 and words in err and len(err) < 400, err


def test_memory_budget_sizes_are_exact():
    from graphrun.cli.args import MAX_SIZE, parse_size
    assert parse_size("1.5KiB") == 1536 and parse_size("9223372036854775807") == MAX_SIZE
    assert parse_size("0.1KB") == 100 and parse_size("2GiB") == 2 * 2**30


def test_a_reshape_whose_size_wraps_in_int64_reports_the_element_count(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\ninputs:\n  x: [1, 2, 3, 4, 5, 6, 7]\nnodes:\n"
                     "  y: {op: reshape, args: [x], shape: [49, 7905747460161236407]}\n")
    code, err = run_keeping(str(graph))
    assert code == 2
    assert err == (f"{graph}:5:38: error: node 'y': reshape: cannot reshape (7,) (7 elements) "
                   "into (49,7905747460161236407) (387381625547900583943 elements)\n")


@pytest.mark.parametrize("op, words", [
    ("{op: broadcast_to, args: [x], shape: [9223372036854775807, 9223372036854775807, 3]}",
     "needs about 10^39 bytes"),
    ("{op: reshape, args: [x], shape: [-1, 9223372036854775807]}", "cannot reshape (3,)"),
    ("{op: flatten, args: [z]}", "needs about 10^39 bytes"),
])
def test_huge_shapes_are_exact_in_inference(tmp_path, op, words):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\ninputs:\n  x: [1, 2, 3]\nnodes:\n  z: {op: broadcast_to, "
                     "args: [x], shape: [9223372036854775807, 9223372036854775807, 3]}\n"
                     f"  y: {op}\n")
    code, err = run_keeping(str(graph), "--memory-budget", "9223372036854775807")
    assert code == 2 and words in err.splitlines()[0], err


def test_the_broadcasting_rule_is_numpys():
    from graphrun.ops.core import OpError, broadcast
    for shapes in [((2, 1, 3), (4, 1)), ((), (5,)), ((1,), (7, 1)), ((3, 1), (1, 1, 4))]:
        assert broadcast(*shapes) == np.broadcast_shapes(*shapes)
    with pytest.raises(OpError, match=r"cannot broadcast \(2,\) with \(3,\)"):
        broadcast((2,), (3,))
    assert broadcast((2**70, 1), (1, 3)) == (2**70, 3)


@pytest.mark.parametrize("text", [
    "graphrun: 1\nparams:\n  - w: 3\n  - w: .nan\nnodes:\n  L: w\n  L: w\n",
    "graphrun: 1\ninputs:\n  - x: 1\n  - x: 2\nnodes:\n  y: {op: neg, args: [x], op: neg}\n",
    "graphrun: 1\nparams:\n  - w: .inf\nnodes:\n  - L: w\n",
    "graphrun: 1\nblocks:\n  - f: 1\n  - f: .nan\nnodes:\n  y: 1\n",
])
def test_sections_written_as_lists_with_duplicates_or_nan_are_errors(tmp_path, text):
    graph = tmp_path / "g.yaml"
    graph.write_text(text)
    code, err = run_keeping(str(graph))
    assert code == 2 and err.startswith(f"{graph}:"), err


# the crash class found by fuzzing: documents whose structure is mutated (a mapping written as
# a list of one-key mappings, a list as a mapping, a value swapped for another section's),
# with a duplicate key or a .nan added to the text; every one must end in located problems

BASE = {"graphrun": 1, "inputs": {"x": [1.0, 2.0], "y": {"value": [1, 0], "dtype": "int64"}},
        "params": {"w": {"init": "normal", "shape": [2], "seed": 1}, "b": 0.5},
        "nodes": {"u": {"op": "mul", "args": ["w", "x"]}, "v": "sum(u) + b",
                  "L": {"op": "square", "args": ["v"]}},
        "blocks": {"f": {"args": ["a"], "nodes": {"out": "a * 2"}, "output": "out"}},
        "loss": "L", "tolerance": {"rtol": 1e-6}, "outputs": {"values": ["L"]}}


def _containers(data, path=()):
    if isinstance(data, dict):
        yield path, data
        for k, v in data.items():
            yield from _containers(v, path + (k,))
    elif isinstance(data, list):
        yield path, data
        for i, v in enumerate(data):
            yield from _containers(v, path + (i,))


def _get(data, path):
    for part in path:
        data = data[part]
    return data


@st.composite
def restructured(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        places = [p for p, _ in _containers(data) if p]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, key = _get(data, path[:-1]), path[-1]
        value = parent[key]
        how = draw(st.sampled_from(["as list", "as mapping", "swap", "wrap", "empty"]))
        if how == "as list" and isinstance(value, dict):
            parent[key] = [{k: v} for k, v in value.items()]
        elif how == "as mapping" and isinstance(value, list):
            parent[key] = {f"k{i}": v for i, v in enumerate(value)}
        elif how == "swap":
            parent[key] = copy.deepcopy(_get(data, draw(st.sampled_from(places))))
        elif how == "wrap":
            parent[key] = [value]
        else:
            parent[key] = type(value)() if isinstance(value, (list, dict)) else None
    text = yaml.safe_dump(data, sort_keys=False)
    lines = text.splitlines()
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        if draw(st.booleans()):
            lines.insert(at + 1, line)  # the same key again: a duplicate
        elif ": " in line:
            lines[at] = line.split(": ")[0] + ": " + draw(st.sampled_from([".nan", "-.inf",
                                                                            "1e999"]))
    return "\n".join(lines) + "\n"


@settings(max_examples=300, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(restructured())
def test_restructured_documents_end_in_located_problems(text):
    try:
        graph = graphrun.compile_text(text, "fuzz.yaml")
    except GraphError as e:
        lines = str(e).splitlines()
        assert lines and all(line.startswith("fuzz.yaml:") for line in lines), lines
        return
    graphrun.run(graph, check_finite=False)


# ---------------------------------------------------------------------------------------------
# 5. float32 results and gradcheck's eps

F32 = "graphrun: 1\ngraph: g\ndtype: float32\nvalues:\n  h: %s\n"


@pytest.mark.parametrize("number", ["1e300", "1e39", "[1.0, -3.5e38]"])
def test_a_float32_results_file_refuses_numbers_beyond_float32(tmp_path, number):
    code, err, a = diff(tmp_path, F32 % number, F32 % ".inf")
    assert code == 2
    assert err.startswith(f"{a}:5:6: error: number ") and "beyond the range of float32" in err


def test_an_out_of_range_number_never_matches_an_inf_in_float32(tmp_path):
    mixed = "graphrun: 1\ngraph: g\ndtype: mixed\nvalues:\n  h: 1e39\n"
    code, err, a = diff(tmp_path, F32 % ".inf", mixed)
    assert code == 1, err
    code, err, a = diff(tmp_path, F32 % "3.4e38", mixed.replace("1e39", "1e300"))
    assert code == 1, err
    code, err, a = diff(tmp_path, F32 % "0.1", mixed.replace("1e39", "0.1"))
    assert code == 0, err  # 0.1 in float32 is 0.1 read back in float64, within rounding


def test_compare_keeps_out_of_range_numbers_apart():
    from graphrun.results.compare import _compare_entry, Tolerance
    inf32, big = np.array(np.inf, np.float32), np.array(1e39)
    assert _compare_entry("h", inf32, big, Tolerance()) is not None
    assert _compare_entry("h", np.array(3e38, np.float32), np.array(3e38), Tolerance()) is None


@pytest.mark.parametrize("eps", ["1e-320", "1e-17"])
def test_gradcheck_never_says_ok_when_eps_loses_every_digit(eps):
    code, out, err = call("gradcheck", SIMPLE, "--eps", eps)
    assert code == 1, out + err
    assert "ok:" not in out and "could not be checked" in out
    assert "not checked w: eps" in out and "below the resolution of w = 3.0" in out


def test_gradcheck_says_when_the_loss_cannot_show_the_step(tmp_path):
    graph = tmp_path / "g.yaml"  # w = 0: w ± 1e-320 moves, but the loss cannot show the change
    graph.write_text("graphrun: 1\ninputs:\n  x: 2\nparams:\n  w: 0.0\n  b: 4\nnodes:\n"
                     "  L: (w * x + b) ** 2\nloss: L\n")
    code, out, err = call("gradcheck", str(graph), "--eps", "1e-320")
    assert code == 1 and "the loss (16) cannot show a change" in out, out
    report = graphrun.gradcheck(graphrun.compile(str(graph)), eps=1e-320)
    assert not report.ok and report.params[0].unresolved


def test_gradcheck_refuses_an_eps_that_is_not_a_positive_number():
    graph = graphrun.compile(SIMPLE)
    for eps in (0.0, -1e-6, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="eps must be a finite number > 0"):
            graphrun.gradcheck(graph, eps=eps)
    code, out, err = call("gradcheck", SIMPLE, "--eps", "0")
    assert code == 2 and "--eps" in err


def test_gradcheck_at_the_default_eps_still_agrees():
    code, out, err = call("gradcheck", SIMPLE)
    assert code == 0 and "ok: 2 elements agree" in out, out


# ---------------------------------------------------------------------------------------------
# 6. a graph reads only files in its own folder tree, unless allowed more

@pytest.fixture
def outside(tmp_path):
    """A data file beside the folder `inner` that holds the graphs."""
    np.save(tmp_path / "secret.npy", np.arange(3.0))
    (tmp_path / "inner").mkdir()
    return tmp_path


@pytest.mark.parametrize("name", ["../secret.npy", "{root}/secret.npy", "link.npy",
                                  "sub/../../secret.npy"])
def test_a_data_file_outside_the_graphs_folder_is_refused(outside, name):
    os.symlink(outside / "secret.npy", outside / "inner" / "link.npy")
    graph = graph_with(outside / "inner", name.format(root=outside))
    code, err = run_keeping(graph)
    assert code == 2
    assert err == (f"{graph}:3:13: error: file {name.format(root=outside)!r} is outside the "
                   f"graph's folder ({outside / 'inner'}): data files stay in the folder tree "
                   "of the graph file (a link that leads outside counts as outside); use "
                   "--allow-outside to read it anyway\n")
    code, err = run_keeping(graph, "--allow-outside")
    assert code == 0, err


def test_a_link_that_stays_inside_is_inside(outside):
    (outside / "inner" / "data").mkdir()
    np.save(outside / "inner" / "data" / "x.npy", np.arange(2.0))
    os.symlink(outside / "inner" / "data" / "x.npy", outside / "inner" / "x.npy")
    code, err = run_keeping(graph_with(outside / "inner", "x.npy"))
    assert code == 0, err


def test_the_api_takes_allow_outside_and_says_so(outside):
    graph = graph_with(outside / "inner", "../secret.npy")
    with pytest.raises(GraphError, match="pass allow_outside=True to read it anyway"):
        graphrun.compile(graph)
    compiled = graphrun.compile(graph, allow_outside=True)
    assert graphrun.run(compiled).loss == 6.0
    text = (outside / "inner" / "g.yaml").read_text()
    with pytest.raises(GraphError, match="outside the graph's folder"):
        graphrun.compile_text(text, str(outside / "inner" / "t.yaml"))
    assert graphrun.compile_text(text, str(outside / "inner" / "t.yaml"), allow_outside=True)


def test_includes_follow_the_same_rule_and_the_same_option(outside):
    (outside / "lib.yaml").write_text("graphrun: 1\nblocks:\n  twice:\n    args: [a]\n"
                                      "    nodes:\n      out: a * 2\n    output: out\n")
    graph = outside / "inner" / "g.yaml"
    graph.write_text("graphrun: 1\ninclude: [../lib.yaml]\ninputs:\n  x: 1\nnodes:\n"
                     "  y: twice(x)\n")
    code, err = run_keeping(str(graph))
    assert code == 2 and "include '../lib.yaml' is outside the graph's folder" in err
    assert "use --allow-outside to read it anyway" in err
    code, err = run_keeping(str(graph), "--allow-outside")
    assert code == 0, err


@pytest.mark.parametrize("command", ["validate", "gradcheck", "explain", "draw", "check"])
def test_every_command_that_compiles_takes_allow_outside(outside, command):
    graph = graph_with(outside / "inner", "../secret.npy")
    extra = ["--golden", str(outside / "inner" / "g.results.yaml"), "--update"] \
        if command == "check" else []
    code, out, err = call(command, graph, *extra)
    assert code == 2 and "outside the graph's folder" in err, err
    code, out, err = call(command, graph, "--allow-outside", *extra)
    assert code == 0, err


def test_shape_rules_multiply_in_exact_integers():
    from graphrun.ops.table import OPS, Type
    big = Type((2**63 - 1, 2**63 - 1, 3), np.dtype("float64"))
    assert OPS["flatten"].infer(big, start_axis=0).shape == ((2**63 - 1) ** 2 * 3,)
    assert OPS["reshape"].infer(big, shape=(-1, 3)).shape == ((2**63 - 1) ** 2, 3)


def test_gradcheck_with_an_eps_that_overflows_the_loss_is_not_ok():
    code, out, err = call("gradcheck", SIMPLE, "--eps", "1e308")
    assert code == 1 and "ok:" not in out, out
    assert "not checked w: the loss is not finite within eps (inf, inf)" in out


# numbers from the user, anywhere in a document: extreme values never end in a crash
NUMBERS = {"graphrun": 1,
           "inputs": {"x": [1.0, 2.0], "i": {"value": [1, 0], "dtype": "int64"}},
           "params": {"u": {"init": "uniform", "shape": [2], "low": -1.0, "high": 1.0},
                      "n": {"init": "normal", "shape": [2], "mean": 0.0, "std": 1.0, "seed": 3},
                      "f": {"init": "full", "shape": [2], "fill": 0.5, "dtype": "float32"},
                      "b": 0.5},
           "nodes": {"r": {"op": "reshape", "args": ["x"], "shape": [2, 1]},
                     "t": {"op": "broadcast_to", "args": ["u"], "shape": [3, 2]},
                     "s": {"op": "sum", "args": ["t"], "axis": 0},
                     "c": {"op": "clip", "args": ["s"], "min": -2.0, "max": 2.0},
                     "v": "sum(c * n * f) + b * 2.0",
                     "L": {"op": "square", "args": ["v"]}},
           "loss": "L", "tolerance": {"rtol": 1e-6, "atol": 0.0}}
EXTREMES = [1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324, 2**63 - 1, -2**63,
            2**62, 0, -1, 1e-300, 3.5e38]


def _numbers(data, path=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _numbers(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _numbers(v, path + (i,))
    elif type(data) in (int, float) and path != ("graphrun",):
        yield path


@st.composite
def extreme_numbers(draw):
    data = copy.deepcopy(NUMBERS)
    places = list(_numbers(data))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(places))
        _get(data, path[:-1])[path[-1]] = draw(st.sampled_from(EXTREMES))
    return yaml.safe_dump(data, sort_keys=False)


@settings(max_examples=200, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(extreme_numbers())
def test_extreme_numbers_end_in_results_or_located_problems(text):
    try:
        graph = graphrun.compile_text(text, "numbers.yaml", memory_budget=2**26)
        graphrun.run(graph)
    except GraphError as e:
        lines = str(e).splitlines()
        assert lines and all(line.startswith("numbers.yaml:") for line in lines), lines


@pytest.mark.parametrize("argv, words", [
    (["gradcheck", SIMPLE, "--seed", "9" * 5000], "expected a whole number up to "
                                                  "9223372036854775807; found '999"),
    (["gradcheck", SIMPLE, "--max-elements", "9223372036854775808"], "up to 9223372036854775807"),
    (["run", SIMPLE, "--sidecar-threshold", "9" * 400], "of elements up to 9223372036854775807"),
    (["run", SIMPLE, "--sidecar-threshold", "\u00b2"], "expected a whole number of elements"),
    (["train", SIMPLE, "--steps", "-" + "9" * 5000], "expected a whole number >= 1"),
    (["gradcheck", SIMPLE, "--eps", "1" * 5000], "expected a number > 0"),
])
def test_huge_numbers_on_the_command_line_are_short_usage_errors(argv, words):
    code, out, err = call(*argv)
    assert code == 2 and words in err and len(err) < 300, err


def test_a_trained_float32_param_beyond_float32_is_an_error_at_its_line(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\ninputs:\n  x: 2\nparams:\n  w: {value: 3, dtype: float32}\n"
                     "nodes:\n  L: (w * x) ** 2\nloss: L\n")
    trained = tmp_path / "t.yaml"
    trained.write_text("graphrun: 1\ngraph: g\nparams:\n  w: {value: 1e39, dtype: float32}\n")
    code, out, err = call("run", str(graph), "--params", str(trained))
    assert code == 2
    assert err == (f"{trained}:4:14: error: number 1e+39 is beyond the range of float32 (at most "
                   "3.4028235e+38)\n")


@pytest.mark.parametrize("text, words", [
    ('graphrun: 1\ninputs:\n  x: {file: "a\\0.npy"}\nnodes:\n  y: {op: neg, args: [x]}\n',
     ":3:13: error: cannot read a"),
    ('graphrun: 1\ninclude: ["a\\0.yaml"]\ninputs:\n  x: 1\nnodes:\n  y: x + 1\n',
     ":2:11: error: include 'a\\x00.yaml': a file name cannot hold a NUL character"),
])
def test_a_file_name_with_a_nul_character_is_an_error_at_its_line(tmp_path, text, words):
    graph = tmp_path / "g.yaml"
    graph.write_text(text)
    for extra in ([], ["--allow-outside"]):
        code, err = run_keeping(str(graph), *extra)
        assert code == 2 and words in err and "NUL character" in err, err


def test_the_api_reads_no_path_with_a_nul_character():
    with pytest.raises(GraphError, match="NUL character"):
        graphrun.compile("g\0.yaml")
    with pytest.raises(GraphError, match="NUL character"):
        graphrun.read_results("r\0.yaml")


def test_an_npz_of_more_members_than_the_cap_is_refused_before_its_directory_is_read(
        tmp_path, monkeypatch):
    from graphrun.frontend import reading
    monkeypatch.setattr(reading, "MAX_MEMBERS", 10)  # the same rule as 100,000, made quickly
    _npz(tmp_path / "d.npz", [(f"a{i}.npy", b"", zipfile.ZIP_STORED) for i in range(11)]
         + [("x.npy", _saved(np.arange(3.0)), zipfile.ZIP_STORED)])
    graph = _npz_graph(tmp_path)
    code, err = run_keeping(graph)
    assert code == 2 and "it is an archive of 12 members; graphrun reads .npz archives of at " \
                         "most 10" in err, err
    monkeypatch.setattr(reading, "MAX_MEMBERS", 12)
    code, out, err = call("run", graph)
    assert code == 0, err


def test_the_pytest_plugin_confines_graphs_and_takes_the_same_option(tmp_path, root):
    from test_plugin import INI, _pytest
    (tmp_path / "graphs").mkdir()
    (tmp_path / "golden").mkdir()
    np.save(tmp_path / "secret.npy", np.arange(3.0))
    graph_with(tmp_path / "graphs", "../secret.npy")
    (tmp_path / "pyproject.toml").write_text(INI)
    proc = _pytest(tmp_path, "--graphrun-update")
    assert proc.returncode == 1
    assert "graphs/g.yaml:3:13: error: file '../secret.npy' is outside the graph's folder" in \
        proc.stdout and "use --graphrun-allow-outside to read it anyway" in proc.stdout
    proc = _pytest(tmp_path, "--graphrun-allow-outside", "--graphrun-update")
    assert proc.returncode == 0 and "1 created" in proc.stdout, proc.stdout
    (tmp_path / "pyproject.toml").write_text(INI + "graphrun_allow_outside = true\n")
    assert _pytest(tmp_path).returncode == 0


def test_memory_the_machine_does_not_have_is_an_error_not_a_crash(tmp_path, monkeypatch):
    # a budget above what the machine has lets a graph through; numpy's MemoryError then (made
    # here, as its size depends on the machine) is a problem in the graph, exit 2
    from graphrun.engine import executor
    from graphrun.frontend import spec

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 224. GiB")

    graph = tmp_path / "g.yaml"
    graph.write_text("graphrun: 1\nparams:\n  w: {init: zeros, shape: [3]}\nnodes:\n"
                     "  L: sum(w)\nloss: L\n")
    monkeypatch.setattr(executor, "execute", no_memory)
    code, err = run_keeping(str(graph), "--memory-budget", "1TiB")
    assert code == 2 and err.startswith(f"{graph}:1:1: error: not enough memory to run this "
                                        "graph (Unable to allocate 224. GiB)"), err
    monkeypatch.setattr(spec, "_generate", no_memory)
    code, err = run_keeping(str(graph), "--memory-budget", "1TiB")
    assert code == 2 and err.startswith(f"{graph}:3:6: error: init: zeros cannot make this "
                                        "value: not enough memory"), err
