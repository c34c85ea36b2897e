"""Tokenizing long texts in pieces that give the same tokens: a whole text's `Encoding` costs hundreds of bytes a
character (a 5 MB one-line corpus took 2.6 GB; 80 MB of 200k-character lines to classify took 2.0 GB), so texts are
cut at a single space between two plain words and tokenized a group of about GROUP_CHARS characters at a time."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from textgru.data.tokenization import as_text

PIECE_CHARS = 1 << 16  # a longer document is tokenized in pieces (`pieces`), which give the same tokens
GROUP_CHARS = 1 << 20  # characters of a corpus tokenized at once
CUT_GROUP_CHARS = 1 << 22  # characters of texts to cut tokenized at once (10,000 tweets in two calls: 12% slower)
PLAIN = r"[\w,;!?'\"()\-]+"  # a word no normaliser here rewrites at its edges (no URL or mention: no @ : / .)
CUT = re.compile(rf"(?<!\S){PLAIN} (?={PLAIN}(?!\S))")  # a plain word and a space before another: cut at the space
NEXT_WORD = re.compile(rf"{PLAIN}(?!\S)")


def pieces(text: str, size: int | None = None, exact: bool = False) -> list[str]:
    """`text` cut into pieces of about `size` (default PIECE_CHARS) characters, each cut just before a single space
    between two plain words (letters, digits, some punctuation): every pre-tokenizer here (word, bpe, byte_bpe, char)
    splits there too, also after the normalisers (a URL or a mention becomes " xxurl ", whose spaces made byte_bpe
    split a run of spaces otherwise), so the pieces' tokens are the whole text's (tests/test_long_texts.py). Without
    such a place within `size` more characters, a cut is made where it falls (exact for char; a word tokenizer's
    64k-character word is one unknown either way), or, with `exact`, at the next such place however far (none: the
    rest is one piece)."""
    return list(_pieces(text, size or PIECE_CHARS, exact))


def _pieces(text: str, size: int, exact: bool) -> Iterator[str]:
    start = 0
    while len(text) - start > size:
        found = CUT.search(text, start + size, len(text) if exact else start + 2 * size + 1)
        if found and not exact and not NEXT_WORD.match(text, found.end()):  # the window's end cut the word short
            found = None
        if found is None and exact:
            break
        cut = found.end() - 1 if found else start + size  # before the space
        yield text[start:cut]
        start = cut
    yield text[start:]


def _groups(work: list[tuple[int, str]], most: int | None = None) -> Iterator[list[tuple[int, str]]]:
    """`work` in consecutive groups of at most `most` (GROUP_CHARS) characters (a longer piece alone)."""
    most = most or GROUP_CHARS
    ends = list(itertools.accumulate(len(p) for _, p in work))  # characters up to and with each piece
    start = 0
    while start < len(work):
        done = ends[start - 1] if start else 0
        end = max(bisect.bisect_right(ends, done + most, start), start + 1)
        yield work[start:end]
        start = end


def _encode(tokenizer: Any, texts: list[str]) -> list[Any]:
    # without character offsets where the tokenizers version has it (>= 0.20.2): ~25% faster, the same ids
    tokenizer = as_text(tokenizer)
    return getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)(texts)


def encode_documents(tokenizer: Any, texts: Sequence[str], exact: bool = False) -> list[np.ndarray]:
    """Each text's token ids (int32), tokenized in `pieces` (`exact` ones, or with a cut where one must fall): a
    language model's corpus."""
    ids: list[list[np.ndarray]] = [[] for _ in texts]
    for group in _groups([(i, p) for i, text in enumerate(texts) for p in pieces(text, exact=exact)]):
        for (i, _), e in zip(group, _encode(tokenizer, [p for _, p in group]), strict=True):
            ids[i].append(np.asarray(e.ids, dtype=np.int32))
    return [np.concatenate(parts) if parts else np.empty(0, dtype=np.int32) for parts in ids]


def encode_cut(
    tokenizer: Any, texts: Sequence[str], max_length: int, count_all: bool = True, size: int | None = None
) -> tuple[list[list[int]], list[int]]:
    """Each text's first `max_length` token ids, and its number of tokens uncut, tokenized in exact `pieces` of
    about `size` characters, a piece of every text still going at a time. Without `count_all` a text's later pieces
    are not tokenized once it has `max_length` ids (its count is then only of the pieces tokenized)."""
    size = size or PIECE_CHARS
    work = [(i, t) for i, t in enumerate(texts) if len(t) <= size]  # one piece each: most texts
    going = {i: _pieces(t, size, exact=True) for i, t in enumerate(texts) if len(t) > size}  # cut as reached
    ids: list[list[int]] = [[] for _ in texts]
    counts = [0] * len(texts)
    while work or going:
        work += [(i, p) for i, rest in going.items() for p in itertools.islice(rest, 1)]  # each long text's next
        for group in _groups(work, CUT_GROUP_CHARS):
            for (i, _), e in zip(group, _encode(tokenizer, [p for _, p in group]), strict=True):
                got, have = e.ids, counts[i]
                if not have:  # a text's first piece (most texts' only one)
                    ids[i] = got[:max_length]
                elif have < max_length:
                    ids[i] += got[: max_length - have]
                counts[i] = have + len(got)
        going = {i: going[i] for i, _ in work if i in going and (count_all or counts[i] < max_length)}
        work = []
    return ids, counts
