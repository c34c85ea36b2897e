"""Tokenizers from HF `tokenizers`: special ids, normalisation, training on train only, JSON round trip."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from conftest import tok_cfg

from textgru.data.tokenization import NORMALIZER_KEYS, PAD, UNK, tokenizer_from_json, train_tokenizer
from textgru.data.tokenizer_schema import tokenizer_problem

TEXTS = ["I LOVE this movie http://x.co/abc @bob", "I hate it", "love love love", "meh, it was ok"] * 3


@pytest.mark.parametrize("kind", ["word", "bpe", "byte_bpe", "char"])
def test_every_tokenizer_textgru_writes_is_one_it_reads(kind: str) -> None:
    """The check of a file's tokenizer (`tokenizer_schema`, a security review) refuses nothing textgru makes: every
    kind with every normalisation `build_normalizer` writes."""
    for form, *flags in itertools.product((None, "NFC", "NFD", "NFKC", "NFKD"), *[(False, True)] * 4):
        settings = dict(zip(NORMALIZER_KEYS, (form, *flags), strict=True))
        tok = train_tokenizer(TEXTS, tok_cfg(kind, vocab_size=300, min_frequency=1, **settings))
        assert tokenizer_problem(json.loads(tok.to_str())) is None, settings
        assert tokenizer_from_json(tok.to_str()).encode("I love it @bob").ids == tok.encode("I love it @bob").ids


@pytest.mark.parametrize("kind", ["word", "bpe", "byte_bpe", "char"])
@pytest.mark.parametrize("token", [PAD, UNK])
def test_a_tokenizer_without_a_special_token_is_refused(kind: str, token: str) -> None:
    """A review: a file's tokenizer with [PAD] or [UNK] renamed (in its vocabulary and added tokens) was read, then
    failed every batch (pad_id's int(None)) or every unknown word ("WordLevel error: Missing [UNK] token"). Every
    kind textgru trains has both."""
    spec = json.loads(train_tokenizer(TEXTS, tok_cfg(kind, vocab_size=300, min_frequency=1)).to_str())
    spec["model"]["vocab"]["[XX]"] = spec["model"]["vocab"].pop(token)
    for added in spec["added_tokens"]:
        added["content"] = "[XX]" if added["content"] == token else added["content"]
    assert (
        tokenizer_problem(spec) == f"has no {token} token in its vocabulary, which every tokenizer textgru writes has"
    )
    with pytest.raises(ValueError, match=re.escape(f"has no {token} token")):
        tokenizer_from_json(json.dumps(spec))


@pytest.mark.parametrize("kind", ["word", "bpe", "char"])
def test_special_tokens_and_round_trip(kind: str) -> None:
    tok = train_tokenizer(TEXTS, tok_cfg(kind, vocab_size=200, min_frequency=1, lowercase=True))
    assert tok.token_to_id(PAD) == 0 and tok.token_to_id(UNK) == 1
    again = tokenizer_from_json(tok.to_str())
    assert again.encode("I love it").ids == tok.encode("I love it").ids


def test_word_normalisation_and_unknowns() -> None:
    tok = train_tokenizer(
        TEXTS,
        tok_cfg("word", vocab_size=100, min_frequency=2, lowercase=True, replace_urls=True, replace_mentions=True),
    )
    enc = tok.encode("LOVE https://t.co/zz @alice zebra")
    assert enc.tokens == ["love", "xxurl", "xxuser", UNK]


def test_vocab_size_and_min_frequency_respected() -> None:
    tok = train_tokenizer(TEXTS, tok_cfg("word", vocab_size=6, min_frequency=1))
    assert tok.get_vocab_size() == 6
    rare = train_tokenizer(TEXTS, tok_cfg("word", vocab_size=1000, min_frequency=4))
    vocab = rare.get_vocab()
    assert "love" in vocab and "meh" not in vocab  # "meh" occurs 3 times, below min_frequency 4


@pytest.mark.parametrize("kind", ["bpe", "byte_bpe"])
def test_a_vocab_size_below_the_alphabet_is_told(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    """A review: tokenizer=bpe vocab_size=3 gave 25 tokens, byte_bpe 258, although the setting reads "the most tokens"."""
    with caplog.at_level("WARNING", logger="textgru.data.tokenization"):
        tok = train_tokenizer(TEXTS, tok_cfg(kind, vocab_size=10))
    assert tok.get_vocab_size() > 10
    assert f"tokenizer.vocab_size=10 is below what a {kind} tokenizer keeps whole" in caplog.text
    assert f"it has {tok.get_vocab_size()} tokens" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="textgru.data.tokenization"):
        train_tokenizer(TEXTS, tok_cfg(kind, vocab_size=2000))
    assert "tokenizer.vocab_size" not in caplog.text


def test_cut_texts_and_unspaced_scripts_are_told(caplog: pytest.LogCaptureFixture) -> None:
    """Found by a review: texts of 3,000 words were cut to 256 tokens without a word (the label word was at the end),
    and Chinese under the word tokenizer became one unknown token a sentence (chance accuracy), silently."""
    from textgru.data.token_counts import report_token_counts

    english = ["the film was good", "a bad day at the office"] * 5
    with caplog.at_level("INFO", logger="textgru.data.token_counts"):
        report_token_counts(english, [4, 6] * 5, 5, "word")
        assert "5 of 10 training texts (50%) are longer than data.max_length=5 tokens" in caplog.text
        assert "raise data.max_length" in caplog.text and "Chinese" not in caplog.text
        caplog.clear()
        report_token_counts(english, [4] * 10, 5, "word")
        assert caplog.text == ""
        chinese = ["这部电影非常好看。", "这家餐厅有点失望！"] * 5
        report_token_counts(chinese, [2] * 10, 256, "word")
        assert "Chinese, Japanese, Thai" in caplog.text and "tokenizer=bpe or tokenizer=char" in caplog.text
        caplog.clear()
        report_token_counts(chinese, [9] * 10, 256, "char")
        assert caplog.text == ""


@pytest.mark.parametrize("kind", ["word", "bpe", "byte_bpe"])
def test_glove_reaches_the_tokens_of_whole_words(kind: str) -> None:
    """A review: with tokenizer=bpe, GloVe's vector for "checkpoint" went to the piece "checkpoint" (inside a word),
    never to "▁checkpoint", the token a text's word is; byte-level BPE's "Ġword" likewise."""
    import numpy as np
    import torch

    from textgru.models.glove import init_from_glove, load_glove

    tok = train_tokenizer(["the good movie was good", "a good day for the movie"] * 20, tok_cfg(kind, vocab_size=300))
    emb = torch.nn.Embedding(tok.get_vocab_size(), 50, padding_idx=0)
    torch.nn.init.zeros_(emb.weight)
    init_from_glove(emb, tok, quiet=True)
    vectors, words = load_glove()
    for word in ("movie", "good"):
        (row,) = tok.encode(f"the {word}").ids[1:]  # the token of the word as it occurs in a text
        assert np.allclose(emb.weight[row].detach().numpy(), vectors[words.index(word)]), (kind, tok.id_to_token(row))


@pytest.mark.parametrize("kind", ["word", "bpe", "byte_bpe", "char"])
def test_special_tokens_typed_in_a_text_are_read_as_text(kind: str) -> None:
    """A review: "[PAD]" typed in a tweet was read as the padding id, "[UNK]" as the unknown one, though training
    counted their characters; also through a pickled copy (a spawned worker's), which drops the tokenizer's setting."""
    import pickle

    from textgru.data.long_texts import encode_cut, encode_documents
    from textgru.inference.generation import encode_prompt

    tok = train_tokenizer([*TEXTS, "[PAD] and [UNK] are words here"], tok_cfg(kind, vocab_size=300, min_frequency=1))
    pad, unk = tok.token_to_id(PAD), tok.token_to_id(UNK)
    for copy in (tok, pickle.loads(pickle.dumps(tok))):
        (ids,), _ = encode_cut(copy, ["I love [PAD] it [UNK]"], 100)
        assert pad not in ids and unk not in ids and len(ids) > 4
        assert not {pad, unk} & set(encode_documents(copy, ["[PAD] [UNK]"])[0].tolist())
        assert not {pad, unk} & set(encode_prompt(copy, "[PAD] [UNK]")[1:])  # after the document separator
