"""PNG plots of a run: learning curves from the CSV log, and a confusion matrix."""

from __future__ import annotations

import functools
import logging
import math
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # not pyplot: the user's backend (a notebook's inline one) stays as it is
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from textgru.atomic_files import written_atomically

log = logging.getLogger(__name__)
P, R = ParamSpec("P"), TypeVar("R")


def literal_text(plot: Callable[P, R]) -> Callable[P, R]:
    """Draw with every `$` a plain character: label and column names come from the user's data (a review: labels
    `$`, `$$`, `$$$` ended a run at its test step in matplotlib's math parser, no metrics.json written). Characters
    DejaVu Sans lacks (CJK) come from an installed font that has them (`FALLBACK_FONTS`); those none has are one
    warning, not matplotlib's for each glyph with its source line (a review)."""

    @functools.wraps(plot)
    def draw(*args: P.args, **kwargs: P.kwargs) -> R:
        rc: dict[str, Any] = {"text.parse_math": False}
        if list(matplotlib.rcParams["font.family"]) == ["sans-serif"]:  # a font of the user's own is kept (a review)
            rc["font.family"] = font_family()
        fonts = logging.getLogger("matplotlib.font_manager")  # "findfont: Failed to find font weight normal for ..."
        level = fonts.level
        fonts.setLevel(logging.ERROR)
        try:
            with matplotlib.rc_context(rc), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                drawn = plot(*args, **kwargs)
        finally:
            fonts.setLevel(level)
        glyphs = [w for w in caught if "missing from font" in str(w.message)]
        for w in caught:
            if w not in glyphs:  # the others as they would have been
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if glyphs:
            shown = sorted({chr(int(m.group(1))) for w in glyphs if (m := re.match(r"Glyph (\d+)", str(w.message)))})
            log.warning(
                "a plot's label or column names hold characters no installed font has (%s), drawn as boxes; install "
                "a font that has them (e.g. Noto Sans CJK: Debian's fonts-noto-cjk)",
                ", ".join(shown[:5]) or "?",
            )
        return drawn

    return draw


FALLBACK_FONTS = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK KR", "Source Han Sans", "WenQuanYi Zen Hei",
                  "Droid Sans Fallback", "Microsoft YaHei", "Yu Gothic", "Malgun Gothic", "PingFang SC", "Hiragino Sans",
                  "Arial Unicode MS", "Noto Sans")  # fmt: skip


@functools.cache
def font_family() -> list[str]:
    """DejaVu Sans (matplotlib's own), then each of `FALLBACK_FONTS` installed (another name: a "findfont" warning)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *(name for name in FALLBACK_FONTS if name in installed)]


@literal_text
def plot_learning_curves(
    metrics_csv: str | Path,
    out: str | Path,
    metrics: Sequence[str] = ("loss", "macro_f1", "accuracy"),
    x: str = "epoch",
) -> Path | None:
    """One panel per metric: train and validation against `x` (`epoch`, or `step` for step-based runs); against
    epochs, an epoch's last validation, the one train.log shows for it, at train.log's epoch numbers (from 0)."""
    metrics_csv = Path(metrics_csv)
    if not metrics_csv.is_file():
        return None
    df = pd.read_csv(metrics_csv)
    panels = [
        m for m in metrics if f"val/{m}" in df.columns or f"train/{m}_epoch" in df.columns or f"train/{m}" in df.columns
    ]
    if not panels or x not in df.columns:
        return None
    train_cols = [c for c in df.columns if c.startswith("train/")]
    # leave out the re-scoring of the best checkpoint logged after training (at the next epoch and step; a resumed
    # run's log was cut back to its checkpoint's step, so its own rows follow those kept)
    if train_cols:
        last = df.dropna(subset=train_cols, how="all")[x].max()
        df = df[df[x] <= last]
    fig = Figure(figsize=(4.5 * len(panels), 3.6))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, m in zip(axes[0], panels, strict=True):
        for split, col in (("train", f"train/{m}_epoch"), ("train", f"train/{m}"), ("validation", f"val/{m}")):
            if col in df.columns:
                # last: an epoch's closing validation (a review: first, with trainer.val_check_interval, drew the
                # untrained model's at step 4 for epoch 0, and each epoch one past train.log's numbering)
                series = df[[x, col]].dropna().groupby(x)[col].last()
                if len(series):
                    dense = x == "step" and split == "train"
                    style = {"marker": None if dense else "o", "alpha": 0.6 if dense else 1.0}
                    ax.plot(series.index, series.values, **style, label=split)
        # whole epochs (steps), not 0.2 of one; a single epoch's one tick (a review: -0.045..0.045, 2 wanted in view)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlabel(x)
        ax.set_title(m)
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles, strict=True))
        ax.legend(uniq.values(), uniq.keys())
    fig.tight_layout()
    with written_atomically(out) as tmp:  # an earlier plot stays whole if writing fails
        fig.savefig(tmp, dpi=110)
    return Path(out)


CELL_NUMBERS_MAX = 20  # labels up to which each cell shows its count and share
TICK_LABELS_MAX = 100  # labels up to which the axes name them
LABEL_CHARS = 24  # a longer label is cut on the axes (the report has it whole)


@literal_text
def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], out: str | Path, title: str = "confusion matrix"
) -> Path:
    """Counts with row-normalised colours (rows: true label, columns: predicted). The figure grows with the labels up
    to 20 inches (a 300-label matrix drawn at 0.9 inch a label took 24 GB); beyond CELL_NUMBERS_MAX labels the cells
    are colours only, beyond TICK_LABELS_MAX the axes give label indices."""
    m = np.asarray(matrix, dtype=float)
    n = len(labels)
    norm = m / np.clip(m.sum(1, keepdims=True), 1, None)
    size = min(20.0, max(3.5, 1.0 + 0.9 * n))
    fig = Figure(figsize=(size + 1, size))
    ax = fig.subplots()
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    if n <= TICK_LABELS_MAX:
        names = [" ".join(str(x).split()) for x in labels]  # a tab or newline has no glyph
        names = [x if len(x) <= LABEL_CHARS else x[: LABEL_CHARS - 1] + "…" for x in names]
        fontsize = 9 if n <= CELL_NUMBERS_MAX else max(4, 9 - n // 20)
        ax.set_xticks(range(n), names, rotation=45 if n <= CELL_NUMBERS_MAX else 90, ha="right", fontsize=fontsize)
        ax.set_yticks(range(n), names, fontsize=fontsize)
    else:
        title += f" ({n} labels, by index in the label list)"
    for i in range(n if n <= CELL_NUMBERS_MAX else 0):
        for j in range(n):
            ax.text(
                j,
                i,
                f"{int(m[i, j])}\n{norm[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if norm[i, j] > 0.5 else "black",
                fontsize=9,
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    with written_atomically(out) as tmp:
        fig.savefig(tmp, dpi=110)
    return Path(out)


def nan_padded(values: np.ndarray, length: int) -> np.ndarray:
    """(time, features) values as `length` rows: cut, or NaN after the last (roll-outs that stop short of a span)."""
    out = np.full((length, values.shape[1]), np.nan)
    out[: min(len(values), length)] = values[:length]
    return out


def rollouts_caption(horizon: int) -> str:
    """How a forecast plot's roll-outs were made: one `horizon`-step roll-out every `horizon` steps."""
    return "one step ahead" if horizon == 1 else f"{horizon}-step roll-outs, one every {horizon} steps"


@literal_text
def plot_forecast(
    truth: np.ndarray,
    forecasts: dict[str, np.ndarray],
    out: str | Path,
    columns: Sequence[str],
    title: str = "forecast on the test span",
    max_panels: int = 4,
    xlabel: str = "step of the test span",
) -> Path:
    """Truth (time, features) against each named forecast (time, features), NaN where it has no value; one
    panel per column (the first `max_panels`)."""
    n = min(len(columns), max_panels)
    fig = Figure(figsize=(11, 2.8 * n))
    axes = fig.subplots(n, 1, squeeze=False, sharex=True)
    steps = np.arange(len(truth))
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(steps, truth[:, i], color="black", lw=1.2, label="truth")
        for (name, values), style in zip(forecasts.items(), ("-", "--", ":"), strict=False):
            ax.plot(steps, values[:, i], ls=style, lw=1.1, alpha=0.9 if style == "-" else 0.7, label=name)
        ax.set_ylabel(str(columns[i]))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel(xlabel)
    fig.tight_layout()
    with written_atomically(out) as tmp:
        fig.savefig(tmp, dpi=110)
    return Path(out)


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value: float, _position: int | None = None) -> str:
    """A log axis's tick label as plain text: 10⁻⁹ for 1e-9; nothing between powers of ten."""
    if value <= 0 or not math.isfinite(value):
        return ""
    power = math.log10(value)
    return "10" + str(round(power)).translate(SUPERSCRIPTS) if abs(power - round(power)) < 1e-6 else ""


@literal_text
def plot_gradient_flow(
    curves: dict[str, tuple[Sequence[float], Sequence[float]]], out: str | Path, title: str = ""
) -> Path:
    """‖∂L/∂h_t‖ against t (log scale) for each cell, at initialisation (dashed) and after training (solid)."""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    for (name, (before, after)), color in zip(curves.items(), ("tab:blue", "tab:red", "tab:green"), strict=False):
        steps = range(1, len(before) + 1)
        ax.plot(steps, [float(v) for v in before], ls="--", color=color, label=f"{name.upper()} at initialisation")
        ax.plot(steps, [float(v) for v in after], color=color, label=f"{name.upper()} after training")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))  # matplotlib's own labels are math text, which
    ax.yaxis.set_minor_formatter(NullFormatter())  # literal_text shows as written (a review: $\mathdefault{10^{-2}}$)
    ax.set_xlabel("t (the loss is computed at t = T)")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with written_atomically(out) as tmp:
        fig.savefig(tmp, dpi=110)
    return Path(out)
