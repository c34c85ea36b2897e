"""Pool GRU outputs (batch, time, features) over each text's real positions into (batch, features')."""

from __future__ import annotations

import torch
from torch import nn

POOLINGS = ("last", "mean", "max", "meanmax", "attention")


class Pooling(nn.Module):
    """`last` (forward state at the end + backward state at the start), `mean`, `max`, `meanmax`, `attention`."""

    def __init__(self, kind: str, features: int, bidirectional: bool = True) -> None:
        super().__init__()
        if kind not in POOLINGS:
            raise ValueError(f"unknown model.pooling {kind!r}; use one of {', '.join(POOLINGS)}")
        self.kind = kind
        self.bidirectional = bidirectional
        self.attention = nn.Linear(features, 1) if kind == "attention" else None
        self.output_size = features * (2 if kind == "meanmax" else 1)

    def forward(self, h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # h: (batch, time, features); lengths: (batch,)
        batch, time, features = h.shape
        mask = torch.arange(time, device=h.device).unsqueeze(0) < lengths.to(h.device).unsqueeze(1)  # (batch, time)
        if self.kind == "last":
            last = h[torch.arange(batch, device=h.device), lengths.to(h.device) - 1]  # (batch, features)
            if not self.bidirectional:
                return last
            half = features // 2
            return torch.cat([last[:, :half], h[:, 0, half:]], dim=-1)
        m = mask.unsqueeze(-1).to(h.dtype)  # (batch, time, 1)
        mean = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
        if self.kind == "mean":
            return mean
        mx = h.masked_fill(~mask.unsqueeze(-1), torch.finfo(h.dtype).min).amax(1)
        if self.kind == "max":
            return mx
        if self.kind == "meanmax":
            return torch.cat([mean, mx], dim=-1)
        scores = self.attention(h).squeeze(-1).masked_fill(~mask, torch.finfo(h.dtype).min)  # (batch, time)
        weights = torch.softmax(scores, dim=1).unsqueeze(-1)
        return (weights * h).sum(1)
