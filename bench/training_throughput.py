"""What textgru's training pipeline costs per batch: the default sentiment run's real training step against a plain
PyTorch loop doing the same arithmetic on the same model and the same batches, interleaved.

- pipeline: `textgru.training.train` on the config of `textgru train task=sentiment` (the run folder in a
  temporary directory): DataModule, ClassificationTask (label-smoothed cross-entropy, training accuracy and macro-F1,
  EMA of the weights after every optimizer step), AdamW with warm-up + cosine stepped every batch, gradient clipping
  1.0, the default callbacks (best/last checkpoint, early stopping, LR monitor, periodic checkpoint, tokens/s, resume
  state, progress bar) and loggers, inside a Lightning Trainer. The run is stopped after the timed batches (an
  exception raised by a timing callback), so validation, testing and the epoch-end checkpoint are never reached.
  The progress bar draws into /dev/null (Lightning's rich bar redraws once a second on a terminal too); the
  loggers are the config's: CSV, and TensorBoard where the `tensorboard` package is installed (the JSON records
  which).
- plain loop: the model that the same config builds (same initial weights, dropout included), a DataLoader over the
  same tokenized examples with the same length-bucketed batch sampler and collate (collated as it goes), the same
  AdamW, the warm-up + cosine factor, EMA and clipping written by hand; only a running loss and accuracy count kept.

Both start their first batch from the same random seed (the dropout masks agree), so they compute the same losses:
the script checks that the batches are identical and the per-step losses agree. Each repeat starts both afresh,
trains `--warmup` untimed batches, then times `--steps` batches (the data loading of each included). The ratio
pipeline time / plain time per batch is the pipeline's overhead.

Usage: python bench/training_throughput.py [--steps 100] [--warmup 10] [--repeats 5] [--threads N] [override ...]
(overrides in the command line's syntax, e.g. model.hidden_size=128). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from _common import (
    add_out_argument,
    description,
    fmt,
    machine_line,
    parse_args,
    positive_int,
    run_main,
    set_threads,
    summary,
    write_result,
)
from omegaconf import DictConfig, open_dict
from torch import nn
from torch.utils.data import DataLoader

from textgru.config import compose_config
from textgru.data.batching import LengthBucketBatchSampler, pad_collate
from textgru.data.labelled import datasets_quiet
from textgru.tasks.sentiment import build
from textgru.training import train

SEED = 1234  # both ways draw their dropout masks from here on, from the first training batch


class _Stop(Exception):
    """Raised by `StepClock` after the timed batches: ends the pipeline's run."""


def fingerprint(batch: dict[str, torch.Tensor]) -> tuple[int, int, int]:
    """A cheap identity of a batch: its shape, real tokens and a checksum of its ids and labels."""
    ids = batch["input_ids"]
    return (
        ids.numel(),
        int(batch["lengths"].sum()),
        int((ids * torch.arange(1, ids.shape[1] + 1)).sum()) + int(batch["labels"].sum()),
    )


class StepClock(L.Callback):
    """Reseeds torch before the first training batch, times batches `warmup` .. `warmup + steps - 1` from the end of
    the batch before them to the end of the last one, records losses and batch fingerprints, then stops the run."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.start = self.end = 0.0
        self.tokens = 0
        self.losses: list[float] = []
        self.batches: list[tuple[int, int, int]] = []

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if batch_idx == 0:
            torch.manual_seed(SEED)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.losses.append(float(outputs["loss"]))
        self.batches.append(fingerprint(batch))
        if batch_idx >= self.warmup:
            self.tokens += int(batch["lengths"].sum())
        if batch_idx == self.warmup - 1:
            self.start = time.perf_counter()
        if batch_idx == self.warmup + self.steps - 1:
            self.end = time.perf_counter()
            raise _Stop


def training_config(overrides: list[str], run_dir: Path) -> DictConfig:
    cfg = compose_config("train", ["task=sentiment", *overrides])
    with open_dict(cfg):
        cfg.paths.run_dir = str(run_dir)
    return cfg


@contextlib.contextmanager
def root_handlers_kept() -> Iterator[None]:
    """The root logger's handlers and level as they were: `train` in a process without logging set up adds its own
    (textgru.distributed.log_in_a_spawned_rank: a console on the stderr of the moment, here /dev/null, and the run's
    train.log) and leaves them, so the plain loop's log lines hit a closed file ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def pipeline(overrides: list[str], warmup: int, steps: int, workdir: Path) -> dict[str, Any]:
    """The default run's training (`textgru.training.train`), timed by `StepClock`."""
    clock = StepClock(warmup, steps)
    cfg = training_config(overrides, workdir / f"pipeline-{time.monotonic_ns()}")
    with (
        open(os.devnull, "w") as devnull,
        contextlib.redirect_stdout(devnull),  # the model summary and progress bar
        contextlib.redirect_stderr(devnull),
        root_handlers_kept(),
    ):
        try:
            train(cfg, extra_callbacks=[clock])
        except _Stop:
            pass
    if not clock.end:
        raise SystemExit("the pipeline run ended before the timed batches (an epoch shorter than warmup + steps?)")
    return {
        "seconds": clock.end - clock.start,
        "tokens": clock.tokens,
        "losses": clock.losses,
        "batches": clock.batches,
    }


def warmup_cosine_factor(step: int, total: int, warmup_ratio: float, min_lr_ratio: float) -> float:
    """Linear warm-up, then cosine decay: the factor on the peak learning rate at optimizer step `step`."""
    warmup = max(1, int(total * warmup_ratio))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


PLAIN_LOOP = "optimizer=adamw, scheduler=warmup_cosine and trainer.gradient_clip_val=1.0"


def unsupported(cfg: DictConfig) -> str | None:
    """Why the plain loop cannot do what `cfg`'s run does, or None. It writes the classifier's step, AdamW, the warm-up
    + cosine schedule and clipping at 1.0 by hand (their numbers, lr, weight_decay, warmup_ratio, min_lr_ratio, are
    read from `cfg`)."""
    if cfg.task.name != "sentiment":  # a review: task=lm loaded its data and trained, then a KeyError on "lengths"
        return f"the benchmark measures task=sentiment's training step; these overrides give task={cfg.task.name}"
    optimizer = cfg.optimizer._target_ if cfg.optimizer is not None else None
    scheduler = cfg.scheduler._target_ if cfg.scheduler is not None else None
    clip = cfg.trainer.get("gradient_clip_val")
    got = [
        *([f"optimizer {optimizer}"] if optimizer != "torch.optim.AdamW" else []),
        *([f"scheduler {scheduler or 'none'}"] if scheduler != "textgru.optim.warmup_cosine" else []),
        *([f"trainer.gradient_clip_val={clip}"] if clip is None or float(clip) != 1.0 else []),
    ]
    if not got:
        return None
    return f"the plain loop does only {PLAIN_LOOP} by hand; these overrides give {', '.join(got)}"


def plain_loop(overrides: list[str], warmup: int, steps: int, workdir: Path) -> dict[str, Any]:
    """The same training step written by hand."""
    cfg = training_config(overrides, workdir / "unused")
    if why := unsupported(cfg):  # main refuses these before anything trains
        raise SystemExit(f"error: {why}")
    L.seed_everything(cfg.seed, verbose=False)
    dm, task = build(cfg)  # the model exactly as the run builds it (GloVe rows included)
    model = task.model.train()
    loader = DataLoader(
        dm.examples["train"],
        batch_sampler=LengthBucketBatchSampler(dm.lengths["train"], cfg.data.batch_size, seed=cfg.seed),
        collate_fn=partial(pad_collate, pad_id=dm.pad_id),
    )
    total_steps = int(cfg.trainer.max_epochs) * len(loader)  # what the schedule spans in the run
    params = [p for p in model.parameters() if p.requires_grad]
    peak_lr = float(cfg.optimizer.lr)
    optimizer = torch.optim.AdamW(params, lr=peak_lr, weight_decay=float(cfg.optimizer.weight_decay))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=float(cfg.task.label_smoothing), reduction="sum")
    ema = [p.detach().clone() for p in model.parameters()]  # the exported weights
    decay = float(cfg.task.ema_decay)
    running_loss, correct = torch.zeros(()), torch.zeros((), dtype=torch.long)
    losses, batches, tokens, start = [], [], 0, 0.0
    batch_iter = iter(loader)
    torch.manual_seed(SEED)
    for step in range(warmup + steps):
        if step == warmup:
            start = time.perf_counter()
        batch = next(batch_iter)
        for group in optimizer.param_groups:
            group["lr"] = peak_lr * warmup_cosine_factor(
                step, total_steps, float(cfg.scheduler.warmup_ratio), float(cfg.scheduler.min_lr_ratio)
            )
        logits = model(batch["input_ids"], batch["lengths"])  # (batch, classes)
        loss = loss_fn(logits, batch["labels"]) / len(batch["labels"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        with torch.no_grad():
            d = min(decay, (1.0 + step) / (10.0 + step))
            for avg, p in zip(ema, model.parameters(), strict=True):
                if step == 0:
                    avg.copy_(p)
                else:
                    avg.copy_(d * avg + (1.0 - d) * p)
            running_loss += loss.detach()
            correct += (logits.argmax(-1) == batch["labels"]).sum()
        losses.append(float(loss.detach()))
        batches.append(fingerprint(batch))
        if step >= warmup:
            tokens += int(batch["lengths"].sum())
    return {"seconds": time.perf_counter() - start, "tokens": tokens, "losses": losses, "batches": batches}


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--steps", type=positive_int, default=100, help="timed batches per repeat")
    parser.add_argument("--warmup", type=positive_int, default=10, help="untimed batches first")
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="torch threads (default: torch's, one per core)"
    )
    add_out_argument(parser, "training_throughput.json")
    parser.add_argument("overrides", nargs="*", help="config overrides, as on the `textgru train` command line")
    args = parse_args(parser)
    # a review: the plain loop's bare assert on these came after the pipeline had trained and been timed
    if why := unsupported(training_config(args.overrides, Path("unused"))):
        parser.error(why)
    set_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    runs: dict[str, list[dict[str, Any]]] = {"pipeline": [], "plain": []}
    with tempfile.TemporaryDirectory() as tmp, datasets_quiet():
        for r in range(args.repeats):  # interleaved, so that changes in other load hit both alike
            for name, fn in (("pipeline", pipeline), ("plain", plain_loop)):
                runs[name].append(fn(args.overrides, args.warmup, args.steps, Path(tmp)))
                res = runs[name][-1]
                print(f"  repeat {r + 1} {name:8} {res['tokens'] / res['seconds']:>8,.0f} real tok/s", file=sys.stderr)
    same_batches = all(p["batches"] == q["batches"] for p, q in zip(runs["pipeline"], runs["plain"], strict=True))
    loss_diff = max(
        abs(a - b)
        for p, q in zip(runs["pipeline"], runs["plain"], strict=True)
        for a, b in zip(p["losses"], q["losses"], strict=True)
    )
    tok_s = {k: summary([r["tokens"] / r["seconds"] for r in v]) for k, v in runs.items()}
    ms_step = {k: summary([1000 * r["seconds"] / args.steps for r in v]) for k, v in runs.items()}
    ratio = summary([p["seconds"] / q["seconds"] for p, q in zip(runs["pipeline"], runs["plain"], strict=True)])
    print(f"\ntraining step of `textgru train task=sentiment {' '.join(args.overrides)}`".rstrip("` ") + "`")
    print(
        f"{args.repeats} interleaved repeats of {args.steps} timed batches after {args.warmup} untimed; {machine_line()}"
    )
    print(f"{'':<44} {'real tokens/s: median (min-max)':>34} {'ms/batch: median (min-max)':>30}")
    labels = {"pipeline": "textgru pipeline (Trainer, task, callbacks)", "plain": "plain PyTorch loop, same arithmetic"}
    for k, label in labels.items():
        print(f"{label:<44} {fmt(tok_s[k]):>34} {fmt(ms_step[k], '.1f'):>30}")
    print(
        f"pipeline time / plain time per repeat: median {ratio['median']:.3f} (min {ratio['min']:.3f}, "
        f"max {ratio['max']:.3f})\nsame batches in the same order: {same_batches}; largest per-step loss difference "
        f"{loss_diff:.2e}"
    )
    if not same_batches or loss_diff > 1e-3:
        raise SystemExit("error: the two ways did not train on the same batches with the same arithmetic")
    write_result(
        args.out,
        {
            "overrides": args.overrides,
            "steps": args.steps,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "real_tokens_per_s": tok_s,
            "ms_per_batch": ms_step,
            "pipeline_over_plain_time": ratio,
            "same_batches": same_batches,
            "max_loss_difference": loss_diff,
            "losses_first_repeat": {k: v[0]["losses"] for k, v in runs.items()},
            "tensorboard_installed": importlib.util.find_spec("tensorboard") is not None,
        },
    )


if __name__ == "__main__":
    run_main(main)
