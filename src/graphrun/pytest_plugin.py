"""pytest plugin: every graph file pytest visits becomes a test item that checks it against its
golden results file, as strictly as `graphrun check`.

Installed with graphrun (entry point `pytest11: graphrun`); it does nothing until a golden folder
is configured:

    [tool.pytest.ini_options]
    testpaths = ["tests", "graphs"]     # pytest must visit the graph files
    graphrun_golden = "tests/golden"    # graphs/mlp.yaml -> tests/golden/mlp.results.yaml

Then:

- Every graph file pytest visits (frontend/recognise.py: a .yaml/.yml file that declares
  `graphrun:`; results files, block libraries and other YAML are left alone, and so is the golden
  folder) is the item `graphs/mlp.yaml::golden`, whether or not its golden exists. A graph whose
  results differ fails with the table `graphrun check` prints; a missing golden fails with the
  command that makes it; an invalid graph fails with its FILE:LINE:COL errors; two graphs that
  would share one golden (one stem in two folders) both fail.
- On a full run (pytest's testpaths, or its rootdir: no file or folder named on the command line),
  a golden that no collected graph makes is stale, the failing item
  `tests/golden/old.results.yaml::stale`.
- `pytest --graphrun-update` creates the missing goldens, rewrites those that differ, removes
  the stale ones, and prints "graphrun: N created, M updated, K unchanged" (and "R removed").
- The options of `graphrun check`: `--graphrun-rtol`, `--graphrun-atol`,
  `--graphrun-allow-nonfinite`, `--graphrun-allow-outside` (or the ini keys `graphrun_rtol`,
  `graphrun_atol`, `graphrun_allow_nonfinite`, `graphrun_allow_outside`); `--graphrun-golden DIR`
  overrides the ini's folder.
- Under pytest-xdist each worker keeps BLAS to its share of the cores (graphrun/blas.py), set as
  the worker loads this plugin, before numpy is imported: `pytest -n 2` on two cores then runs two
  graphs at a time instead of four BLAS threads fighting for two cores.
"""

from __future__ import annotations

import os

from . import blas


def _limit_worker_threads() -> None:
    """In an xdist worker, each worker's share of the cores (at least one) for BLAS."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not os.environ.get("PYTEST_XDIST_WORKER") or not (workers or "").isdigit():
        return
    threads = max(1, blas.cores() // max(1, int(workers)))
    if not blas.limit_before_import(threads):  # numpy came first (another plugin imported it)
        blas.limit(threads)


_limit_worker_threads()

import pytest  # noqa: E402  (after the thread limit: pytest's plugins may import numpy)

# the words for each fix a problem names, as a pytest user gives it
FIX_WORDS = {
    "allow_nonfinite": "; use --graphrun-allow-nonfinite to keep it anyway",
    "memory_budget": " (shrink the largest tensors)",
    "allow_outside": "; use --graphrun-allow-outside to read it anyway",
}
_STATUS = "graphrun_status"  # the user property an item reports its outcome in


def pytest_addoption(parser):
    group = parser.getgroup("graphrun", "graphrun golden files")
    group.addoption("--graphrun-golden", metavar="DIR", default=None,
                    help="folder of <graph stem>.results.yaml golden files; every graph file "
                         "pytest visits becomes a test item")
    group.addoption("--graphrun-update", action="store_true", default=False,
                    help="create missing goldens, rewrite those that differ, remove stale ones")
    group.addoption("--graphrun-rtol", metavar="R", type=float, default=None,
                    help="relative tolerance (default: the graph's tolerance:, else graphrun's)")
    group.addoption("--graphrun-atol", metavar="A", type=float, default=None,
                    help="absolute tolerance (default: the graph's tolerance:, else graphrun's)")
    group.addoption("--graphrun-allow-nonfinite", action="store_true", default=None,
                    help="let graphs produce nan/inf (compared as values: nan equals nan)")
    group.addoption("--graphrun-allow-outside", action="store_true", default=None,
                    help="let graphs read file: data and includes outside their folder tree")
    parser.addini("graphrun_golden", "folder of golden results files (relative to the rootdir)",
                  default="")
    parser.addini("graphrun_rtol", "relative tolerance for the golden checks", default="")
    parser.addini("graphrun_atol", "absolute tolerance for the golden checks", default="")
    parser.addini("graphrun_allow_nonfinite", "let graphs produce nan/inf", type="bool",
                  default=False)
    parser.addini("graphrun_allow_outside", "let graphs read files outside their folder tree",
                  type="bool", default=False)


def _golden_folder(config):
    folder = config.getoption("graphrun_golden")
    if folder:
        return os.path.abspath(folder)
    folder = config.getini("graphrun_golden")
    return os.path.join(str(config.rootpath), folder) if folder else None


def _options(config) -> dict:
    """check's options, command line over ini."""
    def tolerance(name):
        given = config.getoption(f"graphrun_{name}")
        if given is not None:
            return given
        text = config.getini(f"graphrun_{name}")
        return float(text) if text else None
    def flag(name):
        given = config.getoption(f"graphrun_{name}")
        return config.getini(f"graphrun_{name}") if given is None else given
    return {"rtol": tolerance("rtol"), "atol": tolerance("atol"),
            "check_finite": not flag("allow_nonfinite"), "allow_outside": flag("allow_outside")}


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def pytest_collect_file(file_path, parent):
    folder = _golden_folder(parent.config)
    if folder is None or file_path.suffix not in (".yaml", ".yml"):
        return None
    from .frontend.recognise import GRAPH, file_kind

    if _inside(str(file_path), folder) or file_kind(str(file_path)) != GRAPH:
        return None
    from .results.golden import results_name
    return GraphFile.from_parent(parent, path=file_path,
                                 golden=os.path.join(folder, results_name(str(file_path))))


def _full_run(config) -> bool:
    """Whether pytest collects everything it is configured to (no paths on its command line):
    only then is a golden without a collected graph known to be stale."""
    source = getattr(config, "args_source", None)
    kinds = getattr(pytest.Config, "ArgsSource", None)
    return kinds is not None and source in (kinds.TESTPATHS, kinds.INVOCATION_DIR)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    folder = _golden_folder(config)
    if folder is None:
        return
    by_golden = {}
    for item in items:
        if isinstance(item, GoldenItem):
            by_golden.setdefault(item.golden, []).append(item)
    for golden, sharing in by_golden.items():
        if len(sharing) > 1:
            for item in sharing:
                item.sharing = [other.path for other in sharing]
    if not _full_run(config):
        return
    from .results.golden import stale_goldens
    for golden in stale_goldens(folder, by_golden):
        node = GoldenFile.from_parent(session, path=_as_path(golden))
        items.append(StaleItem.from_parent(node, name="stale", golden=golden))


def _as_path(text: str):
    from pathlib import Path
    return Path(text)


class GraphFile(pytest.File):
    def __init__(self, *, golden, **kwargs):
        super().__init__(**kwargs)
        self.golden = golden

    def collect(self):
        yield GoldenItem.from_parent(self, name="golden", golden=self.golden)


class GoldenFile(pytest.File):
    """A stale golden file, the parent of its `stale` item."""

    def collect(self):
        return []


class GoldenFailure(Exception):
    """The graph's results differ from its golden file, the golden is missing or stale, or the
    graph cannot be checked: the text says which, as `graphrun check` says it."""


def _relative(path) -> str:
    try:
        return os.path.relpath(str(path))
    except ValueError:  # another drive (Windows)
        return str(path)


class GoldenItem(pytest.Item):
    sharing = ()  # the graphs, this one included, whose goldens would be one file

    def __init__(self, *, golden, **kwargs):
        super().__init__(**kwargs)
        self.golden = golden

    def runtest(self):
        from .results.golden import check_graph

        graph, golden = _relative(self.path), _relative(self.golden)
        if self.sharing:
            self.user_properties.append((_STATUS, "error"))
            raise GoldenFailure(
                f"{golden} would be the golden file of {', '.join(map(_relative, self.sharing))}"
                ": graphs in one golden folder need different file names")
        update = self.config.getoption("graphrun_update")
        outcome = check_graph(graph, golden, update=update, **_options(self.config))
        self.user_properties.append((_STATUS, outcome.status))
        if outcome.ok:
            return
        if outcome.error is not None:
            text = "\n".join(row.text(FIX_WORDS) for row in outcome.error.located())
            raise GoldenFailure(text)
        if outcome.status == "missing":
            raise GoldenFailure(f"{graph}: no golden file {golden}; create it with: pytest "
                                f"--graphrun-update {graph}\n(or: graphrun check {graph} "
                                f"--golden {golden} --update)")
        raise GoldenFailure(outcome.text() + "(rerun with --graphrun-update to accept the new "
                                             "results)")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, GoldenFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.name} vs {os.path.basename(self.golden)}"


class StaleItem(pytest.Item):
    def __init__(self, *, golden, **kwargs):
        super().__init__(**kwargs)
        self.golden = golden

    def runtest(self):
        from .results.golden import check_stale

        golden = _relative(self.golden)
        outcome = check_stale(golden, self.config.getoption("graphrun_update"))
        self.user_properties.append((_STATUS, outcome.status))
        if outcome.ok:
            return
        if outcome.error is not None:
            raise GoldenFailure("\n".join(row.text(FIX_WORDS) for row in outcome.error.located()))
        raise GoldenFailure(f"{golden}: a golden file whose graph is gone (no graph file pytest "
                            "collects makes it); remove it, or rerun with --graphrun-update to "
                            "remove it")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, GoldenFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}: stale golden"


# --- "N created, M updated, K unchanged" ---------------------------------------------------------

_COUNTS = pytest.StashKey[dict]()


def pytest_configure(config):
    config.stash[_COUNTS] = {}


def pytest_runtest_logreport(report):
    """Count each item's outcome, on the process that reports (xdist's controller gets every
    worker's reports, with their user properties)."""
    if report.when != "call":
        return
    for key, value in getattr(report, "user_properties", ()):
        if key == _STATUS:
            counts = _CONFIG[0].stash[_COUNTS] if _CONFIG else None
            if counts is not None:
                counts[value] = counts.get(value, 0) + 1


_CONFIG = []  # the config of this process's session, for the report hook (which gets none)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    _CONFIG[:] = [session.config]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _golden_folder(config) is None or not config.getoption("graphrun_update"):
        return
    counts = config.stash.get(_COUNTS, {})
    words = [f"{counts.get('created', 0)} created", f"{counts.get('updated', 0)} updated",
             f"{counts.get('match', 0)} unchanged"]
    if counts.get("removed"):
        words.append(f"{counts['removed']} removed")
    terminalreporter.write_line("graphrun: " + ", ".join(words))
