"""The language-model LightningModule: truncated BPTT with the hidden state carried between windows;
cross-entropy in nats per token, perplexity and (character models) bits per character."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics import SumMetric

from textgru.data.lm_datamodule import IGNORE_INDEX
from textgru.tasks.base import TextgruTask


class LanguageModelTask(TextgruTask):
    """Wraps a model with `forward(ids, hidden) -> (logits, hidden)`; logs `{stage}/loss|ppl` (and `bpc`)."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        char_level: bool = False,
        checkpoint_extras: dict | None = None,
    ) -> None:
        super().__init__(model, optimizer, scheduler, checkpoint_extras)
        self.char_level = char_level
        # summed loss and target count per evaluation stage: every target weighs the same, synced across ranks
        self.loss_sums = nn.ModuleDict({s: SumMetric().set_dtype(torch.float64) for s in ("val", "test")})
        self.target_counts = nn.ModuleDict({s: SumMetric().set_dtype(torch.float64) for s in ("val", "test")})
        self.hidden: dict[str, torch.Tensor | None] = {}

    def forward(self, ids: torch.Tensor, hidden: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(ids, hidden)

    def _loss_sum(self, batch: dict[str, Any], stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed cross-entropy over the window's real targets, and how many there were; carries the state."""
        hidden = None if batch["reset"] else self.hidden.get(stage)
        logits, hidden = self(batch["input_ids"], hidden)  # (lanes, time, vocab), (layers, lanes, hidden)
        self.hidden[stage] = hidden.detach()  # truncated BPTT: no gradient into the previous window
        targets = batch["targets"]  # (lanes, time)
        loss_sum = F.cross_entropy(
            logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
        )
        return loss_sum, (targets != IGNORE_INDEX).sum()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss_sum, count = self._loss_sum(batch, "train")
        self.log(
            "train/loss",
            loss_sum / count.clamp(min=1),
            on_step=True,
            on_epoch=False,
            prog_bar=True,
            batch_size=batch["targets"].numel(),
        )
        return self.global_mean(loss_sum, count)

    def _eval_step(self, batch: dict[str, Any], stage: str) -> None:
        loss_sum, count = self._loss_sum(batch, stage)
        self.loss_sums[stage].update(loss_sum.double())
        self.target_counts[stage].update(count.double())

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _log_eval(self, stage: str) -> None:
        loss = (self.loss_sums[stage].compute() / self.target_counts[stage].compute().clamp(min=1)).float()
        metrics = {f"{stage}/loss": loss, f"{stage}/ppl": torch.exp(loss.clamp(max=50))}
        if self.char_level:
            metrics[f"{stage}/bpc"] = loss / math.log(2)
        self.log_dict(metrics, prog_bar=stage == "val")
        self.loss_sums[stage].reset()
        self.target_counts[stage].reset()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        if self.hidden.get("train") is not None and self.trainer.world_size == 1:
            checkpoint["train_hidden"] = self.hidden["train"].cpu()  # a resumed run carries the same state on

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        hidden = checkpoint.get("train_hidden")
        self.hidden["train"] = hidden.to(self.device) if hidden is not None else None

    def on_validation_epoch_end(self) -> None:
        self._log_eval("val")

    def on_test_epoch_end(self) -> None:
        self._log_eval("test")
