"""Length-bucketed batches (padding stays small) and the collate that pads them and returns lengths."""

from __future__ import annotations

from typing import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class LengthBucketBatchSampler(Sampler[list[int]]):
    """Shuffled batches of texts of similar length.

    Each epoch: shuffle all indices, cut them into pools of `batch_size * pool_batches`, sort each pool by
    length, cut the pools into batches, shuffle the batch order. Without `shuffle` the batches are the
    indices sorted by length (deterministic, for evaluation). The order depends only on `seed` and the
    epoch (`set_epoch`, called by the task at each epoch start), so runs with the same seed see the same batches.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True, seed: int = 0,
                 pool_batches: int = 50, drop_last: bool = False) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool_batches = pool_batches
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        n = len(self.lengths)
        if not self.shuffle:
            order = torch.argsort(self.lengths, stable=True)
            batches = [order[i:i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        else:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            perm = torch.randperm(n, generator=g)
            pool = self.batch_size * self.pool_batches
            batches = []
            for start in range(0, n, pool):
                chunk = perm[start:start + pool]
                chunk = chunk[torch.argsort(self.lengths[chunk], stable=True)]
                batches += [chunk[i:i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size)]
            batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()

    def __len__(self) -> int:
        n = len(self.lengths)
        if self.drop_last and self.shuffle:
            return len(self._batches())
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def pad_collate(examples: list[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """`input_ids` padded to the batch's longest text (batch, time), `lengths` (batch,), `labels` (batch,)."""
    seqs = [torch.as_tensor(e["input_ids"], dtype=torch.long) for e in examples]
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    ids = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
    batch = {"input_ids": ids, "lengths": lengths}
    if "label" in examples[0]:
        batch["labels"] = torch.tensor([int(e["label"]) for e in examples], dtype=torch.long)
    return batch
