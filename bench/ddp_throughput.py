"""Training throughput of one process against data-parallel processes (trainer=ddp_cpu, or trainer=ddp on GPUs),
through the real scripts/train.py: real (unpadded) tokens per second over all ranks, after warm-up, with
validation excluded (the `train_tokens_per_sec` every run records in metrics.json).

Usage: python bench/ddp_throughput.py [--tasks sentiment lm] [--trainers cpu ddp_cpu] [--sentiment-steps 150]
       [--lm-steps 60] [--out bench/results/ddp_throughput.json]
Each (task, trainer) pair is one short run of the default model; the same global batch and steps for all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(task: str, trainer: str, steps: int, workdir: Path) -> dict:
    run_dir = workdir / f"{task}-{trainer}"
    args = [
        f"task={task}",
        f"trainer={trainer}",
        f"trainer.max_steps={steps}",
        "trainer.max_epochs=1",
        "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2",
        "trainer.enable_progress_bar=false",
        "logger.tensorboard=false",
        f"hydra.run.dir={run_dir}",
    ]
    if task == "lm":
        args += [f"trainer.val_check_interval={steps}", "task.samples=0"]
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py"), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{task} {trainer} failed:\n{r.stderr[-2000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "task": task,
        "trainer": trainer,
        "steps": metrics["global_step"],
        "tokens_per_sec": metrics["train_tokens_per_sec"],
        "train_seconds": metrics["train_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["sentiment", "lm"])
    parser.add_argument("--trainers", nargs="+", default=["cpu", "ddp_cpu"])
    parser.add_argument("--sentiment-steps", type=int, default=150)
    parser.add_argument("--lm-steps", type=int, default=60)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "ddp_throughput.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks:
            for trainer in args.trainers:
                steps = args.sentiment_steps if task == "sentiment" else args.lm_steps
                rows.append(run(task, trainer, steps, Path(tmp)))
                print(f"  {task:9} {trainer:8} {rows[-1]['tokens_per_sec']:>10,.0f} tok/s", flush=True)
    base = {r["task"]: r["tokens_per_sec"] for r in rows if r["trainer"] == args.trainers[0]}
    print(f"\n| task | trainer | steps | real tokens/s (all ranks) | vs {args.trainers[0]} |\n|---|---|---|---|---|")
    for r in rows:
        r["speedup"] = round(r["tokens_per_sec"] / base[r["task"]], 3) if r["task"] in base else None
        print(f"| {r['task']} | {r['trainer']} | {r['steps']} | {r['tokens_per_sec']:,.0f} | {r['speedup']}x |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "rows": rows}, indent=2)
    )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
