"""Classifier evaluation: the metrics, the per-class table, metrics JSON and confusion-matrix PNG (the data to score:
`scored_data`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from textgru.atomic_files import written_together
from textgru.inference.reports import REPORT_FIX, report_json
from textgru.plots import plot_confusion_matrix
from textgru.terminal_text import escaped_controls

log = logging.getLogger(__name__)


def classification_metrics(probs: torch.Tensor, labels: Sequence[int], label_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, cross-entropy, per-class precision/recall/F1/support and the confusion matrix, from
    class probabilities (n, classes) and true label ids. A label with no example and no prediction has None for its
    scores (the table's `-`): macro-F1 leaves it out (a review: 0.0 in the JSON, its f1s averaged to another number)."""
    k = len(label_names)
    target = torch.tensor(list(labels), dtype=torch.long)
    preds = probs.argmax(-1)
    absent = [not (target == i).any() and not (preds == i).any() for i in range(k)]
    per_class = {
        name: {"precision": p, "recall": r, "f1": f, "support": int((target == i).sum())}
        | ({"precision": None, "recall": None, "f1": None} if absent[i] else {})
        for i, (name, p, r, f) in enumerate(
            zip(
                label_names,
                MulticlassPrecision(k, average=None)(preds, target).tolist(),
                MulticlassRecall(k, average=None)(preds, target).tolist(),
                MulticlassF1Score(k, average=None)(preds, target).tolist(),
                strict=True,
            )
        )
    }
    return {
        "accuracy": float(MulticlassAccuracy(k, average="micro")(preds, target)),
        "macro_f1": float(MulticlassF1Score(k, average="macro")(preds, target)),
        "loss": float(torch.nn.functional.nll_loss(probs.clamp_min(1e-12).log(), target)),
        "per_class": per_class,
        "confusion_matrix": MulticlassConfusionMatrix(k)(preds, target).tolist(),
        "n": len(target),
    }


TABLE_LABELS = 50  # labels in the terminal's table


def format_report(result: Mapping[str, Any]) -> str:
    """The per-class table a user reads on the terminal: beyond `TABLE_LABELS` labels, the most frequent ones (a
    review: 5,000 rows scrolled the totals away)."""
    rows = [f"{'label':<16} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}"]
    predicted = [sum(column) for column in zip(*result["confusion_matrix"], strict=True)]
    absent = []  # no example and no prediction: no score at all, and left out of the macro average (a review: 0.0000)
    scores = list(zip(result["per_class"].items(), predicted, strict=True))
    frequent = set(sorted(range(len(scores)), key=lambda i: -scores[i][0][1]["support"])[:TABLE_LABELS])  # stable
    for i, ((label, m), guessed) in enumerate(scores):
        name = escaped_controls(str(label))  # a checkpoint's label on a terminal (a review: an ANSI sequence ran)
        if m["support"] == 0 and guessed == 0:
            absent.append(name)
            row = f"{name:<16} {'-':>9} {'-':>9} {'-':>9} {0:>8d}"
        else:
            row = f"{name:<16} {m['precision']:>9.4f} {m['recall']:>9.4f} {m['f1']:>9.4f} {m['support']:>8d}"
        if i in frequent:
            rows.append(row)
    if len(scores) > len(frequent):
        more = len(scores) - len(frequent)
        rows.append(f"(and {more:,} less frequent labels: the report's per_class has every label's scores)")
    rows.append(f"{'macro avg':<16} {'':>9} {'':>9} {result['macro_f1']:>9.4f} {result['n']:>8d}")
    rows.append(f"{'accuracy':<16} {'':>9} {'':>9} {result['accuracy']:>9.4f} {result['n']:>8d}")
    if absent:
        shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        rows.append(f"(no example and no prediction, left out of the macro avg: {shown})")
    return "\n".join(rows)


def write_report(
    result: Mapping[str, Any], label_names: Sequence[str], output_dir: Path, split: str, overwrite: bool = False
) -> None:
    """`<split>_confusion_matrix.png`, then `<split>_metrics.json` (what marks a report there: last, whole) in
    `output_dir`: an evaluation stopped midway leaves no report that refuses the next one. Without `overwrite`, a
    report another command put there meanwhile is kept, and this one's plot is not left beside it."""
    made = not output_dir.exists()
    output_dir.mkdir(parents=True, exist_ok=True)
    plot, report = output_dir / f"{split}_confusion_matrix.png", output_dir / f"{split}_metrics.json"
    try:
        with written_together([plot, report], overwrite, REPORT_FIX) as (plot_tmp, report_tmp):
            plot_confusion_matrix(
                result["confusion_matrix"], list(label_names), plot_tmp, title=f"{split} confusion matrix"
            )
            report_tmp.write_text(report_json(result), encoding="utf-8")
    except BaseException:
        if made:  # the folder made for this report goes with it, if nothing else is in it (a review: eval/ left)
            with contextlib.suppress(OSError):
                output_dir.rmdir()
        raise
    log.info("wrote %s and %s", report, plot)
