"""The matrices `FusedGRUClassifier` (`fused_bigru.py`) multiplies, made from a `GRUClassifier`'s GRU weights: each
layer's input part and hidden part, every direction stacked; the first layer's per-token table, and when it is made."""

from __future__ import annotations

import torch
from torch import nn

from textgru.models.gru_classifier import GRUClassifier

TABLE_BYTES = 128 * 2**20  # the per-token table and the embedding's copy up to this size (the default model's: 79 MB)


def directions(model: GRUClassifier, layer: int) -> list[nn.Module]:
    """The layer's GRU of each direction: forward, then backward when bidirectional."""
    rnn = model.rnn
    return [rnn.forward_layers[layer]] + ([rnn.backward_layers[layer]] if rnn.num_directions == 2 else [])


def gru_tensors(model: GRUClassifier) -> list[torch.Tensor] | None:
    """The GRU weights the loop copies, layer by layer and direction by direction (None: a layer is not an `nn.GRU`)."""
    grus = [g for layer in range(model.rnn.num_layers) for g in directions(model, layer)]
    if not all(isinstance(g, nn.GRU) for g in grus):
        return None
    biases = [(g.bias_ih_l0, g.bias_hh_l0) if g.bias else () for g in grus]
    return [t for g, b in zip(grus, biases, strict=True) for t in (g.weight_ih_l0, g.weight_hh_l0, *b)]


def layer_parts(model: GRUClassifier, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The GRU layer's input part (directions, inputs + 1, 3*hidden), fp32: [x, 1] times it gives [the reset and
    update gates' x part with both their biases, 2 (W_in x + b_in)]; and its hidden part (directions,
    1 + hidden, 3*hidden): [1, h] times it gives [their h part, 2 (W_hn h + b_hn)]. The n gate keeps its two
    halves apart, doubled for tanh."""
    hidden, input_parts, hidden_parts = model.rnn.hidden_size, [], []
    with torch.no_grad():
        for g in directions(model, layer):
            w_ih, w_hh = g.weight_ih_l0.float(), g.weight_hh_l0.float()  # (3*hidden, inputs), (3*hidden, hidden)
            b_ih, b_hh = (g.bias_ih_l0.float(), g.bias_hh_l0.float()) if g.bias else (w_ih.new_zeros(3 * hidden),) * 2
            rz, n = slice(0, 2 * hidden), slice(2 * hidden, 3 * hidden)
            x = torch.cat([w_ih.t(), (b_ih + torch.cat([b_hh[rz], b_hh.new_zeros(hidden)])).unsqueeze(0)])
            x[:, n] *= 2
            h = torch.cat([b_hh.new_zeros(1, 3 * hidden), w_hh.t()])
            h[0, n], h[1:, n] = 2 * b_hh[n], 2 * w_hh[n].t()
            input_parts.append(x)
            hidden_parts.append(h)
    return torch.stack(input_parts), torch.stack(hidden_parts)


def table_fits(model: GRUClassifier) -> bool:
    """Whether the first layer's input part is looked up per token: the embedding is a plain `nn.Embedding` lookup
    (no subclass, `max_norm` or hooks: the table does not run its forward) and the table with the embedding's copy fits in `TABLE_BYTES`."""
    embedding, rnn = model.embedding, model.rnn
    if type(embedding) is not nn.Embedding or embedding.max_norm is not None:
        return False
    rows, width = embedding.weight.shape
    plain = not embedding._forward_hooks and not embedding._forward_pre_hooks
    return plain and rows * (rnn.num_directions * 3 * rnn.hidden_size + width) * 4 <= TABLE_BYTES


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal in device, dtype, shape and value, NaN equal to NaN (a NaN weight would otherwise look changed at every
    call)."""
    if a.device != b.device or a.dtype != b.dtype or a.shape != b.shape:
        return False
    return torch.equal(a, b) or bool(((a == b) | (a.isnan() & b.isnan())).all())


def token_table(model: GRUClassifier, input_part: torch.Tensor) -> torch.Tensor:
    """(vocabulary, directions, 3*hidden), fp32: each token's [embedding, 1] times the first layer's input part."""
    weight = model.embedding.weight
    with torch.no_grad():
        rows = torch.cat([weight.float(), weight.new_ones(len(weight), 1)], 1)
        return torch.einsum("ve,dec->vdc", rows, input_part).contiguous()
