"""Length-bucketed batch sampler and padding collate."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textgru.data.batching import LengthBucketBatchSampler, pad_collate
from textgru.data.resumable_loader import ResumableDataLoader


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


def test_seeds_do_not_share_their_epochs_orders() -> None:
    """A review: each epoch was seeded `seed + epoch`, so seed 1's epoch 1 was seed 2's epoch 0 (and the forecaster's
    windows alike); each epoch's order now comes from the pair. The old rule stays for old checkpoints."""
    from textgru.data.batching import RankShares
    from textgru.data.epoch_order import LEGACY_ORDER_RULE

    def order(sampler, epoch: int, rule: int | None = None) -> list[list[int]]:
        sampler.set_epoch(epoch)
        if rule is not None:
            sampler.order_rule = rule
        return list(sampler)

    lengths = [i % 17 for i in range(2000)]
    bucket = lambda seed: LengthBucketBatchSampler(lengths, 32, seed=seed)
    windows = lambda seed: RankShares(2000, 32, shuffle=True, seed=seed)
    for make in (bucket, windows):
        assert order(make(1), 1) != order(make(2), 0)
        assert order(make(2**32 + 5), 0) != order(make(5), 1)  # a seed wider than 32 bits does not run into the epoch
        assert order(make(1), 1) == order(make(1), 1)
        assert order(make(1), 1, LEGACY_ORDER_RULE) == order(make(2), 0, LEGACY_ORDER_RULE)  # the old rule, kept


def test_a_checkpoint_without_an_order_rule_resumes_with_the_order_it_began_with() -> None:
    """A run begun before the order rule was stored (a checkpoint's `train_loader_position` without `order_rule`)
    goes on, mid-epoch and in later epochs, with the `seed + epoch` order it trained on; a new one with its own."""
    from textgru.data.batching import RankShares
    from textgru.data.epoch_order import LEGACY_ORDER_RULE, ORDER_RULE
    from textgru.errors import TextgruError

    lengths = _lengths(300)
    for make in (lambda: LengthBucketBatchSampler(lengths, 8, seed=3), lambda: RankShares(300, 8, True, seed=3)):
        order = partial(_order, make)
        loader = partial(_loader, make)
        resumed = loader()
        resumed.load_state_dict({"served": 5, "epoch": 2})  # as written before the rule was stored
        assert _served(resumed) == order(2, LEGACY_ORDER_RULE)[5:]
        assert resumed.state_dict()["order_rule"] == LEGACY_ORDER_RULE  # its next checkpoints keep the rule
        resumed.batch_sampler.set_epoch(3)
        assert _served(resumed) == order(3, LEGACY_ORDER_RULE)  # and so do its later epochs
        assert order(2, ORDER_RULE) != order(2, LEGACY_ORDER_RULE)

        new = loader()
        new.batch_sampler.set_epoch(2)
        assert _served(new) == order(2, ORDER_RULE) and new.state_dict()["order_rule"] == ORDER_RULE
        again = loader()
        again.load_state_dict({**new.state_dict(), "served": 5})
        assert _served(again) == order(2, ORDER_RULE)[5:]
        with pytest.raises(TextgruError, match="rule 9"):
            loader().load_state_dict({"served": 5, "epoch": 2, "order_rule": 9})


def _order(make: Callable, epoch: int, rule: int) -> list[list[int]]:
    sampler = make()
    sampler.set_epoch(epoch)
    sampler.order_rule = rule
    return list(sampler)


def _loader(make: Callable) -> ResumableDataLoader:
    return ResumableDataLoader(list(range(300)), batch_sampler=make())


def _served(loader: ResumableDataLoader) -> list[list[int]]:
    return [b.tolist() for b in loader]


class _Draws(torch.utils.data.Dataset):
    """A user's dataset that draws random numbers in the loader's workers."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.rand(1)


def test_the_workers_random_streams_follow_the_runs_seed() -> None:
    """A review: the training loader's workers were seeded from a generator seeded 0, so a dataset drawing random
    numbers in them drew the same under every seed; now from the run's seed (as each datamodule passes it). The
    global seed (`seed_everything`) never reaches them: the loader draws their base seed from its own generator."""
    from types import SimpleNamespace

    from lightning.fabric.utilities.seed import pl_worker_init_function

    from textgru.data.batching import bucketed_loader

    def draws(seed: int) -> list[float]:
        module = SimpleNamespace(batch_size=1, eval_batch_size=1, seed=seed, num_workers=2, pad_id=0)
        loader = bucketed_loader(module, _Draws(), [1, 1, 1, 1], "train", shuffle=True)
        loader.collate_fn, loader.worker_init_fn = torch.cat, pl_worker_init_function  # as Lightning's Trainer sets
        return sorted(float(x) for batch in loader for x in batch)

    assert draws(1) != draws(2)
    assert draws(1) == draws(1)


def _eval_loaders(tmp_path: Path) -> list[torch.utils.data.DataLoader]:
    """A validation loader of each kind: the text datamodules' (`bucketed_loader`), the language model's and the
    forecaster's."""
    from types import SimpleNamespace

    from conftest import data_cfg, tok_cfg

    from textgru.data.batching import bucketed_loader
    from textgru.data.forecast_datamodule import ForecastDataModule
    from textgru.data.lm_datamodule import LanguageModelDataModule

    text = SimpleNamespace(batch_size=2, eval_batch_size=2, seed=0, num_workers=0, pad_id=0)
    examples = [{"input_ids": [1] * n, "label": 0} for n in (3, 1, 2, 4)]
    sine = {**data_cfg("synthetic_sine", length=200), "window": 10, "horizon": 3}
    forecaster = ForecastDataModule({**sine, "val_fraction": 0.2, "test_fraction": 0.2})
    forecaster.setup()
    (tmp_path / "play.txt").write_text("the king and queen of rome did speak to thee\n" * 40, encoding="utf-8")
    char = tok_cfg("char", vocab_size=1000, min_frequency=1, unicode_form=None)
    lm = LanguageModelDataModule(data_cfg("local_text", path=str(tmp_path / "play.txt"), bptt=16), char)
    lm.setup("fit")
    loader = bucketed_loader(text, examples, [3, 1, 2, 4], "validation", shuffle=False)
    return [loader, lm.val_dataloader(), forecaster.val_dataloader(), forecaster.test_dataloader()]


def test_validation_draws_nothing_from_the_global_random_state(tmp_path: Path) -> None:
    """A review: each validation pass drew its iterator's base seed from the global random state, so how often a run
    validated (check_val_every_n_epoch, val_check_interval, the sanity check) changed the dropout of all later
    training, and the weights a seed trained. Every kind of evaluation loader now has a generator of its own."""

    def draws(loader: torch.utils.data.DataLoader) -> bool:
        before = torch.get_rng_state()
        assert sum(1 for _ in loader) > 0 and sum(1 for _ in loader) > 0  # two passes, as two validations
        return not torch.equal(torch.get_rng_state(), before)

    assert [draws(loader) for loader in _eval_loaders(tmp_path)] == [False] * 4
