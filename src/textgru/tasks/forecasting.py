"""The forecasting LightningModule: one-step MSE training on normalised values; validation and test score the
`horizon`-step roll-out in the series' own units (MSE, MAE), and the test also scores the naive and linear-AR
baselines on the same windows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics import SumMetric

from textgru.models.forecast_baselines import LinearAR, naive_forecast
from textgru.tasks.base import TextgruTask

SUMS = ("sq", "abs", "sq_norm", "count")


class ForecastTask(TextgruTask):
    """Wraps a model with `forward(window) -> next` and `rollout(window, horizon)`; logs `{stage}/loss` (normalised
    MSE), `{stage}/mse`, `{stage}/mae` and, on test, `test/naive_mse|mae`, `test/ar_mse|mae`."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        horizon: int,
        mean: Sequence[float],
        std: Sequence[float],
        scheduler: Callable[..., Any] | None = None,
        ar: LinearAR | None = None,
        checkpoint_extras: dict | None = None,
    ) -> None:
        super().__init__(model, optimizer, scheduler, checkpoint_extras)
        self.horizon = horizon
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32), persistent=False)  # (features,)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32), persistent=False)  # (features,)
        self.ar = ar
        self.sums = nn.ModuleDict(
            {
                f"{stage}_{who}_{s}": SumMetric().set_dtype(torch.float64)
                for stage, who in (("val", "model"), ("test", "model"), ("test", "naive"), ("test", "ar"))
                for s in SUMS
            }
        )

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        return self.model(window)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        pred = self(batch["inputs"])  # (batch, features)
        target = batch["targets"][:, 0]  # (batch, features): the next value
        sq = F.mse_loss(pred, target, reduction="sum")
        count = torch.tensor(float(target.numel()), device=sq.device)
        self.log("train/loss", sq / count, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(target))
        return self.global_mean(sq, count)

    def _score(self, stage: str, who: str, pred: torch.Tensor, target: torch.Tensor) -> None:
        # pred, target: (batch, horizon, features), normalised
        diff = (pred - target) * self.std  # in the series' units
        for name, value in (
            ("sq", diff.pow(2).sum()),
            ("abs", diff.abs().sum()),
            ("sq_norm", (pred - target).pow(2).sum()),
            ("count", float(diff.numel())),
        ):
            self.sums[f"{stage}_{who}_{name}"].update(torch.as_tensor(value, dtype=torch.float64, device=pred.device))

    def _eval_step(self, batch: dict[str, torch.Tensor], stage: str) -> None:
        window, target = batch["inputs"], batch["targets"]  # (batch, time, features), (batch, horizon, features)
        self._score(stage, "model", self.model.rollout(window, self.horizon), target)
        if stage == "test":
            self._score(stage, "naive", naive_forecast(window, self.horizon), target)
            if self.ar is not None:
                self._score(stage, "ar", self.ar.rollout(window, self.horizon), target)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _log_eval(self, stage: str) -> None:
        metrics = {}
        for who in ("model", "naive", "ar"):
            if f"{stage}_{who}_count" not in self.sums or (who == "ar" and self.ar is None):
                continue
            get = {s: self.sums[f"{stage}_{who}_{s}"] for s in SUMS}
            count = get["count"].compute().clamp(min=1)
            prefix = f"{stage}/" if who == "model" else f"{stage}/{who}_"
            metrics[prefix + "mse"] = (get["sq"].compute() / count).float()
            metrics[prefix + "mae"] = (get["abs"].compute() / count).float()
            if who == "model":
                metrics[f"{stage}/loss"] = (get["sq_norm"].compute() / count).float()
            for m in get.values():
                m.reset()
        self.log_dict(metrics, prog_bar=stage == "val")

    def on_validation_epoch_end(self) -> None:
        self._log_eval("val")

    def on_test_epoch_end(self) -> None:
        self._log_eval("test")
