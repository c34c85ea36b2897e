"""Embedding + bidirectional GRU + pooling + dropout + linear head: the document classifier. With `lm_features`, a
frozen pretrained biLM's per-token features join the embedding (`textgru.models.lm_features`). With `members` > 1,
the classifier is an ensemble in one module: each member has its own embedding, GRU, pooling and head (and its own
random start, but for the weights fine-tuned from an LM, which every member starts from), all read the same frozen LM
features, computed once (and the same ids: word dropout draws one mask for all); the output is the log of the
members' mean probabilities. In training each member is scored on its own (`member_logits`; the task sums their
losses and clips each member's gradient on its own), so a member learns as it would alone on the same batches."""

from __future__ import annotations

import math

import torch
from torch import nn

from textgru.models.bigru import BiGRU
from textgru.models.lm_features import FrozenLMFeatures
from textgru.models.pooling import Pooling


class ClassifierMember(nn.Module):
    """Another member's own parts (`members` > 1), named as the classifier's first member's."""

    def __init__(self, embedding: nn.Embedding, rnn: BiGRU, pool: Pooling, head: nn.Linear) -> None:
        super().__init__()
        self.embedding, self.rnn, self.pool, self.head = embedding, rnn, pool, head


class GRUClassifier(nn.Module):
    """`forward(input_ids, lengths) -> logits (batch, num_classes)` for right-padded id batches.

    `lm_features`: [embedding_dim, hidden_size, num_layers] of a frozen biLM (same vocabulary) whose features, with
    dropout `feature_dropout`, join each token's embedding; null: none. `members`: how many classifiers in one (the
    first one's parts are this module's own `embedding`, `rnn`, `pool`, `head`; the others' in `others`)."""

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
        members: int = 1,
    ) -> None:
        super().__init__()
        if members < 1:
            raise ValueError(f"model.members must be at least 1, not {members}")
        self.word_dropout = word_dropout
        self.unk_idx = unk_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.lm = FrozenLMFeatures(vocab_size, *lm_features, padding_idx=padding_idx) if lm_features else None
        self.feature_dropout = nn.Dropout(feature_dropout)

        def upper_parts() -> tuple[BiGRU, Pooling, nn.Linear]:  # a member's GRU, pooling and head
            inputs = embedding_dim + (self.lm.output_size if self.lm else 0)
            gru = BiGRU(inputs, hidden_size, num_layers, dropout=rnn_dropout, bidirectional=bidirectional, rnn=rnn)
            pool = Pooling(pooling, gru.output_size, bidirectional=bidirectional)
            return gru, pool, nn.Linear(pool.output_size, num_classes)

        self.rnn, self.pool, self.head = upper_parts()
        self.dropout = nn.Dropout(dropout)
        self.others = nn.ModuleList(
            ClassifierMember(nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx), *upper_parts())
            for _ in range(members - 1)
        )

    @property
    def members(self) -> list[nn.Module]:
        """Each member's parts (`embedding`, `rnn`, `pool`, `head`), this module's own first."""
        return [self, *self.others]

    def member_parameters(self) -> list[list[nn.Parameter]]:
        """Each member's own parameters (the frozen LM's in none)."""
        first = [p for n, p in self.named_parameters() if not n.startswith(("others.", "lm."))]
        return [first, *(list(m.parameters()) for m in self.others)]

    def member_logits(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(members, batch, classes): each member's logits; every member reads the same LM features."""
        if self.training and self.word_dropout > 0:  # replace random real tokens by [UNK]
            drop = torch.rand(input_ids.shape, device=input_ids.device) < self.word_dropout
            input_ids = input_ids.masked_fill(drop & (input_ids != self.embedding.padding_idx), self.unk_idx)
        features = self.lm(input_ids, lengths) if self.lm is not None else None  # (batch, time, lm features)
        return torch.stack([self._read(m, input_ids, lengths, features) for m in self.members])

    def _read(self, member: nn.Module, input_ids: torch.Tensor, lengths: torch.Tensor, features: torch.Tensor | None):
        x = member.embedding(input_ids)  # (batch, time, embedding)
        if features is not None:
            x = torch.cat([x, self.feature_dropout(features)], -1)  # (batch, time, + lm features)
        x = self.embedding_dropout(x)
        h = member.rnn(x, lengths)  # (batch, time, directions*hidden)
        pooled = member.pool(h, lengths)  # (batch, features)
        return member.head(self.dropout(pooled))  # (batch, classes)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return ensemble_logits(self.member_logits(input_ids, lengths))


def ensemble_logits(member_logits: torch.Tensor) -> torch.Tensor:
    """(members, batch, classes) -> (batch, classes): a single member's logits, or the log of the members' mean
    probabilities (whose softmax is that mean)."""
    if len(member_logits) == 1:
        return member_logits[0]
    return member_logits.log_softmax(-1).logsumexp(0) - math.log(len(member_logits))
