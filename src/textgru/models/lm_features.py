"""A pretrained biLM read as frozen per-token features (`model.transfer=features`; ELMo, Peters et al. 2018).

Instead of fine-tuning the language model's weights into the classifier (`model.transfer=finetune`), the classifier
keeps the biLM as it was pretrained and reads, for every token, its embedding and both GRU directions' states,
[e; h_fwd; h_bwd], next to its own embedding (trained from GloVe, as a classifier from scratch starts). The biLM
never trains: its parameters take no gradient, are in no optimizer group and no unfreezing stage, and its output is
detached; it has no dropout of its own (in training the classifier drops its features, `feature_dropout` then
`embedding_dropout`, and `word_dropout` turns some of the ids both read into [UNK]). Its weights are part of the
classifier's checkpoint (self-contained: no reference to the LM's file).

Module names are the biLM's (`embedding`, `rnn.forward_layers.i`, `rnn.backward_layers.i`), so its state loads
one-to-one. A biLM's upper layers read their own direction next to zero columns (`textgru.models.bilm`): the
`BiGRU` here computes exactly what the LM did.
"""

from __future__ import annotations

import torch
from torch import nn

from textgru.models.bigru import BiGRU


class FrozenLMFeatures(nn.Module):
    """`forward(input_ids, lengths) -> (batch, time, embedding_dim + 2*hidden_size)` of right-padded id batches."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int, padding_idx: int = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.rnn = BiGRU(embedding_dim, hidden_size, num_layers, bidirectional=True)
        self.output_size = embedding_dim + self.rnn.output_size
        self.requires_grad_(False)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        e = self.embedding(input_ids)  # (batch, time, lm embedding)
        return torch.cat([e, self.rnn(e, lengths)], -1).detach()  # (batch, time, lm embedding + 2*hidden)
