"""Few-label runs: a stratified, seeded sample of the labelled training examples (`data.train_size` or
`data.train_fraction`), for learning curves against the number of labels."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from datasets import Dataset

from textgru.data.columns import column_values
from textgru.errors import TextgruError

log = logging.getLogger(__name__)


def stratified_indices(labels: Sequence[int], size: int, seed: int) -> list[int]:
    """`size` indices of `labels` drawn without replacement, each label's share as in the whole (largest
    remainders get the rounding; every label present keeps at least one example when `size` allows), in the
    original order. The same labels, size and seed give the same indices."""
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts / counts.sum() * size
    take = np.floor(exact).astype(int)
    if size >= len(classes):
        take = np.maximum(take, 1)
    while take.sum() > size:  # the minimum of one pushed it over: take back from the most over, never below one
        take[np.argmax(np.where(take > 1, take - exact, -np.inf))] -= 1
    for i in np.argsort(-(exact - take), kind="stable")[: size - take.sum()]:
        take[i] += 1
    take = np.minimum(take, counts)
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c, k in zip(classes, take, strict=False)
    ]
    return sorted(int(i) for part in picked for i in part)


def limit_training_examples(train: Dataset, train_size: int | None, train_fraction: float | None, seed: int) -> Dataset:
    """The training split cut to `train_size` examples or `train_fraction` of them (stratified by label, with
    `seed`); unchanged when both are null. One line for a size out of range or both given."""
    if train_size is None and train_fraction is None:
        return train
    if train_size is not None and train_fraction is not None:
        raise TextgruError("give data.train_size or data.train_fraction, not both")
    n = len(train)
    if train_fraction is not None:
        if not 0 < float(train_fraction) <= 1:
            raise TextgruError(f"data.train_fraction={train_fraction} must be in (0, 1]")
        size = max(1, round(n * float(train_fraction)))
    else:
        size = int(train_size)
        if size < 1:
            raise TextgruError(f"data.train_size={train_size} must be at least 1")
    if size > n:
        raise TextgruError(f"data.train_size={size} but the training split has only {n} examples; use at most {n}")
    if size == n:
        return train
    labels = column_values(train, "label")
    chosen = stratified_indices(labels, size, seed)
    kept, classes = len({labels[i] for i in chosen}), len(set(labels))
    picked = train.select(chosen)
    asked = f"data.train_size={size}" if train_size is not None else f"data.train_fraction={train_fraction} ({size})"
    if kept < 2:  # as the full data's one-label check says
        raise TextgruError(
            f"{asked} keeps examples of one label only; a classifier needs two or more: give at least {classes} "
            "examples (one per label)"
        )
    if kept < classes:
        log.warning(
            "few-label run: %d of the %d labels have no training example at size %d", classes - kept, classes, size
        )
    log.info("few-label run: %s of %s labelled training examples (stratified, seed %d)", f"{size:,}", f"{n:,}", seed)
    return picked
