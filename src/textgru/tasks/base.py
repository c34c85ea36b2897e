"""What every textgru LightningModule shares: optimizer + per-step schedule, and self-contained checkpoints."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import nn

from textgru.errors import TextgruError


class TextgruTask(L.LightningModule):
    """Holds `model`; builds the optimizer from a `_partial_` factory and the schedule over the run's steps;
    stores `checkpoint_extras` (tokenizer, labels, model config) in every checkpoint."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        checkpoint_extras: dict | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.checkpoint_extras = checkpoint_extras or {}

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(params=self.model.parameters())
        if self.scheduler_factory is None:
            return optimizer
        steps = self.trainer.estimated_stepping_batches
        if not math.isfinite(steps):
            raise TextgruError(
                "the learning-rate schedule needs a finite run: set trainer.max_epochs (or max_steps), "
                "or scheduler=none"
            )
        scheduler = self.scheduler_factory(optimizer=optimizer, num_training_steps=int(steps))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def global_mean(self, total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """`total / count` for one process; under data-parallel training this rank's `total` divided by the count
        over all ranks, times the world size, so that DDP's average of the ranks' gradients is exactly the
        gradient of the mean over the global batch (the same step one process takes)."""
        world = self._trainer.world_size if self._trainer is not None else 1
        if world == 1:
            return total / count.clamp(min=1)
        global_count = self.trainer.strategy.reduce(count.detach().float(), reduce_op="sum")
        return total * world / global_count.clamp(min=1)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["textgru"] = self.checkpoint_extras  # self-contained: loads with weights_only=True
