"""`Classifier.predict` on 10,000 built-in tweets: batched (length-bucketed, as in training) against calling the
model one text at a time, in one run: both warmed up, then `--repeats` interleaved repeats of every mode (min / median /
max texts per second, speed-up per repeat). Prints a table and writes JSON.

Usage: python bench/predict_throughput.py [--ckpt RUN_FOLDER_OR_CKPT] [--texts 10000] [--batch-sizes 64 256 1024]
       [--repeats 5] [--device cpu|cuda]
Without --ckpt it times an untrained classifier of the default shape (conf/model/bigru_classifier.yaml: 128-d
embeddings, BiGRU 256, mean+max pooling) with a word tokenizer trained on the tweets' training split: speed does
not depend on the weights.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import (
    add_out_argument,
    description,
    device_argument,
    fmt,
    machine_line,
    parse_args,
    positive_int,
    run_main,
    set_up,
    summary,
    write_result,
)
from omegaconf import OmegaConf

from textgru import Classifier
from textgru.config import compose_config, data_config, tokenizer_config
from textgru.data.labelled import datasets_quiet, load_classification_data
from textgru.data.tokenization import pad_id, train_tokenizer
from textgru.models import model_class
from textgru.tasks.base import model_args


def default_classifier(train_texts: list[str], label_names: list[str], device: str = "cpu") -> Classifier:
    """An untrained classifier of the default config's shape (built by name) with a word tokenizer trained on
    `train_texts`."""
    cfg = compose_config("train", ["task=sentiment"])
    tok = train_tokenizer(train_texts, tokenizer_config("word"))
    builder_keys = ("pretrained_embeddings", "pretrained_lm")  # what the run's builder reads; the weights: no matter
    args = model_args(OmegaConf.to_container(cfg.model, resolve=True), *builder_keys)
    model = model_class("GRUClassifier")(
        vocab_size=tok.get_vocab_size(), num_classes=len(label_names), padding_idx=pad_id(tok), **args
    )
    return Classifier(
        model.to(device).eval(), tok, label_names, max_length=64, meta={"path": "untrained default shape"}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--ckpt", default=None)
    parser.add_argument("--texts", type=positive_int, default=10_000)
    parser.add_argument("--batch-sizes", type=positive_int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--threads", type=positive_int, default=None)
    parser.add_argument("--device", type=device_argument, default="cpu", help="cpu, cuda or cuda:N")
    add_out_argument(parser, "predict_throughput.json")
    args = parse_args(parser)
    if 1 in args.batch_sizes or len(set(args.batch_sizes)) < len(args.batch_sizes):
        parser.error(
            f"--batch-sizes {' '.join(map(str, args.batch_sizes))}: each must be above 1 (one text at a time is "
            "always measured) and given once"
        )
    set_up(args.threads, args.device)
    clf = Classifier.load(args.ckpt, device=args.device) if args.ckpt else None  # a wrong one refused before the data
    with datasets_quiet():
        tweets = load_classification_data(data_config("tweets"))
    pool = [t for split in ("train", "validation", "test") for t in tweets[split]["text"]]
    texts = pool[: args.texts]
    if clf is None:
        clf = default_classifier(list(tweets["train"]["text"]), tweets["train"].features["label"].names, args.device)
    clf.predict(texts[:512])  # warm-up of both ways
    for t in texts[:200]:
        clf.predict(t)

    modes = [("one text at a time", 1), *(("batched, length-bucketed", b) for b in args.batch_sizes)]
    seconds: dict[int, list[float]] = {b: [] for _, b in modes}
    one_by_one = []
    same: dict[int, float] = {}
    for r in range(args.repeats):  # interleaved
        start = time.perf_counter()
        one_by_one = [clf.predict(t) for t in texts]
        seconds[1].append(time.perf_counter() - start)
        for batch_size in args.batch_sizes:
            start = time.perf_counter()
            batched = clf.predict(texts, batch_size=batch_size)
            seconds[batch_size].append(time.perf_counter() - start)
            same[batch_size] = sum(a.label == b.label for a, b in zip(batched, one_by_one, strict=True)) / len(texts)
        print(f"  repeat {r + 1}/{args.repeats} done", file=sys.stderr)
    same[1] = 1.0
    rows = [
        {
            "mode": mode,
            "batch_size": b,
            "seconds": summary(seconds[b]),
            "texts_per_sec": summary([len(texts) / s for s in seconds[b]]),
            "speedup": summary([s1 / s for s1, s in zip(seconds[1], seconds[b], strict=True)]),
            "same_labels": same[b],
        }
        for mode, b in modes
    ]

    print(
        f"\nClassifier.predict on {len(texts)} tweets ({clf.meta.get('path')}, {clf.device}), {args.repeats} "
        "interleaved repeats"
    )
    print(f"{machine_line()}\ntexts/s and speed-up over one text at a time: median (min-max)")
    print(f"{'mode':<26} {'batch':>6} {'texts/s':>22} {'speed-up':>18} {'same labels':>12}")
    for r in rows:
        print(
            f"{r['mode']:<26} {r['batch_size']:>6} {fmt(r['texts_per_sec']):>22} {fmt(r['speedup'], '.1f'):>18} "
            f"{r['same_labels']:>12.4f}"
        )
    write_result(
        args.out,
        {
            "checkpoint": clf.meta.get("path"),
            "device": str(clf.device),
            "texts": len(texts),
            "repeats": args.repeats,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    run_main(main)
