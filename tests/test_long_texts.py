"""Long texts tokenized in pieces (`textgru.data.long_texts`): the same ids as the whole text, for every tokenizer
kind and the classifier's normalisers, without tokenizing (or holding) a long text whole."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import tok_cfg
from hypothesis import example, given, settings
from hypothesis import strategies as st

import textgru.data.long_texts as long_texts
from textgru.data.long_texts import encode_cut, encode_documents, pieces
from textgru.data.tokenization import train_tokenizer

KINDS = ("word", "bpe", "byte_bpe", "char")
GOOD_CUT = re.compile(r"\S \S")  # what a cut at a piece's start must sit in: matched from the character before
PIECE_TEXT = st.lists(st.sampled_from([*"ab c\n\t.,'é😀-", "ab", "  ", " \n "]), max_size=60).map("".join)


@pytest.fixture(scope="module")
def trained() -> dict:
    corpus = ["the cat sat on the mat, didn't it?  a b c\n", "naïve café 😀 ab, abab... c\t d\n"] * 20
    return {kind: train_tokenizer(corpus, tok_cfg(kind, vocab_size=120, min_frequency=1)) for kind in KINDS}


@contextmanager
def small_pieces(size: int) -> Iterator[None]:
    """PIECE_CHARS and GROUP_CHARS small (many pieces, groups of several) while it lasts; read at call time. (Not
    monkeypatch: hypothesis refuses function-scoped fixtures.)"""
    old = long_texts.PIECE_CHARS, long_texts.GROUP_CHARS, long_texts.CUT_GROUP_CHARS
    long_texts.PIECE_CHARS, long_texts.GROUP_CHARS, long_texts.CUT_GROUP_CHARS = size, 3 * size, 3 * size
    try:
        yield
    finally:
        long_texts.PIECE_CHARS, long_texts.GROUP_CHARS, long_texts.CUT_GROUP_CHARS = old


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(PIECE_TEXT, min_size=1, max_size=4), size=st.integers(1, 12))
def test_documents_tokenized_in_pieces_give_the_whole_documents_tokens(trained: dict, texts: list, size: int) -> None:
    """A review: a 50 MB one-line corpus took 21 GB (a whole document's `Encoding` at once); documents are now
    tokenized in pieces cut before a space that a non-whitespace follows, which every tokenizer kind here splits at
    too: the ids equal the whole documents' for each kind."""
    hard = False  # a cut where no space with a non-whitespace after it came within 2 x size: exact for char only
    for text in texts:
        cut, start = pieces(text, size), 0
        assert "".join(cut) == text and all(len(p) <= 2 * size for p in cut[:-1])
        for piece in cut[:-1]:
            end = start + len(piece)
            if not GOOD_CUT.match(text, end - 1):  # only where the window held no place to cut at
                found = long_texts.CUT.search(text, start + size, start + 2 * size + 1)
                assert found is None or not long_texts.NEXT_WORD.match(text, found.end()), (text, cut)
                assert end == start + size, (text, cut)  # and then where it falls
                hard = True
            start = end
    for kind, tok in trained.items():
        if hard and kind != "char":
            continue
        whole = [tok.encode(t).ids for t in texts]
        with small_pieces(size):
            assert [g.tolist() for g in encode_documents(tok, texts)] == whole, kind


CLASSIFIER_TEXT = st.lists(
    st.sampled_from([*"aB c\n\t.,'éÉ😀-日", "\u0301", "ab", "  ", " \n ", "http://x.io/a", " www.b.c", "@bob", "ﬁ"]),
    max_size=50,
).map("".join)


@pytest.fixture(scope="module")
def normalising() -> dict:
    """Tokenizers with every normaliser the classifier's configs use (URLs, mentions, accents, case, NFKC)."""
    corpus = ["the cat sat on the mat, didn't it?  a b c http://x.io @bob\n", "naïve café 😀 ab, abab... c\t d\n"] * 20
    norm = dict(vocab_size=120, min_frequency=1, lowercase=True, strip_accents=True, unicode_form="NFKC")
    norm |= dict(replace_urls=True, replace_mentions=True)
    return {kind: train_tokenizer(corpus, tok_cfg(kind, **norm)) for kind in KINDS}


@settings(max_examples=150, deadline=None)
@example(texts=["  @a"], size=1, max_length=5)  # a review: "@a" becomes " xxuser ", and byte_bpe split "  " apart
@given(
    texts=st.lists(CLASSIFIER_TEXT, min_size=1, max_size=4),
    size=st.integers(1, 12),
    max_length=st.integers(1, 10),
)
def test_texts_cut_to_max_length_in_pieces_keep_the_whole_texts_first_tokens(
    trained: dict, normalising: dict, texts: list, size: int, max_length: int
) -> None:
    """A review: `textgru predict` on 80 MB of 200k-character lines took 2.0 GB (each text tokenized whole, then cut
    to max_length); the classifier's texts are now tokenized in exact pieces (cut only before a space that a
    non-whitespace follows, however far): its first max_length ids and (counting all) its length are the whole
    text's, for every kind, with and without normalisers."""
    for text in texts:
        cut = pieces(text, size, exact=True)
        assert "".join(cut) == text
        starts = [sum(map(len, cut[:i])) for i in range(1, len(cut))]
        assert all(GOOD_CUT.match(text, at - 1) for at in starts), cut  # a single space between non-whitespaces
    for kind, tok in [*trained.items(), *((f"{k} normalised", t) for k, t in normalising.items())]:
        whole = [tok.encode(t).ids for t in texts]
        with small_pieces(size):
            ids, counts = encode_cut(tok, texts, max_length, size=size)
        assert ids == [w[:max_length] for w in whole], kind
        assert counts == [len(w) for w in whole], kind
        first, _ = encode_cut(tok, texts, max_length, count_all=False, size=size)
        assert first == ids, kind


class RecordingTokenizer:
    """A tokenizer that records the characters it was given (the Rust one takes no new attributes)."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer, self.lengths = tokenizer, []

    def encode_batch_fast(self, texts: list[str]):
        self.lengths += [len(t) for t in texts]
        return self.tokenizer.encode_batch_fast(texts)

    def __getattr__(self, name: str):
        return getattr(self.tokenizer, name)


def test_a_long_text_is_classified_from_its_start_without_tokenizing_the_rest(tiny_run) -> None:
    """Only a long text's first pieces are tokenized, as far as its first max_length tokens, and its prediction is
    the one of the text cut well past them (before: the whole 2.4M characters, an `Encoding` of every one)."""
    from textgru.inference.classifier import Classifier

    clf = Classifier.load(tiny_run)
    long = "so good, the best day ever " * 90_000
    short = long[: 4 * clf.piece_chars]
    clf.tokenizer = RecordingTokenizer(clf.tokenizer)
    assert clf.encode([long, "fine"]) == clf.encode([short, "fine"])
    tokenized = clf.tokenizer.lengths[: len(clf.tokenizer.lengths) // 2]  # the long text's call
    assert tokenized and sum(tokenized) < 3 * clf.piece_chars, tokenized  # its first pieces only
    assert clf.predict(long).probs == clf.predict(short).probs
