"""pytest plugin: each graph file with a golden results file becomes a test item.

Installed with graphrun (entry point `pytest11: graphrun`); it does nothing until a golden folder
is configured:

    [tool.pytest.ini_options]
    testpaths = ["tests", "graphs"]     # pytest must visit the graph files
    graphrun_golden = "tests/golden"    # graphs/mlp.yaml -> tests/golden/mlp.results.yaml

Then `pytest` runs `graphrun check` on every visited graph file that has a golden
(`<graph file stem>.results.yaml` in that folder) as the item `graphs/mlp.yaml::golden`, and
`pytest --graphrun-update` rewrites the goldens that differ. `--graphrun-golden DIR` overrides
the ini setting.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("graphrun", "graphrun golden files")
    group.addoption("--graphrun-golden", metavar="DIR", default=None,
                    help="folder of <graph stem>.results.yaml golden files; each graph file "
                         "pytest visits that has one becomes a test item")
    group.addoption("--graphrun-update", action="store_true", default=False,
                    help="rewrite the golden files of graphs whose results differ")
    parser.addini("graphrun_golden", "folder of golden results files (relative to the rootdir)",
                  default="")


def _golden_folder(config):
    folder = config.getoption("graphrun_golden")
    if folder:
        return os.path.abspath(folder)
    folder = config.getini("graphrun_golden")
    return os.path.join(str(config.rootpath), folder) if folder else None


def pytest_collect_file(file_path, parent):
    folder = _golden_folder(parent.config)
    if folder is None or file_path.suffix not in (".yaml", ".yml"):
        return None
    from .results.golden import is_results_file, results_name

    if is_results_file(file_path.name):
        return None
    golden = os.path.join(folder, results_name(str(file_path)))
    if not os.path.isfile(golden):
        return None
    return GraphFile.from_parent(parent, path=file_path, golden=golden)


class GraphFile(pytest.File):
    def __init__(self, *, golden, **kwargs):
        super().__init__(**kwargs)
        self.golden = golden

    def collect(self):
        yield GoldenItem.from_parent(self, name="golden", golden=self.golden)


class GoldenMismatch(Exception):
    """The graph's results differ from its golden file (or the graph cannot run)."""


class GoldenItem(pytest.Item):
    def __init__(self, *, golden, **kwargs):
        super().__init__(**kwargs)
        self.golden = golden

    def runtest(self):
        import graphrun

        update = self.config.getoption("graphrun_update")
        outcome = graphrun.check(os.path.relpath(self.path), os.path.relpath(self.golden),
                                 update=update)
        if outcome.ok:
            return
        text = outcome.text() if outcome.error is None else str(outcome.error) + "\n"
        raise GoldenMismatch(text + "(rerun with --graphrun-update to accept the new results)")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, GoldenMismatch):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.name} vs {os.path.basename(self.golden)}"
