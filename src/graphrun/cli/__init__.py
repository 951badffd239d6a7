"""cli: the only place that prints. `main(argv, stdout, stderr) -> exit code`; each command is a
thin adapter in cli/commands/ (parse arguments, call the API, render, exit code); report.py holds
the output formats. Problems become FILE:LINE:COL lines here and nowhere else.
"""

from .main import main, run_module

__all__ = ["main", "run_module"]
