"""Nothing a user owns is ever lost (issue 10, "Data loss"): each hostile situation is run through
the real CLI (in-process, or as a process where signals or concurrency need one), and what must
hold afterwards is checked on the files themselves, before and after, byte for byte."""

import errno
import fcntl
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import yaml

from graphrun.results.reader import read_results
from conftest import call

SIMPLE = ("graphrun: 1\ninputs:\n  x: 2\nparams:\n  w: 3\n  b: 4\nnodes:\n"
          "  u: {op: mul, args: [w, x]}\n  v: {op: add, args: [u, b]}\n"
          "  L: {op: square, args: [v]}\nloss: L\n")
DATA = ("graphrun: 1\ninputs:\n  X: {file: data/x.npy}\nparams:\n  w: [1.0, 2.0]\nnodes:\n"
        "  p: {op: matmul, args: [X, w]}\n  L: {op: sum, args: [p]}\nloss: L\n")


def big(seed: int, shape=(8, 5)) -> str:
    """Three tensors of 40 elements (values.t, gradients.W, gradients.t): sidecars above 10."""
    return (f"graphrun: 1\nparams:\n  W: {{init: normal, shape: {list(shape)}, seed: {seed}}}\n"
            "nodes:\n  t: {op: tanh, args: [W]}\n  L: {op: sum, args: [t]}\nloss: L\n")


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def data_graph(folder):
    (folder / "data").mkdir(exist_ok=True)
    np.save(folder / "data" / "x.npy", np.arange(6.0).reshape(3, 2))
    return write(folder, "g.yaml", DATA)


def snapshot(folder):
    """Every entry under `folder`, links not followed: its kind, and a regular file's bytes."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                entry = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    entry = ("file", f.read())
            elif stat.S_ISDIR(st.st_mode):
                entry = ("folder",)
            else:
                entry = (stat.S_IFMT(st.st_mode), st.st_rdev)
            found[os.path.relpath(path, folder)] = entry
    return found


def sidecars(folder):
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


def _default_signals():
    # a child of a shell that ignores SIGINT (a background job) would inherit SIG_IGN
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def spawn(*argv, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "graphrun", *map(str, argv)],
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=kwargs.pop("preexec_fn", _default_signals), **kwargs)


def wait_until(condition, proc, what):
    deadline = time.monotonic() + 30
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"graphrun ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


# --- an output never replaces an input ----------------------------------------------------------

def _graph_itself(tmp_path):
    graph = write(tmp_path, "g.yaml", SIMPLE)
    return ["run", graph, "-o", graph], graph


def _link_to_graph(tmp_path):
    graph = write(tmp_path, "g.yaml", SIMPLE)
    os.symlink("g.yaml", tmp_path / "out.yaml")
    return ["run", graph, "-o", str(tmp_path / "out.yaml")], graph


def _hard_link_to_graph(tmp_path):
    graph = write(tmp_path, "g.yaml", SIMPLE)
    os.link(graph, tmp_path / "out.yaml")
    return ["run", graph, "-o", str(tmp_path / "out.yaml")], graph


def _data_file(tmp_path):
    graph = data_graph(tmp_path)
    return ["run", graph, "-o", str(tmp_path / "data" / "x.npy")], "x.npy"


def _link_to_data_file_as_golden(tmp_path):
    graph = data_graph(tmp_path)
    os.symlink("data/x.npy", tmp_path / "golden.results.yaml")
    return ["check", graph, "--golden", str(tmp_path / "golden.results.yaml"), "--update"], "x.npy"


def _golden_is_the_graph(tmp_path):
    graph = write(tmp_path, "g.yaml", SIMPLE)
    return ["check", graph, "--golden", graph, "--update"], graph


def _drawing_over_the_graph(tmp_path):
    graph = write(tmp_path, "g.yaml", SIMPLE)
    return ["draw", graph, "-o", graph], graph


def _drawing_over_a_data_file(tmp_path):
    graph = data_graph(tmp_path)
    os.symlink(tmp_path / "data", tmp_path / "linked")
    return ["draw", graph, "-o", str(tmp_path / "linked" / "x.npy")], "x.npy"


def _data_inside_the_sidecar_folder(tmp_path):
    graph = data_graph(tmp_path)
    graph_text = DATA.replace("data/x.npy", "r.results.arrays/values.X.npy")
    (tmp_path / "r.results.arrays").mkdir()
    os.replace(tmp_path / "data" / "x.npy", tmp_path / "r.results.arrays" / "values.X.npy")
    write(tmp_path, "g.yaml", graph_text)
    return ["run", graph, "-o", str(tmp_path / "r.results.yaml"), "--sidecar-threshold", "1"], \
        "values.X.npy"


def _another_graph_s_data_in_a_sidecar_folder(tmp_path):
    # b.yaml reads what a.yaml wrote last time; running both into out/ would rewrite it first
    a = write(tmp_path, "a.yaml", big(1))
    (tmp_path / "out").mkdir()
    assert call("run", a, "-o", str(tmp_path / "out/"), "--sidecar-threshold", "10")[0] == 0
    (t,) = [n for n in os.listdir(tmp_path / "out" / "a.results.arrays") if n.startswith("values.")]
    b = write(tmp_path, "b.yaml", "graphrun: 1\ninputs:\n  T: {file: out/a.results.arrays/"
                                  f"{t}}}\nnodes:\n  s: {{op: sum, args: [T]}}\n")
    return ["run", a, b, "-o", str(tmp_path / "out")], t


def _two_outputs_one_file(tmp_path):
    a, b = write(tmp_path, "a.yaml", SIMPLE), write(tmp_path, "b.yaml", big(1))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.results.yaml").write_text("graphrun: 1\n")
    os.symlink("a.results.yaml", tmp_path / "out" / "b.results.yaml")
    return ["run", a, b, "-o", str(tmp_path / "out")], "a.results.yaml"


@pytest.mark.parametrize("situation", [
    _graph_itself, _link_to_graph, _hard_link_to_graph, _data_file, _link_to_data_file_as_golden,
    _golden_is_the_graph, _drawing_over_the_graph, _drawing_over_a_data_file,
    _data_inside_the_sidecar_folder, _another_graph_s_data_in_a_sidecar_folder,
    _two_outputs_one_file])
def test_an_output_that_is_an_input_is_refused_before_anything_runs(tmp_path, situation):
    argv, read = situation(tmp_path)
    written = argv[argv.index("-o" if "-o" in argv else "--golden") + 1]
    before = snapshot(tmp_path)
    links = {p: os.lstat(tmp_path / p).st_nlink for p in before if before[p][0] == "file"}
    code, out, err = call(*argv)
    assert (code, out) == (2, "")
    (line,) = err.splitlines()  # one message naming both, no traceback
    stem = os.path.splitext(written.rstrip("/"))[0]  # the results file, or its sidecar folder
    assert line.startswith("graphrun: error: ") and stem in line and read in line
    assert "nothing was run or written" in line
    assert snapshot(tmp_path) == before
    assert {p: os.lstat(tmp_path / p).st_nlink for p in links} == links  # no link broken


def test_a_different_output_beside_the_inputs_is_written(tmp_path):
    graph = data_graph(tmp_path)
    code, _, err = call("run", graph, "-o", str(tmp_path / "data" / "g.results.yaml"))
    assert (code, err) == (0, "")
    assert yaml.safe_load((tmp_path / "data" / "g.results.yaml").read_text())["loss"] == 24.0


# --- never replace a device or a link -----------------------------------------------------------

def test_a_symlink_to_a_regular_file_stays_a_link_and_its_file_is_written(tmp_path):
    graph = write(tmp_path, "g.yaml", big(1))
    real = tmp_path / "keep" / "real.results.yaml"
    real.parent.mkdir()
    real.write_text("previous\n")
    os.chmod(real, 0o640)
    link = tmp_path / "out" / "r.results.yaml"
    link.parent.mkdir()
    os.symlink("../keep/real.results.yaml", link)
    code, _, err = call("run", graph, "-o", str(link), "--sidecar-threshold", "10")
    assert (code, err) == (0, "")
    assert os.readlink(link) == "../keep/real.results.yaml" and os.listdir(link.parent) == [
        "r.results.yaml"]  # the link, and nothing beside it
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640  # the file's mode is kept
    # the file gets what a plain -o of its name gets, sidecars beside it
    plain = tmp_path / "plain" / "real.results.yaml"
    plain.parent.mkdir()
    assert call("run", graph, "-o", str(plain), "--sidecar-threshold", "10")[0] == 0
    assert snapshot(real.parent) == snapshot(plain.parent)
    assert call("check", graph, "--golden", str(link))[0] == 0  # read back through the link


def test_a_dangling_symlink_gets_its_file(tmp_path):
    graph = write(tmp_path, "g.yaml", SIMPLE)
    os.symlink("made.yaml", tmp_path / "out.yaml")
    assert call("run", graph, "-o", str(tmp_path / "out.yaml"))[0] == 0
    assert os.readlink(tmp_path / "out.yaml") == "made.yaml"
    assert yaml.safe_load((tmp_path / "made.yaml").read_text())["loss"] == 100.0


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_character_device_is_written_through_never_replaced(tmp_path):
    device = tmp_path / "null"  # a private /dev/null: the real one is never touched
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.symlink("null", tmp_path / "stdout")  # like /dev/stdout, a link to a device
    graph = write(tmp_path, "g.yaml", big(1))
    before = snapshot(tmp_path)
    for argv in (["run", graph, "-o", device, "--sidecar-threshold", "1"],
                 ["run", graph, "-o", tmp_path / "stdout", "--sidecar-threshold", "1"],
                 ["check", graph, "--golden", device, "--update"],
                 ["draw", graph, "-o", tmp_path / "stdout"]):
        code, _, err = call(*map(str, argv))
        assert err == "" and code == 0, argv
        assert snapshot(tmp_path) == before, argv  # no sidecar folder, no temporary file


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_block_device_is_refused(tmp_path):
    device = tmp_path / "disk"
    os.mknod(device, stat.S_IFBLK | 0o600, os.makedev(0, 0))  # no such disk, whatever happens
    graph = write(tmp_path, "g.yaml", SIMPLE)
    before = snapshot(tmp_path)
    code, _, err = call("run", graph, "-o", str(device))
    assert code == 2 and f"cannot write {device}" in err and "block device" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("through_a_link", [False, True])
def test_a_fifo_is_written_through(tmp_path, through_a_link):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = fifo
    if through_a_link:
        target = tmp_path / "link"
        os.symlink("pipe", target)
    graph = write(tmp_path, "g.yaml", big(1))
    before = snapshot(tmp_path)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()),
                              daemon=True)
    reader.start()
    code, _, err = call("run", graph, "-o", str(target), "--sidecar-threshold", "1")
    reader.join(30)
    assert (code, err) == (0, "")
    # every tensor inline: a FIFO has no folder for sidecars
    assert received == [call("run", graph)[1].encode()] and b"file:" not in received[0]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", [("run",), ("check", "--update", "--golden")])
def test_a_fifo_that_nobody_reads_is_refused_not_waited_on_forever(tmp_path, monkeypatch, command):
    from graphrun.results import files
    monkeypatch.setattr(files, "FIFO_WAIT", 0.2)  # the wait for a late reader, shortened
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    graph = write(tmp_path, "g.yaml", big(1))
    before = snapshot(tmp_path)
    argv = ("run", graph, "-o", str(fifo)) if command == ("run",) else (*command, str(fifo), graph)
    code, out, err = call(*argv)
    assert code == 2 and "it is a FIFO that no process reads" in err, err
    assert snapshot(tmp_path) == before and stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux's /proc/self/fd")
def test_an_open_file_named_through_proc_is_appended_to_never_replaced(tmp_path):
    # `graphrun g.yaml -o /dev/stdout >> log`: /dev/stdout leads to /proc/self/fd/1, which leads
    # to the log; the log is added to (the real /dev/stdout is never put at risk in a test)
    graph = write(tmp_path, "g.yaml", big(1))
    log = tmp_path / "log.txt"
    log.write_text("my log\n")
    with open(log, "a") as f:
        proc = spawn("run", graph, "-o", "/proc/self/fd/1", "--sidecar-threshold", "1", stdout=f)
        assert proc.communicate(timeout=60)[1] == "" and proc.returncode == 0
    assert log.read_text() == "my log\n" + call("run", graph)[1]  # every tensor inline
    assert sorted(os.listdir(tmp_path)) == ["g.yaml", "log.txt"]
    with open(graph, "a") as f:  # `>> g.yaml`: the graph is what it would write to
        proc = spawn("run", graph, "-o", "/proc/self/fd/1", stdout=f)
        assert proc.communicate(timeout=60)[1].startswith("graphrun: error: refusing to write")
    assert proc.returncode == 2 and (tmp_path / "g.yaml").read_text() == big(1)


# --- only ever delete what graphrun can prove it wrote ------------------------------------------

def test_a_sidecar_folder_linked_to_a_user_folder_loses_nothing(tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    np.save(user / "a.npy", np.arange(3.0))
    np.save(user / "values.W.npy", np.ones(2))  # a sidecar's name
    np.save(user / "values.t.0123456789abcdef.npy", np.zeros(2))  # even a digest (a wrong one)
    os.symlink("mine", tmp_path / "r.results.arrays")
    results = tmp_path / "r.results.yaml"  # a previous results file naming the user's files
    results.write_text("graphrun: 1\nvalues:\n"
                       "  W: {file: r.results.arrays/values.W.npy, shape: [2], dtype: float64}\n"
                       "  t: {file: r.results.arrays/values.t.0123456789abcdef.npy, shape: [2]}\n")
    mine = snapshot(user)
    graph = write(tmp_path, "g.yaml", big(1))
    code, _, err = call("run", graph, "-o", str(results), "--sidecar-threshold", "10")
    assert (code, err) == (0, "")
    assert read_results(str(results)).entries["values.t"].value.shape == (8, 5)
    code, _, err = call("run", graph, "-o", str(results))  # no sidecars any more
    assert (code, err) == (0, "") and "file:" not in results.read_text()
    after = snapshot(user)
    assert {name: after[name] for name in mine} == mine  # every file of the user's is there
    assert os.readlink(tmp_path / "r.results.arrays") == "mine"


def test_stale_sidecars_are_removed_only_with_proof(tmp_path):
    target = tmp_path / "r.results.yaml"
    folder = tmp_path / "r.results.arrays"

    def run(seed):
        text = big(seed).replace("args: [t]}", "args: [u]}\n  u: {op: mul, args: [t, W]}")
        assert call("run", write(tmp_path, "g.yaml", text), "-o", str(target),
                    "--sidecar-threshold", "10")[:2] == (0, "")
    run(1)
    old = sidecars(folder)
    assert len(old) == 5  # values.t, values.u, gradients.W, .t, .u (ones whatever the seed)
    changed, linked, removed, shared = (next(n for n in old if n.startswith(stem)) for stem in
                                        ("values.t.", "gradients.W.", "values.u.",
                                         "gradients.u."))
    np.save(folder / changed, np.zeros((8, 5)))  # named, but no longer the bytes graphrun wrote
    np.save(tmp_path / "user.npy", np.ones(3))
    os.unlink(folder / linked)
    os.symlink(tmp_path / "user.npy", folder / linked)  # named, but a link to a user's file
    np.save(folder / "notes.npy", np.ones(1))  # not a sidecar's name
    np.save(folder / "gradients.mine.npy", np.ones(1))  # a sidecar's name that nothing names
    before = snapshot(tmp_path)
    keep = {n: before[os.path.join("r.results.arrays", n)]
            for n in (changed, linked, "notes.npy", "gradients.mine.npy")}
    run(2)
    now = snapshot(folder)
    assert {n: now[n] for n in keep} == keep and removed not in now  # graphrun's own: gone
    assert snapshot(tmp_path)["user.npy"] == before["user.npy"]
    named = set(re.findall(r"file: r\.results\.arrays/(\S+),", target.read_text()))
    assert len(named) == 5 and shared in named  # the same bytes, the same name: kept
    assert set(now) == named | set(keep)


def test_a_previous_file_graphrun_did_not_write_has_no_sidecars_to_remove(tmp_path):
    target = tmp_path / "r.results.yaml"
    target.write_text("my notes\nvalues:\n  W: {file: r.results.arrays/values.W.npy, shape: [2]}\n")
    (tmp_path / "r.results.arrays").mkdir()
    np.save(tmp_path / "r.results.arrays" / "values.W.npy", np.ones(2))
    before = snapshot(tmp_path / "r.results.arrays")
    assert call("run", write(tmp_path, "g.yaml", SIMPLE), "-o", str(target))[0] == 0
    assert snapshot(tmp_path / "r.results.arrays") == before


# --- the YAML and its sidecars change together, and reruns are byte-identical ----------------

def test_reruns_are_byte_identical_and_the_pair_changes_as_one(tmp_path):
    target, folder = tmp_path / "out" / "r.results.yaml", tmp_path / "out" / "r.results.arrays"
    target.parent.mkdir()
    one, two = write(tmp_path, "one.yaml", big(1)), write(tmp_path, "two.yaml", big(2))
    shots = []
    for graph in (one, one, two, one):
        assert call("run", graph, "-o", str(target), "--sidecar-threshold", "10")[:2] == (0, "")
        shots.append(snapshot(tmp_path / "out"))
        named = re.findall(r"file: r\.results\.arrays/(\S+),", target.read_text())
        assert sorted(named) == sidecars(folder)  # exactly the files the YAML names
    assert shots[0] == shots[1] == shots[3] != shots[2]


def test_a_failing_first_write_leaves_nothing(tmp_path):
    # the sidecar (30 elements) fits under the file size limit; the YAML does not
    q = [round(0.123456789 + 0.1 * i, 9) for i in range(20)]
    nodes = "".join(f"  n{i}: {{op: mul, args: [q, s]}}\n" for i in range(30))
    text = (f"graphrun: 1\ninputs:\n  q: {q}\nparams:\n  p: {{init: normal, shape: [30], seed: 1}}"
            f"\nnodes:\n  s: {{op: sum, args: [p]}}\n{nodes}  L: {{op: sum, args: [n0]}}\n"
            "loss: L\n")
    graph = write(tmp_path, "g.yaml", text)
    target = tmp_path / "out" / "r.results.yaml"
    target.parent.mkdir()

    def limited():
        _default_signals()
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    def run_limited():
        proc = spawn("run", graph, "-o", target, "--sidecar-threshold", "20", preexec_fn=limited)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2 and f"cannot write {target}: File too large" in err, err
    run_limited()
    assert os.listdir(target.parent) == []  # no YAML, no .arrays folder, no temporary file
    # with a previous pair: the failure leaves it byte-identical
    assert call("run", write(tmp_path, "g.yaml", text.replace("seed: 1", "seed: 2")), "-o",
                str(target), "--sidecar-threshold", "20")[0] == 0
    before = snapshot(target.parent)
    assert len(sidecars(tmp_path / "out" / "r.results.arrays")) == 1
    write(tmp_path, "g.yaml", text)
    run_limited()
    assert snapshot(target.parent) == before


# --- signals and concurrent writers -------------------------------------------------------------

@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_between_the_sidecars_and_the_yaml_leaves_the_previous_pair(
        tmp_path, signum, code):
    out = tmp_path / "out"
    target, folder = out / "r.results.yaml", out / "r.results.arrays"
    out.mkdir()
    assert call("run", write(tmp_path, "one.yaml", big(1)), "-o", str(target),
                "--sidecar-threshold", "10")[0] == 0
    before = snapshot(out)
    two = write(tmp_path, "two.yaml", big(2))
    alone = tmp_path / "alone" / "r.results.yaml"
    alone.parent.mkdir()
    assert call("run", two, "-o", str(alone), "--sidecar-threshold", "10")[0] == 0
    new = set(sidecars(alone.parent / "r.results.arrays")) - set(sidecars(folder))
    assert len(new) == 2  # values.t and gradients.W; gradients.t is ones for both
    # graphrun commits a results file (renames the YAML in) only while holding this lock: held
    # here, the run stops with its new sidecars written and its YAML not yet in place
    lock = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = spawn("run", two, "-o", target, "--sidecar-threshold", "10")
        wait_until(lambda: new <= set(sidecars(folder)), proc, "its new sidecars")
        proc.send_signal(signum)
    finally:
        os.close(lock)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code and err == "graphrun: interrupted\n"
    assert snapshot(out) == before  # the previous pair, and nothing else


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_while_writing_through_a_fifo(tmp_path, signum, code):
    out = tmp_path / "out"
    out.mkdir()
    fifo = out / "r.results.yaml"
    os.mkfifo(fifo)
    before = snapshot(out)
    graph = write(tmp_path, "g.yaml", big(1, shape=(100, 100)))  # ~800 kB: more than a pipe holds
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        proc = spawn("run", graph, "-o", fifo)

        def started():
            try:
                return bool(os.read(reader, 4096))
            except BlockingIOError:
                return False
        wait_until(started, proc, "it writes")  # then it blocks: the pipe is full
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(reader)
    assert proc.returncode == code and err == "graphrun: interrupted\n"
    assert snapshot(out) == before  # still a FIFO, nothing beside it


def test_concurrent_runs_on_one_output_end_with_one_consistent_pair(tmp_path):
    graphs = [write(tmp_path, f"g{seed}.yaml", big(seed)) for seed in (1, 2, 3)]
    expected = []
    for i, graph in enumerate(graphs):  # what each run alone writes
        alone = tmp_path / f"alone{i}" / "r.results.yaml"
        alone.parent.mkdir()
        assert call("run", graph, "-o", str(alone), "--sidecar-threshold", "10")[0] == 0
        expected.append(snapshot(alone.parent))
    out = tmp_path / "out"
    out.mkdir()
    for _ in range(2):
        procs = [spawn("run", g, "-o", out / "r.results.yaml", "--sidecar-threshold", "10")
                 for g in graphs]
        for proc in procs:
            assert proc.communicate(timeout=120) == ("", "") and proc.returncode == 0
        assert snapshot(out) in expected  # one complete output, nothing else beside it


def test_a_writer_whose_sidecars_another_writer_removed_writes_them_again(tmp_path):
    # B rewrites the previous results (the same sidecar names); A, committing first, removes
    # those names as stale: B must find that out, holding the lock, before its YAML goes in
    out = tmp_path / "out"
    out.mkdir()
    target = out / "r.results.yaml"
    one, two = write(tmp_path, "one.yaml", big(1)), write(tmp_path, "two.yaml", big(2))
    assert call("run", one, "-o", str(target), "--sidecar-threshold", "10")[0] == 0
    expected = snapshot(out)
    lock = os.open(out, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    b = spawn("run", one, "-o", target, "--sidecar-threshold", "10")
    try:
        wait_until(lambda: any(n.startswith(".r.results.yaml.") for n in os.listdir(out)), b,
                   "its YAML is ready to go in")
        b.send_signal(signal.SIGSTOP)  # B waits for the lock, or is about to
        a = spawn("run", two, "-o", target, "--sidecar-threshold", "10")
        wait_until(lambda: len(sidecars(out / "r.results.arrays")) == 5, a, "A's sidecars")
        os.close(lock)
        lock = -1
        assert a.communicate(timeout=60) == ("", "") and a.returncode == 0  # A commits first
        assert snapshot(out) != expected
    finally:
        if lock >= 0:
            os.close(lock)
        b.send_signal(signal.SIGCONT)
    assert b.communicate(timeout=60) == ("", "") and b.returncode == 0
    assert snapshot(out) == expected  # B's results, every sidecar they name there


def test_a_folder_as_the_output_keeps_today_s_rules(tmp_path):
    graph = write(tmp_path, "g.yaml", SIMPLE)
    (tmp_path / "out").mkdir()
    before = snapshot(tmp_path)
    code, _, err = call("draw", graph, "-o", str(tmp_path / "out"))
    assert code == 2 and "Is a directory" in err
    code, _, err = call("draw", graph, "-o", str(tmp_path / "missing") + "/")
    assert code == 2 and "No such file or directory" in err
    assert snapshot(tmp_path) == before  # no file named `missing`
    assert call("run", graph, "-o", str(tmp_path / "out"))[0] == 0  # into it, by its name
    assert os.listdir(tmp_path / "out") == ["g.results.yaml"]


@pytest.mark.parametrize("call_name, nth, error", [
    ("fsync", 2, OSError(errno.EIO, "Input/output error")),
    ("write", 3, OSError(errno.ENOSPC, "No space left on device"))])
def test_a_failing_fsync_or_write_of_one_sidecar_leaves_the_previous_pair(
        tmp_path, monkeypatch, call_name, nth, error):
    # the sidecars' bytes are written and fsynced side by side, in threads (results/files.py
    # _Syncs): one failing among them (a bad disk, a full one) fails the write, raised in the
    # caller, and every temporary file goes
    out = tmp_path / "out"
    target = out / "r.results.yaml"
    out.mkdir()
    assert call("run", write(tmp_path, "one.yaml", big(1)), "-o", str(target),
                "--sidecar-threshold", "10")[0] == 0
    before = snapshot(out)
    real, calls = getattr(os, call_name), []

    def failing(fd, *data):
        calls.append(fd)
        if len(calls) == nth:
            raise error
        return real(fd, *data)
    monkeypatch.setattr(os, call_name, failing)
    code, _, err = call("run", write(tmp_path, "two.yaml", big(2)), "-o", str(target),
                        "--sidecar-threshold", "10")
    monkeypatch.undo()
    assert code == 2 and error.strerror in err, err
    assert len(calls) >= nth
    assert snapshot(out) == before


def test_a_sidecar_is_written_as_soon_as_it_is_named_and_a_later_failure_leaves_nothing(
        tmp_path):
    # results/files.py starts each sidecar's write when the text names it (its folder made,
    # then a temporary file in it made, filled and fsynced in a thread); the text failing
    # afterwards removes that file and the folder this write made
    from graphrun.results import files
    target = tmp_path / "r.results.yaml"
    seen = []

    def render(folder, sidecars):
        yield "graphrun: 1\n"
        sidecars["values.x.0123456789abcdef.npy"] = np.arange(50.0)
        seen.append(os.path.isdir(tmp_path / folder))
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OSError, match="No space left"):
        files.write_results(str(target), render)
    assert seen == [True]
    assert os.listdir(tmp_path) == []


def test_a_writing_thread_that_starts_after_a_failure_makes_no_file(tmp_path):
    # the threads create the sidecars' temporary files; once the write is abandoned (a failure
    # in the caller, which then removes every temporary file made) a late one makes none
    from graphrun.results import files
    transaction = files._Transaction(str(tmp_path / "r.results.yaml"),
                                     str(tmp_path / "r.results.arrays"))
    slot = ["values.x.0123456789abcdef.npy", None]
    transaction._abandon()
    transaction._write(str(tmp_path / slot[0]), 0o644, files.npy_bytes(np.arange(3.0)), slot)
    assert slot[1] is None and os.listdir(tmp_path) == [] and transaction.made == []


def _waiting_for_a_lock(pid: int) -> bool:
    """Whether process `pid` waits for a flock (a "->" line of /proc/locks)."""
    with open("/proc/locks") as f:
        return any(line.split()[1] == "->" and line.split()[5] == str(pid) for line in f
                   if len(line.split()) > 5)


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux's /proc/locks")
def test_a_reader_waits_for_a_commit_and_reads_the_pair_it_left(tmp_path):
    # A commit renames the new YAML in and then removes the old sidecars, holding the folder's
    # exclusive lock: a reader that read the old YAML just before would find its sidecars gone
    # ("sidecar file ... does not exist", exit 2). Readers take the shared lock, so `diff`
    # started during a commit waits for it, then reads the new pair whole.
    out, first, second = tmp_path / "out", tmp_path / "first", tmp_path / "second"
    for folder, seed in ((out, 1), (first, 1), (second, 2)):
        folder.mkdir()
        assert call("run", write(tmp_path, f"g{seed}.yaml", big(seed)), "-o",
                    str(folder / "r.results.yaml"), "--sidecar-threshold", "10")[0] == 0
    lock = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a writer's commit, done by hand below
        reader = spawn("diff", first / "r.results.yaml", out / "r.results.yaml")
        wait_until(lambda: _waiting_for_a_lock(reader.pid), reader, "the reader to wait")
        old, new = set(sidecars(out / "r.results.arrays")), sidecars(second / "r.results.arrays")
        for name in new:
            os.replace(second / "r.results.arrays" / name, out / "r.results.arrays" / name)
        os.replace(second / "r.results.yaml", out / "r.results.yaml")
        for name in old - set(new):  # the stale ones, as a commit removes them
            (out / "r.results.arrays" / name).unlink()
    finally:
        os.close(lock)
    got, err = reader.communicate(timeout=60)
    # the new pair: seed 2 differs from seed 1 (exit 1), and every sidecar it names was there
    assert reader.returncode == 1, err
    assert "does not exist" not in err and "values.t" in got


# --- red-team pass 3: what a write finds in its way ---------------------------------------------

def _names_written(tmp_path, graph):
    """The sidecar names a run of `graph` writes (learnt in a folder of their own)."""
    probe = tmp_path / "probe"
    probe.mkdir()
    assert call("run", graph, "-o", str(probe / "r.results.yaml"),
                "--sidecar-threshold", "10")[:2] == (0, "")
    return sidecars(probe / "r.results.arrays")


@pytest.mark.parametrize("what", ["other bytes", "a link to a user's file", "a folder"])
def test_a_file_graphrun_did_not_write_at_a_sidecar_s_name_is_never_replaced(tmp_path, what):
    # The sidecar folder exists (made by the user) and holds, under the very name a sidecar
    # gets, something graphrun did not write: its bytes are not the ones the name's digest says.
    # Before, the rename replaced it. Now: exit 2, naming it, and nothing at all changes.
    graph = write(tmp_path, "g.yaml", big(1))
    name = next(n for n in _names_written(tmp_path, graph) if n.startswith("values.t."))
    folder = tmp_path / "out" / "r.results.arrays"
    folder.mkdir(parents=True)
    np.save(tmp_path / "user.npy", np.ones(3))
    if what == "other bytes":
        np.save(folder / name, np.zeros((8, 5)))
    elif what == "a folder":
        (folder / name).mkdir()
    else:
        os.symlink(tmp_path / "user.npy", folder / name)
    (tmp_path / "out" / "r.results.yaml").write_text("graphrun: 1\ngraph: previous\n")
    before = snapshot(tmp_path)
    code, out, err = call("run", graph, "-o", str(tmp_path / "out" / "r.results.yaml"),
                          "--sidecar-threshold", "10")
    assert (code, out) == (2, "")
    assert f"r.results.arrays/{name}" in err and "did not" in err and "left alone" in err
    assert snapshot(tmp_path) == before  # the previous pair, the user's file, no temporary file
    # the Python API refuses it the same way
    from graphrun import api
    with pytest.raises(OSError, match="left alone"):
        api.run(api.compile(graph)).write(tmp_path / "out" / "r.results.yaml",
                                          sidecar_threshold=10)
    assert snapshot(tmp_path) == before


def test_a_sidecar_already_holding_its_bytes_is_kept_as_it_is(tmp_path):
    # the other side of the rule above: a rerun finds its own sidecars, byte for byte, and keeps
    # them (same inode: not even rewritten)
    graph = write(tmp_path, "g.yaml", big(1))
    target = tmp_path / "r.results.yaml"
    assert call("run", graph, "-o", str(target), "--sidecar-threshold", "10")[:2] == (0, "")
    folder = tmp_path / "r.results.arrays"
    inodes = {n: os.lstat(folder / n).st_ino for n in sidecars(folder)}
    before = snapshot(tmp_path)
    assert call("run", graph, "-o", str(target), "--sidecar-threshold", "10")[:2] == (0, "")
    assert snapshot(tmp_path) == before
    assert {n: os.lstat(folder / n).st_ino for n in sidecars(folder)} == inodes


def _from_stdin(argv, stdin, cwd):
    with open(stdin, "rb") as f:
        return subprocess.run([sys.executable, "-m", "graphrun", *map(str, argv)], stdin=f,
                              capture_output=True, text=True, cwd=cwd, timeout=120,
                              preexec_fn=_default_signals)


@pytest.mark.parametrize("argv", [
    ["run", "-", "-o", "g.yaml"],  # the graph piped in is g.yaml itself
    ["run", "-", "-o", "link.yaml"],
    ["run", "-", "-o", "/dev/stdin"],  # appended to through /proc/self/fd/0
    ["run", "-", "-o", "/dev/fd/0"],
    ["check", "-", "--update", "--golden", "g.yaml"],
    ["check", "-", "--update", "--golden", "/dev/stdin"],
])
def test_the_graph_read_from_standard_input_is_an_input_too(tmp_path, argv):
    # `graphrun run - -o g.yaml < g.yaml` replaced the graph, and `-o /dev/stdin` appended the
    # results to it: clash() did not know the file behind `-`, and /dev/stdin was written
    # through although this process opened it for reading only
    graph = write(tmp_path, "g.yaml", SIMPLE)
    os.symlink("g.yaml", tmp_path / "link.yaml")
    before = snapshot(tmp_path)
    proc = _from_stdin(argv, graph, tmp_path)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr.startswith("graphrun: error: ") and "Traceback" not in proc.stderr
    assert "nothing was run" in proc.stderr
    assert snapshot(tmp_path) == before


def test_a_descriptor_open_for_reading_only_is_never_written(tmp_path):
    # -o /dev/stdin with `< notes.txt`: notes.txt is an input of the shell's making
    graph = write(tmp_path, "g.yaml", SIMPLE)
    notes = write(tmp_path, "notes.txt", "mine\n")
    before = snapshot(tmp_path)
    proc = _from_stdin(["run", graph, "-o", "/dev/stdin"], notes, tmp_path)
    assert proc.returncode == 2 and "open for reading only" in proc.stderr, proc.stderr
    assert snapshot(tmp_path) == before
    # the same graph from stdin, its results on a stdout opened for writing: written through
    proc = _from_stdin(["run", "-", "-o", "/dev/stdout"], graph, tmp_path)
    assert proc.returncode == 0 and yaml.safe_load(proc.stdout)["loss"] == 100.0


def _as_nobody(argv):
    """`graphrun argv` as the user nobody (setpriv), or None where that cannot be done."""
    import shutil
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
            "graphrun", *argv]


@pytest.mark.parametrize("how", ["read-only", "another user's"])
def test_a_file_this_user_may_not_write_is_not_replaced(tmp_path, how):
    # Renaming over a file needs only the folder's permission: a results file made read-only
    # (chmod a-w), or another user's file in a shared folder, was replaced (and its owner
    # changed). open(path, "w") would have refused; so does graphrun now, before running.
    import tempfile
    folder = tempfile.mkdtemp(prefix="graphrun-perm-")  # a place another user can reach
    try:
        os.chmod(folder, 0o777)
        graph = os.path.join(folder, "g.yaml")
        with open(graph, "w") as f:
            f.write(SIMPLE)
        out = os.path.join(folder, "r.results.yaml")
        with open(out, "w") as f:
            f.write("mine\n")
        os.chmod(graph, 0o644)
        os.chmod(out, 0o444 if how == "read-only" else 0o644)
        before = snapshot(folder)
        if os.geteuid() == 0:  # root may write anything: run the CLI as the user nobody
            if how == "read-only":
                os.chown(out, 65534, 65534)
            for argv in (["run", graph, "-o", out], ["check", graph, "--update", "--golden", out],
                         ["draw", graph, "-o", out]):
                command = _as_nobody(argv)
                if command is None:
                    pytest.skip("no setpriv to run graphrun as another user")
                proc = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                                      timeout=120, preexec_fn=_default_signals,
                                      env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
                if "Permission denied" in proc.stderr and "python" in proc.stderr:
                    pytest.skip("the user nobody cannot run this Python")
                assert proc.returncode == 2 and "read-only" in proc.stderr, proc.stderr
                assert snapshot(folder) == before
        elif how == "read-only":
            for argv in (["run", graph, "-o", out], ["check", graph, "--update", "--golden", out],
                         ["draw", graph, "-o", out]):
                code, _, err = call(*argv)
                assert code == 2 and "read-only" in err, err
                assert snapshot(folder) == before
        else:
            pytest.skip("another user's file needs root to make")
    finally:
        import shutil
        shutil.rmtree(folder)


def test_a_stale_golden_graphrun_did_not_write_is_left_alone(tmp_path):
    # `check graphs/ --update --golden golden/` removes the goldens no graph makes, with their
    # sidecars; the proof was a first line `graphrun: 1` -- which every graph file has too. A
    # graph (or hand-written notes) named like a results file was deleted.
    graphs, golden = tmp_path / "graphs", tmp_path / "golden"
    write(graphs, "g.yaml", SIMPLE)
    write(golden, "mine.results.yaml", SIMPLE)  # a graph file, by its text
    write(golden, "notes.results.yaml", "graphrun: 1\n# kept by hand\nvalues: {}\n")
    write(golden, "old.results.yaml", "graphrun: 1\ngraph: old\nvalues: {}\n")  # graphrun's
    kept = {n: snapshot(golden)[n] for n in ("mine.results.yaml", "notes.results.yaml")}
    code, _, err = call("check", str(graphs), "--update", "--golden", str(golden))
    assert code == 2 and err.count("left alone") == 2, err
    now = snapshot(golden)
    assert {n: now[n] for n in kept} == kept and "old.results.yaml" not in now
    from graphrun.results import files
    assert files.named_sidecars(str(golden / "mine.results.yaml"), "mine.results.arrays") == set()


def test_results_files_sharing_one_sidecar_folder_keep_each_other_s_arrays(tmp_path):
    # a.yaml, a.yml and a all keep their sidecars in a.arrays. Writing a.yml again with other
    # arrays removed the old ones as stale -- which a.yaml still named: its pair was broken
    # ("sidecar file ... does not exist"). A stale sidecar another of them names is kept.
    one, two = write(tmp_path, "one.yaml", big(1)), write(tmp_path, "two.yaml", big(2))
    for graph, out in ((one, "a.yaml"), (one, "a.yml"), (two, "a.yml"), (two, "a"), (one, "a")):
        assert call("run", graph, "-o", str(tmp_path / out),
                    "--sidecar-threshold", "10")[:2] == (0, "")
    for out, graph in (("a.yaml", one), ("a.yml", two), ("a", one)):
        code, _, err = call("check", graph, "--golden", str(tmp_path / out))
        assert (code, err) == (0, "")  # every sidecar there, and the arrays of its own graph
    named = set()
    for out in ("a.yaml", "a.yml", "a"):
        named |= set(re.findall(r"file: a\.arrays/(\S+),", (tmp_path / out).read_text()))
    assert set(sidecars(tmp_path / "a.arrays")) == named  # and nothing stale left over


def test_a_terminal_this_process_does_not_have_is_not_called_a_fifo(tmp_path):
    # /dev/tty in a process without a controlling terminal (cron, CI): ENXIO, as a FIFO with
    # no reader gives; it was reported as "a FIFO that no process reads" after waiting 5 s
    if not os.path.exists("/dev/tty"):
        pytest.skip("no /dev/tty")
    graph = write(tmp_path, "g.yaml", SIMPLE)
    proc = subprocess.run([sys.executable, "-m", "graphrun", "run", graph, "-o", "/dev/tty"],
                          capture_output=True, text=True, timeout=120, start_new_session=True,
                          stdin=subprocess.DEVNULL, preexec_fn=_default_signals)
    assert proc.returncode == 2 and "FIFO" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and os.listdir(tmp_path) == ["g.yaml"]


def test_a_link_that_cannot_be_read_is_compared_as_given(tmp_path, monkeypatch):
    # -o /proc/1/fd/1 (another process's descriptor): realpath raises EACCES, which was an
    # internal error (exit 3) in clash(); the path is now taken as given, and the write fails
    # with its own message
    from graphrun.results import files
    real = os.path.realpath

    def unreadable(path, *args, **kwargs):
        if str(path).startswith("/proc/1/fd/"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real(path, *args, **kwargs)
    monkeypatch.setattr(os.path, "realpath", unreadable)
    graph = write(tmp_path, "g.yaml", SIMPLE)
    assert files.clash(files.results_outputs("/proc/1/fd/1"), [graph]) is None
    assert files.results_outputs("/proc/1/fd/1")[0] == "/proc/1/fd/1"
