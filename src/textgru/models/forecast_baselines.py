"""The bars a forecaster must clear: the naive last-value forecast and a linear autoregressive model fitted by
least squares on the same training windows."""

from __future__ import annotations

import torch
from torch import nn


def naive_forecast(window: torch.Tensor, horizon: int) -> torch.Tensor:
    """The window's last value repeated: (batch, time, features) -> (batch, horizon, features)."""
    return window[:, -1:].expand(-1, horizon, -1)


class LinearAR(nn.Module):
    """next value = W · (the whole window, flattened) + b, fitted by least squares (`fit`); rolled out like the
    GRU for longer horizons. Its coefficients are buffers kept out of the state dict."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("coef", torch.zeros(0), persistent=False)  # (time*features + 1, features)

    @torch.no_grad()
    def fit(self, inputs: torch.Tensor, targets: torch.Tensor) -> LinearAR:
        # inputs: (n, time, features); targets: (n, horizon, features), the first step is fitted
        x = inputs.flatten(1).double()  # (n, time*features)
        x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)  # (n, time*features + 1)
        # SVD with a cut-off: a column that is constant (zero once normalised, give or take rounding) or a copy of
        # another leaves a direction the data does not fix; without the cut-off it got huge, noise-fitted weights
        fitted = torch.linalg.lstsq(x, targets[:, 0].double(), rcond=1e-10, driver="gelsd").solution
        self.coef = fitted.float()  # (time*features + 1, features)
        return self

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        x = window.flatten(1)  # (batch, time*features)
        return x @ self.coef[:-1] + self.coef[-1]  # (batch, features)

    def rollout(self, window: torch.Tensor, horizon: int) -> torch.Tensor:
        preds = []
        for _ in range(horizon):
            preds.append(self(window))
            window = torch.cat([window[:, 1:], preds[-1].unsqueeze(1)], dim=1)
        return torch.stack(preds, dim=1)  # (batch, horizon, features)
