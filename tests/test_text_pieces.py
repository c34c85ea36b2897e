"""`TextPieces` decodes each update's new tokens behind a few tokens of context: its text must be, for every decoder
textgru trains (word, bpe, byte_bpe, char), exactly the text `decode_continuation` gives the whole, cut at the first
stop string, whatever the prompt and however the tokens arrive; and the decoding done grows linearly with the tokens."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tok_cfg
from textgru.data.tokenization import train_tokenizer
from textgru.inference.sampling import cut_at_stop, decode_continuation
from textgru.inference.text_pieces import CONTEXT_TOKENS, TextPieces

KINDS = ("word", "bpe", "byte_bpe", "char")
CORPUS = [
    "the cat sat on the mat . do n't you 're fine !",
    "so good 😀 😀👍🏽 naïve café — ok ?",
    "שלום עולם and 日本語 text , with ' quotes ' here",
    "a\u200bgood\u200bday\nnew line\n\nend",
] * 5


@pytest.fixture(scope="module")
def tokenizers() -> dict:
    return {kind: train_tokenizer(CORPUS, tok_cfg(kind, min_frequency=1, vocab_size=400)) for kind in KINDS}


def expected(tok, prompt_ids: list[int], new_ids: list[int], stops: list[str]) -> str:
    return cut_at_stop(decode_continuation(tok, prompt_ids, new_ids), stops)[0]


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    data=st.data(),
    chunk=st.integers(1, 4),
)
def test_pieces_join_to_the_whole_texts_decode_for_every_decoder(tokenizers, kind, data, chunk) -> None:
    tok = tokenizers[kind]
    ids = st.integers(0, tok.get_vocab_size() - 1)  # special tokens (PAD 0, UNK 1) too
    prompt_ids = data.draw(st.lists(ids, max_size=3 * CONTEXT_TOKENS))
    new_ids = data.draw(st.lists(ids, min_size=1, max_size=60))
    whole = decode_continuation(tok, prompt_ids, new_ids)
    stops = data.draw(
        st.lists(st.sampled_from(["\n\n", " .", "😀", "a", "xyz"]) | st.text(min_size=1, max_size=3), max_size=2)
    )
    pieces = TextPieces(tok, prompt_ids, stops)
    sent = []
    for end in range(chunk, len(new_ids) + chunk, chunk):  # updates of `chunk` tokens, as the server flushes them
        sent.append(pieces.update(new_ids[:end], finished=end >= len(new_ids)))
        assert pieces.text == expected(tok, prompt_ids, new_ids[:end], stops)
    sent.append(pieces.rest())
    assert "".join(sent) == pieces.text == cut_at_stop(whole, stops)[0]


class CountingTokenizer:
    """A tokenizer's `decode` that counts the ids it was given."""

    def __init__(self, tok) -> None:
        self.tok, self.ids = tok, 0

    def decode(self, ids: list[int]) -> str:
        self.ids += len(ids)
        return self.tok.decode(ids)


@pytest.mark.parametrize("kind", KINDS)
def test_each_token_decodes_a_bounded_context_not_the_prompt_and_all_before_it(tokenizers, kind) -> None:
    tok = tokenizers[kind]
    prompt_ids = tok.encode(" ".join(CORPUS) * 10).ids
    new_ids = tok.encode(" ".join(CORPUS[:2]) * 5).ids[:300]
    counting = CountingTokenizer(tok)
    pieces = TextPieces(counting, prompt_ids, ["xyz"])
    streamed = "".join(pieces.update(new_ids[: i + 1], False) for i in range(len(new_ids))) + pieces.rest()
    assert streamed == expected(tok, prompt_ids, new_ids, ["xyz"])
    after_prompt = counting.ids - len(prompt_ids)  # the prompt itself is decoded once
    assert after_prompt <= len(new_ids) * (2 * CONTEXT_TOKENS + 2), (after_prompt, len(prompt_ids), len(new_ids))


@pytest.mark.parametrize(
    ("kind", "prompt", "specials", "arriving", "stops"),
    [
        ("word", "the cat", 2 * CONTEXT_TOKENS, ["sat", "on"], []),  # a context of special tokens only
        ("bpe", "the cat", 2 * CONTEXT_TOKENS, ["sat"], []),
        ("char", "a", 0, ["b", "\n", "\n", "c"], ["\n\n"]),  # a stop string across two updates
        ("char", "a", 0, ["x", "y", "z", "q"], ["xyz"]),
    ],
)
def test_pieces_at_the_edges(tokenizers, kind, prompt, specials, arriving, stops) -> None:
    tok = tokenizers[kind]
    prompt_ids = tok.encode(prompt).ids + [0] * specials  # [PAD]s, which decoding skips
    new_ids = [i for text in arriving for i in tok.encode(text).ids]
    pieces = TextPieces(tok, prompt_ids, stops)
    streamed = "".join(pieces.update(new_ids[: i + 1], False) for i in range(len(new_ids))) + pieces.rest()
    assert streamed == pieces.text == expected(tok, prompt_ids, new_ids, stops)
