"""An inference-only forward of a `GRUClassifier` in which every GRU direction advances in one time loop, with
the matrix products in a chosen dtype: bfloat16 for `Classifier.with_precision("bf16")`.

Why: on CPUs with bfloat16 matrix units (Intel AMX; avx512_bf16 on AMD Zen 4 on) a step's product runs 4-7x faster
in bf16 than in fp32, and the fp32 `nn.GRU` spends most of a batch in those products. Each step here is one batched
product for all directions (`bmm` of [x, 1, h] by a stacked matrix: the reset and update gates' inputs with both
biases, and the candidate's W_hn h + b_hn), then the gates elementwise in fp32; the candidate's W_in x + b_in of every
step is one product before the loop. The first layer's input is an embedding row, so its input part of every gate
depends on the token alone: where that table (vocabulary x directions x 3 hidden, fp32) is worth it
(`fused_weights.table_fits`), it is made once and a step's product is [1, h] only, a third fewer multiply-adds with
the default sizes, the input part looked up and added in fp32. The state stays fp32, so rounding does not build up along a text. The products'
inputs and results are rounded to bf16 (8 bits of mantissa; the sums inside are fp32). tanh(a) is computed as
2 sigmoid(2a) - 1 (the candidate's columns are doubled in the matrices, exactly): torch's CPU tanh took 10x
sigmoid's time, a sixth of a step.

Padding-exact like `BiGRU`: texts run longest first and each step advances only the texts still running (the first
`k` rows), the backward direction reads each text reversed within its own length, and the pooling (mean, max,
meanmax, last) takes real positions only. With `dtype=torch.float32` the loop gives the model's outputs within
float rounding (tests/test_fused_bigru.py). Dropout is skipped: this is for a model in eval mode.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from textgru.errors import TextgruError, a_kind
from textgru.inference.fused_weights import gru_tensors, layer_parts, same, table_fits, token_table
from textgru.models.gru_classifier import GRUClassifier

POOLINGS = ("mean", "max", "meanmax", "last")  # the poolings that can be taken while the steps run
SHAPE_STEP = 32  # products run over a multiple of this many rows: few distinct shapes (each new one costs ~1 ms once)
Step = Callable[[int, int, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # (step, rows, h) -> (gates, candidate)


def take_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`out[t, b] = x[index[t, b], b]` for x (time, batch, features) and index (time, batch)."""
    time, batch, features = x.shape
    rows = index * batch + torch.arange(batch, device=x.device)  # (time, batch) rows of x viewed as (time*batch, f)
    return x.reshape(time * batch, features).index_select(0, rows.view(-1)).view(time, batch, features)


def step_buffers(
    shape: tuple[int, int, int], dtypes: list[torch.dtype], device: torch.device
) -> list[Callable[[int], torch.Tensor]]:
    """Memory a step's results are written into, reused from step to step, one per dtype: `buffer(rows)` is a
    contiguous (directions, rows, columns) view. Fresh memory costs a page fault per 4 KB page: on the 2-core VM a
    step's results in fresh memory took several times longer to write (its fp32 copy of the products 690 -> 78 us,
    the table lookup 1,118 -> 269 us, batches of 256)."""
    directions, batch, columns = shape
    flats = [torch.empty(directions * batch * columns, dtype=d, device=device) for d in dtypes]
    return [lambda rows, f=f: f[: directions * rows * columns].view(directions, rows, columns) for f in flats]


class FusedGRUClassifier(nn.Module):
    """`forward(input_ids, lengths) -> logits (batch, classes)` of `model` (a `GRUClassifier` in eval mode, native
    `nn.GRU` layers, pooling in `POOLINGS`), its GRU products in `dtype`. It reads the model's embedding and head,
    and copies its GRU weights (and, into the table, its embedding); `current` tells whether those copies still
    match the model and its pooling."""

    def __init__(self, model: GRUClassifier, dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        if not isinstance(model, GRUClassifier):
            raise TextgruError(f"precision=bf16 runs textgru's GRUClassifier, not {a_kind(model)}")
        if model.others or model.lm is not None:
            this = f"is {len(model.members)} in one (model.members)" if model.others else "has them (transfer=features)"
            raise TextgruError(
                f"precision=bf16 runs a single classifier without a language model's features; this one {this}: "
                "use precision=fp32"
            )
        if not isinstance(model.embedding, nn.Embedding):
            raise TextgruError(
                f"precision=bf16 reads an nn.Embedding; this classifier's embedding is a "
                f"{type(model.embedding).__name__}: use precision=fp32"
            )
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
        self.hidden_size = hidden = rnn.hidden_size
        self.table = table_fits(model)  # the first layer's input part looked up per token
        for layer in range(rnn.num_layers):  # buffers: `.to(device)` moves them with the module
            inputs, hiddens = layer_parts(model, layer)
            if layer == 0 and self.table:
                self.register_buffer("token_table", token_table(model, inputs), persistent=False)
                step, candidate_input = hiddens, inputs.new_empty(0)
            else:  # rows [x, 1, h]: the input part's reset and update columns, then h's rows
                step = torch.cat([inputs, hiddens[:, 1:]], dim=1)
                step[:, : inputs.shape[1], 2 * hidden :] = 0
                step[:, inputs.shape[1] - 1] += hiddens[:, 0]
                candidate_input = inputs[..., 2 * hidden :]  # [x, 1] -> 2 (W_in x + b_in)
            self.register_buffer(f"layer{layer}", step.to(dtype), persistent=False)
            self.register_buffer(f"input{layer}", candidate_input.to(dtype), persistent=False)
        self.pooling = model.pool.kind
        self.copied_from = [t.detach().clone() for t in self._copied()]

    def _copied(self) -> list[torch.Tensor] | None:
        """The model's tensors this module copies: the GRU weights, and the embedding where the table reads it."""
        tensors = gru_tensors(self.model)
        return None if tensors is None else tensors + ([self.model.embedding.weight] if self.table else [])

    @property
    def current(self) -> bool:
        """Whether the model's GRU weights (and embedding, where the table reads it) are still those copied (compared
        by value, 1-2 ms for the default model: any write is seen, also those that bypass autograd's version counter,
        such as fused optimizers, `.data` writes and tensors made under `torch.inference_mode`), on the same device,
        and its pooling and the table's use the same."""
        now = self._copied()
        return (
            self.model.pool.kind == self.pooling
            and self.table == table_fits(self.model)
            and now is not None
            and len(now) == len(self.copied_from)
            and all(same(a, b) for a, b in zip(now, self.copied_from, strict=True))
        )

    @property
    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each layer's step matrix and candidate-input matrix (`__init__`; the first layer's second is empty where the
        table gives its input part)."""
        return [(getattr(self, f"layer{i}"), getattr(self, f"input{i}")) for i in range(self.model.rnn.num_layers)]

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
        two = len(self.layers[0][0]) == 2
        if self.table:  # each direction's token ids in the order it reads them
            step = self._table_step([ids, torch.gather(ids, 0, backward)] if two else [ids])
        else:
            x = self.model.embedding(ids)  # (time, batch, embedding)
            step = self._product_step([x, take_time(x, backward)] if two else [x], self.layers[0])
        for i in range(len(self.layers)):
            last = i == len(self.layers) - 1
            state, out = self._layer(step, (1 + two, time, len(lens)), running, keep_outputs=not last)
            if not last:  # (time, directions, batch, hidden) by step -> the next layer's input by position
                x = torch.cat([out[:, 0], take_time(out[:, 1], backward)] if two else [out[:, 0]], dim=-1)
                step = self._product_step([x, take_time(x, backward)] if two else [x], self.layers[i + 1])
        pooled = self._pool(state, lens)  # (batch, features)
        logits = self.model.head(pooled)  # (batch, classes), longest first
        return torch.empty_like(logits).index_copy_(0, order, logits)

    def _table_step(self, readings: list[torch.Tensor]) -> Step:
        """The first layer's step from token ids (a (time, batch) per direction): [1, h] times the hidden part, plus
        the tokens' rows of the table."""
        batch, hidden, step_matrix = readings[0].shape[1], self.hidden_size, self.layers[0][0]
        table = self.token_table.view(-1, 3 * hidden)  # row token * directions + d
        # (time, directions, batch): each token's row of the table, for the direction that reads it
        rows_of = torch.stack([ids * len(readings) + d for d, ids in enumerate(readings)], 1)
        h1 = step_matrix.new_empty(len(readings), batch, 1 + hidden)  # [1, h]
        h1[..., 0] = 1
        products, gates, looked_up = step_buffers(
            (len(readings), batch, 3 * hidden), [self.dtype, torch.float32, table.dtype], h1.device
        )

        def step(t: int, rows: int, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h1[:, :rows, 1:] = h[:, :rows]
            product = torch.bmm(h1[:, :rows], step_matrix, out=products(rows))  # (directions, rows, 3*hidden)
            g, found = gates(rows).copy_(product), looked_up(rows)  # fp32
            torch.index_select(table, 0, rows_of[t, :, :rows].reshape(-1), out=found.view(-1, 3 * hidden))
            g[..., : 2 * hidden] += found[..., : 2 * hidden]
            return g, found[..., 2 * hidden :]

        return step

    def _product_step(self, inputs: list[torch.Tensor], weights: tuple[torch.Tensor, torch.Tensor]) -> Step:
        """A layer's step from its inputs (a (time, batch, features) per direction, in the order it reads them):
        [x, 1, h] times the step matrix; the candidate's input part of every step is one product made here."""
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
        products, gates = step_buffers((directions, batch, 3 * hidden), [self.dtype, torch.float32], xh.device)

        def step(t: int, rows: int, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            xs = xh[t, :, :rows]  # (directions, rows, features + 1 + hidden)
            xs[..., features + 1 :] = h[:, :rows]
            g = gates(rows).copy_(torch.bmm(xs, step_matrix, out=products(rows)))  # (directions, rows, 3*hidden)
            return g, nx[:, t, :rows]

        return step

    def _layer(
        self, step: Step, shape: tuple[int, int, int], running: list[int], keep_outputs: bool
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        (directions, time, batch), hidden = shape, self.hidden_size
        h = self.layers[0][0].new_zeros(directions, batch, hidden, dtype=torch.float32)
        total, peak = torch.zeros_like(h), torch.full_like(h, -torch.inf)
        out = h.new_zeros(time, directions, batch, hidden) if keep_outputs else None
        kind = self.model.pool.kind  # the last layer accumulates what its pooling reads, no more
        sums, maxima = out is None and kind in ("mean", "meanmax"), out is None and kind in ("max", "meanmax")
        for t in range(time):
            k = running[t]
            rows = min(batch, -(-k // SHAPE_STEP) * SHAPE_STEP)  # rows past k are finished texts: computed, not kept
            g, candidate_input = step(t, rows, h)  # (directions, rows, 3*hidden) fp32; (directions, rows, hidden)
            rz = g[..., : 2 * hidden].sigmoid_()  # reset, update gates
            n = g[..., 2 * hidden :].mul_(rz[..., :hidden]).add_(candidate_input).sigmoid_()
            n.mul_(2).sub_(1)  # the candidate: tanh(a) = 2 sigmoid(2a) - 1
            hk = h[:, :k]
            torch.lerp(n[:, :k], hk, rz[:, :k, hidden:], out=hk)  # h = n + z * (h - n), in place
            if out is not None:
                out[t, :, :k] = hk
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
