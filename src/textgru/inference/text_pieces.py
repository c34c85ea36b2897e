"""`TextPieces`: one sample's new text cut into the pieces a stream sends, for `stream` (`textgru.inference.generation`)
and the server's streams (`textgru.serving.scheduler`).

The text grows by decoding only the new tokens behind a few tokens of context (`CONTEXT_TOKENS`), not the prompt and
every token so far after each one: that was quadratic (a 20,000-character prompt cost 5 ms of decoding a token, 10 s
for 2,000 tokens). textgru's decoders (Fuse, ByteLevel, Metaspace, WordPiece) turn each token into its own piece of
text, given whether it is the first; only ByteLevel's bytes join across tokens, in characters of at most 4 bytes.
Where the context's text is not a prefix of the text with the new tokens (an incomplete character resolved), or the
context has no text (special tokens only), the whole is decoded as `decode_continuation` does, so the text is always
that function's."""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Tokenizer

from textgru.inference.sampling import decode_continuation

CONTEXT_TOKENS = 8  # tokens before the new ones that each decode reads (a character's 4 bytes, and some to spare)


class TextPieces:
    """One sample's new text cut into the pieces a stream sends: after each token (or several), `update` returns the
    text that became final (maybe ""). A piece that could be the start of a stop string is held back until it is not,
    and so is an incomplete byte sequence; `rest` returns what is left at the end."""

    def __init__(self, tokenizer: Tokenizer, prompt_ids: list[int], stops: Sequence[str]) -> None:
        self.tokenizer, self.prompt_ids, self.stops = tokenizer, prompt_ids, stops
        self.prompt_text = tokenizer.decode(prompt_ids)
        self.holdback = max((len(s) for s in stops), default=1) - 1
        self.streamed, self.text = 0, ""
        self.whole, self.decoded = "", 0  # the text of the first `decoded` new tokens, not cut at a stop
        self.cut: int | None = None  # where the first stop string starts in `whole`, once one has

    def update(self, new_ids: list[int], finished: bool) -> str:
        searched = self._extend(new_ids)  # the text before this index holds no stop string
        if self.cut is None:  # the earliest start of any stop string, as `cut_at_stop` cuts
            self.cut = min((i for i in (self.whole.find(s, searched) for s in self.stops) if i >= 0), default=None)
        text = self.text = self.whole if self.cut is None else self.whole[: self.cut]
        ready = len(text) - (0 if finished else self.holdback)
        if text[ready - 1 : ready] == "\ufffd":  # an incomplete byte sequence: wait for the rest
            ready -= 1
        if ready > self.streamed:
            piece, self.streamed = text[self.streamed : ready], ready
            return piece
        return ""

    def rest(self) -> str:
        piece, self.streamed = self.text[self.streamed :], max(self.streamed, len(self.text))
        return piece

    def _extend(self, new_ids: list[int]) -> int:
        """Decode the tokens past `decoded` onto `whole`; returns where a stop string could newly start in it (0 when
        the whole was decoded again)."""
        start, before = self.decoded, len(self.whole)
        if len(new_ids) == start:
            return before
        context = new_ids[max(0, start - CONTEXT_TOKENS) : start]
        if len(context) < CONTEXT_TOKENS and self.prompt_ids:
            context = self.prompt_ids[-(CONTEXT_TOKENS - len(context)) :] + context
        known = self.tokenizer.decode(context)
        with_new = self.tokenizer.decode(context + new_ids[start:])
        self.decoded = len(new_ids)
        if known and with_new.startswith(known):  # known "": the first new token could read as a text's first
            self.whole += with_new[len(known) :]
            return max(0, before - self.holdback)
        self.whole, self.cut = decode_continuation(self.tokenizer, self.prompt_ids, new_ids, self.prompt_text), None
        return 0
