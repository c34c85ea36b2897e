"""`TextPieces`: one sample's new text cut into the pieces a stream sends, for `stream` (`textgru.inference.generation`)
and the server's streams (`textgru.serving.scheduler`)."""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Tokenizer

from textgru.inference.sampling import cut_at_stop, decode_continuation


class TextPieces:
    """One sample's new text cut into the pieces a stream sends: after each token, `update` returns the text that
    became final (maybe ""). A piece that could be the start of a stop string is held back until it is not, and so
    is an incomplete byte sequence; `rest` returns what is left at the end."""

    def __init__(self, tokenizer: Tokenizer, prompt_ids: list[int], stops: Sequence[str]) -> None:
        self.tokenizer, self.prompt_ids, self.stops = tokenizer, prompt_ids, stops
        self.prompt_text = tokenizer.decode(prompt_ids)
        self.holdback = max((len(s) for s in stops), default=1) - 1
        self.streamed, self.text = 0, ""

    def update(self, new_ids: list[int], finished: bool) -> str:
        text = self.text = cut_at_stop(
            decode_continuation(self.tokenizer, self.prompt_ids, new_ids, self.prompt_text), self.stops
        )[0]
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
