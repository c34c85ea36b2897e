"""Sampling from a GRU language model: the prompt is read in one call, then one GRU step per new token with
the hidden state carried; several samples are drawn as one batch."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from tokenizers import Tokenizer
from torch import nn

from textgru.data.tokenization import PAD, UNK
from textgru.errors import TextgruError


@dataclass
class SamplingOptions:
    """The knobs of `generate`; `check()` turns a bad value into one clear error."""

    max_new_tokens: int = 500  # the defaults are those of conf/generate.yaml (scripts/generate.py)
    temperature: float = 0.8
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1.0: off
    repetition_penalty: float = 1.0  # 1.0: off; >1 makes tokens already in the text less likely (CTRL's rule)
    greedy: bool = False
    num_samples: int = 1
    seed: int | None = None
    stop: Sequence[str] = field(default_factory=tuple)  # a sample ends before the first of these strings

    def check(self) -> SamplingOptions:
        if isinstance(self.stop, str):
            self.stop = (self.stop,)
        self.stop = tuple(str(s) for s in (self.stop or ()) if str(s))
        if self.max_new_tokens < 0:
            raise TextgruError(f"max_new_tokens={self.max_new_tokens} must be 0 or more")
        if not self.greedy and not self.temperature > 0:
            raise TextgruError(
                f"temperature={self.temperature} must be > 0; for the most likely token every time use greedy=true"
            )
        if not 0 < self.top_p <= 1:
            raise TextgruError(f"top_p={self.top_p} must be in (0, 1]; 1 turns it off")
        if self.top_k < 0:
            raise TextgruError(f"top_k={self.top_k} must be 0 (off) or more")
        if not self.repetition_penalty > 0:
            raise TextgruError(f"repetition_penalty={self.repetition_penalty} must be > 0; 1 turns it off")
        if self.num_samples < 1:
            raise TextgruError(f"num_samples={self.num_samples} must be at least 1")
        return self


def encode_prompt(tokenizer: Tokenizer, prompt: str, allow_unknown: bool = False) -> list[int]:
    """Token ids of the prompt (a newline, the document separator, when it is empty). Characters the tokenizer
    never saw are an error naming them, unless `allow_unknown` maps them to [UNK]."""
    enc = tokenizer.encode(prompt if prompt else "\n")
    unk = tokenizer.token_to_id(UNK)
    unknown = list(
        dict.fromkeys(prompt[a:b] for i, (a, b) in zip(enc.ids, enc.offsets, strict=True) if i == unk)
    )  # in order
    if unknown and not allow_unknown:
        shown = ", ".join(repr(u) for u in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise TextgruError(
            f"the prompt has {len(unknown)} character(s) this model's tokenizer never saw: {shown}; "
            "remove them, or pass allow_unknown=true to read them as [UNK]"
        )
    if not enc.ids:
        raise TextgruError("the prompt encodes to no tokens; give a prompt the model's tokenizer can read")
    return list(enc.ids)


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set to -inf every logit outside the `top_k` largest and outside the smallest set of tokens whose
    probability mass reaches `top_p` (nucleus); at least one token always stays. (batch, vocab) in and out."""
    if top_k and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (batch, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        mass_before = torch.cumsum(probs, dim=-1) - probs  # mass of the tokens ranked above each one
        drop_sorted = mass_before >= top_p  # the set already reached p without this token
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def penalize_repeats(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL's repetition penalty: logits of tokens already in the text are divided by `penalty` when
    positive and multiplied by it when negative. `seen` is a (batch, vocab) bool mask."""
    penalized = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalized, logits)


def decode_continuation(
    tokenizer: Tokenizer, prompt_ids: list[int], new_ids: list[int], before: str | None = None
) -> str:
    """The text of `new_ids` as it reads after the prompt: decoded together with the prompt, so decoders that
    join tokens with spaces (BPE, word-level) place the space between prompt and continuation right.
    `before` is the decoded prompt, for callers that decode many continuations of it."""
    before = tokenizer.decode(prompt_ids) if before is None else before
    full = tokenizer.decode(prompt_ids + new_ids)
    return full[len(before) :] if full.startswith(before) else tokenizer.decode(new_ids)


def _cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(hits)], True) if hits else (text, False)


@torch.inference_mode()
def _sample(
    model: nn.Module, tokenizer: Tokenizer, prompt_ids: list[int], options: SamplingOptions
) -> Iterator[tuple[list[list[int]], list[bool]]]:
    """The sampling loop: after each new token, yields every sample's new ids so far and which have stopped."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        n = options.num_samples
        logits, hidden = model(torch.tensor([prompt_ids], device=device))  # (1, P, vocab), (layers, 1, hidden)
        logits = logits[:, -1].float().expand(n, -1)  # (samples, vocab)
        hidden = hidden.repeat(1, n, 1)  # (layers, samples, hidden)
        vocab = logits.size(-1)
        banned = [i for i in (tokenizer.token_to_id(PAD), tokenizer.token_to_id(UNK)) if i is not None and i < vocab]
        generator = torch.Generator(device=device).manual_seed(int(options.seed)) if options.seed is not None else None
        seen = torch.zeros(n, vocab, dtype=torch.bool, device=device)
        seen[:, prompt_ids] = True
        new_ids: list[list[int]] = [[] for _ in range(n)]
        finished = [False] * n
        stops = options.stop
        tail_tokens = 4 * max((len(s) for s in stops), default=0) + 4  # enough tokens to contain any stop string
        for _ in range(options.max_new_tokens):
            scores = logits.clone()
            scores[:, banned] = float("-inf")
            if options.repetition_penalty != 1.0:
                scores = penalize_repeats(scores, seen, options.repetition_penalty)
            if options.greedy:
                next_ids = scores.argmax(-1)  # (samples,)
            else:
                scores = filter_logits(scores / options.temperature, options.top_k, options.top_p)
                next_ids = torch.multinomial(torch.softmax(scores, -1), 1, generator=generator).squeeze(1)
            seen[torch.arange(n, device=device), next_ids] = True
            for i, token in enumerate(next_ids.tolist()):
                if not finished[i]:
                    new_ids[i].append(token)
                    if stops and any(s in tokenizer.decode(new_ids[i][-tail_tokens:]) for s in stops):
                        finished[i] = True
            yield new_ids, finished
            if all(finished):
                break
            logits, hidden = model(next_ids[:, None], hidden)  # one step: (samples, 1, vocab)
            logits = logits[:, -1].float()
    finally:
        model.train(was_training)


def _pieces(
    model: nn.Module, tokenizer: Tokenizer, prompt: str, options: SamplingOptions, allow_unknown: bool
) -> Iterator[tuple[str, str]]:
    """One sample's new text as (piece, text so far), piece by piece. A piece that could be the start of a stop
    string is held back until it is not, and so is an incomplete byte sequence."""
    options.check()
    if options.num_samples != 1:
        raise TextgruError(
            f"streaming draws one sample, not num_samples={options.num_samples}; use generate() for several"
        )
    prompt_ids = encode_prompt(tokenizer, prompt, allow_unknown)
    prompt_text = tokenizer.decode(prompt_ids)
    stops = options.stop
    holdback = max((len(s) for s in stops), default=1) - 1
    streamed, text = 0, ""
    for new_ids, finished in _sample(model, tokenizer, prompt_ids, options):
        text = _cut_at_stop(decode_continuation(tokenizer, prompt_ids, new_ids[0], prompt_text), stops)[0]
        ready = len(text) - (0 if finished[0] else holdback)
        if text[ready - 1 : ready] == "\ufffd":  # an incomplete byte sequence: wait for the rest
            ready -= 1
        if ready > streamed:
            yield text[streamed:ready], text
            streamed = ready
    if len(text) > streamed:
        yield text[streamed:], text


def stream(
    model: nn.Module, tokenizer: Tokenizer, prompt: str, options: SamplingOptions, allow_unknown: bool = False
) -> Iterator[str]:
    """The continuation of `prompt` (one sample), yielded in pieces as it is sampled; the pieces join to the
    text `generate` returns for the same options and seed."""
    for piece, _ in _pieces(model, tokenizer, prompt, options, allow_unknown):
        yield piece


def generate(
    model: nn.Module,
    tokenizer: Tokenizer,
    prompt: str,
    options: SamplingOptions,
    on_text: Callable[[str], None] | None = None,
    allow_unknown: bool = False,
) -> list[str]:
    """`options.num_samples` continuations of `prompt` (the prompt itself not included).

    `on_text`, for a single sample, receives the new text piece by piece as it is sampled (see `stream`)."""
    options.check()
    if on_text is not None and options.num_samples == 1:
        text = ""
        for piece, text in _pieces(model, tokenizer, prompt, options, allow_unknown):  # noqa: B007 - the last text is kept
            on_text(piece)
        return [text]
    prompt_ids = encode_prompt(tokenizer, prompt, allow_unknown)
    new_ids: list[list[int]] = [[] for _ in range(options.num_samples)]
    for new_ids, _ in _sample(model, tokenizer, prompt_ids, options):  # noqa: B007 - run to the end, keep the last ids
        pass
    prompt_text = tokenizer.decode(prompt_ids)
    return [
        _cut_at_stop(decode_continuation(tokenizer, prompt_ids, ids, prompt_text), options.stop)[0] for ids in new_ids
    ]
