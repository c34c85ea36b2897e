"""A training DataLoader that knows how far into the epoch it got: its `state_dict` goes into every checkpoint
(`textgru.checkpointing.ExactResume`), so a run resumed mid-epoch trains on exactly the batches the epoch had left."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from textgru.data.epoch_order import LEGACY_ORDER_RULE, ORDER_RULE
from textgru.errors import TextgruError


class ResumableDataLoader(DataLoader):
    """A `DataLoader` with `state_dict()`/`load_state_dict()` (also Lightning's resumable-loader interface).

    The state is the epoch of the batch sampler (its shuffle seed), the rule that seeds its epochs' orders
    (`order_rule`, where it has one; a state without it was written under `LEGACY_ORDER_RULE`, which the run keeps
    to its end) and the number of batches already served in that epoch; after `load_state_dict` the next
    iteration skips those batches. Batch order must depend only on the sampler's epoch (true of
    `LengthBucketBatchSampler`, `RankShares` and of the language model's fixed windows)."""

    def __init__(self, *args: Any, seed: int = 0, **kwargs: Any) -> None:
        """`seed`: the run's, which seeds the workers' random streams (through the iterator's base seed)."""
        # its own generator for the iterator's base seed: creating an epoch's iterator must not draw from the
        # global random state, or a run resumed at an epoch's start would be one draw out of step; seeded from the
        # run's seed (it was 0: workers drew the same numbers under every seed, a review)
        kwargs.setdefault("generator", torch.Generator().manual_seed(seed))
        super().__init__(*args, **kwargs)
        self.seed = seed  # where Lightning builds the loader again from its attributes
        self.served = 0  # batches handed out in the current epoch
        self._resume_at = 0
        self.epoch_length: int | None = None  # batches an epoch trains on, where fewer than len(self) (Lightning's
        # `limit_train_batches`): a checkpoint taken after that many ends its epoch

    def __iter__(self) -> Iterator[Any]:
        start, self._resume_at = self._resume_at, 0
        iterator = super().__iter__()
        for _ in range(start):  # the batches this epoch had trained on before the checkpoint
            next(iterator)
        self.served = start
        for batch in iterator:
            self.served += 1
            yield batch

    def state_dict(self) -> dict[str, Any]:
        state = {"served": self.served, "epoch": getattr(self.batch_sampler, "epoch", None)}
        if hasattr(self.batch_sampler, "order_rule"):
            state["order_rule"] = self.batch_sampler.order_rule
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("epoch") is not None and hasattr(self.batch_sampler, "set_epoch"):
            self.batch_sampler.set_epoch(int(state["epoch"]))
        if hasattr(self.batch_sampler, "order_rule"):
            rule = state.get("order_rule", LEGACY_ORDER_RULE)  # absent: saved before the rule was stored
            if rule not in (LEGACY_ORDER_RULE, ORDER_RULE):
                raise TextgruError(
                    f"resume: the checkpoint orders its batches by rule {rule}, which this textgru does not know; "
                    "resume it with the textgru version that wrote it"
                )
            self.batch_sampler.order_rule = int(rule)
        served = int(state.get("served", 0))
        length = min(len(self), self.epoch_length or len(self))
        self._resume_at = served if served < length else 0  # a finished epoch resumes at the next one's start
