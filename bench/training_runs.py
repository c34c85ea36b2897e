"""The training runs whose test scores the README quotes, each through `textgru train` exactly as the README gives
its command, one after another; prints their scores and writes JSON (the run folders are kept for the generation
and prediction benchmarks).

Usage: python bench/training_runs.py [--runs default glove random tweets_bigru lm] [--runs-dir bench/results/runs]
Each run takes minutes (the default classifier about 4-5 on an idle 2-core CPU, the language model 17), so each is
run once, with the config's seed: CPU training with the same seed and thread count gives the same scores again. The
configs cap training time (`trainer.max_time`), so on a busy machine a run can stop early and score lower: the table
marks any run that ended before its planned epochs or steps.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import RESULTS, add_out_argument, description, parse_args, run_main, write_result

ROOT = Path(__file__).resolve().parents[1]

RUNS = {  # name: (what it is, overrides, planned epochs or steps)
    "default": ("BiGRU + GloVe + EMA + label smoothing (the default)", ["task=sentiment"], ("epochs", 6)),
    "glove": (
        "BiGRU + GloVe, no smoothing/EMA",
        ["task=sentiment", "task.label_smoothing=0", "task.ema_decay=null"],
        ("epochs", 6),
    ),
    "random": (
        "BiGRU, random embeddings, no smoothing/EMA, 8 epochs",
        [
            "task=sentiment",
            "model.pretrained_embeddings=null",
            "task.label_smoothing=0",
            "task.ema_decay=null",
            "trainer.max_epochs=8",
        ],
        ("epochs", 8),
    ),
    "tweets_bigru": ("experiment=tweets_bigru (the tuned preset)", ["experiment=tweets_bigru"], ("epochs", 6)),
    "lm": ("char GRU language model (task=lm)", ["task=lm"], ("global_step", 1200)),
}


def train(name: str, runs_dir: Path, extra: list[str]) -> dict:
    what, overrides, (unit, planned) = RUNS[name]
    overrides = [*overrides, *extra]
    run_dir = runs_dir / name
    start = time.time()
    cmd = [sys.executable, "-m", "textgru", "train", *overrides, f"hydra.run.dir={run_dir}"]  # the `textgru` command
    with open(runs_dir / f"{name}.log", "w") as log:
        r = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise SystemExit(f"error: {name} failed; see {runs_dir / f'{name}.log'}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    reached = metrics.get(unit, 0)
    return {
        "name": name,
        "what": what,
        "command": "textgru train " + " ".join(overrides),
        "run_dir": str(run_dir),
        "metrics": metrics,
        "wall_seconds": round(time.time() - start, 1),
        "complete": reached >= planned,
        "planned": f"{planned} {unit}",
    }


def earlier_runs(names: list[str], runs_dir: Path) -> list[Path]:
    """What the requested runs would overwrite: a run folder that is not empty, or a run's log."""
    folders = [f for f in (runs_dir / n for n in names) if f.exists() and (not f.is_dir() or any(f.iterdir()))]
    return folders + [log for log in (runs_dir / f"{n}.log" for n in names) if log.exists()]


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--runs-dir", default=str(RESULTS / "runs"))
    add_out_argument(parser, "training_runs.json")
    parser.add_argument("--extra", nargs="*", default=[], help="overrides added to every run (for a quick check)")
    args = parse_args(parser)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    runs_dir = Path(args.runs_dir)
    if len(set(args.runs)) < len(args.runs):
        parser.error(f"--runs {' '.join(args.runs)}: give each run once")
    if runs_dir.exists() and not runs_dir.is_dir():
        parser.error(f"--runs-dir {runs_dir} is a file, not a folder")
    if taken := earlier_runs(args.runs, runs_dir):  # all checked before the first run trains (each takes minutes)
        parser.error(
            f"{', '.join(map(str, taken))} exist(s): an earlier measurement's; remove them or pass another --runs-dir"
        )
    runs_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.runs:
        print(f"  training {name}: {' '.join(RUNS[name][1])}", file=sys.stderr, flush=True)
        results.append(train(name, runs_dir, args.extra))
    print("| run | command | test macro-F1 / loss | test accuracy / ppl | minutes | complete |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        m = r["metrics"]
        first, second = (
            (f"{m['test/macro_f1']:.3f}", f"{m['test/accuracy']:.3f}")
            if "test/macro_f1" in m
            else (f"{m['test/loss']:.3f} nats/token", f"{m['test/ppl']:.2f}")
        )
        done = "yes" if r["complete"] else f"no: ended before {r['planned']} (time cap or early stopping: see its log)"
        print(f"| {r['what']} | `{r['command']}` | {first} | {second} | {r['wall_seconds'] / 60:.1f} | {done} |")
    write_result(args.out, {"runs": results})


if __name__ == "__main__":
    run_main(main)
