"""Stacked GRU forecaster: a window of past values -> the next value; rolled out step by step for longer horizons."""

from __future__ import annotations

import torch
from torch import nn

from textgru.models.gru_cell import build_gru


class GRUForecaster(nn.Module):
    """`forward(window) -> next value (batch, features)`; `rollout(window, horizon) -> (batch, horizon, features)`.

    The GRU reads the window (optionally in both directions); a linear head maps its final state(s) to the
    next value, or to the change from the window's last value when `predict_change`. Several steps ahead,
    each prediction is fed back as the next input: one GRU step with the state carried (like text generation)
    for a one-way GRU, the window slid forward and read again for a bidirectional one.
    """

    def __init__(
        self,
        num_features: int = 1,
        hidden_size: int = 64,
        num_layers: int = 2,
        bidirectional: bool = False,
        dropout: float = 0.0,
        predict_change: bool = False,
        rnn: str = "native",
    ) -> None:
        super().__init__()
        self.num_features, self.predict_change = num_features, predict_change
        self.num_directions = 2 if bidirectional else 1
        self.gru = build_gru(
            rnn,
            num_features,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden_size * self.num_directions, num_features)

    def _predict(self, h_n: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        # h_n: (layers*directions, batch, hidden); last: (batch, features), the latest value read
        top = torch.cat(list(h_n[-self.num_directions :]), dim=-1)  # (batch, directions*hidden): the top layer
        out = self.head(top)  # (batch, features)
        return last + out if self.predict_change else out

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        # window: (batch, time, features)
        _, h_n = self.gru(window)
        return self._predict(h_n, window[:, -1])  # (batch, features)

    def rollout(self, window: torch.Tensor, horizon: int) -> torch.Tensor:
        """`horizon` values after `window` (batch, time, features), each fed back in: (batch, horizon, features)."""
        _, h_n = self.gru(window)
        pred = self._predict(h_n, window[:, -1])
        preds = [pred]
        for _ in range(horizon - 1):
            if self.num_directions == 1:
                _, h_n = self.gru(pred.unsqueeze(1), h_n)  # one step, state carried
            else:
                window = torch.cat([window[:, 1:], pred.unsqueeze(1)], dim=1)  # (batch, time, features), slid by one
                _, h_n = self.gru(window)
            pred = self._predict(h_n, pred)
            preds.append(pred)
        return torch.stack(preds, dim=1)
