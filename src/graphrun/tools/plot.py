"""plot: a training run's loss curve, and its reported nodes, drawn with matplotlib.

matplotlib is an optional extra (`pip install 'graphrun[plot]'`); nothing else in graphrun needs
it, and it is imported only here, only when a plot is asked for. The figure is drawn without
pyplot (no window, no global state) and rendered to bytes, which results/files writes atomically.
The format follows the file's extension: .png, .svg or .pdf. SVG and PDF are written without a
date, so that a rerun writes the same file.
"""

from __future__ import annotations

import io
import os

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
EXTRA = "pip install 'graphrun[plot]'"


class PlotError(Exception):
    """The plot cannot be drawn: no matplotlib, or a file name that names no format."""


def check(path: str) -> str:
    """The format of `path`, once matplotlib is known to be there; PlotError otherwise (before
    anything is trained)."""
    fmt = FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise PlotError(f"cannot tell the plot's format from {path!r}: name a .png, .svg or .pdf "
                        "file")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotError(f"plotting needs matplotlib, an optional extra of graphrun: {EXTRA}") \
            from None
    return fmt


def render(training, fmt: str) -> bytes:
    """The figure: the loss by step (a log scale when every loss is positive), and each reported
    node on an axis of its own on the right."""
    import matplotlib
    from matplotlib.figure import Figure

    history = training.history
    steps = [row.step for row in history]
    loss_name = training.program.names[training.program.loss]
    with matplotlib.rc_context({"svg.hashsalt": "graphrun", "svg.fonttype": "path"}):
        figure = Figure(figsize=(7, 4), dpi=100)
        ax = figure.subplots()
        ax.plot(steps, [row.loss for row in history], color="tab:blue", label=f"{loss_name} (loss)")
        if all(row.loss > 0 for row in history):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(f"{loss_name} (loss)")
        handles = ax.get_lines()
        if training.settings.report:
            right = ax.twinx()
            colours = ["tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
            for i, name in enumerate(training.settings.report):
                right.plot(steps, [row.reported[name] for row in history],
                           color=colours[i % len(colours)], label=name)
            right.set_ylabel(", ".join(training.settings.report))
            handles = handles + right.get_lines()
        ax.legend(handles=handles, labels=[h.get_label() for h in handles], loc="best")
        s = training.settings
        ax.set_title(f"{training.name}: {s.optimizer}, lr {s.lr:g}, {s.steps} steps")
        figure.tight_layout()
        buffer = io.BytesIO()
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
        figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def plot(training, path: str) -> None:
    """Draw TrainingResults to `path`, atomically."""
    from ..results.files import write_bytes
    write_bytes(path, render(training, check(path)))
