"""Sampling from a GRU language model: the prompt is read in one call, then one GRU step per new token with
the hidden state carried; several samples are drawn as one batch. The options, filters and the per-request
`Sampler` are in `textgru.inference.sampling` (re-exported here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from tokenizers import Tokenizer
from torch import nn

from textgru.data.decoding import check_unicode
from textgru.data.tokenization import UNK, as_text
from textgru.errors import TextgruError, require_bool
from textgru.inference.eval_mode import eval_mode
from textgru.inference.sampling import (
    Sampler,
    SamplingOptions,
    cut_at_stop,
    decode_continuation,
    document_start,
    filter_logits,
    penalize_repeats,
    read_prompt,
    step_model,
)
from textgru.inference.text_pieces import TextPieces

__all__ = [
    "SamplingOptions",
    "decode_continuation",
    "document_start",
    "encode_prompt",
    "filter_logits",
    "generate",
    "penalize_repeats",
    "stream",
    "unknown_text",
]


def unknown_text(tokenizer: Tokenizer, prompt: str) -> tuple[list[int], list[str]]:
    """`prompt`'s token ids, and the pieces of it read as [UNK] (distinct, in order): characters the tokenizer has no
    token for (a char tokenizer's vocab_size may leave out some it saw)."""
    try:
        enc = as_text(tokenizer).encode(prompt)
    except TypeError:
        check_unicode([prompt], "prompt")  # one line for a lone surrogate, as Classifier.encode gives
        raise
    unk = tokenizer.token_to_id(UNK)
    unknown = list(
        dict.fromkeys(prompt[a:b] for i, (a, b) in zip(enc.ids, enc.offsets, strict=True) if i == unk)
    )  # in order
    return list(enc.ids), unknown


def unknown_said(pieces: list[str]) -> tuple[str, str]:
    """(the first 10 of `pieces` shown for a message, "it" or "them" for them)."""
    shown = ", ".join(repr(u) for u in pieces[:10]) + (" ..." if len(pieces) > 10 else "")
    return shown, "them" if len(pieces) > 1 else "it"  # a review: "never saw: 'z'; remove them"


def encode_prompt(tokenizer: Tokenizer, prompt: str, allow_unknown: bool = False) -> list[int]:
    """Token ids the GRU reads before sampling: the document separator, then the prompt's (a text starts after
    the separator in training, and `LanguageModel.score` reads it so). Characters the tokenizer has no token for are
    an error naming them, unless `allow_unknown` (True or False) maps them to [UNK]."""
    require_bool(allow_unknown, "allow_unknown")  # a review: allow_unknown="false", a true string, read them as [UNK]
    prompt_ids, unknown = unknown_text(tokenizer, prompt)
    if unknown and not allow_unknown:
        shown, them = unknown_said(unknown)
        raise TextgruError(  # (a count of distinct pieces misled; "never saw" too: a review, vocab_size left some out)
            f"the prompt holds text this model's tokenizer has no token for: {shown}; "
            f"remove {them}, or pass allow_unknown=true to read {them} as [UNK]"
        )
    ids = document_start(tokenizer) + prompt_ids
    if not ids:
        raise TextgruError("the prompt encodes to no tokens; give a prompt the model's tokenizer can read")
    return ids


def _sample(
    model: nn.Module, tokenizer: Tokenizer, prompt_ids: list[int], options: SamplingOptions
) -> Iterator[tuple[list[list[int]], list[bool]]]:
    """The sampling loop: after each new token, yields every sample's new ids so far and which have stopped.
    Inference and eval mode are held while computing, not across a yield (a stream left open when Python exits was
    closed through torch's generator wrapper after torch was torn down: "Exception ignored" tracebacks; a review: a
    stream left half read counted as a call inside the model, so a notebook's `model.train()` after it was undone by
    the next predict, and its training went on with dropout off)."""
    with eval_mode(model), torch.inference_mode():
        logits, hidden = read_prompt(model, prompt_ids, options.num_samples)
        sampler = Sampler(tokenizer, prompt_ids, options, logits.size(-1), logits.device)
    for _ in range(options.max_new_tokens):
        with torch.inference_mode():
            next_ids = sampler.step(logits)
        yield sampler.new_ids, sampler.finished
        if all(sampler.finished):
            break
        with eval_mode(model), torch.inference_mode():
            logits, hidden = step_model(model, next_ids, hidden)


def _pieces(
    model: nn.Module, tokenizer: Tokenizer, prompt_ids: list[int], options: SamplingOptions
) -> Iterator[tuple[str, str]]:
    """One sample's new text as (piece, text so far), piece by piece (see `TextPieces`); the last piece may be "",
    its text the whole (a review: a token that completed a stop string streamed nothing, and the text last yielded
    still held the stop's start)."""
    pieces = TextPieces(tokenizer, prompt_ids, options.stop)
    for new_ids, finished in _sample(model, tokenizer, prompt_ids, options):
        piece = pieces.update(new_ids[0], finished[0])
        if piece:
            yield piece, pieces.text
    yield pieces.rest(), pieces.text


def stream(
    model: nn.Module, tokenizer: Tokenizer, prompt: str, options: SamplingOptions, allow_unknown: bool = False
) -> Iterator[str]:
    """The continuation of `prompt` (one sample), yielded in pieces as it is sampled; the pieces join to the
    text `generate` returns for the same options and seed. Options and prompt are checked at the call, not at the
    first piece (a review: in a notebook, a later cell's loop failed)."""
    options.check()
    if options.num_samples != 1:
        raise TextgruError(
            f"streaming draws one sample, not num_samples={options.num_samples}; use generate() for several"
        )
    prompt_ids = encode_prompt(tokenizer, prompt, allow_unknown)
    return (piece for piece, _ in _pieces(model, tokenizer, prompt_ids, options) if piece)


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
    if on_text is not None:
        if not callable(on_text):
            raise TextgruError(f"on_text={on_text!r} must be a function that takes each new piece of text")
        if options.num_samples != 1:  # it was dropped without a word
            raise TextgruError(
                "on_text streams one sample; with num_samples > 1, leave it out (the texts are returned)"
            )
        text = ""
        pieces = _pieces(model, tokenizer, encode_prompt(tokenizer, prompt, allow_unknown), options)
        for piece, text in pieces:  # noqa: B007 - the last text is kept
            if piece:
                on_text(piece)
        return [text]
    prompt_ids = encode_prompt(tokenizer, prompt, allow_unknown)
    new_ids: list[list[int]] = [[] for _ in range(options.num_samples)]
    for new_ids, _ in _sample(model, tokenizer, prompt_ids, options):  # noqa: B007 - run to the end, keep the last ids
        pass
    prompt_text = tokenizer.decode(prompt_ids)
    return [
        cut_at_stop(decode_continuation(tokenizer, prompt_ids, ids, prompt_text), options.stop)[0] for ids in new_ids
    ]
