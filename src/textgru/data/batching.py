"""Length-bucketed batches (padding stays small) and the collate that pads them and returns lengths."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from textgru.data.epoch_order import ORDER_RULE, epoch_generator
from textgru.data.resumable_loader import ResumableDataLoader
from textgru.errors import TextgruError


class LengthBucketBatchSampler(Sampler[list[int]]):
    """Shuffled batches of texts of similar length.

    Each epoch: shuffle all indices, cut them into pools of `batch_size * pool_batches`, sort each pool by
    length, cut the pools into batches, shuffle the batch order. Without `shuffle` the batches are the
    indices sorted by length (deterministic, for evaluation). The order depends only on `seed` and the
    epoch (`set_epoch`, called by the task at each epoch start; `epoch_generator` under `order_rule`), so runs
    with the same seed see the same batches and runs of other seeds other batches in every epoch.

    Under data-parallel training (`num_replicas` > 1) `batch_size` is the global batch: every rank builds the
    same global batches and keeps its own contiguous share of each, so that an optimizer step sees the same
    examples on any number of ranks, each example is seen once per epoch, and every rank gets the same
    number of batches. A training batch smaller than `num_replicas` repeats examples so no rank is left
    empty; evaluation batches are never padded (a rank may get fewer of them, and no example counts twice).
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        pool_batches: int = 50,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, {num_replicas})")
        if batch_size < num_replicas:
            raise ValueError(f"the global batch size {batch_size} is smaller than the number of ranks {num_replicas}")
        self.num_replicas, self.rank = num_replicas, rank
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool_batches = pool_batches
        self.drop_last = drop_last
        self.epoch = 0
        self.order_rule = ORDER_RULE  # a resume sets the rule its checkpoint's run began with

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        n = len(self.lengths)
        if not self.shuffle:
            order = torch.argsort(self.lengths, stable=True)
            batches = [order[i : i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        else:
            g = epoch_generator(self.seed, self.epoch, self.order_rule)
            perm = torch.randperm(n, generator=g)
            pool = self.batch_size * self.pool_batches
            batches = []
            for start in range(0, n, pool):
                chunk = perm[start : start + pool]
                chunk = chunk[torch.argsort(self.lengths[chunk], stable=True)]
                batches += [chunk[i : i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size)]
            batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        return batches

    def _share(self, batch: list[int]) -> list[int]:
        """This rank's contiguous part of a global batch (sizes differ by at most one)."""
        if self.num_replicas == 1:
            return batch
        if self.shuffle and len(batch) < self.num_replicas:
            batch = (batch * self.num_replicas)[: self.num_replicas]
        return batch[rank_share(len(batch), self.num_replicas, self.rank)]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._batches():
            share = self._share(batch)
            if share:
                yield share

    def __len__(self) -> int:
        n = len(self.lengths)
        if self.drop_last and self.shuffle:
            return len(self._batches())
        if self.num_replicas > 1 and not self.shuffle:
            return sum(1 for b in self._batches() if self._share(b))
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def rank_share(n: int, num_replicas: int, rank: int) -> slice:
    """The contiguous part of `n` items that `rank` of `num_replicas` takes (part sizes differ by at most one)."""
    size, extra = divmod(n, num_replicas)
    start = rank * size + min(rank, extra)
    return slice(start, start + size + (rank < extra))


class RankShares(Sampler[list[int]]):
    """Batches of `n` examples of equal size (a forecaster's windows): with `shuffle`, in an order that depends only
    on `seed` and the epoch (`set_epoch`, called by the task at each epoch start), else in order, cut into
    `batch_size` (the global batch), of which this rank takes its contiguous share, as `LengthBucketBatchSampler`
    shares its batches: an optimizer step sees the same examples on any number of ranks (a review: every rank read
    every window), and each evaluation example is scored once. A training batch smaller than `num_replicas` repeats
    examples so every rank gets as many batches (the ranks step together); an evaluation rank left without a batch's
    share skips it."""

    def __init__(
        self, n: int, batch_size: int, shuffle: bool, seed: int = 0, num_replicas: int = 1, rank: int = 0
    ) -> None:
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.num_replicas, self.rank, self.epoch = num_replicas, rank, 0
        self.order_rule = ORDER_RULE  # as `LengthBucketBatchSampler`'s

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        g = epoch_generator(self.seed, self.epoch, self.order_rule)
        order = torch.randperm(self.n, generator=g).tolist() if self.shuffle else range(self.n)
        batch: list[int] = []
        for i in (*order, None):
            if i is not None:
                batch.append(i)
            if batch and (len(batch) == self.batch_size or i is None):
                if self.shuffle and len(batch) < self.num_replicas:
                    batch = (batch * self.num_replicas)[: self.num_replicas]
                if share := batch[rank_share(len(batch), self.num_replicas, self.rank)]:
                    yield share
                batch = []

    def __len__(self) -> int:
        short = self.n % self.batch_size  # the last batch's size, where it is short
        return -(-self.n // self.batch_size) - (not self.shuffle and 0 < short <= self.rank)


def replicas_and_rank(datamodule: Any) -> tuple[int, int]:
    """(world size, global rank) of the Trainer a datamodule is attached to; (1, 0) outside training."""
    trainer = getattr(datamodule, "trainer", None)
    return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)


def pad_collate(examples: list[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """`input_ids` padded to the batch's longest text (batch, time), `lengths` (batch,), `labels` (batch,)."""
    seqs = [e["input_ids"] for e in examples]
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    longest = int(lengths.max())
    if all(type(s) is list and (not s or type(s[0]) is int) for s in seqs):  # lists of ids: one tensor, ~5x faster
        ids = torch.tensor([s + [pad_id] * (longest - len(s)) for s in seqs], dtype=torch.long)
    else:
        ids = torch.full((len(seqs), longest), pad_id, dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    batch = {"input_ids": ids, "lengths": lengths}
    if "label" in examples[0]:
        batch["labels"] = torch.tensor([int(e["label"]) for e in examples], dtype=torch.long)
    return batch


def evaluation_loader(data: Any, **kwargs: Any) -> DataLoader:
    """A validation or test loader, with a generator of its own for its iterators' base seeds (it never shuffles, so
    any seed): without one each pass drew it from the global random state, so how often a run validated shifted every
    later dropout mask (a review: check_val_every_n_epoch=2, or no sanity check, trained other weights)."""
    return DataLoader(data, generator=torch.Generator().manual_seed(0), **kwargs)


def bucketed_loader(
    datamodule: Any, examples: Dataset, lengths: Sequence[int], split: str, shuffle: bool
) -> DataLoader:
    """The loader of a text datamodule's split: length-bucketed batches of `datamodule.batch_size` (training) or
    `eval_batch_size`, shared among the data-parallel ranks, padded with `datamodule.pad_id`; training resumes
    mid-epoch where it stopped."""
    replicas, rank = replicas_and_rank(datamodule)
    batch_size = datamodule.batch_size if shuffle else datamodule.eval_batch_size
    if batch_size < replicas:
        raise TextgruError(
            f"data.{'batch_size' if shuffle else 'eval_batch_size'}={batch_size} is the global batch "
            f"and must be at least the number of processes ({replicas})"
        )
    if len(lengths) < replicas:  # a rank without batches would wait for the others forever
        raise TextgruError(
            f"the {split} split has {len(lengths)} examples, fewer than the {replicas} "
            "processes; use fewer devices or more data"
        )
    sampler = LengthBucketBatchSampler(
        lengths, batch_size, shuffle=shuffle, seed=datamodule.seed, num_replicas=replicas, rank=rank
    )
    resumable = {"seed": datamodule.seed} if shuffle else {}  # training resumes mid-epoch where it stopped
    return (ResumableDataLoader if shuffle else evaluation_loader)(
        examples,
        batch_sampler=sampler,
        num_workers=datamodule.num_workers,
        collate_fn=partial(pad_collate, pad_id=datamodule.pad_id),
        # not for validation and test, whose workers start afresh at every pass (a review: persistent ones, drawing
        # their base seed from the global random state once instead of at every validation, trained another model
        # with num_workers=2 than with 0 from the same seed; `evaluation_loader` now draws from a generator of its own)
        persistent_workers=shuffle and datamodule.num_workers > 0,
        **resumable,
    )
