"""`Classifier.predict` on 10,000 built-in tweets: batched (length-bucketed, as in training) against calling the
model one text at a time, in one run. Prints a table and writes JSON.

Usage: python bench/predict_throughput.py [--ckpt RUN_FOLDER_OR_CKPT] [--texts 10000] [--batch-sizes 64 256 1024]
Without --ckpt it times an untrained classifier of the default shape (conf/model/bigru_classifier.yaml: 128-d
embeddings, BiGRU 256, mean+max pooling) with a word tokenizer trained on the tweets' training split: speed does
not depend on the weights.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from textgru import Classifier
from textgru.config import CONF_DIR
from textgru.data.labelled import datasets_quiet, load_classification_data
from textgru.data.tokenization import pad_id, train_tokenizer


def default_classifier(train_texts: list[str], label_names: list[str]) -> Classifier:
    from hydra.utils import instantiate

    tok_cfg = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "tokenizer" / "word.yaml"), resolve=True)
    tok = train_tokenizer(train_texts, tok_cfg)
    model_cfg = OmegaConf.load(CONF_DIR / "model" / "bigru_classifier.yaml")
    del model_cfg["pretrained_embeddings"]  # speed does not depend on the initial weights
    model = instantiate(
        model_cfg, vocab_size=tok.get_vocab_size(), num_classes=len(label_names), padding_idx=pad_id(tok)
    )
    return Classifier(model.eval(), tok, label_names, max_length=64, meta={"path": "untrained default shape"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckpt", default=None)
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default="bench/results/predict_throughput.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with datasets_quiet():
        tweets = load_classification_data({"source": "tweets", "cache_dir": str(Path("~/.cache/textgru").expanduser())})
    pool = [t for split in ("train", "validation", "test") for t in tweets[split]["text"]]
    texts = pool[: args.texts]
    clf = (
        Classifier.load(args.ckpt)
        if args.ckpt
        else default_classifier(list(tweets["train"]["text"]), tweets["train"].features["label"].names)
    )
    clf.predict(texts[:512])  # warm-up

    rows = []
    start = time.perf_counter()
    one_by_one = [clf.predict(t) for t in texts]
    single_seconds = time.perf_counter() - start
    rows.append(
        {
            "mode": "one text at a time",
            "batch_size": 1,
            "seconds": single_seconds,
            "texts_per_sec": len(texts) / single_seconds,
            "speedup": 1.0,
            "same_labels": 1.0,
        }
    )
    for batch_size in args.batch_sizes:
        start = time.perf_counter()
        batched = clf.predict(texts, batch_size=batch_size)
        seconds = time.perf_counter() - start
        same = sum(a.label == b.label for a, b in zip(batched, one_by_one, strict=True)) / len(texts)
        rows.append(
            {
                "mode": "batched, length-bucketed",
                "batch_size": batch_size,
                "seconds": seconds,
                "texts_per_sec": len(texts) / seconds,
                "speedup": single_seconds / seconds,
                "same_labels": same,
            }
        )

    print(f"Classifier.predict on {len(texts)} tweets ({clf.meta.get('path')}), {torch.get_num_threads()} threads")
    print(f"{'mode':<26} {'batch':>6} {'seconds':>8} {'texts/s':>9} {'speed-up':>9} {'same labels':>12}")
    for r in rows:
        print(
            f"{r['mode']:<26} {r['batch_size']:>6} {r['seconds']:>8.2f} {r['texts_per_sec']:>9,.0f} "
            f"{r['speedup']:>8.1f}x {r['same_labels']:>12.4f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "checkpoint": clf.meta.get("path"),
                "texts": len(texts),
                "threads": torch.get_num_threads(),
                "machine": platform.processor() or platform.machine(),
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
