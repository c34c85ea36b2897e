"""A multi-layer bidirectional GRU over right-padded batches in which padding never enters either direction.

The forward direction reads each text from its start, so the padding after its end cannot reach its real
positions. The backward direction reads each text reversed *within its own length* (padding stays at the
right), so it too starts at the text's real end. This is exact without `pack_padded_sequence`, which trains
about 2.3x slower on CPU on the same batches of texts of 8-128 tokens (1.1-1.3x on tweets, within the noise of a
busy machine; bench/batching_throughput.py).

Without gradients (prediction, validation) a native GRU runs over packed sequences when padding is more than a
tenth of the batch: then no step is spent on padding (64 texts of 4-44 tokens: 1.5-1.7x faster on this CPU; on
batches of near-equal lengths packing gains nothing, so they stay padded). Both ways give the same outputs at every
real position; the positions past a text's end, which nothing reads, are zeros when packed.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textgru.models.gru_cell import build_gru

PACK_ABOVE_PADDING = 0.1  # pack (without gradients) when padding is more than this share of the batch's positions


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of `x` (batch, time, ...) within its length; positions past it stay put."""
    batch, time = x.shape[:2]
    t = torch.arange(time, device=x.device).unsqueeze(0)  # (1, time)
    lens = lengths.to(x.device).unsqueeze(1)  # (batch, 1)
    idx = torch.where(t < lens, lens - 1 - t, t)  # (batch, time)
    idx = idx.view(batch, time, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, idx)


class BiGRU(nn.Module):
    """Stacked bidirectional GRU; `forward(x, lengths) -> (batch, time, 2*hidden)` outputs. `rnn`: `native`
    (`nn.GRU`) or `reference` (`ReferenceGRU`, the GRU from its equations); same weights, same outputs."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = True,
        rnn: str = "native",
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size * self.num_directions
            self.forward_layers.append(build_gru(rnn, size, hidden_size, batch_first=True))
            if bidirectional:
                self.backward_layers.append(build_gru(rnn, size, hidden_size, batch_first=True))
        self.dropout = nn.Dropout(dropout)

    @property
    def output_size(self) -> int:
        return self.hidden_size * self.num_directions

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # x: (batch, time, input) right-padded; lengths: (batch,)
        run = self._packed if self._should_pack(x, lengths) else self._padded
        for layer in range(self.num_layers):
            if layer > 0:
                x = self.dropout(x)
            out = run(self.forward_layers[layer], x, lengths)  # (batch, time, hidden)
            if self.num_directions == 2:
                back = run(self.backward_layers[layer], reverse_padded(x, lengths), lengths)
                out = torch.cat([out, reverse_padded(back, lengths)], dim=-1)  # (batch, time, 2*hidden)
            x = out
        return x

    def _should_pack(self, x: torch.Tensor, lengths: torch.Tensor) -> bool:
        """Pack only without gradients (packing trains slower), for `nn.GRU`, and when padding is worth skipping."""
        if torch.is_grad_enabled() or not isinstance(self.forward_layers[0], nn.GRU) or x.shape[0] < 2:
            return False
        return x.shape[0] * x.shape[1] > (1 + PACK_ABOVE_PADDING) * int(lengths.sum())

    @staticmethod
    def _padded(gru: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return gru(x)[0]  # (batch, time, hidden)

    @staticmethod
    def _packed(gru: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(gru(packed)[0], batch_first=True, total_length=x.shape[1])[
            0
        ]  # (batch, time, hidden)
