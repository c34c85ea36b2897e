"""The README's Results tables, in Markdown, from the JSON the benchmarks wrote (bench/results/*.json; never the
subfolders, such as bench/results/quick/ of `QUICK=1 bench/run_all.sh`, whose figures mean nothing): every figure
with the command that measured it and the machine it ran on (CPU, cores, torch threads, load average), so that the
README quotes exactly what a run of bench/run_all.sh gave.

Usage: python bench/report.py [--results bench/results] > tables.md
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from _common import RESULTS, description


def mmm(s: dict[str, Any], spec: str = ",.0f") -> str:
    """`median (min-max)`."""
    return f"{s['median']:{spec}} ({s['min']:{spec}}-{s['max']:{spec}})"


def conditions(d: dict[str, Any]) -> str:
    m = d["machine"]
    load = m.get("load_average_start") or [float("nan")] * 3
    end = m.get("load_average_end") or [float("nan")] * 3
    return (
        f"`{d['command']}`: {m['cpu_model']}, {m['usable_cores']} cores, torch {m['torch']}, {m['torch_threads']} "
        f"thread{'s' if m['torch_threads'] != 1 else ''}, Python {m['python']}; load average {load[0]:.1f} at the start, {end[0]:.1f} at the end; "
        f"{m['wall_seconds'] / 60:.0f} min."
    )


def tfidf_row(tfidf: dict[str, Any]) -> str:
    """The test-score table's row of tfidf_baseline.json (the C chosen on validation)."""
    c = tfidf["chosen"]
    return (
        f"| TF-IDF (word 1-2 + char 2-5 grams) + logistic regression, C={c['C']:g} chosen on validation | "
        f"`{tfidf['command']}` | {c['test/macro_f1']:.3f} | {c['test/accuracy']:.3f} |"
    )


def training_runs(d: dict[str, Any], tfidf: str | None) -> list[str]:
    """The test-score table: `tfidf` (`tfidf_row`'s) first, then each run of `d` (training_runs.json)."""
    out = [
        "| model | command | test macro-F1 | test accuracy |",
        "| --- | --- | --- | --- |",
        *([tfidf] if tfidf else []),
    ]
    lm = None
    for r in d["runs"]:
        m = r["metrics"]
        if "test/macro_f1" not in m:
            lm = r
            continue
        note = "" if r["complete"] else f" (ended before {r['planned']})"
        out.append(f"| {r['what']}{note} | `{r['command']}` | {m['test/macro_f1']:.3f} | {m['test/accuracy']:.3f} |")
    if lm:
        m = lm["metrics"]
        out += [
            "",
            f"Language model (`{lm['command']}`): test {m['test/loss']:.3f} nats/char"
            + (f" ({m['test/bpc']:.2f} bits/char, " if "test/bpc" in m else " (")  # a review: "(, perplexity"
            + f"perplexity {m['test/ppl']:.2f}), validation {m['val/loss']:.3f}; {m['global_step']} steps, "
            f"{m['train_seconds'] / 60:.1f} minutes of training, {lm['wall_seconds'] / 60:.1f} in all"
            + ("" if lm["complete"] else f" (ended before {lm['planned']})")
            + ".",
        ]
    return out


def training_throughput(d: dict[str, Any]) -> list[str]:
    t, ms, ratio = d["real_tokens_per_s"], d["ms_per_batch"], d["pipeline_over_plain_time"]
    return [
        "| training step | real tokens/s | ms per batch |",
        "| --- | --- | --- |",
        f"| textgru pipeline (`textgru train task=sentiment`'s step) | {mmm(t['pipeline'])} | {mmm(ms['pipeline'], '.1f')} |",
        f"| plain PyTorch loop, same arithmetic and batches | {mmm(t['plain'])} | {mmm(ms['plain'], '.1f')} |",
        "",
        f"Pipeline time / plain-loop time, per repeat: {mmm(ratio, '.3f')}; {d['repeats']} interleaved repeats of "
        f"{d['steps']} batches after {d['warmup']} untimed; same batches: {d['same_batches']}, largest per-step "
        f"loss difference {d['max_loss_difference']:.1e}.",
    ]


def batching(d: dict[str, Any]) -> list[str]:
    out = [
        "| data | batches | recurrent layer | exact | padding | real tokens/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in d["rows"]:
        out.append(
            f"| {r['data']} | {r['batches']} | {r['recurrent_layer']} | {'yes' if r['exact'] else 'no'} | "
            f"{r['padding_fraction']:.0%} | {mmm(r['real_tokens_per_s'])} |"
        )
    names = list(next(iter(d["comparisons"].values())))
    datas = list(d["comparisons"])
    out += ["", "| speed ratio per repeat (a over b: time of b / time of a) | " + " | ".join(datas) + " |"]
    out.append("| --- |" + " --- |" * len(datas))
    for n in names:
        out.append(f"| {n} | " + " | ".join(mmm(d["comparisons"][x][n], ".2f") for x in datas) + " |")
    return out


def generation(d: dict[str, Any]) -> list[str]:
    out = [
        "| batch | carried state, new tokens/s | re-run prefix, new tokens/s | speed-up | ms per step (carried) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in d["rows"]:
        out.append(
            f"| {r['batch']} | {mmm(r['carried_tokens_per_s'])} | {mmm(r['rerun_tokens_per_s'], ',.1f')} | "
            f"{mmm(r['speedup'], '.1f')}x | {mmm(r['carried_ms_per_step'], '.2f')} |"
        )
    n = d["rows"][0]["new_tokens"] if d["rows"] else 0
    out += [
        "",
        f"{n} new tokens after the prompt {d['prompt']!r}, {d['repeats']} interleaved repeats after a warm-up; "
        f"checkpoint {d['checkpoint'] or 'none (untrained, default shape)'}. Greedy decoding, "
        f"{d['greedy_check_tokens']} tokens: identical both ways: {d['greedy_tokens_identical']} "
        f"({d['greedy_distinct_tokens']} distinct tokens).",
    ]
    return out


def predict(d: dict[str, Any]) -> list[str]:
    out = ["| mode | batch | texts/s | speed-up | same labels |", "| --- | --- | --- | --- | --- |"]
    for r in d["rows"]:
        out.append(
            f"| {r['mode']} | {r['batch_size']} | {mmm(r['texts_per_sec'])} | {mmm(r['speedup'], '.1f')}x | "
            f"{r['same_labels']:.4f} |"
        )
    return out


def reference(d: dict[str, Any]) -> list[str]:
    out = ["| shape | nn.GRU ms | ReferenceGRU ms | slow-down |", "| --- | --- | --- | --- |"]
    for r in d["rows"]:
        out.append(
            f"| {r['shape']} ({r['batch']}x{r['time']}, {r['hidden']}x{r['layers']}) | {mmm(r['native_ms'], '.1f')} | "
            f"{mmm(r['reference_ms'], '.1f')} | {mmm(r['slowdown'], '.2f')}x |"
        )
    return out


def ddp(d: dict[str, Any]) -> list[str]:
    out = ["| task | trainer | steps | real tokens/s (all ranks) | vs one process |", "| --- | --- | --- | --- | --- |"]
    for r in d["rows"]:
        out.append(
            f"| {r['task']} | `trainer={r['trainer']}` | {r['steps']} | {mmm(r['tokens_per_sec'])} | "
            f"{mmm(r['ratio'], '.2f')}x |"
        )
    return out


SECTIONS = [  # (file, title, formatter)
    ("training_runs", "Test scores", None),
    ("training_throughput", "Training throughput: pipeline against a plain loop", training_throughput),
    ("batching_throughput", "Batching and padding", batching),
    ("generation_speed", "Generation speed", generation),
    ("predict_throughput", "Prediction throughput", predict),
    ("reference_gru_speed", "ReferenceGRU against nn.GRU", reference),
    ("ddp_throughput", "Data-parallel throughput", ddp),
]


T = TypeVar("T")
Formatter = Callable[[dict[str, Any]], list[str]]


class Damaged(Exception):
    """A results file that is not what its script writes (cut short, edited, of another version)."""

    def __init__(self, folder: Path, name: str, what: str) -> None:
        super().__init__(f"{folder / name}.json {what}; run python bench/{name}.py again (with --overwrite)")


def load(folder: Path, name: str) -> dict[str, Any] | None:
    """`<name>.json` in `folder`, None if absent; `Damaged` if it is not a JSON object."""
    path = folder / f"{name}.json"
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise Damaged(folder, name, f"cannot be read ({e.strerror})") from None
    except ValueError as e:  # JSONDecodeError (cut short), UnicodeDecodeError
        raise Damaged(folder, name, f"is not JSON ({e})") from None
    if not isinstance(d, dict):
        raise Damaged(folder, name, f"is not the JSON bench/{name}.py writes (a {type(d).__name__}, not an object)")
    return d


def shaped(folder: Path, name: str, make: Callable[[], T]) -> T:
    """`make()`, which formats `<name>.json`; `Damaged` where the file lacks a key or holds a value of another kind."""
    try:
        return make()
    except KeyError as e:
        what = f"has no {e.args[0]!r}: it is not the JSON bench/{name}.py writes"
    except (TypeError, ValueError, AttributeError, IndexError, StopIteration) as e:
        what = f"is not the JSON bench/{name}.py writes ({type(e).__name__}: {e})"
    raise Damaged(folder, name, what)


def section(
    name: str, formatter: Formatter | None, d: dict[str, Any] | None, tfidf: str | None
) -> tuple[list[str], list[str]]:
    """A section's table and the captions under it (`conditions` of each file it read; the TF-IDF one: the caller's)."""
    if name == "training_runs":
        return training_runs(d or {"runs": []}, tfidf), [conditions(d)] if d else []
    return formatter(d), [conditions(d)]


def tables(folder: Path) -> str:
    """Every section's Markdown; `Damaged` for the first file that is not what its script writes, before any is
    printed (a review: a damaged file was a traceback, after the sections before it)."""
    tfidf = load(folder, "tfidf_baseline")
    row, caption = (
        shaped(folder, "tfidf_baseline", lambda: (tfidf_row(tfidf), conditions(tfidf))) if tfidf else ("", "")
    )
    out = []
    for name, title, formatter in SECTIONS:
        d = load(folder, name)
        if d is None and not (name == "training_runs" and row):
            out.append(f"<!-- {name}: no {folder / name}.json -->\n")
            continue
        lines, captions = shaped(folder, name, functools.partial(section, name, formatter, d, row))
        captions += [caption] if name == "training_runs" and caption else []
        out += [f"**{title}**\n", "\n".join(lines), *(f"\n{c}" for c in captions), ""]
    return "".join(f"{x}\n" for x in out)


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument(
        "--results",
        default=str(RESULTS),
        help="the folder where the benchmarks' JSON files are (<name>.json; default: bench/results; its subfolders "
        "are never read)",
    )
    args = parser.parse_args()
    folder = Path(args.results)
    # tfidf_baseline.json alone makes the test-score table (a review: only SECTIONS' files were looked for)
    if not any((folder / f"{name}.json").is_file() for name in [*(s[0] for s in SECTIONS), "tfidf_baseline"]):
        parser.error(f"--results {folder}: no benchmark results (<name>.json) there; run bench/run_all.sh first")
    try:
        text = tables(folder)
    except Damaged as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print(text, end="")


if __name__ == "__main__":
    main()
