"""Plots a user opens: the confusion matrix stays a readable, bounded image however many labels a model has."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from textgru.plots import plot_confusion_matrix


@pytest.mark.parametrize("n", [3, 60, 400])
def test_confusion_matrix_image_is_bounded_for_many_labels(tmp_path: Path, n: int) -> None:
    """A review: the figure grew 0.9 inch a label with a number in every cell (100 labels: 10,120 px, 4.2 GB; a
    300-label run was killed at 24 GB after training). Now at most 20 inches (2,310 x 2,200 px at 110 dpi)."""
    rng = np.random.default_rng(0)
    labels = [f"label {i} " + "with a long descriptive name\tand a tab" * (i % 2) for i in range(n)]
    out = plot_confusion_matrix(rng.integers(0, 9, (n, n)).tolist(), labels, tmp_path / "cm.png")
    width, height = Image.open(out).size
    assert 300 < width <= 2310 and 300 < height <= 2200, (width, height)


def test_plotting_leaves_the_users_matplotlib_backend_alone(tmp_path: Path) -> None:
    """A review in Jupyter: importing textgru's plots switched matplotlib to Agg, so a notebook's inline figures
    stopped showing for the rest of the session, without a word."""
    import subprocess
    import sys

    code = (
        "import matplotlib; matplotlib.use('svg'); from textgru.plots import plot_confusion_matrix; "
        f"plot_confusion_matrix([[3, 1], [0, 4]], ['a', 'b'], {str(tmp_path / 'cm.png')!r}); "
        "print(matplotlib.get_backend())"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "svg" and Image.open(tmp_path / "cm.png").size[0] > 100
