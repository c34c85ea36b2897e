"""A bidirectional GRU language model (ELMo-style) laid out like the classifier's BiGRU, so that its weights move
into `GRUClassifier` one-to-one (`textgru.models.transfer`; `task=bilm`, `textgru.tasks.bilm`).

A forward GRU stack reads each text left to right and predicts the next token; a backward stack reads it right to
left, *within its own length* as `BiGRU` does, and predicts the previous token. Both share the embedding and the
output layer. The module names are the classifier's: `embedding`, `rnn.forward_layers.i`, `rnn.backward_layers.i`.

Each text is its own sequence (right-padded batches of whole texts, as the classifier reads them), so the state
starts at zero at every text's start (forward) and end (backward), as it does in the classifier.

Layers above the first: in the classifier, layer i > 0 of each direction reads both directions' outputs of layer
i - 1 (2 * hidden inputs). In the language model a direction must not see the other one (the backward state at
position t has read the tokens after t, the very ones the forward direction predicts), so each direction's upper
layers read their own direction's output next to zeros where the other direction's would be. Those input columns
start at zero and receive no gradient (their input is zero), so they stay zero: the classifier starts from exactly
the pretrained one-direction stacks and learns to mix the directions while fine-tuning.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from textgru.errors import TextgruError
from textgru.models.bigru import BiGRU, reverse_padded

SOFTMAXES = ("full", "adaptive")


class BiGRULanguageModel(nn.Module):
    """`forward(input_ids, lengths) -> (forward_nll_sum, backward_nll_sum, targets_per_direction)`.

    `softmax`: `full` (a linear layer over the vocabulary; `tie_weights` shares it with the embedding, which needs
    `projection_size` or `hidden_size` equal to `embedding_dim`) or `adaptive` (`nn.AdaptiveLogSoftmaxWithLoss`
    with `cutoffs`: exact log-likelihoods at a fraction of the cost for large vocabularies).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 128,
        hidden_size: int = 256,
        num_layers: int = 1,
        embedding_dropout: float = 0.1,
        rnn_dropout: float = 0.0,
        output_dropout: float = 0.3,
        word_dropout: float = 0.0,
        projection_size: int | None = None,
        tie_weights: bool = False,
        softmax: str = "full",
        cutoffs: list[int] | None = None,
        div_value: float = 4.0,
        padding_idx: int = 0,
        unk_idx: int = 1,
        rnn: str = "native",
    ) -> None:
        super().__init__()
        if softmax not in SOFTMAXES:
            raise TextgruError(f"unknown model.softmax {softmax!r}; use one of {', '.join(SOFTMAXES)}")
        self.vocab_size, self.hidden_size, self.num_layers = vocab_size, hidden_size, num_layers
        self.word_dropout, self.unk_idx = word_dropout, unk_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.rnn = BiGRU(embedding_dim, hidden_size, num_layers, dropout=rnn_dropout, bidirectional=True, rnn=rnn)
        self.output_dropout = nn.Dropout(output_dropout)
        self.projection = nn.Linear(hidden_size, projection_size) if projection_size else None
        out_features = projection_size or hidden_size
        cuts = sorted({c for c in (cutoffs or [500, 2000, 6000]) if 0 < c < vocab_size - 1})
        if softmax == "adaptive" and tie_weights:
            raise TextgruError("model.tie_weights needs model.softmax=full")
        if softmax == "adaptive" and not cuts:  # a vocabulary smaller than the head: a plain softmax is as cheap
            softmax = "full"  # tasks.bilm says so when it trains one (not each time a checkpoint is rebuilt)
        self.softmax = softmax
        if softmax == "adaptive":
            self.decoder = nn.AdaptiveLogSoftmaxWithLoss(out_features, vocab_size, cuts, div_value=div_value)
        else:
            self.decoder = nn.Linear(out_features, vocab_size)
            if tie_weights:
                if out_features != embedding_dim:
                    raise TextgruError(
                        f"model.tie_weights needs the output layer input ({out_features}) to equal "
                        f"model.embedding_dim ({embedding_dim}); set model.projection_size={embedding_dim}"
                    )
                self.decoder.weight = self.embedding.weight
        self._zero_cross_direction_inputs()

    @torch.no_grad()
    def _zero_cross_direction_inputs(self) -> None:
        """Upper layers: the input columns that would read the other direction start (and stay) at zero."""
        h = self.hidden_size
        for layer in range(1, self.num_layers):
            self.rnn.forward_layers[layer].weight_ih_l0[:, h:].zero_()  # inputs [forward | backward]
            self.rnn.backward_layers[layer].weight_ih_l0[:, :h].zero_()

    def states(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-layer states of each direction, (batch, time, hidden) each, the backward ones at the texts' own
        positions (position t has read tokens t..end)."""
        if self.training and self.word_dropout > 0:  # replace random real tokens by [UNK] (inputs only)
            drop = torch.rand(input_ids.shape, device=input_ids.device) < self.word_dropout
            input_ids = input_ids.masked_fill(drop & (input_ids != self.embedding.padding_idx), self.unk_idx)
        x = self.embedding_dropout(self.embedding(input_ids))  # (batch, time, embedding)
        fwd, bwd = x, reverse_padded(x, lengths)  # the backward stream stays reversed until the end
        for layer in range(self.num_layers):
            if layer > 0:
                zeros = torch.zeros_like(fwd)
                fwd = self.rnn.dropout(torch.cat([fwd, zeros], dim=-1))  # (batch, time, 2*hidden)
                bwd = self.rnn.dropout(torch.cat([zeros, bwd], dim=-1))
            fwd, _ = self.rnn.forward_layers[layer](fwd)  # (batch, time, hidden)
            bwd, _ = self.rnn.backward_layers[layer](bwd)
        return fwd, reverse_padded(bwd, lengths)

    def _nll_sum(self, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        # h: (n, hidden) states that predict `targets` (n,)
        h = self.output_dropout(h)
        if self.projection is not None:
            h = self.projection(h)  # (n, projection)
        if self.softmax == "adaptive":
            return -self.decoder(h.float(), targets).output.sum()
        return F.cross_entropy(self.decoder(h).float(), targets, reduction="sum")

    def forward(
        self, input_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Summed negative log-likelihood of every next token (forward) and every previous token (backward) of the
        right-padded texts `input_ids` (batch, time), and the number of targets of each direction."""
        fwd, bwd = self.states(input_ids, lengths)  # (batch, time, hidden) each
        time = input_ids.shape[1]
        mask = torch.arange(time - 1, device=input_ids.device).unsqueeze(0) < (
            lengths.to(input_ids.device) - 1
        ).unsqueeze(1)
        # forward: the state at t predicts token t+1; backward: the state at t+1 predicts token t
        forward_nll = self._nll_sum(fwd[:, :-1][mask], input_ids[:, 1:][mask])
        backward_nll = self._nll_sum(bwd[:, 1:][mask], input_ids[:, :-1][mask])
        return forward_nll, backward_nll, mask.sum()

    @torch.no_grad()
    def log_probs(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities over the vocabulary: forward[:, t] for token t+1, backward[:, t] for token t-1
        ((batch, time, vocab) each; rows past a text's end, or with nothing to predict, are meaningless)."""
        fwd, bwd = self.states(input_ids, lengths)
        out = []
        for h in (fwd, bwd):
            if self.projection is not None:
                h = self.projection(h)
            flat = h.reshape(-1, h.shape[-1])
            lp = self.decoder.log_prob(flat) if self.softmax == "adaptive" else F.log_softmax(self.decoder(flat), -1)
            out.append(lp.view(*h.shape[:2], -1))
        return out[0], out[1]
