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
