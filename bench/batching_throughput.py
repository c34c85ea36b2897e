"""Where textgru's training speed on variable-length texts comes from: the batches (random or length-bucketed) and
the way the bidirectional GRU deals with padding (padded and inexact, packed, or textgru's exact BiGRU), measured
separately, one thing changed per comparison.

Every row trains the same classifier (the default `model=bigru_classifier` shape: 128-d embeddings, BiGRU 256,
mean+max pooling over the real positions, embedding dropout 0.1, dropout 0.3, linear head) from the same initial
weights with the same step (label-smoothed cross-entropy, AdamW, clipping 1.0); only the recurrent layer differs:

- padded:  one `nn.GRU(bidirectional=True)` over the padded batch. Inexact: the backward direction starts in the
           padding, so a text's outputs depend on the longest text of its batch.
- packed:  the same `nn.GRU` on `pack_padded_sequence` input. Exact.
- textgru: `textgru.models.bigru.BiGRU`, two `nn.GRU`s with the backward one reading each text reversed within its
           own length. Exact (the script checks its logits against packed's).

and the batches of 64, over exactly the same texts: `random` (shuffled) or `bucketed` (textgru's
`LengthBucketBatchSampler`: shuffled pools sorted by length). Data: the built-in tweets (word tokenizer, at most 64
tokens) and synthetic texts of uniform random length 8-128 tokens. The batches are collated in advance (collation is
the same for every row). Each repeat trains a fresh model on `--warmup` untimed batches (the first ones of the list,
cycled when it is shorter), then times a step on every batch of the list; rows are interleaved within a repeat.

Usage: python bench/batching_throughput.py [--batches 40] [--synthetic-batches 20] [--repeats 5] [--threads N]
       [--data tweets synthetic]. Prints a table of real (unpadded) tokens/s and writes JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from functools import partial

import torch
from _common import (
    add_out_argument,
    description,
    fmt,
    machine_line,
    non_negative_int,
    parse_args,
    positive_int,
    run_main,
    set_threads,
    summary,
    write_result,
)
from torch import nn

from textgru.data.batching import LengthBucketBatchSampler, pad_collate
from textgru.models import model_class
from textgru.models.gru_classifier import GRUClassifier

MODEL = dict(embedding_dim=128, hidden_size=256, num_layers=1, pooling="meanmax", dropout=0.3, embedding_dropout=0.1)
BATCH = 64
LAYERS = ("padded", "packed", "textgru")
ORDERS = ("random", "bucketed")


class PaddedBiGRU(nn.Module):
    """`nn.GRU(bidirectional=True)` over the padded batch, ignoring `lengths` (what most tutorials do)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_size = 2 * hidden_size

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.gru(x)[0]  # (batch, time, 2*hidden)


class PackedBiGRU(PaddedBiGRU):
    """The same `nn.GRU` on a packed batch: exact, at the cost of packing and unpacking every batch."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = nn.utils.rnn.pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=x.shape[1])
        return out  # (batch, time, 2*hidden), zeros past each length


def build(layer: str, reference: GRUClassifier, vocab: int, classes: int) -> GRUClassifier:
    """A classifier with `reference`'s weights whose recurrent layer is `layer`."""
    model = model_class("GRUClassifier")(vocab, classes, **MODEL)  # built by name, as a checkpoint is
    model.load_state_dict(reference.state_dict())
    if layer != "textgru":
        rnn = (PaddedBiGRU if layer == "padded" else PackedBiGRU)(MODEL["embedding_dim"], MODEL["hidden_size"])
        fwd, bwd = reference.rnn.forward_layers[0], reference.rnn.backward_layers[0]
        with torch.no_grad():
            for name, p in fwd.named_parameters():
                getattr(rnn.gru, name).copy_(p)
                getattr(rnn.gru, f"{name}_reverse").copy_(getattr(bwd, name))
        model.rnn = rnn
    return model


def train_steps(model: nn.Module, batches: list[dict], warmup: int) -> float:
    """`warmup` untimed training steps (cycling through `batches` when there are fewer of them), then one timed step
    on every batch; returns the seconds of the timed steps, so the tokens of all of `batches` go with them. (A review:
    the warm-up steps were taken from the timed list, so with fewer than 2x`warmup` batches the clock started late,
    or never, and the seconds were `time.perf_counter()` itself.)"""
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    model.train()

    def step(b: dict) -> None:
        loss = loss_fn(model(b["input_ids"], b["lengths"]), b["labels"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    for i in range(warmup):
        step(batches[i % len(batches)])
    start = time.perf_counter()
    for b in batches:
        step(b)
    return time.perf_counter() - start


def batch_lists(examples: list[dict], seed: int) -> dict[str, list[dict]]:
    """The same texts cut into random batches and into length-bucketed ones."""
    g = torch.Generator().manual_seed(seed)
    shuffled = torch.randperm(len(examples), generator=g).tolist()
    lengths = [len(e["input_ids"]) for e in examples]
    bucketed = [i for b in LengthBucketBatchSampler(lengths, BATCH, seed=seed) for i in b]
    return {
        order: [pad_collate([examples[i] for i in idx[j : j + BATCH]]) for j in range(0, len(idx), BATCH)]
        for order, idx in (("random", shuffled), ("bucketed", bucketed))
    }


def tweets(n_batches: int, seed: int) -> tuple[list[dict], int, int]:
    """`n_batches * 64` random training tweets, tokenized as the default run does; (examples, vocab, classes)."""
    from omegaconf import OmegaConf

    from textgru.config import compose_config, data_config, tokenizer_config
    from textgru.data.classification_datamodule import ClassificationDataModule
    from textgru.data.labelled import datasets_quiet

    cfg = compose_config("train", ["task=sentiment"])
    changed = {k: cfg.model[k] for k, v in MODEL.items() if cfg.model[k] != v}
    if changed:
        print(f"note: the default model config now differs from the shape timed here: {changed}", file=sys.stderr)
    data, tokenizer = data_config("tweets"), tokenizer_config("word")  # complete configs, as the default run's
    if data != OmegaConf.to_container(cfg.data, resolve=True) or tokenizer != OmegaConf.to_container(cfg.tokenizer):
        print("note: the default run no longer trains on data=tweets with tokenizer=word", file=sys.stderr)
    with datasets_quiet():
        dm = ClassificationDataModule({**data, "batch_size": BATCH}, tokenizer, seed=cfg.seed)
        dm.setup("fit")
    train = dm.examples["train"]
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[: n_batches * BATCH].tolist()
    return [train[i] for i in pick], dm.tokenizer.get_vocab_size(), len(dm.label_names)


def synthetic(n_batches: int, vocab: int, seed: int) -> list[dict]:
    """Texts of uniform random length 8-128 tokens (the spread where padding costs most), random ids and labels."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(8, 129, (n_batches * BATCH,), generator=g).tolist()
    return [
        {"input_ids": torch.randint(2, vocab, (k,), generator=g).tolist(), "label": i % 3}
        for i, k in enumerate(lengths)
    ]


def padding(batches: list[dict]) -> float:
    real = sum(int(b["lengths"].sum()) for b in batches)
    return 1 - real / sum(b["input_ids"].numel() for b in batches)


@torch.no_grad()
def max_logit_difference(a: nn.Module, b: nn.Module, batches: list[dict]) -> float:
    """Largest |logit| difference of two models in eval mode over `batches`."""
    a.eval(), b.eval()
    return max(float((a(x["input_ids"], x["lengths"]) - b(x["input_ids"], x["lengths"])).abs().max()) for x in batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--batches", type=positive_int, default=40, help="timed batches of tweets per row and repeat")
    parser.add_argument("--synthetic-batches", type=positive_int, default=20, help="timed batches of 8-128-token texts")
    parser.add_argument("--warmup", type=non_negative_int, default=3)
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--data", nargs="+", default=["tweets", "synthetic"], choices=["tweets", "synthetic"])
    parser.add_argument("--threads", type=positive_int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    add_out_argument(parser, "batching_throughput.json")
    args = parse_args(parser)
    set_threads(args.threads)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    examples, vocab, classes = tweets(args.batches, args.seed)
    data = {}
    if "tweets" in args.data:
        data["tweets"] = batch_lists(examples, args.seed)
    if "synthetic" in args.data:
        data["lengths 8-128"] = batch_lists(synthetic(args.synthetic_batches, vocab, args.seed), args.seed)
    torch.manual_seed(args.seed)
    reference = model_class("GRUClassifier")(vocab, classes, **MODEL)
    models: dict[str, Callable[[], nn.Module]] = {
        layer: partial(build, layer, reference, vocab, classes) for layer in LAYERS
    }
    checks = {
        name: {
            "packed_vs_textgru": max_logit_difference(models["packed"](), models["textgru"](), b["random"][:4]),
            "padded_vs_textgru": max_logit_difference(models["padded"](), models["textgru"](), b["random"][:4]),
        }
        for name, b in data.items()
    }
    seconds: dict[tuple[str, str, str], list[float]] = {
        (d, o, layer): [] for d in data for o in ORDERS for layer in LAYERS
    }
    for r in range(args.repeats):
        for key in seconds:  # interleaved: every row once per repeat
            d, order, layer = key
            torch.manual_seed(args.seed + r)  # the same dropout draws for every row of a repeat
            seconds[key].append(train_steps(models[layer](), data[d][order], args.warmup))
        print(f"  repeat {r + 1}/{args.repeats} done", file=sys.stderr)

    rows = []
    for (d, order, layer), secs in seconds.items():
        batches = data[d][order]
        tokens = sum(int(b["lengths"].sum()) for b in batches)
        rows.append(
            {
                "data": d,
                "batches": order,
                "recurrent_layer": layer,
                "exact": layer != "padded",
                "padding_fraction": padding(batches),
                "timed_batches": len(batches),
                "real_tokens": tokens,
                "real_tokens_per_s": summary([tokens / s for s in secs]),
                "seconds": summary(secs),
            }
        )

    def speed(d: str, a: tuple[str, str], b: tuple[str, str]) -> dict:
        """How many times as fast row a is as row b: time of b / time of a, per repeat (same repeat, same load)."""
        return summary([tb / ta for ta, tb in zip(seconds[(d, *a)], seconds[(d, *b)], strict=True)])

    pairs = {  # name: (a, b), "a over b"
        "bucketed over random, padded nn.GRU": (("bucketed", "padded"), ("random", "padded")),
        "bucketed over random, packed nn.GRU": (("bucketed", "packed"), ("random", "packed")),
        "bucketed over random, textgru BiGRU": (("bucketed", "textgru"), ("random", "textgru")),
        "padded over packed, bucketed batches (cost of packing)": (("bucketed", "padded"), ("bucketed", "packed")),
        "padded over packed, random batches": (("random", "padded"), ("random", "packed")),
        "padded over textgru, bucketed batches (cost of exactness)": (("bucketed", "padded"), ("bucketed", "textgru")),
        "textgru over packed, bucketed batches (both exact)": (("bucketed", "textgru"), ("bucketed", "packed")),
        "textgru bucketed over packed random (the old README claim)": (("bucketed", "textgru"), ("random", "packed")),
    }
    comparisons = {d: {name: speed(d, a, b) for name, (a, b) in pairs.items()} for d in data}

    print(f"\ntraining steps of the default classifier shape, batch {BATCH}; {args.repeats} interleaved repeats")
    print(machine_line())
    print(
        f"{'data':<14} {'batches':<9} {'recurrent layer':<16} {'exact':<6} {'padding':>8}   real tokens/s: median (min-max)"
    )
    for r in rows:
        print(
            f"{r['data']:<14} {r['batches']:<9} {r['recurrent_layer']:<16} {str(r['exact']):<6} "
            f"{r['padding_fraction']:>8.1%}   {fmt(r['real_tokens_per_s'])}"
        )
    for d, comps in comparisons.items():
        print(
            f"\n{d}: speed ratios per repeat, 'a over b' = time of b / time of a (> 1: a is faster), median (min-max)"
        )
        for name, s in comps.items():
            print(f"  {name:<62} {fmt(s, '.2f')}")
    print("\nlargest logit difference in eval mode (first 4 random batches): ", end="")
    print(
        "; ".join(
            f"{d}: packed vs textgru {c['packed_vs_textgru']:.1e}, padded vs textgru {c['padded_vs_textgru']:.1e}"
            for d, c in checks.items()
        )
    )
    if any(c["packed_vs_textgru"] > 1e-4 for c in checks.values()):
        raise SystemExit("error: textgru's BiGRU does not match the packed nn.GRU: it is not exact")
    write_result(
        args.out,
        {
            "batch_size": BATCH,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "model": MODEL,
            "rows": rows,
            "comparisons": comparisons,
            "exactness_check": checks,
        },
    )


if __name__ == "__main__":
    run_main(main)
