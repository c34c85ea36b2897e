"""Eager PyTorch (float32, and bf16: `Classifier.with_precision`) against onnxruntime (float32 and int8 weights), in
one run, interleaved: `Classifier.predict` texts/s
one text at a time (the latency a service sees) and batched (64, 256) on tweets; `LanguageModel.generate` new
tokens/s at batch 1 and 32; the int8 export's macro-F1 change on the tweets' test split. Prints tables (min / median /
max over the repeats), and the compute bound (the GRU's FLOPs per text against this CPU's best matmul rate: how fast
batched prediction could be at all); writes JSON with the machine.

Usage: python bench/inference_backends.py --ckpt CLASSIFIER_RUN --lm LM_RUN
       [--texts 10000] [--single-texts 2000] [--repeats 5] [--threads 1] [--new-tokens 300]
`--threads`: torch's (and onnxruntime's) thread count for every case; with 2 or more, eager batches run side by
side, one core each (`textgru.inference.parallel_batches`).
`--single-texts`: how many of the texts the one-at-a-time rows time (a rate; the full 10,000 takes minutes a round).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from _common import (
    add_out_argument,
    bf16_flags,
    cpu_model,
    description,
    parse_args,
    positive_int,
    run_main,
    write_result,
)

import textgru
from textgru.inference.scored_data import labelled_texts
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


def gru_flops_per_token(args: dict[str, Any]) -> float:
    """Multiply-adds x 2 of the classifier's GRU layers for one token (both directions): 2 * 3H * (input + H) per
    layer and direction. The embedding is a lookup; pooling and the head are per text and small."""
    hidden, directions = args["hidden_size"], 2 if args.get("bidirectional", True) else 1
    flops, width = 0.0, args["embedding_dim"]
    for _ in range(args["num_layers"]):
        flops += directions * 2 * 3 * hidden * (width + hidden)
        width = directions * hidden
    return flops


def matmul_gflops(n: int = 1024, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    """The best matmul rate of this CPU in `dtype` at torch's current thread count (n x n by n x n), GFLOP/s."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    best = min(_seconds(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _seconds(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compute_bound(clf: Any, texts: list[str], predict_rows: list[dict[str, Any]], threads: int) -> dict[str, Any]:
    """How far batched prediction can go on this CPU: the GRU's FLOPs per text (tokens as `predict` feeds them)
    against the best matmul rate; each batched case's achieved GFLOP/s; the 20x goal in texts/s."""
    tokens = sum(len(ids) for ids in clf.encode(texts)) / len(texts)
    per_text = gru_flops_per_token(clf.meta["model_args"]) * tokens
    peak = matmul_gflops()
    single = next(r["median"] for r in predict_rows if r["case"] == "eager PyTorch, one text at a time")
    achieved = {r["case"]: r["median"] * per_text / 1e9 for r in predict_rows if "batched" in r["case"]}
    bound = peak * 1e9 / per_text
    print(
        f"\ncompute bound: {tokens:.1f} tokens per text x {gru_flops_per_token(clf.meta['model_args']) / 1e6:.2f} "
        f"MFLOP per token = {per_text / 1e6:.1f} MFLOP per text; best fp32 matmul here {peak:.1f} GFLOP/s "
        f"({threads} thread(s)) -> at most {bound:,.0f} texts/s = {bound / single:.1f}x eager one at a time "
        f"(the 20x goal: {20 * single:,.0f} texts/s)"
    )
    for case, gflops in achieved.items():
        print(f"  {case}: {gflops:.1f} GFLOP/s achieved ({100 * gflops / peak:.0f}% of the fp32 matmul peak)")
    bf16_peak = matmul_gflops(dtype=torch.bfloat16)
    print(
        f"  best bf16 matmul here: {bf16_peak:.0f} GFLOP/s (the bf16 case looks its first layer's input part up per "
        "token, so it does fewer FLOPs than counted above: its figure is the fp32 work it replaces)"
    )
    return {
        "tokens_per_text": tokens,
        "mflop_per_text": per_text / 1e6,
        "matmul_gflops": peak,
        "max_texts_per_second": bound,
        "max_vs_eager_one_at_a_time": bound / single,
        "achieved_gflops": achieved,
        "bf16_matmul_gflops": bf16_peak,
    }


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
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--ckpt", required=True, help="a tweets classifier run folder or .ckpt (task=sentiment)")
    parser.add_argument("--lm", required=True, help="a language-model run folder or .ckpt (task=lm)")
    parser.add_argument("--texts", type=positive_int, default=10_000)
    parser.add_argument("--single-texts", type=positive_int, default=2_000)
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--threads", type=positive_int, default=1)
    parser.add_argument("--new-tokens", type=positive_int, default=300)
    add_out_argument(parser, "inference_backends.json")
    args = parse_args(parser)
    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        parser.error(f"{', '.join(missing)} not installed (the export and its backend): pip install 'textgru[onnx]'")
    torch.set_num_threads(args.threads)  # onnxruntime's sessions follow torch's thread count
    with tempfile.TemporaryDirectory(prefix="textgru_bench_") as work:  # the exports: removed on failure too
        result = measure(args, Path(work))
    write_result(args.out, result)


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Every case, timed; the exports go to `work`."""
    import onnxruntime as ort

    eager = textgru.Classifier.load(args.ckpt)
    lm_eager = textgru.LanguageModel.load(args.lm)  # both refused before anything is timed
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
        f"{cpu_model()} (bf16: {', '.join(bf16_flags()) or 'none'}); "
        f"classifier {args.ckpt}: {len(texts)} tweets (test split, then train), one at a time on the first "
        f"{len(single)}; {args.threads} thread(s); {args.repeats} rounds; load average {load[0]:.1f}"
    )
    for clf in (eager, onnx, int8):
        clf.predict(texts[:256])  # warm-up

    bf16 = eager.with_precision("bf16")
    bf16.predict(texts[:256])
    backends = {"eager PyTorch": eager, "eager PyTorch bf16": bf16, "onnxruntime fp32": onnx, "onnxruntime int8": int8}
    cases: dict[str, Callable[[], float]] = {}
    for name, clf in backends.items():
        cases[f"{name}, one text at a time"] = lambda c=clf: rate(len(single), lambda: [c.predict(t) for t in single])
    for size in (64, 256):
        for name, clf in backends.items():
            cases[f"{name}, batched {size}"] = lambda c=clf, s=size: rate(len(texts), lambda: c.predict(texts, s))
    predict_rows = rows_from(interleaved(cases, args.repeats), lambda name: "eager PyTorch, one text at a time")
    print_table("Classifier.predict, texts/s", "texts/s", predict_rows, "eager one at a time")

    bound = compute_bound(eager, texts, predict_rows, args.threads)

    f1 = {name: clf.evaluate(split="test")["macro_f1"] for name, clf in backends.items()}
    print("\ntest macro-F1: " + ", ".join(f"{k} {v:.4f}" for k, v in f1.items()))

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

    return {
        "classifier": args.ckpt,
        "lm": args.lm,
        "texts": len(texts),
        "single_texts": len(single),
        "repeats": args.repeats,
        "threads": args.threads,
        "new_tokens": args.new_tokens,
        "export_seconds": export_seconds,
        # load around the timed cases (machine.load_average_start / _end: the whole run, exports included)
        "machine": {"load_average_before": load, "load_average_after": os.getloadavg()},
        "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__, "textgru": textgru.__version__},
        "predict": predict_rows,
        "compute_bound": bound,
        "test_macro_f1": f1,
        "model_bytes": {n: (f / "model.onnx").stat().st_size for n, f in (("fp32", folder), ("int8", int8_folder))},
        "generation": gen_rows,
        "greedy_identical": same,
    }


if __name__ == "__main__":
    run_main(main)
