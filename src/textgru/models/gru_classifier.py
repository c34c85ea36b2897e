"""Embedding + bidirectional GRU + pooling + dropout + linear head: the document classifier. With `lm_features`, a
frozen pretrained biLM's per-token features join the embedding (`textgru.models.lm_features`)."""

from __future__ import annotations

import torch
from torch import nn

from textgru.models.bigru import BiGRU
from textgru.models.lm_features import FrozenLMFeatures
from textgru.models.pooling import Pooling


class GRUClassifier(nn.Module):
    """`forward(input_ids, lengths) -> logits (batch, num_classes)` for right-padded id batches.

    `lm_features`: [embedding_dim, hidden_size, num_layers] of a frozen biLM (same vocabulary) whose features, with
    dropout `feature_dropout`, join each token's embedding; null: none."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embedding_dim: int = 128,
        hidden_size: int = 256,
        num_layers: int = 1,
        bidirectional: bool = True,
        pooling: str = "meanmax",
        dropout: float = 0.3,
        embedding_dropout: float = 0.1,
        rnn_dropout: float = 0.0,
        word_dropout: float = 0.0,
        padding_idx: int = 0,
        unk_idx: int = 1,
        rnn: str = "native",
        lm_features: list[int] | None = None,
        feature_dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.word_dropout = word_dropout
        self.unk_idx = unk_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.lm = FrozenLMFeatures(vocab_size, *lm_features, padding_idx=padding_idx) if lm_features else None
        self.feature_dropout = nn.Dropout(feature_dropout)
        self.rnn = BiGRU(
            embedding_dim + (self.lm.output_size if self.lm else 0),
            hidden_size,
            num_layers,
            dropout=rnn_dropout,
            bidirectional=bidirectional,
            rnn=rnn,
        )
        self.pool = Pooling(pooling, self.rnn.output_size, bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.pool.output_size, num_classes)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.training and self.word_dropout > 0:  # replace random real tokens by [UNK]
            drop = torch.rand(input_ids.shape, device=input_ids.device) < self.word_dropout
            input_ids = input_ids.masked_fill(drop & (input_ids != self.embedding.padding_idx), self.unk_idx)
        x = self.embedding(input_ids)  # (batch, time, embedding)
        if self.lm is not None:
            x = torch.cat([x, self.feature_dropout(self.lm(input_ids, lengths))], -1)  # (batch, time, + lm features)
        x = self.embedding_dropout(x)
        h = self.rnn(x, lengths)  # (batch, time, directions*hidden)
        pooled = self.pool(h, lengths)  # (batch, features)
        return self.head(self.dropout(pooled))  # (batch, classes)
