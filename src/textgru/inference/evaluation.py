"""Classifier evaluation: the data to score, the metrics, the per-class table, metrics JSON and confusion-matrix PNG."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from datasets import ClassLabel, Dataset, DatasetDict, concatenate_datasets
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from textgru.data.columns import column_values
from textgru.data.labelled import datasets_quiet, load_classification_data
from textgru.data.labels import label_key
from textgru.errors import TextgruError
from textgru.inference.reports import write_json
from textgru.plots import plot_confusion_matrix

log = logging.getLogger(__name__)


def classification_metrics(probs: torch.Tensor, labels: Sequence[int], label_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, cross-entropy, per-class precision/recall/F1/support and the confusion matrix, from
    class probabilities (n, classes) and true label ids."""
    k = len(label_names)
    target = torch.tensor(list(labels), dtype=torch.long)
    preds = probs.argmax(-1)
    per_class = {
        name: {"precision": p, "recall": r, "f1": f, "support": int((target == i).sum())}
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


def format_report(result: Mapping[str, Any]) -> str:
    """The per-class table a user reads on the terminal."""
    rows = [f"{'label':<16} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}"]
    predicted = [sum(column) for column in zip(*result["confusion_matrix"], strict=True)]
    absent = []  # no example and no prediction: no score at all, and left out of the macro average (a review: 0.0000)
    for (name, m), guessed in zip(result["per_class"].items(), predicted, strict=True):
        if m["support"] == 0 and guessed == 0:
            absent.append(name)
            rows.append(f"{name:<16} {'-':>9} {'-':>9} {'-':>9} {0:>8d}")
        else:
            rows.append(f"{name:<16} {m['precision']:>9.4f} {m['recall']:>9.4f} {m['f1']:>9.4f} {m['support']:>8d}")
    rows.append(f"{'macro avg':<16} {'':>9} {'':>9} {result['macro_f1']:>9.4f} {result['n']:>8d}")
    rows.append(f"{'accuracy':<16} {'':>9} {'':>9} {result['accuracy']:>9.4f} {result['n']:>8d}")
    if absent:
        shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        rows.append(f"(no example and no prediction, left out of the macro avg: {shown})")
    return "\n".join(rows)


def labelled_texts(
    data: Any, split: str | None, trained_on: Mapping[str, Any], text_column: str = "text", label_column: str = "label"
) -> tuple[list[str], list[str], str]:
    """Texts and their label names from what the data sources accept: None (`trained_on`, the checkpoint's data
    config), a data config name, a path read as `data=local`, a data config mapping, a `datasets.Dataset`
    (`DatasetDict`: one split of it) or a pandas DataFrame. `split` "all" joins every split; its default is "test"
    for configs and "all" for a path, a Dataset or a DataFrame. Returns the texts, the labels and the split's name."""
    with datasets_quiet():
        if isinstance(data, pd.DataFrame):
            data = _from_pandas(data, text_column, label_column)
        given_dict = isinstance(data, DatasetDict)
        if given_dict:
            split = _check_split(split or "test", list(data))
            data = data[split]
        if isinstance(data, Dataset):  # scored as given, every row with a text and a label
            if split not in (None, "all") and not given_dict:
                raise TextgruError(
                    f"split={split!r}: a DataFrame or Dataset is scored whole (split='all'); pass only the rows "
                    "to score, or a DatasetDict to pick a split from"
                )
            return _given_rows(data, text_column, label_column) + (split or "all",)
        ignore = None
        if _whole_local_files(data, split):  # `textgru eval data=local data.path=... split=all`: as a path is read
            ignore = data.get("ignore_labels")
            text_column, label_column = data.get("text_column", text_column), data.get("label_column", label_column)
            data = data["path"]
        if isinstance(data, (str, os.PathLike)) and (split or "all") == "all" and Path(data).expanduser().exists():
            from textgru.data.local import load_local

            # your own file, every row: nothing is carved into splits (a 4-row file, a label seen once, is fine)
            files = load_local(str(Path(data).expanduser()), ignore_labels=ignore)
            rows = concatenate_datasets([files[s] for s in files])
            return _given_rows(rows, text_column, label_column) + ("all",)
        ds, split = _labelled_split(data, split, trained_on, text_column, label_column)
        names = ds.features["label"].names
        return column_values(ds, "text"), [names[y] for y in column_values(ds, "label")], split


def _from_pandas(frame: pd.DataFrame, text_column: str, label_column: str) -> Dataset:
    """A DataFrame as a Dataset; a text or label column mixing strings with numbers (which Arrow refuses) is one
    line naming it."""
    import pyarrow as pa

    frame = frame.loc[:, ~frame.columns.duplicated()]  # of two columns of one name the first, as a CSV is read
    try:
        return Dataset.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        bad = next((c for c in (text_column, label_column, *frame.columns) if f"column {c} " in str(e)), None)
        where = f"column {bad!r}" if bad is not None else "a column"
        raise TextgruError(
            f"the DataFrame's {where} mixes strings with other values (Arrow cannot read it: {e.args[0]}); make "
            f"it strings, e.g. df[{bad if bad is not None else 'column'!r}].astype(str)"
        ) from None


def _whole_local_files(data: Any, split: str | None) -> bool:
    """A `data=local` config (or a dict without a source, read as one) with one path and no validation or test files,
    scored whole (`split=all`; a review: a hand-written dict was carved into splits, and a 4-row file refused)."""
    return (
        isinstance(data, Mapping)
        and data.get("source", "local") == "local"
        and split == "all"
        and isinstance(data.get("path"), str)
        and Path(data["path"]).expanduser().exists()  # a glob or a list goes the usual way: split, then joined
        and not data.get("validation_path")
        and not data.get("test_path")
    )


def _given_rows(ds: Dataset, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    missing = [c for c in (text_column, label_column) if c not in ds.column_names]
    if missing:
        raise TextgruError(
            f"column {missing[0]!r} not in the dataset; columns are {ds.column_names}; "
            "pass text_column= / label_column= (data.text_column= / data.label_column= to textgru eval)"
        )
    feature = ds.features[label_column]
    texts, labels = [], []
    for text, label in zip(column_values(ds, text_column), column_values(ds, label_column), strict=True):
        if isinstance(text, str) and text.strip() and label is not None and str(label).strip():
            texts.append(text)
            labels.append(feature.int2str(label) if isinstance(feature, ClassLabel) else label_key(label))
    if len(texts) < len(ds):
        log.warning("the given rows: skipped %d without a text or a label (n counts the rest)", len(ds) - len(texts))
    if not texts:
        raise TextgruError("the given dataset has no rows with both a text and a label")
    return texts, labels


def _labelled_split(
    data: Any, split: str | None, trained_on: Mapping[str, Any], text_column: str, label_column: str
) -> tuple[Dataset, str]:
    if data is None:  # the checkpoint's data config is data: its sources are read, its cache folder is not used
        from textgru.config import local_cache_dir

        cfg = {**trained_on, "cache_dir": local_cache_dir()} if "cache_dir" in trained_on else dict(trained_on)
    elif isinstance(data, Mapping):  # a hand-written config: the YAML of its source fills what it leaves out
        from textgru.config import data_config

        base = {"tweets": "tweets", "hub": "imdb"}.get(str(data.get("source")), "local")
        cfg = {**data_config(base), "label_names": None, **data}
    elif isinstance(data, (str, os.PathLike)) and Path(data).expanduser().exists():
        from textgru.config import data_config

        cfg = {
            **data_config("local"),
            "source": "local",
            "path": str(Path(data).expanduser()),
            "text_column": text_column,
            "label_column": label_column,
            "label_names": None,
        }
        split = split or "all"
    elif isinstance(data, str) and "/" not in data and "." not in data:
        from textgru.config import data_config

        cfg = {**data_config(data), "label_names": None}
    else:
        shown = repr(data) if isinstance(data, (str, os.PathLike)) else f"a {type(data).__name__}"  # not 100k texts
        raise TextgruError(
            f"data={shown[:200]} is neither an existing file or folder nor a data config name (conf/data/); pass a "
            "path, a name such as 'tweets', a dict, a datasets.Dataset or a pandas DataFrame with text and label columns"
        )
    try:
        dd = load_classification_data(cfg)
    except (ValueError, TypeError) as e:  # an edited checkpoint's data config, e.g. split_seed "abc" (a review)
        first = (str(e).splitlines() or [type(e).__name__])[0][:120]
        whose = "the model's data config (an edited checkpoint?)" if data is None else "the data config"
        raise TextgruError(f"{whose} cannot be read ({first}); pass data= a file or a data config name") from None
    except TextgruError as e:  # a review: a 4-row file given as {"path": ...} was refused for its "training rows"
        carving = ("too few to split", "no training examples after splitting")  # not a column or path error
        if split == "all" or cfg.get("source") != "local" or not any(c in str(e) for c in carving):
            raise
        hint = f"to score every row of the file, not a carved {split or 'test'} split: set split to 'all'"
        raise TextgruError(f"{e} ({hint})") from None
    split = split or "test"
    if split == "all":  # e.g. a single file of your own: score every row, not a carved 10%
        ds = concatenate_datasets([dd[s] for s in dd])
    else:
        ds = dd[_check_split(split, list(dd))]
    carved = split != "all" and cfg.get("source") == "local" and not cfg.get("test_path")
    note = f", carved from {cfg['path']} as training carves it; split=all scores every row" if carved else ""
    log.info("scoring %d examples (%s split%s)", len(ds), split, note)  # a review took the 10% for the whole file
    return ds, split


def _check_split(split: str, splits: list[str]) -> str:
    if split not in splits:
        raise TextgruError(f"unknown split {split!r}; use one of {splits + ['all']}")
    return split


def write_report(result: Mapping[str, Any], label_names: Sequence[str], output_dir: Path, split: str) -> None:
    """`<split>_confusion_matrix.png`, then `<split>_metrics.json` (what marks a report there: last, whole) in
    `output_dir`: an evaluation stopped midway leaves no report that refuses the next one."""
    made = not output_dir.exists()
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        plot_confusion_matrix(
            result["confusion_matrix"],
            list(label_names),
            output_dir / f"{split}_confusion_matrix.png",
            title=f"{split} confusion matrix",
        )
        write_json(result, output_dir / f"{split}_metrics.json")
    except BaseException:
        if made:  # the folder made for this report goes with it, if nothing else is in it (a review: eval/ left)
            with contextlib.suppress(OSError):
                output_dir.rmdir()
        raise
    log.info("wrote %s and %s", output_dir / f"{split}_metrics.json", output_dir / f"{split}_confusion_matrix.png")
