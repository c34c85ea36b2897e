"""What a tokenizer's JSON may hold: the parts `train_tokenizer` writes, checked before the `tokenizers` library reads
any of it. A file from elsewhere (a shared checkpoint, an export, a run folder) could otherwise hold parts that run
for ever or allocate gigabytes on load or on some text, or make ids past the model's embedding (a security review:
a 64-byte `Precompiled` normaliser aborted on an 8 GB allocation; chained `Replace`s grew "good" to gigabytes and
killed the server; a post-processor's id 10**9 was an IndexError on every request)."""

from __future__ import annotations

from typing import Any

PAD, UNK = "[PAD]", "[UNK]"
URL_PATTERN = r"(?:https?://|www\.)\S+"
MENTION_PATTERN = r"@\w+"
CHAR_PATTERN = r"[\s\S]"  # the char tokenizer's split: each character its own piece
REPLACEMENTS = {URL_PATTERN: " xxurl ", MENTION_PATTERN: " xxuser "}  # the normaliser's Replace steps
MAX_NORMALIZER_STEPS = 8  # build_normalizer writes at most 6

# each part's types and the keys each may have (values checked below where they could do harm)
PLAIN_NORMALIZERS = {"NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents"}
METASPACE_KEYS = {
    "type",
    "replacement",
    "prepend_scheme",
    "split",
    "add_prefix_space",
    "str_rep",
}  # older: the last two
BYTE_LEVEL_KEYS = {"type", "add_prefix_space", "trim_offsets", "use_regex"}
PRE_TOKENIZER_KEYS = {
    "Whitespace": {"type"},
    "Metaspace": METASPACE_KEYS,
    "ByteLevel": BYTE_LEVEL_KEYS,
    "Split": {"type", "pattern", "behavior", "invert"},
}
DECODER_KEYS = {
    "WordPiece": {"type", "prefix", "cleanup"},
    "Metaspace": METASPACE_KEYS,
    "ByteLevel": BYTE_LEVEL_KEYS,
    "Fuse": {"type"},
}
MODEL_KEYS = {
    "WordLevel": {"type", "vocab", "unk_token"},
    "BPE": {
        "type",
        "dropout",
        "unk_token",
        "continuing_subword_prefix",
        "end_of_word_suffix",
        "fuse_unk",
        "byte_fallback",
        "ignore_merges",
        "vocab",
        "merges",
    },
}
TOP_KEYS = {"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor"}
TOP_KEYS |= {"decoder", "model"}


def _typed(node: Any, where: str, allowed: dict[str, set[str]] | set[str]) -> str:
    """`node`'s type, or ValueError if it is not a dict of one of the `allowed` types with only their keys."""
    if not isinstance(node, dict) or node.get("type") not in allowed:
        kind = node.get("type") if isinstance(node, dict) else type(node).__name__
        raise ValueError(f"has a {where} textgru does not write ({str(kind)[:40]!r})")
    keys = allowed[node["type"]] if isinstance(allowed, dict) else {"type"}
    if extra := sorted(set(node) - keys):
        raise ValueError(f"has a {where} {node['type']} with settings textgru does not write ({extra[0][:40]!r})")
    return node["type"]


def _normalizer(node: Any) -> None:
    if not (isinstance(node, dict) and node.get("type") == "Sequence"):
        steps = [node]
    elif set(node) - {"type", "normalizers"} or not isinstance(node.get("normalizers"), list):
        raise ValueError("has a normaliser sequence textgru does not write")
    elif len(steps := node["normalizers"]) > MAX_NORMALIZER_STEPS:
        raise ValueError(f"has a normaliser of {len(steps)} steps, more than textgru writes")
    for step in steps:
        if isinstance(step, dict) and step.get("type") == "Replace":
            _typed(step, "normaliser", {"Replace": {"type", "pattern", "content"}})
            pattern = step.get("pattern")
            regex = pattern.get("Regex") if isinstance(pattern, dict) and len(pattern) == 1 else None
            if regex is not None and regex not in REPLACEMENTS:
                raise ValueError(f"holds a regular expression textgru does not write ({regex[:60]!r})")
            if regex is None or step.get("content") != REPLACEMENTS[regex]:
                raise ValueError(f"has a replacement textgru does not write ({str(step.get('content'))[:40]!r})")
        else:
            _typed(step, "normaliser", PLAIN_NORMALIZERS)


def _spaces(node: dict[str, Any], where: str) -> None:
    """Metaspace's replacement is one character (a longer one grows every space)."""
    replacement = node.get("replacement", "▁")
    if node["type"] == "Metaspace" and not (isinstance(replacement, str) and len(replacement) == 1):
        raise ValueError(f"has a {where} Metaspace textgru does not write (its replacement)")


def _model(node: Any) -> int:
    """The vocabulary's size, after checking the model's type, settings, ids and merges."""
    kind = _typed(node, "tokenizer model", MODEL_KEYS)
    vocab = node.get("vocab")
    if not isinstance(vocab, dict) or not all(isinstance(i, int) and i >= 0 for i in vocab.values()):
        raise ValueError("has a vocabulary that is not a map of tokens to ids")
    if node.get("unk_token") != UNK:
        raise ValueError(f"has an unknown-word token textgru does not write ({str(node.get('unk_token'))[:40]!r})")
    if missing := [token for token in (PAD, UNK) if token not in vocab]:  # every kind trains both (a review: without
        # one, each batch failed on pad_id's int(None), or each unknown word on "Missing [UNK] token")
        raise ValueError(f"has no {missing[0]} token in its vocabulary, which every tokenizer textgru writes has")
    if kind == "BPE":
        for key in ("dropout", "continuing_subword_prefix", "end_of_word_suffix"):
            if node.get(key) is not None:
                raise ValueError(f"has a BPE model with {key} set, which textgru does not write")
        if node.get("byte_fallback") or not isinstance(node.get("merges", []), list):
            raise ValueError("has a BPE model textgru does not write (byte_fallback, or merges that are not a list)")
    return len(vocab)


def tokenizer_problem(data: Any) -> str | None:
    """What in a tokenizer's parsed JSON `train_tokenizer` never writes, or None (older textgru files included)."""
    try:
        if not isinstance(data, dict) or "model" not in data:
            return "is not a tokenizer's JSON object"
        if extra := sorted(set(data) - TOP_KEYS):
            return f"has a part textgru does not write ({extra[0][:40]!r})"
        for key in ("truncation", "padding", "post_processor"):
            if data.get(key) is not None:
                return f"has a {key.replace('_', '-')} textgru does not write"
        size = _model(data["model"])
        if data.get("normalizer") is not None:
            _normalizer(data["normalizer"])
        pre = data.get("pre_tokenizer")
        if _typed(pre, "pre-tokenizer", PRE_TOKENIZER_KEYS) == "Split":
            pattern = pre.get("pattern")
            regex = pattern.get("Regex") if isinstance(pattern, dict) else None
            if isinstance(regex, str) and regex != CHAR_PATTERN:
                return f"holds a regular expression textgru does not write ({regex[:60]!r})"
            if pattern != {"Regex": CHAR_PATTERN} or pre.get("behavior") != "Isolated" or pre.get("invert"):
                return f"has a split textgru does not write ({str(pattern)[:60]!r})"
        _spaces(pre, "pre-tokenizer")
        if data.get("decoder") is not None:
            _typed(data["decoder"], "decoder", DECODER_KEYS)
            _spaces(data["decoder"], "decoder")
        added = data.get("added_tokens") or []
        ids = [t.get("id") if isinstance(t, dict) else None for t in added] if isinstance(added, list) else [None]
        if not all(isinstance(i, int) and 0 <= i < size for i in ids) or len(ids) > size:
            return "has added tokens textgru does not write (ids past its vocabulary)"
    except ValueError as e:
        return str(e)
    return None
