"""How textgru's GRUs reach ONNX: each GRU layer becomes one ONNX `GRU` operator (onnxruntime's own kernel) through
a custom torch op, `textgru::gru_layer`, with a translation written here, instead of the exporter's `nn.GRU` lowering.

Why not `torch.onnx.export` of `nn.GRU` as it is (torch 2.13, onnxscript 0.7.2)? Its lowering has the right
equations since onnxscript 0.7.1 (`linear_before_reset=1`), but in the exported program the GRU's output keeps the
example's time length as a constant, so shape arithmetic after it (the BiGRU's reverse gather) is baked to that
length and the graph fails for other lengths. The custom op's shape function keeps the time axis symbolic.

The BiGRU becomes one bidirectional `GRU` per layer with `sequence_lens`: ONNX reads the backward direction from
each text's own last token, which is what `textgru.models.bigru` does with its in-length reversal, so padding never
enters either direction. (Outputs past a text's end are zeros in ONNX and padding-driven values in PyTorch; every
pooling reads real positions only, so the pooled features agree.)

Weights are stored in ONNX's layout: gates z, r, n (PyTorch: r, z, n), `W` (dirs, 3H, in), `R` (dirs, 3H, H),
`B` (dirs, 6H) = input biases then hidden biases.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from textgru.models.bigru import BiGRU, reverse_padded


def _to_onnx_gates(m: torch.Tensor) -> torch.Tensor:
    """PyTorch's gate blocks r, z, n (along dim 0) in ONNX's order z, r, n."""
    r, z, n = m.chunk(3, 0)
    return torch.cat([z, r, n], 0)


def _to_torch_gates(m: torch.Tensor) -> torch.Tensor:
    z, r, n = m.chunk(3, 0)
    return torch.cat([r, z, n], 0)


@torch.library.custom_op("textgru::gru_layer", mutates_args=())
def gru_layer(
    x: torch.Tensor, h0: torch.Tensor, w: torch.Tensor, r: torch.Tensor, b: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One GRU layer in ONNX's conventions (the eager body, used when the exported program itself is run).

    x (time, batch, input); h0 (dirs, batch, hidden); `lengths` (batch,) or None. Returns Y (time, batch, dirs,
    hidden), zero past each length, and Y_h (dirs, batch, hidden): each direction's state after its last real step."""
    dirs, hidden = w.shape[0], r.shape[2]
    xb = x.transpose(0, 1)  # (batch, time, input)
    if lengths is None:
        lengths = torch.full((xb.shape[0],), xb.shape[1], dtype=torch.long)
    mask = (torch.arange(xb.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)  # (batch, time, 1)
    outs, states = [], []
    for d in range(dirs):
        params = [
            _to_torch_gates(w[d]),
            _to_torch_gates(r[d]),
            _to_torch_gates(b[d, : 3 * hidden]),
            _to_torch_gates(b[d, 3 * hidden :]),
        ]
        inp = xb if d == 0 else reverse_padded(xb, lengths)
        out, _ = torch._VF.gru(inp, h0[d : d + 1].contiguous(), params, True, 1, 0.0, False, False, True)
        out = (out if d == 0 else reverse_padded(out, lengths)) * mask  # (batch, time, hidden)
        last = out[torch.arange(out.shape[0]), lengths - 1] if d == 0 else out[:, 0]  # (batch, hidden)
        outs.append(out)
        states.append(last)
    return torch.stack(outs, 2).transpose(0, 1).contiguous(), torch.stack(states, 0)


@gru_layer.register_fake
def _gru_layer_shapes(
    x: torch.Tensor, h0: torch.Tensor, w: torch.Tensor, r: torch.Tensor, b: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    time, batch, dirs, hidden = x.shape[0], x.shape[1], w.shape[0], r.shape[2]
    return x.new_empty(time, batch, dirs, hidden), x.new_empty(dirs, batch, hidden)


def gru_layer_to_onnx(x: Any, h0: Any, w: Any, r: Any, b: Any, lengths: Any = None) -> tuple[Any, Any]:
    """The translation of `textgru::gru_layer`: ONNX `GRU` (linear_before_reset=1, PyTorch's cell), `sequence_lens`
    where lengths are given; Y from (time, dirs, batch, hidden) to the op's (time, batch, dirs, hidden)."""
    from onnxscript import opset18 as op

    direction = "bidirectional" if w.shape[0] == 2 else "forward"
    seq_lens = None if lengths is None else op.Cast(lengths, to=6)  # int32, as ONNX requires
    y, y_h = op.GRU(
        x,
        w,
        r,
        b,
        seq_lens,
        h0,
        direction=direction,
        hidden_size=r.shape[2],  # type: ignore[arg-type]
        linear_before_reset=1,
    )
    return op.Transpose(y, perm=[0, 2, 1, 3]), y_h


CUSTOM_TRANSLATIONS: dict[Callable[..., Any], Callable[..., Any]] = {
    torch.ops.textgru.gru_layer.default: gru_layer_to_onnx
}


def _layer_params(
    grus: list[nn.Module], layer: int, suffix: list[str]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """W, R, B in ONNX's layout for one layer from `nn.GRU`/`ReferenceGRU` modules (one per direction)."""
    named = [dict(g.named_parameters()) for g in grus]
    tag = f"l{layer}"
    w = torch.stack([_to_onnx_gates(p[f"weight_ih_{tag}{s}"].detach()) for p, s in zip(named, suffix, strict=True)])
    r = torch.stack([_to_onnx_gates(p[f"weight_hh_{tag}{s}"].detach()) for p, s in zip(named, suffix, strict=True)])
    b = []
    for p, s in zip(named, suffix, strict=True):
        hidden3 = p[f"weight_hh_{tag}{s}"].shape[0]
        bi = p.get(f"bias_ih_{tag}{s}")
        bh = p.get(f"bias_hh_{tag}{s}")
        zeros = torch.zeros(hidden3)
        b.append(
            torch.cat(
                [
                    _to_onnx_gates(bi.detach()) if bi is not None else zeros,
                    _to_onnx_gates(bh.detach()) if bh is not None else zeros,
                ]
            )
        )
    return w, r, torch.stack(b)


class OnnxBiGRU(nn.Module):
    """Drop-in for `BiGRU` at export: `forward(x, lengths) -> (batch, time, dirs*hidden)`, one ONNX GRU per layer."""

    def __init__(self, bigru: Any) -> None:
        super().__init__()
        self.num_layers, self.dirs, self.hidden_size = bigru.num_layers, bigru.num_directions, bigru.hidden_size
        for layer in range(bigru.num_layers):
            grus = [bigru.forward_layers[layer]] + ([bigru.backward_layers[layer]] if self.dirs == 2 else [])
            w, r, b = _layer_params(grus, 0, ["", ""][: self.dirs])  # each direction is its own 1-layer GRU
            self.register_buffer(f"w{layer}", w)
            self.register_buffer(f"r{layer}", r)
            self.register_buffer(f"b{layer}", b)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = x.transpose(0, 1)  # (time, batch, input)
        h0 = x.new_zeros(self.dirs, x.shape[1], self.hidden_size)
        for layer in range(self.num_layers):
            y, _ = gru_layer(
                x, h0, getattr(self, f"w{layer}"), getattr(self, f"r{layer}"), getattr(self, f"b{layer}"), lengths
            )  # (time, batch, dirs, hidden)
            x = y.reshape(y.shape[0], y.shape[1], self.dirs * self.hidden_size)
        return x.transpose(0, 1)  # (batch, time, dirs*hidden)


class OnnxGRU(nn.Module):
    """Drop-in for a batch-first `nn.GRU` (or `ReferenceGRU`) at export: `forward(x, h0=None) -> (out, h_n)`,
    multi-layer, one or two directions, one ONNX GRU per layer."""

    def __init__(self, gru: Any) -> None:
        super().__init__()
        if not getattr(gru, "batch_first", False):
            raise ValueError("OnnxGRU replaces batch-first GRUs only")
        self.num_layers, self.hidden_size = gru.num_layers, gru.hidden_size
        self.dirs = 2 if gru.bidirectional else 1
        for layer in range(self.num_layers):
            w, r, b = _layer_params([gru] * self.dirs, layer, ["", "_reverse"][: self.dirs])
            self.register_buffer(f"w{layer}", w)
            self.register_buffer(f"r{layer}", r)
            self.register_buffer(f"b{layer}", b)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        # x: (batch, time, input); h0: (layers*dirs, batch, hidden)
        x = x.transpose(0, 1)  # (time, batch, input)
        if h0 is None:
            h0 = x.new_zeros(self.num_layers * self.dirs, x.shape[1], self.hidden_size)
        states = []
        for layer in range(self.num_layers):
            h = h0[layer * self.dirs : (layer + 1) * self.dirs]  # (dirs, batch, hidden)
            y, h_n = gru_layer(
                x, h, getattr(self, f"w{layer}"), getattr(self, f"r{layer}"), getattr(self, f"b{layer}"), None
            )
            x = y.reshape(y.shape[0], y.shape[1], self.dirs * self.hidden_size)  # (time, batch, dirs*hidden)
            states.append(h_n)
        return x.transpose(0, 1), torch.cat(states, 0)  # (batch, time, dirs*hidden), (layers*dirs, batch, hidden)


def lowered_copy(model: nn.Module) -> nn.Module:
    """A copy of `model` (eval mode) whose BiGRUs and batch-first GRUs are the ONNX-lowered modules above; the
    original is left as it is."""
    from textgru.models.gru_cell import ReferenceGRU

    model = copy.deepcopy(model).eval()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, BiGRU):
                setattr(parent, name, OnnxBiGRU(child))
            elif isinstance(child, (nn.GRU, ReferenceGRU)):
                setattr(parent, name, OnnxGRU(child))
    return model
