"""The parts of sampling from a GRU language model that `generate`/`stream` (`textgru.inference.generation`) and the
server's shared batch (`textgru.serving.scheduler`) both use: the options (`sampling_options`), the logits filters, one request's
`Sampler` (its own seeded generator), `draw_tokens` (one draw for many requests' rows, each drawing what it draws
alone), reading a prompt and one GRU step; a stream's text pieces are in `textgru.inference.text_pieces`."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import torch
from tokenizers import Tokenizer
from torch import nn

from textgru.data.tokenization import PAD, UNK
from textgru.errors import TextgruError
from textgru.inference.loaded_model import model_device
from textgru.inference.sampling_options import LARGEST_KNOB, SMALLEST_KNOB, SamplingOptions  # noqa: F401 (re-exported)


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


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(hits)], True) if hits else (text, False)


DOCUMENT_SEPARATOR = "\n"  # every document in a language model's training stream follows it (lm_datamodule)


def document_start(tokenizer: Tokenizer) -> list[int]:
    """The id of the document separator: what the GRU reads before a text's first token, as in training (the
    last token of its encoding: BPE's puts a word-start marker of its own before it, which the stream does not)."""
    return list(tokenizer.encode(DOCUMENT_SEPARATOR).ids[-1:])


STEPS_AT_ONCE = 1024  # time steps the GRU reads in one call, a prompt read or a text scored: bounded memory


def read_prompt(model: nn.Module, prompt_ids: list[int], num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The prompt read by the GRU, in pieces of `STEPS_AT_ONCE` with the state carried (one call held every
    position's outputs: a 3 MB prompt_file asked for 18 GB): the next-token logits, one row per sample (float32), and
    the hidden state repeated per sample. Every request reads its prompt alone, also in the server's shared batch."""
    device = model_device(model)  # an onnxruntime runner: CPU
    hidden = None
    for start in range(0, len(prompt_ids) or 1, STEPS_AT_ONCE):
        piece = torch.tensor([prompt_ids[start : start + STEPS_AT_ONCE]], device=device)
        logits, hidden = model(piece, hidden)  # (1, piece, vocab), (layers, 1, hidden)
    # (samples, vocab), (layers, samples, hidden)
    return logits[:, -1].float().expand(num_samples, -1), hidden.repeat(1, num_samples, 1)


def step_model(model: nn.Module, next_ids: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One GRU step for a batch of rows: (rows,) token ids and (layers, rows, hidden) in, float32 (rows, vocab)
    logits and the new hidden state out."""
    logits, hidden = model(next_ids[:, None], hidden)  # (rows, 1, vocab)
    return logits[:, -1].float(), hidden


@functools.lru_cache(maxsize=64)
def _banned_mask(ids: tuple[int, ...], vocab: int, device: str) -> torch.Tensor:
    """One mask per model, shared by its requests' samplers: `draw_tokens` then sees one object, not one per request."""
    with torch.inference_mode(False):
        mask = torch.zeros(vocab, dtype=torch.bool, device=device)
        mask[list(ids)] = True
    return mask


class Sampler:
    """One request's sampling state: its options, its own random generator, and per sample the tokens seen, the
    new ids and whether it has stopped. `step` turns the request's (samples, vocab) logits into the next ids.

    `generate`/`stream` draw through `step`, the server's shared batch through `draw_tokens` for all its requests
    and `record` for each: both the same arithmetic, so a request draws the same tokens wherever it runs."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        prompt_ids: list[int],
        options: SamplingOptions,
        vocab: int,
        device: torch.device | str = "cpu",
    ) -> None:
        self.tokenizer, self.options = tokenizer, options
        n = options.num_samples
        banned = [i for i in (tokenizer.token_to_id(PAD), tokenizer.token_to_id(UNK)) if i is not None and i < vocab]
        self.banned = _banned_mask(tuple(banned), vocab, str(device))  # (vocab,): never sampled; shared, read-only
        seed = options.seed
        self.generator = torch.Generator(device=device).manual_seed(int(seed)) if seed is not None else None
        self.rows = torch.arange(n, device=device)
        self.seen = torch.zeros(n, vocab, dtype=torch.bool, device=device)  # (samples, vocab): for repetition_penalty
        start = document_start(tokenizer)  # the separator read before the prompt: not a token the user repeated
        self.seen[:, prompt_ids[len(start) :] if prompt_ids[: len(start)] == start else prompt_ids] = True
        self.new_ids: list[list[int]] = [[] for _ in range(n)]
        self.finished = [False] * n
        self.steps = 0
        self.tail_tokens = 4 * max((len(s) for s in options.stop), default=0) + 4  # enough to hold any stop string
        self.prompt_tail = prompt_ids[-1:]  # read before the first new token: decoders drop its leading space alone

    @property
    def done(self) -> bool:
        """Every sample has stopped, or `max_new_tokens` were drawn."""
        return all(self.finished) or self.steps >= self.options.max_new_tokens

    def step(self, logits: torch.Tensor) -> torch.Tensor:
        """Draw one token per sample from float32 (samples, vocab) logits; returns the (samples,) ids."""
        return draw_and_record([self], logits)

    def record(self, next_ids: torch.Tensor, values: list[int] | None = None) -> None:
        """Take this request's drawn (samples,) ids (`values`: the same as a list, when the caller has it): the text
        so far, the tokens seen, which samples stopped."""
        stops = self.options.stop
        if self.options.repetition_penalty != 1.0:
            self.seen[self.rows, next_ids] = True
        for i, token in enumerate(next_ids.tolist() if values is None else values):
            if not self.finished[i]:
                self.new_ids[i].append(token)
                if stops and any(s in self._tail_text(self.new_ids[i]) for s in stops):
                    self.finished[i] = True
        self.steps += 1

    def _tail_text(self, new_ids: list[int]) -> str:
        """The text of the last `tail_tokens` new tokens as it reads after the token before them (a first new token
        " lord" decoded alone is "lord": the stop string " lord" was missed, and sampling ran on)."""
        window = (self.prompt_tail + new_ids)[-(self.tail_tokens + 1) :]
        return decode_continuation(self.tokenizer, window[:1], window[1:])

    def texts(self, prompt_ids: list[int], prompt_text: str | None = None) -> list[str]:
        """Each sample's new text, cut before its first stop string."""
        return [
            cut_at_stop(decode_continuation(self.tokenizer, prompt_ids, ids, prompt_text), self.options.stop)[0]
            for ids in self.new_ids
        ]


def draw_tokens(samplers: Sequence[Sampler], logits: torch.Tensor) -> torch.Tensor:
    """One token per row for several requests at once: float32 (rows, vocab) logits, each sampler's
    `num_samples` rows in turn, all of one model; returns the (rows,) ids (not yet `record`ed).

    Every operation works row by row, so a request draws exactly what it draws alone: its own filters, and its own
    generator's noise. Sampling is `torch.multinomial`'s own method for one draw (the argmax of the probabilities
    divided by exponential noise, drawn from the request's generator), written out so that the noise is drawn per
    request while the arithmetic runs once for the whole batch."""
    if not samplers:
        return torch.empty(0, dtype=torch.long, device=logits.device)
    counts = [s.options.num_samples for s in samplers]
    banned = samplers[0].banned  # (vocab,); per row where the requests' tokenizers differ
    if any(s.banned is not banned and not torch.equal(s.banned, banned) for s in samplers):
        banned = torch.cat([s.banned.expand(n, -1) for s, n in zip(samplers, counts, strict=True)])
    scores = logits.masked_fill(banned, float("-inf"))  # (rows, vocab)
    greedy = [s.options.greedy for s in samplers]
    starts = list(itertools.accumulate(counts, initial=0))[:-1]  # each request's first row
    for sampler, start, n in zip(samplers, starts, counts, strict=True):
        if sampler.options.repetition_penalty != 1.0:
            rows = slice(start, start + n)
            scores[rows] = penalize_repeats(scores[rows], sampler.seen, sampler.options.repetition_penalty)
    next_ids = torch.empty(scores.size(0), dtype=torch.long, device=scores.device)
    if not all(greedy):
        temperature = [1.0 if g else s.options.temperature for s, g in zip(samplers, greedy, strict=True)]
        per_row = torch.tensor(temperature, dtype=scores.dtype).repeat_interleave(torch.tensor(counts))
        per_row = per_row.to(scores.device)  # (rows,)
        scaled = scores / per_row[:, None]  # (rows, vocab)
        noise = []
        for sampler, start, n, g in zip(samplers, starts, counts, greedy, strict=True):
            options = sampler.options
            if not g and (options.top_k or options.top_p < 1.0):
                rows = slice(start, start + n)
                scaled[rows] = filter_logits(scaled[rows], options.top_k, options.top_p)
            draw = torch.empty(n, scores.size(1), dtype=scores.dtype, device=scores.device)
            noise.append(draw.fill_(1.0) if g else draw.exponential_(1, generator=sampler.generator))
        probs = torch.softmax(scaled, -1)  # (rows, vocab)
        sampled = torch.tensor([not g for g in greedy]).repeat_interleave(torch.tensor(counts)).to(probs.device)
        if (sampled & ~torch.isfinite(probs).all(-1)).any():  # torch.multinomial refused these too
            raise TextgruError("the next-token probabilities are not finite (NaN logits, or every allowed token -inf)")
        next_ids = (probs / torch.cat(noise)).argmax(-1)  # (rows,)
    for start, n, g in zip(starts, counts, greedy, strict=True):
        if g:
            next_ids[start : start + n] = scores[start : start + n].argmax(-1)
    return next_ids


def draw_and_record(samplers: Sequence[Sampler], logits: torch.Tensor) -> torch.Tensor:
    """`draw_tokens` for all rows, then each request `record`s its own; returns the (rows,) ids."""
    drawn = draw_tokens(samplers, logits)  # (rows,)
    values, start = drawn.tolist(), 0
    for sampler in samplers:
        n = sampler.options.num_samples
        sampler.record(drawn[start : start + n], values[start : start + n])
        start += n
    return drawn
