"""Training throughput of one process against data-parallel processes (trainer=ddp_cpu, or trainer=ddp on GPUs),
through the real `textgru train` command: real (unpadded) tokens per second over all ranks, after warm-up, with
validation excluded (the `train_tokens_per_sec` every run records in metrics.json).

Usage: python bench/ddp_throughput.py [--tasks sentiment lm] [--trainers cpu ddp_cpu] [--sentiment-steps 150]
       [--lm-steps 40] [--repeats 5] [--out bench/results/ddp_throughput.json]
Each (task, trainer) pair is a short run of the default model, `--repeats` times, interleaved (min / median / max, and
the ratio to the first trainer per repeat); the same global batch and steps for all.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import (
    add_out_argument,
    description,
    fmt,
    int_at_least,
    machine_line,
    parse_args,
    positive_int,
    run_main,
    summary,
    write_result,
)

from textgru.config import group_options

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("sentiment", "lm")
WARMUP_BATCHES = 3  # the batches of each epoch that `train_tokens_per_sec` skips: it is null for runs of no more


def steps_argument(text: str) -> int:
    """argparse `type=` for --sentiment-steps/--lm-steps: more than the warm-up batches, else a run records no speed
    (a review: a null `train_tokens_per_sec` was a traceback after all the training)."""
    return int_at_least(text, WARMUP_BATCHES + 1, f"the first {WARMUP_BATCHES} batches are warm-up, not timed")


def run(task: str, trainer: str, steps: int, workdir: Path, repeat: int) -> dict:
    run_dir = workdir / f"{task}-{trainer}-{repeat}"
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
    r = subprocess.run([sys.executable, "-m", "textgru", "train", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{task} {trainer} failed:\n{r.stderr[-2000:]}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if metrics["train_tokens_per_sec"] is None:  # no epoch had more than the warm-up batches
        raise SystemExit(
            f"error: {task} {trainer} recorded no train_tokens_per_sec: give more than {WARMUP_BATCHES} steps"
        )
    return {
        "task": task,
        "trainer": trainer,
        "steps": metrics["global_step"],
        "tokens_per_sec": metrics["train_tokens_per_sec"],
        "train_seconds": metrics["train_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    # checked here, not by the first `textgru train` of that name after the others trained (a review)
    parser.add_argument("--trainers", nargs="+", default=["cpu", "ddp_cpu"], choices=group_options("trainer"))
    parser.add_argument("--sentiment-steps", type=steps_argument, default=150)
    parser.add_argument("--lm-steps", type=steps_argument, default=40)
    parser.add_argument("--repeats", type=positive_int, default=5)
    add_out_argument(parser, "ddp_throughput.json")
    args = parse_args(parser)
    runs: dict[tuple[str, str], list[dict]] = {(t, tr): [] for t in args.tasks for tr in args.trainers}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):  # interleaved
            for task, trainer in runs:
                steps = args.sentiment_steps if task == "sentiment" else args.lm_steps
                runs[(task, trainer)].append(run(task, trainer, steps, Path(tmp), r))
                tok_s = runs[(task, trainer)][-1]["tokens_per_sec"]
                print(f"  repeat {r + 1} {task:9} {trainer:8} {tok_s:>10,.0f} tok/s", file=sys.stderr, flush=True)
    rows = []
    for (task, trainer), rs in runs.items():
        base = runs[(task, args.trainers[0])]
        rows.append(
            {
                "task": task,
                "trainer": trainer,
                "steps": rs[0]["steps"],
                "tokens_per_sec": summary([x["tokens_per_sec"] for x in rs]),
                "train_seconds": summary([x["train_seconds"] for x in rs]),
                "ratio": summary([x["tokens_per_sec"] / b["tokens_per_sec"] for x, b in zip(rs, base, strict=True)]),
            }
        )
    print(f"\n{args.repeats} interleaved repeats; median (min-max)\n{machine_line()}")
    print(f"| task | trainer | steps | real tokens/s (all ranks) | vs {args.trainers[0]} |\n|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['task']} | {r['trainer']} | {r['steps']} | {fmt(r['tokens_per_sec'])} | {fmt(r['ratio'], '.2f')}x |"
        )
    threads = "each run's own (textgru train sets none: torch's default, which Lightning divides among DDP processes)"
    write_result(args.out, {"repeats": args.repeats, "rows": rows, "threads": threads})


if __name__ == "__main__":
    run_main(main)
