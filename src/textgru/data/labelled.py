"""Config → `datasets.DatasetDict`: one entry point for built-in corpora, Hub datasets and local files."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import datasets
from datasets import DatasetDict

from textgru.config_keys import require_keys
from textgru.data.columns import column_values
from textgru.data.label_key import label_keys
from textgru.data.labels import label_key, standardize
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
        columns = (cfg.get("text_column"), cfg.get("label_column"))
        raw = load_local(cfg["path"], cfg["validation_path"], cfg["test_path"], cfg["ignore_labels"], columns)
        raw = without_ignored(raw, cfg.get("label_column"), cfg["ignore_labels"])  # a file's rows (folders: done)
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


def without_ignored(dd: DatasetDict, column: Any, ignore: Sequence[str] | None) -> DatasetDict:
    """The rows of a data file whose label is one of `data.ignore_labels` left out, and counted (a review: for a
    file they were kept, and trained on as a class, without a word; label folders of those names are not read)."""
    ignored = {label_key(label).casefold() for label in ignore or []}  # as labels are compared (a review: "NA" left
    if not ignored or not isinstance(column, str):  # "na" in, a float 2.0 column kept "2", "Unsup" kept)
        return dd
    for split, ds in dd.items():
        if column in ds.column_names:
            keys = label_keys(column_values(ds, column))  # read whole (a review: `ds[column]` row by row, half of
            drop = [k.casefold() in ignored for k in keys]  # a 2M-row load)
            if any(drop):
                log.info(
                    "%s: left out %s rows labelled %s (data.ignore_labels)", split, f"{sum(drop):,}", sorted(ignored)
                )
                dd[split] = ds.select([i for i, d in enumerate(drop) if not d])
    return dd


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
