"""Length-bucketed batch sampler and padding collate."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textgru.data.batching import LengthBucketBatchSampler, pad_collate


def _lengths(n: int = 1000, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(1, 128) for _ in range(n)]


def test_every_index_once_per_epoch_and_batches_full() -> None:
    lengths = _lengths()
    s = LengthBucketBatchSampler(lengths, batch_size=32, seed=1)
    batches = list(s)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert len(batches) == len(s)
    assert sum(len(b) < 32 for b in batches) <= -(-len(lengths) // (32 * 50))  # one short batch per pool at most


def test_same_seed_same_batches_new_epoch_new_order() -> None:
    lengths = _lengths()
    a, b = LengthBucketBatchSampler(lengths, 32, seed=3), LengthBucketBatchSampler(lengths, 32, seed=3)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first


def test_buckets_cut_padding() -> None:
    lengths = _lengths()

    def pad_fraction(batches: list[list[int]]) -> float:
        real = sum(lengths[i] for b in batches for i in b)
        padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
        return 1 - real / padded

    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(lengths), generator=g).tolist()
    plain = [perm[i : i + 32] for i in range(0, len(perm), 32)]
    bucketed = list(LengthBucketBatchSampler(lengths, 32, seed=0))
    assert pad_fraction(bucketed) < 0.05 < pad_fraction(plain)


def test_eval_order_is_sorted_and_deterministic() -> None:
    lengths = _lengths(100)
    s = LengthBucketBatchSampler(lengths, 10, shuffle=False)
    flat = [i for b in s for i in b]
    assert [lengths[i] for i in flat] == sorted(lengths)


def test_pad_collate() -> None:
    batch = pad_collate([{"input_ids": [5, 6, 7], "label": 1}, {"input_ids": [8], "label": 0}], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["lengths"].tolist() == [3, 1]
    assert batch["labels"].tolist() == [1, 0]


def test_training_reshuffles_buckets_every_epoch() -> None:
    """Through a real Trainer: the batches of epoch 2 are not those of epoch 1 (Lightning alone would not reset
    the batch sampler's epoch)."""
    from functools import partial

    import lightning as L
    from torch.utils.data import DataLoader

    from textgru.models.gru_classifier import GRUClassifier
    from textgru.tasks.sentiment import ClassificationTask

    lengths = _lengths(200)
    data = [{"input_ids": [2 + i % 40] * n, "label": i % 2, "idx": i} for i, n in enumerate(lengths)]
    seen: list[list[list[int]]] = []

    class Record(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            seen.append([])

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            seen[-1].append(batch["idx"].tolist())

    def collate(examples: list[dict]) -> dict:
        batch = pad_collate(examples)
        batch["idx"] = torch.tensor([e["idx"] for e in examples])
        return batch

    loader = DataLoader(data, batch_sampler=LengthBucketBatchSampler(lengths, 16, seed=0), collate_fn=collate)
    task = ClassificationTask(
        GRUClassifier(50, 2, embedding_dim=8, hidden_size=8), 2, optimizer=partial(torch.optim.SGD, lr=0.01)
    )
    L.Trainer(
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[Record()],
    ).fit(task, loader)
    assert len(seen) == 2 and seen[0] != seen[1]
    assert sorted(i for b in seen[1] for i in b) == list(range(200))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    batch_size=st.integers(1, 40),
    replicas=st.integers(1, 4),
    shuffle=st.booleans(),
    seed=st.integers(0, 5),
)
def test_ranks_split_each_global_batch(n: int, batch_size: int, replicas: int, shuffle: bool, seed: int) -> None:
    """Under data parallelism every rank takes its contiguous share of the same global batches: together they
    are exactly the one-process batches (training pads a batch smaller than the number of ranks), and in
    training every rank gets the same number of batches."""
    batch_size = max(batch_size, replicas)
    lengths = _lengths(n, seed)
    whole = list(LengthBucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed))
    ranks = [
        LengthBucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed, num_replicas=replicas, rank=r)
        for r in range(replicas)
    ]
    shares = [list(s) for s in ranks]
    assert [len(s) for s in shares] == [len(s) for s in ranks]
    if shuffle:
        assert len({len(s) for s in shares}) == 1 and len(shares[0]) == len(whole)
        for i, batch in enumerate(whole):
            joined = [j for s in shares for j in s[i]]
            assert joined == batch or (len(batch) < replicas and set(joined) == set(batch))
            assert max(len(s[i]) for s in shares) - min(len(s[i]) for s in shares) <= 1
    else:  # evaluation: every example exactly once across ranks, never padded
        assert sorted(j for s in shares for b in s for j in b) == list(range(n))
        assert all(b for s in shares for b in s)


def test_pad_collate_refuses_nested_ids_as_before() -> None:
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        pad_collate([{"input_ids": [[1, 2], [3, 4]]}])
    batch = pad_collate([{"input_ids": [5, 6, 7]}, {"input_ids": (8,)}, {"input_ids": []}], pad_id=1)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 1, 1], [1, 1, 1]] and batch["lengths"].tolist() == [3, 1, 0]
