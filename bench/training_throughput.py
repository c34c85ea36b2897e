"""Training throughput on the tweets, in one run: textgru's pipeline against a plain PyTorch loop over the same
model and batches, and three ways of batching variable-length texts (plain padded, packed, textgru's buckets).

Usage: python bench/training_throughput.py [--steps 150] [--out bench/results/training_throughput.json]
Prints a table and writes JSON. Real tokens/s counts only non-padding tokens.
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader

from textgru.data.batching import LengthBucketBatchSampler, pad_collate
from textgru.data.classification_datamodule import ClassificationDataModule
from textgru.models.gru_classifier import GRUClassifier
from textgru.tasks.sentiment import ClassificationTask

MODEL = dict(embedding_dim=128, hidden_size=256, num_layers=1, pooling="meanmax", dropout=0.3, embedding_dropout=0.1)


class NativeBiGRUClassifier(nn.Module):
    """Same shape of model on `nn.GRU(bidirectional=True)`, padded (inexact) or packed (exact) per batch."""

    def __init__(self, vocab_size: int, num_classes: int, packed: bool) -> None:
        super().__init__()
        self.packed = packed
        self.embedding = nn.Embedding(vocab_size, MODEL["embedding_dim"], padding_idx=0)
        self.rnn = nn.GRU(MODEL["embedding_dim"], MODEL["hidden_size"], batch_first=True, bidirectional=True)
        self.head = nn.Linear(4 * MODEL["hidden_size"], num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids)
        if self.packed:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            h, _ = nn.utils.rnn.pad_packed_sequence(self.rnn(packed)[0], batch_first=True)
        else:
            h, _ = self.rnn(x)
        mask = (torch.arange(h.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)
        mean = (h * mask).sum(1) / lengths[:, None]
        mx = h.masked_fill(~mask, -1e4).amax(1)
        return self.head(torch.cat([mean, mx], -1))


def plain_loop(model: nn.Module, batches: list[dict], warmup: int) -> tuple[float, int]:
    """A hand-written training loop: AdamW, clipping, the same batches; returns (seconds, real tokens)."""
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    tokens, start = 0, 0.0
    for i, b in enumerate(batches):
        if i == warmup:
            start, tokens = time.perf_counter(), 0
        loss = loss_fn(model(b["input_ids"], b["lengths"]), b["labels"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens += int(b["lengths"].sum())
    return time.perf_counter() - start, tokens


class _Timer(L.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.tokens, self.start, self.end = warmup, 0, 0.0, 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.start, self.tokens = time.perf_counter(), 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx >= self.warmup:
            self.tokens += int(batch["lengths"].sum())
            self.end = time.perf_counter()


def textgru_pipeline(dm: ClassificationDataModule, steps: int, warmup: int) -> tuple[float, int]:
    """DataModule + LightningModule + Trainer, as `scripts/train.py` runs them (no validation, no logging)."""
    L.seed_everything(0)
    model = GRUClassifier(dm.tokenizer.get_vocab_size(), len(dm.label_names), **MODEL)
    task = ClassificationTask(
        model, len(dm.label_names), optimizer=partial(torch.optim.AdamW, lr=2e-3, weight_decay=0.01)
    )
    timer = _Timer(warmup)
    trainer = L.Trainer(
        max_steps=steps + warmup,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        gradient_clip_val=1.0,
        callbacks=[timer],
        accelerator="cpu",
        use_distributed_sampler=False,
    )
    trainer.fit(task, train_dataloaders=dm.train_dataloader())
    return timer.end - timer.start, timer.tokens


def pad_fraction(batches: list[dict]) -> float:
    real = sum(int(b["lengths"].sum()) for b in batches)
    return 1 - real / sum(b["input_ids"].numel() for b in batches)


def synthetic_batches(n: int, vocab: int, bucketed: bool, seed: int = 0) -> list[dict]:
    """Texts of uniform random length 8-128 (the spread where packing hurts most), random ids and labels."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(8, 129, (n * 64,), generator=g).tolist()
    examples = [
        {"input_ids": torch.randint(2, vocab, (k,), generator=g).tolist(), "label": i % 3}
        for i, k in enumerate(lengths)
    ]
    if bucketed:
        order = [i for b in LengthBucketBatchSampler(lengths, 64, seed=seed) for i in b]
    else:
        order = list(range(len(examples)))
    return [pad_collate([examples[i] for i in order[j : j + 64]]) for j in range(0, len(order), 64)][:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="each method runs this many times, interleaved; best kept")
    ap.add_argument("--cache-dir", default="~/.cache/textgru")
    ap.add_argument("--tweets-only", action="store_true", help="skip the synthetic 8-128 length rows")
    ap.add_argument("--out", default="bench/results/training_throughput.json")
    args = ap.parse_args()
    dm = ClassificationDataModule(
        {"source": "tweets", "cache_dir": args.cache_dir},
        {
            "kind": "word",
            "vocab_size": 20000,
            "min_frequency": 2,
            "lowercase": True,
            "replace_urls": True,
            "replace_mentions": True,
        },
        batch_size=64,
        max_length=64,
        seed=0,
    )
    dm.setup("fit")
    n = args.steps + args.warmup
    vocab, classes = dm.tokenizer.get_vocab_size(), len(dm.label_names)
    bucketed = [b for _, b in zip(range(n), dm.train_dataloader(), strict=False)]
    shuffled = DataLoader(
        dm.examples["train"],
        batch_size=64,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        collate_fn=partial(pad_collate, pad_id=dm.pad_id),
    )
    plain = [b for _, b in zip(range(n), shuffled, strict=False)]
    syn_plain, syn_bucketed = synthetic_batches(n, vocab, False), synthetic_batches(n, vocab, True)

    def ours() -> nn.Module:
        return GRUClassifier(vocab, classes, **MODEL)

    methods = [  # (data, method, batches, exact, run)
        (
            "tweets",
            "textgru pipeline (DataModule+LightningModule+Trainer)",
            bucketed,
            True,
            lambda: textgru_pipeline(dm, args.steps, args.warmup),
        ),
        (
            "tweets",
            "plain PyTorch loop, same model and batches",
            bucketed,
            True,
            lambda: plain_loop(ours(), bucketed, args.warmup),
        ),
        (
            "tweets",
            "plain shuffled padded batches, nn.GRU",
            plain,
            False,
            lambda: plain_loop(NativeBiGRUClassifier(vocab, classes, packed=False), plain, args.warmup),
        ),
        (
            "tweets",
            "packing every batch, nn.GRU",
            plain,
            True,
            lambda: plain_loop(NativeBiGRUClassifier(vocab, classes, packed=True), plain, args.warmup),
        ),
        (
            "lengths 8-128",
            "plain shuffled padded batches, nn.GRU",
            syn_plain,
            False,
            lambda: plain_loop(NativeBiGRUClassifier(vocab, classes, packed=False), syn_plain, args.warmup),
        ),
        (
            "lengths 8-128",
            "packing every batch, nn.GRU",
            syn_plain,
            True,
            lambda: plain_loop(NativeBiGRUClassifier(vocab, classes, packed=True), syn_plain, args.warmup),
        ),
        (
            "lengths 8-128",
            "textgru batching: buckets + exact BiGRU",
            syn_bucketed,
            True,
            lambda: plain_loop(ours(), syn_bucketed, args.warmup),
        ),
    ]
    if args.tweets_only:
        methods = [m for m in methods if m[0] == "tweets"]
    best: dict[int, float] = {}
    runs: dict[int, list[float]] = {i: [] for i in range(len(methods))}
    for _ in range(args.rounds):  # interleaved, so that drifts in machine speed hit every method alike
        for i, (_, _, _, _, run) in enumerate(methods):
            torch.manual_seed(0)
            seconds, tokens = run()
            runs[i].append(tokens / seconds)
            best[i] = max(runs[i])
    rows = [
        {
            "data": d,
            "method": m,
            "real_tokens_per_s": best[i],
            "all_runs": runs[i],
            "padding_fraction": pad_fraction(b),
            "exact": exact,
        }
        for i, (d, m, b, exact, _) in enumerate(methods)
    ]
    pipeline_ratio = best[0] / best[1]
    tweets_vs_packing = best[1] / best[3]  # textgru batching on the tweets is the plain-loop row
    synthetic_vs_packing = best[6] / best[5] if len(methods) > 6 else float("nan")
    print(f"{'data':<14} {'method':<56} {'real tok/s':>10} {'padding':>8} {'exact':>6}")
    for r in rows:
        print(
            f"{r['data']:<14} {r['method']:<56} {r['real_tokens_per_s']:>10.0f} {r['padding_fraction']:>8.1%} {str(r['exact']):>6}"
        )
    print(
        f"\npipeline / plain loop (tweets): {pipeline_ratio:.2f}\n"
        f"textgru batching / packing: tweets {tweets_vs_packing:.2f}x, lengths 8-128 {synthetic_vs_packing:.2f}x\n"
        f"(best of {args.rounds} interleaved rounds, {args.steps} timed steps each, batch 64, "
        f"torch threads {torch.get_num_threads()})"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "rows": rows,
                "pipeline_over_plain_loop": pipeline_ratio,
                "bucketed_over_packing_tweets": tweets_vs_packing,
                "bucketed_over_packing_lengths_8_128": synthetic_vs_packing,
                "steps": args.steps,
                "rounds": args.rounds,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
