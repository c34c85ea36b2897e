"""Train, save and load a Hugging Face `tokenizers.Tokenizer` (word-level, BPE or character)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from textgru.config_keys import require_keys
from textgru.data.tokenizer_schema import (
    CHAR_PATTERN,
    MENTION_PATTERN,
    PAD,
    REPLACEMENTS,
    UNK,
    URL_PATTERN,
    tokenizer_problem,
)
from textgru.errors import TextgruError

log = logging.getLogger(__name__)
SPECIAL_TOKENS = [PAD, UNK]  # so PAD is id 0 and UNK is id 1 in every tokenizer we train
TOKENIZER_KEYS = (
    "kind",
    "vocab_size",
    "min_frequency",
    "lowercase",
    "strip_accents",
    "unicode_form",
    "replace_urls",
    "replace_mentions",
)  # every conf/tokenizer/*.yaml sets them all


def build_normalizer(cfg: Mapping[str, Any]) -> normalizers.Normalizer | None:
    steps: list[normalizers.Normalizer] = []
    form = cfg["unicode_form"]
    if form:
        steps.append(getattr(normalizers, form)())
    if cfg["replace_urls"]:
        steps.append(normalizers.Replace(Regex(URL_PATTERN), REPLACEMENTS[URL_PATTERN]))
    if cfg["replace_mentions"]:
        steps.append(normalizers.Replace(Regex(MENTION_PATTERN), REPLACEMENTS[MENTION_PATTERN]))
    if cfg["strip_accents"]:
        steps += [normalizers.NFD(), normalizers.StripAccents()]
    if cfg["lowercase"]:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps) if steps else None


def train_tokenizer(texts: Iterable[str], cfg: Mapping[str, Any]) -> Tokenizer:
    """A tokenizer of kind `word`, `bpe`, `byte_bpe` or `char`, trained on `texts` (the training split only)."""
    require_keys(cfg, TOKENIZER_KEYS, "tokenizer")
    kind, vocab_size, min_frequency = cfg["kind"], int(cfg["vocab_size"]), int(cfg["min_frequency"])
    if kind == "word":
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        trainer = trainers.WordLevelTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS, show_progress=False
        )
        tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    elif kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS, show_progress=False
        )
    elif kind == "byte_bpe":  # GPT-2 style: every byte is in the alphabet, so no text is ever [UNK]
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=SPECIAL_TOKENS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
    elif kind == "char":
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(CHAR_PATTERN), behavior="isolated")
        tok.decoder = decoders.Fuse()
        trainer = trainers.WordLevelTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS, show_progress=False
        )
    else:
        raise TextgruError(f"unknown tokenizer.kind {kind!r}; use word, bpe, byte_bpe or char")
    normalizer = build_normalizer(cfg)
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.train_from_iterator(texts, trainer=trainer)
    if tok.get_vocab_size() <= len(SPECIAL_TOKENS):
        raise TextgruError("the tokenizer learned no tokens: the training texts are empty or min_frequency is too high")
    if tok.get_vocab_size() > vocab_size:  # BPE keeps every character (byte_bpe every byte): a review, unsaid
        log.warning(
            "tokenizer.vocab_size=%d is below what a %s tokenizer keeps whole (every %s of the training texts): it has "
            "%d tokens",
            vocab_size, kind, "byte" if kind == "byte_bpe" else "character", tok.get_vocab_size(),
        )  # fmt: skip
    return tok


def tokenizer_from_json(text: str) -> Tokenizer:
    """A tokenizer from the JSON a file holds (a checkpoint, an export, a run folder); ValueError saying why not: it
    cannot be read, or it holds a part textgru does not write (`tokenizer_schema`), checked before the tokenizers
    library reads any of it."""
    import json

    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError) as e:  # RecursionError: nested thousands deep (a review)
        raise ValueError(f"cannot be read (not JSON: {type(e).__name__})") from None
    if (problem := tokenizer_problem(data)) is not None:
        raise ValueError(problem)
    try:
        return Tokenizer.from_str(text)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # tokenizers raises a plain Exception, or a Rust panic (a BaseException) for bad data
        raise ValueError(f"cannot be read ({(str(e).splitlines() or [''])[0][:120]})") from None


def read_tokenizer_file(path: Path) -> Tokenizer:
    """A run folder's tokenizer.json; one line if `tokenizer_from_json` refuses it (a review: a damaged one was a
    traceback when the run was resumed)."""
    try:
        return tokenizer_from_json(Path(path).read_text(encoding="utf-8", errors="replace"))
    except ValueError as e:
        raise TextgruError(f"the tokenizer {path} {e}; put back the file the run wrote, or start a new run") from None


def as_text(tok: Tokenizer) -> Tokenizer:
    """`tok`, set to read `[PAD]` or `[UNK]` typed in a text as the characters they are, as training counted them,
    not as the special tokens (a review: a tweet's "[PAD]" was read as padding). Set at each use: pickling (a
    spawned worker's copy) drops the setting."""
    tok.encode_special_tokens = True
    return tok


def pad_id(tok: Tokenizer) -> int:
    return int(tok.token_to_id(PAD))


PRE_TOKENIZER_KINDS = {"Whitespace": "word", "Metaspace": "bpe", "ByteLevel": "byte_bpe", "Split": "char"}


def tokenizer_kind(tok: Tokenizer) -> str | None:
    """The `tokenizer.kind` that `train_tokenizer` made `tok` with (read from its pre-tokenizer), or None."""
    import json

    pre = json.loads(tok.to_str()).get("pre_tokenizer") or {}
    return PRE_TOKENIZER_KINDS.get(pre.get("type", ""))


NORMALIZER_KEYS = ("unicode_form", "replace_urls", "replace_mentions", "strip_accents", "lowercase")


def normalizer_settings(tok: Tokenizer) -> dict[str, Any] | None:
    """The `tokenizer.*` normalisation values that `build_normalizer` turns into `tok`'s normaliser, or None."""
    import itertools
    import json

    want = json.loads(tok.to_str()).get("normalizer")
    for form, *flags in itertools.product((None, "NFC", "NFD", "NFKC", "NFKD"), *[(False, True)] * 4):
        settings = dict(zip(NORMALIZER_KEYS, (form, *flags), strict=True))
        probe = Tokenizer(models.WordLevel(unk_token=UNK))
        normalizer = build_normalizer(settings)
        if normalizer is not None:
            probe.normalizer = normalizer
        if json.loads(probe.to_str()).get("normalizer") == want:
            return settings
    return None
