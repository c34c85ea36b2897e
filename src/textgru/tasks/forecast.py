"""`task=forecast`: a stacked GRU reads `data.window` past values of a time series and predicts the next one.

A series (a synthetic sine or your own CSV) split in time, normalised with the training span's statistics, cut
into windows -> `GRUForecaster`; one-step MSE training on normalised values; validation and test score the
`horizon`-step roll-out in the series' own units (MSE, MAE), and the test also scores the naive last-value and
the least-squares linear-AR baselines on the same windows; learning curves and `forecast.png` in the run folder.
No tokenizer: the checkpoint carries the normalisation instead."""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig
from torch import nn
from torch.nn import functional as F

from textgru.checkpoint import checkpoint_extras
from textgru.console import command_arg
from textgru.data.forecast_datamodule import ForecastDataModule
from textgru.models.forecast_baselines import LinearAR, naive_forecast
from textgru.run_folder import RunFolder
from textgru.tasks.base import (
    TaskModule,
    build_model,
    build_optimizer,
    build_scheduler,
    count_parameters,
    model_args,
    plain,
)
from textgru.tasks.float64_sum import Float64Sum

log = logging.getLogger(__name__)
METRICS = ("loss", "mse", "mae")  # loss: MSE on normalised values; mse, mae: in the series' own units


def validation_metrics(cfg: DictConfig) -> list[str]:
    """The validation metrics this task logs (what `optimized_metric` may name)."""
    return [f"val/{m}" for m in METRICS]


def next_commands(run: RunFolder) -> list[str]:
    """What to run next with this run's checkpoint (printed when the run ends)."""
    return [
        f"textgru eval {command_arg('ckpt_path', run.best_checkpoint)}",
        f"open {shlex.quote(str(run.forecast_plot))}",
    ]  # a review: a folder with a space


def build(cfg: DictConfig) -> tuple[ForecastDataModule, ForecastTask]:
    """The datamodule (chronological split, training-span normalisation), the linear-AR baseline fitted on the
    training windows, and the LightningModule around a `GRUForecaster`."""
    dm = ForecastDataModule(plain(cfg.data), seed=cfg.seed)
    dm.setup("fit")
    model_cfg = plain(cfg.model)
    model_cfg.update(num_features=dm.num_features)
    model = build_model(model_cfg)
    norm = dm.normalisation()
    extras = checkpoint_extras("forecast", model, model_args(model_cfg), None, None, plain(cfg.data), dm.window)
    extras.update(normalisation=norm, window=dm.window, horizon=dm.horizon)  # the stats read the series' units
    task = ForecastTask(
        model,
        optimizer=build_optimizer(cfg),
        horizon=dm.horizon,
        mean=norm["mean"],
        std=norm["std"],
        scheduler=build_scheduler(cfg),
        ar=LinearAR().fit(*dm.training_windows()),
        checkpoint_extras=extras,
    )
    log.info("model: %s parameters; series columns %s", count_parameters(model), norm["columns"])
    return dm, task


SUMS = ("sq", "abs", "sq_norm", "count")


class ForecastTask(TaskModule):
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
                f"{stage}_{who}_{s}": Float64Sum()
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
        total, n = self.global_sums(sq, count)  # all ranks'
        self.log("train/loss", total / n, on_step=False, on_epoch=True, prog_bar=True, batch_size=int(n))
        return self.global_mean(sq, count, global_count=n)

    def _score(self, stage: str, who: str, pred: torch.Tensor, target: torch.Tensor) -> None:
        # pred, target: (batch, horizon, features), normalised; squared and summed per feature in fp64, then in the
        # series' units (squares of errors far beyond the training spread passed fp32's range: inf metrics)
        diff = (pred - target).double()
        sq, std = diff.pow(2).sum(dim=(0, 1)), self.std.double()  # (features,)
        for name, value in (
            ("sq", (sq * std**2).sum()),
            ("abs", (diff.abs().sum(dim=(0, 1)) * std).sum()),
            ("sq_norm", sq.sum()),
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
            metrics[prefix + "mse"] = get["sq"].compute() / count  # float64: in float32 a series near 1e-25 had an
            metrics[prefix + "mae"] = get["abs"].compute() / count  # MSE of 0 and stopped early (a review)
            if who == "model":
                metrics[f"{stage}/loss"] = get["sq_norm"].compute() / count
            for m in get.values():
                m.reset()
        self.log_dict(metrics, prog_bar=stage == "val")

    def on_validation_epoch_end(self) -> None:
        self._log_eval("val")

    def on_test_epoch_end(self) -> None:
        self._log_eval("test")

    def count_tokens(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = batch["inputs"]  # (batch, window, features): the time steps read
        return torch.tensor(inputs.shape[0] * inputs.shape[1], device=inputs.device)

    @torch.no_grad()
    def write_artifacts(self, datamodule: L.LightningDataModule, run: RunFolder) -> None:
        """Learning curves, and forecast.png: the test span against the model's, the AR's and the naive roll-outs,
        one `horizon`-step roll-out every `horizon` steps (so each test value is forecast once)."""

        from textgru.plots import nan_padded, plot_forecast, plot_learning_curves, rollouts_caption

        plot_learning_curves(run.metrics_csv, run.learning_curves, metrics=("loss", "mse", "mae"))
        dm, h = datamodule, self.horizon
        ds = dm.datasets["test"]
        lo, hi = dm.spans["test"]
        picks = list(range(0, len(ds), h))
        window = ds.stacked(picks)[0].to(self.device)  # (n, window, features)
        was_training = self.model.training
        self.model.eval()
        runs = {  # in batches: 150k test windows of a 1M-row series in one took 53 s and 5.8 GB (a review)
            name: torch.cat([model.rollout(part, h) for part in window.split(dm.eval_batch_size)])
            for name, model in (("GRU", self.model), ("linear AR", self.ar))
        }
        self.model.train(was_training)
        runs["last value"] = naive_forecast(window, h)
        forecasts = {  # (n, horizon, features) -> (test rows, features), NaN past the last roll-out
            name: nan_padded(dm.denormalise(pred.reshape(-1, pred.shape[-1])), hi - lo) for name, pred in runs.items()
        }
        test_mse = float(self.trainer.callback_metrics.get("test/mse", float("nan")))
        plot_forecast(
            dm.series.values[lo:hi],
            forecasts,
            run.forecast_plot,
            dm.series.columns,
            title=f"test span ({hi - lo} steps), {rollouts_caption(h)}: test MSE {test_mse:.4g}",
        )
