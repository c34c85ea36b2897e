"""The GRU written from its equations (`ReferenceGRUCell`, `ReferenceGRU`), a drop-in for `nn.GRU` that is slower
but readable and easy to vary; `build_gru(rnn, ...)` picks it (`model.rnn=reference`) or `nn.GRU` (`native`)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from textgru.errors import TextgruError


def gru_step(gi: torch.Tensor, h: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor | None) -> torch.Tensor:
    """One GRU step in PyTorch's convention, one line per gate:

        r  = σ(W_ir x + b_ir + W_hr h + b_hr)              reset gate
        z  = σ(W_iz x + b_iz + W_hz h + b_hz)              update gate
        n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))     candidate state
        h' = (1 − z) ⊙ n + z ⊙ h                           new state

    `gi` is the input part `W_i x + b_i` (batch, 3*hidden), rows in the order r, z, n (computed for every
    step at once by the layer); `h` is (batch, hidden).

    The other common way of writing the last line, h' = (1 − z') ⊙ h + z' ⊙ n (Cho et al. 2014, many
    textbooks), is the same cell: put z' = 1 − z, i.e. z' = σ(−(W_iz x + b_iz + W_hz h + b_hz)), so
    (1 − z') ⊙ h + z' ⊙ n = z ⊙ h + (1 − z) ⊙ n. Negating the update gate's weights and biases turns one
    convention's parameters into the other's; nothing else changes.
    """
    i_r, i_z, i_n = gi.chunk(3, dim=-1)  # (batch, hidden) each: W_ir x + b_ir, W_iz x + b_iz, W_in x + b_in
    gh = h @ weight_hh.t() if bias_hh is None else torch.addmm(bias_hh, h, weight_hh.t())  # (batch, 3*hidden)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)  # W_hr h + b_hr, W_hz h + b_hz, W_hn h + b_hn
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def _input_part(x: torch.Tensor, weight_ih: torch.Tensor, bias_ih: torch.Tensor | None) -> torch.Tensor:
    """W_i x + b_i for every position of `x` (..., input) at once: (..., 3*hidden)."""
    return nn.functional.linear(x, weight_ih, bias_ih)


class ReferenceGRUCell(nn.Module):
    """`nn.GRUCell`'s arguments and parameter names; `forward(x, h) -> h'` with `gru_step`'s equations."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size, **kw)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size, **kw)) if bias else None
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        # x: (batch, input); h: (batch, hidden)
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        return gru_step(_input_part(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)


class ReferenceGRU(nn.Module):
    """`nn.GRU` from the equations: the same constructor arguments and parameter names (`weight_ih_l0`,
    `bias_hh_l1_reverse`, ...), so `load_state_dict(nn_gru.state_dict())` works both ways, and the same
    `forward(input, hx) -> (output, h_n)` for padded, unbatched or packed input.

    `forward(..., lengths=)` reads a right-padded batch exactly as if it were packed: each sequence's state
    stops at its last real step (that is its `h_n`), the reverse direction starts at its real end, and
    outputs past the end are zeros.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        kw = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in ("", "_reverse")[: self.num_directions]:
                name = f"l{layer}{suffix}"
                setattr(self, f"weight_ih_{name}", nn.Parameter(torch.empty(3 * hidden_size, size, **kw)))
                setattr(self, f"weight_hh_{name}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw)))
                if bias:
                    setattr(self, f"bias_ih_{name}", nn.Parameter(torch.empty(3 * hidden_size, **kw)))
                    setattr(self, f"bias_hh_{name}", nn.Parameter(torch.empty(3 * hidden_size, **kw)))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _weights(self, layer: int, reverse: bool) -> tuple[torch.Tensor, ...]:
        name = f"l{layer}{'_reverse' if reverse else ''}"
        return (
            getattr(self, f"weight_ih_{name}"),
            getattr(self, f"weight_hh_{name}"),
            getattr(self, f"bias_ih_{name}", None),
            getattr(self, f"bias_hh_{name}", None),
        )

    def _direction(
        self, x: torch.Tensor, h: torch.Tensor, mask: torch.Tensor | None, layer: int, reverse: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # x: (batch, time, input); h: (batch, hidden); mask: (batch, time, 1) real positions, or None
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, reverse)
        gi = _input_part(x, w_ih, b_ih)  # (batch, time, 3*hidden): the input part of every step at once
        steps = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
        outputs: list[torch.Tensor] = [x.new_empty(0)] * x.shape[1]
        for t in steps:
            new = gru_step(gi[:, t], h, w_hh, b_hh)  # (batch, hidden)
            if mask is not None:  # padding: the state waits (reverse: until the real end is reached)
                m = mask[:, t]
                new, h = new * m, torch.where(m.bool(), new, h)
            else:
                h = new
            outputs[t] = new
        return torch.stack(outputs, dim=1), h  # (batch, time, hidden), (batch, hidden)

    def forward(
        self, input: torch.Tensor | PackedSequence, hx: torch.Tensor | None = None, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor | PackedSequence, torch.Tensor]:
        packed = isinstance(input, PackedSequence)
        unbatched = not packed and input.dim() == 2
        if packed:
            sorted_idx, unsorted_idx = input.sorted_indices, input.unsorted_indices
            x, lengths = pad_packed_sequence(input, batch_first=True)  # (batch, time, input), original order
        else:
            x = input.unsqueeze(0 if self.batch_first else 1) if unbatched else input
            x = x if self.batch_first else x.transpose(0, 1)  # (batch, time, input)
            if hx is not None and unbatched:
                hx = hx.unsqueeze(1)
        batch = x.shape[0]
        if hx is None:
            hx = x.new_zeros(self.num_layers * self.num_directions, batch, self.hidden_size)
        mask = None
        if lengths is not None:
            t = torch.arange(x.shape[1], device=x.device)
            mask = (t.unsqueeze(0) < lengths.to(x.device).unsqueeze(1)).unsqueeze(-1).to(x.dtype)  # (batch, time, 1)
        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = nn.functional.dropout(x, self.dropout, training=True)
            outs = []
            for d in range(self.num_directions):
                out, h = self._direction(x, hx[layer * self.num_directions + d], mask, layer, reverse=d == 1)
                outs.append(out)
                finals.append(h)
            x = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]  # (batch, time, directions*hidden)
        h_n = torch.stack(finals, dim=0)  # (layers*directions, batch, hidden)
        if packed:
            if sorted_idx is not None:  # pack in the input's own order (hx and h_n stay in the caller's order)
                x, lengths = x.index_select(0, sorted_idx), lengths.index_select(0, sorted_idx.cpu())
            data = pack_padded_sequence(x, lengths, batch_first=True).data  # (total steps, directions*hidden)
            return PackedSequence(data, input.batch_sizes, sorted_idx, unsorted_idx), h_n
        if unbatched:
            return x.squeeze(0), h_n.squeeze(1)
        return (x if self.batch_first else x.transpose(0, 1)), h_n

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, batch_first={self.batch_first}, "
            f"bidirectional={self.bidirectional}, dropout={self.dropout}"
        )


def build_gru(rnn: str, input_size: int, hidden_size: int, **kwargs) -> nn.Module:
    """`nn.GRU` (`rnn="native"`, fast) or `ReferenceGRU` (`"reference"`, from the equations), same arguments."""
    if rnn == "native":
        return nn.GRU(input_size, hidden_size, **kwargs)
    if rnn == "reference":
        return ReferenceGRU(input_size, hidden_size, **kwargs)
    raise TextgruError(
        f"unknown model.rnn {rnn!r}; use model.rnn=native (torch's nn.GRU) or model.rnn=reference "
        "(the GRU written from its equations)"
    )
