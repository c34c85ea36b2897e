"""An inference-only forward of a `GRUClassifier` in which every GRU direction advances in one time loop, with
the matrix products in a chosen dtype: bfloat16 for `Classifier.with_precision("bf16")`.

Why: on CPUs with bfloat16 matrix units (Intel AMX; avx512_bf16 on AMD Zen 4 on) a step's product runs 4-7x faster
in bf16 than in fp32, and the fp32 `nn.GRU` spends most of a batch in those products. Each step here is one batched
product for all directions (`bmm` of [x, 1, h] by a stacked matrix: the reset and update gates' inputs with both
biases, and the candidate's W_hn h + b_hn), then the gates elementwise in fp32; the candidate's W_in x + b_in of every
step is one product before the loop. The state stays fp32, so rounding does not build up along a text. The products'
inputs and results are rounded to bf16 (8 bits of mantissa; the sums inside are fp32). tanh(a) is computed as
2 sigmoid(2a) - 1 (the candidate's columns are doubled in the matrices, exactly): torch's CPU tanh took 10x
sigmoid's time, a sixth of a step.

Padding-exact like `BiGRU`: texts run longest first and each step advances only the texts still running (the first
`k` rows), the backward direction reads each text reversed within its own length, and the pooling (mean, max,
meanmax, last) takes real positions only. With `dtype=torch.float32` the loop gives the model's outputs within
float rounding (tests/test_fused_bigru.py). Dropout is skipped: this is for a model in eval mode.
"""

from __future__ import annotations

import torch
from torch import nn

from textgru.errors import TextgruError
from textgru.models.gru_classifier import GRUClassifier

POOLINGS = ("mean", "max", "meanmax", "last")  # the poolings that can be taken while the steps run
SHAPE_STEP = 32  # products run over a multiple of this many rows: few distinct shapes (each new one costs ~1 ms once)


def take_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`out[t, b] = x[index[t, b], b]` for x (time, batch, features) and index (time, batch)."""
    time, batch, features = x.shape
    rows = index * batch + torch.arange(batch, device=x.device)  # (time, batch) rows of x viewed as (time*batch, f)
    return x.reshape(time * batch, features).index_select(0, rows.view(-1)).view(time, batch, features)


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


class FusedGRUClassifier(nn.Module):
    """`forward(input_ids, lengths) -> logits (batch, classes)` of `model` (a `GRUClassifier` in eval mode, native
    `nn.GRU` layers, pooling in `POOLINGS`), its GRU products in `dtype`. It reads the model's embedding and head,
    and copies its GRU weights; `current` tells whether that copy still matches the model's GRU and pooling."""

    def __init__(self, model: GRUClassifier, dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        if not isinstance(model, GRUClassifier):
            raise TextgruError(f"precision=bf16 runs textgru's GRUClassifier, not a {type(model).__name__}")
        rnn, tensors = model.rnn, gru_tensors(model)
        if tensors is None:
            raise TextgruError("this classifier uses the reference GRU (model.rnn=reference); use precision=fp32")
        dtype_of = next((t.dtype for t in [model.embedding.weight, *tensors] if t.dtype != torch.float32), None)
        if dtype_of is not None:
            raise TextgruError(f"precision=bf16 runs a float32 model; this one is {dtype_of}")
        if model.pool.kind not in POOLINGS:
            raise TextgruError(
                f"precision=bf16 takes the poolings {', '.join(POOLINGS)}; this classifier pools by "
                f"{model.pool.kind!r}: use precision=fp32"
            )
        self.model = model
        self.dtype = dtype
        self.hidden_size = rnn.hidden_size
        for layer in range(rnn.num_layers):  # buffers: `.to(device)` moves them with the module
            step, candidate_input = self._weights(layer)
            self.register_buffer(f"layer{layer}", step, persistent=False)
            self.register_buffer(f"input{layer}", candidate_input, persistent=False)
        self.pooling = model.pool.kind
        self.copied_from = [t.detach().clone() for t in tensors]

    @property
    def current(self) -> bool:
        """Whether the model's GRU weights are still those copied (compared by value, ~0.5 ms for the default
        model: any write is seen, also those that bypass autograd's version counter, such as fused optimizers,
        `.data` writes and tensors made under `torch.inference_mode`), on the same device, and its pooling the same."""
        now = gru_tensors(self.model)
        return (
            self.model.pool.kind == self.pooling
            and now is not None
            and len(now) == len(self.copied_from)
            and all(
                a.device == b.device and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
                for a, b in zip(now, self.copied_from, strict=True)
            )
        )

    @property
    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each layer's step matrix and candidate-input matrix (`_weights`)."""
        return [(getattr(self, f"layer{i}"), getattr(self, f"input{i}")) for i in range(self.model.rnn.num_layers)]

    def _weights(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer's step matrix (directions, inputs + 1 + hidden, 3*hidden): a step's [x, 1, h] times it gives
        [r and z before the sigmoid, 2 (W_hn h + b_hn)]; and its candidate-input matrix (directions, inputs + 1,
        hidden): [x, 1] times it gives 2 (W_in x + b_in). The n gate keeps its two halves apart, doubled for tanh."""
        hidden, steps, candidate_inputs = self.hidden_size, [], []
        with torch.no_grad():
            for g in directions(self.model, layer):
                w_ih, w_hh = g.weight_ih_l0.float(), g.weight_hh_l0.float()  # (3*hidden, inputs), (3*hidden, hidden)
                b_ih, b_hh = (
                    (g.bias_ih_l0.float(), g.bias_hh_l0.float()) if g.bias else (w_ih.new_zeros(3 * hidden),) * 2
                )
                inputs, rz, n = w_ih.shape[1], slice(0, 2 * hidden), slice(2 * hidden, 3 * hidden)
                m = w_ih.new_zeros(inputs + 1 + hidden, 3 * hidden)  # rows [x, 1, h]; columns [r, z, n's h half]
                m[:inputs, rz], m[inputs, rz], m[inputs + 1 :, rz] = w_ih[rz].t(), b_ih[rz] + b_hh[rz], w_hh[rz].t()
                m[inputs, n], m[inputs + 1 :, n] = 2 * b_hh[n], 2 * w_hh[n].t()
                steps.append(m)
                candidate_inputs.append(torch.cat([w_ih[n].t(), b_ih[n].unsqueeze(0)]) * 2)  # rows [x, 1]
        return torch.stack(steps).to(self.dtype), torch.stack(candidate_inputs).to(self.dtype)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # input_ids: (batch, time) right-padded; lengths: (batch,), each at least 1
        device = self.layers[0][0].device
        lengths = lengths.to(device)
        order = torch.argsort(lengths, descending=True, stable=True)  # longest first: running texts are rows :k
        lens = lengths[order]
        time = int(lens[0])
        if int(lens[-1]) < 1:
            raise ValueError("every text needs at least one token (lengths >= 1)")
        ids = input_ids.to(device)[order, :time].t()  # (time, batch)
        steps = torch.arange(time, device=device).unsqueeze(1)  # (time, 1)
        running = (lens.unsqueeze(0) > steps).sum(1).tolist()  # texts still running at each step
        backward = torch.where(steps < lens, lens - 1 - steps, steps)  # (time, batch): position read at each step
        x = self.model.embedding(ids)  # (time, batch, embedding)
        for i, weights in enumerate(self.layers):
            last = i == len(self.layers) - 1
            inputs = [x, take_time(x, backward)] if len(weights[0]) == 2 else [x]  # each direction's reading
            state, out = self._layer(inputs, weights, running, keep_outputs=not last)
            if not last:  # (time, directions, batch, hidden) by step -> the next layer's input by position
                parts = [out[:, 0], take_time(out[:, 1], backward)] if len(inputs) == 2 else [out[:, 0]]
                x = torch.cat(parts, dim=-1)  # (time, batch, directions*hidden)
        pooled = self._pool(state, lens)  # (batch, features)
        logits = self.model.head(pooled)  # (batch, classes), longest first
        return torch.empty_like(logits).index_copy_(0, order, logits)

    def _layer(
        self,
        inputs: list[torch.Tensor],
        weights: tuple[torch.Tensor, torch.Tensor],
        running: list[int],
        keep_outputs: bool,
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        # inputs: a (time, batch, features) per direction, in the order it reads them
        directions, (time, batch, features), hidden = len(inputs), inputs[0].shape, self.hidden_size
        step_matrix, candidate_input = weights
        x1 = inputs[0].new_empty(directions, time, batch, features + 1, dtype=self.dtype)  # [x, 1]
        for d, x in enumerate(inputs):
            x1[d, :, :, :features] = x
        x1[..., features] = 1
        nx = torch.bmm(x1.view(directions, time * batch, features + 1), candidate_input)  # 2 (W_in x + b_in), bf16
        nx = nx.view(directions, time, batch, hidden)  # added to fp32 each step: one conversion of all was slower
        # time first: a step's [x, 1, h] rows are one strided batch that bmm reads in place (not copied first)
        xh = inputs[0].new_empty(time, directions, batch, features + 1 + hidden, dtype=self.dtype)
        xh[..., : features + 1] = x1.transpose(0, 1)
        h = inputs[0].new_zeros(directions, batch, hidden, dtype=torch.float32)
        total, peak = torch.zeros_like(h), torch.full_like(h, -torch.inf)
        out = h.new_zeros(time, directions, batch, hidden) if keep_outputs else None
        kind = self.model.pool.kind  # the last layer accumulates what its pooling reads, no more
        sums, maxima = out is None and kind in ("mean", "meanmax"), out is None and kind in ("max", "meanmax")
        for step in range(time):
            k = running[step]
            rows = min(batch, -(-k // SHAPE_STEP) * SHAPE_STEP)  # rows past k are finished texts: computed, not kept
            xs = xh[step, :, :rows]  # (directions, rows, features + 1 + hidden)
            xs[..., features + 1 :] = h[:, :rows]
            g = torch.bmm(xs, step_matrix).float()  # (directions, rows, 3*hidden)
            rz = g[..., : 2 * hidden].sigmoid_()  # reset, update gates
            n = g[..., 2 * hidden :].mul_(rz[..., :hidden]).add_(nx[:, step, :rows]).sigmoid_()
            n.mul_(2).sub_(1)  # the candidate: tanh(a) = 2 sigmoid(2a) - 1
            hk = h[:, :k]
            torch.lerp(n[:, :k], hk, rz[:, :k, hidden:], out=hk)  # h = n + z * (h - n), in place
            if out is not None:
                out[step, :, :k] = hk
            if sums:
                total[:, :k] += hk
            if maxima:
                torch.maximum(peak[:, :k], hk, out=peak[:, :k])
        return {"last": h, "total": total, "peak": peak}, out

    def _pool(self, state: dict[str, torch.Tensor], lens: torch.Tensor) -> torch.Tensor:
        kind = self.model.pool.kind

        def joined(t: torch.Tensor) -> torch.Tensor:  # (directions, batch, hidden) -> (batch, directions*hidden)
            return torch.cat(list(t), dim=-1)

        if kind == "last":  # the forward state at each text's end, the backward state at its start
            return joined(state["last"])
        mean = joined(state["total"]) / lens.unsqueeze(1).to(state["total"].dtype)
        if kind == "mean":
            return mean
        if kind == "max":
            return joined(state["peak"])
        return torch.cat([mean, joined(state["peak"])], dim=-1)  # meanmax
