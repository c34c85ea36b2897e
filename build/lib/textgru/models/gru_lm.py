"""GRU language model: embedding → multi-layer GRU → (projection) → vocabulary logits, hidden state in and out."""

from __future__ import annotations

import torch
from torch import nn

from textgru.errors import TextgruError
from textgru.models.gru_cell import build_gru


class GRULanguageModel(nn.Module):
    """`forward(ids, hidden) -> (logits, hidden)`; pass the returned hidden state back in to continue a text.

    Dropout on the embeddings, between GRU layers and on the GRU output; an optional linear projection
    before the output layer, and optional weight tying of the output layer to the embedding (which needs
    the output layer's input size, `projection_size` or else `hidden_size`, to equal `embedding_dim`).
    `rnn`: `native` (`nn.GRU`) or `reference` (`ReferenceGRU`, the GRU from its equations, slower).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 64,
        hidden_size: int = 512,
        num_layers: int = 2,
        embedding_dropout: float = 0.0,
        dropout: float = 0.0,
        output_dropout: float = 0.0,
        projection_size: int | None = None,
        tie_weights: bool = False,
        padding_idx: int | None = 0,
        rnn: str = "native",
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.gru = build_gru(
            rnn,
            embedding_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.output_dropout = nn.Dropout(output_dropout)
        self.projection = nn.Linear(hidden_size, projection_size) if projection_size else None
        out_features = projection_size or hidden_size
        self.decoder = nn.Linear(out_features, vocab_size)
        if tie_weights:
            if out_features != embedding_dim:
                raise TextgruError(
                    f"model.tie_weights needs the output layer input ({out_features}) to equal "
                    f"model.embedding_dim ({embedding_dim}); set model.projection_size={embedding_dim}"
                )
            self.decoder.weight = self.embedding.weight
        self.num_layers, self.hidden_size = num_layers, hidden_size

    def forward(self, ids: torch.Tensor, hidden: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embedding_dropout(self.embedding(ids))  # (batch, time, embedding)
        out, hidden = self.gru(x, hidden)  # (batch, time, hidden), (layers, batch, hidden)
        out = self.output_dropout(out)
        if self.projection is not None:
            out = self.projection(out)  # (batch, time, projection)
        return self.decoder(out), hidden  # (batch, time, vocab)
