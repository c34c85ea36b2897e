"""The classification LightningModule: cross-entropy, accuracy and macro-F1, optimizer + per-step schedule."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

from textgru.tasks.base import TextgruTask


def ema_update(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor, decay: float) -> torch.Tensor:
    """Exponential moving average whose decay warms up as (1 + n) / (10 + n), capped at `decay`, so that
    short runs average their recent weights instead of staying near the initial ones."""
    n = float(num_averaged)
    d = min(decay, (1.0 + n) / (10.0 + n))
    return d * averaged + (1.0 - d) * current


class ClassificationTask(TextgruTask):
    """Wraps a classifier `nn.Module` taking `(input_ids, lengths)`; logs `{stage}/loss|accuracy|macro_f1`."""

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        ema_decay: float | None = None,
        checkpoint_extras: dict | None = None,
    ) -> None:
        super().__init__(model, optimizer, scheduler, checkpoint_extras)
        # an exponential moving average of the weights scores validation/test and is what gets exported
        self.ema = AveragedModel(model, avg_fn=partial(ema_update, decay=ema_decay)) if ema_decay else None
        if self.ema is not None:
            self.ema.requires_grad_(False)  # averaged, not trained (and so not a DDP-synchronised parameter)
        self.num_classes = num_classes
        weight = torch.tensor(class_weights, dtype=torch.float) if class_weights else None
        self.register_buffer("class_weight", weight)
        # summed, then divided by the summed weight of the batch (its size when unweighted): the mean
        self.loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing, reduction="sum")
        self.eval_losses = nn.ModuleDict({s: MeanMetric() for s in ("val", "test")})  # synchronised across ranks
        metrics = MetricCollection(
            {
                "accuracy": MulticlassAccuracy(num_classes, average="micro"),
                "macro_f1": MulticlassF1Score(num_classes, average="macro"),
            }
        )
        self.metrics = nn.ModuleDict({f"{s}_metrics": metrics.clone(prefix=f"{s}/") for s in ("train", "val", "test")})
        self.test_confusion = MulticlassConfusionMatrix(num_classes)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        model = self.ema.module if self.ema is not None and not self.training else self.model
        return model(input_ids, lengths)

    def on_train_epoch_start(self) -> None:
        # Lightning sets the epoch on samplers, not on batch samplers: a new bucket order every epoch
        batch_sampler = getattr(self.trainer.train_dataloader, "batch_sampler", None)
        if hasattr(batch_sampler, "set_epoch"):
            batch_sampler.set_epoch(self.current_epoch)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        if self.ema is not None:  # here, not in on_train_batch_end: a checkpoint saved after the batch includes it
            self.ema.update_parameters(self.model)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        labels = batch["labels"]
        logits = self(batch["input_ids"], batch["lengths"])  # (batch, classes)
        loss_sum = self.loss_fn(logits, labels)
        weight = (
            self.class_weight[labels].sum()
            if self.class_weight is not None
            else labels.new_tensor(len(labels), dtype=torch.float)
        )
        preds = logits.argmax(-1)
        self.metrics[f"{stage}_metrics"].update(preds, labels)
        if stage == "train":
            loss = self.global_mean(loss_sum, weight)
            self.log("train/loss", loss_sum / weight, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(preds))
        else:
            loss = loss_sum / weight
            self.eval_losses[stage].update(loss, weight=weight)
            self.log(f"{stage}/loss", self.eval_losses[stage], on_step=False, on_epoch=True, prog_bar=stage == "val")
        self.log_dict(self.metrics[f"{stage}_metrics"], on_step=False, on_epoch=True, prog_bar=stage == "val")
        if stage == "test":
            self.test_confusion.update(preds, batch["labels"])
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_start(self) -> None:
        self.test_confusion.reset()

    def on_test_epoch_end(self) -> None:
        # computed on every rank (the counts are summed across ranks); rank zero plots it after testing
        self.test_confusion_result = self.test_confusion.compute().tolist()
