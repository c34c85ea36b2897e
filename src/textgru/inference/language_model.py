"""`LanguageModel`: a trained GRU language model rebuilt from its checkpoint alone, to sample, stream and score."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from tokenizers import Tokenizer

from textgru.data.batching import LengthBucketBatchSampler, pad_collate
from textgru.data.decoding import check_unicode
from textgru.data.tokenization import UNK, as_text, pad_id
from textgru.errors import TextgruError, a_kind
from textgru.inference.arguments import check_batch_size, text_list
from textgru.inference.eval_mode import eval_mode
from textgru.inference.generation import SamplingOptions, document_start, generate, stream
from textgru.inference.loaded_model import LoadedModel, read_tokenizer
from textgru.inference.sampling import STEPS_AT_ONCE

log = logging.getLogger(__name__)
NO_SEPARATOR = (
    "this language model's tokenizer drops the newline that separates documents (a word-level tokenizer does), so "
    "it has no document start to sample or score from; retrain it with tokenizer=bpe, byte_bpe or char"
)


class LanguageModel(LoadedModel):
    """A language model (`task=lm` checkpoint): `LanguageModel.load(path).generate("ROMEO:", seed=1)`.

    The sampling keywords of `generate` and `stream` are those of `scripts/generate.py`: `max_new_tokens`,
    `temperature`, `top_k`, `top_p`, `repetition_penalty`, `greedy`, `num_samples`, `seed`, `stop`."""

    task = "lm"
    no_eval_hint = "score texts with textgru.load(...).score([...])"

    def __init__(self, model: torch.nn.Module, tokenizer: Tokenizer, meta: Mapping[str, Any]) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.meta = dict(meta)

    @classmethod
    def from_parts(cls, model: torch.nn.Module, meta: dict[str, Any]) -> LanguageModel:
        tokenizer = read_tokenizer(model, meta)
        if not document_start(tokenizer):  # training refuses such a tokenizer now (config_rules_train)
            raise TextgruError(NO_SEPARATOR)
        return cls(model, tokenizer, meta)

    def describe(self) -> str:
        return f"vocab={self.tokenizer.get_vocab_size()}"

    def generate(
        self,
        prompt: str = "",
        *,
        allow_unknown: bool = False,
        on_text: Callable[[str], None] | None = None,
        **sampling: Any,
    ) -> list[str]:
        """`num_samples` continuations of `prompt` (the prompt not included), drawn together as one batch.

        A `seed` makes them reproducible: the same seed gives the same text as `scripts/generate.py`.
        `allow_unknown` reads characters the tokenizer has no token for as [UNK] instead of refusing the prompt."""
        return generate(self.model, self.tokenizer, _prompt(prompt), _options(sampling), on_text, allow_unknown)

    def stream(self, prompt: str = "", *, allow_unknown: bool = False, **sampling: Any) -> Iterator[str]:
        """One continuation of `prompt`, yielded in text pieces as it is sampled (for a chat window or a
        terminal); the pieces join to what `generate` returns with the same seed."""
        return stream(self.model, self.tokenizer, _prompt(prompt), _options(sampling), allow_unknown)

    @torch.inference_mode()
    def unknown_tokens(self, texts: str | Sequence[str]) -> list[int]:
        """How many tokens of each text the tokenizer reads as [UNK] (characters or words it never saw). `score` scores
        them as the [UNK] token, so a text of characters the model never saw can score as likely: check this too."""
        unk, texts = self.tokenizer.token_to_id(UNK), text_list(texts, "unknown_tokens")
        try:
            return [e.ids.count(unk) for e in as_text(self.tokenizer).encode_batch(texts)]
        except TypeError:
            check_unicode(texts)  # one line for a lone surrogate, as score gives (a review: the tokenizers' TypeError)
            raise

    def score(self, texts: str | Sequence[str], batch_size: int = 64) -> list[float]:
        """Nats per token of each text (its mean negative log-likelihood), read as a document of its own: after
        the document separator, as in training. `math.exp` of it is the text's perplexity; an empty text
        scores nan."""
        with eval_mode(self.model):  # a review: in train mode, dropout scored one text three ways
            return self._score(texts, batch_size)

    @torch.inference_mode()  # without it every step kept its activations for a backward pass: ~0.9 GB a long text
    def _score(self, texts: str | Sequence[str], batch_size: int) -> list[float]:
        texts, batch_size = text_list(texts, "score"), check_batch_size(batch_size)
        start = document_start(self.tokenizer)  # the separator that precedes every document
        try:
            docs = [as_text(self.tokenizer).encode(t).ids for t in texts]
        except TypeError:
            check_unicode(texts)  # one line for a lone surrogate (checked only then: /score calls this per batch)
            raise
        unk = self.tokenizer.token_to_id(UNK)
        unknown = sum(unk in d for d in docs)
        if unknown and not getattr(self, "_said_unknown", False):  # a review: a text of them scored as likely, unsaid
            self._said_unknown = True
            log.warning(
                "%d of %d texts hold tokens this model never saw, each scored as the [UNK] token, so such a text can "
                "look likely; unknown_tokens(texts) counts them per text (said once)",
                *(unknown, len(docs)),
            )
        scores = [math.nan] * len(docs)
        scored = [i for i, d in enumerate(docs) if d]
        if not scored:
            return scores
        sampler = LengthBucketBatchSampler([len(docs[i]) for i in scored], batch_size, shuffle=False)
        for batch_idx in sampler:
            idx = [scored[j] for j in batch_idx]
            batch = pad_collate([{"input_ids": start + docs[i]} for i in idx], pad_id=pad_id(self.tokenizer))
            ids = batch["input_ids"].to(self.device)  # (batch, time)
            first = len(start) - 1  # the first prediction of a text's own tokens
            counts = batch["lengths"].to(self.device) - len(start)  # (batch,): the text's tokens
            total, hidden = torch.zeros(len(idx), device=self.device), None
            # long texts in pieces of STEPS_AT_ONCE, the state carried: memory stays bounded (a whole 20,000-token
            # batch held ~0.25 GB of activations per text)
            for s in range(0, ids.size(1) - 1, STEPS_AT_ONCE):
                inputs, targets = ids[:, s : s + STEPS_AT_ONCE], ids[:, s + 1 : s + STEPS_AT_ONCE + 1]
                inputs = inputs[:, : targets.size(1)]  # each position predicts the next token
                logits, hidden = self.model(inputs, hidden)  # (batch, steps, vocab)
                nll = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none")
                steps = torch.arange(s, s + targets.size(1), device=self.device)  # (steps,)
                mask = (steps[None, :] >= first) & (steps[None, :] < first + counts[:, None])  # (batch, steps)
                total += (nll * mask).sum(1)
            per_text = total / counts
            for i, value in zip(idx, per_text.tolist(), strict=True):
                scores[i] = value
        return scores


def _options(sampling: Mapping[str, Any]) -> SamplingOptions:
    known = set(SamplingOptions.__dataclass_fields__)
    unknown = sorted(set(sampling) - known)
    if unknown:
        raise TextgruError(f"unknown sampling option(s) {unknown}; use any of {sorted(known)}")
    options = SamplingOptions(**sampling).check()
    greedy_ignores(sampling)
    return options


def greedy_ignores(sampling: Mapping[str, Any]) -> dict[str, Any]:
    """`sampling` with what greedy decoding ignores (temperature, top_k, top_p) put back to the defaults, and a
    warning naming them, as Hugging Face's generate says of do_sample=False with a temperature. `textgru generate`
    calls it before it prints the prompt (a review: the warning split the streamed sample's line)."""
    defaults = {k: getattr(SamplingOptions, k) for k in ("temperature", "top_k", "top_p")}
    ignored = {k: sampling[k] for k, off in defaults.items() if sampling.get(k, off) != off}
    if not sampling.get("greedy") or not ignored:
        return dict(sampling)
    log.warning(
        "greedy=true takes the likeliest token every time; ignored: %s",
        ", ".join(f"{k}={v}" for k, v in ignored.items()),
    )
    return {**sampling, **{k: defaults[k] for k in ignored}}


def _prompt(prompt: Any) -> str:
    if not isinstance(prompt, str):  # a list of prompts was the tokenizer's TypeError
        raise TextgruError(f"the prompt is {a_kind(prompt)}, not a string (one prompt per call)")
    return prompt
