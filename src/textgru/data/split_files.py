"""Warnings about the split settings of a training run's own validation and test files (`data=local`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from textgru.data.data_paths import expand_paths
from textgru.errors import TextgruError

log = logging.getLogger(__name__)

FRACTIONS = {"validation_path": "val_fraction", "test_path": "test_fraction"}  # what a given file makes unused


def warn_of_split_files(cfg: Mapping[str, Any]) -> None:
    """One warning where data.validation_path and data.test_path name a file in common (the best checkpoint is chosen
    on the test texts), and one for each of data.val_fraction and test_fraction set to other than conf/data/local.yaml's
    default while its split is given as a file, which it then does not carve (a review: both went without a word)."""
    if cfg.get("source") != "local":
        return
    files = {key: _files(cfg.get(key)) for key in FRACTIONS}
    if common := sorted(files["validation_path"] & files["test_path"]):
        log.warning(
            "data.validation_path and data.test_path both name %s: the best checkpoint is chosen on the test texts, so "
            "the test scores are optimistic; give a validation file of its own, or leave data.validation_path out to "
            "carve one from data.path",
            common[0] + (f" and {len(common) - 1} more" if len(common) > 1 else ""),
        )
    for key, fraction in FRACTIONS.items():
        if cfg.get(key) and fraction in cfg and cfg[fraction] != _defaults().get(fraction):
            log.warning(
                "data.%s=%s is not used: data.%s gives the %s split (nothing is carved for it)",
                fraction,
                cfg[fraction],
                key,
                key.removesuffix("_path"),
            )


def _files(path: Any) -> set[str]:
    """The real paths of the files `path` names; none where it names nothing (the reader says so)."""
    if not path:
        return set()
    try:
        return {os.path.realpath(f) for f in expand_paths(path, "data file")}
    except (TextgruError, TypeError):
        return set()


@cache
def _defaults() -> dict[str, Any]:
    from omegaconf import OmegaConf

    loaded = OmegaConf.to_container(OmegaConf.load(Path(__file__).parents[1] / "conf" / "data" / "local.yaml"))
    return loaded if isinstance(loaded, dict) else {}
