"""Helpers the lesson modules share: parameter checks, colours, figure panels, work folders.

Nothing here is specific to one lesson; each lesson module imports what it needs.

>>> _whole(3, "versions")
3
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from mlcicd.errors import InputError
from mlcicd.evaluation import evaluate_model
from mlcicd.files import atomic_write_text
from mlcicd.training import TrainedModel

GOOD, BAD, GREY, BLUE = "#2a9d4b", "#c0392b", "#7f8c8d", "#1f77b4"
SOFTWARE, ML = GREY, BLUE  # lessons 1 and 6: the software pipeline and the ML pipeline
MARKER = ".mlcicd-lesson"  # the file that marks a work folder a lesson made (fresh_workdir)


def _check_share(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InputError(f"{name}={value!r}: expected a share in [0, 1]")
    return float(value)


def _whole(value: Any, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{name}={value!r}: expected a whole number >= {low}")
    return value


def _accuracy(trained: TrainedModel, holdout: pd.DataFrame, target: str) -> float:
    return evaluate_model(trained.model, holdout, target)["accuracy"]


def _two_panels(ax, wspace: float = 0.35):
    fig, grid = ax.figure, ax.get_subplotspec().subgridspec(1, 2, wspace=wspace)
    ax.remove()
    return fig.add_subplot(grid[0]), fig.add_subplot(grid[1])


def _label_bars(ax, bars, fmt: str) -> None:
    for bar in bars:
        height = bar.get_height()
        ax.annotate(fmt.format(height), (bar.get_x() + bar.get_width() / 2, height),
                    ha="center", va="bottom", fontsize="small")  # fmt: skip


def fresh_workdir(path: str | os.PathLike) -> Path:
    """An empty folder at ``path``: created, or emptied when a lesson made it before (marker).

    A non-empty folder without the marker is refused, so nothing else is ever deleted.
    """
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise InputError(f"workdir {root}: is a file, expected a folder")
    if root.is_dir() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise InputError(f"workdir {root}: not empty and not made by a lesson; give a new one")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / MARKER, "work folder of an mlcicd lesson (emptied on re-run)\n")
    return root
