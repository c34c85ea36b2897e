"""How far a run trained and how long it took, over every call of a resumed run: the final step, epochs begun and
what ended training, put among the callback metrics when training ends, and kept in each checkpoint so that a resume
counts the earlier calls' training time, and a run resumed only to be scored reports what its training did (a
review: epochs 0, tokens/s null and "finished in 0 s")."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from textgru.callbacks import TokensPerSecond


class RunProgress(Callback):
    """Puts the final step and epoch count, what ended training, and the seconds earlier calls of the run trained
    (`run/earlier_seconds`) among the callback metrics when training ends: with `ddp_spawn` they are all that comes
    back from the workers (the launching process's loop counters stay at 0). A checkpoint holds the run's training
    seconds (from each call's start of fitting), step, epochs begun and tokens/s until it was saved; a resumed run
    puts them among the callback metrics when fitting starts, so that a run whose training is skipped (resumed only
    to be scored: Lightning skips a fit whose step limit is reached, with its hooks) reports them, from spawned
    workers too (a review)."""

    def __init__(self) -> None:
        self.trainer: L.Trainer | None = None
        self.since: float | None = None  # when this call's fitting started
        self.restored: dict[str, Any] = {}

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.trainer = trainer  # state_dict() is given none
        if stage == "fit":
            self.since = time.perf_counter()

    def state_dict(self) -> dict[str, Any]:
        trainer = self.trainer
        if trainer is None or self.since is None:  # not fitting: nothing of this call to add
            return dict(self.restored)
        timer = next((c for c in trainer.callbacks if isinstance(c, TokensPerSecond)), None)
        rate = timer.rate_so_far(trainer.world_size) if timer is not None else None
        logged = trainer.callback_metrics.get("train/tokens_per_sec")  # an earlier epoch's, where this one is untimed
        return {
            "seconds": float(self.restored.get("seconds", 0.0)) + time.perf_counter() - self.since,
            "global_step": trainer.global_step,
            "epochs": trainer.current_epoch + 1,  # begun: saved before the epoch's end counts it
            "tokens_per_sec": rate if rate is not None else (None if logged is None else float(logged)),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.restored = dict(state_dict)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        saved = self.restored
        if not saved or saved.get("global_step") is None:  # a new run, or a checkpoint that holds none of it
            return
        step = int(saved["global_step"])
        self._put(trainer, step, int(saved.get("epochs", 0)), "max_steps" if step == trainer.max_steps else None)
        if saved.get("tokens_per_sec") is not None:
            trainer.callback_metrics["train/tokens_per_sec"] = torch.tensor(float(saved["tokens_per_sec"]))

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from textgru.stopping import stop_reason

        reason = stop_reason(trainer) if trainer.is_global_zero else None  # the pruner's verdict is rank zero's
        epochs = trainer.current_epoch  # resumed only to be scored (early stopping had ended it): as the checkpoint's
        if trainer.global_step == self.restored.get("global_step"):
            epochs = max(epochs, int(self.restored.get("epochs", 0)))
        self._put(trainer, trainer.global_step, epochs, reason)

    def _put(self, trainer: L.Trainer, step: int, epochs: int, reason: str | None) -> None:
        from textgru.stopping import STOP_REASONS

        trainer.callback_metrics["run/global_step"] = torch.tensor(float(step))
        trainer.callback_metrics["run/epochs"] = torch.tensor(float(epochs))
        trainer.callback_metrics["run/earlier_seconds"] = torch.tensor(float(self.restored.get("seconds", 0.0)))
        if reason is not None:
            code = STOP_REASONS.index(reason if reason in STOP_REASONS else "other")  # an index: metrics are tensors
            trainer.callback_metrics["run/stop_reason"] = torch.tensor(float(code))


def training_seconds(progress: dict[str, Any], this_call: float, resumed_at: int | None = None) -> float:
    """The run's training seconds: this call's fit and its earlier calls' (`run/earlier_seconds`, from the checkpoint
    it resumed from at step `resumed_at`); a call that trained no step (resumed only to be scored) adds none."""
    step = progress.get("run/global_step")
    if resumed_at is not None and step is not None and int(step) == resumed_at:
        this_call = 0.0
    return this_call + float(progress.get("run/earlier_seconds", 0.0))
