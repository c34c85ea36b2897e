"""What each task's exported graph computes, and its plan: example inputs, dynamic axes, input/output names for
`config.json`, and the random inputs of the export's self-check against PyTorch. All axes named `batch` and `time`
are dynamic.

- classifier: `input_ids` int64 (batch, time) right-padded, `lengths` int64 (batch,) -> `logits`, `probs` float32
  (batch, classes). Padding-exact: a text's outputs do not depend on the batch it is in.
- language model: `input_ids` int64 (batch, time), `hidden` float32 (layers, batch, hidden) -> `logits` float32
  (batch, time, vocab), `hidden_out` (layers, batch, hidden). The prompt pass (zero hidden) and each generation
  step (time = 1, the state carried) use the same graph.
- forecaster: `window` float64 (batch, time, features) in the series' units -> `forecast` float64
  (batch, horizon, features) in the series' units (normalisation and the horizon's roll-out are in the graph).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

# the self-check's longest texts: max_length's where it is shorter (a review: 32 texts of max_length=100000 ran for
# minutes and 1.8 GB, 10**18 overflowed); a GRU's parity over 512 steps says what it is over more
CHECK_TOKENS = 512


class ClassifierGraph(nn.Module):
    """`(input_ids, lengths) -> (logits, probs)`, both (batch, classes)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(input_ids, lengths)  # (batch, classes)
        return logits, torch.softmax(logits, dim=-1)


class LanguageModelGraph(nn.Module):
    """`(input_ids, hidden) -> (logits, hidden_out)`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(input_ids, hidden)  # (batch, time, vocab), (layers, batch, hidden)


class ForecastGraph(nn.Module):
    """A window in the series' units -> the next `horizon` values in the series' units, (batch, horizon, features),
    both float64; the model reads normalised float32 values, so the checkpoint's mean and std are applied on the way
    in and out in float64, as `Forecaster` does (in float32 a series near 1e8, where float32 steps by 8, forecast a
    constant: a review)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, model: Any, mean: Sequence[float], std: Sequence[float], horizon: int) -> None:
        super().__init__()
        self.model, self.horizon = model, int(horizon)
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float64))  # (features,)
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float64))  # (features,)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        normed = ((window - self.mean) / self.std).float()  # (batch, time, features)
        return self.model.rollout(normed, self.horizon).double() * self.std + self.mean  # (batch, horizon, features)


def _io(name: str, dtype: str, shape: list[str | int], doc: str) -> dict[str, Any]:
    return {"name": name, "dtype": dtype, "shape": shape, "doc": doc}


def _ids(generator: torch.Generator, vocab: int, shape: tuple[int, ...], low: int = 2) -> torch.Tensor:
    return torch.randint(min(low, vocab - 1), vocab, shape, generator=generator)


def _dims() -> tuple[Any, Any]:
    return torch.export.Dim("batch", min=1), torch.export.Dim("time", min=1)


def classifier_plan(model: Any, meta: dict[str, Any]) -> dict[str, Any]:
    from textgru.data.tokenization import PAD, UNK
    from textgru.inference.loaded_model import checked_tokenizer

    tok = checked_tokenizer(meta)  # as a load checks it (a review: one without [PAD] exported pad_id 0)
    vocab, labels, max_length = model.embedding.num_embeddings, list(meta["label_names"]), int(meta["max_length"])
    pad = tok.token_to_id(PAD) or 0
    batch, time = _dims()
    g = torch.Generator().manual_seed(0)

    def checks() -> list[tuple[torch.Tensor, ...]]:
        out: list[tuple[torch.Tensor, ...]] = []
        for b, t in ((1, 1), (1, 2), (1, 7), (5, 1), (6, 23), (32, min(max_length, CHECK_TOKENS))):
            lengths = torch.randint(1, t + 1, (b,), generator=g)
            lengths[0] = t
            ids = _ids(g, vocab, (b, t))
            ids[torch.arange(t)[None, :] >= lengths[:, None]] = pad  # right padding
            out.append((ids, lengths))
        return out

    return {
        "graph": ClassifierGraph,
        "example": (_ids(g, vocab, (3, 5)), torch.tensor([5, 3, 2])),
        "dynamic": {"input_ids": {0: batch, 1: time}, "lengths": {0: batch}},
        "inputs": [
            _io("input_ids", "int64", ["batch", "time"], "token ids, right-padded with pad_id"),
            _io("lengths", "int64", ["batch"], "each text's number of tokens (1..time)"),
        ],
        "outputs": [
            _io("logits", "float32", ["batch", len(labels)], "class scores"),
            _io("probs", "float32", ["batch", len(labels)], "softmax of logits, in the order of labels"),
        ],
        "checks": checks,
        "config": {
            "labels": labels,
            "max_length": max_length,
            "pad_id": pad,
            "unk_id": tok.token_to_id(UNK),
            "empty_text": "one [UNK] token (unk_id)",
            "truncation": "keep the first max_length tokens",
        },
    }


def lm_plan(model: Any, meta: dict[str, Any]) -> dict[str, Any]:
    from textgru.data.tokenization import PAD, UNK
    from textgru.inference.loaded_model import checked_tokenizer
    from textgru.inference.sampling import DOCUMENT_SEPARATOR, document_start

    tok = checked_tokenizer(meta)  # as a load checks it (a review: one without [PAD] exported pad_id 0)
    vocab, layers, hidden = model.decoder.out_features, model.num_layers, model.hidden_size
    batch, time = _dims()
    g = torch.Generator().manual_seed(0)

    def checks() -> list[tuple[torch.Tensor, ...]]:
        shapes = ((1, 1, 0.0), (1, 1, 0.5), (2, 2, 0.5), (1, 40, 0.0), (4, 9, 0.5), (32, 1, 0.5))
        return [(_ids(g, vocab, (b, t), 0), torch.randn(layers, b, hidden, generator=g) * s) for b, t, s in shapes]

    banned = [i for i in (tok.token_to_id(PAD), tok.token_to_id(UNK)) if i is not None and i < vocab]
    return {
        "graph": LanguageModelGraph,
        "example": (_ids(g, vocab, (3, 5), 0), torch.zeros(layers, 3, hidden)),
        "dynamic": {"input_ids": {0: batch, 1: time}, "hidden": {1: batch}},
        "inputs": [
            _io("input_ids", "int64", ["batch", "time"], "token ids: the prompt, then one new token per step"),
            _io("hidden", "float32", [layers, "batch", hidden], "zeros to start a text, then the last hidden_out"),
        ],
        "outputs": [
            _io("logits", "float32", ["batch", "time", vocab], "next-token scores at every position"),
            _io("hidden_out", "float32", [layers, "batch", hidden], "the state after the last position"),
        ],
        "checks": checks,
        "config": {
            "vocab_size": vocab,
            "num_layers": layers,
            "hidden_size": hidden,
            "max_length": int(meta["max_length"]),
            "pad_id": tok.token_to_id(PAD),
            "unk_id": tok.token_to_id(UNK),
            "never_sample_ids": banned,
            "document_separator": DOCUMENT_SEPARATOR,
            "document_separator_id": document_start(tok)[0],  # a review: the recipe left it out (other samples)
            "generation": "run document_separator_id, then the prompt's ids (batch and time at least 1), with zero "
            "hidden; then repeatedly take logits[:, -1], set never_sample_ids to -inf, pick a token, and run it "
            "(time = 1) with hidden_out",
        },
    }


def forecast_plan(model: Any, meta: dict[str, Any]) -> dict[str, Any]:
    norm = meta["normalisation"]
    features, horizon, window = len(norm["mean"]), int(meta["horizon"]), int(meta["window"])
    batch, time = _dims()
    g = torch.Generator().manual_seed(0)
    mean, std = torch.tensor(norm["mean"], dtype=torch.float64), torch.tensor(norm["std"], dtype=torch.float64)

    def checks() -> list[tuple[torch.Tensor, ...]]:
        shapes = ((1, 1), (2, 2), (1, window), (7, 3), (64, window))
        return [(torch.randn(b, t, features, generator=g, dtype=torch.float64) * std + mean,) for b, t in shapes]

    return {
        "graph": lambda m: ForecastGraph(m, norm["mean"], norm["std"], horizon),
        "example": (torch.randn(3, 5, features, generator=g, dtype=torch.float64),),
        "dynamic": {"window": {0: batch, 1: time}},
        "inputs": [_io("window", "float64", ["batch", "time", features], "past values, series' units, oldest first")],
        "outputs": [_io("forecast", "float64", ["batch", horizon, features], "the next horizon values")],
        "checks": checks,
        "scale": std,  # parity in the model's normalised units: float32 rounds relative to the series' spread
        "parity_units": {"units": "each column's std (a difference divided by it)"},
        "config": {
            "window": window,
            "horizon": horizon,
            "features": features,
            "columns": list(norm["columns"]),
            "mean": list(norm["mean"]),
            "std": list(norm["std"]),
            "units": "window and forecast are in the series' units; the graph normalises with mean and std",
        },
    }


PLANS: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "sentiment": classifier_plan,
    "lm": lm_plan,
    "forecast": forecast_plan,
}
