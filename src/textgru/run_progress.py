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
    seconds, epochs begun and tokens/s until it was saved; `restored` is what the resumed one held."""

    def __init__(self) -> None:
        self.trainer: L.Trainer | None = None
        self.since: float | None = None  # when this call's training started
        self.restored: dict[str, Any] = {}

    @property
    def earlier_seconds(self) -> float:
        return float(self.restored.get("seconds", 0.0))

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.trainer = trainer  # state_dict() is given none

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.since = time.perf_counter()

    def state_dict(self) -> dict[str, Any]:
        trainer = self.trainer
        if trainer is None or self.since is None:  # not training: nothing of this call to add
            return dict(self.restored)
        timer = next((c for c in trainer.callbacks if isinstance(c, TokensPerSecond)), None)
        rate = timer.rate_so_far(trainer.world_size) if timer is not None else None
        logged = trainer.callback_metrics.get("train/tokens_per_sec")  # an earlier epoch's, where this one is untimed
        return {
            "seconds": self.earlier_seconds + time.perf_counter() - self.since,
            "epochs": trainer.current_epoch + 1,  # begun: saved before the epoch's end counts it
            "tokens_per_sec": rate if rate is not None else (None if logged is None else float(logged)),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.restored = dict(state_dict)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from textgru.stopping import STOP_REASONS, stop_reason

        trainer.callback_metrics["run/global_step"] = torch.tensor(float(trainer.global_step))
        trainer.callback_metrics["run/epochs"] = torch.tensor(float(trainer.current_epoch))
        trainer.callback_metrics["run/earlier_seconds"] = torch.tensor(self.earlier_seconds)
        if trainer.is_global_zero:  # here, where the loop's state is real (the pruner's verdict is rank zero's)
            reason = stop_reason(trainer)
            code = STOP_REASONS.index(reason if reason in STOP_REASONS else "other")  # an index: metrics are tensors
            trainer.callback_metrics["run/stop_reason"] = torch.tensor(float(code))

    def fill(self, progress: dict[str, Any], this_call: float) -> float:
        """The run's training seconds, this call's and the earlier calls'; `progress` gets the epochs and tokens/s the
        checkpoint held where training did not run now (a resume of a run stopped while scoring: Lightning skips a
        fit whose step limit is reached, with its hooks)."""
        if "run/epochs" not in progress:
            for key, saved in (("run/epochs", "epochs"), ("train/tokens_per_sec", "tokens_per_sec")):
                if self.restored.get(saved) is not None:
                    progress[key] = self.restored[saved]
        return this_call + float(progress.get("run/earlier_seconds", self.earlier_seconds))
