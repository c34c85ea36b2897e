"""Eager PyTorch against onnxruntime (float32 and int8 weights), in one run, interleaved: `Classifier.predict` texts/s
one text at a time (the latency a service sees) and batched (64, 256) on tweets; `LanguageModel.generate` new
tokens/s at batch 1 and 32; the int8 export's macro-F1 change on the tweets' test split. Prints tables (min / median /
max over the repeats), writes JSON with the machine.

Usage: OMP_NUM_THREADS=1 python bench/inference_backends.py [--ckpt /work/ckpts/sentiment] [--lm /work/ckpts/lm]
       [--texts 10000] [--single-texts 2000] [--repeats 5] [--threads 1] [--new-tokens 300]
`--single-texts`: how many of the texts the one-at-a-time rows time (a rate; the full 10,000 takes minutes a round).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import textgru
from textgru.inference.evaluation import labelled_texts
from textgru.onnx_format import sha256


def interleaved(cases: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Every case once per round, `repeats` rounds: each returns a rate; load changes hit all cases alike."""
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            rates[name].append(case())
    return rates


def rate(n: int, fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def rows_from(rates: dict[str, list[float]], base: Callable[[str], str]) -> list[dict[str, Any]]:
    """One row per case: min / median / max and the median's ratio to the median of the case `base(name)`."""
    rows = []
    for name, v in rates.items():
        ratio = statistics.median(v) / statistics.median(rates[base(name)])
        rows.append({"case": name, "min": min(v), "median": statistics.median(v), "max": max(v), "ratio": ratio})
        rows[-1]["values"] = v
    return rows


def print_table(title: str, unit: str, rows: list[dict[str, Any]], against: str) -> None:
    print(f"\n{title}")
    head = f"| case | {unit} min | median | max | median vs {against} |"
    print(head + "\n| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['case']} | {r['min']:,.0f} | {r['median']:,.0f} | {r['max']:,.0f} | {r['ratio']:.2f}x |")


def quantized_copy(folder: Path, output: Path) -> Path:
    """The export with onnxruntime's dynamic int8 quantization (int8 weights of MatMul/Gemm/Gather; onnxruntime has
    no GRU rule, so the GRU, nearly all the work, stays float32)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    shutil.copytree(folder, output)
    quantize_dynamic(str(folder / "model.onnx"), str(output / "model.onnx"), weight_type=QuantType.QInt8)
    config = json.loads((output / "config.json").read_text())
    config["model_sha256"] = sha256(output / "model.onnx")
    (output / "config.json").write_text(json.dumps(config))
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", default="/work/ckpts/sentiment")
    parser.add_argument("--lm", default="/work/ckpts/lm")
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--single-texts", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--new-tokens", type=int, default=300)
    parser.add_argument("--out", default="bench/results/inference_backends.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # onnxruntime's sessions follow torch's thread count
    import onnxruntime as ort

    work = Path(tempfile.mkdtemp(prefix="textgru_bench_"))
    eager = textgru.Classifier.load(args.ckpt)
    data_cfg = eager.meta["data_config"]
    test_texts, _, _ = labelled_texts(None, "test", data_cfg, "text", "label")
    train_texts, _, _ = labelled_texts(None, "train", data_cfg, "text", "label")
    texts = (test_texts + train_texts)[: args.texts]
    single = texts[: args.single_texts]
    start = time.perf_counter()
    folder = textgru.export(args.ckpt, work / "sentiment")
    export_seconds = time.perf_counter() - start
    int8_folder = quantized_copy(folder, work / "sentiment_int8")
    onnx, int8 = textgru.load(folder), textgru.load(int8_folder)
    load = os.getloadavg()
    print(
        f"classifier {args.ckpt}: {len(texts)} tweets (test split, then train), one at a time on the first "
        f"{len(single)}; {args.threads} thread(s); {args.repeats} rounds; load average {load[0]:.1f}"
    )
    for clf in (eager, onnx, int8):
        clf.predict(texts[:256])  # warm-up

    backends = {"eager PyTorch": eager, "onnxruntime fp32": onnx, "onnxruntime int8": int8}
    cases: dict[str, Callable[[], float]] = {}
    for name, clf in backends.items():
        cases[f"{name}, one text at a time"] = lambda c=clf: rate(len(single), lambda: [c.predict(t) for t in single])
    for size in (64, 256):
        for name, clf in backends.items():
            cases[f"{name}, batched {size}"] = lambda c=clf, s=size: rate(len(texts), lambda: c.predict(texts, s))
    predict_rows = rows_from(interleaved(cases, args.repeats), lambda name: "eager PyTorch, one text at a time")
    print_table("Classifier.predict, texts/s", "texts/s", predict_rows, "eager one at a time")

    f1 = {name: clf.evaluate(split="test")["macro_f1"] for name, clf in backends.items()}
    print("\ntest macro-F1: " + ", ".join(f"{k} {v:.4f}" for k, v in f1.items()))

    lm_eager = textgru.LanguageModel.load(args.lm)
    lm_onnx = textgru.load(textgru.export(args.lm, work / "lm"))
    greedy = dict(max_new_tokens=args.new_tokens, greedy=True)
    same = lm_eager.generate("ROMEO:", **greedy) == lm_onnx.generate("ROMEO:", **greedy)
    gen_cases: dict[str, Callable[[], float]] = {}
    for batch in (1, 32):
        for name, lm in (("eager PyTorch", lm_eager), ("onnxruntime fp32", lm_onnx)):
            gen_cases[f"{name}, batch {batch}"] = lambda m=lm, b=batch: rate(
                b * args.new_tokens,
                lambda: m.generate("ROMEO:", max_new_tokens=args.new_tokens, num_samples=b, seed=1),
            )
    gen_rows = rows_from(interleaved(gen_cases, args.repeats), lambda name: "eager PyTorch," + name.split(",")[1])
    print_table(
        f"LanguageModel.generate ({args.lm}), {args.new_tokens} new tokens, new tokens/s; greedy text identical on "
        f"both: {same}",
        "tokens/s",
        gen_rows,
        "eager at the same batch",
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "classifier": args.ckpt,
        "lm": args.lm,
        "texts": len(texts),
        "single_texts": len(single),
        "repeats": args.repeats,
        "threads": args.threads,
        "new_tokens": args.new_tokens,
        "export_seconds": export_seconds,
        "machine": {
            "cores": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "load_average_before": load,
            "load_average_after": os.getloadavg(),
        },
        "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__, "textgru": textgru.__version__},
        "predict": predict_rows,
        "test_macro_f1": f1,
        "model_bytes": {n: (f / "model.onnx").stat().st_size for n, f in (("fp32", folder), ("int8", int8_folder))},
        "generation": gen_rows,
        "greedy_identical": same,
    }
    out.write_text(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
