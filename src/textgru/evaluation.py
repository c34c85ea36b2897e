"""Evaluate a classifier checkpoint on a data split: per-class table, metrics JSON, confusion-matrix PNG."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping

import torch
from datasets import concatenate_datasets
from torchmetrics.classification import (MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score,
                                         MulticlassPrecision, MulticlassRecall)

from textgru.data.sources import load_classification_data
from textgru.errors import TextgruError
from textgru.inference import LoadedClassifier
from textgru.plots import plot_confusion_matrix

log = logging.getLogger(__name__)


def evaluate(clf: LoadedClassifier, texts: list[str], labels: list[int], batch_size: int = 256) -> dict[str, Any]:
    """Accuracy, macro-F1, cross-entropy, per-class precision/recall/F1/support and the confusion matrix."""
    k = len(clf.label_names)
    probs = clf.predict_proba(texts, batch_size)
    target = torch.tensor(labels)
    preds = probs.argmax(-1)
    per_class = {name: {"precision": p, "recall": r, "f1": f, "support": int((target == i).sum())}
                 for i, (name, p, r, f) in enumerate(zip(
                     clf.label_names,
                     MulticlassPrecision(k, average=None)(preds, target).tolist(),
                     MulticlassRecall(k, average=None)(preds, target).tolist(),
                     MulticlassF1Score(k, average=None)(preds, target).tolist()))}
    return {
        "accuracy": float(MulticlassAccuracy(k, average="micro")(preds, target)),
        "macro_f1": float(MulticlassF1Score(k, average="macro")(preds, target)),
        "loss": float(torch.nn.functional.nll_loss(probs.clamp_min(1e-12).log(), target)),
        "per_class": per_class,
        "confusion_matrix": MulticlassConfusionMatrix(k)(preds, target).tolist(),
        "n": len(labels),
    }


def format_report(result: Mapping[str, Any]) -> str:
    """The per-class table a user reads on the terminal."""
    rows = [f"{'label':<16} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}"]
    for name, m in result["per_class"].items():
        rows.append(f"{name:<16} {m['precision']:>9.4f} {m['recall']:>9.4f} {m['f1']:>9.4f} {m['support']:>8d}")
    rows.append(f"{'macro avg':<16} {'':>9} {'':>9} {result['macro_f1']:>9.4f} {result['n']:>8d}")
    rows.append(f"{'accuracy':<16} {'':>9} {'':>9} {result['accuracy']:>9.4f} {result['n']:>8d}")
    return "\n".join(rows)


def evaluate_checkpoint(ckpt_path: str | os.PathLike, data: Mapping[str, Any] | None, split: str,
                        output_dir: str | os.PathLike, batch_size: int = 256) -> dict[str, Any]:
    """Score `split` of `data` (default: the data the model was trained on); write JSON and PNG to `output_dir`."""
    clf = LoadedClassifier.from_checkpoint(ckpt_path)
    data_cfg = dict(data) if data else dict(clf.meta["data_config"])
    if data:
        data_cfg.setdefault("label_names", None)
    dd = load_classification_data(data_cfg)
    if split == "all":  # e.g. a single file of your own: score every row, not a carved 10%
        ds = concatenate_datasets([dd[s] for s in dd])
    elif split in dd:
        ds = dd[split]
    else:
        raise TextgruError(f"unknown split {split!r}; use one of {list(dd) + ['all']}")
    log.info("scoring %d examples (%s split)", len(ds), split)
    names = list(ds.features["label"].names)
    unknown = [n for n in names if n not in clf.label_names]
    if unknown:
        raise TextgruError(f"labels {unknown} in the data are unknown to the model (it knows {clf.label_names})")
    remap = [clf.label_names.index(n) for n in names]
    labels = [remap[y] for y in ds["label"]]
    result = evaluate(clf, ds["text"], labels, batch_size)
    result.update(split=split, checkpoint=str(ckpt_path))
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{split}_metrics.json").write_text(json.dumps(result, indent=2))
    plot_confusion_matrix(result["confusion_matrix"], clf.label_names, out / f"{split}_confusion_matrix.png",
                          title=f"{split} confusion matrix")
    log.info("wrote %s and %s", out / f"{split}_metrics.json", out / f"{split}_confusion_matrix.png")
    return result
