"""Config → `datasets.DatasetDict`: one entry point for built-in corpora, Hub datasets and local files."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import datasets
from datasets import ClassLabel, Dataset, DatasetDict

from textgru.config_keys import require_keys
from textgru.data.columns import column_values
from textgru.data.ignored_labels import IgnoredLabels, ignored_labels
from textgru.data.label_key import label_key, label_keys
from textgru.data.labels import standardize
from textgru.data.splitting import CARVING
from textgru.errors import TextgruError

log = logging.getLogger(__name__)

SOURCES = ("tweets", "hub", "local")


def load_classification_data(cfg: Mapping[str, Any]) -> DatasetDict:
    """Splits `train`/`validation`/`test` with columns `text` and `label` (a ClassLabel) for a data config."""
    require_keys(cfg, ("source",))
    source = cfg["source"]
    if source not in SOURCES:
        hint = " (a text corpus for task=lm)" if source in ("shakespeare", "local_text") else ""
        raise TextgruError(
            f"data.source {source!r}{hint} is not labelled data for classification; use one of {list(SOURCES)}"
        )
    require_keys(cfg, CARVING)
    seed, val_fraction, test_fraction = int(cfg["split_seed"]), float(cfg["val_fraction"]), float(cfg["test_fraction"])
    if source == "tweets":
        from textgru.data.tweets import load_tweets

        return load_tweets(cfg["cache_dir"], seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    if source == "hub":
        from textgru.data.hub import load_hub

        require_keys(cfg, ("hub_name", "hub_config", "splits"))
        raw = load_hub(cfg["hub_name"], cfg["hub_config"], cfg["splits"])
        name: str | dict[str, str] = cfg["hub_name"]
    else:
        from textgru.data.local import load_local

        require_keys(cfg, ("path", "validation_path", "test_path", "ignore_labels"))
        columns, ignore = (cfg.get("text_column"), cfg.get("label_column")), ignored_labels(cfg["ignore_labels"])
        raw = load_local(cfg["path"], cfg["validation_path"], cfg["test_path"], ignore, columns)
        raw = without_ignored(raw, cfg.get("label_column"), ignore)  # a file's rows (folders: done)
        ignore.warn_unmatched(_joined(cfg["path"]))  # folders' and files' alike, before a refusal it may explain
        given = {"train": cfg["path"], "validation": cfg["validation_path"], "test": cfg["test_path"]}
        name = {split: _joined(path) for split, path in given.items() if path}
    require_keys(cfg, ("text_column", "label_column"))
    return standardize(
        raw,
        cfg["text_column"],
        cfg["label_column"],
        name=name,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        label_names=cfg.get("label_names"),
    )


def without_ignored(dd: DatasetDict, column: Any, ignore: Sequence[object] | IgnoredLabels | None) -> DatasetDict:
    """The rows of a data file whose label is one of `data.ignore_labels` left out, and counted (a review: for a
    file they were kept, and trained on as a class, without a word; label folders of those names are not read)."""
    ignored = ignored_labels(ignore)  # as labels are compared (a review: "NA" left "na" in, a float 2.0 column kept
    if not ignored or not isinstance(column, str):  # "2", "Unsup" kept; a later one: [2] kept a CSV's "2.0")
        return dd
    for split, ds in dd.items():
        if column in ds.column_names and isinstance(feature := ds.features[column], ClassLabel):
            dd[split] = _without_names(ds, column, feature, ignored, split)
        elif column in ds.column_names:
            keys = label_keys(column_values(ds, column))  # read whole (a review: `ds[column]` row by row, half of
            left_out = {k for k in set(keys) if ignored.matches(k)}  # a 2M-row load)
            drop = [k in left_out for k in keys]
            if any(drop):
                log.info(
                    "%s: left out %s rows labelled %s (data.ignore_labels)", split, f"{sum(drop):,}", sorted(left_out)
                )
                dd[split] = ds.select([i for i, d in enumerate(drop) if not d])
    return dd


def _without_names(ds: Dataset, column: str, feature: ClassLabel, ignored: IgnoredLabels, split: str) -> Dataset:
    """A ClassLabel column's (Parquet that `datasets` wrote) rows left out by their label names, not by the integers
    they are stored as (a review: [neutral] matched nothing, and [1] left out neutral), and those names with them (a
    class without rows is refused); an integer outside its names (-1, `datasets`' "no label") by a number entry as that
    number (`[-1]`), a null kept (a row without a label, dropped later; a review: both became -1, and were refused)."""
    values = column_values(ds, column)
    outside = {v for v in set(values) if v is not None and not 0 <= v < feature.num_classes}
    gone = {i for i, name in enumerate(feature.names) if ignored.matches(name)} | set(filter(ignored.matches, outside))
    if not gone:
        return ds
    keep = [i for i, v in enumerate(values) if v not in gone]
    if len(keep) < len(values):
        names = sorted(label_key(feature.names[i] if i not in outside else i) for i in gone)
        log.info("%s: left out %s rows labelled %s (data.ignore_labels)", split, f"{len(values) - len(keep):,}", names)
    index = {old: new for new, old in enumerate(i for i in range(feature.num_classes) if i not in gone)}
    features = ds.features.copy()
    features[column] = ClassLabel(names=[n for i, n in enumerate(feature.names) if i not in gone])
    return ds.select(keep).map(  # a null or an integer outside the names as it was (refused later, as before)
        lambda b: {column: [index.get(v, v) for v in b[column]]}, batched=True, features=features
    )


def _joined(path: str | Sequence[str]) -> str:
    """A data.path value as one string: a list of files joined by commas."""
    return path if isinstance(path, str) else ", ".join(map(str, path))


@contextmanager
def datasets_quiet() -> Iterator[None]:
    """No `datasets` progress bars while a split is prepared (we log what was done instead)."""
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()
