"""Test macro-F1 against the number of labelled examples: classifiers trained from scratch (GloVe init, the default)
and fine-tuned from a pretrained biLM (`model.pretrained_lm`), read from finished run folders (sweeps included).

Usage:
    python bench/learning_curve.py RUN_OR_SWEEP_DIR [...] [--out bench/results/learning_curve.json]

Each run folder's `config.yaml` gives its `data.train_size`/`data.train_fraction` (null: the whole training split,
counted from the data), its seed and its method: from scratch, from scratch with `trainer.min_steps` (short epochs
add up to as many steps as fine-tuning's: the fair baseline at few labels), fine-tuned (`model.pretrained_lm` set),
or fine-tuned with ULMFiT's schedule (`task.finetune.lr_decay` > 1, gradual unfreezing or
`scheduler=slanted_triangular`), or the biLM read frozen (`model.transfer=features`); its `metrics.json` gives `test/macro_f1`, `train_seconds`. Prints mean, standard
deviation, min, max over seeds per (method, size), each fine-tuned method's mean minus each scratch method's, and
writes the JSON and a PNG next to it.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from _common import add_out_argument, check_out, run_main, write_file, write_result

from textgru.run_folder import RunFolder

METHODS = ("scratch", "scratch, min_steps", "fine-tuned", "fine-tuned, ULMFiT schedule", "frozen biLM features")
SCRATCH = METHODS[:2]
LABELS = {
    "scratch": "from scratch (GloVe init)",
    "scratch, min_steps": "from scratch, trainer.min_steps",
    "fine-tuned": "fine-tuned from the biLM",
    "fine-tuned, ULMFiT schedule": "fine-tuned, ULMFiT schedule",
    "frozen biLM features": "frozen biLM features (model.transfer=features)",
}


def method_of(cfg: dict[str, Any]) -> str:
    """scratch (with trainer.min_steps or without); fine-tuned (one lr, everything trains); or fine-tuned with any
    part of ULMFiT's schedule (discriminative lrs, gradual unfreezing, the slanted triangular lr)."""
    if not cfg["model"].get("pretrained_lm"):
        return "scratch, min_steps" if (cfg.get("trainer") or {}).get("min_steps") else "scratch"
    if cfg["model"].get("transfer") == "features":
        return "frozen biLM features"
    finetune = (cfg.get("task") or {}).get("finetune") or {}
    ulmfit = (
        finetune.get("gradual_unfreezing")
        or float(finetune.get("lr_decay") or 1) != 1
        or "slanted_triangular" in str((cfg.get("scheduler") or {}).get("_target_", ""))
    )
    return "fine-tuned, ULMFiT schedule" if ulmfit else "fine-tuned"


def find_runs(paths: list[str]) -> tuple[list[Path], list[Path]]:
    """Run folders at or below the given paths: the finished ones (metrics.json and config.yaml), and the ones
    with a config.yaml but no metrics.json (unfinished: stopped, failed or still training). A folder reached twice
    (a sweep and one of its runs, or two spellings of one path) counts once (a review: n and sd were inflated)."""
    runs: set[Path] = set()
    unfinished: set[Path] = set()
    for p in (Path(p).resolve() for p in paths):
        for folder in [p, *(d for d in p.rglob("*") if d.is_dir())]:
            run = RunFolder(folder)
            if run.config.is_file() and folder.name != ".hydra":  # a link to a run found beside it: once
                (runs if run.metrics.is_file() else unfinished).add(folder.resolve())
    return sorted(runs), sorted(unfinished)


def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A config as dotted keys -> values."""
    if not isinstance(tree, dict) or not tree:
        return {prefix.rstrip("."): tree}
    return {k: v for key, sub in tree.items() for k, v in flat(sub, f"{prefix}{key}.").items()}


SETUP_FREE = ("seed", "paths.", "hydra.", "data.subset_seed", "data.train_size", "data.train_fraction")


def setup(cfg: dict[str, Any], run: Path) -> dict[str, Any]:
    """What a run's curve point depends on besides its seed and its number of labels (not where it was written)."""
    own = str((cfg.get("paths") or {}).get("run_dir") or run.resolve())  # where it trained: folders may move
    return {k: v for k, v in flat(cfg).items() if not k.startswith(SETUP_FREE) and not str(v).startswith(own)}


_split_sizes: dict[str, int] = {}


def full_size(data_cfg: dict[str, Any]) -> int:
    """Examples in the whole training split of a data config (loaded through textgru, cached)."""
    key = json.dumps(
        {k: v for k, v in data_cfg.items() if k not in ("train_size", "train_fraction", "subset_seed")},
        sort_keys=True,
        default=str,
    )
    if key not in _split_sizes:
        from textgru.data.labelled import load_classification_data

        _split_sizes[key] = len(load_classification_data(data_cfg)["train"])
    return _split_sizes[key]


def read_run(run: Path) -> dict[str, Any] | None:
    cfg = yaml.safe_load(RunFolder(run).config.read_text())
    if cfg.get("task", {}).get("name") != "sentiment":
        return None
    if int(cfg.get("model", {}).get("members") or 1) > 1:
        print(f"note: {run} is an ensemble (model.members={cfg['model']['members']}), not one model: left out")
        return None
    metrics = json.loads(RunFolder(run).metrics.read_text())
    if not isinstance(metrics.get("test/macro_f1"), (int, float)):
        print(f"note: {run} has no test/macro_f1 in metrics.json (a run without a test split?): left out")
        return None
    data = cfg["data"]
    size = data.get("train_size")
    if size is None:
        n = full_size(data)
        size = n if data.get("train_fraction") is None else max(1, round(n * float(data["train_fraction"])))
    return {
        "run": str(run),
        "method": method_of(cfg),
        "labels": int(size),
        "seed": cfg.get("seed"),
        "test/macro_f1": metrics["test/macro_f1"],
        "test/accuracy": metrics.get("test/accuracy"),
        "train_seconds": metrics.get("train_seconds"),
        "setup": setup(cfg, run),
    }


LOADING = ("batch_size", "eval_batch_size", "num_workers", "cache_dir", "max_length")  # settings, not the data


def _names_data(key: str) -> bool:
    return key.startswith("data.") and key.removeprefix("data.") not in LOADING


def check_one_setup(rows: list[dict[str, Any]]) -> None:
    """One curve compares methods on the same data: runs of other data are refused in one line; within a method,
    runs that differ in another setting (the LM, the scheduler, the epochs) are pooled with a note naming it."""
    keys = sorted(
        {k for r in rows for k, v in r["setup"].items() if _names_data(k) and any(o["setup"].get(k) != v for o in rows)}
    )
    if keys:
        raise SystemExit(
            f"error: the runs were trained on different data ({', '.join(keys)} differ); pass one data setup's runs"
        )
    for method in METHODS:
        same = [r["setup"] for r in rows if r["method"] == method]
        keys = sorted({k for s in same for k in s if any(o.get(k) != s.get(k) for o in same)})
        if keys:
            print(f"note: the {method} runs differ in {', '.join(keys[:6])}{', ...' if len(keys) > 6 else ''}: pooled")


METHOD_KEYS = ("model.pretrained_lm", "task.finetune.", "scheduler.")  # what makes a method one


def note_method_differences(rows: list[dict[str, Any]]) -> None:
    """A note naming the settings, besides those that define the methods, in which the methods' runs differ (a
    review: fine-tuned runs of 300 steps against scratch runs of 2, compared without a word): the curve's
    differences include them."""
    values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in rows:
        for k, v in r["setup"].items():
            values[k][r["method"]].add(json.dumps(v, default=str))
    present = {r["method"] for r in rows}
    for k, per_method in sorted(values.items()):
        if k.startswith(METHOD_KEYS) or len(present) < 2:
            continue
        if len({frozenset(per_method.get(m, {"null"})) for m in present}) > 1:
            said = "; ".join(f"{m}: {', '.join(sorted(per_method.get(m, {'null'})))}" for m in METHODS if m in present)
            print(f"note: the methods also differ in {k} ({said}): their differences include it")


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cells: dict[tuple[str, int], list[float]] = defaultdict(list)
    for r in rows:
        cells[(r["method"], r["labels"])].append(r["test/macro_f1"])
    out = []
    for (method, labels), values in sorted(cells.items(), key=lambda kv: (kv[0][1], METHODS.index(kv[0][0]))):
        out.append(
            {
                "method": method,
                "labels": labels,
                "n": len(values),
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else None,  # one run: no spread to show
                "min": min(values),
                "max": max(values),
                "values": values,
            }
        )
    return out


def plot(summary: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for method, style in zip(METHODS, ("o--", "v-.", "s-", "^:", "D-"), strict=True):
        cells = [c for c in summary if c["method"] == method]
        if not cells:
            continue
        x = [c["labels"] for c in cells]
        ax.errorbar(
            x,
            [c["mean"] for c in cells],
            yerr=[c["std"] or 0.0 for c in cells],
            fmt=style,
            capsize=3,
            label=LABELS[method],
        )
        for c in cells:
            ax.scatter([c["labels"]] * c["n"], c["values"], s=8, alpha=0.4, color=ax.lines[-1].get_color())
    ax.set_xscale("log")
    ax.set_xlabel("labelled training examples")
    ax.set_ylabel("test macro-F1")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    ax.set_title("tweets: test macro-F1 against labels (mean ± sd over seeds)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def existing_path(text: str) -> str:
    """argparse `type=` for a run or sweep folder: a missing one is named (a review: it was reported as a folder
    holding no finished run, with exit code 1)."""
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", type=existing_path, help="run folders or sweep folders")
    add_out_argument(ap, "learning_curve.json")
    args = ap.parse_args()
    if Path(args.out).suffix.lower() == ".png":  # the plot goes beside the JSON, as .png: it would replace it
        ap.error(f"--out {args.out}: give the JSON's name (e.g. .json); the plot is written beside it as .png")
    check_out(ap, args, beside=[".png"])  # the plot replaces a .png there only with --overwrite too (a review)
    finished, unfinished = find_runs(args.paths)
    if unfinished:
        shown = ", ".join(str(u) for u in unfinished[:5]) + (", ..." if len(unfinished) > 5 else "")
        print(f"note: left out {len(unfinished)} unfinished run(s) (config.yaml, no metrics.json): {shown}")
    rows = [r for r in map(read_run, finished) if r is not None]
    if not rows:
        raise SystemExit(
            "error: no finished task=sentiment run folder (metrics.json + config.yaml) under the given paths"
        )
    check_one_setup(rows)
    note_method_differences(rows)
    summary = summarise(rows)
    means = {(c["method"], c["labels"]): c["mean"] for c in summary}
    head = f"{'labels':>7} {'method':>27} {'n':>2} {'mean':>7} {'sd':>6} {'min':>7} {'max':>7}"
    print(f"{head} {'- scratch':>10} {'- scratch, min_steps':>21}")
    for c in summary:
        gains = [
            f"{c['mean'] - means[(m, c['labels'])]:+.4f}"
            if c["method"] not in SCRATCH and (m, c["labels"]) in means
            else ""
            for m in SCRATCH
        ]
        print(
            f"{c['labels']:>7} {c['method']:>27} {c['n']:>2} {c['mean']:>7.4f} "
            f"{'-' if c['std'] is None else format(c['std'], '.4f'):>6} {c['min']:>7.4f} "
            f"{c['max']:>7.4f} {gains[0]:>10} {gains[1]:>21}"
        )
    out = write_result(
        args.out, {"summary": summary, "runs": [{k: v for k, v in r.items() if k != "setup"} for r in rows]}
    )
    write_file(out.with_suffix(".png"), lambda tmp: plot(summary, tmp))  # whole or not at all, as the JSON
    seeds: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for r in rows:
        seeds[(r["method"], r["labels"])].append(r["seed"])
    for (method, labels), values in sorted(seeds.items(), key=lambda kv: kv[0][1]):
        if len(set(values)) < len(values):  # not a spread over seeds: runs of other settings are pooled
            print(
                f"note: {method} at {labels} labels pools runs with the same seed ({values}); pass one setting's runs"
            )
    print(f"wrote {out.with_suffix('.png')}")


if __name__ == "__main__":
    run_main(main)
