"""A sum of a stage's scores kept and added in float64, summed over ranks: torchmetrics' `SumMetric().set_dtype(
torch.float64)` casts each value to its dtype, which any move of the module (Lightning's `.to(device)`) sets back to
float32, so every added value passed through float32 (a review: a forecaster's naive squared errors of 3.45e38 in one batch were
inf, and metrics.json said Infinity, for a series within the documented 1e18 limit)."""

from __future__ import annotations

import torch
from torchmetrics import Metric


class Float64Sum(Metric):
    """`update(value)` adds `value`'s sum in float64; `compute()` is the float64 total (over ranks)."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, value: torch.Tensor | float) -> None:
        # reassigned in float64: `module.to(torch.float32)` converts a metric's states too
        self.total = self.total.double() + torch.as_tensor(value, device=self.total.device).double().sum()

    def compute(self) -> torch.Tensor:
        return self.total.double()
