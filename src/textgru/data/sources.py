"""Config → `datasets.DatasetDict`: one entry point for built-in corpora, Hub datasets and local files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import datasets
from datasets import DatasetDict

from textgru.data.labels import standardize
from textgru.errors import TextgruError

SOURCES = ("tweets", "hub", "local")


def load_classification_data(cfg: Mapping[str, Any]) -> DatasetDict:
    """Splits `train`/`validation`/`test` with columns `text` and `label` (a ClassLabel) for a data config."""
    source = cfg.get("source")
    seed = int(cfg.get("split_seed", 42))
    val_fraction = float(cfg.get("val_fraction", 0.1))
    test_fraction = float(cfg.get("test_fraction", 0.1))
    if source == "tweets":
        from textgru.data.tweets import load_tweets

        return load_tweets(cfg["cache_dir"], seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    if source == "hub":
        from textgru.data.hub import load_hub

        raw = load_hub(cfg["hub_name"], cfg.get("hub_config"), cfg.get("splits"))
        name = cfg["hub_name"]
    elif source == "local":
        from textgru.data.local import load_local

        raw = load_local(cfg.get("path"), cfg.get("validation_path"), cfg.get("test_path"), cfg.get("ignore_labels"))
        name = str(cfg.get("path"))
    else:
        hint = " (a text corpus for task=lm)" if source in ("shakespeare", "local_text") else ""
        raise TextgruError(
            f"data.source {source!r}{hint} is not labelled data for classification; use one of {list(SOURCES)}"
        )
    return standardize(
        raw,
        cfg.get("text_column", "text"),
        cfg.get("label_column", "label"),
        name=name,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        label_names=cfg.get("label_names"),
    )


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
